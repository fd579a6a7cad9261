//! The x86-64 instruction sets nn-core's own kernels are compiled for, and the element
//! types' vectors on each: AVX-512 (x86-64-v4: 32 registers of 16 `f32` or 8 `f64`) and
//! AVX2 with FMA (x86-64-v3: 16 registers of 8 `f32` or 4 `f64`).
//!
//! A kernel is written once, generic over [`Isa`] and [`Vectors`], with its register tile
//! as const parameters; its entry point picks the tile for the instruction set's register
//! count, and nn-core's dispatch (`src/scalar.rs`) runs it on the widest set the CPU has.
//! The order of every sum is fixed by the shape and the instruction set: the bits do not
//! depend on the thread count on a given CPU.

use pulp::Simd;
use pulp::x86::{V3, V4};

/// An instruction set with its number of vector registers, which bounds a register tile.
pub(crate) trait Isa: Simd {
    /// Vector registers: 32 on AVX-512, 16 on AVX2.
    const REGISTERS: usize;
}

impl Isa for V4 {
    const REGISTERS: usize = 32;
}

impl Isa for V3 {
    const REGISTERS: usize = 16;
}

/// An element type with its vectors on every [`Simd`] and the operations the kernels use.
pub(crate) trait Vectors: Copy + PartialOrd + Default {
    /// The vector of `S` (`S::f32s` or `S::f64s`).
    type V<S: Simd>: Copy;
    /// Elements per vector of `S`.
    fn lanes<S: Simd>() -> usize;
    /// `x` in every lane.
    fn splat<S: Simd>(s: S, x: Self) -> Self::V<S>;
    /// `a·b + c` with one rounding.
    fn fma<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>, c: Self::V<S>) -> Self::V<S>;
    /// `a·b`, lane by lane.
    fn mul<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    /// `a + b`, lane by lane.
    fn add<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    /// `a > b ? a : b`, lane by lane (x86's `max`: `b` where either is NaN).
    fn max<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    /// The whole vectors at the start of `x`, and what is left.
    fn vectors<S: Simd>(x: &[Self]) -> (&[Self::V<S>], &[Self]);
    /// The whole vectors at the start of `x`, writable, and what is left.
    fn vectors_mut<S: Simd>(x: &mut [Self]) -> (&mut [Self::V<S>], &mut [Self]);
    /// The first `min(x.len(), lanes)` elements of `x`, zeros after (a masked load).
    fn load<S: Simd>(s: S, x: &[Self]) -> Self::V<S>;
    /// Writes the first `min(x.len(), lanes)` lanes of `v` into `x` (a masked store).
    fn store<S: Simd>(s: S, x: &mut [Self], v: Self::V<S>);
}

macro_rules! impl_vectors {
    ($t:ty, $v:ident, $lanes:ident, $splat:ident, $fma:ident, $mul:ident, $add:ident, $max:ident,
     $vectors:ident, $vectors_mut:ident, $load:ident, $store:ident) => {
        impl Vectors for $t {
            type V<S: Simd> = S::$v;
            #[inline(always)]
            fn lanes<S: Simd>() -> usize {
                S::$lanes
            }
            #[inline(always)]
            fn splat<S: Simd>(s: S, x: $t) -> S::$v {
                s.$splat(x)
            }
            #[inline(always)]
            fn fma<S: Simd>(s: S, a: S::$v, b: S::$v, c: S::$v) -> S::$v {
                s.$fma(a, b, c)
            }
            #[inline(always)]
            fn mul<S: Simd>(s: S, a: S::$v, b: S::$v) -> S::$v {
                s.$mul(a, b)
            }
            #[inline(always)]
            fn add<S: Simd>(s: S, a: S::$v, b: S::$v) -> S::$v {
                s.$add(a, b)
            }
            #[inline(always)]
            fn max<S: Simd>(s: S, a: S::$v, b: S::$v) -> S::$v {
                s.$max(a, b)
            }
            #[inline(always)]
            fn vectors<S: Simd>(x: &[$t]) -> (&[S::$v], &[$t]) {
                S::$vectors(x)
            }
            #[inline(always)]
            fn vectors_mut<S: Simd>(x: &mut [$t]) -> (&mut [S::$v], &mut [$t]) {
                S::$vectors_mut(x)
            }
            #[inline(always)]
            fn load<S: Simd>(s: S, x: &[$t]) -> S::$v {
                s.$load(x)
            }
            #[inline(always)]
            fn store<S: Simd>(s: S, x: &mut [$t], v: S::$v) {
                s.$store(x, v)
            }
        }
    };
}

impl_vectors!(
    f32,
    f32s,
    F32_LANES,
    splat_f32s,
    mul_add_f32s,
    mul_f32s,
    add_f32s,
    max_f32s,
    as_simd_f32s,
    as_mut_simd_f32s,
    partial_load_f32s,
    partial_store_f32s
);
impl_vectors!(
    f64,
    f64s,
    F64_LANES,
    splat_f64s,
    mul_add_f64s,
    mul_f64s,
    add_f64s,
    max_f64s,
    as_simd_f64s,
    as_mut_simd_f64s,
    partial_load_f64s,
    partial_store_f64s
);
