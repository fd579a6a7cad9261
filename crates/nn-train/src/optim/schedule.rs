//! Learning-rate schedules: a factor applied to the optimizer's base rate, per epoch, with
//! an optional linear warm-up over the first steps; [`PlateauState`], the state of the one
//! schedule that depends on the costs seen ([`Schedule::ReduceOnPlateau`]).

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

/// How the learning rate changes with the epoch `e` (0-based): `η_e = η · factor(e)`.
///
/// | schedule | factor |
/// |---|---|
/// | `Constant` | 1 |
/// | `Step { every, gamma }` | `γ^⌊e / every⌋` |
/// | `Exponential { gamma }` | `γ^e` |
/// | `Cosine { epochs, min_factor }` | `f + (1 − f)(1 + cos(π min(e, E)/E))/2` |
/// | `ReduceOnPlateau { factor, patience, threshold, cooldown, min_factor }` | starts at 1; multiplied by `factor` (not below `min_factor`) when the monitored cost stops improving ([`PlateauState`]) |
///
/// A warm-up ([`crate::FitConfig::warmup_steps`]) multiplies this by `(s + 1)/W` for the
/// first `W` steps `s`.
///
/// Its JSON form (serde) names the variant in `"name"`, in snake case, beside its fields:
/// `{"name": "constant"}`, `{"name": "step", "every": 2, "gamma": 0.5}`,
/// `{"name": "exponential", "gamma": 0.9}`, `{"name": "cosine", "epochs": 10,
/// "min_factor": 0.1}`, `{"name": "reduce_on_plateau", "factor": 0.1, "patience": 10,
/// "threshold": 0.0001, "cooldown": 0, "min_factor": 0.0}`. The declaration is the one
/// table of names.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Schedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// Multiply by `gamma` every `every` epochs.
    Step {
        /// Epochs between decays (≥ 1).
        every: usize,
        /// Decay factor.
        gamma: f64,
    },
    /// Multiply by `gamma` every epoch.
    Exponential {
        /// Decay factor per epoch.
        gamma: f64,
    },
    /// Cosine annealing from the base rate to `min_factor` times it over `epochs` epochs.
    Cosine {
        /// Length of the annealing, in epochs (≥ 1).
        epochs: usize,
        /// Final factor `f` (0 anneals to zero).
        min_factor: f64,
    },
    /// PyTorch's `ReduceLROnPlateau` (`mode="min"`, `threshold_mode="rel"`): after each
    /// epoch the monitored cost `c` (the validation cost when validation data are given,
    /// else the epoch's training cost) is compared with the best so far `b`. It is an
    /// improvement when `c < b · (1 − threshold)` (relative, PyTorch's default mode: the
    /// same setting suits costs of any scale); then `b ← c` and the count of bad epochs
    /// restarts, else the count grows. During a cooldown the count is held at 0. When the
    /// count exceeds `patience`, the factor becomes `max(factor · f, min_factor)`, the
    /// count restarts and a cooldown of `cooldown` epochs begins. The new factor applies
    /// from the next epoch on. The state ([`PlateauState`]) is kept by the
    /// [`Trainer`](crate::Trainer) and saved in checkpoints; [`Schedule::factor`] is 1
    /// for this schedule (the factor depends on the costs, not the epoch).
    ///
    /// Unlike PyTorch, which works on the learning rate itself (`min_lr`, and no change
    /// smaller than `eps = 1e-8`), the floor is a factor of the base rate and every
    /// reduction is applied.
    ReduceOnPlateau {
        /// The multiplier of a reduction, in `(0, 1)` (PyTorch's default 0.1).
        factor: f64,
        /// Bad epochs tolerated: the factor is reduced after `patience + 1` of them in a
        /// row (PyTorch's default 10).
        patience: usize,
        /// The relative improvement that counts, ≥ 0 (PyTorch's default 1e-4).
        threshold: f64,
        /// Epochs after a reduction during which bad epochs are not counted (default 0).
        cooldown: usize,
        /// The smallest factor, in `[0, 1]` (default 0).
        min_factor: f64,
    },
}

/// The state of [`Schedule::ReduceOnPlateau`] between epochs: the current factor, the best
/// monitored cost so far, the bad epochs counted and the cooldown epochs left (PyTorch's
/// `ReduceLROnPlateau` keeps the same four). A [`Trainer`](crate::Trainer) holds one for
/// every schedule (it stays at factor 1 for the others), and a checkpoint of a run with a
/// plateau schedule stores it, so a resumed run goes on with the same bits.
///
/// JSON form (serde, as checkpoints store it):
/// `{"factor": 0.1, "best": 0.25, "bad_epochs": 2, "cooldown_left": 0}` (`"best": null`
/// before the first epoch).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlateauState {
    /// The factor the learning rate is multiplied by (1 at the start).
    pub factor: f64,
    /// The lowest monitored cost that counted as an improvement; `None` before any.
    pub best: Option<f64>,
    /// Epochs in a row without improvement (PyTorch's `num_bad_epochs`).
    pub bad_epochs: usize,
    /// Epochs of cooldown left (PyTorch's `cooldown_counter`).
    pub cooldown_left: usize,
}

impl Default for PlateauState {
    /// Factor 1, no best cost, no bad epochs, no cooldown.
    fn default() -> Self {
        Self {
            factor: 1.0,
            best: None,
            bad_epochs: 0,
            cooldown_left: 0,
        }
    }
}

impl PlateauState {
    /// Takes the monitored cost of an epoch that has just ended, under `schedule`; returns
    /// `true` if the factor was reduced. Does nothing for a schedule other than
    /// [`Schedule::ReduceOnPlateau`].
    pub fn observe(&mut self, schedule: &Schedule, cost: f64) -> bool {
        let Schedule::ReduceOnPlateau {
            factor,
            patience,
            threshold,
            cooldown,
            min_factor,
        } = *schedule
        else {
            return false;
        };
        if self.best.is_none_or(|best| cost < best * (1.0 - threshold)) {
            self.best = Some(cost);
            self.bad_epochs = 0;
        } else {
            self.bad_epochs += 1;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.bad_epochs = 0;
        }
        if self.bad_epochs > patience {
            self.factor = (self.factor * factor).max(min_factor);
            self.cooldown_left = cooldown;
            self.bad_epochs = 0;
            return true;
        }
        false
    }

    /// `true` if the state could have come from a run: a factor in `[0, 1]`, a finite best
    /// cost.
    pub fn is_valid(&self) -> bool {
        (0.0..=1.0).contains(&self.factor) && self.best.is_none_or(f64::is_finite)
    }
}

impl Schedule {
    /// PyTorch's defaults for [`Schedule::ReduceOnPlateau`]: factor 0.1, patience 10,
    /// threshold 1e-4 (relative), no cooldown, no floor.
    ///
    /// A classifier trained with balanced class weights and a plateau schedule, then
    /// reported on:
    ///
    /// ```
    /// use nn_train::data::synthetic;
    /// use nn_train::metrics::{ClassificationReport, class_counts};
    /// use nn_train::{Activation, FitConfig, Loss, Network, Schedule, Silent, Trainer};
    /// use nn_train::balanced_class_weights;
    ///
    /// let data = synthetic::spirals(20, 3, 0.1, 1)?;
    /// let loss = Loss::CategoricalCrossEntropy;
    /// let weights = balanced_class_weights(&class_counts(loss.task(), data.y())?)?;
    /// let mut net = Network::<f64>::builder(2)
    ///     .dense(16, Activation::Tanh)
    ///     .dense(3, Activation::Softmax)
    ///     .loss(loss)
    ///     .class_weights(weights)
    ///     .seed(1)
    ///     .build()?;
    /// let config = FitConfig {
    ///     epochs: 5,
    ///     schedule: Schedule::ReduceOnPlateau {
    ///         factor: 0.5,
    ///         patience: 1,
    ///         threshold: 1e-3,
    ///         cooldown: 0,
    ///         min_factor: 0.01,
    ///     },
    ///     ..FitConfig::default()
    /// };
    /// let mut trainer = Trainer::new(config)?;
    /// let history = trainer.fit(&mut net, data.as_data(), None, &mut Silent)?;
    /// assert_eq!(history.epochs.len(), 5);
    /// assert!(trainer.plateau.factor <= 1.0);
    ///
    /// let a = net.predict(data.x())?;
    /// let names = ["a", "b", "c"].map(String::from);
    /// let report = ClassificationReport::new(loss.task(), &a, data.y(), Some(&names))?;
    /// println!("{report}");
    /// # Ok::<(), nn_train::TrainError>(())
    /// ```
    pub fn reduce_on_plateau() -> Self {
        Schedule::ReduceOnPlateau {
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            cooldown: 0,
            min_factor: 0.0,
        }
    }

    /// The factor at epoch `epoch` (0-based); 1 for [`Schedule::ReduceOnPlateau`], whose
    /// factor is in its [`PlateauState`].
    pub fn factor(&self, epoch: usize) -> f64 {
        match *self {
            Schedule::Constant => 1.0,
            Schedule::Step { every, gamma } => gamma.powi((epoch / every.max(1)) as i32),
            Schedule::Exponential { gamma } => gamma.powi(epoch as i32),
            Schedule::Cosine { epochs, min_factor } => {
                let e = epochs.max(1);
                let progress = epoch.min(e) as f64 / e as f64;
                min_factor + (1.0 - min_factor) * 0.5 * (1.0 + (PI * progress).cos())
            }
            Schedule::ReduceOnPlateau { .. } => 1.0,
        }
    }

    /// `true` if every parameter is in range (positive finite factors, periods ≥ 1; a
    /// plateau's `factor` in `(0, 1)`, `threshold` finite and ≥ 0, `min_factor` in
    /// `[0, 1]`).
    pub fn is_valid(&self) -> bool {
        let pos = |g: f64| g.is_finite() && g > 0.0;
        match *self {
            Schedule::Constant => true,
            Schedule::Step { every, gamma } => every >= 1 && pos(gamma),
            Schedule::Exponential { gamma } => pos(gamma),
            Schedule::Cosine { epochs, min_factor } => {
                epochs >= 1 && min_factor.is_finite() && (0.0..=1.0).contains(&min_factor)
            }
            Schedule::ReduceOnPlateau {
                factor,
                threshold,
                min_factor,
                ..
            } => {
                factor > 0.0
                    && factor < 1.0
                    && threshold.is_finite()
                    && threshold >= 0.0
                    && (0.0..=1.0).contains(&min_factor)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The factors after each epoch of a cost sequence, against PyTorch's
    /// `ReduceLROnPlateau(factor=0.5, patience=1, threshold=0.01, cooldown=1, min_lr=0.2)`
    /// on a base rate of 1: the values a transcription of its `step` (mode `"min"`,
    /// threshold mode `"rel"`) gives in Python. They show a reduction after two bad
    /// epochs, the cooldown holding the count at 0, an improvement below the relative
    /// threshold (0.8999 after 0.9) counting as bad, and the floor.
    #[test]
    fn reduce_on_plateau_follows_pytorch() {
        let schedule = Schedule::ReduceOnPlateau {
            factor: 0.5,
            patience: 1,
            threshold: 0.01,
            cooldown: 1,
            min_factor: 0.2,
        };
        assert!(schedule.is_valid());
        let costs = [
            1.0, 0.9, 0.8999, 0.95, 0.9, 0.85, 0.86, 0.87, 0.88, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
        ];
        let expected = [
            1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2,
        ];
        let mut state = PlateauState::default();
        let factors: Vec<f64> = costs
            .iter()
            .map(|&c| {
                state.observe(&schedule, c);
                state.factor
            })
            .collect();
        assert_eq!(factors, expected);
        assert_eq!(state.best, Some(0.5));
        assert_eq!(schedule.factor(7), 1.0);
        // Other schedules leave the state alone.
        let mut other = PlateauState::default();
        assert!(!other.observe(&Schedule::Constant, 1.0));
        assert_eq!(other, PlateauState::default());
    }

    #[test]
    fn reduce_on_plateau_ranges_are_checked() {
        let with = |factor, threshold, min_factor| Schedule::ReduceOnPlateau {
            factor,
            patience: 0,
            threshold,
            cooldown: 0,
            min_factor,
        };
        assert!(with(0.1, 0.0, 0.0).is_valid());
        for bad in [
            with(1.0, 0.0, 0.0),
            with(0.0, 0.0, 0.0),
            with(f64::NAN, 0.0, 0.0),
            with(0.5, -0.1, 0.0),
            with(0.5, f64::INFINITY, 0.0),
            with(0.5, 0.0, 1.5),
            with(0.5, 0.0, f64::NAN),
        ] {
            assert!(!bad.is_valid(), "{bad:?}");
        }
    }
}
