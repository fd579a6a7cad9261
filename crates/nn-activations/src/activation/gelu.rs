//! The Gaussian error linear unit, exact and in its tanh approximation.
//!
//! ```text
//! gelu(z)       = z Φ(z),   Φ(z) = ½ erfc(−z/√2)   (the standard normal CDF)
//! gelu'(z)      = Φ(z) + z φ(z),   φ(z) = e^(−z²/2) / √(2π)
//!
//! gelu_tanh(z)  = ½ z (1 + tanh u),   u = √(2/π) (z + 0.044715 z³)
//!               = z σ(2u)                                     (the form computed)
//! gelu_tanh'(z) = σ(2u) + 2 z σ(2u) σ(−2u) √(2/π) (1 + 3·0.044715 z²)
//! ```
//!
//! The names follow PyTorch: `gelu` is `GELU()` (exact), `gelu_tanh` is
//! `GELU(approximate="tanh")`, the approximation used by BERT and GPT-2.
//!
//! **Stable forms.** `Φ` is computed as `½ erfc(−z/√2)` rather than `½ (1 + erf(z/√2))`,
//! which would cancel to 0 for `z` below about −6 (e.g. `gelu(−10) ≈ −7.6e−23`, not 0).
//! Likewise `½ (1 + tanh u) = σ(2u)` is evaluated with the stable sigmoid. Both are
//! finite for every finite input.
//!
//! **Why `libm`.** Rust's standard library has no `erf`/`erfc`; `libm` (a port of musl's
//! math library, dependency-free) provides them. `erfc` is evaluated in `f64` and
//! rounded, so `f32` results are correctly rounded to within an ulp.
//!
//! **Derivative path: from `z`.** There is no cheap expression of `gelu'` in terms of
//! the output, so the backward reads the input.
//!
//! ```
//! use nn_activations::Activation;
//! use nn_activations::DMatrix;
//!
//! let z = DMatrix::from_row_slice(1, 2, &[1.0, -10.0]);
//! let a = Activation::Gelu.forward(&z);
//! // gelu(1) = Φ(1) = 0.8413447460685429 (Python 3: 0.5 * math.erfc(-1 / math.sqrt(2)))
//! assert!((a[0] - 0.8413447460685429_f64).abs() < 1e-15);
//! assert!((a[1] / -7.619853024160593e-23 - 1.0_f64).abs() < 1e-12); // not cancelled to 0
//! // gelu_tanh(1) = 0.8411919906082768 (Python 3: 0.5 * (1 + math.tanh(u)))
//! assert!((Activation::GeluTanh.value(1.0) - 0.8411919906082768_f64).abs() < 1e-15);
//! # Ok::<(), nn_activations::ActivationError>(())
//! ```

use nn_core::Scalar;

use super::sigmoid::sigmoid;

/// `√(2/π)`.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// `1/√(2π)`.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
/// The cubic coefficient of the tanh approximation.
const GELU_TANH_CUBIC: f64 = 0.044_715;

/// The standard normal CDF `Φ(z) = ½ erfc(−z/√2)`, accurate in both tails.
#[inline]
pub fn normal_cdf<T: Scalar>(z: T) -> T {
    T::cast(0.5 * libm::erfc(-z.to_f64() * std::f64::consts::FRAC_1_SQRT_2))
}

/// The standard normal density `φ(z) = e^(−z²/2) / √(2π)`.
#[inline]
pub fn normal_pdf<T: Scalar>(z: T) -> T {
    let z = z.to_f64();
    T::cast(INV_SQRT_2PI * (-0.5 * z * z).exp())
}

/// `gelu(z) = z Φ(z)`.
#[inline]
pub fn gelu<T: Scalar>(z: T) -> T {
    z * normal_cdf(z)
}

/// `gelu'(z) = Φ(z) + z φ(z)`.
#[inline]
pub fn gelu_slope<T: Scalar>(z: T) -> T {
    normal_cdf(z) + z * normal_pdf(z)
}

/// `2u = 2 √(2/π) (z + 0.044715 z³)`.
#[inline]
fn two_u<T: Scalar>(z: T) -> T {
    T::cast(2.0 * SQRT_2_OVER_PI) * (z + T::cast(GELU_TANH_CUBIC) * z * z * z)
}

/// `gelu_tanh(z) = ½ z (1 + tanh u) = z σ(2u)`.
#[inline]
pub fn gelu_tanh<T: Scalar>(z: T) -> T {
    z * sigmoid(two_u(z))
}

/// `gelu_tanh'(z) = σ(2u) + 2 z σ(2u) σ(−2u) u'(z)`, `u'(z) = √(2/π)(1 + 3·0.044715 z²)`.
#[inline]
pub fn gelu_tanh_slope<T: Scalar>(z: T) -> T {
    let v = two_u(z);
    let s = sigmoid(v);
    let t = s * sigmoid(-v);
    if t == T::zero() {
        // Saturated: the second term is 0 (and computing it could give 0 · ∞ for huge z).
        return s;
    }
    let du = T::cast(SQRT_2_OVER_PI) * (T::one() + T::cast(3.0 * GELU_TANH_CUBIC) * z * z);
    s + (T::cast(2.0) * t * z) * du
}
