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
    /// A strided operand: `(data, row stride, column stride)`.
    pub type Strided<'a, T> = (&'a [T], usize, usize);

    /// `C ← α·A·B + β·C` for `A: m×k`, `B: k×n`, `C: m×n`, all ≥ 1, given as strided slices.
    pub trait GemmKernel: Sized {
        /// Panics (a bug in nn-core, not a user error) if a slice is too short for its
        /// dimensions and strides: the caller validated shapes and derived the strides.
        fn gemm_kernel(
            dims: (usize, usize, usize),
            alpha: Self,
            a: Strided<'_, Self>,
            b: Strided<'_, Self>,
            beta: Self,
            c: (&mut [Self], usize, usize),
        );
    }

    /// The largest offset an `r×c` strided operand touches, plus one.
    #[inline]
    fn extent(r: usize, c: usize, rs: usize, cs: usize) -> usize {
        (r - 1) * rs + (c - 1) * cs + 1
    }

    macro_rules! impl_kernel {
        ($t:ty, $f:path) => {
            impl GemmKernel for $t {
                #[inline]
                #[allow(unsafe_code)]
                fn gemm_kernel(
                    (m, k, n): (usize, usize, usize),
                    alpha: Self,
                    (a, rsa, csa): Strided<'_, Self>,
                    (b, rsb, csb): Strided<'_, Self>,
                    beta: Self,
                    (c, rsc, csc): (&mut [Self], usize, usize),
                ) {
                    assert!(m > 0 && k > 0 && n > 0, "gemm_kernel: empty dimension");
                    assert!(
                        a.len() >= extent(m, k, rsa, csa),
                        "gemm_kernel: A too short"
                    );
                    assert!(
                        b.len() >= extent(k, n, rsb, csb),
                        "gemm_kernel: B too short"
                    );
                    assert!(
                        c.len() >= extent(m, n, rsc, csc),
                        "gemm_kernel: C too short"
                    );
                    // SAFETY: every index the kernel reads or writes, (i·rs + j·cs) for
                    // i < rows and j < cols, is below the extents asserted above; `c` is
                    // a unique borrow, so it aliases neither `a` nor `b`; with β = 0,
                    // matrixmultiply does not read `c`. Strides fit in isize: they are
                    // dimensions of allocated slices.
                    unsafe {
                        $f(
                            m,
                            k,
                            n,
                            alpha,
                            a.as_ptr(),
                            rsa as isize,
                            csa as isize,
                            b.as_ptr(),
                            rsb as isize,
                            csb as isize,
                            beta,
                            c.as_mut_ptr(),
                            rsc as isize,
                            csc as isize,
                        );
                    }
                }
            }
        };
    }

    impl_kernel!(f32, matrixmultiply::sgemm);
    impl_kernel!(f64, matrixmultiply::dgemm);
}
