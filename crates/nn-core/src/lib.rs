//! # nn-core — tensor math for neural networks, with gradients you can check
//!
//! The base of the `nn` workspace: shape-checked matrix operations over nalgebra's
//! [`DMatrix`], each paired with its backward (vector–Jacobian product), and [`gradcheck`],
//! the finite-difference checker that every derivative in the workspace is tested against.
//! [`DMatrix`] and [`nalgebra`] itself are re-exported, so that a program depending on this
//! crate alone names them as `nn_core::DMatrix` and `nn_core::nalgebra`, at the version
//! this crate was built with.
//!
//! ## Conventions
//!
//! **Examples are columns.** A batch of `m` examples with `n` features is an `n × m`
//! matrix. A dense layer computes
//!
//! ```text
//! Z = W A_prev + b        W: (n_l, n_{l−1}),  b: (n_l, 1) broadcast over the m columns
//! ```
//!
//! and its backward, for a cost `J = (1/m) Σ L`, is
//!
//! ```text
//! dW = (1/m) dZ A_prevᵀ     db = (1/m) Σ_columns dZ     dA_prev = Wᵀ dZ
//! ```
//!
//! which here are [`gemm_into`] (with the transposes folded into the call, never
//! materialised), [`mean_columns_into`] and [`gemm_into`] again.
//!
//! Everything is generic over [`Scalar`], implemented for `f32` and `f64`; its
//! [`Scalar::DTYPE`] is the element type as a value ([`DType`]).
//!
//! ## Allocation
//!
//! Each operation has an allocating form (`hadamard`) and an in-place form that writes
//! into a buffer the caller owns (`hadamard_into`), so a training step can run without
//! allocating once its buffers are sized. Shapes are checked at every call and a mismatch
//! is a [`CoreError`] that names the operation, the operand, and both shapes; nothing here
//! panics on a wrong shape.
//!
//! ## Example
//!
//! A dense layer's forward and backward, and its weight gradient checked by finite
//! differences:
//!
//! ```
//! use nn_core::DMatrix;
//! use nn_core::{broadcast_column_into, gemm_into, gradcheck, mean_columns_into, Trans};
//!
//! let w = DMatrix::from_row_slice(2, 3, &[0.1, -0.2, 0.3, 0.4, 0.5, -0.6]);
//! let b = DMatrix::from_column_slice(2, 1, &[0.01, -0.02]);
//! let a_prev = DMatrix::from_row_slice(3, 4, &[
//!     1.0, 2.0, 0.5, -1.0,
//!     0.0, 1.0, -0.5, 2.0,
//!     3.0, -1.0, 1.5, 0.5,
//! ]);
//! let m = a_prev.ncols() as f64;
//!
//! // Forward: Z = W A_prev + b, as a bias fill followed by a GEMM with β = 1.
//! let mut z = DMatrix::zeros(2, 4);
//! broadcast_column_into(&b, &mut z)?;
//! gemm_into(1.0, &w, Trans::No, &a_prev, Trans::No, 1.0, &mut z)?;
//!
//! // A cost J = (1/(2m)) Σ Z², so dZ = Z (per example, before the 1/m).
//! let dz = z.clone();
//! let mut dw = DMatrix::zeros(2, 3);
//! gemm_into(1.0 / m, &dz, Trans::No, &a_prev, Trans::Yes, 0.0, &mut dw)?; // (1/m) dZ A_prevᵀ
//! let mut db = DMatrix::zeros(2, 1);
//! mean_columns_into(&dz, &mut db)?; // (1/m) Σ dZ
//!
//! let cost = |w: &DMatrix<f64>| {
//!     let z = w * &a_prev + &b * DMatrix::from_element(1, 4, 1.0);
//!     z.norm_squared() / (2.0 * m)
//! };
//! let report = gradcheck(cost, &w, &dw)?;
//! assert!(report.max_rel_error < 1e-8, "{report}");
//! # Ok::<(), nn_core::CoreError>(())
//! ```
//!
//! ## Threads
//!
//! [`gemm_into`] cuts a large product into two halves by its shape; inside
//! [`with_kernel_threads`] with two threads the second half runs on a helper thread that
//! the crate starts on first use, otherwise right after the first, with the same bits
//! either way. Handing a half over allocates nothing (a pointer to a closure on the
//! caller's stack, which the caller outlives by waiting), which no thread-pool crate
//! offered for jobs submitted from outside its pool; that hand-off is the crate's one
//! use of `unsafe` (`src/pair.rs`, with the argument for each block), besides the test
//! allocator of `testing`.
//!
//! ## Features
//!
//! - `testing` (off by default): the module `nn_core::testing`, helpers the workspace's
//!   test suites share: a counting global allocator (to assert that a pass allocates
//!   nothing) and the weighted-sum cost `X ↦ ⟨R, f(X)⟩` that turns a vector–Jacobian
//!   product into a gradient [`gradcheck`] can check. It is for tests; nothing in the
//!   library uses it.
//!
//! ## Dependencies
//!
//! - `nalgebra`: the matrix type.
//! - `faer` (without default features): the matrix-product kernel behind [`gemm_into`],
//!   fast on the narrow shapes of small networks and allocation-free once a thread has
//!   made its first product (measured figures in the docs of `src/gemm.rs`).
//! - `pulp` (already under faer): [`widest_simd`], the run-time choice of AVX-512 or AVX2
//!   for element-wise loops, the vectors of nn-core's own kernels, written once over
//!   pulp's `Simd` and run on AVX-512 or AVX2 (safe intrinsics, chosen at run time,
//!   `src/isa.rs`), and a safe `vzeroupper` after each product on
//!   x86-64. faer's AVX-512 kernels return with the upper halves of the vector registers
//!   dirty, and until they are cleared every SSE instruction that follows (all of the
//!   element-wise code built for baseline x86-64) runs several times slower: 50 µs
//!   instead of 10 µs for a finiteness scan of W3's 100k weight gradients right after the
//!   product that made them.
//! - `serde` (without derive): [`DType`]'s serialised form, and [`text`], the helper that
//!   serialises a value as its `Display` and reads it with its `FromStr`.
//! - `thiserror`: the error enum's `Display` without boilerplate.

#[cfg(target_arch = "x86_64")]
mod affine;
mod direct;
mod error;
mod gemm;
mod gradcheck;
#[cfg(target_arch = "x86_64")]
mod isa;
mod lanes;
#[cfg(target_arch = "x86_64")]
mod matvec;
mod ops;
#[cfg(target_arch = "x86_64")]
mod packed;
mod pair;
mod relu;
mod scalar;
mod simd;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;

pub use direct::{DirectWindow, conv_direct};
pub use error::{CoreError, Shape};
pub use gemm::{
    PackedWeights, Trans, affine_cuts_itself, affine_into, affine_is_columnwise,
    affine_packed_into, gemm_into, matmul, matmul_backward,
};
pub use gradcheck::{GradCheck, GradCheckReport, Stencil, gradcheck};
pub use lanes::{LANES, Lanes, LanesWindow, lanes_conv, lanes_dense};
pub use ops::{
    add_column, add_column_backward, add_column_into, all_finite, broadcast_column_into,
    ensure_finite, expect_shape, fit_buffer, frobenius_dot, hadamard, hadamard_backward,
    hadamard_into, map, map_backward, map_backward_into, map_into, mean_columns,
    mean_columns_backward, mean_columns_into, sum_columns, sum_columns_into, sum_squares,
};
pub use pair::{join, kernel_threads, with_kernel_threads};
pub use relu::relu_in_place;
pub use scalar::{DType, Scalar};
pub use simd::widest_simd;

/// Re-export of nalgebra, so that downstream crates use the same version.
pub use nalgebra;
/// nalgebra's dynamically sized, column-major matrix: the type every operation here takes.
pub use nalgebra::DMatrix;

/// The crate README's examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
