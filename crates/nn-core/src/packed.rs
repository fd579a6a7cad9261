//! The packed matrix product on AVX-512 or AVX2 for a row-major right operand: a weight gradient
//! `dW = dZ·A_prevᵀ` with a long batch.
//!
//! faer's packed kernel multiplies a row-major `B` 11–17% slower than a column-major one of
//! the same shape (it broadcasts `B` from its original layout, four columns at a time, and a
//! row-major `B` puts those columns a whole row apart). Here both operands are packed, in
//! the layout of the register tile (Goto and van de Geijn's scheme, as in BLIS): blocks of
//! `KC` inner steps; `B` into panels of `NR = 12` columns (6 on AVX2's 16 registers) holding the values of each
//! step side by side, `A` into panels of 32 rows (16 in `f64`: two vectors) holding each
//! step's column of the panel. A tile of `C`, 2 vectors × 12 columns, stays in 24
//! registers while a panel of `A` and one of `B` stream through it: per step two loads of
//! `A`, twelve broadcasts of `B`, 24 fused multiply-adds. A row-major `B` packs as
//! contiguous runs of 12, so the packing is a copy.
//!
//! Measured on one core of the Intel Xeon (family 6, model 167), GFLOP/s, faer → this:
//! W4's weight gradients 512×256×784 125 → 147–150 in `f32` and 56–58 → 60–66 in `f64`,
//! 512×256×512 126–128 → 141–146 and 46–55 → 61–66. With a short inner dimension faer is
//! faster (W3's 128×64×784: 155 against 130: each tile of `C` is read and written once per
//! 64 steps), as it is on column-major `B` at batch 1024, so only the products
//! [`packs`](crate::gemm::packs) selects come here. The tile alone, its panels in the L1
//! cache, runs 160–170 GFLOP/s in `f32`: about 80% of the FMA loop's 202–212, the rest going
//! to the loads beside the multiply-adds.
//!
//! Each element of `C` is the sum of its `k` products in a fixed order (the blocks of
//! `KC`, in turn, each in step order), which depends on `k` alone: the bits do not depend on
//! how the columns of `C` are shared between threads.

use std::cell::RefCell;

use crate::isa::{Isa, Vectors};

/// Vectors of rows in a register tile.
const MR_VECTORS: usize = 2;

/// An element type with the block sizes of its packed product and its packing buffers.
pub(crate) trait Packed: Vectors {
    /// Most inner steps packed at once: a panel of `B` (`KC × 12`) stays in the L1 cache.
    const KC: usize;
    /// Most rows of `A` packed at once: the block (`MC × KC`) stays in the L2 cache.
    const MC: usize;
    /// `1`.
    const ONE: Self;
    /// Runs `f` on this thread's packing buffers for `A` and `B`, grown on first use.
    fn with_buffers<R>(f: impl FnOnce(&mut Vec<Self>, &mut Vec<Self>) -> R) -> R;
}

macro_rules! impl_packed {
    ($t:ty, $kc:expr, $mc:expr) => {
        impl Packed for $t {
            const KC: usize = $kc;
            const MC: usize = $mc;
            const ONE: Self = 1.0;
            fn with_buffers<R>(f: impl FnOnce(&mut Vec<Self>, &mut Vec<Self>) -> R) -> R {
                thread_local! {
                    static BUFFERS: RefCell<(Vec<$t>, Vec<$t>)> =
                        const { RefCell::new((Vec::new(), Vec::new())) };
                }
                BUFFERS.with_borrow_mut(|(a, b)| f(a, b))
            }
        }
    };
}
// f32: KC 384 ran 5–8% faster than 256 on W4's gradients, 128 13% slower; f64: 256 ran
// 4–8% faster than 512.
impl_packed!(f32, 384, 192);
impl_packed!(f64, 256, 96);

/// A 64-byte-aligned window of `len` elements of `buf`, which grows if it must: vector
/// loads of the panels then never straddle two cache lines.
pub(crate) fn aligned<T: Copy + Default>(buf: &mut Vec<T>, len: usize) -> &mut [T] {
    let pad = 64 / size_of::<T>();
    if buf.len() < len + pad {
        buf.resize(len + pad, T::default());
    }
    let start = buf.as_ptr().align_offset(64).min(pad);
    &mut buf[start..start + len]
}

/// Grows this thread's packing buffer for `B` to what a `k × n` product of [`gemm`] packs,
/// without packing anything: a caller that computes one half of a product on two threads
/// calls it for the whole, so that running the whole product here later (on one thread:
/// the trainer times steps both ways) allocates nothing.
pub(crate) fn reserve<T: Packed>(k: usize, n: usize) {
    // Panels of 12 columns cover at least what panels of 6 do.
    let len = n.next_multiple_of(12) * block_len(k, T::KC, 1);
    T::with_buffers(|_, b_buf| {
        aligned(b_buf, len);
    });
}

/// The length of the blocks that cover `len` in as few blocks of at most `max` (rounded
/// down to a multiple of `unit`) as possible, equal and rounded up to a multiple of `unit`:
/// 784 steps are 3 blocks of 262, not 384 + 384 + 16.
fn block_len(len: usize, max: usize, unit: usize) -> usize {
    let max = (max / unit).max(1) * unit;
    len.div_ceil(len.div_ceil(max)).next_multiple_of(unit)
}

/// `C ← α·A·B + β·C` for `A: m×k` column-major with column stride `lda`, `B: k×n` row-major
/// with row stride `ldb`, `C: m×n` column-major with column stride `ldc`, all dimensions ≥ 1.
/// With `β = 0`, `C` is not read (NaN in it is ignored).
///
/// Panics (a bug in nn-core, not a user error) if a slice is too short for its dimensions
/// and strides: `gemm_into` validated the shapes.
pub(crate) fn gemm<T: Packed, S: Isa>(
    s: S,
    dims: (usize, usize, usize),
    alpha: T,
    a: (&[T], usize),
    b: (&[T], usize),
    beta: T,
    c: (&mut [T], usize),
) {
    // The tile's 2·NR sums, two vectors of A and a broadcast of B fill the registers:
    // 12 columns on AVX-512, 6 on AVX2.
    match S::REGISTERS {
        32 => panels::<T, S, 12>(s, dims, alpha, a, b, beta, c),
        _ => panels::<T, S, 6>(s, dims, alpha, a, b, beta, c),
    }
}

/// [`gemm`] with register tiles of `NR` columns.
fn panels<T: Packed, S: Isa, const NR: usize>(
    s: S,
    (m, k, n): (usize, usize, usize),
    alpha: T,
    (a, lda): (&[T], usize),
    (b, ldb): (&[T], usize),
    beta: T,
    (c, ldc): (&mut [T], usize),
) {
    let mr = MR_VECTORS * T::lanes::<S>();
    let kc_len = block_len(k, T::KC, 1);
    let mc_len = block_len(m, T::MC, mr);
    let nc = n.next_multiple_of(NR);
    T::with_buffers(|a_buf, b_buf| {
        let a_packed = aligned(a_buf, mc_len * kc_len);
        let b_packed = aligned(b_buf, nc * kc_len);
        s.vectorize(
            #[inline(always)]
            move || {
                // Taken by value: a `FnOnce`, called directly rather than through a shim
                // compiled without the instruction set.
                let (a_packed, b_packed, c) = (a_packed, b_packed, c);
                for pc in (0..k).step_by(kc_len) {
                    let kc = kc_len.min(k - pc);
                    let b_panels = &mut b_packed[..nc * kc];
                    pack_b::<T, NR>((b, ldb), (pc, kc), n, b_panels);
                    // The first block applies β; the later ones add to it.
                    let beta = if pc == 0 { beta } else { T::ONE };
                    for ic in (0..m).step_by(mc_len) {
                        let mc = mc_len.min(m - ic);
                        let a_panels = &mut a_packed[..mc.next_multiple_of(mr) * kc];
                        pack_a((a, lda), (ic, mc), (pc, kc), mr, a_panels);
                        for (jr, b_panel) in b_panels.chunks_exact(kc * NR).enumerate() {
                            let j0 = jr * NR;
                            for (ir, a_panel) in a_panels.chunks_exact(kc * mr).enumerate() {
                                let i0 = ic + ir * mr;
                                let tile = tile::<T, S, NR>(s, T::vectors::<S>(a_panel).0, b_panel);
                                let rows = (i0, mr.min(m - i0));
                                let cols = (j0, NR.min(n - j0));
                                store::<T, S, NR>(
                                    s,
                                    &tile,
                                    (alpha, beta),
                                    rows,
                                    cols,
                                    (&mut *c, ldc),
                                );
                            }
                        }
                    }
                }
            },
        )
    })
}

/// `Σ_p a_p·b_pᵀ` over one panel of `A` (`MR_VECTORS` vectors per step) and one of `B`
/// (`NR` values per step): the register tile.
#[inline(always)]
fn tile<T: Packed, S: Isa, const NR: usize>(
    s: S,
    a: &[T::V<S>],
    b: &[T],
) -> [[T::V<S>; MR_VECTORS]; NR] {
    let zero = T::splat(s, T::default());
    let mut acc = [[zero; MR_VECTORS]; NR];
    let (a, _) = a.as_chunks::<MR_VECTORS>();
    let (b, _) = b.as_chunks::<NR>();
    for (a, b) in a.iter().zip(b) {
        for j in 0..NR {
            let b = T::splat(s, b[j]);
            for v in 0..MR_VECTORS {
                acc[j][v] = T::fma(s, a[v], b, acc[j][v]);
            }
        }
    }
    acc
}

/// `C[rows, cols] ← α·tile + β·C[rows, cols]` (with `β = 0`, `C` unread) for the tile's
/// first `rows.1` rows and `cols.1` columns, at row `rows.0` and column `cols.0` of `C`.
#[inline(always)]
fn store<T: Packed, S: Isa, const NR: usize>(
    s: S,
    tile: &[[T::V<S>; MR_VECTORS]; NR],
    (alpha, beta): (T, T),
    (i0, rows): (usize, usize),
    (j0, cols): (usize, usize),
    (c, ldc): (&mut [T], usize),
) {
    let (alpha_v, beta_v) = (T::splat(s, alpha), T::splat(s, beta));
    let out = |sum, old: Option<T::V<S>>| match old {
        None => T::mul(s, sum, alpha_v),
        Some(old) => T::fma(s, sum, alpha_v, T::mul(s, old, beta_v)),
    };
    let read = beta != T::default();
    for (j, sums) in tile.iter().enumerate().take(cols) {
        let column = &mut c[(j0 + j) * ldc + i0..][..rows];
        if rows == MR_VECTORS * T::lanes::<S>() {
            for (c, &sum) in T::vectors_mut::<S>(column).0.iter_mut().zip(sums) {
                *c = out(sum, read.then_some(*c));
            }
        } else {
            // The last panel of rows: masked loads and stores.
            for (part, &sum) in column.chunks_mut(T::lanes::<S>()).zip(sums) {
                let old = read.then(|| T::load(s, part));
                T::store(s, part, out(sum, old));
            }
        }
    }
}

/// Packs `A[ic..ic+mc, pc..pc+kc]` (column-major, column stride `lda`) into panels of `mr` rows,
/// the `mr` values of each step together; rows past `mc` are zeros.
#[inline(always)]
fn pack_a<T: Packed>(
    (a, lda): (&[T], usize),
    (ic, mc): (usize, usize),
    (pc, kc): (usize, usize),
    mr: usize,
    panels: &mut [T],
) {
    for (ir, panel) in panels.chunks_exact_mut(kc * mr).enumerate() {
        let i0 = ic + ir * mr;
        let rows = mr.min(ic + mc - i0);
        for (p, step) in panel.chunks_exact_mut(mr).enumerate() {
            copy_padded(&a[(pc + p) * lda + i0..], rows, step);
        }
    }
}

/// Packs `B[pc..pc+kc, ..n]` (row-major, row stride `ldb`) into panels of `NR` columns, the
/// `NR` values of each step together; columns past `n` are zeros.
#[inline(always)]
fn pack_b<T: Packed, const NR: usize>(
    (b, ldb): (&[T], usize),
    (pc, kc): (usize, usize),
    n: usize,
    panels: &mut [T],
) {
    for (jr, panel) in panels.chunks_exact_mut(kc * NR).enumerate() {
        let j0 = jr * NR;
        let cols = NR.min(n - j0);
        for (p, step) in panel.chunks_exact_mut(NR).enumerate() {
            copy_padded(&b[(pc + p) * ldb + j0..], cols, step);
        }
    }
}

/// The first `len` values of `run` into `step`, the rest of `step` zeros. A whole step is
/// copied with the length of `step`, which the compiler knows: moves of whole vectors,
/// not a call of `memcpy` (W4's 512×256×784 gradient: 1072 → 1062 µs).
#[inline(always)]
fn copy_padded<T: Copy + Default>(run: &[T], len: usize, step: &mut [T]) {
    if len == step.len() {
        step.copy_from_slice(&run[..step.len()]);
    } else {
        step[..len].copy_from_slice(&run[..len]);
        step[len..].fill(T::default());
    }
}
