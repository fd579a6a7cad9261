//! Metrics: accuracy, confusion matrix, precision/recall/F1, and log-loss.

use std::fmt;

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::Scalar;

use crate::error::{Result, TrainError};
use crate::loss::Task;

/// The index of the largest entry of each column (the predicted class of each example).
/// Ties go to the lowest index; a NaN never wins.
pub fn argmax_columns<T: Scalar>(a: &DMatrix<T>) -> Vec<usize> {
    a.column_iter().map(|c| argmax(c.as_slice())).collect()
}

/// Index of the largest entry; NaN loses to any number, ties go to the first (0 if every
/// entry is NaN).
///
/// Two branch-free passes: the maximum (comparisons with NaN are false, so NaN never
/// becomes it), then the first index holding it, found by selects. Deciding "new maximum?"
/// or "found it?" with branches mispredicts on a training step's random-looking outputs,
/// which made this one of the costliest parts of a small network's step.
fn argmax<T: Scalar>(c: &[T]) -> usize {
    let max = c.iter().fold(
        T::cast(f64::NEG_INFINITY),
        |m, &v| if v > m { v } else { m },
    );
    let (mut index, mut found) = (0, false);
    for (i, &v) in c.iter().enumerate() {
        let hit = v == max;
        index = if hit & !found { i } else { index };
        found |= hit;
    }
    index
}

/// Counts correct predictions and the number of predictions for a task: examples for
/// [`Task::Multiclass`] (argmax of output vs target), output entries for [`Task::Binary`]
/// (output ≥ threshold vs target > threshold), `None` for regression.
pub fn correct_count<T: Scalar>(
    task: Task,
    a: &DMatrix<T>,
    y: &DMatrix<T>,
) -> Option<(usize, usize)> {
    match task {
        Task::Regression => None,
        Task::Multiclass => {
            // Column by column, without allocating: this runs in every training step.
            let hits = a
                .as_slice()
                .chunks_exact(a.nrows().max(1))
                .zip(y.as_slice().chunks_exact(y.nrows().max(1)))
                .filter(|(p, t)| argmax(p) == argmax(t))
                .count();
            Some((hits, a.ncols()))
        }
        Task::Binary { threshold_is_zero } => {
            let t = if threshold_is_zero {
                T::zero()
            } else {
                T::cast(0.5)
            };
            let hits = a
                .iter()
                .zip(y.iter())
                .filter(|&(&p, &y)| (p >= t) == (y > t))
                .count();
            Some((hits, a.len()))
        }
    }
}

/// The number of examples of each class in targets `y`, as [`Task`] reads them: for
/// [`Task::Multiclass`] one count per row (each column's class is its argmax); for
/// [`Task::Binary`] `[n_0, n_1]` over every entry (positive when above the threshold: 0.5,
/// or 0 for ±1 margins). These are the supports of a [`ClassificationReport`] and what
/// [`crate::balanced_class_weights`] takes.
///
/// # Errors
/// [`TrainError::BadInput`] for [`Task::Regression`], which has no classes.
pub fn class_counts<T: Scalar>(task: Task, y: &DMatrix<T>) -> Result<Vec<usize>> {
    match task {
        Task::Regression => Err(TrainError::BadInput {
            what: "targets to count classes of",
            expected: "a classification task (binary or multi-class)".into(),
            found: "a regression task".into(),
        }),
        Task::Multiclass => {
            let mut counts = vec![0; y.nrows()];
            for c in argmax_columns(y) {
                counts[c] += 1;
            }
            Ok(counts)
        }
        Task::Binary { threshold_is_zero } => {
            let t = if threshold_is_zero { 0.0 } else { 0.5 };
            let positive = y.iter().filter(|v| v.to_f64() > t).count();
            Ok(vec![y.len() - positive, positive])
        }
    }
}

/// Fraction of correct predictions (see [`correct_count`]); `None` for regression or
/// empty input.
pub fn accuracy<T: Scalar>(task: Task, a: &DMatrix<T>, y: &DMatrix<T>) -> Option<f64> {
    correct_count(task, a, y)
        .filter(|&(_, n)| n > 0)
        .map(|(h, n)| h as f64 / n as f64)
}

/// Mean binary log-loss `−(1/n) Σ y ln p + (1 − y) ln(1 − p)` of probabilities `p`
/// (clamped to `[1e-15, 1 − 1e-15]`, as scikit-learn does) against labels in `[0, 1]`.
///
/// # Errors
/// [`TrainError::BadShape`] if the shapes differ; [`TrainError::EmptyData`] if empty.
pub fn log_loss<T: Scalar>(p: &DMatrix<T>, y: &DMatrix<T>) -> Result<f64> {
    if p.shape() != y.shape() {
        return Err(TrainError::BadShape {
            what: "log_loss labels (shaped like the probabilities)",
            expected: p.shape(),
            found: y.shape(),
        });
    }
    if p.is_empty() {
        return Err(TrainError::EmptyData {
            what: "log_loss probabilities",
        });
    }
    let eps = 1e-15;
    let total: f64 = p
        .iter()
        .zip(y.iter())
        .map(|(&p, &y)| {
            let (p, y) = (p.to_f64().clamp(eps, 1.0 - eps), y.to_f64());
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum();
    Ok(total / p.len() as f64)
}

/// A confusion matrix: `counts[actual][predicted]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    counts: Vec<Vec<usize>>,
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassScores {
    /// `TP / (TP + FP)`; 0 when nothing was predicted as the class.
    pub precision: f64,
    /// `TP / (TP + FN)`; 0 when the class never occurs.
    pub recall: f64,
    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub f1: f64,
    /// Number of examples of the class.
    pub support: usize,
}

impl ConfusionMatrix {
    /// Counts `(actual, predicted)` pairs over `classes` classes.
    ///
    /// # Errors
    /// [`TrainError::BadInput`] if the lengths differ; [`TrainError::BadTarget`] for a label
    /// `≥ classes`.
    pub fn new(actual: &[usize], predicted: &[usize], classes: usize) -> Result<Self> {
        if actual.len() != predicted.len() {
            return Err(TrainError::BadInput {
                what: "confusion matrix predictions",
                expected: format!("{} labels (one per actual label)", actual.len()),
                found: format!("{} labels", predicted.len()),
            });
        }
        let mut counts = vec![vec![0; classes]; classes];
        for (j, (&a, &p)) in actual.iter().zip(predicted).enumerate() {
            if a >= classes || p >= classes {
                return Err(TrainError::BadTarget {
                    problem: format!("class labels must be < {classes}"),
                    row: 0,
                    col: j,
                    value: a.max(p) as f64,
                });
            }
            counts[a][p] += 1;
        }
        Ok(Self { counts })
    }

    /// From network outputs and one-hot targets (argmax of each column).
    ///
    /// # Errors
    /// As [`ConfusionMatrix::new`].
    pub fn from_outputs<T: Scalar>(a: &DMatrix<T>, y: &DMatrix<T>) -> Result<Self> {
        Self::new(
            &argmax_columns(y),
            &argmax_columns(a),
            a.nrows().max(y.nrows()),
        )
    }

    /// `counts[actual][predicted]`.
    pub fn counts(&self) -> &[Vec<usize>] {
        &self.counts
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.counts.len()
    }

    /// Fraction on the diagonal; 0 when empty.
    pub fn accuracy(&self) -> f64 {
        let total: usize = self.counts.iter().flatten().sum();
        let diag: usize = (0..self.classes()).map(|i| self.counts[i][i]).sum();
        if total == 0 {
            0.0
        } else {
            diag as f64 / total as f64
        }
    }

    /// Precision, recall and F1 of class `c` (zeros for an out-of-range class).
    pub fn scores(&self, c: usize) -> ClassScores {
        if c >= self.classes() {
            return ClassScores {
                precision: 0.0,
                recall: 0.0,
                f1: 0.0,
                support: 0,
            };
        }
        let tp = self.counts[c][c] as f64;
        let predicted: usize = self.counts.iter().map(|row| row[c]).sum();
        let support: usize = self.counts[c].iter().sum();
        let ratio = |num: f64, den: usize| if den == 0 { 0.0 } else { num / den as f64 };
        let (precision, recall) = (ratio(tp, predicted), ratio(tp, support));
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        ClassScores {
            precision,
            recall,
            f1,
            support,
        }
    }

    /// Unweighted mean of the per-class F1 scores.
    pub fn macro_f1(&self) -> f64 {
        let n = self.classes();
        if n == 0 {
            0.0
        } else {
            (0..n).map(|c| self.scores(c).f1).sum::<f64>() / n as f64
        }
    }
}

impl fmt::Display for ConfusionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "actual\\pred")?;
        for p in 0..self.classes() {
            write!(f, "{p:>6}")?;
        }
        writeln!(f)?;
        for (a, row) in self.counts.iter().enumerate() {
            write!(f, "{a:>11}")?;
            for c in row {
                write!(f, "{c:>6}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
