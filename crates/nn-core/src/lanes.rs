//! Weighted sums over values that hold one example per vector lane: the dense and
//! convolution layers of a small network evaluated on [`LANES`] examples at once.
//!
//! A value is a [`Lanes`], `[T; 16]`, lane `l` belonging to example `l`: one AVX-512
//! register of `f32`, two of `f64` (two and four AVX2 registers, computed a register at a
//! time). An output is `b_o + Σ_e W[e, o] · x_e`, every product
//! a weight broadcast into a vector times a vector of examples, so the arithmetic of a
//! layer is its scalar formula with no reshaping of the batch around it. Eight sums are in
//! flight at once — eight outputs, or four or one with each sum split into two or eight
//! partial sums over the entries in turn — so that no chain of dependent fused
//! multiply-adds limits the loop. The compiler's own vectorisation of these loops chose to
//! vectorise across the eight outputs (contiguous weights) with gathers and scatters of
//! the lanes, 3× slower than the batched path; here the vectors are explicit (AVX-512
//! or AVX2 through `pulp`, as in `src/matvec.rs`), with a scalar loop on other CPUs. On a
//! Zen 3 core, which has no AVX-512, C1 predicted 35k samples/s on that scalar loop (each
//! `mul_add` a call into the C library) and 1.4–1.7M on AVX2.
//!
//! Each lane's result depends on that example's values and the fixed order of the sums:
//! `((b + p_0) + p_1) + …` over the partial sums `p_s`, each in entry order.

#[cfg(target_arch = "x86_64")]
use crate::isa::{Isa, Vectors};
use crate::{CoreError, expect_shape};

/// Examples per group: one AVX-512 register of `f32` (two of `f64`; two and four of AVX2).
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
/// (`w`), `outputs = b.len()`, `inputs = input.len()`: a dense layer on a group; with
/// `rectify`, each output is `max(·, 0)` as it is stored (a ReLU in the same pass, the
/// same bits as [`crate::relu_in_place`] after it).
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
/// lanes_dense(&[1.0, 2.0], &[0.5], &x, &mut y, false)?;
/// assert_eq!(y[0], [2.0; LANES]);
/// # Ok::<(), nn_core::CoreError>(())
/// ```
pub fn lanes_dense<T: crate::Scalar>(
    w: &[T],
    b: &[T],
    input: &[Lanes<T>],
    output: &mut [Lanes<T>],
    rectify: bool,
) -> Result<(), CoreError> {
    const OP: &str = "lanes_dense";
    expect_shape(OP, "W (weights)", run(b.len() * input.len()), run(w.len()))?;
    expect_shape(OP, "output", run(b.len()), run(output.len()))?;
    let dense = Windows {
        entries: Entries::Dense(input.len()),
        row: 0,
        stride: [0, 0],
        out: [1, 1],
        rectify,
    };
    T::lanes_kernel((w, b), &dense, input, output);
    Ok(())
}

/// `output[(o·OH + y)·OW + x] ← b_o + Σ_e W[o, e] · image[corner(y, x) + entries[e]]`
/// with `corner(y, x) = y·sy·row + x·sx` and `W: outputs × entries` column-major (`w`),
/// `outputs = b.len()`: a convolution on a group, its input zero-padded beforehand; with
/// `rectify`, each output is `max(·, 0)` as it is stored (see [`lanes_dense`]).
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
    rectify: bool,
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
        rectify,
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
    /// Each output `max(·, 0)` as it is stored.
    pub(crate) rectify: bool,
}

/// The vector kernel: every output of `windows` over `image` (shapes checked).
#[cfg(target_arch = "x86_64")]
pub(crate) fn sums<T: Vectors, S: Isa>(
    s: S,
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
fn blocks<'w, T: Vectors + 'w, S: Isa>(
    s: S,
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
                macro_rules! args {
                    ($o:expr) => {
                        (s, (b, $o), windows, entries.clone(), image, &mut *output)
                    };
                }
                // A pass holds 8 sums of P vectors: every vector of a value on AVX-512
                // (one of f32, two of f64), one at a time on AVX2's 16 registers, except
                // that a block of 8 outputs is computed there as two of 4 outputs × 2
                // vectors (the same sums): 8 outputs × 1 vector held each entry's 8
                // broadcast weights beside the sums and the value, one register too many,
                // and the compiler kept a sum on the stack (a store and a reload in its
                // chain at every entry).
                let per_value = per_value::<T, S>();
                match (size, S::REGISTERS >= 32 && per_value == 2) {
                    (8, false) if S::REGISTERS < 32 && per_value >= 2 => {
                        block::<T, S, 4, 1, 2>(args!(o));
                        block::<T, S, 4, 1, 2>(args!(o + 4));
                    }
                    (8, false) => block::<T, S, 8, 1, 1>(args!(o)),
                    (4, false) => block::<T, S, 4, 2, 1>(args!(o)),
                    (_, false) => block::<T, S, 1, 8, 1>(args!(o)),
                    (8, true) => block::<T, S, 8, 1, 2>(args!(o)),
                    (4, true) => block::<T, S, 4, 2, 2>(args!(o)),
                    (_, true) => block::<T, S, 1, 8, 2>(args!(o)),
                }
                o += size;
            }
        },
    );
}

/// Vectors of `T` per [`Lanes`] value: on AVX-512 1 for `f32`, 2 for `f64`; on AVX2 2
/// and 4.
#[cfg(target_arch = "x86_64")]
fn per_value<T: Vectors, S: Isa>() -> usize {
    LANES / T::lanes::<S>()
}

/// The arguments of [`block`]: the instruction set, the biases and the first output, the
/// windows, the entries, the input and the output.
#[cfg(target_arch = "x86_64")]
type BlockArgs<'a, T, S, E> = (
    S,
    (&'a [T], usize),
    &'a Windows<'a>,
    E,
    &'a [Lanes<T>],
    &'a mut [Lanes<T>],
);

/// Outputs `o..o + R` at every window position, each sum split into `PARTS` partial sums
/// over the entries in turn (entry `e` into part `e mod PARTS`), `P` vectors of each value
/// at a time (a lane's sums are the same whichever pass computes them).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn block<'w, T, S, const R: usize, const PARTS: usize, const P: usize>(
    (s, (b, o), windows, entries, image, output): BlockArgs<
        '_,
        T,
        S,
        impl Iterator<Item = (&'w [T], usize)> + Clone,
    >,
) where
    T: Vectors + 'w,
    S: Isa,
{
    let [oh, ow] = windows.out;
    let zero = T::splat(s, T::default());
    let bias: [T; R] = std::array::from_fn(|r| b[o + r]);
    for y in 0..oh {
        for x in 0..ow {
            let corner = &image[y * windows.stride[0] * windows.row + x * windows.stride[1]..];
            for pass in (0..per_value::<T, S>()).step_by(P) {
                // acc[r][part][v]: output o + r, partial sum `part`, vector pass + v.
                let mut acc = [[[zero; P]; PARTS]; R];
                let mut entries = entries.clone();
                'entries: loop {
                    for part in 0..PARTS {
                        let Some((column, offset)) = entries.next() else {
                            break 'entries;
                        };
                        let value = &T::vectors::<S>(&corner[offset]).0[pass..pass + P];
                        for (acc, &weight) in acc.iter_mut().zip(&column[o..o + R]) {
                            let weight = T::splat(s, weight);
                            for v in 0..P {
                                acc[part][v] = T::fma(s, weight, value[v], acc[part][v]);
                            }
                        }
                    }
                }
                for (r, parts) in acc.iter().enumerate() {
                    let out = T::vectors_mut::<S>(&mut output[(o + r) * oh * ow + y * ow + x]).0;
                    for v in 0..P {
                        let mut sum = T::splat(s, bias[r]);
                        for part in parts {
                            sum = T::add(s, sum, part[v]);
                        }
                        if windows.rectify {
                            sum = T::max(s, zero, sum);
                        }
                        out[pass + v] = sum;
                    }
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
                    if windows.rectify {
                        crate::relu::relu_scalar(out);
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
