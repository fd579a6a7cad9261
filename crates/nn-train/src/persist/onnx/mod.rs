//! ONNX export: a model (network, stored encoder, preprocessing pipeline's scaling, class
//! and feature names) as an ONNX graph that ONNX Runtime and other consumers run.
//!
//! ## The graph
//!
//! * **Opset 17** of the default domain (IR version 8): every operator used below has a
//!   CPU kernel in ONNX Runtime at that version.
//!   ONNX Runtime's CPU provider (1.32) has no DOUBLE kernel for `Conv`, `AveragePool`
//!   and `Erf`: those layers and GELU of an `f64` model are therefore lowered to
//!   operators it runs in double, as below.
//!   A conv2d layer with softmax normalises each example's whole `C×H×W` output, as nn
//!   does (`Flatten`, `Softmax`, `Reshape`).
//! * **Input** `input`: rows, as ONNX consumers expect, `N × features` with a symbolic
//!   batch axis `N`, or `N × C × H × W` for a network that takes images (pixel
//!   `(c, y, x)` of an example is nn's row `c·H·W + y·W + x`, so the flattened layouts
//!   agree). Element type FLOAT for an `f32` model, DOUBLE for an `f64` one.
//! * **Preprocessing** in front of the network:
//!   - a model with a pipeline takes the pipeline's numeric input vector *after*
//!     imputation and one-hot encoding (one value per numeric column, one 0/1 per
//!     category; their names, in order, are the metadata entry `nn.inputs`), and the
//!     graph applies the pipeline's scaling `(x − shift) / scale` as `Sub`, `Div`
//!     (shift 0 and scale 1 for the one-hot entries). Imputation and one-hot encoding stay
//!     with the caller: they map text cells, which have no place in a numeric graph;
//!   - the stored encoder: standardize and min–max as `Sub`, `Div`; PCA/ZCA whitening as
//!     `Sub`, then `MatMul` by `Wᵀ` (`x' = W (x − μ)` on columns is `(X − μ) Wᵀ` on rows).
//! * **Layers**, in the row convention (nn's examples are columns: `Z = W A + b` becomes
//!   `Z = A Wᵀ + b`):
//!
//!   | layer | nodes |
//!   |---|---|
//!   | dense | `Gemm(A, W, b, transB = 1)`, `W` as stored (`[out, in]`) |
//!   | conv2d | `Conv(A, W, b)` with `kernel_shape`, `strides`, `pads = [ph, pw, ph, pw]`, `W` as `[out, in, kh, kw]` |
//!   | max / avg pooling | `MaxPool` / `AveragePool` with `kernel_shape`, `strides` (no padding) |
//!   | conv2d, `f64` | im2col as nn computes it: `Flatten`, `Pad` (a zero column for the padding), `Gather` by an index table, `MatMul` by `W_matᵀ`, `Add` the bias, `Transpose`, `Reshape` to `N × C_out × H_out × W_out` |
//!   | avg pooling, `f64` | `Flatten`, `Pad`, `Gather` of each channel's windows, `ReduceMean`, `Reshape` |
//!   | flatten | `Flatten(axis = 1)` |
//!   | dropout | `Identity` (inference) |
//!
//! * **Activations**: identity (no node), sigmoid `Sigmoid`, tanh `Tanh`, ReLU `Relu`,
//!   softmax `Softmax(axis = 1)` (over each row's features), step
//!   `Cast(GreaterOrEqual(z, 0))`, GELU `z · ½ (1 + Erf(z/√2))` (opset 17 has no `Gelu`,
//!   which needs 20), GELU-tanh `z · Sigmoid(2√(2/π)(z + 0.044715 z³))`, SiLU
//!   `z · Sigmoid(z)`. In an `f32` model leaky ReLU, ELU, SELU and softplus are the ops
//!   `LeakyRelu(alpha = slope)`, `Elu(alpha)`, `Selu(alpha, gamma)` and `Softplus`; their
//!   attributes are 32-bit floats and ONNX Runtime runs them in `float` only, so an `f64`
//!   model composes them from `Where`, `GreaterOrEqual`, `Mul`, `Sub`, `Exp`, `Log`,
//!   `Abs`, `Neg`, `Relu` and `Add` with its constants stored as DOUBLE tensors; its GELU
//!   computes `Φ` without `Erf` (which ONNX Runtime runs in `float` only): a Taylor series
//!   of `erf` below `|z|/√2 = 2.5` and the continued fraction of `erfc` above, to within a
//!   few 10⁻¹⁵ (see `gelu_double`).
//!   A layer kind defined outside this crate has no export: [`FormatError::OnnxUnsupported`].
//! * **Outputs**: `probabilities` (the network's output: class probabilities for a
//!   classifier), or for a regression model `prediction`, in the label's units (a
//!   pipeline's target scaling undone inside the graph, `y'·scale + shift`, with `Mul`,
//!   `Add`); and `logits`, the last layer's pre-activation, when the network ends in a
//!   dense or conv2d layer followed only by dropout or flatten. Both are `N × outputs`: a
//!   network that ends on an image has it flattened (`C·H·W` per row, as nn's column).
//! * **Metadata** (`metadata_props`): `nn.version`, and when known `nn.classes`,
//!   `nn.features` (JSON arrays of strings), `nn.label` (the label column's name) and
//!   `nn.inputs` (the pipeline's input names, in input order).
//!
//! ```
//! use nn_train::persist::{Model, onnx};
//! use nn_train::{Activation, Loss, Network};
//! let network = Network::<f32>::builder(3)
//!     .dense(4, Activation::Relu)
//!     .dense(2, Activation::Softmax)
//!     .loss(Loss::CategoricalCrossEntropy)
//!     .build()?;
//! let model = Model {
//!     network,
//!     encoder: None,
//!     classes: Some(vec!["no".into(), "yes".into()]),
//!     features: None,
//!     label: None,
//!     pipeline: None,
//! };
//! let bytes = onnx::to_onnx_bytes(&model)?;
//! assert!(!bytes.is_empty());
//! # Ok::<(), nn_train::TrainError>(())
//! ```

pub mod proto;

use std::path::Path;

use nalgebra::DMatrix;
use nn_init::nn_activations::Activation;
use nn_init::nn_activations::elu::{SELU_ALPHA, SELU_LAMBDA};
use nn_init::nn_activations::nn_core::{DType, Scalar};
use prost::Message;

use super::model::Model;
use super::write_atomic;
use crate::encode::{Encoder, EncoderMap};
use crate::error::{FormatError, Result, TrainError};
use crate::layers::{FeatureShape, Layer, LayerRecord, LayerSpec};
use crate::loss::Task;
use crate::pipeline::{Feature, Pipeline, Target, TaskKind};
use proto::{
    ATTRIBUTE_FLOAT, ATTRIBUTE_INT, ATTRIBUTE_INTS, AttributeProto, DATA_TYPE_DOUBLE,
    DATA_TYPE_FLOAT, DATA_TYPE_INT64, Dimension, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, StringStringEntryProto, TensorProto, TensorShapeProto, TensorTypeProto,
    TypeProto, ValueInfoProto,
};

/// The opset of the default domain the graph is written for.
pub const OPSET: i64 = 17;
/// The IR version of opset 17.
pub const IR_VERSION: i64 = 8;
/// The graph's input name.
pub const INPUT: &str = "input";
/// The output of a classifier (and of any model without a regression target).
pub const PROBABILITIES: &str = "probabilities";
/// The output of a regression model, in the label's units.
pub const PREDICTION: &str = "prediction";
/// The last layer's pre-activation.
pub const LOGITS: &str = "logits";

/// The model as the bytes of an ONNX file (see the module docs for the graph).
///
/// # Errors
/// [`FormatError::OnnxUnsupported`] for a layer kind defined outside this crate (or one
/// that records nothing); [`TrainError::Internal`] if the model's parts disagree (an
/// encoder or pipeline whose width is not the network's input).
pub fn to_onnx_bytes<T: Scalar>(model: &Model<T>) -> Result<Vec<u8>> {
    Ok(to_onnx_proto(model)?.encode_to_vec())
}

/// Writes [`to_onnx_bytes`] to `path`, atomically (a temporary file renamed over it).
///
/// # Errors
/// As [`to_onnx_bytes`]; [`TrainError::Io`] if the file cannot be written.
pub fn save_onnx<T: Scalar>(path: &Path, model: &Model<T>) -> Result<()> {
    write_atomic(path, &to_onnx_bytes(model)?)
}

/// The model as an ONNX [`ModelProto`] (what [`to_onnx_bytes`] encodes).
///
/// # Errors
/// As [`to_onnx_bytes`].
pub fn to_onnx_proto<T: Scalar>(model: &Model<T>) -> Result<ModelProto> {
    let net = &model.network;
    let mut g = Graph::<T>::new();
    let mut x = INPUT.to_string();
    let n_inputs = net.input_shape().len();
    if let Some(pipeline) = &model.pipeline {
        x = pipeline_scaling(&mut g, pipeline, &x, n_inputs)?;
    }
    if let Some(encoder) = &model.encoder {
        x = encoder_nodes(&mut g, encoder, &x, n_inputs)?;
    }
    let mut logits: Option<String> = None;
    for (i, layer) in net.layers().iter().enumerate() {
        let (a, z) = layer_nodes(&mut g, i, layer.as_ref(), &x)?;
        match z {
            Some(z) => logits = Some(z),
            None if passes_logits(layer.as_ref()) => {}
            None => logits = None,
        }
        x = a;
    }
    if let Some(FeatureShape::Image { .. }) = net.layers().last().map(|l| l.output_shape()) {
        // nn's outputs are each example's C×H×W column: one row per example here too.
        let flat = |g: &mut Graph<T>, v: &str, name: &str| {
            g.node("Flatten", &[v], name, vec![int("axis", 1)])
        };
        x = flat(&mut g, &x, "output.flat");
        logits = logits.map(|z| flat(&mut g, &z, "logits.flat"));
    }
    let regression = match &model.pipeline {
        Some(p) => p.task() == TaskKind::Regression,
        None => net.loss().is_some_and(|l| l.task() == Task::Regression),
    };
    let out_name = if regression {
        PREDICTION
    } else {
        PROBABILITIES
    };
    let out_size = net.output_size();
    match model.pipeline.as_ref().map(Pipeline::target) {
        Some(Target::Regression { shift, scale, .. }) => {
            let s = g.constant("target.scale", &[], &[*scale]);
            let scaled = g.node("Mul", &[&x, &s], "target.scaled", vec![]);
            let b = g.constant("target.shift", &[], &[*shift]);
            g.node_named("Add", &[&scaled, &b], out_name, vec![]);
        }
        _ => {
            g.node_named("Identity", &[&x], out_name, vec![]);
        }
    }
    let mut outputs = vec![value_info::<T>(out_name, &[None, Some(out_size)])];
    if let Some(z) = logits {
        g.node_named("Identity", &[&z], LOGITS, vec![]);
        outputs.push(value_info::<T>(LOGITS, &[None, Some(out_size)]));
    }
    let input_dims: Vec<Option<usize>> = match net.input_shape() {
        FeatureShape::Flat(n) => vec![None, Some(n)],
        FeatureShape::Image {
            channels,
            height,
            width,
        } => vec![None, Some(channels), Some(height), Some(width)],
    };
    let graph = GraphProto {
        node: g.nodes,
        name: Some("nn".into()),
        initializer: g.initializers,
        doc_string: None,
        input: vec![value_info::<T>(INPUT, &input_dims)],
        output: outputs,
    };
    Ok(ModelProto {
        ir_version: Some(IR_VERSION),
        producer_name: Some("nn".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        doc_string: None,
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        metadata_props: metadata(model)?,
    })
}

/// The metadata entries: `nn.version`, and `nn.classes`, `nn.features`, `nn.label`,
/// `nn.inputs` when known.
fn metadata<T: Scalar>(model: &Model<T>) -> Result<Vec<StringStringEntryProto>> {
    let json = |v: serde_json::Value| v.to_string();
    let pipeline = model.pipeline.as_ref();
    let classes = model
        .classes
        .clone()
        .or_else(|| pipeline.and_then(|p| p.classes().map(<[String]>::to_vec)));
    let features = model
        .features
        .clone()
        .or_else(|| pipeline.map(|p| p.feature_names().into_iter().map(String::from).collect()));
    let label = model
        .label
        .clone()
        .or_else(|| pipeline.map(|p| p.label().to_string()));
    let mut entries = vec![("nn.version".to_string(), env!("CARGO_PKG_VERSION").into())];
    if let Some(c) = classes {
        entries.push(("nn.classes".into(), json(serde_json::json!(c))));
    }
    if let Some(f) = features {
        entries.push(("nn.features".into(), json(serde_json::json!(f))));
    }
    if let Some(l) = label {
        entries.push(("nn.label".into(), l));
    }
    if let Some(p) = pipeline {
        entries.push(("nn.inputs".into(), json(serde_json::json!(p.input_names()))));
    }
    Ok(entries
        .into_iter()
        .map(|(key, value)| StringStringEntryProto {
            key: Some(key),
            value: Some(value),
        })
        .collect())
}

/// Whether a layer lets the previous layer's pre-activation stand for the network's
/// logits (it changes no value: dropout at inference, flatten).
fn passes_logits<T: Scalar>(layer: &(dyn Layer<T> + 'static)) -> bool {
    matches!(
        layer.record(),
        Some(LayerRecord::Builtin(
            LayerSpec::Dropout(_) | LayerSpec::Flatten(_)
        ))
    )
}

/// The pipeline's scaling of its numeric input vector: `(x − shift) / scale`, shift 0 and
/// scale 1 for one-hot entries.
fn pipeline_scaling<T: Scalar>(
    g: &mut Graph<T>,
    pipeline: &Pipeline,
    x: &str,
    n_inputs: usize,
) -> Result<String> {
    let mut shift = Vec::with_capacity(pipeline.n_inputs());
    let mut scale = Vec::with_capacity(pipeline.n_inputs());
    for f in pipeline.features() {
        match f {
            Feature::Numeric {
                shift: s, scale: c, ..
            } => {
                shift.push(*s);
                scale.push(*c);
            }
            Feature::Categorical { categories, .. } => {
                shift.extend(std::iter::repeat_n(0.0, categories.len()));
                scale.extend(std::iter::repeat_n(1.0, categories.len()));
            }
        }
    }
    check_width("the pipeline", shift.len(), n_inputs)?;
    let s = g.constant("pipeline.shift", &[shift.len()], &shift);
    let centred = g.node("Sub", &[x, &s], "pipeline.centred", vec![]);
    let c = g.constant("pipeline.scale", &[scale.len()], &scale);
    Ok(g.node("Div", &[&centred, &c], "pipeline.scaled", vec![]))
}

/// The stored encoder's nodes.
fn encoder_nodes<T: Scalar>(
    g: &mut Graph<T>,
    encoder: &Encoder,
    x: &str,
    n_inputs: usize,
) -> Result<String> {
    let (shift, map) = encoder.parts();
    check_width("the encoder", shift.len(), n_inputs)?;
    let s = g.constant("encoder.shift", &[shift.len()], shift);
    let centred = g.node("Sub", &[x, &s], "encoder.centred", vec![]);
    Ok(match map {
        EncoderMap::Scale(scale) => {
            let c = g.constant("encoder.scale", &[scale.len()], scale);
            g.node("Div", &[&centred, &c], "encoder.scaled", vec![])
        }
        EncoderMap::Linear(w) => {
            // Rows: (X − μ) Wᵀ; Wᵀ row-major is W's column-major storage.
            let n = w.nrows();
            let wt = g.constant("encoder.matrix_t", &[w.ncols(), n], w.as_slice());
            g.node("MatMul", &[&centred, &wt], "encoder.whitened", vec![])
        }
    })
}

fn check_width(what: &str, found: usize, expected: usize) -> Result<()> {
    if found == expected {
        Ok(())
    } else {
        Err(TrainError::internal(format!(
            "ONNX export: {what} takes {found} inputs, the network {expected}"
        )))
    }
}

/// Layer `i`'s nodes from input `x`: its output, and its pre-activation for a dense or
/// conv2d layer.
fn layer_nodes<T: Scalar>(
    g: &mut Graph<T>,
    i: usize,
    layer: &(dyn Layer<T> + 'static),
    x: &str,
) -> Result<(String, Option<String>)> {
    let spec = match layer.record() {
        Some(LayerRecord::Builtin(spec)) => spec,
        Some(LayerRecord::Custom { type_name, .. }) => {
            return Err(unsupported(i, format!("the layer type `{type_name}`")));
        }
        None => return Err(unsupported(i, format!("the layer {layer}"))),
    };
    let p = format!("layers.{i}");
    let param = |name: &str| {
        layer.param(name).map(|p| p.value().clone()).ok_or_else(|| {
            TrainError::internal(format!("layer {i} ({spec}) has no parameter {name:?}"))
        })
    };
    Ok(match spec {
        LayerSpec::Dense(c) => {
            let (w, b) = (param("weight")?, param("bias")?);
            let wn = g.matrix(&format!("{p}.weight"), &[w.nrows(), w.ncols()], &w);
            let bn = g.matrix(&format!("{p}.bias"), &[b.len()], &b);
            let z = g.node(
                "Gemm",
                &[x, &wn, &bn],
                &format!("{p}.z"),
                vec![int("transB", 1)],
            );
            let a = activation(g, i, c.activation, &z)?;
            (a, Some(z))
        }
        LayerSpec::Conv2d(c) => {
            let (w, b) = (param("weight")?, param("bias")?);
            let FeatureShape::Image { channels, .. } = layer.input_shape() else {
                return Err(TrainError::internal(format!(
                    "layer {i} ({spec}) takes no image"
                )));
            };
            let [kh, kw] = c.kernel;
            let [ph, pw] = c.padding;
            let out = image_dims(i, layer.output_shape())?;
            let z = if T::DTYPE == DType::F64 {
                // ONNX Runtime has no double `Conv`: nn's own im2col, as Gather + MatMul.
                let geometry = Geometry::of(layer.input_shape(), c.kernel, c.stride, c.padding);
                let cols = gather_windows(g, &p, x, &geometry?, false);
                // W_matᵀ `[C·kh·kw, C_out]` row-major is W_mat's column-major storage.
                let wt = g.constant(
                    &format!("{p}.weight_t"),
                    &[w.ncols(), w.nrows()],
                    &w.iter().map(|v| v.to_f64()).collect::<Vec<_>>(),
                );
                let y = g.node("MatMul", &[&cols, &wt], &format!("{p}.y"), vec![]);
                let bn = g.matrix(&format!("{p}.bias"), &[b.len()], &b);
                let yb = g.node("Add", &[&y, &bn], &format!("{p}.yb"), vec![]);
                let t = g.node(
                    "Transpose",
                    &[&yb],
                    &format!("{p}.yt"),
                    vec![ints("perm", &[0, 2, 1])],
                );
                reshape(g, &format!("{p}.z"), &t, &out)
            } else {
                let wn = g.matrix(&format!("{p}.weight"), &[w.nrows(), channels, kh, kw], &w);
                let bn = g.matrix(&format!("{p}.bias"), &[b.len()], &b);
                g.node(
                    "Conv",
                    &[x, &wn, &bn],
                    &format!("{p}.z"),
                    vec![
                        ints("kernel_shape", &c.kernel),
                        ints("strides", &c.stride),
                        ints("pads", &[ph, pw, ph, pw]),
                    ],
                )
            };
            let a = if c.activation == Activation::Softmax {
                // nn's softmax runs over each example's whole C×H×W column.
                let flat = g.node(
                    "Flatten",
                    &[&z],
                    &format!("{p}.zflat"),
                    vec![int("axis", 1)],
                );
                let s = activation(g, i, Activation::Softmax, &flat)?;
                reshape(g, &format!("{p}.softmax"), &s, &out)
            } else {
                activation(g, i, c.activation, &z)?
            };
            (a, Some(z))
        }
        LayerSpec::MaxPool2d(c) => (pool(g, i, layer, x, "MaxPool", (c.kernel, c.stride))?, None),
        LayerSpec::AvgPool2d(c) => (
            pool(g, i, layer, x, "AveragePool", (c.kernel, c.stride))?,
            None,
        ),
        LayerSpec::Flatten(_) => (
            g.node("Flatten", &[x], &format!("{p}.a"), vec![int("axis", 1)]),
            None,
        ),
        LayerSpec::Dropout(_) => (g.node("Identity", &[x], &format!("{p}.a"), vec![]), None),
    })
}

/// A pooling layer: the op itself, but for average pooling in a DOUBLE graph (ONNX
/// Runtime has no double `AveragePool`): each channel's windows gathered and reduced by
/// `ReduceMean`.
fn pool<T: Scalar>(
    g: &mut Graph<T>,
    i: usize,
    layer: &(dyn Layer<T> + 'static),
    x: &str,
    op: &str,
    (kernel, stride): ([usize; 2], [usize; 2]),
) -> Result<String> {
    let p = format!("layers.{i}");
    if T::DTYPE == DType::F32 || op == "MaxPool" {
        let attrs = vec![ints("kernel_shape", &kernel), ints("strides", &stride)];
        return Ok(g.node(op, &[x], &format!("{p}.a"), attrs));
    }
    let geometry = Geometry::of(layer.input_shape(), kernel, stride, [0, 0])?;
    let windows = gather_windows(g, &p, x, &geometry, true);
    let r = g.node(
        "ReduceMean",
        &[&windows],
        &format!("{p}.reduced"),
        vec![ints("axes", &[3]), int("keepdims", 0)],
    );
    let out = image_dims(i, layer.output_shape())?;
    Ok(reshape(g, &format!("{p}.a"), &r, &out))
}

/// `[C, H, W]` of an image shape.
fn image_dims(i: usize, shape: FeatureShape) -> Result<[usize; 3]> {
    match shape {
        FeatureShape::Image {
            channels,
            height,
            width,
        } => Ok([channels, height, width]),
        FeatureShape::Flat(_) => Err(TrainError::internal(format!(
            "layer {i}: an image layer with a flat shape"
        ))),
    }
}

/// A window's geometry over `C × H × W` inputs, as the layers validated it.
struct Geometry {
    input: [usize; 3],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    out: [usize; 2],
}

impl Geometry {
    fn of(
        input: FeatureShape,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<Self> {
        let input = image_dims(0, input)?;
        let axis = |n: usize, k: usize, s: usize, p: usize| (n + 2 * p - k) / s + 1;
        let out = [
            axis(input[1], kernel[0], stride[0], padding[0]),
            axis(input[2], kernel[1], stride[1], padding[1]),
        ];
        Ok(Self {
            input,
            kernel,
            stride,
            padding,
            out,
        })
    }

    /// The flat input row read by window entry `(c, ky, kx)` of output `(oy, ox)`, or
    /// `None` in the padding.
    fn source(
        &self,
        c: usize,
        (oy, ox): (usize, usize),
        (ky, kx): (usize, usize),
    ) -> Option<usize> {
        let [_, h, w] = self.input;
        let y = (oy * self.stride[0] + ky).checked_sub(self.padding[0])?;
        let x = (ox * self.stride[1] + kx).checked_sub(self.padding[1])?;
        (y < h && x < w).then_some((c * h + y) * w + x)
    }
}

/// im2col in the graph: `x` flattened to `[N, C·H·W]`, a zero column appended for the
/// padding, and `Gather` by an index table. Without `per_channel`: `[N, P, C·kh·kw]`
/// (entry order `c·kh·kw + ky·kw + kx`, as the stored weights); with it:
/// `[N, C, P, kh·kw]` (pooling). `P = H_out·W_out`, row-major.
fn gather_windows<T: Scalar>(
    g: &mut Graph<T>,
    p: &str,
    x: &str,
    geo: &Geometry,
    per_channel: bool,
) -> String {
    let [c, h, w] = geo.input;
    let [kh, kw] = geo.kernel;
    let [oh, ow] = geo.out;
    let pad = (c * h * w) as i64;
    let flat = g.node("Flatten", &[x], &format!("{p}.xflat"), vec![int("axis", 1)]);
    let pads = g.int64(&format!("{p}.pads"), &[4], &[0, 0, 0, 1]);
    let padded = g.node("Pad", &[&flat, &pads], &format!("{p}.xpad"), vec![]);
    let index = |ch: usize, o: (usize, usize), k: (usize, usize)| {
        geo.source(ch, o, k).map_or(pad, |r| r as i64)
    };
    let positions: Vec<(usize, usize)> = (0..oh)
        .flat_map(|oy| (0..ow).map(move |ox| (oy, ox)))
        .collect();
    let offsets: Vec<(usize, usize)> = (0..kh)
        .flat_map(|ky| (0..kw).map(move |kx| (ky, kx)))
        .collect();
    let (dims, table): (Vec<usize>, Vec<i64>) = if per_channel {
        let mut table = Vec::with_capacity(c * oh * ow * kh * kw);
        for ch in 0..c {
            for &o in &positions {
                table.extend(offsets.iter().map(|&k| index(ch, o, k)));
            }
        }
        (vec![c, oh * ow, kh * kw], table)
    } else {
        let mut table = Vec::with_capacity(oh * ow * c * kh * kw);
        for &o in &positions {
            for ch in 0..c {
                table.extend(offsets.iter().map(|&k| index(ch, o, k)));
            }
        }
        (vec![oh * ow, c * kh * kw], table)
    };
    let idx = g.int64(&format!("{p}.window_index"), &dims, &table);
    g.node(
        "Gather",
        &[&padded, &idx],
        &format!("{p}.windows"),
        vec![int("axis", 1)],
    )
}

/// `Reshape(x, [N, C, H, W])` (the batch axis copied), output `name`.
fn reshape<T: Scalar>(g: &mut Graph<T>, name: &str, x: &str, [c, h, w]: &[usize; 3]) -> String {
    let shape = g.int64(
        &format!("{name}.shape"),
        &[4],
        &[0, *c as i64, *h as i64, *w as i64],
    );
    g.node("Reshape", &[x, &shape], name, vec![])
}

fn unsupported(layer: usize, what: String) -> TrainError {
    FormatError::OnnxUnsupported { layer, what }.into()
}

/// The nodes of activation `act` on `z` (layer `i`); returns the activation's value.
fn activation<T: Scalar>(g: &mut Graph<T>, i: usize, act: Activation, z: &str) -> Result<String> {
    let f64_model = T::DTYPE == DType::F64;
    let p = format!("layers.{i}");
    let out = format!("{p}.a");
    let node = |g: &mut Graph<T>, op: &str, inputs: &[&str], name: &str| {
        g.node(op, inputs, &format!("{p}.{name}"), vec![])
    };
    // `Where(z ≥ 0, z, neg)`, nn's convention at 0.
    let select = |g: &mut Graph<T>, neg: &str, name: &str| {
        let zero = g.constant(&format!("{p}.zero"), &[], &[0.0]);
        let ge = g.node(
            "GreaterOrEqual",
            &[z, &zero],
            &format!("{p}.nonnegative"),
            vec![],
        );
        g.node("Where", &[&ge, z, neg], &format!("{p}.{name}"), vec![])
    };
    // `α (e^z − 1)`.
    let elu_negative = |g: &mut Graph<T>, alpha: f64| {
        let e = node(g, "Exp", &[z], "exp");
        let one = g.constant(&format!("{p}.one"), &[], &[1.0]);
        let em1 = node(g, "Sub", &[&e, &one], "expm1");
        let a = g.constant(&format!("{p}.alpha"), &[], &[alpha]);
        node(g, "Mul", &[&em1, &a], "negative")
    };
    Ok(match act {
        Activation::Identity => z.to_string(),
        Activation::Sigmoid => g.node("Sigmoid", &[z], &out, vec![]),
        Activation::Tanh => g.node("Tanh", &[z], &out, vec![]),
        Activation::Relu => g.node("Relu", &[z], &out, vec![]),
        Activation::Softmax => g.node("Softmax", &[z], &out, vec![int("axis", 1)]),
        Activation::Step => {
            let zero = g.constant(&format!("{p}.zero"), &[], &[0.0]);
            let ge = node(g, "GreaterOrEqual", &[z, &zero], "nonnegative");
            g.node(
                "Cast",
                &[&ge],
                &out,
                vec![int("to", i64::from(data_type::<T>()))],
            )
        }
        Activation::LeakyRelu { slope } if !f64_model => {
            g.node("LeakyRelu", &[z], &out, vec![float("alpha", slope)])
        }
        Activation::LeakyRelu { slope } => {
            let s = g.constant(&format!("{p}.slope"), &[], &[slope]);
            let neg = node(g, "Mul", &[z, &s], "negative");
            select(g, &neg, "a")
        }
        Activation::Elu { alpha } if !f64_model => {
            g.node("Elu", &[z], &out, vec![float("alpha", alpha)])
        }
        Activation::Elu { alpha } => {
            let neg = elu_negative(g, alpha);
            select(g, &neg, "a")
        }
        Activation::Selu if !f64_model => g.node(
            "Selu",
            &[z],
            &out,
            vec![float("alpha", SELU_ALPHA), float("gamma", SELU_LAMBDA)],
        ),
        Activation::Selu => {
            let neg = elu_negative(g, SELU_ALPHA);
            let e = select(g, &neg, "elu");
            let l = g.constant(&format!("{p}.lambda"), &[], &[SELU_LAMBDA]);
            g.node("Mul", &[&e, &l], &out, vec![])
        }
        Activation::Softplus if !f64_model => g.node("Softplus", &[z], &out, vec![]),
        Activation::Softplus => {
            // max(z, 0) + ln(1 + e^(−|z|)), nn's stable form.
            let pos = node(g, "Relu", &[z], "positive");
            let abs = node(g, "Abs", &[z], "abs");
            let neg = node(g, "Neg", &[&abs], "negabs");
            let e = node(g, "Exp", &[&neg], "exp");
            let one = g.constant(&format!("{p}.one"), &[], &[1.0]);
            let e1 = node(g, "Add", &[&e, &one], "exp1");
            let l = node(g, "Log", &[&e1], "log1p");
            g.node("Add", &[&pos, &l], &out, vec![])
        }
        Activation::Gelu if f64_model => gelu_double(g, &p, z),
        Activation::Gelu => {
            // z · ½ (1 + erf(z/√2)).
            let c = g.constant(
                &format!("{p}.inv_sqrt2"),
                &[],
                &[std::f64::consts::FRAC_1_SQRT_2],
            );
            let u = node(g, "Mul", &[z, &c], "scaled");
            let e = node(g, "Erf", &[&u], "erf");
            let one = g.constant(&format!("{p}.one"), &[], &[1.0]);
            let e1 = node(g, "Add", &[&e, &one], "erf1");
            let half = g.constant(&format!("{p}.half"), &[], &[0.5]);
            let hz = node(g, "Mul", &[z, &half], "halfz");
            g.node("Mul", &[&hz, &e1], &out, vec![])
        }
        Activation::GeluTanh => {
            // z · σ(2√(2/π)(z + 0.044715 z³)).
            let z2 = node(g, "Mul", &[z, z], "z2");
            let z3 = node(g, "Mul", &[&z2, z], "z3");
            let c3 = g.constant(&format!("{p}.cubic"), &[], &[0.044_715]);
            let cz3 = node(g, "Mul", &[&z3, &c3], "cz3");
            let inner = node(g, "Add", &[z, &cz3], "inner");
            let c2 = g.constant(
                &format!("{p}.two_sqrt_2_over_pi"),
                &[],
                &[2.0 * 0.797_884_560_802_865_4],
            );
            let u = node(g, "Mul", &[&inner, &c2], "two_u");
            let s = node(g, "Sigmoid", &[&u], "sigmoid");
            g.node("Mul", &[z, &s], &out, vec![])
        }
        Activation::Silu => {
            let s = node(g, "Sigmoid", &[z], "sigmoid");
            g.node("Mul", &[z, &s], &out, vec![])
        }
    })
}

/// Below this `t = |z|/√2`, `erf(t)` from its Taylor series; from it on, `erfc(t)` from
/// its continued fraction.
const ERF_SPLIT: f64 = 2.5;
/// Terms of the Taylor series: the first left out is below 10⁻¹⁷ at [`ERF_SPLIT`].
const ERF_TAYLOR_TERMS: usize = 40;
/// Depth of the continued fraction: 2·10⁻¹⁴ relative at [`ERF_SPLIT`], better above.
const ERFC_FRACTION_DEPTH: usize = 30;

/// GELU `z Φ(z)` of a DOUBLE graph, without `Erf` (ONNX Runtime has no double kernel
/// for it), to within a few 10⁻¹⁵ of `libm::erfc`. With `t = |z|/√2`:
///
/// ```text
/// t < 2.5   erfc(t) = 1 − (2/√π) t Σ_{n ≤ 40} (−1)ⁿ t²ⁿ / (n! (2n + 1))      (Horner in t²)
/// t ≥ 2.5   erfc(t) = e^(−t²) / (√π f),  f = t + (1/2)/(t + (2/2)/(t + … (30/2)/t))
/// Φ(z) = 1 − ½ erfc(t) for z ≥ 0, ½ erfc(t) below
/// ```
fn gelu_double<T: Scalar>(g: &mut Graph<T>, p: &str, z: &str) -> String {
    let c = |g: &mut Graph<T>, name: &str, v: f64| g.constant(&format!("{p}.{name}"), &[], &[v]);
    let n = |g: &mut Graph<T>, op: &str, inputs: &[&str], name: &str| {
        g.node(op, inputs, &format!("{p}.{name}"), vec![])
    };
    let abs = n(g, "Abs", &[z], "abs");
    let inv_sqrt2 = c(g, "inv_sqrt2", std::f64::consts::FRAC_1_SQRT_2);
    let t = n(g, "Mul", &[&abs, &inv_sqrt2], "t");
    let t2 = n(g, "Mul", &[&t, &t], "t2");
    // The series, Horner in t².
    let mut factorial = 1.0_f64;
    let coefficients: Vec<f64> = (0..=ERF_TAYLOR_TERMS)
        .map(|k| {
            if k > 0 {
                factorial *= k as f64;
            }
            let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
            sign / (factorial * (2 * k + 1) as f64)
        })
        .collect();
    let mut sum = c(
        g,
        &format!("erf_c{ERF_TAYLOR_TERMS}"),
        coefficients[ERF_TAYLOR_TERMS],
    );
    for k in (0..ERF_TAYLOR_TERMS).rev() {
        let m = n(g, "Mul", &[&sum, &t2], &format!("erf_m{k}"));
        let ck = c(g, &format!("erf_c{k}"), coefficients[k]);
        sum = n(g, "Add", &[&m, &ck], &format!("erf_s{k}"));
    }
    let st = n(g, "Mul", &[&sum, &t], "erf_st");
    let two_over_sqrt_pi = c(g, "two_over_sqrt_pi", std::f64::consts::FRAC_2_SQRT_PI);
    let erf = n(g, "Mul", &[&st, &two_over_sqrt_pi], "erf");
    let one = c(g, "one", 1.0);
    let erfc_series = n(g, "Sub", &[&one, &erf], "erfc_series");
    // The continued fraction, from the bottom up.
    let mut f = t.clone();
    for k in (1..=ERFC_FRACTION_DEPTH).rev() {
        let a = c(g, &format!("erfc_a{k}"), k as f64 / 2.0);
        let q = n(g, "Div", &[&a, &f], &format!("erfc_q{k}"));
        f = n(g, "Add", &[&t, &q], &format!("erfc_f{k}"));
    }
    let neg_t2 = n(g, "Neg", &[&t2], "neg_t2");
    let e = n(g, "Exp", &[&neg_t2], "exp_neg_t2");
    let sqrt_pi = c(g, "sqrt_pi", std::f64::consts::PI.sqrt());
    let denominator = n(g, "Mul", &[&f, &sqrt_pi], "erfc_denominator");
    let erfc_fraction = n(g, "Div", &[&e, &denominator], "erfc_fraction");
    let split = c(g, "erf_split", ERF_SPLIT);
    let small = n(g, "Less", &[&t, &split], "small");
    let erfc = n(g, "Where", &[&small, &erfc_series, &erfc_fraction], "erfc");
    let half = c(g, "half", 0.5);
    let lower = n(g, "Mul", &[&erfc, &half], "phi_negative");
    let upper = n(g, "Sub", &[&one, &lower], "phi_positive");
    let zero = c(g, "zero", 0.0);
    let nonnegative = n(g, "GreaterOrEqual", &[z, &zero], "nonnegative");
    let phi = n(g, "Where", &[&nonnegative, &upper, &lower], "phi");
    g.node("Mul", &[z, &phi], &format!("{p}.a"), vec![])
}

/// The ONNX element type of `T`.
fn data_type<T: Scalar>() -> i32 {
    match T::DTYPE {
        DType::F32 => DATA_TYPE_FLOAT,
        DType::F64 => DATA_TYPE_DOUBLE,
    }
}

/// A tensor value's type: `T`'s element type and `dims` (`None`: the batch axis `N`).
fn value_info<T: Scalar>(name: &str, dims: &[Option<usize>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| match d {
            Some(n) => Dimension {
                dim_value: Some(*n as i64),
                dim_param: None,
            },
            None => Dimension {
                dim_value: None,
                dim_param: Some("N".into()),
            },
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: Some(data_type::<T>()),
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
    }
}

fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        i: Some(i),
        r#type: Some(ATTRIBUTE_INT),
        ..AttributeProto::default()
    }
}

fn ints(name: &str, values: &[usize]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        ints: values.iter().map(|&v| v as i64).collect(),
        r#type: Some(ATTRIBUTE_INTS),
        ..AttributeProto::default()
    }
}

fn float(name: &str, f: f64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        f: Some(f as f32),
        r#type: Some(ATTRIBUTE_FLOAT),
        ..AttributeProto::default()
    }
}

/// A graph under construction: nodes in order, initializers, all of element type `T`.
struct Graph<T: Scalar> {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    _scalar: std::marker::PhantomData<T>,
}

impl<T: Scalar> Graph<T> {
    fn new() -> Self {
        Self {
            nodes: Vec::new(),
            initializers: Vec::new(),
            _scalar: std::marker::PhantomData,
        }
    }

    /// Appends a node computing `output` (a fresh value name) and returns that name.
    fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        output: &str,
        attribute: Vec<AttributeProto>,
    ) -> String {
        self.node_named(op, inputs, output, attribute);
        output.to_string()
    }

    fn node_named(
        &mut self,
        op: &str,
        inputs: &[&str],
        output: &str,
        attribute: Vec<AttributeProto>,
    ) {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.to_string()],
            name: Some(format!("{output}/{op}")),
            op_type: Some(op.into()),
            attribute,
            domain: None,
        });
    }

    /// A constant tensor `name` of shape `dims` holding `values` (row-major) as `T`;
    /// returns its name. A name already given (a shared constant such as `layers.0.one`)
    /// is returned as it is.
    fn constant(&mut self, name: &str, dims: &[usize], values: &[f64]) -> String {
        if self
            .initializers
            .iter()
            .any(|t| t.name.as_deref() == Some(name))
        {
            return name.to_string();
        }
        let mut raw = Vec::with_capacity(values.len() * T::DTYPE.size_in_bytes());
        for &v in values {
            match T::DTYPE {
                DType::F64 => raw.extend_from_slice(&v.to_le_bytes()),
                DType::F32 => raw.extend_from_slice(&(v as f32).to_le_bytes()),
            }
        }
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(data_type::<T>()),
            name: Some(name.into()),
            raw_data: Some(raw),
            ..TensorProto::default()
        });
        name.to_string()
    }

    /// An INT64 constant (shapes, pads, indices); returns its name.
    fn int64(&mut self, name: &str, dims: &[usize], values: &[i64]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(DATA_TYPE_INT64),
            name: Some(name.into()),
            raw_data: Some(raw),
            ..TensorProto::default()
        });
        name.to_string()
    }

    /// A constant holding matrix `m` row by row (exact: `T`'s values written as `T`).
    fn matrix(&mut self, name: &str, dims: &[usize], m: &DMatrix<T>) -> String {
        let values: Vec<f64> = (0..m.nrows())
            .flat_map(|r| (0..m.ncols()).map(move |c| (r, c)))
            .map(|(r, c)| m[(r, c)].to_f64())
            .collect();
        self.constant(name, dims, &values)
    }
}
