//! Softmax over the rows of each column: a probability distribution per example.
//!
//! For a column `z` (one example's `n` logits):
//!
//! ```text
//! softmax(z)_i = e^(z_i) / Σ_k e^(z_k)  =  e^(z_i − c) / Σ_k e^(z_k − c),   c = max_k z_k
//! ```
//!
//! **Stable form.** Subtracting the column maximum `c` leaves the result unchanged but
//! makes every exponent `≤ 0`, so nothing overflows and the largest term is exactly 1;
//! the sum is in `[1, n]`, and each column sums to 1 to within a few ulps.
//!
//! **Backward: a vector–Jacobian product per column, from the output.** The Jacobian
//! is `∂a_i/∂z_j = a_i (δ_ij − a_j)`, i.e. `J = diag(a) − a aᵀ`. It is never built:
//!
//! ```text
//! dz = Jᵀ da = a ∘ (da − ⟨a, da⟩)            (one dot product and one pass per column)
//! ```
//!
//! Softmax is not element-wise: [`crate::Activation::derivative`] returns
//! [`crate::ActivationError::NotElementwise`] for it. Paired with categorical
//! cross-entropy, the layer's `dZ` simplifies to `A − Y`, which the loss can compute
//! directly; this backward is for softmax followed by any other cost.
//!
//! ```
//! use nn_activations::Activation;
//! use nn_activations::DMatrix;
//!
//! // Two examples (columns) of three classes; the second would overflow e^z naively.
//! let z = DMatrix::from_column_slice(3, 2, &[1.0, 2.0, 3.0, 1000.0, 1000.0, -1000.0]);
//! let a = Activation::Softmax.forward(&z);
//! // softmax(1, 2, 3) (Python 3: [math.exp(x) / sum(map(math.exp, (1, 2, 3))) for x in (1, 2, 3)])
//! let expected: [f64; 3] = [0.09003057317038046, 0.24472847105479767, 0.6652409557748219];
//! for (i, e) in expected.iter().enumerate() {
//!     assert!((a[(i, 0)] - e).abs() < 1e-15);
//! }
//! assert_eq!((a[(0, 1)], a[(1, 1)], a[(2, 1)]), (0.5, 0.5, 0.0));
//!
//! // The backward of a constant upstream gradient is 0: each column's sum is fixed at 1.
//! let dz = Activation::Softmax.backward(&z, &a, &DMatrix::from_element(3, 2, 1.0))?;
//! assert!(dz.amax() < 1e-15);
//! # Ok::<(), nn_activations::ActivationError>(())
//! ```

use nalgebra::DMatrix;
use nn_core::{Scalar, widest_simd};

use crate::exp::exp;

/// `a ← softmax(z)` column by column. The caller checked that the shapes are equal.
pub(crate) fn softmax_columns<T: Scalar>(z: &DMatrix<T>, a: &mut DMatrix<T>) {
    a.as_mut_slice().copy_from_slice(z.as_slice());
    softmax_columns_in_place(a);
}

/// `z ← softmax(z)` column by column, in place.
///
/// Three passes, so that the exponentials run over the whole matrix as one vectorised loop
/// (branch-free in `f32`) rather than over columns of a few rows: subtract each column's
/// maximum `c`, `v ← e^v` everywhere, then divide each column by its sum (in a fixed order).
pub(crate) fn softmax_columns_in_place<T: Scalar>(z: &mut DMatrix<T>) {
    let n = z.nrows();
    softmax_slice_in_place(z.as_mut_slice(), n);
}

/// Softmax of each run of `n` values of `z` (the columns of a column-major matrix), in
/// place.
pub(crate) fn softmax_slice_in_place<T: Scalar>(z: &mut [T], n: usize) {
    if n == 0 {
        return;
    }
    widest_simd(
        #[inline(always)]
        || {
            for col in z.chunks_exact_mut(n) {
                let c = col.iter().fold(col[0], |m, &x| if x > m { x } else { m });
                col.iter_mut().for_each(|v| *v -= c);
            }
            z.iter_mut().for_each(|v| *v = exp(*v));
            for col in z.chunks_exact_mut(n) {
                let inv = T::one() / col.iter().fold(T::zero(), |s, &v| s + v);
                col.iter_mut().for_each(|v| *v *= inv);
            }
        },
    );
}

/// `dz ← a ∘ (da − ⟨a, da⟩)` column by column. The caller checked the shapes.
pub(crate) fn softmax_backward_columns<T: Scalar>(
    a: &DMatrix<T>,
    da: &DMatrix<T>,
    dz: &mut DMatrix<T>,
) {
    let n = a.nrows();
    if n == 0 {
        return;
    }
    let cols = a
        .as_slice()
        .chunks_exact(n)
        .zip(da.as_slice().chunks_exact(n));
    for ((ac, dac), dzc) in cols.zip(dz.as_mut_slice().chunks_exact_mut(n)) {
        let dot = ac.iter().zip(dac).fold(T::zero(), |s, (&a, &d)| s + a * d);
        for ((o, &a), &d) in dzc.iter_mut().zip(ac).zip(dac) {
            *o = a * (d - dot);
        }
    }
}
