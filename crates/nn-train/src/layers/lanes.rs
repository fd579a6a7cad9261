//! Inference with one example per vector lane: the layers of a small network evaluated on
//! [`LANES`] examples at once, every value of a layer's output a vector of those examples.
//!
//! A small convolutional network does little work per layer and example (C1: a 3×3
//! convolution of an 8×8 image into 16 channels, 5,184 multiply-adds), so the batched
//! path spent most of its time building and scattering matrices around small products:
//! unfolding the image (19% of C1's prediction), copying the product into one column per
//! example with the bias (12%), pooling through the column layout (26%). Here a layer
//! reads and writes `[T; LANES]` values (feature `f` of the group is `values[f]`, its lane
//! `l` example `l`), so every operation is the scalar formula of the layer applied to a
//! vector of examples: a convolution is `out[c, y, x] = b_c + Σ W[c, ci, ky, kx] ·
//! in[ci, y·s + ky − p, x·s + kx − p]` with each product a broadcast weight times a vector,
//! pooling a maximum of vectors, softmax element-wise across the output features. The
//! weighted sums of dense and convolution layers are nn-core's ([`lanes_dense`],
//! [`lanes_conv`]: explicit AVX-512 or AVX2, eight sums in flight); pooling and the activations
//! are loops here compiled for the widest vectors of the CPU ([`widest_simd`]).
//!
//! Each example's result depends on its own inputs and the fixed order of the sums alone:
//! the same bits whatever the batch, its grouping or the number of threads.

use nn_init::nn_activations::Activation;
use nn_init::nn_activations::exp::exp;
pub use nn_init::nn_activations::nn_core::{LANES, Lanes};
use nn_init::nn_activations::nn_core::{LanesWindow, Scalar, lanes_conv, lanes_dense, widest_simd};

use crate::error::Result;
use crate::layers::window::Window;

/// `out[o] ← g(b_o + Σ_i W[o, i] · input[i])` for a dense layer, `W: units × inputs`
/// column-major (`w`), `b` of `units` values.
pub(crate) fn dense<T: Scalar>(
    (w, b): (&[T], &[T]),
    activation: Activation,
    input: &[Lanes<T>],
    output: &mut [Lanes<T>],
) -> Result<()> {
    let rectify = activation == Activation::Relu;
    lanes_dense(w, b, input, output, rectify)?;
    if !rectify {
        activate(activation, output);
    }
    Ok(())
}

/// A convolution's output `out[(c·OH + y)·OW + x] ← g(b_c + Σ W_mat[c, (ci·kh + ky)·kw +
/// kx] · in[ci, y·sh + ky − ph, x·sw + kx − pw])`, zero outside the image; `padded` holds
/// the zero-padded input (grown as needed), `entries` is [`window_entries`].
pub(crate) fn conv<T: Scalar>(
    (window, entries): (&Window, &[usize]),
    (w, b): (&[T], &[T]),
    activation: Activation,
    input: &[Lanes<T>],
    padded: &mut Vec<Lanes<T>>,
    output: &mut [Lanes<T>],
) -> Result<()> {
    let [ph, pw] = window.padding;
    let (height, width) = (window.height, window.width);
    let (hp, wp) = (height + 2 * ph, width + 2 * pw);
    let image: &[Lanes<T>] = if ph == 0 && pw == 0 {
        input
    } else {
        padded.clear();
        padded.resize(window.channels * hp * wp, [T::zero(); LANES]);
        let planes = padded
            .chunks_exact_mut(hp * wp)
            .zip(input.chunks_exact(height * width));
        for (plane, src) in planes {
            for (y, row) in src.chunks_exact(width).enumerate() {
                plane[(y + ph) * wp + pw..][..width].copy_from_slice(row);
            }
        }
        padded
    };
    let windows = LanesWindow {
        entries,
        row: wp,
        stride: window.stride,
        out: [window.out_height, window.out_width],
    };
    // A ReLU is applied as the sums are stored: a pass of its own over the output (C1's
    // 576 values × 16 lanes per group, more than the L1 cache holds) was a tenth of C1's
    // prediction.
    let rectify = activation == Activation::Relu;
    lanes_conv(w, b, &windows, image, output, rectify)?;
    if !rectify {
        activate(activation, output);
    }
    Ok(())
}

/// Each entry `(ci, ky, kx)` of a convolution's window, in `W_mat`'s column order, as its
/// offset from the window's top-left value in the zero-padded input.
pub(crate) fn window_entries(window: &Window) -> Vec<usize> {
    let [kh, kw] = window.kernel;
    let hp = window.height + 2 * window.padding[0];
    let wp = window.width + 2 * window.padding[1];
    (0..window.channels)
        .flat_map(|ci| (0..kh).flat_map(move |ky| (0..kw).map(move |kx| (ci * hp + ky) * wp + kx)))
        .collect()
}

/// Max- (`max`) or average-pooling of `input` over `window` (no padding).
pub(crate) fn pool<T: Scalar>(
    window: &Window,
    max: bool,
    input: &[Lanes<T>],
    output: &mut [Lanes<T>],
) {
    let Window {
        height,
        width,
        kernel: [kh, kw],
        stride: [sh, sw],
        out_height,
        out_width,
        ..
    } = *window;
    let scale = T::one() / T::cast((kh * kw) as f64);
    if max && [kh, kw, sh, sw] == [2, 2, 2, 2] {
        max_pool_2x2(window, input, output);
        return;
    }
    widest_simd(
        #[inline(always)]
        || {
            let planes = input.chunks_exact(height * width);
            for (plane, out) in planes.zip(output.chunks_exact_mut(out_height * out_width)) {
                for y in 0..out_height {
                    for x in 0..out_width {
                        let first = plane[y * sh * width + x * sw];
                        let mut acc = if max { first } else { [T::zero(); LANES] };
                        for ky in 0..kh {
                            for v in &plane[(y * sh + ky) * width + x * sw..][..kw] {
                                if max {
                                    keep_max(&mut acc, v);
                                } else {
                                    for l in 0..LANES {
                                        acc[l] += v[l];
                                    }
                                }
                            }
                        }
                        if !max {
                            acc.iter_mut().for_each(|a| *a *= scale);
                        }
                        out[y * out_width + x] = acc;
                    }
                }
            }
        },
    );
}

/// [`pool`]'s 2×2 max-pooling with stride 2 (every pooling layer of the reference CNNs):
/// each output the same fold `a, b, c, d` → `max(max(max(a, b), c), d)`, `v > acc ? v :
/// acc` at each step, as the general loop, over a row pair of whole vectors. The general
/// loop's index arithmetic and two-entry inner loops were a fifth of C1's prediction.
fn max_pool_2x2<T: Scalar>(window: &Window, input: &[Lanes<T>], output: &mut [Lanes<T>]) {
    let (width, out_width) = (window.width, window.out_width);
    let plane_in = window.height * width;
    let plane_out = window.out_height * out_width;
    widest_simd(
        #[inline(always)]
        || {
            let planes = input.chunks_exact(plane_in);
            for (plane, out) in planes.zip(output.chunks_exact_mut(plane_out)) {
                let rows = plane.chunks_exact(2 * width);
                for (pair, out) in rows.zip(out.chunks_exact_mut(out_width)) {
                    let (top, bottom) = pair.split_at(width);
                    let windows = top.chunks_exact(2).zip(bottom.chunks_exact(2));
                    for ((t, b), o) in windows.zip(out.iter_mut()) {
                        let mut acc = t[0];
                        keep_max(&mut acc, &t[1]);
                        keep_max(&mut acc, &b[0]);
                        keep_max(&mut acc, &b[1]);
                        *o = acc;
                    }
                }
            }
        },
    );
}

/// `acc ← v > acc ? v : acc`, lane by lane: one step of max-pooling's fold and of
/// softmax's maximum (NaN in `acc` stays; NaN in `v` is passed over).
#[inline(always)]
fn keep_max<T: Scalar>(acc: &mut Lanes<T>, v: &Lanes<T>) {
    for l in 0..LANES {
        acc[l] = if v[l] > acc[l] { v[l] } else { acc[l] };
    }
}

/// `values ← g(values)`: element-wise, or softmax across the features of each lane.
pub(crate) fn activate<T: Scalar>(activation: Activation, values: &mut [Lanes<T>]) {
    if activation != Activation::Softmax {
        activation.forward_columns_in_place(values.as_flattened_mut(), 1);
        return;
    }
    let Some(&first) = values.first() else {
        return;
    };
    widest_simd(
        #[inline(always)]
        || {
            let mut top = first;
            for v in values.iter() {
                keep_max(&mut top, v);
            }
            let mut sum = [T::zero(); LANES];
            for v in values.iter_mut() {
                for l in 0..LANES {
                    v[l] = exp(v[l] - top[l]);
                    sum[l] += v[l];
                }
            }
            let inv = sum.map(|s| T::one() / s);
            for v in values.iter_mut() {
                for l in 0..LANES {
                    v[l] *= inv[l];
                }
            }
        },
    );
}
