//! Checkpoints: a model file plus everything a [`Trainer`] needs to go on exactly where it
//! stopped (optimizer moments and step count, epoch, the shuffling stream, each dropout
//! layer's mask stream, the training configuration).
//!
//! Resuming from a checkpoint taken between epochs gives bit-identical parameters to a run
//! that was never interrupted. The metadata key `nn.trainer` holds:
//!
//! ```text
//! {"config": {"epochs", "batch_size", "shuffle", "seed", "optimizer": {"name": "adam", "lr", …},
//!             "schedule": {"name": "constant" | "step" | …, …}, "warmup_steps",
//!             "clip_norm": null | x, "threads": null | n,
//!             "early_stopping": null | {"patience", "min_delta", "restore_best"}},
//!  "epoch": 3, "optimizer_steps": 12, "optimizer_slots": true,
//!  "rng": {"seed", "stream", "word_pos": "<decimal u128>"},
//!  "layer_rng": [{"layer": 1, "seed", "stream", "word_pos"}],
//!  "plateau": {"factor", "best", "bad_epochs", "cooldown_left"}}
//! ```
//!
//! `"plateau"` ([`crate::PlateauState`]) is there only for a
//! [`Schedule::ReduceOnPlateau`](crate::Schedule::ReduceOnPlateau) run, and required for
//! one.
//!
//! Every part is a typed form read and written by serde: `config` is [`FitConfig`]'s own
//! form (with [`crate::Optimizer`]'s and [`crate::Schedule`]'s), the rest is this file's
//! `TrainerForm`. As every JSON text of a model file, it is written through a JSON value,
//! so each object's keys come out sorted (the order format version 1 has).
//!
//! Early stopping's patience count, and the reference costs of the divergence rules, are
//! not part of the state: a resumed run starts counting afresh. `"divergence": {"growth",
//! "above_best", "patience"}` is in `config` only when the rules are not the defaults,
//! `"convergence": {"tol", "patience"}` only when that stop is set.
//! A step split into shares reseeds each share's dropout from a stream that continues the
//! network's own, so the network's streams are all the state there is: a run resumes
//! bit-identically on any number of threads.

use std::path::Path;

use nn_init::nn_activations::nn_core::{self, Scalar};
use nn_init::{RngState, SeededRng};
use serde::{Deserialize, Serialize};

use super::model::{Model, ModelWriter, network_tensors, read_model};
use super::{FileReader, OwnedTensor, json_text, read_file, serialize, tensor_of, write_atomic};
use crate::encode::Encoder;
use crate::error::{FormatError, Result};
use crate::layers::LayerRegistry;
use crate::limits::Limits;
use crate::network::Network;
use crate::optim::{PlateauState, Schedule};
use crate::pipeline::Pipeline;
use crate::train::{FitConfig, Trainer};

/// A network and the trainer state to resume training it.
#[derive(Debug)]
pub struct Checkpoint<T: Scalar> {
    /// The network, with the parameters at the checkpoint.
    pub network: Network<T>,
    /// The trainer, at the checkpoint's epoch, with its configuration.
    pub trainer: Trainer<T>,
    /// The input encoder, if one was saved.
    pub encoder: Option<Encoder>,
    /// The preprocessing pipeline, if one was saved ([`ModelWriter::pipeline`]).
    pub pipeline: Option<Pipeline>,
}

/// The trainer state stored under `nn.trainer` (see the module docs), read and written by
/// serde; the configuration is [`FitConfig`]'s own form.
#[derive(Serialize, Deserialize)]
struct TrainerForm {
    config: FitConfig,
    epoch: usize,
    optimizer_steps: u64,
    optimizer_slots: bool,
    rng: RngForm,
    layer_rng: Vec<LayerRngForm>,
    /// Only for a plateau schedule (files of other runs are as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plateau: Option<PlateauState>,
}

/// A random stream's position: its seed, stream id and the keystream word, the last as a
/// decimal string (a `u128` is beyond what JSON readers keep exactly).
#[derive(Serialize, Deserialize)]
struct RngForm {
    seed: u64,
    stream: u64,
    #[serde(with = "nn_core::text")]
    word_pos: u128,
}

impl From<RngState> for RngForm {
    fn from(s: RngState) -> Self {
        Self {
            seed: s.seed,
            stream: s.stream,
            word_pos: s.word_pos,
        }
    }
}

impl From<&RngForm> for RngState {
    fn from(f: &RngForm) -> Self {
        Self {
            seed: f.seed,
            stream: f.stream,
            word_pos: f.word_pos,
        }
    }
}

/// A dropout layer's stream position, with the layer's index.
#[derive(Serialize, Deserialize)]
struct LayerRngForm {
    layer: usize,
    seed: u64,
    stream: u64,
    #[serde(with = "nn_core::text")]
    word_pos: u128,
}

/// The checkpoint's bytes: the model file plus the trainer state (see the module docs).
///
/// # Errors
/// [`FormatError::ModelFile`] if the trainer's optimizer state does not match the network
/// (it was used with another one); otherwise as [`super::model_to_bytes`].
pub fn checkpoint_to_bytes<T: Scalar>(
    net: &Network<T>,
    trainer: &Trainer<T>,
    encoder: Option<&Encoder>,
) -> Result<Vec<u8>> {
    ModelWriter::new(net)
        .encoder(encoder)
        .checkpoint_to_bytes(trainer)
}

impl<T: Scalar> ModelWriter<'_, T> {
    /// The bytes of a checkpoint: this model file (network, encoder, names, pipeline) plus
    /// `trainer`'s state.
    ///
    /// # Errors
    /// As [`checkpoint_to_bytes`] and [`ModelWriter::to_bytes`].
    pub fn checkpoint_to_bytes(&self, trainer: &Trainer<T>) -> Result<Vec<u8>> {
        let net = self.network();
        let mut meta = self.metadata("checkpoint")?;
        let (tensors, state) = trainer_part(net, trainer)?;
        meta.insert("nn.trainer".into(), json_text(&state)?);
        serialize(&tensors, meta)
    }

    /// Saves a checkpoint of this model and `trainer` atomically (see [`save_checkpoint`]).
    ///
    /// # Errors
    /// As [`ModelWriter::checkpoint_to_bytes`]; [`crate::TrainError::Io`] naming the path
    /// if it cannot be written.
    pub fn save_checkpoint(&self, path: &Path, trainer: &Trainer<T>) -> Result<()> {
        write_atomic(path, &self.checkpoint_to_bytes(trainer)?)
    }
}

/// The network's and the optimizer's tensors, and the trainer's state.
fn trainer_part<T: Scalar>(
    net: &Network<T>,
    trainer: &Trainer<T>,
) -> Result<(Vec<(String, OwnedTensor)>, TrainerForm)> {
    let mut tensors = network_tensors(net);
    let names: Vec<(String, Vec<usize>)> = net
        .layers()
        .iter()
        .enumerate()
        .flat_map(|(i, l)| {
            l.params()
                .iter()
                .map(move |p| (format!("layers.{i}.{}", p.name()), p.file_shape()))
        })
        .collect();
    let slots = &trainer.optimizer.slots;
    if !slots.is_empty() && slots.len() != names.len() {
        return Err(FormatError::ModelFile {
            file: "checkpoint".into(),
            problem: format!(
                "the optimizer holds state for {} tensors, but the network has {}",
                slots.len(),
                names.len()
            ),
        }
        .into());
    }
    for ((name, shape), state) in names.iter().zip(slots) {
        for (k, s) in state.iter().enumerate() {
            tensors.push((format!("optimizer.{name}.{k}"), tensor_of(s, shape.clone())));
        }
    }
    let layer_rng = net
        .layers()
        .iter()
        .enumerate()
        .filter_map(|(layer, l)| {
            l.stochastic().map(|s| s.rng_state()).map(|s| LayerRngForm {
                layer,
                seed: s.seed,
                stream: s.stream,
                word_pos: s.word_pos,
            })
        })
        .collect();
    let state = TrainerForm {
        config: *trainer.config(),
        epoch: trainer.epoch,
        optimizer_steps: trainer.optimizer.steps,
        optimizer_slots: !slots.is_empty(),
        rng: trainer.rng.state().into(),
        layer_rng,
        plateau: matches!(trainer.config().schedule, Schedule::ReduceOnPlateau { .. })
            .then_some(trainer.plateau),
    };
    Ok((tensors, state))
}

/// Saves a checkpoint atomically: the network, its trainer's state and the encoder.
/// Take it between epochs (after [`Trainer::fit`] returns, e.g. because an
/// [`crate::Observer`] asked it to stop) to resume bit-identically.
///
/// # Errors
/// As [`checkpoint_to_bytes`]; [`crate::TrainError::Io`] naming the path if it cannot be
/// written.
pub fn save_checkpoint<T: Scalar>(
    path: &Path,
    net: &Network<T>,
    trainer: &Trainer<T>,
    encoder: Option<&Encoder>,
) -> Result<()> {
    write_atomic(path, &checkpoint_to_bytes(net, trainer, encoder)?)
}

/// Reads a checkpoint from bytes; `name` names the source in errors.
///
/// # Errors
/// [`FormatError::ModelFile`] for everything [`super::model_from_bytes`] rejects, a file
/// that is a model but not a checkpoint, and a trainer state that is missing, malformed,
/// or does not fit the network (optimizer tensors missing, extra or mis-shaped, a dropout
/// layer without its stream state).
pub fn checkpoint_from_bytes<T: Scalar>(bytes: &[u8], name: &str) -> Result<Checkpoint<T>> {
    checkpoint_from_bytes_with(bytes, name, &Limits::default())
}

/// [`checkpoint_from_bytes`] with explicit [`Limits`] (as
/// [`super::model_from_bytes_with`]).
///
/// # Errors
/// As [`checkpoint_from_bytes`].
pub fn checkpoint_from_bytes_with<T: Scalar>(
    bytes: &[u8],
    name: &str,
    limits: &Limits,
) -> Result<Checkpoint<T>> {
    checkpoint_from_bytes_registered(bytes, name, limits, &LayerRegistry::new())
}

/// [`checkpoint_from_bytes_with`] for a checkpoint of a network that holds layers of kinds
/// of your own, built by `registry` (as [`super::model_from_bytes_registered`]).
///
/// # Errors
/// As [`checkpoint_from_bytes`]; a layer type neither built in nor in `registry` is
/// refused naming it ("unknown layer type `…`").
pub fn checkpoint_from_bytes_registered<T: Scalar>(
    bytes: &[u8],
    name: &str,
    limits: &Limits,
    registry: &LayerRegistry<T>,
) -> Result<Checkpoint<T>> {
    let mut file = FileReader::open(bytes, name, &["checkpoint"], limits)?;
    let Model {
        mut network,
        encoder,
        pipeline,
        ..
    } = read_model(&mut file, limits, registry)?;
    let text = file
        .meta("nn.trainer")
        .ok_or_else(|| file.error("no \"nn.trainer\" in the metadata".into()))?;
    let state: TrainerForm =
        serde_json::from_str(text).map_err(|e| file.error(format!("nn.trainer: {e}")))?;
    let TrainerForm {
        config,
        epoch,
        optimizer_steps: steps,
        optimizer_slots: has_slots,
        rng,
        layer_rng,
        plateau,
    } = state;
    let layer_rng = layer_rng.into_iter().map(|l| {
        let state = RngState {
            seed: l.seed,
            stream: l.stream,
            word_pos: l.word_pos,
        };
        (l.layer, state)
    });

    let mut trainer = Trainer::new(config).map_err(|e| file.error(format!("nn.trainer: {e}")))?;
    trainer.epoch = epoch;
    trainer.rng = SeededRng::from_state(&RngState::from(&rng));
    trainer.optimizer.steps = steps;
    let is_plateau = matches!(config.schedule, Schedule::ReduceOnPlateau { .. });
    match plateau {
        Some(p) if is_plateau && p.is_valid() => trainer.plateau = p,
        Some(p) if is_plateau => {
            return Err(file.error(format!(
                "nn.trainer: plateau state out of range (factor in [0, 1], finite best): {p:?}"
            )));
        }
        Some(_) => {
            return Err(file.error(
                "nn.trainer: a plateau state, but the schedule is not reduce_on_plateau".into(),
            ));
        }
        None if is_plateau => {
            return Err(file.error(
                "nn.trainer: the schedule is reduce_on_plateau, but there is no \"plateau\" state"
                    .into(),
            ));
        }
        None => {}
    }
    if has_slots {
        let n_slots = config.optimizer.slots();
        let mut slots = Vec::new();
        for i in 0..network.layers().len() {
            let params: Vec<(String, Vec<usize>, (usize, usize))> = network.layers()[i]
                .params()
                .iter()
                .map(|p| {
                    let shape = p.file_shape();
                    (format!("layers.{i}.{}", p.name()), shape, p.value().shape())
                })
                .collect();
            for (name, shape, dims) in params {
                let state = (0..n_slots)
                    .map(|k| file.matrix::<T>(&format!("optimizer.{name}.{k}"), &shape, dims))
                    .collect::<Result<Vec<_>>>()?;
                slots.push(state);
            }
        }
        trainer.optimizer.slots = slots;
    }
    let mut seen = vec![false; network.layers().len()];
    for (i, s) in layer_rng {
        let Some(layer) = network.layers_mut().get_mut(i) else {
            return Err(file.error(format!(
                "nn.trainer: layer_rng names layer {i}, which does not exist"
            )));
        };
        if layer.stochastic().is_none() {
            return Err(file.error(format!(
                "nn.trainer: layer_rng names layer {i} ({layer}), which draws no random numbers"
            )));
        }
        if let Some(stream) = layer.stochastic_mut() {
            stream.set_rng_state(s);
        }
        seen[i] = true;
    }
    if let Some(i) = network
        .layers()
        .iter()
        .enumerate()
        .position(|(i, l)| l.stochastic().is_some() && !seen[i])
    {
        return Err(file.error(format!(
            "nn.trainer: no random-stream state for layer {i} ({})",
            network.layers()[i]
        )));
    }
    file.check_all_used(None)?;
    Ok(Checkpoint {
        network,
        trainer,
        encoder,
        pipeline,
    })
}

/// Loads a checkpoint written by [`save_checkpoint`].
///
/// # Errors
/// [`crate::TrainError::Io`] if the file cannot be read; otherwise as
/// [`checkpoint_from_bytes`].
pub fn load_checkpoint<T: Scalar>(path: &Path) -> Result<Checkpoint<T>> {
    load_checkpoint_with(path, &Limits::default())
}

/// [`load_checkpoint`] with explicit [`Limits`].
///
/// # Errors
/// As [`load_checkpoint`].
pub fn load_checkpoint_with<T: Scalar>(path: &Path, limits: &Limits) -> Result<Checkpoint<T>> {
    load_checkpoint_registered(path, limits, &LayerRegistry::new())
}

/// [`load_checkpoint_with`] for a checkpoint holding layers of kinds of your own, built by
/// `registry` (see [`checkpoint_from_bytes_registered`]).
///
/// # Errors
/// As [`checkpoint_from_bytes_registered`], or an I/O error naming the path.
pub fn load_checkpoint_registered<T: Scalar>(
    path: &Path,
    limits: &Limits,
    registry: &LayerRegistry<T>,
) -> Result<Checkpoint<T>> {
    checkpoint_from_bytes_registered(
        &read_file(path, limits)?,
        &path.display().to_string(),
        limits,
        registry,
    )
}
