//! The training loop: epochs of seeded, shuffled mini-batches (each step in shares that
//! threads run, with the same bits on any thread count), validation, history, early
//! stopping, divergence detection, and an observer hook for progress display.

mod config;
mod history;
mod observer;
mod thread_choice;
mod trainer;
mod workers;

pub use config::{Convergence, Divergence, EarlyStopping, FitConfig};
pub use history::{EpochRecord, History, Stopped};
pub use observer::{Control, Observer, Silent};
pub use trainer::{EpochHook, Trainer};

use nn_init::nn_activations::nn_core::Scalar;

use crate::data::Data;
use crate::error::Result;
use crate::network::Network;

/// Trains a network with a fresh [`Trainer`]: the one-call form of [`Trainer::fit`].
///
/// # Errors
/// As [`Trainer::fit`]. On [`TrainingError::Diverged`](crate::TrainingError::Diverged)
/// `net` holds the parameters the error's [`KeptParameters`](crate::KeptParameters) names:
/// the best epoch's with early stopping's `restore_best`, else the last good epoch's, else
/// the starting ones.
pub fn fit<T: Scalar>(
    net: &mut Network<T>,
    train: Data<'_, T>,
    validation: Option<Data<'_, T>>,
    config: &FitConfig,
    observer: &mut dyn Observer,
) -> Result<History> {
    Trainer::new(*config)?.fit(net, train, validation, observer)
}
