//! The training loop: epochs of seeded, shuffled mini-batches (each step in shares that
//! threads run, with the same bits on any thread count), validation, history, early
//! stopping, divergence detection, and an observer hook for progress display.

use std::io::Write;
use std::path::Path;

use nalgebra::DMatrix;
use nn_init::SeededRng;
use nn_init::nn_activations::nn_core::{Scalar, fit_buffer};

use crate::layer::Mode;
use crate::metrics::correct_count;
use crate::network::Network;
use crate::optim::{
    Optimizer, OptimizerState, Schedule, clip_gradient_norm, gradient_norm, gradients_finite,
};
use crate::parallel::{StepOutcome, Workers, share_count, threads_from_env};
use crate::{DivergenceRule, KeptParameters, Result, TrainError, check};

/// Stop when the monitored cost (validation cost if validation data is given, else the
/// training cost) has not improved by more than `min_delta` for `patience` epochs.
#[derive(Debug, Clone, Copy, PartialEq)]
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

/// When a run counts as diverged although its numbers are finite. A NaN or infinite cost
/// or gradient always does; on top of that, at the end of every epoch the epoch's
/// training cost (the mean of its steps' costs, [`EpochRecord::train_cost`]) is checked
/// against these rules, each of which can be turned off.
///
/// Both rules are measured within one call of [`Trainer::fit`] (like early stopping's
/// patience): a resumed or continued run starts afresh.
///
/// The default is the growth rule at 10⁴ and no best rule. Measured on a small problem: at
/// learning rates of 10³ and 10⁶ (Adam or SGD) a ReLU net's first-epoch cost was 10⁴–10¹⁸
/// times its first step's, while a tanh net at Adam 10³ stayed near 10³ times (not caught:
/// a lower `growth` catches such runs); a run that is merely noisy or slow stays far below
/// either.
#[derive(Debug, Clone, Copy, PartialEq)]
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
/// stopping, the default [`Divergence`] rule.
#[derive(Debug, Clone, Copy, PartialEq)]
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
    /// Threads for data-parallel steps; `None` reads the `NN_THREADS` environment variable
    /// and defaults to 1. It changes how fast training runs, never its result: how a batch
    /// is split into shares depends only on the batch and the network
    /// ([`Network::training_shares`]), the threads run the shares, and the gradients are
    /// summed in share order, so the same seed gives bit-identical parameters, costs and
    /// dropout masks on any number of threads. A step of one share runs on the calling
    /// thread.
    pub threads: Option<usize>,
    /// What counts as divergence besides non-finite numbers.
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
                "positive finite factors and periods ≥ 1",
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

    /// The thread count: [`FitConfig::threads`], else `NN_THREADS` if it is a positive
    /// integer, else 1. It decides how fast steps run, not what they compute.
    pub fn thread_count(&self) -> usize {
        self.threads
            .filter(|&n| n > 0)
            .or_else(threads_from_env)
            .unwrap_or(1)
    }

    /// The learning rate at `epoch` and global step `step`.
    pub fn learning_rate(&self, epoch: usize, step: u64) -> f64 {
        let warm = if (step as usize) < self.warmup_steps {
            (step as f64 + 1.0) / self.warmup_steps as f64
        } else {
            1.0
        };
        self.optimizer.lr() * self.schedule.factor(epoch) * warm
    }
}

/// The metrics of one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochRecord {
    /// Epoch index (0-based).
    pub epoch: usize,
    /// Mean training cost over the epoch's batches (weighted by batch size; the parameters
    /// change during the epoch, as in Keras' running figure).
    pub train_cost: f64,
    /// Training accuracy over the epoch's batches; `None` for regression.
    pub train_accuracy: Option<f64>,
    /// Validation cost after the epoch, if validation data was given.
    pub val_cost: Option<f64>,
    /// Validation accuracy after the epoch.
    pub val_accuracy: Option<f64>,
    /// The learning rate at the end of the epoch.
    pub learning_rate: f64,
}

/// The record of a training run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// One record per completed epoch.
    pub epochs: Vec<EpochRecord>,
    /// `true` if early stopping or an observer ended the run before the last epoch.
    pub stopped_early: bool,
    /// The epoch whose parameters the network holds at the end, when early stopping
    /// restored the best ones.
    pub best_epoch: Option<usize>,
}

impl History {
    /// Writes the history as CSV with header
    /// `epoch,train_cost,train_accuracy,val_cost,val_accuracy,learning_rate` (missing
    /// values are empty fields).
    ///
    /// # Errors
    /// [`TrainError::Io`] if writing fails.
    pub fn write_csv<W: Write>(&self, writer: W) -> Result<()> {
        let io = |e: csv::Error| TrainError::Io {
            context: "writing training history CSV".into(),
            message: e.to_string(),
        };
        let mut w = csv::Writer::from_writer(writer);
        w.write_record([
            "epoch",
            "train_cost",
            "train_accuracy",
            "val_cost",
            "val_accuracy",
            "learning_rate",
        ])
        .map_err(io)?;
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        for r in &self.epochs {
            w.write_record([
                r.epoch.to_string(),
                r.train_cost.to_string(),
                opt(r.train_accuracy),
                opt(r.val_cost),
                opt(r.val_accuracy),
                r.learning_rate.to_string(),
            ])
            .map_err(io)?;
        }
        w.flush().map_err(|e| TrainError::Io {
            context: "writing training history CSV".into(),
            message: e.to_string(),
        })
    }

    /// Writes the history as CSV to a file (see [`History::write_csv`]), atomically
    /// ([`crate::persist::write_atomic`]): an error leaves an existing file as it was.
    ///
    /// # Errors
    /// [`TrainError::Io`] naming the path if it cannot be created or written.
    pub fn save_csv(&self, path: &Path) -> Result<()> {
        let mut bytes = Vec::new();
        self.write_csv(&mut bytes)?;
        crate::persist::write_atomic(path, &bytes)
    }
}

/// Whether training should go on after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop after this epoch (recorded as an early stop).
    Stop,
}

/// Hooks an application implements to show progress or log; the library prints nothing.
pub trait Observer {
    /// Called after every mini-batch with its cost.
    fn on_step(&mut self, _epoch: usize, _step: usize, _steps_per_epoch: usize, _cost: f64) {}
    /// Called after every epoch; return [`Control::Stop`] to end training.
    fn on_epoch(&mut self, _record: &EpochRecord) -> Control {
        Control::Continue
    }
}

/// An observer that does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {}

/// Training data: inputs `X: (features, m)` and targets `Y: (outputs, m)`.
pub type Data<'a, T> = (&'a DMatrix<T>, &'a DMatrix<T>);

/// The mutable state of a training run: optimizer moments, shuffling stream, epoch and
/// step counters, and the batch buffers. Resuming from the same state gives the same bits.
#[derive(Debug)]
pub struct Trainer<T: Scalar> {
    config: FitConfig,
    /// The optimizer's moments and step count.
    pub optimizer: OptimizerState<T>,
    /// The shuffling stream.
    pub rng: SeededRng,
    /// Epochs completed so far.
    pub epoch: usize,
    order: Vec<usize>,
    x_batch: DMatrix<T>,
    y_batch: DMatrix<T>,
    /// Thread count, resolved once from the configuration and `NN_THREADS`.
    threads: usize,
    /// Threads and network copies for data-parallel steps, made at the first step that
    /// uses them.
    workers: Option<Workers<T>>,
}

impl<T: Scalar> Clone for Trainer<T> {
    /// A copy of the state; the copy starts its own threads when it needs them.
    fn clone(&self) -> Self {
        Self {
            config: self.config,
            optimizer: self.optimizer.clone(),
            rng: self.rng.clone(),
            epoch: self.epoch,
            order: self.order.clone(),
            x_batch: self.x_batch.clone(),
            y_batch: self.y_batch.clone(),
            threads: self.threads,
            workers: None,
        }
    }
}

impl<T: Scalar> Trainer<T> {
    /// A trainer at epoch 0.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] for a bad setting.
    pub fn new(config: FitConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            optimizer: OptimizerState::new(config.optimizer)?,
            rng: SeededRng::stream(config.seed, u64::MAX),
            epoch: 0,
            config,
            order: Vec::new(),
            x_batch: DMatrix::zeros(0, 0),
            y_batch: DMatrix::zeros(0, 0),
            threads: config.thread_count(),
            workers: None,
        })
    }

    /// The number of threads steps may use: [`FitConfig::thread_count`] when the trainer
    /// was made (so `NN_THREADS` is read once, not at every step). A step uses at most
    /// [`Network::training_shares`] of them; the result is the same on any number.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The configuration.
    pub fn config(&self) -> &FitConfig {
        &self.config
    }

    /// One training step on the batch `(X, Y)` (forward, backward, clipping, update) at the
    /// trainer's current epoch; returns the batch cost. After the first batch of a given
    /// size it allocates nothing. The batch is split into
    /// [`Network::training_shares`] shares, run by up to [`Trainer::threads`] threads; the
    /// result is the same bits on any number of threads.
    ///
    /// # Errors
    /// Bad data (validated on every call) or [`TrainError::Diverged`] for a non-finite cost
    /// or gradient ([`KeptParameters::BeforeStep`]: the parameters are left as they were;
    /// the epoch rules of [`Divergence`] belong to [`Trainer::fit`]).
    pub fn train_step(
        &mut self,
        net: &mut Network<T>,
        x: &DMatrix<T>,
        y: &DMatrix<T>,
    ) -> Result<f64> {
        check::batch(x, y, net.input_shape().len(), net.output_size())?;
        net.loss().check_targets(y)?;
        net.check_trainable()?;
        self.order.clear();
        self.order.extend(0..x.ncols());
        let step = self.optimizer.steps as usize;
        let order = std::mem::take(&mut self.order);
        let result = self.step(net, (x, y), &order, (self.epoch, step));
        self.order = order;
        Ok(result?.cost)
    }

    /// One step on the columns `cols` of `(x, y)`: gradients (over several shares, run by
    /// the trainer's threads, when the batch is large enough), clipping, the divergence
    /// check, the update. On a non-finite cost or gradient nothing is updated.
    fn step(
        &mut self,
        net: &mut Network<T>,
        (x, y): Data<'_, T>,
        cols: &[usize],
        (epoch, step): (usize, usize),
    ) -> Result<StepOutcome> {
        let shares = share_count(net.param_count(), cols.len());
        let mut outcome = if shares > 1 {
            let threads = self.threads.min(shares);
            let workers = match self.workers.take() {
                Some(w) if w.fits(net, threads) => self.workers.insert(w),
                _ => self.workers.insert(Workers::new(net, threads)?),
            };
            workers.backprop(net, (x, y), cols, (shares, threads))?
        } else {
            gather_columns(x, cols, &mut self.x_batch);
            gather_columns(y, cols, &mut self.y_batch);
            let cost = net.backprop(&self.x_batch, &self.y_batch, Mode::Train)?;
            let (hits, counted) =
                correct_count(net.loss().task(), net.output()?, &self.y_batch).unwrap_or((0, 0));
            StepOutcome {
                cost,
                hits,
                counted,
            }
        };
        outcome.cost += net.add_l2_gradient(cols.len());
        let finite = match self.config.clip_norm {
            Some(max) => clip_gradient_norm(net, max).is_finite(),
            None => gradients_finite(net),
        };
        let non_finite = |what, value| TrainError::Diverged {
            epoch,
            step,
            what,
            value,
            rule: DivergenceRule::NonFinite,
            kept: KeptParameters::BeforeStep,
        };
        if !outcome.cost.is_finite() {
            return Err(non_finite("cost", outcome.cost));
        }
        if !finite {
            return Err(non_finite("gradient norm", gradient_norm(net)));
        }
        let lr = self.config.learning_rate(epoch, self.optimizer.steps);
        self.optimizer.step(net, lr);
        Ok(outcome)
    }

    /// Trains `net` on `train` until `config.epochs` epochs are complete (counting any done
    /// before a resume), evaluating on `validation` after each epoch.
    ///
    /// The data are validated once, up front: shapes, at least one example, finite values,
    /// targets that suit the loss.
    ///
    /// Divergence — a non-finite cost or gradient in a step, a non-finite epoch cost, or an
    /// epoch cost that breaks a rule of [`FitConfig::divergence`] — ends the run with
    /// [`TrainError::Diverged`], naming the epoch, the step and the rule. The network then
    /// holds, as the error's [`KeptParameters`] says: with early stopping whose
    /// `restore_best` is set and at least one epoch done, the best epoch's parameters
    /// ([`KeptParameters::Best`]); otherwise those of the last good epoch of this call
    /// ([`KeptParameters::LastGood`]: the last completed epoch that broke no rule; an epoch
    /// that counts towards the best rule's patience is not good), or, before any, the
    /// parameters the call started from ([`KeptParameters::Start`]). Those are the
    /// parameters to save. The trainer's own state (optimizer moments, epoch counter) is not
    /// rolled back. On success the network holds the last epoch's parameters, or the best
    /// epoch's with early stopping's `restore_best` ([`History::best_epoch`]).
    ///
    /// # Errors
    /// Any [`TrainError`] for bad data or configuration, or [`TrainError::Diverged`].
    pub fn fit(
        &mut self,
        net: &mut Network<T>,
        train: Data<'_, T>,
        validation: Option<Data<'_, T>>,
        observer: &mut dyn Observer,
    ) -> Result<History> {
        let (x, y) = train;
        let (inputs, outputs) = (net.input_shape().len(), net.output_size());
        check::batch(x, y, inputs, outputs)?;
        net.loss().check_targets(y)?;
        if let Some((vx, vy)) = validation {
            check::batch(vx, vy, inputs, outputs).map_err(|e| match e {
                TrainError::BadShape {
                    expected, found, ..
                } => TrainError::BadShape {
                    what: "validation data",
                    expected,
                    found,
                },
                other => other,
            })?;
            net.loss().check_targets(vy)?;
        }
        net.check_trainable()?;

        let m = x.ncols();
        let batch = self.config.batch_size.min(m);
        let steps_per_epoch = m.div_ceil(batch);
        let mut history = History::default();
        // The parameters of the last good epoch (at first: those the call started from).
        let mut good = net.snapshot();
        let mut last_good: Option<usize> = None;
        let mut best: Option<(f64, usize, Vec<DMatrix<T>>)> = None;
        let mut since_best = 0;
        let rules = self.config.divergence;
        // The growth rule's reference (the first step's cost), the lowest epoch cost, and
        // epochs in a row above the best rule's limit.
        let (mut first_cost, mut lowest, mut above) = (None, f64::INFINITY, 0);
        let restore_best = self.config.early_stopping.is_some_and(|es| es.restore_best);

        while self.epoch < self.config.epochs {
            let epoch = self.epoch;
            self.order.clear();
            self.order.extend(0..m);
            if self.config.shuffle {
                self.rng.shuffle(&mut self.order);
            }
            // Each step's cost weighted by its share of the epoch's examples (≤ 1): the sum is
            // the epoch's mean and stays below the largest step cost (to rounding), so finite
            // step costs never add up to infinity.
            let (mut cost_sum, mut hits, mut counted) = (0.0f64, 0usize, 0usize);
            let mut lr = self.config.learning_rate(epoch, self.optimizer.steps);
            let order = std::mem::take(&mut self.order);
            for step in 0..steps_per_epoch {
                let cols = &order[step * batch..((step + 1) * batch).min(m)];
                lr = self.config.learning_rate(epoch, self.optimizer.steps);
                let outcome = self.step(net, (x, y), cols, (epoch, step)).map_err(|e| {
                    let best = best.as_ref().filter(|_| restore_best);
                    keep_good(net, e, best, (&good, last_good))
                })?;
                let cost = outcome.cost;
                first_cost.get_or_insert(cost);
                hits += outcome.hits;
                counted += outcome.counted;
                cost_sum += cost * (cols.len() as f64 / m as f64);
                observer.on_step(epoch, step, steps_per_epoch, cost);
            }
            self.order = order;
            let (val_cost, val_accuracy) = match validation {
                Some((vx, vy)) => {
                    let e = net.evaluate(vx, vy)?;
                    (Some(e.cost), e.accuracy)
                }
                None => (None, None),
            };
            let record = EpochRecord {
                epoch,
                train_cost: cost_sum,
                train_accuracy: (counted > 0).then(|| hits as f64 / counted as f64),
                val_cost,
                val_accuracy,
                learning_rate: lr,
            };
            let epoch_diverged = |what, value, rule| TrainError::Diverged {
                epoch,
                step: steps_per_epoch - 1,
                what,
                value,
                rule,
                kept: KeptParameters::Start,
            };
            let cost = record.train_cost;
            let broken = if !cost.is_finite() {
                Some(epoch_diverged(
                    "epoch cost",
                    cost,
                    DivergenceRule::NonFinite,
                ))
            } else if let Some(v) = record.val_cost.filter(|v| !v.is_finite()) {
                Some(epoch_diverged(
                    "validation cost",
                    v,
                    DivergenceRule::NonFinite,
                ))
            } else if let (Some(growth), Some(reference)) = (rules.growth, first_cost)
                && reference > 0.0
                && cost > growth * reference
            {
                let rule = DivergenceRule::Growth { growth, reference };
                Some(epoch_diverged("epoch cost", cost, rule))
            } else {
                match rules.above_best {
                    Some(factor) if cost > factor * lowest => {
                        above += 1;
                        let rule = DivergenceRule::AboveBest {
                            factor,
                            best: lowest,
                            patience: rules.patience,
                        };
                        (above >= rules.patience).then(|| epoch_diverged("epoch cost", cost, rule))
                    }
                    _ => {
                        above = 0;
                        None
                    }
                }
            };
            if let Some(error) = broken {
                let best = best.as_ref().filter(|_| restore_best);
                return Err(keep_good(net, error, best, (&good, last_good)));
            }
            lowest = lowest.min(cost);
            self.epoch += 1;
            history.epochs.push(record);
            if above == 0 {
                net.snapshot_into(&mut good);
                last_good = Some(epoch);
            }
            let mut stop = observer.on_epoch(&record) == Control::Stop;
            if let Some(es) = self.config.early_stopping {
                let monitored = record.val_cost.unwrap_or(record.train_cost);
                let improved = best
                    .as_ref()
                    .is_none_or(|(b, _, _)| monitored < b - es.min_delta);
                if improved {
                    best = Some((monitored, epoch, net.snapshot()));
                    since_best = 0;
                } else {
                    since_best += 1;
                    stop |= since_best >= es.patience;
                }
            }
            if stop {
                history.stopped_early = self.epoch < self.config.epochs;
                break;
            }
        }
        if let (Some(es), Some((_, best_epoch, params))) = (self.config.early_stopping, best)
            && es.restore_best
        {
            net.restore(&params)?;
            history.best_epoch = Some(best_epoch);
        }
        Ok(history)
    }
}

/// After a divergence in [`Trainer::fit`]: puts the parameters to keep into `net` — the
/// best epoch's if `best` is given (early stopping with `restore_best`), else the last good
/// epoch's (`good`, of epoch `last_good`; the starting ones before any) — and names them in
/// the error.
fn keep_good<T: Scalar>(
    net: &mut Network<T>,
    mut error: TrainError,
    best: Option<&(f64, usize, Vec<DMatrix<T>>)>,
    (good, last_good): (&[DMatrix<T>], Option<usize>),
) -> TrainError {
    if let TrainError::Diverged { kept, .. } = &mut error {
        let restored = match best {
            Some((_, epoch, params)) => net.restore(params).map(|()| KeptParameters::Best(*epoch)),
            None => net
                .restore(good)
                .map(|()| last_good.map_or(KeptParameters::Start, KeptParameters::LastGood)),
        };
        match restored {
            Ok(k) => *kept = k,
            Err(e) => return e,
        }
    }
    error
}

/// Copies the columns `cols` of `src` into `dst` (resized without reallocating when it
/// can be). The indices come from the crate's own shuffles and checked selections, so
/// they are in range.
pub(crate) fn gather_columns<T: Scalar>(src: &DMatrix<T>, cols: &[usize], dst: &mut DMatrix<T>) {
    let rows = src.nrows();
    fit_buffer(dst, rows, cols.len());
    if rows == 0 {
        return;
    }
    // Whole columns as slices: a `memcpy` each, where nalgebra's `copy_from` goes entry by
    // entry (it was ~10% of a W3 training step).
    let src = src.as_slice();
    for (out, &c) in dst.as_mut_slice().chunks_exact_mut(rows).zip(cols) {
        out.copy_from_slice(&src[c * rows..(c + 1) * rows]);
    }
}

/// Trains a network with a fresh [`Trainer`]: the one-call form of [`Trainer::fit`].
///
/// # Errors
/// As [`Trainer::fit`]. On [`TrainError::Diverged`] `net` holds the parameters the error's
/// [`KeptParameters`] names: the best epoch's with early stopping's `restore_best`, else
/// the last good epoch's, else the starting ones.
pub fn fit<T: Scalar>(
    net: &mut Network<T>,
    train: Data<'_, T>,
    validation: Option<Data<'_, T>>,
    config: &FitConfig,
    observer: &mut dyn Observer,
) -> Result<History> {
    Trainer::new(*config)?.fit(net, train, validation, observer)
}
