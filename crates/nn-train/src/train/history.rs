//! What a training run records: one [`EpochRecord`] per epoch, written as CSV.

/// The metrics of one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochRecord {
    /// Epoch index (0-based).
    pub epoch: usize,
    /// Mean training cost over the epoch's batches (weighted by batch size; the parameters
    /// change during the epoch, as in Keras' running figure).
    pub train_cost: f64,
    /// Training accuracy over the epoch's batches; `None` for regression.
    pub train_accuracy: Option<f64>,
    /// Validation cost after the epoch, if validation data was given.
    pub val_cost: Option<f64>,
    /// Validation accuracy after the epoch.
    pub val_accuracy: Option<f64>,
    /// The learning rate at the end of the epoch.
    pub learning_rate: f64,
}

/// The record of a training run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// One record per completed epoch.
    pub epochs: Vec<EpochRecord>,
    /// What ended the run before its last epoch, if anything did.
    pub stopped: Option<Stopped>,
    /// The epoch whose parameters the network holds at the end, when early stopping
    /// restored the best ones.
    pub best_epoch: Option<usize>,
}

/// What ended a training run before its last epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// [`EarlyStopping`](crate::EarlyStopping): the monitored cost stopped improving.
    EarlyStopping,
    /// [`Convergence`](crate::Convergence): the training cost stopped falling.
    Converged,
    /// The [`Observer`](crate::Observer) asked to stop.
    Observer,
}

impl History {
    /// `true` if something ended the run before its last epoch.
    pub fn stopped_early(&self) -> bool {
        self.stopped.is_some()
    }
}

#[cfg(feature = "csv")]
mod csv_form {
    use std::io::Write;
    use std::path::Path;

    use super::History;
    use crate::atomic::write_atomic;
    use crate::error::{Result, TrainError};

    impl History {
        /// Writes the history as CSV with header
        /// `epoch,train_cost,train_accuracy,val_cost,val_accuracy,learning_rate` (missing
        /// values are empty fields). Epochs are numbered from 1, as a person counts them
        /// (record `epoch` 0 is written `1`).
        ///
        /// # Errors
        /// [`TrainError::Io`] if writing fails.
        pub fn write_csv<W: Write>(&self, writer: W) -> Result<()> {
            const CONTEXT: &str = "writing training history CSV";
            // The records have a fixed width and are not serialised through serde, so the
            // writer's only failure is the underlying writer's.
            let io = |e: csv::Error| match e.into_kind() {
                csv::ErrorKind::Io(e) => TrainError::io(CONTEXT, e),
                other => TrainError::internal(format!(
                    "{CONTEXT}: the CSV writer refused a record of fixed width: {other:?}"
                )),
            };
            let mut w = csv::Writer::from_writer(writer);
            w.write_record([
                "epoch",
                "train_cost",
                "train_accuracy",
                "val_cost",
                "val_accuracy",
                "learning_rate",
            ])
            .map_err(io)?;
            let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
            for r in &self.epochs {
                w.write_record([
                    (r.epoch + 1).to_string(),
                    r.train_cost.to_string(),
                    opt(r.train_accuracy),
                    opt(r.val_cost),
                    opt(r.val_accuracy),
                    r.learning_rate.to_string(),
                ])
                .map_err(io)?;
            }
            w.flush().map_err(|e| TrainError::io(CONTEXT, e))
        }

        /// Writes the history as CSV to a file (see [`History::write_csv`]), atomically
        /// ([`crate::persist::write_atomic`]): an error leaves an existing file as it was.
        ///
        /// # Errors
        /// [`TrainError::Io`] naming the path if it cannot be created or written.
        pub fn save_csv(&self, path: &Path) -> Result<()> {
            let mut bytes = Vec::new();
            self.write_csv(&mut bytes)?;
            write_atomic(path, &bytes)
        }
    }
}
