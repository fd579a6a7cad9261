//! The Heaviside step, the perceptron's activation: `h(z) = 1` for `z ≥ 0`, else `0`.
//!
//! ```text
//! h(z) = 1 if z ≥ 0        h'(z) = 0 for every z (taken as 0 at the jump too)
//!        0 if z < 0
//! ```
//!
//! Its derivative is zero wherever it exists, so backpropagation passes no gradient
//! through a step unit and **cannot train it**: a network of step units is trained with
//! the perceptron rule instead, which updates the weights from the error of the
//! thresholded output directly. The step is here for that rule and for demonstrations of
//! what non-linearity buys (three step units carve a triangle out of the plane).
//!
//! ```
//! use nn_activations::Activation;
//! use nn_activations::DMatrix;
//!
//! let z = DMatrix::from_row_slice(1, 3, &[-0.5, 0.0, 2.0]);
//! let a = Activation::Step.forward(&z);
//! assert_eq!(a, DMatrix::from_row_slice(1, 3, &[0.0, 1.0, 1.0])); // h(0) = 1
//! assert!(!Activation::Step.is_differentiable());
//! let dz = Activation::Step.backward(&z, &a, &DMatrix::from_element(1, 3, 1.0))?;
//! assert_eq!(dz, DMatrix::zeros(1, 3)); // no gradient flows
//! # Ok::<(), nn_activations::ActivationError>(())
//! ```

use nn_core::Scalar;

/// `h(z) = 1` for `z ≥ 0`, `0` for `z < 0`; NaN stays NaN.
#[inline]
pub fn step<T: Scalar>(z: T) -> T {
    if z < T::zero() {
        T::zero()
    } else if z >= T::zero() {
        T::one()
    } else {
        z
    }
}

/// `h'(z) = 0` everywhere (including the jump at 0, by convention).
#[inline]
pub fn step_slope<T: Scalar>(_z: T) -> T {
    T::zero()
}
