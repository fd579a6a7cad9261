//! # nn-train — layers, networks, losses, optimizers and the training loop
//!
//! The engine of the `nn` workspace: a sequential network of dense (and dropout) layers,
//! trained by backpropagation in the column convention, with every gradient checkable
//! against finite differences ([`Network::gradient_check`]).
//!
//! ## The math
//!
//! Examples are columns: `X: (n_0, m)`, `Y: (n_L, m)`. Layer `l` computes
//!
//! ```text
//! Z[l] = W[l] A[l−1] + b[l]        A[l] = g[l](Z[l])        A[0] = X
//! ```
//!
//! The cost is `J = (1/m) Σ_i L(ŷ(i), y(i)) + λ/(2m) Σ_l ‖W[l]‖²` (biases not penalised),
//! and backpropagation runs from the loss's gradient down:
//!
//! ```text
//! dZ[L] = A[L] − Y                          (sigmoid + BCE, softmax + CE: fused)
//! dZ[l] = dA[l] ∘ g[l]'(Z[l])               (otherwise)
//! dW[l] = (1/m) dZ[l] A[l−1]ᵀ + (λ/m) W[l]  db[l] = (1/m) Σ_columns dZ[l]
//! dA[l−1] = W[l]ᵀ dZ[l]
//! ```
//!
//! Each product is one GEMM with its transpose folded in (nn-core's `gemm_into`), and
//! every buffer lives in its layer: after the first batch of a given size a training step
//! allocates nothing.
//!
//! ## Example: train, evaluate, predict
//!
//! ```
//! use nalgebra::DMatrix;
//! use nn_train::{fit, Activation, FitConfig, Loss, Network, Optimizer, Silent};
//!
//! // XOR, examples as columns.
//! let x = DMatrix::from_row_slice(2, 4, &[0.0, 0.0, 1.0, 1.0,
//!                                         0.0, 1.0, 0.0, 1.0]);
//! let y = DMatrix::from_row_slice(1, 4, &[0.0, 1.0, 1.0, 0.0]);
//!
//! let mut net = Network::<f64>::builder(2)
//!     .dense(8, Activation::Tanh)
//!     .dense(1, Activation::Sigmoid)
//!     .loss(Loss::BinaryCrossEntropy)
//!     .seed(1)
//!     .build()?;
//! let config = FitConfig {
//!     epochs: 500,
//!     batch_size: 4,
//!     optimizer: Optimizer::adam(0.05),
//!     ..FitConfig::default()
//! };
//! let history = fit(&mut net, (&x, &y), None, &config, &mut Silent)?;
//! assert!(history.epochs.last().unwrap().train_cost < 0.05);
//!
//! let eval = net.evaluate(&x, &y)?;
//! assert_eq!(eval.accuracy, Some(1.0));
//! let p = net.predict(&x)?; // 1×4 probabilities
//! assert!(p[(0, 1)] > 0.9 && p[(0, 3)] < 0.1);
//! println!("{}", net.summary());
//! # Ok::<(), nn_train::TrainError>(())
//! ```
//!
//! ## Pieces
//!
//! - [`Network`], built by [`NetworkBuilder`] from [`LayerSpec`]s; the [`Layer`] trait
//!   that [`Dense`] and [`Dropout`] implement (and later layers join through).
//! - [`Loss`]: fused sigmoid + BCE and softmax + CE, plain BCE on probabilities, MSE,
//!   Huber, hinge; each documented with its formula and gradient.
//! - [`Optimizer`]: SGD, momentum, Nesterov, RMSProp, Adam, AdamW; [`Schedule`]s, warm-up,
//!   gradient-norm clipping.
//! - [`Trainer`] / [`fit`]: seeded shuffling, mini-batches, validation, [`History`] (CSV),
//!   early stopping with best-weights restore, an [`Observer`] hook, divergence detection,
//!   and data-parallel steps on several threads: each thread takes a share of the batch's
//!   columns on its own copy of the network, and the gradients are summed in a fixed order
//!   (bit-identical results for a given thread count).
//! - [`Perceptron`]: Rosenblatt's rule for step units.
//! - [`metrics`]: accuracy, confusion matrix, precision/recall/F1, log-loss.
//! - [`data`]: [`data::Dataset`] (columns are examples) with one-hot labels, seeded
//!   shuffles, stratified splits and mini-batches; [`data::synthetic`] problems (XOR,
//!   circles, moons, spirals, blobs, triangle, parity); CSV and MNIST IDX loaders whose
//!   errors name the line and column, or the byte offset.
//! - [`encode`]: standardisation, min–max, PCA and ZCA whitening, fitted on training data.
//!
//! Everything is generic over `f32` and `f64` ([`Scalar`]); gradient checks run in `f64`.
//!
//! ## Dependencies
//!
//! - `nn-init` (and through it `nn-activations` and `nn-core`): initializers, seeded
//!   random streams, activations, tensor math.
//! - `nalgebra`: the matrix type. `thiserror`: the error enum.
//! - `csv`: reading data sets and writing the training history as CSV, with correct
//!   quoting and record positions for error messages.
//! - `flate2` (pure-Rust `miniz_oxide` backend): transparent `.gz` for CSV and IDX files,
//!   as MNIST is distributed.
//! - `rayon`: the worker threads of data-parallel steps (`FitConfig::threads` or
//!   `NN_THREADS`); its `join` hands work to a pooled thread without allocating.

mod check;
pub mod data;
mod dense;
mod dropout;
pub mod encode;
mod error;
mod layer;
mod loss;
pub mod metrics;
mod network;
mod optim;
mod parallel;
mod perceptron;
mod spec;
mod train;

pub use dense::Dense;
pub use dropout::Dropout;
pub use error::{Result, TrainError};
pub use layer::{FeatureShape, Layer, Mode, ParamMut, Upstream};
pub use loss::{GradientOf, Loss, PROBABILITY_EPSILON, Task};
pub use network::{Evaluation, Network, NetworkBuilder};
pub use optim::{Optimizer, OptimizerState, Schedule, clip_gradient_norm, gradient_norm};
pub use perceptron::{Perceptron, PerceptronConfig, PerceptronReport};
pub use spec::LayerSpec;
pub use train::{
    Control, Data, EarlyStopping, EpochRecord, FitConfig, History, Observer, Silent, Trainer, fit,
    gather_columns,
};

pub use nn_init::nn_activations::Activation;
pub use nn_init::nn_activations::nn_core::{self, Scalar};
pub use nn_init::{self, Init, SeededRng};
