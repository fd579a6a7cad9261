//! [`RegressionReport`]: MSE, RMSE, MAE and R² of real-valued outputs, per output.

use std::fmt;

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::Scalar;
use serde::Serialize;

use crate::check;
use crate::error::{Result, TrainError};

/// The scores of one output (or their mean over outputs). JSON form:
/// `{"mse", "rmse", "mae", "r2"}` (`"r2": null` when undefined).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RegressionScores {
    /// Mean squared error `(1/m) Σ (a − y)²`.
    pub mse: f64,
    /// Root mean squared error `√MSE`.
    pub rmse: f64,
    /// Mean absolute error `(1/m) Σ |a − y|`.
    pub mae: f64,
    /// Coefficient of determination `1 − SS_res/SS_tot`, `SS_res = Σ (y − a)²`,
    /// `SS_tot = Σ (y − ȳ)²` (scikit-learn's `r2_score`). For a constant target
    /// (`SS_tot = 0`) it is 1 if the predictions are exact and 0 otherwise, as
    /// scikit-learn's default `force_finite=True` gives; `None` for fewer than two
    /// examples, where scikit-learn returns NaN.
    pub r2: Option<f64>,
}

/// A regression report of network outputs against targets, both `(outputs, m)`: MSE,
/// RMSE, MAE and R² per output, and their mean over outputs (scikit-learn's
/// `multioutput="uniform_average"`: the mean of the per-output values, so the mean RMSE is
/// the mean of the roots, and the mean R² the mean of those defined).
///
/// `Display` prints one row per output (labelled with its name) and, with several
/// outputs, a row of means. The JSON form (serde) is `{"outputs": [{"name", "mse",
/// "rmse", "mae", "r2"}, …], "mean": {"mse", "rmse", "mae", "r2"}, "examples": m}`.
///
/// ```
/// use nalgebra::DMatrix;
/// use nn_train::metrics::RegressionReport;
///
/// let a = DMatrix::from_row_slice(1, 4, &[2.5, 0.0, 2.0, 8.0]);
/// let y = DMatrix::from_row_slice(1, 4, &[3.0, -0.5, 2.0, 7.0]);
/// let report = RegressionReport::new(&a, &y, Some(&["price".to_string()]))?;
/// assert!((report.mean.mse - 0.375).abs() < 1e-12);
/// assert!((report.mean.r2.unwrap() - 0.9486081370449679).abs() < 1e-12);
/// println!("{report}");
/// let json = serde_json::to_string(&report).unwrap();
/// assert!(json.contains(r#""name":"price""#));
/// # Ok::<(), nn_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionReport {
    /// The outputs' names (`"output_0"`, … when none were given).
    pub names: Vec<String>,
    /// The scores of each output, in output order.
    pub outputs: Vec<RegressionScores>,
    /// The mean of the per-output scores.
    pub mean: RegressionScores,
    /// Number of examples.
    pub examples: usize,
}

impl RegressionReport {
    /// The report of outputs `a` against targets `y`, with optional names (one per
    /// output).
    ///
    /// # Errors
    /// [`TrainError::BadShape`] if the shapes differ; [`TrainError::EmptyData`] for no
    /// examples or outputs; [`TrainError::NonFiniteData`] for a NaN or infinity;
    /// [`TrainError::BadInput`] for a wrong number of names.
    pub fn new<T: Scalar>(
        a: &DMatrix<T>,
        y: &DMatrix<T>,
        names: Option<&[String]>,
    ) -> Result<Self> {
        if a.shape() != y.shape() {
            return Err(TrainError::BadShape {
                what: "targets of a regression report (shaped like the outputs)",
                expected: a.shape(),
                found: y.shape(),
            });
        }
        if a.is_empty() {
            return Err(TrainError::EmptyData {
                what: "outputs of a regression report",
            });
        }
        check::finite("outputs of a regression report", a)?;
        check::finite("targets of a regression report", y)?;
        let k = a.nrows();
        let names = match names {
            None => (0..k).map(|i| format!("output_{i}")).collect(),
            Some(n) if n.len() == k => n.to_vec(),
            Some(n) => {
                return Err(TrainError::BadInput {
                    what: "output names of a regression report",
                    expected: format!("{k} names (one per output)"),
                    found: format!("{} names", n.len()),
                });
            }
        };
        let outputs: Vec<RegressionScores> = (0..k)
            .map(|i| {
                let row =
                    |m: &DMatrix<T>| -> Vec<f64> { m.row(i).iter().map(|v| v.to_f64()).collect() };
                scores(&row(a), &row(y))
            })
            .collect();
        let n = k as f64;
        let defined: Vec<f64> = outputs.iter().filter_map(|s| s.r2).collect();
        let mean = RegressionScores {
            mse: outputs.iter().map(|s| s.mse).sum::<f64>() / n,
            rmse: outputs.iter().map(|s| s.rmse).sum::<f64>() / n,
            mae: outputs.iter().map(|s| s.mae).sum::<f64>() / n,
            r2: (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64),
        };
        Ok(Self {
            names,
            outputs,
            mean,
            examples: a.ncols(),
        })
    }
}

/// The scores of one output's predictions `a` against targets `y` (same length, ≥ 1).
fn scores(a: &[f64], y: &[f64]) -> RegressionScores {
    let m = y.len() as f64;
    let ss_res: f64 = a.iter().zip(y).map(|(a, y)| (y - a).powi(2)).sum();
    let abs: f64 = a.iter().zip(y).map(|(a, y)| (y - a).abs()).sum();
    let mean_y = y.iter().sum::<f64>() / m;
    let ss_tot: f64 = y.iter().map(|y| (y - mean_y).powi(2)).sum();
    let r2 = if y.len() < 2 {
        None
    } else if ss_tot == 0.0 {
        Some(if ss_res == 0.0 { 1.0 } else { 0.0 })
    } else {
        Some(1.0 - ss_res / ss_tot)
    };
    let mse = ss_res / m;
    RegressionScores {
        mse,
        rmse: mse.sqrt(),
        mae: abs / m,
        r2,
    }
}

impl fmt::Display for RegressionReport {
    /// One row per output, four significant decimals:
    ///
    /// ```text
    ///  output         MSE        RMSE         MAE          R²
    ///   price      0.3750      0.6124      0.5000      0.9486
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self
            .names
            .iter()
            .map(|n| n.chars().count())
            .chain(["output".len()])
            .max()
            .unwrap_or(0);
        writeln!(
            f,
            "{:>w$}{:>12}{:>12}{:>12}{:>12}",
            "output", "MSE", "RMSE", "MAE", "R²"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, s: &RegressionScores| {
            let r2 = s.r2.map_or("undefined".to_string(), |r| format!("{r:.4}"));
            writeln!(
                f,
                "{name:>w$}{:>12.4}{:>12.4}{:>12.4}{r2:>12}",
                s.mse, s.rmse, s.mae
            )
        };
        for (name, s) in self.names.iter().zip(&self.outputs) {
            row(f, name, s)?;
        }
        if self.outputs.len() > 1 {
            row(f, "mean", &self.mean)?;
        }
        let plural = if self.examples == 1 { "" } else { "s" };
        writeln!(f, "({} example{plural})", self.examples)
    }
}

/// One output's entry of the JSON form.
#[derive(Serialize)]
struct OutputForm<'a> {
    name: &'a str,
    #[serde(flatten)]
    scores: &'a RegressionScores,
}

/// The JSON form (see [`RegressionReport`]).
#[derive(Serialize)]
struct ReportForm<'a> {
    outputs: Vec<OutputForm<'a>>,
    mean: &'a RegressionScores,
    examples: usize,
}

impl Serialize for RegressionReport {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        ReportForm {
            outputs: self
                .names
                .iter()
                .zip(&self.outputs)
                .map(|(name, scores)| OutputForm { name, scores })
                .collect(),
            mean: &self.mean,
            examples: self.examples,
        }
        .serialize(serializer)
    }
}
