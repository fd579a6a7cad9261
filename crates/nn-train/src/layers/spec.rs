//! Layer configurations: what a layer is, separate from its built parameters.
//!
//! A [`LayerSpec`] is plain data (sizes, activation, initializer); building it for an
//! input shape validates the sizes and draws the parameters. Model files store the specs.
//!
//! Shapes are checked here, at build time, with errors that name the layer: a dense layer
//! fed an image (add a flatten layer), a convolution or pooling fed a flat vector, a kernel
//! larger than its (padded) input, a stride that leaves input unread.

use std::fmt;

use nalgebra::DMatrix;
use serde_json::{Value, json};

use nn_init::nn_activations::Activation;
use nn_init::nn_activations::nn_core::Scalar;
use nn_init::{Init, SeededRng, recommended_for};

use crate::error::{Result, TrainError};
use crate::layers::Conv2d;
use crate::layers::Dense;
use crate::layers::Dropout;
use crate::layers::Flatten;
use crate::layers::window::{Pair, Window};
use crate::layers::{AvgPool2d, MaxPool2d};
use crate::layers::{FeatureShape, Layer};
use crate::limits::{Limits, checked_product, within};

/// The configuration of one layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayerSpec {
    /// A dense layer with `units` outputs; `init: None` uses
    /// [`recommended_for`]`(activation)`.
    Dense {
        /// Number of units (outputs).
        units: usize,
        /// The activation `g`.
        activation: Activation,
        /// The weight initializer; `None` picks the recommended one for `activation`.
        init: Option<Init>,
    },
    /// Inverted dropout with drop probability `rate ∈ [0, 1)`.
    Dropout {
        /// The drop probability.
        rate: f64,
    },
    /// A 2-D convolution ([`Conv2d`]) with `out_channels` filters over an image input;
    /// `init: None` uses [`recommended_for`]`(activation)` with PyTorch's fans
    /// (`fan_in = C_in·kh·kw`, `fan_out = C_out·kh·kw`).
    Conv2d {
        /// Number of filters (output channels).
        out_channels: usize,
        /// `[kh, kw]`.
        kernel: [usize; 2],
        /// `[sh, sw]` (PyTorch's default `[1, 1]`).
        stride: [usize; 2],
        /// Zeros added on each side, `[ph, pw]` (default `[0, 0]`).
        padding: [usize; 2],
        /// The activation `g` applied to every output (identity for none).
        activation: Activation,
        /// The weight initializer; `None` picks the recommended one for `activation`.
        init: Option<Init>,
    },
    /// Max pooling ([`MaxPool2d`]) over `kernel` windows every `stride` pixels.
    MaxPool2d {
        /// `[kh, kw]`.
        kernel: [usize; 2],
        /// `[sh, sw]` (usually the kernel).
        stride: [usize; 2],
    },
    /// Average pooling ([`AvgPool2d`]) over `kernel` windows every `stride` pixels.
    AvgPool2d {
        /// `[kh, kw]`.
        kernel: [usize; 2],
        /// `[sh, sw]` (usually the kernel).
        stride: [usize; 2],
    },
    /// [`Flatten`]: image examples become flat feature vectors (the data is unchanged).
    Flatten,
}

impl fmt::Display for LayerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerSpec::Dense {
                units, activation, ..
            } => write!(f, "Dense({units}, {activation})"),
            LayerSpec::Dropout { rate } => write!(f, "Dropout(p={rate})"),
            LayerSpec::Conv2d {
                out_channels,
                kernel,
                stride,
                padding,
                activation,
                ..
            } => {
                write!(f, "Conv2d({out_channels}, {}", Pair(*kernel))?;
                if *stride != [1, 1] {
                    write!(f, ", stride {}", Pair(*stride))?;
                }
                if *padding != [0, 0] {
                    write!(f, ", padding {}", Pair(*padding))?;
                }
                write!(f, ", {activation})")
            }
            LayerSpec::MaxPool2d { kernel, stride } | LayerSpec::AvgPool2d { kernel, stride } => {
                let name = match self {
                    LayerSpec::MaxPool2d { .. } => "MaxPool2d",
                    _ => "AvgPool2d",
                };
                write!(f, "{name}({}", Pair(*kernel))?;
                if stride != kernel {
                    write!(f, ", stride {}", Pair(*stride))?;
                }
                write!(f, ")")
            }
            LayerSpec::Flatten => write!(f, "Flatten"),
        }
    }
}

/// One parameter tensor a layer will have: its matrix shape, and its shape in model files
/// (`[rows]` for a bias, `[rows, cols]`, or `[out, in, kh, kw]` for a convolution's
/// weights, PyTorch's layouts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamShape {
    /// Its name within the layer (`"weight"`, `"bias"`).
    pub name: &'static str,
    /// Rows of the matrix.
    pub rows: usize,
    /// Columns of the matrix.
    pub cols: usize,
    /// Its shape in model files; its row-major flattening is the matrix's row-major order.
    pub file_shape: Vec<usize>,
}

/// What building a [`LayerSpec`] for a given input will make, worked out without
/// allocating anything the size of the layer: every size is overflow-checked and
/// compared with [`Limits`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerPlan {
    /// The shape of one output example.
    pub output: FeatureShape,
    /// The parameter tensors, in [`Layer::visit_params`] order.
    pub params: Vec<ParamShape>,
    /// The number of trainable scalars (the sum of `rows · cols` over `params`).
    pub parameters: usize,
}

/// Where [`LayerSpec::build_with`] takes a layer's parameters from.
pub(crate) enum ParamSource<'a, T: Scalar> {
    /// Drawn by the layer's initializer from the network's seed.
    Drawn,
    /// Given, already checked against the plan (a model file's tensors).
    Given(&'a mut dyn FnMut(&ParamShape) -> Result<DMatrix<T>>),
}

impl LayerSpec {
    /// Works out what this layer would be for inputs of `input` shape (its output shape
    /// and parameter tensors) without building it; `index` names it in errors.
    ///
    /// # Errors
    /// [`TrainError::InvalidArchitecture`] if the layer cannot take this input (zero units
    /// or channels, an image fed to a dense layer without flattening, a flat vector fed to
    /// a convolution or pooling, a kernel larger than its padded input, a stride that
    /// leaves input unread); [`TrainError::TooLarge`] if a size overflows or exceeds
    /// `limits` (parameters, or values per example, including a convolution's unfolded
    /// input).
    pub fn plan(&self, input: FeatureShape, index: usize, limits: &Limits) -> Result<LayerPlan> {
        let invalid = |problem: String| TrainError::InvalidArchitecture {
            layer: index,
            what: self.to_string(),
            problem,
        };
        let named = |quantity: &'static str| move || format!("layer {index} ({self}): {quantity}");
        let per_example = |quantity: &'static str, factors: &[usize]| {
            let n = checked_product(named(quantity), factors)?;
            within(
                named(quantity),
                n,
                limits.max_example_values,
                "Limits::max_example_values",
            )
        };
        let weighted = |output: FeatureShape,
                        out: usize,
                        fan_in: usize,
                        file_shape: Vec<usize>|
         -> Result<LayerPlan> {
            // out·(fan_in + 1): the weights and one bias per output.
            let parameters = checked_product(
                named("the parameter count"),
                &[out, fan_in.saturating_add(1)],
            )?;
            within(
                named("the parameter count"),
                parameters,
                limits.max_parameters,
                "Limits::max_parameters",
            )?;
            Ok(LayerPlan {
                output,
                params: vec![
                    ParamShape {
                        name: "weight",
                        rows: out,
                        cols: fan_in,
                        file_shape,
                    },
                    ParamShape {
                        name: "bias",
                        rows: out,
                        cols: 1,
                        file_shape: vec![out],
                    },
                ],
                parameters,
            })
        };
        match *self {
            LayerSpec::Dense { units, .. } => {
                let inputs = match input {
                    FeatureShape::Flat(n) => n,
                    FeatureShape::Image { .. } => {
                        return Err(invalid(format!(
                            "a dense layer takes a flat vector, but its input is an image \
                             {input}; add a flatten layer before it"
                        )));
                    }
                };
                if units == 0 || inputs == 0 {
                    return Err(invalid(format!(
                        "needs at least one unit and one input, found {units} units and \
                         {inputs} inputs"
                    )));
                }
                per_example("output values per example", &[units])?;
                weighted(
                    FeatureShape::Flat(units),
                    units,
                    inputs,
                    vec![units, inputs],
                )
            }
            LayerSpec::Dropout { .. } | LayerSpec::Flatten => Ok(LayerPlan {
                output: match self {
                    LayerSpec::Flatten => FeatureShape::Flat(input.len()),
                    _ => input,
                },
                params: Vec::new(),
                parameters: 0,
            }),
            LayerSpec::Conv2d {
                out_channels,
                kernel,
                stride,
                padding,
                ..
            } => {
                let window =
                    image_window(input, index, kernel, stride, padding).map_err(&invalid)?;
                if out_channels == 0 {
                    return Err(invalid("needs at least one output channel, found 0".into()));
                }
                let p = window.positions();
                per_example(
                    "unfolded input values per example (C_in·kh·kw·positions)",
                    &[window.unfolded_len()],
                )?;
                per_example("output values per example", &[out_channels, p])?;
                let fan_in = window.channels * window.area();
                weighted(
                    window.output_shape(out_channels),
                    out_channels,
                    fan_in,
                    vec![out_channels, window.channels, kernel[0], kernel[1]],
                )
            }
            LayerSpec::MaxPool2d { kernel, stride } | LayerSpec::AvgPool2d { kernel, stride } => {
                let window =
                    image_window(input, index, kernel, stride, [0, 0]).map_err(&invalid)?;
                per_example(
                    "outputs per example",
                    &[window.channels, window.positions()],
                )?;
                Ok(LayerPlan {
                    output: window.output_shape(window.channels),
                    params: Vec::new(),
                    parameters: 0,
                })
            }
        }
    }

    /// Builds the layer for inputs of `input` shape; `index` names it in errors and
    /// `seed` derives its random stream (weights, dropout masks).
    ///
    /// # Errors
    /// As [`LayerSpec::plan`] with the default [`Limits`]; a bad dropout rate is
    /// [`TrainError::InvalidArchitecture`]; [`TrainError::Init`] if the initializer
    /// rejects the sizes.
    pub fn build<T: Scalar>(
        &self,
        input: FeatureShape,
        index: usize,
        seed: u64,
    ) -> Result<Box<dyn Layer<T>>> {
        let plan = self.plan(input, index, &Limits::default())?;
        self.build_with(&plan, input, index, seed, ParamSource::Drawn)
    }

    /// Builds the layer that `plan` (from [`LayerSpec::plan`] for this `input`) describes,
    /// with its parameters from `source`.
    pub(crate) fn build_with<T: Scalar>(
        &self,
        plan: &LayerPlan,
        input: FeatureShape,
        index: usize,
        seed: u64,
        source: ParamSource<'_, T>,
    ) -> Result<Box<dyn Layer<T>>> {
        let invalid = |problem: String| TrainError::InvalidArchitecture {
            layer: index,
            what: self.to_string(),
            problem,
        };
        // The weight and bias of a dense or convolution layer: given, or drawn by `init`
        // (from the layer's own stream), with `adjust` applied to drawn weights.
        let params = |init: Option<Init>,
                      activation: Activation,
                      adjust: &dyn Fn(Init, &mut DMatrix<T>)|
         -> Result<(DMatrix<T>, DMatrix<T>)> {
            let [w, b] = &plan.params[..] else {
                return Err(invalid("a weighted layer's plan has two tensors".into()));
            };
            match source {
                ParamSource::Given(load) => Ok((load(w)?, load(b)?)),
                ParamSource::Drawn => {
                    let init = init.unwrap_or_else(|| recommended_for(activation));
                    let mut rng = SeededRng::stream(seed, 2 * index as u64);
                    let mut weights = init.weights::<T>(w.rows, w.cols, &mut rng)?;
                    adjust(init, &mut weights);
                    Ok((weights, init.bias::<T>(b.rows, &mut rng)?))
                }
            }
        };
        match *self {
            LayerSpec::Dense {
                activation, init, ..
            } => {
                let (w, b) = params(init, activation, &|_, _| {})?;
                Ok(Box::new(Dense::new(w, b, activation)?))
            }
            LayerSpec::Dropout { rate } => {
                let mask_seed = SeededRng::stream(seed, 2 * index as u64 + 1).next_u64();
                Dropout::new(input, rate, mask_seed)
                    .map(|d| Box::new(d) as Box<dyn Layer<T>>)
                    .map_err(|e| invalid(e.to_string()))
            }
            LayerSpec::Conv2d {
                out_channels,
                kernel,
                stride,
                padding,
                activation,
                init,
            } => {
                let area = kernel[0] * kernel[1];
                let fan_in = plan.params.first().map_or(0, |w| w.cols);
                let rescale = |init: Init, w: &mut DMatrix<T>| {
                    if let Init::GlorotNormal | Init::GlorotUniform = init {
                        // Glorot's fan_out of a convolution is C_out·kh·kw (PyTorch), not
                        // the C_out rows of W_mat: rescale to that variance.
                        let drawn = init.target_variance(out_channels, fan_in);
                        let wanted = init.target_variance(out_channels * area, fan_in);
                        if let (Some(d), Some(v)) = (drawn, wanted)
                            && d > 0.0
                        {
                            *w *= T::cast((v / d).sqrt());
                        }
                    }
                };
                let (w, b) = params(init, activation, &rescale)?;
                Ok(Box::new(Conv2d::new(
                    input, w, b, kernel, stride, padding, activation,
                )?))
            }
            LayerSpec::MaxPool2d { kernel, stride } => {
                Ok(Box::new(MaxPool2d::new(input, kernel, stride)?))
            }
            LayerSpec::AvgPool2d { kernel, stride } => {
                Ok(Box::new(AvgPool2d::new(input, kernel, stride)?))
            }
            LayerSpec::Flatten => Flatten::new(input)
                .map(|l| Box::new(l) as Box<dyn Layer<T>>)
                .map_err(|e| invalid(e.to_string())),
        }
    }
}

impl LayerSpec {
    /// The spec as JSON, the form model files store (see [`crate::persist`]):
    ///
    /// ```text
    /// {"type": "dense", "units": 16, "activation": "tanh", "init": null | "he_normal(0)"}
    /// {"type": "dropout", "rate": 0.5}
    /// {"type": "conv2d", "out_channels": 8, "kernel": [3, 3], "stride": [1, 1],
    ///  "padding": [0, 0], "activation": "relu", "init": null}
    /// {"type": "max_pool2d", "kernel": [2, 2], "stride": [2, 2]}     (also "avg_pool2d")
    /// {"type": "flatten"}
    /// ```
    ///
    /// Pairs are `[height, width]`. Activation and initializer names are their `Display`
    /// forms, which parse back to the same value.
    pub fn to_json(&self) -> Value {
        match self {
            LayerSpec::Dense {
                units,
                activation,
                init,
            } => json!({
                "type": "dense",
                "units": units,
                "activation": activation.to_string(),
                "init": init.map(|i| i.to_string()),
            }),
            LayerSpec::Dropout { rate } => json!({ "type": "dropout", "rate": rate }),
            LayerSpec::Conv2d {
                out_channels,
                kernel,
                stride,
                padding,
                activation,
                init,
            } => json!({
                "type": "conv2d",
                "out_channels": out_channels,
                "kernel": kernel,
                "stride": stride,
                "padding": padding,
                "activation": activation.to_string(),
                "init": init.map(|i| i.to_string()),
            }),
            LayerSpec::MaxPool2d { kernel, stride } => {
                json!({ "type": "max_pool2d", "kernel": kernel, "stride": stride })
            }
            LayerSpec::AvgPool2d { kernel, stride } => {
                json!({ "type": "avg_pool2d", "kernel": kernel, "stride": stride })
            }
            LayerSpec::Flatten => json!({ "type": "flatten" }),
        }
    }

    /// Reads a spec from [`LayerSpec::to_json`]'s form; `index` names the layer in errors.
    /// Only the form is checked here; sizes are checked when the network is built.
    ///
    /// # Errors
    /// [`TrainError::InvalidArchitecture`] for an unknown layer type, a missing or mistyped
    /// field, or an activation or initializer name that does not parse.
    pub fn from_json(v: &Value, index: usize) -> Result<Self> {
        let invalid = |problem: String| TrainError::InvalidArchitecture {
            layer: index,
            what: v.to_string(),
            problem,
        };
        let field = |key: &str| {
            v.get(key)
                .ok_or_else(|| invalid(format!("missing field {key:?}")))
        };
        let kind = field("type")?
            .as_str()
            .ok_or_else(|| invalid("\"type\" must be a string".into()))?;
        let count = |key: &str| {
            field(key)?
                .as_u64()
                .and_then(|u| usize::try_from(u).ok())
                .ok_or_else(|| invalid(format!("{key:?} must be a non-negative integer")))
        };
        let pair = |key: &str| -> Result<[usize; 2]> {
            let bad = || {
                invalid(format!(
                    "{key:?} must be [height, width], two non-negative integers"
                ))
            };
            let items = field(key)?.as_array().ok_or_else(bad)?;
            let mut out = [0; 2];
            if items.len() != 2 {
                return Err(bad());
            }
            for (o, item) in out.iter_mut().zip(items) {
                *o = item
                    .as_u64()
                    .and_then(|u| usize::try_from(u).ok())
                    .ok_or_else(bad)?;
            }
            Ok(out)
        };
        let activation = || -> Result<Activation> {
            field("activation")?
                .as_str()
                .ok_or_else(|| invalid("\"activation\" must be a string".into()))?
                .parse()
                .map_err(|e| invalid(format!("unknown activation: {e}")))
        };
        let init = || -> Result<Option<Init>> {
            match v.get("init") {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => s
                    .parse::<Init>()
                    .map(Some)
                    .map_err(|e| invalid(format!("unknown initializer: {e}"))),
                Some(other) => Err(invalid(format!(
                    "\"init\" must be null or a string, found {other}"
                ))),
            }
        };
        match kind {
            "dense" => Ok(LayerSpec::Dense {
                units: count("units")?,
                activation: activation()?,
                init: init()?,
            }),
            "conv2d" => Ok(LayerSpec::Conv2d {
                out_channels: count("out_channels")?,
                kernel: pair("kernel")?,
                stride: pair("stride")?,
                padding: pair("padding")?,
                activation: activation()?,
                init: init()?,
            }),
            "max_pool2d" => Ok(LayerSpec::MaxPool2d {
                kernel: pair("kernel")?,
                stride: pair("stride")?,
            }),
            "avg_pool2d" => Ok(LayerSpec::AvgPool2d {
                kernel: pair("kernel")?,
                stride: pair("stride")?,
            }),
            "flatten" => Ok(LayerSpec::Flatten),
            "dropout" => {
                let rate = field("rate")?
                    .as_f64()
                    .ok_or_else(|| invalid("\"rate\" must be a number".into()))?;
                Ok(LayerSpec::Dropout { rate })
            }
            other => Err(invalid(format!(
                "unknown layer type {other:?}; this build knows \"dense\", \"dropout\", \
                 \"conv2d\", \"max_pool2d\", \"avg_pool2d\" and \"flatten\""
            ))),
        }
    }
}

/// The window of a convolution or pooling layer over `input`, or what does not fit.
fn image_window(
    input: FeatureShape,
    index: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> std::result::Result<Window, String> {
    match input {
        FeatureShape::Image {
            channels,
            height,
            width,
        } => Window::new([channels, height, width], kernel, stride, padding),
        FeatureShape::Flat(n) if index == 0 => Err(format!(
            "takes images, but the network's input is a flat vector of {n}; start it with \
             Network::image_builder(channels, height, width)"
        )),
        FeatureShape::Flat(n) => Err(format!(
            "takes images, but its input is a flat vector of {n} (after a dense or flatten \
             layer); put image layers before them"
        )),
    }
}
