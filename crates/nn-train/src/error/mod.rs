//! nn-train's errors: one top-level [`TrainError`] that every function returns, and one
//! type per subsystem that converts into it ([`DataError`] for data sets and their files,
//! [`FormatError`] for model files and checkpoints, [`TrainingError`] for training that
//! diverges). Each message says what was expected, what was found, and where (layer index,
//! epoch and step, line and column, byte offset).
//!
//! The lowest module of the crate: every other module may use it, it uses none of them.

mod data_error;
mod format_error;
mod io_source;
mod train_error;
mod training_error;

pub use data_error::DataError;
pub use format_error::FormatError;
pub use io_source::IoSource;
pub use train_error::TrainError;
pub use training_error::{DivergenceRule, KeptParameters, TrainingError};

/// Shorthand for results of this crate.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
