//! The one matrix-product entry point of the workspace.
//!
//! `C ← α·op(A)·op(B) + β·C`, where `op(X)` is `X` or `Xᵀ`. A transposed operand is the
//! same column-major storage read as a row-major view: nothing is copied. nalgebra's own
//! `tr_mul`, `gemm_tr` and `transpose()` are 7–10× slower on the shapes of a training step
//! (loops of dot products, or copies), and its `gemm` falls back to a per-column `gemv`
//! whenever a dimension is ≤ 5 (the first layer of a 2-input net), which mishandles
//! strided operands. So nothing else in the workspace multiplies matrices: a change of
//! kernel happens here and nowhere else.
//!
//! ## The kernel: faer's, single-threaded
//!
//! The product runs through `faer::linalg::matmul::matmul` with `Par::Seq`: products with
//! `m·n·k ≤ 4096` go to small unpacked kernels, larger ones (on x86-64) to a packed kernel
//! that picks AVX-512 or AVX2 at run time and packs into one buffer per thread, reserved on
//! its first call. So after a thread's first product, `gemm_into` allocates nothing
//! (`tests/alloc.rs` asserts it on the shapes below), which a training step that allocates
//! nothing needs. matrixmultiply (behind nalgebra's `gemm`) and the `gemm` crate 0.19 both
//! allocate their packing memory on every call (1–2 allocations per product).
//!
//! Measured on one core of a 2-core AMD EPYC (Zen 4), f32 / f64 GFLOP/s, best of three
//! runs, for `C(m×n)` with inner dimension `k`, on products of a step of the reference MLPs:
//!
//! ```text
//!                                 m×k×n        faer        matrixmultiply
//! W4 forward 512→512, batch 256   512×512×256  112 / 49    104 / 51
//! W4 dW = dZ·Aᵀ (784→512)         512×256×784  111 / 53    110 / 53
//! W4 dA = Wᵀ·dZ (512←512)         512×512×256  109 / 46     97 / 53
//! W3 forward 784→128, batch 64    128×784×64   112 / 55     90 / 49
//! W3 dA = Wᵀ·dZ (784←128)         784×128×64   101 / 50     80 / 51
//! W4 forward 512→10, batch 256    10×512×256    71 / 33     25 / 19
//! W2 forward 32→10, batch 64      10×32×64      58 / 30     20 / 18
//! W1 dA = Wᵀ·dZ (16←16)           16×16×32      48 / 40     20 / 23
//! W1 forward 16→1, batch 32       1×16×32       11 / 10    1.9 / 2.7
//! W1 forward 2→16, batch 32       16×2×32       12 / 8      15 / 13
//! ```
//!
//! ## Two threads
//!
//! A product of at least 2²⁴ multiply-adds with at least 128 columns in `C` (W4's, not
//! W3's) is computed as two column halves, always: one after the other on one thread, or
//! on two of rayon's threads inside [`with_kernel_threads`] (the trainer does this for a
//! step it does not split into shares). Since the split is the shape's, not the thread
//! count's, the bits are the same either way; the cost on one thread is packing `op(A)`
//! twice, under 1% of such a product. faer's own parallel mode was not used: it sizes its
//! tiles by the thread count and allocates its job tables on every call.
//!
//! faer is as fast or faster in f32 (the speed target) on every product of a step but the
//! `k = 2` one, where a call takes 0.15 µs either way; in f64 it is up to ~13% slower on
//! large products with a transposed left operand. On targets other than x86-64 faer
//! multiplies through the `gemm` crate, which allocates per call.

use nalgebra::DMatrix;

use crate::{CoreError, Scalar};

/// Whether an operand of a product enters as itself or transposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trans {
    /// `op(X) = X`.
    No,
    /// `op(X) = Xᵀ`, read through a strided view, never copied.
    Yes,
}

impl Trans {
    /// The shape of `op(X)` for an `X` of shape `shape`.
    #[inline]
    pub fn apply(self, shape: (usize, usize)) -> (usize, usize) {
        match self {
            Trans::No => shape,
            Trans::Yes => (shape.1, shape.0),
        }
    }
}

/// `(row stride, column stride)` of `op(X)` for a column-major `X` with `rows` rows.
#[inline]
fn strides(t: Trans, rows: usize) -> (usize, usize) {
    match t {
        Trans::No => (1, rows),
        // Element (i, j) of Xᵀ is X[(j, i)], at offset j + i·rows.
        Trans::Yes => (rows, 1),
    }
}

/// `C ← α·op(A)·op(B) + β·C`, in place, without allocating.
///
/// With `β = 0` the old contents of `C` are ignored (even NaN); with `β = 1` the product is
/// accumulated, which is how a bias-filled buffer becomes `Z = W·A + b` in one call.
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if the inner dimensions of `op(A)` and `op(B)` differ or
/// `C` is not `rows(op(A)) × cols(op(B))`.
///
/// # Example
/// ```
/// use nn_core::DMatrix;
/// use nn_core::{gemm_into, Trans};
/// let w = DMatrix::from_row_slice(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// let dz = DMatrix::from_row_slice(2, 1, &[1.0, -1.0]);
/// // dA_prev = Wᵀ dZ, with Wᵀ never materialised.
/// let mut da = DMatrix::zeros(3, 1);
/// gemm_into(1.0, &w, Trans::Yes, &dz, Trans::No, 0.0, &mut da)?;
/// assert_eq!(da.as_slice(), &[-3.0, -3.0, -3.0]);
/// # Ok::<(), nn_core::CoreError>(())
/// ```
pub fn gemm_into<T: Scalar>(
    alpha: T,
    a: &DMatrix<T>,
    ta: Trans,
    b: &DMatrix<T>,
    tb: Trans,
    beta: T,
    c: &mut DMatrix<T>,
) -> Result<(), CoreError> {
    const OP: &str = "gemm_into";
    let (m, k) = ta.apply(a.shape());
    let (kb, n) = tb.apply(b.shape());
    if kb != k {
        return Err(CoreError::ShapeMismatch {
            op: OP,
            operand: "op(B) (right operand)",
            expected: (k, n),
            found: (kb, n),
        });
    }
    if c.shape() != (m, n) {
        return Err(CoreError::ShapeMismatch {
            op: OP,
            operand: "C (output)",
            expected: (m, n),
            found: c.shape(),
        });
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        // An empty sum: C ← β·C (and β = 0 overwrites, as in BLAS).
        if beta == T::zero() {
            c.fill(T::zero());
        } else {
            *c *= beta;
        }
        return Ok(());
    }
    let (rsa, csa) = strides(ta, a.nrows());
    let (rsb, csb) = strides(tb, b.nrows());
    let (a, b) = (a.as_slice(), b.as_slice());
    // C's columns `from..` (of `n_part`) from op(B)'s same columns, into `c_part`.
    let part = |from: usize, n_part: usize, c_part: &mut [T]| {
        T::gemm_kernel(
            (m, k, n_part),
            alpha,
            (a, rsa, csa),
            (&b[from * csb..], rsb, csb),
            beta,
            (c_part, 1, m),
        );
    };
    let Some(at) = column_split(m, k, n) else {
        part(0, n, c.as_mut_slice());
        return Ok(());
    };
    let (left, right) = c.as_mut_slice().split_at_mut(at * m);
    #[cfg(feature = "parallel")]
    if KERNEL_THREADS.get() >= 2 {
        rayon::join(|| part(0, at, left), || part(at, n - at, right));
        return Ok(());
    }
    part(0, at, left);
    part(at, n - at, right);
    Ok(())
}

/// Fewest multiply-adds (`m·k·n`) of a product that is split into two column halves.
const SPLIT_WORK: usize = 1 << 24;
/// Fewest columns of `C` in a product that is split.
const SPLIT_COLUMNS: usize = 128;

/// Where a product's columns are split in two, if it is split: products of at least
/// [`SPLIT_WORK`] multiply-adds and [`SPLIT_COLUMNS`] columns, at half the columns rounded
/// up to a multiple of 16 (whole register tiles of the kernel). The split depends on the
/// shape alone, never on the thread count, so a product gives the same bits on one thread
/// (the halves one after the other) as on two ([`with_kernel_threads`]).
fn column_split(m: usize, k: usize, n: usize) -> Option<usize> {
    let work = m.saturating_mul(k).saturating_mul(n);
    (n >= SPLIT_COLUMNS && work >= SPLIT_WORK).then(|| (n / 2).next_multiple_of(16))
}

thread_local! {
    /// How many threads this thread's products may use (see [`with_kernel_threads`]).
    static KERNEL_THREADS: std::cell::Cell<usize> = const { std::cell::Cell::new(1) };
}

/// Runs `f` with [`gemm_into`]'s large products (at least 2²⁴ multiply-adds and 128
/// columns of `C`) on two threads when `threads ≥ 2`: their two column halves go to
/// rayon's pool (`parallel` feature; without it, and with `threads = 1`, the halves run
/// one after the other on the calling thread). The split itself depends on the shape
/// only, so the results are the same bits on any thread count. Restores the previous
/// setting when `f` returns or unwinds.
///
/// ```
/// use nn_core::{DMatrix, Trans, gemm_into, with_kernel_threads};
/// let (a, b) = (DMatrix::<f32>::from_element(256, 256, 0.5), DMatrix::from_element(256, 256, 2.0));
/// let mut one = DMatrix::zeros(256, 256);
/// let mut two = DMatrix::zeros(256, 256);
/// gemm_into(1.0, &a, Trans::No, &b, Trans::No, 0.0, &mut one)?;
/// with_kernel_threads(2, || gemm_into(1.0, &a, Trans::No, &b, Trans::No, 0.0, &mut two))?;
/// assert_eq!(one, two);
/// # Ok::<(), nn_core::CoreError>(())
/// ```
pub fn with_kernel_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            KERNEL_THREADS.set(self.0);
        }
    }
    let _restore = Restore(KERNEL_THREADS.replace(threads.max(1)));
    f()
}

/// `op(A)·op(B)` into a new matrix (allocates; see [`gemm_into`] for the in-place form).
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if the inner dimensions differ.
pub fn matmul<T: Scalar>(
    a: &DMatrix<T>,
    ta: Trans,
    b: &DMatrix<T>,
    tb: Trans,
) -> Result<DMatrix<T>, CoreError> {
    let mut c = DMatrix::zeros(ta.apply(a.shape()).0, tb.apply(b.shape()).1);
    gemm_into(T::one(), a, ta, b, tb, T::zero(), &mut c)?;
    Ok(c)
}

/// Backward of `C = op(A)·op(B)`: given `dC = ∂J/∂C`, returns `(∂J/∂A, ∂J/∂B)`.
///
/// ```text
/// C = A B    →  dA = dC Bᵀ        dB = Aᵀ dC
/// C = Aᵀ B   →  dA = B dCᵀ        dB = A dC
/// C = A Bᵀ   →  dA = dC B         dB = dCᵀ A
/// C = Aᵀ Bᵀ  →  dA = Bᵀ dCᵀ       dB = dCᵀ Aᵀ
/// ```
/// Each product goes through [`gemm_into`] with the transposes folded in.
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if the operands do not multiply or `dC` is not the shape of `C`.
pub fn matmul_backward<T: Scalar>(
    a: &DMatrix<T>,
    ta: Trans,
    b: &DMatrix<T>,
    tb: Trans,
    dc: &DMatrix<T>,
) -> Result<(DMatrix<T>, DMatrix<T>), CoreError> {
    let (m, k) = ta.apply(a.shape());
    let (kb, n) = tb.apply(b.shape());
    if kb != k {
        return Err(CoreError::ShapeMismatch {
            op: "matmul_backward",
            operand: "op(B) (right operand)",
            expected: (k, n),
            found: (kb, n),
        });
    }
    if dc.shape() != (m, n) {
        return Err(CoreError::ShapeMismatch {
            op: "matmul_backward",
            operand: "dC (upstream gradient)",
            expected: (m, n),
            found: dc.shape(),
        });
    }
    let flip = |t: Trans| match t {
        Trans::No => Trans::Yes,
        Trans::Yes => Trans::No,
    };
    let mut da = DMatrix::zeros(a.nrows(), a.ncols());
    let mut db = DMatrix::zeros(b.nrows(), b.ncols());
    // d op(A) = dC op(B)ᵀ and d op(B) = op(A)ᵀ dC; a transposed operand takes the transpose:
    // dA = (dC op(B)ᵀ)ᵀ = op(B) dCᵀ, dB = (op(A)ᵀ dC)ᵀ = dCᵀ op(A).
    match ta {
        Trans::No => gemm_into(T::one(), dc, Trans::No, b, flip(tb), T::zero(), &mut da)?,
        Trans::Yes => gemm_into(T::one(), b, tb, dc, Trans::Yes, T::zero(), &mut da)?,
    }
    match tb {
        Trans::No => gemm_into(T::one(), a, flip(ta), dc, Trans::No, T::zero(), &mut db)?,
        Trans::Yes => gemm_into(T::one(), dc, Trans::Yes, a, ta, T::zero(), &mut db)?,
    }
    Ok((da, db))
}
