//! Rosenblatt's perceptron learning rule, for step-activation units that backpropagation
//! cannot train (the step's derivative is 0 everywhere).

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::Scalar;

use crate::check;
use crate::error::{Result, TrainError};

/// A single step unit: `ŷ = h(w·x + b)` with `h(z) = 1` for `z ≥ 0`, else 0.
///
/// The learning rule, for each example in turn,
///
/// ```text
/// ŷ = h(w·x + b);   w ← w + η (y − ŷ) x;   b ← b + η (y − ŷ)
/// ```
///
/// changes the weights only on a mistake. On linearly separable data it makes a finite
/// number of mistakes (Novikoff's theorem), so an epoch without mistakes is reached.
#[derive(Debug, Clone, PartialEq)]
pub struct Perceptron<T: Scalar> {
    w: DMatrix<T>,
    b: T,
}

/// Settings of [`Perceptron::train`]: learning rate `η` (default 1) and an epoch limit
/// (default 1000).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerceptronConfig {
    /// The step size `η` (> 0).
    pub lr: f64,
    /// The most passes over the data.
    pub max_epochs: usize,
}

impl Default for PerceptronConfig {
    fn default() -> Self {
        Self {
            lr: 1.0,
            max_epochs: 1000,
        }
    }
}

/// What a perceptron run did.
#[derive(Debug, Clone, PartialEq)]
pub struct PerceptronReport {
    /// Mistakes (updates) in each epoch.
    pub mistakes: Vec<usize>,
    /// `true` if the last epoch had no mistake (the data are separated).
    pub converged: bool,
}

impl<T: Scalar> Perceptron<T> {
    /// A unit over `inputs` features with zero weights and bias.
    pub fn new(inputs: usize) -> Self {
        Self {
            w: DMatrix::zeros(1, inputs),
            b: T::zero(),
        }
    }

    /// A unit with the given weights (`1 × inputs`) and bias, e.g. set from a known line.
    ///
    /// # Errors
    /// [`TrainError::BadInput`] if `w` is not one row; [`TrainError::NonFiniteData`] if
    /// anything is NaN or infinite.
    pub fn with_weights(w: DMatrix<T>, b: T) -> Result<Self> {
        if w.nrows() != 1 || w.ncols() == 0 {
            return Err(TrainError::BadInput {
                what: "perceptron weights",
                expected: "1 × inputs (one row)".into(),
                found: format!("{}×{}", w.nrows(), w.ncols()),
            });
        }
        check::finite("perceptron weights", &w)?;
        check::finite("perceptron bias", &DMatrix::from_element(1, 1, b))?;
        Ok(Self { w, b })
    }

    /// The weights `w` (`1 × inputs`).
    pub fn weights(&self) -> &DMatrix<T> {
        &self.w
    }

    /// The bias `b`.
    pub fn bias(&self) -> T {
        self.b
    }

    fn fire(&self, x: &DMatrix<T>, j: usize) -> T {
        let z = self
            .w
            .row(0)
            .iter()
            .zip(x.column(j).iter())
            .fold(self.b, |s, (&w, &x)| s + w * x);
        if z >= T::zero() { T::one() } else { T::zero() }
    }

    /// Outputs (0 or 1) for `X: (inputs, m)`, as a `1 × m` matrix.
    ///
    /// # Errors
    /// Bad shape, no examples, or non-finite inputs.
    pub fn predict(&self, x: &DMatrix<T>) -> Result<DMatrix<T>> {
        check::inputs_only(x, self.w.ncols())?;
        Ok(DMatrix::from_fn(1, x.ncols(), |_, j| self.fire(x, j)))
    }

    /// Runs the perceptron rule over the examples in order, epoch after epoch, until an
    /// epoch has no mistake or `max_epochs` is reached. Labels `Y: (1, m)` are 0 or 1.
    ///
    /// # Errors
    /// Bad shapes, empty or non-finite data, labels other than 0/1
    /// ([`TrainError::BadTarget`]), or a bad configuration.
    pub fn train(
        &mut self,
        x: &DMatrix<T>,
        y: &DMatrix<T>,
        config: &PerceptronConfig,
    ) -> Result<PerceptronReport> {
        check::batch(x, y, self.w.ncols(), 1)?;
        if let Some(i) = y.iter().position(|&v| v != T::zero() && v != T::one()) {
            return Err(TrainError::BadTarget {
                problem: "perceptron labels must be 0 or 1".into(),
                row: 0,
                col: i,
                value: y[i].to_f64(),
            });
        }
        if !(config.lr.is_finite() && config.lr > 0.0) {
            return Err(TrainError::InvalidConfig {
                what: "perceptron learning rate",
                expected: "finite and > 0",
                found: config.lr.to_string(),
            });
        }
        let lr = T::cast(config.lr);
        let mut mistakes = Vec::new();
        for _ in 0..config.max_epochs {
            let mut count = 0;
            for j in 0..x.ncols() {
                let err = y[(0, j)] - self.fire(x, j); // y − ŷ ∈ {−1, 0, 1}
                if err != T::zero() {
                    count += 1;
                    for (w, &xi) in self.w.iter_mut().zip(x.column(j).iter()) {
                        *w += lr * err * xi;
                    }
                    self.b += lr * err;
                }
            }
            mistakes.push(count);
            if count == 0 {
                break;
            }
        }
        let converged = mistakes.last() == Some(&0);
        Ok(PerceptronReport {
            mistakes,
            converged,
        })
    }
}
