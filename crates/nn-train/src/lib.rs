//! # nn-train — layers, networks, losses, optimizers and the training loop
//!
//! The engine of the `nn` workspace: a sequential network of dense, dropout, convolution
//! and pooling layers, trained by backpropagation in the column convention, with every
//! gradient checkable against finite differences ([`Network::gradient_check`]).
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
//! use nn_train::DMatrix;
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
//! ## Example: load a CSV file, train, save, load back
//!
//! ```
//! use nn_train::data::{load_csv, CsvOptions};
//! use nn_train::encode::{Encoder, EncoderKind};
//! use nn_train::persist::{load_model, save_model};
//! use nn_train::{fit, Activation, FitConfig, Loss, Network, Optimizer, Silent};
//!
//! // A small CSV file: two features and a string class label per row.
//! let dir = std::env::temp_dir();
//! let csv_path = dir.join("nn-train-doc-example.csv");
//! let mut text = String::from("x1,x2,class\n");
//! for i in 0..40 {
//!     let (a, b) = ((i % 8) as f64, (i / 8) as f64);
//!     text += &format!("{a},{b},{}\n", if a > b { "above" } else { "below" });
//! }
//! std::fs::write(&csv_path, text)?;
//!
//! // Examples become columns: X is 2×40, Y one-hot 2×40 (classes "above", "below").
//! let data = load_csv::<f64>(&csv_path, &CsvOptions::default())?;
//! let (train, test) = data.split_stratified(0.25, 1)?;
//! // Standardise with statistics of the training part only.
//! let (encoder, x_train) = Encoder::fit_transform(EncoderKind::Standardize, train.x())?;
//! let x_test = encoder.transform(test.x())?;
//!
//! let mut net = Network::<f64>::builder(2)
//!     .dense(8, Activation::Tanh)
//!     .dense(2, Activation::Softmax)
//!     .loss(Loss::CategoricalCrossEntropy)
//!     .seed(3)
//!     .build()?;
//! let config = FitConfig { epochs: 200, batch_size: 10, optimizer: Optimizer::adam(0.05),
//!                          ..FitConfig::default() };
//! fit(&mut net, (&x_train, train.y()), None, &config, &mut Silent)?;
//! assert!(net.evaluate(&x_test, test.y())?.accuracy.unwrap() >= 0.8);
//!
//! // Save the network with its encoder (atomically), load it back: the same bits.
//! let model_path = dir.join("nn-train-doc-example.safetensors");
//! save_model(&model_path, &net, Some(&encoder))?;
//! let model = load_model::<f64>(&model_path)?;
//! let x_new = model.encoder.as_ref().unwrap().transform(test.x())?;
//! assert_eq!(model.network.predict(&x_new)?, net.predict(&x_test)?);
//! # std::fs::remove_file(&csv_path)?;
//! # std::fs::remove_file(&model_path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Example: a small convolutional network
//!
//! An image example is one column of `C×H×W` values, channel-major (pixel `(c, y, x)` at
//! row `c·H·W + y·W + x`). A convolution computes, per output channel `o` and position,
//! `Z[o, y, x] = b[o] + Σ_{c,ky,kx} W[o, c, ky, kx] X[c, y·s − p + ky, x·s − p + kx]` as one
//! GEMM over an im2col matrix; its weights are PyTorch's `[out, in, kh, kw]` tensor.
//!
//! ```
//! use nn_train::DMatrix;
//! use nn_train::{fit, Activation, FitConfig, Loss, Network, Optimizer, Silent};
//!
//! // 6×6 images with a bar of three pixels somewhere: horizontal (class 0) or vertical (1).
//! let (mut x, mut y) = (DMatrix::<f32>::zeros(36, 40), DMatrix::<f32>::zeros(2, 40));
//! for j in 0..40 {
//!     let (vertical, a, b) = (j % 2, (j / 2) % 4, (j / 8) % 6);
//!     for t in 0..3 {
//!         let (row, col) = if vertical == 1 { (a + t, b) } else { (b, a + t) };
//!         x[(row * 6 + col, j)] = 1.0;
//!     }
//!     y[(vertical, j)] = 1.0;
//! }
//! let mut net = Network::<f32>::image_builder(1, 6, 6)
//!     .conv2d(4, 3, Activation::Relu)   // 4×4×4
//!     .max_pool(2)                      // 4×2×2
//!     .flatten()                        // 16
//!     .dense(2, Activation::Softmax)
//!     .loss(Loss::CategoricalCrossEntropy)
//!     .seed(3)
//!     .build()?;
//! assert_eq!(net.layers()[0].params()[0].file_shape(), [4, 1, 3, 3]); // PyTorch's layout
//! let config = FitConfig { epochs: 40, batch_size: 8, optimizer: Optimizer::adam(0.03),
//!                          ..FitConfig::default() };
//! fit(&mut net, (&x, &y), None, &config, &mut Silent)?;
//! assert_eq!(net.evaluate(&x, &y)?.accuracy, Some(1.0));
//! # Ok::<(), nn_train::TrainError>(())
//! ```
//!
//! ## Same bits on any thread count; divergence
//!
//! Same seed, same build → bit-identical parameters, costs and dropout masks, whatever
//! [`FitConfig::threads`] says (the library reads no environment variable; the `nn`
//! command line and the benchmarks take `NN_THREADS`). A training step is split into
//! [`Network::training_shares`] shares of the batch's columns, a number that depends on the
//! batch width and the network only (shares of at least 512 columns and 2²³ parameters ×
//! columns, at most 16; small steps are one share, the plain single-network step). The
//! threads run the shares, each share's dropout layers draw from the share's own seed, and
//! the gradients are summed in share order as `Σ_k (m_k/m) g_k`. Threads change the speed
//! only. [`Network::predict`] on several threads agrees with one thread to rounding, not
//! bit for bit (see there).
//!
//! Training that diverges stops with [`TrainingError::Diverged`], naming the epoch, the step
//! and the rule: a NaN or infinite cost or gradient, or an epoch's cost that breaks
//! [`FitConfig::divergence`] (by default: above 10⁴ × the first step's cost). The network
//! is left holding the last good epoch's parameters, or the best epoch's with early
//! stopping's `restore_best` ([`KeptParameters`]), ready to be saved.
//!
//! ## Errors
//!
//! Every function returns [`TrainError`] ([`Result`]), whose messages say what was
//! expected, what was found and where. Three subsystems have error types of their own,
//! held by it and shown as they are:
//!
//! - [`DataError`] in [`TrainError::Data`]: a data set or its file — a CSV field that does
//!   not parse (with its line and column), a malformed IDX file (with its byte offset), a
//!   label out of range, columns that are not a model's features, a singular covariance
//!   when whitening.
//! - [`FormatError`] in [`TrainError::Format`]: a model file or checkpoint that is corrupt,
//!   truncated or of another build (naming the file), or a layer's stored form naming an
//!   unknown layer type.
//! - [`TrainingError`] in [`TrainError::Training`]: a run that diverged, with the epoch,
//!   the step, the rule and the parameters kept.
//!
//! The other variants are general: [`TrainError::BadShape`] carries both matrix shapes
//! (`nn_core::Shape`), [`TrainError::BadInput`] a mismatch in words (a count, a name, an
//! image where a flat vector was given); [`TrainError::InvalidArchitecture`] names the
//! layer, [`TrainError::InvalidConfig`] the setting, [`TrainError::TooLarge`] the limit;
//! [`TrainError::Io`] keeps the [`std::io::Error`], which `std::error::Error::source`
//! returns. [`TrainError::Internal`] is a bug of this crate, and says so.
//!
//! ```
//! use nn_train::data::{read_csv, CsvOptions};
//! use nn_train::{DataError, TrainError};
//!
//! let text = "x,label\n1,a\noops,b\n";
//! let err = read_csv::<f64, _>(text.as_bytes(), "t.csv", &CsvOptions::default()).unwrap_err();
//! assert!(matches!(err, TrainError::Data(DataError::Csv { line: 3, column: Some(1), .. })));
//! assert!(err.to_string().starts_with("t.csv, line 3, column 1: "));
//! ```
//!
//! ## Model files
//!
//! [`persist::save_model`] writes, and [`persist::load_model`] reads, this layout
//! (format version 1).
//!
//! A [safetensors](https://github.com/huggingface/safetensors) file: an 8-byte
//! little-endian header length `N`, `N` bytes of JSON header, then the tensor data.
//!
//! **Tensors.** For layer `i` (counting every layer, dropout included, from 0) with
//! parameters:
//!
//! | name | shape | content |
//! |---|---|---|
//! | `layers.{i}.weight` | `[out, in]` | `W[i]`, row-major: element `(r, c)` at `r·in + c` (PyTorch's `nn.Linear.weight`) |
//! | `layers.{i}.weight` (convolution) | `[out, in, kh, kw]` | `W[o, c, ky, kx]` at `((o·in + c)·kh + ky)·kw + kx` (PyTorch's `nn.Conv2d.weight`; the row-major reading of [`Conv2d`]'s `(out, in·kh·kw)` matrix) |
//! | `layers.{i}.bias` | `[out]` | `b[i]` (one per output channel for a convolution) |
//!
//! Pooling, flatten and dropout layers have no tensors.
//!
//! The dtype is `F32` or `F64`, the network's scalar type, little-endian. nalgebra stores
//! matrices column-major, so the bytes are those of `Wᵀ`'s storage; the loaders convert.
//! Checkpoints add the optimizer's state, `optimizer.layers.{i}.{weight|bias}.{k}`, shaped
//! like the parameter: slot 0 is the velocity (momentum, Nesterov), the mean square
//! (RMSProp) or the first moment `m` (Adam, AdamW); slot 1 is Adam's second moment `v`.
//!
//! **Metadata** (`__metadata__`, string → string):
//!
//! | key | value |
//! |---|---|
//! | `format` | `"pt"`: the tensors follow PyTorch's layout (so tools that check this key, like `transformers`, accept the file) |
//! | `nn.format_version` | `"1"`; a loader rejects a version it does not know |
//! | `nn.kind` | `"model"` or `"checkpoint"` |
//! | `nn.architecture` | JSON: `{"input": {"flat": n} \| {"image": [c, h, w]}, "layers": [LayerRecord::to_json …], "loss": "binary_cross_entropy", "l2": 0.0, "seed": 1, "dtype": "f32"}`, with `"class_weights": [w, …]` only for a loss with class weights |
//! | `nn.encoder` | JSON of the fitted input encoder ([`encode::Encoder::to_json`]), if any: `kind`, `shift`, then `scale` (standardize, min_max: `x' = (x - shift) / scale` per feature) or `matrix` and `inverse` (`n × n`, row-major; PCA/ZCA whitening: `x' = matrix (x - shift)`), `epsilon` for whitening, and `formula`, that transform in words (files written before it was stored have none; loading ignores it) |
//! | `nn.classes` | JSON array of class names in output order (two for a single sigmoid output), if saved with [`persist::save_model_with_classes`] |
//! | `nn.features`, `nn.label` | JSON array of the input features' names, JSON string of the label column's name, if saved ([`persist::ModelNames`]) |
//! | `nn.pipeline` | JSON of the preprocessing pipeline ([`pipeline::Pipeline::to_json`]: version, columns with their fitted values, the network inputs' names, each step's formula), if saved with [`persist::ModelWriter::pipeline`] |
//! | `nn.trainer` | checkpoints only: JSON of the training configuration, epoch, optimizer step count and random-stream states (see [`persist::save_checkpoint`]) |
//!
//! Layer JSON ([`LayerSpec::to_json`], serde's form of the layer configurations):
//! `{"type": "dense", "units": 16, "activation": "tanh", "init": null}`, `{"type":
//! "dropout", "rate": 0.5}`, `{"type": "conv2d", "out_channels": 8, "kernel": [3, 3],
//! "stride": [1, 1], "padding": [0, 0], "activation": "relu", "init": null}`, `{"type":
//! "max_pool2d" | "avg_pool2d", "kernel": [2, 2], "stride": [2, 2]}`, `{"type": "flatten"}`
//! (pairs are `[height, width]`); names are those of `Activation`, `Init` and `Loss`'s
//! `Display`, which parse back exactly. A layer of a kind of your own is `{"type": name,
//! "config": …}` ([`LayerRecord::Custom`]), its tensors named like any layer's; it loads
//! through a [`LayerRegistry`] ([`persist::model_from_bytes_registered`]) and is refused as
//! an "unknown layer type" without one. Numbers are written in shortest round-trip form.
//! An image input is `{"image": [c, h, w]}`, each example's `C×H×W` values channel-major,
//! as PyTorch's `N×C×H×W` tensors.
//!
//! Reading a model in Python: `docs/python/nn_model.py` in the repository, a module with
//! numpy and safetensors as its only dependencies, reads every layer kind, activation,
//! encoder and the pipeline above, and predicts (in float64, also for an `f32` model):
//!
//! ```text
//! import nn_model                                   # docs/python/nn_model.py
//! model = nn_model.load("model.safetensors")        # ModelError, naming the problem
//! model.layers, model.dtype, model.encoder, model.pipeline, model.classes, model.features
//! p = model.predict(x)             # rows: N × features, or N × C × H × W; what the ONNX
//!                                  # export computes (a pipeline model: its imputed,
//!                                  # one-hot vector, named by model.input_names)
//! p = model.predict_table("new.csv")   # columns by name, the stored pipeline applied
//! ```
//!
//! `python3 docs/python/nn_model.py model.safetensors new.csv` writes the CSV columns of
//! `nn predict` (`docs/python/predict.py` is the same command); `cargo xtask interop`
//! compares both with nn.
//!
//! The other two ways out: `persist::onnx` (feature `onnx`) writes the network, encoder
//! and pipeline scaling as an ONNX graph for ONNX Runtime, and [`persist::torch`] writes
//! the network as the `state_dict` of the matching `torch.nn.Sequential` and reads one
//! that PyTorch saved.
//!
//! ## Pieces
//!
//! - [`Network`], built by [`NetworkBuilder`] from layer configurations ([`LayerSpec`]:
//!   [`DenseConfig`], [`Conv2dConfig`], …, each beside its layer), from layers given built
//!   ([`Dense::from_parameters`], [`Conv2d::from_parameters`], or a layer of your own:
//!   [`NetworkBuilder::push`]), with or without a loss (without one it runs but does not
//!   train). The [`Layer`] trait, which [`Dense`], [`Dropout`], [`Conv2d`], [`MaxPool2d`],
//!   [`AvgPool2d`] and [`Flatten`] implement, is six compute methods plus defaults: named
//!   parameters ([`Param`]), the fused losses' activation, a random stream
//!   ([`Stochastic`]), and how model files record the layer ([`LayerRecord`]); see
//!   [`layers`] for adding a layer kind. Shapes are validated at build time, with errors
//!   naming the layer; gradients are read by name ([`Network::gradients`]).
//! - [`Loss`]: fused sigmoid + BCE and softmax + CE, plain BCE on probabilities, MSE,
//!   Huber, hinge; each documented with its formula and gradient. The cross-entropies take
//!   per-class weights ([`NetworkBuilder::class_weights`], [`balanced_class_weights`]).
//! - [`Optimizer`]: SGD, momentum, Nesterov, RMSProp, Adam, AdamW; [`Schedule`]s (step,
//!   exponential, cosine, reduce-on-plateau with its [`PlateauState`]), warm-up,
//!   gradient-norm clipping.
//! - [`Trainer`] / [`fit`]: seeded shuffling, mini-batches, validation, [`History`] (CSV),
//!   early stopping with best-weights restore, a convergence stop ([`Convergence`]:
//!   scikit-learn's `tol` rule), an [`Observer`] hook, divergence detection
//!   ([`Divergence`]), and data-parallel steps on several threads (see below).
//! - [`Perceptron`]: Rosenblatt's rule for step units.
//! - [`metrics`]: accuracy, confusion matrix, precision/recall/F1, log-loss, ROC AUC, and
//!   the reports [`metrics::ClassificationReport`] and [`metrics::RegressionReport`]
//!   (scikit-learn's definitions; a table to print and a JSON form).
//! - [`data`]: [`data::Dataset`] (columns are examples) with one-hot labels, seeded
//!   shuffles, stratified splits and mini-batches; [`data::synthetic`] problems (XOR,
//!   circles, moons, spirals, blobs, triangle, parity); CSV and MNIST IDX loaders whose
//!   errors name the line and column, or the byte offset.
//! - [`encode`]: standardisation, min–max, PCA and ZCA whitening, fitted on training data.
//! - [`pipeline`]: a preprocessing pipeline fitted on a [`data::Table`]'s training rows
//!   (imputation, one-hot encoding, scaling, the regression target's scale, the class
//!   names), stored in model files with its formulas so that Python can apply it.
//! - [`persist`]: model files and checkpoints (safetensors, layout below); resuming from a
//!   checkpoint is bit-identical to never stopping. With the `onnx` feature,
//!   `persist::onnx` exports a model (network, encoder, the pipeline's scaling, names) as
//!   an ONNX graph for ONNX Runtime and other consumers (opset 17, rows as inputs).
//! - [`fuzz`]: one fuzz target per parser of untrusted input (CSV, IDX, model files,
//!   checkpoints, names, JSON forms), run by property tests and by libFuzzer.
//!
//! Everything is generic over `f32` and `f64` ([`Scalar`]); gradient checks run in `f64`.
//!
//! ## Re-exports
//!
//! [`DMatrix`] and [`nalgebra`] (the version this crate is built with), [`nn_core`],
//! [`nn_init`] (and through it `nn_activations`), [`Activation`], [`Init`],
//! [`SeededRng`] and [`Scalar`]: a program that depends on this crate alone writes
//! `use nn_train::DMatrix;` and needs no `nalgebra` line of its own.
//!
//! ## Features
//!
//! All on by default:
//!
//! - `csv`: CSV data sets ([`data`]'s CSV loaders) and [`History`] as CSV, through the
//!   `csv` crate.
//! - `gzip`: transparent `.gz` decompression of CSV and IDX files, through `flate2`.
//! - `parallel`: [`Network::predict`] on rayon's pool for large batches.
//! - `onnx`: ONNX export (`persist::onnx`), through `prost`.
//!
//! They are declared for inference-only programs, which need none of the first three. In this
//! version the library does not build without them yet: keep the default features.
//!
//! ## Dependencies
//!
//! - `nn-init` (and through it `nn-activations` and `nn-core`): initializers, seeded
//!   random streams, activations, tensor math.
//! - `nalgebra`: the matrix type. `thiserror`: the error enum.
//! - `csv` (feature `csv`): reading data sets and writing the training history as CSV,
//!   with correct quoting and record positions for error messages.
//! - `flate2` (feature `gzip`; pure-Rust `miniz_oxide` backend): transparent `.gz` for CSV
//!   and IDX files, as MNIST is distributed.
//! - `rayon` (feature `parallel`): its global pool runs the shares of a column-split
//!   `Network::predict` of a convolutional network on large batches
//!   (`Network::set_threads`; a dense network's products use nn-core's helper thread
//!   instead, `nn_core::with_kernel_threads`). Data-parallel training
//!   steps (`FitConfig::threads`) use threads of their own instead, woken
//!   per round by a condition variable: a pool's job queue allocates every few dozen
//!   submissions.
//! - `safetensors`: the model-file container that Python (`safetensors`, PyTorch) reads
//!   as is; its parser validates offsets and lengths before any tensor is touched.
//! - `prost` (feature `onnx`; `derive` and `std` only): the protobuf encoding of ONNX
//!   files. The few ONNX messages the export writes are written out in
//!   `persist::onnx::proto` with `onnx.proto`'s field numbers and derived with
//!   `prost::Message`, so no `protoc` and no build script are needed; hand-encoding the
//!   wire format instead would be code of our own to get wrong.
//! - `serde` (derive): the encoder's stored form is parsed straight into typed fields,
//!   8 bytes a number, instead of a JSON tree several times the header's size.
//! - `serde_json` (with `float_roundtrip`): the architecture, encoder and trainer state in
//!   the files' metadata; `float_roundtrip` makes every number read back to the same bits.

mod atomic;
mod check;
mod columns;
pub mod data;
pub mod encode;
mod error;
#[cfg(all(feature = "csv", feature = "gzip"))]
pub mod fuzz;
pub mod layers;
pub mod limits;
mod loss;
pub mod metrics;
mod network;
pub mod optim;
mod perceptron;
pub mod persist;
pub mod pipeline;
mod train;

pub use data::Data;
pub use error::{
    DataError, DivergenceRule, FormatError, IoSource, KeptParameters, Result, TrainError,
    TrainingError,
};
pub use layers::{
    AvgPool2d, AvgPool2dConfig, Conv2d, Conv2dConfig, Dense, DenseConfig, Dropout, DropoutConfig,
    FeatureShape, Flatten, FlattenConfig, Layer, LayerClone, LayerPlan, LayerRecord, LayerRegistry,
    LayerSpec, MaxPool2d, MaxPool2dConfig, Mode, Param, ParamMut, ParamShape, Stochastic, Upstream,
};
pub use limits::Limits;
pub use loss::{GradientOf, Loss, PROBABILITY_EPSILON, Task, balanced_class_weights};
pub use network::{Evaluation, Network, NetworkBuilder, NetworkPlan, PredictBuffers};
pub use optim::{
    Optimizer, OptimizerState, PlateauState, Schedule, clip_gradient_norm, gradient_norm,
    gradients_finite,
};
pub use perceptron::{Perceptron, PerceptronConfig, PerceptronReport};
pub use train::{
    Control, Convergence, Divergence, EarlyStopping, EpochHook, EpochRecord, FitConfig, History,
    Observer, Silent, Stopped, Trainer, fit,
};

pub use nn_init::nn_activations::Activation;
pub use nn_init::nn_activations::nn_core::{self, Scalar};
pub use nn_init::{self, Init, SeededRng, Stream};

/// nalgebra's dynamically sized matrix, the type of every batch, weight and gradient.
pub use nn_core::DMatrix;
/// Re-export of nalgebra (through nn-core), so that users name the same version.
pub use nn_core::nalgebra;
/// Re-export of serde_json: a layer of your own records its configuration as a
/// [`serde_json::Value`] ([`LayerRecord::custom`], [`LayerRegistry`]).
pub use serde_json;

/// The crate README's examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
