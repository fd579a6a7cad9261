//! Errors of data sets and their files: CSV and IDX parsing, labels, feature names,
//! whitening.

use thiserror::Error;

/// A data set, or a file holding one, is not what was expected: a CSV or IDX file that
/// does not parse, a label out of range, columns that are not a model's features, data
/// that cannot be whitened. Converts into [`super::TrainError::Data`].
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum DataError {
    /// A class label is not below the number of classes.
    #[error("label {label} of example {index} is out of range: expected a class in 0..{classes}")]
    LabelOutOfRange {
        /// Index of the example (0-based).
        index: usize,
        /// The label found.
        label: usize,
        /// The number of classes.
        classes: usize,
    },
    /// A CSV file (or reader) could not be read as a data set.
    #[error("{}", csv_message(.file, *.line, *.column, .text, .problem))]
    Csv {
        /// The path, or the name given to the reader.
        file: String,
        /// The line (1-based) where the problem is; 0 if the file has no lines at all.
        line: u64,
        /// The column (1-based field number), when one field is at fault.
        column: Option<usize>,
        /// The offending text (the field, or a summary of the record).
        text: String,
        /// What was expected and what is wrong.
        problem: String,
    },
    /// An IDX file (the MNIST format) is malformed.
    #[error("{file}, byte offset {offset}: {problem}")]
    Idx {
        /// The path, or the name given to the bytes.
        file: String,
        /// Byte offset (in the decompressed stream) where the problem is.
        offset: u64,
        /// What was expected and what was found.
        problem: String,
    },
    /// Whitening needs an invertible covariance (or a regulariser `ε > 0`).
    #[error(
        "whitening: the covariance of the training data is singular (smallest eigenvalue \
         {smallest:e}, largest {largest:e}, ε = {epsilon:e}); use ε > 0, e.g. 1e-5 × the \
         largest eigenvalue, or remove linearly dependent features"
    )]
    SingularCovariance {
        /// The smallest eigenvalue of the covariance.
        smallest: f64,
        /// The largest eigenvalue.
        largest: f64,
        /// The regulariser given.
        epsilon: f64,
    },
    /// A table lacks a column that is needed by name (a pipeline's feature or label).
    #[error(
        "{data}: no column named {column:?}{}; the table has {}",
        .what,
        column_list(.found)
    )]
    MissingColumn {
        /// The table (e.g. the CSV file's path).
        data: String,
        /// The name looked for.
        column: String,
        /// What the column is for, starting with its separator (e.g. `" (a feature of the
        /// model)"`); may be empty.
        what: &'static str,
        /// The table's column names.
        found: Vec<String>,
    },
    /// A column's contents do not allow what was asked of it (a label that contradicts the
    /// requested task, a feature missing in every training row, too many classes).
    #[error("{data}: column {column:?}: {problem}")]
    Column {
        /// The table (e.g. the CSV file's path).
        data: String,
        /// The column's name.
        column: String,
        /// What was expected and what was found, with the line where it helps.
        problem: String,
    },
    /// Data's columns are not the features a model was trained on (by name).
    #[error("{}", feature_message(.data, .expected, .missing, .extra, .reordered))]
    FeatureMismatch {
        /// The data (e.g. the CSV file's path).
        data: String,
        /// The model's feature names, in order.
        expected: Vec<String>,
        /// Names the model needs that the data lacks.
        missing: Vec<String>,
        /// Names the data has that the model does not know.
        extra: Vec<String>,
        /// Names both have, at different places.
        reordered: Vec<String>,
    },
}

/// `a, b, c`, cut after 20 names.
fn column_list(names: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut s = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(", … ({} columns)", names.len()));
    }
    if names.is_empty() {
        s.push_str("no columns");
    }
    s
}

/// What differs between a model's feature names and the data's.
fn feature_message(
    data: &str,
    expected: &[String],
    missing: &[String],
    extra: &[String],
    reordered: &[String],
) -> String {
    let mut parts = Vec::new();
    for (what, names) in [
        ("missing", missing),
        ("not in the model", extra),
        ("in another order", reordered),
    ] {
        if !names.is_empty() {
            parts.push(format!("{what}: {}", names.join(", ")));
        }
    }
    format!(
        "{data}: the columns are not the features the model was trained on ({}); expected, \
         in this order: {}",
        parts.join("; "),
        expected.join(", ")
    )
}

/// `file, line L, column C: problem: found "text"` with the parts that are known.
fn csv_message(file: &str, line: u64, column: Option<usize>, text: &str, problem: &str) -> String {
    let mut s = format!("{file}, line {line}");
    if let Some(c) = column {
        s.push_str(&format!(", column {c}"));
    }
    s.push_str(": ");
    s.push_str(problem);
    if !text.is_empty() {
        s.push_str(&format!(": found {text:?}"));
    }
    s
}
