//! The rectifier in place, `z ← max(z, 0)`: the activation of a dense or convolution
//! layer's inference, which overwrites its pre-activation.
//!
//! Written as a loop over `if z < 0 { 0 } else { z }`, the compiler sees that the entries
//! it keeps are stored back unchanged and writes only the others, with a masked store. On
//! AVX2 a masked store (`vmaskmovps`) is slow: on a Zen 3 core that loop took a quarter of
//! W2's prediction, about 3 cycles per entry. Here each vector is `max(0, z)` with the
//! CPU's own `max`, which the compiler does not rewrite, and stored whole.
//!
//! `max(0, z)` on x86 is `0 > z ? 0 : z`: NaN stays NaN and `-0` stays `-0`, as in the
//! scalar formula.

use crate::Scalar;

/// `z ← max(z, 0)` entry by entry: `0` where `z < 0`, `z` elsewhere (NaN and `-0` kept).
///
/// ```
/// let mut z = [-1.5f32, 0.0, 2.0, f32::NAN];
/// nn_core::relu_in_place(&mut z);
/// assert_eq!(z[..3], [0.0, 0.0, 2.0]);
/// assert!(z[3].is_nan());
/// ```
pub fn relu_in_place<T: Scalar>(z: &mut [T]) {
    T::relu_kernel(z);
}

/// [`relu_in_place`] one entry at a time: the tail of the vector loop, and other CPUs.
pub(crate) fn relu_scalar<T: PartialOrd + Default>(z: &mut [T]) {
    for v in z {
        if *v < T::default() {
            *v = T::default();
        }
    }
}

/// The vector loop on `s`.
#[cfg(target_arch = "x86_64")]
pub(crate) fn relu_vectors<T: crate::isa::Vectors, S: crate::isa::Isa>(s: S, z: &mut [T]) {
    s.vectorize(
        #[inline(always)]
        move || {
            let zero = T::splat(s, T::default());
            let (vectors, tail) = T::vectors_mut::<S>(z);
            for v in vectors {
                *v = T::max(s, zero, *v);
            }
            relu_scalar(tail);
        },
    );
}
