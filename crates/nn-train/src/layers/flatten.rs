//! Flatten: an image example `C×H×W` becomes the flat vector of its `C·H·W` values.
//!
//! In the column convention an image already is a column of `C·H·W` values (channel-major),
//! so flattening changes the *shape description* only, not the data:
//!
//! ```text
//! forward   A = X            backward   dX = dA
//! ```
//!
//! It exists so that a network states where images end and feature vectors begin: a dense
//! layer refuses an image input without it. The layer copies its input into its own output
//! buffer (one `memcpy`, allocation-free after the first batch) to keep the [`Layer`]
//! contract that every layer owns its output.

use std::fmt;

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::{Scalar, fit_buffer};

use super::layer::upstream_output;
use crate::error::{Result, TrainError};
use crate::layers::{FeatureShape, Layer, Mode, ParamMut, Upstream};

/// Flattens image examples `C×H×W` into feature vectors of length `C·H·W` (the values and
/// their order are unchanged: channel-major, row-major within a channel, as PyTorch's
/// `nn.Flatten` of an `N×C×H×W` tensor).
#[derive(Debug, Clone)]
pub struct Flatten<T: Scalar> {
    input: FeatureShape,
    out: DMatrix<T>,
}

impl<T: Scalar> Flatten<T> {
    /// Flattens examples of shape `input` (an image; a flat input passes through).
    ///
    /// # Errors
    /// [`TrainError::BadShape`] if `input` has no values.
    pub fn new(input: FeatureShape) -> Result<Self> {
        if input.is_empty() {
            return Err(TrainError::BadShape {
                what: "flatten input",
                expected: "at least one value per example".into(),
                found: input.to_string(),
            });
        }
        Ok(Self {
            input,
            out: DMatrix::zeros(input.len(), 0),
        })
    }

    fn check_input(&self, input: &DMatrix<T>) -> Result<()> {
        if input.nrows() != self.input.len() {
            return Err(TrainError::BadShape {
                what: "flatten input",
                expected: format!("{} rows ({} per example)", self.input.len(), self.input),
                found: format!("{} rows", input.nrows()),
            });
        }
        Ok(())
    }
}

impl<T: Scalar> fmt::Display for Flatten<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flatten({}→{})", self.input, self.input.len())
    }
}

impl<T: Scalar> Layer<T> for Flatten<T> {
    fn input_shape(&self) -> FeatureShape {
        self.input
    }

    fn output_shape(&self) -> FeatureShape {
        FeatureShape::Flat(self.input.len())
    }

    fn forward(&mut self, input: &DMatrix<T>, _mode: Mode) -> Result<()> {
        self.check_input(input)?;
        fit_buffer(&mut self.out, input.nrows(), input.ncols());
        self.out.copy_from(input); // A = X
        Ok(())
    }

    fn output(&self) -> &DMatrix<T> {
        &self.out
    }

    fn backward(
        &mut self,
        input: &DMatrix<T>,
        upstream: Upstream<'_, T>,
        d_input: Option<&mut DMatrix<T>>,
    ) -> Result<()> {
        self.check_input(input)?;
        let da = upstream_output("flatten upstream gradient", upstream, input.shape())?;
        if let Some(d_in) = d_input {
            fit_buffer(d_in, input.nrows(), input.ncols());
            d_in.copy_from(da); // dX = dA
        }
        Ok(())
    }

    fn infer_full(&self, input: &DMatrix<T>) -> Result<(Option<DMatrix<T>>, DMatrix<T>)> {
        self.check_input(input)?;
        Ok((None, input.clone()))
    }

    fn for_each_param(&mut self, _f: &mut dyn FnMut(ParamMut<'_, T>)) {}

    fn visit_params<'a>(&'a self, _f: &mut dyn FnMut(&'static str, &'a DMatrix<T>)) {}

    fn set_param(&mut self, name: &str, _value: DMatrix<T>) -> Result<()> {
        Err(TrainError::BadShape {
            what: "flatten parameter name",
            expected: "none (flatten has no parameters)".into(),
            found: format!("{name:?}"),
        })
    }
}
