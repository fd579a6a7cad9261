//! The layer abstraction every building block of a network implements: a small compute
//! trait, its parameters as named tensors ([`Param`]), the random stream of the layers
//! that draw ([`Stochastic`]), and how model files record a layer ([`LayerRecord`]).
//!
//! A layer owns its parameters, its gradients and the caches that its backward needs, so
//! that after the first batch of a given size a training step allocates nothing.

use std::fmt;

use nalgebra::DMatrix;
use nn_init::RngState;
use nn_init::nn_activations::Activation;
use nn_init::nn_activations::nn_core::{Lanes, Scalar, fit_buffer};
use serde_json::{Map, Value};

use crate::check;
use crate::error::{Result, TrainError};
use crate::layers::LayerSpec;

/// What one example looks like between layers. Every example is one column of the
/// batch matrix; an image is stored channel-major (`C×H×W` values, row-major within a
/// channel) in that column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeatureShape {
    /// A plain feature vector of this length.
    Flat(usize),
    /// An image: channels, height, width.
    Image {
        /// Number of channels.
        channels: usize,
        /// Height in pixels.
        height: usize,
        /// Width in pixels.
        width: usize,
    },
}

impl FeatureShape {
    /// The number of rows an example takes in a batch matrix, `C·H·W` for an image;
    /// `usize::MAX` if that product overflows (a network never has such a shape: its
    /// builder refuses it, see [`FeatureShape::checked_len`]).
    pub fn len(&self) -> usize {
        self.checked_len().unwrap_or(usize::MAX)
    }

    /// The number of rows an example takes, or `None` if `C·H·W` overflows `usize`.
    pub fn checked_len(&self) -> Option<usize> {
        match *self {
            FeatureShape::Flat(n) => Some(n),
            FeatureShape::Image {
                channels,
                height,
                width,
            } => channels.checked_mul(height)?.checked_mul(width),
        }
    }

    /// `true` if an example has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for FeatureShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FeatureShape::Flat(n) => write!(f, "{n}"),
            FeatureShape::Image {
                channels,
                height,
                width,
            } => {
                write!(f, "{channels}×{height}×{width}")
            }
        }
    }
}

/// Whether a forward pass is for training (caches kept, dropout active) or evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Training: dropout masks are drawn.
    Train,
    /// Evaluation: dropout is the identity.
    Eval,
}

/// The gradient a layer receives from above in its backward pass.
#[derive(Debug, Clone, Copy)]
pub enum Upstream<'a, T: Scalar> {
    /// `dA = ∂L/∂A` for the layer's output `A` (per example; the `1/m` is applied when
    /// forming parameter gradients).
    Output(&'a DMatrix<T>),
    /// `dZ = ∂L/∂Z` for the layer's pre-activation, given directly by a loss fused with the
    /// output activation (`dZ = A − Y` for sigmoid + BCE and softmax + CE).
    PreActivation(&'a DMatrix<T>),
}

/// One trainable tensor of a layer: its name, its value, the gradient `∂J/∂value` of the
/// last backward pass (same shape), whether L2 and AdamW's weight decay apply to it, and
/// its shape in model files.
///
/// A layer keeps its parameters in `Param`s and hands them out as a slice
/// ([`Layer::params`], [`Layer::params_mut`]), so that visiting them allocates nothing.
///
/// ```
/// use nalgebra::DMatrix;
/// use nn_train::Param;
/// let mut w = Param::new("weight", DMatrix::<f64>::zeros(2, 3)).decayed();
/// assert_eq!((w.name(), w.decays(), w.file_shape()), ("weight", true, vec![2, 3]));
/// assert_eq!(w.grad().shape(), (2, 3));
/// assert!(w.set(DMatrix::zeros(3, 2)).is_err()); // the shape is kept
/// let b = Param::new("bias", DMatrix::<f64>::zeros(2, 1));
/// assert_eq!((b.decays(), b.file_shape()), (false, vec![2])); // PyTorch's bias layout
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Param<T: Scalar> {
    name: &'static str,
    value: DMatrix<T>,
    grad: DMatrix<T>,
    decays: bool,
    file_shape: Option<Vec<usize>>,
}

impl<T: Scalar> Param<T> {
    /// A parameter `name` holding `value`, with a zero gradient of the same shape, not
    /// decayed (a bias), stored in model files as `[rows]` if it is a column, else
    /// `[rows, cols]`.
    pub fn new(name: &'static str, value: DMatrix<T>) -> Self {
        let grad = DMatrix::zeros(value.nrows(), value.ncols());
        Self {
            name,
            value,
            grad,
            decays: false,
            file_shape: None,
        }
    }

    /// The same parameter with L2 (`+ λ/(2m) ‖θ‖²`) and AdamW's decay applied to it, as
    /// for weights.
    pub fn decayed(mut self) -> Self {
        self.decays = true;
        self
    }

    /// The same parameter stored in model files with the shape `shape`, whose row-major
    /// reading must be the matrix's row-major order (a convolution's `[out, in, kh, kw]`).
    ///
    /// # Errors
    /// [`TrainError::BadInput`] if `shape` does not hold exactly the matrix's values.
    pub fn with_file_shape(mut self, shape: Vec<usize>) -> Result<Self> {
        let n = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        if n != Some(self.value.len()) {
            return Err(TrainError::BadInput {
                what: self.name,
                expected: format!(
                    "a file shape of {} values ({}×{})",
                    self.value.len(),
                    self.value.nrows(),
                    self.value.ncols()
                ),
                found: format!("{shape:?}"),
            });
        }
        self.file_shape = Some(shape);
        Ok(self)
    }

    /// Its name within the layer (`"weight"`, `"bias"`, …).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The value.
    pub fn value(&self) -> &DMatrix<T> {
        &self.value
    }

    /// The gradient `∂J/∂value` of the last backward pass.
    pub fn grad(&self) -> &DMatrix<T> {
        &self.grad
    }

    /// `true` if L2 and AdamW's decay apply (weights), `false` otherwise (biases).
    pub fn decays(&self) -> bool {
        self.decays
    }

    /// Its shape in model files: the one given to [`Param::with_file_shape`], or `[rows]`
    /// for a column and `[rows, cols]` otherwise (PyTorch's `nn.Linear` layout).
    pub fn file_shape(&self) -> Vec<usize> {
        match &self.file_shape {
            Some(shape) => shape.clone(),
            None if self.value.ncols() == 1 => vec![self.value.nrows()],
            None => vec![self.value.nrows(), self.value.ncols()],
        }
    }

    /// Replaces the value (e.g. with weights read from elsewhere).
    ///
    /// # Errors
    /// [`TrainError::BadShape`] if `value` has another shape;
    /// [`TrainError::NonFiniteData`] if it holds a NaN or infinity. Nothing changes then.
    pub fn set(&mut self, value: DMatrix<T>) -> Result<()> {
        if value.shape() != self.value.shape() {
            return Err(TrainError::BadShape {
                what: self.name,
                expected: self.value.shape(),
                found: value.shape(),
            });
        }
        check::finite(self.name, &value)?;
        self.value = value;
        Ok(())
    }

    /// The value and its gradient, both mutable, for an optimizer or a layer's own passes.
    pub fn value_and_grad_mut(&mut self) -> (&mut DMatrix<T>, &mut DMatrix<T>) {
        (&mut self.value, &mut self.grad)
    }

    /// A mutable view, as [`crate::Network::for_each_param`] hands it out.
    pub fn view_mut(&mut self) -> ParamMut<'_, T> {
        ParamMut {
            name: self.name,
            value: &mut self.value,
            grad: &mut self.grad,
            decays: self.decays,
        }
    }
}

/// One trainable tensor of a layer, with its gradient, as handed to an optimizer.
#[derive(Debug)]
pub struct ParamMut<'a, T: Scalar> {
    /// Name within the layer (`"weight"`, `"bias"`).
    pub name: &'static str,
    /// The parameter, updated in place.
    pub value: &'a mut DMatrix<T>,
    /// Its gradient `∂J/∂value` from the last backward pass (mutable so that L2 and
    /// clipping can adjust it in place).
    pub grad: &'a mut DMatrix<T>,
    /// `true` for weights (L2 and AdamW's decay apply), `false` for biases.
    pub decays: bool,
}

/// The random stream of a layer that draws while training (dropout's masks), reached
/// through [`Layer::stochastic`]: the data-parallel steps reseed it per share, and
/// checkpoints save and restore where it is.
pub trait Stochastic {
    /// Restarts the stream from `seed`.
    fn reseed(&mut self, seed: u64);
    /// Where the stream is.
    fn rng_state(&self) -> RngState;
    /// Puts the stream back where [`Stochastic::rng_state`] said it was.
    fn set_rng_state(&mut self, state: RngState);
}

/// Copies a boxed layer. Implemented for every layer that is [`Clone`]: derive `Clone` on
/// a layer of your own and this comes with it. (Networks copy themselves for the threads
/// of data-parallel training steps.)
pub trait LayerClone<T: Scalar> {
    /// A copy of the layer, boxed.
    fn clone_box(&self) -> Box<dyn Layer<T>>;
}

impl<T: Scalar, L: Layer<T> + Clone + 'static> LayerClone<T> for L {
    fn clone_box(&self) -> Box<dyn Layer<T>> {
        Box::new(self.clone())
    }
}

impl<T: Scalar> Clone for Box<dyn Layer<T>> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// A building block of a [`crate::Network`].
///
/// The batch convention is the workspace's: input and output are matrices whose columns
/// are examples. `forward` writes the layer's own output buffer (read it with `output`);
/// `backward` needs the same `input` that the last `forward` saw.
///
/// Six methods are the layer's computation; the rest have defaults that suit a layer
/// without parameters, activation or randomness:
///
/// | method | default | override for |
/// |---|---|---|
/// | [`params`](Layer::params), [`params_mut`](Layer::params_mut) | none | trainable tensors, as [`Param`]s |
/// | [`activation`](Layer::activation), [`pre_activation`](Layer::pre_activation), [`infer_full`](Layer::infer_full) | none | a layer ending in an activation that a loss may be fused with |
/// | [`stochastic`](Layer::stochastic), [`stochastic_mut`](Layer::stochastic_mut) | none | a layer that draws random numbers while training |
/// | [`is_differentiable`](Layer::is_differentiable) | `true` | a step function |
/// | [`record`](Layer::record) | `None`: cannot be saved | saving it in model files |
///
/// A layer of your own also derives `Clone` (see [`LayerClone`]); the parts of its state
/// other than its parameters and random stream are copied once into the networks that run
/// the shares of a data-parallel step, not kept in step with it.
pub trait Layer<T: Scalar>: fmt::Debug + fmt::Display + Send + Sync + LayerClone<T> {
    /// The shape of one input example.
    fn input_shape(&self) -> FeatureShape;
    /// The shape of one output example.
    fn output_shape(&self) -> FeatureShape;
    /// Forward pass over a batch; the result is in [`Layer::output`]. Allocates only when
    /// the batch size is larger than any seen before.
    fn forward(&mut self, input: &DMatrix<T>, mode: Mode) -> Result<()>;
    /// The output of the last [`Layer::forward`]; `None`, always, for a layer whose output
    /// *is* its input, unchanged (flatten relabels the shape only): a network then passes
    /// the batch and its gradient through such a layer without calling its forward,
    /// backward or infer, and without copying.
    fn output(&self) -> Option<&DMatrix<T>>;
    /// Backward pass: stores the parameter gradients of `J` and, if `d_input` is given,
    /// writes `∂L/∂input` into it (resized as needed).
    fn backward(
        &mut self,
        input: &DMatrix<T>,
        upstream: Upstream<'_, T>,
        d_input: Option<&mut DMatrix<T>>,
    ) -> Result<()>;
    /// Evaluation-mode forward that leaves the layer untouched (allocates its result).
    fn infer(&self, input: &DMatrix<T>) -> Result<DMatrix<T>>;
    /// [`Layer::infer`] into `out`, which is reshaped only when its shape differs, so that
    /// repeated calls with batches of one width allocate nothing (what
    /// [`Network::predict_into`](crate::Network::predict_into) relies on). The default
    /// calls [`Layer::infer`] and moves its result into `out`; dense layers override it.
    fn infer_into(&self, input: &DMatrix<T>, out: &mut DMatrix<T>) -> Result<()> {
        *out = self.infer(input)?;
        Ok(())
    }
    /// [`Layer::infer_into`], and whether what it computed shows that `input` holds no NaN
    /// or infinity, so that the caller need not scan it: `Ok(true)` only for a layer each
    /// of whose outputs sums a product with every input before anything else can hide a
    /// NaN (`0·NaN` and `0·∞` are NaN, so one non-finite input makes every such output
    /// non-finite) and which found those sums finite. The default says `false`, and the
    /// caller scans the input. A dense layer with fewer units than inputs vouches: it
    /// checks `W A_prev + b` before the activation (ReLU would turn NaN into 0), a
    /// smaller matrix than the input and still in the cache.
    fn infer_into_vouching(&self, input: &DMatrix<T>, out: &mut DMatrix<T>) -> Result<bool> {
        self.infer_into(input, out)?;
        Ok(false)
    }

    /// Evaluation-mode forward of a group of [`LANES`](crate::layers::LANES) examples
    /// held one per vector lane: `input[f][l]` is feature `f` of example `l`, `output`
    /// (of [`Layer::output_shape`]'s length) receives the layer's outputs the same way, and
    /// `scratch` is a buffer the layer may use. `true` once `output` holds them; `false`
    /// (the default) if the layer has no such path or the group does not fit it, and the
    /// network predicts a batch at a time instead. A small convolutional network predicts this way (see
    /// `src/layers/lanes.rs`); `input` has been checked for NaN and infinity.
    fn infer_lanes(
        &self,
        input: &[Lanes<T>],
        output: &mut [Lanes<T>],
        scratch: &mut Vec<Lanes<T>>,
    ) -> bool {
        let _ = (input, output, scratch);
        false
    }

    /// The activation applied last, if the layer has one (fused losses need it).
    fn activation(&self) -> Option<Activation> {
        None
    }
    /// The pre-activation `Z` of the last forward, for layers with an activation.
    fn pre_activation(&self) -> Option<&DMatrix<T>> {
        None
    }
    /// Evaluation-mode forward that leaves the layer untouched: `(Z, A)`, where `Z` is the
    /// pre-activation for layers that have one (allocates its results).
    fn infer_full(&self, input: &DMatrix<T>) -> Result<(Option<DMatrix<T>>, DMatrix<T>)> {
        Ok((None, self.infer(input)?))
    }
    /// The trainable tensors, in a fixed order (model files and optimizers rely on it).
    fn params(&self) -> &[Param<T>] {
        &[]
    }
    /// The trainable tensors, mutably, in [`Layer::params`] order.
    fn params_mut(&mut self) -> &mut [Param<T>] {
        &mut []
    }
    /// The layer's random stream, if it draws while training.
    fn stochastic(&self) -> Option<&dyn Stochastic> {
        None
    }
    /// The layer's random stream, mutably, if it draws while training.
    fn stochastic_mut(&mut self) -> Option<&mut dyn Stochastic> {
        None
    }
    /// Whether backpropagation can train this layer (false for step activations).
    fn is_differentiable(&self) -> bool {
        true
    }
    /// Multiply-adds of the forward pass per example, for deciding when a prediction is
    /// worth splitting across threads. The default, the number of parameters, is exact for
    /// a dense layer; a convolution applies each weight at every output position.
    fn work_per_example(&self) -> usize {
        self.params().iter().map(|p| p.value().len()).sum()
    }
    /// Whether the forward pass's multiply-adds are products as wide as the batch, which
    /// nn-core cuts in halves across two threads (`nn_core::with_kernel_threads`): true
    /// by default, as for a dense layer; a convolution multiplies one chunk of examples at
    /// a time and says false. [`crate::Network::predict`] splits a batch into column
    /// shares across threads only for networks with a layer that says false.
    fn batch_wide_products(&self) -> bool {
        true
    }
    /// Whether [`Layer::infer_into`] computes each column of its output the same bits in
    /// any batch of at least `columns` columns, so that [`crate::Network::predict`] may cut
    /// a batch by columns across threads without changing a bit. False by default; a dense
    /// layer whose product nn-core's small-layer kernel takes says true
    /// (`nn_core::affine_is_columnwise`).
    fn infers_columnwise(&self, columns: usize) -> bool {
        let _ = columns;
        false
    }
    /// Whether [`Layer::infer_into`] on `columns` columns, on two threads, already cuts its
    /// work in two halves, one per thread, so that [`crate::Network::predict`] gains
    /// nothing from cutting the batch itself. False by default; a dense layer says what
    /// nn-core does (`nn_core::affine_cuts_itself`).
    fn infers_on_two_threads(&self, columns: usize) -> bool {
        let _ = columns;
        false
    }
    /// How model files record the layer: a built-in layer's configuration, or a layer
    /// kind's name and configuration as JSON ([`LayerRecord::custom`]), which loading
    /// turns back into a layer through a [`crate::LayerRegistry`]. `None` (the default):
    /// the layer cannot be saved, and saving a network holding it fails naming it.
    fn record(&self) -> Option<LayerRecord> {
        None
    }
}

impl<T: Scalar> dyn Layer<T> {
    /// The parameter named `name`, if the layer has one.
    pub fn param(&self, name: &str) -> Option<&Param<T>> {
        self.params().iter().find(|p| p.name() == name)
    }

    /// Replaces the value of the parameter named `name` ([`Param::set`]).
    ///
    /// # Errors
    /// [`TrainError::BadInput`] if the layer has no such parameter (the message lists
    /// those it has); [`TrainError::BadShape`] if `value` has another shape;
    /// [`TrainError::NonFiniteData`] for a NaN or infinity.
    pub fn set_param(&mut self, name: &str, value: DMatrix<T>) -> Result<()> {
        let names: Vec<&str> = self.params().iter().map(Param::name).collect();
        match self.params_mut().iter_mut().find(|p| p.name() == name) {
            Some(param) => param.set(value),
            None => Err(TrainError::BadInput {
                what: "parameter name",
                expected: format!("one of this layer's parameters {names:?}"),
                found: format!("{name:?}"),
            }),
        }
    }
}

/// How a model file records one layer of a network (in `nn.architecture`'s `"layers"`).
#[derive(Debug, Clone, PartialEq)]
pub enum LayerRecord {
    /// A built-in layer, by its configuration, stored as [`LayerSpec::to_json`] writes it.
    Builtin(LayerSpec),
    /// A layer kind defined outside this crate, stored as
    /// `{"type": type_name, "config": config}`; loading builds it through the
    /// [`crate::LayerRegistry`] entry for `type_name`.
    Custom {
        /// The kind's name; not one of [`LayerSpec::TYPES`].
        type_name: String,
        /// The kind's configuration, any JSON value its registration can read.
        config: Value,
    },
}

impl LayerRecord {
    /// The record of a layer kind of your own: its name and its configuration as JSON.
    pub fn custom(type_name: impl Into<String>, config: Value) -> Self {
        LayerRecord::Custom {
            type_name: type_name.into(),
            config,
        }
    }

    /// The record as model files store it.
    pub fn to_json(&self) -> Value {
        match self {
            LayerRecord::Builtin(spec) => spec.to_json(),
            LayerRecord::Custom { type_name, config } => {
                let mut map = Map::new();
                map.insert("type".into(), Value::String(type_name.clone()));
                map.insert("config".into(), config.clone());
                Value::Object(map)
            }
        }
    }

    /// Reads a record from [`LayerRecord::to_json`]'s form: a built-in type is parsed by
    /// [`LayerSpec::from_json`], any other `"type"` is a custom record (its `"config"`,
    /// `null` if absent); `index` names the layer in errors.
    ///
    /// # Errors
    /// [`TrainError::InvalidArchitecture`] if the value has no string `"type"`, or as
    /// [`LayerSpec::from_json`] for a built-in type.
    pub fn from_json(v: &Value, index: usize) -> Result<Self> {
        match v.get("type").and_then(Value::as_str) {
            Some(name) if !LayerSpec::TYPES.contains(&name) => Ok(LayerRecord::Custom {
                type_name: name.to_string(),
                config: v.get("config").cloned().unwrap_or(Value::Null),
            }),
            _ => LayerSpec::from_json(v, index).map(LayerRecord::Builtin),
        }
    }
}

impl fmt::Display for LayerRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerRecord::Builtin(spec) => write!(f, "{spec}"),
            LayerRecord::Custom { type_name, config } => write!(f, "{type_name}({config})"),
        }
    }
}

/// Checks that `input` has `rows` rows, one per value of an example (the columns are the
/// examples, any number of them); `what` names the input in the error.
pub(crate) fn check_input_rows<T: Scalar>(
    what: &'static str,
    rows: usize,
    input: &DMatrix<T>,
) -> Result<()> {
    if input.nrows() != rows {
        return Err(TrainError::BadShape {
            what,
            expected: (rows, input.ncols()),
            found: input.shape(),
        });
    }
    Ok(())
}

/// The `∂L/∂A` a layer without an activation receives, checked to be `rows × cols`: such a
/// layer cannot take a loss's fused `∂L/∂Z`. `what` names the layer's gradient in errors.
pub(crate) fn upstream_output<'a, T: Scalar>(
    what: &'static str,
    upstream: Upstream<'a, T>,
    (rows, cols): (usize, usize),
) -> Result<&'a DMatrix<T>> {
    let Upstream::Output(da) = upstream else {
        return Err(TrainError::InvalidConfig {
            what,
            expected: "∂L/∂A (this layer has no activation to fuse with a loss)",
            found: "∂L/∂Z".into(),
        });
    };
    if da.shape() != (rows, cols) {
        return Err(TrainError::BadShape {
            what,
            // The shape of the layer's output.
            expected: (rows, cols),
            found: da.shape(),
        });
    }
    Ok(da)
}

/// The `dZ` a layer with an activation backpropagates from: `dA ∘ g'(Z)` computed into
/// `buf` for an [`Upstream::Output`](Upstream::Output), or the loss's fused
/// `dZ`, checked to have `z`'s shape. `what` names the layer's gradient in errors.
pub(crate) fn upstream_pre_activation<'a, T: Scalar>(
    what: &'static str,
    upstream: Upstream<'a, T>,
    (activation, z, a): (Activation, &DMatrix<T>, &DMatrix<T>),
    buf: &'a mut DMatrix<T>,
) -> Result<&'a DMatrix<T>> {
    match upstream {
        Upstream::Output(da) => {
            fit_buffer(buf, z.nrows(), z.ncols());
            activation.backward_into(z, a, da, buf)?; // dZ = dA ∘ g'(Z)
            Ok(buf)
        }
        Upstream::PreActivation(dz) => {
            if dz.shape() != z.shape() {
                return Err(TrainError::BadShape {
                    what,
                    expected: z.shape(),
                    found: dz.shape(),
                });
            }
            Ok(dz)
        }
    }
}
