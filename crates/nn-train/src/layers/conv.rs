//! The 2-D convolution layer (cross-correlation, as in every deep-learning library), computed
//! as one GEMM over an im2col matrix, and its backward. With stride 1 on a CPU with AVX-512
//! or AVX2 the forward pass skips the unfolding: `nn_core::conv_direct` computes each output row
//! of an image from the image itself (LeNet-5's C2 predicted 47k → 73k samples/s on one
//! core of the Intel Xeon, the unfolding having been 38% of it); the backward pass unfolds
//! as below either way.
//!
//! ## Layout
//!
//! An image example is one column of `C×H×W` values, channel-major: pixel `(c, y, x)` is
//! row `c·H·W + y·W + x`. The output `(C_out, H_out, W_out)` is laid out the same way, so
//! layers stack. The weights `W[o, c, ky, kx]` are stored as the matrix
//! `W_mat: (C_out, C·kh·kw)` with `W_mat[(o, c·kh·kw + ky·kw + kx)] = W[o, c, ky, kx]`:
//! reading `W_mat` row by row gives exactly PyTorch's `[out, in, kh, kw]` tensor (that is
//! how model files store it, see [`Param::file_shape`]). The bias has one entry per output
//! channel.
//!
//! ## Math
//!
//! With stride `(sh, sw)`, zero padding `(ph, pw)`, `P = H_out·W_out` output positions and a
//! batch of `m` examples:
//!
//! ```text
//! forward   Z_j[o, oy, ox] = b[o] + Σ_{c,ky,kx} W[o, c, ky, kx] · X_j[c, oy·sh − ph + ky, ox·sw − pw + kx]
//!           A = g(Z)
//!
//! as GEMMs  U[(j·P + oy·W_out + ox, c·kh·kw + ky·kw + kx)] = X_j[c, oy·sh − ph + ky, ox·sw − pw + kx]
//!                                                             (0 in the padding)   unfold (im2col)
//!           Yᵀ = U · W_matᵀ                         (m·P, C_out)         gemm_into, Trans::Yes
//!           Z[(o·P + p, j)] = Yᵀ[(j·P + p, o)] + b[o]                     copy + bias
//!
//! backward  dZ = dA ∘ g'(Z)                         (or dZ from a fused loss)
//!           dYᵀ[(j·P + p, o)] = dZ[(o·P + p, j)]                          copy
//!           dW_mat = (1/m) (dYᵀ)ᵀ · U                                     gemm_into, Trans::Yes
//!           db[o] = (1/m) Σ_j Σ_p dZ[(o·P + p, j)]
//!           dU = dYᵀ · W_mat                                              gemm_into
//!           dX_j[c, y, x] = Σ of dU over every (window, offset) that read (c, y, x)   fold (col2im)
//! ```
//!
//! Each entry of `W` is shared by every output position of every example — parameter
//! sharing — which is why its gradient is a sum over positions, and why a convolution
//! responds to a pattern the same way wherever the pattern is (translation equivariance).
//!
//! The unfolded matrix has one row per output position of every example and one column per
//! window entry, so a column of `U` is a copy of input rows: with stride 1, whole runs of
//! `W_out` pixels (and zeros where the window overhangs the padding), which unfold and
//! fold move as slices. Its long side, `m·P`, is the product's output rows, where the GEMM
//! kernel's vector registers run, so a layer with few filters (6 in LeNet-5's first) still
//! fills them; and `Yᵀ`'s columns are runs of `P` values of `Z`, so the layout change is a
//! copy of slices, which also adds the bias.
//!
//! `U` is built for a chunk of examples at a time, at most [`UNFOLD_VALUES`] values (or
//! one example), so that it stays in the core's cache between its unfolding and the
//! product that reads it; the backward pass unfolds each chunk again rather than keeping
//! the whole batch's `U` (`K` times the input's size) from the forward pass. The chunk
//! depends on the layer's shape alone, so results do not depend on the thread count. The
//! buffers (`U`, `Yᵀ`, `Z`, `A`, `dZ`, `dU`) live in the layer: after the first batch of a
//! size, a step allocates nothing.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;

use nalgebra::DMatrix;
use nn_init::nn_activations::Activation;
use nn_init::nn_activations::nn_core::{
    DirectWindow, Scalar, Trans, conv_direct, fit_buffer, gemm_into, join, relu_in_place,
};

use nn_init::Init;
use serde::{Deserialize, Serialize};

use super::layer::check_input_rows;
use super::layer::upstream_pre_activation;
use super::spec::{ParamSource, Place, weight_and_bias};
use crate::error::{Result, TrainError};
use crate::layers::LayerRecord;
use crate::layers::LayerSpec;
use crate::layers::lanes::{self, Lanes};
use crate::layers::window::{Pair, Run, Window};
use crate::layers::{FeatureShape, Layer, LayerPlan, Mode, Param, Upstream};
use crate::limits::Limits;

/// The most values an unfolded chunk of examples holds (256 KiB of `f32`), unless one
/// example alone has more.
const UNFOLD_VALUES: usize = 1 << 16;

/// The configuration of a [`Conv2d`] layer with `out_channels` filters over an image
/// input, as model files store it: `{"type": "conv2d", "out_channels": 8, "kernel": [3,
/// 3], "stride": [1, 1], "padding": [0, 0], "activation": "relu", "init": null}` (pairs are
/// `[height, width]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Conv2dConfig {
    /// Number of filters (output channels).
    pub out_channels: usize,
    /// `[kh, kw]`.
    pub kernel: [usize; 2],
    /// `[sh, sw]` (PyTorch's default `[1, 1]`).
    pub stride: [usize; 2],
    /// Zeros added on each side, `[ph, pw]` (default `[0, 0]`).
    pub padding: [usize; 2],
    /// The activation `g` applied to every output (identity for none).
    pub activation: Activation,
    /// The weight initializer; `None` picks [`nn_init::recommended_for`]`(activation)`
    /// with PyTorch's fans (`fan_in = C_in·kh·kw`, `fan_out = C_out·kh·kw`).
    #[serde(default)]
    pub init: Option<Init>,
}

impl fmt::Display for Conv2dConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Conv2d({}, {}", self.out_channels, Pair(self.kernel))?;
        if self.stride != [1, 1] {
            write!(f, ", stride {}", Pair(self.stride))?;
        }
        if self.padding != [0, 0] {
            write!(f, ", padding {}", Pair(self.padding))?;
        }
        write!(f, ", {})", self.activation)
    }
}

impl Conv2dConfig {
    /// Works out the layer for inputs of `input` shape without building it; `index` names
    /// it in errors.
    ///
    /// # Errors
    /// [`TrainError::InvalidArchitecture`] for a flat input, zero output channels, a
    /// kernel larger than the padded input or a stride that leaves input unread;
    /// [`TrainError::TooLarge`] beyond `limits` (parameters, or values per example,
    /// including the unfolded input).
    pub fn plan(&self, input: FeatureShape, index: usize, limits: &Limits) -> Result<LayerPlan> {
        let place = Place { index, what: self };
        let window = place.image_window(input, self.kernel, self.stride, self.padding)?;
        if self.out_channels == 0 {
            return Err(place.invalid("needs at least one output channel, found 0".into()));
        }
        place.per_example(
            limits,
            "unfolded input values per example (C_in·kh·kw·positions)",
            &[window.unfolded_len()],
        )?;
        place.per_example(
            limits,
            "output values per example",
            &[self.out_channels, window.positions()],
        )?;
        let fan_in = window.channels * window.area();
        let [kh, kw] = self.kernel;
        place.weighted(
            limits,
            window.output_shape(self.out_channels),
            (self.out_channels, fan_in),
            vec![self.out_channels, window.channels, kh, kw],
        )
    }

    /// Builds the layer `plan` describes, with parameters from `source`.
    pub(crate) fn build<T: Scalar>(
        &self,
        plan: &LayerPlan,
        input: FeatureShape,
        (index, seed): (usize, u64),
        source: ParamSource<'_, T>,
    ) -> Result<Conv2d<T>> {
        let out_channels = self.out_channels;
        let area = self.kernel[0] * self.kernel[1];
        let fan_in = plan.params.first().map_or(0, |w| w.cols);
        let rescale = |init: Init, w: &mut DMatrix<T>| {
            if let Init::GlorotNormal | Init::GlorotUniform = init {
                // Glorot's fan_out of a convolution is C_out·kh·kw (PyTorch), not the C_out
                // rows of W_mat: rescale to that variance.
                let drawn = init.target_variance(out_channels, fan_in);
                let wanted = init.target_variance(out_channels * area, fan_in);
                if let (Some(d), Some(v)) = (drawn, wanted)
                    && d > 0.0
                {
                    *w *= T::cast((v / d).sqrt());
                }
            }
        };
        let (w, b) = weight_and_bias(
            plan,
            source,
            (index, seed),
            (self.init, self.activation),
            &rescale,
        )?;
        let mut layer = Conv2d::from_parameters(
            input,
            w,
            b,
            (self.kernel, self.stride, self.padding),
            self.activation,
        )?;
        layer.init = self.init;
        Ok(layer)
    }
}

/// A 2-D convolution with `C_out` filters of `C_in × kh × kw` weights, a bias per output
/// channel, stride, zero padding and an activation `g` (identity for a plain convolution).
///
/// Images are columns of `C×H×W` values, channel-major (pixel `(c, y, x)` at row
/// `c·H·W + y·W + x`), in and out. The weights are the matrix `W_mat: (C_out, C_in·kh·kw)`
/// with `W_mat[(o, c·kh·kw + ky·kw + kx)] = W[o, c, ky, kx]`, so that its row-major
/// reading is PyTorch's `[out, in, kh, kw]` tensor; the bias is `b: (C_out, 1)`.
///
/// ```text
/// forward   Z_j[o, oy, ox] = b[o] + Σ_{c,ky,kx} W[o, c, ky, kx] · X_j[c, oy·sh − ph + ky, ox·sw − pw + kx]
///           A = g(Z)                                     (X is 0 in the padding)
/// as GEMMs  Y = W_mat · im2col(X)      Z = Y + b, rearranged to one column per example
/// backward  dZ = dA ∘ g'(Z)            dW_mat = (1/m) dY · colsᵀ      db = (1/m) Σ_{j,p} dZ
///           dX = col2im(W_matᵀ · dY)
/// ```
///
/// `H_out = ⌊(H + 2ph − kh)/sh⌋ + 1` (likewise `W_out`), as in PyTorch; a kernel larger than
/// the padded input, or a stride that leaves input pixels unread, is an error.
///
/// ```
/// use nn_train::DMatrix;
/// use nn_train::{Activation, Conv2d, FeatureShape, Layer, Mode};
/// // One 3×3 image, one 2×2 filter that sums its window.
/// let input = FeatureShape::Image { channels: 1, height: 3, width: 3 };
/// let w = DMatrix::from_element(1, 4, 1.0);
/// let b = DMatrix::zeros(1, 1);
/// let geometry = ([2, 2], [1, 1], [0, 0]); // kernel, stride, padding
/// let mut conv = Conv2d::from_parameters(input, w, b, geometry, Activation::Identity)?;
/// let x = DMatrix::from_column_slice(9, 1, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
/// conv.forward(&x, Mode::Eval)?;
/// assert_eq!(conv.output().unwrap().as_slice(), &[12.0, 16.0, 24.0, 28.0]);
/// assert_eq!(conv.weight_shape(), [1, 1, 2, 2]); // PyTorch's [out, in, kh, kw]
/// assert_eq!(conv.params()[0].file_shape(), [1, 1, 2, 2]); // as model files store it
/// # Ok::<(), nn_train::TrainError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Conv2d<T: Scalar> {
    window: Window,
    /// `[W_mat, b]`.
    params: [Param<T>; 2],
    activation: Activation,
    /// The initializer recorded in model files (`None` when the weights were given).
    init: Option<Init>,
    /// The buffers of the two halves of a batch's chunks (see [`halves`]).
    halves: [Scratch<T>; 2],
    /// The window's entries for inference in lanes ([`lanes::window_entries`]).
    lane_entries: Vec<usize>,
    z: DMatrix<T>,
    a: DMatrix<T>,
    dz: DMatrix<T>,
}

/// One half's buffers: the caller's, or nn-core's helper thread's inside
/// `nn_core::with_kernel_threads`.
#[derive(Debug, Clone)]
struct Scratch<T: Scalar> {
    /// `U` of one chunk, `(chunk·P, K)`.
    cols: DMatrix<T>,
    /// `Yᵀ` (forward) or `dYᵀ` (backward) of one chunk, `(chunk·P, C_out)`.
    y: DMatrix<T>,
    /// `dU` of one chunk, `(chunk·P, K)`.
    dcols: DMatrix<T>,
    /// The second half's share of the weight gradient, added to the first's.
    dw: DMatrix<T>,
}

impl<T: Scalar> Scratch<T> {
    fn new() -> Self {
        let empty = || DMatrix::zeros(0, 0);
        Self {
            cols: empty(),
            y: empty(),
            dcols: empty(),
            dw: empty(),
        }
    }
}

thread_local! {
    /// This thread's inference buffers (`U` and `Yᵀ` of a chunk, for each half): a
    /// prediction takes `&self`, so it cannot use the layer's own. Kept between calls, so
    /// that repeated predictions neither allocate nor fault in the fresh pages of chunks
    /// above the allocator's mapping threshold: C1's predictions spent a fifth of their
    /// time in page faults, and took 1.86 ms per 1024 examples before, 1.03 ms after.
    /// They hold one chunk's `U` and `Yᵀ` per half (a chunk has at most 2¹⁶ values of `U`
    /// unless one example has more) and are freed when the thread ends.
    static INFER_SCRATCH: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// Runs `f` on this thread's inference scratch for `T` (fresh buffers if it is in use).
fn with_infer_scratch<T: Scalar, R>(f: impl FnOnce(&mut [Scratch<T>; 2]) -> R) -> R {
    let fresh = || [Scratch::new(), Scratch::new()];
    INFER_SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            if !slot.as_ref().is_some_and(|b| b.is::<[Scratch<T>; 2]>()) {
                *slot = Some(Box::new(fresh()));
            }
            match slot
                .as_mut()
                .and_then(|b| b.downcast_mut::<[Scratch<T>; 2]>())
            {
                Some(halves) => f(halves),
                None => f(&mut fresh()),
            }
        }
        Err(_) => f(&mut fresh()),
    })
}

impl<T: Scalar> Conv2d<T> {
    /// A convolution over `input` images (`FeatureShape::Image`) with weights
    /// `W_mat: (C_out, C_in·kh·kw)` (see the module docs for the order), bias `(C_out, 1)`,
    /// and the window `(kernel, stride, padding)`: `kernel = [kh, kw]`,
    /// `stride = [sh, sw]`, `padding = [ph, pw]`.
    ///
    /// # Errors
    /// [`TrainError::BadInput`] if the input is not an image, the window does not fit it
    /// (kernel larger than the padded input, a stride that leaves input unread), or the
    /// weights have no rows; [`TrainError::BadShape`] if the weights or bias have the wrong
    /// shape (with the shapes expected and found); [`TrainError::NonFiniteData`] for a NaN
    /// or infinite parameter.
    pub fn from_parameters(
        input: FeatureShape,
        w: DMatrix<T>,
        b: DMatrix<T>,
        (kernel, stride, padding): ([usize; 2], [usize; 2], [usize; 2]),
        activation: Activation,
    ) -> Result<Self> {
        let window = Window::of_layer("conv2d input", input, kernel, stride, padding)?;
        let channels = window.channels;
        let k = channels * window.area();
        if w.nrows() == 0 {
            return Err(TrainError::BadInput {
                what: "conv2d weights W",
                expected: format!(
                    "at least 1 × {k} (out channels × in channels·kh·kw = {channels}·{})",
                    window.area()
                ),
                found: format!("{}×{}", w.nrows(), w.ncols()),
            });
        }
        if w.ncols() != k {
            return Err(TrainError::BadShape {
                what: "conv2d weights W (out channels × in channels·kh·kw)",
                expected: (w.nrows(), k),
                found: w.shape(),
            });
        }
        if b.shape() != (w.nrows(), 1) {
            return Err(TrainError::BadShape {
                what: "conv2d bias b (one per output channel)",
                expected: (w.nrows(), 1),
                found: b.shape(),
            });
        }
        crate::check::finite("conv2d weights W", &w)?;
        crate::check::finite("conv2d bias b", &b)?;
        let p = window.positions();
        let too_large = |what: &str, n: usize| TrainError::TooLarge {
            what: format!("conv2d {what}"),
            found: format!("{n} values"),
            limit: "what this machine can allocate".into(),
            raise: "",
        };
        let out_len = w
            .nrows()
            .checked_mul(p)
            .ok_or_else(|| too_large("output per example", usize::MAX))?;
        let out = w.nrows();
        let weight = Param::new("weight", w)
            .decayed()
            .with_file_shape(vec![out, channels, kernel[0], kernel[1]])?;
        Ok(Self {
            lane_entries: lanes::window_entries(&window),
            window,
            params: [weight, Param::new("bias", b)],
            activation,
            init: None,
            halves: [Scratch::new(), Scratch::new()],
            z: DMatrix::zeros(out_len, 0),
            a: DMatrix::zeros(out_len, 0),
            dz: DMatrix::zeros(out_len, 0),
        })
    }

    /// The weights as the matrix `W_mat: (C_out, C_in·kh·kw)`; row-major, it is PyTorch's
    /// `[out, in, kh, kw]`.
    pub fn weights(&self) -> &DMatrix<T> {
        self.params[0].value()
    }

    /// The weight `W[o, c, ky, kx]` (`None` out of range).
    pub fn weight(&self, o: usize, c: usize, ky: usize, kx: usize) -> Option<T> {
        let [kh, kw] = self.window.kernel;
        if o >= self.weights().nrows() || c >= self.window.channels || ky >= kh || kx >= kw {
            return None;
        }
        Some(self.weights()[(o, c * kh * kw + ky * kw + kx)])
    }

    /// The weights' 4-D shape `[C_out, C_in, kh, kw]`: [`Conv2d::weights`] read row by row
    /// is this tensor in row-major order, PyTorch's `nn.Conv2d.weight` layout.
    pub fn weight_shape(&self) -> [usize; 4] {
        let [kh, kw] = self.window.kernel;
        [self.weights().nrows(), self.window.channels, kh, kw]
    }

    /// The bias column `b: (C_out, 1)`.
    pub fn bias(&self) -> &DMatrix<T> {
        self.params[1].value()
    }

    /// The gradient `dW_mat` of the last backward pass (same layout as the weights).
    pub fn weight_grad(&self) -> &DMatrix<T> {
        self.params[0].grad()
    }

    /// The gradient `db` of the last backward pass.
    pub fn bias_grad(&self) -> &DMatrix<T> {
        self.params[1].grad()
    }

    /// Number of output channels (filters).
    pub fn out_channels(&self) -> usize {
        self.weights().nrows()
    }

    /// `[kh, kw]`.
    pub fn kernel(&self) -> [usize; 2] {
        self.window.kernel
    }

    /// `[sh, sw]`.
    pub fn stride(&self) -> [usize; 2] {
        self.window.stride
    }

    /// `[ph, pw]`, zeros added on each side.
    pub fn padding(&self) -> [usize; 2] {
        self.window.padding
    }

    /// The layer's configuration (its initializer is `None` unless it was built from a
    /// [`Conv2dConfig`]).
    pub fn config(&self) -> Conv2dConfig {
        Conv2dConfig {
            out_channels: self.out_channels(),
            kernel: self.kernel(),
            stride: self.stride(),
            padding: self.padding(),
            activation: self.activation,
            init: self.init,
        }
    }

    fn check_input(&self, input: &DMatrix<T>) -> Result<()> {
        check_input_rows("conv2d input", self.input_shape().len(), input)
    }

    /// `Z = W_mat · im2col(X) + b` laid out per example, chunk by chunk, into `z` (resized
    /// to `(C_out·P, m)`): the two [`halves`] of the chunks on two threads inside
    /// `nn_core::with_kernel_threads`, each with its own buffers.
    fn pre_activation_into(
        &self,
        x: &DMatrix<T>,
        [s0, s1]: &mut [Scratch<T>; 2],
        z: &mut DMatrix<T>,
        rectify: bool,
    ) -> Result<()> {
        let (out, p, rows) = (self.weights().nrows(), self.window.positions(), x.nrows());
        fit_buffer(z, out * p, x.ncols());
        let at = halves(&self.window, x.ncols());
        let (x0, x1) = x.as_slice().split_at(at * rows);
        let (z0, z1) = z.as_mut_slice().split_at_mut(at * out * p);
        let (w, b) = (self.weights(), self.bias());
        let (mut first, mut second) = (Ok(()), Ok(()));
        join(
            || first = forward_chunks(&self.window, (w, b), (x0, rows), (z0, rectify), s0),
            || second = forward_chunks(&self.window, (w, b), (x1, rows), (z1, rectify), s1),
        );
        first.and(second)
    }
}

/// [`Conv2d`]'s forward on the examples `x` (`rows` values each), chunk by chunk, into
/// their columns `zs` of `Z`; with `rectify`, `max(Z, 0)` (a ReLU applied where `Z` is
/// written rather than in a pass of its own).
fn forward_chunks<T: Scalar>(
    window: &Window,
    (w, b): (&DMatrix<T>, &DMatrix<T>),
    (x, rows): (&[T], usize),
    (zs, rectify): (&mut [T], bool),
    s: &mut Scratch<T>,
) -> Result<()> {
    if window.stride == [1, 1] && forward_direct(window, (w, b), x, zs, rectify)? {
        return Ok(());
    }
    let (out, p) = (w.nrows(), window.positions());
    let step = chunk(window);
    for (xs, zs) in x.chunks(step * rows).zip(zs.chunks_mut(step * out * p)) {
        unfold(window, xs, rows, &mut s.cols);
        fit_buffer(&mut s.y, s.cols.nrows(), out);
        // Yᵀ = U W_matᵀ
        gemm_into(
            T::one(),
            &s.cols,
            Trans::No,
            w,
            Trans::Yes,
            T::zero(),
            &mut s.y,
        )?;
        // Z[(o·P + q, j)] = Yᵀ[(j·P + q, o)] + b[o]
        let (mp, ys) = (s.y.nrows(), s.y.as_slice());
        for (j, zj) in zs.chunks_exact_mut(out * p).enumerate() {
            for (o, zo) in zj.chunks_exact_mut(p).enumerate() {
                let bias = b[o];
                let yo = &ys[o * mp + j * p..o * mp + (j + 1) * p];
                zo.iter_mut().zip(yo).for_each(|(v, &y)| *v = y + bias);
            }
        }
        if rectify {
            relu_in_place(zs);
        }
    }
    Ok(())
}

/// [`Conv2d`]'s forward with stride 1 through `nn_core::conv_direct`: every example's
/// convolution, bias included, straight into its column of `Z`, no unfolding. `false`
/// (nothing written) where nn-core declines (neither AVX-512 nor AVX2, output rows of
/// more than four vectors, or rows filling less than half of their vectors), for the batched path to
/// compute instead.
fn forward_direct<T: Scalar>(
    window: &Window,
    (w, b): (&DMatrix<T>, &DMatrix<T>),
    x: &[T],
    zs: &mut [T],
    rectify: bool,
) -> Result<bool> {
    let shape = DirectWindow {
        channels: window.channels,
        height: window.height,
        width: window.width,
        kernel: window.kernel,
        padding: window.padding,
    };
    Ok(conv_direct(
        w.as_slice(),
        b.as_slice(),
        &shape,
        x,
        zs,
        rectify,
    )?)
}

/// [`Conv2d`]'s backward on the examples `x` with upstream `dZ` columns `dz`: `dW ←
/// Σ_chunks (1/m) (dYᵀ)ᵀ U` into `dw` (overwritten), and, if asked, `dX` of the examples
/// into `dx` (zeroed by the caller), chunk by chunk.
fn backward_chunks<T: Scalar>(
    window: &Window,
    w: &DMatrix<T>,
    (x, dz, mut dx): (&[T], &[T], Option<&mut [T]>),
    (inv_m, rows): (T, usize),
    dw: &mut DMatrix<T>,
    s: &mut Scratch<T>,
) -> Result<()> {
    let (out, p) = (w.nrows(), window.positions());
    let step = chunk(window);
    fit_buffer(dw, w.nrows(), w.ncols());
    for (n, (xs, dzc)) in x
        .chunks(step * rows)
        .zip(dz.chunks(step * out * p))
        .enumerate()
    {
        // dYᵀ[(j·P + q, o)] = dZ[(o·P + q, j)]
        let mp = xs.len() / rows * p;
        fit_buffer(&mut s.y, mp, out);
        let dys = s.y.as_mut_slice();
        for (j, dzj) in dzc.chunks_exact(out * p).enumerate() {
            for (o, dzo) in dzj.chunks_exact(p).enumerate() {
                dys[o * mp + j * p..o * mp + (j + 1) * p].copy_from_slice(dzo);
            }
        }
        unfold(window, xs, rows, &mut s.cols);
        let beta = if n == 0 { T::zero() } else { T::one() };
        // dW_mat (+)= (1/m) (dYᵀ)ᵀ U
        gemm_into(inv_m, &s.y, Trans::Yes, &s.cols, Trans::No, beta, dw)?;
        if let Some(dx) = dx.as_deref_mut() {
            let d_chunk = &mut dx[n * step * rows..][..xs.len()];
            fit_buffer(&mut s.dcols, mp, w.ncols());
            // dU = dYᵀ W_mat
            gemm_into(
                T::one(),
                &s.y,
                Trans::No,
                w,
                Trans::No,
                T::zero(),
                &mut s.dcols,
            )?;
            fold(window, &s.dcols, d_chunk, rows);
        }
    }
    Ok(())
}

/// Examples in the first of a batch's two halves of chunks: the first `⌈n/2⌉` of its `n`
/// chunks. A function of the batch's width alone, so the halves (and the order in which
/// their weight gradients are added) are the same on any thread count.
fn halves(w: &Window, m: usize) -> usize {
    let step = chunk(w);
    (m.div_ceil(step).div_ceil(2) * step).min(m)
}

/// Examples per unfolded chunk: as many as fit [`UNFOLD_VALUES`], at least one.
fn chunk(w: &Window) -> usize {
    let per_example = w.unfolded_len().max(1);
    (UNFOLD_VALUES / per_example).max(1)
}

/// `U` of the examples (columns) `x`, into `cols`, resized to `(m·P, K)`. Column
/// `r = c·kh·kw + ky·kw + kx` holds, for each example and output row `oy`, the `W_out`
/// pixels its windows read at offset `(ky, kx)` of channel `c` (zeros in the padding).
fn unfold<T: Scalar>(w: &Window, x: &[T], rows: usize, cols: &mut DMatrix<T>) {
    let (k, p, step) = (w.channels * w.area(), w.positions(), w.stride[1]);
    let m = x.len() / rows;
    fit_buffer(cols, m * p, k);
    for (r, col) in cols.as_mut_slice().chunks_exact_mut(m * p).enumerate() {
        let (c, ky, kx) = w.entry(r);
        let Some(columns) = w.columns(kx) else {
            col.fill(T::zero());
            continue;
        };
        if step == 1 {
            // Contiguous runs, moved as whole blocks (see `unfold_runs`).
            let entry = (c, ky, kx, columns);
            match w.out_width {
                0..=8 => unfold_runs::<T, 8>(w, x, rows, entry, col),
                9..=16 => unfold_runs::<T, 16>(w, x, rows, entry, col),
                17..=32 => unfold_runs::<T, 32>(w, x, rows, entry, col),
                _ => unfold_runs::<T, 0>(w, x, rows, entry, col),
            }
            continue;
        }
        for (xj, col_j) in x.chunks_exact(rows).zip(col.chunks_exact_mut(p)) {
            for (oy, dst) in col_j.chunks_exact_mut(w.out_width).enumerate() {
                let Some(Run { start, lo, hi }) = w.run(columns, c, oy, ky, kx) else {
                    dst.fill(T::zero());
                    continue;
                };
                // (zero-length fills still cost a call each)
                if lo > 0 {
                    dst[..lo].fill(T::zero());
                }
                if hi < dst.len() {
                    dst[hi..].fill(T::zero());
                }
                let read = xj[start..].iter().step_by(step);
                dst[lo..hi].iter_mut().zip(read).for_each(|(d, v)| *d = *v);
            }
        }
    }
}

/// One column of `U` (window entry `(c, ky, kx)` with its [`Window::columns`]) with
/// stride 1, where every output row reads a contiguous run of pixels, for output rows of
/// at most `N` values (`N = 0`: any length).
///
/// A run of a few values cost a library call to copy, and so did each zero fill (for C1,
/// the digits-sized CNN, 6 values and a fifth of its prediction). Here every run and fill
/// moves `N` values at once wherever both sides have them, and what it writes past its
/// end lies in later rows of the column, which are written after it (in order: the zeros
/// before a run, the run, the zeros after it).
fn unfold_runs<T: Scalar, const N: usize>(
    w: &Window,
    x: &[T],
    rows: usize,
    (c, ky, kx, columns): (usize, usize, usize, (usize, usize)),
    col: &mut [T],
) {
    let (p, wo) = (w.positions(), w.out_width);
    let m = x.len() / rows;
    for j in 0..m {
        for oy in 0..w.out_height {
            let at = j * p + oy * wo;
            let Some(Run { start, lo, hi }) = w.run(columns, c, oy, ky, kx) else {
                put_zeros::<T, N>(col, at, wo);
                continue;
            };
            if lo > 0 {
                put_zeros::<T, N>(col, at, lo);
            }
            put::<T, N>(col, at + lo, hi - lo, &x[j * rows + start..]);
            if hi < wo {
                put_zeros::<T, N>(col, at + hi, wo - hi);
            }
        }
    }
}

/// `dst[at..at + len] ← src[..len]`, as a move of `N ≥ len` values where `dst` and `src`
/// hold them (writing past `at + len`), otherwise exactly.
#[inline(always)]
fn put<T: Copy, const N: usize>(dst: &mut [T], at: usize, len: usize, src: &[T]) {
    let block = dst.get_mut(at..).and_then(|d| d.first_chunk_mut::<N>());
    match (block, src.first_chunk::<N>()) {
        (Some(d), Some(s)) if N > 0 => *d = *s,
        _ => put_exactly(&mut dst[at..at + len], &src[..len]),
    }
}

/// `dst[at..at + len] ← 0`, as [`put`] moves.
#[inline(always)]
fn put_zeros<T: Scalar, const N: usize>(dst: &mut [T], at: usize, len: usize) {
    match dst.get_mut(at..).and_then(|d| d.first_chunk_mut::<N>()) {
        Some(d) if N > 0 => *d = [T::zero(); N],
        _ => fill_exactly(&mut dst[at..at + len]),
    }
}

/// `dst ← src`, out of line: inlined, the compiler merged [`put`]'s fixed-size move into
/// this call's library copy.
#[cold]
#[inline(never)]
fn put_exactly<T: Copy>(dst: &mut [T], src: &[T]) {
    dst.copy_from_slice(src);
}

/// `dst ← 0`, out of line, as [`put_exactly`].
#[cold]
#[inline(never)]
fn fill_exactly<T: Scalar>(dst: &mut [T]) {
    dst.fill(T::zero());
}

/// `dX += fold(dU)` for the examples (columns) `dx`: every window entry adds its
/// gradient to the pixel it read. The mirror of [`unfold`].
fn fold<T: Scalar>(w: &Window, dcols: &DMatrix<T>, dx: &mut [T], rows: usize) {
    let (m, p, step) = (dx.len() / rows, w.positions(), w.stride[1]);
    for (r, col) in dcols.as_slice().chunks_exact(m * p).enumerate() {
        let (c, ky, kx) = w.entry(r);
        let Some(columns) = w.columns(kx) else {
            continue;
        };
        for (dxj, col_j) in dx.chunks_exact_mut(rows).zip(col.chunks_exact(p)) {
            for (oy, g) in col_j.chunks_exact(w.out_width).enumerate() {
                let Some(Run { start, lo, hi }) = w.run(columns, c, oy, ky, kx) else {
                    continue;
                };
                let g = &g[lo..hi];
                if step == 1 {
                    let adds = dxj[start..start + g.len()].iter_mut();
                    adds.zip(g).for_each(|(d, v)| *d += *v);
                } else {
                    let adds = dxj[start..].iter_mut().step_by(step);
                    adds.zip(g).for_each(|(d, v)| *d += *v);
                }
            }
        }
    }
}

/// `Σ xᵢ` in 8 interleaved partial sums, added at the end: vectorised, unlike a
/// left-to-right sum, and in a fixed order for a given length.
fn sum<T: Scalar>(x: &[T]) -> T {
    let mut lanes = [T::zero(); 8];
    let chunks = x.chunks_exact(lanes.len());
    let tail = chunks.remainder();
    for chunk in chunks {
        lanes.iter_mut().zip(chunk).for_each(|(s, &v)| *s += v);
    }
    lanes.iter_mut().zip(tail).for_each(|(s, &v)| *s += v);
    lanes.iter().fold(T::zero(), |s, &l| s + l)
}

/// Moves a buffer out, leaving an empty matrix (which owns no allocation).
fn take<T: Scalar>(m: &mut DMatrix<T>) -> DMatrix<T> {
    std::mem::replace(m, DMatrix::zeros(0, 0))
}

impl<T: Scalar> fmt::Display for Conv2d<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = &self.window;
        write!(
            f,
            "Conv2d({}→{}, {}",
            w.channels,
            self.weights().nrows(),
            Pair(w.kernel)
        )?;
        if w.stride != [1, 1] {
            write!(f, ", stride {}", Pair(w.stride))?;
        }
        if w.padding != [0, 0] {
            write!(f, ", padding {}", Pair(w.padding))?;
        }
        write!(f, ", {})", self.activation)
    }
}

impl<T: Scalar> Layer<T> for Conv2d<T> {
    fn input_shape(&self) -> FeatureShape {
        self.window.input_shape()
    }

    fn output_shape(&self) -> FeatureShape {
        self.window.output_shape(self.weights().nrows())
    }

    fn forward(&mut self, input: &DMatrix<T>, _mode: Mode) -> Result<()> {
        self.check_input(input)?;
        // Move the buffers out (no allocation: an empty matrix holds none) so that the
        // helpers can read the parameters while writing them.
        let (mut halves, mut z) = (
            std::mem::replace(&mut self.halves, [Scratch::new(), Scratch::new()]),
            take(&mut self.z),
        );
        let done = self.pre_activation_into(input, &mut halves, &mut z, false);
        (self.halves, self.z) = (halves, z);
        done?;
        fit_buffer(&mut self.a, self.z.nrows(), self.z.ncols());
        self.activation.forward_into(&self.z, &mut self.a)?; // A = g(Z)
        Ok(())
    }

    fn output(&self) -> Option<&DMatrix<T>> {
        Some(&self.a)
    }

    fn backward(
        &mut self,
        input: &DMatrix<T>,
        upstream: Upstream<'_, T>,
        d_input: Option<&mut DMatrix<T>>,
    ) -> Result<()> {
        self.check_input(input)?;
        let m = input.ncols();
        if m == 0 {
            return Err(TrainError::EmptyData {
                what: "conv2d backward batch",
            });
        }
        let (out, p, rows) = (
            self.weights().nrows(),
            self.window.positions(),
            input.nrows(),
        );
        if self.z.ncols() != m {
            // The batch of the last forward.
            return Err(TrainError::BadShape {
                what: "conv2d backward batch",
                expected: (input.nrows(), self.z.ncols()),
                found: input.shape(),
            });
        }
        let dz = upstream_pre_activation(
            "conv2d upstream gradient dZ",
            upstream,
            (self.activation, &self.z, &self.a),
            &mut self.dz,
        )?;
        let inv_m = T::one() / T::from_count(m);
        let dzs = dz.as_slice();
        let [w, b] = &mut self.params;
        // db[o] = (1/m) Σ_j Σ_q dZ[(o·P + q, j)]
        let db = b.value_and_grad_mut().1;
        db.fill(T::zero());
        for dzj in dzs.chunks_exact(out * p) {
            for (o, dzo) in dzj.chunks_exact(p).enumerate() {
                db[o] += sum(dzo);
            }
        }
        *db *= inv_m;
        let (w, dw) = w.value_and_grad_mut();
        let window = &self.window;
        // dX of each half's examples is built in its own columns.
        let d_input = d_input.map(|d| {
            fit_buffer(d, rows, m);
            d.fill(T::zero());
            d.as_mut_slice()
        });
        let at = halves(window, m);
        let (x0, x1) = input.as_slice().split_at(at * rows);
        let (dz0, dz1) = dzs.split_at(at * out * p);
        let (dx0, dx1) = match d_input {
            Some(d) => {
                let (d0, d1) = d.split_at_mut(at * rows);
                (Some(d0), Some(d1))
            }
            None => (None, None),
        };
        let [s0, s1] = &mut self.halves;
        let mut dw1 = take(&mut s1.dw);
        let (mut first, mut second) = (Ok(()), Ok(()));
        let scale = (inv_m, rows);
        join(
            || first = backward_chunks(window, w, (x0, dz0, dx0), scale, dw, s0),
            || {
                if !x1.is_empty() {
                    second = backward_chunks(window, w, (x1, dz1, dx1), scale, &mut dw1, s1);
                }
            },
        );
        if !x1.is_empty() && first.is_ok() && second.is_ok() {
            *dw += &dw1; // the halves in a fixed order
        }
        s1.dw = dw1;
        first.and(second)
    }

    fn infer_full(&self, input: &DMatrix<T>) -> Result<(Option<DMatrix<T>>, DMatrix<T>)> {
        self.check_input(input)?;
        let mut z = DMatrix::zeros(0, 0);
        with_infer_scratch(|halves| self.pre_activation_into(input, halves, &mut z, false))?;
        let mut a = DMatrix::zeros(z.nrows(), z.ncols());
        self.activation.forward_into(&z, &mut a)?;
        Ok((Some(z), a))
    }

    fn infer(&self, input: &DMatrix<T>) -> Result<DMatrix<T>> {
        let mut out = DMatrix::zeros(0, 0);
        self.infer_into(input, &mut out)?;
        Ok(out)
    }

    /// `Z` straight into `out`, then `A = g(Z)` in place (a ReLU as `Z` is written: a
    /// pass of its own over C2's first layer's output was 3% of its prediction); the
    /// chunks' `U` and `Yᵀ` are this thread's inference buffers.
    fn infer_into(&self, input: &DMatrix<T>, out: &mut DMatrix<T>) -> Result<()> {
        self.check_input(input)?;
        let rectify = self.activation == Activation::Relu;
        with_infer_scratch(|halves| self.pre_activation_into(input, halves, out, rectify))?;
        if !rectify {
            self.activation.forward_in_place(out);
        }
        Ok(())
    }

    fn infer_lanes(
        &self,
        input: &[Lanes<T>],
        output: &mut [Lanes<T>],
        padded: &mut Vec<Lanes<T>>,
    ) -> bool {
        let parameters = (self.weights().as_slice(), self.bias().as_slice());
        let geometry = (&self.window, &self.lane_entries[..]);
        lanes::conv(geometry, parameters, self.activation, input, padded, output).is_ok()
    }

    fn activation(&self) -> Option<Activation> {
        Some(self.activation)
    }

    fn pre_activation(&self) -> Option<&DMatrix<T>> {
        Some(&self.z)
    }

    fn params(&self) -> &[Param<T>] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [Param<T>] {
        &mut self.params
    }

    fn is_differentiable(&self) -> bool {
        self.activation.is_differentiable()
    }

    fn work_per_example(&self) -> usize {
        self.weights().len().saturating_mul(self.window.positions())
    }

    fn batch_wide_products(&self) -> bool {
        false
    }

    fn record(&self) -> Option<LayerRecord> {
        Some(LayerRecord::Builtin(LayerSpec::Conv2d(self.config())))
    }
}
