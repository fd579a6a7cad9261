//! The hyperbolic tangent: `tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z))`, with
//! `tanh'(z) = 1 − tanh²(z)`.
//!
//! In `f64` the forward uses the standard library's `tanh`, which saturates to ±1 without
//! overflow. In `f32` it uses [`tanh_f32`], a branch-free evaluation that the compiler
//! turns into SIMD code (the C library's `tanhf` is a call per element and took most of a
//! tanh network's forward pass in a profile); it is within 2 units in the last place of
//! the correctly rounded value. `tanh(z) = 2σ(2z) − 1`: a zero-centred, rescaled sigmoid.
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

use crate::exp::exp_f32;

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
/// vectorise.
///
/// ```text
/// |x| < 1/2:   x − x³/3 + 2x⁵/15 − 17x⁷/315 + 62x⁹/2835 − 1382x¹¹/155925
///              + 21844x¹³/6081075 − 929569x¹⁵/638512875      (Taylor; next term < 1e-8 x)
/// |x| ≥ 1/2:   sign(x) · (1 − 2 / (e^(2|x|) + 1))             (no cancellation: ≥ 0.46)
/// ```
///
/// with `e^y = 2^k · e^r`, `k = round(y / ln 2)`, `|r| ≤ ln 2 / 2`, `e^r` by its Taylor
/// polynomial of degree 7 (error < 5e-9). `|x|` is capped at 10, beyond which `tanh` rounds to
/// 1 in `f32`.
#[inline]
pub fn tanh_f32(x: f32) -> f32 {
    let ax = x.abs();
    let t = x * x;
    let small = x
        * (1.0
            + t * (-1.0 / 3.0
                + t * (2.0 / 15.0
                    + t * (-17.0 / 315.0
                        + t * (62.0 / 2835.0
                            + t * (-1382.0 / 155_925.0
                                + t * (21_844.0 / 6_081_075.0
                                    + t * (-929_569.0 / 638_512_875.0))))))));
    let e = exp_f32(2.0 * ax.min(10.0));
    let large = (1.0 - 2.0 / (e + 1.0)).copysign(x);
    // Written so that NaN takes the polynomial branch and stays NaN.
    if ax >= 0.5 { large } else { small }
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
