//! Golden files: model files and checkpoints of format version 1, written once by this
//! code and committed under `tests/golden/`, must load and write back to the same bytes
//! (so every parameter, optimizer moment, random-stream position, name and setting reads
//! back bit-exactly). A change to the file layout or to any stored form fails here; if
//! it is intended and readers of version 1 can still read it, regenerate with
//!
//! ```text
//! NN_WRITE_GOLDEN=1 cargo test -p nn-train --test golden
//! ```
//!
//! and say why in the commit.
//!
//! `tests/golden/v1_without_encoder_formula/` keeps the files as they were before the
//! stored encoder stated its formula; they must still load, as the same models. Their
//! current versions in `tests/golden/` were made from them by loading and writing back,
//! so they differ by the formula alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use nalgebra::DMatrix;
use nn_train::data::synthetic;
use nn_train::encode::{Encoder, EncoderKind};
use nn_train::persist::{
    ModelNames, checkpoint_from_bytes, checkpoint_to_bytes, model_from_bytes, model_to_bytes_named,
};
use nn_train::*;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn names<T: Scalar>(m: &persist::Model<T>) -> ModelNames {
    ModelNames {
        classes: m.classes.clone(),
        features: m.features.clone(),
        label: m.label.clone(),
    }
}

/// Loads `bytes` as a checkpoint or a model of `T` and writes it back.
fn rewrite<T: Scalar>(bytes: &[u8], name: &str) -> Option<Vec<u8>> {
    if let Ok(c) = checkpoint_from_bytes::<T>(bytes, name) {
        return Some(checkpoint_to_bytes(&c.network, &c.trainer, c.encoder.as_ref()).unwrap());
    }
    let m = model_from_bytes::<T>(bytes, name).ok()?;
    Some(model_to_bytes_named(&m.network, m.encoder.as_ref(), &names(&m)).unwrap())
}

#[test]
fn golden_files_load_and_write_back_to_the_same_bytes() {
    if std::env::var_os("NN_WRITE_GOLDEN").is_some() {
        write_golden_files();
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    assert!(files.len() >= 19, "only {} golden files", files.len());
    for path in files {
        let name = path.display().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let back = rewrite::<f32>(&bytes, &name)
            .or_else(|| rewrite::<f64>(&bytes, &name))
            .unwrap_or_else(|| panic!("{name} does not load as f32 or f64"));
        assert!(
            back == bytes,
            "{name} does not write back to the same bytes"
        );
    }
}

/// Files written before the encoder's JSON stated its formula (`tests/golden/` held
/// these bytes until then): each still loads, and writes back to the bytes of the file of
/// the same name in `tests/golden/`, the current form, which differs only by the formula.
#[test]
fn files_without_the_encoder_formula_load_as_the_same_model() {
    let old_dir = golden_dir().join("v1_without_encoder_formula");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&old_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "{files:?}");
    for path in files {
        let name = path.display().to_string();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("formula"),
            "{name} has a formula"
        );
        let back = rewrite::<f32>(&bytes, &name)
            .or_else(|| rewrite::<f64>(&bytes, &name))
            .unwrap_or_else(|| panic!("{name} does not load as f32 or f64"));
        let current = std::fs::read(golden_dir().join(path.file_name().unwrap())).unwrap();
        assert!(
            back == current,
            "{name} does not write back to the current file's bytes"
        );
        assert!(String::from_utf8_lossy(&back).contains("formula"));
    }
}

fn save(name: &str, bytes: &[u8]) {
    std::fs::write(golden_dir().join(name), bytes).unwrap();
}

/// The thirteen activations of format version 1 with their default parameters, written
/// out rather than taken from `Activation::ALL`, so that adding an activation leaves these
/// files as they are.
const ACTIVATIONS_V1: [Activation; 13] = [
    Activation::Identity,
    Activation::Step,
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Relu,
    Activation::LeakyRelu { slope: 0.01 },
    Activation::Softmax,
    Activation::Elu { alpha: 1.0 },
    Activation::Selu,
    Activation::Gelu,
    Activation::GeluTanh,
    Activation::Silu,
    Activation::Softplus,
];

/// Every activation, one hidden layer each, in one network.
fn every_activation<T: Scalar>() -> Network<T> {
    let mut b = Network::<T>::builder(3).seed(11);
    for act in ACTIVATIONS_V1 {
        b = b.dense(4, act);
    }
    b.dense(2, Activation::Identity)
        .loss(Loss::Mse)
        .build()
        .unwrap()
}

/// Every initializer form, each on a dense layer of its own, with parameterised
/// activations whose numbers print in both notations (`0.2`, `1e-7`, `2.5e16`).
fn every_init() -> Network<f64> {
    let layers = [
        (Init::Zeros, Activation::LeakyRelu { slope: 0.2 }),
        (Init::Constant(-0.125), Activation::Elu { alpha: 0.5 }),
        (
            Init::Uniform {
                low: -0.3,
                high: 0.2,
            },
            Activation::LeakyRelu { slope: 1e-7 },
        ),
        (
            Init::Normal {
                mean: 0.1,
                std: 0.05,
            },
            Activation::Elu { alpha: 2.5e16 },
        ),
        (Init::XavierNormal, Activation::Tanh),
        (Init::GlorotNormal, Activation::Sigmoid),
        (Init::GlorotUniform, Activation::Identity),
        (Init::HeNormal { slope: 0.2 }, Activation::Relu),
        (Init::HeUniform { slope: 0.0 }, Activation::Silu),
        (Init::LecunNormal, Activation::Selu),
        (Init::Orthogonal { gain: 1.5 }, Activation::Gelu),
    ];
    let mut b = Network::<f64>::builder(3).seed(13);
    for (init, activation) in layers {
        b = b.layer(DenseConfig {
            units: 3,
            activation,
            init: Some(init),
        });
    }
    b.dense(1, Activation::Identity)
        .loss(Loss::Huber { delta: 0.75 })
        .l2(0.003)
        .build()
        .unwrap()
}

/// A small network for each loss that no other golden file stores.
fn with_loss(loss: Loss, output: Activation) -> Network<f32> {
    Network::<f32>::builder(2)
        .dense(3, Activation::Relu)
        .dense(2, output)
        .loss(loss)
        .seed(17)
        .build()
        .unwrap()
}

fn cnn() -> Network<f32> {
    Network::<f32>::image_builder(1, 6, 6)
        .conv2d_strided(2, 3, 1, 1, Activation::Relu)
        .max_pool(2)
        .layer(Conv2dConfig {
            out_channels: 2,
            kernel: [2, 1],
            stride: [1, 1],
            padding: [0, 0],
            activation: Activation::Tanh,
            init: Some(Init::GlorotUniform),
        })
        .avg_pool(1)
        .flatten()
        .dropout(0.25)
        .dense(3, Activation::Softmax)
        .loss(Loss::CategoricalCrossEntropy)
        .l2(1e-4)
        .seed(3)
        .build()
        .unwrap()
}

/// Two epochs of training, so the file holds trained parameters and optimizer state.
fn trained(optimizer: Optimizer, schedule: Schedule, seed: u64) -> (Network<f64>, Trainer<f64>) {
    let data = synthetic::two_moons(48, 0.1, seed).unwrap();
    let mut net = Network::<f64>::builder(2)
        .dense(6, Activation::Tanh)
        .dropout(0.2)
        .dense(1, Activation::Sigmoid)
        .loss(Loss::BinaryCrossEntropy)
        .seed(seed)
        .build()
        .unwrap();
    let config = FitConfig {
        epochs: 2,
        batch_size: 16,
        optimizer,
        schedule,
        seed,
        ..FitConfig::default()
    };
    let mut trainer = Trainer::new(config).unwrap();
    trainer
        .fit(&mut net, (data.x(), data.y()), None, &mut Silent)
        .unwrap();
    (net, trainer)
}

/// A checkpoint whose configuration has every optional setting on (early stopping,
/// clipping, threads, warm-up, non-default divergence rules, no shuffling), in `f32`,
/// with an encoder.
fn trained_with_every_setting() -> (Network<f32>, Trainer<f32>, Encoder) {
    let data = synthetic::two_moons(40, 0.1, 21).unwrap().cast::<f32>();
    let (enc, x) = Encoder::fit_transform(EncoderKind::MinMax, data.x()).unwrap();
    let mut net = Network::<f32>::builder(2)
        .dense(5, Activation::Relu)
        .dense(1, Activation::Sigmoid)
        .loss(Loss::BinaryCrossEntropy)
        .seed(21)
        .build()
        .unwrap();
    let config = FitConfig {
        epochs: 2,
        batch_size: 8,
        shuffle: false,
        seed: 21,
        optimizer: Optimizer::momentum(0.05),
        schedule: Schedule::Exponential { gamma: 0.75 },
        warmup_steps: 3,
        clip_norm: Some(2.5),
        early_stopping: Some(EarlyStopping {
            patience: 4,
            min_delta: 1e-6,
            restore_best: false,
        }),
        threads: Some(1),
        convergence: None,
        divergence: Divergence {
            growth: None,
            above_best: Some(2.5),
            patience: 4,
        },
    };
    let mut trainer = Trainer::new(config).unwrap();
    trainer
        .fit(&mut net, (&x, data.y()), None, &mut Silent)
        .unwrap();
    (net, trainer, enc)
}

/// A checkpoint of a run with the convergence stop set (which a long enough run would
/// have ended).
fn trained_with_convergence() -> (Network<f64>, Trainer<f64>) {
    let data = synthetic::two_moons(32, 0.1, 23).unwrap();
    let mut net = Network::<f64>::builder(2)
        .dense(3, Activation::Tanh)
        .dense(1, Activation::Sigmoid)
        .loss(Loss::BinaryCrossEntropy)
        .seed(23)
        .build()
        .unwrap();
    let config = FitConfig {
        epochs: 2,
        batch_size: 8,
        seed: 23,
        optimizer: Optimizer::rmsprop(0.01),
        convergence: Some(Convergence {
            tol: 1e-3,
            patience: 5,
        }),
        ..FitConfig::default()
    };
    let mut trainer = Trainer::new(config).unwrap();
    trainer
        .fit(&mut net, (data.x(), data.y()), None, &mut Silent)
        .unwrap();
    (net, trainer)
}

/// Regenerates the committed golden files (with `NN_WRITE_GOLDEN` set).
fn write_golden_files() {
    std::fs::create_dir_all(golden_dir()).unwrap();
    let none = ModelNames::default();
    save(
        "activations_f32.safetensors",
        &model_to_bytes_named(&every_activation::<f32>(), None, &none).unwrap(),
    );
    save(
        "activations_f64.safetensors",
        &model_to_bytes_named(&every_activation::<f64>(), None, &none).unwrap(),
    );
    save(
        "inits_f64.safetensors",
        &model_to_bytes_named(&every_init(), None, &none).unwrap(),
    );
    for (file, loss, output) in [
        (
            "bce_probabilities",
            Loss::BceProbabilities,
            Activation::Sigmoid,
        ),
        ("hinge", Loss::Hinge, Activation::Identity),
        ("huber", Loss::Huber { delta: 1e-3 }, Activation::Tanh),
    ] {
        save(
            &format!("loss_{file}.safetensors"),
            &model_to_bytes_named(&with_loss(loss, output), None, &none).unwrap(),
        );
    }
    let cnn_names = ModelNames {
        classes: Some(vec!["a".into(), "b".into(), "c".into()]),
        features: Some((0..36).map(|i| format!("pixel{i}")).collect()),
        label: Some("letter".into()),
    };
    save(
        "cnn_f32.safetensors",
        &model_to_bytes_named(&cnn(), None, &cnn_names).unwrap(),
    );
    let x = DMatrix::from_fn(3, 40, |r, c| {
        ((r * 7 + c * 3) % 11) as f64 + 0.1 * r as f64 * c as f64
    });
    for (file, kind) in [
        ("standardize", EncoderKind::Standardize),
        ("min_max", EncoderKind::MinMax),
        ("pca", EncoderKind::PcaWhitening { epsilon: 1e-3 }),
        ("zca", EncoderKind::ZcaWhitening { epsilon: 1e-3 }),
    ] {
        let enc = Encoder::fit(kind, &x).unwrap();
        let net = Network::<f64>::builder(3)
            .dense(2, Activation::Sigmoid)
            .dense(1, Activation::Sigmoid)
            .loss(Loss::BinaryCrossEntropy)
            .seed(5)
            .build()
            .unwrap();
        let names = ModelNames {
            classes: Some(vec!["no".into(), "yes".into()]),
            features: Some(vec!["x".into(), "y".into(), "z".into()]),
            label: Some("answer".into()),
        };
        save(
            &format!("encoder_{file}.safetensors"),
            &model_to_bytes_named(&net, Some(&enc), &names).unwrap(),
        );
    }
    let (net, trainer, enc) = trained_with_every_setting();
    save(
        "checkpoint_settings_f32.safetensors",
        &checkpoint_to_bytes(&net, &trainer, Some(&enc)).unwrap(),
    );
    let (net, trainer) = trained_with_convergence();
    save(
        "checkpoint_convergence.safetensors",
        &checkpoint_to_bytes(&net, &trainer, None).unwrap(),
    );
    let schedules = [
        Schedule::Constant,
        Schedule::Step {
            every: 1,
            gamma: 0.5,
        },
        Schedule::Exponential { gamma: 0.9 },
        Schedule::Cosine {
            epochs: 4,
            min_factor: 0.1,
        },
    ];
    for (i, (file, optimizer)) in [
        ("sgd", Optimizer::sgd(0.1)),
        ("momentum", Optimizer::momentum(0.1)),
        ("nesterov", Optimizer::nesterov(0.1)),
        ("rmsprop", Optimizer::rmsprop(0.01)),
        ("adam", Optimizer::adam(0.01)),
        ("adamw", Optimizer::adamw(0.01)),
    ]
    .into_iter()
    .enumerate()
    {
        let (net, trainer) = trained(optimizer, schedules[i % schedules.len()], i as u64);
        save(
            &format!("checkpoint_{file}.safetensors"),
            &checkpoint_to_bytes(&net, &trainer, None).unwrap(),
        );
    }
}
