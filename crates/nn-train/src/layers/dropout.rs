//! Inverted dropout: during training each value is kept with probability `1 − p` and
//! scaled by `1/(1 − p)`; in evaluation the layer is the identity.

use std::fmt;

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::{Scalar, fit_buffer};
use nn_init::{RngState, SeededRng};

use super::layer::upstream_output;
use crate::error::{Result, TrainError};
use crate::layers::{FeatureShape, Layer, Mode, ParamMut, Upstream};

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
            rng: SeededRng::new(seed),
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
        if input.nrows() != self.shape.len() {
            return Err(TrainError::BadShape {
                what: "dropout input",
                expected: format!("{} rows", self.shape.len()),
                found: format!("{} rows", input.nrows()),
            });
        }
        Ok(())
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

    fn infer_full(&self, input: &DMatrix<T>) -> Result<(Option<DMatrix<T>>, DMatrix<T>)> {
        self.check_input(input)?;
        Ok((None, input.clone()))
    }

    fn for_each_param(&mut self, _f: &mut dyn FnMut(ParamMut<'_, T>)) {}

    fn visit_params<'a>(&'a self, _f: &mut dyn FnMut(&'static str, &'a DMatrix<T>)) {}

    fn set_param(&mut self, name: &str, _value: DMatrix<T>) -> Result<()> {
        Err(TrainError::BadShape {
            what: "dropout parameter name",
            expected: "none (dropout has no parameters)".into(),
            found: format!("{name:?}"),
        })
    }

    fn reseed(&mut self, seed: u64) {
        self.rng = SeededRng::new(seed);
    }

    fn rng_state(&self) -> Option<RngState> {
        Some(self.rng.state())
    }

    fn set_rng_state(&mut self, state: RngState) {
        self.rng = SeededRng::from_state(&state);
    }
}
