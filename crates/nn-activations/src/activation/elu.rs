//! The exponential linear units: ELU and its self-normalising scaling, SELU.
//!
//! ```text
//! elu(z; α)  = z              for z ≥ 0      elu'(z; α)  = 1               for z ≥ 0
//!            = α (e^z − 1)    for z < 0                  = α e^z = a + α   for z < 0
//!
//! selu(z)    = λ elu(z; α₀)                  selu'(z)    = λ               for z ≥ 0
//!                                                        = λ α₀ e^z = a + λα₀ for z < 0
//! λ  = 1.0507009873554804934…   α₀ = 1.6732632423543772848…   (Klambauer et al., 2017)
//! ```
//!
//! **Stable form.** The exponential is evaluated only for `z < 0`, as `exp_m1(z)`, which
//! is accurate near 0 and tends to −1 for very negative `z`; nothing overflows for any
//! finite input.
//!
//! **Derivative path: from the output.** For `z < 0` the backward uses `a + α` (ELU) or
//! `a + λα₀` (SELU), saving an exponential; the sign test reads `z`. At `z = 0` the
//! derivative is taken from the right (1 for ELU, λ for SELU), as for ReLU. With `α ≠ 1`
//! ELU has a kink at 0, and SELU always has one.
//!
//! ```
//! use nn_activations::Activation;
//! use nn_activations::DMatrix;
//!
//! let z = DMatrix::from_row_slice(1, 3, &[-1e4, -1.0, 2.0]);
//! let a = Activation::elu().forward(&z); // α = 1
//! // elu(−1) = e^(−1) − 1 = −0.6321205588285577 (Python 3: math.expm1(-1))
//! assert_eq!(a, DMatrix::from_row_slice(1, 3, &[-1.0, -0.6321205588285577, 2.0]));
//!
//! let s = Activation::Selu.forward(&z);
//! assert!((s[2] - 2.0 * nn_activations::elu::SELU_LAMBDA).abs() < 1e-15);
//! # Ok::<(), nn_activations::ActivationError>(())
//! ```

use nn_core::Scalar;

/// The default ELU `α`, 1.0 (as in PyTorch and Keras).
pub const DEFAULT_ELU_ALPHA: f64 = 1.0;

/// SELU's scale `λ` (Klambauer et al., 2017; the value PyTorch and Keras use).
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_5;

/// SELU's `α₀` (Klambauer et al., 2017; the value PyTorch and Keras use).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;

/// `z` for `z ≥ 0`, `α (e^z − 1)` for `z < 0` (through `exp_m1`).
#[inline]
pub fn elu<T: Scalar>(z: T, alpha: T) -> T {
    if z < T::zero() { alpha * z.exp_m1() } else { z }
}

/// `1` for `z ≥ 0`, `α e^z` for `z < 0`.
#[inline]
pub fn elu_slope<T: Scalar>(z: T, alpha: T) -> T {
    if z < T::zero() {
        alpha * z.exp()
    } else {
        T::one()
    }
}

/// `elu'(z)` from the input's sign and the output `a = elu(z)`: `1` for `z ≥ 0`,
/// `a + α` for `z < 0`.
#[inline]
pub fn elu_slope_from_output<T: Scalar>(z: T, a: T, alpha: T) -> T {
    if z < T::zero() { a + alpha } else { T::one() }
}

/// `λ z` for `z ≥ 0`, `λ α₀ (e^z − 1)` for `z < 0`.
#[inline]
pub fn selu<T: Scalar>(z: T) -> T {
    T::cast(SELU_LAMBDA) * elu(z, T::cast(SELU_ALPHA))
}

/// `λ` for `z ≥ 0`, `λ α₀ e^z` for `z < 0`.
#[inline]
pub fn selu_slope<T: Scalar>(z: T) -> T {
    T::cast(SELU_LAMBDA) * elu_slope(z, T::cast(SELU_ALPHA))
}

/// `selu'(z)` from the input's sign and the output `a = selu(z)`: `λ` for `z ≥ 0`,
/// `a + λα₀` for `z < 0`.
#[inline]
pub fn selu_slope_from_output<T: Scalar>(z: T, a: T) -> T {
    if z < T::zero() {
        a + T::cast(SELU_LAMBDA * SELU_ALPHA)
    } else {
        T::cast(SELU_LAMBDA)
    }
}
