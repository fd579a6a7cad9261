//! The hyperbolic tangent: `tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z))`, with
//! `tanh'(z) = 1 − tanh²(z)`.
//!
//! In `f64` the forward uses the standard library's `tanh`, which saturates to ±1 without
//! overflow. In `f32` it uses [`tanh_f32`], a branch-free evaluation that the compiler
//! turns into SIMD code (the C library's `tanhf` is a call per element and took most of a
//! tanh network's forward pass in a profile): one rational function near 0, the
//! exponential form beyond, one division; it is within 2 units in the last place of the
//! correctly rounded value. `tanh(z) = 2σ(2z) − 1`: a zero-centred, rescaled sigmoid.
//!
//! **Derivative path: from the output.** The backward uses `1 − a²` with `a = tanh(z)`
//! from the forward pass.
//!
//! ```
//! use nn_activations::Activation;
//! use nn_activations::DMatrix;
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

use crate::exp::exp_f32_reduced;

/// `tanh(z)`; [`tanh_f32`] for `f32`.
#[inline]
pub fn tanh<T: Scalar>(z: T) -> T {
    if std::mem::size_of::<T>() == 4 {
        // f32 → f64 → f32 is exact, and the compiler folds the round trip away.
        T::cast(f64::from(tanh_f32(z.to_f64() as f32)))
    } else {
        z.tanh()
    }
}

/// `tanh(x)` in `f32` without branches or library calls, so that loops over slices
/// vectorise: within 2 units in the last place of the correctly rounded value for every
/// `f32` (1 for `|x| < 1`; checked on every `f32` in `[0, 20]`, and on a dense grid by
/// the tests), ±1 exactly for `|x| ≥ 9.1` and ±∞, NaN for NaN, odd (`tanh(−x) = −tanh(x)`
/// bit for bit, `−0` kept).
///
/// ```text
/// |x| < 1:   x + x³ · A(x²) / B(x²)        A(t) = a₀ + a₁t,  B(t) = 1 + b₁t + b₂t²
///            (a rational fit of (tanh x − x)/x³, relative error 1.9e-9 on [0, 1])
/// |x| ≥ 1:   sign(x) · (e − 1) / (e + 1),  e = e^(2 min(|x|, 9.1))
/// ```
///
/// Both branches are computed and their numerator and denominator selected before the one
/// division; `e` is the exponential of [`crate::exp`] (fused multiply-adds, within 2 ulps),
/// whose error `(e − 1)/(e + 1)` damps by `2e/(e² − 1) ≤ 0.85` for `e ≥ e²`. The polynomials
/// use `f32::mul_add`, one instruction where the loop is compiled for FMA (AVX2, AVX-512)
/// and a correctly rounded library call elsewhere, so every path gives the same bits.
#[inline]
pub fn tanh_f32(x: f32) -> f32 {
    // (tanh x − x)/x³ ≈ A(t)/B(t) on t = x² ∈ [0, 1]: fitted by iteratively reweighted least
    // squares on the relative error (rounded to f32, max relative error 1.9e-9).
    const A0: f32 = -0.333_333_34;
    const A1: f32 = -0.014_710_489;
    const B1: f32 = 0.444_131_4;
    const B2: f32 = 0.015_748_173;
    // tanh(9.1) = 1 − 2.5e-8 rounds to 1 in f32, and so does everything above.
    const CAP: f32 = 9.1;
    let ax = x.abs();
    let t = x * x;
    let a = t.mul_add(A1, A0);
    let b = t.mul_add(t.mul_add(B2, B1), 1.0);
    // `min` maps NaN to CAP here; NaN is not `≥ 1`, so it takes the other branch.
    let e = exp_f32_reduced(2.0 * ax.min(CAP));
    let large = ax >= 1.0;
    let (n, d) = if large { (e - 1.0, e + 1.0) } else { (a, b) };
    let r = n / d;
    let y = if large { r } else { (x * t).mul_add(r, x) };
    // The small branch has x's sign already (|x² A/B| < 1/3) except at ±0.
    y.copysign(x)
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
