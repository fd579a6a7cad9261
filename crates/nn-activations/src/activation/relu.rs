//! The rectified linear unit and its leaky variant.
//!
//! ```text
//! relu(z)          = max(0, z)          relu'(z)          = 1 if z ≥ 0, else 0
//! leaky_relu(z; s) = z if z ≥ 0, s·z    leaky_relu'(z; s) = 1 if z ≥ 0, else s
//! ```
//!
//! **Convention at the kink:** the derivative at `z = 0` is taken as **1** (the right
//! derivative), as in the tutorial these crates follow. (PyTorch uses 0 for ReLU at 0;
//! the choice only matters for inputs that are exactly zero.)
//!
//! The leaky slope `s` defaults to [`DEFAULT_LEAKY_SLOPE`] = 0.01 and must be finite and
//! `≥ 0`; it keeps a small gradient flowing for negative inputs, so units cannot "die".
//!
//! **Derivative path: from `z`.** The output cannot tell `z = 0` (slope 1) from `z < 0`
//! (slope 0 or `s`), so the backward reads the input; it is a comparison either way.
//!
//! ```
//! use nn_activations::Activation;
//! use nn_activations::DMatrix;
//!
//! let z = DMatrix::from_row_slice(1, 3, &[-2.0, 0.0, 3.0]);
//! assert_eq!(Activation::Relu.forward(&z), DMatrix::from_row_slice(1, 3, &[0.0, 0.0, 3.0]));
//! assert_eq!(Activation::Relu.derivative(&z)?, DMatrix::from_row_slice(1, 3, &[0.0, 1.0, 1.0]));
//!
//! let leaky = Activation::leaky_relu(); // slope 0.01
//! assert_eq!(leaky.forward(&z), DMatrix::from_row_slice(1, 3, &[-0.02, 0.0, 3.0]));
//! assert_eq!(leaky.slope(-2.0), 0.01);
//! # Ok::<(), nn_activations::ActivationError>(())
//! ```

use nn_core::Scalar;

/// The default negative-side slope of leaky ReLU, 0.01 (as in the tutorial, PyTorch
/// and Keras ≥ 3).
pub const DEFAULT_LEAKY_SLOPE: f64 = 0.01;

/// `max(0, z)`; NaN stays NaN.
#[inline]
pub fn relu<T: Scalar>(z: T) -> T {
    if z < T::zero() { T::zero() } else { z }
}

/// `relu'(z) = 1` for `z ≥ 0`, `0` for `z < 0`.
#[inline]
pub fn relu_slope<T: Scalar>(z: T) -> T {
    if z < T::zero() { T::zero() } else { T::one() }
}

/// `z` for `z ≥ 0`, `slope · z` for `z < 0`.
#[inline]
pub fn leaky_relu<T: Scalar>(z: T, slope: T) -> T {
    if z < T::zero() { slope * z } else { z }
}

/// `1` for `z ≥ 0`, `slope` for `z < 0`.
#[inline]
pub fn leaky_relu_slope<T: Scalar>(z: T, slope: T) -> T {
    if z < T::zero() { slope } else { T::one() }
}
