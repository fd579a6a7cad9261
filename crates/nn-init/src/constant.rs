//! Constant initializers: zeros and a fixed value.
//!
//! ```text
//! W_ij = c        mean c, variance 0
//! ```
//!
//! Fine for biases (the tutorial's default is zero biases: they are added, not multiplied,
//! so equal biases do not make units identical once the weights differ). For weights they
//! are a bad idea, and kept for demonstrations: every unit of a layer computes the same
//! function and receives the same gradient, so the units never become different (the
//! symmetry problem).

use nalgebra::DMatrix;
use nn_activations::nn_core::Scalar;

/// An `rows × cols` matrix with every entry `c` (rounded to `T`). Consumes no randomness.
pub(crate) fn constant<T: Scalar>(c: f64, rows: usize, cols: usize) -> DMatrix<T> {
    DMatrix::from_element(rows, cols, T::cast(c))
}
