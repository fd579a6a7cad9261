//! [`Trainer`]: the state of a training run and its epochs of seeded, shuffled
//! mini-batches, each step in shares.

use std::time::Instant;

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::{Scalar, with_kernel_threads};
use nn_init::{SeededRng, Stream};

use super::config::FitConfig;
use super::history::{EpochRecord, History, Stopped};
use super::observer::{Control, Observer};
use super::thread_choice::ThreadChoice;
use super::workers::{StepOutcome, Workers};
use crate::check;
use crate::columns::gather_columns;
use crate::data::Data;
use crate::error::{DivergenceRule, KeptParameters, Result, TrainError, TrainingError};
use crate::layers::Mode;
use crate::metrics::correct_count;
use crate::network::Network;
use crate::network::share_count;
use crate::optim::{
    OptimizerState, PlateauState, clip_gradient_norm, gradient_norm, gradients_finite,
};

/// What [`Trainer::fit_with_hook`] calls after every epoch: the network and the trainer.
pub type EpochHook<'a, T> = dyn FnMut(&Network<T>, &Trainer<T>) -> Result<()> + 'a;

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
    /// The state of a [`Schedule::ReduceOnPlateau`](crate::Schedule::ReduceOnPlateau)
    /// schedule (its factor multiplies the learning rate); for the other schedules it
    /// stays at its default, factor 1.
    pub plateau: PlateauState,
    order: Vec<usize>,
    x_batch: DMatrix<T>,
    y_batch: DMatrix<T>,
    /// Thread count, resolved once from the configuration.
    threads: usize,
    /// Threads and network copies for data-parallel steps, made at the first step that
    /// uses them.
    workers: Option<Workers<T>>,
    /// Whether a step of one share uses `threads` or one (timed; the same bits).
    choice: ThreadChoice,
}

impl<T: Scalar> Clone for Trainer<T> {
    /// A copy of the state; the copy starts its own threads when it needs them.
    fn clone(&self) -> Self {
        Self {
            config: self.config,
            optimizer: self.optimizer.clone(),
            rng: self.rng.clone(),
            epoch: self.epoch,
            plateau: self.plateau,
            order: self.order.clone(),
            x_batch: self.x_batch.clone(),
            y_batch: self.y_batch.clone(),
            threads: self.threads,
            workers: None,
            choice: ThreadChoice::new(self.threads),
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
            rng: SeededRng::for_stream(config.seed, Stream::TrainingShuffle),
            epoch: 0,
            plateau: PlateauState::default(),
            config,
            order: Vec::new(),
            x_batch: DMatrix::zeros(0, 0),
            y_batch: DMatrix::zeros(0, 0),
            threads: config.thread_count(),
            workers: None,
            choice: ThreadChoice::new(config.thread_count()),
        })
    }

    /// The number of threads steps may use: [`FitConfig::thread_count`] when the trainer
    /// was made. A step uses at most
    /// [`Network::training_shares`] of them; the result is the same on any number.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The configuration.
    pub fn config(&self) -> &FitConfig {
        &self.config
    }

    /// Sets the number of epochs [`Trainer::fit`] trains to (counting those done), e.g.
    /// to train a resumed run further than it was first meant to go.
    pub fn set_epochs(&mut self, epochs: usize) {
        self.config.epochs = epochs;
    }

    /// Sets the threads steps may use (`None`: 1), e.g. for a resumed run on another
    /// machine; the result is the same on any number.
    pub fn set_threads(&mut self, threads: Option<usize>) {
        self.config.threads = threads;
        self.threads = self.config.thread_count();
        self.workers = None;
        self.choice = ThreadChoice::new(self.threads);
    }

    /// The learning rate of the next step at `epoch`: [`FitConfig::learning_rate`] (base
    /// rate, schedule, warm-up) times the plateau factor ([`Trainer::plateau`], 1 unless
    /// the schedule is [`Schedule::ReduceOnPlateau`](crate::Schedule::ReduceOnPlateau)).
    pub fn learning_rate(&self, epoch: usize) -> f64 {
        self.config.learning_rate(epoch, self.optimizer.steps) * self.plateau.factor
    }

    /// One training step on the batch `(X, Y)` (forward, backward, clipping, update) at the
    /// trainer's current epoch; returns the batch cost. After the first batch of a given
    /// size it allocates nothing. The batch is split into
    /// [`Network::training_shares`] shares, run by up to [`Trainer::threads`] threads; the
    /// result is the same bits on any number of threads.
    ///
    /// # Errors
    /// Bad data (validated on every call) or [`TrainingError::Diverged`] for a non-finite cost
    /// or gradient ([`KeptParameters::BeforeStep`]: the parameters are left as they were;
    /// the epoch rules of [`Divergence`](crate::Divergence) belong to [`Trainer::fit`]).
    pub fn train_step(
        &mut self,
        net: &mut Network<T>,
        x: &DMatrix<T>,
        y: &DMatrix<T>,
    ) -> Result<f64> {
        check::batch(x, y, net.input_shape().len(), net.output_size())?;
        net.require_loss()?.check_targets(y)?;
        net.check_trainable()?;
        self.order.clear();
        self.order.extend(0..x.ncols());
        let step = self.optimizer.steps as usize;
        let order = std::mem::take(&mut self.order);
        let result = self.step(net, (x, y), &order, (self.epoch, step), false);
        self.order = order;
        Ok(result?.cost)
    }

    /// One step on the columns `cols` of `(x, y)`: gradients (over several shares, run by
    /// the trainer's threads, when the batch is large enough), clipping, the divergence
    /// check, the update. On a non-finite cost or gradient nothing is updated, unless
    /// `restores`: the caller then restores parameters of its own on that error (`fit`),
    /// and without clipping each gradient is checked as it is applied, which reads it once
    /// rather than twice ([`OptimizerState::step_if_finite`]), so part of the update may
    /// have been applied.
    fn step(
        &mut self,
        net: &mut Network<T>,
        (x, y): Data<'_, T>,
        cols: &[usize],
        (epoch, step): (usize, usize),
        restores: bool,
    ) -> Result<StepOutcome> {
        let start = Instant::now();
        let shares = share_count(net.param_count(), cols.len());
        // A step of one share: on the thread count that was faster when last timed.
        let one_share_threads = self.choice.threads();
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
            // One share: the trainer's threads go into the large products instead.
            let (xb, yb) = (&self.x_batch, &self.y_batch);
            let cost =
                with_kernel_threads(one_share_threads, || net.backprop(xb, yb, Mode::Train))?;
            let (hits, counted) =
                correct_count(net.require_loss()?.task(), net.output()?, &self.y_batch)
                    .unwrap_or((0, 0));
            StepOutcome {
                cost,
                hits,
                counted,
            }
        };
        outcome.cost += net.add_l2_gradient(cols.len());
        let non_finite = |what, value| {
            TrainError::from(TrainingError::Diverged {
                epoch,
                step,
                what,
                value,
                rule: DivergenceRule::NonFinite,
                // What `fit` restores replaces this (see `restores`).
                kept: KeptParameters::BeforeStep,
            })
        };
        if !outcome.cost.is_finite() {
            return Err(non_finite("cost", outcome.cost));
        }
        let lr = self.learning_rate(epoch);
        // The check and the update share the helper thread where the products did, for
        // the halves of the gradients it computed.
        let threads = if shares > 1 { 1 } else { one_share_threads };
        let updated = with_kernel_threads(threads, || match self.config.clip_norm {
            Some(max) => clip_gradient_norm(net, max).is_finite() && self.update(net, lr),
            None if restores => self.optimizer.step_if_finite(net, lr),
            None => gradients_finite(net) && self.update(net, lr),
        });
        if !updated {
            return Err(non_finite("gradient norm", gradient_norm(net)));
        }
        if shares == 1 {
            let end = Instant::now();
            self.choice.record(cols.len(), end - start, end);
        }
        Ok(outcome)
    }

    /// Applies the optimizer's update to `net` at learning rate `lr`; `true`.
    fn update(&mut self, net: &mut Network<T>, lr: f64) -> bool {
        self.optimizer.step(net, lr);
        true
    }

    /// Trains `net` on `train` until `config.epochs` epochs are complete (counting any done
    /// before a resume), evaluating on `validation` after each epoch.
    ///
    /// The data are validated once, up front: shapes, at least one example, finite values,
    /// targets that suit the loss.
    ///
    /// Divergence — a non-finite cost or gradient in a step, a non-finite epoch cost, or an
    /// epoch cost that breaks a rule of [`FitConfig::divergence`] — ends the run with
    /// [`TrainingError::Diverged`], naming the epoch, the step and the rule. The network then
    /// holds, as the error's [`KeptParameters`] says: with early stopping whose
    /// `restore_best` is set and at least one epoch done, the best epoch's parameters
    /// ([`KeptParameters::Best`]); otherwise those of the last good epoch of this call
    /// ([`KeptParameters::LastGood`]: the last completed epoch that broke no rule; an epoch
    /// that counts towards the best rule's patience is not good), or, before any, the
    /// parameters the call started from ([`KeptParameters::Start`]). Those are the
    /// parameters to save. The trainer's own state (optimizer moments, epoch counter) is not
    /// rolled back: a step whose gradient is found non-finite part-way through its update
    /// (each gradient is checked as it is applied, without clipping) has updated the moments
    /// of the entries before. On success the network holds the last epoch's parameters, or the best
    /// epoch's with early stopping's `restore_best` ([`History::best_epoch`]).
    ///
    /// # Errors
    /// Any [`TrainError`] for bad data or configuration, or [`TrainingError::Diverged`].
    pub fn fit(
        &mut self,
        net: &mut Network<T>,
        train: Data<'_, T>,
        validation: Option<Data<'_, T>>,
        observer: &mut dyn Observer,
    ) -> Result<History> {
        self.fit_with_hook(net, train, validation, observer, &mut |_, _| Ok(()))
    }

    /// [`Trainer::fit`] that also calls `after_epoch` with the network and the trainer at the
    /// end of every completed epoch (after its stopping rules are applied): the moment to
    /// save a checkpoint ([`crate::persist::save_checkpoint`]), from which training resumes
    /// with the same bits as a run that never stopped (the stopping rules' counters, which
    /// live in one call, start again). An error from `after_epoch` ends training with
    /// that error; the network keeps the parameters of the epoch just completed.
    ///
    /// # Errors
    /// As [`Trainer::fit`], and `after_epoch`'s.
    pub fn fit_with_hook(
        &mut self,
        net: &mut Network<T>,
        train: Data<'_, T>,
        validation: Option<Data<'_, T>>,
        observer: &mut dyn Observer,
        after_epoch: &mut EpochHook<'_, T>,
    ) -> Result<History> {
        let (x, y) = train;
        let (inputs, outputs) = (net.input_shape().len(), net.output_size());
        check::batch(x, y, inputs, outputs)?;
        net.require_loss()?.check_targets(y)?;
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
            net.require_loss()?.check_targets(vy)?;
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
        // The convergence rule's lowest training cost and epochs in a row without progress.
        let (mut lowest_train, mut no_progress) = (f64::INFINITY, 0);

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
            let mut lr = self.learning_rate(epoch);
            let order = std::mem::take(&mut self.order);
            for step in 0..steps_per_epoch {
                let cols = &order[step * batch..((step + 1) * batch).min(m)];
                lr = self.learning_rate(epoch);
                let outcome = self
                    .step(net, (x, y), cols, (epoch, step), true)
                    .map_err(|e| {
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
            let epoch_diverged = |what, value, rule| {
                TrainError::from(TrainingError::Diverged {
                    epoch,
                    step: steps_per_epoch - 1,
                    what,
                    value,
                    rule,
                    kept: KeptParameters::Start,
                })
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
            // The plateau schedule watches what early stopping watches; its new factor
            // applies from the next epoch on.
            self.plateau.observe(
                &self.config.schedule,
                record.val_cost.unwrap_or(record.train_cost),
            );
            let mut stop =
                (observer.on_epoch(&record) == Control::Stop).then_some(Stopped::Observer);
            if let Some(c) = self.config.convergence {
                if record.train_cost > lowest_train - c.tol {
                    no_progress += 1;
                } else {
                    no_progress = 0;
                }
                lowest_train = lowest_train.min(record.train_cost);
                if no_progress >= c.patience {
                    stop = stop.or(Some(Stopped::Converged));
                }
            }
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
                    if since_best >= es.patience {
                        stop = stop.or(Some(Stopped::EarlyStopping));
                    }
                }
            }
            after_epoch(net, self)?;
            if let Some(reason) = stop {
                history.stopped = (self.epoch < self.config.epochs).then_some(reason);
                break;
            }
        }
        if let (Some(es), Some((_, best_epoch, params))) = (self.config.early_stopping, best)
            && es.restore_best
        {
            net.restore(&params).map_err(restore_failed)?;
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
    if let TrainError::Training(TrainingError::Diverged { kept, .. }) = &mut error {
        let restored = match best {
            Some((_, epoch, params)) => net.restore(params).map(|()| KeptParameters::Best(*epoch)),
            None => net
                .restore(good)
                .map(|()| last_good.map_or(KeptParameters::Start, KeptParameters::LastGood)),
        };
        match restored {
            Ok(k) => *kept = k,
            Err(e) => return restore_failed(e),
        }
    }
    error
}

/// The error of restoring a snapshot `fit` took of the same network, which fits it (the
/// observer never sees the network, so nothing can change its architecture in between).
fn restore_failed(e: TrainError) -> TrainError {
    TrainError::internal(format!(
        "restoring parameters fit saved from the same network failed: {e}"
    ))
}
