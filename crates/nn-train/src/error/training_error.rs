//! Errors of training itself: a run that diverges.

use std::fmt;

use thiserror::Error;

/// Training could not go on. Converts into [`super::TrainError::Training`].
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum TrainingError {
    /// Training diverged: a cost or gradient became NaN or infinite, or an epoch's cost
    /// broke a rule of [`crate::Divergence`].
    ///
    /// The network is left holding the parameters [`TrainingError::Diverged::kept`] names
    /// — the last good (or, with early stopping's `restore_best`, the best) parameters of
    /// the run, never those of the step or epoch that diverged — so it can be saved as it
    /// is.
    #[error(
        "training diverged at epoch {epoch}, step {step}: {what} is {value:e}, expected \
         {rule}; {kept} (try a smaller learning rate or clipping)"
    )]
    Diverged {
        /// Epoch (0-based) in which it happened.
        epoch: usize,
        /// Step (0-based batch index within the epoch): the failing step for a non-finite
        /// cost or gradient, the epoch's last step for a rule checked at the epoch's end.
        step: usize,
        /// `"cost"` or `"gradient norm"` (of a step), `"epoch cost"` or `"validation cost"`.
        what: &'static str,
        /// The value found.
        value: f64,
        /// The rule that fired.
        rule: DivergenceRule,
        /// Which parameters the network holds now.
        kept: KeptParameters,
    },
}

/// The rule behind a [`TrainingError::Diverged`]; its `Display` is what was expected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DivergenceRule {
    /// A cost or gradient was NaN or infinite.
    NonFinite,
    /// The epoch's cost exceeded `growth × reference` ([`crate::Divergence::growth`]).
    Growth {
        /// The factor allowed.
        growth: f64,
        /// The cost of the run's first step.
        reference: f64,
    },
    /// The epoch's cost was above `factor × best` for `patience` epochs in a row
    /// ([`crate::Divergence::above_best`]).
    AboveBest {
        /// The factor allowed.
        factor: f64,
        /// The lowest epoch cost of the run.
        best: f64,
        /// Epochs in a row above the limit.
        patience: usize,
    },
}

impl fmt::Display for DivergenceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DivergenceRule::NonFinite => write!(f, "a finite value"),
            DivergenceRule::Growth { growth, reference } => write!(
                f,
                "at most {:e} ({growth:e} × the first step's cost {reference:e}: the growth rule)",
                growth * reference
            ),
            DivergenceRule::AboveBest {
                factor,
                best,
                patience,
            } => write!(
                f,
                "at most {:e} ({factor:e} × the lowest epoch cost {best:e}) in at least one of \
                 {patience} epochs in a row (the best rule)",
                factor * best
            ),
        }
    }
}

/// Which parameters a network holds after [`TrainingError::Diverged`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptParameters {
    /// Those from before the failing step: nothing was updated
    /// ([`crate::Trainer::train_step`]).
    BeforeStep,
    /// Those the [`crate::Trainer::fit`] call started from: no epoch of it was good.
    Start,
    /// Those at the end of this epoch, the last good one of the `fit` call.
    LastGood(usize),
    /// Those at the end of this epoch, the best one by early stopping's measure (its
    /// `restore_best` is set).
    Best(usize),
}

impl fmt::Display for KeptParameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeptParameters::BeforeStep => {
                write!(f, "the parameters are those from before the step")
            }
            KeptParameters::Start => {
                write!(f, "the parameters training started from were restored")
            }
            KeptParameters::LastGood(e) => {
                write!(
                    f,
                    "the parameters of epoch {e}, the last good one, were restored"
                )
            }
            KeptParameters::Best(e) => write!(
                f,
                "the parameters of epoch {e}, the best one (early stopping), were restored"
            ),
        }
    }
}
