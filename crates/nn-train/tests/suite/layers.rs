//! Layers a user adds: a layer kind defined here, in the test, goes into a network, trains
//! with `fit`, passes the whole-network gradient check (and a wrong gradient does not),
//! saves and loads through a `LayerRegistry`, and is refused by name without one. Networks
//! built from given weights and without a loss. Every `LayerSpec` round-trips through JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use nalgebra::DMatrix;
use nn_train::nn_core::GradCheck;
use nn_train::persist::{
    checkpoint_from_bytes, checkpoint_from_bytes_registered, checkpoint_to_bytes, model_from_bytes,
    model_from_bytes_registered, model_to_bytes,
};
use nn_train::*;
use proptest::prelude::*;
use serde_json::json;

use super::{Gen, circles};

/// An element-wise affine map followed by tanh, with a trainable gain and offset per unit:
///
/// ```text
/// forward    Z = g ∘ X + c  (g, c: (n, 1), broadcast over columns)    A = tanh(Z)
/// backward   dZ = dA ∘ (1 − A²)
///            dg = (1/m) Σ_columns dZ ∘ X     dc = (1/m) Σ_columns dZ     dX = g ∘ dZ
/// ```
#[derive(Debug, Clone)]
struct AffineTanh {
    /// `[g, c]`.
    params: [Param<f64>; 2],
    a: DMatrix<f64>,
    /// The factor the gain's gradient is multiplied by: 1 is right, anything else is the
    /// deliberately wrong gradient the check must catch.
    gain_grad_factor: f64,
    /// The type name model files record, or `None` for a layer that cannot be saved.
    type_name: Option<&'static str>,
}

impl AffineTanh {
    fn new(n: usize) -> Self {
        let gain = DMatrix::from_fn(n, 1, |i, _| 1.0 + 0.1 * i as f64);
        let offset = DMatrix::from_fn(n, 1, |i, _| 0.05 * i as f64 - 0.1);
        Self {
            params: [
                Param::new("gain", gain).decayed(),
                Param::new("offset", offset),
            ],
            a: DMatrix::zeros(n, 0),
            gain_grad_factor: 1.0,
            type_name: Some("affine_tanh"),
        }
    }

    fn units(&self) -> usize {
        self.params[0].value().nrows()
    }

    fn check(&self, x: &DMatrix<f64>) -> Result<()> {
        if x.nrows() == self.units() {
            Ok(())
        } else {
            Err(TrainError::BadShape {
                what: "affine-tanh input",
                expected: (self.units(), x.ncols()),
                found: x.shape(),
            })
        }
    }

    fn compute(&self, x: &DMatrix<f64>, a: &mut DMatrix<f64>) {
        let (g, c) = (self.params[0].value(), self.params[1].value());
        *a = DMatrix::from_fn(x.nrows(), x.ncols(), |i, j| {
            (g[i] * x[(i, j)] + c[i]).tanh()
        });
    }
}

impl std::fmt::Display for AffineTanh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AffineTanh({})", self.units())
    }
}

impl Layer<f64> for AffineTanh {
    fn input_shape(&self) -> FeatureShape {
        FeatureShape::Flat(self.units())
    }

    fn output_shape(&self) -> FeatureShape {
        FeatureShape::Flat(self.units())
    }

    fn forward(&mut self, x: &DMatrix<f64>, _mode: Mode) -> Result<()> {
        self.check(x)?;
        let mut a = std::mem::replace(&mut self.a, DMatrix::zeros(0, 0));
        self.compute(x, &mut a);
        self.a = a;
        Ok(())
    }

    fn output(&self) -> Option<&DMatrix<f64>> {
        Some(&self.a)
    }

    fn backward(
        &mut self,
        x: &DMatrix<f64>,
        upstream: Upstream<'_, f64>,
        d_input: Option<&mut DMatrix<f64>>,
    ) -> Result<()> {
        self.check(x)?;
        let Upstream::Output(da) = upstream else {
            return Err(TrainError::InvalidConfig {
                what: "affine-tanh upstream",
                expected: "∂L/∂A",
                found: "∂L/∂Z".into(),
            });
        };
        let m = x.ncols() as f64;
        let dz = da.zip_map(&self.a, |d, a| d * (1.0 - a * a));
        let gain = self.params[0].value().clone();
        let dg = DMatrix::from_fn(self.units(), 1, |i, _| {
            self.gain_grad_factor * (0..x.ncols()).map(|j| dz[(i, j)] * x[(i, j)]).sum::<f64>() / m
        });
        let dc = DMatrix::from_fn(self.units(), 1, |i, _| dz.row(i).sum() / m);
        *self.params[0].value_and_grad_mut().1 = dg;
        *self.params[1].value_and_grad_mut().1 = dc;
        if let Some(dx) = d_input {
            *dx = DMatrix::from_fn(x.nrows(), x.ncols(), |i, j| gain[i] * dz[(i, j)]);
        }
        Ok(())
    }

    fn infer(&self, x: &DMatrix<f64>) -> Result<DMatrix<f64>> {
        self.check(x)?;
        let mut a = DMatrix::zeros(0, 0);
        self.compute(x, &mut a);
        Ok(a)
    }

    fn params(&self) -> &[Param<f64>] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [Param<f64>] {
        &mut self.params
    }

    fn record(&self) -> Option<LayerRecord> {
        self.type_name
            .map(|name| LayerRecord::custom(name, json!({ "units": self.units() })))
    }
}

/// The registration of `affine_tanh`: `{"units": n}` for an input of `n` features.
fn registry() -> LayerRegistry<f64> {
    let mut registry = LayerRegistry::new();
    registry
        .register("affine_tanh", |config, input| {
            let units = config["units"]
                .as_u64()
                .and_then(|n| usize::try_from(n).ok());
            match (units, input) {
                (Some(n), FeatureShape::Flat(inputs)) if n == inputs && n <= 1 << 16 => {
                    Ok(Box::new(AffineTanh::new(n)) as Box<dyn Layer<f64>>)
                }
                _ => Err(TrainError::InvalidConfig {
                    what: "affine_tanh config",
                    expected: "{\"units\": n} with n the number of input features",
                    found: format!("{config} for input {input}"),
                }),
            }
        })
        .unwrap();
    registry
}

/// 2 → dense(6, tanh) → the layer defined here → dense(1, sigmoid), BCE.
fn network(layer: AffineTanh, l2: f64) -> Network<f64> {
    Network::<f64>::builder(2)
        .dense(6, Activation::Tanh)
        .push(layer)
        .dense(1, Activation::Sigmoid)
        .loss(Loss::BinaryCrossEntropy)
        .l2(l2)
        .seed(5)
        .build()
        .unwrap()
}

#[test]
fn a_layer_defined_in_the_test_trains_and_passes_the_gradient_check() {
    let (x, y) = circles(64, 3);
    let mut net = network(AffineTanh::new(6), 0.0);
    assert_eq!(net.param_count(), (2 * 6 + 6) + 2 * 6 + (6 + 1));
    let before = net.evaluate(&x, &y).unwrap();
    let config = FitConfig {
        epochs: 150,
        batch_size: 16,
        optimizer: Optimizer::adam(0.05),
        ..FitConfig::default()
    };
    fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap();
    let after = net.evaluate(&x, &y).unwrap();
    assert!(
        after.cost < 0.25 * before.cost && after.accuracy >= Some(0.95),
        "cost {} → {}, accuracy {:?}",
        before.cost,
        after.cost,
        after.accuracy
    );
    // The layer's own parameters were trained too.
    assert_ne!(
        net.param("layers.1.gain").unwrap().value(),
        AffineTanh::new(6).params[0].value()
    );

    // Every tensor, the layer's included, against central finite differences (with L2,
    // which applies to the gain: it is decayed).
    let mut net = network(AffineTanh::new(6), 0.3);
    let (x, y) = circles(12, 8);
    let reports = net.gradient_check(&x, &y, &GradCheck::default()).unwrap();
    let names: Vec<&str> = reports.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "layers.0.weight",
            "layers.0.bias",
            "layers.1.gain",
            "layers.1.offset",
            "layers.2.weight",
            "layers.2.bias"
        ]
    );
    for (name, report) in &reports {
        assert!(report.passes(1e-7), "{name}: {report}");
    }
    // After backprop, the gradients are readable by name without a closure.
    net.compute_gradients(&x, &y, Mode::Eval).unwrap();
    let gain = net.gradient("layers.1.gain").unwrap();
    assert_eq!(gain.shape(), (6, 1));
    assert!(gain.iter().any(|g| g.abs() > 1e-6));
    let listed: Vec<String> = net.gradients().map(|(n, _)| n).collect();
    assert_eq!(listed, names);
    assert_eq!(net.gradient("layers.1.scale"), None);
}

#[test]
fn a_wrong_gradient_in_a_user_layer_fails_the_check() {
    let mut layer = AffineTanh::new(6);
    layer.gain_grad_factor = 1.01;
    let mut net = network(layer, 0.0);
    let (x, y) = circles(12, 8);
    let reports = net.gradient_check(&x, &y, &GradCheck::default()).unwrap();
    for (name, report) in &reports {
        if name == "layers.1.gain" {
            assert!(!report.passes(1e-7), "a 1% error passed: {report}");
        } else {
            assert!(report.passes(1e-7), "{name}: {report}");
        }
    }
}

#[test]
fn a_user_layer_saves_and_loads_through_a_registry() {
    let (x, y) = circles(32, 4);
    let mut net = network(AffineTanh::new(6), 0.0);
    let config = FitConfig {
        epochs: 3,
        batch_size: 8,
        ..FitConfig::default()
    };
    fit(&mut net, (&x, &y), None, &config, &mut Silent).unwrap();
    let bytes = model_to_bytes(&net, None).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains(r#"{\"config\":{\"units\":6},\"type\":\"affine_tanh\"}"#),
        "the architecture records the layer by its type name and config"
    );

    let loaded = model_from_bytes_registered(&bytes, "custom", &Limits::default(), &registry())
        .unwrap()
        .network;
    assert_eq!(loaded.to_string(), net.to_string());
    for ((na, a), (nb, b)) in net.named_params().into_iter().zip(loaded.named_params()) {
        assert_eq!(na, nb);
        assert_eq!(a, b, "{na} is read back exactly");
    }
    assert_eq!(loaded.predict(&x).unwrap(), net.predict(&x).unwrap());
    assert_eq!(model_to_bytes(&loaded, None).unwrap(), bytes);

    // Without the registration, the error names the type.
    let err = model_from_bytes::<f64>(&bytes, "custom").unwrap_err();
    assert!(
        err.to_string().contains("unknown layer type `affine_tanh`"),
        "{err}"
    );
    let err = model_from_bytes_registered(&bytes, "custom", &Limits::default(), &{
        let mut other = LayerRegistry::<f64>::new();
        other
            .register("scaled_tanh", |_, _| {
                Ok(Box::new(AffineTanh::new(1)) as Box<dyn Layer<f64>>)
            })
            .unwrap();
        other
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("unknown layer type `affine_tanh`")
            && err.to_string().contains("`scaled_tanh`"),
        "{err}"
    );
    // A registration that refuses its config is an error naming the layer.
    let (from, to) = (br#"{\"units\":6}"#, br#"{\"units\":7}"#);
    let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
    let mut bad = bytes.clone();
    bad[at..at + to.len()].copy_from_slice(to);
    let err = model_from_bytes_registered(&bad, "custom", &Limits::default(), &registry())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("layer 1 (affine_tanh({\"units\":7}))") && err.contains("affine_tanh config"),
        "{err}"
    );
}

#[test]
fn a_checkpoint_with_a_user_layer_resumes_through_a_registry() {
    let (x, y) = circles(32, 6);
    let config = FitConfig {
        epochs: 4,
        batch_size: 8,
        ..FitConfig::default()
    };
    // Straight through: 4 epochs.
    let mut straight = network(AffineTanh::new(6), 0.0);
    Trainer::new(config)
        .unwrap()
        .fit(&mut straight, (&x, &y), None, &mut Silent)
        .unwrap();
    // 2 epochs, a checkpoint, then the other 2 from the loaded checkpoint.
    struct StopAfterTwo;
    impl Observer for StopAfterTwo {
        fn on_epoch(&mut self, record: &EpochRecord) -> Control {
            if record.epoch == 1 {
                Control::Stop
            } else {
                Control::Continue
            }
        }
    }
    let mut net = network(AffineTanh::new(6), 0.0);
    let mut trainer = Trainer::new(config).unwrap();
    trainer
        .fit(&mut net, (&x, &y), None, &mut StopAfterTwo)
        .unwrap();
    assert_eq!(trainer.epoch, 2);
    let bytes = checkpoint_to_bytes(&net, &trainer, None).unwrap();
    let err = checkpoint_from_bytes::<f64>(&bytes, "ckpt").unwrap_err();
    assert!(
        err.to_string().contains("unknown layer type `affine_tanh`"),
        "{err}"
    );
    let mut resumed =
        checkpoint_from_bytes_registered(&bytes, "ckpt", &Limits::default(), &registry()).unwrap();
    resumed
        .trainer
        .fit(&mut resumed.network, (&x, &y), None, &mut Silent)
        .unwrap();
    for ((na, a), (_, b)) in straight
        .named_params()
        .into_iter()
        .zip(resumed.network.named_params())
    {
        assert_eq!(a, b, "{na}: resuming gives the bits of never stopping");
    }
}

#[test]
fn a_layer_that_records_nothing_cannot_be_saved_and_built_in_names_are_taken() {
    let mut layer = AffineTanh::new(6);
    layer.type_name = None;
    let net = network(layer, 0.0);
    let err = model_to_bytes(&net, None).unwrap_err().to_string();
    assert!(
        err.contains("layer 1 (AffineTanh(6))") && err.contains("cannot be saved"),
        "{err}"
    );
    let mut layer = AffineTanh::new(6);
    layer.type_name = Some("dense");
    let err = model_to_bytes(&network(layer, 0.0), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("built-in"), "{err}");
    let err = LayerRegistry::<f64>::new()
        .register("flatten", |_, _| {
            Ok(Box::new(AffineTanh::new(1)) as Box<dyn Layer<f64>>)
        })
        .map(drop)
        .unwrap_err();
    assert!(err.to_string().contains("`flatten`"), "{err}");
    // A built layer must take the shape before it.
    let err = Network::<f64>::builder(2)
        .dense(5, Activation::Tanh)
        .push(AffineTanh::new(6))
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("layer 1 (AffineTanh(6)): takes inputs of 6, but its input is 5"),
        "{err}"
    );
}

#[test]
fn bias_init_sets_the_starting_biases_and_leaves_the_weights() {
    let normal = Init::Normal {
        mean: 0.5,
        std: 2.0,
    };
    let build = |bias: Option<Init>| {
        let b = Network::<f64>::builder(3)
            .dense_with_init(4, Activation::Tanh, normal)
            .dense_with_init(2, Activation::Identity, Init::Constant(0.25))
            .seed(7);
        match bias {
            Some(init) => b.bias_init(init),
            None => b,
        }
        .build()
        .unwrap()
    };
    let (drawn, zero) = (build(None), build(Some(Init::Zeros)));
    for layer in ["layers.0", "layers.1"] {
        let w = format!("{layer}.weight");
        let b = format!("{layer}.bias");
        assert_eq!(
            drawn.param(&w).unwrap().value(),
            zero.param(&w).unwrap().value(),
            "{w}: the same draws"
        );
        assert!(
            drawn.param(&b).unwrap().value().iter().any(|&v| v != 0.0),
            "{b} drawn"
        );
        assert!(
            zero.param(&b).unwrap().value().iter().all(|&v| v == 0.0),
            "{b} zero"
        );
    }
    let constant = build(Some(Init::Constant(-1.5)));
    assert!(
        constant
            .param("layers.1.bias")
            .unwrap()
            .value()
            .iter()
            .all(|&v| v == -1.5)
    );
}

#[test]
fn a_network_from_given_weights_runs_without_a_loss() {
    let w1 = DMatrix::from_row_slice(2, 2, &[1.0, -1.0, 0.5, 2.0]);
    let b1 = DMatrix::from_column_slice(2, 1, &[0.0, 1.0]);
    let w2 = DMatrix::from_row_slice(1, 2, &[3.0, -2.0]);
    let net = Network::<f64>::builder(2)
        .push(Dense::from_parameters(w1, b1, Activation::Relu).unwrap())
        .push(Dense::from_parameters(w2, DMatrix::zeros(1, 1), Activation::Identity).unwrap())
        .build()
        .unwrap();
    let x = DMatrix::from_column_slice(2, 2, &[1.0, 2.0, -1.0, 0.0]);
    // column 1: relu([−1, 5.5]) = [0, 5.5] → −11; column 2: relu([−1, 0.5]) → −1
    assert_eq!(net.predict(&x).unwrap().as_slice(), &[-11.0, -1.0]);
    assert_eq!(net.loss(), None);
    assert!(net.summary().contains("loss: none"));
    let err = net.evaluate(&x, &DMatrix::zeros(1, 2)).unwrap_err();
    assert!(err.to_string().contains("without a loss"), "{err}");

    // Given weights are validated, and the errors carry the shapes.
    let err =
        Dense::<f64>::from_parameters(DMatrix::zeros(2, 3), DMatrix::zeros(3, 1), Activation::Relu)
            .unwrap_err()
            .to_string();
    assert!(err.contains("2×1") && err.contains("3×1"), "{err}");
    let nan = DMatrix::from_element(1, 1, f64::NAN);
    assert!(matches!(
        Dense::from_parameters(nan, DMatrix::zeros(1, 1), Activation::Relu),
        Err(TrainError::NonFiniteData { .. })
    ));
    let image = FeatureShape::Image {
        channels: 2,
        height: 4,
        width: 4,
    };
    let err = Conv2d::<f64>::from_parameters(
        image,
        DMatrix::zeros(3, 8),
        DMatrix::zeros(3, 1),
        ([3, 3], [1, 1], [0, 0]),
        Activation::Relu,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("18") && err.contains("3×8"), "{err}");
    // A conv built from weights is the same layer as one built from its config.
    let mut g = Gen(2);
    let w = g.matrix(3, 18, -1.0, 1.0);
    let b = g.matrix(3, 1, -1.0, 1.0);
    let conv = Conv2d::from_parameters(
        image,
        w.clone(),
        b.clone(),
        ([3, 3], [1, 1], [0, 0]),
        Activation::Tanh,
    )
    .unwrap();
    let mut built = Network::<f64>::image_builder(2, 4, 4)
        .conv2d(3, 3, Activation::Tanh)
        .flatten()
        .build()
        .unwrap();
    built.set_param("layers.0.weight", w).unwrap();
    built.set_param("layers.0.bias", b).unwrap();
    let x = g.matrix(32, 3, -1.0, 1.0);
    assert_eq!(
        conv.infer(&x).unwrap(),
        built.layers()[0].infer(&x).unwrap()
    );
    // The network predicts one example per lane: the same to rounding.
    assert!((conv.infer(&x).unwrap() - built.predict(&x).unwrap()).amax() < 1e-12);
    assert!(
        built
            .set_param("layers.0.kernel", DMatrix::zeros(3, 18))
            .is_err()
    );
    assert!(
        built
            .set_param("layers.0.weight", DMatrix::zeros(3, 9))
            .is_err()
    );
}

/// A dense layer keeps its weights packed for nn-core's fused kernel between predictions
/// (on AVX-512, layers of more than 64 units in `f32`): every way of changing them — a
/// parameter set by name, one changed through `for_each_param` as an optimizer does —
/// must show in the next prediction, on one thread and on two, at narrow and wide batches.
#[test]
fn a_dense_prediction_follows_every_change_of_the_weights() {
    let mut g = Gen(7);
    let mut net = Network::<f32>::builder(100)
        .dense(128, Activation::Relu)
        .dense(10, Activation::Identity)
        .build()
        .unwrap();
    // The network's output from its current parameters, computed naively in f64.
    let naive = |net: &Network<f32>, x: &DMatrix<f64>| {
        let p = |i: usize| net.layers()[i].params()[0].value().clone().cast::<f64>();
        let q = |i: usize| net.layers()[i].params()[1].value().clone().cast::<f64>();
        let ones = DMatrix::from_element(1, x.ncols(), 1.0);
        let h = (p(0) * x + q(0) * &ones).map(|v| v.max(0.0));
        p(1) * h + q(1) * ones
    };
    let check = |net: &Network<f32>, when: &str| {
        for n in [16, 300] {
            let x = Gen(n as u64).matrix(100, n, -1.0, 1.0);
            let want = naive(net, &x);
            for threads in [1, 2] {
                let got = nn_train::nn_core::with_kernel_threads(threads, || {
                    net.predict(&x.clone().cast::<f32>()).unwrap()
                });
                let err = (got.cast::<f64>() - &want).amax() / want.amax().max(1.0);
                assert!(err < 1e-5, "{when}, {n} columns, {threads} threads: {err}");
            }
        }
    };
    check(&net, "as built");
    net.set_param("layers.0.weight", g.matrix(128, 100, -1.0, 1.0).cast())
        .unwrap();
    check(&net, "after set_param");
    net.for_each_param(&mut |p| {
        if p.decays {
            p.value.iter_mut().for_each(|v| *v = -*v * 0.5);
        }
    });
    check(&net, "after for_each_param");
    let copy = net.clone();
    check(&copy, "a clone");
}

/// Flatten is a pass-through: a network ending in it predicts, trains and evaluates
/// exactly like the same network without it.
#[test]
fn flatten_passes_the_batch_and_its_gradient_through() {
    let make = |flatten: bool| {
        let b = Network::<f64>::image_builder(1, 3, 3).conv2d(2, 2, Activation::Tanh);
        let b = if flatten { b.flatten() } else { b };
        b.loss(Loss::Mse).seed(4).build().unwrap()
    };
    let mut g = Gen(6);
    let (x, y) = (g.matrix(9, 5, -1.0, 1.0), g.matrix(8, 5, -1.0, 1.0));
    let (mut with, mut without) = (make(true), make(false));
    assert!(with.layers()[1].output().is_none());
    assert_eq!(with.predict(&x).unwrap(), without.predict(&x).unwrap());
    let cost = with.compute_gradients(&x, &y, Mode::Train).unwrap();
    assert_eq!(
        cost,
        without.compute_gradients(&x, &y, Mode::Train).unwrap()
    );
    assert_eq!(
        with.gradient("layers.0.weight"),
        without.gradient("layers.0.weight")
    );
    assert_eq!(
        with.evaluate(&x, &y).unwrap(),
        without.evaluate(&x, &y).unwrap()
    );
    // Flatten alone computes nothing: refused.
    let err = Network::<f64>::image_builder(1, 3, 3)
        .flatten()
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("computes nothing"), "{err}");
}

fn activation() -> impl Strategy<Value = Activation> {
    (0..Activation::ALL.len(), -2.0f64..2.0).prop_map(|(i, p)| match Activation::ALL[i] {
        Activation::LeakyRelu { .. } => Activation::LeakyRelu { slope: p.abs() },
        Activation::Elu { .. } => Activation::Elu {
            alpha: p.abs() + 0.1,
        },
        other => other,
    })
}

fn init() -> impl Strategy<Value = Option<Init>> {
    let f = -3.0f64..3.0;
    prop_oneof![
        Just(None),
        Just(Some(Init::Zeros)),
        f.clone().prop_map(|c| Some(Init::Constant(c))),
        (f.clone(), 0.0f64..2.0).prop_map(|(low, d)| Some(Init::Uniform {
            low,
            high: low + d + 0.1
        })),
        (f.clone(), 0.0f64..2.0).prop_map(|(mean, std)| Some(Init::Normal { mean, std })),
        Just(Some(Init::XavierNormal)),
        Just(Some(Init::GlorotNormal)),
        Just(Some(Init::GlorotUniform)),
        (0.0f64..1.0).prop_map(|slope| Some(Init::HeNormal { slope })),
        (0.0f64..1.0).prop_map(|slope| Some(Init::HeUniform { slope })),
        Just(Some(Init::LecunNormal)),
        (0.1f64..3.0).prop_map(|gain| Some(Init::Orthogonal { gain })),
    ]
}

fn pair() -> impl Strategy<Value = [usize; 2]> {
    prop_oneof![[0usize..9, 0usize..9], [any::<usize>(), any::<usize>()]]
}

fn spec() -> impl Strategy<Value = LayerSpec> {
    prop_oneof![
        (any::<usize>(), activation(), init()).prop_map(|(units, activation, init)| {
            LayerSpec::Dense(DenseConfig {
                units,
                activation,
                init,
            })
        }),
        prop_oneof![any::<f64>(), 0.0f64..1.0]
            .prop_filter("finite", |r| r.is_finite())
            .prop_map(|rate| LayerSpec::Dropout(DropoutConfig { rate })),
        (0usize..64, pair(), pair(), pair(), activation(), init()).prop_map(
            |(out_channels, kernel, stride, padding, activation, init)| {
                LayerSpec::Conv2d(Conv2dConfig {
                    out_channels,
                    kernel,
                    stride,
                    padding,
                    activation,
                    init,
                })
            }
        ),
        (pair(), pair())
            .prop_map(|(kernel, stride)| LayerSpec::MaxPool2d(MaxPool2dConfig { kernel, stride })),
        (pair(), pair())
            .prop_map(|(kernel, stride)| LayerSpec::AvgPool2d(AvgPool2dConfig { kernel, stride })),
        Just(LayerSpec::Flatten(FlattenConfig {})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every variant, with arbitrary fields, reads back from its JSON (and from that JSON
    /// as text) as the same spec; its `"type"` is one of `LayerSpec::TYPES`; and it writes
    /// the same text again.
    #[test]
    fn every_layer_spec_round_trips_through_json(spec in spec()) {
        let v = spec.to_json();
        prop_assert_eq!(LayerSpec::from_json(&v, 0).unwrap(), spec);
        let text = v.to_string();
        let reparsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(LayerSpec::from_json(&reparsed, 0).unwrap(), spec);
        prop_assert_eq!(reparsed.to_string(), text);
        prop_assert!(LayerSpec::TYPES.contains(&v["type"].as_str().unwrap()));
        prop_assert_eq!(LayerRecord::from_json(&v, 0).unwrap(), LayerRecord::Builtin(spec));
    }
}

/// The JSON of each layer kind, key for key, as format version 1 writes it.
#[test]
fn layer_json_is_format_version_1() {
    let cases = [
        (
            LayerSpec::Dense(DenseConfig {
                units: 16,
                activation: Activation::Tanh,
                init: None,
            }),
            r#"{"activation":"tanh","init":null,"type":"dense","units":16}"#,
        ),
        (
            LayerSpec::Dense(DenseConfig {
                units: 3,
                activation: Activation::LeakyRelu { slope: 0.01 },
                init: Some(Init::HeNormal { slope: 0.0 }),
            }),
            r#"{"activation":"leaky_relu(0.01)","init":"he_normal(0)","type":"dense","units":3}"#,
        ),
        (
            LayerSpec::Dropout(DropoutConfig { rate: 0.5 }),
            r#"{"rate":0.5,"type":"dropout"}"#,
        ),
        (
            LayerSpec::Conv2d(Conv2dConfig {
                out_channels: 8,
                kernel: [3, 3],
                stride: [1, 1],
                padding: [0, 0],
                activation: Activation::Relu,
                init: None,
            }),
            r#"{"activation":"relu","init":null,"kernel":[3,3],"out_channels":8,"padding":[0,0],"stride":[1,1],"type":"conv2d"}"#,
        ),
        (
            LayerSpec::MaxPool2d(MaxPool2dConfig {
                kernel: [2, 2],
                stride: [2, 2],
            }),
            r#"{"kernel":[2,2],"stride":[2,2],"type":"max_pool2d"}"#,
        ),
        (
            LayerSpec::AvgPool2d(AvgPool2dConfig {
                kernel: [2, 1],
                stride: [1, 1],
            }),
            r#"{"kernel":[2,1],"stride":[1,1],"type":"avg_pool2d"}"#,
        ),
        (
            LayerSpec::Flatten(FlattenConfig {}),
            r#"{"type":"flatten"}"#,
        ),
    ];
    for (spec, text) in cases {
        assert_eq!(spec.to_json().to_string(), text);
    }
    // "init" may be left out, and unknown fields are ignored, as before.
    let v = json!({"type": "dense", "units": 2, "activation": "relu", "note": 1});
    assert_eq!(
        LayerSpec::from_json(&v, 0).unwrap(),
        LayerSpec::Dense(DenseConfig {
            units: 2,
            activation: Activation::Relu,
            init: None
        })
    );
}
