//! The scalar types the whole workspace is generic over: `f32` and `f64`.

use std::fmt::{Debug, Display};

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
    /// The type's name as written in model files (`"f32"` or `"f64"`).
    const NAME: &'static str;
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
    ($t:ty, $name:literal) => {
        impl Scalar for $t {
            const NAME: &'static str = $name;
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

impl_scalar!(f32, "f32");
impl_scalar!(f64, "f64");

/// The packed GEMM kernel for each scalar type, behind a safe interface.
///
/// Sealed: `Scalar` can only be implemented here, for `f32` and `f64`.
pub(crate) mod kernel {
    use faer::{Accum, MatMut, MatRef, Par};

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

    macro_rules! impl_kernel {
        ($t:ty) => {
            impl GemmKernel for $t {
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
                    let c = MatMut::from_column_major_slice_with_stride_mut(c, m, n, csc);
                    faer::linalg::matmul::matmul(c, accum, a, b, alpha, Par::Seq);
                    clear_upper_vector_state();
                }
            }
        };
    }

    impl_kernel!(f32);
    impl_kernel!(f64);
}
