//! AdamW: Adam with decoupled weight decay `θ ← θ (1 − η λ)` on weights (not biases)
//! before the moment step (Loshchilov & Hutter 2019; PyTorch's `AdamW`). Two state
//! tensors, `m` and `v`, as Adam.

use std::fmt;

use nn_init::nn_activations::nn_core::Scalar;
use serde::{Deserialize, Serialize};

use super::adam::{adam_update, check_moments};
use super::{Hyper, Rule, check, check_lr};
use crate::error::Result;

/// AdamW: [`Adam`](super::Adam)'s update after a decoupled decay of the weights,
/// `θ ← θ (1 − η λ)` (not of biases). JSON form `{"name": "adamw", "lr": η, "beta1": β₁,
/// "beta2": β₂, "eps": ε, "weight_decay": λ}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamW {
    /// Learning rate `η`, finite and `> 0` (default 1e-3).
    pub lr: f64,
    /// `β₁` in `[0, 1)` (default 0.9).
    pub beta1: f64,
    /// `β₂` in `[0, 1)` (default 0.999).
    pub beta2: f64,
    /// `ε`, finite and `> 0` (default 1e-8).
    pub eps: f64,
    /// Decoupled weight decay `λ`, finite and `≥ 0` (default 0.01).
    pub weight_decay: f64,
}

impl Rule for AdamW {
    const NAME: &'static str = "adamw";
    const SLOTS: usize = 2;

    fn with_lr(lr: f64) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn hyper(&self, lr: f64, t: u64) -> Hyper {
        Hyper {
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: self.weight_decay,
            ..Hyper::new(lr, t)
        }
    }

    fn validate(&self) -> Result<()> {
        check_lr(self.lr)?;
        check_moments(
            ["AdamW β₁", "AdamW β₂", "AdamW ε"],
            self.beta1,
            self.beta2,
            self.eps,
        )?;
        let wd = self.weight_decay;
        check(
            "AdamW weight decay",
            wd.is_finite() && wd >= 0.0,
            "finite and ≥ 0",
            wd,
        )
    }

    /// Adam's update with the decay `hp.weight_decay` (0 for a parameter that does not
    /// decay, such as a bias).
    fn update<T: Scalar>(theta: &mut [T], g: &[T], slots: &mut [&mut [T]], hp: &Hyper) {
        adam_update(theta, g, slots, hp);
    }
}

impl fmt::Display for AdamW {
    /// `adamw(lr=0.001, beta1=0.9, beta2=0.999, eps=0.00000001, weight_decay=0.01)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
        } = self;
        write!(
            f,
            "{}(lr={lr}, beta1={beta1}, beta2={beta2}, eps={eps}, weight_decay={weight_decay})",
            Self::NAME
        )
    }
}
