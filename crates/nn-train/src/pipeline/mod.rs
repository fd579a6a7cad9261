//! A preprocessing pipeline, fitted on the training rows of a [`Table`] and stored in the
//! model file, that turns any table with the same named columns into the network's
//! inputs `X: (n_inputs, m)` (examples as columns) and its label into targets.
//!
//! The steps, per feature column, in this order:
//!
//! | step | numeric column | categorical column |
//! |---|---|---|
//! | impute | a missing `x` becomes the training mean or median ([`NumericImpute`]) | a missing category becomes the most frequent training category (ties: the first in byte order) |
//! | encode | one input | one-hot: one input per training category, categories in byte order, `x_k = 1` if the category is `k`, else 0; a category not seen in training gives all zeros (scikit-learn's `handle_unknown="ignore"`) |
//! | scale | `x' = (x − shift) / scale` ([`Scaling`]: standardize `shift = μ`, `scale = σ`; min–max `shift = min`, `scale = max − min`; none `0`, `1`) | not scaled: indicators stay 0 or 1 |
//!
//! Statistics are those of the training rows after imputation; `σ` is the population
//! standard deviation `√((1/m) Σ (x − μ)²)`. A constant column gets `scale = 1` (so
//! standardized it is `0`; min–max it is `0`).
//!
//! The label ([`TaskKind`], inferred by [`infer_task`] or given and checked by
//! [`check_task`]): for classification the class names in output order ([`class_name`]:
//! `3.0` is class `3`), targets one-hot; for regression the target is standardized,
//! `y' = (y − μ_y) / σ_y` (unless [`PipelineConfig::scale_target`] is off), and
//! predictions are mapped back by [`Pipeline::inverse_target`], `y = y'·σ_y + μ_y`.
//!
//! Columns are found by name, so a later file may order them differently; columns the
//! pipeline does not use (the label among them, when transforming features) are ignored.
//!
//! The stored form ([`Pipeline::to_json`], a model file's `nn.pipeline`) holds every fitted
//! number and states each step's formula in words, so that it can be applied without
//! this crate (`docs/python/predict.py` does so with numpy):
//!
//! ```json
//! {"version": 1,
//!  "missing": ["", "NA", "N/A", "nan", "NaN", "null", "?"],
//!  "columns": [
//!    {"name": "age", "kind": "numeric", "fill": 38.5, "shift": 38.5, "scale": 7.2},
//!    {"name": "color", "kind": "categorical", "fill": "red", "categories": ["blue", "red"]}],
//!  "inputs": ["age", "color=blue", "color=red"],
//!  "impute": {"numeric": "mean", "categorical": "most_frequent", "formula": "…"},
//!  "one_hot": {"unknown": "zeros", "formula": "…"},
//!  "scale": {"kind": "standardize", "formula": "x' = (x - shift) / scale; …"},
//!  "target": {"task": "regression", "name": "price", "shift": 12.0, "scale": 3.5,
//!             "formula": "…"}}
//! ```
//!
//! ```
//! use nn_train::data::{Table, DEFAULT_MISSING};
//! use nn_train::pipeline::{Pipeline, PipelineConfig, TaskKind};
//! let train = Table::from_rows("train", &["size", "color", "price"], &[
//!     ["1", "red", "10"], ["3", "blue", "30"], ["NA", "red", "20"],
//! ], DEFAULT_MISSING)?;
//! let p = Pipeline::fit(&train, &PipelineConfig::new("price"))?;
//! assert_eq!(p.task(), TaskKind::Regression);
//! assert_eq!(p.input_names(), ["size", "color=blue", "color=red"]);
//! // Test rows: another column order, an unknown color, a missing size.
//! let test = Table::from_rows("test", &["color", "size"], &[["green", ""]], DEFAULT_MISSING)?;
//! let x = p.transform::<f64>(&test)?;
//! assert_eq!(x.as_slice(), [0.0, 0.0, 0.0]); // mean size, standardized; no color
//! # Ok::<(), nn_train::TrainError>(())
//! ```

mod form;
mod task;

use std::collections::HashMap;

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::Scalar;

use crate::data::{Column, ColumnKind, Table, table_error};
use crate::encode::scale;
use crate::error::{DataError, Result, TrainError};
use crate::limits::{DEFAULT_MAX_DATA_VALUES, Limits, checked_product, within};

pub use form::{MAX_CATEGORIES, MAX_MISSING_TOKENS};
pub use task::{
    MAX_CLASSES, MAX_INFERRED_CLASSES, TaskKind, check_task, class_indices, class_name, infer_task,
    resolve_task,
};

/// The version of the stored form this build writes and reads.
pub const PIPELINE_VERSION: u32 = 1;

/// How missing numbers are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumericImpute {
    /// The training mean of the column's values (the default).
    #[default]
    Mean,
    /// The training median: the middle value, or the mean of the two middle values.
    Median,
}

/// How numeric feature columns are scaled after imputation: `x' = (x − shift) / scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// `shift = μ`, `scale = σ` (population; 1 for a constant column). The default.
    #[default]
    Standardize,
    /// `shift = min`, `scale = max − min` (1 for a constant column, which becomes 0):
    /// training values into `[0, 1]`.
    MinMax,
    /// `shift = 0`, `scale = 1`.
    None,
}

/// What to fit: the label column, the task, the feature columns and the steps' choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineConfig {
    /// The label column's name.
    pub label: String,
    /// The task; `None` infers it from the labels ([`infer_task`]).
    pub task: Option<TaskKind>,
    /// The feature columns, in input order; `None` takes every column but the label, in
    /// the table's order.
    pub features: Option<Vec<String>>,
    /// Columns to treat as categorical even if every value is a number (e.g. codes).
    pub categorical: Vec<String>,
    /// How missing numbers are filled.
    pub impute: NumericImpute,
    /// How numeric features are scaled.
    pub scaling: Scaling,
    /// Whether a regression target is standardized for training (default `true`).
    pub scale_target: bool,
}

impl PipelineConfig {
    /// The defaults for label column `label`: task inferred, every other column a
    /// feature, mean imputation, standardization, a standardized regression target.
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            task: None,
            features: None,
            categorical: Vec::new(),
            impute: NumericImpute::Mean,
            scaling: Scaling::Standardize,
            scale_target: true,
        }
    }
}

/// One fitted feature column.
#[derive(Debug, Clone, PartialEq)]
pub enum Feature {
    /// A numeric column: one input `(x − shift) / scale`, a missing `x` being `fill`.
    Numeric {
        /// The column's name.
        name: String,
        /// The value of a missing cell (training mean or median).
        fill: f64,
        /// Subtracted after imputation.
        shift: f64,
        /// Divided by after the shift (positive).
        scale: f64,
    },
    /// A categorical column: one input per category, one-hot.
    Categorical {
        /// The column's name.
        name: String,
        /// The category of a missing cell (the most frequent training category).
        fill: String,
        /// The training categories, in byte order: the inputs' order.
        categories: Vec<String>,
    },
}

impl Feature {
    /// The column's name.
    pub fn name(&self) -> &str {
        match self {
            Feature::Numeric { name, .. } | Feature::Categorical { name, .. } => name,
        }
    }

    /// The number of network inputs it makes.
    pub fn width(&self) -> usize {
        match self {
            Feature::Numeric { .. } => 1,
            Feature::Categorical { categories, .. } => categories.len(),
        }
    }
}

/// The fitted label.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Classes in output order.
    Classification {
        /// The label column's name.
        name: String,
        /// The class names, in output order.
        classes: Vec<String>,
    },
    /// A number, standardized: `y' = (y − shift) / scale`.
    Regression {
        /// The label column's name.
        name: String,
        /// The training mean (0 without target scaling).
        shift: f64,
        /// The training standard deviation (1 without target scaling, or constant).
        scale: f64,
    },
}

/// A fitted preprocessing pipeline (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    missing: Vec<String>,
    impute: NumericImpute,
    scaling: Scaling,
    features: Vec<Feature>,
    target: Target,
}

/// The training values of a numeric column, as `f64`, without the missing cells.
fn present_numbers(table: &Table, name: &str) -> Vec<f64> {
    let Some(column) = table.column(name) else {
        return Vec::new();
    };
    (0..column.len()).filter_map(|r| column.number(r)).collect()
}

fn mean(values: &[f64]) -> f64 {
    let m = DMatrix::from_row_slice(1, values.len(), values);
    scale::standardize(&m).0[0]
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        // Halves first, so that two values near f64::MAX do not overflow.
        values[n / 2 - 1] / 2.0 + values[n / 2] / 2.0
    }
}

/// `(shift, scale)` of imputed training values under `scaling`.
fn fit_scale(values: &[f64], scaling: Scaling) -> (f64, f64) {
    let m = DMatrix::from_row_slice(1, values.len(), values);
    let (shift, s) = match scaling {
        Scaling::Standardize => scale::standardize(&m),
        Scaling::MinMax => scale::min_max(&m),
        Scaling::None => return (0.0, 1.0),
    };
    (shift[0], s[0])
}

impl Pipeline {
    /// Fits the pipeline to `table`, which should hold the training rows only (see
    /// [`Table::take_rows`]).
    ///
    /// # Errors
    /// [`DataError::MissingColumn`] for a feature or label column that is not in the
    /// table; [`DataError::Column`] for a feature missing in every row, a label that
    /// contradicts the requested task ([`check_task`]), a missing label (naming its
    /// line), fewer than two classes, or the label also listed as a feature;
    /// [`TrainError::EmptyData`] for a table without rows.
    pub fn fit(table: &Table, config: &PipelineConfig) -> Result<Pipeline> {
        if table.n_rows() == 0 {
            return Err(TrainError::EmptyData {
                what: "pipeline training table",
            });
        }
        let data = table.source();
        let task = resolve_task(table, &config.label, config.task)?;
        let label = task::label_column(table, &config.label)?;
        if label.missing_count() > 0 {
            let r = (0..label.len())
                .find(|&r| label.text(r).is_none())
                .unwrap_or(0);
            return Err(DataError::Column {
                data: data.to_string(),
                column: config.label.clone(),
                problem: format!(
                    "the label is missing at line {}; drop the rows without a label first",
                    table.line(r)
                ),
            }
            .into());
        }
        let names: Vec<String> = match &config.features {
            Some(f) => f.clone(),
            None => table
                .names()
                .iter()
                .filter(|n| **n != config.label)
                .cloned()
                .collect(),
        };
        let mut features = Vec::with_capacity(names.len());
        for name in &names {
            let column_error = |problem: String| -> TrainError {
                DataError::Column {
                    data: data.to_string(),
                    column: name.clone(),
                    problem,
                }
                .into()
            };
            if *name == config.label {
                return Err(column_error(
                    "the label column cannot also be a feature".into(),
                ));
            }
            let column = table.column(name).ok_or_else(|| DataError::MissingColumn {
                data: data.to_string(),
                column: name.clone(),
                what: " (a feature)",
                found: table.names().to_vec(),
            })?;
            if column.missing_count() == column.len() {
                return Err(column_error(format!(
                    "missing in every one of the {} training rows, so there is nothing to \
                     fill it with; drop the column",
                    column.len()
                )));
            }
            let categorical =
                column.kind() == ColumnKind::Categorical || config.categorical.contains(name);
            if categorical {
                let mut counts: HashMap<&str, usize> = HashMap::new();
                for r in 0..column.len() {
                    if let Some(t) = column.text(r) {
                        *counts.entry(t).or_default() += 1;
                    }
                }
                let mut categories: Vec<String> = column.distinct().to_vec();
                if categories.len() > MAX_CATEGORIES {
                    return Err(column_error(format!(
                        "{} distinct values, more than the {MAX_CATEGORIES} categories a \
                         column may have (MAX_CATEGORIES); an identifier? drop the column",
                        categories.len()
                    )));
                }
                categories.sort();
                // Most frequent; ties to the first in byte order (max_by_key keeps the
                // last maximum, so the scan runs in reverse order).
                let fill = categories
                    .iter()
                    .rev()
                    .max_by_key(|c| counts.get(c.as_str()).copied().unwrap_or(0))
                    .cloned()
                    .unwrap_or_default();
                features.push(Feature::Categorical {
                    name: name.clone(),
                    fill,
                    categories,
                });
            } else {
                let mut values = present_numbers(table, name);
                let fill = match config.impute {
                    NumericImpute::Mean => mean(&values),
                    NumericImpute::Median => median(&mut values),
                };
                let imputed: Vec<f64> = (0..column.len())
                    .map(|r| column.number(r).unwrap_or(fill))
                    .collect();
                let (shift, scale) = fit_scale(&imputed, config.scaling);
                features.push(Feature::Numeric {
                    name: name.clone(),
                    fill,
                    shift,
                    scale,
                });
            }
        }
        if features.is_empty() {
            return Err(DataError::Column {
                data: data.to_string(),
                column: config.label.clone(),
                problem: "no feature columns besides the label".into(),
            }
            .into());
        }
        let target = match task {
            TaskKind::Classification => {
                let classes = task::classes_of(label);
                if classes.len() < 2 {
                    return Err(DataError::Column {
                        data: data.to_string(),
                        column: config.label.clone(),
                        problem: format!(
                            "classification needs at least two classes, found {} ({})",
                            classes.len(),
                            classes.join(", ")
                        ),
                    }
                    .into());
                }
                Target::Classification {
                    name: config.label.clone(),
                    classes,
                }
            }
            TaskKind::Regression => {
                let values = present_numbers(table, &config.label);
                let (shift, scale) = if config.scale_target {
                    fit_scale(&values, Scaling::Standardize)
                } else {
                    (0.0, 1.0)
                };
                Target::Regression {
                    name: config.label.clone(),
                    shift,
                    scale,
                }
            }
        };
        let pipeline = Pipeline {
            missing: table.missing_tokens().to_vec(),
            impute: config.impute,
            scaling: config.scaling,
            features,
            target,
        };
        // What is fitted must be storable: finite numbers, limits of the stored form.
        pipeline.validate(&Limits::default())?;
        Ok(pipeline)
    }

    /// The task.
    pub fn task(&self) -> TaskKind {
        match self.target {
            Target::Classification { .. } => TaskKind::Classification,
            Target::Regression { .. } => TaskKind::Regression,
        }
    }

    /// The fitted label.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The label column's name.
    pub fn label(&self) -> &str {
        match &self.target {
            Target::Classification { name, .. } | Target::Regression { name, .. } => name,
        }
    }

    /// The class names in output order, for classification.
    pub fn classes(&self) -> Option<&[String]> {
        match &self.target {
            Target::Classification { classes, .. } => Some(classes),
            Target::Regression { .. } => None,
        }
    }

    /// The fitted feature columns, in input order.
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// The feature columns' names, in input order.
    pub fn feature_names(&self) -> Vec<&str> {
        self.features.iter().map(Feature::name).collect()
    }

    /// How missing numbers are filled.
    pub fn impute(&self) -> NumericImpute {
        self.impute
    }

    /// How numeric features are scaled.
    pub fn scaling(&self) -> Scaling {
        self.scaling
    }

    /// The cell texts read as missing in the training table: read later tables with the
    /// same ones.
    pub fn missing_tokens(&self) -> &[String] {
        &self.missing
    }

    /// The number of network inputs: one per numeric column, one per category of each
    /// categorical column.
    pub fn n_inputs(&self) -> usize {
        self.features.iter().map(Feature::width).sum()
    }

    /// The names of the network inputs, in order: a numeric column's name, or
    /// `name=category` for each category of a categorical column.
    pub fn input_names(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.n_inputs());
        for f in &self.features {
            match f {
                Feature::Numeric { name, .. } => out.push(name.clone()),
                Feature::Categorical {
                    name, categories, ..
                } => out.extend(categories.iter().map(|c| format!("{name}={c}"))),
            }
        }
        out
    }

    /// The network's inputs for the rows of `table`: `X: (n_inputs, m)`, examples as
    /// columns, each step applied with the fitted values (see the module docs). Read
    /// `table` with the training table's [`Pipeline::missing_tokens`] (as
    /// [`TableOptions::missing`](crate::data::TableOptions::missing)), so that the same
    /// cells count as missing.
    ///
    /// # Errors
    /// [`DataError::MissingColumn`] naming a feature column the table lacks;
    /// [`DataError::Csv`] naming the line and column of a cell of a numeric feature that
    /// is not a finite number (or not representable as `T`); [`TrainError::TooLarge`] if
    /// `n_inputs × m` exceeds [`DEFAULT_MAX_DATA_VALUES`].
    pub fn transform<T: Scalar>(&self, table: &Table) -> Result<DMatrix<T>> {
        let m = table.n_rows();
        let n = self.n_inputs();
        let size = checked_product(|| "pipeline output (inputs × rows)".into(), &[n, m])?;
        within(
            || format!("{}: pipeline output (inputs × rows)", table.source()),
            size,
            DEFAULT_MAX_DATA_VALUES,
            "Limits::max_data_values",
        )?;
        let mut x = DMatrix::<T>::zeros(n, m);
        let mut row = 0;
        for f in &self.features {
            let index = table
                .column_index(f.name())
                .ok_or_else(|| DataError::MissingColumn {
                    data: table.source().to_string(),
                    column: f.name().to_string(),
                    what: " (a feature of the model)",
                    found: table.names().to_vec(),
                })?;
            let Some(column) = table.column_at(index) else {
                return Err(TrainError::Internal {
                    what: format!(
                        "column {index} of a table with {} columns",
                        table.n_columns()
                    ),
                });
            };
            match f {
                Feature::Numeric {
                    name,
                    fill,
                    shift,
                    scale,
                } => {
                    for j in 0..m {
                        let v = match (column.number(j), column.text(j)) {
                            (Some(v), _) => v,
                            (None, None) => *fill,
                            (None, Some(t)) => {
                                t.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(
                                    || {
                                        table_error(
                                            table.source(),
                                            table.line(j),
                                            Some(index + 1),
                                            t,
                                            format!(
                                                "expected a number: column {name:?} is numeric in \
                                             the model"
                                            ),
                                        )
                                    },
                                )?
                            }
                        };
                        let z = T::cast(scale::centre_and_scale(v, *shift, *scale));
                        if !z.finite() {
                            return Err(table_error(
                                table.source(),
                                table.line(j),
                                Some(index + 1),
                                column.text(j).unwrap_or(""),
                                format!("scaled, this is not a finite {}", T::NAME),
                            ));
                        }
                        x[(row, j)] = z;
                    }
                }
                Feature::Categorical {
                    fill, categories, ..
                } => {
                    let fill_at = categories.binary_search(fill).ok();
                    for j in 0..m {
                        let at = match column.text(j) {
                            None => fill_at,
                            Some(t) => categories.binary_search_by(|c| c.as_str().cmp(t)).ok(),
                        };
                        if let Some(k) = at {
                            x[(row + k, j)] = T::one();
                        }
                    }
                }
            }
            row += f.width();
        }
        Ok(x)
    }

    /// Each row's class index (classification), found by the label's text or, failing
    /// that, its [`class_name`] (so `3` finds class `3` and `3.0` does too).
    ///
    /// # Errors
    /// [`TrainError::BadInput`] for a regression pipeline; [`DataError::MissingColumn`]
    /// without the label column; [`DataError::Csv`] naming the line of a missing label or
    /// of a class the model does not know.
    pub fn class_indices(&self, table: &Table) -> Result<Vec<usize>> {
        let Target::Classification { name, classes } = &self.target else {
            return Err(TrainError::BadInput {
                what: "class indices",
                expected: "a classification pipeline".into(),
                found: "a regression pipeline".into(),
            });
        };
        task::class_indices(table, name, classes)
    }

    fn label_of<'t>(&self, table: &'t Table) -> Result<(usize, &'t Column)> {
        let label = self.label();
        let index = table
            .column_index(label)
            .ok_or_else(|| DataError::MissingColumn {
                data: table.source().to_string(),
                column: label.to_string(),
                what: " (the label)",
                found: table.names().to_vec(),
            })?;
        match table.column_at(index) {
            Some(c) => Ok((index, c)),
            None => Err(TrainError::Internal {
                what: "label column index out of range".into(),
            }),
        }
    }

    /// The training targets of `table`'s rows: for classification one-hot
    /// `Y: (classes, m)`; for regression `Y: (1, m)` with `y' = (y − shift) / scale`.
    ///
    /// # Errors
    /// [`DataError::MissingColumn`] without the label column; [`DataError::Csv`] naming
    /// the line of a missing label, an unknown class, or a regression label that is not a
    /// finite number.
    pub fn targets<T: Scalar>(&self, table: &Table) -> Result<DMatrix<T>> {
        match &self.target {
            Target::Classification { classes, .. } => {
                let index = self.class_indices(table)?;
                crate::data::one_hot(&index, classes.len())
            }
            Target::Regression { shift, scale, .. } => {
                let (index, column) = self.label_of(table)?;
                let mut y = DMatrix::<T>::zeros(1, table.n_rows());
                for j in 0..table.n_rows() {
                    let t = column.text(j).unwrap_or("");
                    let v = t
                        .parse::<f64>()
                        .ok()
                        .map(|v| T::cast(scale::centre_and_scale(v, *shift, *scale)))
                        .filter(|v| v.finite())
                        .ok_or_else(|| {
                            table_error(
                                table.source(),
                                table.line(j),
                                Some(index + 1),
                                t,
                                format!("expected a finite numeric target ({})", T::NAME),
                            )
                        })?;
                    y[(0, j)] = v;
                }
                Ok(y)
            }
        }
    }

    /// Network outputs in the label's units: for regression `y = y'·scale + shift`
    /// element-wise; for classification the outputs (probabilities) unchanged.
    pub fn inverse_target<T: Scalar>(&self, y: &DMatrix<T>) -> DMatrix<T> {
        match &self.target {
            Target::Regression { shift, scale, .. } => {
                y.map(|v| T::cast(v.to_f64() * scale + shift))
            }
            Target::Classification { .. } => y.clone(),
        }
    }
}
