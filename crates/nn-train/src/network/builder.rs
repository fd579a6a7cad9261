//! [`NetworkBuilder`]: a network described layer by layer, planned without allocating,
//! then built (weights drawn, or read from a model file).

use std::marker::PhantomData;

use nalgebra::DMatrix;
use nn_init::Init;
use nn_init::nn_activations::Activation;
use nn_init::nn_activations::nn_core::Scalar;

use super::Network;
use crate::error::{Result, TrainError};
use crate::layers::{FeatureShape, Layer};
use crate::layers::{LayerPlan, LayerSpec, ParamShape, ParamSource};
use crate::limits::{Limits, within};
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
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkBuilder<T: Scalar> {
    pub(super) input: FeatureShape,
    pub(super) specs: Vec<LayerSpec>,
    pub(super) loss: Option<Loss>,
    pub(super) l2: f64,
    pub(super) seed: u64,
    pub(super) limits: Limits,
    scalar: PhantomData<fn() -> T>,
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
            specs: Vec::new(),
            loss: None,
            l2: 0.0,
            seed: 0,
            limits: Limits::default(),
            scalar: PhantomData,
        }
    }

    /// The shape of one input example.
    pub fn input_shape(&self) -> FeatureShape {
        self.input
    }

    /// The layer configurations so far.
    pub fn specs(&self) -> &[LayerSpec] {
        &self.specs
    }

    /// The loss, if set.
    pub fn loss_fn(&self) -> Option<Loss> {
        self.loss
    }

    /// Appends a dense layer with the recommended initializer for `activation`.
    pub fn dense(self, units: usize, activation: Activation) -> Self {
        self.layer(LayerSpec::Dense {
            units,
            activation,
            init: None,
        })
    }

    /// Appends a dense layer with an explicit weight initializer.
    pub fn dense_with_init(self, units: usize, activation: Activation, init: Init) -> Self {
        self.layer(LayerSpec::Dense {
            units,
            activation,
            init: Some(init),
        })
    }

    /// Appends inverted dropout with drop probability `rate`.
    pub fn dropout(self, rate: f64) -> Self {
        self.layer(LayerSpec::Dropout { rate })
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
    /// windows and explicit initializers: [`LayerSpec::Conv2d`] through
    /// [`NetworkBuilder::layer`].
    pub fn conv2d_strided(
        self,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        activation: Activation,
    ) -> Self {
        self.layer(LayerSpec::Conv2d {
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
        self.layer(LayerSpec::MaxPool2d {
            kernel: [kernel, kernel],
            stride: [kernel, kernel],
        })
    }

    /// Appends average pooling over `kernel × kernel` windows with stride `kernel`.
    pub fn avg_pool(self, kernel: usize) -> Self {
        self.layer(LayerSpec::AvgPool2d {
            kernel: [kernel, kernel],
            stride: [kernel, kernel],
        })
    }

    /// Appends a flatten layer: image examples become feature vectors (required before a
    /// dense layer that follows image layers).
    pub fn flatten(self) -> Self {
        self.layer(LayerSpec::Flatten)
    }

    /// Appends any layer configuration.
    pub fn layer(mut self, spec: LayerSpec) -> Self {
        self.specs.push(spec);
        self
    }

    /// Sets the loss (required).
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = Some(loss);
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
        let mut layers = Vec::with_capacity(self.specs.len());
        let mut shape = self.input;
        let mut parameters = 0usize;
        for (i, spec) in self.specs.iter().enumerate() {
            let plan = spec.plan(shape, i, &self.limits)?;
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

    /// Builds the network, checking that each layer fits the one before and that the loss
    /// fits the output layer. Every size is checked ([`NetworkBuilder::plan`]) before
    /// anything is allocated.
    ///
    /// # Errors
    /// [`TrainError::InvalidArchitecture`] naming the first layer that does not fit (or
    /// layer = number of layers for a missing loss); [`TrainError::TooLarge`] for sizes
    /// beyond the [`Limits`]; [`TrainError::InvalidConfig`] for a bad `λ`.
    pub fn build(&self) -> Result<Network<T>> {
        let plan = self.plan()?;
        self.build_from(&plan, None)
    }

    /// Builds the network `plan` (this builder's [`NetworkBuilder::plan`]) describes:
    /// with `given`, every parameter tensor comes from it (by layer index and shape, e.g.
    /// read from a model file) and nothing is drawn; without, the initializers draw them.
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
        let mut layers: Vec<Box<dyn Layer<T>>> = Vec::with_capacity(self.specs.len());
        let mut shape = self.input;
        for (i, (spec, layer_plan)) in self.specs.iter().zip(&plan.layers).enumerate() {
            let source = match given.as_mut() {
                Some(load) => ParamSource::Given(&mut |p: &ParamShape| load(i, p)),
                None => ParamSource::Drawn,
            };
            let layer = spec.build_with(layer_plan, shape, i, self.seed, source)?;
            shape = layer.output_shape();
            layers.push(layer);
        }
        let Some(last) = layers.last() else {
            return Err(TrainError::InvalidArchitecture {
                layer: 0,
                what: "network".into(),
                problem: "has no layers; add at least one, e.g. .dense(1, Activation::Sigmoid)"
                    .into(),
            });
        };
        let Some(loss) = self.loss else {
            return Err(TrainError::InvalidArchitecture {
                layer: layers.len(),
                what: "loss".into(),
                problem: "no loss given; call .loss(Loss::…)".into(),
            });
        };
        loss.check_output(last.activation(), last.output_shape().len())
            .map_err(|problem| TrainError::InvalidArchitecture {
                layer: layers.len() - 1,
                what: last.to_string(),
                problem,
            })?;
        let grads = (1..layers.len()).map(|_| DMatrix::zeros(0, 0)).collect();
        Ok(Network {
            builder: self.clone(),
            layers,
            loss,
            grads,
            loss_grad: DMatrix::zeros(0, 0),
            threads: 1,
        })
    }
}
