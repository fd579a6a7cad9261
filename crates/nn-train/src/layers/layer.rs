//! The layer abstraction every building block of a network implements.
//!
//! A layer owns its parameters, its gradients and the caches that its backward needs, so
//! that after the first batch of a given size a training step allocates nothing.

use std::fmt;

use nalgebra::DMatrix;
use nn_init::RngState;
use nn_init::nn_activations::Activation;
use nn_init::nn_activations::nn_core::{Scalar, fit_buffer};

use crate::check;
use crate::error::{Result, TrainError};

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

/// A building block of a [`crate::Network`].
///
/// The batch convention is the workspace's: input and output are matrices whose columns
/// are examples. `forward` writes the layer's own output buffer (read it with `output`);
/// `backward` needs the same `input` that the last `forward` saw.
pub trait Layer<T: Scalar>: fmt::Debug + fmt::Display + Send + Sync {
    /// The shape of one input example.
    fn input_shape(&self) -> FeatureShape;
    /// The shape of one output example.
    fn output_shape(&self) -> FeatureShape;
    /// The activation applied last, if the layer has one (fused losses need it).
    fn activation(&self) -> Option<Activation> {
        None
    }
    /// Forward pass over a batch; the result is in [`Layer::output`]. Allocates only when
    /// the batch size is larger than any seen before.
    fn forward(&mut self, input: &DMatrix<T>, mode: Mode) -> Result<()>;
    /// The output of the last [`Layer::forward`].
    fn output(&self) -> &DMatrix<T>;
    /// The pre-activation `Z` of the last forward, for layers with an activation.
    fn pre_activation(&self) -> Option<&DMatrix<T>> {
        None
    }
    /// Backward pass: stores the parameter gradients of `J` and, if `d_input` is given,
    /// writes `∂L/∂input` into it (resized as needed).
    fn backward(
        &mut self,
        input: &DMatrix<T>,
        upstream: Upstream<'_, T>,
        d_input: Option<&mut DMatrix<T>>,
    ) -> Result<()>;
    /// Evaluation-mode forward that leaves the layer untouched: `(Z, A)`, where `Z` is the
    /// pre-activation for layers that have one (allocates its results).
    fn infer_full(&self, input: &DMatrix<T>) -> Result<(Option<DMatrix<T>>, DMatrix<T>)>;
    /// Evaluation-mode forward that leaves the layer untouched (allocates its result).
    fn infer(&self, input: &DMatrix<T>) -> Result<DMatrix<T>> {
        Ok(self.infer_full(input)?.1)
    }
    /// Visits every trainable tensor with its gradient, in a fixed order.
    fn for_each_param(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>));
    /// Visits every trainable tensor by name, in the same order, without gradients.
    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'static str, &'a DMatrix<T>));
    /// The trainable tensors by name, in [`Layer::visit_params`] order (allocates a `Vec`).
    fn params(&self) -> Vec<(&'static str, &DMatrix<T>)> {
        let mut out = Vec::new();
        self.visit_params(&mut |name, p| out.push((name, p)));
        out
    }
    /// Replaces a named tensor (for loading); the shape must match.
    fn set_param(&mut self, name: &str, value: DMatrix<T>) -> Result<()>;
    /// Number of trainable scalars.
    fn param_count(&self) -> usize {
        let mut n = 0;
        self.visit_params(&mut |_, p| n += p.len());
        n
    }
    /// Whether backpropagation can train this layer (false for step activations).
    fn is_differentiable(&self) -> bool {
        true
    }
    /// Reseeds any randomness the layer draws during training (dropout masks).
    fn reseed(&mut self, _seed: u64) {}
    /// Where the layer's random stream is (dropout masks), for checkpoints; `None` for
    /// layers that draw nothing.
    fn rng_state(&self) -> Option<RngState> {
        None
    }
    /// Puts the layer's random stream back where [`Layer::rng_state`] said it was (no-op
    /// for layers that draw nothing).
    fn set_rng_state(&mut self, _state: RngState) {}
    /// The shape of the parameter `name` (a `rows × cols` matrix) in model files, whose
    /// row-major flattening must equal the matrix's row-major order. Default: `[rows]` for
    /// a bias column, `[rows, cols]` otherwise (PyTorch's `nn.Linear` layout); a
    /// convolution may say `[out, in, kh, kw]`.
    fn file_shape(&self, name: &str, rows: usize, cols: usize) -> Vec<usize> {
        if name == "bias" && cols == 1 {
            vec![rows]
        } else {
            vec![rows, cols]
        }
    }
}

/// Replaces a layer's `"weight"` or `"bias"` tensor with `value` (for loading): the name
/// must be one of the two, the shape must match, the values must be finite. `layer` names
/// the layer kind in errors.
pub(crate) fn set_weight_or_bias<T: Scalar>(
    layer: &'static str,
    (w, b): (&mut DMatrix<T>, &mut DMatrix<T>),
    name: &str,
    value: DMatrix<T>,
) -> Result<()> {
    let target = match name {
        "weight" => w,
        "bias" => b,
        _ => {
            return Err(TrainError::BadShape {
                what: layer,
                expected: "parameter \"weight\" or \"bias\"".into(),
                found: format!("{name:?}"),
            });
        }
    };
    if value.shape() != target.shape() {
        return Err(TrainError::BadShape {
            what: layer,
            expected: format!("{name} of shape {}×{}", target.nrows(), target.ncols()),
            found: format!("{}×{}", value.nrows(), value.ncols()),
        });
    }
    check::finite(layer, &value)?;
    *target = value;
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
            expected: format!("{rows}×{cols} (the shape of the layer's output)"),
            found: format!("{}×{}", da.nrows(), da.ncols()),
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
                    expected: format!("{}×{}", z.nrows(), z.ncols()),
                    found: format!("{}×{}", dz.nrows(), dz.ncols()),
                });
            }
            Ok(dz)
        }
    }
}
