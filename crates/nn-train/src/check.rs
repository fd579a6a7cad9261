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
    // One row per network output, one column per example of X.
    if y.shape() != (outputs, x.ncols()) {
        return Err(TrainError::BadShape {
            what: "targets Y",
            expected: (outputs, x.ncols()),
            found: y.shape(),
        });
    }
    finite("targets Y", y)
}

/// Checks inputs alone: the expected rows, at least one example, all finite.
pub(crate) fn inputs_only<T: Scalar>(x: &DMatrix<T>, inputs: usize) -> Result<()> {
    inputs_shape(x, inputs)?;
    finite("inputs X", x)
}

/// The shape half of [`inputs_only`]: `inputs` rows and at least one column. Prediction
/// leaves the finiteness check to the first layer where it can (see
/// `Layer::infer_into_vouching`).
pub(crate) fn inputs_shape<T: Scalar>(x: &DMatrix<T>, inputs: usize) -> Result<()> {
    // One row per feature, one column per example.
    if x.nrows() != inputs {
        return Err(TrainError::BadShape {
            what: "inputs X",
            expected: (inputs, x.ncols()),
            found: x.shape(),
        });
    }
    if x.ncols() == 0 {
        return Err(TrainError::EmptyData { what: "inputs X" });
    }
    Ok(())
}
