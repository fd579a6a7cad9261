//! # nn-init — seeded weight initializers that keep signals alive through deep stacks
//!
//! Initial values for a layer's weight matrix `W` of shape `(fan_out, fan_in)` =
//! `(n_l, n_{l−1})` and its bias `b` of shape `(n_l, 1)`, drawn from [`SeededRng`], a
//! ChaCha20 generator whose output is the same on every platform and with every version of
//! rand.
//!
//! ## Why the scale matters
//!
//! With zero-mean independent weights, a unit's pre-activation `z = Σ_j W_ij a_j` has
//! `Var(z) = fan_in · Var(W) · E[a²]`. Through `L` layers this factor compounds: weights
//! a bit too small make the signal (and the gradient flowing back) shrink geometrically
//! with depth, a bit too large make it blow up or push tanh into its flat tails where the
//! gradient is nearly zero. Choosing `Var(W)` so that the factor is 1 for the activation
//! at hand keeps activations and gradients the same size in every layer. Weights must also
//! be random: equal weights give every unit of a layer the same output and the same
//! gradient forever (the symmetry problem). Biases may start at zero.
//!
//! ## The initializers
//!
//! | [`Init`]            | distribution                               | target variance `Var(W)`       | recommended for |
//! |---------------------|--------------------------------------------|--------------------------------|-----------------|
//! | `zeros`             | `0`                                        | `0`                            | biases only     |
//! | `constant(c)`       | `c`                                        | `0` (mean `c`)                 | biases only     |
//! | `uniform(a,b)`      | `U[a, b)`                                  | `(b − a)²/12` (mean `(a+b)/2`) | explicit choice |
//! | `normal(μ,σ)`       | `N(μ, σ²)`                                 | `σ²` (mean `μ`)                | explicit choice |
//! | `xavier_normal`     | `N(0, 1/n_in)`                             | `1/n_in`                       | tanh, sigmoid, identity, softmax |
//! | `glorot_normal`     | `N(0, 2/(n_in + n_out))`                   | `2/(n_in + n_out)`             | tanh, sigmoid   |
//! | `glorot_uniform`    | `U(−r, r)`, `r = √(6/(n_in + n_out))`      | `2/(n_in + n_out)`             | tanh, sigmoid   |
//! | `he_normal(α)`      | `N(0, 2/((1 + α²) n_in))`                  | `2/((1 + α²) n_in)`            | ReLU (`α = 0`), leaky ReLU (slope `α`), ELU, GELU, SiLU, softplus |
//! | `he_uniform(α)`     | `U(−r, r)`, `r = √(6/((1 + α²) n_in))`     | `2/((1 + α²) n_in)`            | as `he_normal`  |
//! | `lecun_normal`      | `N(0, 1/n_in)`                             | `1/n_in`                       | SELU            |
//! | `orthogonal(g)`     | `g · Q`, `Q` uniformly random orthonormal  | `g²/max(n_in, n_out)`          | deep linear or tanh stacks |
//!
//! The tutorial gives Xavier in two forms, `1/n_in` ([`Init::XavierNormal`]) and
//! `2/(n_in + n_out)` ([`Init::GlorotNormal`]). It writes He's rule as `N(0, √(2/n))`, with
//! the square root where the variance goes; the derivation gives `Var(W) = 2/n_in` (a
//! standard deviation of `√(2/n_in)`), and that is what [`Init::HeNormal`] draws.
//! [`recommended_for`] maps an [`Activation`](nn_activations::Activation) to its row.
//!
//! The fan-based initializers give zero biases ([`Init::bias`]).
//!
//! ## Reproducibility
//!
//! - One seed, many streams: [`SeededRng::stream`]`(seed, k)` is ChaCha20 with the seed as
//!   key and `k` as its 64-bit stream id. Give each layer its own stream (and shuffling and
//!   dropout theirs) and nothing one of them draws shifts another.
//! - Same seed and stream → bit-identical matrices. The path from ChaCha20's keystream to
//!   a number (53-bit uniforms, Marsaglia's polar method with libm's `log`, Lemire's
//!   unbiased integers, Fisher–Yates) is written out in this crate, not taken from
//!   `StdRng` (whose algorithm may change in any rand release) or `rand_distr` (whose
//!   samplers may change between major versions). The keystream itself is pinned in the
//!   tests against the published ChaCha20 test vector.
//! - [`SeededRng::state`] / [`SeededRng::from_state`] resume a generator exactly, for
//!   checkpoints.
//! - An `f32` matrix is the `f64` one from the same state, rounded.
//!
//! ## Example
//!
//! The weights of a 784 → 128 → 64 → 10 network, each layer on its own stream:
//!
//! ```
//! use nn_init::{nn_activations::Activation, recommended_for, SeededRng};
//!
//! let sizes = [784, 128, 64, 10];
//! let activations = [Activation::Relu, Activation::Relu, Activation::Tanh];
//! let seed = 2024;
//! let mut layers = Vec::new();
//! for (l, act) in activations.iter().enumerate() {
//!     let (fan_in, fan_out) = (sizes[l], sizes[l + 1]);
//!     let init = recommended_for(*act);
//!     let mut rng = SeededRng::stream(seed, l as u64);
//!     let w = init.weights::<f32>(fan_out, fan_in, &mut rng)?;
//!     let b = init.bias::<f32>(fan_out, &mut rng)?;
//!     layers.push((w, b));
//! }
//! assert_eq!(layers[0].0.shape(), (128, 784));
//! assert!(layers[0].1.iter().all(|&b| b == 0.0));
//!
//! // The same seed gives the same bits.
//! let again = recommended_for(Activation::Relu)
//!     .weights::<f32>(128, 784, &mut SeededRng::stream(seed, 0))?;
//! assert_eq!(again, layers[0].0);
//! # Ok::<(), nn_init::InitError>(())
//! ```
//!
//! Bad arguments are errors, not panics:
//!
//! ```
//! use nn_init::{Init, InitError, SeededRng};
//! let mut rng = SeededRng::new(0);
//! let err = Init::Normal { mean: 0.0, std: -1.0 }.weights::<f64>(3, 3, &mut rng);
//! assert!(matches!(err, Err(InitError::InvalidArgument { what: "std", .. })));
//! let err = Init::XavierNormal.weights::<f64>(3, 0, &mut rng);
//! assert!(matches!(err, Err(InitError::ZeroSize { what: "fan_in", .. })));
//! ```
//!
//! ## Dependencies
//!
//! - `nn-activations` (and through it nn-core): the activations [`recommended_for`] maps,
//!   and the [`Scalar`](nn_activations::nn_core::Scalar) element type.
//! - `nalgebra`: the matrix type, and the QR decomposition of [`Init::Orthogonal`].
//! - `rand_chacha`: the ChaCha20 keystream, nothing else. Neither `rand` (its `StdRng` is
//!   not value-stable) nor `rand_distr` (its samplers are value-stable only within a major
//!   version) is used: the few samplers needed are short and written out here.
//! - `libm`: a `log` with the same bits on every platform, for the normal sampler.
//! - `serde` (without derive): [`Init`]'s serialised form, its text form.
//! - `thiserror`: the error enum's `Display`.

mod constant;
mod distribution;
mod error;
mod init;
mod name;
mod orthogonal;
mod recommend;
mod rng;
mod scaled;
mod stream;

pub use error::InitError;
pub use init::Init;
pub use recommend::recommended_for;
pub use rng::{RngState, SeededRng};
pub use stream::Stream;

/// Re-export of nn-activations (and through it nn-core and nalgebra), so that users of
/// this crate see the same versions.
pub use nn_activations;
/// nalgebra's dynamically sized matrix, the type of every weight matrix.
pub use nn_activations::DMatrix;
/// Re-export of nalgebra (through nn-core), so that users name the same version.
pub use nn_activations::nalgebra;

/// The crate README's examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
