//! Softplus, the smooth ReLU: `softplus(z) = ln(1 + e^z)`, with derivative `σ(z)`.
//!
//! ```text
//! softplus(z)  = ln(1 + e^z) = max(z, 0) + ln(1 + e^(−|z|))     (the form computed)
//! softplus'(z) = σ(z)
//! ```
//!
//! **Stable form.** `ln(1 + e^z)` overflows for `z` above ~88 (`f32`) or ~709 (`f64`)
//! although the true value is ≈ `z`; the form above only exponentiates `−|z| ≤ 0` and
//! uses `ln_1p` so it stays accurate when `e^(−|z|)` is tiny.
//!
//! **Derivative path: from `z`** (`σ(z)`, one exponential; the output form
//! `1 − e^(−a)` costs the same).
//!
//! ```
//! use nn_activations::Activation;
//! use nn_activations::DMatrix;
//!
//! let z = DMatrix::from_row_slice(1, 3, &[0.0, 1e4, -1e4]);
//! let a = Activation::Softplus.forward(&z);
//! assert_eq!(a[0], std::f64::consts::LN_2); // softplus(0) = ln 2
//! assert_eq!(a[1], 1e4); // not ∞
//! assert_eq!(a[2], 0.0); // e^(−1e4) underflows
//! assert_eq!(Activation::Softplus.slope(0.0), 0.5);
//! # Ok::<(), nn_activations::ActivationError>(())
//! ```

use nn_core::Scalar;

use super::sigmoid::sigmoid;

/// `ln(1 + e^z)`, as `max(z, 0) + ln_1p(e^(−|z|))`.
#[inline]
pub fn softplus<T: Scalar>(z: T) -> T {
    let pos = if z > T::zero() { z } else { T::zero() };
    pos + (-z.abs()).exp().ln_1p()
}

/// `softplus'(z) = σ(z)`.
#[inline]
pub fn softplus_slope<T: Scalar>(z: T) -> T {
    sigmoid(z)
}
