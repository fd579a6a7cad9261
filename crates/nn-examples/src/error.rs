//! The error type of the examples crate: training errors, figure and file problems.

use std::path::PathBuf;

use nn_train::TrainError;
use thiserror::Error;

/// Errors of experiments, figures, the tour and the command-line tool.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ExampleError {
    /// The library refused something (bad data, bad configuration, divergence, …).
    #[error(transparent)]
    Train(#[from] TrainError),
    /// A figure could not be drawn or written.
    #[error("figure {path}: {message}")]
    Figure {
        /// The SVG file being written.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A file or directory could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// An experiment or command was asked for something it cannot do.
    #[error("{0}")]
    Usage(String),
}

impl ExampleError {
    /// An I/O error at `path`.
    pub fn io(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> Self {
        ExampleError::Io {
            path: path.into(),
            message: e.to_string(),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = ExampleError> = std::result::Result<T, E>;
