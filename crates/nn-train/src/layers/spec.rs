//! What the layer configurations share: the plan of a layer ([`LayerPlan`], its parameter
//! tensors [`ParamShape`]), where a build takes parameters from, the JSON entry points of
//! [`LayerSpec`], and the checks and draws that dense and convolution layers have in
//! common.
//!
//! Shapes are checked at plan time, with errors that name the layer: a dense layer fed an
//! image (add a flatten layer), a convolution or pooling fed a flat vector, a kernel
//! larger than its (padded) input, a stride that leaves input unread.

use nalgebra::DMatrix;
use serde::Deserialize;
use serde_json::Value;

use nn_init::nn_activations::Activation;
use nn_init::nn_activations::nn_core::Scalar;
use nn_init::{Init, SeededRng, Stream, recommended_for};

use crate::error::{FormatError, Result, TrainError};
use crate::layers::FeatureShape;
use crate::layers::LayerSpec;
use crate::layers::window::Window;
use crate::limits::{Limits, checked_product, within};

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

/// What building a layer for a given input will make, worked out without allocating
/// anything the size of the layer: every size is overflow-checked and compared with
/// [`Limits`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerPlan {
    /// The shape of one output example.
    pub output: FeatureShape,
    /// The parameter tensors, in [`crate::Layer::params`] order.
    pub params: Vec<ParamShape>,
    /// The number of trainable scalars (the sum of `rows · cols` over `params`).
    pub parameters: usize,
}

impl LayerPlan {
    /// The plan of a layer without parameters.
    pub(crate) fn parameterless(output: FeatureShape) -> Self {
        Self {
            output,
            params: Vec::new(),
            parameters: 0,
        }
    }
}

/// Where a layer configuration's build takes the layer's parameters from.
pub(crate) enum ParamSource<'a, T: Scalar> {
    /// Drawn by the layer's initializer from the network's seed; the bias by `bias`
    /// instead, if given.
    Drawn {
        /// The biases' initializer, if not the weights'.
        bias: Option<Init>,
    },
    /// Given, already checked against the plan (a model file's tensors).
    Given(&'a mut dyn FnMut(&ParamShape) -> Result<DMatrix<T>>),
}

/// Builds the errors of layer `index`, which displays as `what`.
pub(crate) struct Place<'a> {
    pub index: usize,
    pub what: &'a dyn std::fmt::Display,
}

impl Place<'_> {
    /// [`TrainError::InvalidArchitecture`] naming the layer.
    pub fn invalid(&self, problem: String) -> TrainError {
        TrainError::InvalidArchitecture {
            layer: self.index,
            what: self.what.to_string(),
            problem,
        }
    }

    /// The quantity named for [`TrainError::TooLarge`].
    fn named(&self, quantity: &str) -> String {
        format!("layer {} ({}): {quantity}", self.index, self.what)
    }

    /// Checks `Π factors` (values per example) against [`Limits::max_example_values`].
    pub fn per_example(&self, limits: &Limits, quantity: &str, factors: &[usize]) -> Result<()> {
        let n = checked_product(|| self.named(quantity), factors)?;
        within(
            || self.named(quantity),
            n,
            limits.max_example_values,
            "Limits::max_example_values",
        )
        .map(drop)
    }

    /// The plan of a layer with a weight `(out, fan_in)` stored as `file_shape` and a bias
    /// `(out, 1)`, its parameter count checked against [`Limits::max_parameters`].
    pub fn weighted(
        &self,
        limits: &Limits,
        output: FeatureShape,
        (out, fan_in): (usize, usize),
        file_shape: Vec<usize>,
    ) -> Result<LayerPlan> {
        // out·(fan_in + 1): the weights and one bias per output.
        let quantity = "the parameter count";
        let parameters =
            checked_product(|| self.named(quantity), &[out, fan_in.saturating_add(1)])?;
        within(
            || self.named(quantity),
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
    }

    /// The window of a convolution or pooling layer over `input`, or what does not fit.
    pub fn image_window(
        &self,
        input: FeatureShape,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<Window> {
        match input {
            FeatureShape::Image {
                channels,
                height,
                width,
            } => Window::new([channels, height, width], kernel, stride, padding),
            FeatureShape::Flat(n) if self.index == 0 => Err(format!(
                "takes images, but the network's input is a flat vector of {n}; start it \
                 with Network::image_builder(channels, height, width)"
            )),
            FeatureShape::Flat(n) => Err(format!(
                "takes images, but its input is a flat vector of {n} (after a dense or \
                 flatten layer); put image layers before them"
            )),
        }
        .map_err(|problem| self.invalid(problem))
    }
}

/// The weight and bias of a dense or convolution layer that `plan` describes: given, or
/// drawn by `init` (the recommended one for `activation` if `None`) from layer `index`'s
/// own stream of `seed`, with `adjust` applied to drawn weights.
pub(crate) fn weight_and_bias<T: Scalar>(
    plan: &LayerPlan,
    source: ParamSource<'_, T>,
    (index, seed): (usize, u64),
    (init, activation): (Option<Init>, Activation),
    adjust: &dyn Fn(Init, &mut DMatrix<T>),
) -> Result<(DMatrix<T>, DMatrix<T>)> {
    let [w, b] = &plan.params[..] else {
        // The plan is the layer's own (`NetworkBuilder::plan`), which has both.
        return Err(TrainError::internal(format!(
            "the plan of a weighted layer has {} tensors, expected two (weight and bias)",
            plan.params.len()
        )));
    };
    match source {
        ParamSource::Given(load) => Ok((load(w)?, load(b)?)),
        ParamSource::Drawn { bias } => {
            let init = init.unwrap_or_else(|| recommended_for(activation));
            let mut rng = SeededRng::for_stream(seed, Stream::LayerInit(index));
            let mut weights = init.weights::<T>(w.rows, w.cols, &mut rng)?;
            adjust(init, &mut weights);
            Ok((weights, bias.unwrap_or(init).bias::<T>(b.rows, &mut rng)?))
        }
    }
}

/// The seed of layer `index`'s dropout masks, from the network's `seed`.
pub(crate) fn mask_seed(seed: u64, index: usize) -> u64 {
    SeededRng::for_stream(seed, Stream::LayerDropout(index)).next_u64()
}

impl LayerSpec {
    /// The spec as JSON, the form model files store (see [`crate::persist`]), written by
    /// serde from the configurations:
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
    ///
    /// ```
    /// use nn_train::{Activation, DenseConfig, LayerSpec};
    /// let spec = LayerSpec::Dense(DenseConfig { units: 16, activation: Activation::Tanh, init: None });
    /// assert_eq!(
    ///     spec.to_json().to_string(),
    ///     r#"{"activation":"tanh","init":null,"type":"dense","units":16}"#
    /// );
    /// assert_eq!(LayerSpec::from_json(&spec.to_json(), 0)?, spec);
    /// # Ok::<(), nn_train::TrainError>(())
    /// ```
    pub fn to_json(&self) -> Value {
        // Serialising these plain structs into a JSON value cannot fail: every field is a
        // number, a pair, or a name.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Reads a spec from [`LayerSpec::to_json`]'s form; `index` names the layer in errors.
    /// Only the form is checked here; sizes are checked when the network is built.
    ///
    /// # Errors
    /// [`FormatError::UnknownLayerType`] for a type that is not built in;
    /// [`TrainError::InvalidArchitecture`] for a missing or mistyped field, or an activation
    /// or initializer name that does not parse.
    pub fn from_json(v: &Value, index: usize) -> Result<Self> {
        let invalid = |problem: String| TrainError::InvalidArchitecture {
            layer: index,
            what: v.to_string(),
            problem,
        };
        match v.get("type") {
            None => return Err(invalid("missing field `type`".into())),
            Some(Value::String(name)) if !Self::TYPES.contains(&name.as_str()) => {
                return Err(FormatError::UnknownLayerType {
                    layer: index,
                    what: v.to_string(),
                    found: name.clone(),
                    known: Self::TYPES.iter().map(|n| n.to_string()).collect(),
                    hint: "",
                }
                .into());
            }
            Some(Value::String(_)) => {}
            Some(other) => return Err(invalid(format!("`type` must be a string, found {other}"))),
        }
        LayerSpec::deserialize(v).map_err(|e| invalid(e.to_string()))
    }
}
