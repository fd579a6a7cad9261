//! Inverted dropout: during training each value is kept with probability `1 − p` and
//! scaled by `1/(1 − p)`; in evaluation the layer is the identity.

use std::fmt;

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::{Scalar, fit_buffer};
use nn_init::{RngState, SeededRng, Stream};

use serde::{Deserialize, Serialize};

use super::layer::check_input_rows;
use super::layer::upstream_output;
use super::spec::{ParamSource, Place, mask_seed};
use crate::error::{Result, TrainError};
use crate::layers::LayerRecord;
use crate::layers::LayerSpec;
use crate::layers::lanes::Lanes;
use crate::layers::{FeatureShape, Layer, LayerPlan, Mode, Stochastic, Upstream};
use crate::limits::Limits;

/// The configuration of a [`Dropout`] layer, as model files store it:
/// `{"type": "dropout", "rate": 0.5}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DropoutConfig {
    /// The drop probability `p ∈ [0, 1)`.
    pub rate: f64,
}

impl fmt::Display for DropoutConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dropout(p={})", self.rate)
    }
}

impl DropoutConfig {
    /// The layer for inputs of `input` shape: the same shape out, no parameters (the rate
    /// is checked when it is built).
    ///
    /// # Errors
    /// None: every input shape suits dropout.
    pub fn plan(&self, input: FeatureShape, _index: usize, _limits: &Limits) -> Result<LayerPlan> {
        Ok(LayerPlan::parameterless(input))
    }

    /// Builds the layer, its masks seeded from layer `index`'s own stream of `seed`.
    pub(crate) fn build<T: Scalar>(
        &self,
        _plan: &LayerPlan,
        input: FeatureShape,
        (index, seed): (usize, u64),
        _source: ParamSource<'_, T>,
    ) -> Result<Dropout<T>> {
        Dropout::new(input, self.rate, mask_seed(seed, index))
            .map_err(|e| Place { index, what: self }.invalid(e.to_string()))
    }
}

/// Inverted dropout with rate `p` (the probability of dropping a value).
///
/// ```text
/// train   mask_ij ~ Bernoulli(1 − p),   A = X ∘ mask / (1 − p)
/// eval    A = X
/// backward dX = dA ∘ mask / (1 − p)
/// ```
///
/// Scaling at training time keeps the expected activation unchanged, so nothing is
/// rescaled at evaluation. Masks come from a seeded ChaCha stream: the same seed draws the
/// same masks.
#[derive(Debug, Clone)]
pub struct Dropout<T: Scalar> {
    rate: f64,
    shape: FeatureShape,
    rng: SeededRng,
    /// `mask / (1 − p)`: 0 or `1/(1 − p)` per entry, for the last training forward.
    scale: DMatrix<T>,
    out: DMatrix<T>,
    train_mode: bool,
}

impl<T: Scalar> Dropout<T> {
    /// Dropout over examples of `shape` with rate `p ∈ [0, 1)`, masks seeded by `seed`.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] if `p` is not in `[0, 1)`.
    pub fn new(shape: FeatureShape, rate: f64, seed: u64) -> Result<Self> {
        if !(0.0..1.0).contains(&rate) {
            return Err(TrainError::InvalidConfig {
                what: "dropout rate",
                expected: "in [0, 1)",
                found: rate.to_string(),
            });
        }
        Ok(Self {
            rate,
            shape,
            rng: SeededRng::for_stream(seed, Stream::DropoutMasks),
            scale: DMatrix::zeros(shape.len(), 0),
            out: DMatrix::zeros(shape.len(), 0),
            train_mode: false,
        })
    }

    /// The drop probability `p`.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    fn check_input(&self, input: &DMatrix<T>) -> Result<()> {
        check_input_rows("dropout input", self.shape.len(), input)
    }
}

impl<T: Scalar> fmt::Display for Dropout<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dropout(p={})", self.rate)
    }
}

impl<T: Scalar> Layer<T> for Dropout<T> {
    fn input_shape(&self) -> FeatureShape {
        self.shape
    }

    fn output_shape(&self) -> FeatureShape {
        self.shape
    }

    fn forward(&mut self, input: &DMatrix<T>, mode: Mode) -> Result<()> {
        self.check_input(input)?;
        fit_buffer(&mut self.out, input.nrows(), input.ncols());
        self.train_mode = mode == Mode::Train && self.rate > 0.0;
        if !self.train_mode {
            self.out.copy_from(input);
            return Ok(());
        }
        fit_buffer(&mut self.scale, input.nrows(), input.ncols());
        let keep = T::cast(1.0 / (1.0 - self.rate));
        for s in self.scale.iter_mut() {
            *s = if self.rng.uniform01() < self.rate {
                T::zero()
            } else {
                keep
            };
        }
        for ((o, &x), &s) in self.out.iter_mut().zip(input.iter()).zip(self.scale.iter()) {
            *o = x * s;
        }
        Ok(())
    }

    fn output(&self) -> Option<&DMatrix<T>> {
        Some(&self.out)
    }

    fn backward(
        &mut self,
        input: &DMatrix<T>,
        upstream: Upstream<'_, T>,
        d_input: Option<&mut DMatrix<T>>,
    ) -> Result<()> {
        self.check_input(input)?;
        let da = upstream_output("dropout upstream gradient", upstream, input.shape())?;
        if let Some(d_in) = d_input {
            fit_buffer(d_in, input.nrows(), input.ncols());
            if self.train_mode {
                for ((d, &g), &s) in d_in.iter_mut().zip(da.iter()).zip(self.scale.iter()) {
                    *d = g * s;
                }
            } else {
                d_in.copy_from(da);
            }
        }
        Ok(())
    }

    fn infer(&self, input: &DMatrix<T>) -> Result<DMatrix<T>> {
        self.check_input(input)?;
        Ok(input.clone())
    }

    /// The identity at inference: a copy into `out` (reshaped only when its shape differs).
    /// Evaluation mode passes the input through.
    fn infer_lanes(
        &self,
        input: &[Lanes<T>],
        output: &mut [Lanes<T>],
        _: &mut Vec<Lanes<T>>,
    ) -> bool {
        output.copy_from_slice(input);
        true
    }

    fn infer_into(&self, input: &DMatrix<T>, out: &mut DMatrix<T>) -> Result<()> {
        self.check_input(input)?;
        if out.shape() == input.shape() {
            out.copy_from(input);
        } else {
            *out = input.clone();
        }
        Ok(())
    }

    fn stochastic(&self) -> Option<&dyn Stochastic> {
        Some(self)
    }

    fn stochastic_mut(&mut self) -> Option<&mut dyn Stochastic> {
        Some(self)
    }

    fn record(&self) -> Option<LayerRecord> {
        Some(LayerRecord::Builtin(LayerSpec::Dropout(DropoutConfig {
            rate: self.rate,
        })))
    }
}

impl<T: Scalar> Stochastic for Dropout<T> {
    fn reseed(&mut self, seed: u64) {
        self.rng = SeededRng::for_stream(seed, Stream::DropoutMasks);
    }

    fn rng_state(&self) -> RngState {
        self.rng.state()
    }

    fn set_rng_state(&mut self, state: RngState) {
        self.rng = SeededRng::from_state(&state);
    }
}
