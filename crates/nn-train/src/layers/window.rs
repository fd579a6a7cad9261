//! The sliding-window geometry shared by convolution and pooling, and its validation.
//!
//! Along one axis, an input of `n` values, zero-padded by `p` on both sides, is read by
//! windows of `k` values that start every `s` values:
//!
//! ```text
//! out = ⌊(n + 2p − k) / s⌋ + 1            window o reads input rows o·s − p … o·s − p + k − 1
//! ```
//!
//! The floor is PyTorch's. What PyTorch does silently is an error here: a window larger
//! than the padded input, and a stride that leaves real input rows (or columns) that no
//! window ever reads (`(n + 2p − k) mod s > p`), since that input would be ignored.
//!
//! An image example is one column of `C×H×W` values, channel-major: pixel `(c, y, x)` is
//! row `c·H·W + y·W + x` of the batch matrix.

use std::fmt;

use crate::error::TrainError;
use crate::layers::FeatureShape;

/// Sentinel in an index table: the window reads zero padding there.
pub(crate) const PAD: usize = usize::MAX;

/// An `a×b` pair, displayed as `a×b`.
pub(crate) struct Pair(pub [usize; 2]);

impl fmt::Display for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{}", self.0[0], self.0[1])
    }
}

/// The pixels one output row reads at one window entry ([`Window::run`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// The first pixel's row in an example's column; the next ones follow every `sw`.
    pub start: usize,
    /// The output columns that read them.
    pub lo: usize,
    pub hi: usize,
}

/// A validated window geometry over `channels × height × width` inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    /// Input channels, height, width.
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// Kernel `[kh, kw]`, stride `[sh, sw]`, zero padding `[ph, pw]`.
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    /// Output height and width.
    pub out_height: usize,
    pub out_width: usize,
}

/// The largest stride an error message suggests in place of one that does not fit.
const MAX_SUGGESTED_STRIDE: usize = 64;

/// The output length along one axis, or why the window does not fit.
fn axis(axis: &str, n: usize, k: usize, s: usize, p: usize) -> Result<usize, String> {
    if k == 0 || s == 0 {
        return Err(format!(
            "kernel and stride must be at least 1, found kernel {k} and stride {s} along the \
             {axis}"
        ));
    }
    let Some(padded) = p.checked_mul(2).and_then(|p2| n.checked_add(p2)) else {
        return Err(format!(
            "the padded {axis} {n} + 2×{p} is more than usize::MAX; use a padding below the \
             kernel's {axis} {k}"
        ));
    };
    if k > padded {
        return Err(format!(
            "the kernel's {axis} {k} is larger than the input's {axis} {n} (+ 2×{p} padding \
             = {padded}); use a kernel of at most {padded} or pad the input"
        ));
    }
    let rest = (padded - k) % s;
    if rest > p {
        let unread = rest - p;
        // Only small strides are suggested: a file may declare a stride of 2⁶³.
        let fitting: Vec<String> = (1..s.min(MAX_SUGGESTED_STRIDE + 1))
            .filter(|t| (padded - k) % t <= p)
            .map(|t| t.to_string())
            .collect();
        return Err(format!(
            "stride {s} does not fit the {axis}: windows of {k} every {s} over {n} (+ 2×{p} \
             padding) never read the last {unread} input value(s) along the {axis}; use \
             stride {} or change the kernel or padding",
            fitting.join(" or ")
        ));
    }
    Ok((padded - k) / s + 1)
}

impl Window {
    /// Validates a window over `[channels, height, width]` inputs; the error text says what
    /// does not fit and what would.
    pub fn new(
        [channels, height, width]: [usize; 3],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<Self, String> {
        if channels == 0 || height == 0 || width == 0 {
            return Err(format!(
                "needs a non-empty image input, found {channels}×{height}×{width}"
            ));
        }
        let out_height = axis("height", height, kernel[0], stride[0], padding[0])?;
        let out_width = axis("width", width, kernel[1], stride[1], padding[1])?;
        // Every index a layer computes from the window is below one of these products:
        // checking them once makes all later arithmetic on the window overflow-free.
        let products = [
            (
                "the input's values per example",
                [channels, height, width, 1],
            ),
            (
                "the output positions per channel",
                [out_height, out_width, 1, 1],
            ),
            (
                "the unfolded input's values per example (channels·kh·kw·positions)",
                [
                    channels,
                    kernel[0],
                    kernel[1],
                    out_height.saturating_mul(out_width),
                ],
            ),
            (
                "the padded input's values per channel",
                [
                    height.saturating_add(padding[0].saturating_mul(2)),
                    width.saturating_add(padding[1].saturating_mul(2)),
                    1,
                    1,
                ],
            ),
        ];
        for (what, factors) in products {
            if factors
                .iter()
                .try_fold(1usize, |a, &f| a.checked_mul(f))
                .is_none()
            {
                return Err(format!(
                    "{what}, {}, is more than usize::MAX",
                    factors.map(|f| f.to_string()).join("·")
                ));
            }
        }
        Ok(Self {
            channels,
            height,
            width,
            kernel,
            stride,
            padding,
            out_height,
            out_width,
        })
    }

    /// The window of the image layer `what` (a convolution or pooling) over `input`.
    ///
    /// # Errors
    /// [`TrainError::BadInput`] naming `what` if `input` is not an image or the kernel,
    /// stride and padding do not fit it.
    pub fn of_layer(
        what: &'static str,
        input: FeatureShape,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> crate::error::Result<Self> {
        let FeatureShape::Image {
            channels,
            height,
            width,
        } = input
        else {
            return Err(TrainError::BadInput {
                what,
                expected: "an image (channels × height × width)".into(),
                found: format!("a flat vector of {input}"),
            });
        };
        Self::new([channels, height, width], kernel, stride, padding).map_err(|problem| {
            TrainError::BadInput {
                what,
                expected: "a kernel, stride and padding that fit the input".into(),
                found: problem,
            }
        })
    }

    /// The shape of one input example.
    pub fn input_shape(&self) -> FeatureShape {
        FeatureShape::Image {
            channels: self.channels,
            height: self.height,
            width: self.width,
        }
    }

    /// The shape of one output example with `channels` output channels.
    pub fn output_shape(&self, channels: usize) -> FeatureShape {
        FeatureShape::Image {
            channels,
            height: self.out_height,
            width: self.out_width,
        }
    }

    /// Number of values one example has once unfolded for a convolution,
    /// `C_in·kh·kw·P` (checked to fit `usize` when the window was made).
    pub fn unfolded_len(&self) -> usize {
        self.channels * self.area() * self.positions()
    }

    /// Number of output positions per channel, `P = out_h · out_w`.
    pub fn positions(&self) -> usize {
        self.out_height * self.out_width
    }

    /// Number of values one window reads from one channel, `kh · kw`.
    pub fn area(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// Window entry `r = c·kh·kw + ky·kw + kx` as `(c, ky, kx)`.
    pub fn entry(&self, r: usize) -> (usize, usize, usize) {
        let [kh, kw] = self.kernel;
        (r / (kh * kw), r / kw % kh, r % kw)
    }

    /// The output columns `lo..hi` whose pixel at window column `kx` is real (not
    /// padding), `None` if none is. The same for every output row and channel, so it is
    /// computed once per window entry (it divides by the stride).
    #[inline]
    pub fn columns(&self, kx: usize) -> Option<(usize, usize)> {
        let (s, p) = (self.stride[1], self.padding[1]);
        // Output columns whose pixel `ox·sw + kx − pw` lies in `0..width`.
        let lo = p.saturating_sub(kx).div_ceil(s);
        let hi = (self.width + p).saturating_sub(kx).div_ceil(s);
        let hi = hi.min(self.out_width);
        (lo < hi).then_some((lo, hi))
    }

    /// What output row `oy` reads at window entry `(c, ky, kx)`, given its
    /// [`Window::columns`]: its output columns `lo..hi` read the real pixels `start,
    /// start + sw, …` of an example's column (the others read padding); `None` when the
    /// input row `oy·sh − ph + ky` is padding.
    #[inline]
    pub fn run(
        &self,
        (lo, hi): (usize, usize),
        c: usize,
        oy: usize,
        ky: usize,
        kx: usize,
    ) -> Option<Run> {
        let y = (oy * self.stride[0] + ky).checked_sub(self.padding[0])?;
        (y < self.height).then(|| Run {
            start: (c * self.height + y) * self.width + lo * self.stride[1] + kx - self.padding[1],
            lo,
            hi,
        })
    }

    /// The row of input pixel `(c, oy·sh − ph + ky, ox·sw − pw + kx)` in an example's
    /// column, or [`PAD`] if it lies in the zero padding.
    pub fn input_row(&self, c: usize, oy: usize, ox: usize, ky: usize, kx: usize) -> usize {
        let y = oy * self.stride[0] + ky;
        let x = ox * self.stride[1] + kx;
        if y < self.padding[0] || x < self.padding[1] {
            return PAD;
        }
        let (y, x) = (y - self.padding[0], x - self.padding[1]);
        if y >= self.height || x >= self.width {
            return PAD;
        }
        c * self.height * self.width + y * self.width + x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_sizes_follow_the_floor_formula() {
        let w = Window::new([1, 8, 8], [3, 3], [1, 1], [0, 0]).unwrap();
        assert_eq!((w.out_height, w.out_width), (6, 6));
        // PyTorch's ResNet downsampling: 3×3, stride 2, padding 1 on an even size.
        let w = Window::new([2, 8, 6], [3, 3], [2, 2], [1, 1]).unwrap();
        assert_eq!((w.out_height, w.out_width), (4, 3));
        assert!(Window::new([1, 3, 3], [2, 2], [2, 2], [0, 0]).is_err());
        assert!(Window::new([1, 2, 2], [3, 3], [1, 1], [0, 0]).is_err());
        assert!(Window::new([1, 4, 4], [0, 3], [1, 1], [0, 0]).is_err());
    }

    #[test]
    fn sizes_that_overflow_are_errors_not_wrapped_values() {
        // The padded height 28 + 2·2⁶³ wraps; 2⁶² padding leaves ~2¹²⁶ positions.
        for (input, padding) in [
            ([1, 28, 28], [1 << 63, 0]),
            ([1, 28, 28], [1 << 62, 1 << 62]),
            ([1 << 40, 1 << 40, 1 << 40], [0, 0]),
            ([usize::MAX, 3, 3], [0, 0]),
        ] {
            let err = Window::new(input, [3, 3], [1, 1], padding).unwrap_err();
            assert!(err.contains("usize::MAX"), "{input:?} {padding:?}: {err}");
        }
    }
}
