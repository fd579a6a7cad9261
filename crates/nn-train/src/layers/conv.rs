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
//! how model files store it, see [`Layer::file_shape`]). The bias has one entry per output
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

use super::layer::{set_weight_or_bias, upstream_pre_activation};
use crate::error::{Result, TrainError};
use crate::layers::window::{PAD, Pair, Window};
use crate::layers::{FeatureShape, Layer, Mode, ParamMut, Upstream};

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
/// let mut conv = Conv2d::new(input, w, b, [2, 2], [1, 1], [0, 0], Activation::Identity)?;
/// let x = DMatrix::from_column_slice(9, 1, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
/// conv.forward(&x, Mode::Eval)?;
/// assert_eq!(conv.output().as_slice(), &[12.0, 16.0, 24.0, 28.0]);
/// assert_eq!(conv.weight_shape(), [1, 1, 2, 2]); // PyTorch's [out, in, kh, kw]
/// assert_eq!(conv.file_shape("weight", 1, 4), [1, 1, 2, 2]); // as model files store it
/// # Ok::<(), nn_train::TrainError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Conv2d<T: Scalar> {
    window: Window,
    /// `table[p·K + r]`: the input row read by entry `r` of position `p`'s window, or PAD.
    table: Vec<usize>,
    w: DMatrix<T>,
    b: DMatrix<T>,
    activation: Activation,
    dw: DMatrix<T>,
    db: DMatrix<T>,
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
    /// `kernel = [kh, kw]`, `stride = [sh, sw]`, `padding = [ph, pw]`.
    ///
    /// # Errors
    /// [`TrainError::BadShape`] if the input is not an image, the window does not fit it
    /// (kernel larger than the padded input, a stride that leaves input unread), or the
    /// weights or bias have the wrong shape; [`TrainError::NonFiniteData`] for a NaN or
    /// infinite parameter.
    pub fn new(
        input: FeatureShape,
        w: DMatrix<T>,
        b: DMatrix<T>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        activation: Activation,
    ) -> Result<Self> {
        let window = Window::of_layer("conv2d input", input, kernel, stride, padding)?;
        let channels = window.channels;
        let k = channels * window.area();
        if w.nrows() == 0 || w.ncols() != k {
            return Err(TrainError::BadShape {
                what: "conv2d weights W",
                expected: format!(
                    "at least 1 × {k} (out channels × in channels·kh·kw = {channels}·{})",
                    window.area()
                ),
                found: format!("{}×{}", w.nrows(), w.ncols()),
            });
        }
        if b.shape() != (w.nrows(), 1) {
            return Err(TrainError::BadShape {
                what: "conv2d bias b",
                expected: format!("{}×1 (one per output channel)", w.nrows()),
                found: format!("{}×{}", b.nrows(), b.ncols()),
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
        Ok(Self {
            window,
            table,
            dw: DMatrix::zeros(out, k),
            db: DMatrix::zeros(out, 1),
            w,
            b,
            activation,
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
        &self.w
    }

    /// The weight `W[o, c, ky, kx]` (`None` out of range).
    pub fn weight(&self, o: usize, c: usize, ky: usize, kx: usize) -> Option<T> {
        let [kh, kw] = self.window.kernel;
        if o >= self.w.nrows() || c >= self.window.channels || ky >= kh || kx >= kw {
            return None;
        }
        Some(self.w[(o, c * kh * kw + ky * kw + kx)])
    }

    /// The weights' 4-D shape `[C_out, C_in, kh, kw]`: [`Conv2d::weights`] read row by row
    /// is this tensor in row-major order, PyTorch's `nn.Conv2d.weight` layout.
    pub fn weight_shape(&self) -> [usize; 4] {
        let [kh, kw] = self.window.kernel;
        [self.w.nrows(), self.window.channels, kh, kw]
    }

    /// The bias column `b: (C_out, 1)`.
    pub fn bias(&self) -> &DMatrix<T> {
        &self.b
    }

    /// The gradient `dW_mat` of the last backward pass (same layout as the weights).
    pub fn weight_grad(&self) -> &DMatrix<T> {
        &self.dw
    }

    /// The gradient `db` of the last backward pass.
    pub fn bias_grad(&self) -> &DMatrix<T> {
        &self.db
    }

    /// Number of output channels (filters).
    pub fn out_channels(&self) -> usize {
        self.w.nrows()
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

    fn check_input(&self, input: &DMatrix<T>) -> Result<()> {
        let n = self.input_shape().len();
        if input.nrows() != n {
            return Err(TrainError::BadShape {
                what: "conv2d input",
                expected: format!("{n} rows ({} per example)", self.input_shape()),
                found: format!("{} rows", input.nrows()),
            });
        }
        Ok(())
    }

    /// `cols = im2col(X)`, resized to `(C_in·kh·kw, m·P)`.
    fn im2col(&self, x: &DMatrix<T>, cols: &mut DMatrix<T>) {
        let k = self.w.ncols();
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
        let (k, p) = (self.w.ncols(), self.window.positions());
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
        let (out, p) = (self.w.nrows(), self.window.positions());
        let ys = y.as_slice();
        for (j, zj) in z.as_mut_slice().chunks_exact_mut(out * p).enumerate() {
            for (o, zo) in zj.chunks_exact_mut(p).enumerate() {
                let bias = self.b[o];
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
        let (out, p, m) = (self.w.nrows(), self.window.positions(), x.ncols());
        self.im2col(x, cols);
        fit_buffer(y, out, m * p);
        gemm_into(T::one(), &self.w, Trans::No, cols, Trans::No, T::zero(), y)?; // Y = W_mat cols
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
            self.w.nrows(),
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
        self.window.output_shape(self.w.nrows())
    }

    fn activation(&self) -> Option<Activation> {
        Some(self.activation)
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

    fn output(&self) -> &DMatrix<T> {
        &self.a
    }

    fn pre_activation(&self) -> Option<&DMatrix<T>> {
        Some(&self.z)
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
        let (out, p) = (self.w.nrows(), self.window.positions());
        if self.cols.ncols() != m * p || self.z.ncols() != m {
            return Err(TrainError::BadShape {
                what: "conv2d backward batch",
                expected: format!("{} columns (the batch of the last forward)", self.z.ncols()),
                found: format!("{m} columns"),
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
        // db[o] = (1/m) Σ_j Σ_q dZ[(o·P + q, j)]
        self.db.fill(T::zero());
        for dzj in dzs.chunks_exact(out * p) {
            for (o, dzo) in dzj.chunks_exact(p).enumerate() {
                self.db[o] += dzo.iter().fold(T::zero(), |s, &g| s + g);
            }
        }
        self.db *= inv_m;
        gemm_into(
            inv_m,
            &self.y,
            Trans::No,
            &self.cols,
            Trans::Yes,
            T::zero(),
            &mut self.dw,
        )?; // dW_mat = (1/m) dY colsᵀ
        if let Some(d_in) = d_input {
            fit_buffer(&mut self.dcols, self.w.ncols(), m * p);
            gemm_into(
                T::one(),
                &self.w,
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

    fn for_each_param(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        f(ParamMut {
            name: "weight",
            value: &mut self.w,
            grad: &mut self.dw,
            decays: true,
        });
        f(ParamMut {
            name: "bias",
            value: &mut self.b,
            grad: &mut self.db,
            decays: false,
        });
    }

    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'static str, &'a DMatrix<T>)) {
        f("weight", &self.w);
        f("bias", &self.b);
    }

    fn file_shape(&self, name: &str, rows: usize, cols: usize) -> Vec<usize> {
        match name {
            "weight" if (rows, cols) == self.w.shape() => self.weight_shape().to_vec(),
            "bias" if cols == 1 => vec![rows],
            _ => vec![rows, cols],
        }
    }

    fn set_param(&mut self, name: &str, value: DMatrix<T>) -> Result<()> {
        set_weight_or_bias("conv2d layer", (&mut self.w, &mut self.b), name, value)
    }

    fn is_differentiable(&self) -> bool {
        self.activation.is_differentiable()
    }
}
