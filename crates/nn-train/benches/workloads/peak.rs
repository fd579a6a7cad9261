//! The CPU's measured FMA peak: a loop of independent fused multiply-adds at the widest
//! vector width the CPU has (AVX-512, else AVX2 + FMA, else scalar `mul_add`), on 1 and
//! on all threads, in f32 and f64. A workload's executed GFLOP/s are compared with it.
//!
//! Independent accumulators per thread, each updated by one FMA per round: enough chains
//! to fill two FMA units of 4-cycle latency (8 in flight), so the loop runs at the units'
//! throughput, not their latency, and few enough that they and the two constants stay in
//! the vector registers: 16 of AVX-512's 32, 12 of AVX2's 16. (With 16 on AVX2 one
//! accumulator went through memory, and the loop measured 50 GFLOP/s on a Zen 3 core
//! where faer's kernel ran a product at 61.)

use std::hint::black_box;
use std::time::Instant;

/// Accumulators per thread on AVX-512 and in the scalar loop.
const CHAINS: usize = 16;
/// Accumulators per thread on AVX2.
const AVX2_CHAINS: usize = 12;
/// Rounds per timed run: 16 chains × 16 lanes × 2 FLOP × 2²⁴ ≈ 8.6 GFLOP in f32 (AVX-512).
const ROUNDS: u64 = 1 << 24;

/// The widest instruction set the loop uses here.
pub fn isa() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            return "avx512f";
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return "avx2+fma";
        }
    }
    "scalar"
}

/// GFLOP/s of `threads` threads running the loop at once, best of three runs.
pub fn gflops(f64_: bool, threads: usize) -> f64 {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            let flop: f64 = std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|_| s.spawn(move || run(f64_, black_box(ROUNDS))))
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
            });
            flop / start.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max)
}

/// One thread's loop; returns the FLOP it executed.
fn run(f64_: bool, rounds: u64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked on the line above), which is all the
            // target-feature functions need.
            #[allow(unsafe_code)]
            let lanes = unsafe {
                if f64_ {
                    x86::fma_f64x8(rounds)
                } else {
                    x86::fma_f32x16(rounds)
                }
            };
            return flop(rounds, CHAINS, lanes);
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked on the line above).
            #[allow(unsafe_code)]
            let lanes = unsafe {
                if f64_ {
                    x86::fma_f64x4(rounds)
                } else {
                    x86::fma_f32x8(rounds)
                }
            };
            return flop(rounds, AVX2_CHAINS, lanes);
        }
    }
    flop(rounds, CHAINS, scalar(rounds))
}

/// FLOP of `rounds` rounds of the loop of `chains` accumulators on vectors of `lanes`
/// lanes (an FMA is 2 FLOP).
fn flop(rounds: u64, chains: usize, lanes: usize) -> f64 {
    (rounds as f64) * (chains * lanes * 2) as f64
}

/// The loop in scalar `f64::mul_add` (one lane).
fn scalar(rounds: u64) -> usize {
    let mut acc = [0.0f64; CHAINS];
    for _ in 0..rounds {
        for a in &mut acc {
            *a = a.mul_add(0.999_999, 1e-7);
        }
    }
    black_box(acc);
    1
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::hint::black_box;

    use super::{AVX2_CHAINS, CHAINS};

    /// Defines one loop of `$chains` accumulators: `$set1` splats, `$fma` multiplies and
    /// adds; returns the lanes.
    macro_rules! fma_loop {
        ($name:ident, $feature:literal, $ty:ty, $chains:expr, $set1:ident, $fma:ident, $lanes:expr) => {
            #[target_feature(enable = $feature)]
            pub fn $name(rounds: u64) -> usize {
                let mut acc: [$ty; $chains] = [$set1(0.0); $chains];
                let (a, b) = ($set1(0.999_999), $set1(1e-7));
                for _ in 0..rounds {
                    for x in &mut acc {
                        *x = $fma(*x, a, b);
                    }
                }
                black_box(acc);
                $lanes
            }
        };
    }

    fma_loop!(
        fma_f32x16,
        "avx512f",
        __m512,
        CHAINS,
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        16
    );
    fma_loop!(
        fma_f64x8,
        "avx512f",
        __m512d,
        CHAINS,
        _mm512_set1_pd,
        _mm512_fmadd_pd,
        8
    );
    fma_loop!(
        fma_f32x8,
        "avx2,fma",
        __m256,
        AVX2_CHAINS,
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        8
    );
    fma_loop!(
        fma_f64x4,
        "avx2,fma",
        __m256d,
        AVX2_CHAINS,
        _mm256_set1_pd,
        _mm256_fmadd_pd,
        4
    );
}
