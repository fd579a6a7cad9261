//! Metrics: accuracy, confusion matrix, precision/recall/F1, log-loss, ROC AUC, and the
//! reports a person reads after training: [`ClassificationReport`] (scikit-learn's
//! `classification_report` with the confusion matrix, log-loss and ROC AUC) and
//! [`RegressionReport`] (MSE, RMSE, MAE, R² per output).

mod classification;
mod regression;

use std::fmt;

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::Scalar;

use crate::error::{Result, TrainError};
use crate::loss::Task;

pub use classification::{Averages, ClassificationReport, LOG_LOSS_EPSILON};
pub use regression::{RegressionReport, RegressionScores};

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
    Ok(binary_log_loss(
        p.iter().map(|v| v.to_f64()),
        y.iter().map(|v| v.to_f64()),
        1e-15,
    ))
}

/// `−(1/n) Σ y ln p + (1 − y) ln(1 − p)` with `p` clamped to `[ε, 1 − ε]`; 0 for no pairs.
fn binary_log_loss(p: impl Iterator<Item = f64>, y: impl Iterator<Item = f64>, eps: f64) -> f64 {
    let (mut total, mut n) = (0.0, 0usize);
    for (p, y) in p.zip(y) {
        let p = p.clamp(eps, 1.0 - eps);
        total -= y * p.ln() + (1.0 - y) * (1.0 - p).ln();
        n += 1;
    }
    if n == 0 { 0.0 } else { total / n as f64 }
}

/// The area under the ROC curve of `scores` for examples that are `positive` or not: the
/// probability that a random positive scores above a random negative, ties counting half.
/// Computed exactly as the Mann–Whitney statistic, `(R₊ − n₊(n₊ + 1)/2) / (n₊ n₋)`, where
/// `R₊` is the sum of the positives' ranks among all scores (1-based, tied scores sharing
/// their average rank) — the same number as scikit-learn's `roc_auc_score`, which
/// integrates the ROC curve by trapezoids. Any monotone increasing transform of the
/// scores (probabilities, logits, margins) gives the same value.
///
/// `None` when it is undefined: no positive or no negative example, different lengths,
/// or a NaN score.
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    if scores.len() != positive.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&i, &j| scores[i].total_cmp(&scores[j]));
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        // Ranks start + 1 ..= end share their mean.
        let rank = (start + 1 + end) as f64 / 2.0;
        let tied_positives = order[start..end].iter().filter(|&&i| positive[i]).count();
        rank_sum += rank * tied_positives as f64;
        start = end;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// A confusion matrix: `counts[actual][predicted]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    counts: Vec<Vec<usize>>,
}

/// Precision, recall and F1 of one class. JSON form (serde):
/// `{"precision": 0.5, "recall": 0.75, "f1": 0.6, "support": 4}`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
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

impl ConfusionMatrix {
    /// The matrix as a table labelled with class names (`names[c]` for class `c`): rows
    /// are the actual class, columns the predicted one. Names beyond those given are the
    /// class numbers.
    pub fn labelled<'a>(&'a self, names: &'a [String]) -> impl fmt::Display + 'a {
        Labelled {
            matrix: self,
            names,
        }
    }
}

/// [`ConfusionMatrix::labelled`]'s table.
struct Labelled<'a> {
    matrix: &'a ConfusionMatrix,
    names: &'a [String],
}

impl fmt::Display for Labelled<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.matrix.classes();
        let names: Vec<String> = (0..k)
            .map(|c| self.names.get(c).cloned().unwrap_or_else(|| c.to_string()))
            .collect();
        let corner = "actual \\ predicted";
        let first = names
            .iter()
            .map(|n| n.chars().count())
            .chain([corner.chars().count()])
            .max()
            .unwrap_or(0);
        let widest_count = self
            .matrix
            .counts
            .iter()
            .flatten()
            .map(|c| c.to_string().len())
            .max()
            .unwrap_or(1);
        // One width for every column, so the counts line up under each other.
        let w = names
            .iter()
            .map(|n| n.chars().count())
            .chain([widest_count])
            .max()
            .unwrap_or(1)
            + 2;
        write!(f, "{corner:>first$}")?;
        for name in &names {
            write!(f, "{name:>w$}")?;
        }
        writeln!(f)?;
        for (name, row) in names.iter().zip(&self.matrix.counts) {
            write!(f, "{name:>first$}")?;
            for count in row {
                write!(f, "{count:>w$}")?;
            }
            writeln!(f)?;
        }
        Ok(())
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
