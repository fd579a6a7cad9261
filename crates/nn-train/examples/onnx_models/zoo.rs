//! The models the ONNX export is checked on: one per layer kind, activation, encoder and
//! pipeline task, each with seeded random parameters (biases included), random inputs as
//! rows, and nn's own outputs for them. Shared by `tests/onnx.rs` (structure and a
//! reference interpreter, no Python) and this example (files for ONNX Runtime).

use nn_train::data::{TableOptions, read_table};
use nn_train::encode::{Encoder, EncoderKind};
use nn_train::persist::Model;
use nn_train::pipeline::{Pipeline, PipelineConfig};
use nn_train::{Activation, DMatrix, Loss, Network, NetworkBuilder, Scalar, SeededRng, Stream};

/// A model with inputs and nn's outputs, all as rows (row-major, `f64` holding `T`'s
/// values exactly).
pub struct Case<T: Scalar> {
    /// A file-name-safe name, with the scalar type.
    pub name: String,
    /// The model to export.
    pub model: Model<T>,
    /// The ONNX input's shape (`[m, …]`) and values.
    pub input: (Vec<usize>, Vec<f64>),
    /// Each expected output: name, shape `[m, k]`, values.
    pub outputs: Vec<(String, Vec<usize>, Vec<f64>)>,
}

/// Every activation, with a parameter where it takes one.
pub fn activations() -> Vec<Activation> {
    vec![
        Activation::Identity,
        Activation::Step,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu { slope: 0.1 },
        Activation::Softmax,
        Activation::Elu { alpha: 0.7 },
        Activation::Selu,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::Softplus,
    ]
}

/// The examples of `m` columns as rows.
fn rows<T: Scalar>(x: &DMatrix<T>) -> (Vec<usize>, Vec<f64>) {
    let mut v = Vec::with_capacity(x.len());
    for j in 0..x.ncols() {
        v.extend(x.column(j).iter().map(|a| a.to_f64()));
    }
    (vec![x.ncols(), x.nrows()], v)
}

/// Sets every parameter of `net` to seeded values in `[-1, 1)`.
fn randomize<T: Scalar>(net: &mut Network<T>, seed: u64) {
    let mut rng = SeededRng::for_stream(seed, Stream::Custom(17));
    let shapes: Vec<(String, (usize, usize))> = net
        .named_params()
        .into_iter()
        .map(|(n, m)| (n, m.shape()))
        .collect();
    for (name, (r, c)) in shapes {
        let value = DMatrix::from_fn(r, c, |_, _| T::cast(rng.uniform(-1.0, 1.0)));
        if let Err(e) = net.set_param(&name, value) {
            unreachable!("{name}: {e}");
        }
    }
}

/// Seeded inputs `(n, m)` in `[-2, 2)`, with a per-feature offset and scale so that the
/// encoders have work to do.
fn inputs<T: Scalar>(n: usize, m: usize, seed: u64) -> DMatrix<T> {
    let mut rng = SeededRng::for_stream(seed, Stream::Custom(18));
    DMatrix::from_fn(n, m, |i, _| {
        T::cast(rng.uniform(-2.0, 2.0) * (1.0 + i as f64) + 0.5 * i as f64)
    })
}

fn model<T: Scalar>(network: Network<T>, encoder: Option<Encoder>) -> Model<T> {
    Model {
        network,
        encoder,
        classes: None,
        features: None,
        label: None,
        pipeline: None,
    }
}

/// Builds the network twice, with `last` and with identity as the last activation, gives
/// both the same parameters, and returns the case for `x` (columns).
fn case<T: Scalar>(
    name: String,
    build: &dyn Fn(Activation) -> NetworkBuilder<T>,
    (last, loss): (Activation, Option<Loss>),
    encoder: Option<Encoder>,
    x: &DMatrix<T>,
    image: Option<[usize; 3]>,
) -> Case<T> {
    let with_loss = match loss {
        Some(l) => build(last).loss(l),
        None => build(last),
    };
    let mut net = with_loss.build().unwrap_or_else(|e| unreachable!("{e}"));
    let mut plain = build(Activation::Identity)
        .build()
        .unwrap_or_else(|e| unreachable!("{e}"));
    randomize(&mut net, 7);
    randomize(&mut plain, 7);
    let encoded = match &encoder {
        Some(e) => e.transform(x).unwrap_or_else(|e| unreachable!("{e}")),
        None => x.clone(),
    };
    let out = net
        .predict(&encoded)
        .unwrap_or_else(|e| unreachable!("{e}"));
    let logits = plain
        .predict(&encoded)
        .unwrap_or_else(|e| unreachable!("{e}"));
    let (mut shape, values) = rows(x);
    if let Some([c, h, w]) = image {
        shape = vec![x.ncols(), c, h, w];
    }
    let (s1, v1) = rows(&out);
    let (s2, v2) = rows(&logits);
    let out_name = match net.loss().map(|l| l.task()) {
        Some(nn_train::Task::Regression) => "prediction",
        _ => "probabilities",
    };
    Case {
        name: format!("{name}_{}", T::NAME),
        model: model(net, encoder),
        input: (shape, values),
        outputs: vec![(out_name.into(), s1, v1), ("logits".into(), s2, v2)],
    }
}

/// One dense model per activation (the activation in a hidden layer, softmax output).
pub fn activation_cases<T: Scalar>() -> Vec<Case<T>> {
    let x = inputs::<T>(4, 9, 1);
    activations()
        .into_iter()
        .map(|act| {
            let build =
                move |last: Activation| Network::<T>::builder(4).dense(6, act).dense(3, last);
            let name = act.name().to_string();
            let last = (Activation::Softmax, Some(Loss::CategoricalCrossEntropy));
            case(name, &build, last, None, &x, None)
        })
        .collect()
}

/// A convolutional network with every image layer: non-square kernels, strides and
/// padding, max and average pooling, flatten, dropout, a dense softmax output.
pub fn cnn_case<T: Scalar>() -> Case<T> {
    use nn_train::{AvgPool2dConfig, Conv2dConfig, MaxPool2dConfig};
    let build = |last: Activation| {
        Network::<T>::image_builder(2, 5, 6)
            .layer(Conv2dConfig {
                out_channels: 3,
                kernel: [3, 2],
                stride: [1, 2],
                padding: [1, 0],
                activation: Activation::Relu,
                init: None,
            })
            .layer(MaxPool2dConfig {
                kernel: [2, 1],
                stride: [1, 1],
            })
            .layer(Conv2dConfig {
                out_channels: 4,
                kernel: [2, 2],
                stride: [2, 1],
                padding: [0, 1],
                activation: Activation::Tanh,
                init: None,
            })
            .layer(AvgPool2dConfig {
                kernel: [2, 2],
                stride: [2, 2],
            })
            .flatten()
            .dropout(0.25)
            .dense(3, last)
    };
    let x = inputs::<T>(2 * 5 * 6, 5, 2);
    case(
        "cnn".into(),
        &build,
        (Activation::Softmax, Some(Loss::CategoricalCrossEntropy)),
        None,
        &x,
        Some([2, 5, 6]),
    )
}

/// A network that ends in a convolution with softmax over each example's `C×H×W`
/// outputs.
pub fn conv_softmax_case<T: Scalar>() -> Case<T> {
    let build =
        |last: Activation| Network::<T>::image_builder(1, 4, 4).conv2d_strided(2, 3, 1, 1, last);
    let x = inputs::<T>(16, 4, 9);
    let last = (Activation::Softmax, Some(Loss::CategoricalCrossEntropy));
    case(
        "conv_softmax".into(),
        &build,
        last,
        None,
        &x,
        Some([1, 4, 4]),
    )
}

/// One model per encoder kind, in front of a small dense classifier.
pub fn encoder_cases<T: Scalar>() -> Vec<Case<T>> {
    let train = inputs::<T>(4, 40, 3);
    let x = inputs::<T>(4, 9, 4);
    let kinds = [
        EncoderKind::Standardize,
        EncoderKind::MinMax,
        EncoderKind::PcaWhitening { epsilon: 1e-3 },
        EncoderKind::ZcaWhitening { epsilon: 1e-3 },
    ];
    kinds
        .into_iter()
        .map(|kind| {
            let encoder = Encoder::fit(kind, &train).unwrap_or_else(|e| unreachable!("{e}"));
            let build = |last: Activation| {
                Network::<T>::builder(4)
                    .dense(5, Activation::Tanh)
                    .dense(2, last)
            };
            let name = format!("encoder_{}", kind.name());
            let last = (Activation::Sigmoid, Some(Loss::BinaryCrossEntropy));
            case(name, &build, last, Some(encoder), &x, None)
        })
        .collect()
}

/// A table of two numeric and one categorical feature and a label, seeded.
fn table_text(rows: usize, seed: u64, regression: bool) -> (String, Vec<(f64, f64, usize)>) {
    let mut rng = SeededRng::for_stream(seed, Stream::Custom(19));
    let colours = ["blue", "green", "red"];
    let mut text = String::from("size,weight,colour,label\n");
    let mut values = Vec::new();
    for _ in 0..rows {
        let size = (rng.uniform(0.0, 10.0) * 100.0).round() / 100.0;
        let weight = (rng.uniform(50.0, 90.0) * 10.0).round() / 10.0;
        let colour = rng.below(3);
        let label = if regression {
            format!("{}", (size * 3.0 + weight * 0.1).round())
        } else if size > 5.0 {
            "big".into()
        } else {
            "small".into()
        };
        text += &format!("{size},{weight},{},{label}\n", colours[colour]);
        values.push((size, weight, colour));
    }
    (text, values)
}

/// A model with a fitted pipeline (classification, or regression with the target
/// scaled): the ONNX input is the imputed numeric and one-hot vector.
pub fn pipeline_case<T: Scalar>(regression: bool) -> Case<T> {
    let (text, _) = table_text(30, 5, regression);
    let options = TableOptions::default();
    let train =
        read_table(text.as_bytes(), "train.csv", &options).unwrap_or_else(|e| unreachable!("{e}"));
    let pipeline = Pipeline::fit(&train, &PipelineConfig::new("label"))
        .unwrap_or_else(|e| unreachable!("{e}"));
    let (text, values) = table_text(8, 6, regression);
    let test =
        read_table(text.as_bytes(), "test.csv", &options).unwrap_or_else(|e| unreachable!("{e}"));
    let n = pipeline.n_inputs();
    let (outputs, loss, last) = if regression {
        (1, Loss::Mse, Activation::Identity)
    } else {
        (2, Loss::CategoricalCrossEntropy, Activation::Softmax)
    };
    let build = |last: Activation| {
        Network::<T>::builder(n)
            .dense(5, Activation::Relu)
            .dense(outputs, last)
    };
    let mut net = build(last)
        .loss(loss)
        .build()
        .unwrap_or_else(|e| unreachable!("{e}"));
    let mut plain = build(Activation::Identity)
        .build()
        .unwrap_or_else(|e| unreachable!("{e}"));
    randomize(&mut net, 8);
    randomize(&mut plain, 8);
    let mut model = model(net, None);
    model.pipeline = Some(pipeline);
    let predicted = model
        .predict_table(&test)
        .unwrap_or_else(|e| unreachable!("{e}"));
    let prepared = model.prepare(&test).unwrap_or_else(|e| unreachable!("{e}"));
    let logits = plain
        .predict(&prepared)
        .unwrap_or_else(|e| unreachable!("{e}"));
    // The pipeline's inputs by name: `size`, `weight`, `colour=<category>` (one-hot).
    let colours = ["blue", "green", "red"];
    let names = model
        .pipeline
        .as_ref()
        .map(Pipeline::input_names)
        .unwrap_or_default();
    let mut input = Vec::new();
    for &(size, weight, colour) in &values {
        for name in &names {
            input.push(match name.as_str() {
                "size" => size,
                "weight" => weight,
                other => f64::from(u8::from(
                    other.strip_prefix("colour=") == Some(colours[colour]),
                )),
            });
        }
    }
    let input: Vec<f64> = input.into_iter().map(|v| T::cast(v).to_f64()).collect();
    let (s1, v1) = rows(&predicted);
    let (s2, v2) = rows(&logits);
    let (name, out) = if regression {
        ("pipeline_regression", "prediction")
    } else {
        ("pipeline_classification", "probabilities")
    };
    Case {
        name: format!("{name}_{}", T::NAME),
        model,
        input: (vec![values.len(), n], input),
        outputs: vec![(out.into(), s1, v1), ("logits".into(), s2, v2)],
    }
}

/// Every case for `T`.
pub fn all<T: Scalar>() -> Vec<Case<T>> {
    let mut cases = activation_cases::<T>();
    cases.push(cnn_case::<T>());
    cases.push(conv_softmax_case::<T>());
    cases.extend(encoder_cases::<T>());
    cases.push(pipeline_case::<T>(false));
    cases.push(pipeline_case::<T>(true));
    cases
}
