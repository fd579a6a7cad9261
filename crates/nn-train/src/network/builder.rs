//! [`NetworkBuilder`]: a network described layer by layer, planned without allocating,
//! then built (weights drawn, or read from a model file).

use nalgebra::DMatrix;
use nn_init::Init;
use nn_init::nn_activations::Activation;
use nn_init::nn_activations::nn_core::Scalar;
use serde_json::Value;

use super::Network;
use crate::error::{Result, TrainError};
use crate::layers::{AvgPool2dConfig, Conv2dConfig, DenseConfig, DropoutConfig, FlattenConfig};
use crate::layers::{FeatureShape, Layer, LayerRecord, LayerRegistry, MaxPool2dConfig};
use crate::layers::{LayerPlan, LayerSpec, ParamShape, ParamSource};
use crate::limits::{Limits, checked_product, within};
use crate::loss::Loss;

/// Describes a network layer by layer; [`NetworkBuilder::build`] validates every size and
/// draws the initial weights.
///
/// ```
/// use nn_train::{Activation, Loss, Network};
/// let net = Network::<f64>::builder(2)
///     .dense(16, Activation::Tanh)
///     .dense(1, Activation::Sigmoid)
///     .loss(Loss::BinaryCrossEntropy)
///     .seed(7)
///     .build()?;
/// assert_eq!(net.param_count(), 2 * 16 + 16 + 16 + 1);
/// # Ok::<(), nn_train::TrainError>(())
/// ```
///
/// Layers already built — from given weights, or of a kind of your own — go in with
/// [`NetworkBuilder::push`]; a network for inference alone needs no loss:
///
/// ```
/// use nalgebra::DMatrix;
/// use nn_train::{Activation, Dense, Network};
/// let w = DMatrix::from_row_slice(1, 2, &[1.0, 2.0]);
/// let net = Network::<f64>::builder(2)
///     .push(Dense::from_parameters(w, DMatrix::zeros(1, 1), Activation::Identity)?)
///     .build()?;
/// assert_eq!(net.predict(&DMatrix::from_column_slice(2, 1, &[3.0, 4.0]))?[0], 11.0);
/// assert!(net.evaluate(&DMatrix::zeros(2, 1), &DMatrix::zeros(1, 1)).is_err()); // no loss
/// # Ok::<(), nn_train::TrainError>(())
/// ```
#[derive(Debug, Clone)]
pub struct NetworkBuilder<T: Scalar> {
    input: FeatureShape,
    layers: Vec<Entry<T>>,
    loss: Option<Loss>,
    class_weights: Option<Vec<f64>>,
    l2: f64,
    seed: u64,
    bias_init: Option<Init>,
    limits: Limits,
}

/// One layer of a builder: a configuration to build, or a layer given built.
#[derive(Debug, Clone)]
enum Entry<T: Scalar> {
    Spec(LayerSpec),
    Built(Box<dyn Layer<T>>),
}

/// Reads layer `i`'s parameter of the given shape (from a model file).
pub(crate) type LoadParam<'a, T> = dyn FnMut(usize, &ParamShape) -> Result<DMatrix<T>> + 'a;

/// What [`NetworkBuilder::build`] will make, worked out without allocating: every layer's
/// output shape and parameter tensors, and the total, checked against [`Limits`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPlan {
    /// One plan per layer, in order.
    pub layers: Vec<LayerPlan>,
    /// Trainable scalars in all.
    pub parameters: usize,
}

impl<T: Scalar> NetworkBuilder<T> {
    /// Starts a network whose examples have the given shape.
    pub fn new(input: FeatureShape) -> Self {
        Self {
            input,
            layers: Vec::new(),
            loss: None,
            class_weights: None,
            l2: 0.0,
            seed: 0,
            bias_init: None,
            limits: Limits::default(),
        }
    }

    /// The shape of one input example.
    pub fn input_shape(&self) -> FeatureShape {
        self.input
    }

    /// The number of layers so far.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// `true` if no layer has been added yet.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The loss, if set.
    pub fn loss_fn(&self) -> Option<Loss> {
        self.loss
    }

    /// Appends a dense layer with the recommended initializer for `activation`.
    pub fn dense(self, units: usize, activation: Activation) -> Self {
        self.layer(DenseConfig {
            units,
            activation,
            init: None,
        })
    }

    /// Appends a dense layer with an explicit weight initializer.
    pub fn dense_with_init(self, units: usize, activation: Activation, init: Init) -> Self {
        self.layer(DenseConfig {
            units,
            activation,
            init: Some(init),
        })
    }

    /// Appends inverted dropout with drop probability `rate`.
    pub fn dropout(self, rate: f64) -> Self {
        self.layer(DropoutConfig { rate })
    }

    /// Appends a 2-D convolution with `out_channels` square `kernel × kernel` filters,
    /// stride 1, no padding, and `activation` applied to its output (PyTorch's
    /// `Conv2d(in, out_channels, kernel)` followed by the activation). The input must be an
    /// image.
    pub fn conv2d(self, out_channels: usize, kernel: usize, activation: Activation) -> Self {
        self.conv2d_strided(out_channels, kernel, 1, 0, activation)
    }

    /// Appends a 2-D convolution with square kernel, stride and zero padding
    /// (`padding = kernel / 2` with stride 1 keeps the size for odd kernels). Rectangular
    /// windows and explicit initializers: a [`Conv2dConfig`] through
    /// [`NetworkBuilder::layer`].
    pub fn conv2d_strided(
        self,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        activation: Activation,
    ) -> Self {
        self.layer(Conv2dConfig {
            out_channels,
            kernel: [kernel, kernel],
            stride: [stride, stride],
            padding: [padding, padding],
            activation,
            init: None,
        })
    }

    /// Appends max pooling over `kernel × kernel` windows with stride `kernel`
    /// (non-overlapping, PyTorch's default).
    pub fn max_pool(self, kernel: usize) -> Self {
        self.layer(MaxPool2dConfig {
            kernel: [kernel, kernel],
            stride: [kernel, kernel],
        })
    }

    /// Appends average pooling over `kernel × kernel` windows with stride `kernel`.
    pub fn avg_pool(self, kernel: usize) -> Self {
        self.layer(AvgPool2dConfig {
            kernel: [kernel, kernel],
            stride: [kernel, kernel],
        })
    }

    /// Appends a flatten layer: image examples become feature vectors (required before a
    /// dense layer that follows image layers).
    pub fn flatten(self) -> Self {
        self.layer(FlattenConfig {})
    }

    /// Appends any layer configuration: a [`LayerSpec`] or one of the configurations it
    /// holds ([`DenseConfig`], [`Conv2dConfig`], …).
    pub fn layer(mut self, spec: impl Into<LayerSpec>) -> Self {
        self.layers.push(Entry::Spec(spec.into()));
        self
    }

    /// Appends a layer already built: a built-in layer made from given weights
    /// ([`crate::Dense::from_parameters`], [`crate::Conv2d::from_parameters`]) or a layer
    /// of your own. [`NetworkBuilder::build`] checks that it takes the previous layer's
    /// output and copies it into the network (so one builder builds many networks).
    pub fn push(self, layer: impl Layer<T> + 'static) -> Self {
        self.push_boxed(Box::new(layer))
    }

    /// [`NetworkBuilder::push`] for a layer already boxed.
    pub fn push_boxed(mut self, layer: Box<dyn Layer<T>>) -> Self {
        self.layers.push(Entry::Built(layer));
        self
    }

    /// Appends the layers model files record in `nn.architecture`'s `"layers"` (see
    /// [`LayerRecord`]): built-in configurations, and layers of the kinds `registry`
    /// knows, built by it for the input shape they get here.
    ///
    /// # Errors
    /// [`TrainError::InvalidArchitecture`] naming the layer for a record that does not
    /// parse; [`FormatError::UnknownLayerType`](crate::FormatError::UnknownLayerType) for
    /// a type that is neither built in nor registered; as [`NetworkBuilder::plan`] if a
    /// layer before a registered one does not fit.
    pub fn layers_from_json(
        mut self,
        layers: &[Value],
        registry: &LayerRegistry<T>,
    ) -> Result<Self> {
        // The input shape of the next layer while the layers so far plan; `None` once one
        // does not (the plan reports it, unless a registered layer needs its input first).
        let mut shape = self
            .plan()
            .ok()
            .map(|p| p.layers.last().map_or(self.input, |l| l.output));
        for v in layers {
            let index = self.layers.len();
            match LayerRecord::from_json(v, index)? {
                LayerRecord::Builtin(spec) => {
                    shape = shape
                        .and_then(|s| spec.plan(s, index, &self.limits).ok().map(|p| p.output));
                    self = self.layer(spec);
                }
                LayerRecord::Custom { type_name, config } => {
                    let input = match shape {
                        Some(s) => s,
                        None => {
                            let plan = self.plan()?;
                            plan.layers.last().map_or(self.input, |l| l.output)
                        }
                    };
                    let layer = registry.build(&type_name, &config, input, index)?;
                    shape = Some(layer.output_shape());
                    self = self.push_boxed(layer);
                }
            }
        }
        Ok(self)
    }

    /// Sets the loss (needed to train or evaluate the network, not to run it).
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = Some(loss);
        self
    }

    /// Sets per-class weights for a cross-entropy loss (`None`, the default: unweighted):
    /// each example's loss is scaled by its class's weight and the cost stays the mean
    /// over examples (the formulas, and why it is not PyTorch's `reduction="mean"`, are
    /// in [`Loss::weighted_cost`]'s docs). `[w_0, w_1]` for the binary losses, one per class for
    /// categorical cross-entropy; [`balanced_class_weights`](crate::balanced_class_weights)
    /// makes scikit-learn's `"balanced"` ones. Checked by [`NetworkBuilder::build`]
    /// ([`Loss::check_class_weights`]). Model files and checkpoints record them.
    pub fn class_weights(mut self, weights: impl Into<Option<Vec<f64>>>) -> Self {
        self.class_weights = weights.into();
        self
    }

    /// Sets the L2 penalty `λ` of `J + λ/(2m) Σ‖W‖²` (weights only, not biases). Default 0.
    pub fn l2(mut self, lambda: f64) -> Self {
        self.l2 = lambda;
        self
    }

    /// Sets the seed from which every layer's weights and dropout masks are drawn
    /// (each layer on its own stream). Default 0.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Starts every weighted layer's bias from `init` instead of its weight initializer's
    /// rule: `.bias_init(Init::Zeros)` gives zero biases under [`Init::Normal`],
    /// [`Init::Uniform`] or [`Init::Constant`], which draw biases like their weights (the
    /// fan-based initializers' biases are zeros already). The weights are drawn as without
    /// it. Only the starting point changes: model files store the parameters, not this
    /// choice.
    pub fn bias_init(mut self, init: Init) -> Self {
        self.bias_init = Some(init);
        self
    }

    /// Sets the sizes the network may have ([`Limits::max_parameters`],
    /// [`Limits::max_example_values`]); default [`Limits::default`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Works out every layer's shapes and parameter tensors, with overflow-checked
    /// arithmetic, without allocating them.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] for an empty input; [`TrainError::TooLarge`] if the
    /// input, a layer or the whole network exceeds the [`Limits`] (or `usize`);
    /// otherwise as [`LayerSpec::plan`] for the first layer that does not fit.
    pub fn plan(&self) -> Result<NetworkPlan> {
        let inputs = self
            .input
            .checked_len()
            .ok_or_else(|| TrainError::TooLarge {
                what: "the network's input values per example".into(),
                found: self.input.to_string(),
                limit: format!("usize::MAX ({})", usize::MAX),
                raise: "",
            })?;
        if inputs == 0 {
            return Err(TrainError::InvalidConfig {
                what: "network input size",
                expected: "at least 1",
                found: self.input.to_string(),
            });
        }
        within(
            || "the network's input values per example".into(),
            inputs,
            self.limits.max_example_values,
            "Limits::max_example_values",
        )?;
        let mut layers = Vec::with_capacity(self.layers.len());
        let mut shape = self.input;
        let mut parameters = 0usize;
        for (i, entry) in self.layers.iter().enumerate() {
            let plan = match entry {
                Entry::Spec(spec) => spec.plan(shape, i, &self.limits)?,
                Entry::Built(layer) => plan_built(layer.as_ref(), shape, i, &self.limits)?,
            };
            parameters = parameters.saturating_add(plan.parameters);
            within(
                || format!("the parameters of layers 0..={i}"),
                parameters,
                self.limits.max_parameters,
                "Limits::max_parameters",
            )?;
            shape = plan.output;
            layers.push(plan);
        }
        Ok(NetworkPlan { layers, parameters })
    }

    /// Builds the network, checking that each layer fits the one before and that the loss,
    /// if there is one, fits the output layer. Every size is checked
    /// ([`NetworkBuilder::plan`]) before anything is allocated. Without a loss the network
    /// runs forward passes and predictions; training and evaluating it are errors.
    ///
    /// # Errors
    /// [`TrainError::InvalidArchitecture`] naming the first layer that does not fit (a
    /// network needs at least one layer that computes: flatten alone passes its input
    /// through); [`TrainError::TooLarge`] for sizes beyond the [`Limits`];
    /// [`TrainError::InvalidConfig`] for a bad `λ`.
    pub fn build(&self) -> Result<Network<T>> {
        let plan = self.plan()?;
        self.build_from(&plan, None)
    }

    /// Builds the network `plan` (this builder's [`NetworkBuilder::plan`]) describes:
    /// with `given`, every parameter tensor comes from it (by layer index and shape, e.g.
    /// read from a model file) and nothing is drawn; without, the initializers draw them
    /// (layers given built keep their parameters).
    pub(crate) fn build_from(
        &self,
        plan: &NetworkPlan,
        mut given: Option<&mut LoadParam<'_, T>>,
    ) -> Result<Network<T>> {
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return Err(TrainError::InvalidConfig {
                what: "L2 penalty λ",
                expected: "finite and ≥ 0",
                found: self.l2.to_string(),
            });
        }
        let mut layers: Vec<Box<dyn Layer<T>>> = Vec::with_capacity(self.layers.len());
        let mut shape = self.input;
        for (i, (entry, layer_plan)) in self.layers.iter().zip(&plan.layers).enumerate() {
            let layer = match entry {
                Entry::Spec(spec) => {
                    let source = match given.as_mut() {
                        Some(load) => ParamSource::Given(&mut |p: &ParamShape| load(i, p)),
                        None => ParamSource::Drawn {
                            bias: self.bias_init,
                        },
                    };
                    spec.build_with(layer_plan, shape, (i, self.seed), source)?
                }
                Entry::Built(layer) => {
                    let mut layer = layer.clone();
                    if let Some(load) = given.as_mut() {
                        for (param, shape) in layer.params_mut().iter_mut().zip(&layer_plan.params)
                        {
                            param.set(load(i, shape)?)?;
                        }
                    }
                    layer
                }
            };
            shape = layer.output_shape();
            layers.push(layer);
        }
        if layers.is_empty() {
            return Err(TrainError::InvalidArchitecture {
                layer: 0,
                what: "network".into(),
                problem: "has no layers; add at least one, e.g. .dense(1, Activation::Sigmoid)"
                    .into(),
            });
        }
        if layers.iter().all(|l| l.output().is_none()) {
            return Err(TrainError::InvalidArchitecture {
                layer: 0,
                what: "network".into(),
                problem: "every layer passes its input through unchanged (as flatten does), \
                          so the network computes nothing; add a layer that computes, e.g. \
                          .dense(1, Activation::Sigmoid)"
                    .into(),
            });
        }
        if let (Some(loss), Some(out)) = (self.loss, layers.last()) {
            // A layer that passes its input through has no activation to fuse with a loss.
            loss.check_output(out.activation(), out.output_shape().len())
                .map_err(|problem| TrainError::InvalidArchitecture {
                    layer: layers.len() - 1,
                    what: out.to_string(),
                    problem,
                })?;
        }
        if let Some(weights) = &self.class_weights {
            let (Some(loss), Some(out)) = (self.loss, layers.last()) else {
                return Err(TrainError::InvalidConfig {
                    what: "class weights",
                    expected: "a network with a cross-entropy loss",
                    found: "a network without a loss".into(),
                });
            };
            loss.check_class_weights(weights, out.output_shape().len())?;
        }
        let grads = (1..layers.len()).map(|_| DMatrix::zeros(0, 0)).collect();
        Ok(Network {
            input: self.input,
            layers,
            loss: self.loss,
            class_weights: self.class_weights.clone(),
            l2: self.l2,
            seed: self.seed,
            grads,
            loss_grad: DMatrix::zeros(0, 0),
            threads: 1,
            block_buffers: Default::default(),
        })
    }
}

/// The plan of a layer given built, checked to take `input`: its output shape and
/// parameters as they are; a layer that passes its input through (its output is `None`)
/// must keep the number of values and have no parameters or activation.
fn plan_built<T: Scalar>(
    layer: &dyn Layer<T>,
    input: FeatureShape,
    index: usize,
    limits: &Limits,
) -> Result<LayerPlan> {
    let invalid = |problem: String| TrainError::InvalidArchitecture {
        layer: index,
        what: layer.to_string(),
        problem,
    };
    if layer.input_shape() != input {
        return Err(invalid(format!(
            "takes inputs of {}, but its input is {input}",
            layer.input_shape()
        )));
    }
    let output = layer.output_shape();
    let values = output.checked_len().ok_or_else(|| {
        invalid(format!(
            "its output {output} has more values than usize holds"
        ))
    })?;
    within(
        || format!("layer {index} ({layer}): output values per example"),
        values,
        limits.max_example_values,
        "Limits::max_example_values",
    )?;
    let passes_through = layer.output().is_none();
    if passes_through
        && (values != input.len() || !layer.params().is_empty() || layer.activation().is_some())
    {
        return Err(invalid(
            "passes its input through (its output is None), so it must keep the number of \
             values and have no parameters or activation"
                .into(),
        ));
    }
    let mut parameters = 0usize;
    let mut params = Vec::with_capacity(layer.params().len());
    for p in layer.params() {
        let (rows, cols) = p.value().shape();
        let n = checked_product(
            || format!("layer {index} ({layer}): {}", p.name()),
            &[rows, cols],
        )?;
        parameters = parameters.saturating_add(n);
        params.push(ParamShape {
            name: p.name(),
            rows,
            cols,
            file_shape: p.file_shape(),
        });
    }
    Ok(LayerPlan {
        output,
        params,
        parameters,
    })
}
