//! nn-activations' tests: every derivative and the softmax vector–Jacobian product against
//! finite differences (proptest, f64), deliberately wrong derivatives being caught,
//! stability at extreme inputs in f32 and f64, reference values, names, errors, and
//! allocation-free in-place passes.

use nalgebra::DMatrix;
use nn_activations::{Activation, ActivationError, Scalar};
use nn_core::testing::{GRADIENT_TOLERANCE as TOL, upstream_cost};
use nn_core::{CoreError, gradcheck};
use proptest::prelude::*;

/// Activations with a kink (or jump) at 0, whose inputs keep `|z| > 1e-3` in gradient
/// checks: the five-point stencil reaches `2h = 2e-4` from the point.
fn has_kink(g: Activation) -> bool {
    matches!(
        g,
        Activation::Step
            | Activation::Relu
            | Activation::LeakyRelu { .. }
            | Activation::Elu { .. }
            | Activation::Selu
    )
}

/// An entry in [-6, 6], or in ±[1e-3, 6] for activations with a kink.
fn entry(kink: bool) -> BoxedStrategy<f64> {
    if kink {
        (1e-3f64..6.0, any::<bool>())
            .prop_map(|(m, neg)| if neg { -m } else { m })
            .boxed()
    } else {
        (-6.0f64..6.0).boxed()
    }
}

/// An `r×c` matrix of entries from `entry(kink)`, `r, c ∈ 1..=5`, with an upstream
/// gradient of the same shape.
fn case(kink: bool) -> impl Strategy<Value = (DMatrix<f64>, DMatrix<f64>)> {
    (1usize..=5, 1usize..=5).prop_flat_map(move |(r, c)| {
        (
            proptest::collection::vec(entry(kink), r * c),
            proptest::collection::vec(-2.0f64..2.0, r * c),
        )
            .prop_map(move |(z, d)| {
                (
                    DMatrix::from_column_slice(r, c, &z),
                    DMatrix::from_column_slice(r, c, &d),
                )
            })
    })
}

/// Every activation, with random parameters for leaky ReLU and ELU.
fn activation() -> impl Strategy<Value = Activation> {
    prop_oneof![
        proptest::sample::select(Activation::ALL.to_vec()),
        (0.0f64..3.0).prop_map(|slope| Activation::LeakyRelu { slope }),
        (0.0f64..3.0).prop_map(|alpha| Activation::Elu { alpha }),
    ]
}

/// `J(Z) = ⟨R, g(Z)⟩`, whose gradient is the backward of `g` applied to `dA = R`.
fn cost(g: Activation, r: &DMatrix<f64>) -> impl Fn(&DMatrix<f64>) -> f64 + '_ {
    upstream_cost(r, move |z| g.forward(z))
}

/// Turns any error into a proptest failure.
fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

mod gradients {
    use super::*;

    /// Checks `g`'s backward at `z` with upstream `r` against finite differences.
    fn check(g: Activation, z: &DMatrix<f64>, r: &DMatrix<f64>) -> Result<(), TestCaseError> {
        let a = g.forward(z);
        let dz = g.backward(z, &a, r).map_err(fail)?;
        let rep = gradcheck(cost(g, r), z, &dz).map_err(fail)?;
        prop_assert!(rep.passes(TOL), "{g}: {rep}");
        Ok(())
    }

    macro_rules! gradient_tests {
        ($($name:ident: $g:expr;)*) => {
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(48))]
                $(
                    #[test]
                    fn $name((z, r) in case(has_kink($g))) {
                        check($g, &z, &r)?;
                    }
                )*
            }
        };
    }

    gradient_tests! {
        identity_backward_matches_finite_differences: Activation::Identity;
        step_backward_matches_finite_differences: Activation::Step;
        sigmoid_backward_matches_finite_differences: Activation::Sigmoid;
        tanh_backward_matches_finite_differences: Activation::Tanh;
        relu_backward_matches_finite_differences: Activation::Relu;
        leaky_relu_backward_matches_finite_differences: Activation::leaky_relu();
        softmax_vjp_matches_finite_differences: Activation::Softmax;
        elu_backward_matches_finite_differences: Activation::elu();
        selu_backward_matches_finite_differences: Activation::Selu;
        gelu_backward_matches_finite_differences: Activation::Gelu;
        gelu_tanh_backward_matches_finite_differences: Activation::GeluTanh;
        silu_backward_matches_finite_differences: Activation::Silu;
        softplus_backward_matches_finite_differences: Activation::Softplus;
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn parameterised_backward_matches_finite_differences(
            slope in 0.0f64..3.0, alpha in 0.0f64..3.0, (z, r) in case(true)
        ) {
            check(Activation::LeakyRelu { slope }, &z, &r)?;
            check(Activation::Elu { alpha }, &z, &r)?;
        }

        /// The element-wise derivative matrix (from `z`) is the same function as the
        /// backward's (from `a` where it can be): `backward = dA ∘ derivative`.
        #[test]
        fn backward_equals_upstream_times_derivative(g in activation(), (z, r) in case(true)) {
            prop_assume!(g.is_elementwise());
            let a = g.forward(&z);
            let dz = g.backward(&z, &a, &r).unwrap();
            let d = g.derivative(&z).unwrap();
            for ((&x, &y), (&u, &v)) in dz.iter().zip(r.iter()).zip(d.iter().zip(z.iter())) {
                prop_assert!((x - y * u).abs() <= 1e-13 * (1.0 + (y * u).abs()),
                    "{g} at z = {v}: backward {x}, dA·g' {}", y * u);
                prop_assert_eq!(u, g.slope(v));
            }
        }

        /// The in-place forms equal the allocating ones, and `value` is the forward.
        #[test]
        fn in_place_forms_equal_allocating_forms(g in activation(), (z, r) in case(false)) {
            let a = g.forward(&z);
            let mut a2 = DMatrix::from_element(z.nrows(), z.ncols(), f64::NAN);
            g.forward_into(&z, &mut a2).unwrap();
            prop_assert_eq!(&a, &a2);
            let mut dz = DMatrix::from_element(z.nrows(), z.ncols(), f64::NAN);
            g.backward_into(&z, &a, &r, &mut dz).unwrap();
            prop_assert_eq!(dz, g.backward(&z, &a, &r).unwrap());
            if g.is_elementwise() {
                for (&x, &y) in z.iter().zip(a.iter()) {
                    prop_assert_eq!(g.value(x), y);
                }
            }
        }

        /// `f32` forward and backward agree with `f64` to `f32` precision.
        #[test]
        fn f32_agrees_with_f64(g in activation(), (z, r) in case(true)) {
            let (z32, r32) = (z.map(|v| v as f32), r.map(|v| v as f32));
            let z = z32.map(f64::from); // the same inputs in both precisions
            let r = r32.map(f64::from);
            let (a, a32) = (g.forward(&z), g.forward(&z32));
            let dz = g.backward(&z, &a, &r).unwrap();
            let dz32 = g.backward(&z32, &a32, &r32).unwrap();
            for (x, y) in a.iter().zip(a32.iter()).chain(dz.iter().zip(dz32.iter())) {
                let y = f64::from(*y);
                prop_assert!((x - y).abs() <= 1e-6 * (1.0 + x.abs()), "{g}: f64 {x}, f32 {y}");
            }
        }
    }

    /// A derivative that is wrong in the classic ways fails the same check.
    #[test]
    fn wrong_derivatives_are_caught() {
        let z = DMatrix::from_row_slice(2, 3, &[-1.5, 0.3, 2.0, 0.7, -0.2, -3.0]);
        let r = DMatrix::from_row_slice(2, 3, &[0.5, -1.0, 0.25, 2.0, 1.0, -0.5]);

        // tanh' as 1 − z² (from the input instead of the output).
        let wrong = z.zip_map(&r, |x, d| d * (1.0 - x * x));
        let rep = gradcheck(cost(Activation::Tanh, &r), &z, &wrong).unwrap();
        assert!(rep.max_rel_error > 0.1, "{rep}");

        // σ' as z (1 − z).
        let wrong = z.zip_map(&r, |x, d| d * x * (1.0 - x));
        let rep = gradcheck(cost(Activation::Sigmoid, &r), &z, &wrong).unwrap();
        assert!(rep.max_rel_error > 0.1, "{rep}");

        // Softmax as if element-wise, dropping the −⟨a, da⟩ term.
        let a = Activation::Softmax.forward(&z);
        let wrong = a.component_mul(&r);
        let rep = gradcheck(cost(Activation::Softmax, &r), &z, &wrong).unwrap();
        assert!(rep.max_rel_error > 0.1, "{rep}");

        // Leaky ReLU with the slope on the wrong side.
        let g = Activation::LeakyRelu { slope: 0.2 };
        let wrong = z.zip_map(&r, |x, d| d * if x < 0.0 { 1.0 } else { 0.2 });
        let rep = gradcheck(cost(g, &r), &z, &wrong).unwrap();
        assert!(rep.max_rel_error > 0.1, "{rep}");

        // And the right ones pass on the same data.
        for g in [
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Softmax,
            g,
        ] {
            let dz = g.backward(&z, &g.forward(&z), &r).unwrap();
            let rep = gradcheck(cost(g, &r), &z, &dz).unwrap();
            assert!(rep.passes(TOL), "{g}: {rep}");
        }
    }
}

mod stability {
    use super::*;

    const EXTREMES: [f64; 9] = [1e4, -1e4, 88.0, -88.0, 700.0, -700.0, 0.0, 20.0, -20.0];

    fn all_with_parameters() -> Vec<Activation> {
        let mut all = Activation::ALL.to_vec();
        all.push(Activation::LeakyRelu { slope: 0.2 });
        all.push(Activation::Elu { alpha: 2.5 });
        all
    }

    /// Forward, backward and derivative are finite at every extreme input.
    fn all_finite<T: Scalar>() -> Result<(), ActivationError> {
        let z = DMatrix::from_iterator(3, 3, EXTREMES.iter().map(|&v| T::cast(v)));
        let da = DMatrix::from_element(3, 3, T::one());
        for g in all_with_parameters() {
            let a = g.forward(&z);
            assert!(
                a.iter().all(|v| v.finite()),
                "{g} forward ({}): {a}",
                T::NAME
            );
            let dz = g.backward(&z, &a, &da)?;
            assert!(
                dz.iter().all(|v| v.finite()),
                "{g} backward ({}): {dz}",
                T::NAME
            );
            if g.is_elementwise() {
                let d = g.derivative(&z)?;
                assert!(d.iter().all(|v| v.finite()), "{g} g' ({}): {d}", T::NAME);
            }
        }
        Ok(())
    }

    #[test]
    fn every_activation_is_finite_at_extremes_f32() {
        all_finite::<f32>().unwrap();
    }

    #[test]
    fn every_activation_is_finite_at_extremes_f64() {
        all_finite::<f64>().unwrap();
    }

    /// `|got − want| ≤ rel · |want|` (exact when `rel = 0`).
    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs()
    }

    /// Saturated values are exact, and tails are accurate, not flushed or overflowed.
    fn saturated_values<T: Scalar>(rel: f64) {
        let v = |g: Activation, z: f64| g.value(T::cast(z)).to_f64();
        let s = |g: Activation, z: f64| g.slope(T::cast(z)).to_f64();
        for big in [1e4, 700.0, 88.0] {
            assert_eq!(v(Activation::Sigmoid, big), 1.0);
            assert_eq!(v(Activation::Tanh, big), 1.0);
            assert_eq!(v(Activation::Tanh, -big), -1.0);
            assert_eq!(v(Activation::Softplus, big), big);
            assert_eq!(v(Activation::Silu, big), big);
            assert_eq!(v(Activation::Gelu, big), big);
            assert_eq!(v(Activation::GeluTanh, big), big);
            assert_eq!(s(Activation::Softplus, big), 1.0);
            assert_eq!(s(Activation::Gelu, big), 1.0);
            assert_eq!(s(Activation::GeluTanh, big), 1.0);
        }
        // ELU/SELU saturate at −α and −λα₀ (closed form).
        assert_eq!(v(Activation::Elu { alpha: 2.5 }, -1e4), -2.5);
        let lam_alpha =
            T::cast(nn_activations::elu::SELU_LAMBDA) * T::cast(nn_activations::elu::SELU_ALPHA);
        assert_eq!(v(Activation::Selu, -700.0), -lam_alpha.to_f64());
        assert!(close(
            v(Activation::Selu, 1e4),
            1e4 * nn_activations::elu::SELU_LAMBDA,
            rel
        ));
        // σ(−88) = e^(−88)/(1 + e^(−88)) = 6.054601895401186e-39 (Python 3: math.exp(-88) /
        // (1 + math.exp(-88))); subnormal in f32.
        assert!(close(
            v(Activation::Sigmoid, -88.0),
            6.054601895401186e-39,
            rel
        ));
        assert!(close(
            v(Activation::Softplus, -88.0),
            6.054601895401186e-39,
            rel
        ));
    }

    #[test]
    fn saturated_and_tail_values_f32() {
        saturated_values::<f32>(1e-5); // f32's subnormal σ(−88) has ~22 significant bits
    }

    #[test]
    fn saturated_and_tail_values_f64() {
        saturated_values::<f64>(1e-13);
        // softplus(−700) = ln(1 + e^(−700)) = 9.85967654375977e-305 (Python 3:
        // math.log1p(math.exp(-700))), where ln(1 + e^z) would round to 0.
        let sp = Activation::Softplus.value(-700.0_f64);
        assert!(close(sp, 9.85967654375977e-305, 1e-13), "{sp}");
        // gelu(−10) = −10 Φ(−10) = −7.619853024160593e-23 (Python 3: -10 * 0.5 *
        // math.erfc(10 / math.sqrt(2))); 0.5 (1 + erf) would give 0.
        let g = Activation::Gelu.value(-10.0_f64);
        assert!(close(g, -7.619853024160593e-23, 1e-13), "{g}");
    }

    /// Each column of a softmax sums to 1 within `tol`, whatever the logits' scale.
    fn columns_sum_to_one<T: Scalar>(z: &DMatrix<T>, tol: f64) {
        let a = Activation::Softmax.forward(z);
        for (j, col) in a.column_iter().enumerate() {
            let sum: f64 = col.iter().map(|v| v.to_f64()).sum();
            assert!(
                (sum - 1.0).abs() <= tol,
                "column {j} sums to {sum} ({})",
                T::NAME
            );
            assert!(col.iter().all(|v| v.finite() && *v >= T::zero()));
        }
    }

    #[test]
    fn softmax_is_stable_at_extremes() {
        let cols: [[f64; 4]; 5] = [
            [1e4, -1e4, 0.0, 1e4],
            [700.0, 699.0, -700.0, 698.5],
            [88.0, -88.0, 87.0, 0.5],
            [-1e4, -1e4, -1e4, -1e4],
            [-700.0, -88.0, -1e4, -699.0],
        ];
        let z = DMatrix::from_iterator(4, 5, cols.iter().flatten().copied());
        columns_sum_to_one(&z, 1e-12);
        columns_sum_to_one(&z.map(|v| v as f32), 1e-6);
        // [1e4, −1e4, 0, 1e4] → [½, 0, 0, ½] exactly (closed form).
        let a = Activation::Softmax.forward(&z);
        assert_eq!(a.column(0).as_slice(), &[0.5, 0.0, 0.0, 0.5]);
        assert_eq!(a.column(3).as_slice(), &[0.25; 4]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn softmax_columns_sum_to_one(
            (n, v) in (1usize..=12).prop_flat_map(|n| (Just(n), proptest::collection::vec(-1e4f64..1e4, n * 3)))
        ) {
            let z = DMatrix::from_column_slice(n, 3, &v);
            columns_sum_to_one(&z, 1e-12);
            columns_sum_to_one(&z.map(|v| v as f32), 1e-6);
        }
    }
}

mod known_values {
    use super::*;

    /// `(activation, z, g(z), g'(z))`; sources in the comments. "Python 3" is CPython's
    /// `math` module (exp, tanh, erf/erfc, expm1, log1p), evaluated in f64.
    fn table() -> Vec<(Activation, f64, f64, f64)> {
        let lam = nn_activations::elu::SELU_LAMBDA;
        vec![
            // Closed forms.
            (Activation::Identity, -3.5, -3.5, 1.0),
            (Activation::Step, 0.0, 1.0, 0.0), // h(0) = 1, the perceptron's convention
            (Activation::Step, -1e-300, 0.0, 0.0),
            (Activation::Sigmoid, 0.0, 0.5, 0.25),
            (Activation::Tanh, 0.0, 0.0, 1.0),
            (Activation::Relu, 0.0, 0.0, 1.0), // derivative 1 at the kink
            (Activation::Relu, -2.0, 0.0, 0.0),
            (Activation::Relu, 2.5, 2.5, 1.0),
            (Activation::LeakyRelu { slope: 0.2 }, -2.0, -0.4, 0.2),
            (Activation::leaky_relu(), 0.0, 0.0, 1.0),
            (Activation::Softplus, 0.0, std::f64::consts::LN_2, 0.5),
            (Activation::Gelu, 0.0, 0.0, 0.5),
            (Activation::GeluTanh, 0.0, 0.0, 0.5),
            (Activation::Silu, 0.0, 0.0, 0.5),
            (Activation::Selu, 1.0, lam, lam),
            (Activation::Elu { alpha: 2.0 }, 0.0, 0.0, 1.0),
            // Python 3: 1 / (1 + math.exp(-1)), and σ(1)·σ(−1) = 0.19661193324148185.
            (
                Activation::Sigmoid,
                1.0,
                0.7310585786300049,
                0.19661193324148185,
            ),
            (
                Activation::Sigmoid,
                -1.0,
                0.2689414213699951,
                0.19661193324148185,
            ),
            // Python 3: math.tanh(1), 1 - math.tanh(1)**2.
            (
                Activation::Tanh,
                1.0,
                0.7615941559557649,
                0.41997434161402614,
            ),
            // Python 3: 0.5 * math.erfc(-1 / math.sqrt(2)), and Φ(z) + z φ(z) with
            // φ(z) = math.exp(-z * z / 2) / math.sqrt(2 * math.pi).
            (
                Activation::Gelu,
                1.0,
                0.8413447460685429,
                1.0833154705876864,
            ),
            (
                Activation::Gelu,
                -1.0,
                -0.15865525393145707,
                -0.08331547058768629,
            ),
            // Python 3: 0.5 * z * (1 + math.tanh(u)), u = math.sqrt(2 / math.pi) * (z + 0.044715
            // * z**3), and its derivative 0.5 (1 + t) + 0.5 z (1 − t²) u'(z), t = tanh u.
            (
                Activation::GeluTanh,
                1.0,
                0.8411919906082768,
                1.0829640838457826,
            ),
            (
                Activation::GeluTanh,
                -1.0,
                -0.15880800939172324,
                -0.08296408384578252,
            ),
            // Python 3: σ(1) and σ(1)·(1 + 1·σ(−1)).
            (
                Activation::Silu,
                1.0,
                0.7310585786300049,
                0.9276705118714869,
            ),
            // Python 3: math.log1p(math.e), σ(1).
            (
                Activation::Softplus,
                1.0,
                1.3132616875182228,
                0.7310585786300049,
            ),
            // Python 3: math.expm1(-1), math.exp(-1).
            (
                Activation::elu(),
                -1.0,
                -0.6321205588285577,
                0.36787944117144233,
            ),
            // Python 3: λ α₀ math.expm1(-1), λ α₀ math.exp(-1).
            (
                Activation::Selu,
                -1.0,
                -1.1113307378125625,
                0.646768603034814,
            ),
        ]
    }

    /// A few ulps: the references carry their own f64 rounding, and `Φ(z) + z φ(z)` at
    /// `z = −1` cancels about three bits.
    const REL_F64: f64 = 2e-15;

    #[test]
    fn values_and_slopes_match_references_f64() {
        for (g, z, value, slope) in table() {
            let (v, s) = (g.value(z), g.slope(z));
            assert!(
                (v - value).abs() <= REL_F64 * value.abs(),
                "{g}({z}) = {v}, want {value}"
            );
            assert!(
                (s - slope).abs() <= REL_F64 * slope.abs(),
                "{g}'({z}) = {s}, want {slope}"
            );
        }
    }

    #[test]
    fn values_and_slopes_match_references_f32() {
        for (g, z, value, slope) in table() {
            let zf = z as f32;
            let (v, s) = (f64::from(g.value(zf)), f64::from(g.slope(zf)));
            // z = −1e-300 is −0.0 in f32, which the step maps to 1.
            if z != 0.0 && zf == 0.0 {
                continue;
            }
            assert!(
                (v - value).abs() <= 3e-7 * value.abs(),
                "{g}({z}) = {v}, want {value}"
            );
            assert!(
                (s - slope).abs() <= 3e-7 * slope.abs(),
                "{g}'({z}) = {s}, want {slope}"
            );
        }
    }

    #[test]
    fn softmax_of_one_two_three() {
        // Python 3: [math.exp(x) / sum(map(math.exp, (1, 2, 3))) for x in (1, 2, 3)]
        let want: [f64; 3] = [0.09003057317038046, 0.24472847105479767, 0.6652409557748219];
        let z = DMatrix::from_column_slice(3, 1, &[1.0, 2.0, 3.0]);
        let a = Activation::Softmax.forward(&z);
        for (got, want) in a.iter().zip(want) {
            assert!((got - want).abs() <= 2e-16, "{got} vs {want}");
        }
        // A shift of every logit does not change the softmax (closed form).
        let shifted = Activation::Softmax.forward(&z.add_scalar(500.0));
        assert!((shifted - &a).amax() <= 1e-15);
        // The single-row softmax is 1, and its slope 0.
        assert_eq!(Activation::Softmax.value(3.0), 1.0);
        assert_eq!(Activation::Softmax.slope(3.0), 0.0);
    }
}

mod names {
    use super::*;

    #[test]
    fn all_names_parse_to_all_in_order() {
        assert_eq!(Activation::ALL_NAMES.len(), Activation::ALL.len());
        for (name, g) in Activation::ALL_NAMES.iter().zip(Activation::ALL) {
            assert_eq!(g.name(), *name);
            assert_eq!(name.parse::<Activation>().unwrap(), g);
            assert_eq!(g.to_string().parse::<Activation>().unwrap(), g);
        }
    }

    #[test]
    fn aliases_and_parameters_come_from_the_table() {
        assert_eq!(
            Activation::ALIASES,
            &[("linear", "identity"), ("swish", "silu")]
        );
        for (alias, name) in Activation::ALIASES {
            let g: Activation = alias.parse().unwrap();
            assert_eq!(g.name(), *name);
        }
        for g in Activation::ALL {
            match g {
                Activation::LeakyRelu { slope } => {
                    assert_eq!(g.parameter(), Some(("slope", slope)));
                }
                Activation::Elu { alpha } => assert_eq!(g.parameter(), Some(("alpha", alpha))),
                other => assert_eq!(other.parameter(), None, "{other}"),
            }
        }
        let msg = "relu6".parse::<Activation>().unwrap_err().to_string();
        assert!(
            msg.contains("linear = identity, swish = silu")
                && msg.contains("leaky_relu(0.01), elu(1)"),
            "{msg}"
        );
    }

    #[test]
    fn json_form_is_the_display_string() {
        for g in Activation::ALL {
            let json = serde_json::to_string(&g).unwrap();
            assert_eq!(json, format!("\"{g}\""));
            assert_eq!(serde_json::from_str::<Activation>(&json).unwrap(), g);
        }
        assert_eq!(
            serde_json::to_string(&Activation::leaky_relu()).unwrap(),
            r#""leaky_relu(0.01)""#
        );
        assert_eq!(
            serde_json::from_str::<Activation>(r#"" Swish ""#).unwrap(),
            Activation::Silu
        );
        for bad in [
            r#""relu6""#,
            r#""elu(-1)""#,
            r#""relu(1)""#,
            "1",
            "null",
            "{}",
        ] {
            assert!(
                serde_json::from_str::<Activation>(bad).is_err(),
                "{bad} deserialised"
            );
        }
        let err = serde_json::from_str::<Activation>(r#""relu6""#).unwrap_err();
        assert!(err.to_string().contains("valid names: identity"), "{err}");
    }

    #[test]
    fn display_shows_parameters() {
        assert_eq!(Activation::Relu.to_string(), "relu");
        assert_eq!(Activation::GeluTanh.to_string(), "gelu_tanh");
        assert_eq!(Activation::leaky_relu().to_string(), "leaky_relu(0.01)");
        assert_eq!(
            Activation::LeakyRelu { slope: 0.2 }.to_string(),
            "leaky_relu(0.2)"
        );
        assert_eq!(Activation::elu().to_string(), "elu(1)");
        assert_eq!(Activation::Elu { alpha: 1e-300 }.to_string(), "elu(1e-300)");
        assert_eq!(Activation::Elu { alpha: 2.5e20 }.to_string(), "elu(2.5e20)");
    }

    #[test]
    fn aliases_case_and_spaces_are_accepted() {
        let cases = [
            ("linear", Activation::Identity),
            ("swish", Activation::Silu),
            ("  ReLU ", Activation::Relu),
            ("LEAKY_RELU( 0.2 )", Activation::LeakyRelu { slope: 0.2 }),
            ("leaky_relu", Activation::leaky_relu()),
            ("elu (3)", Activation::Elu { alpha: 3.0 }),
            ("elu", Activation::elu()),
            ("leaky_relu(0)", Activation::LeakyRelu { slope: 0.0 }),
        ];
        for (text, g) in cases {
            assert_eq!(text.parse::<Activation>(), Ok(g), "{text}");
        }
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        for text in ["relu6", "", "sigmoid2", "leaky relu"] {
            let err = text.parse::<Activation>().unwrap_err();
            assert_eq!(
                err,
                ActivationError::UnknownName {
                    found: text.trim().to_string(),
                    valid: Activation::ALL_NAMES
                }
            );
            let msg = err.to_string();
            for name in Activation::ALL_NAMES {
                assert!(msg.contains(name), "{msg} lacks {name}");
            }
        }
    }

    #[test]
    fn bad_parameters_are_rejected() {
        for (text, name, parameter) in [
            ("leaky_relu(-0.1)", "leaky_relu", "slope"),
            ("leaky_relu(nan)", "leaky_relu", "slope"),
            ("leaky_relu(inf)", "leaky_relu", "slope"),
            ("leaky_relu()", "leaky_relu", "slope"),
            ("elu(abc)", "elu", "alpha"),
            ("elu(-1)", "elu", "alpha"),
            ("elu(1e999)", "elu", "alpha"),
        ] {
            match text.parse::<Activation>() {
                Err(ActivationError::BadParameter {
                    name: n,
                    parameter: p,
                    ..
                }) => {
                    assert_eq!((n, p), (name, parameter), "{text}");
                }
                other => panic!("{text}: expected BadParameter, got {other:?}"),
            }
        }
        let err = "relu(0.1)".parse::<Activation>().unwrap_err();
        assert!(matches!(
            err,
            ActivationError::UnexpectedParameter { name: "relu", .. }
        ));
        for text in ["leaky_relu(0.2", "relu)", "elu((1))", "elu(1)x"] {
            assert_eq!(
                text.parse::<Activation>(),
                Err(ActivationError::Malformed {
                    found: text.to_string()
                }),
                "{text}"
            );
        }
    }

    #[test]
    fn checked_constructors_validate() {
        assert_eq!(
            Activation::leaky_relu_with_slope(0.3),
            Ok(Activation::LeakyRelu { slope: 0.3 })
        );
        assert_eq!(
            Activation::elu_with_alpha(0.5),
            Ok(Activation::Elu { alpha: 0.5 })
        );
        for bad in [f64::NAN, f64::INFINITY, -1e-9] {
            assert!(matches!(
                Activation::leaky_relu_with_slope(bad),
                Err(ActivationError::BadParameter {
                    parameter: "slope",
                    ..
                })
            ));
            assert!(matches!(
                Activation::elu_with_alpha(bad),
                Err(ActivationError::BadParameter {
                    parameter: "alpha",
                    ..
                })
            ));
        }
        for g in Activation::ALL {
            assert_eq!(g.validate(), Ok(()));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Display then FromStr gives back the same bits, for every valid parameter.
        #[test]
        fn display_round_trips_exactly(bits in any::<u64>()) {
            let x = f64::from_bits(bits).abs();
            prop_assume!(x.is_finite());
            for g in [Activation::LeakyRelu { slope: x }, Activation::Elu { alpha: x }] {
                let back: Activation = g.to_string().parse().unwrap();
                let y = match back {
                    Activation::LeakyRelu { slope } => slope,
                    Activation::Elu { alpha } => alpha,
                    other => panic!("{g} came back as {other}"),
                };
                prop_assert_eq!(y.to_bits(), x.to_bits(), "{}", g);
            }
        }

        /// The JSON form reads back to the same bits, for every activation and every
        /// valid parameter.
        #[test]
        fn json_round_trips_exactly(g in activation(), bits in any::<u64>()) {
            let x = f64::from_bits(bits).abs();
            prop_assume!(x.is_finite());
            for g in [g, Activation::LeakyRelu { slope: x }, Activation::Elu { alpha: x }] {
                let json = serde_json::to_string(&g).map_err(fail)?;
                let back: Activation = serde_json::from_str(&json).map_err(fail)?;
                prop_assert_eq!(back.name(), g.name());
                prop_assert_eq!(
                    back.parameter().map(|(p, v)| (p, v.to_bits())),
                    g.parameter().map(|(p, v)| (p, v.to_bits())),
                    "{}", json
                );
            }
        }

        #[test]
        fn ordinary_parameters_round_trip(x in 0.0f64..10.0) {
            let g = Activation::LeakyRelu { slope: x };
            prop_assert_eq!(g.to_string().parse::<Activation>().unwrap(), g);
        }
    }
}

mod errors {
    use super::*;

    type Mismatch = (&'static str, &'static str, (usize, usize), (usize, usize));

    /// The fields of a shape mismatch, or `None` for any other error.
    fn mismatch(err: ActivationError) -> Option<Mismatch> {
        match err {
            ActivationError::Core(CoreError::ShapeMismatch {
                op,
                operand,
                expected,
                found,
            }) => Some((op, operand, expected, found)),
            _ => None,
        }
    }

    #[test]
    fn shape_mismatches_are_errors() {
        let z = DMatrix::<f64>::zeros(3, 2);
        let ok = DMatrix::<f64>::zeros(3, 2);
        let bad = DMatrix::<f64>::zeros(2, 3);
        for g in Activation::ALL {
            let mut out = bad.clone();
            let e = mismatch(g.forward_into(&z, &mut out).unwrap_err()).unwrap();
            assert_eq!(e, ("Activation::forward_into", "output a", (3, 2), (2, 3)));

            let mut dz = ok.clone();
            let e = mismatch(g.backward_into(&z, &bad, &ok, &mut dz).unwrap_err()).unwrap();
            assert_eq!(e.1, "forward output a");
            let e = mismatch(g.backward_into(&z, &ok, &bad, &mut dz).unwrap_err()).unwrap();
            assert_eq!(e.1, "upstream gradient da");
            let mut dz = bad.clone();
            let e = mismatch(g.backward_into(&z, &ok, &ok, &mut dz).unwrap_err()).unwrap();
            assert_eq!(e.1, "output dz");
            assert!(g.backward(&z, &ok, &bad).is_err());

            if g.is_elementwise() {
                let mut out = bad.clone();
                let e = mismatch(g.derivative_into(&z, &mut out).unwrap_err()).unwrap();
                assert_eq!(e.1, "output");
            }
        }
        // The message names the operation, the operand and both shapes.
        let mut out = bad.clone();
        let msg = Activation::Relu
            .forward_into(&z, &mut out)
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "Activation::forward_into: output a has shape 2×3, expected 3×2"
        );
    }

    #[test]
    fn softmax_derivative_is_not_elementwise() {
        let z = DMatrix::<f64>::zeros(3, 2);
        let err = Activation::Softmax.derivative(&z).unwrap_err();
        assert!(matches!(
            err,
            ActivationError::NotElementwise {
                activation: "softmax",
                ..
            }
        ));
        assert!(err.to_string().contains("backward"), "{err}");
        assert!(!Activation::Softmax.is_elementwise());
        assert_eq!(
            Activation::ALL
                .iter()
                .filter(|g| !g.is_elementwise())
                .count(),
            1
        );
        assert_eq!(
            Activation::ALL
                .iter()
                .filter(|g| !g.is_differentiable())
                .count(),
            1
        );
        assert!(!Activation::Step.is_differentiable());
    }

    #[test]
    fn empty_matrices_are_fine() {
        for (r, c) in [(0, 3), (3, 0), (0, 0)] {
            let z = DMatrix::<f32>::zeros(r, c);
            for g in Activation::ALL {
                let a = g.forward(&z);
                assert_eq!(a.shape(), (r, c));
                assert_eq!(g.backward(&z, &a, &z).unwrap().shape(), (r, c));
            }
        }
    }

    #[test]
    fn nan_propagates() {
        let z = DMatrix::from_column_slice(2, 1, &[f64::NAN, 1.0]);
        for g in Activation::ALL {
            let a = g.forward(&z);
            assert!(a[0].is_nan(), "{g} hides a NaN input: {a}");
        }
    }

    #[test]
    fn derivative_path_is_reported() {
        let from_a: Vec<&str> = Activation::ALL
            .iter()
            .filter(|g| g.derivative_from_output())
            .map(|g| g.name())
            .collect();
        assert_eq!(from_a, ["sigmoid", "tanh", "softmax", "elu", "selu"]);
    }
}

mod allocation {
    //! A counting global allocator (per thread, so parallel tests do not interfere)
    //! shows that the in-place passes allocate nothing.

    use super::*;
    use nn_core::testing::{CountingAllocator, allocations_on_this_thread as allocations};

    #[global_allocator]
    static GLOBAL: CountingAllocator = CountingAllocator;

    #[test]
    fn in_place_passes_allocate_nothing() {
        let z = DMatrix::from_fn(7, 5, |i, j| (i as f32 - 3.0) * 0.7 + j as f32 * 0.3);
        let da = DMatrix::from_fn(7, 5, |i, j| (i * j) as f32 * 0.1 - 0.5);
        let mut a = DMatrix::zeros(7, 5);
        let mut dz = DMatrix::zeros(7, 5);
        let mut d = DMatrix::zeros(7, 5);
        let mut gs = Activation::ALL.to_vec();
        gs.push(Activation::LeakyRelu { slope: 0.2 });
        for g in gs {
            let before = allocations();
            g.forward_into(&z, &mut a).unwrap();
            g.backward_into(&z, &a, &da, &mut dz).unwrap();
            if g.is_elementwise() {
                g.derivative_into(&z, &mut d).unwrap();
            }
            assert_eq!(allocations() - before, 0, "{g} allocated");
        }
        // The counter works: the allocating form is seen.
        let before = allocations();
        let a2 = Activation::Relu.forward(&z);
        assert!(allocations() > before && a2.nrows() == 7);
    }
}

mod fast_tanh {
    use nn_activations::exp::{EXP_F32_MAX, EXP_F32_MIN, exp_f32};
    use nn_activations::sigmoid::sigmoid_f32;
    use nn_activations::tanh::tanh_f32;

    /// Distance in units in the last place between two finite f32 of the same sign.
    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    /// The f32 exponential against the correctly rounded value (f64 exp, rounded) on a
    /// dense grid over its normal range, 0 below it, and the special values.
    #[test]
    fn f32_exp_is_within_two_ulps() {
        let mut worst = (0u32, 0.0f32);
        let steps = 2_000_000;
        for i in 0..=steps {
            let x = EXP_F32_MIN + (EXP_F32_MAX - EXP_F32_MIN) * (i as f32 / steps as f32);
            let exact = (x as f64).exp() as f32;
            let u = ulps(exp_f32(x), exact);
            if u > worst.0 {
                worst = (u, x);
            }
        }
        assert!(worst.0 <= 2, "{} ulps at x = {}", worst.0, worst.1);
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(EXP_F32_MIN - 0.01), 0.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert!(exp_f32(EXP_F32_MAX).is_finite());
        for big in [88.8, 100.0, f32::MAX, f32::INFINITY] {
            assert_eq!(exp_f32(big), f32::INFINITY, "exp({big})");
        }
        assert!(exp_f32(f32::NAN).is_nan(), "NaN must propagate");
    }

    /// The f32 tanh against the correctly rounded value (f64 tanh, rounded) on a dense grid
    /// over [−12, 12] and on every f32 near the saturation point and near zero: within the 5
    /// ulps its docs state (an exhaustive run over [0, 9.1] found 5 at worst).
    #[test]
    fn f32_tanh_is_within_five_ulps() {
        let mut worst = (0u32, 0.0f32);
        let mut check = |x: f32| {
            let exact = (x as f64).tanh() as f32;
            let got = tanh_f32(x);
            if exact != 0.0 {
                assert_eq!(
                    got.is_sign_negative(),
                    exact.is_sign_negative(),
                    "sign at {x}"
                );
            }
            let u = ulps(got, exact);
            if u > worst.0 {
                worst = (u, x);
            }
        };
        for i in -1_200_000..=1_200_000 {
            check(i as f32 * 1e-5);
        }
        for start in [8.99f32, 1e-4] {
            let mut x = start;
            while x < start * 1.003 {
                check(x);
                check(-x);
                x = f32::from_bits(x.to_bits() + 1);
            }
        }
        for x in [1e-45f32, 1e-30, 1e-8, 3e-4, 9.0, 9.5, 20.0, 1e4, f32::MAX] {
            check(x);
            check(-x);
        }
        assert!(worst.0 <= 5, "{} ulps at x = {}", worst.0, worst.1);
        assert!(tanh_f32(f32::NAN).is_nan(), "NaN must propagate");
        assert_eq!(tanh_f32(f32::INFINITY), 1.0);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
    }

    /// The f32 tanh is odd bit for bit (−0 included) and saturates to exactly ±1.
    #[test]
    fn f32_tanh_is_odd_and_saturates() {
        for i in 0..=200_000 {
            let x = i as f32 * 1e-4;
            assert_eq!(tanh_f32(-x).to_bits(), (-tanh_f32(x)).to_bits(), "at {x}");
        }
        assert!(tanh_f32(-0.0).is_sign_negative());
        for x in [9.1f32, 9.5, 12.0, 1e30] {
            assert_eq!((tanh_f32(x), tanh_f32(-x)), (1.0, -1.0), "at {x}");
        }
    }

    /// The f32 sigmoid against the correctly rounded value (f64, rounded) on a dense grid
    /// over [−87, 20] (normal results), its subnormal tail against the same reference to
    /// an ulp of the smallest normal, and the special values.
    #[test]
    fn f32_sigmoid_is_within_two_ulps() {
        let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
        let mut worst = (0u32, 0.0f32);
        for i in -8_700_000..=2_000_000 {
            let z = i as f32 * 1e-5;
            let u = ulps(sigmoid_f32(z), sigmoid(z as f64) as f32);
            if u > worst.0 {
                worst = (u, z);
            }
        }
        assert!(worst.0 <= 2, "{} ulps at z = {}", worst.0, worst.1);
        for i in 0..=170_000 {
            let z = -87.0 - i as f32 * 1e-4;
            let (got, exact) = (sigmoid_f32(z), sigmoid(z as f64) as f32);
            assert!(ulps(got, exact) <= 1, "{got} against {exact} at z = {z}");
        }
        // σ(−88) = 6.054601895401186e-39 (Python 3: math.exp(-88) / (1 + math.exp(-88))).
        assert!((sigmoid_f32(-88.0) as f64 / 6.054601895401186e-39 - 1.0).abs() < 1e-5);
        assert_eq!(sigmoid_f32(0.0), 0.5);
        assert_eq!(sigmoid_f32(f32::INFINITY), 1.0);
        assert_eq!(sigmoid_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(sigmoid_f32(-104.0), 0.0);
        assert!(sigmoid_f32(f32::NAN).is_nan(), "NaN must propagate");
    }
}

mod in_place {
    use nn_activations::Activation;
    use nn_activations::DMatrix;

    /// The in-place forward (inference) gives the same values as the two-buffer forward.
    #[test]
    fn in_place_forward_equals_forward() {
        let z = DMatrix::from_fn(5, 7, |i, j| (i as f64 - 2.0) * 1.7 + j as f64 * 0.3 - 1.0);
        for act in Activation::ALL {
            let mut a = z.clone();
            act.forward_in_place(&mut a);
            assert_eq!(a, act.forward(&z), "{act}");
            let z32 = z.clone().cast::<f32>();
            let mut a32 = z32.clone();
            act.forward_in_place(&mut a32);
            assert_eq!(a32, act.forward(&z32), "{act} f32");
        }
    }
}
