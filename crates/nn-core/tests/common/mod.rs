//! What nn-core's allocation tests share: the products of a training step, and operands
//! for them.

use nn_core::{DMatrix, Scalar, Trans};

/// `(m, k, n)` of `C = op(A)·op(B)` for a step of an MLP with layer sizes `dims` and batch
/// `m`: forward `Z = W·A`, `dW = dZ·Aᵀ`, `dA = Wᵀ·dZ`.
pub fn step_shapes(dims: &[usize], batch: usize) -> Vec<(usize, usize, usize, Trans, Trans)> {
    dims.windows(2)
        .flat_map(|w| {
            let (i, o) = (w[0], w[1]);
            [
                (o, i, batch, Trans::No, Trans::No),
                (o, batch, i, Trans::No, Trans::Yes),
                (i, o, batch, Trans::Yes, Trans::No),
            ]
        })
        .collect()
}

/// `op(A)`, `op(B)` and a NaN-filled `C` for a product `(m, k, n, op(A), op(B))` (a
/// product with `β = 0` must ignore the NaN).
pub fn operands<T: Scalar>(
    (m, k, n, ta, tb): (usize, usize, usize, Trans, Trans),
) -> (DMatrix<T>, DMatrix<T>, DMatrix<T>) {
    let (ar, ac) = ta.apply((m, k));
    let (br, bc) = tb.apply((k, n));
    let a = DMatrix::from_fn(ar, ac, |i, j| T::cast(((i * 7 + j * 3) % 11) as f64 - 5.0));
    let b = DMatrix::from_fn(br, bc, |i, j| T::cast(((i * 5 + j * 2) % 13) as f64 - 6.0));
    (a, b, DMatrix::from_element(m, n, T::cast(f64::NAN)))
}
