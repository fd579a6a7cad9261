//! Shape-checked element-wise, broadcast and reduction operations, each with its backward.
//!
//! Every operation comes as an allocating function (`hadamard`) and an in-place one that
//! writes into a caller's buffer (`hadamard_into`), so that a training step can reuse its
//! buffers. A backward is the vector–Jacobian product: given `dC = ∂J/∂C` for the output,
//! it returns `∂J/∂` of each input.

use nalgebra::DMatrix;

use crate::{CoreError, Scalar, Shape, widest_simd};

/// `Ok` if `found == expected`, else [`CoreError::ShapeMismatch`] naming the operation
/// `op` and its `operand`: the one shape check of the workspace's `_into` functions.
///
/// # Errors
/// [`CoreError::ShapeMismatch`] when the shapes differ.
///
/// ```
/// use nn_core::{CoreError, expect_shape};
/// assert_eq!(expect_shape("op", "output", (2, 3), (2, 3)), Ok(()));
/// assert!(matches!(
///     expect_shape("op", "output", (2, 3), (3, 2)),
///     Err(CoreError::ShapeMismatch { expected: (2, 3), found: (3, 2), .. })
/// ));
/// ```
#[inline]
pub fn expect_shape(
    op: &'static str,
    operand: &'static str,
    expected: Shape,
    found: Shape,
) -> Result<(), CoreError> {
    if expected == found {
        Ok(())
    } else {
        Err(CoreError::ShapeMismatch {
            op,
            operand,
            expected,
            found,
        })
    }
}

/// Checks that every entry is finite; the error names the first NaN or ±∞ and its place.
///
/// # Errors
/// [`CoreError::NonFinite`] with the row and column of the first offending entry.
pub fn ensure_finite<T: Scalar>(
    op: &'static str,
    operand: &'static str,
    m: &DMatrix<T>,
) -> Result<(), CoreError> {
    if all_finite(m.as_slice()) {
        return Ok(());
    }
    match m.iter().position(|v| !v.finite()) {
        None => Ok(()),
        Some(i) => Err(CoreError::NonFinite {
            op,
            operand,
            row: i % m.nrows(),
            col: i / m.nrows(),
            value: m[i].to_f64(),
        }),
    }
}

/// `true` if no entry is NaN or ±∞.
///
/// Branch-free within blocks of 4096 entries (an `and` over the block, which
/// the compiler vectorises), where a search for the first bad entry is a branch per element
/// and runs several times slower: this is the divergence check of every training step.
pub fn all_finite<T: Scalar>(values: &[T]) -> bool {
    // On the widest vectors (16 `f32` lanes on AVX-512): input validation of every
    // prediction is this scan.
    widest_simd(
        #[inline(always)]
        || {
            values
                .chunks(FINITE_BLOCK)
                .all(|block| block.iter().fold(true, |ok, x| ok & x.finite()))
        },
    )
}

/// Entries [`all_finite`] checks between early exits.
const FINITE_BLOCK: usize = 4096;

/// Independent partial sums in [`sum_squares`]: enough for the compiler to keep them in
/// vector registers and overlap the adds' latency.
const LANES: usize = 8;

/// `Σ xᵢ²`, accumulated in `f64` (so that `f32` data neither overflows nor loses small
/// terms); NaN if any entry is NaN, `+∞` if any is infinite.
///
/// The sum runs in 8 independent partial sums, which vectorises; the result is
/// deterministic for a given length but not the left-to-right sum.
pub fn sum_squares<T: Scalar>(values: &[T]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (a, &x) in acc.iter_mut().zip(chunk) {
            let x = x.to_f64();
            *a += x * x;
        }
    }
    for (a, &x) in acc.iter_mut().zip(tail) {
        let x = x.to_f64();
        *a += x * x;
    }
    acc.iter().sum()
}

/// `out ← A + b 1ᵀ`: adds the column vector `b` (n×1) to every column of `A` (n×m).
///
/// This is the bias broadcast of `Z = W A + b`.
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if `b` is not `rows(A)×1` or `out` is not the shape of `A`.
pub fn add_column_into<T: Scalar>(
    a: &DMatrix<T>,
    b: &DMatrix<T>,
    out: &mut DMatrix<T>,
) -> Result<(), CoreError> {
    const OP: &str = "add_column";
    expect_shape(OP, "column vector b", (a.nrows(), 1), b.shape())?;
    expect_shape(OP, "output", a.shape(), out.shape())?;
    let n = a.nrows().max(1); // no rows: no entries, and chunks need a non-zero size
    for (oc, ac) in out
        .as_mut_slice()
        .chunks_exact_mut(n)
        .zip(a.as_slice().chunks_exact(n))
    {
        for ((o, &x), &bias) in oc.iter_mut().zip(ac).zip(b.as_slice()) {
            *o = x + bias;
        }
    }
    Ok(())
}

/// `A + b 1ᵀ` into a new matrix (allocates). See [`add_column_into`].
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if `b` is not `rows(A)×1`.
pub fn add_column<T: Scalar>(a: &DMatrix<T>, b: &DMatrix<T>) -> Result<DMatrix<T>, CoreError> {
    let mut out = DMatrix::zeros(a.nrows(), a.ncols());
    add_column_into(a, b, &mut out)?;
    Ok(out)
}

/// `out ← b 1ᵀ`: fills every column of `out` with the column vector `b`.
///
/// Followed by [`crate::gemm_into`] with `β = 1`, this computes `Z = W A + b` in one pass
/// over `Z` plus the product, with no separate bias pass.
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if `b` is not `rows(out)×1`.
pub fn broadcast_column_into<T: Scalar>(
    b: &DMatrix<T>,
    out: &mut DMatrix<T>,
) -> Result<(), CoreError> {
    expect_shape(
        "broadcast_column",
        "column vector b",
        (out.nrows(), 1),
        b.shape(),
    )?;
    fill_columns(b.as_slice(), out.as_mut_slice());
    Ok(())
}

/// Every column of the column-major `out` (of `b.len()` rows) ← `b`.
pub(crate) fn fill_columns<T: Scalar>(b: &[T], out: &mut [T]) {
    match b {
        [] => {}
        // One row (a network's single output): a fill, not a copy call per column.
        &[v] => out.fill(v),
        b => out
            .chunks_exact_mut(b.len())
            .for_each(|col| col.copy_from_slice(b)),
    }
}

/// Backward of `C = A + b 1ᵀ`: `dA = dC`, `db = Σ_columns dC` (the broadcast's adjoint).
///
/// Returns `(dA, db)`; allocates. In a layer, `db` is this sum divided by `m`
/// ([`mean_columns_into`]), because the cost averages over examples.
pub fn add_column_backward<T: Scalar>(dc: &DMatrix<T>) -> (DMatrix<T>, DMatrix<T>) {
    let mut db = DMatrix::zeros(dc.nrows(), 1);
    sum_columns_unchecked(dc, &mut db);
    (dc.clone(), db)
}

fn sum_columns_unchecked<T: Scalar>(a: &DMatrix<T>, out: &mut DMatrix<T>) {
    out.fill(T::zero());
    let n = a.nrows().max(1); // no rows: no entries, and chunks need a non-zero size
    for col in a.as_slice().chunks_exact(n) {
        for (o, &x) in out.as_mut_slice().iter_mut().zip(col) {
            *o += x;
        }
    }
}

/// `out ← Σ_j A[:, j]`: the sum of the columns of `A` (n×m) as an n×1 column.
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if `out` is not `rows(A)×1`.
pub fn sum_columns_into<T: Scalar>(a: &DMatrix<T>, out: &mut DMatrix<T>) -> Result<(), CoreError> {
    expect_shape("sum_columns", "output", (a.nrows(), 1), out.shape())?;
    sum_columns_unchecked(a, out);
    Ok(())
}

/// The sum of the columns of `A` as a new n×1 matrix (allocates).
pub fn sum_columns<T: Scalar>(a: &DMatrix<T>) -> DMatrix<T> {
    let mut out = DMatrix::zeros(a.nrows(), 1);
    sum_columns_unchecked(a, &mut out);
    out
}

/// `out ← (1/m) Σ_j A[:, j]`: the mean column, the `db = (1/m) Σ dZ` reduction.
///
/// # Errors
/// [`CoreError::Empty`] if `A` has no columns; [`CoreError::ShapeMismatch`] if `out` is not
/// `rows(A)×1`.
pub fn mean_columns_into<T: Scalar>(a: &DMatrix<T>, out: &mut DMatrix<T>) -> Result<(), CoreError> {
    if a.ncols() == 0 {
        return Err(CoreError::Empty {
            op: "mean_columns",
            operand: "input",
            found: a.shape(),
        });
    }
    sum_columns_into(a, out)?;
    *out /= T::from_count(a.ncols());
    Ok(())
}

/// The mean of the columns of `A` as a new n×1 matrix (allocates).
///
/// # Errors
/// [`CoreError::Empty`] if `A` has no columns.
pub fn mean_columns<T: Scalar>(a: &DMatrix<T>) -> Result<DMatrix<T>, CoreError> {
    let mut out = DMatrix::zeros(a.nrows(), 1);
    mean_columns_into(a, &mut out)?;
    Ok(out)
}

/// Backward of `c = (1/m) Σ_j A[:, j]`: every column of `dA` is `dc / m`.
///
/// # Errors
/// [`CoreError::Empty`] if `m = 0`; [`CoreError::ShapeMismatch`] if `dc` is not `n×1`.
pub fn mean_columns_backward<T: Scalar>(
    dc: &DMatrix<T>,
    m: usize,
) -> Result<DMatrix<T>, CoreError> {
    if m == 0 {
        return Err(CoreError::Empty {
            op: "mean_columns_backward",
            operand: "input",
            found: (dc.nrows(), 0),
        });
    }
    expect_shape("mean_columns_backward", "dc", (dc.nrows(), 1), dc.shape())?;
    let mut da = DMatrix::zeros(dc.nrows(), m);
    broadcast_column_into(dc, &mut da)?;
    da /= T::from_count(m);
    Ok(da)
}

/// `out ← A ∘ B` (element-wise product).
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if `B` or `out` is not the shape of `A`.
pub fn hadamard_into<T: Scalar>(
    a: &DMatrix<T>,
    b: &DMatrix<T>,
    out: &mut DMatrix<T>,
) -> Result<(), CoreError> {
    expect_shape("hadamard", "right operand", a.shape(), b.shape())?;
    expect_shape("hadamard", "output", a.shape(), out.shape())?;
    for ((o, &x), &y) in out
        .as_mut_slice()
        .iter_mut()
        .zip(a.as_slice())
        .zip(b.as_slice())
    {
        *o = x * y;
    }
    Ok(())
}

/// `A ∘ B` into a new matrix (allocates).
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if the shapes differ.
pub fn hadamard<T: Scalar>(a: &DMatrix<T>, b: &DMatrix<T>) -> Result<DMatrix<T>, CoreError> {
    let mut out = DMatrix::zeros(a.nrows(), a.ncols());
    hadamard_into(a, b, &mut out)?;
    Ok(out)
}

/// Backward of `C = A ∘ B`: `dA = dC ∘ B`, `dB = dC ∘ A`.
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if the three shapes differ.
pub fn hadamard_backward<T: Scalar>(
    a: &DMatrix<T>,
    b: &DMatrix<T>,
    dc: &DMatrix<T>,
) -> Result<(DMatrix<T>, DMatrix<T>), CoreError> {
    expect_shape("hadamard_backward", "dC", a.shape(), dc.shape())?;
    Ok((hadamard(dc, b)?, hadamard(dc, a)?))
}

/// `out ← f(A)` element by element.
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if `out` is not the shape of `A`.
pub fn map_into<T: Scalar>(
    a: &DMatrix<T>,
    out: &mut DMatrix<T>,
    f: impl Fn(T) -> T,
) -> Result<(), CoreError> {
    expect_shape("map", "output", a.shape(), out.shape())?;
    widest_simd(
        #[inline(always)]
        || {
            for (o, &x) in out.as_mut_slice().iter_mut().zip(a.as_slice()) {
                *o = f(x);
            }
        },
    );
    Ok(())
}

/// `f(A)` element by element into a new matrix (allocates).
pub fn map<T: Scalar>(a: &DMatrix<T>, f: impl Fn(T) -> T) -> DMatrix<T> {
    a.map(f)
}

/// Backward of `C = f(A)` (element-wise): `dA = dC ∘ f'(A)`, written into `out`.
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if `dC` or `out` is not the shape of `A`.
pub fn map_backward_into<T: Scalar>(
    a: &DMatrix<T>,
    dc: &DMatrix<T>,
    out: &mut DMatrix<T>,
    f_prime: impl Fn(T) -> T,
) -> Result<(), CoreError> {
    expect_shape("map_backward", "dC", a.shape(), dc.shape())?;
    expect_shape("map_backward", "output", a.shape(), out.shape())?;
    widest_simd(
        #[inline(always)]
        || {
            for ((o, &x), &g) in out
                .as_mut_slice()
                .iter_mut()
                .zip(a.as_slice())
                .zip(dc.as_slice())
            {
                *o = g * f_prime(x);
            }
        },
    );
    Ok(())
}

/// Backward of `C = f(A)` into a new matrix (allocates). See [`map_backward_into`].
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if `dC` is not the shape of `A`.
pub fn map_backward<T: Scalar>(
    a: &DMatrix<T>,
    dc: &DMatrix<T>,
    f_prime: impl Fn(T) -> T,
) -> Result<DMatrix<T>, CoreError> {
    let mut out = DMatrix::zeros(a.nrows(), a.ncols());
    map_backward_into(a, dc, &mut out, f_prime)?;
    Ok(out)
}

/// The Frobenius inner product `⟨A, B⟩ = Σ_ij A_ij B_ij`.
///
/// With a fixed random `R`, `x ↦ ⟨R, f(x)⟩` is the scalar whose gradient is the backward
/// of `f` applied to `R`; that is how tests check any backward with [`crate::gradcheck`].
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if the shapes differ.
pub fn frobenius_dot<T: Scalar>(a: &DMatrix<T>, b: &DMatrix<T>) -> Result<T, CoreError> {
    expect_shape("frobenius_dot", "right operand", a.shape(), b.shape())?;
    Ok(a.iter()
        .zip(b.iter())
        .fold(T::zero(), |s, (&x, &y)| s + x * y))
}

/// Makes `buf` a `rows × cols` matrix, reusing its allocation when it is large enough.
///
/// A training step's buffers change shape when the batch size changes (the last, partial
/// batch of an epoch); shrinking keeps the allocation and growing back to a size seen
/// before does not allocate again. Newly exposed entries are zero; the others keep stale
/// values, so callers overwrite the whole buffer.
pub fn fit_buffer<T: Scalar>(buf: &mut DMatrix<T>, rows: usize, cols: usize) {
    if buf.shape() == (rows, cols) {
        return;
    }
    let mut data: Vec<T> = std::mem::replace(buf, DMatrix::zeros(0, 0)).data.into();
    data.resize(rows * cols, T::zero());
    *buf = DMatrix::from_vec(rows, cols, data);
}
