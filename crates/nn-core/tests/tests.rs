//! nn-core's tests: every backward against finite differences (proptest, f64), the GEMM
//! against a naive triple loop, deliberately wrong gradients being caught, and every error
//! path.

use nn_core::testing::{GRADIENT_TOLERANCE as TOL, upstream_cost, weighted_sum};
use nn_core::*;
use proptest::prelude::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A random `r×c` matrix with entries in [-2, 2].
fn mat(r: usize, c: usize) -> impl Strategy<Value = DMatrix<f64>> {
    proptest::collection::vec(-2.0f64..2.0, r * c)
        .prop_map(move |v| DMatrix::from_column_slice(r, c, &v))
}

fn dims() -> impl Strategy<Value = (usize, usize, usize)> {
    (1usize..=8, 1usize..=8, 1usize..=8)
}

fn trans() -> impl Strategy<Value = Trans> {
    prop_oneof![Just(Trans::No), Just(Trans::Yes)]
}

/// The stored shape of an operand whose `op(X)` is `r×c`.
fn stored(t: Trans, r: usize, c: usize) -> (usize, usize) {
    t.apply((r, c))
}

fn naive_product(a: &DMatrix<f64>, ta: Trans, b: &DMatrix<f64>, tb: Trans) -> DMatrix<f64> {
    let at = |i, k| {
        if ta == Trans::No {
            a[(i, k)]
        } else {
            a[(k, i)]
        }
    };
    let bt = |k, j| {
        if tb == Trans::No {
            b[(k, j)]
        } else {
            b[(j, k)]
        }
    };
    let (m, k) = ta.apply(a.shape());
    let n = tb.apply(b.shape()).1;
    DMatrix::from_fn(m, n, |i, j| (0..k).map(|p| at(i, p) * bt(p, j)).sum())
}

/// Matrices for `C = op(A) op(B)` with `op(A)`: m×k, `op(B)`: k×n, and an upstream `R`.
fn product_case() -> impl Strategy<Value = (Trans, Trans, DMatrix<f64>, DMatrix<f64>, DMatrix<f64>)>
{
    (dims(), trans(), trans()).prop_flat_map(|((m, k, n), ta, tb)| {
        let (ar, ac) = stored(ta, m, k);
        let (br, bc) = stored(tb, k, n);
        (Just(ta), Just(tb), mat(ar, ac), mat(br, bc), mat(m, n))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn gemm_equals_naive_triple_loop((ta, tb, a, b, c0) in product_case(),
                                     alpha in -2.0f64..2.0, beta in -2.0f64..2.0) {
        let mut c = c0.clone();
        gemm_into(alpha, &a, ta, &b, tb, beta, &mut c).unwrap();
        let expected = naive_product(&a, ta, &b, tb) * alpha + c0 * beta;
        prop_assert!((c - expected).amax() < 1e-12);
    }

    #[test]
    fn gemm_f32_agrees_with_f64((ta, tb, a, b, _r) in product_case()) {
        let c64 = matmul(&a, ta, &b, tb).unwrap();
        let c32 = matmul(&a.cast::<f32>(), ta, &b.cast::<f32>(), tb).unwrap();
        prop_assert!((c32.cast::<f64>() - c64).amax() < 1e-4);
    }

    /// One column (`n = 1`, one request): on x86-64 with AVX-512 or AVX2 the matrix–vector
    /// kernel, at sizes with partial row blocks and vectors, more than one chunk of rows
    /// (AVX2's are 512 rows of `f32`) and odd inner dimensions, with both transposes of each
    /// operand, and with β = 0 ignoring NaN in C.
    #[test]
    fn matrix_vector_products_equal_the_naive_product(
        (m, k) in (1usize..=600, 1usize..=300), ta in trans(), tb in trans(),
        alpha in -2.0f64..2.0, beta in prop_oneof![Just(0.0), Just(1.0), -2.0f64..2.0],
        seed in 0usize..1000,
    ) {
        let (ar, ac) = stored(ta, m, k);
        let (br, bc) = stored(tb, k, 1);
        let (a, b) = (pattern::<f64>(ar, ac, seed), pattern::<f64>(br, bc, seed + 1));
        let mut c0 = pattern::<f64>(m, 1, seed + 2);
        let expected = naive_product(&a, ta, &b, tb) * alpha + &c0 * beta;
        if beta == 0.0 {
            c0.fill(f64::NAN);
        }
        let scale = expected.amax().max(1.0);
        let mut c = c0.clone();
        gemm_into(alpha, &a, ta, &b, tb, beta, &mut c).unwrap();
        prop_assert!((&c - &expected).amax() / scale < 1e-13, "{m}×{k} f64: {c} vs {expected}");
        let mut c32 = c0.cast::<f32>();
        let (a32, b32) = (a.cast::<f32>(), b.cast::<f32>());
        gemm_into(alpha as f32, &a32, ta, &b32, tb, beta as f32, &mut c32).unwrap();
        prop_assert!((c32.cast::<f64>() - &expected).amax() / scale < 1e-5, "{m}×{k} f32");
    }

    /// `affine_into` against `W X + b` then the epilogue, on both sides of the small-layer
    /// kernel's limits (64 rows in `f32`, 32 in `f64`; a tile's 6–16 columns): the blocks
    /// the epilogue sees are whole columns, in order, covering `Z` once.
    #[test]
    fn affine_into_equals_the_product_plus_bias_then_the_epilogue(
        (units, k, n) in (1usize..=70, 1usize..=40, 1usize..=40), seed in 0usize..1000,
    ) {
        let (w, x) = (pattern::<f64>(units, k, seed), pattern::<f64>(k, n, seed + 1));
        let b = pattern::<f64>(units, 1, seed + 2);
        let mut expected = naive_product(&w, Trans::No, &x, Trans::No);
        for mut column in expected.column_iter_mut() {
            column += &b;
        }
        let expected = expected.map(|v| 2.0 * v - 1.0);
        let scale = expected.amax().max(1.0);
        let blocks = Mutex::new(Vec::new());
        let mut z = DMatrix::from_element(units, n, f64::NAN);
        affine_into(&w, &b, &x, &mut z, &|block: &mut [f64]| {
            blocks.lock().unwrap().push(block.len());
            block.iter_mut().for_each(|v| *v = 2.0 * *v - 1.0);
        }).unwrap();
        let blocks = blocks.into_inner().unwrap();
        prop_assert!((&z - &expected).amax() / scale < 1e-13, "{units}×{k}×{n} f64");
        prop_assert!(blocks.iter().all(|&len| len > 0 && len % units == 0), "{blocks:?}");
        prop_assert_eq!(blocks.iter().sum::<usize>(), units * n);
        let (w32, x32, b32) = (w.cast::<f32>(), x.cast::<f32>(), b.cast::<f32>());
        let mut z32 = DMatrix::from_element(units, n, f32::NAN);
        let covered = AtomicUsize::new(0);
        affine_into(&w32, &b32, &x32, &mut z32, &|block: &mut [f32]| {
            covered.fetch_add(block.len(), Ordering::Relaxed);
            block.iter_mut().for_each(|v| *v = 2.0 * *v - 1.0);
        }).unwrap();
        prop_assert_eq!(covered.into_inner(), units * n);
        prop_assert!((z32.cast::<f64>() - &expected).amax() / scale < 1e-5, "{units}×{k}×{n} f32");
    }

    /// `affine_into` on layers larger than four vectors of rows with many columns, which
    /// the fused kernel takes on AVX-512 in panels of four vectors (`f32`: 256 columns and
    /// more, `f64`: 1024), a partial last panel and a partial last block of columns among
    /// them: against `W X + b` then the epilogue, every column computed once.
    #[test]
    fn affine_into_on_large_layers_equals_the_product_plus_bias_then_the_epilogue(
        (units, k, n) in (100usize..=260, 1usize..=40, 256usize..=300),
        (units64, n64) in (52usize..=70, 1024usize..=1040), seed in 0usize..1000,
    ) {
        let relu32 = |block: &mut [f32]| block.iter_mut().for_each(|v| *v = v.max(0.0));
        let relu64 = |block: &mut [f64]| block.iter_mut().for_each(|v| *v = v.max(0.0));
        let expected = |units: usize, n: usize| {
            let (w, x) = (pattern::<f64>(units, k, seed), pattern::<f64>(k, n, seed + 1));
            let b = pattern::<f64>(units, 1, seed + 2);
            let mut z = naive_product(&w, Trans::No, &x, Trans::No);
            for mut column in z.column_iter_mut() {
                column += &b;
            }
            (w, x, b, z.map(|v| v.max(0.0)))
        };
        let (w, x, b, want) = expected(units, n);
        let mut z32 = DMatrix::from_element(units, n, f32::NAN);
        let (w32, x32, b32) = (w.cast::<f32>(), x.cast::<f32>(), b.cast::<f32>());
        affine_into(&w32, &b32, &x32, &mut z32, &relu32).unwrap();
        let scale = want.amax().max(1.0);
        prop_assert!((z32.cast::<f64>() - &want).amax() / scale < 1e-5, "{units}×{k}×{n} f32");
        let (w, x, b, want) = expected(units64, n64);
        let mut z = DMatrix::from_element(units64, n64, f64::NAN);
        affine_into(&w, &b, &x, &mut z, &relu64).unwrap();
        let scale = want.amax().max(1.0);
        prop_assert!((&z - &want).amax() / scale < 1e-13, "{units64}×{k}×{n64} f64");
    }

    /// `conv_direct` against its formula evaluated naively, on two images at once: one to
    /// four input channels, windows up to 5×5 with padding up to 2, rows of outputs up to
    /// 40 wide (one to three vectors in `f32`, up to five in `f64`, where more than four
    /// is declined, as are rows filling less than half of their vectors) and up to 20
    /// filters (the small and the large filter blocks, a partial last one), with and
    /// without the ReLU applied as the outputs are stored.
    #[test]
    fn conv_direct_equals_the_formula(
        (channels, kh, kw, ph, pw) in (1usize..=4, 1usize..=5, 1usize..=5, 0usize..=2, 0usize..=2),
        (height, width, filters) in (1usize..=6, 1usize..=40, 1usize..=20),
        seed in 0usize..1000,
        rectify in any::<bool>(),
    ) {
        let window = DirectWindow { channels, height, width, kernel: [kh, kw], padding: [ph, pw] };
        let [oh, ow] = window.out();
        prop_assume!(oh > 0 && ow > 0);
        let entries = channels * kh * kw;
        let w = pattern::<f64>(filters, entries, seed);
        let b = pattern::<f64>(filters, 1, seed + 1);
        let x = pattern::<f64>(window.image_len(), 2, seed + 2);
        let pixel = |j: usize, c: usize, y: usize, x_: usize| -> f64 {
            match (y.checked_sub(ph), x_.checked_sub(pw)) {
                (Some(y), Some(x_)) if y < height && x_ < width => x[((c * height + y) * width + x_, j)],
                _ => 0.0,
            }
        };
        let per_image = filters * oh * ow;
        let mut expected = vec![0.0; 2 * per_image];
        for j in 0..2 {
            for o in 0..filters {
                for (y, x_) in (0..oh).flat_map(|y| (0..ow).map(move |x_| (y, x_))) {
                    let mut sum = b[o];
                    for r in 0..entries {
                        let (c, ky, kx) = (r / (kh * kw), r / kw % kh, r % kw);
                        sum += w[(o, r)] * pixel(j, c, y + ky, x_ + kx);
                    }
                    expected[j * per_image + (o * oh + y) * ow + x_] = if rectify { sum.max(0.0) } else { sum };
                }
            }
        }
        let scale = expected.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        let f32_lanes = kernel_f32_lanes();
        let mut z = vec![f64::NAN; 2 * per_image];
        let done = conv_direct(w.as_slice(), b.as_slice(), &window, x.as_slice(), &mut z, rectify).unwrap();
        // Declined: rows of more than four vectors, or filling less than half of them.
        let takes = |lanes: usize| lanes > 0 && ow <= 4 * lanes && 2 * ow >= ow.div_ceil(lanes) * lanes;
        prop_assert_eq!(done, takes(f32_lanes / 2), "f64, {} wide", ow);
        if done {
            let err = z.iter().zip(&expected).fold(0.0f64, |m, (a, e)| m.max((a - e).abs()));
            prop_assert!(err / scale < 1e-13, "f64: {err}");
        }
        let (w32, b32, x32) = (w.cast::<f32>(), b.cast::<f32>(), x.cast::<f32>());
        let mut z32 = vec![f32::NAN; 2 * per_image];
        let done = conv_direct(w32.as_slice(), b32.as_slice(), &window, x32.as_slice(), &mut z32, rectify).unwrap();
        prop_assert_eq!(done, takes(f32_lanes), "f32, {} wide", ow);
        if done {
            let err = z32.iter().zip(&expected).fold(0.0f64, |m, (a, e)| m.max((f64::from(*a) - e).abs()));
            prop_assert!(err / scale < 1e-5, "f32: {err}");
        }
    }

    /// A convolution on values of one example per lane (`lanes_conv`) against the formula
    /// evaluated lane by lane, on both block sizes of outputs (8, 4, 1), entries not a
    /// multiple of the partial sums, strides, in f64 and f32, with and without the fused
    /// ReLU; `lanes_dense` likewise.
    #[test]
    fn lanes_sums_equal_the_formula_in_every_lane(
        (outputs, channels, k, stride, size) in (1usize..=19, 1usize..=3, 1usize..=4, 1usize..=2, 4usize..=9),
        seed in 0usize..1000,
        rectify in any::<bool>(),
    ) {
        let g = |z: f64| if rectify { z.max(0.0) } else { z };
        prop_assume!(k <= size);
        let out = (size - k) / stride + 1;
        let entries: Vec<usize> = (0..channels)
            .flat_map(|c| (0..k).flat_map(move |y| (0..k).map(move |x| (c * size + y) * size + x)))
            .collect();
        let w = pattern::<f64>(outputs, entries.len(), seed);
        let b = pattern::<f64>(outputs, 1, seed + 1);
        let image: Vec<Lanes<f64>> = (0..channels * size * size)
            .map(|i| std::array::from_fn(|l| ((i * 13 + l * 7 + seed) % 23) as f64 / 11.0 - 1.0))
            .collect();
        let window = LanesWindow { entries: &entries, row: size, stride: [stride, stride], out: [out, out] };
        let mut got = vec![[0.0; LANES]; outputs * out * out];
        lanes_conv(w.as_slice(), b.as_slice(), &window, &image, &mut got, rectify).unwrap();
        let mut got32 = vec![[0.0f32; LANES]; outputs * out * out];
        let image32: Vec<Lanes<f32>> = image.iter().map(|v| v.map(|x| x as f32)).collect();
        let (w32, b32) = (w.clone().cast::<f32>(), b.clone().cast::<f32>());
        lanes_conv(w32.as_slice(), b32.as_slice(), &window, &image32, &mut got32, rectify).unwrap();
        for o in 0..outputs {
            for (y, x) in (0..out).flat_map(|y| (0..out).map(move |x| (y, x))) {
                for l in 0..LANES {
                    let corner = y * stride * size + x * stride;
                    let expected = g(b[o] + entries.iter().enumerate()
                        .map(|(e, &off)| w[(o, e)] * image[corner + off][l]).sum::<f64>());
                    let at = (o * out + y) * out + x;
                    prop_assert!((got[at][l] - expected).abs() < 1e-12, "{o} {y} {x} {l}");
                    prop_assert!((f64::from(got32[at][l]) - expected).abs() < 1e-4);
                }
            }
        }
        let inputs = image.len().min(40);
        let wd = pattern::<f64>(outputs, inputs, seed + 2);
        let mut dense = vec![[0.0; LANES]; outputs];
        lanes_dense(wd.as_slice(), b.as_slice(), &image[..inputs], &mut dense, rectify).unwrap();
        for (o, got) in dense.iter().enumerate() {
            for l in 0..LANES {
                let expected = g(b[o] + (0..inputs).map(|i| wd[(o, i)] * image[i][l]).sum::<f64>());
                prop_assert!((got[l] - expected).abs() < 1e-12, "dense {o} {l}");
            }
        }
    }

    #[test]
    fn matmul_backward_matches_finite_differences((ta, tb, a, b, r) in product_case()) {
        let (da, db) = matmul_backward(&a, ta, &b, tb, &r).unwrap();
        let fa = upstream_cost(&r, |x| matmul(x, ta, &b, tb));
        let rep = gradcheck(fa, &a, &da).unwrap();
        prop_assert!(rep.passes(TOL), "dA ({ta:?},{tb:?}): {rep}");
        let fb = upstream_cost(&r, |x| matmul(&a, ta, x, tb));
        let rep = gradcheck(fb, &b, &db).unwrap();
        prop_assert!(rep.passes(TOL), "dB ({ta:?},{tb:?}): {rep}");
    }

    #[test]
    fn add_column_backward_matches_finite_differences(
        (a, b, r) in (1usize..=8, 1usize..=8)
            .prop_flat_map(|(n, m)| (mat(n, m), mat(n, 1), mat(n, m)))
    ) {
        let (da, db) = add_column_backward(&r);
        let fa = upstream_cost(&r, |x| add_column(x, &b));
        let rep = gradcheck(fa, &a, &da).unwrap();
        prop_assert!(rep.passes(TOL), "dA: {rep}");
        let fb = upstream_cost(&r, |x| add_column(&a, x));
        let rep = gradcheck(fb, &b, &db).unwrap();
        prop_assert!(rep.passes(TOL), "db: {rep}");
    }

    #[test]
    fn mean_columns_backward_matches_finite_differences(
        (a, r) in (1usize..=8, 1usize..=8).prop_flat_map(|(n, m)| (mat(n, m), mat(n, 1)))
    ) {
        let da = mean_columns_backward(&r, a.ncols()).unwrap();
        let f = upstream_cost(&r, mean_columns);
        let rep = gradcheck(f, &a, &da).unwrap();
        prop_assert!(rep.passes(TOL), "{rep}");
        // and the sum is m times the mean
        let s = sum_columns(&a);
        prop_assert!((s / a.ncols() as f64 - mean_columns(&a).unwrap()).amax() < 1e-12);
    }

    #[test]
    fn hadamard_backward_matches_finite_differences(
        (a, b, r) in (1usize..=8, 1usize..=8)
            .prop_flat_map(|(n, m)| (mat(n, m), mat(n, m), mat(n, m)))
    ) {
        let (da, db) = hadamard_backward(&a, &b, &r).unwrap();
        let fa = upstream_cost(&r, |x| hadamard(x, &b));
        let rep = gradcheck(fa, &a, &da).unwrap();
        prop_assert!(rep.passes(TOL), "dA: {rep}");
        let fb = upstream_cost(&r, |x| hadamard(&a, x));
        let rep = gradcheck(fb, &b, &db).unwrap();
        prop_assert!(rep.passes(TOL), "dB: {rep}");
    }

    #[test]
    fn map_backward_matches_finite_differences(
        (a, r) in (1usize..=8, 1usize..=8).prop_flat_map(|(n, m)| (mat(n, m), mat(n, m)))
    ) {
        let da = map_backward(&a, &r, |x: f64| x.cos() + 2.0 * x).unwrap();
        let f = upstream_cost(&r, |x| map(x, |v: f64| v.sin() + v * v));
        let rep = gradcheck(f, &a, &da).unwrap();
        prop_assert!(rep.passes(TOL), "{rep}");
    }

    /// The dense-layer gradient `dW = (1/m) dZ A_prevᵀ`, composed from nn-core ops, for the
    /// cost `J = (1/m) Σ ⟨R, tanh(W A + b)⟩`; here a missing `1/m` or transpose would fail.
    #[test]
    fn dense_layer_composition_matches_finite_differences(
        (w, b, a, r) in (1usize..=8, 1usize..=8, 2usize..=8)
            .prop_flat_map(|(o, i, m)| (mat(o, i), mat(o, 1), mat(i, m), mat(o, m)))
    ) {
        let m = a.ncols();
        let cost = |w: &DMatrix<f64>, b: &DMatrix<f64>| {
            let z = add_column(&matmul(w, Trans::No, &a, Trans::No).unwrap(), b).unwrap();
            weighted_sum(&r, &map(&z, f64::tanh)) / m as f64
        };
        let mut z = DMatrix::zeros(w.nrows(), m);
        broadcast_column_into(&b, &mut z).unwrap();
        gemm_into(1.0, &w, Trans::No, &a, Trans::No, 1.0, &mut z).unwrap();
        let dz = map_backward(&z, &r, |v: f64| 1.0 - v.tanh().powi(2)).unwrap();
        let mut dw = DMatrix::zeros(w.nrows(), w.ncols());
        gemm_into(1.0 / m as f64, &dz, Trans::No, &a, Trans::Yes, 0.0, &mut dw).unwrap();
        let mut db = DMatrix::zeros(w.nrows(), 1);
        mean_columns_into(&dz, &mut db).unwrap();

        let rep = gradcheck(|x| cost(x, &b), &w, &dw).unwrap();
        prop_assert!(rep.passes(TOL), "dW: {rep}");
        let rep = gradcheck(|x| cost(&w, x), &b, &db).unwrap();
        prop_assert!(rep.passes(TOL), "db: {rep}");

        // A deliberate mistake, a missing 1/m, is caught wherever the gradient is not ~0
        // (shrinking drives R to zero, where every gradient is right).
        if dw.amax() > 1e-2 {
            let rep = gradcheck(|x| cost(x, &b), &w, &(&dw * m as f64)).unwrap();
            prop_assert!(rep.max_rel_error > 0.4, "missing 1/m passed: {rep}");
        }
    }

    #[test]
    fn in_place_forms_equal_allocating_forms(
        (a, b, col) in (1usize..=8, 1usize..=8)
            .prop_flat_map(|(n, m)| (mat(n, m), mat(n, m), mat(n, 1)))
    ) {
        let mut out = DMatrix::from_element(a.nrows(), a.ncols(), f64::NAN);
        hadamard_into(&a, &b, &mut out).unwrap();
        prop_assert_eq!(&out, &hadamard(&a, &b).unwrap());
        add_column_into(&a, &col, &mut out).unwrap();
        prop_assert_eq!(&out, &add_column(&a, &col).unwrap());
        map_into(&a, &mut out, f64::exp).unwrap();
        prop_assert_eq!(&out, &map(&a, f64::exp));
        map_backward_into(&a, &b, &mut out, f64::exp).unwrap();
        prop_assert_eq!(&out, &map_backward(&a, &b, f64::exp).unwrap());
        let mut s = DMatrix::from_element(a.nrows(), 1, f64::NAN);
        sum_columns_into(&a, &mut s).unwrap();
        prop_assert_eq!(&s, &sum_columns(&a));
        // β = 0 ignores NaN already in the output buffer
        let mut c = DMatrix::from_element(a.nrows(), a.nrows(), f64::NAN);
        gemm_into(1.0, &a, Trans::No, &b, Trans::Yes, 0.0, &mut c).unwrap();
        prop_assert!(c.iter().all(|v| v.is_finite()));
    }

    /// The lane-parallel scans agree with the plain element-by-element ones, for every
    /// length (full lanes and a tail) and wherever a NaN or an infinity sits.
    #[test]
    fn all_finite_and_sum_squares_match_plain_scans(
        values in prop::collection::vec(-1e30f64..1e30, 0..70),
        bad in prop::option::of((any::<prop::sample::Index>(), 0usize..3)),
    ) {
        let mut values = values;
        if let (Some((at, kind)), false) = (bad, values.is_empty()) {
            let at = at.index(values.len());
            values[at] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][kind];
        }
        prop_assert_eq!(all_finite(&values), values.iter().all(|v| v.is_finite()));
        let as_f32: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        prop_assert_eq!(all_finite(&as_f32), as_f32.iter().all(|v| v.is_finite()));

        let plain: f64 = values.iter().map(|v| v * v).sum();
        let fast = sum_squares(&values);
        if plain.is_nan() {
            prop_assert!(fast.is_nan());
        } else if plain.is_infinite() {
            prop_assert_eq!(fast, plain);
        } else {
            prop_assert!((fast - plain).abs() <= 1e-14 * plain, "{fast} vs {plain}");
        }
        // f32 entries are squared in f64: 1e30² does not overflow
        let plain32: f64 = as_f32.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        let fast32 = sum_squares(&as_f32);
        prop_assert!(
            (fast32 - plain32).abs() <= 1e-14 * plain32 || fast32.to_bits() == plain32.to_bits()
                || (fast32.is_nan() && plain32.is_nan()),
            "{fast32} vs {plain32}"
        );
    }
}

/// Shapes `(m, k, n)` that `gemm_into` cuts in two (≥ 2¹⁸ multiply-adds): by columns,
/// by rows, along the inner dimension (fewer than 16 columns), at odd sizes; the last three
/// are large enough that a product with a transposed right operand (a weight gradient)
/// goes to the packed kernel on a CPU with AVX-512: partial tiles of rows and columns, one,
/// two and three blocks of inner steps.
const CUT_SHAPES: [(usize, usize, usize); 12] = [
    (64, 80, 64),
    (200, 70, 40),
    (96, 300, 31),
    (64, 512, 256),
    (512, 64, 70),
    (47, 129, 95),
    (300, 1000, 1),
    (40, 13_111, 3),
    (64, 4099, 15),
    (256, 260, 160),
    (129, 257, 131),
    (140, 800, 45),
];

/// Deterministic entries in [-2, 2] that differ across rows and columns.
/// `relu_in_place` against `if z < 0 { 0 } else { z }`, bit for bit, over every length up to
/// five vectors of AVX-512 `f32` (vector body and scalar tail), with NaN, `-0`, infinities
/// and denormals among the entries, in `f32` and `f64`.
#[test]
fn relu_in_place_is_the_formula_bit_for_bit() {
    macro_rules! check {
        ($t:ty) => {
            let specials: [$t; 7] = [
                <$t>::NAN,
                -0.0,
                0.0,
                <$t>::INFINITY,
                <$t>::NEG_INFINITY,
                -1e-310,
                1e-310,
            ];
            for len in 0..=80usize {
                let z: Vec<$t> = (0..len)
                    .map(|i| match i % 9 {
                        0..=6 => specials[(i / 9 + i) % specials.len()],
                        7 => -(i as $t) * 0.5,
                        _ => i as $t * 0.25,
                    })
                    .collect();
                let mut out = z.clone();
                relu_in_place(&mut out);
                for (i, (&o, &v)) in out.iter().zip(&z).enumerate() {
                    let want = if v < 0.0 { 0.0 } else { v };
                    assert!(
                        o.to_bits() == want.to_bits(),
                        "{}, length {len}, entry {i}: relu({v:?}) gave {o:?}, want {want:?}",
                        stringify!($t)
                    );
                }
            }
        };
    }
    check!(f32);
    check!(f64);
}

/// `f32` lanes of the vectors nn-core's own kernels run on here: 16 with AVX-512, 8 with
/// AVX2 and FMA, 0 (the kernels decline) on other CPUs.
fn kernel_f32_lanes() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return 16;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return 8;
        }
    }
    0
}

fn pattern<T: Scalar>(r: usize, c: usize, seed: usize) -> DMatrix<T> {
    DMatrix::from_fn(r, c, |i, j| {
        T::cast(((i * 31 + j * 17 + seed * 7) % 41) as f64 / 10.0 - 2.0)
    })
}

#[test]
fn products_cut_in_halves_equal_the_naive_product_on_one_thread_and_two() {
    for (m, k, n) in CUT_SHAPES {
        for (ta, tb) in [
            (Trans::No, Trans::No),
            (Trans::Yes, Trans::No),
            (Trans::No, Trans::Yes),
            (Trans::Yes, Trans::Yes),
        ] {
            let (ar, ac) = stored(ta, m, k);
            let (br, bc) = stored(tb, k, n);
            let (a, b, c0) = (
                pattern::<f64>(ar, ac, 1),
                pattern::<f64>(br, bc, 2),
                pattern::<f64>(m, n, 3),
            );
            for (alpha, beta) in [(1.0, 0.0), (0.5, 1.0), (-1.5, 0.25)] {
                let expected = naive_product(&a, ta, &b, tb) * alpha + &c0 * beta;
                // With β = 0, C is not read: NaN in it must not reach the result.
                let c0 = if beta == 0.0 {
                    c0.map(|_| f64::NAN)
                } else {
                    c0.clone()
                };
                let mut one = c0.clone();
                gemm_into(alpha, &a, ta, &b, tb, beta, &mut one).unwrap();
                let err = (&one - &expected).amax() / expected.amax();
                assert!(
                    err < 1e-13,
                    "{m}×{k}×{n} {ta:?} {tb:?} α {alpha} β {beta}: relative error {err:e}"
                );
                let mut two = c0.clone();
                with_kernel_threads(2, || gemm_into(alpha, &a, ta, &b, tb, beta, &mut two))
                    .unwrap();
                assert_eq!(
                    one, two,
                    "{m}×{k}×{n} {ta:?} {tb:?}: two threads changed bits (f64)"
                );
                let (a32, b32) = (a.clone().cast::<f32>(), b.clone().cast::<f32>());
                let mut one32 = c0.clone().cast::<f32>();
                let mut two32 = one32.clone();
                gemm_into(alpha as f32, &a32, ta, &b32, tb, beta as f32, &mut one32).unwrap();
                with_kernel_threads(2, || {
                    gemm_into(alpha as f32, &a32, ta, &b32, tb, beta as f32, &mut two32)
                })
                .unwrap();
                assert_eq!(
                    one32, two32,
                    "{m}×{k}×{n} {ta:?} {tb:?}: two threads changed bits (f32)"
                );
                let err32 = (one32.cast::<f64>() - &expected).amax() / expected.amax();
                assert!(err32 < 1e-5, "{m}×{k}×{n} f32 relative error {err32:e}");
            }
        }
    }
}

/// A wrong transpose in a backward is caught: for square operands the shapes still fit,
/// so only the values can tell, and the check sees it.
#[test]
fn wrong_transpose_in_backward_is_caught() {
    let a = DMatrix::from_fn(4, 4, |i, j| {
        ((i * 7 + j * 3) % 5) as f64 - 2.0 + 0.1 * i as f64
    });
    let b = DMatrix::from_fn(4, 4, |i, j| {
        ((i * 3 + j * 5) % 7) as f64 - 3.0 + 0.2 * j as f64
    });
    let r = DMatrix::from_fn(4, 4, |i, j| (i as f64 - j as f64) * 0.5 + 0.3);
    let f = upstream_cost(&r, |x| x * &b);
    let right = &r * b.transpose();
    let wrong = &r * &b; // forgot the transpose
    assert!(gradcheck(&f, &a, &right).unwrap().passes(1e-9));
    let rep = gradcheck(f, &a, &wrong).unwrap();
    assert!(rep.max_rel_error > 0.5, "wrong transpose passed: {rep}");
}

#[test]
fn gradcheck_reports_nan_analytic_gradient_as_failure() {
    let x = DMatrix::from_element(2, 2, 1.0);
    let mut g = x.map(|v| 2.0 * v);
    g[(1, 0)] = f64::NAN;
    let rep = gradcheck(|x| x.norm_squared(), &x, &g).unwrap();
    assert!(!rep.passes(1e-6));
    assert_eq!(rep.worst, (1, 0));
}

#[test]
fn three_point_stencil_is_less_accurate_than_five_point() {
    let x = DMatrix::from_element(1, 1, 1.3);
    let g = x.map(|v: f64| v.exp());
    let three = GradCheck {
        step: 1e-3,
        stencil: Stencil::ThreePoint,
        floor: 1e-4,
    };
    let five = GradCheck {
        step: 1e-3,
        stencil: Stencil::FivePoint,
        floor: 1e-4,
    };
    let e3 = three.check(|x| x[0].exp(), &x, &g).unwrap().max_rel_error;
    let e5 = five.check(|x| x[0].exp(), &x, &g).unwrap().max_rel_error;
    // h²/6 ≈ 1.7e-7 for the three-point formula; O(h⁴) for the five-point one.
    assert!(e3 > 1e-8 && e3 < 1e-6, "{e3}");
    assert!(e5 < 1e-11, "{e5}");
}

/// `affine_into` on products large enough to be cut by columns into two halves (each
/// filled, multiplied and handed to the epilogue on its own): the result against the
/// naive one, the blocks covering `Z` once, the same bits on one thread and two.
#[test]
fn affine_into_cut_by_columns_is_correct_and_the_same_on_two_threads() {
    for (units, k, n) in [
        (128, 100, 64),
        (130, 257, 97),
        (96, 300, 200),
        (512, 64, 1024),
        (250, 300, 600),
    ] {
        let (w, x) = (pattern::<f64>(units, k, 1), pattern::<f64>(k, n, 2));
        let b = pattern::<f64>(units, 1, 3);
        let mut expected = naive_product(&w, Trans::No, &x, Trans::No);
        for mut column in expected.column_iter_mut() {
            column += &b;
        }
        let expected = expected.map(|v| v.max(0.0));
        let relu = |block: &mut [f32]| block.iter_mut().for_each(|v| *v = v.max(0.0));
        let (w32, x32, b32) = (w.cast::<f32>(), x.cast::<f32>(), b.cast::<f32>());
        let mut results = Vec::new();
        for threads in [1, 2] {
            let covered = AtomicUsize::new(0);
            let mut z = DMatrix::from_element(units, n, f32::NAN);
            with_kernel_threads(threads, || {
                affine_into(&w32, &b32, &x32, &mut z, &|block: &mut [f32]| {
                    assert_eq!(block.len() % units, 0, "a block of whole columns");
                    covered.fetch_add(block.len(), Ordering::Relaxed);
                    relu(block);
                })
            })
            .unwrap();
            assert_eq!(covered.into_inner(), units * n, "{units}×{k}×{n}");
            let scale = expected.amax().max(1.0);
            let err = (z.clone().cast::<f64>() - &expected).amax() / scale;
            assert!(err < 1e-5, "{units}×{k}×{n} on {threads} threads: {err}");
            results.push(z);
        }
        assert_eq!(
            results[0], results[1],
            "{units}×{k}×{n}: bits differ with threads"
        );
    }
}

/// `affine_packed_into` with the panels of `W` kept between calls: against the naive
/// result at narrow and wide batches (on AVX-512 the fused kernel takes `f32` layers of
/// more than 64 rows from 6 columns with `W` packed), the same bits as `affine_into` where
/// both take the kernel, on one thread and two (a narrow batch shares the panels of rows
/// between the threads), and a `PackedWeights` made for another shape not used.
#[test]
fn affine_packed_into_is_correct_on_any_batch_and_the_same_on_two_threads() {
    let relu = |block: &mut [f32]| block.iter_mut().for_each(|v| *v = v.max(0.0));
    for (units, k) in [(512, 300), (130, 257), (200, 64), (40, 100)] {
        let (w64, b64) = (pattern::<f64>(units, k, 1), pattern::<f64>(units, 1, 3));
        let (w, b) = (w64.clone().cast::<f32>(), b64.clone().cast::<f32>());
        let packed = PackedWeights::new();
        for n in [1, 5, 6, 16, 63, 64, 300] {
            let x64 = pattern::<f64>(k, n, 2);
            let x = x64.clone().cast::<f32>();
            let mut expected = naive_product(&w64, Trans::No, &x64, Trans::No);
            for mut column in expected.column_iter_mut() {
                column += &b64;
            }
            let expected = expected.map(|v| v.max(0.0));
            let mut results = Vec::new();
            for threads in [1, 2] {
                let covered = AtomicUsize::new(0);
                let mut z = DMatrix::from_element(units, n, f32::NAN);
                with_kernel_threads(threads, || {
                    affine_packed_into(&w, &packed, &b, &x, &mut z, &|block: &mut [f32]| {
                        assert_eq!(block.len() % units, 0, "a block of whole columns");
                        covered.fetch_add(block.len(), Ordering::Relaxed);
                        relu(block);
                    })
                })
                .unwrap();
                assert_eq!(covered.into_inner(), units * n, "{units}×{k}×{n}");
                let err = (z.clone().cast::<f64>() - &expected).amax() / expected.amax().max(1.0);
                assert!(err < 1e-5, "{units}×{k}×{n} on {threads} threads: {err}");
                results.push(z);
            }
            assert_eq!(
                results[0], results[1],
                "{units}×{k}×{n}: bits differ with threads"
            );
            if n >= 256 {
                let mut z = DMatrix::from_element(units, n, f32::NAN);
                affine_into(&w, &b, &x, &mut z, &relu).unwrap();
                assert_eq!(z, results[0], "{units}×{k}×{n}: packed or not, other bits");
            }
        }
        // Panels of this `W` offered for a `W` of another shape: not used.
        let (w2, b2) = (pattern::<f64>(units, k + 1, 4).cast::<f32>(), b.clone());
        let x2 = pattern::<f64>(k + 1, 16, 5).cast::<f32>();
        let mut z = DMatrix::from_element(units, 16, f32::NAN);
        affine_packed_into(&w2, &packed, &b2, &x2, &mut z, &|_: &mut [f32]| {}).unwrap();
        let want = &w2 * &x2 + &b2 * DMatrix::from_element(1, 16, 1.0);
        assert!(
            (z - &want).amax() <= 1e-4 * want.amax(),
            "{units}×{k}: a stale packing used"
        );
    }
    let mut packed = PackedWeights::<f32>::new();
    let (w, b, x) = (
        DMatrix::from_element(128, 50, 0.5),
        DMatrix::zeros(128, 1),
        DMatrix::from_element(50, 16, 1.0),
    );
    let mut z = DMatrix::zeros(128, 16);
    affine_packed_into(&w, &packed, &b, &x, &mut z, &|_: &mut [f32]| {}).unwrap();
    assert_eq!(
        packed.is_packed(),
        nn_core::affine_is_columnwise::<f32>(128, 16, true)
    );
    assert!(!packed.clone().is_packed(), "a clone starts empty");
    packed.clear();
    assert!(!packed.is_packed());
}

/// On AVX-512 the fused kernel takes one column with `W` packed (a server's request), in
/// tiles of one column: each entry is still `b_i + Σ_p W_ip x_p` in order of `p`, so a
/// column predicted alone has the bits it has in a batch the kernel takes, in `f32` and
/// `f64`, on one thread and two (where the panels of rows are shared between them).
fn one_column_has_its_bits_in_a_batch<T: Scalar>() -> Result<(), CoreError> {
    let relu = |block: &mut [T]| block.iter_mut().for_each(|v| *v = v.max(T::cast(0.0)));
    let avx512 = kernel_f32_lanes() == 16;
    let n = 1024;
    for (units, k) in [(512, 300), (256, 784), (10, 512), (30, 100), (16, 16)] {
        let (w, b, x) = (
            pattern::<T>(units, k, 1),
            pattern::<T>(units, 1, 3),
            pattern::<T>(k, n, 2),
        );
        let packed = PackedWeights::new();
        let mut batch = DMatrix::from_element(units, n, T::cast(f64::NAN));
        affine_packed_into(&w, &packed, &b, &x, &mut batch, &relu)?;
        assert!(
            !avx512 || nn_core::affine_is_columnwise::<T>(units, n, true),
            "{units}×{k}: the kernel takes the batch on AVX-512"
        );
        for j in [0, 7, n - 1] {
            let column = x.columns(j, 1).into_owned();
            for threads in [1, 2] {
                let mut z = DMatrix::from_element(units, 1, T::cast(f64::NAN));
                with_kernel_threads(threads, || {
                    affine_packed_into(&w, &packed, &b, &column, &mut z, &relu)
                })?;
                let want = batch.columns(j, 1);
                if avx512 {
                    assert_eq!(z, want, "{units}×{k}, column {j}, {threads} threads");
                } else {
                    let err = (&z - want).amax().to_f64() / want.amax().to_f64().max(1.0);
                    assert!(
                        err < 1e-5,
                        "{units}×{k}, column {j}, {threads} threads: {err}"
                    );
                }
            }
        }
    }
    Ok(())
}

#[test]
fn a_column_predicted_alone_has_its_bits_in_a_batch_f32() -> Result<(), CoreError> {
    one_column_has_its_bits_in_a_batch::<f32>()
}

#[test]
fn a_column_predicted_alone_has_its_bits_in_a_batch_f64() -> Result<(), CoreError> {
    one_column_has_its_bits_in_a_batch::<f64>()
}

/// `affine_is_columnwise` as documented, on whatever CPU runs it: where it says a layer's
/// columns are computed alike in any batch of at least `c` columns, each width from `c`
/// to 13 gives the bits of the same columns in a batch of 40.
#[test]
fn affine_is_columnwise_means_the_same_bits_in_any_wider_batch() -> Result<(), CoreError> {
    let relu = |block: &mut [f32]| block.iter_mut().for_each(|v| *v = v.max(0.0));
    let mut claimed = 0;
    for (units, k) in [
        (32, 64),
        (10, 50),
        (16, 16),
        (64, 30),
        (512, 100),
        (130, 40),
    ] {
        let (w, b) = (pattern::<f32>(units, k, 1), pattern::<f32>(units, 1, 3));
        let x = pattern::<f32>(k, 40, 2);
        let packed = PackedWeights::new();
        let mut batch = DMatrix::from_element(units, 40, f32::NAN);
        affine_packed_into(&w, &packed, &b, &x, &mut batch, &relu)?;
        for c in [0, 1, 2, 3, 6, 12] {
            if !nn_core::affine_is_columnwise::<f32>(units, c, true) {
                continue;
            }
            claimed += 1;
            for width in c.max(1)..=13 {
                let part = x.columns(0, width).into_owned();
                let mut z = DMatrix::from_element(units, width, f32::NAN);
                affine_packed_into(&w, &packed, &b, &part, &mut z, &relu)?;
                assert_eq!(
                    z,
                    batch.columns(0, width),
                    "{units}×{k}: {width} ≥ {c} columns"
                );
            }
        }
    }
    // Where the fused kernel runs at all, it claims some of these.
    assert!(kernel_f32_lanes() == 0 || claimed > 0, "no layer claimed");
    Ok(())
}

mod errors {
    use super::*;

    fn m(r: usize, c: usize) -> DMatrix<f64> {
        DMatrix::from_element(r, c, 1.0)
    }

    #[test]
    fn gemm_inner_dimension_mismatch() {
        let err = matmul(&m(2, 3), Trans::No, &m(4, 5), Trans::No).unwrap_err();
        assert_eq!(
            err,
            CoreError::ShapeMismatch {
                op: "gemm_into",
                operand: "op(B) (right operand)",
                expected: (3, 5),
                found: (4, 5)
            }
        );
        assert_eq!(
            err.to_string(),
            "gemm_into: op(B) (right operand) has shape 4×5, expected 3×5"
        );
        // transposed: op(A) = Aᵀ is 3×2, so op(B) needs 2 rows
        let err = matmul(&m(2, 3), Trans::Yes, &m(3, 5), Trans::No).unwrap_err();
        assert!(matches!(
            err,
            CoreError::ShapeMismatch {
                expected: (2, 5),
                found: (3, 5),
                ..
            }
        ));
    }

    #[test]
    fn gemm_output_mismatch() {
        let mut c = m(2, 2);
        let err =
            gemm_into(1.0, &m(2, 3), Trans::No, &m(3, 4), Trans::No, 0.0, &mut c).unwrap_err();
        assert!(matches!(
            err,
            CoreError::ShapeMismatch {
                operand: "C (output)",
                expected: (2, 4),
                found: (2, 2),
                ..
            }
        ));
    }

    #[test]
    fn affine_shape_mismatches_name_the_operand() {
        let keep = |_: &mut [f64]| {};
        let (w, x) = (m(3, 4), m(4, 5));
        let mut z = m(3, 5);
        let cases = [
            (m(2, 1), m(4, 5), "b (bias)", (3, 1), (2, 1)),
            (m(3, 1), m(5, 5), "X (input)", (4, 5), (5, 5)),
        ];
        for (b, x, operand, expected, found) in cases {
            let err = affine_into(&w, &b, &x, &mut z, &keep).unwrap_err();
            assert_eq!(
                err,
                CoreError::ShapeMismatch {
                    op: "affine_into",
                    operand,
                    expected,
                    found
                }
            );
        }
        let err = affine_into(&w, &m(3, 1), &x, &mut m(3, 4), &keep).unwrap_err();
        assert!(matches!(
            err,
            CoreError::ShapeMismatch {
                operand: "Z (output)",
                ..
            }
        ));
        // No inner dimension: Z is the bias.
        let mut z = m(2, 3);
        affine_into(
            &m(2, 0),
            &DMatrix::from_element(2, 1, 0.5),
            &m(0, 3),
            &mut z,
            &keep,
        )
        .unwrap();
        assert_eq!(z, DMatrix::from_element(2, 3, 0.5));
    }

    /// Hostile windows: sizes whose products overflow `usize` fail the length checks
    /// (they count as `usize::MAX`), and padding that would turn a 16-value image into a
    /// buffer of 2²⁶ values is declined for the batched path, not allocated.
    #[test]
    fn conv_direct_refuses_overflowing_and_oversized_windows() {
        let huge = usize::MAX / 2;
        let window = |channels, height, kernel, padding| DirectWindow {
            channels,
            height,
            width: 16,
            kernel,
            padding,
        };
        let (x, mut z) = (vec![1.0f32; 16], vec![0.0f32; 16]);
        // One filter of one weight: only the overflowing size is wrong.
        let overflowing = [
            (window(huge, 4, [1, 1], [0, 0]), "W (weights)"),
            (window(1, huge, [1, 1], [0, 0]), "X (images)"),
            (window(1, 1, [huge, huge], [0, 0]), "W (weights)"),
            (window(1, 1, [1, 1], [huge, huge]), "Z (output)"),
        ];
        for (hostile, wrong) in overflowing {
            let err = conv_direct(&[1.0], &[0.0], &hostile, &x, &mut z, false).unwrap_err();
            let named = matches!(err, CoreError::ShapeMismatch { op: "conv_direct", operand, .. } if operand == wrong);
            assert!(named, "{hostile:?}: {err}");
        }
        // 1×1×16 padded to (2²² + 1) rows of 16, a window as tall: one row of 16 outputs.
        let tall = window(1, 1, [(1 << 22) + 1, 1], [1 << 21, 0]);
        assert_eq!(tall.out(), [1, 16]);
        let w = vec![0.5f32; (1 << 22) + 1];
        assert!(!conv_direct(&w, &[0.0], &tall, &x, &mut z, false).unwrap());
        assert_eq!(z, vec![0.0; 16], "declined: nothing written");
    }

    #[test]
    fn lanes_shape_mismatches_name_the_operand() {
        let x = [[1.0f64; LANES]; 3];
        let mut y = [[0.0; LANES]; 2];
        let err = lanes_dense(&[1.0; 5], &[0.0; 2], &x, &mut y, false).unwrap_err();
        assert!(matches!(
            err,
            CoreError::ShapeMismatch {
                op: "lanes_dense",
                operand: "W (weights)",
                expected: (6, 1),
                found: (5, 1)
            }
        ));
        let err = lanes_dense(&[1.0; 6], &[0.0; 2], &x, &mut y[..1], false).unwrap_err();
        assert!(matches!(
            err,
            CoreError::ShapeMismatch {
                operand: "output",
                ..
            }
        ));
        // A 2×2 window stepping over a 3-wide image needs 8 values; 3 are given.
        let window = LanesWindow {
            entries: &[0, 1, 3, 4],
            row: 3,
            stride: [1, 1],
            out: [2, 2],
        };
        let mut out = [[0.0; LANES]; 4];
        let err = lanes_conv(&[1.0; 4], &[0.0], &window, &x, &mut out, false).unwrap_err();
        assert!(matches!(
            err,
            CoreError::ShapeMismatch {
                op: "lanes_conv",
                operand: "image",
                expected: (9, 1),
                found: (3, 1)
            }
        ));
    }

    #[test]
    fn gemm_with_empty_inner_dimension_scales_output() {
        let mut c = DMatrix::from_element(2, 2, 3.0);
        gemm_into(1.0, &m(2, 0), Trans::No, &m(0, 2), Trans::No, 0.5, &mut c).unwrap();
        assert_eq!(c, DMatrix::from_element(2, 2, 1.5));
    }

    #[test]
    fn matmul_backward_mismatches() {
        let err = matmul_backward(&m(2, 3), Trans::No, &m(4, 2), Trans::No, &m(2, 2)).unwrap_err();
        assert!(matches!(
            err,
            CoreError::ShapeMismatch {
                op: "matmul_backward",
                ..
            }
        ));
        let err = matmul_backward(&m(2, 3), Trans::No, &m(3, 2), Trans::No, &m(3, 3)).unwrap_err();
        assert!(matches!(
            err,
            CoreError::ShapeMismatch {
                operand: "dC (upstream gradient)",
                expected: (2, 2),
                ..
            }
        ));
    }

    #[test]
    fn add_column_mismatches() {
        let err = add_column(&m(3, 4), &m(2, 1)).unwrap_err();
        assert!(matches!(
            err,
            CoreError::ShapeMismatch {
                op: "add_column",
                expected: (3, 1),
                found: (2, 1),
                ..
            }
        ));
        let mut out = m(3, 3);
        let err = add_column_into(&m(3, 4), &m(3, 1), &mut out).unwrap_err();
        assert!(matches!(
            err,
            CoreError::ShapeMismatch {
                operand: "output",
                ..
            }
        ));
        let err = broadcast_column_into(&m(3, 2), &mut out).unwrap_err();
        assert!(matches!(
            err,
            CoreError::ShapeMismatch {
                op: "broadcast_column",
                ..
            }
        ));
    }

    #[test]
    fn reductions_mismatch_and_empty() {
        let err = mean_columns(&m(3, 0)).unwrap_err();
        assert_eq!(
            err,
            CoreError::Empty {
                op: "mean_columns",
                operand: "input",
                found: (3, 0)
            }
        );
        assert!(err.to_string().contains("at least one column"));
        let mut out = m(2, 1);
        let err = sum_columns_into(&m(3, 4), &mut out).unwrap_err();
        assert!(matches!(
            err,
            CoreError::ShapeMismatch {
                expected: (3, 1),
                found: (2, 1),
                ..
            }
        ));
        assert!(matches!(
            mean_columns_backward(&m(3, 1), 0),
            Err(CoreError::Empty { .. })
        ));
        assert!(matches!(
            mean_columns_backward(&m(3, 2), 4),
            Err(CoreError::ShapeMismatch { .. })
        ));
    }

    #[test]
    fn elementwise_mismatches() {
        assert!(matches!(
            hadamard(&m(2, 3), &m(3, 2)),
            Err(CoreError::ShapeMismatch { .. })
        ));
        let mut out = m(1, 1);
        assert!(hadamard_into(&m(2, 2), &m(2, 2), &mut out).is_err());
        assert!(map_into(&m(2, 2), &mut out, |x| x).is_err());
        assert!(map_backward(&m(2, 2), &m(2, 3), |x| x).is_err());
        assert!(map_backward_into(&m(2, 2), &m(2, 2), &mut out, |x| x).is_err());
        assert!(hadamard_backward(&m(2, 2), &m(2, 2), &m(1, 2)).is_err());
        assert!(frobenius_dot(&m(2, 2), &m(2, 1)).is_err());
    }

    #[test]
    fn ensure_finite_names_the_place() {
        let mut x = m(3, 4);
        assert!(ensure_finite("load", "X", &x).is_ok());
        x[(2, 1)] = f64::NAN;
        let err = ensure_finite("load", "X", &x).unwrap_err();
        assert!(matches!(err, CoreError::NonFinite { row: 2, col: 1, .. }));
        assert!(err.to_string().contains("row 2, column 1"), "{err}");
    }

    #[test]
    fn gradcheck_rejects_bad_config_and_shapes() {
        let x = m(2, 2);
        let f = |x: &DMatrix<f64>| x.sum();
        assert!(matches!(
            gradcheck(f, &x, &m(2, 1)),
            Err(CoreError::ShapeMismatch { .. })
        ));
        for step in [0.0, -1e-4, f64::NAN] {
            let cfg = GradCheck {
                step,
                ..GradCheck::default()
            };
            let err = cfg.check(f, &x, &x).unwrap_err();
            assert!(
                matches!(err, CoreError::InvalidArgument { what: "step", .. }),
                "{err}"
            );
        }
        let cfg = GradCheck {
            floor: 0.0,
            ..GradCheck::default()
        };
        assert!(matches!(
            cfg.check(f, &x, &x),
            Err(CoreError::InvalidArgument { what: "floor", .. })
        ));
        let err = gradcheck(|x| if x[0] > 1.0 { f64::NAN } else { 0.0 }, &x, &x).unwrap_err();
        assert!(matches!(err, CoreError::NonFinite { row: 0, col: 0, .. }));
    }
}

#[test]
fn fit_buffer_reshapes_and_keeps_capacity() {
    let mut buf = DMatrix::<f64>::from_element(4, 8, 1.0);
    let ptr = buf.as_slice().as_ptr();
    fit_buffer(&mut buf, 4, 3);
    assert_eq!(buf.shape(), (4, 3));
    fit_buffer(&mut buf, 4, 8);
    assert_eq!(buf.shape(), (4, 8));
    // shrinking and growing back within the first capacity reuses the same allocation
    assert_eq!(buf.as_slice().as_ptr(), ptr);
    fit_buffer(&mut buf, 2, 1);
    assert_eq!(buf.shape(), (2, 1));
}

mod dtype {
    use super::*;

    #[test]
    fn names_table_is_in_declaration_order_and_matches_the_types() {
        for (i, (dtype, name)) in DType::NAMES.iter().enumerate() {
            assert_eq!(*dtype as usize, i, "{name}");
            assert_eq!(dtype.name(), *name);
        }
        assert_eq!(f32::DTYPE, DType::F32);
        assert_eq!(f64::DTYPE, DType::F64);
        assert_eq!(<f32 as Scalar>::NAME, "f32");
        assert_eq!(<f64 as Scalar>::NAME, "f64");
        assert_eq!(DType::F32.size_in_bytes(), std::mem::size_of::<f32>());
        assert_eq!(DType::F64.size_in_bytes(), std::mem::size_of::<f64>());
    }

    #[test]
    fn text_and_json_forms_round_trip_and_reject_other_names() {
        for (dtype, name) in DType::NAMES {
            assert_eq!(dtype.to_string(), name);
            assert_eq!(name.parse::<DType>(), Ok(dtype));
            let json = serde_json::to_string(&dtype).unwrap_or_default();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<DType>(&json).ok(), Some(dtype));
        }
        for bad in ["f16", "F32", " f32", "", "float"] {
            let err = bad.parse::<DType>();
            assert_eq!(
                err,
                Err(CoreError::UnknownDType {
                    found: bad.to_string()
                })
            );
            let msg = err.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.contains("f32, f64"), "{msg}");
            let json = serde_json::from_str::<DType>(&format!("\"{bad}\""));
            assert!(json.is_err(), "{bad:?} deserialised");
        }
        assert!(serde_json::from_str::<DType>("32").is_err());
    }
}
