//! The 2-D convolution layer (cross-correlation, as in every deep-learning library), computed
//! as one GEMM over an im2col matrix, and its backward.
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
//! as GEMMs  cols[(c·kh·kw + ky·kw + kx, j·P + oy·W_out + ox)] = X_j[c, oy·sh − ph + ky, ox·sw − pw + kx]
//!                                                             (0 in the padding)   im2col
//!           Y = W_mat · cols                        (C_out, m·P)         gemm_into
//!           Z[(o·P + p, j)] = Y[(o, j·P + p)] + b[o]                      scatter + bias
//!
//! backward  dZ = dA ∘ g'(Z)                         (or dZ from a fused loss)
//!           dY[(o, j·P + p)] = dZ[(o·P + p, j)]                           gather
//!           dW_mat = (1/m) dY · colsᵀ                                     gemm_into, Trans::Yes
//!           db[o] = (1/m) Σ_j Σ_p dZ[(o·P + p, j)]
//!           dcols = W_matᵀ · dY                                           gemm_into, Trans::Yes
//!           dX_j[c, y, x] = Σ of dcols over every (window, offset) that read (c, y, x)   col2im
//! ```
//!
//! Each entry of `W` is shared by every output position of every example — parameter
//! sharing — which is why its gradient is a sum over positions, and why a convolution
//! responds to a pattern the same way wherever the pattern is (translation equivariance).
//!
//! im2col and col2im use an index table built once per layer (`P × C·kh·kw` input rows,
//! or padding), so they are single passes; the buffers (`cols`, `Y`, `Z`, `A`, `dZ`,
//! `dcols`) live in the layer: after the first batch of a size, a step allocates nothing.

use std::fmt;

use nalgebra::DMatrix;
use nn_init::nn_activations::Activation;
use nn_init::nn_activations::nn_core::{Scalar, Trans, fit_buffer, gemm_into};

use nn_init::Init;
use serde::{Deserialize, Serialize};

use super::layer::check_input_rows;
use super::layer::upstream_pre_activation;
use super::spec::{ParamSource, Place, weight_and_bias};
use crate::error::{Result, TrainError};
use crate::layers::LayerRecord;
use crate::layers::LayerSpec;
use crate::layers::window::{PAD, Pair, Window};
use crate::layers::{FeatureShape, Layer, LayerPlan, Mode, Param, Upstream};
use crate::limits::Limits;

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
    /// `table[p·K + r]`: the input row read by entry `r` of position `p`'s window, or PAD.
    table: Vec<usize>,
    /// `[W_mat, b]`.
    params: [Param<T>; 2],
    activation: Activation,
    /// The initializer recorded in model files (`None` when the weights were given).
    init: Option<Init>,
    cols: DMatrix<T>,
    y: DMatrix<T>,
    z: DMatrix<T>,
    a: DMatrix<T>,
    dz: DMatrix<T>,
    dcols: DMatrix<T>,
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
        let mut table = Vec::new();
        table
            .try_reserve_exact(window.unfolded_len())
            .map_err(|_| too_large("index table", window.unfolded_len()))?;
        for oy in 0..window.out_height {
            for ox in 0..window.out_width {
                for c in 0..channels {
                    for ky in 0..kernel[0] {
                        for kx in 0..kernel[1] {
                            table.push(window.input_row(c, oy, ox, ky, kx));
                        }
                    }
                }
            }
        }
        let out = w.nrows();
        let weight = Param::new("weight", w)
            .decayed()
            .with_file_shape(vec![out, channels, kernel[0], kernel[1]])?;
        Ok(Self {
            window,
            table,
            params: [weight, Param::new("bias", b)],
            activation,
            init: None,
            cols: DMatrix::zeros(k, 0),
            y: DMatrix::zeros(out, 0),
            z: DMatrix::zeros(out_len, 0),
            a: DMatrix::zeros(out_len, 0),
            dz: DMatrix::zeros(out_len, 0),
            dcols: DMatrix::zeros(k, 0),
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

    /// `cols = im2col(X)`, resized to `(C_in·kh·kw, m·P)`.
    fn im2col(&self, x: &DMatrix<T>, cols: &mut DMatrix<T>) {
        let k = self.weights().ncols();
        let (p, m) = (self.window.positions(), x.ncols());
        fit_buffer(cols, k, m * p);
        let xs = x.as_slice();
        let rows = x.nrows();
        for (j, block) in cols.as_mut_slice().chunks_exact_mut(k * p).enumerate() {
            let xj = &xs[j * rows..(j + 1) * rows];
            for (dst, idx) in block.iter_mut().zip(&self.table) {
                *dst = if *idx == PAD { T::zero() } else { xj[*idx] };
            }
        }
    }

    /// `dX = col2im(dcols)`: every window entry adds its gradient to the pixel it read.
    fn col2im(&self, dcols: &DMatrix<T>, dx: &mut DMatrix<T>) {
        let (k, p) = (self.weights().ncols(), self.window.positions());
        let rows = dx.nrows();
        dx.fill(T::zero());
        let dxs = dx.as_mut_slice();
        for (j, block) in dcols.as_slice().chunks_exact(k * p).enumerate() {
            let dxj = &mut dxs[j * rows..(j + 1) * rows];
            for (g, idx) in block.iter().zip(&self.table) {
                if *idx != PAD {
                    dxj[*idx] += *g;
                }
            }
        }
    }

    /// `Z[(o·P + p, j)] = Y[(o, j·P + p)] + b[o]`.
    fn scatter_bias(&self, y: &DMatrix<T>, z: &mut DMatrix<T>) {
        let (out, p) = (self.weights().nrows(), self.window.positions());
        let ys = y.as_slice();
        for (j, zj) in z.as_mut_slice().chunks_exact_mut(out * p).enumerate() {
            for (o, zo) in zj.chunks_exact_mut(p).enumerate() {
                let bias = self.bias()[o];
                for (q, v) in zo.iter_mut().enumerate() {
                    *v = ys[o + out * (j * p + q)] + bias;
                }
            }
        }
    }

    /// `Z = W_mat · im2col(X) + b` laid out per example, into `cols`, `y` and `z`.
    fn pre_activation_into(
        &self,
        x: &DMatrix<T>,
        cols: &mut DMatrix<T>,
        y: &mut DMatrix<T>,
        z: &mut DMatrix<T>,
    ) -> Result<()> {
        let (out, p, m) = (self.weights().nrows(), self.window.positions(), x.ncols());
        self.im2col(x, cols);
        fit_buffer(y, out, m * p);
        gemm_into(
            T::one(),
            self.weights(),
            Trans::No,
            cols,
            Trans::No,
            T::zero(),
            y,
        )?; // Y = W_mat cols
        fit_buffer(z, out * p, m);
        self.scatter_bias(y, z); // Z = Y (per example) + b
        Ok(())
    }
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
        let (mut cols, mut y, mut z) = (take(&mut self.cols), take(&mut self.y), take(&mut self.z));
        let done = self.pre_activation_into(input, &mut cols, &mut y, &mut z);
        (self.cols, self.y, self.z) = (cols, y, z);
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
        let (out, p) = (self.weights().nrows(), self.window.positions());
        if self.cols.ncols() != m * p || self.z.ncols() != m {
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
        // dY[(o, j·P + q)] = dZ[(o·P + q, j)], into the forward's Y buffer (same shape).
        let inv_m = T::one() / T::from_count(m);
        let dzs = dz.as_slice();
        let dys = self.y.as_mut_slice();
        for (j, dzj) in dzs.chunks_exact(out * p).enumerate() {
            for (o, dzo) in dzj.chunks_exact(p).enumerate() {
                for (q, &g) in dzo.iter().enumerate() {
                    dys[o + out * (j * p + q)] = g;
                }
            }
        }
        let [w, b] = &mut self.params;
        // db[o] = (1/m) Σ_j Σ_q dZ[(o·P + q, j)]
        let db = b.value_and_grad_mut().1;
        db.fill(T::zero());
        for dzj in dzs.chunks_exact(out * p) {
            for (o, dzo) in dzj.chunks_exact(p).enumerate() {
                db[o] += dzo.iter().fold(T::zero(), |s, &g| s + g);
            }
        }
        *db *= inv_m;
        let (w, dw) = w.value_and_grad_mut();
        gemm_into(
            inv_m,
            &self.y,
            Trans::No,
            &self.cols,
            Trans::Yes,
            T::zero(),
            dw,
        )?; // dW_mat = (1/m) dY colsᵀ
        if let Some(d_in) = d_input {
            fit_buffer(&mut self.dcols, w.ncols(), m * p);
            gemm_into(
                T::one(),
                w,
                Trans::Yes,
                &self.y,
                Trans::No,
                T::zero(),
                &mut self.dcols,
            )?; // dcols = W_matᵀ dY
            fit_buffer(d_in, input.nrows(), m);
            self.col2im(&self.dcols, d_in); // dX = col2im(dcols)
        }
        Ok(())
    }

    fn infer_full(&self, input: &DMatrix<T>) -> Result<(Option<DMatrix<T>>, DMatrix<T>)> {
        self.check_input(input)?;
        let (mut cols, mut y, mut z) = (
            DMatrix::zeros(0, 0),
            DMatrix::zeros(0, 0),
            DMatrix::zeros(0, 0),
        );
        self.pre_activation_into(input, &mut cols, &mut y, &mut z)?;
        let mut a = DMatrix::zeros(z.nrows(), z.ncols());
        self.activation.forward_into(&z, &mut a)?;
        Ok((Some(z), a))
    }

    fn infer(&self, input: &DMatrix<T>) -> Result<DMatrix<T>> {
        Ok(self.infer_full(input)?.1)
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

    fn record(&self) -> Option<LayerRecord> {
        Some(LayerRecord::Builtin(LayerSpec::Conv2d(self.config())))
    }
}
