//! The matrix–vector product `y ← α·A·x + β·y` on AVX-512 or AVX2: a product of one column,
//! which is what a server computes for one request.
//!
//! faer's matrix–vector kernel walks `A` a column at a time and keeps `y` in memory: every
//! column of `A` reloads and rewrites all of `y`. Here a block of 128 rows of `y` (64 in
//! `f64`) stays in 16 of AVX-512's 32 vector registers (on AVX2, 32 rows in 8 of 16) — two
//! sets of eight (four), for the even and the odd
//! columns, so that no chain of dependent multiply-adds limits the loop — while the block's
//! rows of every column of `A` stream through. Measured on one core of the Intel Xeon
//! (AVX-512, two FMA units), f32 GFLOP/s, faer → this: 784→128 (W3's first layer, 400 KB
//! of weights in the L2 cache) 36 → 61, 512→512 44 → 55, 128→10 3.6 → 7.6; 784→512
//! (1.6 MB, partly beyond L2) 39 → 39.
//!
//! The order of the sums is fixed by the shape: the even columns into one set and the odd
//! into the other, in column order, then the two sets added. So the bits do not depend on
//! the thread count (`gemm_into` cuts a long inner dimension in two halves by the shape
//! alone). On one core of a Zen 3 EPYC (AVX2), a whole W3 request took 8.9–10.3 µs (p50)
//! here and 19.9–20.9 µs on faer. On a CPU with neither the product stays with faer.

use crate::isa::{Isa, Vectors};

/// Vectors of rows per block on an instruction set of `registers` vector registers: two
/// sets of this many accumulators take half of them, leaving room for the loads.
const fn row_vectors(registers: usize) -> usize {
    registers / 4
}

/// `Σ_p A[r0..r0+rows, p]·x[p]` for one block of at most `R·LANES` rows, as `R` vectors
/// (lanes past `rows` hold zeros).
#[inline(always)]
fn block<T: Vectors, S: Isa, const R: usize>(
    s: S,
    (a, lda): (&[T], usize),
    (r0, rows): (usize, usize),
    x: &[T],
) -> [T::V<S>; R] {
    let zero = T::splat(s, T::default());
    let (mut even, mut odd) = ([zero; R], [zero; R]);
    let column = |p: usize| &a[p * lda + r0..][..rows];
    let (pairs, last) = x.as_chunks::<2>();
    if rows == R * T::lanes::<S>() {
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
            let halves = c0.chunks(T::lanes::<S>()).zip(c1.chunks(T::lanes::<S>()));
            for (v, (c0, c1)) in halves.enumerate().take(R) {
                even[v] = T::fma(s, T::load(s, c0), x0, even[v]);
                odd[v] = T::fma(s, T::load(s, c1), x1, odd[v]);
            }
        }
    }
    if let [x0] = *last {
        let x0 = T::splat(s, x0);
        for (v, c0) in column(x.len() - 1)
            .chunks(T::lanes::<S>())
            .enumerate()
            .take(R)
        {
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
pub(crate) fn gemv<T: Vectors, S: Isa>(
    s: S,
    alpha: T,
    a: (&[T], usize),
    x: &[T],
    beta: T,
    y: &mut [T],
) {
    match S::REGISTERS {
        32 => rows::<T, S, { row_vectors(32) }>(s, alpha, a, x, beta, y),
        _ => rows::<T, S, { row_vectors(16) }>(s, alpha, a, x, beta, y),
    }
}

/// [`gemv`] in blocks of `R` vectors of rows.
fn rows<T: Vectors, S: Isa, const R: usize>(
    s: S,
    alpha: T,
    a: (&[T], usize),
    x: &[T],
    beta: T,
    y: &mut [T],
) {
    s.vectorize(
        #[inline(always)]
        move || {
            // Taking `y` by value makes this a `FnOnce`: called directly, not through a
            // shim compiled without the instruction set.
            let y = y;
            let (alpha_v, beta_v) = (T::splat(s, alpha), T::splat(s, beta));
            for (i, y) in y.chunks_mut(R * T::lanes::<S>()).enumerate() {
                let rows = (i * R * T::lanes::<S>(), y.len());
                let sums = block::<T, S, R>(s, a, rows, x);
                for (sum, y) in sums.into_iter().zip(y.chunks_mut(T::lanes::<S>())) {
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
