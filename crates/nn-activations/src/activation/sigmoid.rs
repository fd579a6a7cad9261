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
//! negative `z` the result is `e^z` (tiny but correct, down to underflow to 0). In `f32`
//! they are one branch-free expression ([`sigmoid_f32`]) that vectorises.
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

/// `σ(z) = 1 / (1 + e^(−z))`, evaluated through `e^(−|z|)` so it never overflows;
/// [`sigmoid_f32`] for `f32`.
#[inline]
pub fn sigmoid<T: Scalar>(z: T) -> T {
    if std::mem::size_of::<T>() == 4 {
        // f32 → f64 → f32 is exact, and the compiler folds the round trip away.
        return T::cast(f64::from(sigmoid_f32(z.to_f64() as f32)));
    }
    if z >= T::zero() {
        T::one() / (T::one() + (-z).exp())
    } else {
        let e = z.exp();
        e / (T::one() + e)
    }
}

/// `σ(z)` in `f32` without branches or library calls, so that loops over slices
/// vectorise: the stable form above as one division, `n / (1 + e)` with `e = e^(−|z|)`
/// (the exponential of [`crate::exp`], subnormal results included) and `n = 1` for
/// `z ≥ 0`, `n = e` below. Within 2 units in the last place of the correctly rounded value
/// for every `f32` whose `σ` is a normal number (checked on every `f32` in `[−87, 20]`,
/// and on a dense grid by the tests; a few more below, where `σ(z) ≈ e^z` is
/// subnormal); 1 for `+∞`, 0 for `z ≤ −104` and `−∞`, NaN for NaN. `f64` keeps the
/// C library's `exp`.
#[inline]
pub fn sigmoid_f32(z: f32) -> f32 {
    use crate::exp::{EXP_F32_REDUCED_MIN, exp_f32_reduced};
    // `max` would map NaN to the bound; `clamp` keeps it.
    let e = exp_f32_reduced((-z.abs()).clamp(EXP_F32_REDUCED_MIN, 0.0));
    // Below −104, e rounds to 0, and so does σ.
    let n = if z >= 0.0 { 1.0 } else { e };
    n / (1.0 + e)
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
