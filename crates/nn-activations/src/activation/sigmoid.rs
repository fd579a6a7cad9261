//! The logistic sigmoid: `σ(z) = 1 / (1 + e^(−z))`, with `σ'(z) = σ(z)(1 − σ(z))`.
//!
//! **Stable form.** `e^(−z)` overflows for large negative `z` (beyond −88 in `f32`,
//! −709 in `f64`), so only `e^(−|z|) ∈ (0, 1]` is ever evaluated:
//!
//! ```text
//! σ(z) = 1 / (1 + e^(−z))        for z ≥ 0
//! σ(z) = e^z / (1 + e^z)         for z < 0
//! ```
//!
//! Both forms are finite and accurate to a few ulps for every finite `z`; for very
//! negative `z` the result is `e^z` (tiny but correct, down to underflow to 0).
//!
//! **Derivative path: from the output.** The backward uses `a (1 − a)` with `a = σ(z)`
//! from the forward pass, which costs one multiply instead of an exponential.
//!
//! ```
//! use nn_activations::Activation;
//! use nn_activations::DMatrix;
//!
//! let z = DMatrix::from_row_slice(1, 3, &[0.0, 1e4, -1e4]);
//! let a = Activation::Sigmoid.forward(&z);
//! assert_eq!(a, DMatrix::from_row_slice(1, 3, &[0.5, 1.0, 0.0])); // no NaN at ±1e4
//! assert_eq!(Activation::Sigmoid.slope(0.0), 0.25); // σ'(0) = ½·½
//! # Ok::<(), nn_activations::ActivationError>(())
//! ```

use nn_core::Scalar;

/// `σ(z) = 1 / (1 + e^(−z))`, evaluated through `e^(−|z|)` so it never overflows.
#[inline]
pub fn sigmoid<T: Scalar>(z: T) -> T {
    if z >= T::zero() {
        T::one() / (T::one() + (-z).exp())
    } else {
        let e = z.exp();
        e / (T::one() + e)
    }
}

/// `σ'(z) = σ(z) σ(−z)`, the same as `σ(z)(1 − σ(z))` without the cancellation in
/// `1 − σ(z)` for large `z`.
#[inline]
pub fn sigmoid_slope<T: Scalar>(z: T) -> T {
    sigmoid(z) * sigmoid(-z)
}

/// `σ'(z)` from the output `a = σ(z)`: `a (1 − a)`.
#[inline]
pub fn sigmoid_slope_from_output<T: Scalar>(a: T) -> T {
    a * (T::one() - a)
}
