//! RMSProp: the gradient scaled by a running root mean square. One state tensor, the
//! average of squared gradients `s`.

use std::fmt;

use nn_init::nn_activations::nn_core::Scalar;
use serde::{Deserialize, Serialize};

use super::{Hyper, Rule, check, check_lr, positive, unit};
use crate::error::Result;

/// RMSProp, `s ← ρ s + (1 − ρ) g²`, `θ ← θ − η g / (√s + ε)` (PyTorch's `RMSprop` with
/// `alpha = ρ`). JSON form `{"name": "rmsprop", "lr": η, "rho": ρ, "eps": ε}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RmsProp {
    /// Learning rate `η`, finite and `> 0`.
    pub lr: f64,
    /// Decay `ρ` of the squared-gradient average, in `[0, 1)` (default 0.9).
    pub rho: f64,
    /// `ε`, finite and `> 0` (default 1e-8).
    pub eps: f64,
}

impl Rule for RmsProp {
    const NAME: &'static str = "rmsprop";
    const SLOTS: usize = 1;

    fn with_lr(lr: f64) -> Self {
        Self {
            lr,
            rho: 0.9,
            eps: 1e-8,
        }
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn hyper(&self, lr: f64, t: u64) -> Hyper {
        Hyper {
            beta2: self.rho,
            eps: self.eps,
            ..Hyper::new(lr, t)
        }
    }

    fn validate(&self) -> Result<()> {
        check_lr(self.lr)?;
        check("RMSProp ρ", unit(self.rho), "in [0, 1)", self.rho)?;
        check("RMSProp ε", positive(self.eps), "finite and > 0", self.eps)
    }

    /// `s ← ρ s + (1 − ρ) g²`, `θ ← θ − η g / (√s + ε)`, with `ρ = hp.beta2` and `s` the
    /// one slot.
    fn update<T: Scalar>(theta: &mut [T], g: &[T], slots: &mut [&mut [T]], hp: &Hyper) {
        let [s] = slots else { return };
        let lr = T::cast(hp.lr);
        let (rho, one_minus_rho, eps) =
            (T::cast(hp.beta2), T::cast(1.0 - hp.beta2), T::cast(hp.eps));
        for ((p, &g), s) in theta.iter_mut().zip(g.iter()).zip(s.iter_mut()) {
            *s = rho * *s + one_minus_rho * g * g;
            *p -= lr * g / (s.sqrt() + eps);
        }
    }
}

impl fmt::Display for RmsProp {
    /// `rmsprop(lr=0.01, rho=0.9, eps=0.00000001)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { lr, rho, eps } = self;
        write!(f, "{}(lr={lr}, rho={rho}, eps={eps})", Self::NAME)
    }
}
