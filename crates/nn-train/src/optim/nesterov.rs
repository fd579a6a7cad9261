//! Nesterov momentum: `v ← β v + g`, `θ ← θ − η (g + β v)`. One state tensor, the
//! velocity `v`.

use std::fmt;

use nn_init::nn_activations::nn_core::Scalar;
use serde::{Deserialize, Serialize};

use super::{Hyper, Rule, check, check_lr, unit};
use crate::error::Result;

/// Nesterov momentum, `v ← β v + g`, `θ ← θ − η (g + β v)`: the gradient step taken from
/// where the velocity leads (PyTorch's `SGD(momentum=β, nesterov=True)`). JSON form
/// `{"name": "nesterov", "lr": η, "beta": β}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Nesterov {
    /// Learning rate `η`, finite and `> 0`.
    pub lr: f64,
    /// Momentum `β` in `[0, 1)` (default 0.9).
    pub beta: f64,
}

impl Rule for Nesterov {
    const NAME: &'static str = "nesterov";
    const SLOTS: usize = 1;

    fn with_lr(lr: f64) -> Self {
        Self { lr, beta: 0.9 }
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn hyper(&self, lr: f64, t: u64) -> Hyper {
        Hyper {
            beta1: self.beta,
            ..Hyper::new(lr, t)
        }
    }

    fn validate(&self) -> Result<()> {
        check_lr(self.lr)?;
        check("momentum β", unit(self.beta), "in [0, 1)", self.beta)
    }

    /// `v ← β v + g`, `θ ← θ − η (g + β v)`, with `β = hp.beta1` and `v` the one slot.
    fn update<T: Scalar>(theta: &mut [T], g: &[T], slots: &mut [&mut [T]], hp: &Hyper) {
        let [v] = slots else { return };
        let (lr, beta) = (T::cast(hp.lr), T::cast(hp.beta1));
        for ((p, &g), v) in theta.iter_mut().zip(g.iter()).zip(v.iter_mut()) {
            *v = beta * *v + g;
            *p -= lr * (g + beta * *v);
        }
    }
}

impl fmt::Display for Nesterov {
    /// `nesterov(lr=0.1, beta=0.9)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(lr={}, beta={})", Self::NAME, self.lr, self.beta)
    }
}
