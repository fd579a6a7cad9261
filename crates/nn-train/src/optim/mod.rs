//! Optimizers: how a gradient becomes a parameter update, with their state.
//!
//! [`Optimizer`] is the configuration (plain data, with documented defaults);
//! [`OptimizerState`] holds the per-parameter moments and the step count, allocated at the
//! first step and reused after. Formulas follow PyTorch's, so that the same
//! hyperparameters give the same updates.

mod adam;
mod rmsprop;
mod schedule;
mod sgd;

use std::fmt;

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::{Scalar, all_finite, sum_squares};

pub use schedule::Schedule;

use crate::error::{Result, TrainError};
use crate::layers::ParamMut;
use crate::network::Network;

/// An optimizer and its hyperparameters. `lr` is the base learning rate `η` (a
/// [`Schedule`] may scale it per epoch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    /// Plain gradient descent: `θ ← θ − η g`.
    Sgd {
        /// Learning rate `η`.
        lr: f64,
    },
    /// Heavy-ball momentum: `v ← β v + g`, `θ ← θ − η v`.
    Momentum {
        /// Learning rate `η`.
        lr: f64,
        /// Momentum `β` (default 0.9).
        beta: f64,
    },
    /// Nesterov momentum: `v ← β v + g`, `θ ← θ − η (g + β v)`.
    Nesterov {
        /// Learning rate `η`.
        lr: f64,
        /// Momentum `β` (default 0.9).
        beta: f64,
    },
    /// RMSProp: `s ← ρ s + (1 − ρ) g²`, `θ ← θ − η g / (√s + ε)`.
    RmsProp {
        /// Learning rate `η`.
        lr: f64,
        /// Decay `ρ` of the squared-gradient average (default 0.9).
        rho: f64,
        /// `ε` (default 1e-8).
        eps: f64,
    },
    /// Adam: bias-corrected first and second moments.
    Adam {
        /// Learning rate `η` (default 1e-3).
        lr: f64,
        /// `β₁` (default 0.9).
        beta1: f64,
        /// `β₂` (default 0.999).
        beta2: f64,
        /// `ε` (default 1e-8).
        eps: f64,
    },
    /// AdamW: Adam with decoupled weight decay `θ ← θ − η λ θ` on weights (not biases).
    AdamW {
        /// Learning rate `η` (default 1e-3).
        lr: f64,
        /// `β₁` (default 0.9).
        beta1: f64,
        /// `β₂` (default 0.999).
        beta2: f64,
        /// `ε` (default 1e-8).
        eps: f64,
        /// Decoupled weight decay `λ` (default 0.01).
        weight_decay: f64,
    },
}

impl Optimizer {
    /// Plain SGD with learning rate `lr`.
    pub fn sgd(lr: f64) -> Self {
        Optimizer::Sgd { lr }
    }
    /// Momentum SGD, `β = 0.9`.
    pub fn momentum(lr: f64) -> Self {
        Optimizer::Momentum { lr, beta: 0.9 }
    }
    /// Nesterov momentum, `β = 0.9`.
    pub fn nesterov(lr: f64) -> Self {
        Optimizer::Nesterov { lr, beta: 0.9 }
    }
    /// RMSProp, `ρ = 0.9`, `ε = 1e-8`.
    pub fn rmsprop(lr: f64) -> Self {
        Optimizer::RmsProp {
            lr,
            rho: 0.9,
            eps: 1e-8,
        }
    }
    /// Adam, `β₁ = 0.9`, `β₂ = 0.999`, `ε = 1e-8`.
    pub fn adam(lr: f64) -> Self {
        Optimizer::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
    /// AdamW, `β₁ = 0.9`, `β₂ = 0.999`, `ε = 1e-8`, `λ = 0.01`.
    pub fn adamw(lr: f64) -> Self {
        Optimizer::AdamW {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }

    /// The base learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            Optimizer::Sgd { lr }
            | Optimizer::Momentum { lr, .. }
            | Optimizer::Nesterov { lr, .. }
            | Optimizer::RmsProp { lr, .. }
            | Optimizer::Adam { lr, .. }
            | Optimizer::AdamW { lr, .. } => lr,
        }
    }

    /// How many state tensors per parameter the optimizer keeps.
    pub(crate) fn slots(&self) -> usize {
        match self {
            Optimizer::Sgd { .. } => 0,
            Optimizer::Momentum { .. } | Optimizer::Nesterov { .. } | Optimizer::RmsProp { .. } => {
                1
            }
            Optimizer::Adam { .. } | Optimizer::AdamW { .. } => 2,
        }
    }

    /// Checks every hyperparameter's range.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        let check = |what, ok: bool, expected, v: f64| {
            if ok {
                Ok(())
            } else {
                Err(TrainError::InvalidConfig {
                    what,
                    expected,
                    found: v.to_string(),
                })
            }
        };
        let lr = self.lr();
        check(
            "learning rate",
            lr.is_finite() && lr > 0.0,
            "finite and > 0",
            lr,
        )?;
        let unit = |v: f64| (0.0..1.0).contains(&v);
        let pos = |v: f64| v.is_finite() && v > 0.0;
        match *self {
            Optimizer::Sgd { .. } => Ok(()),
            Optimizer::Momentum { beta, .. } | Optimizer::Nesterov { beta, .. } => {
                check("momentum β", unit(beta), "in [0, 1)", beta)
            }
            Optimizer::RmsProp { rho, eps, .. } => {
                check("RMSProp ρ", unit(rho), "in [0, 1)", rho)?;
                check("RMSProp ε", pos(eps), "finite and > 0", eps)
            }
            Optimizer::Adam {
                beta1, beta2, eps, ..
            } => {
                check("Adam β₁", unit(beta1), "in [0, 1)", beta1)?;
                check("Adam β₂", unit(beta2), "in [0, 1)", beta2)?;
                check("Adam ε", pos(eps), "finite and > 0", eps)
            }
            Optimizer::AdamW {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => {
                check("AdamW β₁", unit(beta1), "in [0, 1)", beta1)?;
                check("AdamW β₂", unit(beta2), "in [0, 1)", beta2)?;
                check("AdamW ε", pos(eps), "finite and > 0", eps)?;
                check(
                    "AdamW weight decay",
                    weight_decay.is_finite() && weight_decay >= 0.0,
                    "finite and ≥ 0",
                    weight_decay,
                )
            }
        }
    }
}

impl fmt::Display for Optimizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Optimizer::Sgd { lr } => write!(f, "sgd(lr={lr})"),
            Optimizer::Momentum { lr, beta } => write!(f, "momentum(lr={lr}, beta={beta})"),
            Optimizer::Nesterov { lr, beta } => write!(f, "nesterov(lr={lr}, beta={beta})"),
            Optimizer::RmsProp { lr, rho, eps } => {
                write!(f, "rmsprop(lr={lr}, rho={rho}, eps={eps})")
            }
            Optimizer::Adam {
                lr,
                beta1,
                beta2,
                eps,
            } => {
                write!(f, "adam(lr={lr}, beta1={beta1}, beta2={beta2}, eps={eps})")
            }
            Optimizer::AdamW {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
            } => write!(
                f,
                "adamw(lr={lr}, beta1={beta1}, beta2={beta2}, eps={eps}, weight_decay={weight_decay})"
            ),
        }
    }
}

/// An optimizer's mutable state: the step count `t` and, per parameter tensor, its moment
/// buffers (in [`Network::for_each_param`] order).
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerState<T: Scalar> {
    /// The configuration.
    pub optimizer: Optimizer,
    /// Number of updates applied so far (`t` of Adam's bias correction).
    pub steps: u64,
    /// Per parameter tensor: its state tensors (velocity; or first and second moments).
    pub slots: Vec<Vec<DMatrix<T>>>,
}

impl<T: Scalar> OptimizerState<T> {
    /// A fresh state (no steps taken).
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] for a bad hyperparameter.
    pub fn new(optimizer: Optimizer) -> Result<Self> {
        optimizer.validate()?;
        Ok(Self {
            optimizer,
            steps: 0,
            slots: Vec::new(),
        })
    }

    /// Applies one update to every parameter of `net` from the gradients of its last
    /// backward pass, with learning rate `lr`. Allocates the moment buffers at the first
    /// step only.
    pub fn step(&mut self, net: &mut Network<T>, lr: f64) {
        self.steps += 1;
        let (optimizer, t, slots) = (self.optimizer, self.steps, &mut self.slots);
        let n_slots = optimizer.slots();
        let mut index = 0;
        net.for_each_param(&mut |p: ParamMut<'_, T>| {
            if slots.len() <= index {
                slots.push(vec![
                    DMatrix::zeros(p.value.nrows(), p.value.ncols());
                    n_slots
                ]);
            }
            let state = &mut slots[index];
            let lr_t = T::cast(lr);
            match optimizer {
                Optimizer::Sgd { .. } => sgd::sgd(p.value, p.grad, lr_t),
                Optimizer::Momentum { beta, .. } => {
                    sgd::momentum(p.value, p.grad, &mut state[0], lr_t, T::cast(beta), false)
                }
                Optimizer::Nesterov { beta, .. } => {
                    sgd::momentum(p.value, p.grad, &mut state[0], lr_t, T::cast(beta), true)
                }
                Optimizer::RmsProp { rho, eps, .. } => {
                    rmsprop::rmsprop(p.value, p.grad, &mut state[0], lr_t, rho, eps)
                }
                Optimizer::Adam {
                    beta1, beta2, eps, ..
                } => {
                    let hp = adam::AdamStep {
                        lr,
                        beta1,
                        beta2,
                        eps,
                        t,
                        weight_decay: 0.0,
                    };
                    adam::adam(p.value, p.grad, state, &hp);
                }
                Optimizer::AdamW {
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                    ..
                } => {
                    let wd = if p.decays { weight_decay } else { 0.0 };
                    let hp = adam::AdamStep {
                        lr,
                        beta1,
                        beta2,
                        eps,
                        t,
                        weight_decay: wd,
                    };
                    adam::adam(p.value, p.grad, state, &hp);
                }
            }
            index += 1;
        });
    }
}

/// The global L2 norm `√(Σ_θ ‖∂J/∂θ‖²)` of all gradients of `net` (NaN if any is NaN).
pub fn gradient_norm<T: Scalar>(net: &mut Network<T>) -> f64 {
    let mut sum = 0.0;
    net.for_each_param(&mut |p| sum += sum_squares(p.grad.as_slice()));
    sum.sqrt()
}

/// `true` if every gradient of `net` is finite: the divergence check of a step without
/// clipping, at the cost of reading the gradients once in `T` (no norm is needed).
pub fn gradients_finite<T: Scalar>(net: &mut Network<T>) -> bool {
    let mut finite = true;
    net.for_each_param(&mut |p| finite &= all_finite(p.grad.as_slice()));
    finite
}

/// Scales all gradients by `max_norm / norm` if their global norm exceeds `max_norm`
/// (PyTorch's `clip_grad_norm_`). Returns the norm before clipping.
pub fn clip_gradient_norm<T: Scalar>(net: &mut Network<T>, max_norm: f64) -> f64 {
    let norm = gradient_norm(net);
    if norm.is_finite() && norm > max_norm {
        let scale = T::cast(max_norm / norm);
        net.for_each_param(&mut |p| *p.grad *= scale);
    }
    norm
}
