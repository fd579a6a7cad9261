//! nn-train's tests: whole-network gradients against finite differences, the tutorial's
//! claims at unit level (T1, T2, T5), optimizers, the training loop, and bad input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use nalgebra::DMatrix;
use nn_train::nn_core::GradCheck;
use nn_train::*;
use proptest::prelude::*;

#[path = "suite/conv.rs"]
mod conv;
#[path = "suite/data.rs"]
mod data;
#[path = "suite/errors.rs"]
mod error_types;
#[path = "suite/forms.rs"]
mod forms;
#[path = "suite/layers.rs"]
mod layers;
#[path = "suite/persist.rs"]
mod persist;
#[path = "suite/reports.rs"]
mod reports;
#[path = "suite/trust.rs"]
mod trust;

/// A tiny deterministic generator for test data (splitmix64), independent of the library.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.next().max(1e-300), self.next());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    fn matrix(&mut self, r: usize, c: usize, lo: f64, hi: f64) -> DMatrix<f64> {
        DMatrix::from_fn(r, c, |_, _| self.uniform(lo, hi))
    }
}

fn xor() -> (DMatrix<f64>, DMatrix<f64>) {
    (
        DMatrix::from_row_slice(2, 4, &[0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0]),
        DMatrix::from_row_slice(1, 4, &[0.0, 1.0, 1.0, 0.0]),
    )
}

/// Two concentric rings (radius 0.5 → label 0, radius 1.5 → label 1) with a little noise.
fn circles(m: usize, seed: u64) -> (DMatrix<f64>, DMatrix<f64>) {
    let mut g = Gen(seed);
    let mut x = DMatrix::zeros(2, m);
    let mut y = DMatrix::zeros(1, m);
    for j in 0..m {
        let label = (j % 2) as f64;
        let r = 0.5 + label + 0.1 * g.normal();
        let t = g.uniform(0.0, 2.0 * std::f64::consts::PI);
        x[(0, j)] = r * t.cos();
        x[(1, j)] = r * t.sin();
        y[(0, j)] = label;
    }
    (x, y)
}

mod gradients {
    use super::*;

    const HIDDEN: [Activation; 12] = [
        Activation::Identity,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu { slope: 0.01 },
        Activation::Softmax,
        Activation::Elu { alpha: 1.0 },
        Activation::Selu,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::Softplus,
    ];

    const LOSSES: [Loss; 6] = [
        Loss::BinaryCrossEntropy,
        Loss::CategoricalCrossEntropy,
        Loss::BceProbabilities,
        Loss::Mse,
        Loss::Huber { delta: 0.5 },
        Loss::Hinge,
    ];

    /// Random targets that suit the loss.
    fn targets(loss: Loss, k: usize, m: usize, g: &mut Gen) -> DMatrix<f64> {
        match loss {
            Loss::CategoricalCrossEntropy => {
                let mut y = DMatrix::zeros(k, m);
                for j in 0..m {
                    y[(((g.next() * k as f64) as usize).min(k - 1), j)] = 1.0;
                }
                y
            }
            Loss::BinaryCrossEntropy | Loss::BceProbabilities => {
                DMatrix::from_fn(k, m, |_, _| (g.next() < 0.5) as u8 as f64)
            }
            Loss::Hinge => DMatrix::from_fn(k, m, |_, _| if g.next() < 0.5 { -1.0 } else { 1.0 }),
            _ => g.matrix(k, m, -1.0, 1.0),
        }
    }

    fn output_activation(loss: Loss, pick: usize) -> Activation {
        match loss {
            Loss::BinaryCrossEntropy | Loss::BceProbabilities => Activation::Sigmoid,
            Loss::CategoricalCrossEntropy => Activation::Softmax,
            _ => HIDDEN[pick % HIDDEN.len()],
        }
    }

    /// Is any pre-activation or loss argument within `margin` of a kink?
    fn near_kink(net: &Network<f64>, y: &DMatrix<f64>, margin: f64) -> bool {
        let layers = net.layers();
        let z_kink = layers.iter().any(|l| {
            l.pre_activation()
                .is_some_and(|z| z.iter().any(|v| v.abs() < margin))
        });
        let Ok(a) = net.output() else { return true };
        let loss_kink = match net.loss().unwrap() {
            Loss::Hinge => a.iter().zip(y.iter()).any(|(&a, &y)| {
                let t = if y > 0.0 { 1.0 } else { -1.0 };
                (1.0 - t * a).abs() < margin
            }),
            Loss::Huber { delta } => a
                .iter()
                .zip(y.iter())
                .any(|(&a, &y)| ((a - y).abs() - delta).abs() < margin),
            // Near 0 or 1, −ln a and −ln(1 − a) have derivatives that swamp the
            // finite differences (the five-point stencil's error grows like 1/u⁵ for
            // u = a or 1 − a): at 1 − a = 1.5e-5 a correct gradient showed a relative
            // error of 1.1e-6. The clamp of the cost at 1e-6 is a kink as well.
            Loss::BceProbabilities => a.iter().any(|&a| !(1e-4..=1.0 - 1e-4).contains(&a)),
            _ => false,
        };
        z_kink || loss_kink
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// T6 at unit level: for random architectures, activations and losses, with and
        /// without L2, backpropagation's gradient of J equals finite differences.
        #[test]
        fn whole_network_gradient_matches_finite_differences(
            widths in proptest::collection::vec(1usize..=6, 1..=4),
            acts in proptest::collection::vec(0usize..12, 4),
            loss_index in 0usize..6,
            out_pick in 0usize..12,
            l2 in prop_oneof![Just(0.0), 0.01f64..0.5],
            m in 1usize..=4,
            seed in any::<u64>(),
        ) {
            let loss = LOSSES[loss_index];
            let depth = widths.len();
            let mut k = widths[depth - 1];
            if loss == Loss::CategoricalCrossEntropy { k = k.max(2); }
            let mut g = Gen(seed);
            let inputs = 1 + (seed % 4) as usize;
            let mut b = Network::<f64>::builder(inputs);
            for (i, &w) in widths[..depth - 1].iter().enumerate() {
                b = b.dense(w, HIDDEN[acts[i]]);
            }
            let mut net = b
                .dense(k, output_activation(loss, out_pick))
                .loss(loss)
                .l2(l2)
                .seed(seed)
                .build()
                .unwrap();
            let x = g.matrix(inputs, m, -2.0, 2.0);
            let y = targets(loss, k, m, &mut g);
            net.forward(&x, Mode::Eval).unwrap();
            prop_assume!(!near_kink(&net, &y, 1e-3));
            let reports = net.gradient_check(&x, &y, &GradCheck::default()).unwrap();
            for (name, rep) in &reports {
                prop_assert!(rep.passes(1e-6), "{name} of {net}: {rep}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// With per-class weights, the fused cross-entropies' gradients (sigmoid + BCE,
        /// softmax + CCE) and the clamped BCE on probabilities still equal central finite
        /// differences of the weighted cost, for one-hot/0-1 and soft targets, weights in
        /// [0, 3] (some exactly 0) and random architectures.
        #[test]
        fn weighted_cross_entropy_gradients_match_finite_differences(
            widths in proptest::collection::vec(1usize..=5, 1..=3),
            acts in proptest::collection::vec(0usize..12, 3),
            loss_index in 0usize..3,
            soft in any::<bool>(),
            raw_weights in proptest::collection::vec(prop_oneof![Just(0.0), 0.1f64..3.0], 6),
            m in 1usize..=4,
            seed in any::<u64>(),
        ) {
            let loss = [
                Loss::BinaryCrossEntropy,
                Loss::CategoricalCrossEntropy,
                Loss::BceProbabilities,
            ][loss_index];
            let depth = widths.len();
            let mut k = widths[depth - 1];
            if loss == Loss::CategoricalCrossEntropy { k = k.max(2); }
            let n_weights = if loss == Loss::CategoricalCrossEntropy { k } else { 2 };
            let mut weights = raw_weights[..n_weights].to_vec();
            prop_assume!(weights.iter().any(|&w| w > 0.0));
            // Not all equal: a common factor would hide a weight applied in the cost only.
            if weights.iter().all(|&w| w == weights[0]) { weights[0] += 0.5; }
            let mut g = Gen(seed);
            let inputs = 1 + (seed % 4) as usize;
            let mut b = Network::<f64>::builder(inputs);
            for (i, &w) in widths[..depth - 1].iter().enumerate() {
                b = b.dense(w, HIDDEN[acts[i]]);
            }
            let base = b.dense(k, output_activation(loss, 0)).loss(loss).seed(seed);
            let mut net = base.clone().class_weights(weights.clone()).build().unwrap();
            let x = g.matrix(inputs, m, -2.0, 2.0);
            let mut y = targets(loss, k, m, &mut g);
            if soft {
                y = if loss == Loss::CategoricalCrossEntropy {
                    let mut p = g.matrix(k, m, 0.05, 1.0);
                    for mut c in p.column_iter_mut() {
                        let s = c.sum();
                        c /= s;
                    }
                    p
                } else {
                    g.matrix(k, m, 0.0, 1.0)
                };
            }
            net.forward(&x, Mode::Eval).unwrap();
            prop_assume!(!near_kink(&net, &y, 1e-3));
            // The weights are in the cost: it differs from the unweighted one.
            let weighted = net.evaluate(&x, &y).unwrap().cost;
            let plain = base.build().unwrap().evaluate(&x, &y).unwrap().cost;
            prop_assert!(weighted != plain || weighted == 0.0);
            let reports = net.gradient_check(&x, &y, &GradCheck::default()).unwrap();
            for (name, rep) in &reports {
                prop_assert!(rep.passes(1e-6), "{name} of {net}, weights {weights:?}: {rep}");
            }
        }
    }

    /// Weights of 1 give the unweighted cost and gradient bit for bit; weights of 2 double
    /// them; a one-hot CCE column of class c is scaled by w_c alone.
    #[test]
    fn class_weights_scale_each_example_by_its_class() {
        let z = DMatrix::from_column_slice(3, 2, &[1.0, -0.5, 0.2, 0.3, 2.0, -1.0]);
        let softmax = |z: &DMatrix<f64>| {
            let mut a = z.clone();
            for mut c in a.column_iter_mut() {
                let e: Vec<f64> = c.iter().map(|v| v.exp()).collect();
                let s: f64 = e.iter().sum();
                for (v, e) in c.iter_mut().zip(e) {
                    *v = e / s;
                }
            }
            a
        };
        let a = softmax(&z);
        let y = DMatrix::from_column_slice(3, 2, &[0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
        let cce = Loss::CategoricalCrossEntropy;
        let plain = cce.cost(&z, &a, &y);
        assert_eq!(cce.weighted_cost(&z, &a, &y, Some(&[1.0, 1.0, 1.0])), plain);
        let w = [0.5, 3.0, 7.0];
        // −(1/2)(3 ln a_1,0 + 0.5 ln a_0,1)
        let expected = -(3.0 * a[(1, 0)].ln() + 0.5 * a[(0, 1)].ln()) / 2.0;
        let got = cce.weighted_cost(&z, &a, &y, Some(&w));
        assert!((got - expected).abs() < 1e-14, "{got} vs {expected}");
        let (mut g_plain, mut g_w) = (DMatrix::zeros(0, 0), DMatrix::zeros(0, 0));
        cce.gradient_into(&a, &y, &mut g_plain);
        cce.weighted_gradient_into(&a, &y, Some(&w), &mut g_w);
        for r in 0..3 {
            assert!((g_w[(r, 0)] - 3.0 * g_plain[(r, 0)]).abs() < 1e-15);
            assert!((g_w[(r, 1)] - 0.5 * g_plain[(r, 1)]).abs() < 1e-15);
        }
        let zb = DMatrix::from_row_slice(1, 3, &[0.4, -2.0, 30.0]);
        let ab = zb.map(|v: f64| 1.0 / (1.0 + (-v).exp()));
        let yb = DMatrix::from_row_slice(1, 3, &[1.0, 0.0, 0.0]);
        let bce = Loss::BinaryCrossEntropy;
        let plain = bce.cost(&zb, &ab, &yb);
        let same = bce.weighted_cost(&zb, &ab, &yb, Some(&[1.0, 1.0]));
        assert!((same - plain).abs() < 1e-15, "{same} vs {plain}");
        let doubled = bce.weighted_cost(&zb, &ab, &yb, Some(&[2.0, 2.0]));
        assert!((doubled - 2.0 * plain).abs() < 1e-14);
        // A confident wrong answer (z = 30, y = 0) stays finite and exact: w_0 · softplus(30).
        let only_negatives = bce.weighted_cost(&zb, &ab, &yb, Some(&[1.0, 0.0]));
        let softplus = |v: f64| v.max(0.0) + (-v.abs()).exp().ln_1p();
        let expected = (softplus(-2.0) + softplus(30.0)) / 3.0;
        assert!(
            (only_negatives - expected).abs() < 1e-14,
            "{only_negatives}"
        );
    }

    /// scikit-learn's `compute_class_weight("balanced", classes=[0, 1, 2],
    /// y=[0, 0, 0, 1, 2, 2, 2, 2, 1, 0])` is [0.8333333333333334, 1.6666666666666667,
    /// 0.8333333333333334] (computed with scikit-learn 1.9.1).
    #[test]
    fn balanced_class_weights_match_scikit_learn() {
        let labels = [0usize, 0, 0, 1, 2, 2, 2, 2, 1, 0];
        let mut y = DMatrix::zeros(3, labels.len());
        for (j, &c) in labels.iter().enumerate() {
            y[(c, j)] = 1.0;
        }
        let counts = metrics::class_counts(Task::Multiclass, &y).unwrap();
        assert_eq!(counts, [4, 2, 4]);
        let w = balanced_class_weights(&counts).unwrap();
        let expected = [0.8333333333333334, 1.6666666666666667, 0.8333333333333334];
        for (w, e) in w.iter().zip(expected) {
            assert!((w - e).abs() < 1e-15, "{w} vs {e}");
        }
        // Binary: one sigmoid row, [n_0, n_1].
        let yb = DMatrix::from_row_slice(1, 4, &[1.0, 0.0, 0.0, 0.0]);
        let task = Loss::BinaryCrossEntropy.task();
        assert_eq!(metrics::class_counts(task, &yb).unwrap(), [3, 1]);
        assert_eq!(balanced_class_weights(&[3, 1]).unwrap(), [4.0 / 6.0, 2.0]);
        // An absent class is named.
        let e = balanced_class_weights(&[3, 0, 2]).unwrap_err().to_string();
        assert!(e.contains("class 1"), "{e}");
        assert!(balanced_class_weights(&[5]).is_err());
        assert!(metrics::class_counts(Task::Regression, &yb).is_err());
    }

    /// Class weights are checked when the network is built: only cross-entropies, one per
    /// class (two for binary), finite, ≥ 0, not all 0.
    #[test]
    fn bad_class_weights_are_refused() {
        let build = |out: usize, act: Activation, loss: Loss, w: Vec<f64>| {
            Network::<f64>::builder(2)
                .dense(out, act)
                .loss(loss)
                .class_weights(w)
                .build()
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let cce = |w: Vec<f64>| build(3, Activation::Softmax, Loss::CategoricalCrossEntropy, w);
        assert!(cce(vec![1.0, 2.0, 0.0]).is_ok());
        for (w, says) in [
            (vec![1.0, 2.0], "2 weights for 3 classes"),
            (vec![1.0, -2.0, 1.0], "weight -2 for class 1"),
            (vec![1.0, f64::NAN, 1.0], "weight NaN for class 1"),
            (vec![0.0, 0.0, 0.0], "at least one weight > 0"),
        ] {
            let e = cce(w).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
        let bin = |w| build(1, Activation::Sigmoid, Loss::BinaryCrossEntropy, w);
        assert!(bin(vec![1.0, 3.0]).is_ok());
        assert!(bin(vec![1.0, 3.0, 1.0]).unwrap_err().contains("[w_0, w_1]"));
        let e = build(1, Activation::Identity, Loss::Mse, vec![1.0, 1.0]).unwrap_err();
        assert!(e.contains("cross-entropy"), "{e}");
        let e = Network::<f64>::builder(2)
            .dense(1, Activation::Sigmoid)
            .class_weights(vec![1.0, 1.0])
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("without a loss"), "{e}");
    }

    /// A wrong gradient is caught: doubling one layer's weight gradient fails the check.
    #[test]
    fn a_wrong_backward_is_caught() {
        let (x, y) = circles(8, 3);
        let mut net = Network::<f64>::builder(2)
            .dense(4, Activation::Tanh)
            .dense(1, Activation::Sigmoid)
            .loss(Loss::BinaryCrossEntropy)
            .seed(5)
            .build()
            .unwrap();
        let cost = |net: &mut Network<f64>, w: &DMatrix<f64>| {
            net.set_param("layers.0.weight", w.clone()).unwrap();
            net.evaluate(&x, &y).unwrap().cost
        };
        net.compute_gradients(&x, &y, Mode::Eval).unwrap();
        let w0 = net.layers()[0].params()[0].value().clone();
        let mut dw = None;
        net.for_each_param(&mut |p| {
            if dw.is_none() {
                dw = Some(p.grad.clone());
            }
        });
        let dw = dw.unwrap();
        let mut probe = Network::<f64>::builder(2)
            .dense(4, Activation::Tanh)
            .dense(1, Activation::Sigmoid)
            .loss(Loss::BinaryCrossEntropy)
            .seed(5)
            .build()
            .unwrap();
        let good = nn_core::gradcheck(|w| cost(&mut probe, w), &w0, &dw).unwrap();
        assert!(good.passes(1e-6), "{good}");
        let bad = nn_core::gradcheck(|w| cost(&mut probe, w), &w0, &(&dw * 2.0)).unwrap();
        assert!(bad.max_rel_error > 0.3, "a doubled gradient passed: {bad}");
    }

    /// Dropout's backward uses the same mask as its forward (checked with the mask fixed
    /// by reseeding before each evaluation).
    #[test]
    fn dropout_backward_matches_finite_differences() {
        let mut g = Gen(11);
        let x = g.matrix(3, 5, -1.0, 1.0);
        let y = g.matrix(1, 5, -1.0, 1.0);
        let build = || {
            Network::<f64>::builder(3)
                .dense(6, Activation::Tanh)
                .dropout(0.5)
                .dense(1, Activation::Identity)
                .loss(Loss::Mse)
                .seed(2)
                .build()
                .unwrap()
        };
        let mut net = build();
        net.layers_mut()[1].stochastic_mut().unwrap().reseed(99);
        net.compute_gradients(&x, &y, Mode::Train).unwrap();
        let mut grads = Vec::new();
        net.for_each_param(&mut |p| grads.push(p.grad.clone()));
        let w0 = net.layers()[0].params()[0].value().clone();
        let mut probe = build();
        let cost = |w: &DMatrix<f64>| {
            probe.set_param("layers.0.weight", w.clone()).unwrap();
            probe.layers_mut()[1].stochastic_mut().unwrap().reseed(99);
            probe.compute_gradients(&x, &y, Mode::Train).unwrap()
        };
        let rep = nn_core::gradcheck(cost, &w0, &grads[0]).unwrap();
        assert!(rep.passes(1e-6), "{rep}");
        // and the mask really dropped something: in eval mode the cost differs
        assert_ne!(
            net.evaluate(&x, &y).unwrap().cost,
            net.compute_gradients(&x, &y, Mode::Train).unwrap()
        );
    }
}

mod claims {
    use super::*;

    /// T5: the vectorised forward pass over m columns equals the per-example loop.
    #[test]
    fn vectorised_forward_equals_per_example_loop() {
        let mut g = Gen(21);
        for seed in 0..5 {
            let net = Network::<f64>::builder(5)
                .dense(7, Activation::Tanh)
                .dense(6, Activation::Relu)
                .dense(3, Activation::Softmax)
                .loss(Loss::CategoricalCrossEntropy)
                .seed(seed)
                .build()
                .unwrap();
            let x = g.matrix(5, 40, -3.0, 3.0);
            let all = net.predict(&x).unwrap();
            let mut max_diff = 0.0f64;
            for j in 0..x.ncols() {
                let one = net.predict(&x.columns(j, 1).into_owned()).unwrap();
                max_diff = max_diff.max((one - all.column(j)).amax());
            }
            assert!(max_diff <= 1e-12, "max difference {max_diff:e}");
        }
    }

    /// T2 at unit level: a 2-16-1 tanh net fits XOR and two circles perfectly from a fixed
    /// seed; the same net with an identity hidden layer is a linear model and cannot.
    #[test]
    fn depth_needs_a_nonlinearity_xor_and_circles() {
        let train = |hidden: Activation, x: &DMatrix<f64>, y: &DMatrix<f64>| {
            let mut net = Network::<f64>::builder(2)
                .dense(16, hidden)
                .dense(1, Activation::Sigmoid)
                .loss(Loss::BinaryCrossEntropy)
                .seed(3)
                .build()
                .unwrap();
            let config = FitConfig {
                epochs: 400,
                batch_size: 64,
                optimizer: Optimizer::adam(0.03),
                ..FitConfig::default()
            };
            fit(&mut net, (x, y), None, &config, &mut Silent).unwrap();
            net.evaluate(x, y).unwrap().accuracy.unwrap()
        };
        let (x, y) = xor();
        assert_eq!(train(Activation::Tanh, &x, &y), 1.0);
        assert!(train(Activation::Identity, &x, &y) <= 0.75);
        let (x, y) = circles(200, 8);
        assert_eq!(train(Activation::Tanh, &x, &y), 1.0);
        assert!(train(Activation::Identity, &x, &y) < 0.7);
    }

    /// Logistic regression by Newton's method (IRLS), in f64, independent of the network:
    /// θ ← θ − H⁻¹ ∇, with ∇ = (1/m) X̃ (p − y), H = (1/m) X̃ diag(p(1−p)) X̃ᵀ,
    /// X̃ = [X; 1].
    fn newton_logistic(x: &DMatrix<f64>, y: &DMatrix<f64>) -> (DMatrix<f64>, f64) {
        let (n, m) = x.shape();
        let mut xt = DMatrix::from_element(n + 1, m, 1.0);
        xt.rows_mut(0, n).copy_from(x);
        let mut theta = DMatrix::zeros(n + 1, 1);
        for _ in 0..50 {
            let z = theta.transpose() * &xt;
            let p = z.map(|z| 1.0 / (1.0 + (-z).exp()));
            let grad = &xt * (&p - y).transpose() / m as f64;
            let w = p.map(|p| p * (1.0 - p));
            let mut xw = xt.clone();
            for j in 0..m {
                xw.column_mut(j).scale_mut(w[j]);
            }
            let h = &xw * xt.transpose() / m as f64;
            theta -= h.lu().solve(&grad).unwrap();
        }
        (theta.rows(0, n).transpose(), theta[n])
    }

    /// T1 at unit level: a net with no hidden layer, sigmoid + BCE, trained to convergence
    /// by full-batch gradient descent, is logistic regression.
    #[test]
    fn no_hidden_layer_sigmoid_bce_is_logistic_regression() {
        // Two overlapping Gaussian classes: not separable, so the optimum is finite.
        let mut g = Gen(77);
        let m = 120;
        let x = DMatrix::from_fn(2, m, |i, j| {
            g.normal() + if j % 2 == 1 { [0.8, -0.5][i] } else { 0.0 }
        });
        let y = DMatrix::from_fn(1, m, |_, j| (j % 2) as f64);
        let (w_ref, b_ref) = newton_logistic(&x, &y);

        let mut net = Network::<f64>::builder(2)
            .dense(1, Activation::Sigmoid)
            .loss(Loss::BinaryCrossEntropy)
            .build()
            .unwrap();
        let config = FitConfig {
            epochs: 3000,
            batch_size: m,
            shuffle: false,
            optimizer: Optimizer::sgd(2.0),
            ..FitConfig::default()
        };
        fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap();
        let params = net.named_params();
        let (w, b) = (params[0].1, params[1].1[0]);
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
        for i in 0..2 {
            assert!(
                rel(w[i], w_ref[i]) <= 1e-4,
                "w[{i}] {} vs Newton {}",
                w[i],
                w_ref[i]
            );
        }
        assert!(rel(b, b_ref) <= 1e-4, "b {b} vs Newton {b_ref}");
    }
}

mod optimizers {
    use super::*;

    /// Linear regression data with an exact solution w = (2, −3), b = 0.5.
    fn linear_data() -> (DMatrix<f64>, DMatrix<f64>) {
        let mut g = Gen(5);
        let x = g.matrix(2, 32, -1.0, 1.0);
        let y = DMatrix::from_fn(1, 32, |_, j| 2.0 * x[(0, j)] - 3.0 * x[(1, j)] + 0.5);
        (x, y)
    }

    #[test]
    fn every_optimizer_reaches_the_minimum_of_a_convex_problem() {
        let (x, y) = linear_data();
        let optimizers = [
            (Optimizer::sgd(0.3), 600),
            (Optimizer::momentum(0.05), 600),
            (Optimizer::nesterov(0.05), 600),
            (Optimizer::rmsprop(0.01), 1500),
            (Optimizer::adam(0.05), 1500),
            (
                Optimizer::AdamW(optim::AdamW {
                    lr: 0.05,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                    weight_decay: 0.0,
                }),
                1500,
            ),
        ];
        for (opt, epochs) in optimizers {
            let mut net = Network::<f64>::builder(2)
                .dense(1, Activation::Identity)
                .loss(Loss::Mse)
                .seed(1)
                .build()
                .unwrap();
            let config = FitConfig {
                epochs,
                batch_size: 32,
                optimizer: opt,
                schedule: if matches!(
                    opt,
                    Optimizer::RmsProp(_) | Optimizer::Adam(_) | Optimizer::AdamW(_)
                ) {
                    Schedule::Cosine {
                        epochs,
                        min_factor: 0.0,
                    }
                } else {
                    Schedule::Constant
                },
                ..FitConfig::default()
            };
            fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap();
            let p = net.named_params();
            let (w, b) = (p[0].1, p[1].1[0]);
            let err = (w[0] - 2.0)
                .abs()
                .max((w[1] + 3.0).abs())
                .max((b - 0.5).abs());
            assert!(err < 1e-3, "{opt}: w = {w}, b = {b}, error {err:e}");
        }
    }

    /// Adam's first three steps on L = (w + b)² from w = 0.5, b = 0, lr = 0.1, against
    /// values computed by hand with the textbook formulas (a short Python loop:
    /// m ← 0.9m + 0.1g, v ← 0.999v + 0.001g², θ ← θ − 0.1 m̂/(√v̂ + 1e-8)).
    #[test]
    fn adam_first_steps_match_hand_computed_values() {
        let mut net = Network::<f64>::builder(1)
            .dense(1, Activation::Identity)
            .loss(Loss::Mse)
            .build()
            .unwrap();
        net.set_param("layers.0.weight", DMatrix::from_element(1, 1, 0.5))
            .unwrap();
        net.set_param("layers.0.bias", DMatrix::from_element(1, 1, 0.0))
            .unwrap();
        let config = FitConfig {
            optimizer: Optimizer::adam(0.1),
            ..FitConfig::default()
        };
        let mut trainer = Trainer::new(config).unwrap();
        let x = DMatrix::from_element(1, 1, 1.0);
        let y = DMatrix::from_element(1, 1, 0.0);
        let expected: [(f64, f64); 3] = [
            (0.400000001, -0.09999999900000002),
            (0.30425098446137455, -0.19574901553862545),
            (0.2197916719744685, -0.28020832802553153),
        ];
        for (w_exp, b_exp) in expected {
            trainer.train_step(&mut net, &x, &y).unwrap();
            let p = net.named_params();
            assert!(
                (p[0].1[0] - w_exp).abs() < 1e-12,
                "w {} vs {w_exp}",
                p[0].1[0]
            );
            assert!(
                (p[1].1[0] - b_exp).abs() < 1e-12,
                "b {} vs {b_exp}",
                p[1].1[0]
            );
        }
    }

    #[test]
    fn schedules_and_warmup() {
        assert_eq!(
            Schedule::Step {
                every: 2,
                gamma: 0.5
            }
            .factor(5),
            0.25
        );
        assert!((Schedule::Exponential { gamma: 0.9 }.factor(2) - 0.81).abs() < 1e-15);
        let cos = Schedule::Cosine {
            epochs: 10,
            min_factor: 0.1,
        };
        assert_eq!(cos.factor(0), 1.0);
        assert!((cos.factor(5) - 0.55).abs() < 1e-12);
        assert!((cos.factor(10) - 0.1).abs() < 1e-12);
        let config = FitConfig {
            optimizer: Optimizer::sgd(1.0),
            warmup_steps: 4,
            ..FitConfig::default()
        };
        assert_eq!(config.learning_rate(0, 0), 0.25);
        assert_eq!(config.learning_rate(0, 3), 1.0);
        assert_eq!(config.learning_rate(3, 100), 1.0);
    }

    /// Reduce-on-plateau in a run: with a threshold no epoch can meet (a 90% relative
    /// improvement) and patience 0, every epoch after the first reduces the rate, down to
    /// the floor; the history records the rate each epoch ran at. The validation cost is
    /// what it watches when there is one.
    #[test]
    fn reduce_on_plateau_lowers_the_rate_of_a_run() {
        let (x, y) = circles(40, 2);
        let schedule = Schedule::ReduceOnPlateau {
            factor: 0.5,
            patience: 0,
            threshold: 0.9,
            cooldown: 0,
            min_factor: 0.2,
        };
        let config = FitConfig {
            epochs: 6,
            batch_size: 8,
            optimizer: Optimizer::sgd(0.01),
            schedule,
            ..FitConfig::default()
        };
        let mut net = Network::<f64>::builder(2)
            .dense(4, Activation::Tanh)
            .dense(1, Activation::Sigmoid)
            .loss(Loss::BinaryCrossEntropy)
            .seed(3)
            .build()
            .unwrap();
        let mut trainer = Trainer::new(config).unwrap();
        let h = trainer
            .fit(&mut net, (&x, &y), Some((&x, &y)), &mut Silent)
            .unwrap();
        let rates: Vec<f64> = h.epochs.iter().map(|r| r.learning_rate).collect();
        let expected = [0.01, 0.01, 0.005, 0.0025, 0.002, 0.002];
        for (r, e) in rates.iter().zip(expected) {
            assert!((r - e).abs() < 1e-15, "{rates:?}");
        }
        assert_eq!(trainer.plateau.factor, 0.2);
        assert_eq!(trainer.plateau.best, h.epochs[0].val_cost);
        // Out-of-range settings are refused.
        let plateau = |factor, min_factor| Schedule::ReduceOnPlateau {
            factor,
            patience: 0,
            threshold: 0.9,
            cooldown: 0,
            min_factor,
        };
        for bad in [plateau(1.0, 0.2), plateau(0.5, -0.1)] {
            let config = FitConfig {
                schedule: bad,
                ..config
            };
            let e = Trainer::<f64>::new(config).unwrap_err().to_string();
            assert!(e.contains("reduce_on_plateau"), "{e}");
        }
    }

    #[test]
    fn clipping_bounds_the_gradient_norm() {
        let (x, y) = linear_data();
        let mut net = Network::<f64>::builder(2)
            .dense(1, Activation::Identity)
            .loss(Loss::Mse)
            .build()
            .unwrap();
        net.compute_gradients(&x, &(&y * 100.0), Mode::Train)
            .unwrap();
        let before = clip_gradient_norm(&mut net, 0.5);
        assert!(before > 0.5);
        assert!((gradient_norm(&mut net) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn gradients_finite_sees_one_bad_entry_in_any_tensor() {
        let (x, y) = linear_data();
        let mut net = Network::<f64>::builder(2)
            .dense(3, Activation::Tanh)
            .dense(1, Activation::Identity)
            .loss(Loss::Mse)
            .build()
            .unwrap();
        net.compute_gradients(&x, &y, Mode::Train).unwrap();
        assert!(gradients_finite(&mut net));
        let mut tensors = 0;
        net.for_each_param(&mut |_| tensors += 1);
        for target in 0..tensors {
            for bad in [f64::NAN, f64::INFINITY] {
                net.compute_gradients(&x, &y, Mode::Train).unwrap();
                let mut index = 0;
                net.for_each_param(&mut |p| {
                    if index == target {
                        let last = p.grad.len() - 1;
                        p.grad[last] = bad;
                    }
                    index += 1;
                });
                assert!(!gradients_finite(&mut net), "tensor {target}, {bad}");
                assert!(!gradient_norm(&mut net).is_finite());
            }
        }
    }

    /// On two threads a large gradient (here 20 000 weights) is checked in two halves, one
    /// on nn-core's helper thread: a bad entry anywhere in either half is seen.
    #[test]
    fn gradients_finite_on_two_threads_sees_a_bad_entry_in_either_half() {
        let mut g = Gen(7);
        let x = g.matrix(200, 8, -1.0, 1.0);
        let y = DMatrix::from_fn(3, 8, |i, j| (j % 3 == i) as u8 as f64);
        let mut net = Network::<f64>::builder(200)
            .dense(100, Activation::Tanh)
            .dense(3, Activation::Softmax)
            .loss(Loss::CategoricalCrossEntropy)
            .build()
            .unwrap();
        let two =
            |net: &mut Network<f64>| nn_core::with_kernel_threads(2, || gradients_finite(net));
        net.compute_gradients(&x, &y, Mode::Train).unwrap();
        assert!(two(&mut net));
        for at in [0, 9_999, 10_000, 10_016, 19_999] {
            net.compute_gradients(&x, &y, Mode::Train).unwrap();
            net.for_each_param(&mut |p| {
                if p.grad.len() == 20_000 {
                    p.grad[at] = f64::NAN;
                }
            });
            assert!(!two(&mut net), "NaN at weight {at} not seen on two threads");
        }
    }
}

mod training {
    use super::*;

    fn noisy_net(seed: u64) -> Network<f64> {
        Network::<f64>::builder(2)
            .dense(8, Activation::Relu)
            .dropout(0.2)
            .dense(1, Activation::Sigmoid)
            .loss(Loss::BinaryCrossEntropy)
            .l2(1e-3)
            .seed(seed)
            .build()
            .unwrap()
    }

    #[test]
    fn same_seed_gives_bit_identical_parameters() {
        let (x, y) = circles(100, 4);
        let run = || {
            let mut net = noisy_net(9);
            let config = FitConfig {
                epochs: 5,
                batch_size: 16,
                seed: 4,
                ..FitConfig::default()
            };
            fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap();
            net.snapshot()
        };
        let (a, b) = (run(), run());
        assert!(a.iter().zip(&b).all(|(p, q)| {
            p.as_slice()
                .iter()
                .zip(q.as_slice())
                .all(|(u, v)| u.to_bits() == v.to_bits())
        }));
        // and a different training seed gives different parameters
        let mut net = noisy_net(9);
        let config = FitConfig {
            epochs: 5,
            batch_size: 16,
            seed: 5,
            ..FitConfig::default()
        };
        fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap();
        assert_ne!(net.snapshot(), a);
    }

    /// A network of dense layers predicts with its threads inside the products (cut by
    /// shape): the same bits on any thread count.
    #[test]
    fn predict_on_several_threads_matches_one_thread() {
        let mut g = Gen(23);
        let x = g.matrix(64, 601, -1.0, 1.0);
        let mut net = Network::<f64>::builder(64)
            .dense(256, Activation::Relu)
            .dense(5, Activation::Softmax)
            .loss(Loss::CategoricalCrossEntropy)
            .seed(4)
            .build()
            .unwrap();
        net.set_threads(1);
        let one = net.predict(&x).unwrap();
        for threads in [2, 3, 7] {
            net.set_threads(threads);
            assert_eq!(net.threads(), threads);
            assert_eq!(net.predict(&x).unwrap(), one, "{threads} threads");
        }
        net.set_threads(0);
        assert_eq!(net.threads(), 1);
    }

    /// A small dense network (layers that nn-core's small-layer kernel takes, on a CPU with
    /// AVX2 or AVX-512) predicts a large batch in two halves, the second on nn-core's helper
    /// thread: the same bits as on one thread, and a NaN in the second half is named by its
    /// column in the whole batch.
    #[test]
    fn small_dense_predict_in_halves_matches_one_thread() {
        let mut g = Gen(31);
        let x = g.matrix(64, 1001, -1.0, 1.0).cast::<f32>();
        let mut net = Network::<f32>::builder(64)
            .dense(32, Activation::Tanh)
            .dense(10, Activation::Softmax)
            .loss(Loss::CategoricalCrossEntropy)
            .seed(4)
            .build()
            .unwrap();
        net.set_threads(1);
        let one = net.predict(&x).unwrap();
        let mut bad = x.clone();
        bad[(5, 900)] = f32::NAN;
        let error = net.predict(&bad).unwrap_err().to_string();
        assert!(error.contains("900"), "{error}");
        for threads in [2, 3] {
            net.set_threads(threads);
            assert_eq!(net.predict(&x).unwrap(), one, "{threads} threads");
            assert_eq!(net.predict(&bad).unwrap_err().to_string(), error);
        }
    }

    /// A network with a convolution splits a large batch's columns across threads; each
    /// column's output is the one-thread output (to rounding: the products' blocking
    /// depends on the width).
    #[test]
    fn cnn_predict_on_several_threads_matches_one_thread() {
        let mut g = Gen(29);
        let x = g.matrix(2 * 10 * 10, 1000, -1.0, 1.0);
        let mut net = Network::<f64>::image_builder(2, 10, 10)
            .conv2d(8, 3, Activation::Relu)
            .max_pool(2)
            .flatten()
            .dense(5, Activation::Softmax)
            .seed(4)
            .build()
            .unwrap();
        let work: usize = 8 * 2 * 9 * 64 + 5 * 8 * 16;
        assert!(work * 1000 >= 1 << 23, "too small to run in parallel");
        net.set_threads(1);
        let one = net.predict(&x).unwrap();
        for threads in [2, 3, 7] {
            net.set_threads(threads);
            let split = net.predict(&x).unwrap();
            assert_eq!(split.shape(), (5, 1000));
            let diff = (&split - &one).amax();
            assert!(diff < 1e-14, "{threads} threads differ by {diff:e}");
        }
    }

    /// Every parameter, as bits.
    fn param_bits<T: Scalar>(net: &Network<T>) -> Vec<u64> {
        let params = net.snapshot();
        let values = params.iter().flat_map(|p| p.iter().map(|v| v.to_f64()));
        values.map(f64::to_bits).collect()
    }

    /// Every parameter and the epochs' costs, as bits.
    fn bits<T: Scalar>(net: &Network<T>, h: &History) -> Vec<u64> {
        let mut bits = param_bits(net);
        bits.extend(h.epochs.iter().map(|r| r.train_cost.to_bits()));
        bits
    }

    /// Trains `build()` on `(x, y)` with 1, 2, 3 and 7 threads and asserts the same bits.
    fn same_bits_on_any_thread_count<T: Scalar>(
        build: impl Fn() -> Network<T>,
        (x, y): (&DMatrix<T>, &DMatrix<T>),
        config: FitConfig,
    ) {
        let run = |threads: usize| {
            let mut net = build();
            let config = FitConfig {
                threads: Some(threads),
                ..config
            };
            let h = fit(&mut net, (x, y), None, &config, &mut Silent).unwrap();
            bits(&net, &h)
        };
        let one = run(1);
        for threads in [2, 3, 7] {
            assert!(run(threads) == one, "{threads} threads differ from one");
        }
    }

    /// A batch of 1536 columns is 3 shares whatever the thread count (the last batch, 128
    /// columns, is one): one thread runs all three, two threads in two rounds, three and
    /// seven threads in one; the bits are the same.
    #[test]
    fn dense_training_gives_the_same_bits_on_1_2_3_and_7_threads() {
        let mut g = Gen(17);
        let x = g.matrix(64, 1664, -1.0, 1.0).cast::<f32>();
        let y = DMatrix::from_fn(4, 1664, |i, j| (j % 4 == i) as u8 as f32);
        let build = || {
            Network::<f32>::builder(64)
                .dense(512, Activation::Tanh)
                .dense(4, Activation::Softmax)
                .loss(Loss::CategoricalCrossEntropy)
                .l2(0.01)
                .seed(3)
                .build()
                .unwrap()
        };
        assert_eq!(build().training_shares(1536), 3);
        assert_eq!(build().training_shares(128), 1);
        let config = FitConfig {
            epochs: 3,
            batch_size: 1536,
            optimizer: Optimizer::sgd(0.1),
            ..FitConfig::default()
        };
        same_bits_on_any_thread_count(build, (&x, &y), config);
    }

    /// A batch of one share whose products are large enough for nn-core to cut in halves
    /// (512×640×256 forward, 2²⁶ multiply-adds): the trainer's second thread runs the
    /// second halves, of the products and of the update, and the bits are the same as on
    /// one thread.
    #[test]
    fn one_share_with_split_products_gives_the_same_bits_on_1_2_3_and_7_threads() {
        let mut g = Gen(41);
        let x = g.matrix(640, 512, -1.0, 1.0).cast::<f32>();
        let y = DMatrix::from_fn(10, 512, |i, j| (j % 10 == i) as u8 as f32);
        let build = || {
            Network::<f32>::builder(640)
                .dense(512, Activation::Relu)
                .dense(10, Activation::Softmax)
                .loss(Loss::CategoricalCrossEntropy)
                .seed(8)
                .build()
                .unwrap()
        };
        assert_eq!(build().training_shares(256), 1);
        // Every optimizer: on two threads each updates the 327 680 weights of the first
        // layer in two halves, one on the helper thread.
        for optimizer in Optimizer::all(1e-3) {
            let config = FitConfig {
                epochs: 2,
                batch_size: 256,
                optimizer,
                ..FitConfig::default()
            };
            same_bits_on_any_thread_count(&build, (&x, &y), config);
        }
    }

    /// A run long enough for the trainer's timed trials (its first five or more steps on
    /// all its threads, the next five or more on one, whatever the clock says) to switch
    /// thread counts mid-run: the bits are still those of one thread.
    #[test]
    fn a_run_that_switches_thread_counts_gives_the_same_bits() {
        let mut g = Gen(43);
        let x = g.matrix(640, 512, -1.0, 1.0).cast::<f32>();
        let y = DMatrix::from_fn(10, 512, |i, j| (j % 10 == i) as u8 as f32);
        let build = || {
            Network::<f32>::builder(640)
                .dense(512, Activation::Relu)
                .dense(10, Activation::Softmax)
                .loss(Loss::CategoricalCrossEntropy)
                .seed(9)
                .build()
                .unwrap()
        };
        let config = FitConfig {
            epochs: 12,
            batch_size: 256,
            optimizer: Optimizer::adam(1e-3),
            ..FitConfig::default()
        };
        same_bits_on_any_thread_count(build, (&x, &y), config);
    }

    /// Each share draws its dropout masks from its own seed (the share's index in a stream
    /// of the network's), not from the thread that runs it.
    #[test]
    fn dropout_training_gives_the_same_bits_on_1_2_3_and_7_threads() {
        let mut g = Gen(29);
        let x = g.matrix(32, 1612, -1.0, 1.0).cast::<f32>();
        let y = DMatrix::from_fn(1, 1612, |_, j| (j % 3 == 0) as u8 as f32);
        let build = || {
            Network::<f32>::builder(32)
                .dense(512, Activation::Relu)
                .dropout(0.3)
                .dense(64, Activation::Tanh)
                .dropout(0.1)
                .dense(1, Activation::Sigmoid)
                .loss(Loss::BinaryCrossEntropy)
                .seed(5)
                .build()
                .unwrap()
        };
        // 1612 = 1536 (3 shares) + 76 (one)
        assert_eq!(build().training_shares(1536), 3);
        let config = FitConfig {
            epochs: 2,
            batch_size: 1536,
            optimizer: Optimizer::adam(1e-3),
            clip_norm: Some(1.0),
            ..FitConfig::default()
        };
        same_bits_on_any_thread_count(build, (&x, &y), config);
    }

    #[test]
    fn partial_last_batch_validation_history_and_csv() {
        let (x, y) = circles(50, 6);
        let (vx, vy) = circles(20, 7);
        let mut net = noisy_net(1);
        struct Count(usize, usize);
        impl Observer for Count {
            fn on_step(&mut self, _: usize, _: usize, _: usize, _: f64) {
                self.0 += 1;
            }
            fn on_epoch(&mut self, _: &EpochRecord) -> Control {
                self.1 += 1;
                Control::Continue
            }
        }
        let mut obs = Count(0, 0);
        let config = FitConfig {
            epochs: 3,
            batch_size: 16,
            ..FitConfig::default()
        };
        let h = fit(&mut net, (&x, &y), Some((&vx, &vy)), &config, &mut obs).unwrap();
        assert_eq!((obs.0, obs.1), (3 * 4, 3)); // 50 = 16 + 16 + 16 + 2
        assert_eq!(h.epochs.len(), 3);
        assert!(
            h.epochs
                .iter()
                .all(|r| r.val_cost.is_some() && r.val_accuracy.is_some())
        );
        let mut csv = Vec::new();
        h.write_csv(&mut csv).unwrap();
        let text = String::from_utf8(csv).unwrap();
        assert_eq!(text.lines().count(), 4);
        assert!(
            text.starts_with(
                "epoch,train_cost,train_accuracy,val_cost,val_accuracy,learning_rate\n1,"
            ),
            "epochs counted from 1: {text}"
        );
        assert!(text.lines().nth(3).unwrap().starts_with("3,"), "{text}");
    }

    /// Replays the convergence rule on a history: the epoch at which it stops, if any.
    fn converged_at(h: &History, c: Convergence) -> Option<usize> {
        let (mut lowest, mut no_progress) = (f64::INFINITY, 0);
        for r in &h.epochs {
            no_progress = if r.train_cost > lowest - c.tol {
                no_progress + 1
            } else {
                0
            };
            lowest = lowest.min(r.train_cost);
            if no_progress >= c.patience {
                return Some(r.epoch);
            }
        }
        None
    }

    #[test]
    fn convergence_stops_when_the_training_cost_stops_falling_by_tol() {
        let (x, y) = circles(60, 2);
        for (tol, patience) in [(1e-3, 3), (1e-2, 2), (0.0, 5)] {
            let conv = Convergence { tol, patience };
            let mut net = noisy_net(3);
            let config = FitConfig {
                epochs: 300,
                batch_size: 8,
                optimizer: Optimizer::sgd(0.5),
                convergence: Some(conv),
                ..FitConfig::default()
            };
            let h = fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap();
            let at = converged_at(&h, conv).expect("converges within 300 epochs");
            assert_eq!(
                h.epochs.len(),
                at + 1,
                "tol {tol}: stopped where the rule says"
            );
            assert_eq!(h.stopped, Some(Stopped::Converged));
            assert!(
                h.best_epoch.is_none(),
                "the last epoch's parameters are kept"
            );
        }
        // A tolerance no decrease can meet stops after the first epoch and `patience` more.
        let mut net = noisy_net(3);
        let config = FitConfig {
            epochs: 50,
            convergence: Some(Convergence {
                tol: 1e9,
                patience: 4,
            }),
            ..FitConfig::default()
        };
        let h = fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap();
        assert_eq!(h.epochs.len(), 5);
        // Without the rule the same run goes on.
        let config = FitConfig {
            convergence: None,
            ..config
        };
        let h = fit(&mut noisy_net(3), (&x, &y), None, &config, &mut Silent).unwrap();
        assert_eq!((h.epochs.len(), h.stopped), (50, None));
        for bad in [
            Convergence {
                tol: -1.0,
                patience: 2,
            },
            Convergence {
                tol: f64::NAN,
                patience: 2,
            },
            Convergence {
                tol: 1e-4,
                patience: 0,
            },
        ] {
            let config = FitConfig {
                convergence: Some(bad),
                ..FitConfig::default()
            };
            let e = config.validate().unwrap_err();
            assert!(e.to_string().contains("convergence"), "{e}");
        }
    }

    #[test]
    fn early_stopping_restores_the_best_weights() {
        let (x, y) = circles(60, 2);
        let (vx, vy) = circles(30, 3);
        let mut net = noisy_net(3);
        let config = FitConfig {
            epochs: 200,
            batch_size: 8,
            optimizer: Optimizer::sgd(3.0), // too large: validation cost bounces
            early_stopping: Some(EarlyStopping::new(3)),
            ..FitConfig::default()
        };
        let h = fit(&mut net, (&x, &y), Some((&vx, &vy)), &config, &mut Silent).unwrap();
        let best = h.best_epoch.unwrap();
        let best_cost = h.epochs[best].val_cost.unwrap();
        assert!(h.epochs.iter().all(|r| r.val_cost.unwrap() >= best_cost));
        assert!((net.evaluate(&vx, &vy).unwrap().cost - best_cost).abs() < 1e-12);
        if h.stopped_early() {
            assert_eq!(h.epochs.len(), best + 1 + 3);
        }
    }

    #[test]
    fn divergence_stops_with_epoch_and_step_and_keeps_the_last_good_parameters() {
        let mut g = Gen(1);
        let x = g.matrix(2, 64, -100.0, 100.0);
        let y = g.matrix(1, 64, -100.0, 100.0);
        let mut net = Network::<f64>::builder(2)
            .dense(16, Activation::Identity)
            .dense(1, Activation::Identity)
            .loss(Loss::Mse)
            .build()
            .unwrap();
        let start = net.snapshot();
        let config = FitConfig {
            epochs: 50,
            batch_size: 8,
            optimizer: Optimizer::sgd(1.0),
            ..FitConfig::default()
        };
        let err = fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap_err();
        let TrainError::Training(TrainingError::Diverged { epoch, .. }) = err else {
            panic!("expected divergence, got {err}")
        };
        assert!(err.to_string().contains(&format!("epoch {epoch}")), "{err}");
        let params = net.snapshot();
        assert!(params.iter().all(|p| p.iter().all(|v| v.is_finite())));
        if epoch == 0 {
            assert_eq!(params, start);
        }
    }

    /// A weight gradient that overflows in its last runs of entries only: `f32`, 512 inputs of
    /// which the last 64 are 10²² in one example, so that `dW = dZ Xᵀ` (dZ ≈ 10¹⁹ there)
    /// is infinite from entry 448 × 64 on and finite before it. `fit`, which checks each run
    /// of a gradient as it applies it, has updated the runs before; the run ends at step 0
    /// with the parameters it started from, on one thread and on two (which update the
    /// tensor in halves). `train_step` updates nothing at all.
    #[test]
    fn a_gradient_that_overflows_part_way_through_a_tensor_updates_nothing() {
        let x = DMatrix::<f32>::from_fn(512, 8, |i, j| match (i, j) {
            (448.., 0) => 1e22,
            _ => ((i * 7 + j * 3) % 11) as f32 * 0.1 - 0.5,
        });
        let y = DMatrix::<f32>::from_fn(64, 8, |i, j| ((i + j) % 3) as f32);
        let build = || {
            Network::<f32>::builder(512)
                .dense(64, Activation::Identity)
                .loss(Loss::Mse)
                .seed(4)
                .build()
                .unwrap()
        };
        for threads in [1, 2] {
            let mut net = build();
            let start = param_bits(&net);
            let config = FitConfig {
                epochs: 3,
                batch_size: 8,
                threads: Some(threads),
                optimizer: Optimizer::sgd(1e-3),
                ..FitConfig::default()
            };
            let err = fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap_err();
            assert!(
                matches!(
                    err,
                    TrainError::Training(TrainingError::Diverged {
                        epoch: 0,
                        step: 0,
                        what: "gradient norm",
                        kept: KeptParameters::Start,
                        ..
                    })
                ),
                "{threads} threads: {err}"
            );
            assert!(param_bits(&net) == start, "{threads} threads: {err}");

            let mut trainer = Trainer::new(config).unwrap();
            let err = trainer.train_step(&mut net, &x, &y).unwrap_err();
            assert!(
                matches!(
                    err,
                    TrainError::Training(TrainingError::Diverged {
                        what: "gradient norm",
                        kept: KeptParameters::BeforeStep,
                        ..
                    })
                ),
                "{threads} threads: {err}"
            );
            assert!(param_bits(&net) == start, "{threads} threads: {err}");
        }
        // The overflow is where the test says: the first 448 columns of dW are finite.
        let mut net = build();
        net.compute_gradients(&x, &y, Mode::Train).unwrap();
        let (name, dw) = net.gradients().next().unwrap();
        assert_eq!(name, "layers.0.weight");
        assert!(dw.columns(0, 448).iter().all(|v| v.is_finite()));
        assert!(dw.columns(448, 64).iter().all(|v| v.is_infinite()));
    }

    /// The circles problem and a small net for the divergence tests: hidden layers of
    /// `hidden` units with `activation`.
    fn divergence_setup(
        hidden: &'static [usize],
        activation: Activation,
    ) -> (DMatrix<f64>, DMatrix<f64>, impl Fn() -> Network<f64>) {
        let (x, y) = circles(64, 11);
        let build = move || {
            let mut builder = Network::<f64>::builder(2);
            for &units in hidden {
                builder = builder.dense(units, activation);
            }
            builder
                .dense(1, Activation::Sigmoid)
                .loss(Loss::BinaryCrossEntropy)
                .seed(2)
                .build()
                .unwrap()
        };
        (x, y, build)
    }

    /// The parameters after `epochs` epochs of `config` (the start for 0).
    fn trained_for(
        build: &impl Fn() -> Network<f64>,
        data: Data<'_, f64>,
        validation: Option<Data<'_, f64>>,
        config: FitConfig,
        epochs: usize,
    ) -> Vec<u64> {
        let mut net = build();
        if epochs > 0 {
            let config = FitConfig { epochs, ..config };
            fit(&mut net, data, validation, &config, &mut Silent).unwrap();
        }
        param_bits(&net)
    }

    /// At learning rates of 10³ and 10⁶ a ReLU net (the command line's kind) keeps every
    /// number finite while the cost grows 10⁴–10¹⁸ fold: the growth rule stops the run and
    /// the network holds the last good epoch's parameters.
    #[test]
    fn learning_rates_of_1e3_and_1e6_are_caught_by_the_growth_rule() {
        let (x, y, build) = divergence_setup(&[16, 8], Activation::Relu);
        for optimizer in [
            Optimizer::adam(1e3),
            Optimizer::adam(1e6),
            Optimizer::sgd(1e3),
            Optimizer::sgd(1e6),
        ] {
            let config = FitConfig {
                epochs: 20,
                batch_size: 16,
                optimizer,
                ..FitConfig::default()
            };
            let mut net = build();
            let err = fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap_err();
            let TrainError::Training(TrainingError::Diverged {
                epoch, rule, kept, ..
            }) = err
            else {
                panic!("{optimizer:?}: expected divergence, got {err}")
            };
            assert!(
                matches!(rule, DivergenceRule::Growth { growth, .. } if growth == 1e4),
                "{optimizer:?}: {err}"
            );
            assert!(err.to_string().contains("the growth rule"), "{err}");
            let good = match kept {
                KeptParameters::Start => 0,
                KeptParameters::LastGood(e) => e + 1,
                other => panic!("{optimizer:?}: kept {other:?}"),
            };
            assert_eq!(good, epoch, "{optimizer:?}: {err}");
            let expected = trained_for(&build, (&x, &y), None, config, good);
            assert!(param_bits(&net) == expected, "{optimizer:?}: {err}");
            // With the rule off the run ends "successfully" with useless weights.
            let off = FitConfig {
                divergence: Divergence::off(),
                ..config
            };
            let h = fit(&mut build(), (&x, &y), None, &off, &mut Silent).unwrap();
            let last = h.epochs.last().unwrap().train_cost;
            assert!(last > 10.0, "{optimizer:?}: {last}");
        }
    }

    /// A learning rate that grows ×10 an epoch trains well at first: the run diverges
    /// later, and the network holds the parameters of the epoch before.
    #[test]
    fn divergence_after_good_epochs_keeps_the_last_good_epoch() {
        let (x, y, build) = divergence_setup(&[8], Activation::Tanh);
        let config = FitConfig {
            epochs: 30,
            batch_size: 16,
            optimizer: Optimizer::adam(1e-2),
            schedule: Schedule::Exponential { gamma: 10.0 },
            ..FitConfig::default()
        };
        let mut net = build();
        let err = fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap_err();
        let TrainError::Training(TrainingError::Diverged {
            epoch,
            step,
            rule: DivergenceRule::Growth { .. },
            kept: KeptParameters::LastGood(good),
            ..
        }) = err
        else {
            panic!("expected the growth rule after a good epoch, got {err}")
        };
        assert!(epoch >= 2 && good + 1 == epoch, "{err}");
        assert_eq!(step, 3, "the epoch's last step (64 = 4 × 16)");
        assert!(
            err.to_string()
                .contains(&format!("epoch {good}, the last good one")),
            "{err}"
        );
        let expected = trained_for(&build, (&x, &y), None, config, epoch);
        assert!(param_bits(&net) == expected, "{err}");
    }

    /// With early stopping's `restore_best`, a run that diverges ends holding the best
    /// epoch's parameters, as one that stopped would.
    #[test]
    fn divergence_with_early_stopping_keeps_the_best_epoch() {
        let (x, y, build) = divergence_setup(&[8], Activation::Tanh);
        let (vx, vy) = circles(32, 12);
        let config = FitConfig {
            epochs: 30,
            batch_size: 16,
            optimizer: Optimizer::adam(1e-2),
            schedule: Schedule::Exponential { gamma: 10.0 },
            early_stopping: Some(EarlyStopping::new(30)),
            ..FitConfig::default()
        };
        let mut net = build();
        let err = fit(&mut net, (&x, &y), Some((&vx, &vy)), &config, &mut Silent).unwrap_err();
        let TrainError::Training(TrainingError::Diverged {
            epoch,
            kept: KeptParameters::Best(best),
            ..
        }) = err
        else {
            panic!("expected divergence keeping the best epoch, got {err}")
        };
        assert!(
            best + 1 < epoch,
            "the best epoch should not be the last: {err}"
        );
        assert!(err.to_string().contains("the best one"), "{err}");
        let expected = trained_for(&build, (&x, &y), Some((&vx, &vy)), config, best + 1);
        assert!(param_bits(&net) == expected, "{err}");
        // Without `restore_best` the last good epoch is kept instead.
        let no_restore = FitConfig {
            early_stopping: Some(EarlyStopping {
                restore_best: false,
                ..EarlyStopping::new(30)
            }),
            ..config
        };
        let err = fit(
            &mut build(),
            (&x, &y),
            Some((&vx, &vy)),
            &no_restore,
            &mut Silent,
        )
        .unwrap_err();
        assert!(
            matches!(err, TrainError::Training(TrainingError::Diverged { epoch: e, kept: KeptParameters::LastGood(g), .. }) if g + 1 == e),
            "{err}"
        );
    }

    /// The best rule (off by default): the epoch cost above 10 × the lowest for 2 epochs in
    /// a row; the epochs of the streak are not good ones.
    #[test]
    fn the_best_rule_fires_after_patience_epochs_above_the_lowest_cost() {
        let (x, y, build) = divergence_setup(&[8], Activation::Tanh);
        let config = FitConfig {
            epochs: 30,
            batch_size: 16,
            optimizer: Optimizer::adam(1e-2),
            schedule: Schedule::Exponential { gamma: 10.0 },
            divergence: Divergence {
                growth: None,
                above_best: Some(10.0),
                patience: 2,
            },
            ..FitConfig::default()
        };
        let mut net = build();
        let err = fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap_err();
        let TrainError::Training(TrainingError::Diverged {
            epoch,
            rule: DivergenceRule::AboveBest {
                factor, patience, ..
            },
            kept: KeptParameters::LastGood(good),
            ..
        }) = err
        else {
            panic!("expected the best rule, got {err}")
        };
        assert_eq!((factor, patience), (10.0, 2));
        assert_eq!(good + 2, epoch, "{err}");
        assert!(err.to_string().contains("the best rule"), "{err}");
        let expected = trained_for(&build, (&x, &y), None, config, good + 1);
        assert!(param_bits(&net) == expected, "{err}");
    }

    /// Each step's cost (a mean over 64 columns of 1.4·10³⁰⁶) is finite, the epoch's 256
    /// columns' worth is not. The epoch's cost is their mean, not infinity (and the growth
    /// rule sees no growth).
    #[test]
    fn finite_step_costs_never_add_up_to_an_infinite_epoch_cost() {
        let mut net = Network::<f64>::builder(1)
            .dense(1, Activation::Identity)
            .loss(Loss::Mse)
            .build()
            .unwrap();
        net.set_param("layers.0.weight", DMatrix::from_element(1, 1, 1.2e153))
            .unwrap();
        net.set_param("layers.0.bias", DMatrix::zeros(1, 1))
            .unwrap();
        let (x, y) = (DMatrix::from_element(1, 256, 1.0), DMatrix::zeros(1, 256));
        let first = (x.columns(0, 64).into(), y.columns(0, 64).into());
        let step_cost = net.evaluate(&first.0, &first.1).unwrap().cost;
        assert!((step_cost * 64.0).is_finite() && (step_cost * 256.0).is_infinite());
        let config = FitConfig {
            epochs: 2,
            batch_size: 64,
            optimizer: Optimizer::sgd(1e-300),
            ..FitConfig::default()
        };
        let h = fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap();
        for r in &h.epochs {
            assert!(
                (r.train_cost / step_cost - 1.0).abs() < 1e-12,
                "{}",
                r.train_cost
            );
        }
    }

    #[test]
    fn divergence_rules_are_validated() {
        for (divergence, what) in [
            (
                Divergence {
                    growth: Some(0.5),
                    ..Divergence::default()
                },
                "divergence growth",
            ),
            (
                Divergence {
                    above_best: Some(f64::NAN),
                    ..Divergence::default()
                },
                "divergence above_best",
            ),
            (
                Divergence {
                    patience: 0,
                    ..Divergence::default()
                },
                "divergence patience",
            ),
        ] {
            let config = FitConfig {
                divergence,
                ..FitConfig::default()
            };
            let err = config.validate().unwrap_err();
            assert!(err.to_string().starts_with(what), "{err}");
        }
        assert!(
            FitConfig {
                divergence: Divergence::off(),
                ..FitConfig::default()
            }
            .validate()
            .is_ok()
        );
    }

    #[test]
    fn f32_training_learns_xor() {
        let (x, y) = xor();
        let (x, y) = (x.cast::<f32>(), y.cast::<f32>());
        let mut net = Network::<f32>::builder(2)
            .dense(8, Activation::Tanh)
            .dense(1, Activation::Sigmoid)
            .loss(Loss::BinaryCrossEntropy)
            .seed(2)
            .build()
            .unwrap();
        let config = FitConfig {
            epochs: 500,
            batch_size: 4,
            optimizer: Optimizer::adam(0.05),
            ..FitConfig::default()
        };
        fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap();
        assert_eq!(net.evaluate(&x, &y).unwrap().accuracy, Some(1.0));
    }

    #[test]
    fn summary_and_display_name_the_layers() {
        let net = noisy_net(0);
        let s = net.summary();
        assert!(
            s.contains("Dense(2→8, relu)")
                && s.contains("Dropout(p=0.2)")
                && s.contains("Dense(8→1, sigmoid)"),
            "{s}"
        );
        assert!(s.contains("33 trainable parameters"), "{s}");
        assert_eq!(net.param_count(), 2 * 8 + 8 + 8 + 1);
    }

    #[test]
    fn fused_losses_are_finite_for_extreme_logits() {
        let z = DMatrix::from_row_slice(1, 3, &[-1e4, 0.0, 1e4]);
        let a = z.map(|v: f64| 1.0 / (1.0 + (-v).exp()));
        let y = DMatrix::from_row_slice(1, 3, &[1.0, 0.0, 0.0]);
        let c = Loss::BinaryCrossEntropy.cost(&z, &a, &y);
        // closed form: (1e4 + ln 2 + 1e4) / 3
        assert!((c - (2e4 + 2f64.ln()) / 3.0).abs() < 1e-9, "{c}");
        let z = DMatrix::from_column_slice(3, 1, &[1e4, -1e4, 0.0]);
        let y = DMatrix::from_column_slice(3, 1, &[0.0, 1.0, 0.0]);
        let a = Activation::Softmax.forward(&z);
        assert!((Loss::CategoricalCrossEntropy.cost(&z, &a, &y) - 2e4).abs() < 1e-9);
    }

    proptest! {
        /// The cross-entropy read off the softmax outputs (`−Σ y ln a`) equals the
        /// log-sum-exp of the logits, in f64 and in f32, with one-hot or soft targets and
        /// with logits far enough apart that some probabilities underflow.
        #[test]
        fn cross_entropy_matches_log_sum_exp(
            (k, m) in (2usize..6, 1usize..5),
            seed in any::<u64>(),
            spread in prop_oneof![Just(1.0), Just(30.0), Just(200.0)],
            soft in any::<bool>(),
        ) {
            let mut rng = SeededRng::for_stream(seed, Stream::Custom(0));
            let z = DMatrix::from_fn(k, m, |_, _| rng.uniform(-spread, spread));
            let y = DMatrix::from_fn(k, m, |i, j| {
                if soft { 1.0 / k as f64 } else { f64::from(u8::from(i == j % k)) }
            });
            let lse_cost = |z: &DMatrix<f64>| -> f64 {
                z.column_iter().zip(y.column_iter()).map(|(zc, yc)| {
                    let max = zc.max();
                    let lse = max + zc.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
                    zc.iter().zip(yc.iter()).map(|(z, y)| y * (lse - z)).sum::<f64>()
                }).sum::<f64>() / m as f64
            };
            let expected = lse_cost(&z);
            let a = Activation::Softmax.forward(&z);
            let c64 = Loss::CategoricalCrossEntropy.cost(&z, &a, &y);
            prop_assert!((c64 - expected).abs() <= 1e-12 * expected.max(1.0), "{c64} vs {expected}");
            let (z32, y32) = (z.map(|v| v as f32), y.map(|v| v as f32));
            let expected = lse_cost(&z32.map(f64::from));
            let a32 = Activation::Softmax.forward(&z32);
            let c32 = Loss::CategoricalCrossEntropy.cost(&z32, &a32, &y32);
            prop_assert!((c32 - expected).abs() <= 1e-6 * expected.max(1.0), "{c32} vs {expected}");
        }
    }
}

mod errors {
    use super::*;

    fn net() -> Network<f64> {
        Network::<f64>::builder(2)
            .dense(3, Activation::Tanh)
            .dense(1, Activation::Sigmoid)
            .loss(Loss::BinaryCrossEntropy)
            .build()
            .unwrap()
    }

    #[test]
    fn build_time_mismatches_name_the_layer() {
        let err = Network::<f64>::builder(2)
            .dense(1, Activation::Sigmoid)
            .loss(Loss::CategoricalCrossEntropy)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, TrainError::InvalidArchitecture { layer: 0, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("softmax"), "{err}");
        let err = Network::<f64>::builder(2)
            .dense(3, Activation::Relu)
            .dense(0, Activation::Relu)
            .loss(Loss::Mse)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, TrainError::InvalidArchitecture { layer: 1, .. }),
            "{err}"
        );
        // Without a loss a network runs, but training or evaluating it is an error.
        let mut net = Network::<f64>::builder(2)
            .dense(3, Activation::Relu)
            .build()
            .unwrap();
        let (x, y) = (DMatrix::from_element(2, 4, 0.5), DMatrix::zeros(3, 4));
        assert_eq!(net.predict(&x).unwrap().shape(), (3, 4));
        assert_eq!(net.forward(&x, Mode::Train).unwrap().shape(), (3, 4));
        assert_eq!(net.loss(), None);
        let errors = [
            net.evaluate(&x, &y).map(drop),
            net.compute_gradients(&x, &y, Mode::Train).map(drop),
            fit(&mut net, (&x, &y), None, &FitConfig::default(), &mut Silent).map(drop),
            Trainer::new(FitConfig::default())
                .unwrap()
                .train_step(&mut net, &x, &y)
                .map(drop),
            nn_train::persist::model_to_bytes(&net, None).map(drop),
        ];
        for err in errors {
            let err = err.unwrap_err().to_string();
            assert!(err.contains("without a loss"), "{err}");
        }
        let err = Network::<f64>::builder(2)
            .loss(Loss::Mse)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("no layers"), "{err}");
        let err = Network::<f64>::builder(2)
            .dense(1, Activation::Relu)
            .loss(Loss::BinaryCrossEntropy)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("sigmoid"), "{err}");
        let err = Network::<f64>::builder(2)
            .dropout(1.0)
            .dense(1, Activation::Identity)
            .loss(Loss::Mse)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, TrainError::InvalidArchitecture { layer: 0, .. }),
            "{err}"
        );
        let err = Network::<f64>::builder(2)
            .dense(1, Activation::Identity)
            .loss(Loss::Mse)
            .l2(-1.0)
            .build()
            .unwrap_err();
        assert!(matches!(err, TrainError::InvalidConfig { .. }), "{err}");
    }

    #[test]
    fn bad_data_is_an_error_not_a_panic() {
        let mut n = net();
        let x = DMatrix::from_element(2, 4, 0.5);
        let y = DMatrix::from_element(1, 4, 1.0);
        let cfg = FitConfig::default();
        let run = |n: &mut Network<f64>, x: &DMatrix<f64>, y: &DMatrix<f64>| {
            fit(n, (x, y), None, &cfg, &mut Silent).unwrap_err()
        };

        let e = run(&mut n, &x, &DMatrix::from_element(1, 3, 1.0));
        assert!(
            matches!(
                e,
                TrainError::BadShape {
                    what: "targets Y",
                    ..
                }
            ),
            "{e}"
        );
        let e = run(&mut n, &DMatrix::from_element(3, 4, 0.5), &y);
        assert!(
            matches!(
                e,
                TrainError::BadShape {
                    what: "inputs X",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("expected 2×4, found 3×4"), "{e}");
        let mut bad_y = y.clone();
        bad_y[(0, 2)] = 2.0;
        let e = run(&mut n, &x, &bad_y);
        assert!(matches!(e, TrainError::BadTarget { col: 2, .. }), "{e}");
        let mut nan_x = x.clone();
        nan_x[(1, 3)] = f64::NAN;
        let e = run(&mut n, &nan_x, &y);
        assert!(
            matches!(e, TrainError::NonFiniteData { row: 1, col: 3, .. }),
            "{e}"
        );
        let e = run(&mut n, &DMatrix::zeros(2, 0), &DMatrix::zeros(1, 0));
        assert!(matches!(e, TrainError::EmptyData { .. }), "{e}");
        let zero_batch = FitConfig {
            batch_size: 0,
            ..FitConfig::default()
        };
        let e = fit(&mut n, (&x, &y), None, &zero_batch, &mut Silent).unwrap_err();
        assert!(
            matches!(
                e,
                TrainError::InvalidConfig {
                    what: "batch_size",
                    ..
                }
            ),
            "{e}"
        );
        let bad_lr = FitConfig {
            optimizer: Optimizer::sgd(f64::NAN),
            ..FitConfig::default()
        };
        assert!(fit(&mut n, (&x, &y), None, &bad_lr, &mut Silent).is_err());
        let e = fit(
            &mut n,
            (&x, &y),
            Some((&x, &DMatrix::from_element(2, 4, 0.0))),
            &cfg,
            &mut Silent,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                TrainError::BadShape {
                    what: "validation data",
                    ..
                }
            ),
            "{e}"
        );
        assert!(n.predict(&DMatrix::from_element(5, 1, 0.0)).is_err());
        assert!(n.evaluate(&x, &bad_y).is_err());
    }

    #[test]
    fn categorical_targets_must_be_distributions() {
        let mut n = Network::<f64>::builder(2)
            .dense(3, Activation::Softmax)
            .loss(Loss::CategoricalCrossEntropy)
            .build()
            .unwrap();
        let x = DMatrix::from_element(2, 2, 0.1);
        let y = DMatrix::from_column_slice(3, 2, &[1.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
        let e = n.compute_gradients(&x, &y, Mode::Train).unwrap_err();
        assert!(matches!(e, TrainError::BadTarget { col: 1, .. }), "{e}");
    }

    #[test]
    fn step_units_cannot_be_trained_by_backpropagation() {
        let mut n = Network::<f64>::builder(2)
            .dense(2, Activation::Step)
            .dense(1, Activation::Sigmoid)
            .loss(Loss::BinaryCrossEntropy)
            .build()
            .unwrap();
        let (x, y) = xor();
        let e = fit(&mut n, (&x, &y), None, &FitConfig::default(), &mut Silent).unwrap_err();
        assert!(e.to_string().contains("perceptron"), "{e}");
        // ...but such a network still predicts
        assert_eq!(n.predict(&x).unwrap().shape(), (1, 4));
    }

    #[test]
    fn loss_names_round_trip() {
        for l in [
            Loss::BinaryCrossEntropy,
            Loss::CategoricalCrossEntropy,
            Loss::BceProbabilities,
            Loss::Mse,
            Loss::Huber { delta: 0.25 },
            Loss::Hinge,
        ] {
            assert_eq!(l.to_string().parse::<Loss>().unwrap(), l);
        }
        assert!(
            "cross_entropy"
                .parse::<Loss>()
                .unwrap_err()
                .to_string()
                .contains("binary_cross_entropy")
        );
        assert!("huber(-1)".parse::<Loss>().is_err());
    }
}

mod perceptron {
    use super::*;

    #[test]
    fn perceptron_rule_converges_on_separable_data() {
        let mut g = Gen(31);
        let m = 100;
        // label = 1 above the line x1 + 2 x2 = 0.3, with a margin of 0.05
        let mut x = DMatrix::zeros(2, m);
        let mut y = DMatrix::zeros(1, m);
        let mut j = 0;
        while j < m {
            let p = (g.uniform(-1.0, 1.0), g.uniform(-1.0, 1.0));
            let s = p.0 + 2.0 * p.1 - 0.3;
            if s.abs() < 0.05 {
                continue;
            }
            x[(0, j)] = p.0;
            x[(1, j)] = p.1;
            y[(0, j)] = (s > 0.0) as u8 as f64;
            j += 1;
        }
        let mut p = Perceptron::<f64>::new(2);
        let report = p.train(&x, &y, &PerceptronConfig::default()).unwrap();
        assert!(report.converged, "{:?}", report.mistakes);
        assert_eq!(*report.mistakes.last().unwrap(), 0);
        assert!(report.mistakes[0] > 0);
        assert_eq!(p.predict(&x).unwrap(), y);
    }

    #[test]
    fn perceptron_rejects_bad_labels_and_does_not_converge_on_xor() {
        let (x, y) = xor();
        let mut p = Perceptron::<f64>::new(2);
        let r = p
            .train(
                &x,
                &y,
                &PerceptronConfig {
                    lr: 1.0,
                    max_epochs: 50,
                },
            )
            .unwrap();
        assert!(!r.converged && r.mistakes.len() == 50);
        let e = p
            .train(
                &x,
                &DMatrix::from_element(1, 4, 0.5),
                &PerceptronConfig::default(),
            )
            .unwrap_err();
        assert!(matches!(e, TrainError::BadTarget { .. }));
        assert!(Perceptron::with_weights(DMatrix::from_element(2, 2, 1.0), 0.0).is_err());
    }
}

mod metrics_tests {
    use super::*;
    use nn_train::metrics::*;

    #[test]
    fn confusion_matrix_and_scores() {
        // actual:    0 0 0 1 1 2
        // predicted: 0 0 1 1 2 2
        let cm = ConfusionMatrix::new(&[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2], 3).unwrap();
        assert_eq!(cm.counts()[0], vec![2, 1, 0]);
        assert!((cm.accuracy() - 4.0 / 6.0).abs() < 1e-15);
        let s1 = cm.scores(1); // TP 1, predicted 2, support 2
        assert_eq!((s1.precision, s1.recall, s1.f1), (0.5, 0.5, 0.5));
        let s0 = cm.scores(0); // TP 2, predicted 2, support 3
        assert!((s0.f1 - 0.8).abs() < 1e-15);
        assert!(ConfusionMatrix::new(&[0, 3], &[0, 0], 3).is_err());
        assert!(ConfusionMatrix::new(&[0], &[0, 0], 3).is_err());
    }

    #[test]
    fn accuracy_and_log_loss() {
        let a = DMatrix::from_row_slice(1, 4, &[0.9, 0.2, 0.6, 0.4]);
        let y = DMatrix::from_row_slice(1, 4, &[1.0, 0.0, 0.0, 0.0]);
        assert_eq!(
            accuracy(
                Task::Binary {
                    threshold_is_zero: false
                },
                &a,
                &y
            ),
            Some(0.75)
        );
        // scikit-learn: log_loss([1,0,0,0], [0.9,0.2,0.6,0.4]) = 0.4003...
        let expected = -(0.9f64.ln() + 0.8f64.ln() + 0.4f64.ln() + 0.6f64.ln()) / 4.0;
        assert!((log_loss(&a, &y).unwrap() - expected).abs() < 1e-15);
        let a = DMatrix::from_column_slice(3, 2, &[0.1, 0.7, 0.2, 0.5, 0.3, 0.2]);
        let y = DMatrix::from_column_slice(3, 2, &[0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(accuracy(Task::Multiclass, &a, &y), Some(0.5));
        assert_eq!(accuracy(Task::Regression, &a, &y), None);
        assert_eq!(argmax_columns(&a), vec![1, 0]);
    }

    proptest! {
        /// argmax: the first largest entry, NaN losing to any number (0 if all are NaN),
        /// checked against a plain scan on columns with ties, NaN and infinities.
        #[test]
        fn argmax_is_the_first_largest_number(
            column in prop::collection::vec(
                prop_oneof![
                    4 => (-3i32..3).prop_map(f64::from),
                    1 => Just(f64::NAN),
                    1 => Just(f64::INFINITY),
                    1 => Just(f64::NEG_INFINITY),
                ],
                1..12,
            )
        ) {
            let numbers = column.iter().enumerate().filter(|(_, v)| !v.is_nan());
            let expected = numbers
                .fold(None::<(usize, f64)>, |best, (i, &v)| match best {
                    Some((_, b)) if v <= b => best,
                    _ => Some((i, v)),
                })
                .map_or(0, |(i, _)| i);
            let a = DMatrix::from_column_slice(column.len(), 1, &column);
            prop_assert_eq!(argmax_columns(&a), vec![expected]);
            let a32 = a.map(|v| v as f32);
            prop_assert_eq!(argmax_columns(&a32), vec![expected]);
        }
    }
}
