//! The Python reader `docs/python/nn_model.py` against the Rust predictions:
//!
//! - models of every layer kind (dense, conv2d with strides and padding, max and average
//!   pooling, flatten, dropout) and every activation, in f32 and f64, with each encoder,
//!   and the committed golden model files (some written before the encoder's formula was
//!   stored): `nn_model.load(path).predict(x)` against `Network::predict` on the encoded
//!   inputs, ≤ 1e-12 (f64) or 1e-5 (f32) of max(|value|, 1);
//! - a model trained on a table with missing numbers, missing strings and a string
//!   feature, saved with its pipeline, run through the command lines `predict.py` and
//!   `nn_model.py`: every value must agree to 1e-6;
//! - hostile model files (a tensor of the wrong shape, an unknown activation, an unknown
//!   layer type): the command line exits with status 2 and a message naming the problem,
//!   not a traceback.
//!
//! Runs only where `python3` with numpy and safetensors is installed (otherwise each test
//! passes, having checked nothing, for that reason alone).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use nn_train::data::{TableOptions, load_table};
use nn_train::encode::{Encoder, EncoderKind};
use nn_train::persist::{ModelNames, ModelWriter, load_model, model_dtype, save_model_named};
use nn_train::pipeline::{Pipeline, PipelineConfig, TaskKind};
use nn_train::{
    Activation, AvgPool2dConfig, Conv2dConfig, DMatrix, FitConfig, Loss, MaxPool2dConfig, Network,
    Optimizer, Scalar, Silent, fit,
};

fn python_ready() -> bool {
    Command::new("python3")
        .args(["-c", "import numpy, safetensors"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn docs_python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/python")
}

/// A scratch folder per test, so that tests running at the same time do not share one.
fn scratch_dir() -> PathBuf {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("main").replace("::", "-");
    std::env::temp_dir().join(format!("nn-python-test-{}-{test}", std::process::id()))
}

fn scratch(name: &str) -> PathBuf {
    let dir = scratch_dir();
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Training rows: `size` (numeric, some missing), `color` (strings, some missing),
/// `weight` (numeric), and the two labels `kind` (strings) and `price` (numbers).
fn training_csv() -> String {
    let mut text = String::from("size;color;weight;kind;price\r\n");
    let colors = ["red", "blue", "green", "NA", ""];
    for i in 0..40 {
        let size = if i % 7 == 3 {
            "NA".to_string()
        } else if i % 11 == 5 {
            String::new()
        } else {
            format!("{}", (i % 9) as f64 * 0.5 + 1.0)
        };
        let color = colors[i % 5];
        let weight = (i * 37 % 23) as f64 / 4.0;
        let kind = if (i % 9) as f64 * 0.5 + weight / 3.0 > 3.0 {
            "big"
        } else {
            "small"
        };
        let price = 10.0 + (i % 9) as f64 * 2.0 + weight + if color == "red" { 5.0 } else { 0.0 };
        text += &format!("{size};{color};{weight};{kind};{price}\r\n");
    }
    text
}

/// Test rows in another column order, with an unknown color and missing cells.
fn test_csv() -> &'static str {
    "color,weight,size\nred,1.5,2\npurple,3,NA\n,0.25,4.5\nblue,5.75,\nN/A,2,1\n"
}

fn run_script(script: &str, model: &Path, data: &Path) -> Vec<Vec<String>> {
    let out = model.with_extension("predictions.csv");
    let status = Command::new("python3")
        .arg(docs_python().join(script))
        .arg(model)
        .arg(data)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    text.lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// The network's output layer: softmax over the classes, one sigmoid unit for two
/// classes, or one linear unit for regression.
#[derive(Clone, Copy, PartialEq)]
enum Head {
    Softmax,
    Sigmoid,
    Linear,
}

fn train_and_compare(script: &str, head: Head, label: &str, drop: &str, hidden: [Activation; 2]) {
    let task = if head == Head::Linear {
        TaskKind::Regression
    } else {
        TaskKind::Classification
    };
    let tag =
        format!("{label}-{}-{}-{}", hidden[0], hidden[1], head as u8).replace(['(', ')', '.'], "_");
    let train_path = scratch(&format!("train-{tag}.csv"));
    std::fs::write(&train_path, training_csv()).unwrap();
    let test_path = scratch(&format!("test-{tag}.csv"));
    std::fs::write(&test_path, test_csv()).unwrap();

    let table = load_table(&train_path, &TableOptions::default()).unwrap();
    let config = PipelineConfig {
        features: Some(vec!["size".into(), "color".into(), "weight".into()]),
        task: Some(task),
        ..PipelineConfig::new(label)
    };
    let pipeline = Pipeline::fit(&table, &config).unwrap();
    assert!(pipeline.feature_names().iter().all(|f| *f != drop));
    let x = pipeline.transform::<f64>(&table).unwrap();
    let mut y = pipeline.targets::<f64>(&table).unwrap();
    let (out, activation, loss) = match head {
        Head::Softmax => (2, Activation::Softmax, Loss::CategoricalCrossEntropy),
        Head::Sigmoid => {
            // One row of 0/1: the probability of the second class.
            y = y.rows(1, 1).into_owned();
            (1, Activation::Sigmoid, Loss::BinaryCrossEntropy)
        }
        Head::Linear => (1, Activation::Identity, Loss::Mse),
    };
    let mut net = Network::<f64>::builder(pipeline.n_inputs())
        .dense(6, hidden[0])
        .dense(5, hidden[1])
        .dense(out, activation)
        .loss(loss)
        .seed(5)
        .build()
        .unwrap();
    let fit_config = FitConfig {
        epochs: 30,
        batch_size: 8,
        optimizer: Optimizer::adam(0.01),
        ..FitConfig::default()
    };
    fit(&mut net, (&x, &y), None, &fit_config, &mut Silent).unwrap();
    let model_path = scratch(&format!("model-{tag}.safetensors"));
    ModelWriter::new(&net)
        .pipeline(&pipeline)
        .save(&model_path)
        .unwrap();

    let model = load_model::<f64>(&model_path).unwrap();
    let options = TableOptions {
        missing: model.pipeline.as_ref().unwrap().missing_tokens().to_vec(),
        ..TableOptions::default()
    };
    let test = load_table(&test_path, &options).unwrap();
    let rust = model.predict_table(&test).unwrap();
    let python = run_script(script, &model_path, &test_path);
    assert_eq!(python.len(), 1 + test.n_rows(), "{python:?}");
    match task {
        TaskKind::Regression => {
            assert_eq!(python[0], [label]);
            for (j, row) in python[1..].iter().enumerate() {
                let v: f64 = row[0].parse().unwrap();
                assert!(
                    (v - rust[(0, j)]).abs() <= 1e-6,
                    "row {j}: python {v}, rust {}",
                    rust[(0, j)]
                );
            }
        }
        TaskKind::Classification => {
            let classes = model.classes.clone().unwrap();
            assert_eq!(classes, ["big", "small"]);
            assert_eq!(python[0], [label, "p_big", "p_small"]);
            for (j, row) in python[1..].iter().enumerate() {
                let column: Vec<f64> = if head == Head::Sigmoid {
                    vec![1.0 - rust[(0, j)], rust[(0, j)]]
                } else {
                    rust.column(j).iter().copied().collect()
                };
                let best = usize::from(column[1] >= column[0]);
                assert_eq!(row[0], classes[best], "row {j}");
                for k in 0..2 {
                    let v: f64 = row[1 + k].parse().unwrap();
                    assert!(
                        (v - column[k]).abs() <= 1e-6,
                        "row {j}, class {k}: python {v}, rust {}",
                        column[k]
                    );
                }
            }
        }
    }
}

#[test]
fn predict_py_reproduces_rust_predictions_with_the_pipeline() {
    if !python_ready() {
        return;
    }
    use Activation::*;
    train_and_compare(
        "predict.py",
        Head::Softmax,
        "kind",
        "price",
        [Tanh, LeakyRelu { slope: 0.1 }],
    );
    train_and_compare("nn_model.py", Head::Sigmoid, "kind", "price", [Relu, Tanh]);
    for (i, hidden) in [
        [Relu, Sigmoid],
        [Gelu, GeluTanh],
        [Elu { alpha: 0.5 }, Selu],
        [Silu, Softplus],
    ]
    .into_iter()
    .enumerate()
    {
        let script = ["predict.py", "nn_model.py"][i % 2];
        train_and_compare(script, Head::Linear, "price", "kind", hidden);
    }
    std::fs::remove_dir_all(scratch_dir()).unwrap();
}

/// Every activation of nn, each in a hidden layer of its own.
const EVERY_ACTIVATION: [Activation; 13] = [
    Activation::Identity,
    Activation::Step,
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Relu,
    Activation::LeakyRelu { slope: 0.2 },
    Activation::Softmax,
    Activation::Elu { alpha: 0.7 },
    Activation::Selu,
    Activation::Gelu,
    Activation::GeluTanh,
    Activation::Silu,
    Activation::Softplus,
];

/// A dense network with every activation, widening so that no layer loses the signal,
/// with a softmax output.
fn dense_every_activation<T: Scalar>() -> Network<T> {
    let mut b = Network::<T>::builder(5).seed(31);
    for act in EVERY_ACTIVATION {
        b = b.dense(7, act);
    }
    b.dense(3, Activation::Softmax)
        .loss(Loss::CategoricalCrossEntropy)
        .build()
        .unwrap()
}

/// A convolutional network with every image layer: non-square kernels, strides and
/// padding, max and average pooling (overlapping and not), flatten and dropout, GELU
/// and ELU on the convolutions, a sigmoid output.
fn cnn<T: Scalar>() -> Network<T> {
    Network::<T>::image_builder(2, 9, 9)
        .layer(Conv2dConfig {
            out_channels: 3,
            kernel: [3, 2],
            stride: [2, 1],
            padding: [1, 0],
            activation: Activation::Gelu,
            init: None,
        })
        .layer(MaxPool2dConfig {
            kernel: [2, 2],
            stride: [1, 2],
        })
        .conv2d_strided(4, 2, 1, 1, Activation::Elu { alpha: 1.0 })
        .layer(AvgPool2dConfig {
            kernel: [3, 3],
            stride: [2, 1],
        })
        .flatten()
        .dropout(0.3)
        .dense(6, Activation::Tanh)
        .dense(1, Activation::Sigmoid)
        .loss(Loss::BinaryCrossEntropy)
        .seed(32)
        .build()
        .unwrap()
}

/// A network ending in a convolution with softmax over each example's C×H×W outputs.
fn conv_softmax<T: Scalar>() -> Network<T> {
    Network::<T>::image_builder(1, 5, 5)
        .conv2d_strided(2, 3, 2, 1, Activation::Softmax)
        .loss(Loss::CategoricalCrossEntropy)
        .seed(33)
        .build()
        .unwrap()
}

/// Seeded inputs `(n, m)` with per-feature offsets and scales.
fn inputs(n: usize, m: usize, seed: usize) -> DMatrix<f64> {
    DMatrix::from_fn(n, m, |i, j| {
        let t = ((i * 31 + j * 17 + seed * 7) % 23) as f64 / 23.0 - 0.5;
        (3.0 * t + 0.1 * (i as f64)) * (1.0 + 0.3 * (i % 3) as f64)
    })
}

/// Writes the rows of `x` (columns are examples) as text, one example a line.
fn write_rows(path: &Path, x: &DMatrix<f64>) {
    let mut text = String::new();
    for j in 0..x.ncols() {
        let row: Vec<String> = x.column(j).iter().map(|v| format!("{v:?}")).collect();
        text += &row.join(" ");
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

/// Runs the reader on each (model, inputs) pair: `nn_model.load(model).predict(x)`, with
/// `x` shaped N × C × H × W for a model that takes images.
fn reader_predictions(pairs: &[(PathBuf, PathBuf)]) -> Vec<DMatrix<f64>> {
    let list = scratch("pairs.txt");
    let mut text = String::new();
    for (i, (model, x)) in pairs.iter().enumerate() {
        let out = scratch(&format!("out-{i}.txt"));
        text += &format!("{}\t{}\t{}\n", model.display(), x.display(), out.display());
    }
    std::fs::write(&list, text).unwrap();
    let code = r#"
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import nn_model
for line in open(sys.argv[2]):
    model_path, x_path, out_path = line.rstrip("\n").split("\t")
    model = nn_model.load(model_path)
    x = np.loadtxt(x_path, ndmin=2)
    x = x.reshape((x.shape[0],) + model.input_shape)
    np.savetxt(out_path, model.predict(x), fmt="%.17g")
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(code)
        .arg(docs_python())
        .arg(&list)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the reader failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (0..pairs.len())
        .map(|i| {
            let text = std::fs::read_to_string(scratch(&format!("out-{i}.txt"))).unwrap();
            let rows: Vec<Vec<f64>> = text
                .lines()
                .map(|l| l.split_whitespace().map(|v| v.parse().unwrap()).collect())
                .collect();
            DMatrix::from_fn(rows[0].len(), rows.len(), |r, c| rows[c][r])
        })
        .collect()
}

/// Rust's outputs `(k, m)` for the inputs at `x_path`: the model file loaded in its own
/// precision, its encoder, `Network::predict`.
fn rust_predictions<T: Scalar>(model: &Path, x: &DMatrix<f64>) -> DMatrix<f64> {
    let m = load_model::<T>(model).unwrap();
    let x = x.map(T::cast);
    let x = match &m.encoder {
        Some(e) => e.transform(&x).unwrap(),
        None => x,
    };
    m.network.predict(&x).unwrap().map(|v| v.to_f64())
}

#[test]
fn the_reader_predicts_every_layer_activation_and_encoder_as_nn_does() {
    if !python_ready() {
        return;
    }
    // (model file, inputs, whether the outputs must vary with the inputs)
    let mut cases: Vec<(PathBuf, DMatrix<f64>, bool)> = Vec::new();
    let mut save = |name: &str, bytes: Box<dyn Fn(&Path)>, x: DMatrix<f64>| {
        let path = scratch(&format!("{name}.safetensors"));
        bytes(&path);
        cases.push((path, x, true));
    };
    let none = ModelNames::default();
    macro_rules! both {
        ($name:literal, $net:ident, $n:expr) => {
            let names = none.clone();
            save(
                concat!($name, "_f32"),
                Box::new(move |p| save_model_named(p, &$net::<f32>(), None, &names).unwrap()),
                inputs($n, 6, 1),
            );
            let names = none.clone();
            save(
                concat!($name, "_f64"),
                Box::new(move |p| save_model_named(p, &$net::<f64>(), None, &names).unwrap()),
                inputs($n, 6, 2),
            );
        };
    }
    both!("activations", dense_every_activation, 5);
    both!("cnn", cnn, 2 * 9 * 9);
    both!("conv_softmax", conv_softmax, 25);
    let train = inputs(4, 30, 3);
    for kind in [
        EncoderKind::Standardize,
        EncoderKind::MinMax,
        EncoderKind::PcaWhitening { epsilon: 1e-3 },
        EncoderKind::ZcaWhitening { epsilon: 0.0 },
    ] {
        let enc = Encoder::fit(kind, &train).unwrap();
        save(
            &format!("encoder_{}", kind.name()),
            Box::new(move |p| {
                let net = Network::<f64>::builder(4)
                    .dense(5, Activation::Tanh)
                    .dense(2, Activation::Softmax)
                    .loss(Loss::CategoricalCrossEntropy)
                    .seed(34)
                    .build()
                    .unwrap();
                let names = ModelNames {
                    classes: Some(vec!["a".into(), "b".into()]),
                    ..ModelNames::default()
                };
                save_model_named(p, &net, Some(&enc), &names).unwrap();
            }),
            inputs(4, 7, 4),
        );
    }
    // The committed golden model files, the previous format's included.
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for file in [
        "activations_f32.safetensors",
        "activations_f64.safetensors",
        "cnn_f32.safetensors",
        "encoder_min_max.safetensors",
        "encoder_pca.safetensors",
        "encoder_standardize.safetensors",
        "encoder_zca.safetensors",
        "v1_without_encoder_formula/encoder_min_max.safetensors",
        "v1_without_encoder_formula/encoder_zca.safetensors",
    ] {
        let path = golden.join(file);
        let n = match model_dtype(&path).unwrap() {
            nn_train::nn_core::DType::F32 => load_model::<f32>(&path)
                .unwrap()
                .network
                .input_shape()
                .len(),
            nn_train::nn_core::DType::F64 => load_model::<f64>(&path)
                .unwrap()
                .network
                .input_shape()
                .len(),
        };
        cases.push((path, inputs(n, 5, 5), false));
    }
    let pairs: Vec<(PathBuf, PathBuf)> = cases
        .iter()
        .enumerate()
        .map(|(i, (model, x, _))| {
            let x_path = scratch(&format!("x-{i}.txt"));
            // An f32 model's inputs as f32 values, so that both sides read the same.
            if model_dtype(model).unwrap() == nn_train::nn_core::DType::F32 {
                write_rows(&x_path, &x.map(|v| f64::from(v as f32)));
            } else {
                write_rows(&x_path, x);
            }
            (model.clone(), x_path)
        })
        .collect();
    let python = reader_predictions(&pairs);
    for ((model, x, varied), found) in cases.iter().zip(&python) {
        let (expected, limit) = match model_dtype(model).unwrap() {
            nn_train::nn_core::DType::F32 => (rust_predictions::<f32>(model, x), 1e-5),
            nn_train::nn_core::DType::F64 => (rust_predictions::<f64>(model, x), 1e-12),
        };
        assert_eq!(found.shape(), expected.shape(), "{}", model.display());
        let worst = found
            .iter()
            .zip(expected.iter())
            .map(|(f, e)| (f - e).abs() / e.abs().max(1.0))
            .fold(0.0, f64::max);
        assert!(
            worst <= limit,
            "{}: the reader differs from nn by {worst:e} (limit {limit:e})",
            model.display()
        );
        // Not all outputs equal: a model that ignores its input would pass too easily.
        assert!(
            !varied || expected.column_iter().any(|c| c != expected.column(0)),
            "{}: the same output for every input",
            model.display()
        );
    }
    std::fs::remove_dir_all(scratch_dir()).unwrap();
}

/// The model file's bytes with `from` replaced by `to` (of the same length, so the
/// header's length and every offset stay valid).
fn patched(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap_or_else(|| panic!("{from:?} is not in the file"));
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to.as_bytes());
    out
}

#[test]
fn the_reader_refuses_hostile_model_files_with_a_message() {
    if !python_ready() {
        return;
    }
    let net = Network::<f64>::builder(3)
        .dense(4, Activation::Tanh)
        .dense(2, Activation::Softmax)
        .loss(Loss::CategoricalCrossEntropy)
        .build()
        .unwrap();
    let good = scratch("good.safetensors");
    save_model_named(&good, &net, None, &ModelNames::default()).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let data = scratch("data.csv");
    std::fs::write(&data, "a,b,c\n1,2,3\n").unwrap();
    let refused = |name: &str, bytes: &[u8], expected: &str| {
        let path = scratch(name);
        std::fs::write(&path, bytes).unwrap();
        let out = Command::new("python3")
            .arg(docs_python().join("nn_model.py"))
            .arg(&path)
            .arg(&data)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(!stderr.contains("Traceback"), "{name}: {stderr}");
    };
    // The file as written works.
    let ok = Command::new("python3")
        .arg(docs_python().join("nn_model.py"))
        .arg(&good)
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("prediction_0,prediction_1\n"));
    refused(
        "shape.safetensors",
        &patched(&bytes, "\"shape\":[4,3]", "\"shape\":[3,4]"),
        "has shape [3, 4], but the architecture needs [4, 3]",
    );
    refused(
        "activation.safetensors",
        &patched(&bytes, "tanh", "tank"),
        "unknown activation 'tank'",
    );
    refused(
        "layer.safetensors",
        &patched(&bytes, "dense", "dunce"),
        "layer type 'dunce' is not supported",
    );
    refused(
        "metadata.safetensors",
        &patched(&bytes, "nn.architecture", "nn.architectur_"),
        "not an nn model file",
    );
    refused(
        "truncated.safetensors",
        &bytes[..bytes.len() / 2],
        "not a readable safetensors file",
    );
    std::fs::remove_dir_all(scratch_dir()).unwrap();
}
