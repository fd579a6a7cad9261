//! A branch-free `f32` exponential, so that loops over slices vectorise.
//!
//! The C library's `expf` is a call per element, which no loop can vectorise; this one is
//! plain arithmetic. With `k = round(y / ln 2)` and `r = y − k ln 2` (`|r| ≤ ln 2 / 2`,
//! `ln 2` split in two so that `k · LN2_HI` is exact), `e^y = 2^k · e^r`, where `e^r` is its
//! Taylor polynomial of degree 7 (truncation error below 6e-9 relative, evaluated with
//! fused multiply-adds) and `2^k` is built
//! in the exponent field. Within 2 units in the last place of the correctly rounded value
//! (asserted on a dense grid in the tests); 0 below `−87.33`, where `2^k` would not be a
//! normal `f32` (the C library's result there is below `1.2e-38`), `+∞` above `ln f32::MAX`;
//! NaN stays NaN.
//!
//! Used by the `f32` forms of tanh, sigmoid and softmax; `f64` keeps the C library's `exp`.
//!
//! ```
//! use nn_activations::exp::exp_f32;
//!
//! assert!((exp_f32(1.0) - std::f32::consts::E).abs() <= f32::EPSILON * 3.0);
//! assert_eq!(exp_f32(0.0), 1.0);
//! assert_eq!(exp_f32(-100.0), 0.0);
//! assert_eq!(exp_f32(100.0), f32::INFINITY);
//! assert!(exp_f32(f32::NAN).is_nan());
//! ```

use nn_core::Scalar;

/// `e^x`: [`exp_f32`] for `f32`, the C library's `exp` for `f64`.
#[inline]
pub fn exp<T: Scalar>(x: T) -> T {
    if size_of::<T>() == 4 {
        // f32 → f64 → f32 is exact, and the compiler folds the round trip away.
        T::cast(f64::from(exp_f32(x.to_f64() as f32)))
    } else {
        x.exp()
    }
}

/// Smallest argument whose result is a normal `f32`: below it [`exp_f32`] returns 0.
pub const EXP_F32_MIN: f32 = -87.33;

/// Largest argument whose result is finite (`ln f32::MAX`): above it [`exp_f32`] returns
/// `+∞`.
pub const EXP_F32_MAX: f32 = 88.722_83;

/// `e^y`, branch-free (see the module docs): 0 below [`EXP_F32_MIN`], `+∞` above
/// [`EXP_F32_MAX`], NaN for NaN.
#[inline]
pub fn exp_f32(y: f32) -> f32 {
    // `clamp` keeps NaN, which goes through the arithmetic as NaN.
    let e = exp_f32_reduced(y.clamp(EXP_F32_MIN, EXP_F32_MAX));
    if y < EXP_F32_MIN {
        0.0
    } else if y > EXP_F32_MAX {
        f32::INFINITY
    } else {
        e
    }
}

/// Smallest argument [`exp_f32_reduced`] takes: below it `e^y` rounds to 0 in `f32`
/// (`e^(−104) < 2^(−150)`).
pub(crate) const EXP_F32_REDUCED_MIN: f32 = -104.0;

/// `e^y` for `y` in `[EXP_F32_REDUCED_MIN, EXP_F32_MAX]` (the caller clamps; NaN stays
/// NaN), subnormal results included: the reduction and polynomial of the module docs,
/// with fused multiply-adds, and `2^k` applied as two normal powers of two.
///
/// `f32::mul_add` is one instruction where the loop is compiled for FMA (inside
/// `nn_core::widest_simd` on AVX2 and AVX-512 CPUs) and a correctly rounded library call
/// elsewhere, so the result is the same bits on every path.
#[inline(always)]
pub(crate) fn exp_f32_reduced(y: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75; // ln 2 split so that k·LN2_HI is exact
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Round y/ln 2 to the nearest integer k by adding 1.5·2²³: the sum's last mantissa
    // bits are then k (no call to `floor`, which is a library call without SSE4.1).
    const SHIFT: f32 = 12_582_912.0;
    let shifted = y.mul_add(std::f32::consts::LOG2_E, SHIFT);
    let k = shifted - SHIFT;
    let r = (-k).mul_add(LN2_LO, (-k).mul_add(LN2_HI, y)); // y − k ln 2, |r| ≲ ln 2 / 2
    // e^r by its Taylor polynomial of degree 7, in Horner form.
    let mut p: f32 = 1.0 / 5040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p.mul_add(r, c);
    }
    // 2^k as two powers of two built in the exponent field, 2^⌊k/2⌋ · 2^(k − ⌊k/2⌋), so that
    // each stays a normal number for every k ∈ [−150, 128] the callers allow (exact
    // scalings but the last, so the result is one rounding of p · 2^k).
    let k = shifted.to_bits().wrapping_sub(SHIFT.to_bits()) as i32;
    let half = k >> 1;
    let scale = |e: i32| f32::from_bits((e.wrapping_add(127) as u32) << 23);
    p * scale(half) * scale(k.wrapping_sub(half))
}
