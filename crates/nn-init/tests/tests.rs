//! nn-init's tests: the generator pinned to the ChaCha20 test vector and resumable; every
//! initializer's sample mean and variance within five standard errors of its target;
//! bit-exact determinism with golden values; errors for bad arguments; the text form; and
//! the tutorial's claims about initialization measured on a deep stack (THEORY.md, T10),
//! with its backpropagated gradients checked by finite differences.

use nalgebra::DMatrix;
use nn_init::nn_activations::Activation;
use nn_init::nn_activations::nn_core::{
    GradCheck, Stencil, Trans, broadcast_column_into, gemm_into,
};
use nn_init::*;
use proptest::prelude::*;

/// How many standard errors a sample statistic may be from its target. For a normal
/// statistic the chance of a false failure is 5.7e-7 per check (and the draws are
/// deterministic, so a pass is a pass forever).
const Z: f64 = 5.0;

/// Every initializer, with parameters for the explicit ones.
fn all_inits() -> Vec<Init> {
    vec![
        Init::Zeros,
        Init::Constant(0.25),
        Init::Uniform {
            low: -0.3,
            high: 0.7,
        },
        Init::Normal {
            mean: 0.5,
            std: 2.0,
        },
        Init::XavierNormal,
        Init::GlorotNormal,
        Init::GlorotUniform,
        Init::HeNormal { slope: 0.0 },
        Init::HeNormal { slope: 0.2 },
        Init::HeUniform { slope: 0.0 },
        Init::HeUniform { slope: 0.2 },
        Init::LecunNormal,
        Init::Orthogonal { gain: 1.0 },
        Init::Orthogonal { gain: 2.0 },
    ]
}

/// Sample mean and (1/n) variance, two-pass, in f64.
fn mean_var(xs: impl Iterator<Item = f64> + Clone) -> (f64, f64, usize) {
    let n = xs.clone().count();
    let mean = xs.clone().sum::<f64>() / n as f64;
    let var = xs.map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
    (mean, var, n)
}

mod generator {
    use super::*;

    /// The ChaCha20 keystream for the all-zero key, nonce 0, block 0 (D. J. Bernstein's
    /// reference implementation; also draft-agl-tls-chacha20poly1305 §7 test vector 1:
    /// `76 b8 e0 ad a0 f1 3d 90 40 5d 6a e5 53 86 bd 28 …`, read as little-endian words).
    /// Seed 0 is the all-zero key, so this pins the bits every sampler starts from.
    #[test]
    fn seed_zero_is_the_published_chacha20_keystream() {
        let mut rng = SeededRng::new(0);
        let words: Vec<u32> = (0..8).map(|_| rng.next_u32()).collect();
        assert_eq!(
            words,
            [
                0xade0_b876,
                0x903d_f1a0,
                0xe56a_5d40,
                0x28bd_8653,
                0xb819_d2bd,
                0x1aed_8da0,
                0xccef_36a8,
                0xc70d_778b
            ]
        );
        // next_u64 is the next two words, low first; uniform01 its top 53 bits · 2⁻⁵³.
        let mut rng = SeededRng::new(0);
        let x = rng.next_u64();
        assert_eq!(x, 0x903d_f1a0_ade0_b876);
        let mut rng = SeededRng::new(0);
        assert_eq!(rng.uniform01(), (x >> 11) as f64 / 9_007_199_254_740_992.0);
    }

    #[test]
    fn streams_and_seeds_are_different_sequences() {
        let draw = |seed, stream| {
            let mut r = SeededRng::stream(seed, stream);
            (0..4).map(|_| r.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(5, 0), {
            let mut r = SeededRng::new(5);
            (0..4).map(|_| r.next_u64()).collect::<Vec<_>>()
        });
        assert_ne!(draw(5, 0), draw(5, 1));
        assert_ne!(draw(5, 1), draw(5, 2));
        assert_ne!(draw(5, 0), draw(6, 0));
        assert_eq!(draw(5, 1), draw(5, 1));
    }

    /// Independent streams: the sample correlation of two streams' uniforms is within five
    /// standard errors (1/√n) of 0.
    #[test]
    fn streams_are_uncorrelated() {
        let n = 100_000;
        let mut a = SeededRng::stream(3, 0);
        let mut b = SeededRng::stream(3, 1);
        let pairs: Vec<(f64, f64)> = (0..n).map(|_| (a.uniform01(), b.uniform01())).collect();
        let cov = pairs
            .iter()
            .map(|(x, y)| (x - 0.5) * (y - 0.5))
            .sum::<f64>()
            / n as f64;
        let corr = cov * 12.0; // Var(U[0,1)) = 1/12
        assert!(corr.abs() < Z / (n as f64).sqrt(), "correlation {corr}");
    }

    #[test]
    fn uniform01_and_standard_normal_have_their_moments() {
        let n = 200_000;
        let mut rng = SeededRng::new(17);
        let u: Vec<f64> = (0..n).map(|_| rng.uniform01()).collect();
        assert!(u.iter().all(|&x| (0.0..1.0).contains(&x)));
        let (m, v, _) = mean_var(u.iter().copied());
        // U[0,1): mean 1/2, Var 1/12, kurtosis 9/5 → SE(var) = (1/12)·√(0.8/n).
        let nf = n as f64;
        assert!(
            (m - 0.5).abs() < Z * (1.0 / 12.0f64).sqrt() / nf.sqrt(),
            "mean {m}"
        );
        assert!(
            (v - 1.0 / 12.0).abs() < Z * (1.0 / 12.0) * (0.8 / nf).sqrt(),
            "var {v}"
        );
        let z: Vec<f64> = (0..n).map(|_| rng.standard_normal()).collect();
        let (m, v, _) = mean_var(z.iter().copied());
        assert!(m.abs() < Z / nf.sqrt(), "mean {m}");
        assert!((v - 1.0).abs() < Z * (2.0 / nf).sqrt(), "var {v}");
        // The tails of a normal, not of a uniform: P(|z| > 2) = 0.0455 (closed form
        // erfc(√2)), within five binomial standard errors.
        let p = z.iter().filter(|x| x.abs() > 2.0).count() as f64 / nf;
        let p0 = 0.045_500_263_896_358_4;
        assert!(
            (p - p0).abs() < Z * (p0 * (1.0 - p0) / nf).sqrt(),
            "P(|z|>2) = {p}"
        );
    }

    /// `fill_standard_normal` uses both values of each polar pair: each half has the
    /// moments of N(0, 1), and the two values of a pair are uncorrelated (correlation
    /// within five standard errors, 1/√pairs, of 0).
    #[test]
    fn both_values_of_a_polar_pair_are_independent_normals() {
        let n = 200_000;
        let mut z = vec![0.0; n + 1]; // odd length: the last entry is a lone u·f
        SeededRng::new(23).fill_standard_normal(&mut z);
        let pairs = n / 2;
        let nf = pairs as f64;
        for half in [0, 1] {
            let (m, v, _) = mean_var(z.iter().skip(half).step_by(2).take(pairs).copied());
            assert!(m.abs() < Z / nf.sqrt(), "half {half}: mean {m}");
            assert!(
                (v - 1.0).abs() < Z * (2.0 / nf).sqrt(),
                "half {half}: var {v}"
            );
        }
        let corr = z.chunks_exact(2).map(|p| p[0] * p[1]).sum::<f64>() / nf;
        assert!(corr.abs() < Z / nf.sqrt(), "pair correlation {corr}");
        assert!(z[n].is_finite() && z[n] != 0.0);
    }

    /// Each of `below(n)`'s `n` outcomes occurs with frequency `1/n`, within five binomial
    /// standard errors. n = 3·2⁶¹ makes a biased (plain modulo) method fail: its low third
    /// of outcomes would be twice as likely as the rest.
    #[test]
    fn below_is_unbiased() {
        let draws = 120_000;
        for n in [2usize, 3, 7, 10] {
            let mut rng = SeededRng::stream(8, n as u64);
            let mut counts = vec![0usize; n];
            for _ in 0..draws {
                counts[rng.below(n)] += 1;
            }
            let p = 1.0 / n as f64;
            let se = (draws as f64 * p * (1.0 - p)).sqrt();
            for (k, &c) in counts.iter().enumerate() {
                let dev = (c as f64 - draws as f64 * p).abs();
                assert!(dev < Z * se, "below({n}) gave {k} {c} times");
            }
        }
        let big = 3usize << 61;
        let mut rng = SeededRng::new(1);
        let low = (0..30_000).filter(|_| rng.below(big) < big / 3).count() as f64;
        let se = (30_000.0 * (1.0 / 3.0) * (2.0 / 3.0f64)).sqrt();
        assert!(
            (low - 10_000.0).abs() < Z * se,
            "low third drawn {low} times"
        );
    }

    #[test]
    fn shuffle_is_a_deterministic_uniform_permutation() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        SeededRng::new(4).shuffle(&mut a);
        SeededRng::new(4).shuffle(&mut b);
        assert_eq!(a, b);
        assert_ne!(a, (0..50).collect::<Vec<_>>());
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        // Where element 0 lands: uniform over 5 places, within five binomial SEs.
        let trials = 50_000;
        let mut rng = SeededRng::new(5);
        let mut counts = [0usize; 5];
        for _ in 0..trials {
            let mut v = [0, 1, 2, 3, 4];
            rng.shuffle(&mut v);
            counts[v.iter().position(|&x| x == 0).unwrap_or(9)] += 1;
        }
        let se = (trials as f64 * 0.2 * 0.8).sqrt();
        for c in counts {
            assert!(
                (c as f64 - trials as f64 * 0.2).abs() < Z * se,
                "{counts:?}"
            );
        }
        // Empty and single-element slices are fine.
        SeededRng::new(0).shuffle::<u8>(&mut []);
        SeededRng::new(0).shuffle(&mut [1]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// A generator rebuilt from its state continues with the same bits, whatever was
        /// drawn before (odd word counts included).
        #[test]
        fn state_resumes_exactly(seed in any::<u64>(), stream in any::<u64>(),
                                 words in 0usize..100, normals in 0usize..20) {
            let mut rng = SeededRng::stream(seed, stream);
            for _ in 0..words { rng.next_u32(); }
            for _ in 0..normals { rng.standard_normal(); }
            let state = rng.state();
            prop_assert_eq!(state.seed, seed);
            prop_assert_eq!(state.stream, stream);
            let mut resumed = SeededRng::from_state(&state);
            for _ in 0..40 {
                prop_assert_eq!(resumed.next_u64(), rng.next_u64());
            }
            prop_assert_eq!(resumed.state(), rng.state());
        }
    }
}

mod statistics {
    use super::*;

    /// For 400×500 = 200,000 entries (160×200 for the orthogonal ones, whose QR is slow in
    /// debug builds and whose variance is exact anyway), the sample mean is within `Z·σ/√n` of the target
    /// mean, and the sample variance within `Z·σ²·√((κ − 1)/n)` of the target variance
    /// (the standard error of a variance; kurtosis κ = 3 for normals, 9/5 for uniforms).
    /// Relative to σ², the variance bound is 1.6% (normal) or 1.0% (uniform): a wrong
    /// formula (He without its 2, the tutorial's √(2/n) taken as the variance) is far
    /// outside it.
    #[test]
    fn sample_mean_and_variance_are_within_five_standard_errors_of_the_target() {
        for (k, init) in all_inits().into_iter().enumerate() {
            let (fan_out, fan_in) = match init {
                Init::Orthogonal { .. } => (160, 200),
                _ => (400, 500),
            };
            let mut rng = SeededRng::stream(2024, k as u64);
            let w = init.weights::<f64>(fan_out, fan_in, &mut rng).unwrap();
            let target_var = init.target_variance(fan_out, fan_in).unwrap();
            let target_mean = init.target_mean().unwrap();
            let (mean, var, n) = mean_var(w.iter().copied());
            let nf = n as f64;
            let kurtosis = match init {
                Init::Uniform { .. } | Init::GlorotUniform | Init::HeUniform { .. } => 1.8,
                _ => 3.0,
            };
            let mean_bound = Z * target_var.sqrt() / nf.sqrt();
            let var_bound = Z * target_var * ((kurtosis - 1.0) / nf).sqrt();
            println!(
                "{init:>22}: mean {mean:+.3e} (target {target_mean:+.3e}, bound {mean_bound:.1e}), \
                 var {var:.5e} (target {target_var:.5e}, bound {var_bound:.1e})"
            );
            if target_var == 0.0 {
                assert!(w.iter().all(|&x| x == target_mean), "{init}");
                continue;
            }
            assert!(
                (mean - target_mean).abs() <= mean_bound,
                "{init}: mean {mean}"
            );
            assert!((var - target_var).abs() <= var_bound, "{init}: var {var}");
        }
    }

    /// The formulas, evaluated by hand for a 300 × 100 layer (n_out = 300, n_in = 100).
    #[test]
    fn target_variances_are_the_documented_formulas() {
        let v = |i: Init| i.target_variance(300, 100).unwrap();
        assert_eq!(v(Init::XavierNormal), 1.0 / 100.0);
        assert_eq!(v(Init::LecunNormal), 1.0 / 100.0);
        assert_eq!(v(Init::GlorotNormal), 2.0 / 400.0);
        assert_eq!(v(Init::GlorotUniform), 2.0 / 400.0);
        assert_eq!(v(Init::HeNormal { slope: 0.0 }), 2.0 / 100.0);
        assert_eq!(v(Init::HeUniform { slope: 0.5 }), 2.0 / (1.25 * 100.0));
        assert_eq!(v(Init::Orthogonal { gain: 3.0 }), 9.0 / 300.0);
        assert_eq!(
            v(Init::Uniform {
                low: 1.0,
                high: 4.0
            }),
            9.0 / 12.0
        );
        assert_eq!(
            v(Init::Normal {
                mean: 1.0,
                std: 0.1
            }),
            0.1 * 0.1
        );
        assert_eq!(v(Init::Constant(3.0)), 0.0);
        assert_eq!(Init::XavierNormal.target_variance(0, 3), None);
        assert_eq!(
            Init::Normal {
                mean: 0.0,
                std: -1.0
            }
            .target_variance(3, 3),
            None
        );
    }

    /// Uniform-family bounds: |w| ≤ r = √(3·Var) exactly.
    #[test]
    fn uniform_initializers_stay_inside_their_range() {
        let mut rng = SeededRng::new(1);
        let w = Init::HeUniform { slope: 0.0 }
            .weights::<f64>(50, 60, &mut rng)
            .unwrap();
        assert!(w.amax() <= (6.0f64 / 60.0).sqrt());
        assert!(w.amax() > 0.95 * (6.0f64 / 60.0).sqrt());
        let w = Init::Uniform {
            low: 2.0,
            high: 2.5,
        }
        .weights::<f64>(50, 60, &mut rng)
        .unwrap();
        assert!(w.iter().all(|&x| (2.0..2.5).contains(&x)));
    }

    /// Orthogonal: WᵀW = g²I (tall) or WWᵀ = g²I (wide), to rounding.
    #[test]
    fn orthogonal_has_orthonormal_columns_or_rows() {
        let mut rng = SeededRng::new(6);
        for (r, c) in [(30, 20), (20, 30), (25, 25), (1, 7), (7, 1)] {
            let w = Init::Orthogonal { gain: 1.5 }
                .weights::<f64>(r, c, &mut rng)
                .unwrap();
            assert_eq!(w.shape(), (r, c));
            let gram = if r >= c {
                w.transpose() * &w
            } else {
                &w * w.transpose()
            };
            let k = r.min(c);
            let err = (gram - DMatrix::<f64>::identity(k, k) * 2.25).amax();
            assert!(err < 1e-12, "{r}×{c}: ‖gram − g²I‖max = {err}");
        }
    }

    /// The sign fix makes Q uniformly (Haar) distributed: without it, the diagonal of a
    /// square Q from Householder QR would be biased. Over many 2×2 draws, the mean of
    /// Q₁₁ is within five standard errors of 0 (its variance is 1/2).
    #[test]
    fn orthogonal_is_not_biased_by_the_qr() {
        let mut rng = SeededRng::new(12);
        let trials = 20_000;
        let q11: Vec<f64> = (0..trials)
            .map(|_| {
                Init::Orthogonal { gain: 1.0 }
                    .weights::<f64>(2, 2, &mut rng)
                    .unwrap()[(0, 0)]
            })
            .collect();
        let (m, v, _) = mean_var(q11.iter().copied());
        assert!(m.abs() < Z * (0.5 / trials as f64).sqrt(), "mean Q11 {m}");
        assert!((v - 0.5).abs() < 0.02, "var Q11 {v}");
    }
}

mod determinism {
    use super::*;

    #[test]
    fn same_seed_gives_bit_identical_matrices() {
        for init in all_inits() {
            let a = init
                .weights::<f64>(33, 17, &mut SeededRng::stream(99, 4))
                .unwrap();
            let b = init
                .weights::<f64>(33, 17, &mut SeededRng::stream(99, 4))
                .unwrap();
            let bits = |m: &DMatrix<f64>| m.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "{init}");
            if init.target_variance(33, 17) != Some(0.0) {
                let c = init
                    .weights::<f64>(33, 17, &mut SeededRng::stream(99, 5))
                    .unwrap();
                assert_ne!(a, c, "{init}: another stream gave the same matrix");
            }
        }
    }

    /// An f32 matrix is the f64 one from the same state, rounded to nearest.
    #[test]
    fn f32_is_the_f64_draw_rounded() {
        for init in all_inits() {
            let a = init.weights::<f64>(9, 11, &mut SeededRng::new(3)).unwrap();
            let b = init.weights::<f32>(9, 11, &mut SeededRng::new(3)).unwrap();
            assert_eq!(a.map(|x| x as f32), b, "{init}");
        }
    }

    /// Golden values: the first entries (column-major) of `he_normal(0)` for a 3×4 layer
    /// from `SeededRng::stream(42, 0)` (std √(2/4)), and of the raw samplers from
    /// `SeededRng::new(42)`. Reproduced bit for bit by an independent Python
    /// implementation of the documented recipe (CPython 3, `math.log`):
    ///
    /// ```text
    /// def block(key, ctr, stream):            # ChaCha20, 64-bit counter and stream id
    ///     st = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] + list(unpack('<8I', key)) \
    ///          + [ctr & M, ctr >> 32, stream & M, stream >> 32];  x = st[:]
    ///     for _ in range(10): (column rounds, then diagonal rounds, as in RFC 7539)
    ///     return [(x[i] + st[i]) & M for i in range(16)]
    /// key = pack('<Q', seed) + bytes(24);  words = block(key, 0, stream) + block(key, 1, stream) + …
    /// u64 = lo | hi << 32;  u01 = (u64 >> 11) * 2**-53
    /// pair: u, v = 2*u01 - 1, 2*u01 - 1; s = u*u + v*v; if 0 < s < 1:
    ///       f = sqrt(-2*log(s)/s); return u*f, v*f
    /// he_normal entries: sqrt(2/4) * (u*f, v*f, u'*f', v'*f', …)
    /// ```
    #[test]
    fn golden_first_values_for_seed_42() {
        let w = Init::HeNormal { slope: 0.0 }
            .weights::<f64>(3, 4, &mut SeededRng::stream(42, 0))
            .unwrap();
        let bits: Vec<u64> = w.iter().take(4).map(|x| x.to_bits()).collect();
        assert_eq!(
            bits,
            [
                0xbfde_2c96_891b_0aae, // -0.47147143735143515
                0x3ff2_e868_669e_21c6, //  1.181740189409639
                0x3fd4_dd8f_7c2e_9352, //  0.32602297904150135
                0xbfe2_232a_e9f9_cad7, // -0.5667929239119428
            ]
        );
        let mut rng = SeededRng::new(42);
        assert_eq!(rng.next_u64(), 0x6ae3_0a51_26e5_761f);
        assert_eq!(rng.uniform01(), 0.706_718_406_025_669_8);
        assert_eq!(rng.standard_normal(), 0.461_066_118_605_770_46);
    }

    #[test]
    fn bias_is_zero_for_fan_based_and_filled_for_explicit_initializers() {
        let mut rng = SeededRng::new(1);
        for init in all_inits() {
            let before = rng.state();
            let b = init.bias::<f64>(1000, &mut rng).unwrap();
            assert_eq!(b.shape(), (1000, 1));
            match init {
                Init::Constant(c) => assert!(b.iter().all(|&x| x == c)),
                Init::Uniform { low, high } => {
                    assert!(b.iter().all(|&x| (low..high).contains(&x)));
                    assert!(b.iter().any(|&x| x != b[0]));
                }
                Init::Normal { mean, std } => {
                    let (m, _, _) = mean_var(b.iter().copied());
                    assert!((m - mean).abs() < Z * std / 1000f64.sqrt(), "{init}: {m}");
                }
                _ => {
                    assert!(b.iter().all(|&x| x == 0.0), "{init}");
                    assert_eq!(rng.state(), before, "{init} consumed randomness");
                }
            }
        }
    }
}

mod errors {
    use super::*;

    /// `rows · cols` that wraps (2 × (2⁶³ + 1)) or whose bytes overflow `isize` is refused
    /// for every initializer before anything is allocated (it once wrapped to a 2-entry
    /// buffer behind a 2 × (2⁶³ + 1) matrix).
    #[test]
    fn sizes_that_overflow_are_refused_before_allocating() {
        for init in all_inits() {
            let mut rng = SeededRng::new(0);
            for (rows, cols) in [(2, (1 << 63) + 1), (1 << 40, 1 << 40), (1, usize::MAX)] {
                match init.weights::<f64>(rows, cols, &mut rng) {
                    Err(InitError::TooLarge { shape, .. }) => assert_eq!(shape, (rows, cols)),
                    other => unreachable!("{init} {rows}×{cols}: {other:?}"),
                }
            }
            // 2⁶¹ f32 entries are 2⁶³ bytes: over isize::MAX, though the count fits.
            assert!(matches!(
                init.weights::<f32>(1 << 31, 1 << 30, &mut rng),
                Err(InitError::TooLarge { .. })
            ));
            assert!(matches!(
                init.bias::<f64>(usize::MAX / 4, &mut rng),
                Err(InitError::TooLarge { .. })
            ));
        }
    }

    #[test]
    fn bad_arguments_are_errors_naming_the_argument() {
        let mut rng = SeededRng::new(0);
        let bad = |init: Init, what: &str| {
            let mut rng = SeededRng::new(0);
            match init.weights::<f64>(3, 3, &mut rng) {
                Err(InitError::InvalidArgument { what: w, .. }) => assert_eq!(w, what, "{init}"),
                other => unreachable!("{init}: expected InvalidArgument({what}), got {other:?}"),
            }
            assert!(init.bias::<f32>(3, &mut rng).is_err());
            assert_eq!(init.target_variance(3, 3), None);
        };
        bad(
            Init::Normal {
                mean: 0.0,
                std: -0.1,
            },
            "std",
        );
        bad(
            Init::Normal {
                mean: 0.0,
                std: f64::NAN,
            },
            "std",
        );
        bad(
            Init::Normal {
                mean: 0.0,
                std: f64::INFINITY,
            },
            "std",
        );
        bad(
            Init::Normal {
                mean: f64::NAN,
                std: 1.0,
            },
            "mean",
        );
        bad(
            Init::Uniform {
                low: 1.0,
                high: 1.0,
            },
            "high",
        );
        bad(
            Init::Uniform {
                low: 2.0,
                high: 1.0,
            },
            "high",
        );
        bad(
            Init::Uniform {
                low: f64::NEG_INFINITY,
                high: 1.0,
            },
            "low",
        );
        bad(Init::Constant(f64::NAN), "c");
        bad(Init::HeNormal { slope: f64::NAN }, "slope");
        bad(
            Init::HeUniform {
                slope: f64::INFINITY,
            },
            "slope",
        );
        bad(Init::Orthogonal { gain: f64::NAN }, "gain");

        let err = Init::Uniform {
            low: 2.0,
            high: 1.0,
        }
        .weights::<f64>(3, 3, &mut rng)
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "uniform: high must be greater than low = 2, found 1"
        );
        // std = 0 is a valid (degenerate) normal.
        assert!(
            Init::Normal {
                mean: 1.0,
                std: 0.0
            }
            .weights::<f64>(2, 2, &mut rng)
            .is_ok()
        );
    }

    #[test]
    fn zero_sizes_are_errors_for_every_initializer() {
        let mut rng = SeededRng::new(0);
        for init in all_inits() {
            let e = init.weights::<f64>(0, 5, &mut rng).unwrap_err();
            assert!(
                matches!(
                    e,
                    InitError::ZeroSize {
                        what: "fan_out",
                        shape: (0, 5),
                        ..
                    }
                ),
                "{e}"
            );
            let e = init.weights::<f64>(5, 0, &mut rng).unwrap_err();
            assert!(
                matches!(e, InitError::ZeroSize { what: "fan_in", .. }),
                "{e}"
            );
            let e = init.bias::<f64>(0, &mut rng).unwrap_err();
            assert!(
                matches!(
                    e,
                    InitError::ZeroSize {
                        what: "bias length",
                        ..
                    }
                ),
                "{e}"
            );
        }
        let e = Init::XavierNormal
            .weights::<f64>(4, 0, &mut rng)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "xavier_normal: fan_in must be at least 1, found 0 (requested shape 4×0)"
        );
    }

    #[test]
    fn text_that_is_not_an_initializer_is_an_error() {
        for (text, reason) in [
            ("kaiming", "unknown initializer"),
            ("normal(0)", "does not take 1 parameter"),
            ("zeros(1)", "does not take 1 parameter"),
            ("normal(0,x)", "\"x\" is not a number"),
            ("he_normal(0", "missing closing parenthesis"),
        ] {
            match text.parse::<Init>() {
                Err(InitError::Parse { reason: r, .. }) => {
                    assert!(r.contains(reason), "{text}: {r}")
                }
                other => unreachable!("{text}: expected a parse error, got {other:?}"),
            }
        }
        assert!(matches!(
            "normal(0,-1)".parse::<Init>(),
            Err(InitError::InvalidArgument { what: "std", .. })
        ));
        assert!(matches!(
            "uniform(1,0)".parse::<Init>(),
            Err(InitError::InvalidArgument { what: "high", .. })
        ));
    }
}

mod text {
    use super::*;

    #[test]
    fn text_forms_are_as_documented() {
        let cases = [
            (Init::Zeros, "zeros"),
            (Init::Constant(0.1), "constant(0.1)"),
            (
                Init::Uniform {
                    low: -1.0,
                    high: 1.0,
                },
                "uniform(-1,1)",
            ),
            (
                Init::Normal {
                    mean: 0.0,
                    std: 0.01,
                },
                "normal(0,0.01)",
            ),
            (Init::XavierNormal, "xavier_normal"),
            (Init::GlorotNormal, "glorot_normal"),
            (Init::GlorotUniform, "glorot_uniform"),
            (Init::HeNormal { slope: 0.0 }, "he_normal(0)"),
            (Init::HeUniform { slope: 0.01 }, "he_uniform(0.01)"),
            (Init::LecunNormal, "lecun_normal"),
            (Init::Orthogonal { gain: 1.0 }, "orthogonal(1)"),
        ];
        for (init, text) in cases {
            assert_eq!(init.to_string(), text);
            assert_eq!(text.parse::<Init>().unwrap(), init);
        }
        assert_eq!(
            " he_normal ".parse::<Init>().unwrap(),
            Init::HeNormal { slope: 0.0 }
        );
        assert_eq!(
            "normal( 0 , 0.5 )".parse::<Init>().unwrap(),
            Init::Normal {
                mean: 0.0,
                std: 0.5
            }
        );
        assert_eq!(
            "orthogonal".parse::<Init>().unwrap(),
            Init::Orthogonal { gain: 1.0 }
        );
        assert_eq!("lecun_normal()".parse::<Init>().unwrap(), Init::LecunNormal);
    }

    #[test]
    fn forms_come_from_the_table() {
        assert_eq!(
            Init::FORMS,
            &[
                "zeros",
                "constant(c)",
                "uniform(low,high)",
                "normal(mean,std)",
                "xavier_normal",
                "glorot_normal",
                "glorot_uniform",
                "he_normal(slope)",
                "he_uniform(slope)",
                "lecun_normal",
                "orthogonal(gain)",
            ]
        );
        for form in Init::FORMS {
            let name = form.split('(').next().unwrap();
            let err = "nonsense".parse::<Init>().unwrap_err().to_string();
            assert!(err.contains(form), "{err} lacks {form}");
            match name.parse::<Init>() {
                Ok(init) => assert_eq!(init.name(), name),
                Err(InitError::Parse { reason, .. }) => {
                    assert!(reason.contains("does not take 0"), "{name}: {reason}");
                }
                Err(other) => unreachable!("{name}: {other}"),
            }
        }
    }

    #[test]
    fn json_form_is_the_text_form() {
        let init = Init::Normal {
            mean: 0.0,
            std: 0.01,
        };
        assert_eq!(serde_json::to_string(&init).unwrap(), r#""normal(0,0.01)""#);
        assert_eq!(
            serde_json::from_str::<Init>(r#"" he_normal ""#).unwrap(),
            Init::HeNormal { slope: 0.0 }
        );
        for bad in [
            r#""kaiming""#,
            r#""normal(0,-1)""#,
            r#""zeros(1)""#,
            "0",
            "null",
        ] {
            assert!(serde_json::from_str::<Init>(bad).is_err(), "{bad}");
        }
        let err = serde_json::from_str::<Init>(r#""normal(0,-1)""#).unwrap_err();
        assert!(
            err.to_string().contains("std must be finite and ≥ 0"),
            "{err}"
        );
    }

    fn finite() -> impl Strategy<Value = f64> {
        prop_oneof![
            -1e3f64..1e3,
            any::<f64>().prop_filter("finite", |x| x.is_finite())
        ]
    }

    fn any_init() -> impl Strategy<Value = Init> {
        prop_oneof![
            Just(Init::Zeros),
            finite().prop_map(Init::Constant),
            (finite(), finite())
                .prop_filter("low < high", |(a, b)| a < b)
                .prop_map(|(low, high)| Init::Uniform { low, high }),
            (finite(), finite().prop_map(f64::abs))
                .prop_map(|(mean, std)| Init::Normal { mean, std }),
            Just(Init::XavierNormal),
            Just(Init::GlorotNormal),
            Just(Init::GlorotUniform),
            finite().prop_map(|slope| Init::HeNormal { slope }),
            finite().prop_map(|slope| Init::HeUniform { slope }),
            Just(Init::LecunNormal),
            finite().prop_map(|gain| Init::Orthogonal { gain }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Display then FromStr gives back the same value, to the bit.
        #[test]
        fn display_and_parse_round_trip_exactly(init in any_init()) {
            let text = init.to_string();
            let back: Init = text.parse().unwrap();
            prop_assert_eq!(back, init, "{}", text);
            prop_assert_eq!(format!("{back:?}"), format!("{init:?}"));
        }

        /// The JSON form reads back to the same value, to the bit.
        #[test]
        fn json_round_trips_exactly(init in any_init()) {
            let json = serde_json::to_string(&init).unwrap();
            let back: Init = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(format!("{back:?}"), format!("{init:?}"), "{}", json);
        }
    }
}

mod recommend {
    use super::*;

    #[test]
    fn recommendations_follow_the_table() {
        let xavier = [
            Activation::Identity,
            Activation::Step,
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Softmax,
        ];
        for a in xavier {
            assert_eq!(recommended_for(a), Init::XavierNormal, "{a}");
        }
        assert_eq!(
            recommended_for(Activation::Relu),
            Init::HeNormal { slope: 0.0 }
        );
        assert_eq!(
            recommended_for(Activation::LeakyRelu { slope: 0.01 }),
            Init::HeNormal { slope: 0.01 }
        );
        for a in [
            Activation::Elu { alpha: 1.0 },
            Activation::Gelu,
            Activation::GeluTanh,
            Activation::Silu,
            Activation::Softplus,
        ] {
            assert_eq!(recommended_for(a), Init::HeNormal { slope: 0.0 }, "{a}");
        }
        assert_eq!(recommended_for(Activation::Selu), Init::LecunNormal);
    }
}

/// THEORY.md T10: the variance of activations through a deep stack under different
/// initializations, and the gradients flowing back through it.
mod t10 {
    use super::*;

    const WIDTH: usize = 256;
    const DEPTH: usize = 10;
    const EXAMPLES: usize = 1000;
    const SEEDS: [u64; 3] = [1, 2, 3];
    /// The band the recommended init must keep `Var(A[L]) / Var(A[1])` and
    /// `‖dW[1]‖ / ‖dW[L]‖` in.
    const BAND: (f64, f64) = (0.05, 20.0);

    /// Helpers return errors; the tests unwrap them.
    type Res<T> = Result<T, Box<dyn std::error::Error>>;
    type Matrices = Vec<DMatrix<f64>>;

    /// A stack of `depth` dense layers `width → width`, all with activation `act`, weights
    /// from `init` (layer `l` on stream `l` of `seed`) and zero biases (the tutorial's
    /// choice, and the same for every init so that only the weights differ).
    struct Stack {
        act: Activation,
        w: Vec<DMatrix<f64>>,
        b: Vec<DMatrix<f64>>,
    }

    impl Stack {
        fn new(act: Activation, init: Init, seed: u64, width: usize, depth: usize) -> Res<Self> {
            let w = (0..depth)
                .map(|l| init.weights(width, width, &mut SeededRng::stream(seed, l as u64)))
                .collect::<Result<_, _>>()?;
            let b = (0..depth)
                .map(|_| Init::Zeros.bias(width, &mut SeededRng::new(0)))
                .collect::<Result<_, _>>()?;
            Ok(Stack { act, w, b })
        }

        /// `(Z[1..=L], A[0..=L])` for inputs `x`, with `W[0]` replaced by `w0` if given:
        /// `Z[l] = W[l] A[l−1] + b[l]` (bias fill, then GEMM with β = 1), `A[l] = g(Z[l])`.
        fn forward(
            &self,
            x: &DMatrix<f64>,
            w0: Option<&DMatrix<f64>>,
        ) -> Res<(Matrices, Matrices)> {
            let mut zs = Vec::new();
            let mut acts = vec![x.clone()];
            for (l, (w, b)) in self.w.iter().zip(&self.b).enumerate() {
                let w = if l == 0 { w0.unwrap_or(w) } else { w };
                let a_prev = &acts[l];
                let mut z = DMatrix::zeros(w.nrows(), a_prev.ncols());
                broadcast_column_into(b, &mut z)?;
                gemm_into(1.0, w, Trans::No, a_prev, Trans::No, 1.0, &mut z)?;
                acts.push(self.act.forward(&z));
                zs.push(z);
            }
            Ok((zs, acts))
        }

        /// The cost `J = (1/(2m)) Σ ‖a[L](i)‖²` (a quadratic read-out of the last layer).
        fn cost(&self, x: &DMatrix<f64>, w0: Option<&DMatrix<f64>>) -> Res<f64> {
            let (_, acts) = self.forward(x, w0)?;
            Ok(acts[acts.len() - 1].norm_squared() / (2.0 * x.ncols() as f64))
        }

        /// `dW[l]` for every layer, by backpropagation with nn-core's GEMM and the
        /// activation's backward: `dA[L] = A[L]` (per example), `dZ = dA ∘ g'(Z)`,
        /// `dW = (1/m) dZ A[l−1]ᵀ`, `dA[l−1] = Wᵀ dZ`. With `skip_first_derivative`, layer
        /// 1's `g'` is left out (a deliberately wrong gradient, to show the check bites).
        fn gradients(
            &self,
            x: &DMatrix<f64>,
            skip_first_derivative: bool,
        ) -> Res<Vec<DMatrix<f64>>> {
            let m = x.ncols() as f64;
            let (zs, acts) = self.forward(x, None)?;
            let mut da = acts[acts.len() - 1].clone();
            let mut dws = vec![DMatrix::zeros(0, 0); self.w.len()];
            for l in (0..self.w.len()).rev() {
                let dz = if l == 0 && skip_first_derivative {
                    da.clone()
                } else {
                    self.act.backward(&zs[l], &acts[l + 1], &da)?
                };
                let mut dw = DMatrix::zeros(self.w[l].nrows(), self.w[l].ncols());
                gemm_into(1.0 / m, &dz, Trans::No, &acts[l], Trans::Yes, 0.0, &mut dw)?;
                let mut da_prev = DMatrix::zeros(acts[l].nrows(), acts[l].ncols());
                gemm_into(
                    1.0,
                    &self.w[l],
                    Trans::Yes,
                    &dz,
                    Trans::No,
                    0.0,
                    &mut da_prev,
                )?;
                dws[l] = dw;
                da = da_prev;
            }
            Ok(dws)
        }
    }

    /// `width × m` standard-normal inputs, from their own stream.
    fn inputs(seed: u64, width: usize, m: usize) -> Res<DMatrix<f64>> {
        let unit = Init::Normal {
            mean: 0.0,
            std: 1.0,
        };
        Ok(unit.weights(width, m, &mut SeededRng::stream(seed, u64::MAX))?)
    }

    fn variance(a: &DMatrix<f64>) -> f64 {
        mean_var(a.iter().copied()).1
    }

    /// What one run of the width-256 stack measures.
    struct Run {
        /// `Var(A[l])` for l = 1..=L, over all units and examples.
        var: Vec<f64>,
        /// Mean of `|1 − a²|` over the last layer (≈ 0 when tanh is saturated).
        last_one_minus_a2: f64,
        /// `‖dW[1]‖_F / ‖dW[L]‖_F`.
        grad_ratio: f64,
    }

    /// One run on inputs `x` (1000 standard-normal columns from [`inputs`]).
    fn run(act: Activation, init: Init, seed: u64, x: &DMatrix<f64>) -> Res<Run> {
        let stack = Stack::new(act, init, seed, WIDTH, DEPTH)?;
        let (_, acts) = stack.forward(x, None)?;
        let var: Vec<f64> = acts[1..].iter().map(variance).collect();
        let last = &acts[DEPTH];
        let last_one_minus_a2 =
            last.iter().map(|a| (1.0 - a * a).abs()).sum::<f64>() / last.len() as f64;
        let dws = stack.gradients(x, false)?;
        let grad_ratio = dws[0].norm() / dws[DEPTH - 1].norm();
        let saturation = if act == Activation::Tanh {
            format!("; mean|1−a²| (last) = {last_one_minus_a2:.3}")
        } else {
            String::new()
        };
        println!(
            "T10 {act} + {init} (seed {seed}): Var(A[l]) l=1..{DEPTH} = [{}]; \
             last/first = {:.3e}{saturation}; ‖dW[1]‖/‖dW[{DEPTH}]‖ = {grad_ratio:.3e}",
            var.iter()
                .map(|v| format!("{v:.3e}"))
                .collect::<Vec<_>>()
                .join(", "),
            var[DEPTH - 1] / var[0],
        );
        Ok(Run {
            var,
            last_one_minus_a2,
            grad_ratio,
        })
    }

    fn in_band(x: f64) -> bool {
        (BAND.0..=BAND.1).contains(&x)
    }

    #[test]
    fn t10_recommended_init_keeps_activation_variance_and_gradients_within_band() {
        for seed in SEEDS {
            let x = inputs(seed, WIDTH, EXAMPLES).unwrap();
            for act in [Activation::Tanh, Activation::Relu] {
                let init = recommended_for(act);
                let r = run(act, init, seed, &x).unwrap();
                let ratio = r.var[DEPTH - 1] / r.var[0];
                assert!(
                    in_band(ratio),
                    "{act} + {init}, seed {seed}: Var(A[L])/Var(A[1]) = {ratio:.3e}"
                );
                assert!(
                    in_band(r.grad_ratio),
                    "{act} + {init}, seed {seed}: ‖dW[1]‖/‖dW[L]‖ = {:.3e}",
                    r.grad_ratio
                );
            }
        }
    }

    #[test]
    fn t10_tiny_normal_init_makes_activations_vanish() {
        let tiny = Init::Normal {
            mean: 0.0,
            std: 0.01,
        };
        for seed in SEEDS {
            let x = inputs(seed, WIDTH, EXAMPLES).unwrap();
            for act in [Activation::Tanh, Activation::Relu] {
                let r = run(act, tiny, seed, &x).unwrap();
                let last = r.var[DEPTH - 1];
                assert!(
                    last < 1e-10,
                    "{act} + {tiny}, seed {seed}: Var(A[L]) = {last:.3e}"
                );
            }
        }
    }

    #[test]
    fn t10_unit_normal_init_explodes_relu_and_saturates_tanh() {
        let unit = Init::Normal {
            mean: 0.0,
            std: 1.0,
        };
        for seed in SEEDS {
            let x = inputs(seed, WIDTH, EXAMPLES).unwrap();
            let r = run(Activation::Relu, unit, seed, &x).unwrap();
            let last = r.var[DEPTH - 1];
            assert!(
                last > 1e10,
                "relu + {unit}, seed {seed}: Var(A[L]) = {last:.3e}"
            );
            let r = run(Activation::Tanh, unit, seed, &x).unwrap();
            assert!(
                r.last_one_minus_a2 < 0.1,
                "tanh + {unit}, seed {seed}: mean |1 − a²| = {:.3}",
                r.last_one_minus_a2
            );
        }
    }

    /// Backpropagation through the deep stack agrees with finite differences under every
    /// initializer. Finite differences over a 256×256 first layer would take 131,072 cost
    /// evaluations, so this runs the same architecture narrower: width 16, depth 10,
    /// 8 examples, every entry of the 16×16 first layer checked.
    ///
    /// Stencils: with ReLU the cost is piecewise quadratic in W[1], where the three-point
    /// difference is exact; h = 1e-6 makes crossing a kink unlikely. With tanh, the
    /// five-point difference with h = 1e-5: in the saturated stacks (N(0.5, 2²) weights)
    /// the cost's third derivative reaches ~1e9, too much for the three-point formula's
    /// h²·f‴/6 error.
    ///
    /// The floor of the relative error (below which it becomes an absolute error) is the
    /// larger of 1e-3·max|dW[1]|, so that the tiny gradients of the N(0, 0.01²) stack are
    /// compared relative to their own scale rather than passed for being small, and 1e7·ε·J/h:
    /// the rounding error of a difference quotient is a few ε·J/h, and with the tolerance
    /// 1e-6 this floor allows 10 ε·J/h of it (the constant-init tanh stacks, whose identical
    /// units saturate together, have gradients ~1e-19, below that resolution).
    ///
    /// The same check must reject a deliberately wrong gradient (layer 1's g' left out)
    /// wherever that bug changes dW[1] by more than 1% of max(|dW[1]|, floor): in every
    /// stack but the zero and constant ones, whose units are all alike.
    #[test]
    fn t10_backpropagated_first_layer_gradient_matches_finite_differences() {
        let (width, depth, m) = (16, 10, 8);
        let mut inits = all_inits();
        inits.push(Init::Normal {
            mean: 0.0,
            std: 0.01,
        });
        inits.push(Init::Normal {
            mean: 0.0,
            std: 1.0,
        });
        let mut caught = 0;
        for act in [Activation::Tanh, Activation::Relu] {
            for (k, init) in inits.iter().copied().enumerate() {
                let seed = 100 + k as u64;
                let stack = Stack::new(act, init, seed, width, depth).unwrap();
                let x = inputs(seed, width, m).unwrap();
                let dw1 = &stack.gradients(&x, false).unwrap()[0];
                let (h, stencil) = match act {
                    Activation::Relu => (1e-6, Stencil::ThreePoint),
                    _ => (1e-5, Stencil::FivePoint),
                };
                let resolution = 1e7 * f64::EPSILON * stack.cost(&x, None).unwrap() / h;
                let check = GradCheck {
                    step: h,
                    stencil,
                    floor: (1e-3 * dw1.amax()).max(resolution).max(f64::MIN_POSITIVE),
                };
                let report = check
                    .check(|w0| stack.cost(&x, Some(w0)).unwrap(), &stack.w[0], dw1)
                    .unwrap();
                println!("gradcheck {act} + {init}: {report}");
                assert!(report.passes(1e-6), "{act} + {init}: {report}");

                let wrong = &stack.gradients(&x, true).unwrap()[0];
                if (wrong - dw1).amax() > 1e-2 * dw1.amax().max(resolution) {
                    let report = check
                        .check(|w0| stack.cost(&x, Some(w0)).unwrap(), &stack.w[0], wrong)
                        .unwrap();
                    assert!(
                        !report.passes(1e-3),
                        "{act} + {init}: the wrong gradient passed: {report}"
                    );
                    caught += 1;
                } else {
                    println!("  (skipping g' in layer 1 changes dW[1] by < 1% here)");
                }
            }
        }
        // 26 of the 32 stacks: all but zeros and constant (units all alike) with either
        // activation, tanh + N(0, 0.01²) (z ≈ 0, so g' ≈ 1 and the bug changes nothing) and
        // tanh + uniform(−0.3, 0.7) (saturated: dW[1] ~ 1e-7, below the resolution).
        assert!(
            caught >= 26,
            "the wrong gradient was tested on only {caught} stacks"
        );
    }
}
