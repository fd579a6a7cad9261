//! The identity (linear) activation: `g(z) = z`, `g'(z) = 1`.
//!
//! A network whose activations are all linear collapses into a single linear map, however
//! deep it is; the identity is for output layers of regression models.
//!
//! ```
//! use nn_activations::Activation;
//! use nn_activations::DMatrix;
//!
//! let z = DMatrix::from_row_slice(1, 3, &[-2.0, 0.0, 3.5]);
//! let a = Activation::Identity.forward(&z);
//! assert_eq!(a, z);
//! // The backward passes the upstream gradient through unchanged.
//! let da = DMatrix::from_row_slice(1, 3, &[0.1, 0.2, 0.3]);
//! assert_eq!(Activation::Identity.backward(&z, &a, &da)?, da);
//! # Ok::<(), nn_activations::ActivationError>(())
//! ```

use nn_core::Scalar;

/// `g(z) = z`.
#[inline]
pub fn identity<T: Scalar>(z: T) -> T {
    z
}

/// `g'(z) = 1`.
#[inline]
pub fn identity_slope<T: Scalar>(_z: T) -> T {
    T::one()
}
