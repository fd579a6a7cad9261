//! Weighted sums over values that hold one example per vector lane: the dense and
//! convolution layers of a small network evaluated on [`LANES`] examples at once.
//!
//! A value is a [`Lanes`], `[T; 16]`, lane `l` belonging to example `l`: one AVX-512
//! register of `f32`, two of `f64`. An output is `b_o + Σ_e W[e, o] · x_e`, every product
//! a weight broadcast into a vector times a vector of examples, so the arithmetic of a
//! layer is its scalar formula with no reshaping of the batch around it. Eight sums are in
//! flight at once — eight outputs, or four or one with each sum split into two or eight
//! partial sums over the entries in turn — so that no chain of dependent fused
//! multiply-adds limits the loop. The compiler's own vectorisation of these loops chose to
//! vectorise across the eight outputs (contiguous weights) with gathers and scatters of
//! the lanes, 3× slower than the batched path; here the vectors are explicit (AVX-512
//! through `pulp`, as in `src/matvec.rs`), with a scalar loop on other CPUs.
//!
//! Each lane's result depends on that example's values and the fixed order of the sums:
//! `((b + p_0) + p_1) + …` over the partial sums `p_s`, each in entry order.

#[cfg(target_arch = "x86_64")]
use pulp::x86::V4;

#[cfg(target_arch = "x86_64")]
use crate::matvec::Lanes as Vectors;
use crate::{CoreError, expect_shape};

/// Examples per group: one AVX-512 register of `f32` (two of `f64`).
pub const LANES: usize = 16;

/// One value of a group of [`LANES`] examples, example `l` in lane `l`.
pub type Lanes<T> = [T; LANES];

/// Where a convolution's window entries are in a group's (zero-padded) input image, and
/// where its windows are.
#[derive(Debug, Clone, Copy)]
pub struct LanesWindow<'a> {
    /// Each window entry's offset from the window's top-left value (`(c·H + y)·W + x` for
    /// entry `(c, y, x)` of a padded `C×H×W` image), in the order of the weights' rows.
    pub entries: &'a [usize],
    /// Values per row of the input image.
    pub row: usize,
    /// The windows' steps down and across, `[sy, sx]`.
    pub stride: [usize; 2],
    /// Windows down and across, `[OH, OW]`: output `(o, y, x)` is value `(o·OH + y)·OW + x`.
    pub out: [usize; 2],
}

/// A run of `len` values, as the shape `len × 1` in a [`CoreError`].
fn run(len: usize) -> (usize, usize) {
    (len, 1)
}

/// `output[o] ← b_o + Σ_i W[o, i] · input[i]` for `W: outputs × inputs` column-major
/// (`w`), `outputs = b.len()`, `inputs = input.len()`: a dense layer on a group.
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if `w` has not `outputs·inputs` values or `output` not
/// `outputs`.
///
/// ```
/// use nn_core::{LANES, lanes_dense};
/// // W = [1 2], b = 0.5: output = 0.5 + x0 + 2·x1 in every lane.
/// let x = [[1.0f32; LANES], [0.25; LANES]];
/// let mut y = [[0.0; LANES]];
/// lanes_dense(&[1.0, 2.0], &[0.5], &x, &mut y)?;
/// assert_eq!(y[0], [2.0; LANES]);
/// # Ok::<(), nn_core::CoreError>(())
/// ```
pub fn lanes_dense<T: crate::Scalar>(
    w: &[T],
    b: &[T],
    input: &[Lanes<T>],
    output: &mut [Lanes<T>],
) -> Result<(), CoreError> {
    const OP: &str = "lanes_dense";
    expect_shape(OP, "W (weights)", run(b.len() * input.len()), run(w.len()))?;
    expect_shape(OP, "output", run(b.len()), run(output.len()))?;
    let dense = Windows {
        entries: Entries::Dense(input.len()),
        row: 0,
        stride: [0, 0],
        out: [1, 1],
    };
    T::lanes_kernel((w, b), &dense, input, output);
    Ok(())
}

/// `output[(o·OH + y)·OW + x] ← b_o + Σ_e W[o, e] · image[corner(y, x) + entries[e]]`
/// with `corner(y, x) = y·sy·row + x·sx` and `W: outputs × entries` column-major (`w`),
/// `outputs = b.len()`: a convolution on a group, its input zero-padded beforehand.
///
/// # Errors
/// [`CoreError::ShapeMismatch`] if `w` has not `outputs·entries` values, `output` not
/// `outputs·OH·OW`, or the last window reads past the end of `image`.
pub fn lanes_conv<T: crate::Scalar>(
    w: &[T],
    b: &[T],
    window: &LanesWindow<'_>,
    image: &[Lanes<T>],
    output: &mut [Lanes<T>],
) -> Result<(), CoreError> {
    const OP: &str = "lanes_conv";
    let [oh, ow] = window.out;
    expect_shape(
        OP,
        "W (weights)",
        run(b.len() * window.entries.len()),
        run(w.len()),
    )?;
    expect_shape(OP, "output", run(b.len() * oh * ow), run(output.len()))?;
    if oh > 0 && ow > 0 {
        let corner = (oh - 1) * window.stride[0] * window.row + (ow - 1) * window.stride[1];
        let reach = window.entries.iter().max().map_or(0, |&e| corner + e + 1);
        if reach > image.len() {
            return Err(CoreError::ShapeMismatch {
                op: OP,
                operand: "image",
                expected: run(reach),
                found: run(image.len()),
            });
        }
    }
    let windows = Windows {
        entries: Entries::Window(window.entries),
        row: window.row,
        stride: window.stride,
        out: window.out,
    };
    T::lanes_kernel((w, b), &windows, image, output);
    Ok(())
}

/// Where the entries of a weighted sum are, from its window's corner.
#[derive(Clone, Copy)]
pub enum Entries<'a> {
    /// Entry `e` is value `e` (a dense layer: one window, the whole input).
    Dense(usize),
    /// Entry `e` is value `entries[e]`.
    Window(&'a [usize]),
}

impl Entries<'_> {
    fn len(self) -> usize {
        match self {
            Entries::Dense(n) => n,
            Entries::Window(entries) => entries.len(),
        }
    }
}

/// A [`LanesWindow`] or a dense layer's single window, as the kernels take it.
pub struct Windows<'a> {
    pub(crate) entries: Entries<'a>,
    pub(crate) row: usize,
    pub(crate) stride: [usize; 2],
    pub(crate) out: [usize; 2],
}

/// The kernel on AVX-512: every output of `windows` over `image` (shapes checked).
#[cfg(target_arch = "x86_64")]
pub(crate) fn sums<T: Vectors>(
    s: V4,
    (w, b): (&[T], &[T]),
    windows: &Windows<'_>,
    image: &[Lanes<T>],
    output: &mut [Lanes<T>],
) {
    // Each entry's column of W (the outputs' weights) with its offset from the corner.
    let columns = w.chunks_exact(b.len().max(1));
    match windows.entries {
        Entries::Dense(n) => blocks(s, b, windows, columns.zip(0..n), image, output),
        Entries::Window(entries) => {
            let entries = columns.zip(entries.iter().copied());
            blocks(s, b, windows, entries, image, output)
        }
    }
}

/// [`sums`] over `entries`: each entry's column of `W` and its offset from the window's
/// corner.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn blocks<'w, T: Vectors + 'w>(
    s: V4,
    b: &[T],
    windows: &Windows<'_>,
    entries: impl Iterator<Item = (&'w [T], usize)> + Clone,
    image: &[Lanes<T>],
    output: &mut [Lanes<T>],
) {
    s.vectorize(
        #[inline(always)]
        move || {
            let output = output;
            let outputs = b.len();
            let mut o = 0;
            while o < outputs {
                let size = block_size(outputs - o);
                let entries = entries.clone();
                match size {
                    8 => block::<T, 8, 1>(s, (b, o), windows, entries, image, output),
                    4 => block::<T, 4, 2>(s, (b, o), windows, entries, image, output),
                    _ => block::<T, 1, 8>(s, (b, o), windows, entries, image, output),
                }
                o += size;
            }
        },
    );
}

/// Vectors of `T` per [`Lanes`] value: 1 for `f32`, 2 for `f64`.
#[cfg(target_arch = "x86_64")]
const fn per_value<T: Vectors>() -> usize {
    LANES / T::LANES
}

/// Outputs `o..o + R` at every window position, each sum split into `S` partial sums over
/// the entries in turn (entry `e` into part `e mod S`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn block<'w, T: Vectors + 'w, const R: usize, const S: usize>(
    s: V4,
    (b, o): (&[T], usize),
    windows: &Windows<'_>,
    entries: impl Iterator<Item = (&'w [T], usize)> + Clone,
    image: &[Lanes<T>],
    output: &mut [Lanes<T>],
) {
    let [oh, ow] = windows.out;
    let zero = T::splat(s, T::default());
    let bias: [T; R] = std::array::from_fn(|r| b[o + r]);
    for y in 0..oh {
        for x in 0..ow {
            let corner = &image[y * windows.stride[0] * windows.row + x * windows.stride[1]..];
            // acc[r][part][v]: output o + r, partial sum `part`, vector v of the value.
            let mut acc = [[[zero; 2]; S]; R];
            let mut entries = entries.clone();
            'entries: loop {
                for part in 0..S {
                    let Some((column, offset)) = entries.next() else {
                        break 'entries;
                    };
                    let value = T::vectors(&corner[offset]).0;
                    for (acc, &weight) in acc.iter_mut().zip(&column[o..o + R]) {
                        let weight = T::splat(s, weight);
                        for v in 0..per_value::<T>() {
                            acc[part][v] = T::fma(s, weight, value[v], acc[part][v]);
                        }
                    }
                }
            }
            for (r, parts) in acc.iter().enumerate() {
                let out = T::vectors_mut(&mut output[(o + r) * oh * ow + y * ow + x]).0;
                for v in 0..per_value::<T>() {
                    let mut sum = T::splat(s, bias[r]);
                    for part in parts {
                        sum = T::add(s, sum, part[v]);
                    }
                    out[v] = sum;
                }
            }
        }
    }
}

/// The same sums on any CPU, one lane at a time, split into the same partial sums as
/// the vector kernel's, so that the bits agree with it.
pub(crate) fn sums_scalar<T: crate::Scalar>(
    (w, b): (&[T], &[T]),
    windows: &Windows<'_>,
    image: &[Lanes<T>],
    output: &mut [Lanes<T>],
) {
    let outputs = b.len();
    let [oh, ow] = windows.out;
    let offset = |e: usize| match windows.entries {
        Entries::Dense(_) => e,
        Entries::Window(entries) => entries[e],
    };
    let mut start = 0;
    while start < outputs {
        let size = block_size(outputs - start);
        let split = 8 / size;
        for o in start..start + size {
            for y in 0..oh {
                for x in 0..ow {
                    let corner = y * windows.stride[0] * windows.row + x * windows.stride[1];
                    let mut acc = [[T::zero(); LANES]; 8];
                    for e in 0..windows.entries.len() {
                        let (weight, value) = (w[e * outputs + o], &image[corner + offset(e)]);
                        let part = &mut acc[e % split];
                        for l in 0..LANES {
                            part[l] = weight.mul_add(value[l], part[l]);
                        }
                    }
                    let out = &mut output[o * oh * ow + y * ow + x];
                    for l in 0..LANES {
                        out[l] = acc[..split].iter().fold(b[o], |sum, part| sum + part[l]);
                    }
                }
            }
        }
        start += size;
    }
}

/// Outputs in the kernel's block that starts with `left` outputs to go.
fn block_size(left: usize) -> usize {
    match left {
        8.. => 8,
        4..=7 => 4,
        _ => 1,
    }
}
