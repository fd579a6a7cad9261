//! The top-level error of nn-train, which every function returns.

use std::io;

use thiserror::Error;

use nn_init::InitError;
use nn_init::nn_activations::ActivationError;
use nn_init::nn_activations::nn_core::{CoreError, Shape};

use super::data_error::DataError;
use super::format_error::FormatError;
use super::io_source::IoSource;
use super::training_error::TrainingError;

/// Errors of building, running and training networks, and of reading and writing their
/// data and files.
///
/// The errors of three subsystems are types of their own, held here and shown as they
/// are: [`TrainError::Data`] (data sets and their files), [`TrainError::Format`] (model
/// files and checkpoints) and [`TrainError::Training`] (divergence). The other variants
/// are the crate's general errors; [`TrainError::Internal`] is a bug of this crate.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A shape-checked operation failed.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// An activation was misused (e.g. the element-wise derivative of softmax).
    #[error(transparent)]
    Activation(#[from] ActivationError),
    /// A weight initializer was given bad arguments.
    #[error(transparent)]
    Init(#[from] InitError),
    /// A data set or a data file is not what was expected (CSV, IDX, labels, feature names,
    /// whitening).
    #[error(transparent)]
    Data(#[from] DataError),
    /// A model file or checkpoint cannot be read or written, or a layer's stored form names
    /// an unknown layer type.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// Training diverged.
    #[error(transparent)]
    Training(#[from] TrainingError),
    /// The network description is inconsistent (sizes, loss vs output layer, …).
    #[error("layer {layer} ({what}): {problem}")]
    InvalidArchitecture {
        /// Index of the offending layer (0 = first layer after the input).
        layer: usize,
        /// The layer, as displayed (e.g. `Dense(16→1, sigmoid)`).
        what: String,
        /// What is wrong and what would be right.
        problem: String,
    },
    /// A matrix (an input or target batch, a parameter, a gradient) does not have the shape
    /// the operation needs.
    #[error(
        "{what}: expected {}×{}, found {}×{}",
        expected.0,
        expected.1,
        found.0,
        found.1
    )]
    BadShape {
        /// Which matrix (e.g. `"inputs X"`, `"targets Y"`, `"dense bias b"`).
        what: &'static str,
        /// The shape needed, `(rows, columns)`.
        expected: Shape,
        /// The shape given.
        found: Shape,
    },
    /// An argument does not fit in a way that is not one matrix shape against another: a
    /// count of values, names or tensors, a name, an index, an image where a flat vector
    /// was given.
    #[error("{what}: expected {expected}, found {found}")]
    BadInput {
        /// Which argument (e.g. `"parameter name"`, `"class names"`).
        what: &'static str,
        /// What was needed, in words with numbers.
        expected: String,
        /// What was given.
        found: String,
    },
    /// A data set or batch has no examples.
    #[error("{what} has no examples (0 columns); at least one is needed")]
    EmptyData {
        /// Which data.
        what: &'static str,
    },
    /// Data contains NaN or ±∞.
    #[error("{what}: non-finite value {value} at row {row}, column (example) {col}")]
    NonFiniteData {
        /// Which data.
        what: &'static str,
        /// Row (feature or output index).
        row: usize,
        /// Column (example index).
        col: usize,
        /// The value found.
        value: f64,
    },
    /// A target does not fit the loss (e.g. a label 2 for binary cross-entropy).
    #[error("targets Y: {problem} at row {row}, column (example) {col}: found {value}")]
    BadTarget {
        /// What the loss requires.
        problem: String,
        /// Row of the target.
        row: usize,
        /// Column (example) of the target.
        col: usize,
        /// The value found.
        value: f64,
    },
    /// A hyperparameter is outside its valid range.
    #[error("{what} must be {expected}, found {found}")]
    InvalidConfig {
        /// The setting's name (e.g. `"batch_size"`).
        what: &'static str,
        /// The valid range, in words.
        expected: &'static str,
        /// The value given.
        found: String,
    },
    /// A size is beyond what this build can address, or beyond a documented limit
    /// ([`crate::Limits`]); nothing was allocated for it.
    #[error("{what} is {found}, more than the limit of {limit}{}", raise_hint(.raise))]
    TooLarge {
        /// The quantity, and where it is (e.g. `"layer 0 (Dense(20000, relu)): parameters"`).
        what: String,
        /// Its size, as computed (a product of factors when it overflows `usize`).
        found: String,
        /// The limit it exceeds.
        limit: String,
        /// How to raise the limit, when it is a setting (e.g. `"Limits::max_parameters"`);
        /// empty when it is the address space itself.
        raise: &'static str,
    },
    /// Reading or writing a file (or another reader or writer) failed; the
    /// [`io::Error`] is the error's `source`.
    #[error("{context}: {source}")]
    Io {
        /// What was being read or written, naming the path.
        context: String,
        /// The error the operating system or the reader reported.
        #[source]
        source: IoSource,
    },
    /// Something this crate guarantees did not hold: a bug in nn-train, not in the caller's
    /// input.
    #[error("this is a bug in nn-train, please report it: {what}")]
    Internal {
        /// What went wrong, and what should have held.
        what: String,
    },
}

impl TrainError {
    /// An [`TrainError::Io`] error: `context` says what was being read or written (naming
    /// the path), `source` what failed.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        TrainError::Io {
            context: context.into(),
            source: IoSource::new(source),
        }
    }

    /// An [`TrainError::Internal`] error: `what` says what should have held.
    pub(crate) fn internal(what: impl Into<String>) -> Self {
        TrainError::Internal { what: what.into() }
    }
}

/// `"; raise it with …"` when the limit is a setting.
fn raise_hint(raise: &str) -> String {
    if raise.is_empty() {
        String::new()
    } else {
        format!("; if this is intended, raise it with {raise}")
    }
}
