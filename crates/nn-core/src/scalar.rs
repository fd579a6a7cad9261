//! The scalar types the whole workspace is generic over: `f32` and `f64`, and
//! [`DType`], the element type as a value.

use std::fmt::{self, Debug, Display};
use std::str::FromStr;

use crate::CoreError;

/// The element type of a matrix as a value: what a model file's `"dtype"` records, and
/// what generic code asks (`T::DTYPE`) instead of comparing type names.
///
/// Its text form (`Display`, `FromStr`, and serde through them, see [`crate::text`]) is
/// the name from [`DType::NAMES`], the one table of names: `"f32"`, `"f64"`.
///
/// ```
/// use nn_core::{DType, Scalar};
///
/// assert_eq!(f32::DTYPE, DType::F32);
/// assert_eq!(<f64 as Scalar>::DTYPE.to_string(), "f64");
/// assert_eq!("f32".parse::<DType>()?, DType::F32);
/// assert_eq!(DType::F64.size_in_bytes(), 8);
/// assert!("f16".parse::<DType>().is_err());
/// # Ok::<(), nn_core::CoreError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// IEEE 754 binary32, [`f32`]: 4 bytes, 24-bit significand.
    F32 = 0,
    /// IEEE 754 binary64, [`f64`]: 8 bytes, 53-bit significand.
    F64 = 1,
}

impl DType {
    /// Every dtype with its name, in declaration order (entry `i` is the variant whose
    /// discriminant is `i`): the one table that [`DType::name`], `Display` and `FromStr`
    /// read.
    pub const NAMES: [(DType, &'static str); 2] = [(DType::F32, "f32"), (DType::F64, "f64")];

    /// The name, `"f32"` or `"f64"`, as written in model files.
    pub const fn name(self) -> &'static str {
        Self::NAMES[self as usize].1
    }

    /// The size of one element in bytes: 4 or 8.
    pub const fn size_in_bytes(self) -> usize {
        match self {
            DType::F32 => size_of::<f32>(),
            DType::F64 => size_of::<f64>(),
        }
    }
}

impl Display for DType {
    /// The name from [`DType::NAMES`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DType {
    type Err = CoreError;

    /// Parses a name from [`DType::NAMES`] exactly (lower case, no spaces).
    ///
    /// # Errors
    /// [`CoreError::UnknownDType`] listing the valid names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::NAMES
            .iter()
            .find(|(_, name)| *name == s)
            .map(|&(dtype, _)| dtype)
            .ok_or_else(|| CoreError::UnknownDType {
                found: s.to_string(),
            })
    }
}

impl serde::Serialize for DType {
    /// The name, as a JSON string.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::text::serialize(self, serializer)
    }
}

impl<'de> serde::Deserialize<'de> for DType {
    /// A name from [`DType::NAMES`], through `FromStr`.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::text::deserialize(deserializer)
    }
}

/// A floating-point element type of matrices: implemented for `f32` and `f64` only.
///
/// It is nalgebra's [`RealField`](nalgebra::RealField) plus the conversions that
/// numerical code needs without going through generic casts. Gradient checks run in
/// `f64`; speed work targets `f32`.
pub trait Scalar:
    nalgebra::RealField
    + nalgebra::Scalar
    + kernel::GemmKernel
    + Copy
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
{
    /// The element type as a value: [`DType::F32`] or [`DType::F64`].
    const DTYPE: DType;
    /// The type's name as written in model files (`"f32"` or `"f64"`): the name of
    /// [`Scalar::DTYPE`].
    const NAME: &'static str = Self::DTYPE.name();
    /// Machine epsilon of the type.
    const EPSILON: Self;
    /// Converts from `f64`, rounding to nearest.
    fn cast(x: f64) -> Self;
    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;
    /// Converts a count (e.g. the batch size `m`) to the scalar type.
    fn from_count(n: usize) -> Self;
    /// `true` unless the value is NaN or ±∞.
    fn finite(self) -> bool;
}

macro_rules! impl_scalar {
    ($t:ty, $dtype:expr) => {
        impl Scalar for $t {
            const DTYPE: DType = $dtype;
            const EPSILON: Self = <$t>::EPSILON;
            #[inline]
            fn cast(x: f64) -> Self {
                x as $t
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn from_count(n: usize) -> Self {
                n as $t
            }
            #[inline]
            fn finite(self) -> bool {
                self.is_finite()
            }
        }
    };
}

impl_scalar!(f32, DType::F32);
impl_scalar!(f64, DType::F64);

/// The packed GEMM kernel for each scalar type, behind a safe interface.
///
/// Sealed: `Scalar` can only be implemented here, for `f32` and `f64`.
pub(crate) mod kernel {
    use std::cell::RefCell;

    use faer::{Accum, MatMut, MatRef, Par};

    use crate::direct::DirectWindow;
    use crate::gemm::{AffinePlan, Cut, Epilogue, cut, packed_cut, packs};
    use crate::lanes;
    #[cfg(target_arch = "x86_64")]
    use crate::matvec::gemv;
    use crate::pair::join;
    use crate::relu;
    #[cfg(target_arch = "x86_64")]
    use crate::{affine, direct, packed};
    #[cfg(target_arch = "x86_64")]
    use pulp::x86::{V3, V4};

    /// Evaluates `$body` with `$s` the widest instruction set the kernels are compiled for
    /// that the CPU has (AVX-512, else AVX2 with FMA), as `Some`; `None` on other CPUs.
    macro_rules! on_widest {
        (|$s:ident| $body:expr) => {{
            #[cfg(target_arch = "x86_64")]
            let out = if let Some($s) = V4::try_new() {
                Some($body)
            } else if let Some($s) = V3::try_new() {
                Some($body)
            } else {
                None
            };
            #[cfg(not(target_arch = "x86_64"))]
            let out = None;
            out
        }};
    }

    /// A strided operand: `(data, row stride, column stride)`; one of the strides is 1.
    pub type Strided<'a, T> = (&'a [T], usize, usize);

    /// `C ← α·A·B + β·C` for `A: m×k`, `B: k×n`, `C: m×n`, all ≥ 1, given as strided slices.
    pub trait GemmKernel: faer::traits::ComplexField + Copy + PartialEq {
        /// Panics (a bug in nn-core, not a user error) if a slice is too short for its
        /// dimensions and strides, or neither stride is 1: the caller validated shapes and
        /// derived the strides.
        fn gemm_kernel(
            dims: (usize, usize, usize),
            alpha: Self,
            a: Strided<'_, Self>,
            b: Strided<'_, Self>,
            beta: Self,
            c: (&mut [Self], usize, usize),
        );

        /// The weighted sums of `src/lanes.rs` (shapes checked): on AVX-512 or AVX2 where
        /// the CPU has them, else one lane at a time.
        fn lanes_kernel(
            parameters: (&[Self], &[Self]),
            windows: &lanes::Windows<'_>,
            image: &[lanes::Lanes<Self>],
            output: &mut [lanes::Lanes<Self>],
        );

        /// `z ← max(z, 0)` (`src/relu.rs`): on vectors where the CPU has AVX-512 or AVX2,
        /// else one entry at a time.
        fn relu_kernel(z: &mut [Self]);

        /// `Z ← W·X + b 1ᵀ` with `epilogue` on each block of whole columns of `Z`, on
        /// nn-core's fused kernel (`src/affine.rs`), for `W: units×k` column-major,
        /// `X: k×n`, `Z: units×n` contiguous, a shape [`GemmKernel::affine_takes`] took
        /// (or part of one); `false` (nothing written) without AVX-512 or AVX2.
        /// `plan`: the panels of `W` kept between calls (else copied for this one), and
        /// whether to share them with nn-core's helper thread.
        fn affine_kernel(
            w: (&[Self], usize, usize),
            b: &[Self],
            x: &[Self],
            z: &mut [Self],
            plan: (Epilogue<'_, Self>, AffinePlan<'_, Self>),
        ) -> bool;

        /// Whether [`GemmKernel::affine_kernel`] takes a layer of `units` rows on `n`
        /// columns on this CPU, with its panels of `W` `packed` or copied per call.
        fn affine_takes(units: usize, n: usize, packed: bool) -> bool;

        /// The stride-1 convolution of a batch of images on nn-core's direct kernel
        /// (`src/direct.rs`, shapes checked); `false` (nothing written) without AVX-512 or
        /// AVX2, for rows of more than its most vectors of outputs, or for rows that fill less
        /// than half of their vectors.
        fn direct_kernel(
            window: &DirectWindow,
            parameters: (&[Self], &[Self]),
            x: &[Self],
            z: &mut [Self],
            rectify: bool,
        ) -> bool;
    }

    /// An `r×c` view of `x`: column-major if the row stride is 1, else row-major (a
    /// transposed column-major matrix). faer checks that `x` holds every element.
    fn view<T>(x: &[T], r: usize, c: usize, rs: usize, cs: usize) -> MatRef<'_, T> {
        if rs == 1 {
            MatRef::from_column_major_slice_with_stride(x, r, c, cs)
        } else {
            assert!(cs == 1, "gemm_kernel: one stride must be 1");
            MatRef::from_row_major_slice_with_stride(x, r, c, rs)
        }
    }

    /// The `m×n` column-major `C` with column stride `cs`, writable.
    fn view_mut<T>(c: &mut [T], m: usize, n: usize, cs: usize) -> MatMut<'_, T> {
        MatMut::from_column_major_slice_with_stride_mut(c, m, n, cs)
    }

    /// Clears the upper halves of the AVX registers (`vzeroupper`) if the CPU has them.
    ///
    /// faer's x86-64 kernels (AVX2/AVX-512) return with that state dirty; while it is, every
    /// legacy-SSE instruction executed afterwards — the element-wise passes, compiled for
    /// baseline x86-64 — pays a transition penalty. Measured on the workloads' machine:
    /// reading a 128×784 gradient right after the product that wrote it took 50 µs, 10 µs
    /// after this call, and W3 trained at 189k samples/s instead of 150k.
    #[inline]
    fn clear_upper_vector_state() {
        #[cfg(target_arch = "x86_64")]
        if let Some(avx) = pulp::core_arch::x86::Avx::try_new() {
            avx._mm256_zeroupper();
        }
    }

    /// `C += P` for the `m`-row column-major `C` (column stride `csc`) and the packed `P`:
    /// a product cut along its inner dimension, in the order `(β·C + α·A₀B₀) + α·A₁B₁` on
    /// any thread count.
    fn add_partial<T: Copy + std::ops::AddAssign>(
        c: &mut [T],
        csc: usize,
        partial: &[T],
        m: usize,
    ) {
        for (col, part) in c.chunks_mut(csc).zip(partial.chunks_exact(m)) {
            col.iter_mut().zip(part).for_each(|(c, p)| *c += *p);
        }
    }

    macro_rules! impl_kernel {
        ($t:ty) => {
            impl GemmKernel for $t {
                fn lanes_kernel(
                    parameters: (&[Self], &[Self]),
                    windows: &lanes::Windows<'_>,
                    image: &[lanes::Lanes<Self>],
                    output: &mut [lanes::Lanes<Self>],
                ) {
                    let done = on_widest!(|simd| {
                        lanes::sums(simd, parameters, windows, image, output);
                        clear_upper_vector_state();
                    });
                    if done.is_none() {
                        lanes::sums_scalar(parameters, windows, image, output);
                    }
                }

                fn relu_kernel(z: &mut [Self]) {
                    let done = on_widest!(|simd| {
                        relu::relu_vectors(simd, z);
                        clear_upper_vector_state();
                    });
                    if done.is_none() {
                        relu::relu_scalar(z);
                    }
                }

                fn direct_kernel(
                    window: &DirectWindow,
                    parameters: (&[Self], &[Self]),
                    x: &[Self],
                    z: &mut [Self],
                    rectify: bool,
                ) -> bool {
                    on_widest!(|simd| {
                        let done = direct::kernel::conv(simd, window, parameters, x, z, rectify);
                        clear_upper_vector_state();
                        done
                    })
                    .unwrap_or(false)
                }

                fn affine_takes(units: usize, n: usize, packed: bool) -> bool {
                    on_widest!(|simd| affine::takes::<Self, _>(simd, units, n, packed))
                        .unwrap_or(false)
                }

                fn affine_kernel(
                    w: (&[Self], usize, usize),
                    b: &[Self],
                    x: &[Self],
                    z: &mut [Self],
                    plan: (Epilogue<'_, Self>, AffinePlan<'_, Self>),
                ) -> bool {
                    on_widest!(|simd| {
                        affine::affine(simd, w, b, x, z, plan);
                        clear_upper_vector_state();
                    })
                    .is_some()
                }

                #[inline]
                fn gemm_kernel(
                    (m, k, n): (usize, usize, usize),
                    alpha: Self,
                    (a, rsa, csa): Strided<'_, Self>,
                    (b, rsb, csb): Strided<'_, Self>,
                    beta: Self,
                    (c, rsc, csc): (&mut [Self], usize, usize),
                ) {
                    assert!(m > 0 && k > 0 && n > 0, "gemm_kernel: empty dimension");
                    assert!(rsc == 1, "gemm_kernel: C must be column-major");
                    thread_local! {
                        /// The second half's partial product of a product cut along its
                        /// inner dimension, sized once per thread.
                        static PARTIAL: RefCell<Vec<$t>> = const { RefCell::new(Vec::new()) };
                    }
                    // A weight gradient with a long batch: the packed kernel.
                    if rsa == 1 && csb == 1 && packs(m, k, n) {
                        let done = on_widest!(|simd| {
                            let product = |b: &[$t], c: &mut [$t], n| {
                                let (b, c) = ((b, rsb), (c, csc));
                                packed::gemm(simd, (m, k, n), alpha, (a, csa), b, beta, c);
                                clear_upper_vector_state();
                            };
                            // Each entry is the same sum however the columns are shared,
                            // so the product is cut only where a second thread takes half.
                            let two = crate::kernel_threads() >= 2;
                            match packed_cut(m, k, n).filter(|_| two) {
                                Some(at) => {
                                    packed::reserve::<$t>(k, n);
                                    let (c0, c1) = c.split_at_mut(at * csc);
                                    join(|| product(b, c0, at), || product(&b[at..], c1, n - at));
                                }
                                None => product(b, c, n),
                            }
                        });
                        if done.is_some() {
                            return;
                        }
                    }
                    // One column of a column-major `A`: the matrix–vector kernel (B's
                    // column is contiguous whichever way it is stored).
                    if n == 1 && rsa == 1 && rsb == 1 {
                        let done = on_widest!(|simd| {
                            let (x, y) = (&b[..k], &mut c[..m]);
                            let gemv = |x: &[$t], a: &[$t], beta, y: &mut [$t]| {
                                gemv(simd, alpha, (a, csa), x, beta, y);
                                clear_upper_vector_state();
                            };
                            match cut(m, k, n) {
                                Some(Cut::Inner(at)) => PARTIAL.with_borrow_mut(|partial| {
                                    partial.clear();
                                    partial.resize(m, 0.0);
                                    let (x0, x1) = x.split_at(at);
                                    join(
                                        || gemv(x0, a, beta, &mut *y),
                                        || gemv(x1, &a[at * csa..], 0.0, &mut *partial),
                                    );
                                    add_partial(y, m, partial, m);
                                }),
                                _ => gemv(x, a, beta, y),
                            }
                        });
                        if done.is_some() {
                            return;
                        }
                    }
                    let a = view(a, m, k, rsa, csa);
                    let b = view(b, k, n, rsb, csb);
                    // faer accumulates with β ∈ {0, 1}: `Replace` never reads C (so NaN in
                    // it is ignored); another β scales C first.
                    let accum = if beta == 0.0 {
                        Accum::Replace
                    } else {
                        if beta != 1.0 {
                            for col in c.chunks_mut(csc).take(n) {
                                col.iter_mut().take(m).for_each(|x| *x *= beta);
                            }
                        }
                        Accum::Add
                    };
                    let product = |c: MatMut<'_, Self>, a: MatRef<'_, Self>, b, accum| {
                        faer::linalg::matmul::matmul(c, accum, a, b, alpha, Par::Seq);
                        clear_upper_vector_state();
                    };
                    match cut(m, k, n) {
                        None => product(view_mut(c, m, n, csc), a, b, accum),
                        Some(Cut::Rows(at)) => {
                            let (c0, c1) = view_mut(c, m, n, csc).split_at_row_mut(at);
                            let (a0, a1) = a.split_at_row(at);
                            join(|| product(c0, a0, b, accum), || product(c1, a1, b, accum));
                        }
                        Some(Cut::Columns(at)) => {
                            let (c0, c1) = view_mut(c, m, n, csc).split_at_col_mut(at);
                            let (b0, b1) = b.split_at_col(at);
                            join(|| product(c0, a, b0, accum), || product(c1, a, b1, accum));
                        }
                        Some(Cut::Inner(at)) => {
                            let (a0, a1) = a.split_at_col(at);
                            let (b0, b1) = b.split_at_row(at);
                            PARTIAL.with_borrow_mut(|partial| {
                                partial.clear();
                                partial.resize(m * n, 0.0);
                                let part = MatMut::from_column_major_slice_mut(partial, m, n);
                                join(
                                    || product(view_mut(&mut *c, m, n, csc), a0, b0, accum),
                                    || product(part, a1, b1, Accum::Replace),
                                );
                                add_partial(c, csc, partial, m);
                            });
                        }
                    }
                }
            }
        };
    }

    impl_kernel!(f32);
    impl_kernel!(f64);
}
