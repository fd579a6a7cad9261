//! Plain gradient descent: `θ ← θ − η g`. No state.

use std::fmt;

use nn_init::nn_activations::nn_core::Scalar;
use serde::{Deserialize, Serialize};

use super::{Hyper, Rule, check_lr};
use crate::error::Result;

/// Plain gradient descent, `θ ← θ − η g`. JSON form `{"name": "sgd", "lr": η}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sgd {
    /// Learning rate `η`, finite and `> 0`.
    pub lr: f64,
}

impl Rule for Sgd {
    const NAME: &'static str = "sgd";
    const SLOTS: usize = 0;

    fn with_lr(lr: f64) -> Self {
        Self { lr }
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn hyper(&self, lr: f64, t: u64) -> Hyper {
        Hyper::new(lr, t)
    }

    fn validate(&self) -> Result<()> {
        check_lr(self.lr)
    }

    /// `θ ← θ − η g`.
    fn update<T: Scalar>(theta: &mut [T], g: &[T], _: &mut [&mut [T]], hp: &Hyper) {
        let lr = T::cast(hp.lr);
        theta.iter_mut().zip(g).for_each(|(p, &g)| *p -= lr * g);
    }
}

impl fmt::Display for Sgd {
    /// `sgd(lr=0.1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(lr={})", Self::NAME, self.lr)
    }
}
