//! The matrix–vector product `y ← α·A·x + β·y` on AVX-512 or AVX2: a product of one column,
//! which is what a server computes for one request.
//!
//! faer's matrix–vector kernel walks `A` a column at a time and keeps `y` in memory: every
//! column of `A` reloads and rewrites all of `y`. On AVX-512 a block of 128 rows of `y` (64
//! in `f64`) stays in 16 of the 32 vector registers — two sets of eight, for the even and
//! the odd columns, so that no chain of dependent multiply-adds limits the loop — while the
//! block's rows of every column of `A` stream through. Measured on one core of the Intel
//! Xeon (AVX-512, two FMA units), f32 GFLOP/s, faer → this: 784→128 (W3's first layer, 400
//! KB of weights in the L2 cache) 36 → 61, 512→512 44 → 55, 128→10 3.6 → 7.6; 784→512 (1.6
//! MB, partly beyond L2) 39 → 39.
//!
//! On AVX2 the same blocks (32 rows in 8 of 16 registers) read each column of `A` in
//! pieces of 128 bytes, one column's piece 2 KB after the last for a 512-row layer, a
//! pattern the hardware prefetchers follow poorly once `A` is beyond the L2 cache. There
//! `A` is read in its own order instead ([`streaming`]): the sums of a chunk of up to 512
//! rows of `y` stay in the L1 cache, and four whole columns at a time are added into them.
//! One core of a Zen 3 EPYC, µs per product, blocks → streaming (same binary, best of 5
//! runs each, three runs): 784→512 47–49 → 27–29, 512→512 25–27 → 16–17, 784→128 6.0–9.3 →
//! 5.0–5.5, 512→10 1.8–3.1 → 1.16. (AVX-512 keeps the blocks: the streaming order was not
//! measured there.)
//!
//! The order of the sums is fixed by the shape: in the blocks, the even columns into one
//! set and the odd into the other, in column order, then the two sets added; streaming,
//! each entry in column order. So the bits do not depend on the thread count (`gemm_into`
//! cuts a long inner dimension in two halves by the shape alone). On a CPU with neither
//! instruction set the product stays with faer.

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
        _ => streaming(s, alpha, a, x, beta, y),
    }
}

/// Columns of `A` added at once into a chunk's sums in [`streaming`].
const STREAM_COLUMNS: usize = 4;
/// Vectors of rows of `y` in a chunk of [`streaming`]: 512 rows of `f32` on AVX2 (256 of
/// `f64`), whose sums stay in the L1 cache.
const CHUNK_VECTORS: usize = 64;

/// [`gemv`] with `A`'s columns read from start to end: for each chunk of up to
/// [`CHUNK_VECTORS`] vectors of rows, [`STREAM_COLUMNS`] columns at a time are added into
/// the chunk's sums, each entry summed in column order.
fn streaming<T: Vectors, S: Isa>(
    s: S,
    alpha: T,
    (a, lda): (&[T], usize),
    x: &[T],
    beta: T,
    y: &mut [T],
) {
    s.vectorize(
        #[inline(always)]
        move || {
            let y = y;
            let lanes = T::lanes::<S>();
            let zero = T::splat(s, T::default());
            let mut acc = [zero; CHUNK_VECTORS];
            for (i, y) in y.chunks_mut(CHUNK_VECTORS * lanes).enumerate() {
                let r0 = i * CHUNK_VECTORS * lanes;
                let rows = y.len();
                let full = rows / lanes;
                let acc = &mut acc[..rows.div_ceil(lanes)];
                acc.fill(zero);
                let column = |p: usize| &a[p * lda + r0..][..rows];
                let (groups, rest) = x.as_chunks::<STREAM_COLUMNS>();
                for (g, xs) in groups.iter().enumerate() {
                    let p0 = g * STREAM_COLUMNS;
                    let c: [&[T]; STREAM_COLUMNS] = std::array::from_fn(|j| column(p0 + j));
                    let v: [&[T::V<S>]; STREAM_COLUMNS] =
                        std::array::from_fn(|j| T::vectors::<S>(c[j]).0);
                    let xv: [T::V<S>; STREAM_COLUMNS] = std::array::from_fn(|j| T::splat(s, xs[j]));
                    for (r, sum) in acc[..full].iter_mut().enumerate() {
                        let mut t = *sum;
                        for j in 0..STREAM_COLUMNS {
                            t = T::fma(s, v[j][r], xv[j], t);
                        }
                        *sum = t;
                    }
                    if full < acc.len() {
                        let mut t = acc[full];
                        for j in 0..STREAM_COLUMNS {
                            t = T::fma(s, T::load(s, &c[j][full * lanes..]), xv[j], t);
                        }
                        acc[full] = t;
                    }
                }
                for (j, &xj) in rest.iter().enumerate() {
                    let c = column(groups.len() * STREAM_COLUMNS + j);
                    let xv = T::splat(s, xj);
                    for (part, sum) in c.chunks(lanes).zip(acc.iter_mut()) {
                        *sum = T::fma(s, T::load(s, part), xv, *sum);
                    }
                }
                store(s, acc, (alpha, beta), y);
            }
        },
    )
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
            for (i, y) in y.chunks_mut(R * T::lanes::<S>()).enumerate() {
                let rows = (i * R * T::lanes::<S>(), y.len());
                store(s, &block::<T, S, R>(s, a, rows, x), (alpha, beta), y);
            }
        },
    )
}

/// `y ← α·sums + β·y` (with `β = 0`, `y` unread), one vector of `sums` per vector of `y`.
#[inline(always)]
fn store<T: Vectors, S: Isa>(s: S, sums: &[T::V<S>], (alpha, beta): (T, T), y: &mut [T]) {
    let (alpha_v, beta_v) = (T::splat(s, alpha), T::splat(s, beta));
    for (&sum, y) in sums.iter().zip(y.chunks_mut(T::lanes::<S>())) {
        let out = if beta == T::default() {
            T::mul(s, sum, alpha_v)
        } else {
            T::fma(s, sum, alpha_v, T::mul(s, T::load(s, &*y), beta_v))
        };
        T::store(s, y, out);
    }
}
