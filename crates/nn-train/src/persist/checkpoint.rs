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
//!  "layer_rng": [{"layer": 1, "seed", "stream", "word_pos"}]}
//! ```
//!
//! Early stopping's patience count, and the reference costs of the divergence rules, are
//! not part of the state: a resumed run starts counting afresh. `"divergence": {"growth",
//! "above_best", "patience"}` is in `config` only when the rules are not the defaults.
//! A step split into shares reseeds each share's dropout from a stream that continues the
//! network's own, so the network's streams are all the state there is: a run resumes
//! bit-identically on any number of threads.

use std::path::Path;

use nn_init::nn_activations::nn_core::Scalar;
use nn_init::{RngState, SeededRng};
use serde_json::{Value, json};

use super::model::{base_metadata, network_tensors, read_encoder, read_network};
use super::{FileReader, read_file, serialize, tensor_of, write_atomic};
use crate::encode::Encoder;
use crate::error::{Result, TrainError};
use crate::layers::LayerRegistry;
use crate::limits::Limits;
use crate::network::Network;
use crate::optim::{Optimizer, Schedule};
use crate::train::{Divergence, EarlyStopping, FitConfig, Trainer};

/// A network and the trainer state to resume training it.
#[derive(Debug)]
pub struct Checkpoint<T: Scalar> {
    /// The network, with the parameters at the checkpoint.
    pub network: Network<T>,
    /// The trainer, at the checkpoint's epoch, with its configuration.
    pub trainer: Trainer<T>,
    /// The input encoder, if one was saved.
    pub encoder: Option<Encoder>,
}

fn rng_json(s: &RngState) -> Value {
    json!({ "seed": s.seed, "stream": s.stream, "word_pos": s.word_pos.to_string() })
}

fn optimizer_json(o: &Optimizer) -> Value {
    match *o {
        Optimizer::Sgd { lr } => json!({ "name": "sgd", "lr": lr }),
        Optimizer::Momentum { lr, beta } => json!({ "name": "momentum", "lr": lr, "beta": beta }),
        Optimizer::Nesterov { lr, beta } => json!({ "name": "nesterov", "lr": lr, "beta": beta }),
        Optimizer::RmsProp { lr, rho, eps } => {
            json!({ "name": "rmsprop", "lr": lr, "rho": rho, "eps": eps })
        }
        Optimizer::Adam {
            lr,
            beta1,
            beta2,
            eps,
        } => json!({ "name": "adam", "lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps }),
        Optimizer::AdamW {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
        } => json!({ "name": "adamw", "lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps,
                     "weight_decay": weight_decay }),
    }
}

fn schedule_json(s: &Schedule) -> Value {
    match *s {
        Schedule::Constant => json!({ "name": "constant" }),
        Schedule::Step { every, gamma } => {
            json!({ "name": "step", "every": every, "gamma": gamma })
        }
        Schedule::Exponential { gamma } => json!({ "name": "exponential", "gamma": gamma }),
        Schedule::Cosine { epochs, min_factor } => {
            json!({ "name": "cosine", "epochs": epochs, "min_factor": min_factor })
        }
    }
}

fn config_json(c: &FitConfig) -> Value {
    let mut v = json!({
        "epochs": c.epochs,
        "batch_size": c.batch_size,
        "shuffle": c.shuffle,
        "seed": c.seed,
        "optimizer": optimizer_json(&c.optimizer),
        "schedule": schedule_json(&c.schedule),
        "warmup_steps": c.warmup_steps,
        "clip_norm": c.clip_norm,
        "threads": c.threads,
        "early_stopping": c.early_stopping.map(|e| json!({
            "patience": e.patience, "min_delta": e.min_delta, "restore_best": e.restore_best
        })),
    });
    // Written only when it is not the default, so files of runs with the default rules
    // stay byte-identical to those written before the rules existed.
    if c.divergence != Divergence::default() {
        let d = c.divergence;
        v["divergence"] =
            json!({ "growth": d.growth, "above_best": d.above_best, "patience": d.patience });
    }
    v
}

/// Typed access to the fields of a JSON object, with errors naming the field.
struct Fields<'a> {
    v: &'a Value,
    path: &'a str,
}

impl Fields<'_> {
    fn missing(&self, key: &str, kind: &str) -> String {
        format!("nn.trainer: {}{key} must be {kind}", self.path)
    }
    fn f64(&self, key: &str) -> std::result::Result<f64, String> {
        self.v
            .get(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| self.missing(key, "a number"))
    }
    fn u64(&self, key: &str) -> std::result::Result<u64, String> {
        self.v
            .get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| self.missing(key, "an integer"))
    }
    fn usize(&self, key: &str) -> std::result::Result<usize, String> {
        usize::try_from(self.u64(key)?).map_err(|_| self.missing(key, "an integer that fits usize"))
    }
    fn bool(&self, key: &str) -> std::result::Result<bool, String> {
        self.v
            .get(key)
            .and_then(Value::as_bool)
            .ok_or_else(|| self.missing(key, "true or false"))
    }
    fn str(&self, key: &str) -> std::result::Result<&str, String> {
        self.v
            .get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| self.missing(key, "a string"))
    }
    fn rng(&self) -> std::result::Result<RngState, String> {
        Ok(RngState {
            seed: self.u64("seed")?,
            stream: self.u64("stream")?,
            word_pos: self
                .str("word_pos")?
                .parse()
                .map_err(|_| self.missing("word_pos", "a decimal integer string"))?,
        })
    }
}

fn optimizer_from(v: &Value) -> std::result::Result<Optimizer, String> {
    let f = Fields {
        v,
        path: "config.optimizer.",
    };
    let lr = f.f64("lr")?;
    Ok(match f.str("name")? {
        "sgd" => Optimizer::Sgd { lr },
        "momentum" => Optimizer::Momentum {
            lr,
            beta: f.f64("beta")?,
        },
        "nesterov" => Optimizer::Nesterov {
            lr,
            beta: f.f64("beta")?,
        },
        "rmsprop" => Optimizer::RmsProp {
            lr,
            rho: f.f64("rho")?,
            eps: f.f64("eps")?,
        },
        "adam" => Optimizer::Adam {
            lr,
            beta1: f.f64("beta1")?,
            beta2: f.f64("beta2")?,
            eps: f.f64("eps")?,
        },
        "adamw" => Optimizer::AdamW {
            lr,
            beta1: f.f64("beta1")?,
            beta2: f.f64("beta2")?,
            eps: f.f64("eps")?,
            weight_decay: f.f64("weight_decay")?,
        },
        other => return Err(format!("nn.trainer: unknown optimizer {other:?}")),
    })
}

fn schedule_from(v: &Value) -> std::result::Result<Schedule, String> {
    let f = Fields {
        v,
        path: "config.schedule.",
    };
    Ok(match f.str("name")? {
        "constant" => Schedule::Constant,
        "step" => Schedule::Step {
            every: f.usize("every")?,
            gamma: f.f64("gamma")?,
        },
        "exponential" => Schedule::Exponential {
            gamma: f.f64("gamma")?,
        },
        "cosine" => Schedule::Cosine {
            epochs: f.usize("epochs")?,
            min_factor: f.f64("min_factor")?,
        },
        other => return Err(format!("nn.trainer: unknown schedule {other:?}")),
    })
}

fn config_from(v: &Value) -> std::result::Result<FitConfig, String> {
    let f = Fields { v, path: "config." };
    let clip_norm = match v.get("clip_norm") {
        None | Some(Value::Null) => None,
        Some(_) => Some(f.f64("clip_norm")?),
    };
    let early_stopping = match v.get("early_stopping") {
        None | Some(Value::Null) => None,
        Some(e) => {
            let g = Fields {
                v: e,
                path: "config.early_stopping.",
            };
            Some(EarlyStopping {
                patience: g.usize("patience")?,
                min_delta: g.f64("min_delta")?,
                restore_best: g.bool("restore_best")?,
            })
        }
    };
    let divergence = match v.get("divergence") {
        None | Some(Value::Null) => Divergence::default(),
        Some(d) => {
            let g = Fields {
                v: d,
                path: "config.divergence.",
            };
            let optional = |key: &str| match d.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(_) => g.f64(key).map(Some),
            };
            Divergence {
                growth: optional("growth")?,
                above_best: optional("above_best")?,
                patience: g.usize("patience")?,
            }
        }
    };
    let threads = match v.get("threads") {
        None | Some(Value::Null) => None,
        Some(_) => Some(f.usize("threads")?),
    };
    Ok(FitConfig {
        threads,
        epochs: f.usize("epochs")?,
        batch_size: f.usize("batch_size")?,
        shuffle: f.bool("shuffle")?,
        seed: f.u64("seed")?,
        optimizer: optimizer_from(v.get("optimizer").unwrap_or(&Value::Null))?,
        schedule: schedule_from(v.get("schedule").unwrap_or(&Value::Null))?,
        warmup_steps: f.usize("warmup_steps")?,
        clip_norm,
        early_stopping,
        divergence,
    })
}

/// The checkpoint's bytes: the model file plus the trainer state (see the module docs).
///
/// # Errors
/// [`TrainError::ModelFile`] if the trainer's optimizer state does not match the network
/// (it was used with another one); [`TrainError::Io`] if serialisation fails.
pub fn checkpoint_to_bytes<T: Scalar>(
    net: &Network<T>,
    trainer: &Trainer<T>,
    encoder: Option<&Encoder>,
) -> Result<Vec<u8>> {
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
        return Err(TrainError::ModelFile {
            file: "checkpoint".into(),
            problem: format!(
                "the optimizer holds state for {} tensors, but the network has {}",
                slots.len(),
                names.len()
            ),
        });
    }
    for ((name, shape), state) in names.iter().zip(slots) {
        for (k, s) in state.iter().enumerate() {
            tensors.push((format!("optimizer.{name}.{k}"), tensor_of(s, shape.clone())));
        }
    }
    let layer_rng: Vec<Value> = net
        .layers()
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            l.stochastic().map(|s| s.rng_state()).map(|s| {
                let mut v = rng_json(&s);
                v["layer"] = json!(i);
                v
            })
        })
        .collect();
    let state = json!({
        "config": config_json(trainer.config()),
        "epoch": trainer.epoch,
        "optimizer_steps": trainer.optimizer.steps,
        "optimizer_slots": !slots.is_empty(),
        "rng": rng_json(&trainer.rng.state()),
        "layer_rng": layer_rng,
    });
    let mut meta = base_metadata(net, encoder, "checkpoint")?;
    meta.insert("nn.trainer".into(), state.to_string());
    serialize(&tensors, meta)
}

/// Saves a checkpoint atomically: the network, its trainer's state and the encoder.
/// Take it between epochs (after [`Trainer::fit`] returns, e.g. because an
/// [`crate::Observer`] asked it to stop) to resume bit-identically.
///
/// # Errors
/// As [`checkpoint_to_bytes`]; [`TrainError::Io`] naming the path if it cannot be written.
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
/// [`TrainError::ModelFile`] for everything [`super::model_from_bytes`] rejects, a file
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
    let mut file = FileReader::open(bytes, name, &["checkpoint"], limits)?;
    let mut network = read_network::<T>(&mut file, limits, &LayerRegistry::new())?;
    let encoder = read_encoder(&file, &network)?;
    let state = file
        .json("nn.trainer")?
        .ok_or_else(|| file.error("no \"nn.trainer\" in the metadata".into()))?;
    let parse = || -> std::result::Result<_, String> {
        let f = Fields {
            v: &state,
            path: "",
        };
        let config = config_from(state.get("config").unwrap_or(&Value::Null))?;
        let rng = Fields {
            v: state.get("rng").unwrap_or(&Value::Null),
            path: "rng.",
        }
        .rng()?;
        let mut layer_rng = Vec::new();
        for v in state
            .get("layer_rng")
            .and_then(Value::as_array)
            .ok_or("nn.trainer: layer_rng must be an array")?
        {
            let g = Fields {
                v,
                path: "layer_rng[].",
            };
            layer_rng.push((g.usize("layer")?, g.rng()?));
        }
        Ok((
            config,
            f.usize("epoch")?,
            f.u64("optimizer_steps")?,
            f.bool("optimizer_slots")?,
            rng,
            layer_rng,
        ))
    };
    let (config, epoch, steps, has_slots, rng, layer_rng) = parse().map_err(|p| file.error(p))?;

    let mut trainer = Trainer::new(config).map_err(|e| file.error(format!("nn.trainer: {e}")))?;
    trainer.epoch = epoch;
    trainer.rng = SeededRng::from_state(&rng);
    trainer.optimizer.steps = steps;
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
    })
}

/// Loads a checkpoint written by [`save_checkpoint`].
///
/// # Errors
/// [`TrainError::Io`] if the file cannot be read; otherwise as [`checkpoint_from_bytes`].
pub fn load_checkpoint<T: Scalar>(path: &Path) -> Result<Checkpoint<T>> {
    load_checkpoint_with(path, &Limits::default())
}

/// [`load_checkpoint`] with explicit [`Limits`].
///
/// # Errors
/// As [`load_checkpoint`].
pub fn load_checkpoint_with<T: Scalar>(path: &Path, limits: &Limits) -> Result<Checkpoint<T>> {
    checkpoint_from_bytes_with(
        &read_file(path, limits)?,
        &path.display().to_string(),
        limits,
    )
}
