//! Validation of user data at the library's boundary, with errors that name the place.

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::{CoreError, Scalar, ensure_finite};

use crate::error::{Result, TrainError};

/// Fails with [`TrainError::NonFiniteData`] at the first NaN or ±∞ in `m` (found by
/// nn-core's [`ensure_finite`], which names its place).
pub(crate) fn finite<T: Scalar>(what: &'static str, m: &DMatrix<T>) -> Result<()> {
    ensure_finite("finiteness check", what, m).map_err(|e| match e {
        CoreError::NonFinite {
            row, col, value, ..
        } => TrainError::NonFiniteData {
            what,
            row,
            col,
            value,
        },
        other => other.into(),
    })
}

/// Checks a batch of inputs and targets against the network's sizes: same number of
/// columns, the expected rows, at least one example, all finite.
pub(crate) fn batch<T: Scalar>(
    x: &DMatrix<T>,
    y: &DMatrix<T>,
    inputs: usize,
    outputs: usize,
) -> Result<()> {
    inputs_only(x, inputs)?;
    if y.nrows() != outputs {
        return Err(TrainError::BadShape {
            what: "targets Y",
            expected: format!("{outputs} rows (network outputs)"),
            found: format!("{} rows", y.nrows()),
        });
    }
    if y.ncols() != x.ncols() {
        return Err(TrainError::BadShape {
            what: "targets Y",
            expected: format!("{} columns (one per example of X)", x.ncols()),
            found: format!("{} columns", y.ncols()),
        });
    }
    finite("targets Y", y)
}

/// Checks inputs alone: the expected rows, at least one example, all finite.
pub(crate) fn inputs_only<T: Scalar>(x: &DMatrix<T>, inputs: usize) -> Result<()> {
    if x.nrows() != inputs {
        return Err(TrainError::BadShape {
            what: "inputs X",
            expected: format!("{inputs} rows (features per example; examples are columns)"),
            found: format!("{} rows × {} columns", x.nrows(), x.ncols()),
        });
    }
    if x.ncols() == 0 {
        return Err(TrainError::EmptyData { what: "inputs X" });
    }
    finite("inputs X", x)
}
