//! `Z ← W·X + b 1ᵀ` with the layer's activation applied to each block of columns while it
//! is in a cache: the inference of a dense layer of few units, or of many on AVX-512.
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
//! A layer of more units, on AVX-512, is computed in panels of four vectors of rows (64
//! `f32`, 32 `f64`) with tiles of 6 columns, `W` copied panel by panel once per call. The
//! columns go in blocks of [`BLOCK_TILES`] tiles, and each panel runs over all the tiles of
//! a block before the next panel: a panel (200 KB of `f32` for 784 inputs) comes from memory
//! once per block, from the L2 cache for its other tiles. With the tile loop outside the
//! panel loop, a 512×784 panel set (1.6 MB in `f32`, 3.2 MB in `f64`) was read from memory
//! for every tile: `f64` 43 GFLOP/s against faer's 70. On one core of the Intel Xeon (model
//! 167), bias, product and ReLU, faer's three passes → this, GFLOP/s (one program,
//! alternating): `f32` 128×784×1024 150 → 166, 512×784×1024 140 → 154, 512×512×1024 149 →
//! 160, 512×784×256 150 → 150; `f64` 512×784×1024 77 → 77, 128×784×1024 79 → 88. Whole
//! predictions of 1024 columns, samples/s: W3 (784-128-10) 758–771k → 784–861k on one
//! thread, 1.40M → 1.55–1.58M on two; W4 (784-512-512-10) 107–111k → 124k, 210–217k →
//! 226–234k. Copied for each call, `W` costs more than the tiles gain on narrow batches
//! (1.6 MB of it for 16 columns of work on W4's first layer), which then stay with faer
//! ([`Affine::WIDE_MIN_COLUMNS`]); a caller that keeps the panels between calls
//! (`PackedWeights`, as a dense layer does) takes the kernel from one tile's columns, and
//! a single column (a server's request) in tiles of one column, which read the panels once
//! and in order. On
//! two threads such a narrow batch shares the panels of rows between the cores: the
//! second half of them on nn-core's helper, into rows of its own copied into `Z` after,
//! and the epilogue once all rows are in; each core reads half of `W`, which can stay in
//! its own L2 cache from call to call. On AVX2 larger layers stay with faer: this tiling
//! has not been measured on such a CPU.
//!
//! Each entry is `b_i + Σ_p W_ip X_pj` summed in order of `p`, whatever the number of
//! columns or threads.

use std::cell::RefCell;

use crate::gemm::{AffinePlan, Epilogue};
use crate::isa::{Isa, Vectors};
use crate::packed::aligned;

/// Most vectors of rows in a tile (64 `f32` rows, 32 `f64`).
const MAX_ROW_VECTORS: usize = 4;
/// Tiles of columns computed together, each panel of `W` streaming over all of them.
const BLOCK_TILES: usize = 8;
/// Columns of the tile that takes a batch's last few columns (see [`rows_into`]): W4's
/// 784-512-512-10 on 16 columns as tiles of 6, 6 and 4 rather than 18 columns computed,
/// one core of a Zen 4 EPYC (where 16 columns are bound by the multiply-adds), p50 of
/// 2 000–3 000 calls, two binaries alternating: 209–211 → 186–188 µs; on 8 columns (6 + 2)
/// 139 → 117 µs; W3's 784-128-10 on 16 columns 32.0 → 28.4 µs; at 1024 columns level.
const SHORT_TILE: usize = 4;

/// An element type with per-thread buffers for its padded weights and for the second
/// thread's rows.
pub(crate) trait Affine: Vectors + Send + Sync {
    /// Fewest columns on which a layer of more than [`MAX_ROW_VECTORS`] vectors of rows
    /// goes to [`affine`] with `W` copied for the call: below them the copy costs more than
    /// the tiles gain.
    const WIDE_MIN_COLUMNS: usize;
    /// The same with `W` already in panels (`PackedWeights`): no copy to pay for.
    const WIDE_MIN_COLUMNS_PACKED: usize;
    /// Runs `f` on this thread's buffer for the padded `W`, grown on first use.
    fn with_weights<R>(f: impl FnOnce(&mut Vec<Self>) -> R) -> R;
    /// Runs `f` on this thread's buffer for the rows a second thread computes.
    fn with_rows<R>(f: impl FnOnce(&mut Vec<Self>) -> R) -> R;
}

macro_rules! impl_affine {
    ($t:ty, $wide_min_columns:expr, $packed_min_columns:expr) => {
        impl Affine for $t {
            const WIDE_MIN_COLUMNS: usize = $wide_min_columns;
            const WIDE_MIN_COLUMNS_PACKED: usize = $packed_min_columns;
            fn with_weights<R>(f: impl FnOnce(&mut Vec<$t>) -> R) -> R {
                thread_local! {
                    static WEIGHTS: RefCell<Vec<$t>> = const { RefCell::new(Vec::new()) };
                }
                WEIGHTS.with_borrow_mut(f)
            }
            fn with_rows<R>(f: impl FnOnce(&mut Vec<$t>) -> R) -> R {
                thread_local! {
                    static ROWS: RefCell<Vec<$t>> = const { RefCell::new(Vec::new()) };
                }
                ROWS.with_borrow_mut(f)
            }
        }
    };
}
// One core of the Intel Xeon (model 167), bias + product + ReLU, faer's passes → these
// tiles: f32 512×784 at 128 columns 1.0×, at 256 1.07×, at 1024 1.11×; f64 512×784 at 256
// 0.94×, at 1024 1.0×, 128×784 at 128 1.06×. With `W` packed once, from one tile's columns
// in `f32` (W4's 784-512-512-10 on 16 columns: 217–223 → 149 µs a call); `f64` unmeasured.
impl_affine!(f32, 256, 6);
impl_affine!(f64, 1024, 1024);

/// `Z ← W·X + b 1ᵀ` with `epilogue` applied to each finished block of whole columns of `Z`
/// (a slice of `units` × some columns), for `W: units×k` column-major (`w`), `b` of
/// `units` values, `X: k×n` and `Z: units×n` column-major and contiguous, `n ≥ 1`. The
/// caller decides by [`takes`] on the whole product (a part of it may be narrower).
///
/// Panics (a bug in nn-core, not a user error) if a slice is too short: `affine_into`
/// validated the shapes.
pub(crate) fn affine<T: Affine, S: Isa>(
    s: S,
    (w, units, k): (&[T], usize, usize),
    b: &[T],
    x: &[T],
    z: &mut [T],
    (epilogue, plan): (Epilogue<'_, T>, AffinePlan<'_, T>),
) {
    let one_column = z.len() == units;
    let args = (s, (w, units, k), b, x, z, (epilogue, plan));
    let wide = S::REGISTERS >= 32;
    let vectors = units.div_ceil(T::lanes::<S>());
    if one_column {
        // A tile of one column: a wider one would compute copies of it.
        return match vectors {
            1 => affine_tiles::<T, S, 1, 1>(args),
            2 => affine_tiles::<T, S, 2, 1>(args),
            3 => affine_tiles::<T, S, 3, 1>(args),
            _ => affine_tiles::<T, S, 4, 1>(args),
        };
    }
    match vectors {
        1 => affine_tiles::<T, S, 1, { TILE_COLUMNS[0][0] }>(args),
        2 if wide => affine_tiles::<T, S, 2, { TILE_COLUMNS[0][1] }>(args),
        3 if wide => affine_tiles::<T, S, 3, { TILE_COLUMNS[0][2] }>(args),
        // Four vectors, or panels of four for a larger layer.
        _ if wide => affine_tiles::<T, S, 4, { TILE_COLUMNS[0][3] }>(args),
        2 => affine_tiles::<T, S, 2, { TILE_COLUMNS[1][1] }>(args),
        3 => affine_tiles::<T, S, 3, { TILE_COLUMNS[1][2] }>(args),
        _ => affine_tiles::<T, S, 4, { TILE_COLUMNS[1][3] }>(args),
    }
}

/// Whether [`affine`] takes a layer of `units` rows on `n` columns on `S`: from half a
/// vector to [`MAX_ROW_VECTORS`] vectors of rows (fewer would make a tile mostly padding:
/// 1×16×1024 took 5.9 µs against faer's 4.8) with at least a tile's columns; and on
/// AVX-512, a larger layer whose panels of four vectors waste at most a fifth of their rows
/// (not 84 units in 128 rows: 100 GFLOP/s against faer's 116) on at least
/// [`Affine::WIDE_MIN_COLUMNS`] columns, or [`Affine::WIDE_MIN_COLUMNS_PACKED`] if its
/// panels are `packed`. On AVX-512 with `packed` panels, also one column (a request to a
/// server), in tiles of one column: the panels are read once, in order, where the
/// matrix–vector kernel reads `W` in blocks of rows across all its columns. One core of a
/// Zen 4 EPYC, bias + product + ReLU on one column, µs, matrix–vector kernel → tiles of
/// one column (one program, alternating): `f32` 512×784 24.6 → 18.1, 512×512 14.6 →
/// 11.2, 128×784 3.7 → 3.6, 10×512 0.96 → 0.68, 120×400 4.5 → 1.9; `f64` 512×784 59 → 38,
/// 10×512 2.8 → 0.8. (On AVX2, run on the same CPU, 16×16 and 32×64 were no faster: it
/// keeps the matrix–vector kernel.)
pub(crate) fn takes<T: Affine, S: Isa>(_: S, units: usize, n: usize, packed: bool) -> bool {
    let lanes = T::lanes::<S>();
    let panel = MAX_ROW_VECTORS * lanes;
    let wide = S::REGISTERS >= 32;
    let one_column = wide && packed && n == 1;
    if units > panel {
        let min = if one_column {
            1
        } else if packed {
            T::WIDE_MIN_COLUMNS_PACKED
        } else {
            T::WIDE_MIN_COLUMNS
        };
        wide && 4 * units.next_multiple_of(panel) <= 5 * units && n >= min
    } else {
        units >= lanes / 2 && (one_column || n >= tile_columns(units, lanes, S::REGISTERS))
    }
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
    (Epilogue<'a, T>, AffinePlan<'a, T>),
);

fn affine_tiles<T: Affine, S: Isa, const R: usize, const NB: usize>(
    (s, (w, units, k), b, x, z, (epilogue, plan)): Args<'_, T, S>,
) {
    let rows = R * T::lanes::<S>();
    let panels = units.div_ceil(rows);
    let len = panels * k * rows;
    let layer = Layer {
        units,
        k,
        rows,
        b,
        x,
    };
    // Panel q: W[q·rows.., p] as R vectors for each p, rows past `units` zero.
    let fill = |padded: &mut [T]| {
        s.vectorize(
            #[inline(always)]
            || {
                let padded = T::vectors_mut::<S>(padded).0;
                // Column by column, so that `W` is read in order of its storage.
                for (p, column) in w.chunks_exact(units).enumerate() {
                    for q in 0..panels {
                        let vectors = &mut padded[(q * k + p) * R..][..R];
                        if let Some(full) = column.get(q * rows..(q + 1) * rows) {
                            // A whole panel's rows: plain loads, not masked ones.
                            vectors.copy_from_slice(T::vectors::<S>(full).0);
                            continue;
                        }
                        for (i, v) in vectors.iter_mut().enumerate() {
                            *v = layer.part(s, column, q, i);
                        }
                    }
                }
            },
        )
    };
    // The panels kept between calls, or this call's copy in this thread's buffer.
    let run = |padded: &[T], z: &mut [T]| {
        if !(plan.split_rows && panels >= 2) {
            let all = Rows::into_z(0..panels, units);
            return rows_into::<T, S, R, NB>(s, padded, &layer, all, z, Some(epilogue));
        }
        // The first half of the panels into `Z` here, the second into rows of their own on
        // the helper, copied into `Z` after; the epilogue once all rows are in.
        let half = panels / 2;
        let (low, high) = (half * rows, units - half * rows);
        let n = z.len() / units;
        T::with_rows(|buffer| {
            if buffer.len() < high * n {
                buffer.resize(high * n, T::default());
            }
            let theirs = &mut buffer[..high * n];
            let (mine, layer) = (&mut *z, &layer);
            crate::join(
                || {
                    let part = Rows::into_z(0..half, units);
                    rows_into::<T, S, R, NB>(s, padded, layer, part, mine, None);
                },
                || {
                    let part = Rows {
                        panels: half..panels,
                        first: low,
                        height: high,
                    };
                    rows_into::<T, S, R, NB>(s, padded, layer, part, theirs, None);
                },
            );
            for (column, part) in z.chunks_exact_mut(units).zip(theirs.chunks_exact(high)) {
                column[low..].copy_from_slice(part);
            }
        });
        epilogue(z);
    };
    match plan
        .packed
        .and_then(|packed| packed.panels((units, k, rows), len, fill))
    {
        Some(padded) => run(padded, z),
        None => T::with_weights(|buffer| {
            let padded = aligned(buffer, len);
            fill(padded);
            run(padded, z);
        }),
    }
}

/// The shapes and operands of a product that every part of it reads.
struct Layer<'a, T> {
    units: usize,
    k: usize,
    /// Rows of a panel.
    rows: usize,
    b: &'a [T],
    x: &'a [T],
}

impl<T: Affine> Layer<'_, T> {
    /// Columns `j0..j0 + C` of `X` (of `n`) for a tile of `C` columns; past the last column,
    /// copies of it (computed, not stored).
    #[inline(always)]
    fn columns<const C: usize>(&self, j0: usize, n: usize) -> [&[T]; C] {
        std::array::from_fn(|j| &self.x[(j0 + j).min(n - 1) * self.k..][..self.k])
    }

    /// Vector `i` of the rows of panel `q` of a column of `W` (or of `b`), rows past
    /// `units` zero.
    #[inline(always)]
    fn part<S: Isa>(&self, s: S, column: &[T], q: usize, i: usize) -> T::V<S> {
        let column = &column[q * self.rows..(q * self.rows + self.rows).min(self.units)];
        T::load(s, column.get(i * T::lanes::<S>()..).unwrap_or(&[]))
    }
}

/// Which rows of `Z` a call of [`rows_into`] computes, and where they go: the rows of
/// `panels`, row `first` of `Z` being row 0 of the output's columns of `height` rows.
struct Rows {
    panels: std::ops::Range<usize>,
    first: usize,
    height: usize,
}

impl Rows {
    /// The rows of `panels` of a layer of `units` rows, into `Z` itself.
    fn into_z(panels: std::ops::Range<usize>, units: usize) -> Self {
        Self {
            panels,
            first: 0,
            height: units,
        }
    }
}

/// The rows `part` of `Z ← W·X + b 1ᵀ` from the panels `padded`, into `out`, with
/// `epilogue` (if any) on each finished block of columns. Inlined: called as a function of
/// its own, its vectorised loop ran without AVX-512, each multiply-add a call (W4's
/// prediction 2.0k samples/s instead of 148k).
#[inline(always)]
fn rows_into<T: Affine, S: Isa, const R: usize, const NB: usize>(
    s: S,
    padded: &[T],
    layer: &Layer<'_, T>,
    part: Rows,
    out: &mut [T],
    epilogue: Option<Epilogue<'_, T>>,
) {
    let (k, height) = (layer.k, part.height);
    let n = out.len() / height;
    s.vectorize(
        #[inline(always)]
        move || {
            let padded = T::vectors::<S>(padded).0;
            // A block of columns at a time, each panel of W over all its tiles: a panel is
            // read from memory once per block, then from the L2 cache.
            for (block, out) in out.chunks_mut(BLOCK_TILES * NB * height).enumerate() {
                // A last run of at most SHORT_TILE columns goes to a tile of that many
                // rather than one of NB that computes copies of its last column.
                let columns = out.len() / height;
                let last = columns % NB;
                let short = NB > SHORT_TILE && (1..=SHORT_TILE).contains(&last);
                let tiled = if short { columns - last } else { columns };
                for q in part.panels.clone() {
                    let panel = &padded[q * k * R..][..k * R];
                    let bias = std::array::from_fn(|i| layer.part(s, layer.b, q, i));
                    let (out, rest) = out.split_at_mut(tiled * height);
                    let rows = (q * layer.rows - part.first, height);
                    if short {
                        let j0 = block * BLOCK_TILES * NB + tiled;
                        short_tile::<T, S, R>(s, panel, layer, (j0, n), bias, rows, rest);
                    }
                    for (tile, out) in out.chunks_mut(NB * height).enumerate() {
                        let j0 = (block * BLOCK_TILES + tile) * NB;
                        let columns = layer.columns::<NB>(j0, n);
                        let acc = sums::<T, S, R, NB>(s, panel.as_chunks::<R>().0, &columns, bias);
                        // By value: a tile read by reference in this loop nest kept every
                        // sum in memory, a store per multiply-add (35–50 GFLOP/s).
                        store::<T, S, R, NB>(s, acc, rows, out);
                    }
                }
                if let Some(epilogue) = epilogue {
                    epilogue(out);
                }
            }
        },
    )
}

/// The tile of at most [`SHORT_TILE`] columns `j0..` (of `n`) for one panel: the sums of
/// [`sums`], stored into `out` at `rows`. A function of its own, with its own instruction
/// set context and not inlined: chosen inside the loop nest of [`rows_into`], a second
/// tile made the compiler's code for all of it fall apart (W4's 16 columns 210 → 530–730
/// µs; one core of a Zen 4 EPYC).
#[inline(never)]
fn short_tile<T: Affine, S: Isa, const R: usize>(
    s: S,
    panel: &[T::V<S>],
    layer: &Layer<'_, T>,
    (j0, n): (usize, usize),
    bias: [T::V<S>; R],
    rows: (usize, usize),
    out: &mut [T],
) {
    s.vectorize(
        #[inline(always)]
        move || {
            let out = out;
            let columns = layer.columns::<SHORT_TILE>(j0, n);
            let acc = sums::<T, S, R, SHORT_TILE>(s, panel.as_chunks::<R>().0, &columns, bias);
            store::<T, S, R, SHORT_TILE>(s, acc, rows, out);
        },
    )
}

/// Writes a tile's sums into the rows `r0..` of each column of `out` (columns of `units`
/// rows; as many as `out` has, at most `NB`).
#[inline(always)]
fn store<T: Affine, S: Isa, const R: usize, const NB: usize>(
    s: S,
    acc: [[T::V<S>; R]; NB],
    (r0, units): (usize, usize),
    out: &mut [T],
) {
    let lanes = T::lanes::<S>();
    let height = (R * lanes).min(units - r0);
    for (j, column) in out.chunks_exact_mut(units).enumerate().take(NB) {
        let column = &mut column[r0..r0 + height];
        for (v, part) in column.chunks_mut(lanes).enumerate().take(R) {
            let sum = acc[j][v];
            if part.len() == lanes {
                T::vectors_mut::<S>(part).0[0] = sum;
            } else {
                T::store(s, part, sum);
            }
        }
    }
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
