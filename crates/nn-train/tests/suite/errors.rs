//! The error types: data, format and training errors are types of their own inside
//! `TrainError`; shape errors carry both shapes; I/O errors keep their `io::Error` as the
//! source; a bug of the crate says so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::error::Error as _;
use std::io::ErrorKind;

use nalgebra::DMatrix;
use nn_train::data::{CsvOptions, Dataset, load_csv, parse_idx, read_csv};
use nn_train::persist::{check_writable, model_from_bytes, model_to_bytes, write_atomic};
use nn_train::*;
use serde_json::json;

use super::data::temp_path;

/// The `io::Error` an error holds as its `source`, if it is one.
fn io_source(e: &TrainError) -> Option<&std::io::Error> {
    e.source()?.downcast_ref::<std::io::Error>()
}

#[test]
fn a_csv_error_is_a_data_error_naming_the_line_and_column() {
    let text = "a,b,label\n1,2,x\n3,oops,y\n";
    let err = read_csv::<f64, _>(text.as_bytes(), "t.csv", &CsvOptions::default()).unwrap_err();
    let TrainError::Data(DataError::Csv {
        file,
        line,
        column,
        text,
        ..
    }) = &err
    else {
        panic!("expected a CSV data error, found {err:?}");
    };
    assert_eq!((file.as_str(), *line, *column), ("t.csv", 3, Some(2)));
    assert_eq!(text, "oops");
    let message = err.to_string();
    assert!(
        message.starts_with("t.csv, line 3, column 2: "),
        "{message}"
    );
    assert!(message.ends_with(": found \"oops\""), "{message}");
    // A data error is shown as it is, and converts into the top-level error.
    let inner = DataError::Idx {
        file: "f".into(),
        offset: 4,
        problem: "p".into(),
    };
    assert_eq!(
        TrainError::from(inner.clone()).to_string(),
        inner.to_string()
    );
    let err = parse_idx(&[0, 0, 0x08], "short.idx").unwrap_err();
    assert!(
        matches!(err, TrainError::Data(DataError::Idx { .. })),
        "{err:?}"
    );
    let err = Dataset::<f64>::from_labels(&[1.0, 2.0], 1, &[0, 3], 2).unwrap_err();
    assert_eq!(
        err,
        TrainError::Data(DataError::LabelOutOfRange {
            index: 1,
            label: 3,
            classes: 2
        })
    );
}

#[test]
fn a_corrupt_model_file_is_a_format_error_naming_the_file() {
    let net = Network::<f64>::builder(2)
        .dense(3, Activation::Tanh)
        .dense(1, Activation::Sigmoid)
        .loss(Loss::BinaryCrossEntropy)
        .build()
        .unwrap();
    let bytes = model_to_bytes(&net, None).unwrap();
    for cut in [0, 7, 8 + 10, bytes.len() - 1] {
        let err = model_from_bytes::<f64>(&bytes[..cut], "m.safetensors").unwrap_err();
        match &err {
            TrainError::Format(FormatError::ModelFile { file, .. }) => {
                assert_eq!(file, "m.safetensors");
                assert!(err.to_string().starts_with("model file m.safetensors: "));
            }
            other => panic!("{cut} bytes: expected a model-file error, found {other:?}"),
        }
    }
    // A layer type that is neither built in nor registered is a format error of its own.
    let layers = [
        json!({"type": "dense", "units": 2, "activation": "tanh", "init": null}),
        json!({"type": "affine", "config": {"units": 2}}),
    ];
    let err = NetworkBuilder::<f64>::new(FeatureShape::Flat(2))
        .layers_from_json(&layers, &LayerRegistry::new())
        .unwrap_err();
    let TrainError::Format(FormatError::UnknownLayerType {
        layer,
        found,
        known,
        ..
    }) = &err
    else {
        panic!("expected an unknown layer type, found {err:?}");
    };
    assert_eq!((*layer, found.as_str()), (1, "affine"));
    let builtin: Vec<String> = LayerSpec::TYPES.iter().map(|t| t.to_string()).collect();
    assert_eq!(known, &builtin);
    assert!(
        err.to_string()
            .contains("unknown layer type `affine`; this build knows `dense`"),
        "{err}"
    );
    assert!(err.to_string().contains("LayerRegistry"), "{err}");
}

#[test]
fn a_diverging_run_is_a_training_error() {
    let x = DMatrix::from_fn(2, 16, |i, j| 100.0 * (i as f64 + 1.0) * (j as f64 - 7.5));
    let y = DMatrix::from_fn(1, 16, |_, j| 50.0 * j as f64);
    let mut net = Network::<f64>::builder(2)
        .dense(8, Activation::Identity)
        .dense(1, Activation::Identity)
        .loss(Loss::Mse)
        .build()
        .unwrap();
    let config = FitConfig {
        epochs: 20,
        batch_size: 4,
        optimizer: Optimizer::sgd(1.0),
        ..FitConfig::default()
    };
    let err = fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap_err();
    let TrainError::Training(inner @ TrainingError::Diverged { epoch, step, .. }) = &err else {
        panic!("expected a divergence, found {err:?}");
    };
    let message = err.to_string();
    assert_eq!(message, inner.to_string());
    assert!(
        message.starts_with(&format!(
            "training diverged at epoch {epoch}, step {step}: "
        )),
        "{message}"
    );
}

#[test]
fn an_io_failure_keeps_its_io_error_as_the_source() {
    let missing = temp_path("errors-no-such.csv");
    let err = load_csv::<f64>(&missing, &CsvOptions::default()).unwrap_err();
    assert!(matches!(err, TrainError::Io { .. }), "{err:?}");
    let source = io_source(&err).expect("the io::Error is the source");
    assert_eq!(source.kind(), ErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        format!("opening CSV file {}: {source}", missing.display())
    );
    // Clones share the source and compare equal; another kind does not.
    assert_eq!(err.clone(), err);
    assert_eq!(
        io_source(&err.clone()).map(|e| e.kind()),
        Some(ErrorKind::NotFound)
    );
    let dir = std::env::temp_dir();
    let err_dir = check_writable(&dir).unwrap_err();
    assert_eq!(
        io_source(&err_dir).map(|e| e.kind()),
        Some(ErrorKind::IsADirectory)
    );
    assert!(
        err_dir
            .to_string()
            .ends_with("it is a directory; give a file name")
    );
    assert_ne!(err_dir, err);
    // A write into a folder that does not exist.
    let err = write_atomic(&missing.join("model.safetensors"), b"x").unwrap_err();
    assert_eq!(io_source(&err).map(|e| e.kind()), Some(ErrorKind::NotFound));
    // Errors that are not I/O have no io::Error behind them.
    let err = DataError::SingularCovariance {
        smallest: 0.0,
        largest: 1.0,
        epsilon: 0.0,
    };
    assert!(io_source(&TrainError::from(err)).is_none());
}

#[test]
fn a_shape_mismatch_carries_both_shapes() {
    let net = Network::<f64>::builder(2)
        .dense(3, Activation::Tanh)
        .dense(1, Activation::Sigmoid)
        .loss(Loss::BinaryCrossEntropy)
        .build()
        .unwrap();
    let err = net.predict(&DMatrix::zeros(3, 5)).unwrap_err();
    assert_eq!(
        err,
        TrainError::BadShape {
            what: "inputs X",
            expected: (2, 5),
            found: (3, 5),
        }
    );
    assert_eq!(err.to_string(), "inputs X: expected 2×5, found 3×5");
    let err = net
        .evaluate(&DMatrix::zeros(2, 5), &DMatrix::zeros(1, 4))
        .unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::BadShape {
                what: "targets Y",
                expected: (1, 5),
                found: (1, 4),
            }
        ),
        "{err}"
    );
    let err =
        Dense::<f64>::from_parameters(DMatrix::zeros(3, 2), DMatrix::zeros(2, 1), Activation::Tanh)
            .unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::BadShape {
                expected: (3, 1),
                found: (2, 1),
                ..
            }
        ),
        "{err}"
    );
    // A mismatch that is not one matrix shape against another says what it is in words.
    let err = Dataset::<f64>::from_rows(&[1.0, 2.0, 3.0], 2, &[1.0], 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "features: expected a multiple of 2 values (one row of 2 per example), found 3 values"
    );
}

/// A pass-through layer that panics when it runs on another thread than the one that
/// made it: in the copies that data-parallel steps run on threads of their own.
#[derive(Debug, Clone)]
struct PanicsInCopies {
    n: usize,
    a: DMatrix<f64>,
    home: std::thread::ThreadId,
}

impl std::fmt::Display for PanicsInCopies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PanicsInCopies({})", self.n)
    }
}

impl Layer<f64> for PanicsInCopies {
    fn input_shape(&self) -> FeatureShape {
        FeatureShape::Flat(self.n)
    }

    fn output_shape(&self) -> FeatureShape {
        FeatureShape::Flat(self.n)
    }

    fn forward(&mut self, x: &DMatrix<f64>, _mode: Mode) -> Result<()> {
        assert_eq!(
            std::thread::current().id(),
            self.home,
            "a copy of the layer ran on another thread (deliberately)"
        );
        self.a.clone_from(x);
        Ok(())
    }

    fn output(&self) -> Option<&DMatrix<f64>> {
        Some(&self.a)
    }

    fn backward(
        &mut self,
        _x: &DMatrix<f64>,
        upstream: Upstream<'_, f64>,
        d_input: Option<&mut DMatrix<f64>>,
    ) -> Result<()> {
        if let (Upstream::Output(da), Some(dx)) = (upstream, d_input) {
            dx.clone_from(da);
        }
        Ok(())
    }

    fn infer(&self, x: &DMatrix<f64>) -> Result<DMatrix<f64>> {
        Ok(x.clone())
    }
}

#[test]
fn a_failure_of_the_crate_itself_asks_for_a_report() {
    let err = TrainError::Internal {
        what: "what should have held".into(),
    };
    assert_eq!(
        err.to_string(),
        "this is a bug in nn-train, please report it: what should have held"
    );
    // A worker thread that panics (here: deliberately, in a layer of the test's own) is
    // such a failure, not a bad configuration.
    let mut net = Network::<f64>::builder(2)
        .push(PanicsInCopies {
            n: 2,
            a: DMatrix::zeros(2, 0),
            home: std::thread::current().id(),
        })
        .dense(4096, Activation::Tanh)
        .dense(1, Activation::Identity)
        .loss(Loss::Mse)
        .build()
        .unwrap();
    let m = 1024;
    assert_eq!(net.training_shares(m), 2);
    let x = DMatrix::from_fn(2, m, |i, j| (i + j) as f64 / m as f64);
    let y = DMatrix::from_fn(1, m, |_, j| j as f64 / m as f64);
    let config = FitConfig {
        threads: Some(2),
        ..FitConfig::default()
    };
    let err = Trainer::new(config)
        .unwrap()
        .train_step(&mut net, &x, &y)
        .unwrap_err();
    assert!(matches!(err, TrainError::Internal { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("this is a bug in nn-train, please report it: a worker thread"),
        "{err}"
    );
}
