//! The one error type of nn-train: each variant says what was expected, what was found,
//! and where (layer index, epoch and step, column).

use std::fmt;

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
    /// Training diverged: a cost or gradient became NaN or infinite, or an epoch's cost
    /// broke a rule of [`crate::Divergence`].
    ///
    /// The network is left holding the parameters [`TrainError::Diverged::kept`] names —
    /// the last good (or, with early stopping's `restore_best`, the best) parameters of the
    /// run, never those of the step or epoch that diverged — so it can be saved as it is.
    #[error(
        "training diverged at epoch {epoch}, step {step}: {what} is {value:e}, expected \
         {rule}; {kept} (try a smaller learning rate or clipping)"
    )]
    Diverged {
        /// Epoch (0-based) in which it happened.
        epoch: usize,
        /// Step (0-based batch index within the epoch): the failing step for a non-finite
        /// cost or gradient, the epoch's last step for a rule checked at the epoch's end.
        step: usize,
        /// `"cost"` or `"gradient norm"` (of a step), `"epoch cost"` or `"validation cost"`.
        what: &'static str,
        /// The value found.
        value: f64,
        /// The rule that fired.
        rule: DivergenceRule,
        /// Which parameters the network holds now.
        kept: KeptParameters,
    },
    /// A class label is not below the number of classes.
    #[error("label {label} of example {index} is out of range: expected a class in 0..{classes}")]
    LabelOutOfRange {
        /// Index of the example (0-based).
        index: usize,
        /// The label found.
        label: usize,
        /// The number of classes.
        classes: usize,
    },
    /// A CSV file (or reader) could not be read as a data set.
    #[error("{}", csv_message(.file, *.line, *.column, .text, .problem))]
    Csv {
        /// The path, or the name given to the reader.
        file: String,
        /// The line (1-based) where the problem is; 0 if the file has no lines at all.
        line: u64,
        /// The column (1-based field number), when one field is at fault.
        column: Option<usize>,
        /// The offending text (the field, or a summary of the record).
        text: String,
        /// What was expected and what is wrong.
        problem: String,
    },
    /// An IDX file (the MNIST format) is malformed.
    #[error("{file}, byte offset {offset}: {problem}")]
    Idx {
        /// The path, or the name given to the bytes.
        file: String,
        /// Byte offset (in the decompressed stream) where the problem is.
        offset: u64,
        /// What was expected and what was found.
        problem: String,
    },
    /// A model or checkpoint file is corrupt, truncated, or does not describe a network this
    /// build can rebuild.
    #[error("model file {file}: {problem}")]
    ModelFile {
        /// The path, or the name given to the bytes.
        file: String,
        /// What was expected and what was found.
        problem: String,
    },
    /// Whitening needs an invertible covariance (or a regulariser `ε > 0`).
    #[error(
        "whitening: the covariance of the training data is singular (smallest eigenvalue \
         {smallest:e}, largest {largest:e}, ε = {epsilon:e}); use ε > 0, e.g. 1e-5 × the \
         largest eigenvalue, or remove linearly dependent features"
    )]
    SingularCovariance {
        /// The smallest eigenvalue of the covariance.
        smallest: f64,
        /// The largest eigenvalue.
        largest: f64,
        /// The regulariser given.
        epsilon: f64,
    },
    /// Data's columns are not the features a model was trained on (by name).
    #[error("{}", feature_message(.data, .expected, .missing, .extra, .reordered))]
    FeatureMismatch {
        /// The data (e.g. the CSV file's path).
        data: String,
        /// The model's feature names, in order.
        expected: Vec<String>,
        /// Names the model needs that the data lacks.
        missing: Vec<String>,
        /// Names the data has that the model does not know.
        extra: Vec<String>,
        /// Names both have, at different places.
        reordered: Vec<String>,
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
    /// Writing the history or another file failed.
    #[error("{context}: {message}")]
    Io {
        /// What was being written or read.
        context: String,
        /// The underlying error, as text.
        message: String,
    },
}

/// The rule behind a [`TrainError::Diverged`]; its `Display` is what was expected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DivergenceRule {
    /// A cost or gradient was NaN or infinite.
    NonFinite,
    /// The epoch's cost exceeded `growth × reference` ([`crate::Divergence::growth`]).
    Growth {
        /// The factor allowed.
        growth: f64,
        /// The cost of the run's first step.
        reference: f64,
    },
    /// The epoch's cost was above `factor × best` for `patience` epochs in a row
    /// ([`crate::Divergence::above_best`]).
    AboveBest {
        /// The factor allowed.
        factor: f64,
        /// The lowest epoch cost of the run.
        best: f64,
        /// Epochs in a row above the limit.
        patience: usize,
    },
}

impl fmt::Display for DivergenceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DivergenceRule::NonFinite => write!(f, "a finite value"),
            DivergenceRule::Growth { growth, reference } => write!(
                f,
                "at most {:e} ({growth:e} × the first step's cost {reference:e}: the growth rule)",
                growth * reference
            ),
            DivergenceRule::AboveBest {
                factor,
                best,
                patience,
            } => write!(
                f,
                "at most {:e} ({factor:e} × the lowest epoch cost {best:e}) in at least one of \
                 {patience} epochs in a row (the best rule)",
                factor * best
            ),
        }
    }
}

/// Which parameters a network holds after [`TrainError::Diverged`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptParameters {
    /// Those from before the failing step: nothing was updated
    /// ([`crate::Trainer::train_step`]).
    BeforeStep,
    /// Those the [`crate::Trainer::fit`] call started from: no epoch of it was good.
    Start,
    /// Those at the end of this epoch, the last good one of the `fit` call.
    LastGood(usize),
    /// Those at the end of this epoch, the best one by early stopping's measure (its
    /// `restore_best` is set).
    Best(usize),
}

impl fmt::Display for KeptParameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeptParameters::BeforeStep => {
                write!(f, "the parameters are those from before the step")
            }
            KeptParameters::Start => {
                write!(f, "the parameters training started from were restored")
            }
            KeptParameters::LastGood(e) => {
                write!(
                    f,
                    "the parameters of epoch {e}, the last good one, were restored"
                )
            }
            KeptParameters::Best(e) => write!(
                f,
                "the parameters of epoch {e}, the best one (early stopping), were restored"
            ),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;

/// What differs between a model's feature names and the data's.
fn feature_message(
    data: &str,
    expected: &[String],
    missing: &[String],
    extra: &[String],
    reordered: &[String],
) -> String {
    let mut parts = Vec::new();
    for (what, names) in [
        ("missing", missing),
        ("not in the model", extra),
        ("in another order", reordered),
    ] {
        if !names.is_empty() {
            parts.push(format!("{what}: {}", names.join(", ")));
        }
    }
    format!(
        "{data}: the columns are not the features the model was trained on ({}); expected, \
         in this order: {}",
        parts.join("; "),
        expected.join(", ")
    )
}

/// `"; raise it with …"` when the limit is a setting.
fn raise_hint(raise: &str) -> String {
    if raise.is_empty() {
        String::new()
    } else {
        format!("; if this is intended, raise it with {raise}")
    }
}

/// `file, line L, column C: problem: found "text"` with the parts that are known.
fn csv_message(file: &str, line: u64, column: Option<usize>, text: &str, problem: &str) -> String {
    let mut s = format!("{file}, line {line}");
    if let Some(c) = column {
        s.push_str(&format!(", column {c}"));
    }
    s.push_str(": ");
    s.push_str(problem);
    if !text.is_empty() {
        s.push_str(&format!(": found {text:?}"));
    }
    s
}
