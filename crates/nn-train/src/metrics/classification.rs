//! [`ClassificationReport`]: everything scikit-learn's `classification_report` prints, with
//! the confusion matrix, log-loss and (binary) ROC AUC.

use std::fmt;

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::Scalar;
use serde::Serialize;

use super::{ClassScores, ConfusionMatrix, argmax_columns, binary_log_loss, roc_auc};
use crate::check;
use crate::error::{Result, TrainError};
use crate::loss::Task;

/// The `ε` of the report's log-loss: probabilities are clipped to `[ε, 1 − ε]` with
/// `ε = f64::EPSILON` (2.22e-16), as scikit-learn's `log_loss` does since version 1.5 for
/// `float64` probabilities (the machine epsilon of their dtype). A confident wrong answer
/// (`p = 0` for the true class) then costs `−ln ε ≈ 36.04` instead of infinity.
pub const LOG_LOSS_EPSILON: f64 = f64::EPSILON;

/// Precision, recall and F1 averaged over the classes, with the total support. JSON form:
/// `{"precision": …, "recall": …, "f1": …, "support": n}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Averages {
    /// Mean precision.
    pub precision: f64,
    /// Mean recall.
    pub recall: f64,
    /// Mean F1.
    pub f1: f64,
    /// Examples in all.
    pub support: usize,
}

/// A classification report of network outputs against targets, with scikit-learn's
/// definitions (`classification_report(..., labels=all classes, zero_division=0)`,
/// `log_loss`, `roc_auc_score`):
///
/// - per class `c`: precision `TP/(TP + FP)`, recall `TP/(TP + FN)`, F1 (their harmonic
///   mean) and support (examples of the class); a ratio `0/0` is 0 (`zero_division=0`),
///   and a class with no examples is still listed (support 0);
/// - accuracy: correct predictions over examples;
/// - macro average: the unweighted mean over all classes, those with support 0 included;
///   weighted average: the mean weighted by support;
/// - the confusion matrix, `counts[actual][predicted]`;
/// - log-loss `−(1/m) Σ_j ln p_{y_j, j}`, probabilities clipped to
///   [`LOG_LOSS_EPSILON`]; `None` for outputs that are margins, not probabilities (hinge);
/// - ROC AUC for binary tasks (see [`roc_auc`](super::roc_auc)): from the positive
///   class's output (a sigmoid's, or class 1's of a two-class softmax), ties by average
///   ranks; `None` when one class has no examples, and for more than two classes.
///
/// Tasks, as [`Task`] (from [`Loss::task`](crate::Loss::task)) names them:
/// [`Task::Multiclass`] reads one-hot target columns and predicts each column's argmax;
/// [`Task::Binary`] reads a single output row (a sigmoid probability, or a margin for
/// hinge) with targets 0/1 (or −1/1 for hinge), predicts positive when the output is at
/// least the threshold (0.5, or 0 for margins) and reports two classes, negative first.
///
/// `Display` prints a table like scikit-learn's, labelled with the class names, followed
/// by the confusion matrix (rows: actual, columns: predicted). The JSON form (serde) is
/// `{"accuracy", "classes": [{"name", "precision", "recall", "f1", "support"}, …],
/// "macro_avg": {…}, "weighted_avg": {…}, "confusion_matrix": [[…], …] (rows actual),
/// "log_loss": x | null, "roc_auc": x | null, "examples": m}`.
///
/// ```
/// use nalgebra::DMatrix;
/// use nn_train::Task;
/// use nn_train::metrics::ClassificationReport;
///
/// // Three examples of two classes: sigmoid outputs and 0/1 targets.
/// let a = DMatrix::from_row_slice(1, 3, &[0.9, 0.4, 0.2]);
/// let y = DMatrix::from_row_slice(1, 3, &[1.0, 1.0, 0.0]);
/// let names = ["no".to_string(), "yes".to_string()];
/// let task = Task::Binary { threshold_is_zero: false };
/// let report = ClassificationReport::new(task, &a, &y, Some(&names))?;
/// assert!((report.accuracy - 2.0 / 3.0).abs() < 1e-12);
/// assert_eq!(report.roc_auc, Some(1.0));
/// assert_eq!(report.confusion.counts(), &[vec![1, 0], vec![1, 1]]);
/// println!("{report}");
/// let json = serde_json::to_string(&report).unwrap();
/// assert!(json.contains(r#""name":"yes""#));
/// # Ok::<(), nn_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationReport {
    /// The class names, in class order (the numbers `"0"`, `"1"`, … when none were given).
    pub classes: Vec<String>,
    /// Precision, recall, F1 and support of each class, in class order.
    pub scores: Vec<ClassScores>,
    /// Correct predictions over examples.
    pub accuracy: f64,
    /// The unweighted mean over classes.
    pub macro_avg: Averages,
    /// The mean weighted by support.
    pub weighted_avg: Averages,
    /// `counts[actual][predicted]`.
    pub confusion: ConfusionMatrix,
    /// Mean log-loss of the probabilities; `None` for margin outputs.
    pub log_loss: Option<f64>,
    /// Area under the ROC curve (binary tasks with both classes present).
    pub roc_auc: Option<f64>,
    /// Number of examples.
    pub examples: usize,
}

impl ClassificationReport {
    /// The report of outputs `a` against targets `y` (both `(outputs, m)`) for `task`,
    /// with optional class names (one per class: two for a binary task, negative first).
    ///
    /// # Errors
    /// [`TrainError::BadShape`] if the shapes differ or a binary task has more than one
    /// output row; [`TrainError::EmptyData`] for no examples;
    /// [`TrainError::NonFiniteData`] for a NaN or infinity; [`TrainError::BadInput`] for a
    /// regression task or a wrong number of class names.
    pub fn new<T: Scalar>(
        task: Task,
        a: &DMatrix<T>,
        y: &DMatrix<T>,
        classes: Option<&[String]>,
    ) -> Result<Self> {
        if a.shape() != y.shape() {
            return Err(TrainError::BadShape {
                what: "targets of a classification report (shaped like the outputs)",
                expected: a.shape(),
                found: y.shape(),
            });
        }
        if a.ncols() == 0 {
            return Err(TrainError::EmptyData {
                what: "outputs of a classification report",
            });
        }
        check::finite("outputs of a classification report", a)?;
        check::finite("targets of a classification report", y)?;
        let m = a.ncols();
        let (k, actual, predicted, log_loss, roc_auc) = match task {
            Task::Regression => {
                return Err(TrainError::BadInput {
                    what: "task of a classification report",
                    expected: "a binary or multi-class task".into(),
                    found: "a regression task (use RegressionReport)".into(),
                });
            }
            Task::Multiclass => {
                let actual = argmax_columns(y);
                let predicted = argmax_columns(a);
                let loss = multiclass_log_loss(a, y);
                // Two classes on a softmax are a binary task: AUC of class 1's output.
                let auc = (a.nrows() == 2)
                    .then(|| {
                        let scores: Vec<f64> = a.row(1).iter().map(|v| v.to_f64()).collect();
                        let positive: Vec<bool> = actual.iter().map(|&c| c == 1).collect();
                        roc_auc(&scores, &positive)
                    })
                    .flatten();
                (a.nrows(), actual, predicted, Some(loss), auc)
            }
            Task::Binary { threshold_is_zero } => {
                if a.nrows() != 1 {
                    return Err(TrainError::BadShape {
                        what: "outputs of a binary classification report (one output row)",
                        expected: (1, m),
                        found: a.shape(),
                    });
                }
                let t = if threshold_is_zero { 0.0 } else { 0.5 };
                let scores: Vec<f64> = a.iter().map(|v| v.to_f64()).collect();
                let positive: Vec<bool> = y.iter().map(|v| v.to_f64() > t).collect();
                let predicted = scores.iter().map(|&s| usize::from(s >= t)).collect();
                let actual = positive.iter().map(|&p| usize::from(p)).collect();
                let loss = (!threshold_is_zero).then(|| {
                    let labels = positive.iter().map(|&p| f64::from(u8::from(p)));
                    binary_log_loss(scores.iter().copied(), labels, LOG_LOSS_EPSILON)
                });
                let auc = roc_auc(&scores, &positive);
                (2, actual, predicted, loss, auc)
            }
        };
        let classes = match classes {
            None => (0..k).map(|c| c.to_string()).collect(),
            Some(names) if names.len() == k => names.to_vec(),
            Some(names) => {
                return Err(TrainError::BadInput {
                    what: "class names of a classification report",
                    expected: format!("{k} names (one per class)"),
                    found: format!("{} names", names.len()),
                });
            }
        };
        let confusion = ConfusionMatrix::new(&actual, &predicted, k)?;
        let scores: Vec<ClassScores> = (0..k).map(|c| confusion.scores(c)).collect();
        let mean = |weight: &dyn Fn(&ClassScores) -> f64| {
            let total: f64 = scores.iter().map(weight).sum();
            let avg = |value: fn(&ClassScores) -> f64| {
                if total == 0.0 {
                    0.0
                } else {
                    scores.iter().map(|s| weight(s) * value(s)).sum::<f64>() / total
                }
            };
            Averages {
                precision: avg(|s| s.precision),
                recall: avg(|s| s.recall),
                f1: avg(|s| s.f1),
                support: m,
            }
        };
        let macro_avg = mean(&|_| 1.0);
        let weighted_avg = mean(&|s| s.support as f64);
        Ok(Self {
            classes,
            accuracy: confusion.accuracy(),
            scores,
            macro_avg,
            weighted_avg,
            confusion,
            log_loss,
            roc_auc,
            examples: m,
        })
    }
}

/// `−(1/m) Σ_j Σ_k y_kj ln clip(a_kj)`: scikit-learn's multi-class log-loss.
fn multiclass_log_loss<T: Scalar>(a: &DMatrix<T>, y: &DMatrix<T>) -> f64 {
    let eps = LOG_LOSS_EPSILON;
    let total: f64 = a
        .iter()
        .zip(y.iter())
        .filter(|(_, y)| **y != T::zero())
        .map(|(&p, &y)| -y.to_f64() * p.to_f64().clamp(eps, 1.0 - eps).ln())
        .sum();
    total / a.ncols() as f64
}

impl fmt::Display for ClassificationReport {
    /// scikit-learn's layout, four decimals:
    ///
    /// ```text
    ///               precision    recall  f1-score   support
    ///
    ///       setosa     1.0000    1.0000    1.0000        13
    ///   …
    ///     accuracy                         0.9737        38
    ///    macro avg     0.9744    0.9744    0.9744        38
    /// weighted avg     0.9737    0.9737    0.9737        38
    /// ```
    ///
    /// then the log-loss, the ROC AUC (binary) and the labelled confusion matrix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self
            .classes
            .iter()
            .map(|c| c.chars().count())
            .chain(["weighted avg".len()])
            .max()
            .unwrap_or(0);
        writeln!(
            f,
            "{:>w$} {:>10}{:>10}{:>10}{:>10}",
            "", "precision", "recall", "f1-score", "support"
        )?;
        writeln!(f)?;
        for (name, s) in self.classes.iter().zip(&self.scores) {
            writeln!(
                f,
                "{name:>w$} {:>10.4}{:>10.4}{:>10.4}{:>10}",
                s.precision, s.recall, s.f1, s.support
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:>w$} {:>10}{:>10}{:>10.4}{:>10}",
            "accuracy", "", "", self.accuracy, self.examples
        )?;
        for (label, avg) in [
            ("macro avg", &self.macro_avg),
            ("weighted avg", &self.weighted_avg),
        ] {
            writeln!(
                f,
                "{label:>w$} {:>10.4}{:>10.4}{:>10.4}{:>10}",
                avg.precision, avg.recall, avg.f1, avg.support
            )?;
        }
        writeln!(f)?;
        if let Some(loss) = self.log_loss {
            writeln!(f, "log-loss: {loss:.4}")?;
        }
        if self.classes.len() == 2 {
            match self.roc_auc {
                Some(auc) => writeln!(f, "ROC AUC: {auc:.4}")?,
                None => writeln!(f, "ROC AUC: undefined (only one class in the targets)")?,
            }
        }
        writeln!(f)?;
        writeln!(f, "confusion matrix (rows: actual, columns: predicted)")?;
        write!(f, "{}", self.confusion.labelled(&self.classes))
    }
}

/// One class's entry of the JSON form.
#[derive(Serialize)]
struct ClassForm<'a> {
    name: &'a str,
    #[serde(flatten)]
    scores: &'a ClassScores,
}

/// The JSON form (see [`ClassificationReport`]).
#[derive(Serialize)]
struct ReportForm<'a> {
    accuracy: f64,
    classes: Vec<ClassForm<'a>>,
    macro_avg: &'a Averages,
    weighted_avg: &'a Averages,
    confusion_matrix: &'a [Vec<usize>],
    log_loss: Option<f64>,
    roc_auc: Option<f64>,
    examples: usize,
}

impl Serialize for ClassificationReport {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        ReportForm {
            accuracy: self.accuracy,
            classes: self
                .classes
                .iter()
                .zip(&self.scores)
                .map(|(name, scores)| ClassForm { name, scores })
                .collect(),
            macro_avg: &self.macro_avg,
            weighted_avg: &self.weighted_avg,
            confusion_matrix: self.confusion.counts(),
            log_loss: self.log_loss,
            roc_auc: self.roc_auc,
            examples: self.examples,
        }
        .serialize(serializer)
    }
}
