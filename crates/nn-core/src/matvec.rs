//! The matrix–vector product `y ← α·A·x + β·y` on AVX-512: a product of one column,
//! which is what a server computes for one request.
//!
//! faer's matrix–vector kernel walks `A` a column at a time and keeps `y` in memory: every
//! column of `A` reloads and rewrites all of `y`. Here a block of 128 rows of `y` (64 in
//! `f64`) stays in 16 vector registers — two sets of eight, for the even and the odd
//! columns, so that no chain of dependent multiply-adds limits the loop — while the block's
//! rows of every column of `A` stream through. Measured on one core of the Intel Xeon
//! (AVX-512, two FMA units), f32 GFLOP/s, faer → this: 784→128 (W3's first layer, 400 KB
//! of weights in the L2 cache) 36 → 61, 512→512 44 → 55, 128→10 3.6 → 7.6; 784→512
//! (1.6 MB, partly beyond L2) 39 → 39.
//!
//! The order of the sums is fixed by the shape: the even columns into one set and the odd
//! into the other, in column order, then the two sets added. So the bits do not depend on
//! the thread count (`gemm_into` cuts a long inner dimension in two halves by the shape
//! alone). On a CPU without AVX-512 the product stays with faer.

use pulp::x86::V4;
use pulp::{Simd, f32x16, f64x8};

/// Vectors of rows per block: two sets of this many accumulators stay in registers.
const ROW_VECTORS: usize = 8;

/// An element type with its AVX-512 vector and the operations the product needs.
pub(crate) trait Lanes: Copy + PartialEq + Default {
    /// 16 `f32` or 8 `f64`.
    type V: Copy;
    /// Elements per vector.
    const LANES: usize;
    /// `x` in every lane.
    fn splat(s: V4, x: Self) -> Self::V;
    /// `a·b + c` with one rounding.
    fn fma(s: V4, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `a·b`, lane by lane.
    fn mul(s: V4, a: Self::V, b: Self::V) -> Self::V;
    /// `a + b`, lane by lane.
    fn add(s: V4, a: Self::V, b: Self::V) -> Self::V;
    /// The whole vectors at the start of `x`, and what is left.
    fn vectors(x: &[Self]) -> (&[Self::V], &[Self]);
    /// The whole vectors at the start of `x`, writable, and what is left.
    fn vectors_mut(x: &mut [Self]) -> (&mut [Self::V], &mut [Self]);
    /// The first `min(x.len(), LANES)` elements of `x`, zeros after (a masked load).
    fn load(s: V4, x: &[Self]) -> Self::V;
    /// Writes the first `min(x.len(), LANES)` lanes of `v` into `x` (a masked store).
    fn store(s: V4, x: &mut [Self], v: Self::V);
}

macro_rules! impl_lanes {
    ($t:ty, $v:ty, $lanes:expr, $splat:ident, $fma:ident, $mul:ident, $add:ident,
     $vectors:ident, $vectors_mut:ident, $load:ident, $store:ident) => {
        impl Lanes for $t {
            type V = $v;
            const LANES: usize = $lanes;
            #[inline(always)]
            fn splat(s: V4, x: $t) -> $v {
                s.$splat(x)
            }
            #[inline(always)]
            fn fma(s: V4, a: $v, b: $v, c: $v) -> $v {
                s.$fma(a, b, c)
            }
            #[inline(always)]
            fn mul(s: V4, a: $v, b: $v) -> $v {
                s.$mul(a, b)
            }
            #[inline(always)]
            fn add(s: V4, a: $v, b: $v) -> $v {
                s.$add(a, b)
            }
            #[inline(always)]
            fn vectors(x: &[$t]) -> (&[$v], &[$t]) {
                V4::$vectors(x)
            }
            #[inline(always)]
            fn vectors_mut(x: &mut [$t]) -> (&mut [$v], &mut [$t]) {
                V4::$vectors_mut(x)
            }
            #[inline(always)]
            fn load(s: V4, x: &[$t]) -> $v {
                s.$load(x)
            }
            #[inline(always)]
            fn store(s: V4, x: &mut [$t], v: $v) {
                s.$store(x, v)
            }
        }
    };
}

impl_lanes!(
    f32,
    f32x16,
    16,
    splat_f32s,
    mul_add_f32s,
    mul_f32s,
    add_f32s,
    as_simd_f32s,
    as_mut_simd_f32s,
    partial_load_f32s,
    partial_store_f32s
);
impl_lanes!(
    f64,
    f64x8,
    8,
    splat_f64s,
    mul_add_f64s,
    mul_f64s,
    add_f64s,
    as_simd_f64s,
    as_mut_simd_f64s,
    partial_load_f64s,
    partial_store_f64s
);

/// `Σ_p A[r0..r0+rows, p]·x[p]` for one block of at most `R·LANES` rows, as `R` vectors
/// (lanes past `rows` hold zeros).
#[inline(always)]
fn block<T: Lanes, const R: usize>(
    s: V4,
    (a, lda): (&[T], usize),
    (r0, rows): (usize, usize),
    x: &[T],
) -> [T::V; R] {
    let zero = T::splat(s, T::default());
    let (mut even, mut odd) = ([zero; R], [zero; R]);
    let column = |p: usize| &a[p * lda + r0..][..rows];
    let (pairs, last) = x.as_chunks::<2>();
    if rows == R * T::LANES {
        for (q, &[x0, x1]) in pairs.iter().enumerate() {
            let (c0, c1) = (T::vectors(column(2 * q)).0, T::vectors(column(2 * q + 1)).0);
            let (x0, x1) = (T::splat(s, x0), T::splat(s, x1));
            for v in 0..R {
                even[v] = T::fma(s, c0[v], x0, even[v]);
                odd[v] = T::fma(s, c1[v], x1, odd[v]);
            }
        }
    } else {
        // The last block of a column: masked loads.
        for (q, &[x0, x1]) in pairs.iter().enumerate() {
            let (c0, c1) = (column(2 * q), column(2 * q + 1));
            let (x0, x1) = (T::splat(s, x0), T::splat(s, x1));
            let halves = c0.chunks(T::LANES).zip(c1.chunks(T::LANES));
            for (v, (c0, c1)) in halves.enumerate().take(R) {
                even[v] = T::fma(s, T::load(s, c0), x0, even[v]);
                odd[v] = T::fma(s, T::load(s, c1), x1, odd[v]);
            }
        }
    }
    if let [x0] = *last {
        let x0 = T::splat(s, x0);
        for (v, c0) in column(x.len() - 1).chunks(T::LANES).enumerate().take(R) {
            even[v] = T::fma(s, T::load(s, c0), x0, even[v]);
        }
    }
    std::array::from_fn(|v| T::add(s, even[v], odd[v]))
}

/// `y ← α·A·x + β·y` for `A: m×k` column-major with column stride `lda` (`m = y.len()`,
/// `k = x.len()`); with `β = 0`, `y` is not read (NaN in it is ignored).
///
/// Panics (a bug in nn-core, not a user error) if `a` is too short for `m`, `k`, `lda`:
/// `gemm_into` validated the shapes.
pub(crate) fn gemv<T: Lanes>(s: V4, alpha: T, a: (&[T], usize), x: &[T], beta: T, y: &mut [T]) {
    s.vectorize(
        #[inline(always)]
        move || {
            // Taking `y` by value makes this a `FnOnce`: called directly, not through a
            // shim compiled without AVX-512.
            let y = y;
            let (alpha_v, beta_v) = (T::splat(s, alpha), T::splat(s, beta));
            for (i, y) in y.chunks_mut(ROW_VECTORS * T::LANES).enumerate() {
                let rows = (i * ROW_VECTORS * T::LANES, y.len());
                let sums = block::<T, ROW_VECTORS>(s, a, rows, x);
                for (sum, y) in sums.into_iter().zip(y.chunks_mut(T::LANES)) {
                    let out = if beta == T::default() {
                        T::mul(s, sum, alpha_v)
                    } else {
                        T::fma(s, sum, alpha_v, T::mul(s, T::load(s, &*y), beta_v))
                    };
                    T::store(s, y, out);
                }
            }
        },
    )
}
