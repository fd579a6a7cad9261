//! Max and average pooling over `kh × kw` windows of each channel, and their backward.
//!
//! Images are columns of `C×H×W` values, channel-major (pixel `(c, y, x)` at row
//! `c·H·W + y·W + x`); the output `C×H_out×W_out` has the same layout. Channel `c` of the
//! output reads only channel `c` of the input; windows start every `(sh, sw)` pixels
//! (no padding), with `H_out = ⌊(H − kh)/sh⌋ + 1` and a stride that leaves input unread
//! rejected when the layer is built.
//!
//! ```text
//! max pooling   A_j[c, oy, ox] = max_{ky,kx} X_j[c, oy·sh + ky, ox·sw + kx]
//!               dX_j[c, y*, x*] += dA_j[c, oy, ox]     at the window's arg-max (y*, x*)
//!                                                      (the first maximum on ties; the
//!                                                      subgradient PyTorch uses)
//! avg pooling   A_j[c, oy, ox] = (1/(kh·kw)) Σ_{ky,kx} X_j[c, oy·sh + ky, ox·sw + kx]
//!               dX_j[c, y, x] += dA_j[c, oy, ox] / (kh·kw)   for every (y, x) in the window
//! ```
//!
//! Pooling has no parameters. Max pooling caches the arg-max row of every output entry in
//! its forward (a `Vec` reused from batch to batch); both backward passes are one scatter.

use std::fmt;

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::{Scalar, fit_buffer};

use serde::{Deserialize, Serialize};

use super::layer::check_input_rows;
use super::layer::upstream_output;
use super::spec::{ParamSource, Place};
use crate::error::{Result, TrainError};
use crate::layers::LayerRecord;
use crate::layers::LayerSpec;
use crate::layers::lanes::{self, Lanes};
use crate::layers::window::{Pair, Window};
use crate::layers::{FeatureShape, Layer, LayerPlan, Mode, Upstream};
use crate::limits::Limits;

/// Which reduction a pooling window applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reduce {
    Max,
    Avg,
}

/// The state both pooling layers share: geometry, window offsets, output buffer.
#[derive(Debug, Clone)]
struct Pool<T: Scalar> {
    reduce: Reduce,
    window: Window,
    /// `base[o]`: the input row of the top-left pixel of output row `o`'s window.
    base: Vec<usize>,
    /// `offsets[ky·kw + kx] = ky·W + kx`: where each window entry is, from its top left
    /// (no padding, so every window lies inside the image).
    offsets: Vec<usize>,
    out: DMatrix<T>,
    /// Max pooling: the arg-max input row of each output entry (`o + rows_out·j`).
    argmax: Vec<usize>,
}

impl<T: Scalar> Pool<T> {
    fn new(
        reduce: Reduce,
        input: FeatureShape,
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> Result<Self> {
        let what = match reduce {
            Reduce::Max => "max-pooling input",
            Reduce::Avg => "average-pooling input",
        };
        let window = Window::of_layer(what, input, kernel, stride, [0, 0])?;
        let (channels, width) = (window.channels, window.width);
        let out_len = channels * window.positions();
        let mut base = Vec::new();
        base.try_reserve_exact(out_len)
            .map_err(|_| TrainError::TooLarge {
                what: format!("{what}: the pooling table"),
                found: format!("{out_len} entries"),
                limit: "what this machine can allocate".into(),
                raise: "",
            })?;
        for c in 0..channels {
            for oy in 0..window.out_height {
                for ox in 0..window.out_width {
                    base.push(window.input_row(c, oy, ox, 0, 0));
                }
            }
        }
        let offsets = (0..kernel[0])
            .flat_map(|ky| (0..kernel[1]).map(move |kx| ky * width + kx))
            .collect();
        Ok(Self {
            reduce,
            window,
            base,
            offsets,
            out: DMatrix::zeros(out_len, 0),
            argmax: Vec::new(),
        })
    }

    fn input_shape(&self) -> FeatureShape {
        self.window.input_shape()
    }

    fn output_shape(&self) -> FeatureShape {
        self.window.output_shape(self.window.channels)
    }

    fn check_input(&self, input: &DMatrix<T>) -> Result<()> {
        let what = match self.reduce {
            Reduce::Max => "max-pooling input",
            Reduce::Avg => "average-pooling input",
        };
        check_input_rows(what, self.input_shape().len(), input)
    }

    /// Pools `x` into `out` (resized); records arg-maxes when `argmax` is given.
    ///
    /// The loops run over window entries outside and output rows inside, so that the
    /// comparisons (or sums) of different outputs are independent and pipeline well.
    fn pool_into(&self, x: &DMatrix<T>, out: &mut DMatrix<T>, argmax: Option<&mut Vec<usize>>) {
        let rows_out = self.output_shape().len();
        let (rows_in, m) = (x.nrows(), x.ncols());
        fit_buffer(out, rows_out, m);
        let examples = x.as_slice().chunks_exact(rows_in);
        let outputs = out.as_mut_slice().chunks_exact_mut(rows_out);
        if self.window.kernel == [2, 2] && self.window.stride == [2, 2] {
            self.pool_2x2(x.as_slice(), out.as_mut_slice(), argmax);
            return;
        }
        let (first, rest) = self.offsets.split_at(1);
        let first = first[0];
        match (self.reduce, argmax) {
            (Reduce::Max, Some(am)) => {
                am.resize(rows_out * m, 0);
                for ((xj, oj), aj) in examples.zip(outputs).zip(am.chunks_exact_mut(rows_out)) {
                    for ((v, a), &b) in oj.iter_mut().zip(aj.iter_mut()).zip(&self.base) {
                        (*v, *a) = (xj[b + first], b + first);
                    }
                    for &off in rest {
                        for ((v, a), &b) in oj.iter_mut().zip(aj.iter_mut()).zip(&self.base) {
                            let r = b + off;
                            let (x, bigger) = (xj[r], xj[r] > *v); // strict: the first max wins
                            // selects rather than a branch: the comparison is unpredictable
                            *v = if bigger { x } else { *v };
                            *a = if bigger { r } else { *a };
                        }
                    }
                }
            }
            (Reduce::Max, None) => {
                for (xj, oj) in examples.zip(outputs) {
                    for (v, &b) in oj.iter_mut().zip(&self.base) {
                        *v = xj[b + first];
                    }
                    for &off in rest {
                        for (v, &b) in oj.iter_mut().zip(&self.base) {
                            let x = xj[b + off];
                            *v = if x > *v { x } else { *v };
                        }
                    }
                }
            }
            (Reduce::Avg, _) => {
                let inv_k = T::one() / T::from_count(self.offsets.len());
                for (xj, oj) in examples.zip(outputs) {
                    for (v, &b) in oj.iter_mut().zip(&self.base) {
                        *v = xj[b + first];
                    }
                    for &off in rest {
                        for (v, &b) in oj.iter_mut().zip(&self.base) {
                            *v += xj[b + off];
                        }
                    }
                    for v in oj.iter_mut() {
                        *v *= inv_k;
                    }
                }
            }
        }
    }

    /// [`Pool::pool_into`] for the most common window, 2×2 with stride 2: each output row
    /// `(c, oy)` reads two input rows, and each output the pairs at `2·ox` of both, in the
    /// order of [`Pool::offsets`] (so the first maximum wins, as in the general loop).
    fn pool_2x2(&self, x: &[T], out: &mut [T], mut argmax: Option<&mut Vec<usize>>) {
        let w = &self.window;
        let (rows_in, rows_out) = (self.input_shape().len(), self.output_shape().len());
        let (wo, width) = (w.out_width, w.width);
        if let Some(am) = argmax.as_deref_mut() {
            am.resize(out.len(), 0);
        }
        let examples = x.chunks_exact(rows_in).zip(out.chunks_exact_mut(rows_out));
        let quarter = T::one() / T::from_count(4);
        for (j, (xj, oj)) in examples.enumerate() {
            for (row, o) in oj.chunks_exact_mut(wo).enumerate() {
                let (c, oy) = (row / w.out_height, row % w.out_height);
                let top = (c * w.height + 2 * oy) * width;
                let (r0, r1) = (
                    &xj[top..top + 2 * wo],
                    &xj[top + width..top + width + 2 * wo],
                );
                match (self.reduce, argmax.as_deref_mut()) {
                    (Reduce::Max, None) => {
                        for (ox, v) in o.iter_mut().enumerate() {
                            let i = 2 * ox;
                            let mut best = r0[i];
                            for x in [r0[i + 1], r1[i], r1[i + 1]] {
                                best = if x > best { x } else { best };
                            }
                            *v = best;
                        }
                    }
                    (Reduce::Max, Some(am)) => {
                        let a = &mut am[j * rows_out + row * wo..j * rows_out + (row + 1) * wo];
                        for (ox, (v, r)) in o.iter_mut().zip(a).enumerate() {
                            let i = 2 * ox;
                            let (mut best, mut at) = (r0[i], top + i);
                            for (x, k) in [
                                (r0[i + 1], top + i + 1),
                                (r1[i], top + width + i),
                                (r1[i + 1], top + width + i + 1),
                            ] {
                                let bigger = x > best;
                                best = if bigger { x } else { best };
                                at = if bigger { k } else { at };
                            }
                            (*v, *r) = (best, at);
                        }
                    }
                    (Reduce::Avg, _) => {
                        for (ox, v) in o.iter_mut().enumerate() {
                            let i = 2 * ox;
                            *v = (r0[i] + r0[i + 1] + r1[i] + r1[i + 1]) * quarter;
                        }
                    }
                }
            }
        }
    }

    fn backward(
        &self,
        input: &DMatrix<T>,
        upstream: Upstream<'_, T>,
        d_input: Option<&mut DMatrix<T>>,
    ) -> Result<()> {
        self.check_input(input)?;
        let (rows_out, m) = (self.output_shape().len(), input.ncols());
        if self.out.ncols() != m {
            // The batch of the last forward.
            return Err(TrainError::BadShape {
                what: "pooling backward input",
                expected: (input.nrows(), self.out.ncols()),
                found: input.shape(),
            });
        }
        let da = upstream_output("pooling upstream gradient", upstream, (rows_out, m))?;
        let Some(dx) = d_input else {
            return Ok(());
        };
        let rows_in = input.nrows();
        fit_buffer(dx, rows_in, m);
        dx.fill(T::zero());
        let k = self.window.area();
        let inv_k = T::one() / T::from_count(k);
        let dxs = dx.as_mut_slice();
        for (j, daj) in da.as_slice().chunks_exact(rows_out).enumerate() {
            let dxj = &mut dxs[j * rows_in..(j + 1) * rows_in];
            match self.reduce {
                Reduce::Max => {
                    let am = &self.argmax[j * rows_out..(j + 1) * rows_out];
                    for (&g, &r) in daj.iter().zip(am) {
                        dxj[r] += g; // dX[arg-max] += dA
                    }
                }
                Reduce::Avg => {
                    for &off in &self.offsets {
                        for (&g, &b) in daj.iter().zip(&self.base) {
                            dxj[b + off] += g * inv_k; // dX[window] += dA / (kh·kw)
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn fmt_as(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_window(name, self.window.kernel, self.window.stride, f)
    }
}

/// `Name(kh×kw[, stride sh×sw])`, the stride only when it is not the kernel.
fn fmt_window(
    name: &str,
    kernel: [usize; 2],
    stride: [usize; 2],
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    write!(f, "{name}({}", Pair(kernel))?;
    if stride != kernel {
        write!(f, ", stride {}", Pair(stride))?;
    }
    write!(f, ")")
}

macro_rules! pooling_layer {
    ($name:ident, $config:ident, $type_name:literal, $reduce:expr, $display:literal, $doc:literal) => {
        #[doc = concat!("The configuration of a [`", stringify!($name), "`] layer, as model \
                         files store it: `{\"type\": \"", $type_name, "\", \"kernel\": [2, 2], \
                         \"stride\": [2, 2]}` (pairs are `[height, width]`).")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $config {
            /// `[kh, kw]`.
            pub kernel: [usize; 2],
            /// `[sh, sw]` (usually the kernel).
            pub stride: [usize; 2],
        }

        impl fmt::Display for $config {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt_window($display, self.kernel, self.stride, f)
            }
        }

        impl $config {
            /// Works out the layer for inputs of `input` shape without building it;
            /// `index` names it in errors.
            ///
            /// # Errors
            /// [`TrainError::InvalidArchitecture`] for a flat input, a kernel larger than
            /// the input or a stride that leaves input unread; [`TrainError::TooLarge`]
            /// beyond `limits`.
            pub fn plan(
                &self,
                input: FeatureShape,
                index: usize,
                limits: &Limits,
            ) -> Result<LayerPlan> {
                let place = Place { index, what: self };
                let window = place.image_window(input, self.kernel, self.stride, [0, 0])?;
                place.per_example(
                    limits,
                    "outputs per example",
                    &[window.channels, window.positions()],
                )?;
                Ok(LayerPlan::parameterless(window.output_shape(window.channels)))
            }

            /// Builds the layer.
            pub(crate) fn build<T: Scalar>(
                &self,
                _plan: &LayerPlan,
                input: FeatureShape,
                _place: (usize, u64),
                _source: ParamSource<'_, T>,
            ) -> Result<$name<T>> {
                $name::new(input, self.kernel, self.stride)
            }
        }

        #[doc = $doc]
        #[derive(Debug, Clone)]
        pub struct $name<T: Scalar>(Pool<T>);

        impl<T: Scalar> $name<T> {
            /// Pooling over `input` images with `kernel = [kh, kw]` windows every
            /// `stride = [sh, sw]` pixels (PyTorch's default stride is the kernel).
            ///
            /// # Errors
            /// [`TrainError::BadInput`] if the input is not an image, the kernel is larger
            /// than it, or the stride leaves input unread.
            pub fn new(
                input: FeatureShape,
                kernel: [usize; 2],
                stride: [usize; 2],
            ) -> Result<Self> {
                Pool::new($reduce, input, kernel, stride).map(Self)
            }

            /// `[kh, kw]`.
            pub fn kernel(&self) -> [usize; 2] {
                self.0.window.kernel
            }

            /// `[sh, sw]`.
            pub fn stride(&self) -> [usize; 2] {
                self.0.window.stride
            }
        }

        impl<T: Scalar> fmt::Display for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt_as($display, f)
            }
        }

        impl<T: Scalar> Layer<T> for $name<T> {
            fn input_shape(&self) -> FeatureShape {
                self.0.input_shape()
            }

            fn output_shape(&self) -> FeatureShape {
                self.0.output_shape()
            }

            fn forward(&mut self, input: &DMatrix<T>, _mode: Mode) -> Result<()> {
                self.0.check_input(input)?;
                let pool = &mut self.0;
                let mut out = std::mem::replace(&mut pool.out, DMatrix::zeros(0, 0));
                let mut argmax = std::mem::take(&mut pool.argmax);
                let record = (pool.reduce == Reduce::Max).then_some(&mut argmax);
                pool.pool_into(input, &mut out, record);
                (pool.out, pool.argmax) = (out, argmax);
                Ok(())
            }

            fn output(&self) -> Option<&DMatrix<T>> {
                Some(&self.0.out)
            }

            fn backward(
                &mut self,
                input: &DMatrix<T>,
                upstream: Upstream<'_, T>,
                d_input: Option<&mut DMatrix<T>>,
            ) -> Result<()> {
                self.0.backward(input, upstream, d_input)
            }

            fn infer(&self, input: &DMatrix<T>) -> Result<DMatrix<T>> {
                let mut out = DMatrix::zeros(0, 0);
                self.infer_into(input, &mut out)?;
                Ok(out)
            }

            fn infer_into(&self, input: &DMatrix<T>, out: &mut DMatrix<T>) -> Result<()> {
                self.0.check_input(input)?;
                self.0.pool_into(input, out, None);
                Ok(())
            }

            fn infer_lanes(
                &self,
                input: &[Lanes<T>],
                output: &mut [Lanes<T>],
                _: &mut Vec<Lanes<T>>,
            ) -> bool {
                lanes::pool(&self.0.window, self.0.reduce == Reduce::Max, input, output);
                true
            }

            fn record(&self) -> Option<LayerRecord> {
                Some(LayerRecord::Builtin(LayerSpec::$name($config {
                    kernel: self.kernel(),
                    stride: self.stride(),
                })))
            }
        }
    };
}

pooling_layer!(
    MaxPool2d,
    MaxPool2dConfig,
    "max_pool2d",
    Reduce::Max,
    "MaxPool2d",
    "Max pooling: each output is the largest input of its `kh × kw` window in the same \
     channel; the gradient flows to that maximum only (the first one on ties).\n\n\
     ```text\n\
     A_j[c, oy, ox] = max_{ky,kx} X_j[c, oy·sh + ky, ox·sw + kx]\n\
     dX_j[c, y*, x*] += dA_j[c, oy, ox]   at the window's arg-max (y*, x*)\n\
     ```\n\n\
     Images are columns of `C×H×W` values, channel-major; `H_out = ⌊(H − kh)/sh⌋ + 1`."
);

pooling_layer!(
    AvgPool2d,
    AvgPool2dConfig,
    "avg_pool2d",
    Reduce::Avg,
    "AvgPool2d",
    "Average pooling: each output is the mean of its `kh × kw` window in the same channel; \
     the gradient is shared equally by the window.\n\n\
     ```text\n\
     A_j[c, oy, ox] = (1/(kh·kw)) Σ_{ky,kx} X_j[c, oy·sh + ky, ox·sw + kx]\n\
     dX_j[c, y, x] += dA_j[c, oy, ox] / (kh·kw)   for every (y, x) of the window\n\
     ```\n\n\
     Images are columns of `C×H×W` values, channel-major; `H_out = ⌊(H − kh)/sh⌋ + 1`."
);
