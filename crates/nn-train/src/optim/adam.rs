//! Adam: bias-corrected estimates of the gradient's first and second moments. Two state
//! tensors, `m` and `v`. The update (with decoupled decay for AdamW) is `adam_update`.

use std::fmt;

use nn_init::nn_activations::nn_core::Scalar;
use serde::{Deserialize, Serialize};

use super::{Hyper, Rule, check, check_lr, positive, unit};
use crate::error::Result;

/// Adam (Kingma & Ba 2015; PyTorch's `Adam`): bias-corrected moments,
///
/// ```text
/// m ← β₁ m + (1 − β₁) g                v ← β₂ v + (1 − β₂) g²
/// θ ← θ − η · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
/// ```
///
/// JSON form `{"name": "adam", "lr": η, "beta1": β₁, "beta2": β₂, "eps": ε}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// Learning rate `η`, finite and `> 0` (default 1e-3).
    pub lr: f64,
    /// `β₁` in `[0, 1)` (default 0.9).
    pub beta1: f64,
    /// `β₂` in `[0, 1)` (default 0.999).
    pub beta2: f64,
    /// `ε`, finite and `> 0` (default 1e-8).
    pub eps: f64,
}

/// Checks `β₁`, `β₂` and `ε` of Adam or AdamW; `labels` name them in the messages.
pub(super) fn check_moments(
    [b1, b2, e]: [&'static str; 3],
    beta1: f64,
    beta2: f64,
    eps: f64,
) -> Result<()> {
    check(b1, unit(beta1), "in [0, 1)", beta1)?;
    check(b2, unit(beta2), "in [0, 1)", beta2)?;
    check(e, positive(eps), "finite and > 0", eps)
}

/// One Adam step on `theta`, with `moments = [m, v]` and `t = hp.t` counting from 1:
///
/// ```text
/// θ ← θ (1 − η λ)                      (λ = hp.weight_decay: AdamW's weights only)
/// m ← β₁ m + (1 − β₁) g                v ← β₂ v + (1 − β₂) g²
/// θ ← θ − η · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
/// ```
pub(super) fn adam_update<T: Scalar>(
    theta: &mut [T],
    g: &[T],
    moments: &mut [&mut [T]],
    hp: &Hyper,
) {
    let [m, v] = moments else { return };
    let t = hp.t.min(i32::MAX as u64) as i32;
    let c1 = T::cast(1.0 / (1.0 - hp.beta1.powi(t)));
    let c2 = T::cast(1.0 / (1.0 - hp.beta2.powi(t)));
    let (b1, b2) = (T::cast(hp.beta1), T::cast(hp.beta2));
    let (ob1, ob2) = (T::cast(1.0 - hp.beta1), T::cast(1.0 - hp.beta2));
    let (lr, eps) = (T::cast(hp.lr), T::cast(hp.eps));
    let decay = T::cast(1.0 - hp.lr * hp.weight_decay);
    let decays = hp.weight_decay != 0.0;
    for (((p, &g), m), v) in theta
        .iter_mut()
        .zip(g.iter())
        .zip(m.iter_mut())
        .zip(v.iter_mut())
    {
        if decays {
            *p *= decay;
        }
        *m = b1 * *m + ob1 * g;
        *v = b2 * *v + ob2 * g * g;
        *p -= lr * (*m * c1) / ((*v * c2).sqrt() + eps);
    }
}

impl Rule for Adam {
    const NAME: &'static str = "adam";
    const SLOTS: usize = 2;

    fn with_lr(lr: f64) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
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
            ..Hyper::new(lr, t)
        }
    }

    fn validate(&self) -> Result<()> {
        check_lr(self.lr)?;
        check_moments(
            ["Adam β₁", "Adam β₂", "Adam ε"],
            self.beta1,
            self.beta2,
            self.eps,
        )
    }

    /// `adam_update` (its `weight_decay` is 0 for Adam).
    fn update<T: Scalar>(theta: &mut [T], g: &[T], slots: &mut [&mut [T]], hp: &Hyper) {
        adam_update(theta, g, slots, hp);
    }
}

impl fmt::Display for Adam {
    /// `adam(lr=0.001, beta1=0.9, beta2=0.999, eps=0.00000001)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            lr,
            beta1,
            beta2,
            eps,
        } = self;
        write!(
            f,
            "{}(lr={lr}, beta1={beta1}, beta2={beta2}, eps={eps})",
            Self::NAME
        )
    }
}
