//! The hyperbolic tangent: `tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z))`, with
//! `tanh'(z) = 1 − tanh²(z)`.
//!
//! The forward uses the standard library's `tanh`, which saturates to ±1 without
//! overflow. `tanh(z) = 2σ(2z) − 1`: a zero-centred, rescaled sigmoid.
//!
//! **Derivative path: from the output.** The backward uses `1 − a²` with `a = tanh(z)`
//! from the forward pass.
//!
//! ```
//! use nn_activations::Activation;
//! use nn_activations::nn_core::nalgebra::DMatrix;
//!
//! let z = DMatrix::from_row_slice(1, 2, &[0.0, 1.0]);
//! let a = Activation::Tanh.forward(&z);
//! // tanh(1) = 0.7615941559557649 (Python 3: math.tanh(1.0))
//! assert!((a[1] - 0.7615941559557649_f64).abs() < 1e-15);
//! let dz = Activation::Tanh.backward(&z, &a, &DMatrix::from_element(1, 2, 1.0))?;
//! assert_eq!(dz[0], 1.0); // tanh'(0) = 1
//! # Ok::<(), nn_activations::ActivationError>(())
//! ```

use nn_core::Scalar;

/// `tanh(z)`.
#[inline]
pub fn tanh<T: Scalar>(z: T) -> T {
    z.tanh()
}

/// `tanh'(z) = 1 − tanh²(z)`.
#[inline]
pub fn tanh_slope<T: Scalar>(z: T) -> T {
    tanh_slope_from_output(z.tanh())
}

/// `tanh'(z)` from the output `a = tanh(z)`: `1 − a²`.
#[inline]
pub fn tanh_slope_from_output<T: Scalar>(a: T) -> T {
    T::one() - a * a
}
