//! Learning-rate schedules: a factor applied to the optimizer's base rate, per epoch, with
//! an optional linear warm-up over the first steps.

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
///
/// A warm-up ([`crate::FitConfig::warmup_steps`]) multiplies this by `(s + 1)/W` for the
/// first `W` steps `s`.
///
/// Its JSON form (serde) names the variant in `"name"`, in snake case, beside its fields:
/// `{"name": "constant"}`, `{"name": "step", "every": 2, "gamma": 0.5}`,
/// `{"name": "exponential", "gamma": 0.9}`, `{"name": "cosine", "epochs": 10,
/// "min_factor": 0.1}`. The declaration is the one table of names.
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
}

impl Schedule {
    /// The factor at epoch `epoch` (0-based).
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
        }
    }

    /// `true` if every parameter is in range (positive finite factors, periods ≥ 1).
    pub fn is_valid(&self) -> bool {
        let pos = |g: f64| g.is_finite() && g > 0.0;
        match *self {
            Schedule::Constant => true,
            Schedule::Step { every, gamma } => every >= 1 && pos(gamma),
            Schedule::Exponential { gamma } => pos(gamma),
            Schedule::Cosine { epochs, min_factor } => {
                epochs >= 1 && min_factor.is_finite() && (0.0..=1.0).contains(&min_factor)
            }
        }
    }
}
