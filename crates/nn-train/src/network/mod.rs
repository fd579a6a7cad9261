//! The sequential network: a validated stack of layers, a loss, and the forward and
//! backward passes over a batch.

mod builder;
mod gradcheck;
mod lanes;
mod shares;

use lanes::LaneBuffers;

pub use builder::{NetworkBuilder, NetworkPlan};
pub(crate) use shares::{
    MIN_HALVES_WORK, MIN_PARALLEL_PREDICT_WORK, MIN_PREDICT_COLUMNS, share, share_count,
};

use std::fmt;
use std::sync::Mutex;

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::{Scalar, all_finite, join, with_kernel_threads};
#[cfg(feature = "parallel")]
use rayon::iter::{IntoParallelIterator, ParallelIterator};

use crate::check;
use crate::error::{Result, TrainError};
use crate::layers::{FeatureShape, Layer, Mode, Param, ParamMut, Upstream};
use crate::layers::{LayerRecord, LayerSpec};
use crate::loss::{GradientOf, Loss};
use crate::metrics::accuracy;

/// A sequential network: layers applied in order, trained against a loss (a network for
/// inference alone has none).
///
/// `forward` and `backward` reuse buffers owned by the layers (allocation happens only
/// when a batch is larger than any before); `predict` leaves the network untouched and
/// can be called from several threads at once.
#[derive(Debug, Clone)]
pub struct Network<T: Scalar> {
    input: FeatureShape,
    layers: Vec<Box<dyn Layer<T>>>,
    loss: Option<Loss>,
    /// Per-class weights of a cross-entropy loss, checked against it when built.
    class_weights: Option<Vec<f64>>,
    l2: f64,
    seed: u64,
    /// `grads[i] = ∂L/∂(input of layer i + 1)`, written by that layer's backward; a layer
    /// that passes its input through writes none (the layer under it reads the gradient
    /// above it), so its buffer stays empty.
    grads: Vec<DMatrix<T>>,
    /// The loss's gradient for the last layer (`dA`, or `dZ` when fused).
    loss_grad: DMatrix<T>,
    /// Threads [`Network::predict`] may split a large batch across.
    threads: usize,
    /// The buffers [`Network::predict`] runs column blocks through, kept between calls.
    block_buffers: BlockBuffers<T>,
}

/// [`PredictBuffers`] that `predict` (which takes `&self` and may run on several threads
/// at once) keeps between calls: a call that finds them in use by another takes fresh
/// ones. Without them a wide batch paid for its layers' outputs afresh on every call (a
/// digits-sized CNN at 1024 columns: 2 MB, ~540 page faults, 14% of the call). A clone
/// starts empty. The second set is for the second half of a batch that a small dense
/// network predicts in halves ([`Network::predict_halves`]).
#[derive(Debug, Default)]
struct BlockBuffers<T: Scalar>([Mutex<PredictBuffers<T>>; 2]);

impl<T: Scalar> BlockBuffers<T> {
    /// Set `k`, taken out for one call; empty ones if another call has it.
    fn take(&self, k: usize) -> PredictBuffers<T> {
        self.0[k]
            .try_lock()
            .map(|mut kept| std::mem::take(&mut *kept))
            .unwrap_or_default()
    }

    /// Set `k` back after a call, unless another call holds the slot.
    fn give_back(&self, k: usize, buffers: PredictBuffers<T>) {
        if let Ok(mut kept) = self.0[k].try_lock() {
            *kept = buffers;
        }
    }
}

impl<T: Scalar> Clone for BlockBuffers<T> {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// Cost and accuracy of a network on a data set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// `J` including the L2 term.
    pub cost: f64,
    /// Fraction of correct predictions; `None` for regression losses.
    pub accuracy: Option<f64>,
}

impl<T: Scalar> Network<T> {
    /// Starts a builder for examples that are feature vectors of length `inputs`.
    pub fn builder(inputs: usize) -> NetworkBuilder<T> {
        NetworkBuilder::new(FeatureShape::Flat(inputs))
    }

    /// Starts a builder for image examples of `channels × height × width` values, each
    /// example one column, channel-major (pixel `(c, y, x)` at row `c·H·W + y·W + x`).
    ///
    /// ```
    /// use nn_train::{Activation, Loss, Network};
    /// // input(1×8×8) → conv(8, 3×3) → relu → maxpool(2) → flatten → dense(10)
    /// let net = Network::<f32>::image_builder(1, 8, 8)
    ///     .conv2d(8, 3, Activation::Relu)   // 8×6×6
    ///     .max_pool(2)                      // 8×3×3
    ///     .flatten()                        // 72
    ///     .dense(10, Activation::Softmax)
    ///     .loss(Loss::CategoricalCrossEntropy)
    ///     .seed(1)
    ///     .build()?;
    /// assert_eq!(net.param_count(), (8 * 9 + 8) + (72 * 10 + 10));
    ///
    /// // A kernel larger than its input is a build-time error naming the layer.
    /// let err = Network::<f32>::image_builder(1, 8, 8)
    ///     .conv2d(8, 3, Activation::Relu)
    ///     .conv2d(8, 7, Activation::Relu)
    ///     .flatten()
    ///     .dense(10, Activation::Softmax)
    ///     .loss(Loss::CategoricalCrossEntropy)
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().starts_with("layer 1 (Conv2d(8, 7×7, relu))"), "{err}");
    /// # Ok::<(), nn_train::TrainError>(())
    /// ```
    pub fn image_builder(channels: usize, height: usize, width: usize) -> NetworkBuilder<T> {
        NetworkBuilder::new(FeatureShape::Image {
            channels,
            height,
            width,
        })
    }

    /// How model files record each layer, in order ([`Layer::record`]).
    ///
    /// # Errors
    /// [`TrainError::InvalidArchitecture`] naming the first layer that cannot be recorded:
    /// it records nothing (a layer of your own without [`Layer::record`]), or it records
    /// itself under a built-in type's name.
    pub fn records(&self) -> Result<Vec<LayerRecord>> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, layer)| {
                let invalid = |problem: String| TrainError::InvalidArchitecture {
                    layer: i,
                    what: layer.to_string(),
                    problem,
                };
                match layer.record() {
                    None => Err(invalid(
                        "cannot be saved: it does not say how model files record it; \
                         implement Layer::record (a type name and its configuration, \
                         LayerRecord::custom) and register the type when loading"
                            .into(),
                    )),
                    Some(LayerRecord::Custom { type_name, .. })
                        if LayerSpec::TYPES.contains(&type_name.as_str()) =>
                    {
                        Err(invalid(format!(
                            "records itself as `{type_name}`, a built-in layer's type; give \
                             its kind a name of its own"
                        )))
                    }
                    Some(record) => Ok(record),
                }
            })
            .collect()
    }

    /// The shape of one input example.
    pub fn input_shape(&self) -> FeatureShape {
        self.input
    }

    /// Number of output units.
    pub fn output_size(&self) -> usize {
        self.layers.last().map_or(0, |l| l.output_shape().len())
    }

    /// The loss; `None` for a network built for inference alone.
    pub fn loss(&self) -> Option<Loss> {
        self.loss
    }

    /// The per-class weights of the loss, if set ([`NetworkBuilder::class_weights`]).
    pub fn class_weights(&self) -> Option<&[f64]> {
        self.class_weights.as_deref()
    }

    /// The loss, or the error that training or evaluating a network without one is.
    pub(crate) fn require_loss(&self) -> Result<Loss> {
        self.loss.ok_or_else(|| TrainError::InvalidArchitecture {
            layer: self.layers.len(),
            what: "loss".into(),
            problem: "this network was built without a loss, so it can run forward passes \
                      and predictions but not be trained or evaluated; build it with \
                      .loss(Loss::…)"
                .into(),
        })
    }

    /// The L2 penalty `λ`.
    pub fn l2(&self) -> f64 {
        self.l2
    }

    /// The seed the network was built with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer<T>>] {
        &self.layers
    }

    /// The layers, mutably (e.g. to set weights by hand).
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer<T>>] {
        &mut self.layers
    }

    /// Total number of trainable scalars.
    pub fn param_count(&self) -> usize {
        self.layers.iter().map(|l| param_count(l.as_ref())).sum()
    }

    /// How many shares a training step on a batch of `columns` columns is split into: as
    /// many as keep each share at least 512 columns wide and at least 2²³ in
    /// `parameters × columns`, at most 16, at least 1 (then the step is the plain one on
    /// this network). It depends on the batch and the network only, never on the thread
    /// count: [`crate::FitConfig::threads`] threads run the shares (each several if there
    /// are fewer threads than shares), and the gradients are summed in share order as
    /// `Σ_k (m_k/m) g_k`, so training gives the same bits on any number of threads.
    ///
    /// ```
    /// use nn_train::{Activation, Loss, Network};
    /// let net = Network::<f32>::builder(784)
    ///     .dense(512, Activation::Relu)
    ///     .dense(10, Activation::Softmax)
    ///     .loss(Loss::CategoricalCrossEntropy)
    ///     .build()?;
    /// assert_eq!(net.training_shares(512), 1); // narrower than two shares of 512
    /// assert_eq!(net.training_shares(1024), 2);
    /// assert_eq!(net.training_shares(60_000), 16);
    /// # Ok::<(), nn_train::TrainError>(())
    /// ```
    pub fn training_shares(&self, columns: usize) -> usize {
        share_count(self.param_count(), columns)
    }

    /// Every parameter tensor as `(name, tensor)`, named `layers.{i}.{weight|bias}` where
    /// `i` is the layer's index (the names of model files).
    pub fn named_params(&self) -> Vec<(String, &DMatrix<T>)> {
        self.params().map(|(name, p)| (name, p.value())).collect()
    }

    /// Every parameter as `(name, parameter)`, in order, named as in
    /// [`Network::named_params`].
    pub fn params(&self) -> impl Iterator<Item = (String, &Param<T>)> + '_ {
        self.layers.iter().enumerate().flat_map(|(i, l)| {
            l.params()
                .iter()
                .map(move |p| (format!("layers.{i}.{}", p.name()), p))
        })
    }

    /// Every parameter, in order, without names (nothing is allocated).
    pub(crate) fn tensors(&self) -> impl Iterator<Item = &Param<T>> + '_ {
        self.layers.iter().flat_map(|l| l.params())
    }

    /// Every gradient `∂J/∂θ` of the last [`Network::compute_gradients`] (or training
    /// step), named as in [`Network::named_params`], in order.
    ///
    /// ```
    /// use nalgebra::DMatrix;
    /// use nn_train::{Activation, Loss, Mode, Network};
    /// let mut net = Network::<f64>::builder(2)
    ///     .dense(1, Activation::Sigmoid)
    ///     .loss(Loss::BinaryCrossEntropy)
    ///     .build()?;
    /// let (x, y) = (DMatrix::from_element(2, 3, 0.5), DMatrix::from_element(1, 3, 1.0));
    /// net.compute_gradients(&x, &y, Mode::Train)?;
    /// let names: Vec<String> = net.gradients().map(|(name, _)| name).collect();
    /// assert_eq!(names, ["layers.0.weight", "layers.0.bias"]);
    /// assert_eq!(net.gradient("layers.0.bias").map(|g| g.shape()), Some((1, 1)));
    /// # Ok::<(), nn_train::TrainError>(())
    /// ```
    pub fn gradients(&self) -> impl Iterator<Item = (String, &DMatrix<T>)> + '_ {
        self.params().map(|(name, p)| (name, p.grad()))
    }

    /// The parameter named `name` (`layers.{i}.{name}`), if the network has it.
    pub fn param(&self, name: &str) -> Option<&Param<T>> {
        let (i, name) = split_name(name)?;
        self.layers.get(i)?.param(name)
    }

    /// The gradient of the parameter named `name` (`layers.{i}.{name}`) from the last
    /// backward pass, if the network has it.
    pub fn gradient(&self, name: &str) -> Option<&DMatrix<T>> {
        self.param(name).map(Param::grad)
    }

    /// Replaces the parameter named `name` (`layers.{i}.{name}`, e.g. `layers.0.weight`).
    ///
    /// # Errors
    /// [`TrainError::BadInput`] if the network has no such parameter;
    /// [`TrainError::BadShape`] if `value` has another shape; [`TrainError::NonFiniteData`]
    /// for a NaN or infinity.
    pub fn set_param(&mut self, name: &str, value: DMatrix<T>) -> Result<()> {
        let unknown = || TrainError::BadInput {
            what: "parameter name",
            expected: "layers.{i}.{name} of a parameter of this network, e.g. layers.0.weight"
                .into(),
            found: format!("{name:?}"),
        };
        let (i, short) = split_name(name).ok_or_else(unknown)?;
        match self.layers.get_mut(i) {
            Some(layer) if layer.param(short).is_some() => layer.set_param(short, value),
            _ => Err(unknown()),
        }
    }

    /// Visits every parameter with its gradient, layer by layer, in a fixed order.
    pub fn for_each_param(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        for layer in &mut self.layers {
            for p in layer.params_mut() {
                f(p.view_mut());
            }
        }
    }

    /// A copy of every parameter tensor, in [`Network::for_each_param`] order.
    pub fn snapshot(&self) -> Vec<DMatrix<T>> {
        self.tensors().map(|p| p.value().clone()).collect()
    }

    /// Copies every parameter tensor into `dst`, reusing its buffers when it already holds
    /// a snapshot of this network (then nothing is allocated).
    pub fn snapshot_into(&self, dst: &mut Vec<DMatrix<T>>) {
        let mut i = 0;
        for layer in &self.layers {
            for p in layer.params() {
                let p = p.value();
                match dst.get_mut(i) {
                    Some(d) if d.shape() == p.shape() => {
                        d.as_mut_slice().copy_from_slice(p.as_slice());
                    }
                    Some(d) => *d = p.clone(),
                    None => dst.push(p.clone()),
                }
                i += 1;
            }
        }
        dst.truncate(i);
    }

    /// Restores parameters from a [`Network::snapshot`] of this network, copying into the
    /// existing buffers (no allocation).
    ///
    /// # Errors
    /// [`TrainError::BadInput`] if the snapshot is not of this architecture (nothing is
    /// changed then).
    pub fn restore(&mut self, snapshot: &[DMatrix<T>]) -> Result<()> {
        let (mut i, mut fits) = (0, true);
        for layer in &self.layers {
            for p in layer.params() {
                fits &= snapshot
                    .get(i)
                    .is_some_and(|s| s.shape() == p.value().shape());
                i += 1;
            }
        }
        if !fits || i != snapshot.len() {
            return Err(TrainError::BadInput {
                what: "parameter snapshot",
                expected: format!("{i} tensors shaped like this network's parameters"),
                found: format!(
                    "{} tensors of shapes {:?}",
                    snapshot.len(),
                    snapshot.iter().map(|s| s.shape()).collect::<Vec<_>>()
                ),
            });
        }
        let mut i = 0;
        self.for_each_param(&mut |p| {
            p.value
                .as_mut_slice()
                .copy_from_slice(snapshot[i].as_slice());
            i += 1;
        });
        Ok(())
    }

    /// Forward pass over a batch `X: (inputs, m)`, caching what backward needs; returns
    /// the output `A: (outputs, m)`.
    ///
    /// # Errors
    /// [`TrainError::BadShape`], [`TrainError::EmptyData`] or [`TrainError::NonFiniteData`]
    /// for unusable inputs.
    pub fn forward(&mut self, x: &DMatrix<T>, mode: Mode) -> Result<&DMatrix<T>> {
        check::inputs_only(x, self.input.len())?;
        self.forward_unchecked(x, mode)
    }

    /// Forward through every layer that computes (a layer that passes its input through
    /// is skipped: the next one reads the same matrix).
    fn forward_unchecked(&mut self, x: &DMatrix<T>, mode: Mode) -> Result<&DMatrix<T>> {
        for i in 0..self.layers.len() {
            let (done, rest) = self.layers.split_at_mut(i);
            if rest[0].output().is_none() {
                continue;
            }
            rest[0].forward(output_of(done, x), mode)?;
        }
        self.output()
    }

    /// The output `A` of the last [`Network::forward`] (or training step).
    ///
    /// # Errors
    /// Never for a built network (it has a layer that computes):
    /// [`TrainError::Internal`] otherwise.
    pub fn output(&self) -> Result<&DMatrix<T>> {
        self.layers
            .iter()
            .rev()
            .find_map(|l| l.output())
            .ok_or_else(no_layer_computes)
    }

    /// The cost `J = (1/m) Σ L + λ/(2m) Σ‖W‖²` of the last forward pass against `Y`.
    fn cost_of_last_forward(&self, y: &DMatrix<T>) -> Result<f64> {
        Ok(self.data_cost(self.require_loss()?, y)? + self.l2_term(y.ncols()))
    }

    /// `(1/m) Σ L` of the last forward pass against `Y`: from the output layer's
    /// pre-activation when the loss is fused with its activation.
    fn data_cost(&self, loss: Loss, y: &DMatrix<T>) -> Result<f64> {
        let a = self.output()?;
        let z = self.layers.last().and_then(|l| l.pre_activation());
        Ok(loss.weighted_cost(z.unwrap_or(a), a, y, self.class_weights()))
    }

    /// The L2 term `λ/(2m) Σ‖W‖²` over every decayed tensor (weights; biases excluded).
    fn l2_term(&self, m: usize) -> f64 {
        if self.l2 == 0.0 {
            return 0.0;
        }
        let mut squares = 0.0;
        for p in self.tensors() {
            if p.decays() {
                squares += p
                    .value()
                    .iter()
                    .map(|v| v.to_f64() * v.to_f64())
                    .sum::<f64>();
            }
        }
        self.l2 / (2.0 * m as f64) * squares
    }

    /// One forward and backward pass: computes `J` on the batch and stores `∂J/∂θ` for every
    /// parameter `θ` in its layer (read them with [`Network::gradients`]). Returns `J`.
    ///
    /// # Errors
    /// Bad shapes, empty or non-finite data, targets that do not suit the loss
    /// ([`TrainError::BadTarget`]), a network without a loss, or a layer that
    /// backpropagation cannot train (a step activation:
    /// [`TrainError::InvalidArchitecture`]).
    pub fn compute_gradients(&mut self, x: &DMatrix<T>, y: &DMatrix<T>, mode: Mode) -> Result<f64> {
        let loss = self.require_loss()?;
        check::batch(x, y, self.input.len(), self.output_size())?;
        loss.check_targets(y)?;
        self.check_trainable()?;
        self.gradients_unchecked(x, y, mode)
    }

    pub(crate) fn check_trainable(&self) -> Result<()> {
        match self.layers.iter().position(|l| !l.is_differentiable()) {
            None => Ok(()),
            Some(i) => Err(TrainError::InvalidArchitecture {
                layer: i,
                what: self.layers[i].to_string(),
                problem: "the step function's derivative is 0 everywhere, so backpropagation \
                          cannot train it; use the perceptron rule (nn_train::Perceptron)"
                    .into(),
            }),
        }
    }

    /// [`Network::compute_gradients`] without validation, for the training loop, which
    /// validates the whole data set once.
    pub(crate) fn gradients_unchecked(
        &mut self,
        x: &DMatrix<T>,
        y: &DMatrix<T>,
        mode: Mode,
    ) -> Result<f64> {
        let cost = self.backprop(x, y, mode)?;
        Ok(cost + self.add_l2_gradient(x.ncols()))
    }

    /// Forward, the data term of the cost `(1/m) Σ L`, and backward, leaving `∂/∂θ` of
    /// that term in every layer (no L2: data-parallel shards add it once, after summing).
    pub(crate) fn backprop(&mut self, x: &DMatrix<T>, y: &DMatrix<T>, mode: Mode) -> Result<f64> {
        let loss = self.require_loss()?;
        self.forward_unchecked(x, mode)?;
        let cost = self.data_cost(loss, y)?;
        let kind = loss.weighted_gradient_into(
            output_of(&self.layers, x),
            y,
            self.class_weights.as_deref(),
            &mut self.loss_grad,
        );
        let n = self.layers.len();
        // Where ∂L/∂(output of the current layer) is: `grads[j]`, or the loss's gradient.
        // A layer that passes its input through has the same gradient above and below, so
        // it is skipped and the layer under it reads the same buffer.
        let mut above: Option<usize> = None;
        for i in (0..n).rev() {
            let (before, rest) = self.layers.split_at_mut(i);
            if rest[0].output().is_none() {
                continue;
            }
            let (grads_below, grads_here) = self.grads.split_at_mut(i);
            let upstream = match above {
                Some(j) => Upstream::Output(&grads_here[j - i]),
                None => match kind {
                    GradientOf::PreActivation if i + 1 == n => {
                        Upstream::PreActivation(&self.loss_grad)
                    }
                    _ => Upstream::Output(&self.loss_grad),
                },
            };
            rest[0].backward(output_of(before, x), upstream, grads_below.last_mut())?;
            above = i.checked_sub(1);
        }
        Ok(cost)
    }

    /// Adds the L2 term's gradient `(λ/m) W` to every weight gradient and returns the term
    /// `λ/(2m) Σ‖W‖²` itself, for a batch of `m` examples.
    pub(crate) fn add_l2_gradient(&mut self, m: usize) -> f64 {
        if self.l2 == 0.0 {
            return 0.0;
        }
        let scale = T::cast(self.l2 / m as f64);
        self.for_each_param(&mut |p| {
            if p.decays {
                p.grad.zip_apply(&*p.value, |g, w| *g += scale * w); // dW += (λ/m) W
            }
        });
        self.l2_term(m)
    }

    /// Predictions for `X: (inputs, m)` in evaluation mode (dropout off), as a new
    /// `(outputs, m)` matrix. Leaves the network untouched.
    ///
    /// With [`Network::threads`] ≥ 2, a network of dense layers runs on the calling thread
    /// and nn-core's helper thread, which takes the second half of each large product
    /// (`nn_core::with_kernel_threads`): the same bits on any thread count. (Measured on
    /// 784-128-10 at 1024 columns on two threads: 1.04M samples/s, against 0.90M for
    /// column shares, which copy their inputs.)
    ///
    /// A dense network whose layers all have at most 64 units (32 in `f64`), on a CPU with
    /// AVX2 or AVX-512, and products too small for nn-core to cut is instead, from 2²⁰
    /// multiply-adds, cut into two halves, each run through the whole network, the second
    /// on the helper thread. nn-core computes every column of such layers alike in any
    /// batch ([`Layer::infers_columnwise`]), so these are the same bits too. (W2's
    /// 64-32-10 at 1024 columns on a Zen 3 EPYC: 10.5M samples/s on one thread, 18M on
    /// two.)
    ///
    /// A small network with a convolution (at most 2¹⁶ multiply-adds and 2¹¹ values per
    /// layer output per example, as the digits CNN C1) computes one example per vector lane,
    /// sixteen at a time ([`Layer::infer_lanes`], `src/layers/lanes.rs`); with two threads a
    /// large batch is cut in two halves of such groups, the second on nn-core's helper
    /// thread. Every example's result is then the same bits on any thread count and in any
    /// batch.
    ///
    /// A larger network with a convolution, whose products are one chunk of examples at a time
    /// ([`Layer::batch_wide_products`]), instead splits a batch large enough to gain (at
    /// least 2²² multiply-adds, [`Layer::work_per_example`] × columns) by columns across up
    /// to [`Network::threads`] threads, in shares of at least 64 columns, each running the
    /// whole network on its share. That split depends on the thread count: every column's
    /// result is the one-thread result to rounding (a column's rounding depends on the
    /// width of the product it is in), bit-identical only for a given count; nothing sums
    /// across shares, so the differences stay at rounding level.
    ///
    /// A NaN or infinity anywhere in `X` is an error. A first dense layer with fewer units
    /// than inputs checks it on its `W X + b` instead of scanning `X`
    /// ([`Layer::infer_into_vouching`]); the error names the entry of `X` either way.
    ///
    /// # Errors
    /// [`TrainError::BadShape`], [`TrainError::EmptyData`] or [`TrainError::NonFiniteData`].
    pub fn predict(&self, x: &DMatrix<T>) -> Result<DMatrix<T>> {
        check::inputs_shape(x, self.input.len())?;
        let m = x.ncols();
        if self.threads >= 2 && self.predicts_in_halves(m) {
            return with_kernel_threads(self.threads, || self.predict_halves(x));
        }
        let parts = self.threads.min(m / MIN_PREDICT_COLUMNS);
        let work: usize = self.layers.iter().map(|l| l.work_per_example()).sum();
        let wide = self.layers.iter().all(|l| l.batch_wide_products());
        let lanes = self.predicts_in_lanes();
        if wide || lanes || parts < 2 || work.saturating_mul(m) < MIN_PARALLEL_PREDICT_WORK {
            // Not split by columns: the threads go into the large products instead.
            return with_kernel_threads(self.threads, || self.predict_unchecked(x, Some(x)));
        }
        // Each share runs on a copy of its columns: the whole of X is checked here.
        check::finite("inputs X", x)?;
        self.predict_split(x, parts)
    }

    /// [`Network::predict`] through caller-owned `buffers`: the returned outputs live in
    /// them. It runs on the calling thread, with [`Network::threads`] ≥ 2 also on nn-core's
    /// helper thread, which takes the second half of each large product (a layer of
    /// 784→512 on one column, say: see `nn_core::with_kernel_threads`; the bits do not
    /// depend on it). After the first call with a batch of a given width
    /// (one column, say, for one request at a time), nothing is allocated: a convolution
    /// keeps its unfolding buffers (one chunk of examples) per thread.
    ///
    /// ```
    /// use nn_train::{Activation, DMatrix, Network, PredictBuffers};
    /// let net = Network::<f32>::builder(3).dense(4, Activation::Relu).dense(2, Activation::Softmax).build()?;
    /// let mut buffers = PredictBuffers::default();
    /// let x = DMatrix::from_column_slice(3, 1, &[0.5, -1.0, 2.0]);
    /// let p = net.predict_into(&x, &mut buffers)?;
    /// assert_eq!(p, &net.predict(&x)?);
    /// # Ok::<(), nn_train::TrainError>(())
    /// ```
    ///
    /// # Errors
    /// As [`Network::predict`].
    pub fn predict_into<'b>(
        &self,
        x: &DMatrix<T>,
        buffers: &'b mut PredictBuffers<T>,
    ) -> Result<&'b DMatrix<T>> {
        check::inputs_shape(x, self.input.len())?;
        if self.predicts_in_lanes() {
            let PredictBuffers {
                lanes, lanes_out, ..
            } = buffers;
            let done = with_kernel_threads(self.threads, || {
                self.predict_lanes(x, Some(x), lanes, lanes_out)
            })?;
            if done {
                return Ok(&buffers.lanes_out);
            }
        }
        with_kernel_threads(self.threads, || {
            self.infer_into_buffers(x, buffers, Some(x))
        })
    }

    /// [`Network::predict_into`] of inputs of the right shape. With `unchecked` (the
    /// whole of which `x` is a block) the inputs have not yet been checked for NaN and
    /// infinity: the first layer that computes vouches for its block
    /// ([`Layer::infer_into_vouching`]), or the whole is scanned.
    fn infer_into_buffers<'b>(
        &self,
        x: &DMatrix<T>,
        buffers: &'b mut PredictBuffers<T>,
        unchecked: Option<&DMatrix<T>>,
    ) -> Result<&'b DMatrix<T>> {
        let computing = self.layers.iter().filter(|l| l.output().is_some());
        let n = computing.clone().count();
        if buffers.outputs.len() != n {
            buffers.outputs.resize_with(n, || DMatrix::zeros(0, 0));
        }
        for (k, layer) in computing.enumerate() {
            let (before, rest) = buffers.outputs.split_at_mut(k);
            match (before.last(), unchecked) {
                (None, Some(whole)) => infer_first(layer.as_ref(), x, &mut rest[0], whole)?,
                (input, _) => layer.infer_into(input.unwrap_or(x), &mut rest[0])?,
            }
        }
        buffers.outputs.last().ok_or_else(no_layer_computes)
    }

    /// Whether [`Network::predict`] cuts a batch of `m` columns into two halves, each run
    /// through the whole network, the second on nn-core's helper thread: when every layer
    /// computes its output column by column whatever the batch width
    /// ([`Layer::infers_columnwise`]: dense layers nn-core's fused kernel takes), so that
    /// the halves give the one-thread bits, the batch is large enough to pay for the
    /// hand-off ([`MIN_HALVES_WORK`]), and no layer cuts its own product for two threads
    /// ([`Layer::infers_on_two_threads`]). Small layers' products are too small for
    /// nn-core to cut: the activations would cross between the cores at every layer.
    fn predicts_in_halves(&self, m: usize) -> bool {
        let work: usize = self.layers.iter().map(|l| l.work_per_example()).sum();
        m / 2 >= MIN_PREDICT_COLUMNS
            && work.saturating_mul(m) >= MIN_HALVES_WORK
            && !self.predicts_in_lanes()
            && self
                .layers
                .iter()
                .all(|l| l.output().is_none() || l.infers_columnwise(m / 2))
            && !self.layers.iter().any(|l| l.infers_on_two_threads(m))
    }

    /// [`Network::predict`] in two halves of the columns (see
    /// [`Network::predicts_in_halves`]), each on a copy of its columns and its own buffers.
    fn predict_halves(&self, x: &DMatrix<T>) -> Result<DMatrix<T>> {
        let (rows, m) = x.shape();
        let at = m / 2;
        let (x0, x1) = x.as_slice().split_at(at * rows);
        let half = |k: usize, columns: &[T]| {
            let x = DMatrix::from_column_slice(rows, columns.len() / rows, columns);
            let mut buffers = self.block_buffers.take(k);
            let y = self.predict_blocks(&x, Some(&x), &mut buffers);
            self.block_buffers.give_back(k, buffers);
            y
        };
        let (mut y0, mut y1) = (Ok(DMatrix::zeros(0, 0)), Ok(DMatrix::zeros(0, 0)));
        join(|| y0 = half(0, x0), || y1 = half(1, x1));
        if y0.is_err() || y1.is_err() {
            // A half names a NaN by its column in the half: name it in the whole.
            check::finite("inputs X", x)?;
        }
        let (y0, y1) = (y0?, y1?);
        let outputs = y0.nrows();
        let mut out = DMatrix::zeros(outputs, m);
        let (o0, o1) = out.as_mut_slice().split_at_mut(at * outputs);
        o0.copy_from_slice(y0.as_slice());
        o1.copy_from_slice(y1.as_slice());
        Ok(out)
    }

    /// [`Network::predict`] of validated inputs in `parts` column shares on rayon's pool.
    #[cfg(feature = "parallel")]
    fn predict_split(&self, x: &DMatrix<T>, parts: usize) -> Result<DMatrix<T>> {
        let m = x.ncols();
        let outputs: Vec<Result<DMatrix<T>>> = (0..parts)
            .into_par_iter()
            .map(|k| {
                let cols = share(m, parts, k);
                let rows = x.nrows();
                // A copy of contiguous columns (a `memcpy`; `into_owned` goes entry by entry).
                let columns = &x.as_slice()[cols.start * rows..cols.end * rows];
                self.predict_unchecked(&DMatrix::from_column_slice(rows, cols.len(), columns), None)
            })
            .collect();
        let mut out = DMatrix::zeros(self.output_size(), m);
        for (k, part) in outputs.into_iter().enumerate() {
            let cols = share(m, parts, k);
            out.columns_mut(cols.start, cols.len()).copy_from(&part?);
        }
        Ok(out)
    }

    /// Without the `parallel` feature every prediction runs on the calling thread.
    #[cfg(not(feature = "parallel"))]
    fn predict_split(&self, x: &DMatrix<T>, _parts: usize) -> Result<DMatrix<T>> {
        self.predict_unchecked(x, None)
    }

    /// [`Network::predict`] of inputs of the right shape (already checked for NaN and
    /// infinity unless `unchecked` is given: see [`Network::infer_into_buffers`]), on the
    /// calling thread. A batch whose
    /// widest layer output would exceed [`PREDICT_BLOCK_VALUES`] values goes through in
    /// blocks of columns that reuse one set of buffers, so that a convolution's outputs at
    /// batch 1024 (LeNet-5's first layer: 19 MB in `f32`) are neither allocated afresh per
    /// call nor pushed out of the cache between layers.
    fn predict_unchecked(
        &self,
        x: &DMatrix<T>,
        unchecked: Option<&DMatrix<T>>,
    ) -> Result<DMatrix<T>> {
        // The network's own buffers: the layers' outputs are not allocated (and zeroed)
        // afresh on every call.
        let mut buffers = self.block_buffers.take(0);
        let out = self.predict_blocks(x, unchecked, &mut buffers);
        self.block_buffers.give_back(0, buffers);
        out
    }

    /// [`Network::predict_unchecked`] through `buffers`.
    fn predict_blocks(
        &self,
        x: &DMatrix<T>,
        unchecked: Option<&DMatrix<T>>,
        buffers: &mut PredictBuffers<T>,
    ) -> Result<DMatrix<T>> {
        let widest = self.layers.iter().map(|l| l.output_shape().len()).max();
        let (m, rows) = (x.ncols(), x.nrows());
        let fit = PREDICT_BLOCK_VALUES / widest.unwrap_or(1).max(1);
        let blocks = m.div_ceil(fit.max(MIN_PREDICT_COLUMNS));
        if self.predicts_in_lanes() {
            let mut out = DMatrix::zeros(0, 0);
            if self.predict_lanes(x, unchecked, &mut buffers.lanes, &mut out)? {
                return Ok(out);
            }
        }
        if blocks < 2 {
            self.infer_into_buffers(x, buffers, unchecked)?;
            // The last layer's buffer is handed over, not copied; the next call sizes a
            // new one. A copy cost more than the allocation: on a Zen 3 EPYC the C
            // library's `memcpy` took 19 µs for W2's 10×1024 output (4 KiB-aligned
            // buffers of whole pages), 1.1 µs for 10×1000.
            let last = buffers.outputs.last_mut().ok_or_else(no_layer_computes)?;
            return Ok(std::mem::replace(last, DMatrix::zeros(0, 0)));
        }
        let outputs = self.output_size();
        let mut out = DMatrix::zeros(outputs, m);
        for k in 0..blocks {
            let cols = share(m, blocks, k);
            let block = &x.as_slice()[cols.start * rows..cols.end * rows];
            let y = self.infer_into_buffers(
                &DMatrix::from_column_slice(rows, cols.len(), block),
                buffers,
                unchecked,
            )?;
            out.as_mut_slice()[cols.start * outputs..cols.end * outputs]
                .copy_from_slice(y.as_slice());
        }
        Ok(out)
    }

    /// How many threads [`Network::predict`] may use: 1 when the
    /// network is built or loaded, else what [`Network::set_threads`] said (the library
    /// reads no environment variable; the `nn` command line and the benchmarks pass
    /// `NN_THREADS` here). Training takes its count from
    /// [`crate::FitConfig::threads`].
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Sets the thread count of [`Network::predict`] and [`Network::predict_into`] (0
    /// counts as 1): with 2 or more, a dense network's large products take nn-core's
    /// helper thread, and a convolutional network's large batches are split into at most
    /// this many column shares on rayon's global pool.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Cost (with the L2 term) and accuracy on a data set, in evaluation mode.
    ///
    /// # Errors
    /// As [`Network::compute_gradients`] for unusable data, or a network without a loss.
    pub fn evaluate(&self, x: &DMatrix<T>, y: &DMatrix<T>) -> Result<Evaluation> {
        let loss = self.require_loss()?;
        check::batch(x, y, self.input.len(), self.output_size())?;
        loss.check_targets(y)?;
        // The last layer that computes gives (Z, A); layers after it pass A through.
        let last = self
            .layers
            .iter()
            .rposition(|l| l.output().is_some())
            .ok_or_else(no_layer_computes)?;
        let hidden = infer_through(&self.layers[..last], x, None)?;
        let (z, a) = self.layers[last].infer_full(hidden.as_ref().unwrap_or(x))?;
        let z = z.filter(|_| last + 1 == self.layers.len());
        let weights = self.class_weights();
        let cost =
            loss.weighted_cost(z.as_ref().unwrap_or(&a), &a, y, weights) + self.l2_term(y.ncols());
        Ok(Evaluation {
            cost,
            accuracy: accuracy(loss.task(), &a, y),
        })
    }

    /// A table of the layers with their output shapes and parameter counts, like Keras'
    /// `summary()`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{:<4} {:<40} {:>12} {:>10}\n",
            "#", "layer", "output", "params"
        );
        s.push_str(&format!(
            "{:<4} {:<40} {:>12} {:>10}\n",
            "",
            "input",
            self.input.to_string(),
            ""
        ));
        for (i, l) in self.layers.iter().enumerate() {
            s.push_str(&format!(
                "{:<4} {:<40} {:>12} {:>10}\n",
                i,
                l.to_string(),
                l.output_shape().to_string(),
                param_count(l.as_ref())
            ));
        }
        let weights = self
            .class_weights()
            .map_or(String::new(), |w| format!(" (class weights {w:?})"));
        s.push_str(&format!(
            "loss: {}{weights}, L2 λ = {}, {} trainable parameters ({})\n",
            LossName(self.loss),
            self.l2,
            self.param_count(),
            T::NAME
        ));
        s
    }
}

/// The error of a network without a layer that computes, which building refuses (a
/// layer of a user's own must say the same of `Layer::output` every time).
fn no_layer_computes() -> TrainError {
    TrainError::internal(
        "the network has no layer that computes (Layer::output is None for every layer), \
         which building it refused",
    )
}

/// The number of trainable scalars of a layer.
fn param_count<T: Scalar>(layer: &dyn Layer<T>) -> usize {
    layer.params().iter().map(|p| p.value().len()).sum()
}

/// `layers.{i}.{name}` split into `(i, name)`.
fn split_name(name: &str) -> Option<(usize, &str)> {
    let (i, name) = name.strip_prefix("layers.")?.split_once('.')?;
    Some((i.parse().ok()?, name))
}

/// The matrix the layer after `done` reads: the output of the last layer of `done` that
/// computes, or the network's input `x` if none does.
fn output_of<'a, T: Scalar>(done: &'a [Box<dyn Layer<T>>], x: &'a DMatrix<T>) -> &'a DMatrix<T> {
    done.iter().rev().find_map(|l| l.output()).unwrap_or(x)
}

/// The most values of one layer's output [`Network::predict`] holds at a time on one
/// thread (2 MiB of `f32`): wider batches go through in blocks of columns.
const PREDICT_BLOCK_VALUES: usize = 1 << 19;

/// Evaluation-mode forward through `layers`; `None` when none computes (the input is the
/// output), so the input is never copied. `unchecked` as for
/// [`Network::infer_into_buffers`].
fn infer_through<T: Scalar>(
    layers: &[Box<dyn Layer<T>>],
    x: &DMatrix<T>,
    unchecked: Option<&DMatrix<T>>,
) -> Result<Option<DMatrix<T>>> {
    let mut a: Option<DMatrix<T>> = None;
    for layer in layers.iter().filter(|l| l.output().is_some()) {
        a = Some(match (a, unchecked) {
            (None, Some(whole)) => {
                let mut out = DMatrix::zeros(0, 0);
                infer_first(layer.as_ref(), x, &mut out, whole)?;
                out
            }
            (a, _) => layer.infer(a.as_ref().unwrap_or(x))?,
        });
    }
    if let (None, Some(whole)) = (&a, unchecked) {
        check::finite("inputs X", whole)?;
    }
    Ok(a)
}

/// The first computing layer's evaluation forward of `x` (a block of `whole`, the inputs
/// not yet checked for NaN and infinity): if the layer cannot vouch for `x`
/// ([`Layer::infer_into_vouching`]), `x` is scanned, and if it holds a NaN or an infinity,
/// `whole`, so that the error names the input's place in it. A finite `x` whose products
/// overflowed goes on, as it always did. (Scanning `whole` for every block was a twentieth
/// of C2's prediction: a 1024-column batch in ten blocks, ten scans of all of it.)
fn infer_first<T: Scalar>(
    layer: &dyn Layer<T>,
    x: &DMatrix<T>,
    out: &mut DMatrix<T>,
    whole: &DMatrix<T>,
) -> Result<()> {
    if !layer.infer_into_vouching(x, out)? && !all_finite(x.as_slice()) {
        check::finite("inputs X", whole)?;
    }
    Ok(())
}

/// Buffers that [`Network::predict_into`] writes each computing layer's output into,
/// sized at the first call and reused while the batch width stays the same. One set per
/// network and thread; start with `PredictBuffers::default()`.
#[derive(Debug, Clone, Default)]
pub struct PredictBuffers<T: Scalar> {
    outputs: Vec<DMatrix<T>>,
    /// A small convolutional network's groups of examples in lanes (one set per thread),
    /// and its outputs.
    lanes: [LaneBuffers<T>; 2],
    lanes_out: DMatrix<T>,
}

/// A network's loss as shown: its name, or "none".
struct LossName(Option<Loss>);

impl fmt::Display for LossName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(loss) => write!(f, "{loss}"),
            None => write!(f, "none"),
        }
    }
}

impl<T: Scalar> fmt::Display for Network<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Network(input {}", self.input)?;
        for l in &self.layers {
            write!(f, " → {l}")?;
        }
        write!(f, "; loss {})", LossName(self.loss))
    }
}
