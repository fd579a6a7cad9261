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
//! One exception: a product of one column (`n = 1`, one request to a server) with a
//! column-major `A` goes, on a CPU with AVX-512 or AVX2, to nn-core's own matrix–vector kernel
//! (`src/matvec.rs`), which keeps a block of the result in registers where faer's rewrites
//! it for every column of `A`: W3's 784→128 layer on one column takes 3.3 µs instead of
//! 5.6, and a whole W3 request 6.0 µs instead of 11.2 (one core of the Intel Xeon).
//!
//! And a weight gradient `dZ·A_prevᵀ` with a batch of at least 256 (a row-major `B` and a
//! long inner dimension, [`packs`]) goes, on a CPU with AVX-512 or AVX2, to nn-core's own packed
//! kernel (`src/packed.rs`): faer reads such a `B` 11–17% slower than a column-major one,
//! the packed kernel copies it into its tile's layout. W4's 512×256×784 gradient: 125 →
//! 147–150 GFLOP/s in `f32`, 56–58 → 60–66 in `f64`.
//!
//! ## Two threads
//!
//! A product of at least 2¹⁸ multiply-adds, and enough of them per value of the
//! activations each half moves (`CUT_INTENSITY`), is computed as two halves, always: `C`'s
//! rows cut in two when it has more rows than columns, else its columns, at half the
//! dimension rounded up to a multiple of 16 (whole register tiles); dimensions under 32
//! are not cut. Cut by rows, the two halves of each column of `C` meet inside a cache line
//! (a column does not start on one), which the two cores then both write: once per column,
//! which costs little on a tall `C` and much on a wide one. W3's 128×64×784 weight
//! gradient took 62 µs on two threads cut by rows, 34 by columns (63 and 65 µs on one
//! thread; one core each of the Intel Xeon, model 167). A product with fewer than 16
//! columns (a matrix–vector product: one request to a server) is cut along its inner
//! dimension instead, each half reading a contiguous half of `A`, the second half's
//! product added after the first's (`ROW_CUT_MIN_COLUMNS`).
//! Inside [`with_kernel_threads`](crate::with_kernel_threads) with two threads the second
//! half runs on a helper thread (`src/pair.rs`), otherwise right after the first. The cut is
//! the shape's, never the thread count's, so the bits are the same either way; on one
//! thread it costs packing the shared operand twice. nn-core's packed and fused kernels
//! sum each entry alike however a product is shared, so they cut only on two threads.
//! faer's own parallel mode is not used: it goes through rayon, whose queue allocates, and
//! sizes its tiles by the thread count.
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
    let rsc = c.nrows();
    T::gemm_kernel(
        (m, k, n),
        alpha,
        (a.as_slice(), rsa, csa),
        (b.as_slice(), rsb, csb),
        beta,
        (c.as_mut_slice(), 1, rsc),
    );
    Ok(())
}

/// `Z ← W·X + b 1ᵀ` (a dense layer's `W A_prev + b`), then `epilogue` on blocks of whole
/// columns of `Z`, each a slice of `rows(W)` × some columns; together the blocks cover `Z`
/// once. The epilogue is how a layer's activation (and a finiteness check) runs on its
/// output while that is still in a cache. It may run on two threads at once, on blocks
/// that do not overlap (hence `Fn + Sync`), in no particular order.
///
/// A `W` of half a vector to four vectors of rows (8 to 64 rows of `f32` with AVX-512, 4 to
/// 32 with AVX2; half as many `f64`) with at least a tile's columns of `X`, or on AVX-512 a
/// larger `W` on a wide batch (256 columns in `f32`, 1024 in `f64`; from 6 columns in
/// `f32` with [`affine_packed_into`]), goes to nn-core's fused kernel (`src/affine.rs`):
/// the bias starts the sums in registers and the epilogue sees blocks of up to 96 columns.
/// Otherwise `Z` is filled with `b`, [`gemm_into`] accumulates `W·X` onto it and `epilogue`
/// sees the result. A product that is cut in two and has at least 64 columns (a batch
/// being predicted) is cut by its columns into two halves first, each computed and handed
/// to `epilogue` on its own — on two threads inside
/// [`with_kernel_threads`](crate::with_kernel_threads), so that the bias and the
/// activation run in parallel too, not only the product. Outside the fused kernel the cut
/// is the shape's, so the bits are the same on any thread count; the fused kernel computes
/// every column alike in any part of a batch, so its product is cut only on two threads.
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if `b` is not `rows(W)×1`, `X` has not `cols(W)` rows, or
/// `Z` is not `rows(W) × cols(X)`.
///
/// # Example
/// ```
/// use nn_core::{DMatrix, affine_into};
/// let w = DMatrix::from_row_slice(2, 3, &[1.0, 0.0, -1.0, 0.5, 0.5, 0.5]);
/// let b = DMatrix::from_column_slice(2, 1, &[4.0, 0.0]);
/// let x = DMatrix::from_column_slice(3, 2, &[1.0, 2.0, 3.0, -1.0, 0.0, 1.0]);
/// let mut z = DMatrix::zeros(2, 2);
/// // ReLU as the epilogue.
/// affine_into(&w, &b, &x, &mut z, &|block: &mut [f64]| {
///     block.iter_mut().for_each(|v| *v = v.max(0.0))
/// })?;
/// assert_eq!(z.as_slice(), &[2.0, 3.0, 2.0, 0.0]);
/// # Ok::<(), nn_core::CoreError>(())
/// ```
pub fn affine_into<T: Scalar>(
    w: &DMatrix<T>,
    b: &DMatrix<T>,
    x: &DMatrix<T>,
    z: &mut DMatrix<T>,
    epilogue: &(dyn Fn(&mut [T]) + Sync),
) -> Result<(), CoreError> {
    affine(w, None, b, x, z, epilogue)
}

/// [`affine_into`] with the fused kernel's copy of `W` kept in `packed` between calls,
/// made by the first call that uses it, instead of made anew by every call. That copy is
/// 1.6 MB of `f32` for W4's 784→512 layer: without it, a prediction of 16 columns would
/// spend more on copying `W` than the kernel gains, and such layers go to faer below 256
/// columns. With it, from 6 columns in `f32`, and on AVX-512 from one (a tile of one
/// column streams the panels once: W4's network on one column 45–51 → 29–33 µs on one
/// core of a Zen 4 EPYC, 23–24 → 16–18 on two); on two threads, a batch of fewer than 64
/// columns shares the panels of rows between the two threads (each core reads half of
/// `W`, which can stay in its own cache) rather than cutting the columns. W4's
/// 784-512-512-10 network on 16 columns, one call (one core each of the Intel Xeon,
/// model 167, p50 of 10 000): 217–223 → 149 µs on one thread, 116 → 69 µs on two; W3's
/// 784-128-10 22.2 → 16.9 µs and 13.0–14.6 → 10.2–11.0; at 1024 columns, W4 274–276k →
/// 285–289k samples/s on two threads (no copy of `W` per call).
///
/// `packed` must hold nothing of another `W`: empty it ([`PackedWeights::clear`]) whenever
/// `W` changes. A `packed` made for a `W` of another shape is not used (the call copies `W`
/// as [`affine_into`] does), so a stale copy can only be one of equal shape.
///
/// # Errors
/// As [`affine_into`].
///
/// # Example
/// ```
/// use nn_core::{DMatrix, PackedWeights, affine_packed_into};
/// let w = DMatrix::from_fn(128, 100, |i, j| ((i * 7 + j) % 13) as f32 - 6.0);
/// let (b, x) = (DMatrix::from_element(128, 1, 0.5), DMatrix::from_element(100, 16, 0.25));
/// let (mut packed, mut z) = (PackedWeights::new(), DMatrix::zeros(128, 16));
/// let keep = |_: &mut [f32]| {};
/// affine_packed_into(&w, &packed, &b, &x, &mut z, &keep)?;
/// assert_eq!(z, &w * &x + &b * DMatrix::from_element(1, 16, 1.0));
/// packed.clear(); // before W changes
/// # Ok::<(), nn_core::CoreError>(())
/// ```
pub fn affine_packed_into<T: Scalar>(
    w: &DMatrix<T>,
    packed: &PackedWeights<T>,
    b: &DMatrix<T>,
    x: &DMatrix<T>,
    z: &mut DMatrix<T>,
    epilogue: &(dyn Fn(&mut [T]) + Sync),
) -> Result<(), CoreError> {
    affine(w, Some(packed), b, x, z, epilogue)
}

/// [`affine_into`] and [`affine_packed_into`].
fn affine<T: Scalar>(
    w: &DMatrix<T>,
    packed: Option<&PackedWeights<T>>,
    b: &DMatrix<T>,
    x: &DMatrix<T>,
    z: &mut DMatrix<T>,
    epilogue: &(dyn Fn(&mut [T]) + Sync),
) -> Result<(), CoreError> {
    const OP: &str = "affine_into";
    let (units, k) = w.shape();
    let checks = [
        ("b (bias)", (units, 1), b.shape()),
        ("X (input)", (k, x.ncols()), x.shape()),
        ("Z (output)", (units, x.ncols()), z.shape()),
    ];
    for (operand, expected, found) in checks {
        crate::expect_shape(OP, operand, expected, found)?;
    }
    let n = x.ncols();
    if z.is_empty() {
        return Ok(());
    }
    let (w, b, x, z) = (w.as_slice(), b.as_slice(), x.as_slice(), z.as_mut_slice());
    let kernel = k > 0 && T::affine_takes(units, n, packed.is_some());
    let two = crate::kernel_threads() >= 2;
    // A narrow batch on two threads shares the rows (the panels) rather than the columns.
    let split_rows = packed.is_some() && two && shares_rows::<T>(units, k, n);
    // Bias, product and epilogue over the columns of one block of `X` and `Z`.
    let block = |x: &[T], z: &mut [T], split_rows: bool| {
        let plan = AffinePlan { packed, split_rows };
        if kernel && T::affine_kernel((w, units, k), b, x, z, (epilogue, plan)) {
            return;
        }
        crate::ops::fill_columns(b, z);
        let n = z.len() / units;
        if k > 0 {
            let (a, b) = ((w, 1, units), (x, 1, k));
            T::gemm_kernel((units, k, n), T::one(), a, b, T::one(), (&mut *z, 1, units));
        }
        epilogue(z);
    };
    // The fused kernel computes each column alike in any part of the batch, so its product
    // is cut only where a second thread can take the second half: on one thread the halves
    // would copy `W` twice. Elsewhere the cut is the shape's, for the same bits.
    let cut = affine_cut(units, k, n).filter(|_| !kernel || two);
    match cut {
        Some(at) => {
            let (x0, x1) = x.split_at(at * k);
            let (z0, z1) = z.split_at_mut(at * units);
            crate::join(|| block(x0, z0, false), || block(x1, z1, false));
        }
        None => block(x, z, split_rows),
    }
    Ok(())
}

/// What the fused kernel runs on each finished block of whole columns of `Z`.
pub type Epilogue<'a, T> = &'a (dyn Fn(&mut [T]) + Sync);

/// How the fused kernel gets its panels of `W` and shares its rows.
#[derive(Clone, Copy)]
pub struct AffinePlan<'a, T> {
    /// The panels kept between calls, made by the first; `None` copies `W` for this call.
    pub packed: Option<&'a PackedWeights<T>>,
    /// Whether the panels are shared between this thread and nn-core's helper (a narrow
    /// batch: each core then reads half of `W`, which can stay in its own cache).
    pub split_rows: bool,
}

/// The fused kernel's copy of a layer's `W` (its rows padded to whole vectors and laid out
/// in the panels of its register tiles), kept between calls of [`affine_packed_into`] —
/// as ONNX Runtime keeps its weights pre-packed — and made by the first call that uses it.
/// Empty until then, on a CPU whose kernel does not take the layer, and after
/// [`PackedWeights::clear`]; a clone starts empty.
pub struct PackedWeights<T> {
    panels: std::sync::OnceLock<Panels<T>>,
}

/// The panels of a [`PackedWeights`]: the values from `start` (a 64-byte boundary) of
/// `values`, made for `shape` = (rows of `W`, columns of `W`, rows of a panel), which
/// fixes how many there are.
struct Panels<T> {
    values: Vec<T>,
    start: usize,
    shape: (usize, usize, usize),
}

impl<T> PackedWeights<T> {
    /// Nothing packed yet.
    pub const fn new() -> Self {
        Self {
            panels: std::sync::OnceLock::new(),
        }
    }

    /// Drops the copy: the next call makes it again, from the `W` it is given.
    pub fn clear(&mut self) {
        self.panels = std::sync::OnceLock::new();
    }

    /// Whether a copy of `W` is held.
    pub fn is_packed(&self) -> bool {
        self.panels.get().is_some()
    }

    /// The panels for `shape`, made by `fill` into `len` aligned values if none are held;
    /// `None` if those held are for another shape.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn panels(
        &self,
        shape: (usize, usize, usize),
        len: usize,
        fill: impl FnOnce(&mut [T]),
    ) -> Option<&[T]>
    where
        T: Copy + Default,
    {
        let panels = self.panels.get_or_init(|| {
            let mut values = Vec::new();
            let aligned = crate::packed::aligned(&mut values, len);
            fill(aligned);
            let start = aligned.as_ptr() as usize - values.as_ptr() as usize;
            let start = start / size_of::<T>();
            Panels {
                values,
                start,
                shape,
            }
        });
        (panels.shape == shape).then(|| &panels.values[panels.start..][..len])
    }
}

impl<T> Default for PackedWeights<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for PackedWeights<T> {
    /// An empty copy: the clone packs its own `W` on first use.
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<T> std::fmt::Debug for PackedWeights<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shape = self.panels.get().map(|p| p.shape);
        f.debug_struct("PackedWeights")
            .field("shape", &shape)
            .finish()
    }
}

/// Whether [`affine_into`] (or, with `packed`, [`affine_packed_into`]) computes each
/// column of `Z` for a `W` of `units` rows the same bits in any batch of at least
/// `columns` columns: true where nn-core's fused kernel takes such a product on this CPU,
/// whose sums run over the inner dimension in order whatever the width, and whose epilogue
/// blocks are whole columns. (faer's kernels, which take the other shapes, choose their
/// blocking by the whole shape.) A caller may then cut a batch by columns without changing
/// a bit: `Network::predict` runs a small dense network's halves on two threads.
///
/// ```
/// // Whatever the CPU: nn-core's kernel does not take a layer of 1000 units on 4 columns.
/// assert!(!nn_core::affine_is_columnwise::<f32>(1000, 4, true));
/// ```
pub fn affine_is_columnwise<T: Scalar>(units: usize, columns: usize, packed: bool) -> bool {
    // From two columns on, what the kernel takes on `n` it takes on more; it may take one
    // column on its own (a tile of one column) where it does not take two to five, and may
    // take two where it does not take one (on AVX2, which keeps one column elsewhere).
    T::affine_takes(units, columns.max(2), packed)
        && (columns >= 2 || T::affine_takes(units, 1, packed))
}

/// Whether [`affine_into`] (or, with `packed`, [`affine_packed_into`]), on two threads
/// ([`with_kernel_threads`](crate::with_kernel_threads)), shares a layer of `units` rows
/// and `inputs` inputs on `columns` columns of `X` between the two threads itself, in
/// nn-core's fused kernel: by columns, or for fewer than 64 columns by rows. A caller that
/// would cut the batch across two threads itself ([`affine_is_columnwise`]) need not:
/// W3's 784-128-10 network at 1024 columns predicted 1.50–1.59M samples/s cut layer by
/// layer, 1.31–1.40M in two halves each through the whole network (which copy their
/// inputs; one core each of the Intel Xeon).
///
/// ```
/// // Too little work per column of the input to cut, whatever the CPU.
/// assert!(!nn_core::affine_cuts_itself::<f32>(32, 64, 1024, false));
/// ```
pub fn affine_cuts_itself<T: Scalar>(
    units: usize,
    inputs: usize,
    columns: usize,
    packed: bool,
) -> bool {
    let shares = if packed && columns < AFFINE_CUT_MIN_COLUMNS {
        shares_rows::<T>(units, inputs, columns)
    } else {
        affine_cut(units, inputs, columns).is_some()
    };
    inputs > 0 && T::affine_takes(units, columns, packed) && shares
}

/// Bytes of a panel of rows of the fused kernel: four AVX-512 vectors (AVX2's kernel takes
/// no layer of more rows than one panel).
const PANEL_BYTES: usize = 256;

/// Whether the fused kernel, with `W` packed, shares the panels of a layer of `units` rows
/// and `k` inputs on `n` columns between two threads: a batch narrower than
/// [`AFFINE_CUT_MIN_COLUMNS`], a layer of several panels, a product [`cut`] would cut.
fn shares_rows<T>(units: usize, k: usize, n: usize) -> bool {
    n < AFFINE_CUT_MIN_COLUMNS && units * size_of::<T>() > PANEL_BYTES && cut(units, k, n).is_some()
}

/// Fewest columns of `Z` from which [`affine_into`] cuts its product by columns.
const AFFINE_CUT_MIN_COLUMNS: usize = 64;

/// Where [`affine_into`] cuts `Z` by its columns, if it does: a product [`cut`] would cut
/// in two (it is large enough to pay for the second thread) and at least
/// [`AFFINE_CUT_MIN_COLUMNS`] wide. A function of the shape alone.
fn affine_cut(m: usize, k: usize, n: usize) -> Option<usize> {
    (n >= AFFINE_CUT_MIN_COLUMNS && cut(m, k, n).is_some()).then(|| half(n))
}

/// Fewest multiply-adds (`m·k·n`) of a product that is cut in two halves.
const CUT_WORK: usize = 1 << 18;
/// Fewest rows or columns of `C` along which a product is cut.
const CUT_MIN: usize = 32;
/// Fewest columns of `C` in a product cut by rows or columns. Below it the kernel is a
/// matrix–vector product that rewrites its column of `C` once per column of `A`: two
/// threads writing the two halves of one column contend for the cache line they share
/// (512×784 on one column: 61 µs on two threads, 45 µs on one), and each reads `A` in
/// runs of half a column. Such a product is cut along the inner dimension instead.
const ROW_CUT_MIN_COLUMNS: usize = 16;

/// Fewest rows of `C` in a product that goes to the packed kernel.
const PACKED_MIN_ROWS: usize = 128;

/// Fewest multiply-adds per value of `B` and `C` that the second half reads or writes,
/// `rows·inner / (rows + inner)` for a half of `rows × inner` (with `A`, the weights,
/// counted as staying in the helper's cache). Below it, moving the activations between
/// the cores costs more than the half saves: W1's 16×16 layer at 1024 columns (8) and
/// W2's 32×64 (21) predicted 25–40% slower on two threads than on one.
const CUT_INTENSITY: usize = 32;

/// Where a product `C(m×n) = A(m×k)·B(k×n)` is cut into two halves, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// `C`'s rows `..at` and `at..`, from the same rows of `A` and all of `B`.
    Rows(usize),
    /// `C`'s columns `..at` and `at..`, from all of `A` and the same columns of `B`.
    Columns(usize),
    /// The inner dimension: `C = (β·C + α·A[:, ..at]·B[..at, :]) + α·A[:, at..]·B[at.., :]`,
    /// the second product into a buffer of the thread that multiplies.
    Inner(usize),
}

/// The cut of an `m×k×n` product (see the module docs): a function of the shape alone.
pub(crate) fn cut(m: usize, k: usize, n: usize) -> Option<Cut> {
    if m.saturating_mul(k).saturating_mul(n) < CUT_WORK {
        return None;
    }
    let dense = |rows: usize, inner: usize| {
        rows.saturating_mul(inner) >= CUT_INTENSITY.saturating_mul(rows + inner)
    };
    if n < ROW_CUT_MIN_COLUMNS {
        (k >= CUT_MIN && dense(m, k / 2)).then(|| Cut::Inner(half(k)))
    } else if m >= CUT_MIN && n < m {
        dense(m / 2, k).then(|| Cut::Rows(half(m)))
    } else if n >= CUT_MIN {
        dense(m, k).then(|| Cut::Columns(half(n)))
    } else {
        None
    }
}

/// Fewest multiply-adds of a product that goes to the packed kernel (`src/packed.rs`).
const PACKED_WORK: usize = 1 << 22;
/// Shortest inner dimension of such a product (the batch, in a weight gradient).
const PACKED_MIN_INNER: usize = 256;

/// Whether a product `A·Bᵀ` (column-major `A`, row-major `B`: a weight gradient
/// `dZ·A_prevᵀ`) goes to nn-core's packed kernel on a CPU with AVX-512 or AVX2 rather than to faer,
/// which multiplies a row-major `B` 11–17% slower when the inner dimension is long (see
/// `src/packed.rs`). With 64 (W3's batch) faer is faster. Not on AMD's AVX-512 (Zen 4),
/// whose one 256-bit FMA path per core runs faer's tiles of 4 vectors × 4 columns at 96%
/// of the FMA loop on these products and the packed kernel, with its packing, at 91%: one
/// core of a Zen 4 EPYC, best of 15, `f32` GFLOP/s packed → faer, 512×256×784 104–106 →
/// 112, 512×256×512 106–107 → 112; `f64` 50–51 → 52–54 and 51 → 51–52 (W4's training 1–2%
/// faster). A function of the shape and the CPU alone, so the bits do not depend on the
/// thread count.
pub(crate) fn packs(m: usize, k: usize, n: usize) -> bool {
    !amd_avx512()
        && m >= PACKED_MIN_ROWS
        && k >= PACKED_MIN_INNER
        && n >= CUT_MIN
        && m.saturating_mul(k).saturating_mul(n) >= PACKED_WORK
}

/// Whether the CPU is one of AMD's with AVX-512, told from Intel's by SSE4a, which only
/// AMD's CPUs have: Zen 4, measured, and Zen 5 (full-width 512-bit units on some models),
/// which answers too and has not been measured.
fn amd_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    let amd = std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("sse4a");
    #[cfg(not(target_arch = "x86_64"))]
    let amd = false;
    amd
}

/// Where a product that [`packs`] is cut into two halves on two threads, if it is: always
/// by the columns of `C` (each half a contiguous run of `C` and of `B`'s row-major
/// columns), at the column the rows or columns of [`cut`] would use for `n`, whenever
/// [`cut`] cuts it. The packed kernel sums each entry alike however the columns are
/// shared, so on one thread it is not cut: the halves would each pack all of `A`
/// (W4's 512×256×512 gradient on one core of the Intel Xeon: 712 → 698 µs).
pub(crate) fn packed_cut(m: usize, k: usize, n: usize) -> Option<usize> {
    cut(m, k, n).map(|_| half(n))
}

/// Half of `x`, rounded up to whole 16-lane tiles: in 16..x for x ≥ 32.
fn half(x: usize) -> usize {
    (x / 2).next_multiple_of(16)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_products_are_cut_where_two_threads_pay() {
        // W4's and W3's training steps and one request: rows (a tall `C`), columns (a wide
        // one, whose halves cut by rows would share a cache line in every column), the
        // inner dimension.
        assert_eq!(cut(512, 784, 256), Some(Cut::Rows(256)));
        assert_eq!(cut(512, 256, 784), Some(Cut::Columns(400)));
        assert_eq!(cut(128, 64, 784), Some(Cut::Columns(400)));
        assert_eq!(cut(64, 256, 784), Some(Cut::Columns(400)));
        assert_eq!(cut(512, 784, 1), Some(Cut::Inner(400)));
        assert_eq!(cut(128, 784, 16), Some(Cut::Rows(64)));
        // Too little work, too few multiply-adds per activation, too narrow.
        assert_eq!(cut(128, 784, 1), None);
        assert_eq!(cut(16, 16, 1024), None);
        assert_eq!(cut(32, 64, 1024), None);
        assert_eq!(cut(10, 512, 256), None);
        assert_eq!(cut(31, 4096, 31), None);
    }
}
