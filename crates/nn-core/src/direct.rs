//! A stride-1 convolution computed where the image lies, without unfolding it: the
//! forward pass of a convolution layer.
//!
//! The batched path unfolds each chunk of examples into a matrix of windows (LeNet-5's C2:
//! 35k values copied per example, in runs of 10 or 28 pixels) and multiplies it by the
//! filters in one product: the unfolding alone was 38% of C2's prediction. Here a row of
//! outputs, its positions in one to four vectors, is computed for a block of filters whose
//! sums stay in registers: for every window entry `(c, ky, kx)` the input row `oy + ky` of
//! channel `c` is loaded at offset `kx` (one unaligned vector per vector of positions) and
//! multiplied into every filter of the block with that entry's weight broadcast. Each image
//! is first copied into a zero-padded buffer with a tail for the last vector's spare lanes,
//! which are computed and never stored.
//!
//! Each output is `b_o + Σ_{c, ky, kx} W[o, (c, ky, kx)] · x[c, oy + ky − ph, ox + kx − pw]`
//! summed in entry order: the same bits whatever the batch or the number of threads.

use crate::{CoreError, Scalar, expect_shape};

/// The shape of a stride-1 convolution, for [`conv_direct`]: images of `channels ×
/// height × width` values, zero padding of `padding = [ph, pw]` on each side, a window of
/// `kernel = [kh, kw]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectWindow {
    /// Input channels.
    pub channels: usize,
    /// Rows of an image (without the padding).
    pub height: usize,
    /// Values per row of an image (without the padding).
    pub width: usize,
    /// `[kh, kw]`.
    pub kernel: [usize; 2],
    /// `[ph, pw]`: zero rows above and below, zero columns left and right.
    pub padding: [usize; 2],
}

/// Most values of one padded image (`2²⁴`, 64 MiB of `f32`) that [`conv_direct`] copies
/// into its buffer; a larger one goes to the caller's batched path.
const MAX_PADDED_IMAGE: usize = 1 << 24;

/// `a · b · c`, `usize::MAX` if it overflows: never the length of a slice, so a window
/// whose sizes overflow fails the length checks instead of wrapping around.
fn product(a: usize, b: usize, c: usize) -> usize {
    a.saturating_mul(b).saturating_mul(c)
}

impl DirectWindow {
    /// Values per image, `channels · height · width` (`usize::MAX` if that overflows).
    pub fn image_len(&self) -> usize {
        product(self.channels, self.height, self.width)
    }

    /// Entries of a window, `channels · kh · kw` (`usize::MAX` if that overflows).
    fn entries(&self) -> usize {
        product(self.channels, self.kernel[0], self.kernel[1])
    }

    /// The padded image's `[rows, columns]` (saturating).
    fn padded(&self) -> [usize; 2] {
        let side = |n: usize, p: usize| n.saturating_add(p.saturating_mul(2));
        [
            side(self.height, self.padding[0]),
            side(self.width, self.padding[1]),
        ]
    }

    /// Outputs per filter, `[oh, ow] = [height + 2ph − kh + 1, width + 2pw − kw + 1]`
    /// (zeros if the window does not fit).
    pub fn out(&self) -> [usize; 2] {
        let [h, w] = self.padded();
        let fit = |n: usize, k: usize| n.saturating_add(1).saturating_sub(k.max(1));
        [fit(h, self.kernel[0]), fit(w, self.kernel[1])]
    }
}

/// `Z ← b + W ⊛ X`, the stride-1 convolution of every image of `x` (examples one after
/// the other, [`DirectWindow::image_len`] values each): output `(o, oy, ox)` of example
/// `j`, at `z[j·F·oh·ow + (o·oh + oy)·ow + ox]`, is
/// `b[o] + Σ_{c, ky, kx} W[o, (c·kh + ky)·kw + kx] · x_j[c, oy + ky − ph, ox + kx − pw]`
/// (zero outside the image) for the `F = b.len()` filters of `w` (`F × channels·kh·kw`,
/// column-major: a convolution layer's `W_mat`), summed in that entry order; with
/// `rectify`, each output is `max(·, 0)` as it is stored (a ReLU in the same pass, the
/// same bits as [`crate::relu_in_place`] after it).
///
/// Returns `Ok(false)`, with nothing written, on a CPU without AVX-512 or AVX2, when a
/// row of outputs is wider than four vectors (64 values of `f32` with AVX-512, 32 with
/// AVX2; half as many `f64`), when it fills less than half of its vectors (6 outputs in
/// 16 lanes ran slower than the batched path), or when one padded image would exceed 2²⁴ values (wide padding around a small
/// image must not become a large buffer): the caller's batched path computes it then.
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if `w` is not `F × channels·kh·kw` values, `x` not a whole
/// number of images or `z` not `F·oh·ow` values per image (as `len × 1`); sizes that
/// overflow `usize` count as `usize::MAX`, which no slice has.
///
/// # Example
/// ```
/// use nn_core::{DirectWindow, conv_direct};
/// // One 2×2 filter of ones over a 9×9 image of 0..81: the sums of its 2×2 blocks, plus 1.
/// let window = DirectWindow { channels: 1, height: 9, width: 9, kernel: [2, 2], padding: [0, 0] };
/// let image: Vec<f32> = (0..81).map(|v| v as f32).collect();
/// let mut z = [0.0f32; 64];
/// if conv_direct(&[1.0; 4], &[1.0], &window, &image, &mut z, false)? {
///     // Output (0, 0): 1 + 0 + 1 + 9 + 10; each step right adds 4, each step down 36.
///     assert_eq!(z[..3], [21.0, 25.0, 29.0]);
///     assert_eq!(z[8], 57.0);
/// }
/// # Ok::<(), nn_core::CoreError>(())
/// ```
pub fn conv_direct<T: Scalar>(
    w: &[T],
    b: &[T],
    window: &DirectWindow,
    x: &[T],
    z: &mut [T],
    rectify: bool,
) -> Result<bool, CoreError> {
    const OP: &str = "conv_direct";
    let run = |len: usize| (len, 1);
    let weights = b.len().saturating_mul(window.entries());
    expect_shape(OP, "W (weights)", run(weights), run(w.len()))?;
    let image = window.image_len();
    let m = x.len().checked_div(image).unwrap_or(0);
    expect_shape(OP, "X (images)", run(m * image), run(x.len()))?;
    let [oh, ow] = window.out();
    let outputs = product(m, b.len(), oh).saturating_mul(ow);
    expect_shape(OP, "Z (output)", run(outputs), run(z.len()))?;
    if z.is_empty() {
        return Ok(true);
    }
    let [rows, width] = window.padded();
    if product(window.channels, rows, width) > MAX_PADDED_IMAGE {
        return Ok(false);
    }
    Ok(T::direct_kernel(window, (w, b), x, z, rectify))
}

/// The vector kernel, on AVX-512 or AVX2.
#[cfg(target_arch = "x86_64")]
pub(crate) mod kernel {
    use std::cell::RefCell;

    use super::DirectWindow;
    use crate::isa::{Isa, Vectors};
    use crate::packed::aligned;

    /// This thread's buffers: the weights padded to whole filter blocks, one padded image,
    /// the window entries' offsets in it.
    type Buffers<T> = (Vec<T>, Vec<T>, Vec<usize>);

    /// An element type with per-thread [`Buffers`].
    pub(crate) trait Direct: Vectors {
        /// Runs `f` on this thread's buffers, grown on first use.
        fn with_buffers<R>(f: impl FnOnce(&mut Buffers<Self>) -> R) -> R;
    }

    macro_rules! impl_direct {
        ($t:ty) => {
            impl Direct for $t {
                fn with_buffers<R>(f: impl FnOnce(&mut Buffers<$t>) -> R) -> R {
                    thread_local! {
                        static BUFFERS: RefCell<Buffers<$t>> =
                            const { RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
                    }
                    BUFFERS.with_borrow_mut(f)
                }
            }
        };
    }
    impl_direct!(f32);
    impl_direct!(f64);

    /// Most vectors of positions in one output row.
    const MAX_ROW_VECTORS: usize = 4;

    /// `conv_direct` (shapes checked); `false`, with nothing written, for rows of more than
    /// [`MAX_ROW_VECTORS`] vectors or rows that fill less than half of their vectors (C1's
    /// 6 outputs in 16 lanes trained faster on the batched path).
    /// The filters go in blocks whose sums (`block × vectors per row`), the row's input
    /// vectors and a broadcast weight fit the vector registers: 16, 12, 8 or 6 filters
    /// for one to four vectors on AVX-512's 32 registers, 12, 6, 4 or 3 on AVX2's 16; half
    /// as many when there are no more filters than that (LeNet-5's first layer has 6).
    pub(crate) fn conv<T: Direct, S: Isa>(
        s: S,
        window: &DirectWindow,
        parameters: (&[T], &[T]),
        x: &[T],
        z: &mut [T],
        rectify: bool,
    ) -> bool {
        let (lanes, ow) = (T::lanes::<S>(), window.out()[1]);
        let vectors = ow.div_ceil(lanes);
        if vectors > MAX_ROW_VECTORS || 2 * ow < vectors * lanes {
            return false;
        }
        let few = |block: usize| parameters.1.len() <= block / 2;
        let args = (s, window, parameters, x, z, rectify);
        if S::REGISTERS >= 32 {
            match vectors {
                1 if few(16) => images::<T, S, 1, 8>(args),
                1 => images::<T, S, 1, 16>(args),
                2 if few(12) => images::<T, S, 2, 6>(args),
                2 => images::<T, S, 2, 12>(args),
                3 if few(8) => images::<T, S, 3, 4>(args),
                3 => images::<T, S, 3, 8>(args),
                4 if few(6) => images::<T, S, 4, 3>(args),
                _ => images::<T, S, 4, 6>(args),
            }
        } else {
            match vectors {
                1 if few(12) => images::<T, S, 1, 6>(args),
                1 => images::<T, S, 1, 12>(args),
                2 if few(6) => images::<T, S, 2, 3>(args),
                2 => images::<T, S, 2, 6>(args),
                3 if few(4) => images::<T, S, 3, 2>(args),
                3 => images::<T, S, 3, 4>(args),
                _ => images::<T, S, 4, 3>(args),
            }
        }
        true
    }

    type Args<'a, T, S> = (
        S,
        &'a DirectWindow,
        (&'a [T], &'a [T]),
        &'a [T],
        &'a mut [T],
        bool,
    );

    fn images<T: Direct, S: Isa, const V: usize, const FB: usize>(
        (s, window, (w, b), x, z, rectify): Args<'_, T, S>,
    ) {
        let filters = b.len();
        let ([kh, kw], [ph, pw]) = (window.kernel, window.padding);
        let entries = window.entries();
        let [rows, width] = window.padded();
        let [oh, ow] = window.out();
        T::with_buffers(|(weights, image, offsets)| {
            // Per block of filters: its bias, then each entry's FB weights side by side
            // (zeros past the last filter), so that the inner loop broadcasts from one run.
            let block_len = FB * (entries + 1);
            let blocks = aligned(weights, filters.div_ceil(FB) * block_len);
            for (q, block) in blocks.chunks_exact_mut(block_len).enumerate() {
                for (r, step) in block.chunks_exact_mut(FB).enumerate() {
                    for (f, slot) in step.iter_mut().enumerate() {
                        let o = q * FB + f;
                        *slot = match r {
                            _ if o >= filters => T::default(),
                            0 => b[o],
                            _ => w[o + (r - 1) * filters],
                        };
                    }
                }
            }
            let blocks: &[T] = blocks;
            // Entry (c, ky, kx) reads the padded image at the output row's start plus this.
            offsets.clear();
            offsets.extend((0..entries).map(|r| {
                let (c, ky, kx) = (r / (kh * kw), r / kw % kh, r % kw);
                (c * rows + ky) * width + kx
            }));
            let offsets: &[usize] = offsets;
            // The padding and the tail are zeros once; each image overwrites the interior.
            let tail = ow.next_multiple_of(T::lanes::<S>()) - ow;
            image.clear();
            image.resize(window.channels * rows * width + tail, T::default());
            let image: &mut [T] = image;
            let per_image = window.image_len();
            s.vectorize(
                #[inline(always)]
                move || {
                    let (z, image) = (z, image);
                    let zero = T::splat(s, T::default());
                    let outputs = filters * oh * ow;
                    for (xj, zj) in x.chunks_exact(per_image).zip(z.chunks_exact_mut(outputs)) {
                        let lines = xj.chunks_exact(window.width.max(1));
                        for (i, line) in lines.enumerate() {
                            let (c, y) = (i / window.height, i % window.height);
                            let at = (c * rows + y + ph) * width + pw;
                            image[at..at + line.len()].copy_from_slice(line);
                        }
                        let image: &[T] = image;
                        for (q, block) in blocks.chunks_exact(block_len).enumerate() {
                            let (bias, steps) = block.split_at(FB);
                            let bias: [T::V<S>; FB] = std::array::from_fn(|f| T::splat(s, bias[f]));
                            for oy in 0..oh {
                                let line = &image[oy * width..];
                                let acc = row::<T, S, V, FB>(s, bias, steps, offsets, line);
                                let live = acc.iter().enumerate().take(filters - q * FB);
                                for (f, sums) in live {
                                    let out = &mut zj[((q * FB + f) * oh + oy) * ow..][..ow];
                                    for (part, &sum) in out.chunks_mut(T::lanes::<S>()).zip(sums) {
                                        let sum = if rectify { T::max(s, zero, sum) } else { sum };
                                        T::store(s, part, sum);
                                    }
                                }
                            }
                        }
                    }
                },
            )
        })
    }

    /// One output row for one block of filters, the padded image read from the row's
    /// start `line`: `FB × V` vectors of sums, returned by value so that they stay in
    /// registers (a loop nest over channels and kernel rows kept them in memory).
    #[inline(always)]
    fn row<T: Direct, S: Isa, const V: usize, const FB: usize>(
        s: S,
        bias: [T::V<S>; FB],
        weights: &[T],
        offsets: &[usize],
        line: &[T],
    ) -> [[T::V<S>; V]; FB] {
        let mut acc: [[T::V<S>; V]; FB] = std::array::from_fn(|f| [bias[f]; V]);
        let (steps, _) = weights.as_chunks::<FB>();
        for (step, &offset) in steps.iter().zip(offsets) {
            // Unaligned whole vectors (the vector type has the element's alignment).
            let (x, _) = T::vectors::<S>(&line[offset..offset + V * T::lanes::<S>()]);
            for f in 0..FB {
                let wf = T::splat(s, step[f]);
                for v in 0..V {
                    acc[f][v] = T::fma(s, x[v], wf, acc[f][v]);
                }
            }
        }
        acc
    }
}
