//! Validation of user data at the library's boundary, with errors that name the place.

use nalgebra::DMatrix;
use nn_init::nn_activations::Activation;
use nn_init::nn_activations::nn_core::{CoreError, Scalar, ensure_finite, fit_buffer};

use crate::{Result, TrainError};

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

/// Replaces a layer's `"weight"` or `"bias"` tensor with `value` (for loading): the name
/// must be one of the two, the shape must match, the values must be finite. `layer` names
/// the layer kind in errors.
pub(crate) fn set_weight_or_bias<T: Scalar>(
    layer: &'static str,
    (w, b): (&mut DMatrix<T>, &mut DMatrix<T>),
    name: &str,
    value: DMatrix<T>,
) -> Result<()> {
    let target = match name {
        "weight" => w,
        "bias" => b,
        _ => {
            return Err(TrainError::BadShape {
                what: layer,
                expected: "parameter \"weight\" or \"bias\"".into(),
                found: format!("{name:?}"),
            });
        }
    };
    if value.shape() != target.shape() {
        return Err(TrainError::BadShape {
            what: layer,
            expected: format!("{name} of shape {}×{}", target.nrows(), target.ncols()),
            found: format!("{}×{}", value.nrows(), value.ncols()),
        });
    }
    finite(layer, &value)?;
    *target = value;
    Ok(())
}

/// The `∂L/∂A` a layer without an activation receives, checked to be `rows × cols`: such a
/// layer cannot take a loss's fused `∂L/∂Z`. `what` names the layer's gradient in errors.
pub(crate) fn upstream_output<'a, T: Scalar>(
    what: &'static str,
    upstream: crate::layer::Upstream<'a, T>,
    (rows, cols): (usize, usize),
) -> Result<&'a DMatrix<T>> {
    let crate::layer::Upstream::Output(da) = upstream else {
        return Err(TrainError::InvalidConfig {
            what,
            expected: "∂L/∂A (this layer has no activation to fuse with a loss)",
            found: "∂L/∂Z".into(),
        });
    };
    if da.shape() != (rows, cols) {
        return Err(TrainError::BadShape {
            what,
            expected: format!("{rows}×{cols} (the shape of the layer's output)"),
            found: format!("{}×{}", da.nrows(), da.ncols()),
        });
    }
    Ok(da)
}

/// The `dZ` a layer with an activation backpropagates from: `dA ∘ g'(Z)` computed into
/// `buf` for an [`Upstream::Output`](crate::layer::Upstream::Output), or the loss's fused
/// `dZ`, checked to have `z`'s shape. `what` names the layer's gradient in errors.
pub(crate) fn upstream_pre_activation<'a, T: Scalar>(
    what: &'static str,
    upstream: crate::layer::Upstream<'a, T>,
    (activation, z, a): (Activation, &DMatrix<T>, &DMatrix<T>),
    buf: &'a mut DMatrix<T>,
) -> Result<&'a DMatrix<T>> {
    match upstream {
        crate::layer::Upstream::Output(da) => {
            fit_buffer(buf, z.nrows(), z.ncols());
            activation.backward_into(z, a, da, buf)?; // dZ = dA ∘ g'(Z)
            Ok(buf)
        }
        crate::layer::Upstream::PreActivation(dz) => {
            if dz.shape() != z.shape() {
                return Err(TrainError::BadShape {
                    what,
                    expected: format!("{}×{}", z.nrows(), z.ncols()),
                    found: format!("{}×{}", dz.nrows(), dz.ncols()),
                });
            }
            Ok(dz)
        }
    }
}
