//! The sigmoid linear unit (SiLU, also called swish): `silu(z) = z σ(z)`.
//!
//! ```text
//! silu(z)  = z σ(z)
//! silu'(z) = σ(z) + z σ(z) (1 − σ(z)) = σ(z) (1 + z σ(−z))
//! ```
//!
//! **Stable form.** `σ` is the stable sigmoid ([`crate::sigmoid::sigmoid`]) and
//! `1 − σ(z)` is computed as `σ(−z)`, so both are finite for every finite input; for very
//! negative `z`, `silu(z) ≈ z e^z` → 0.
//!
//! **Derivative path: from `z`** (it needs `σ(z)`, which the output `z σ(z)` does not
//! give back without a division by `z`).
//!
//! ```
//! use nn_activations::Activation;
//!
//! // silu(1) = σ(1) = 0.7310585786300049 (Python 3: 1 / (1 + math.exp(-1)))
//! assert!((Activation::Silu.value(1.0) - 0.7310585786300049_f64).abs() < 1e-15);
//! // silu'(1) = σ(1)(1 + σ(−1)) = 0.9276705118714869 (same)
//! assert!((Activation::Silu.slope(1.0) - 0.9276705118714869_f64).abs() < 1e-15);
//! assert_eq!("swish".parse::<Activation>()?, Activation::Silu);
//! # Ok::<(), nn_activations::ActivationError>(())
//! ```

use nn_core::Scalar;

use super::sigmoid::sigmoid;

/// `z σ(z)`.
#[inline]
pub fn silu<T: Scalar>(z: T) -> T {
    z * sigmoid(z)
}

/// `σ(z) (1 + z σ(−z))`.
#[inline]
pub fn silu_slope<T: Scalar>(z: T) -> T {
    sigmoid(z) * (T::one() + z * sigmoid(-z))
}
