//! Convolution, pooling and flatten: each backward against finite differences (f64), the
//! forward against a direct loop-based convolution, translation equivariance and invariance
//! (T12's core property), build-time shape errors, training with every optimizer,
//! allocation-free training steps, and CNNs in model files and checkpoints (4-D conv
//! weights in PyTorch's layout).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use nalgebra::DMatrix;
use nn_train::nn_core::GradCheck;
use nn_train::nn_core::testing::weighted_sum;
use nn_train::*;
use proptest::prelude::*;

use super::Gen;

/// One axis of a window that fits: `(input n, kernel k, stride s, padding p)`, built from
/// the output size so that no input is left unread (`(n + 2p − k) mod s ≤ p`).
fn axis(max_padding: usize) -> impl Strategy<Value = (usize, usize, usize, usize)> {
    (
        1usize..=3,
        1usize..=3,
        1usize..=3,
        0..=max_padding,
        0usize..3,
    )
        .prop_filter_map("input size ≥ 1", |(out, k, s, p, rest)| {
            let rest = rest.min(s - 1).min(p);
            let padded = (out - 1) * s + k + rest;
            (padded > 2 * p).then(|| (padded - 2 * p, k, s, p))
        })
}

fn image(c: usize, h: usize, w: usize) -> FeatureShape {
    FeatureShape::Image {
        channels: c,
        height: h,
        width: w,
    }
}

/// `X_j[c, y, x]` with zero outside the image (the padding).
fn pixel(
    x: &DMatrix<f64>,
    j: usize,
    (c, h, w): (usize, usize, usize),
    cy: (usize, i64, i64),
) -> f64 {
    let (ch, y, xx) = cy;
    if y < 0 || xx < 0 || y >= h as i64 || xx >= w as i64 {
        return 0.0;
    }
    assert!(ch < c);
    x[(ch * h * w + y as usize * w + xx as usize, j)]
}

/// A direct, loop-based convolution (cross-correlation) straight from its definition,
/// `Z_j[o, oy, ox] = b[o] + Σ W[o, c, ky, kx] X_j[c, oy·sh − ph + ky, ox·sw − pw + kx]`,
/// with `W[o, c, ky, kx]` read from the row-major `[out, in, kh, kw]` vector `w4`.
#[allow(clippy::too_many_arguments)]
fn naive_conv(
    x: &DMatrix<f64>,
    (c, h, w): (usize, usize, usize),
    w4: &[f64],
    b: &[f64],
    [kh, kw]: [usize; 2],
    [sh, sw]: [usize; 2],
    [ph, pw]: [usize; 2],
) -> DMatrix<f64> {
    let out = b.len();
    let oh = (h + 2 * ph - kh) / sh + 1;
    let ow = (w + 2 * pw - kw) / sw + 1;
    let mut z = DMatrix::zeros(out * oh * ow, x.ncols());
    for j in 0..x.ncols() {
        for o in 0..out {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = b[o];
                    for ci in 0..c {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let y = (oy * sh + ky) as i64 - ph as i64;
                                let xx = (ox * sw + kx) as i64 - pw as i64;
                                let wv = w4[((o * c + ci) * kh + ky) * kw + kx];
                                s += wv * pixel(x, j, (c, h, w), (ci, y, xx));
                            }
                        }
                    }
                    z[(o * oh * ow + oy * ow + ox, j)] = s;
                }
            }
        }
    }
    z
}

/// `W_mat: (out, in·kh·kw)` from the row-major `[out, in, kh, kw]` vector.
fn w_mat(w4: &[f64], out: usize) -> DMatrix<f64> {
    DMatrix::from_row_slice(out, w4.len() / out, w4)
}

/// Distinct inputs at least `1/n` apart (a shuffled grid), so that no max-pooling window
/// has a near tie that finite differences could cross.
fn separated(n: usize, m: usize, g: &mut Gen) -> DMatrix<f64> {
    let mut x = DMatrix::zeros(n, m);
    for j in 0..m {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, (g.next() * (i + 1) as f64) as usize % (i + 1));
        }
        for (i, &r) in order.iter().enumerate() {
            x[(i, j)] = -1.0 + 2.0 * r as f64 / n as f64;
        }
    }
    x
}

/// `(∂f/∂W, ∂f/∂b, ∂f/∂X)` reported by a layer's backward for `f = Σ R ∘ A` (with the
/// parameter gradients of `J = f/m`, as the `Layer` trait defines them).
fn layer_grads(
    layer: &mut dyn Layer<f64>,
    x: &DMatrix<f64>,
    r: &DMatrix<f64>,
) -> (Vec<DMatrix<f64>>, DMatrix<f64>) {
    layer.forward(x, Mode::Train).unwrap();
    let mut dx = DMatrix::zeros(0, 0);
    layer
        .backward(x, Upstream::Output(r), Some(&mut dx))
        .unwrap();
    let mut grads = Vec::new();
    grads.extend(layer.params().iter().map(|p| p.grad().clone()));
    (grads, dx)
}

const CONV_ACTIVATIONS: [Activation; 5] = [
    Activation::Identity,
    Activation::Tanh,
    Activation::Sigmoid,
    Activation::Softplus,
    Activation::Relu,
];

mod gradients {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Conv2d's dW, db and dX equal central finite differences for random channels,
        /// image sizes, rectangular kernels, strides, paddings and activations.
        #[test]
        fn conv2d_backward_matches_finite_differences(
            (h, kh, sh, ph) in axis(2),
            (w, kw, sw, pw) in axis(2),
            c in 1usize..=3,
            out in 1usize..=3,
            m in 1usize..=3,
            act in 0usize..CONV_ACTIVATIONS.len(),
            seed in any::<u64>(),
        ) {
            let mut g = Gen(seed);
            let act = CONV_ACTIVATIONS[act];
            let k = c * kh * kw;
            let make = |wm: DMatrix<f64>, b: DMatrix<f64>| {
                Conv2d::from_parameters(image(c, h, w), wm, b, ([kh, kw], [sh, sw], [ph, pw]), act).unwrap()
            };
            let w0 = g.matrix(out, k, -1.0, 1.0);
            let b0 = g.matrix(out, 1, -0.5, 0.5);
            let x = g.matrix(c * h * w, m, -1.0, 1.0);
            let mut conv = make(w0.clone(), b0.clone());
            let r = g.matrix(conv.output_shape().len(), m, -1.0, 1.0);
            let (grads, dx) = layer_grads(&mut conv, &x, &r);
            if act == Activation::Relu {
                // the stencil reaches 2h = 2e-4 from the point: stay off ReLU's kink
                let z = conv.pre_activation().unwrap();
                prop_assume!(z.iter().all(|v| v.abs() > 1e-2));
            }
            let inv_m = 1.0 / m as f64;
            let fw = |wm: &DMatrix<f64>| {
                let mut l = make(wm.clone(), b0.clone());
                l.forward(&x, Mode::Eval).unwrap();
                inv_m * weighted_sum(&r, l.output().unwrap())
            };
            let fb = |b: &DMatrix<f64>| {
                let mut l = make(w0.clone(), b.clone());
                l.forward(&x, Mode::Eval).unwrap();
                inv_m * weighted_sum(&r, l.output().unwrap())
            };
            let fx = |xv: &DMatrix<f64>| {
                let mut l = make(w0.clone(), b0.clone());
                l.forward(xv, Mode::Eval).unwrap();
                weighted_sum(&r, l.output().unwrap())
            };
            let label = format!("{conv} on {}×{h}×{w}, m = {m}", c);
            let rw = nn_core::gradcheck(fw, &w0, &grads[0]).unwrap();
            prop_assert!(rw.passes(1e-6), "dW of {label}: {rw}");
            let rb = nn_core::gradcheck(fb, &b0, &grads[1]).unwrap();
            prop_assert!(rb.passes(1e-6), "db of {label}: {rb}");
            let rx = nn_core::gradcheck(fx, &x, &dx).unwrap();
            prop_assert!(rx.passes(1e-6), "dX of {label}: {rx}");
        }

        /// Max and average pooling's dX equal finite differences (max-pooling inputs a
        /// shuffled grid, so no window has a tie within reach of the stencil).
        #[test]
        fn pooling_backward_matches_finite_differences(
            (h, kh, sh, _) in axis(0),
            (w, kw, sw, _) in axis(0),
            c in 1usize..=3,
            m in 1usize..=3,
            seed in any::<u64>(),
        ) {
            let mut g = Gen(seed);
            let shape = image(c, h, w);
            let x = separated(c * h * w, m, &mut g);
            let mut max = MaxPool2d::new(shape, [kh, kw], [sh, sw]).unwrap();
            let mut avg = AvgPool2d::new(shape, [kh, kw], [sh, sw]).unwrap();
            let mut flat = Flatten::new(shape).unwrap();
            let layers: [&mut dyn Layer<f64>; 3] = [&mut max, &mut avg, &mut flat];
            for layer in layers {
                let r = g.matrix(layer.output_shape().len(), m, -1.0, 1.0);
                let (grads, dx) = layer_grads(layer, &x, &r);
                prop_assert!(grads.is_empty());
                let probe = &*layer;
                let f = |xv: &DMatrix<f64>| weighted_sum(&r, &probe.infer(xv).unwrap());
                let rep = nn_core::gradcheck(f, &x, &dx).unwrap();
                prop_assert!(rep.passes(1e-6), "dX of {probe} on {shape}: {rep}");
            }
        }
    }

    /// The window geometry of pooling layer `i` of `net` over its input, for tie checks.
    fn pool_has_near_tie(net: &Network<f64>, i: usize, margin: f64) -> bool {
        let FeatureShape::Image {
            channels,
            height,
            width,
        } = net.layers()[i].input_shape()
        else {
            return false;
        };
        let Some(LayerRecord::Builtin(LayerSpec::MaxPool2d(MaxPool2dConfig { kernel, stride }))) =
            net.layers()[i].record()
        else {
            return false;
        };
        let a = net.layers()[i - 1].output().unwrap();
        let (oh, ow) = (
            (height - kernel[0]) / stride[0] + 1,
            (width - kernel[1]) / stride[1] + 1,
        );
        for j in 0..a.ncols() {
            for c in 0..channels {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut v: Vec<f64> = Vec::new();
                        for ky in 0..kernel[0] {
                            for kx in 0..kernel[1] {
                                let (y, x) = (oy * stride[0] + ky, ox * stride[1] + kx);
                                v.push(a[(c * height * width + y * width + x, j)]);
                            }
                        }
                        v.sort_by(|p, q| q.total_cmp(p));
                        if v.len() > 1 && v[0] != 0.0 && v[0] - v[1] < margin {
                            return true;
                        }
                    }
                }
            }
        }
        false
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// A mixed network — conv → (max or average pooling) → conv → flatten → dense —
        /// has whole-network gradients (every parameter, with and without L2) equal to
        /// finite differences of J.
        #[test]
        fn conv_dense_network_gradient_matches_finite_differences(
            (h, kh, sh, ph) in axis(1),
            (w, kw, sw, pw) in axis(1),
            c in 1usize..=2,
            filters in 1usize..=3,
            act in 0usize..CONV_ACTIVATIONS.len(),
            pool in 0usize..3,
            second_conv in any::<bool>(),
            loss in 0usize..3,
            l2 in prop_oneof![Just(0.0), 0.01f64..0.5],
            m in 1usize..=3,
            seed in any::<u64>(),
        ) {
            let mut g = Gen(seed);
            let act = CONV_ACTIVATIONS[act];
            let mut b = Network::<f64>::image_builder(c, h, w).layer(Conv2dConfig {
                out_channels: filters,
                kernel: [kh, kw],
                stride: [sh, sw],
                padding: [ph, pw],
                activation: act,
                init: None,
            });
            let (oh, ow) = ((h + 2 * ph - kh) / sh + 1, (w + 2 * pw - kw) / sw + 1);
            // overlapping 2×2 (or 2×1) pooling with stride 1 (fits when oh ≥ 2), or none
            if oh >= 2 {
                let kernel = [2, ow.min(2)];
                b = match pool {
                    0 => b.layer(MaxPool2dConfig { kernel, stride: [1, 1] }),
                    1 => b.layer(AvgPool2dConfig { kernel, stride: [1, 1] }),
                    _ => b,
                };
            }
            if second_conv {
                b = b.conv2d_strided(2, 1, 1, 1, Activation::Tanh);
            }
            let (loss, out_act, k) = [
                (Loss::Mse, Activation::Identity, 2),
                (Loss::CategoricalCrossEntropy, Activation::Softmax, 3),
                (Loss::BinaryCrossEntropy, Activation::Sigmoid, 1),
            ][loss];
            let mut net = b
                .flatten()
                .dense(k, out_act)
                .loss(loss)
                .l2(l2)
                .seed(seed)
                .build()
                .unwrap();
            let x = g.matrix(c * h * w, m, -1.0, 1.0);
            let y = match loss {
                Loss::CategoricalCrossEntropy => DMatrix::from_fn(k, m, |i, j| {
                    (i == (j + seed as usize) % k) as u8 as f64
                }),
                Loss::BinaryCrossEntropy => DMatrix::from_fn(k, m, |_, _| (g.next() < 0.5) as u8 as f64),
                _ => g.matrix(k, m, -1.0, 1.0),
            };
            net.forward(&x, Mode::Eval).unwrap();
            let relu_kink = net.layers().iter().any(|l| {
                l.activation() == Some(Activation::Relu)
                    && l.pre_activation().is_some_and(|z| z.iter().any(|v| v.abs() < 1e-3))
            });
            prop_assume!(!relu_kink);
            prop_assume!(!(1..net.layers().len()).any(|i| pool_has_near_tie(&net, i, 1e-3)));
            let reports = net.gradient_check(&x, &y, &GradCheck::default()).unwrap();
            prop_assert_eq!(reports.len(), 2 * (2 + second_conv as usize));
            for (name, rep) in &reports {
                prop_assert!(rep.passes(1e-6), "{name} of {net}: {rep}");
            }
        }
    }

    /// The check can fail: a conv weight gradient off by 1% in one entry is caught.
    #[test]
    fn a_wrong_conv_gradient_is_caught() {
        let mut g = Gen(4);
        let shape = image(2, 5, 4);
        let make = |wm: DMatrix<f64>| {
            Conv2d::from_parameters(
                shape,
                wm,
                DMatrix::zeros(3, 1),
                ([3, 2], [1, 2], [1, 0]),
                Activation::Tanh,
            )
            .unwrap()
        };
        let w0 = g.matrix(3, 12, -1.0, 1.0);
        let x = g.matrix(40, 2, -1.0, 1.0);
        let mut conv = make(w0.clone());
        let r = g.matrix(conv.output_shape().len(), 2, -1.0, 1.0);
        let (grads, _) = layer_grads(&mut conv, &x, &r);
        let f = |wm: &DMatrix<f64>| {
            let mut l = make(wm.clone());
            l.forward(&x, Mode::Eval).unwrap();
            0.5 * weighted_sum(&r, l.output().unwrap())
        };
        let good = nn_core::gradcheck(f, &w0, &grads[0]).unwrap();
        assert!(good.passes(1e-6), "{good}");
        let mut wrong = grads[0].clone();
        wrong[(1, 5)] *= 1.01;
        let bad = nn_core::gradcheck(f, &w0, &wrong).unwrap();
        assert!(!bad.passes(1e-6), "a 1% error passed: {bad}");
    }
}

mod forward {
    use super::*;

    /// An identity-activated convolution of `out` filters over `c×h×w` images with the
    /// `(kernel, stride, padding)` window, weights and bias uniform in ±1, `m` images
    /// uniform in ±2 from `seed`: the layer, the images, their direct convolution, and
    /// the weights as `[out, in, kh, kw]`.
    fn random_case(
        seed: u64,
        (c, h, w): (usize, usize, usize),
        out: usize,
        m: usize,
        ([kh, kw], stride, padding): ([usize; 2], [usize; 2], [usize; 2]),
        relu: bool,
    ) -> (Conv2d<f64>, DMatrix<f64>, DMatrix<f64>, Vec<f64>) {
        let mut g = Gen(seed);
        let w4: Vec<f64> = (0..out * c * kh * kw)
            .map(|_| g.uniform(-1.0, 1.0))
            .collect();
        let b: Vec<f64> = (0..out).map(|_| g.uniform(-1.0, 1.0)).collect();
        let x = g.matrix(c * h * w, m, -2.0, 2.0);
        let conv = Conv2d::from_parameters(
            image(c, h, w),
            w_mat(&w4, out),
            DMatrix::from_column_slice(out, 1, &b),
            ([kh, kw], stride, padding),
            if relu {
                Activation::Relu
            } else {
                Activation::Identity
            },
        )
        .unwrap();
        let mut expected = naive_conv(&x, (c, h, w), &w4, &b, [kh, kw], stride, padding);
        if relu {
            expected.apply(|v| *v = v.max(0.0));
        }
        (conv, x, expected, w4)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The im2col + GEMM forward equals the direct loop-based convolution to 1e-12,
        /// with no activation or a ReLU (which prediction applies as `Z` is written), and
        /// the `[out, in, kh, kw]` reading of the weights is PyTorch's.
        #[test]
        fn conv_forward_equals_direct_convolution(
            (h, kh, sh, ph) in axis(2),
            (w, kw, sw, pw) in axis(2),
            c in 1usize..=3,
            out in 1usize..=4,
            m in 1usize..=3,
            seed in any::<u64>(),
            relu in any::<bool>(),
        ) {
            let window = ([kh, kw], [sh, sw], [ph, pw]);
            let (mut conv, x, expected, w4) = random_case(seed, (c, h, w), out, m, window, relu);
            conv.forward(&x, Mode::Train).unwrap();
            prop_assert_eq!(conv.output().unwrap().shape(), expected.shape());
            let diff = (conv.output().unwrap() - &expected).amax();
            prop_assert!(diff <= 1e-12, "{conv}: max difference {diff:e}");
            let inferred = conv.infer(&x).unwrap();
            prop_assert!((inferred - &expected).amax() <= 1e-12);
            prop_assert_eq!(conv.weight_shape(), [out, c, kh, kw]);
            prop_assert_eq!(conv.params()[0].file_shape(), vec![out, c, kh, kw]);
            prop_assert_eq!(conv.params()[1].file_shape(), vec![out]);
            prop_assert_eq!(conv.weight(out - 1, c - 1, kh - 1, kw - 1), Some(*w4.last().unwrap()));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Output rows of every length the stride-1 unfolding moves as a block (up to 8,
        /// 16 and 32 values, and longer), with padding at both ends: the forward and the
        /// prediction equal the direct convolution to 1e-12, with no activation or a ReLU.
        #[test]
        fn conv_forward_on_wide_rows_equals_direct_convolution(
            out_w in prop::sample::select(vec![5usize, 8, 9, 16, 17, 31, 32, 33, 40]),
            (kw, pw) in (1usize..=3, 0usize..=2),
            c in 1usize..=2,
            out in 1usize..=3,
            m in 1usize..=3,
            seed in any::<u64>(),
            relu in any::<bool>(),
        ) {
            let (h, kh, ph) = (3, 2, 1);
            let w = out_w + kw - 1;
            prop_assume!(w > 2 * pw);
            let w = w - 2 * pw;
            let window = ([kh, kw], [1, 1], [ph, pw]);
            let (mut conv, x, expected, _) = random_case(seed, (c, h, w), out, m, window, relu);
            conv.forward(&x, Mode::Train).unwrap();
            let diff = (conv.output().unwrap() - &expected).amax();
            prop_assert!(diff <= 1e-12, "{conv}: max difference {diff:e}");
            prop_assert!((conv.infer(&x).unwrap() - &expected).amax() <= 1e-12);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// 2×2 pooling with stride 2 (its own loop) equals the definition on images of
        /// several channels and sizes, with ties (values from a small set): the maximum,
        /// the mean, and max-pooling's gradient routed to the first maximum in window
        /// order (top left, top right, bottom left, bottom right).
        #[test]
        fn two_by_two_pooling_equals_the_definition(
            c in 1usize..=3,
            oh in 1usize..=4,
            ow in 1usize..=5,
            m in 1usize..=3,
            seed in any::<u64>(),
        ) {
            let mut g = Gen(seed);
            let (h, w) = (2 * oh, 2 * ow);
            let x = DMatrix::from_fn(c * h * w, m, |_, _| (g.next() * 4.0).floor());
            let da = g.matrix(c * oh * ow, m, -1.0, 1.0);
            let mut max = MaxPool2d::<f64>::new(image(c, h, w), [2, 2], [2, 2]).unwrap();
            let avg = AvgPool2d::<f64>::new(image(c, h, w), [2, 2], [2, 2]).unwrap();
            max.forward(&x, Mode::Train).unwrap();
            let mut dx = DMatrix::zeros(0, 0);
            max.backward(&x, Upstream::Output(&da), Some(&mut dx)).unwrap();
            let mean = avg.infer(&x).unwrap();
            let mut expected_dx = DMatrix::zeros(c * h * w, m);
            for j in 0..m {
                for ch in 0..c {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let o = (ch * oh + oy) * ow + ox;
                            let at = |dy: usize, dx: usize| (ch * h + 2 * oy + dy) * w + 2 * ox + dx;
                            let window = [at(0, 0), at(0, 1), at(1, 0), at(1, 1)];
                            let mut best = window[0];
                            for &r in &window[1..] {
                                if x[(r, j)] > x[(best, j)] {
                                    best = r;
                                }
                            }
                            prop_assert_eq!(max.output().unwrap()[(o, j)], x[(best, j)]);
                            let sum: f64 = window.iter().map(|&r| x[(r, j)]).sum();
                            prop_assert_eq!(mean[(o, j)], sum * 0.25);
                            expected_dx[(best, j)] += da[(o, j)];
                        }
                    }
                }
            }
            prop_assert_eq!(dx, expected_dx);
        }
    }

    /// A batch whose unfolded input spans several chunks (a 1×30×30 image with padding 1
    /// unfolds to 28²·25 = 19,600 values for a 5×5 kernel, so 3 examples per chunk of at
    /// most 2¹⁶ values, and 7 examples make chunks of 3, 3 and 1) gives what each example gives alone: outputs, `dX`, and `dW`, `db`
    /// as the mean of the examples' own.
    #[test]
    fn chunked_unfolding_equals_one_example_at_a_time() {
        let mut g = Gen(11);
        let (m, out, geometry) = (7, 3, ([5, 5], [1, 1], [1, 1]));
        let w0 = g.matrix(out, 25, -1.0, 1.0);
        let b0 = g.matrix(out, 1, -0.5, 0.5);
        let make = || {
            Conv2d::from_parameters(
                image(1, 30, 30),
                w0.clone(),
                b0.clone(),
                geometry,
                Activation::Tanh,
            )
            .unwrap()
        };
        let x = g.matrix(900, m, -1.0, 1.0);
        let mut conv = make();
        let r = g.matrix(conv.output_shape().len(), m, -1.0, 1.0);
        let (grads, dx) = layer_grads(&mut conv, &x, &r);
        let (mut dw, mut db) = (DMatrix::zeros(out, 25), DMatrix::zeros(out, 1));
        for j in 0..m {
            let mut alone = make();
            let xj = x.columns(j, 1).into_owned();
            let (gj, dxj) = layer_grads(&mut alone, &xj, &r.columns(j, 1).into_owned());
            let zj = alone.output().unwrap();
            assert!((conv.output().unwrap().column(j) - zj.column(0)).amax() < 1e-12);
            assert!(
                (dx.column(j) - dxj.column(0)).amax() < 1e-12,
                "dX of example {j}"
            );
            dw += &gj[0] / m as f64;
            db += &gj[1] / m as f64;
        }
        assert!((&grads[0] - dw).amax() < 1e-12);
        assert!((&grads[1] - db).amax() < 1e-12);
        // The chunks' two halves on two threads: the same bits as on one.
        let mut two = make();
        let (grads2, dx2) =
            nn_train::nn_core::with_kernel_threads(2, || layer_grads(&mut two, &x, &r));
        assert_eq!(two.output(), conv.output());
        assert_eq!((grads2, dx2), (grads, dx));
    }

    /// Pooling against hand-computed values on one 1×4×4 image.
    #[test]
    fn pooling_values_by_hand() {
        #[rustfmt::skip]
        let img = [
            1.0, 2.0, 0.0, -1.0,
            3.0, 4.0, 5.0, 5.0,   // a tie: the first 5 is the arg-max
            -2.0, 0.0, 1.0, 1.0,
            0.0, 6.0, 2.0, 0.0,
        ];
        let x = DMatrix::from_column_slice(16, 1, &img);
        let shape = image(1, 4, 4);
        let mut max = MaxPool2d::<f64>::new(shape, [2, 2], [2, 2]).unwrap();
        max.forward(&x, Mode::Train).unwrap();
        assert_eq!(max.output().unwrap().as_slice(), &[4.0, 5.0, 6.0, 2.0]);
        let avg = AvgPool2d::<f64>::new(shape, [2, 2], [2, 2]).unwrap();
        assert_eq!(avg.infer(&x).unwrap().as_slice(), &[2.5, 2.25, 1.0, 1.0]);
        // Max-pooling's gradient goes to the first maximum only.
        let da = DMatrix::from_column_slice(4, 1, &[1.0, 2.0, 3.0, 4.0]);
        let mut dx = DMatrix::zeros(0, 0);
        max.backward(&x, Upstream::Output(&da), Some(&mut dx))
            .unwrap();
        #[rustfmt::skip]
        let expected = [
            0.0, 0.0, 0.0, 0.0,
            0.0, 1.0, 2.0, 0.0,
            0.0, 0.0, 0.0, 0.0,
            0.0, 3.0, 4.0, 0.0,
        ];
        assert_eq!(dx.as_slice(), &expected);
        // Overlapping windows (stride 1) add their shares.
        let overlap = MaxPool2d::<f64>::new(shape, [2, 2], [1, 1]).unwrap();
        assert_eq!(overlap.output_shape(), image(1, 3, 3));
    }
}

mod translation {
    use super::*;

    /// An L-shaped 3×3 pattern.
    const PATTERN: [f64; 9] = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0];

    fn scene(size: usize, at: (usize, usize), noise: &[f64]) -> DMatrix<f64> {
        let mut x = DMatrix::from_column_slice(size * size, 1, noise);
        for ky in 0..3 {
            for kx in 0..3 {
                x[((at.0 + ky) * size + at.1 + kx, 0)] += PATTERN[ky * 3 + kx];
            }
        }
        x
    }

    /// T12's core property: a convolution shifts with its input (equivariance), and a
    /// convolution followed by a global max-pool responds to a pattern identically
    /// wherever it is placed (invariance), while a shifted non-pattern scores lower.
    #[test]
    fn conv_with_global_max_pool_detects_a_pattern_anywhere() {
        const N: usize = 10;
        let mut net = Network::<f64>::image_builder(1, N, N)
            .layer(Conv2dConfig {
                out_channels: 1,
                kernel: [3, 3],
                stride: [1, 1],
                padding: [0, 0],
                activation: Activation::Identity,
                init: None,
            })
            .layer(MaxPool2dConfig {
                kernel: [N - 2, N - 2],
                stride: [N - 2, N - 2],
            })
            .flatten()
            .loss(Loss::Mse)
            .build()
            .unwrap();
        // The filter is the pattern, centred: a matched filter.
        let filter: Vec<f64> = PATTERN.iter().map(|v| v - 5.0 / 9.0).collect();
        net.set_param("layers.0.weight", DMatrix::from_row_slice(1, 9, &filter))
            .unwrap();
        let zeros = vec![0.0; N * N];
        let reference = net.predict(&scene(N, (0, 0), &zeros)).unwrap()[(0, 0)];
        assert!(reference > 2.0, "matched response {reference}");
        for y in 0..=N - 3 {
            for x in 0..=N - 3 {
                let r = net.predict(&scene(N, (y, x), &zeros)).unwrap()[(0, 0)];
                assert!(
                    (r - reference).abs() <= 1e-12,
                    "at ({y}, {x}): {r} vs {reference}"
                );
            }
        }
        // Equivariance on a noisy background: shifting the input by (dy, dx) shifts the
        // feature map by the same amount (compared where both maps are defined).
        let mut g = Gen(8);
        let noise: Vec<f64> = (0..N * N).map(|_| g.uniform(-0.3, 0.3)).collect();
        let conv = &net.layers()[0];
        let shifted_noise: Vec<f64> = (0..N * N)
            .map(|i| {
                let (y, x) = (i / N, i % N);
                if y >= 2 && x >= 1 {
                    noise[(y - 2) * N + x - 1]
                } else {
                    0.0
                }
            })
            .collect();
        let a = conv.infer(&scene(N, (1, 2), &noise)).unwrap();
        let b = conv.infer(&scene(N, (3, 3), &shifted_noise)).unwrap();
        let m = N - 2;
        for y in 0..m - 2 {
            for x in 0..m - 1 {
                let (va, vb) = (a[(y * m + x, 0)], b[((y + 2) * m + x + 1, 0)]);
                assert!((va - vb).abs() <= 1e-12, "({y}, {x}): {va} vs {vb}");
            }
        }
        // A different pattern (its mirror image) anywhere scores lower.
        let mut mirrored = vec![0.0; N * N];
        for ky in 0..3 {
            for kx in 0..3 {
                mirrored[(4 + ky) * N + 4 + 2 - kx] = PATTERN[ky * 3 + kx];
            }
        }
        let other = net
            .predict(&DMatrix::from_column_slice(N * N, 1, &mirrored))
            .unwrap()[(0, 0)];
        assert!(
            other < reference - 0.5,
            "mirror {other} vs pattern {reference}"
        );
    }
}

mod building {
    use super::*;

    fn layer_of(err: TrainError) -> (usize, String) {
        match err {
            TrainError::InvalidArchitecture { layer, problem, .. } => (layer, problem),
            other => panic!("expected InvalidArchitecture, found {other:?}"),
        }
    }

    fn build(b: NetworkBuilder<f32>) -> Result<Network<f32>> {
        b.loss(Loss::CategoricalCrossEntropy).build()
    }

    /// The network builds, with the shapes and counts PyTorch would give.
    #[test]
    fn the_small_cnn_builds_with_its_shapes() {
        let net = build(
            Network::image_builder(1, 8, 8)
                .conv2d(8, 3, Activation::Relu)
                .max_pool(2)
                .flatten()
                .dense(10, Activation::Softmax),
        )
        .unwrap();
        let shapes: Vec<String> = net
            .layers()
            .iter()
            .map(|l| l.output_shape().to_string())
            .collect();
        assert_eq!(shapes, ["8×6×6", "8×3×3", "72", "10"]);
        assert_eq!(net.param_count(), 8 * 9 + 8 + 72 * 10 + 10);
        assert_eq!(
            net.to_string(),
            "Network(input 1×8×8 → Conv2d(1→8, 3×3, relu) → MaxPool2d(2×2) → Flatten(8×3×3→72) \
             → Dense(72→10, softmax); loss categorical_cross_entropy)"
        );
        assert_eq!(net.layers()[0].params()[0].file_shape(), [8, 1, 3, 3]);
        assert_eq!(net.layers()[3].params()[0].file_shape(), [10, 72]);
        let summary = net.summary();
        assert!(summary.contains("Conv2d(1→8, 3×3, relu)") && summary.contains("8×6×6"));
        let spec = LayerSpec::Conv2d(Conv2dConfig {
            out_channels: 4,
            kernel: [3, 2],
            stride: [2, 1],
            padding: [1, 0],
            activation: Activation::Tanh,
            init: None,
        });
        assert_eq!(
            spec.to_string(),
            "Conv2d(4, 3×2, stride 2×1, padding 1×0, tanh)"
        );
        assert_eq!(LayerSpec::Flatten(FlattenConfig {}).to_string(), "Flatten");
    }

    /// Shapes that do not fit are build-time errors naming the layer and the fix.
    #[test]
    fn bad_geometry_is_a_build_error_naming_the_layer() {
        let cases: Vec<(NetworkBuilder<f32>, usize, &str)> = vec![
            (
                Network::image_builder(1, 8, 8)
                    .conv2d(4, 3, Activation::Relu)
                    .conv2d(4, 7, Activation::Relu)
                    .flatten()
                    .dense(10, Activation::Softmax),
                1,
                "larger than the input",
            ),
            (
                Network::image_builder(1, 8, 8)
                    .conv2d(4, 3, Activation::Relu)
                    .max_pool(2)
                    .max_pool(2)
                    .flatten()
                    .dense(10, Activation::Softmax),
                2,
                "stride 2 does not fit",
            ),
            (
                Network::image_builder(1, 8, 8)
                    .conv2d_strided(4, 3, 2, 0, Activation::Relu)
                    .flatten()
                    .dense(10, Activation::Softmax),
                0,
                "never read the last 1",
            ),
            (
                Network::image_builder(1, 8, 8)
                    .conv2d(4, 3, Activation::Relu)
                    .dense(10, Activation::Softmax),
                1,
                "add a flatten layer",
            ),
            (
                Network::builder(64)
                    .conv2d(4, 3, Activation::Relu)
                    .flatten()
                    .dense(10, Activation::Softmax),
                0,
                "image_builder",
            ),
            (
                Network::image_builder(1, 8, 8)
                    .flatten()
                    .max_pool(2)
                    .dense(10, Activation::Softmax),
                1,
                "flat vector of 64",
            ),
            (
                Network::image_builder(1, 8, 8)
                    .conv2d(0, 3, Activation::Relu)
                    .flatten()
                    .dense(10, Activation::Softmax),
                0,
                "at least one output channel",
            ),
            (
                Network::image_builder(1, 8, 8)
                    .layer(MaxPool2dConfig {
                        kernel: [2, 2],
                        stride: [0, 2],
                    })
                    .flatten()
                    .dense(10, Activation::Softmax),
                0,
                "at least 1",
            ),
        ];
        for (b, layer, needle) in cases {
            let (found, problem) = layer_of(build(b).unwrap_err());
            assert_eq!(found, layer, "{problem}");
            assert!(problem.contains(needle), "{problem:?} lacks {needle:?}");
        }
        // Stride 2 with padding 1 on an even size reads every pixel (PyTorch's
        // downsampling convolution) and is accepted.
        let ok = build(
            Network::image_builder(3, 8, 8)
                .conv2d_strided(4, 3, 2, 1, Activation::Relu)
                .flatten()
                .dense(10, Activation::Softmax),
        )
        .unwrap();
        assert_eq!(ok.layers()[0].output_shape(), image(4, 4, 4));
    }

    /// Data of the wrong size and bad constructor arguments are errors, not panics.
    #[test]
    fn bad_input_is_an_error() {
        let mut net = Network::<f64>::image_builder(1, 4, 4)
            .conv2d(2, 3, Activation::Tanh)
            .flatten()
            .dense(1, Activation::Sigmoid)
            .loss(Loss::BinaryCrossEntropy)
            .build()
            .unwrap();
        assert!(matches!(
            net.forward(&DMatrix::zeros(15, 2), Mode::Train),
            Err(TrainError::BadShape { .. })
        ));
        let conv = &mut net.layers_mut()[0];
        assert!(conv.forward(&DMatrix::zeros(3, 1), Mode::Train).is_err());
        assert!(conv.set_param("weight", DMatrix::zeros(2, 8)).is_err());
        assert!(conv.set_param("kernel", DMatrix::zeros(2, 9)).is_err());
        let shape = image(1, 4, 4);
        assert!(
            Conv2d::<f64>::from_parameters(
                FeatureShape::Flat(16),
                DMatrix::zeros(1, 9),
                DMatrix::zeros(1, 1),
                ([3, 3], [1, 1], [0, 0]),
                Activation::Relu
            )
            .is_err()
        );
        assert!(
            Conv2d::<f64>::from_parameters(
                shape,
                DMatrix::zeros(1, 9),
                DMatrix::zeros(2, 1),
                ([3, 3], [1, 1], [0, 0]),
                Activation::Relu
            )
            .is_err()
        );
        assert!(
            Conv2d::<f64>::from_parameters(
                shape,
                DMatrix::from_element(1, 9, f64::NAN),
                DMatrix::zeros(1, 1),
                ([3, 3], [1, 1], [0, 0]),
                Activation::Relu
            )
            .is_err()
        );
        assert!(MaxPool2d::<f64>::new(shape, [5, 5], [1, 1]).is_err());
        assert!(AvgPool2d::<f64>::new(FeatureShape::Flat(4), [1, 1], [1, 1]).is_err());
        let mut pool = MaxPool2d::<f64>::new(shape, [2, 2], [2, 2]).unwrap();
        let x = DMatrix::zeros(16, 2);
        pool.forward(&x, Mode::Train).unwrap();
        let mut dx = DMatrix::zeros(0, 0);
        let wrong = DMatrix::zeros(4, 3);
        assert!(
            pool.backward(&x, Upstream::Output(&wrong), Some(&mut dx))
                .is_err()
        );
        assert!(
            pool.backward(&x, Upstream::PreActivation(&wrong), Some(&mut dx))
                .is_err()
        );
    }
}

mod training {
    use super::*;

    /// 6×6 images with a 3-pixel bar at a random place: label 0 horizontal, 1 vertical.
    fn bars(m: usize, seed: u64) -> (DMatrix<f32>, DMatrix<f32>) {
        let mut g = Gen(seed);
        let mut x = DMatrix::from_fn(36, m, |_, _| g.uniform(0.0, 0.2) as f32);
        let mut y = DMatrix::zeros(2, m);
        for j in 0..m {
            let vertical = j % 2;
            let (a, b) = ((g.next() * 4.0) as usize, (g.next() * 6.0) as usize);
            for t in 0..3 {
                let (row, col) = if vertical == 1 {
                    (a + t, b)
                } else {
                    (b, a + t)
                };
                x[(row * 6 + col, j)] = 1.0;
            }
            y[(vertical, j)] = 1.0;
        }
        (x, y)
    }

    fn cnn(seed: u64) -> Network<f32> {
        Network::image_builder(1, 6, 6)
            .conv2d(4, 3, Activation::Relu)
            .max_pool(2)
            .flatten()
            .dense(2, Activation::Softmax)
            .loss(Loss::CategoricalCrossEntropy)
            .seed(seed)
            .build()
            .unwrap()
    }

    /// Every optimizer trains a small CNN to tell horizontal from vertical bars placed
    /// anywhere, on held-out images.
    #[test]
    fn every_optimizer_trains_a_cnn() {
        let (x, y) = bars(128, 1);
        let (xt, yt) = bars(64, 2);
        for optimizer in [
            Optimizer::sgd(0.5),
            Optimizer::momentum(0.1),
            Optimizer::nesterov(0.1),
            Optimizer::rmsprop(0.01),
            Optimizer::adam(0.02),
            Optimizer::adamw(0.02),
        ] {
            let mut net = cnn(3);
            let before = net.evaluate(&xt, &yt).unwrap();
            let config = FitConfig {
                epochs: 30,
                batch_size: 16,
                optimizer,
                ..FitConfig::default()
            };
            fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap();
            let after = net.evaluate(&xt, &yt).unwrap();
            assert!(
                after.accuracy.unwrap() >= 0.95 && after.cost < 0.5 * before.cost,
                "{optimizer:?}: test accuracy {:?}, cost {} → {}",
                after.accuracy,
                before.cost,
                after.cost
            );
        }
    }
}

/// `Network::predict` of a small CNN computes one example per vector lane
/// (`src/layers/lanes.rs`): against the layers' batched inference, and independent of how
/// the batch is grouped or split across threads.
mod lanes {
    use super::*;

    /// The layers' own batched inference, one after the other.
    fn layer_by_layer(net: &Network<f64>, x: &DMatrix<f64>) -> DMatrix<f64> {
        let mut a = x.clone();
        for layer in net.layers().iter().filter(|l| l.output().is_some()) {
            a = layer.infer(&a).unwrap();
        }
        a
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Convolutions of 1–11 filters (the kernel's blocks of 8, 4 and 1), strides and
        /// padding, tanh or a ReLU (applied as the sums are stored), both poolings (1×1 and
        /// 2×2), dropout, and a dense softmax output.
        #[test]
        fn predictions_in_lanes_equal_the_batched_layers(
            (c, h, w) in (1usize..=3, 6usize..=9, 6usize..=9),
            (filters, kernel, stride, padding) in (1usize..=11, 1usize..=3, 1usize..=2, 0usize..=1),
            (max, pool, relu) in (any::<bool>(), 1usize..=2, any::<bool>()),
            m in 1usize..=40,
            seed in any::<u64>(),
        ) {
            let fits = |n: usize| {
                (n + 2 * padding - kernel).is_multiple_of(stride)
                    && ((n + 2 * padding - kernel) / stride + 1).is_multiple_of(pool)
            };
            prop_assume!(fits(h) && fits(w));
            let g = if relu { Activation::Relu } else { Activation::Tanh };
            let builder = Network::<f64>::image_builder(c, h, w)
                .conv2d_strided(filters, kernel, stride, padding, g);
            let builder = if max { builder.max_pool(pool) } else { builder.avg_pool(pool) };
            let net = builder.dropout(0.2).flatten().dense(5, Activation::Relu)
                .dense(3, Activation::Softmax).seed(seed).build().unwrap();
            let mut g = Gen(seed);
            let x = g.matrix(c * h * w, m, -1.0, 1.0);
            let predicted = net.predict(&x).unwrap();
            let reference = layer_by_layer(&net, &x);
            prop_assert!((&predicted - &reference).amax() < 1e-12, "{net}");
            // Any block of columns gives the same bits as in the whole batch.
            let (start, len) = (m / 3, m - m / 3);
            let part = net.predict(&x.columns(start, len).into_owned()).unwrap();
            prop_assert_eq!(part, predicted.columns(start, len).into_owned());
            let mut buffers = PredictBuffers::default();
            prop_assert_eq!(net.predict_into(&x, &mut buffers).unwrap(), &predicted);
        }
    }

    /// 2×2 pooling after the convolution, f32, and a batch large enough to be split across
    /// threads: the same bits on 1, 2 and 3 threads, within 1e-5 of the batched layers.
    #[test]
    fn predictions_in_lanes_are_the_same_bits_on_any_thread_count() {
        let mut net = Network::<f32>::image_builder(1, 8, 8)
            .conv2d(16, 3, Activation::Relu)
            .max_pool(2)
            .flatten()
            .dense(10, Activation::Softmax)
            .seed(3)
            .build()
            .unwrap();
        let mut g = Gen(5);
        let x = g.matrix(64, 1000, 0.0, 1.0).cast::<f32>();
        let one = net.predict(&x).unwrap();
        let mut a = x.clone();
        for layer in net.layers().iter().filter(|l| l.output().is_some()) {
            a = layer.infer(&a).unwrap();
        }
        assert!((&one - &a).amax() < 1e-5);
        for threads in [2, 3] {
            net.set_threads(threads);
            assert_eq!(net.predict(&x).unwrap(), one, "{threads} threads");
        }
        // NaN in the inputs is still an error naming its place.
        let mut bad = x.clone();
        bad[(7, 900)] = f32::NAN;
        let err = net.predict(&bad).unwrap_err().to_string();
        assert!(err.contains("row 7") && err.contains("900"), "{err}");
    }
}

mod threads {
    use super::*;

    /// Shares go through the image layers too (and dropout between them): training a CNN
    /// gives the same bits on 1, 2, 3 and 7 threads.
    #[test]
    fn a_cnn_trains_to_the_same_bits_on_1_2_3_and_7_threads() {
        let mut g = Gen(23);
        let x = g.matrix(64, 1088, 0.0, 1.0).cast::<f32>();
        let y = DMatrix::from_fn(3, 1088, |i, j| (j % 3 == i) as u8 as f32);
        let build = || {
            Network::<f32>::image_builder(1, 8, 8)
                .conv2d_strided(8, 3, 1, 1, Activation::Relu)
                .avg_pool(2)
                .dropout(0.2)
                .flatten()
                .dense(256, Activation::Tanh)
                .dense(3, Activation::Softmax)
                .loss(Loss::CategoricalCrossEntropy)
                .seed(4)
                .build()
                .unwrap()
        };
        // 1088 = 1024 (two shares) + a partial batch of 64 (one)
        assert_eq!(build().training_shares(1024), 2);
        let run = |threads: usize| {
            let mut net = build();
            let config = FitConfig {
                epochs: 2,
                batch_size: 1024,
                optimizer: Optimizer::sgd(0.1),
                threads: Some(threads),
                ..FitConfig::default()
            };
            fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap();
            let params = net.snapshot();
            params
                .iter()
                .flat_map(|p| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        };
        let one = run(1);
        for threads in [2, 3, 7] {
            assert!(run(threads) == one, "{threads} threads differ from one");
        }
    }
}

mod persistence {
    use super::*;
    use nn_train::persist::{
        load_checkpoint, load_model, model_from_bytes, model_to_bytes, save_checkpoint, save_model,
    };

    use crate::data::temp_path;

    fn bits<T: Scalar>(m: &DMatrix<T>) -> Vec<u64> {
        m.iter().map(|v| v.to_f64().to_bits()).collect()
    }

    fn same_params<T: Scalar>(a: &Network<T>, b: &Network<T>) -> bool {
        let (pa, pb) = (a.named_params(), b.named_params());
        pa.len() == pb.len()
            && pa.iter().zip(&pb).all(|((na, ta), (nb, tb))| {
                na == nb && ta.shape() == tb.shape() && bits(ta) == bits(tb)
            })
    }

    /// Every image layer kind, a rectangular strided padded kernel, an explicit
    /// initializer, dropout between them.
    fn cnn<T: Scalar>(seed: u64) -> Network<T> {
        Network::<T>::image_builder(2, 7, 7)
            .layer(Conv2dConfig {
                out_channels: 3,
                kernel: [3, 2],
                stride: [2, 1],
                padding: [1, 0],
                activation: Activation::Tanh,
                init: Some(Init::GlorotUniform),
            })
            .max_pool(2)
            .dropout(0.2)
            .conv2d(4, 1, Activation::Relu)
            .layer(AvgPool2dConfig {
                kernel: [2, 1],
                stride: [1, 1],
            })
            .flatten()
            .dense(3, Activation::Softmax)
            .loss(Loss::CategoricalCrossEntropy)
            .seed(seed)
            .build()
            .unwrap()
    }

    fn data<T: Scalar>(m: usize) -> (DMatrix<T>, DMatrix<T>) {
        let mut g = Gen(17);
        let x = DMatrix::from_fn(98, m, |_, _| T::cast(g.uniform(-1.0, 1.0)));
        let y = DMatrix::from_fn(3, m, |i, j| T::cast((j % 3 == i) as u8 as f64));
        (x, y)
    }

    fn round_trip<T: Scalar>() {
        let (x, y) = data::<T>(24);
        let mut net = cnn::<T>(6);
        let config = FitConfig {
            epochs: 2,
            batch_size: 8,
            optimizer: Optimizer::adam(0.01),
            ..FitConfig::default()
        };
        fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap();
        let path = temp_path(&format!("cnn-{}.safetensors", T::NAME));
        save_model(&path, &net, None).unwrap();
        let loaded = load_model::<T>(&path).unwrap().network;
        std::fs::remove_file(&path).unwrap();
        assert_eq!(loaded.records().unwrap(), net.records().unwrap());
        assert_eq!(loaded.input_shape(), net.input_shape());
        assert!(same_params(&net, &loaded), "{}: parameters differ", T::NAME);
        assert_eq!(
            bits(&net.predict(&x).unwrap()),
            bits(&loaded.predict(&x).unwrap())
        );
        assert_eq!(
            model_to_bytes(&net, None).unwrap(),
            model_to_bytes(&loaded, None).unwrap()
        );
    }

    /// A CNN saved and loaded has bit-identical parameters and predictions, in f32 and f64.
    #[test]
    fn cnn_save_then_load_is_bit_identical() {
        round_trip::<f32>();
        round_trip::<f64>();
    }

    /// Conv weights are stored as 4-D `[out, in, kh, kw]` tensors in row-major order —
    /// PyTorch's `nn.Conv2d.weight` — and biases as `[out]`; pooling and flatten store
    /// nothing; the architecture JSON names every layer.
    #[test]
    fn conv_weights_are_pytorch_tensors_in_the_file() {
        let mut net = Network::<f32>::image_builder(2, 3, 3)
            .conv2d(2, 2, Activation::Identity)
            .max_pool(2)
            .flatten()
            .dense(1, Activation::Identity)
            .loss(Loss::Mse)
            .build()
            .unwrap();
        // W[o, c, ky, kx] = 1000 o + 100 c + 10 ky + kx: its row-major order is increasing.
        let w4: Vec<f32> = (0..2)
            .flat_map(|o| {
                (0..2).flat_map(move |c| {
                    (0..2).flat_map(move |ky| {
                        (0..2).map(move |kx| (1000 * o + 100 * c + 10 * ky + kx) as f32)
                    })
                })
            })
            .collect();
        net.set_param("layers.0.weight", DMatrix::from_row_slice(2, 8, &w4))
            .unwrap();
        net.set_param(
            "layers.0.bias",
            DMatrix::from_column_slice(2, 1, &[0.5, -0.5]),
        )
        .unwrap();
        let bytes = model_to_bytes(&net, None).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let h: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        assert_eq!(
            h["layers.0.weight"]["shape"],
            serde_json::json!([2, 2, 2, 2])
        );
        assert_eq!(h["layers.0.bias"]["shape"], serde_json::json!([2]));
        assert_eq!(h["layers.3.weight"]["shape"], serde_json::json!([1, 2]));
        assert!(h.get("layers.1.weight").is_none() && h.get("layers.2.weight").is_none());
        let [start, end] = [0, 1]
            .map(|k| 8 + n + h["layers.0.weight"]["data_offsets"][k].as_u64().unwrap() as usize);
        let stored: Vec<f32> = bytes[start..end]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(stored, w4, "row-major [out, in, kh, kw]");
        let conv = &net.layers()[0];
        assert_eq!(conv.params()[0].file_shape(), [2, 2, 2, 2]);
        let arch: serde_json::Value =
            serde_json::from_str(h["__metadata__"]["nn.architecture"].as_str().unwrap()).unwrap();
        assert_eq!(arch["input"], serde_json::json!({"image": [2, 3, 3]}));
        assert_eq!(
            arch["layers"],
            serde_json::json!([
                {"type": "conv2d", "out_channels": 2, "kernel": [2, 2], "stride": [1, 1],
                 "padding": [0, 0], "activation": "identity", "init": null},
                {"type": "max_pool2d", "kernel": [2, 2], "stride": [2, 2]},
                {"type": "flatten"},
                {"type": "dense", "units": 1, "activation": "identity", "init": null},
            ])
        );
        let back = model_from_bytes::<f32>(&bytes, "cnn").unwrap().network;
        assert_eq!(
            back.layers()[0].params()[0].value(),
            net.layers()[0].params()[0].value()
        );
    }

    /// Every image layer spec survives JSON, and malformed image-layer JSON is an error
    /// naming the layer and what is wrong.
    #[test]
    fn image_layer_specs_round_trip_through_json() {
        let specs = [
            LayerSpec::Conv2d(Conv2dConfig {
                out_channels: 5,
                kernel: [3, 1],
                stride: [2, 1],
                padding: [1, 0],
                activation: Activation::LeakyRelu { slope: 0.2 },
                init: Some(Init::HeUniform { slope: 0.2 }),
            }),
            LayerSpec::MaxPool2d(MaxPool2dConfig {
                kernel: [2, 3],
                stride: [1, 3],
            }),
            LayerSpec::AvgPool2d(AvgPool2dConfig {
                kernel: [2, 2],
                stride: [2, 2],
            }),
            LayerSpec::Flatten(FlattenConfig {}),
        ];
        for spec in specs {
            assert_eq!(LayerSpec::from_json(&spec.to_json(), 0).unwrap(), spec);
        }
        let bad = [
            (
                serde_json::json!({"type": "conv2d", "out_channels": 2, "kernel": [3],
                "stride": [1, 1], "padding": [0, 0], "activation": "relu"}),
                "invalid length 1, expected an array of length 2",
            ),
            (
                serde_json::json!({"type": "max_pool2d", "kernel": [2, 2]}),
                "missing field `stride`",
            ),
            (
                serde_json::json!({"type": "avg_pool2d", "kernel": [2, -1], "stride": [1, 1]}),
                "integer `-1`, expected usize",
            ),
            (
                serde_json::json!({"type": "conv2d", "out_channels": 2, "kernel": [3, 3],
                "stride": [1, 1], "padding": [0, 0], "activation": "nope"}),
                "activation",
            ),
            (serde_json::json!({"kind": "dense"}), "missing field `type`"),
        ];
        for (v, needle) in bad {
            match LayerSpec::from_json(&v, 4) {
                Err(TrainError::InvalidArchitecture {
                    layer: 4, problem, ..
                }) => {
                    assert!(problem.contains(needle), "{problem:?} lacks {needle:?}");
                }
                other => panic!("{v}: expected an error naming layer 4, found {other:?}"),
            }
        }
        // A type this build does not know is a format error naming it and the known ones.
        let err = LayerSpec::from_json(&serde_json::json!({"type": "pool"}), 4).unwrap_err();
        let TrainError::Format(FormatError::UnknownLayerType {
            layer: 4,
            found,
            known,
            ..
        }) = &err
        else {
            panic!("expected an unknown layer type naming layer 4, found {err:?}");
        };
        assert_eq!(found, "pool");
        assert!(known.iter().any(|k| k == "max_pool2d"), "{known:?}");
        assert!(
            err.to_string()
                .contains("unknown layer type `pool`; this build knows `dense`"),
            "{err}"
        );
    }

    /// Training a CNN (with dropout) for 2 epochs, checkpointing, and 2 more from the loaded
    /// checkpoint equals 4 epochs without stopping, bit for bit.
    #[test]
    fn cnn_resumes_from_a_checkpoint_bit_identically() {
        let (x, y) = data::<f64>(20);
        let config = FitConfig {
            epochs: 4,
            batch_size: 6,
            optimizer: Optimizer::adamw(0.01),
            seed: 3,
            ..FitConfig::default()
        };
        let mut full = cnn::<f64>(2);
        Trainer::new(config)
            .unwrap()
            .fit(&mut full, (&x, &y), None, &mut Silent)
            .unwrap();

        struct StopAfter2;
        impl Observer for StopAfter2 {
            fn on_epoch(&mut self, record: &EpochRecord) -> Control {
                if record.epoch == 1 {
                    Control::Stop
                } else {
                    Control::Continue
                }
            }
        }
        let mut first = cnn::<f64>(2);
        let mut trainer = Trainer::new(config).unwrap();
        trainer
            .fit(&mut first, (&x, &y), None, &mut StopAfter2)
            .unwrap();
        let path = temp_path("cnn-checkpoint.safetensors");
        save_checkpoint(&path, &first, &trainer, None).unwrap();
        let mut ck = load_checkpoint::<f64>(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        ck.trainer
            .fit(&mut ck.network, (&x, &y), None, &mut Silent)
            .unwrap();
        assert!(same_params(&full, &ck.network), "resumed CNN differs");
    }
}

mod allocation {
    //! A counting global allocator (per thread, so parallel tests do not interfere) shows
    //! that a CNN's training step allocates nothing after warm-up.

    use super::*;
    use nn_core::testing::{CountingAllocator, allocations_on_this_thread as allocations};

    #[global_allocator]
    static GLOBAL: CountingAllocator = CountingAllocator;

    /// After a full batch and a partial one, every image layer's forward and backward
    /// allocate nothing, at either batch size (whole training steps of CNNs are counted in
    /// `tests/alloc.rs`).
    #[test]
    fn image_layers_do_not_allocate_after_warm_up() {
        let mut net = Network::<f32>::image_builder(2, 8, 6)
            .conv2d_strided(4, 3, 1, 1, Activation::Relu)
            .max_pool(2)
            .layer(Conv2dConfig {
                out_channels: 3,
                kernel: [2, 3],
                stride: [1, 1],
                padding: [0, 0],
                activation: Activation::Tanh,
                init: None,
            })
            .layer(AvgPool2dConfig {
                kernel: [2, 1],
                stride: [1, 1],
            })
            .flatten()
            .dense(3, Activation::Softmax)
            .loss(Loss::CategoricalCrossEntropy)
            .build()
            .unwrap();
        let x = DMatrix::from_fn(96, 16, |i, j| ((i * 7 + j * 3) % 11) as f32 / 11.0 - 0.5);
        let batches = [x.clone(), x.columns(0, 5).into_owned()];
        let image_layers = net.layers().len() - 1;
        for (i, layer) in net.layers_mut()[..image_layers].iter_mut().enumerate() {
            // this layer's inputs and upstream gradients at both batch sizes
            let inputs: Vec<DMatrix<f32>> = batches
                .iter()
                .map(|b| {
                    DMatrix::from_fn(layer.input_shape().len(), b.ncols(), |r, c| {
                        ((r * 5 + c * 3 + i) % 13) as f32 / 13.0 - 0.4
                    })
                })
                .collect();
            let ups: Vec<DMatrix<f32>> = inputs
                .iter()
                .map(|x| {
                    DMatrix::from_fn(layer.output_shape().len(), x.ncols(), |r, c| {
                        ((r + 2 * c) % 7) as f32 / 7.0 - 0.5
                    })
                })
                .collect();
            let mut dx = DMatrix::zeros(0, 0);
            let mut step = |layer: &mut Box<dyn Layer<f32>>, k: usize| {
                layer.forward(&inputs[k], Mode::Train).unwrap();
                layer
                    .backward(&inputs[k], Upstream::Output(&ups[k]), Some(&mut dx))
                    .unwrap();
            };
            step(layer, 0);
            step(layer, 1);
            let before = allocations();
            for _ in 0..3 {
                step(layer, 0);
                step(layer, 1);
            }
            let n = allocations() - before;
            assert_eq!(n, 0, "{layer}: {n} allocations in 6 steps after warm-up");
        }
        // The counter works: a prediction allocates.
        let before = allocations();
        let p = net.predict(&x).unwrap();
        assert!(allocations() > before && p.nrows() == 3);
    }
}
