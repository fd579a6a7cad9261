//! The task a label column asks for: classification or regression, inferred from the
//! labels or checked against them, and the class names of classification labels.

use std::collections::{BTreeMap, HashMap};

use crate::data::{Column, ColumnKind, Table, table_error};
use crate::error::{DataError, Result, TrainError};

/// What a model learns from its label column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// One class per example; the class names are the label's distinct values.
    Classification,
    /// A real number per example.
    Regression,
}

/// Numeric labels are inferred to be classes only if they take at most this many
/// distinct values (see [`infer_task`]).
pub const MAX_INFERRED_CLASSES: usize = 20;

/// The most classes a classification label may have.
pub const MAX_CLASSES: usize = 1 << 16;

/// Integers up to this magnitude are exact in `f64` (2⁵³).
const EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// The integer a number's text stands for, if it is a finite number without a fractional
/// part (and small enough to be exact in `f64`): `3`, `3.0`, `3e0` and `+3` are all 3.
fn integer_value(text: &str) -> Option<i64> {
    let v: f64 = text.parse().ok()?;
    (v.is_finite() && v.fract() == 0.0 && v.abs() <= EXACT_INTEGER).then_some(v as i64)
}

/// The class name a label's text stands for: an integer-valued number is written as the
/// integer (`3.0` → `3`, `-0` → `0`), so that a file writing `3` and one writing `3.0`
/// name the same class; any other text is itself.
///
/// ```
/// use nn_train::pipeline::class_name;
/// assert_eq!(class_name("3.0"), "3");
/// assert_eq!(class_name("1e2"), "100");
/// assert_eq!(class_name("2.5"), "2.5");
/// assert_eq!(class_name("setosa"), "setosa");
/// ```
pub fn class_name(text: &str) -> String {
    match integer_value(text) {
        Some(k) => k.to_string(),
        None => text.to_string(),
    }
}

/// The label column of `table`.
pub(super) fn label_column<'t>(table: &'t Table, label: &str) -> Result<&'t Column> {
    table.column(label).ok_or_else(|| {
        DataError::MissingColumn {
            data: table.source().to_string(),
            column: label.to_string(),
            what: " (the label)",
            found: table.names().to_vec(),
        }
        .into()
    })
}

/// Each row's class: its position in `classes`, found by the text of column `label` or,
/// failing that, by its [`class_name`] (so `3` and `3.0` both find class `3`). What
/// [`Pipeline::class_indices`](super::Pipeline::class_indices) uses, and what a model
/// saved with class names alone can use on a table.
///
/// # Errors
/// [`DataError::MissingColumn`] without the label column; [`DataError::Csv`] naming the
/// line of a missing label or of a class not in `classes`.
pub fn class_indices(table: &Table, label: &str, classes: &[String]) -> Result<Vec<usize>> {
    let column = label_column(table, label)?;
    // Found: `label_column` just found the column by this name.
    let index = table.column_index(label).unwrap_or(0);
    let lookup: HashMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    (0..table.n_rows())
        .map(|j| {
            let bad = |text: &str, problem: String| {
                table_error(
                    table.source(),
                    table.line(j),
                    Some(index + 1),
                    text,
                    problem,
                )
            };
            let Some(t) = column.text(j) else {
                return Err(bad("", format!("missing label in column {label:?}")));
            };
            lookup
                .get(t)
                .or_else(|| lookup.get(class_name(t).as_str()))
                .copied()
                .ok_or_else(|| {
                    let known: Vec<&str> = classes.iter().take(20).map(String::as_str).collect();
                    bad(
                        t,
                        format!(
                            "a class the model does not know; it knows {}{}",
                            known.join(", "),
                            if classes.len() > 20 { ", …" } else { "" }
                        ),
                    )
                })
        })
        .collect()
}

fn column_error(table: &Table, column: &str, problem: String) -> TrainError {
    DataError::Column {
        data: table.source().to_string(),
        column: column.to_string(),
        problem,
    }
    .into()
}

/// The task the labels of column `label` ask for:
///
/// - some label is not a number (the column is [`ColumnKind::Categorical`]) →
///   classification;
/// - every label is an integer (`3` or `3.0`), with at most [`MAX_INFERRED_CLASSES`]
///   distinct values, and at most half as many distinct values as labels →
///   classification;
/// - otherwise → regression.
///
/// Why this rule: scikit-learn's `type_of_target` calls any integer-valued target
/// multi-class, but CSV regression targets are often whole numbers (prices, counts,
/// scikit-learn's diabetes progression with 214 distinct values in 442 rows). Twenty
/// classes cover the usual class counts (digits have 10, wine quality 6), and "at most
/// half the rows" asks that each class have two examples on average, without which it
/// could not be learned and tested. Give the task explicitly ([`check_task`]) where the
/// rule guesses wrong. Missing labels are not counted.
///
/// ```
/// use nn_train::data::{Table, DEFAULT_MISSING};
/// use nn_train::pipeline::{infer_task, TaskKind};
/// let t = Table::from_rows("t", &["y"], &[["1.0"], ["2"], ["1"], ["2.0"]], DEFAULT_MISSING)?;
/// assert_eq!(infer_task(&t, "y")?, TaskKind::Classification);
/// let t = Table::from_rows("t", &["y"], &[["1.5"], ["2"], ["1"], ["2.0"]], DEFAULT_MISSING)?;
/// assert_eq!(infer_task(&t, "y")?, TaskKind::Regression);
/// # Ok::<(), nn_train::TrainError>(())
/// ```
///
/// # Errors
/// [`DataError::MissingColumn`] if the table has no column `label`.
pub fn infer_task(table: &Table, label: &str) -> Result<TaskKind> {
    let column = label_column(table, label)?;
    if column.kind() == ColumnKind::Categorical {
        return Ok(TaskKind::Classification);
    }
    let mut distinct = std::collections::BTreeSet::new();
    for v in column.distinct() {
        match integer_value(v) {
            Some(k) => {
                distinct.insert(k);
            }
            None => return Ok(TaskKind::Regression),
        }
    }
    let labels = column.len() - column.missing_count();
    let classes = distinct.len();
    if classes <= MAX_INFERRED_CLASSES && 2 * classes <= labels {
        Ok(TaskKind::Classification)
    } else {
        Ok(TaskKind::Regression)
    }
}

/// Checks that the labels of column `label` allow `task`: regression needs every label
/// to be a finite number; classification needs numeric labels to be integers (`2.5` is
/// refused: a measurement, not a class) and at most [`MAX_CLASSES`] classes.
///
/// # Errors
/// [`DataError::MissingColumn`] if there is no such column; [`DataError::Column`] naming
/// the first offending label and its line, and what to do.
pub fn check_task(table: &Table, label: &str, task: TaskKind) -> Result<()> {
    let column = label_column(table, label)?;
    let first = |bad: &dyn Fn(&str) -> bool| {
        (0..column.len()).find_map(|r| column.text(r).filter(|t| bad(t)).map(|t| (r, t)))
    };
    match task {
        TaskKind::Regression => {
            if column.kind() == ColumnKind::Categorical {
                let not_number = |t: &str| !t.parse::<f64>().is_ok_and(f64::is_finite);
                let (r, t) = first(&not_number).unwrap_or((0, ""));
                return Err(column_error(
                    table,
                    label,
                    format!(
                        "regression needs numeric labels, but line {} has {t:?}, which is not \
                         a finite number; for class labels use classification",
                        table.line(r)
                    ),
                ));
            }
        }
        TaskKind::Classification => {
            if column.kind() == ColumnKind::Numeric
                && let Some((r, t)) = first(&|t: &str| integer_value(t).is_none())
            {
                return Err(column_error(
                    table,
                    label,
                    format!(
                        "classification needs class labels, but line {} has {t:?}, a number \
                         with a fractional part (numeric class labels must be integers); for a \
                         numeric target use regression",
                        table.line(r)
                    ),
                ));
            }
            let classes = classes_of(column);
            if classes.len() > MAX_CLASSES {
                return Err(column_error(
                    table,
                    label,
                    format!(
                        "{} distinct labels, more than the {MAX_CLASSES} classes allowed \
                         (MAX_CLASSES); for a numeric target use regression",
                        classes.len()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The task: `requested` if given (checked with [`check_task`]), otherwise inferred
/// ([`infer_task`]).
///
/// # Errors
/// As [`check_task`] and [`infer_task`].
pub fn resolve_task(table: &Table, label: &str, requested: Option<TaskKind>) -> Result<TaskKind> {
    let task = match requested {
        Some(t) => t,
        None => infer_task(table, label)?,
    };
    check_task(table, label, task)?;
    Ok(task)
}

/// The class names of a label column, in output order: for numeric (integer) labels the
/// distinct integers in ascending numeric order, written as integers ([`class_name`]);
/// otherwise the distinct texts in byte order.
pub(super) fn classes_of(column: &Column) -> Vec<String> {
    if column.kind() == ColumnKind::Numeric {
        let ints: Option<BTreeMap<i64, ()>> = column
            .distinct()
            .iter()
            .map(|t| integer_value(t).map(|k| (k, ())))
            .collect();
        if let Some(ints) = ints {
            return ints.keys().map(i64::to_string).collect();
        }
    }
    let mut names: Vec<String> = column.distinct().to_vec();
    names.sort();
    names
}
