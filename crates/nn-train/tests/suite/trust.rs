//! Trust at the boundary: every hostile or careless input found in review is a typed
//! error, with nothing allocated for sizes the input only declares. Each test names the
//! finding it guards; each would abort, panic, wrap or lose data without its fix.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::Write;

use nalgebra::DMatrix;
use nn_train::data::{CsvOptions, Targets, parse_idx, read_csv};
use nn_train::encode::{Encoder, EncoderKind};
use nn_train::persist::{model_from_bytes, model_to_bytes};
use nn_train::*;

/// A model file with the given architecture JSON and no tensors (what a hostile file
/// declaring a huge network looks like: a few hundred bytes).
fn declared(architecture: &str) -> Vec<u8> {
    let meta: HashMap<String, String> = [
        ("format", "pt"),
        ("nn.format_version", "1"),
        ("nn.kind", "model"),
        ("nn.architecture", architecture),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let none: Vec<(&str, safetensors::tensor::TensorView<'_>)> = Vec::new();
    safetensors::serialize(none, Some(meta)).unwrap()
}

fn dense_arch(input: &str, units: &str) -> String {
    format!(
        r#"{{"input": {input}, "layers": [{{"type": "dense", "units": {units}, "activation": "relu", "init": null}}], "loss": "mse", "l2": 0.0, "seed": 0, "dtype": "f32"}}"#
    )
}

fn model_problem(bytes: &[u8]) -> String {
    match model_from_bytes::<f32>(bytes, "hostile.safetensors") {
        Err(TrainError::Format(FormatError::ModelFile { problem, .. })) => problem,
        other => panic!("expected a model-file error, got {other:?}"),
    }
}

#[test]
fn a_file_declaring_a_huge_dense_layer_is_refused_before_building() {
    // 200000 × 200000 (once: abort, 320 GB), 20000 × 20000 (once: 4.7 GB and 18 s).
    for n in ["200000", "20000"] {
        let bytes = declared(&dense_arch(&format!(r#"{{"flat": {n}}}"#), n));
        assert!(bytes.len() < 600, "{} bytes", bytes.len());
        let p = model_problem(&bytes);
        assert!(p.contains("Limits::max_parameters"), "{p}");
    }
    // Within the limits, the missing tensors are found in the header before anything is
    // built (a 4000 × 4000 layer would otherwise draw 16M weights first).
    let p = model_problem(&declared(&dense_arch(r#"{"flat": 4000}"#, "4000")));
    assert!(p.contains("tensor \"layers.0.weight\" is missing"), "{p}");
}

#[test]
fn sizes_near_usize_max_in_a_file_are_errors_not_panics() {
    let max = u64::MAX.to_string();
    let half = (1u64 << 63).to_string();
    for (input, units) in [
        (format!(r#"{{"flat": {half}}}"#), "2".to_string()),
        (r#"{"flat": 2}"#.to_string(), half.clone()),
        (format!(r#"{{"flat": {max}}}"#), max.clone()),
        (format!(r#"{{"image": [{half}, {half}, 1]}}"#), "2".into()),
    ] {
        let p = model_problem(&declared(&dense_arch(&input, &units)));
        assert!(
            p.contains("usize::MAX") || p.contains("limit"),
            "{input} {units}: {p}"
        );
    }
}

#[test]
fn an_image_whose_size_wraps_is_too_large_not_empty() {
    // [2⁴⁰, 2⁴⁰, 2⁴⁰]: the product wrapped to 0 ("input size must be at least 1").
    let t = (1u64 << 40).to_string();
    let arch = format!(
        r#"{{"input": {{"image": [{t}, {t}, {t}]}}, "layers": [{{"type": "flatten"}}, {{"type": "dense", "units": 1, "activation": "identity", "init": null}}], "loss": "mse", "l2": 0.0, "seed": 0, "dtype": "f32"}}"#
    );
    let p = model_problem(&declared(&arch));
    assert!(p.contains("limit of usize::MAX"), "{p}");
    let err = Network::<f32>::image_builder(1 << 40, 1 << 40, 1 << 40)
        .flatten()
        .dense(1, Activation::Identity)
        .loss(Loss::Mse)
        .build()
        .unwrap_err();
    assert!(matches!(err, TrainError::TooLarge { .. }), "{err}");
}

#[test]
fn a_huge_conv_padding_is_refused_before_its_index_table_is_built() {
    // Padding 999999990 once asked for 576 GB; 2⁶² overflows the padded size.
    for padding in ["999999990", &(1u64 << 62).to_string()] {
        let arch = format!(
            r#"{{"input": {{"image": [1, 8, 8]}}, "layers": [{{"type": "conv2d", "out_channels": 1, "kernel": [3, 3], "stride": [1, 1], "padding": [{padding}, {padding}], "activation": "relu", "init": null}}, {{"type": "flatten"}}, {{"type": "dense", "units": 1, "activation": "identity", "init": null}}], "loss": "mse", "l2": 0.0, "seed": 0, "dtype": "f32"}}"#
        );
        let p = model_problem(&declared(&arch));
        assert!(
            p.contains("Limits::max_example_values") || p.contains("usize::MAX"),
            "padding {padding}: {p}"
        );
    }
}

#[test]
fn a_huge_stride_is_refused_without_trying_every_smaller_one() {
    // Found by fuzzing: the message listed every stride below the declared one that
    // fits, looping 2⁶² times (a stride of 2³² took the stable fuzz test 111 s).
    let arch = format!(
        r#"{{"input": {{"image": [1, 8, 8]}}, "layers": [{{"type": "conv2d", "out_channels": 1, "kernel": [3, 3], "stride": [{}, 1], "padding": [0, 0], "activation": "relu", "init": null}}, {{"type": "flatten"}}, {{"type": "dense", "units": 1, "activation": "identity", "init": null}}], "loss": "mse", "l2": 0.0, "seed": 0, "dtype": "f32"}}"#,
        1u64 << 62
    );
    let p = model_problem(&declared(&arch));
    assert!(p.contains("never read the last 5 input value(s)"), "{p}");
    assert!(p.contains("use stride 1 or 5 "), "{p}");
    let err = Network::<f32>::image_builder(1, 7, 7)
        .layer(MaxPool2dConfig {
            kernel: [3, 3],
            stride: [usize::MAX, 1],
        })
        .flatten()
        .dense(1, Activation::Identity)
        .loss(Loss::Mse)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("use stride 1 or 2 or 4 "), "{err}");
}

#[test]
fn the_builder_refuses_a_width_whose_weights_would_wrap() {
    // Once Ok in release builds: a 2 × (2⁶³ + 1) matrix holding 2 values, and a segfault
    // on saving it.
    let err = Network::<f64>::builder((1 << 63) + 1)
        .dense(2, Activation::Identity)
        .loss(Loss::Mse)
        .build()
        .unwrap_err();
    assert!(matches!(err, TrainError::TooLarge { .. }), "{err}");
    let unlimited = Limits {
        max_parameters: usize::MAX,
        max_example_values: usize::MAX,
        ..Limits::default()
    };
    let err = Network::<f32>::builder(usize::MAX)
        .dense(usize::MAX, Activation::Identity)
        .loss(Loss::Mse)
        .limits(unlimited)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("limit of usize::MAX"), "{err}");
    // Raised limits cannot reach undefined behaviour either: nn-init refuses the bytes.
    let err = Network::<f32>::builder(1 << 62)
        .dense(2, Activation::Identity)
        .loss(Loss::Mse)
        .limits(unlimited)
        .build()
        .unwrap_err();
    assert!(matches!(err, TrainError::Init(_)), "{err}");
}

#[test]
fn raised_limits_are_honoured_and_default_limits_are_documented_numbers() {
    let limits = Limits::default();
    assert_eq!(limits.max_parameters, limits::DEFAULT_MAX_PARAMETERS);
    let small = Limits {
        max_parameters: 10,
        ..Limits::default()
    };
    let builder = Network::<f32>::builder(3)
        .dense(2, Activation::Identity)
        .loss(Loss::Mse);
    assert_eq!(builder.plan().unwrap().parameters, 8);
    assert!(builder.clone().limits(small).build().is_ok());
    let tiny = Limits {
        max_parameters: 7,
        ..Limits::default()
    };
    let err = builder.limits(tiny).build().unwrap_err();
    assert!(err.to_string().contains("Limits::max_parameters"), "{err}");
}

#[test]
fn a_header_longer_than_the_limit_is_refused_before_it_is_parsed() {
    let net = Network::<f32>::builder(2)
        .dense(1, Activation::Identity)
        .loss(Loss::Mse)
        .build()
        .unwrap();
    let mut bytes = model_to_bytes(&net, None).unwrap();
    // Claim a 1 GB header: refused by its length, not by trying to read it.
    bytes[..8].copy_from_slice(&1_000_000_000u64.to_le_bytes());
    let p = model_problem(&bytes);
    assert!(p.contains("Limits::max_header_bytes"), "{p}");
    let limits = Limits {
        max_header_bytes: 16,
        ..Limits::default()
    };
    let good = model_to_bytes(&net, None).unwrap();
    let err = persist::model_from_bytes_with::<f32>(&good, "m", &limits).unwrap_err();
    assert!(err.to_string().contains("max_header_bytes"), "{err}");
}

#[test]
fn an_encoder_array_in_the_header_is_parsed_without_a_json_tree() {
    // 4M numbers (8 MB of header) for a 2-feature network: refused for its size.
    let net = Network::<f32>::builder(2)
        .dense(1, Activation::Identity)
        .loss(Loss::Mse)
        .build()
        .unwrap();
    let numbers = vec!["0.5"; 4_000_000].join(",");
    let json = format!(r#"{{"kind": "standardize", "shift": [{numbers}], "scale": [{numbers}]}}"#);
    let enc = Encoder::from_json_str(&json).unwrap();
    assert_eq!(enc.n_features(), 4_000_000);
    let bytes = model_to_bytes(&net, Some(&enc)).unwrap();
    let p = model_problem(&bytes);
    assert!(p.contains("nn.encoder takes 4000000 features"), "{p}");
    // JSON's null (what a non-finite value once became) is a clear error.
    let err = Encoder::from_json_str(r#"{"kind": "standardize", "shift": [1], "scale": [null]}"#)
        .unwrap_err();
    assert!(err.to_string().contains("encoder JSON"), "{err}");
}

#[test]
fn standardising_values_near_f64_max_stays_finite_and_saves() {
    // ±1e200 once overflowed the variance: the scale was saved as null and the model
    // could never be loaded; a column of 1e308 was blamed on the data.
    let cols = [
        vec![1e200, -1e200, 1e200, -1e200],
        vec![1e308, 1e308, 1e308, 1e308],
        vec![f64::MAX, -f64::MAX, f64::MAX, 0.0],
        vec![1.0, 2.0, 3.0, 4.0],
    ];
    let x = DMatrix::from_fn(4, 4, |r, c| cols[r][c]);
    for kind in [EncoderKind::Standardize, EncoderKind::MinMax] {
        let (enc, z) = Encoder::fit_transform(kind, &x).unwrap();
        assert!(z.iter().all(|v| v.is_finite()), "{kind}: {z}");
        enc.check_finite().unwrap();
        let back = Encoder::from_json_str(&enc.to_json().to_string()).unwrap();
        assert_eq!(back, enc, "{kind}");
    }
    let (enc, z) = Encoder::fit_transform(EncoderKind::Standardize, &x).unwrap();
    assert_eq!(z[(0, 0)], 1.0);
    assert_eq!(z[(1, 0)], 0.0, "a constant 1e308 column is centred");
    // Ordinary data: the same bits as the plain two-pass formula.
    let row = [1.0, 2.0, 3.0, 4.0];
    let mu = row.iter().sum::<f64>() / 4.0;
    let sd = (row.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / 4.0).sqrt();
    assert_eq!(enc.to_json()["shift"][3], serde_json::json!(mu));
    assert_eq!(enc.to_json()["scale"][3], serde_json::json!(sd));
}

#[test]
fn a_stray_integer_label_is_refused_before_a_huge_one_hot_matrix() {
    // One "65535" among 30000 digits: once a 65536 × 30000 one-hot matrix (7.9 GB).
    let mut text = String::from("a,b,label\n");
    for i in 0..30_000 {
        let label = if i == 777 { 65_535 } else { i % 10 };
        text += &format!("{},{},{label}\n", i % 7, i % 3);
    }
    let err =
        read_csv::<f32, _>(text.as_bytes(), "digits.csv", &CsvOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("digits.csv, line 779, column 3"), "{msg}");
    assert!(msg.contains("11 distinct labels"), "{msg}");
    // Found by fuzzing: a label of 10⁸ in two rows is within the one-hot limit (2·10⁸
    // values, never touched), but once made 10⁸ class names (2.4 GB) for 16 bytes of CSV.
    let err = read_csv::<f32, _>(
        &b"99999999;1\n0;1\n"[..],
        "few.csv",
        &CsvOptions {
            has_header: false,
            delimiter: b';',
            label: data::LabelColumn::First,
            ..CsvOptions::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("(MAX_INTEGER_CLASSES)"), "{err}");
    let text = "x,label\n1,65535\n2,0\n";
    let data = read_csv::<f32, _>(text.as_bytes(), "top.csv", &CsvOptions::default()).unwrap();
    assert_eq!(data.y().nrows(), data::MAX_INTEGER_CLASSES);
    let err = data::one_hot::<f32>(&[1 << 20; 1000], (1 << 20) + 1).unwrap_err();
    assert!(matches!(err, TrainError::TooLarge { .. }), "{err}");
}

#[test]
fn a_continuous_label_is_refused_for_classification() {
    let mut text = String::from("x,y\n");
    for i in 0..40 {
        text += &format!("{i},{}\n", 68.37 + f64::from(i));
    }
    let err = read_csv::<f32, _>(text.as_bytes(), "d.csv", &CsvOptions::default()).unwrap_err();
    assert!(err.to_string().contains("--task regress"), "{err}");
    assert!(err.to_string().contains("line 2"), "{err}");
    // Integral but one value per row: also a measurement, not a class.
    let mut text = String::from("x,y\n");
    for i in 0..40 {
        text += &format!("{i},{}\n", 100 + i);
    }
    let err = read_csv::<f32, _>(text.as_bytes(), "d.csv", &CsvOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("40 distinct numeric labels"),
        "{err}"
    );
    // As regression, the same file loads.
    let options = CsvOptions {
        targets: Targets::Regression,
        ..CsvOptions::default()
    };
    assert_eq!(
        read_csv::<f32, _>(text.as_bytes(), "d.csv", &options)
            .unwrap()
            .len(),
        40
    );
}

#[test]
fn a_gzip_bomb_is_inflated_only_as_far_as_its_header_declares() {
    // A header declaring one byte, then 1 GB of zeros compressed to ~1 MB: once
    // decompressed in full (1.1 GB) before the length was compared.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&[0, 0, 8, 1, 0, 0, 0, 1, 7]).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());
    let err = parse_idx(&bomb, "bomb.idx.gz").unwrap_err();
    assert!(err.to_string().contains("trailing bytes"), "{err}");
    // A header declaring more than the limit is refused before reading the data.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&[0, 0, 8, 2, 0, 1, 0, 0, 0, 1, 0, 0])
        .unwrap();
    let err = parse_idx(&enc.finish().unwrap(), "big.idx.gz").unwrap_err();
    assert!(err.to_string().contains("Limits::max_data_values"), "{err}");
}

#[test]
fn a_checkpoint_keeps_non_default_divergence_rules() {
    let net = Network::<f64>::builder(2)
        .dense(1, Activation::Sigmoid)
        .loss(Loss::BinaryCrossEntropy)
        .build()
        .unwrap();
    for divergence in [
        Divergence::off(),
        Divergence {
            growth: Some(50.0),
            above_best: Some(3.0),
            patience: 2,
        },
        Divergence::default(),
    ] {
        let config = FitConfig {
            divergence,
            ..FitConfig::default()
        };
        let trainer = Trainer::<f64>::new(config).unwrap();
        let bytes = persist::checkpoint_to_bytes(&net, &trainer, None).unwrap();
        let back = persist::checkpoint_from_bytes::<f64>(&bytes, "c").unwrap();
        assert_eq!(back.trainer.config().divergence, divergence);
    }
}

/// Prediction leaves the NaN check to a first dense layer with fewer units than inputs
/// (`Layer::infer_into_vouching`): a NaN or infinity anywhere in X, also under a ReLU
/// (which maps NaN to 0) and in a later block of a wide batch (where a network that scans
/// scans each block), is still an error that names its place in the whole X, through `predict` and `predict_into`, on one thread and
/// two, for networks that vouch and for ones that scan. Finite inputs whose products
/// overflow are predicted, as before.
#[test]
fn prediction_refuses_non_finite_inputs_wherever_the_check_is_made() {
    let vouching = Network::<f32>::builder(40)
        .dense(8, Activation::Relu)
        .dense(3, Activation::Softmax)
        .build()
        .unwrap();
    let scanning = Network::<f32>::builder(3)
        .dense(16, Activation::Relu)
        .dense(2, Activation::Identity)
        .build()
        .unwrap();
    let behind_dropout = Network::<f32>::builder(40)
        .dropout(0.5)
        .dense(4, Activation::Relu)
        .build()
        .unwrap();
    let conv = Network::<f32>::image_builder(1, 6, 6)
        .conv2d(4, 3, Activation::Relu)
        .flatten()
        .dense(2, Activation::Identity)
        .build()
        .unwrap();
    // Too wide an output per example for lanes: predicted in blocks of 111 columns.
    let wide_conv = Network::<f32>::image_builder(1, 28, 28)
        .conv2d_strided(6, 5, 1, 2, Activation::Relu)
        .max_pool(2)
        .flatten()
        .dense(2, Activation::Identity)
        .build()
        .unwrap();
    // 70 000 columns of 8 or 16 units, 300 of 4 704: more than one block of `predict`.
    for (name, net, cols) in [
        ("vouching", &vouching, 70_000),
        ("vouching, one column", &vouching, 1),
        ("scanning", &scanning, 300),
        ("scanning, in blocks", &scanning, 70_000),
        ("conv in blocks", &wide_conv, 300),
        ("behind dropout", &behind_dropout, 50),
        ("conv", &conv, 30),
    ] {
        let rows = net.input_shape().len();
        let x = DMatrix::<f32>::from_fn(rows, cols, |i, j| ((i * 7 + j) % 5) as f32 - 2.0);
        for threads in [1, 2] {
            let mut net = net.clone();
            net.set_threads(threads);
            assert!(net.predict(&x).is_ok(), "{name}");
            for (row, col, value) in [
                (0, 0, f32::NAN),
                (rows - 1, cols - 1, f32::INFINITY),
                (rows / 2, cols * 3 / 4, f32::NEG_INFINITY),
            ] {
                let mut bad = x.clone();
                bad[(row, col)] = value;
                let mut buffers = PredictBuffers::default();
                for e in [
                    net.predict(&bad).unwrap_err(),
                    net.predict_into(&bad, &mut buffers).unwrap_err(),
                ] {
                    assert!(
                        matches!(e, TrainError::NonFiniteData { row: r, col: c, .. } if r == row && c == col),
                        "{name}, {threads} thread(s), {value} at ({row}, {col}): {e}"
                    );
                }
            }
        }
    }
    // Finite, but W·x overflows f32: predicted (to non-finite values), not refused.
    let huge = DMatrix::<f32>::from_element(40, 2, 3.0e38);
    let out = vouching.predict(&huge).unwrap();
    assert_eq!(out.shape(), (3, 2));
}
