//! `Z ← W·X + b 1ᵀ` for a layer of few units, with the layer's activation applied to each
//! block of columns while it is in the L1 cache: the inference of a small dense layer.
//!
//! A layer of at most 64 units (32 in `f64`) went through three passes over `Z`: the bias
//! copied into every column, faer's product accumulated onto it, the activation. faer's
//! kernel for such a product keeps 16-row tiles, so a 10-unit output layer used 10 of 16
//! lanes and read `Z` back to add to the bias (10×32×1024: 39 GFLOP/s), and W2's
//! 64-32-10 network spent 24% of a prediction in the element-wise passes. Here `W`, its
//! rows padded to whole vectors, is copied once per call into the layout of the register
//! tile; a tile of `Z`, all its rows (one to four vectors) × 12, 12, 8 or 6 columns on
//! AVX-512 (12, 6, 3 or 2 on AVX2, whose 16 registers hold fewer sums), starts
//! from the bias in registers and accumulates `W[:, p]·X[p, j]` over the inner dimension
//! (each `X[p, j]` broadcast straight from its column of `X`: no packing), is stored, and
//! the epilogue (the activation, a finiteness check) runs on those columns of `Z` at once.
//! On one core of a Zen 3 EPYC (AVX2), bias, product and ReLU together, GFLOP/s, faer's
//! three passes → this: 32×64×1024 61 → 64, 10×32×1024 29 → 38, 16×16×1024 28 → 37.
//!
//! Each entry is `b_i + Σ_p W_ip X_pj` summed in order of `p`, whatever the number of
//! columns or threads.

use std::cell::RefCell;

use crate::isa::{Isa, Vectors};
use crate::packed::aligned;

/// Most vectors of rows in a tile (64 `f32` rows, 32 `f64`).
const MAX_ROW_VECTORS: usize = 4;

/// An element type with a per-thread buffer for its padded weights.
pub(crate) trait Affine: Vectors {
    /// Runs `f` on this thread's buffer for the padded `W`, grown on first use.
    fn with_weights<R>(f: impl FnOnce(&mut Vec<Self>) -> R) -> R;
}

macro_rules! impl_affine {
    ($t:ty) => {
        impl Affine for $t {
            fn with_weights<R>(f: impl FnOnce(&mut Vec<$t>) -> R) -> R {
                thread_local! {
                    static WEIGHTS: RefCell<Vec<$t>> = const { RefCell::new(Vec::new()) };
                }
                WEIGHTS.with_borrow_mut(f)
            }
        }
    };
}
impl_affine!(f32);
impl_affine!(f64);

/// `Z ← W·X + b 1ᵀ` with `epilogue` applied to each finished block of whole columns of `Z`
/// (a slice of `units` × some columns), for `W: units×k` column-major (`w`), `b` of
/// `units` values, `X: k×n` and `Z: units×n` column-major and contiguous; `false`, with
/// nothing written, unless `units` is half a vector to [`MAX_ROW_VECTORS`] vectors (fewer
/// rows would make a tile mostly padding: 1×16×1024 took 5.9 µs against faer's 4.8) and
/// `n` at least a tile's columns.
///
/// Panics (a bug in nn-core, not a user error) if a slice is too short: `affine_into`
/// validated the shapes.
pub(crate) fn affine<T: Affine, S: Isa>(
    s: S,
    (w, units, k): (&[T], usize, usize),
    b: &[T],
    x: &[T],
    z: &mut [T],
    epilogue: &(dyn Fn(&mut [T]) + Sync),
) -> bool {
    if !takes::<T, S>(s, units, z.len() / units.max(1)) {
        return false;
    }
    let args = (s, (w, units, k), b, x, z, epilogue);
    let wide = S::REGISTERS >= 32;
    match units.div_ceil(T::lanes::<S>()) {
        1 => affine_tiles::<T, S, 1, { TILE_COLUMNS[0][0] }>(args),
        2 if wide => affine_tiles::<T, S, 2, { TILE_COLUMNS[0][1] }>(args),
        3 if wide => affine_tiles::<T, S, 3, { TILE_COLUMNS[0][2] }>(args),
        _ if wide => affine_tiles::<T, S, 4, { TILE_COLUMNS[0][3] }>(args),
        2 => affine_tiles::<T, S, 2, { TILE_COLUMNS[1][1] }>(args),
        3 => affine_tiles::<T, S, 3, { TILE_COLUMNS[1][2] }>(args),
        _ => affine_tiles::<T, S, 4, { TILE_COLUMNS[1][3] }>(args),
    }
    true
}

/// Whether [`affine`] takes a layer of `units` rows on `n` columns on `S`.
pub(crate) fn takes<T: Vectors, S: Isa>(_: S, units: usize, n: usize) -> bool {
    let lanes = T::lanes::<S>();
    (lanes / 2..=MAX_ROW_VECTORS * lanes).contains(&units)
        && n >= tile_columns(units, lanes, S::REGISTERS)
}

/// Columns of a tile with 1, 2, 3 or 4 vectors of rows, on 32 vector registers (AVX-512)
/// and on 16 (AVX2): as many as keep the tile's sums, the weights' vectors and a
/// broadcast within the registers. On AVX2, 4 vectors × 3 columns sent one sum through
/// memory every step: W2's 32×64 layer ran at 35 GFLOP/s, at 64 with 2 columns (faer: 61;
/// one core of a Zen 3 EPYC).
const TILE_COLUMNS: [[usize; MAX_ROW_VECTORS]; 2] = [[12, 12, 8, 6], [12, 6, 3, 2]];

/// [`TILE_COLUMNS`] for a layer of `units` rows of `lanes`-wide vectors on `registers`
/// vector registers.
fn tile_columns(units: usize, lanes: usize, registers: usize) -> usize {
    let set = usize::from(registers < 32);
    TILE_COLUMNS[set][units.div_ceil(lanes).clamp(1, MAX_ROW_VECTORS) - 1]
}

type Args<'a, T, S> = (
    S,
    (&'a [T], usize, usize),
    &'a [T],
    &'a [T],
    &'a mut [T],
    &'a (dyn Fn(&mut [T]) + Sync),
);

fn affine_tiles<T: Affine, S: Isa, const R: usize, const NB: usize>(
    (s, (w, units, k), b, x, z, epilogue): Args<'_, T, S>,
) {
    let n = z.len() / units;
    T::with_weights(|buffer| {
        let padded = aligned(buffer, k * R * T::lanes::<S>());
        s.vectorize(
            #[inline(always)]
            move || {
                let (padded, z) = (T::vectors_mut::<S>(padded).0, z);
                let zero = T::splat(s, T::default());
                // W's columns as R vectors each, rows past `units` zero; the bias likewise.
                for (column, vectors) in w.chunks_exact(units).zip(padded.chunks_exact_mut(R)) {
                    for (v, part) in vectors.iter_mut().zip(column.chunks(T::lanes::<S>())) {
                        *v = T::load(s, part);
                    }
                }
                let mut bias = [zero; R];
                for (v, part) in bias.iter_mut().zip(b.chunks(T::lanes::<S>())) {
                    *v = T::load(s, part);
                }
                let (weights, _) = padded.as_chunks::<R>();
                for (tile, out) in z.chunks_mut(NB * units).enumerate() {
                    let j0 = tile * NB;
                    // A last tile of fewer columns repeats the last column (not stored).
                    let columns: [&[T]; NB] =
                        std::array::from_fn(|j| &x[(j0 + j).min(n - 1) * k..][..k]);
                    let acc = sums::<T, S, R, NB>(s, weights, &columns, bias);
                    for (sums, column) in acc.iter().zip(out.chunks_exact_mut(units)) {
                        for (&sum, part) in sums.iter().zip(column.chunks_mut(T::lanes::<S>())) {
                            if part.len() == T::lanes::<S>() {
                                T::vectors_mut::<S>(part).0[0] = sum;
                            } else {
                                T::store(s, part, sum);
                            }
                        }
                    }
                    epilogue(out);
                }
            },
        )
    })
}

/// The tile's sums: `bias + Σ_p W[:, p]·X[p, j]` for the `NB` columns, as `R` vectors each.
/// A function of its own returning the tile by value, so that the sums stay in registers
/// (the stores after it index the tile by a run-time column count).
#[inline(always)]
fn sums<T: Affine, S: Isa, const R: usize, const NB: usize>(
    s: S,
    weights: &[[T::V<S>; R]],
    columns: &[&[T]; NB],
    bias: [T::V<S>; R],
) -> [[T::V<S>; R]; NB] {
    let mut acc = [bias; NB];
    for (p, w) in weights.iter().enumerate() {
        for j in 0..NB {
            let xp = T::splat(s, columns[j][p]);
            for v in 0..R {
                acc[j][v] = T::fma(s, w[v], xp, acc[j][v]);
            }
        }
    }
    acc
}
