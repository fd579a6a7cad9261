//! PyTorch in and out: a network as a safetensors `state_dict` that loads into the
//! matching `torch.nn.Sequential`, and a `state_dict` saved by PyTorch
//! (`safetensors.torch.save_file(model.state_dict(), path)`) read into a [`Network`],
//! given the architecture as nn's layer list.
//!
//! ## The mapping
//!
//! nn's layers become the `Sequential`'s modules in order; a dense or conv2d layer is its
//! weighted module followed by its activation's module (none for identity):
//!
//! | nn layer | `torch.nn` modules |
//! |---|---|
//! | dense, `units` on `n` inputs | `Linear(n, units)`, then the activation |
//! | conv2d | `Conv2d(in_channels, out_channels, kernel_size=(kh, kw), stride=(sh, sw), padding=(ph, pw))`, then the activation |
//! | max pooling / avg pooling | `MaxPool2d(kernel_size=(kh, kw), stride=(sh, sw))` / `AvgPool2d(…)` (nn pools without padding) |
//! | flatten | `Flatten()` (`C×H×W` channel-major, as nn's image columns) |
//! | dropout | `Dropout(p=rate)` |
//!
//! | nn activation | module |
//! |---|---|
//! | identity | none |
//! | sigmoid, tanh, ReLU | `Sigmoid()`, `Tanh()`, `ReLU()` |
//! | leaky ReLU | `LeakyReLU(negative_slope=slope)` |
//! | softmax (dense layer) | `Softmax(dim=1)` |
//! | ELU, SELU | `ELU(alpha=α)`, `SELU()` |
//! | GELU, GELU-tanh | `GELU()`, `GELU(approximate='tanh')` |
//! | SiLU | `SiLU()` |
//! | softplus | `Softplus(beta=1.0, threshold=40.0)` |
//!
//! The step activation, softmax after a convolution (nn normalises each example's whole
//! `C×H×W` output, PyTorch's `Softmax(dim=1)` over channels only) and layer kinds of
//! your own have no module: [`FormatError::TorchUnsupported`], naming the layer.
//! PyTorch's `Softplus()` returns `z` itself above its default threshold `z = 20`, where
//! nn computes `ln(1 + e^z)`; the export raises the threshold to 40, where the two agree
//! to the last bit. A `state_dict` read from a model with the default `Softplus()` predicts
//! within `2·10⁻⁹` of it above `z = 20`, exactly below.
//!
//! **Tensors** are named as the `Sequential`'s `state_dict` names them: `{m}.weight` and
//! `{m}.bias`, with `m` the index of the layer's `Linear` or `Conv2d` module. The shapes
//! are nn's own ([`crate::persist`]): `[out, in]` and `[out, in, kh, kw]`, PyTorch's. The
//! weights are the same numbers: `Linear` computes `x Wᵀ + b` on rows, nn `W a + b` on
//! columns.
//!
//! **Metadata** of a file nn writes: `format` `"pt"`, `nn.torch_sequential` the Python
//! source of the `Sequential` ([`torch_sequential`]; it ends in `.double()` for an `f64`
//! network, so that loading the `F64` tensors keeps their precision), and
//! `nn.architecture`, the architecture in [`TorchArchitecture`]'s JSON form, so that
//! [`from_torch_bytes`] reads the file back without being told it
//! ([`stored_architecture`]).
//!
//! ```text
//! import torch
//! from safetensors import safe_open
//! from safetensors.torch import load_file
//! with safe_open("state_dict.safetensors", "pt") as f:
//!     model = eval(f.metadata()["nn.torch_sequential"], {"torch": torch})
//! model.load_state_dict(load_file("state_dict.safetensors"), strict=True)
//! model.eval()                      # dropout off, as nn's predict
//! ```
//!
//! **Reading** a `state_dict` ([`from_torch_bytes`], [`load_torch`]) rebuilds the
//! architecture with [`NetworkBuilder`], checks its sizes against the [`Limits`], then
//! every tensor against the file (name, dtype, shape) before reading any, and refuses
//! missing and extra tensors and non-finite values. The tensors' dtype must be the
//! network's: `F32` for `Network<f32>`, `F64` for `Network<f64>`. `F32` is not widened to
//! `f64` silently (so that the round trip gives back the same tensors): load it as
//! `f32` ([`torch_dtype`] tells a file's type), or convert it in PyTorch first
//! (`model.double()`). 16-bit tensors are refused (save `model.float()`). A common
//! prefix of the names (`model.` for a `Sequential` kept as an attribute) is given in
//! [`TorchImport::prefix`].
//!
//! ```
//! use nn_train::persist::torch::{self, TorchArchitecture, TorchImport};
//! use nn_train::{Activation, Loss, Network};
//! let net = Network::<f32>::builder(3)
//!     .dense(4, Activation::Relu)
//!     .dropout(0.5)
//!     .dense(2, Activation::Softmax)
//!     .loss(Loss::CategoricalCrossEntropy)
//!     .build()?;
//! assert_eq!(
//!     torch::torch_sequential(&net)?,
//!     "torch.nn.Sequential(\n    torch.nn.Linear(3, 4),  # 0\n    torch.nn.ReLU(),  # 1\n    \
//!      torch.nn.Dropout(p=0.5),  # 2\n    torch.nn.Linear(4, 2),  # 3\n    \
//!      torch.nn.Softmax(dim=1),  # 4\n)"
//! );
//! let bytes = torch::to_torch_bytes(&net)?; // tensors 0.weight, 0.bias, 3.weight, 3.bias
//!
//! // The other way, with the architecture as a user writes it (the loss is inferred
//! // from the softmax output):
//! let arch = TorchArchitecture::from_json_str(
//!     r#"{"input": {"flat": 3}, "layers": [
//!         {"type": "dense", "units": 4, "activation": "relu"},
//!         {"type": "dropout", "rate": 0.5},
//!         {"type": "dense", "units": 2, "activation": "softmax"}]}"#,
//!     "arch.json",
//! )?;
//! let back = torch::from_torch_bytes::<f32>(&bytes, "state_dict", &arch, &TorchImport::default())?;
//! assert_eq!(back.named_params(), net.named_params());
//! # Ok::<(), nn_train::TrainError>(())
//! ```

use std::collections::HashMap;
use std::path::Path;

use nn_init::nn_activations::Activation;
use nn_init::nn_activations::nn_core::{DType, Scalar};
use safetensors::Dtype;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::InputForm;
use super::{FileReader, OwnedTensor, json_text, model_error, read_file, serialize, tensor_of};
use crate::atomic::write_atomic;
use crate::error::{FormatError, Result, TrainError};
use crate::layers::{FeatureShape, LayerRecord, LayerSpec};
use crate::limits::Limits;
use crate::loss::Loss;
use crate::network::{Network, NetworkBuilder};

/// The metadata key of the `Sequential`'s Python source in a file nn writes.
pub const SEQUENTIAL_KEY: &str = "nn.torch_sequential";

/// The architecture a `state_dict` is read with: nn's layer list, in the JSON form of a
/// model file's `nn.architecture` ([`TorchArchitecture::from_json_str`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TorchArchitecture {
    /// The shape of one input example.
    pub input: FeatureShape,
    /// The layers, in order.
    pub layers: Vec<LayerSpec>,
    /// The loss; `None` infers it from the last weighted layer's activation: softmax →
    /// categorical cross-entropy, sigmoid → binary cross-entropy, anything else → MSE.
    pub loss: Option<Loss>,
    /// The L2 penalty `λ` (default 0).
    pub l2: f64,
    /// The seed of the dropout masks, should the network be trained further (default 0).
    pub seed: u64,
    /// The loss's per-class weights, if any.
    pub class_weights: Option<Vec<f64>>,
    /// The scalar type the tensors must have, if stated (a `dtype` that disagrees with the
    /// network asked for is an error).
    pub dtype: Option<DType>,
}

/// The JSON form of [`TorchArchitecture`]: that of `nn.architecture`, with everything but
/// `input` and `layers` optional.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchForm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dtype: Option<DType>,
    input: InputForm,
    #[serde(default)]
    l2: f64,
    layers: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    loss: Option<Loss>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    class_weights: Option<Vec<f64>>,
    #[serde(default)]
    seed: u64,
}

impl TorchArchitecture {
    /// Reads the architecture from JSON: `{"input": {"flat": n} | {"image": [c, h, w]},
    /// "layers": [...]}` with the layers in [`LayerSpec::to_json`]'s form (an `"init"`
    /// may be left out), and optionally `"loss"`, `"l2"`, `"seed"`, `"class_weights"`
    /// and `"dtype"`: a model file's `nn.architecture` reads as it is. `name` names the
    /// source in errors.
    ///
    /// # Errors
    /// [`FormatError::ModelFile`] naming `name` for JSON that is not of this form (an
    /// unknown field included); as [`LayerSpec::from_json`] for a layer that does not
    /// parse.
    pub fn from_json_str(text: &str, name: &str) -> Result<Self> {
        let form: ArchForm = serde_json::from_str(text)
            .map_err(|e| model_error(name, format!("architecture: {e}")))?;
        Self::from_form(form)
    }

    fn from_form(form: ArchForm) -> Result<Self> {
        let layers = form
            .layers
            .iter()
            .enumerate()
            .map(|(i, v)| LayerSpec::from_json(&with_init(v), i))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            input: form.input.into(),
            layers,
            loss: form.loss,
            l2: form.l2,
            seed: form.seed,
            class_weights: form.class_weights,
            dtype: form.dtype,
        })
    }

    /// The architecture of `net`, with its dtype.
    ///
    /// # Errors
    /// [`FormatError::TorchUnsupported`] for a layer of a kind of your own.
    pub fn of<T: Scalar>(net: &Network<T>) -> Result<Self> {
        Ok(Self {
            input: net.input_shape(),
            layers: specs(net)?,
            loss: net.loss(),
            l2: net.l2(),
            seed: net.seed(),
            class_weights: net.class_weights().map(<[f64]>::to_vec),
            dtype: Some(T::DTYPE),
        })
    }

    /// The JSON form [`TorchArchitecture::from_json_str`] reads (keys sorted, numbers in
    /// shortest round-trip form).
    ///
    /// # Errors
    /// [`TrainError::Internal`] if it does not serialise (it always does).
    pub fn to_json_string(&self) -> Result<String> {
        json_text(&ArchForm {
            dtype: self.dtype,
            input: self.input.into(),
            l2: self.l2,
            layers: self.layers.iter().map(LayerSpec::to_json).collect(),
            loss: self.loss,
            class_weights: self.class_weights.clone(),
            seed: self.seed,
        })
    }

    /// The loss: the given one, or the one the output activation implies.
    fn loss_or_inferred(&self) -> Loss {
        self.loss.unwrap_or_else(|| {
            let last = self.layers.iter().rev().find_map(|s| match s {
                LayerSpec::Dense(c) => Some(c.activation),
                LayerSpec::Conv2d(c) => Some(c.activation),
                _ => None,
            });
            match last {
                Some(Activation::Softmax) => Loss::CategoricalCrossEntropy,
                Some(Activation::Sigmoid) => Loss::BinaryCrossEntropy,
                _ => Loss::Mse,
            }
        })
    }

    /// The builder of this architecture for `T`, within `limits`.
    fn builder<T: Scalar>(&self, limits: &Limits) -> NetworkBuilder<T> {
        self.layers.iter().fold(
            NetworkBuilder::<T>::new(self.input)
                .loss(self.loss_or_inferred())
                .class_weights(self.class_weights.clone())
                .l2(self.l2)
                .seed(self.seed)
                .limits(*limits),
            |b, spec| b.layer(*spec),
        )
    }
}

/// A dense or conv2d layer's JSON with `"init": null` added when it is left out (the
/// initializer plays no part in a network whose parameters are read).
fn with_init(v: &Value) -> Value {
    let mut v = v.clone();
    if let Value::Object(map) = &mut v
        && matches!(
            map.get("type").and_then(Value::as_str),
            Some("dense" | "conv2d")
        )
    {
        map.entry("init").or_insert(Value::Null);
    }
    v
}

/// How [`from_torch_bytes`] reads a `state_dict`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TorchImport {
    /// A prefix every tensor name starts with, before the module index (`"model."` for
    /// `model.0.weight`); empty for a `Sequential`'s own `state_dict`.
    pub prefix: String,
    /// The sizes the network may have (and the header's length).
    pub limits: Limits,
}

/// The built-in layer specs of `net`.
fn specs<T: Scalar>(net: &Network<T>) -> Result<Vec<LayerSpec>> {
    net.records()?
        .into_iter()
        .enumerate()
        .map(|(i, record)| match record {
            LayerRecord::Builtin(spec) => Ok(spec),
            LayerRecord::Custom { type_name, .. } => Err(FormatError::TorchUnsupported {
                layer: i,
                what: format!("the layer type `{type_name}`"),
            }
            .into()),
        })
        .collect()
}

/// The module of an activation, if it has one (`None` for identity).
fn activation_module(
    activation: Activation,
    layer: usize,
    after_conv: bool,
) -> Result<Option<String>> {
    let unsupported = |what: String| -> Result<Option<String>> {
        Err(FormatError::TorchUnsupported { layer, what }.into())
    };
    Ok(Some(match activation {
        Activation::Identity => return Ok(None),
        Activation::Step => return unsupported("the step activation".into()),
        Activation::Softmax if after_conv => {
            return unsupported(
                "softmax after a convolution (over each example's C×H×W outputs; \
                 torch.nn.Softmax(dim=1) normalises over channels only)"
                    .into(),
            );
        }
        Activation::Sigmoid => "Sigmoid()".into(),
        Activation::Tanh => "Tanh()".into(),
        Activation::Relu => "ReLU()".into(),
        Activation::LeakyRelu { slope } => format!("LeakyReLU(negative_slope={slope:?})"),
        Activation::Softmax => "Softmax(dim=1)".into(),
        Activation::Elu { alpha } => format!("ELU(alpha={alpha:?})"),
        Activation::Selu => "SELU()".into(),
        Activation::Gelu => "GELU()".into(),
        Activation::GeluTanh => "GELU(approximate='tanh')".into(),
        Activation::Silu => "SiLU()".into(),
        // PyTorch's default threshold (20) returns z itself above it; at 40, e^(−z) is
        // below half an ulp of z in f64 as in f32, so the module equals ln(1 + e^z).
        Activation::Softplus => "Softplus(beta=1.0, threshold=40.0)".into(),
    }))
}

/// The `torch.nn` modules (without the `torch.nn.` prefix) of layer `index`, which takes
/// `input`; a dense or conv2d layer's weighted module is the first.
fn layer_modules(spec: &LayerSpec, input: FeatureShape, index: usize) -> Result<Vec<String>> {
    let pair = |p: [usize; 2]| format!("({}, {})", p[0], p[1]);
    let mut out = Vec::with_capacity(2);
    match spec {
        LayerSpec::Dense(c) => {
            out.push(format!("Linear({}, {})", input.len(), c.units));
            out.extend(activation_module(c.activation, index, false)?);
        }
        LayerSpec::Conv2d(c) => {
            let FeatureShape::Image { channels, .. } = input else {
                return Err(TrainError::internal(format!(
                    "layer {index} ({spec}) takes no image"
                )));
            };
            out.push(format!(
                "Conv2d({channels}, {}, kernel_size={}, stride={}, padding={})",
                c.out_channels,
                pair(c.kernel),
                pair(c.stride),
                pair(c.padding)
            ));
            out.extend(activation_module(c.activation, index, true)?);
        }
        LayerSpec::MaxPool2d(c) => out.push(format!(
            "MaxPool2d(kernel_size={}, stride={})",
            pair(c.kernel),
            pair(c.stride)
        )),
        LayerSpec::AvgPool2d(c) => out.push(format!(
            "AvgPool2d(kernel_size={}, stride={})",
            pair(c.kernel),
            pair(c.stride)
        )),
        LayerSpec::Flatten(_) => out.push("Flatten()".into()),
        LayerSpec::Dropout(c) => out.push(format!("Dropout(p={:?})", c.rate)),
    }
    Ok(out)
}

/// The `Sequential`'s modules, and for each layer the index of its first module.
struct Modules {
    sources: Vec<String>,
    first: Vec<usize>,
}

/// The modules of `layers`, layer `i` taking `inputs[i]`.
fn modules(layers: &[LayerSpec], inputs: &[FeatureShape]) -> Result<Modules> {
    let mut m = Modules {
        sources: Vec::new(),
        first: Vec::with_capacity(layers.len()),
    };
    for (i, (spec, input)) in layers.iter().zip(inputs).enumerate() {
        m.first.push(m.sources.len());
        m.sources.extend(layer_modules(spec, *input, i)?);
    }
    Ok(m)
}

/// The Python source of the modules, with each one's index as a comment.
fn sequential_source(sources: &[String], dtype: DType) -> String {
    let mut text = String::from("torch.nn.Sequential(\n");
    for (i, s) in sources.iter().enumerate() {
        text += &format!("    torch.nn.{s},  # {i}\n");
    }
    text.push(')');
    if dtype == DType::F64 {
        text += ".double()";
    }
    text
}

/// The Python source of the `torch.nn.Sequential` that `net`'s `state_dict`
/// ([`to_torch_bytes`]) loads into: one module per line, each with its index as a
/// comment, and `.double()` at the end for an `f64` network. `eval` it with `torch` in
/// scope.
///
/// # Errors
/// [`FormatError::TorchUnsupported`] naming the first layer without a module (the step
/// activation, softmax after a convolution, a layer kind of your own).
pub fn torch_sequential<T: Scalar>(net: &Network<T>) -> Result<String> {
    let inputs: Vec<FeatureShape> = net.layers().iter().map(|l| l.input_shape()).collect();
    let m = modules(&specs(net)?, &inputs)?;
    Ok(sequential_source(&m.sources, T::DTYPE))
}

/// `net` as the bytes of a safetensors `state_dict` of the matching `torch.nn.Sequential`
/// (see the module docs: tensors `{m}.weight`, `{m}.bias`; metadata `format`,
/// `nn.torch_sequential`, `nn.architecture`). The same network always gives the same
/// bytes.
///
/// # Errors
/// As [`torch_sequential`]; [`FormatError::ModelFile`] for a non-finite parameter (it
/// would not load back).
pub fn to_torch_bytes<T: Scalar>(net: &Network<T>) -> Result<Vec<u8>> {
    let inputs: Vec<FeatureShape> = net.layers().iter().map(|l| l.input_shape()).collect();
    let layers = specs(net)?;
    let m = modules(&layers, &inputs)?;
    let mut tensors: Vec<(String, OwnedTensor)> = Vec::new();
    for (i, layer) in net.layers().iter().enumerate() {
        for p in layer.params() {
            let name = format!("{}.{}", m.first[i], p.name());
            if let Some(at) = p.value().iter().position(|v| !v.finite()) {
                return Err(model_error(
                    "(state_dict being saved)",
                    format!(
                        "layer {i}'s {} ({name}) has a non-finite value at (column-major) \
                         index {at}; it would not load back",
                        p.name()
                    ),
                ));
            }
            tensors.push((name, tensor_of(p.value(), p.file_shape())));
        }
    }
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    meta.insert(
        SEQUENTIAL_KEY.to_string(),
        sequential_source(&m.sources, T::DTYPE),
    );
    meta.insert(
        "nn.architecture".to_string(),
        TorchArchitecture::of(net)?.to_json_string()?,
    );
    serialize(&tensors, meta)
}

/// Writes [`to_torch_bytes`] to `path`, atomically.
///
/// # Errors
/// As [`to_torch_bytes`]; [`TrainError::Io`] if the file cannot be written.
pub fn save_torch<T: Scalar>(path: &Path, net: &Network<T>) -> Result<()> {
    write_atomic(path, &to_torch_bytes(net)?)
}

/// The scalar type of a `state_dict`'s tensors: every tensor must be `F32`, or every one
/// `F64`. `name` names the source in errors.
///
/// # Errors
/// [`FormatError::ModelFile`] for bytes that are not safetensors, a file without
/// tensors, tensors of other types (16-bit, integers) or of two types.
pub fn torch_dtype(bytes: &[u8], name: &str) -> Result<DType> {
    let file = FileReader::parse(bytes, name, &Limits::default())?;
    let mut found: Option<(DType, String)> = None;
    let mut keys = file.header.offset_keys();
    keys.sort();
    for key in keys {
        let (dtype, _, _) = file.view(&key)?;
        let d = scalar_dtype(dtype).ok_or_else(|| file.error(wrong_type(&key, dtype)))?;
        match &found {
            None => found = Some((d, key)),
            Some((first, first_key)) if *first != d => {
                return Err(file.error(format!(
                    "tensor {first_key:?} is {first} but {key:?} is {d}: one network has one \
                     scalar type"
                )));
            }
            Some(_) => {}
        }
    }
    found
        .map(|(d, _)| d)
        .ok_or_else(|| file.error("the file holds no tensors".into()))
}

/// nn's scalar type of a safetensors dtype, if it has one.
fn scalar_dtype(dtype: Dtype) -> Option<DType> {
    match dtype {
        Dtype::F32 => Some(DType::F32),
        Dtype::F64 => Some(DType::F64),
        _ => None,
    }
}

/// Why a tensor of `dtype` cannot be read.
fn wrong_type(key: &str, dtype: Dtype) -> String {
    let hint = match dtype {
        Dtype::F16 | Dtype::BF16 => {
            " (nn has no 16-bit networks: save model.float() or model.double())"
        }
        _ => "",
    };
    format!("tensor {key:?} has dtype {dtype:?}, expected F32 or F64{hint}")
}

/// The architecture stored in a `state_dict` nn wrote (its `nn.architecture`), if any.
///
/// # Errors
/// [`FormatError::ModelFile`] for bytes that are not safetensors, or an `nn.architecture`
/// that does not read ([`TorchArchitecture::from_json_str`]).
pub fn stored_architecture(bytes: &[u8], name: &str) -> Result<Option<TorchArchitecture>> {
    let file = FileReader::parse(bytes, name, &Limits::default())?;
    file.meta("nn.architecture")
        .map(|text| TorchArchitecture::from_json_str(text, name))
        .transpose()
}

/// Reads a `state_dict` (a safetensors file of `{m}.weight`, `{m}.bias` tensors, as
/// `safetensors.torch.save_file(model.state_dict(), path)` writes for a
/// `torch.nn.Sequential`) into a network of architecture `arch`: the module indices are
/// those of the mapping in the module docs. `name` names the source in errors.
///
/// # Errors
/// [`FormatError::ModelFile`] naming the file and the tensor for bytes that are not
/// safetensors (corrupt or truncated), a missing tensor, an extra one, one of another
/// dtype than `T`'s or another shape than the architecture's, a non-finite value;
/// [`FormatError::TorchUnsupported`] for a layer without a module;
/// [`FormatError::ModelFile`] if `arch.dtype` is not `T`'s; as [`NetworkBuilder::plan`]
/// and [`NetworkBuilder::build`] for an architecture that does not build or exceeds the
/// limits.
pub fn from_torch_bytes<T: Scalar>(
    bytes: &[u8],
    name: &str,
    arch: &TorchArchitecture,
    options: &TorchImport,
) -> Result<Network<T>> {
    if let Some(d) = arch.dtype
        && d != T::DTYPE
    {
        return Err(model_error(
            name,
            format!(
                "the architecture says dtype {d}, but a Network<{}> was asked for",
                T::DTYPE
            ),
        ));
    }
    let mut file = FileReader::parse(bytes, name, &options.limits)?;
    let builder = arch.builder::<T>(&options.limits);
    // Sizes first, overflow-checked against the limits; then every tensor is compared
    // with the header before anything the size of the network is allocated.
    let plan = builder.plan()?;
    let mut inputs = Vec::with_capacity(plan.layers.len());
    let mut shape = arch.input;
    for layer in &plan.layers {
        inputs.push(shape);
        shape = layer.output;
    }
    let m = modules(&arch.layers, &inputs)?;
    let key = |i: usize, param: &str| format!("{}{}.{param}", options.prefix, m.first[i]);
    for (i, layer) in plan.layers.iter().enumerate() {
        for p in &layer.params {
            let k = key(i, p.name);
            let (dtype, _, _) = file.view(&k).map_err(|_| missing(&file, &k, i, options))?;
            match scalar_dtype(dtype) {
                None => return Err(file.error(wrong_type(&k, dtype))),
                Some(d) if d != T::DTYPE => {
                    return Err(file.error(format!(
                        "tensor {k:?} is {d}, but a Network<{}> was asked for: read it as \
                         {d} (nn import picks the file's type), or convert the model in \
                         PyTorch first (model.{}()); {d} is not converted silently",
                        T::DTYPE,
                        if T::DTYPE == DType::F64 {
                            "double"
                        } else {
                            "float"
                        }
                    )));
                }
                Some(_) => {}
            }
            file.check_tensor::<T>(&k, &p.file_shape).map_err(|e| {
                file.error(format!(
                    "{} (layer {i}, {}: module {} of the Sequential)",
                    strip_file(&e, name),
                    arch.layers[i],
                    m.first[i]
                ))
            })?;
        }
    }
    let mut load = |i: usize, p: &crate::layers::ParamShape| {
        file.matrix::<T>(&key(i, p.name), &p.file_shape, (p.rows, p.cols))
    };
    let net = builder.build_from(&plan, Some(&mut load))?;
    file.check_all_used(None).map_err(|e| {
        file.error(format!(
            "{}; the Sequential of this architecture has the weighted modules {:?}",
            strip_file(&e, name),
            weighted_modules(&plan, &m)
        ))
    })?;
    Ok(net)
}

/// The indices of the modules with tensors.
fn weighted_modules(plan: &crate::network::NetworkPlan, m: &Modules) -> Vec<usize> {
    plan.layers
        .iter()
        .zip(&m.first)
        .filter(|(l, _)| !l.params.is_empty())
        .map(|(_, &first)| first)
        .collect()
}

/// An error's problem without its `model file {name}: ` start (to rephrase it).
fn strip_file(e: &TrainError, name: &str) -> String {
    match e {
        TrainError::Format(FormatError::ModelFile { file, problem }) if file == name => {
            problem.clone()
        }
        other => other.to_string(),
    }
}

/// The error of the missing tensor `key` of layer `i`, with a hint when every tensor in
/// the file starts with another prefix.
fn missing(file: &FileReader<'_>, key: &str, i: usize, options: &TorchImport) -> TrainError {
    let mut names = file.header.offset_keys();
    names.sort();
    let hint = common_prefix(&names)
        .filter(|p| *p != options.prefix)
        .map(|p| {
            format!(
                "; every tensor's name starts with {p:?}: give it as the prefix \
                 (TorchImport::prefix, nn import --prefix)"
            )
        })
        .unwrap_or_default();
    let shown: Vec<&String> = names.iter().take(8).collect();
    file.error(format!(
        "tensor {key:?} (layer {i}) is missing; the file has {} tensors: {shown:?}{}{hint}",
        names.len(),
        if names.len() > shown.len() {
            " …"
        } else {
            ""
        }
    ))
}

/// The prefix before the module index shared by every name (`"model."` of
/// `model.0.weight`), if they all have the same.
fn common_prefix(names: &[String]) -> Option<String> {
    let prefix_of = |n: &str| -> Option<String> {
        let parts: Vec<&str> = n.split('.').collect();
        let at = parts
            .iter()
            .position(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))?;
        Some(parts[..at].iter().map(|p| format!("{p}.")).collect())
    };
    let first = prefix_of(names.first()?)?;
    names
        .iter()
        .all(|n| prefix_of(n).as_deref() == Some(first.as_str()))
        .then_some(first)
}

/// The bytes of the `state_dict` file at `path` (for [`torch_dtype`],
/// [`stored_architecture`] and [`from_torch_bytes`]); a file longer than a network within
/// `limits` can be is refused before it is read.
///
/// # Errors
/// [`TrainError::Io`] if the file cannot be read; [`FormatError::ModelFile`] if it is
/// too long.
pub fn read_state_dict(path: &Path, limits: &Limits) -> Result<Vec<u8>> {
    read_file(path, limits)
}

/// Reads the `state_dict` file at `path` ([`read_state_dict`], [`from_torch_bytes`]).
///
/// # Errors
/// As [`from_torch_bytes`] and [`read_state_dict`].
pub fn load_torch<T: Scalar>(
    path: &Path,
    arch: &TorchArchitecture,
    options: &TorchImport,
) -> Result<Network<T>> {
    let bytes = read_state_dict(path, &options.limits)?;
    from_torch_bytes(&bytes, &path.display().to_string(), arch, options)
}
