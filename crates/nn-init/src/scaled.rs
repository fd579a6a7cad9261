//! Variance-scaling initializers: Xavier/Glorot, He/Kaiming and LeCun, which choose the
//! weights' variance from the layer's fans so that signals keep their size from layer to
//! layer.
//!
//! For `z = Σ_j W_ij a_j` over `n_in` inputs with zero-mean, independent weights,
//! `Var(z) = n_in · Var(W) · E[a²]`. Keeping `Var(z)` the same in every layer (forward) asks
//! for `Var(W) = 1/n_in` when the activation is close to the identity around 0 (tanh,
//! and sigmoid up to its offset); the same argument for the gradients flowing back asks for
//! `1/n_out`, and Glorot's compromise is their harmonic mean `2/(n_in + n_out)`. A ReLU
//! zeroes half of its inputs, so `E[a²] = Var(z)/2` and the weights need twice the
//! variance, `2/n_in` (He); a leaky ReLU with slope `α` keeps `(1 + α²)/2` of it, so
//! `Var(W) = 2/((1 + α²) n_in)`. SELU's self-normalising fixed point assumes `1/n_in`
//! (LeCun).
//!
//! ```text
//! xavier_normal    N(0, 1/n_in)                       (the tutorial's first form)
//! glorot_normal    N(0, 2/(n_in + n_out))             (the tutorial's second form)
//! glorot_uniform   U(−r, r), r = √(6/(n_in + n_out))  Var = r²/3 = 2/(n_in + n_out)
//! he_normal(α)     N(0, 2/((1 + α²) n_in))
//! he_uniform(α)    U(−r, r), r = √(6/((1 + α²) n_in)) Var = 2/((1 + α²) n_in)
//! lecun_normal     N(0, 1/n_in)
//! ```
//!
//! The tutorial writes He's rule as `N(0, √(2/n))` with the square root in the variance's
//! place; the derivation above (and He et al., 2015) gives the variance `2/n_in`, i.e. a
//! standard deviation of `√(2/n_in)`, which is what is implemented. `xavier_normal` and
//! `lecun_normal` are the same distribution under two names (same seed, same bits); the
//! LeCun one is a plain normal here, not the truncated normal some libraries use.

use nalgebra::DMatrix;
use nn_activations::nn_core::Scalar;

use crate::SeededRng;
use crate::distribution::{normal, uniform};

/// `1/n_in`: Xavier's first form, and LeCun's.
pub(crate) fn fan_in_variance(fan_in: usize) -> f64 {
    1.0 / fan_in as f64
}

/// `2/(n_in + n_out)`: Glorot's compromise between the forward and the backward pass.
pub(crate) fn glorot_variance(fan_out: usize, fan_in: usize) -> f64 {
    2.0 / (fan_in + fan_out) as f64
}

/// `2/((1 + α²) n_in)`: He's variance for a leaky ReLU of slope `α` (`α = 0`: ReLU).
pub(crate) fn he_variance(fan_in: usize, slope: f64) -> f64 {
    2.0 / ((1.0 + slope * slope) * fan_in as f64)
}

/// Zero-mean normal weights with the given variance.
pub(crate) fn normal_with_variance<T: Scalar>(
    variance: f64,
    rows: usize,
    cols: usize,
    rng: &mut SeededRng,
) -> DMatrix<T> {
    normal(0.0, variance.sqrt(), rows, cols, rng)
}

/// Zero-mean uniform weights with the given variance: `U(−r, r)` with `r = √(3 Var)`.
pub(crate) fn uniform_with_variance<T: Scalar>(
    variance: f64,
    rows: usize,
    cols: usize,
    rng: &mut SeededRng,
) -> DMatrix<T> {
    let r = (3.0 * variance).sqrt();
    uniform(-r, r, rows, cols, rng)
}
