//! # nn-activations — activation functions and their derivatives
//!
//! The activations of the `nn` workspace, as one `Copy` enum, [`Activation`], that a
//! layer stores and applies to its pre-activations: `A = g(Z)` forward, and the
//! vector–Jacobian product `dZ` from `dA` backward. Every derivative is property-tested
//! against nn-core's finite-difference [`gradcheck`](nn_core::gradcheck).
//!
//! **Examples are columns**: `Z` is `n × m` for `n` units and `m` examples. Every
//! activation but softmax acts on each entry alone; softmax normalises each column.
//!
//! ## The functions
//!
//! Identity, the step, sigmoid, tanh, ReLU and leaky ReLU, softmax, ELU and SELU, GELU
//! (exact and its tanh approximation), SiLU and softplus. Each family is a module
//! ([`relu`], [`elu`], …) with its formula, derivative and a worked example; the table of
//! every `g(z)`, `g'(z)`, the path the backward reads (`z`, or the output `a` where that
//! saves work) and the weight scale it pairs with is on [`Activation`], whose declaration
//! is also the one table of names (`Display`, `FromStr`, serde: `"relu"`,
//! `"leaky_relu(0.01)"`; aliases in [`Activation::ALIASES`]).
//!
//! ## Conventions
//!
//! - **Kinks.** ReLU and leaky ReLU have derivative **1 at `z = 0`** (the right
//!   derivative), and so do ELU (1) and SELU (λ).
//! - **The step** has derivative 0 everywhere, so gradient descent through it never
//!   moves: it cannot be trained by backpropagation. That is what the perceptron learning
//!   rule is for; [`Activation::is_differentiable`] is `false` for it alone.
//! - **Parameters** (leaky slope, ELU `α`) must be finite and `≥ 0`; `FromStr` and
//!   [`Activation::validate`] reject anything else.
//!
//! ## Numerical stability
//!
//! Every forward and derivative is finite for every finite input, in `f32` and `f64`, and
//! accurate where the true value is representable (tested at ±88, ±700 and ±1e4):
//!
//! - sigmoid exponentiates only `−|z|`; `1 − σ(z)` is computed as `σ(−z)`;
//! - softplus is `max(z, 0) + ln_1p(e^(−|z|))`;
//! - softmax subtracts each column's maximum, so columns sum to 1 within a few ulps;
//! - ELU and SELU evaluate `exp_m1(z)` only for `z < 0`;
//! - GELU uses `Φ(z) = ½ erfc(−z/√2)`, which does not cancel in the left tail, and the
//!   tanh approximation is computed as `z σ(2u)`.
//!
//! ## Speed
//!
//! Each element-wise loop is specialised to one activation function and runs through
//! `nn_core::widest_simd` (AVX-512 or AVX2 + FMA where the CPU has them). In `f32`, tanh,
//! sigmoid and softmax use the branch-free [`exp::exp_f32`] (within 2 ulps) instead of a C
//! library call per element, so their loops vectorise too; `f64` keeps the C library's
//! functions.
//!
//! ## Allocation
//!
//! [`Activation::forward`], [`Activation::backward`] and [`Activation::derivative`]
//! allocate their result; [`Activation::forward_into`], [`Activation::backward_into`] and
//! [`Activation::derivative_into`] write into the caller's buffer and allocate nothing
//! (softmax included: it works column by column in place). Shapes are checked at every
//! call; a mismatch is an [`ActivationError`], never a panic.
//!
//! ## Example
//!
//! A hidden layer's activation, its backward checked against finite differences, and an
//! activation read from a config string:
//!
//! ```
//! use nn_activations::nn_core::{frobenius_dot, gradcheck, nalgebra::DMatrix};
//! use nn_activations::{Activation, ActivationError};
//!
//! let g: Activation = "gelu_tanh".parse()?;
//! assert_eq!(g.to_string(), "gelu_tanh");
//! assert_eq!("leaky_relu".parse::<Activation>()?.to_string(), "leaky_relu(0.01)");
//!
//! let z = DMatrix::from_row_slice(2, 3, &[-1.5, 0.3, 2.0, 0.7, -0.2, -3.0]);
//! let mut a = DMatrix::zeros(2, 3);
//! g.forward_into(&z, &mut a)?; // no allocation
//!
//! // Backward for the cost J = ⟨R, g(Z)⟩, so dA = R.
//! let r = DMatrix::from_row_slice(2, 3, &[0.5, -1.0, 0.25, 2.0, 1.0, -0.5]);
//! let dz = g.backward(&z, &a, &r)?;
//! let report = gradcheck(|z| frobenius_dot(&r, &g.forward(z)).unwrap_or(f64::NAN), &z, &dz)?;
//! assert!(report.max_rel_error < 1e-8, "{report}");
//!
//! // Unknown names are errors that list the valid ones.
//! let err = "relu6".parse::<Activation>().unwrap_err();
//! assert!(matches!(err, ActivationError::UnknownName { .. }));
//! assert!(err.to_string().contains("leaky_relu"));
//! # Ok::<(), ActivationError>(())
//! ```
//!
//! ## Dependencies
//!
//! - `nn-core`: the [`Scalar`] element type (`f32`, `f64`), the shape
//!   errors, and `gradcheck` for the tests. Re-exported as [`nn_core`].
//! - `nalgebra`: the matrix type.
//! - `libm`: `erfc` for the exact GELU, which Rust's standard library does not provide
//!   (a dependency-free port of musl's math library).
//! - `serde` (without derive): [`Activation`]'s serialised form, its `Display` string.
//! - `thiserror`: the error enum's `Display`.

mod activation;
mod error;
mod name;

pub mod exp;

// `Activation`, `WeightScale` and the modules of the families (`relu`, `elu`, …), which
// `activation.rs` declares beside the table they belong to.
pub use activation::*;
pub use error::ActivationError;
pub use nn_core;
/// nalgebra's dynamically sized matrix, the type of every batch and gradient.
pub use nn_core::DMatrix;
pub use nn_core::Scalar;
/// Re-export of nalgebra (through nn-core), so that users name the same version.
pub use nn_core::nalgebra;

/// The crate README's examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
