//! Model files and checkpoints: the byte layout against a hand-made file, bit-identical
//! round trips in f32 and f64, every corruption rejected with a clear error, and resuming
//! from a checkpoint bit-identically.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use nalgebra::DMatrix;
use nn_train::data::synthetic;
use nn_train::encode::{Encoder, EncoderKind};
use nn_train::persist::{
    checkpoint_from_bytes, checkpoint_to_bytes, load_checkpoint, load_model, model_dtype,
    model_from_bytes, model_to_bytes, model_to_bytes_with_classes, save_checkpoint, save_model,
    save_model_with_classes,
};
use nn_train::*;
use proptest::prelude::*;

use super::data::temp_path;

/// The header JSON of safetensors bytes, read by hand: 8-byte little-endian length, JSON.
fn header(bytes: &[u8]) -> (usize, serde_json::Value) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (n, serde_json::from_slice(&bytes[8..8 + n]).unwrap())
}

/// Replaces `from` by `to` (same length) in the header, keeping the file well-formed.
fn patch(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let (n, _) = header(bytes);
    let text = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
    assert!(text.contains(from), "{from} not in {text}");
    let mut out = bytes[..8].to_vec();
    out.extend_from_slice(text.replacen(from, to, 1).as_bytes());
    out.extend_from_slice(&bytes[8 + n..]);
    out
}

fn problem<T: Scalar>(r: Result<persist::Model<T>>) -> String {
    match r {
        Err(TrainError::Format(FormatError::ModelFile { problem, .. })) => problem,
        Err(other) => panic!("expected a model-file error, got {other:?}"),
        Ok(_) => panic!("expected an error, the file loaded"),
    }
}

/// A trained network with every kind of layer, a non-default initializer and loss.
fn trained<T: Scalar>() -> (Network<T>, Encoder, DMatrix<T>) {
    let data = synthetic::two_moons(64, 0.1, 3).unwrap();
    let (enc, x) = Encoder::fit_transform(EncoderKind::Standardize, data.x()).unwrap();
    let (x, y) = (x.map(|v| T::cast(v)), data.y().map(|v| T::cast(v)));
    let mut net = Network::<T>::builder(2)
        .dense_with_init(
            8,
            Activation::LeakyRelu { slope: 0.1 },
            Init::HeNormal { slope: 0.1 },
        )
        .dropout(0.25)
        .dense(1, Activation::Sigmoid)
        .loss(Loss::BinaryCrossEntropy)
        .l2(1e-3)
        .seed(5)
        .build()
        .unwrap();
    let config = FitConfig {
        epochs: 3,
        batch_size: 16,
        optimizer: Optimizer::adam(0.01),
        ..FitConfig::default()
    };
    fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap();
    (net, enc, x)
}

fn bits<T: Scalar>(m: &DMatrix<T>) -> Vec<u64> {
    m.iter().map(|v| v.to_f64().to_bits()).collect()
}

fn same_params<T: Scalar>(a: &Network<T>, b: &Network<T>) -> bool {
    let (pa, pb) = (a.named_params(), b.named_params());
    pa.len() == pb.len()
        && pa.iter().zip(&pb).all(|((na, ta), (nb, tb))| {
            na == nb && ta.shape() == tb.shape() && bits(ta) == bits(tb)
        })
}

#[test]
fn hand_made_file_has_the_documented_bytes() {
    // Dense 3 → 2, W = [[1, 2, 3], [4, 5, 6]], b = [7, 8], f32.
    let mut net = Network::<f32>::builder(3)
        .dense(2, Activation::Identity)
        .loss(Loss::Mse)
        .build()
        .unwrap();
    let w = DMatrix::from_row_slice(2, 3, &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]);
    net.set_param("layers.0.weight", w).unwrap();
    net.set_param(
        "layers.0.bias",
        DMatrix::from_column_slice(2, 1, &[7.0f32, 8.0]),
    )
    .unwrap();
    let bytes = model_to_bytes(&net, None).unwrap();
    let (n, h) = header(&bytes);
    assert_eq!(n % 8, 0, "header padded to 8 bytes");
    // safetensors orders tensors by name within a dtype: bias, then weight.
    assert_eq!(
        h["layers.0.bias"],
        serde_json::json!({"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})
    );
    assert_eq!(
        h["layers.0.weight"],
        serde_json::json!({"dtype": "F32", "shape": [2, 3], "data_offsets": [8, 32]})
    );
    let data: Vec<u8> = [7.0f32, 8.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(
        &bytes[8 + n..],
        data.as_slice(),
        "weights row-major: [out, in]"
    );
    let meta = &h["__metadata__"];
    assert_eq!(meta["format"], "pt");
    assert_eq!(meta["nn.format_version"], "1");
    assert_eq!(meta["nn.kind"], "model");
    let arch: serde_json::Value =
        serde_json::from_str(meta["nn.architecture"].as_str().unwrap()).unwrap();
    assert_eq!(
        arch,
        serde_json::json!({
            "input": {"flat": 3},
            "layers": [{"type": "dense", "units": 2, "activation": "identity", "init": null}],
            "loss": "mse", "l2": 0.0, "seed": 0, "dtype": "f32"
        })
    );
    let back = model_from_bytes::<f32>(&bytes, "tiny").unwrap();
    assert_eq!(back.network.layers()[0].params()[0].value()[(1, 0)], 4.0);
}

fn round_trip<T: Scalar>() {
    let (net, enc, x) = trained::<T>();
    let path = temp_path(&format!("model-{}.safetensors", T::NAME));
    save_model(&path, &net, Some(&enc)).unwrap();
    let loaded = load_model::<T>(&path).unwrap();
    assert!(
        same_params(&net, &loaded.network),
        "parameters bit-identical"
    );
    assert_eq!(loaded.encoder.as_ref(), Some(&enc));
    assert_eq!(loaded.network.records().unwrap(), net.records().unwrap());
    assert_eq!(
        (
            loaded.network.loss(),
            loaded.network.l2(),
            loaded.network.seed()
        ),
        (net.loss(), net.l2(), net.seed())
    );
    assert_eq!(
        bits(&net.predict(&x).unwrap()),
        bits(&loaded.network.predict(&x).unwrap())
    );
    // Saving the loaded model gives the same bytes.
    assert_eq!(
        std::fs::read(&path).unwrap(),
        model_to_bytes(&loaded.network, loaded.encoder.as_ref()).unwrap()
    );
    // No temporary file is left behind.
    let dir = path.parent().unwrap();
    let stem = path.file_name().unwrap().to_string_lossy().to_string();
    let leftovers = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!(".{stem}"))
        })
        .count();
    assert_eq!(leftovers, 0);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn save_then_load_is_bit_identical_in_f32_and_f64() {
    round_trip::<f32>();
    round_trip::<f64>();
}

#[test]
fn class_names_and_dtype_are_kept_in_the_metadata() {
    let (net, enc, _) = trained::<f32>();
    let path = temp_path("classes.safetensors");
    let names = vec!["no".to_string(), "yes".to_string()];
    save_model_with_classes(&path, &net, Some(&enc), Some(&names)).unwrap();
    assert_eq!(model_dtype(&path).unwrap(), nn_core::DType::F32);
    let model = load_model::<f32>(&path).unwrap();
    assert_eq!(model.classes.as_deref(), Some(names.as_slice()));
    // a plain model file has no names
    save_model(&path, &net, None).unwrap();
    assert_eq!(load_model::<f32>(&path).unwrap().classes, None);
    // one sigmoid output takes two names, not three
    let three = ["a", "b", "c"].map(String::from);
    let err = model_to_bytes_with_classes(&net, None, Some(&three)).unwrap_err();
    assert!(err.to_string().contains("3 names"), "{err}");
    // names that are not strings are rejected on load
    let bytes = model_to_bytes_with_classes(&net, None, Some(&names)).unwrap();
    let p = problem(model_from_bytes::<f32>(
        &patch(&bytes, "\\\"no\\\"", "123456"),
        "patched",
    ));
    assert!(p.contains("nn.classes"), "{p}");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn corrupt_or_inconsistent_files_are_rejected_with_the_reason() {
    let (net, enc, _) = trained::<f64>();
    let good = model_to_bytes(&net, Some(&enc)).unwrap();
    assert!(model_from_bytes::<f64>(&good, "m").is_ok());
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            good[..good.len() - 3].to_vec(),
            "not a valid safetensors file",
        ),
        (good[..5].to_vec(), "not a valid safetensors file"),
        (
            patch(
                &good,
                "\"nn.format_version\":\"1\"",
                "\"nn.format_version\":\"7\"",
            ),
            "version \"7\" is not supported",
        ),
        (
            patch(&good, "\\\"sigmoid\\\"", "\\\"sigmoix\\\""),
            "unknown activation",
        ),
        (
            patch(&good, "\\\"units\\\":8", "\\\"units\\\":0"),
            "does not build",
        ),
        (
            patch(
                &good,
                "\\\"type\\\":\\\"dropout\\\"",
                "\\\"type\\\":\\\"dropper\\\"",
            ),
            "unknown layer type",
        ),
        (
            patch(&good, "\"shape\":[8,2]", "\"shape\":[2,8]"),
            "has shape [2, 8], expected [8, 2]",
        ),
        (
            patch(&good, "layers.0.bias", "layers.0.biaz"),
            "\"layers.0.bias\" is missing",
        ),
        (
            patch(&good, "\\\"loss\\\":\\\"binary", "\\\"loss\\\":\\\"binarx"),
            "loss name",
        ),
        (
            patch(&good, "\"nn.kind\":\"model\"", "\"nn.kind\":\"other\""),
            "nn.kind",
        ),
    ];
    for (bytes, words) in &cases {
        let p = problem(model_from_bytes::<f64>(bytes, "m.safetensors"));
        assert!(p.contains(words), "expected {words:?} in: {p}");
    }
    // The error names the file.
    let e = model_from_bytes::<f64>(&good[..5], "m.safetensors").unwrap_err();
    assert!(
        e.to_string().starts_with("model file m.safetensors:"),
        "{e}"
    );
    // The wrong scalar type.
    let p = problem(model_from_bytes::<f32>(&good, "m"));
    assert!(p.contains("load it as Network<f64>"), "{p}");
    // An extra tensor, and a non-finite value.
    let st = safetensors::SafeTensors::deserialize(&good).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&good).unwrap();
    let mut tensors: Vec<(String, safetensors::tensor::TensorView<'_>)> = st.tensors();
    let extra = [0u8; 8];
    tensors.push((
        "layers.7.weight".into(),
        safetensors::tensor::TensorView::new(safetensors::Dtype::F64, vec![1], &extra).unwrap(),
    ));
    let with_extra = safetensors::serialize(tensors, meta.metadata().clone()).unwrap();
    let p = problem(model_from_bytes::<f64>(&with_extra, "m"));
    assert!(
        p.contains("unexpected tensors [\"layers.7.weight\"]"),
        "{p}"
    );
    let mut nan = good.clone();
    let at = nan.len() - 8;
    nan[at..].copy_from_slice(&f64::NAN.to_le_bytes());
    let p = problem(model_from_bytes::<f64>(&nan, "m"));
    assert!(p.contains("non-finite"), "{p}");
    // Not written by nn.
    let plain = safetensors::serialize(
        Vec::<(String, safetensors::tensor::TensorView<'_>)>::new(),
        None,
    )
    .unwrap();
    assert!(problem(model_from_bytes::<f64>(&plain, "m")).contains("nn.format_version"));
    let e = load_model::<f64>(&temp_path("no-such-model")).unwrap_err();
    assert!(matches!(e, TrainError::Io { .. }), "{e}");
}

/// Stops training after `n` epochs, as an interruption would.
struct StopAfter(usize);

impl Observer for StopAfter {
    fn on_epoch(&mut self, record: &EpochRecord) -> Control {
        if record.epoch + 1 == self.0 {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

/// The hidden layers (`hidden[0]` units, dropout, then the others) and `batch` decide how
/// many shares a step has ([`Network::training_shares`]), which `threads` threads run;
/// `per_class` spiral points per class.
fn resume_equivalence<T: Scalar>(threads: usize, hidden: &[usize], batch: usize, per_class: usize) {
    let data = synthetic::spirals(per_class, 3, 0.1, 2)
        .unwrap()
        .cast::<T>();
    let build = || {
        let mut builder = Network::<T>::builder(2)
            .dense(hidden[0], Activation::Tanh)
            .dropout(0.2);
        for &units in &hidden[1..] {
            builder = builder.dense(units, Activation::Tanh);
        }
        builder
            .dense(3, Activation::Softmax)
            .loss(Loss::CategoricalCrossEntropy)
            .seed(9)
            .build()
            .unwrap()
    };
    let config = FitConfig {
        epochs: 6,
        batch_size: batch,
        optimizer: Optimizer::adam(0.02),
        schedule: Schedule::Step {
            every: 2,
            gamma: 0.5,
        },
        warmup_steps: 3,
        clip_norm: Some(5.0),
        seed: 4,
        threads: Some(threads),
        ..FitConfig::default()
    };
    if threads > 1 {
        assert_eq!(build().training_shares(batch), 3);
    }
    // Uninterrupted: 2N = 6 epochs.
    let mut full = build();
    let mut t_full = Trainer::new(config).unwrap();
    let h_full = t_full
        .fit(&mut full, data.as_data(), None, &mut Silent)
        .unwrap();

    // N = 3 epochs, checkpoint to disk, load, N more.
    let mut first = build();
    let mut t_first = Trainer::new(config).unwrap();
    t_first
        .fit(&mut first, data.as_data(), None, &mut StopAfter(3))
        .unwrap();
    assert_eq!(t_first.epoch, 3);
    let path = temp_path(&format!("ckpt-{}-{threads}.safetensors", T::NAME));
    save_checkpoint(&path, &first, &t_first, None).unwrap();
    let mut ck = load_checkpoint::<T>(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(ck.trainer.epoch, 3);
    assert_eq!(ck.trainer.config(), &config);
    assert_eq!(ck.trainer.optimizer, t_first.optimizer);
    let h_rest = ck
        .trainer
        .fit(&mut ck.network, data.as_data(), None, &mut Silent)
        .unwrap();

    assert!(
        same_params(&full, &ck.network),
        "{}: resumed parameters differ",
        T::NAME
    );
    assert_eq!(ck.trainer.optimizer, t_full.optimizer);
    assert_eq!(ck.trainer.rng.state(), t_full.rng.state());
    assert_eq!(
        ck.network.layers()[1].stochastic().map(|s| s.rng_state()),
        full.layers()[1].stochastic().map(|s| s.rng_state())
    );
    let costs = |h: &History| {
        h.epochs
            .iter()
            .map(|r| r.train_cost.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(costs(&h_rest), costs(&h_full)[3..].to_vec());
}

#[test]
fn resuming_from_a_checkpoint_is_bit_identical_to_never_stopping() {
    resume_equivalence::<f64>(1, &[12], 8, 20);
    resume_equivalence::<f32>(1, &[12], 8, 20);
    // Dropout and 35k parameters × 1536 columns: three shares a step (the last batch of an
    // epoch, 144 columns, one), run by three threads in one round and by two in two.
    resume_equivalence::<f64>(3, &[64, 512], 1536, 560);
    resume_equivalence::<f32>(2, &[64, 512], 1536, 560);
}

/// Every optimizer with every schedule: a run of 3 epochs checkpointed after 2 loads back
/// to the same configuration and optimizer state, writes back to the same bytes, and
/// resumes to the parameters of the run that never stopped.
#[test]
fn every_optimizer_and_schedule_checkpoints_and_resumes_bit_identically() {
    let data = synthetic::two_moons(24, 0.1, 8).unwrap();
    let build = || {
        Network::<f64>::builder(2)
            .dense(4, Activation::Tanh)
            .dropout(0.25)
            .dense(1, Activation::Sigmoid)
            .loss(Loss::BinaryCrossEntropy)
            .seed(8)
            .build()
            .unwrap()
    };
    // Every optimizer there is, with the state tensors each keeps per parameter tensor.
    let optimizers = Optimizer::all(0.02);
    let slots: Vec<usize> = optimizers.iter().map(Optimizer::slots).collect();
    assert_eq!(slots, [0, 1, 1, 1, 2, 2]);
    let schedules = [
        Schedule::Constant,
        Schedule::Step {
            every: 1,
            gamma: 0.5,
        },
        Schedule::Exponential { gamma: 0.9 },
        Schedule::Cosine {
            epochs: 3,
            min_factor: 0.1,
        },
        // Reduced after the second epoch (no epoch improves by half), then a cooldown:
        // the resumed epoch runs at the reduced rate only if the state was saved.
        Schedule::ReduceOnPlateau {
            factor: 0.5,
            patience: 0,
            threshold: 0.5,
            cooldown: 1,
            min_factor: 0.1,
        },
    ];
    let mut names = std::collections::BTreeSet::new();
    for optimizer in optimizers {
        names.insert(optimizer.name());
        for schedule in schedules {
            let config = FitConfig {
                epochs: 3,
                batch_size: 8,
                optimizer,
                schedule,
                seed: 8,
                ..FitConfig::default()
            };
            let what = format!("{optimizer}, {schedule:?}");
            let mut full = build();
            let mut t_full = Trainer::new(config).unwrap();
            t_full
                .fit(&mut full, (data.x(), data.y()), None, &mut Silent)
                .unwrap();

            let mut first = build();
            let mut t_first = Trainer::new(config).unwrap();
            t_first
                .fit(&mut first, (data.x(), data.y()), None, &mut StopAfter(2))
                .unwrap();
            let bytes = checkpoint_to_bytes(&first, &t_first, None).unwrap();
            let mut ck = checkpoint_from_bytes::<f64>(&bytes, "ckpt").unwrap();
            assert_eq!(ck.trainer.plateau, t_first.plateau, "{what}");
            if matches!(schedule, Schedule::ReduceOnPlateau { .. }) {
                assert_eq!(t_first.plateau.factor, 0.5, "{what}: not reduced");
                assert_eq!(t_first.plateau.cooldown_left, 1, "{what}");
            }
            assert_eq!(
                format!("{:?}", ck.trainer.config()),
                format!("{config:?}"),
                "{what}"
            );
            assert_eq!(ck.trainer.optimizer, t_first.optimizer, "{what}");
            let kept: Vec<usize> = ck.trainer.optimizer.slots.iter().map(Vec::len).collect();
            assert_eq!(
                kept,
                vec![optimizer.slots(); 4],
                "{what}: state tensors per parameter"
            );
            let again = checkpoint_to_bytes(&ck.network, &ck.trainer, None).unwrap();
            assert!(again == bytes, "{what}: the checkpoint does not write back");
            ck.trainer
                .fit(&mut ck.network, (data.x(), data.y()), None, &mut Silent)
                .unwrap();
            assert!(
                same_params(&full, &ck.network),
                "{what}: resumed parameters differ"
            );
            assert_eq!(ck.trainer.plateau, t_full.plateau, "{what}");
        }
    }
    assert_eq!(names.len(), Optimizer::NAMES.len());
}

/// Class weights are part of the cost, so model files and checkpoints keep them: a loaded
/// model evaluates the same weighted cost, a resumed run goes on with them, and the weights
/// sit in the architecture JSON only when set.
#[test]
fn class_weights_are_saved_in_models_and_checkpoints() {
    let data = synthetic::spirals(10, 3, 0.1, 5).unwrap();
    let build = |weights: Option<Vec<f64>>| {
        Network::<f64>::builder(2)
            .dense(6, Activation::Tanh)
            .dense(3, Activation::Softmax)
            .loss(Loss::CategoricalCrossEntropy)
            .class_weights(weights)
            .seed(3)
            .build()
            .unwrap()
    };
    let weights = vec![0.5, 2.0, 1.25];
    let config = FitConfig {
        epochs: 3,
        batch_size: 8,
        seed: 2,
        ..FitConfig::default()
    };
    let mut full = build(Some(weights.clone()));
    Trainer::new(config)
        .unwrap()
        .fit(&mut full, data.as_data(), None, &mut Silent)
        .unwrap();
    let cost = full.evaluate(data.x(), data.y()).unwrap().cost;
    let plain = build(None);
    assert_ne!(
        cost,
        {
            let mut p = plain.clone();
            p.restore(&full.snapshot()).unwrap();
            p.evaluate(data.x(), data.y()).unwrap().cost
        },
        "the weights change the cost"
    );
    let bytes = model_to_bytes(&full, None).unwrap();
    let (_, head) = header(&bytes);
    let arch: serde_json::Value =
        serde_json::from_str(head["__metadata__"]["nn.architecture"].as_str().unwrap()).unwrap();
    assert_eq!(arch["class_weights"], serde_json::json!([0.5, 2.0, 1.25]));
    let loaded = model_from_bytes::<f64>(&bytes, "m").unwrap();
    assert_eq!(loaded.network.class_weights(), Some(&weights[..]));
    assert_eq!(
        loaded.network.evaluate(data.x(), data.y()).unwrap().cost,
        cost
    );
    let (_, head) = header(&model_to_bytes(&plain, None).unwrap());
    assert!(
        !head["__metadata__"]["nn.architecture"]
            .as_str()
            .unwrap()
            .contains("class_weights")
    );

    // Checkpointed after 2 epochs and resumed: the same bits as the run that went on.
    let mut first = build(Some(weights.clone()));
    let mut t_first = Trainer::new(config).unwrap();
    t_first
        .fit(&mut first, data.as_data(), None, &mut StopAfter(2))
        .unwrap();
    let ck_bytes = checkpoint_to_bytes(&first, &t_first, None).unwrap();
    let mut ck = checkpoint_from_bytes::<f64>(&ck_bytes, "ckpt").unwrap();
    assert_eq!(ck.network.class_weights(), Some(&weights[..]));
    ck.trainer
        .fit(&mut ck.network, data.as_data(), None, &mut Silent)
        .unwrap();
    assert!(same_params(&full, &ck.network), "resumed parameters differ");
    // A file whose weights do not fit its loss is refused.
    let bad = patch(&bytes, "[0.5,2.0,1.25]", "[0.5,2.0,-1.0]");
    assert!(problem(model_from_bytes::<f64>(&bad, "m")).contains("class weights"));
}

#[test]
fn checkpoints_are_validated_and_also_load_as_models() {
    let (mut net, _, x) = trained::<f64>();
    let y = DMatrix::from_element(1, 1, 1.0);
    let mut trainer = Trainer::new(FitConfig {
        optimizer: Optimizer::momentum(0.1),
        ..FitConfig::default()
    })
    .unwrap();
    trainer
        .train_step(&mut net, &x.columns(0, 1).into_owned(), &y)
        .unwrap();
    let bytes = checkpoint_to_bytes(&net, &trainer, None).unwrap();
    let ck = checkpoint_from_bytes::<f64>(&bytes, "c").unwrap();
    assert_eq!(ck.trainer.optimizer, trainer.optimizer);
    // The weights of a checkpoint load as a model; a model is not a checkpoint.
    let m = model_from_bytes::<f64>(&bytes, "c").unwrap();
    assert!(same_params(&net, &m.network));
    let model = model_to_bytes(&net, None).unwrap();
    let e = checkpoint_from_bytes::<f64>(&model, "m").unwrap_err();
    assert!(e.to_string().contains("nn.kind"), "{e}");
    let renamed = patch(
        &bytes,
        "optimizer.layers.2.bias.0",
        "optimizer.layers.2.bias.9",
    );
    let e = checkpoint_from_bytes::<f64>(&renamed, "c").unwrap_err();
    assert!(
        e.to_string()
            .contains("\"optimizer.layers.2.bias.0\" is missing"),
        "{e}"
    );
    let wrong_rng = patch(&bytes, "\\\"layer\\\":1", "\\\"layer\\\":0");
    let e = checkpoint_from_bytes::<f64>(&wrong_rng, "c").unwrap_err();
    assert!(e.to_string().contains("layer_rng names layer 0"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Random bytes, random truncations and random byte flips of valid files never panic
    /// the loaders; random bytes and truncations are errors.
    #[test]
    fn loaders_reject_random_bytes_and_truncations(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        prop_assert!(model_from_bytes::<f32>(&bytes, "r").is_err());
        prop_assert!(checkpoint_from_bytes::<f64>(&bytes, "r").is_err());
        let (net, enc, x) = trained_small();
        let y = x.map(|_| 1.0).rows(0, 1).into_owned();
        let mut trainer = Trainer::new(FitConfig::default()).unwrap();
        let mut net2 = net;
        trainer.train_step(&mut net2, &x, &y).unwrap();
        for good in [model_to_bytes(&net2, Some(&enc)).unwrap(), checkpoint_to_bytes(&net2, &trainer, Some(&enc)).unwrap()] {
            let c = cut.index(good.len());
            prop_assert!(model_from_bytes::<f64>(&good[..c], "t").is_err());
            prop_assert!(checkpoint_from_bytes::<f64>(&good[..c], "t").is_err());
            let mut flipped = good.clone();
            flipped[flip.index(good.len())] = value;
            let _ = model_from_bytes::<f64>(&flipped, "f");
            let _ = checkpoint_from_bytes::<f64>(&flipped, "f");
        }
    }
}

/// A tiny network (2 → 3 → dropout → 1) for the fuzz test, built without training.
fn trained_small() -> (Network<f64>, Encoder, DMatrix<f64>) {
    let x = DMatrix::from_row_slice(2, 3, &[0.0, 1.0, 2.0, 1.0, 0.5, -1.0]);
    let enc = Encoder::fit(EncoderKind::MinMax, &x).unwrap();
    let net = Network::<f64>::builder(2)
        .dense(3, Activation::Relu)
        .dropout(0.5)
        .dense(1, Activation::Sigmoid)
        .loss(Loss::BinaryCrossEntropy)
        .build()
        .unwrap();
    (net, enc, x)
}
