//! The one error type of nn-train: each variant says what was expected, what was found,
//! and where (layer index, epoch and step, column).

use thiserror::Error;

use nn_init::InitError;
use nn_init::nn_activations::ActivationError;
use nn_init::nn_activations::nn_core::CoreError;

/// Errors of building, running and training networks.
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
    /// An input or target matrix does not fit the network.
    #[error("{what}: expected {expected}, found {found}")]
    BadShape {
        /// Which data (e.g. `"inputs X"`, `"targets Y"`).
        what: &'static str,
        /// What the network needs, in words with numbers.
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
    /// The cost or a gradient became NaN or infinite during training.
    #[error(
        "training diverged at epoch {epoch}, step {step}: {what} is {value}; the parameters \
         of the last completed epoch were restored (try a smaller learning rate or clipping)"
    )]
    Diverged {
        /// Epoch (0-based) in which it happened.
        epoch: usize,
        /// Step (0-based batch index within the epoch).
        step: usize,
        /// `"cost"` or `"gradient norm"`.
        what: &'static str,
        /// The non-finite value.
        value: f64,
    },
    /// Writing the history or another file failed.
    #[error("{context}: {message}")]
    Io {
        /// What was being written or read.
        context: String,
        /// The underlying error, as text.
        message: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
