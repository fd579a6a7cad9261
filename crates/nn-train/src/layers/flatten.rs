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
//! layer refuses an image input without it. Its output is its input, the same matrix: it
//! has no output buffer ([`Layer::output`] is `None`), and a network passes the batch and
//! its gradient through it without copying either.

use std::fmt;

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::{Scalar, fit_buffer};
use serde::{Deserialize, Serialize};

use super::layer::check_input_rows;
use super::layer::upstream_output;
use super::spec::{ParamSource, Place};
use crate::error::{Result, TrainError};
use crate::layers::LayerRecord;
use crate::layers::LayerSpec;
use crate::layers::{FeatureShape, Layer, LayerPlan, Mode, Upstream};
use crate::limits::Limits;

/// The configuration of a [`Flatten`] layer (it has no settings), as model files store
/// it: `{"type": "flatten"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FlattenConfig {}

impl fmt::Display for FlattenConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flatten")
    }
}

impl FlattenConfig {
    /// The layer for inputs of `input` shape: a flat vector of the same length.
    ///
    /// # Errors
    /// None: every input shape can be flattened (an empty one is refused when built).
    pub fn plan(&self, input: FeatureShape, _index: usize, _limits: &Limits) -> Result<LayerPlan> {
        Ok(LayerPlan::parameterless(FeatureShape::Flat(input.len())))
    }

    /// Builds the layer.
    pub(crate) fn build<T: Scalar>(
        &self,
        _plan: &LayerPlan,
        input: FeatureShape,
        (index, _seed): (usize, u64),
        _source: ParamSource<'_, T>,
    ) -> Result<Flatten<T>> {
        Flatten::new(input).map_err(|e| Place { index, what: self }.invalid(e.to_string()))
    }
}

/// Flattens image examples `C×H×W` into feature vectors of length `C·H·W` (the values and
/// their order are unchanged: channel-major, row-major within a channel, as PyTorch's
/// `nn.Flatten` of an `N×C×H×W` tensor).
///
/// Its output is its input: [`Layer::output`] is `None`, and a network skips it.
#[derive(Debug, Clone)]
pub struct Flatten<T: Scalar> {
    input: FeatureShape,
    scalar: std::marker::PhantomData<fn() -> T>,
}

impl<T: Scalar> Flatten<T> {
    /// Flattens examples of shape `input` (an image; a flat input passes through).
    ///
    /// # Errors
    /// [`TrainError::BadInput`] if `input` has no values.
    pub fn new(input: FeatureShape) -> Result<Self> {
        if input.is_empty() {
            return Err(TrainError::BadInput {
                what: "flatten input",
                expected: "at least one value per example".into(),
                found: input.to_string(),
            });
        }
        Ok(Self {
            input,
            scalar: std::marker::PhantomData,
        })
    }

    fn check_input(&self, input: &DMatrix<T>) -> Result<()> {
        check_input_rows("flatten input", self.input.len(), input)
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

    /// Checks the input's shape; the output is the input itself.
    fn forward(&mut self, input: &DMatrix<T>, _mode: Mode) -> Result<()> {
        self.check_input(input)
    }

    fn output(&self) -> Option<&DMatrix<T>> {
        None
    }

    /// `dX = dA`, for a flatten layer used on its own (a network passes the gradient
    /// through instead).
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

    fn infer(&self, input: &DMatrix<T>) -> Result<DMatrix<T>> {
        self.check_input(input)?;
        Ok(input.clone())
    }

    fn record(&self) -> Option<LayerRecord> {
        Some(LayerRecord::Builtin(LayerSpec::Flatten(FlattenConfig {})))
    }
}
