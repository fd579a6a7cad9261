//! `docs/python/predict.py` against the Rust predictions: a model trained on a table with
//! missing numbers, missing strings and a string feature, saved with its pipeline, run by
//! the script with numpy and safetensors; every value must agree to 1e-6. Runs only
//! where `python3` with numpy and safetensors is installed (otherwise it passes, having
//! checked nothing, for that reason alone).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use nn_train::data::{TableOptions, load_table};
use nn_train::persist::{ModelWriter, load_model};
use nn_train::pipeline::{Pipeline, PipelineConfig, TaskKind};
use nn_train::{Activation, FitConfig, Loss, Network, Optimizer, Silent, fit};

fn python_ready() -> bool {
    Command::new("python3")
        .args(["-c", "import numpy, safetensors"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/python/predict.py")
}

fn scratch_dir() -> PathBuf {
    std::env::temp_dir().join(format!("nn-python-test-{}", std::process::id()))
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

fn run_script(model: &Path, data: &Path) -> Vec<Vec<String>> {
    let out = model.with_extension("predictions.csv");
    let status = Command::new("python3")
        .arg(script())
        .arg(model)
        .arg(data)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "predict.py failed: {}",
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

fn train_and_compare(head: Head, label: &str, drop: &str, hidden: [Activation; 2]) {
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
    let python = run_script(&model_path, &test_path);
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
        Head::Softmax,
        "kind",
        "price",
        [Tanh, LeakyRelu { slope: 0.1 }],
    );
    train_and_compare(Head::Sigmoid, "kind", "price", [Relu, Tanh]);
    for hidden in [
        [Relu, Sigmoid],
        [Gelu, GeluTanh],
        [Elu { alpha: 0.5 }, Selu],
        [Silu, Softplus],
    ] {
        train_and_compare(Head::Linear, "price", "kind", hidden);
    }
    std::fs::remove_dir_all(scratch_dir()).unwrap();
}
