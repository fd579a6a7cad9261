//! What a training run is asked to do: [`FitConfig`], with its early-stopping and
//! divergence rules.

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::optim::{Optimizer, Schedule};

/// Stop when the monitored cost (validation cost if validation data is given, else the
/// training cost) has not improved by more than `min_delta` for `patience` epochs.
///
/// JSON form (serde): `{"patience": 5, "min_delta": 0.0, "restore_best": true}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping (≥ 1).
    pub patience: usize,
    /// The smallest decrease that counts as an improvement (default 0).
    pub min_delta: f64,
    /// Restore the parameters of the best epoch when stopping or finishing (default true).
    pub restore_best: bool,
}

impl EarlyStopping {
    /// Patience `patience`, `min_delta = 0`, best weights restored.
    pub fn new(patience: usize) -> Self {
        Self {
            patience,
            min_delta: 0.0,
            restore_best: true,
        }
    }
}

/// Stop when training has converged: the epoch's training cost has failed to fall below
/// the lowest so far by more than `tol` for `patience` epochs in a row. This is
/// scikit-learn's rule for `MLPClassifier`/`MLPRegressor` without early stopping (`tol`,
/// `n_iter_no_change`; its `n_iter_no_change = k` stops after `k + 1` such epochs, i.e.
/// `patience = k + 1`). Unlike [`EarlyStopping`] it watches the training cost only and
/// keeps the last epoch's parameters; the two can be combined.
///
/// JSON form (serde): `{"tol": 0.0001, "patience": 11}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Convergence {
    /// The smallest decrease of the training cost that counts as progress (≥ 0).
    pub tol: f64,
    /// Epochs in a row without progress before stopping (≥ 1).
    pub patience: usize,
}

impl Default for Convergence {
    /// scikit-learn's defaults: `tol = 1e-4`, `n_iter_no_change = 10` (so patience 11).
    fn default() -> Self {
        Self {
            tol: 1e-4,
            patience: 11,
        }
    }
}

/// When a run counts as diverged although its numbers are finite. A NaN or infinite cost
/// or gradient always does; on top of that, at the end of every epoch the epoch's
/// training cost (the mean of its steps' costs, [`EpochRecord::train_cost`](crate::EpochRecord::train_cost)) is checked
/// against these rules, each of which can be turned off.
///
/// Both rules are measured within one call of [`Trainer::fit`](crate::Trainer::fit) (like early stopping's
/// patience): a resumed or continued run starts afresh.
///
/// The default is the growth rule at 10⁴ and no best rule. Measured on a small problem: at
/// learning rates of 10³ and 10⁶ (Adam or SGD) a ReLU net's first-epoch cost was 10⁴–10¹⁸
/// times its first step's, while a tanh net at Adam 10³ stayed near 10³ times (not caught:
/// a lower `growth` catches such runs); a run that is merely noisy or slow stays far below
/// either.
///
/// JSON form (serde): `{"growth": 10000.0, "above_best": null, "patience": 3}` (`null` for
/// a rule turned off; a missing factor reads as off).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    /// The growth rule: diverged when an epoch's cost exceeds `growth ×` the cost of the
    /// first step of the run (the cost of the parameters training started from, on the
    /// first batch — so that a run which blows up within its first epoch is caught too).
    /// `None` turns it off; default `Some(1e4)`; ≥ 1. A first cost of exactly 0 gives
    /// nothing to grow from and the rule does not apply; a run that starts from parameters
    /// that already fit almost exactly can trip it when the cost merely rises from near 0:
    /// raise `growth` or turn the rule off there.
    pub growth: Option<f64>,
    /// The best rule: diverged when the epoch's cost has been above `above_best ×` the
    /// lowest epoch cost of the run for `patience` epochs in a row. `None` (the default)
    /// turns it off: a cost that has come close to 0 can rise by large factors while
    /// nothing is wrong. ≥ 1.
    pub above_best: Option<f64>,
    /// Epochs in a row the best rule waits (≥ 1; default 3).
    pub patience: usize,
}

impl Default for Divergence {
    fn default() -> Self {
        Self {
            growth: Some(1e4),
            above_best: None,
            patience: 3,
        }
    }
}

impl Divergence {
    /// `true` for the default rules (which a checkpoint's configuration leaves out).
    fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Only non-finite costs and gradients count as divergence: both rules off (for
    /// experiments that mean to watch a cost grow).
    pub fn off() -> Self {
        Self {
            growth: None,
            above_best: None,
            ..Self::default()
        }
    }
}

/// Everything about a training run except the data. Defaults: 10 epochs, batch 32,
/// shuffled, seed 0, Adam(1e-3), constant schedule, no warm-up, no clipping, no early
/// stopping, no convergence stop, the default [`Divergence`] rule.
///
/// Its JSON form (serde, as checkpoints store it) has one key per field, with the
/// optimizer and schedule in their own forms, `null` for a setting that is off, and
/// `"divergence"` only when the rules are not the default and `"convergence"` only when it
/// is set (files of runs without them are the same as those written before they existed;
/// a missing `"divergence"` reads as the default, a missing `"convergence"` as none).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitConfig {
    /// Number of passes over the training data.
    pub epochs: usize,
    /// Examples per mini-batch (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Reshuffle the examples at every epoch (from `seed`).
    pub shuffle: bool,
    /// Seed of the shuffling stream.
    pub seed: u64,
    /// The optimizer and its base learning rate.
    pub optimizer: Optimizer,
    /// The learning-rate schedule (per epoch).
    pub schedule: Schedule,
    /// Linear warm-up of the learning rate over this many steps (0 = none).
    pub warmup_steps: usize,
    /// Clip the global gradient norm to this value.
    pub clip_norm: Option<f64>,
    /// Early stopping, if any.
    pub early_stopping: Option<EarlyStopping>,
    /// Stopping once the training cost stops falling, if wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convergence: Option<Convergence>,
    /// Threads for data-parallel steps; `None` is 1 (the library reads no environment
    /// variable; the `nn` command line and the benchmarks take `NN_THREADS`). It changes how fast training runs, never its result: how a batch
    /// is split into shares depends only on the batch and the network
    /// ([`Network::training_shares`](crate::Network::training_shares)), the threads run the shares, and the gradients are
    /// summed in share order, so the same seed gives bit-identical parameters, costs and
    /// dropout masks on any number of threads. A step of one share runs on the calling
    /// thread, which shares its large products, its divergence check and its update with
    /// nn-core's helper thread (`nn_core::with_kernel_threads`) — unless one thread was
    /// faster: every few seconds the trainer times a few such steps each way and runs the
    /// faster (where two cores share no cache, handing halves between them can cost more
    /// than it saves; the bits are the same either way).
    pub threads: Option<usize>,
    /// What counts as divergence besides non-finite numbers.
    #[serde(default, skip_serializing_if = "Divergence::is_default")]
    pub divergence: Divergence,
}

impl Default for FitConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            optimizer: Optimizer::adam(1e-3),
            schedule: Schedule::Constant,
            warmup_steps: 0,
            clip_norm: None,
            early_stopping: None,
            convergence: None,
            threads: None,
            divergence: Divergence::default(),
        }
    }
}

impl FitConfig {
    /// Checks every setting's range.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        let bad = |what, expected, found: String| {
            Err(TrainError::InvalidConfig {
                what,
                expected,
                found,
            })
        };
        if self.batch_size == 0 {
            return bad("batch_size", "≥ 1", "0".into());
        }
        if !self.schedule.is_valid() {
            return bad(
                "learning-rate schedule",
                "positive finite factors and periods ≥ 1 (reduce_on_plateau: factor in \
                 (0, 1), threshold finite and ≥ 0, min_factor in [0, 1])",
                format!("{:?}", self.schedule),
            );
        }
        if let Some(c) = self.clip_norm
            && !(c.is_finite() && c > 0.0)
        {
            return bad("clip_norm", "finite and > 0", c.to_string());
        }
        if let Some(es) = self.early_stopping {
            if es.patience == 0 {
                return bad("early stopping patience", "≥ 1", "0".into());
            }
            if !(es.min_delta.is_finite() && es.min_delta >= 0.0) {
                return bad(
                    "early stopping min_delta",
                    "finite and ≥ 0",
                    es.min_delta.to_string(),
                );
            }
        }
        if let Some(c) = self.convergence {
            if c.patience == 0 {
                return bad("convergence patience", "≥ 1", "0".into());
            }
            if !(c.tol.is_finite() && c.tol >= 0.0) {
                return bad("convergence tol", "finite and ≥ 0", c.tol.to_string());
            }
        }
        if self.threads == Some(0) {
            return bad("threads", "≥ 1", "0".into());
        }
        let d = self.divergence;
        for (what, factor) in [
            ("divergence growth", d.growth),
            ("divergence above_best", d.above_best),
        ] {
            if let Some(f) = factor
                && !(f.is_finite() && f >= 1.0)
            {
                return bad(what, "finite and ≥ 1 (or None: off)", f.to_string());
            }
        }
        if d.patience == 0 {
            return bad("divergence patience", "≥ 1", "0".into());
        }
        self.optimizer.validate()
    }

    /// The thread count: [`FitConfig::threads`] if it is positive, else 1. It decides how
    /// fast steps run, not what they compute.
    pub fn thread_count(&self) -> usize {
        self.threads.filter(|&n| n > 0).unwrap_or(1)
    }

    /// The learning rate at `epoch` and global step `step`: base rate, schedule and
    /// warm-up. A [`Schedule::ReduceOnPlateau`] run multiplies this by the factor the
    /// trainer keeps ([`Trainer::learning_rate`](crate::Trainer::learning_rate)).
    pub fn learning_rate(&self, epoch: usize, step: u64) -> f64 {
        let warm = if (step as usize) < self.warmup_steps {
            (step as f64 + 1.0) / self.warmup_steps as f64
        } else {
            1.0
        };
        self.optimizer.lr() * self.schedule.factor(epoch) * warm
    }
}
