//! The hook an application uses to show progress or stop training; the library prints
//! nothing.

use super::history::EpochRecord;

/// Whether training should go on after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop after this epoch (recorded as an early stop).
    Stop,
}

/// Hooks an application implements to show progress or log; the library prints nothing.
pub trait Observer {
    /// Called after every mini-batch with its cost.
    fn on_step(&mut self, _epoch: usize, _step: usize, _steps_per_epoch: usize, _cost: f64) {}
    /// Called after every epoch; return [`Control::Stop`] to end training.
    fn on_epoch(&mut self, _record: &EpochRecord) -> Control {
        Control::Continue
    }
}

/// An observer that does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {}
