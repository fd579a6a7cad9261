//! Loading a data set from CSV (plain or gzip-compressed), with every failure reported by
//! line, column and the offending text.
//!
//! One row per example. One column holds the label (chosen by index or header name); every
//! other column is a numeric feature. Labels are class names (strings or integers) for
//! classification, or numbers for regression ([`Targets`]).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

#[cfg(feature = "gzip")]
use flate2::read::MultiGzDecoder;
use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::Scalar;

use super::Dataset;
use crate::error::{DataError, Result, TrainError};
use crate::limits::DEFAULT_MAX_DATA_VALUES;

/// Which column holds the label.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LabelColumn {
    /// The last column (the default).
    #[default]
    Last,
    /// The first column (MNIST in CSV form).
    First,
    /// The column at this 0-based index.
    Index(usize),
    /// The column with this header name (needs [`CsvOptions::has_header`]).
    Name(String),
    /// No label column: every column is a feature. Only for [`read_csv_features`] /
    /// [`load_csv_features`] (inputs to predict on); a [`Dataset`] needs targets.
    None,
}

/// How labels become targets `Y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Targets {
    /// Class labels, one-hot: `Y` has one row per class (the default).
    #[default]
    OneHot,
    /// Exactly two classes as one row of 0/1 (class 0 → 0, class 1 → 1).
    Binary,
    /// A number per example, as one row (regression).
    Regression,
}

/// How to read a CSV file. Defaults: a header row, comma-separated, label in the last
/// column, one-hot class targets, classes found in the file.
///
/// Class labels are mapped to indices this way: with [`CsvOptions::classes`] given, by
/// position in that list (a label not in it is an error); otherwise, if every label is a
/// non-negative integer, label `k` is class `k` (`0..=max`); otherwise the distinct labels
/// sorted as strings. Numeric labels that are not integers, or that take more distinct
/// values than [`MAX_CLASS_SHARE`] of the rows (in files of at least
/// [`MIN_ROWS_FOR_CLASS_SHARE`] rows), are refused as a likely regression target; integer
/// labels that imply more than [`MAX_INTEGER_CLASSES`] classes, or whose one-hot matrix
/// would exceed [`crate::limits::DEFAULT_MAX_DATA_VALUES`], are refused naming the label. Pass the training file's [`Dataset::class_names`] as `classes` when
/// loading its test file, so that both use the same mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Whether the first row names the columns.
    pub has_header: bool,
    /// The field separator.
    pub delimiter: u8,
    /// Which column holds the label.
    pub label: LabelColumn,
    /// How labels become targets.
    pub targets: Targets,
    /// The class names, in class order, if they are known in advance.
    pub classes: Option<Vec<String>>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            has_header: true,
            delimiter: b',',
            label: LabelColumn::Last,
            targets: Targets::OneHot,
            classes: None,
        }
    }
}

/// Loads a data set from a CSV file; a gzip-compressed file (recognised by its magic
/// bytes, whatever its name) is decompressed on the fly.
///
/// ```
/// use nn_train::data::{load_csv, CsvOptions};
/// let path = std::env::temp_dir().join("nn-doc-iris-mini.csv");
/// std::fs::write(&path, "length,width,species\n1.0,0.5,setosa\n3.5,1.5,virginica\n")?;
/// let data = load_csv::<f64>(&path, &CsvOptions::default())?;
/// assert_eq!(data.x().shape(), (2, 2));
/// assert_eq!(data.class_names().unwrap(), ["setosa", "virginica"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`TrainError::Io`] if the file cannot be opened; [`DataError::Csv`] naming the line,
/// column and text of the first problem: ragged rows, an empty file, a missing value, a
/// field that is not a number or is not finite, an unknown label column or class, broken
/// gzip data or invalid UTF-8.
pub fn load_csv<T: Scalar>(path: &Path, options: &CsvOptions) -> Result<Dataset<T>> {
    read_csv(open(path)?, &path.display().to_string(), options)
}

/// Reads a data set from CSV text (or gzip-compressed CSV) in `reader`; `name` names the
/// source in errors. See [`load_csv`].
///
/// # Errors
/// As [`load_csv`].
pub fn read_csv<T: Scalar, R: Read>(
    reader: R,
    name: &str,
    options: &CsvOptions,
) -> Result<Dataset<T>> {
    parse(decompressed(reader, name)?, name, options)
}

/// `reader`, decompressed on the fly if it starts with gzip's magic bytes.
pub(super) fn decompressed<'a, R: Read + 'a>(reader: R, name: &str) -> Result<Box<dyn Read + 'a>> {
    let mut buffered = BufReader::new(reader);
    let gz = buffered
        .fill_buf()
        .map_err(|e| csv_error(name, 0, None, "", format!("cannot read: {e}")))?
        .starts_with(&[0x1f, 0x8b]);
    if !gz {
        return Ok(Box::new(buffered));
    }
    #[cfg(feature = "gzip")]
    return Ok(Box::new(MultiGzDecoder::new(buffered)));
    #[cfg(not(feature = "gzip"))]
    Err(csv_error(
        name,
        0,
        None,
        "",
        "gzip-compressed data, but nn-train was built without its `gzip` feature".into(),
    ))
}

/// A CSV reader with the options' delimiter; every record, the header too, is read as
/// data (so that line numbers and the header's own checks stay ours).
fn csv_reader<R: Read>(reader: R, options: &CsvOptions) -> csv::Reader<R> {
    csv_reader_with(reader, options.delimiter)
}

/// A CSV reader with this delimiter (see [`csv_reader`]).
///
/// Records end at `\n` only, and the `\r` of a CRLF line end is trimmed with the other
/// whitespace around the last field. With the `csv` crate's default terminator (CRLF),
/// a record ends at the `\r` and the `\n` is read with the next record, which is
/// therefore reported one line too early: every line number of a CRLF file after its
/// first line was one too low. A blank CRLF line reads as one empty field, which
/// [`nonblank`] skips as the crate skips blank LF lines.
pub(super) fn csv_reader_with<R: Read>(reader: R, delimiter: u8) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .trim(csv::Trim::All)
        .from_reader(reader)
}

/// The records without blank lines (one empty field: a CRLF line with nothing on it).
pub(super) fn nonblank<I: Iterator<Item = csv::Result<csv::StringRecord>>>(
    records: I,
) -> impl Iterator<Item = csv::Result<csv::StringRecord>> {
    records.filter(|r| !matches!(r, Ok(rec) if rec.len() == 1 && rec[0].is_empty()))
}

/// Opens a CSV file, naming it in the error.
pub(super) fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| TrainError::io(format!("opening CSV file {}", path.display()), e))
}

fn csv_error(
    file: &str,
    line: u64,
    column: Option<usize>,
    text: &str,
    problem: String,
) -> TrainError {
    DataError::Csv {
        file: file.to_string(),
        line,
        column,
        text: text.to_string(),
        problem,
    }
    .into()
}

/// The text of a field for an error message, cut to a readable length.
fn excerpt(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

pub(super) fn from_csv_crate(file: &str, e: &csv::Error) -> TrainError {
    let line = e.position().map_or(0, |p| p.line());
    let problem = match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => {
            format!("invalid UTF-8 in field {}", err.field() + 1)
        }
        csv::ErrorKind::Io(io) => format!("cannot read (corrupt gzip data?): {io}"),
        other => format!("{other:?}"),
    };
    csv_error(file, line, None, "", problem)
}

/// What a pass over the rows found: the feature matrix (examples as columns), the label
/// text of each row with its line, and the label's 0-based column.
struct Rows<T: Scalar> {
    x: DMatrix<T>,
    labels: Vec<(u64, String)>,
    label_col: Option<usize>,
}

fn parse<T: Scalar, R: Read>(reader: R, name: &str, options: &CsvOptions) -> Result<Dataset<T>> {
    if options.label == LabelColumn::None {
        return Err(csv_error(
            name,
            0,
            None,
            "",
            "a data set needs a label column; to read features only, use read_csv_features".into(),
        ));
    }
    let Rows {
        x,
        labels,
        label_col,
    } = parse_rows(reader, name, options)?;
    let (Some(lc), m) = (label_col, labels.len()) else {
        return Err(csv_error(name, 0, None, "", "no label column".into()));
    };
    finish(name, options, x, labels, lc, m)
}

/// One pass over the rows: header, field counts, numbers, the label column's text.
fn parse_rows<T: Scalar, R: Read>(reader: R, name: &str, options: &CsvOptions) -> Result<Rows<T>> {
    let mut rdr = csv_reader(reader, options);
    let mut records = nonblank(rdr.records());
    let mut header: Option<(u64, Vec<String>)> = None;
    if options.has_header {
        match records.next() {
            None => {
                return Err(csv_error(
                    name,
                    0,
                    None,
                    "",
                    "the file is empty: expected a header row and data rows".into(),
                ));
            }
            Some(r) => {
                let r = r.map_err(|e| from_csv_crate(name, &e))?;
                let line = r.position().map_or(1, |p| p.line());
                header = Some((line, r.iter().map(str::to_string).collect()));
            }
        }
    }

    let mut width: Option<usize> = header.as_ref().map(|(_, h)| h.len());
    let mut label_col: Option<Option<usize>> = None;
    let mut features: Vec<f64> = Vec::new();
    let mut labels: Vec<(u64, String)> = Vec::new();
    let mut last_line = header.as_ref().map_or(0, |(l, _)| *l);

    for record in records {
        let record = record.map_err(|e| from_csv_crate(name, &e))?;
        let line = record.position().map_or(last_line + 1, |p| p.line());
        last_line = line;
        let n = *width.get_or_insert(record.len());
        if record.len() != n {
            let like = if header.is_some() {
                "the header"
            } else {
                "the first row"
            };
            return Err(csv_error(
                name,
                line,
                None,
                &excerpt(&record.iter().collect::<Vec<_>>().join(",")),
                format!("expected {n} fields (like {like}), found {}", record.len()),
            ));
        }
        let lc = match label_col {
            Some(c) => c,
            None => {
                let c = resolve_label(name, options, header.as_ref(), n, line)?;
                label_col = Some(c);
                c
            }
        };
        for (c, field) in record.iter().enumerate() {
            let column = Some(c + 1);
            let is_label = lc == Some(c);
            if field.is_empty() {
                return Err(csv_error(
                    name,
                    line,
                    column,
                    "",
                    "missing value (empty field)".into(),
                ));
            }
            if is_label {
                labels.push((line, field.to_string()));
                continue;
            }
            let v: f64 = field.parse().map_err(|_| {
                csv_error(
                    name,
                    line,
                    column,
                    &excerpt(field),
                    "expected a number".into(),
                )
            })?;
            if !v.is_finite() || !T::cast(v).finite() {
                return Err(csv_error(
                    name,
                    line,
                    column,
                    &excerpt(field),
                    format!("expected a finite number (representable as {})", T::NAME),
                ));
            }
            features.push(v);
        }
    }

    let (Some(n), Some(lc)) = (width, label_col) else {
        return Err(csv_error(
            name,
            last_line,
            None,
            "",
            "no data rows: expected at least one example".into(),
        ));
    };
    let n_features = n - usize::from(lc.is_some());
    if n_features == 0 {
        return Err(csv_error(
            name,
            last_line,
            None,
            "",
            "only a label column: expected at least one feature column besides it".into(),
        ));
    }
    let m = features.len() / n_features;
    let x = DMatrix::from_iterator(n_features, m, features.into_iter().map(T::cast));
    Ok(Rows {
        x,
        labels,
        label_col: lc,
    })
}

/// Reads only the features of CSV text (or gzip-compressed CSV): every column but the
/// label column, or every column with [`LabelColumn::None`]; `name` names the source in
/// errors. The result has one example per column.
///
/// # Errors
/// As [`load_csv`], for the features.
pub fn read_csv_features<T: Scalar, R: Read>(
    reader: R,
    name: &str,
    options: &CsvOptions,
) -> Result<DMatrix<T>> {
    Ok(parse_rows(decompressed(reader, name)?, name, options)?.x)
}

/// The names a CSV file's header row gives its columns: the features, in order, and the
/// label column's (if [`CsvOptions::label`] names one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvHeader {
    /// The feature columns' names, in file order (the label column left out).
    pub features: Vec<String>,
    /// The label column's name.
    pub label: Option<String>,
}

/// Reads only the header row of a CSV file (gzip or plain) and resolves the label column
/// as [`load_csv`] would, so that a model's stored feature names can be checked against
/// a file before the file is read.
///
/// # Errors
/// [`TrainError::Io`] if the file cannot be opened; [`DataError::Csv`] if
/// [`CsvOptions::has_header`] is false, the file is empty or unreadable, or the label
/// column is not in the header.
pub fn load_csv_header(path: &Path, options: &CsvOptions) -> Result<CsvHeader> {
    let name = path.display().to_string();
    if !options.has_header {
        return Err(csv_error(
            &name,
            0,
            None,
            "",
            "the file has no header row, so its columns have no names".into(),
        ));
    }
    let mut rdr = csv_reader(decompressed(open(path)?, &name)?, options);
    let Some(record) = nonblank(rdr.records()).next() else {
        return Err(csv_error(
            &name,
            0,
            None,
            "",
            "the file is empty: expected a header row".into(),
        ));
    };
    let record = record.map_err(|e| from_csv_crate(&name, &e))?;
    let line = record.position().map_or(1, |p| p.line());
    let names: Vec<String> = record.iter().map(str::to_string).collect();
    let header = (line, names);
    let label = resolve_label(&name, options, Some(&header), header.1.len(), line)?;
    let (_, mut names) = header;
    let label = label.map(|c| names.remove(c));
    Ok(CsvHeader {
        features: names,
        label,
    })
}

/// Loads only the features of a CSV file (see [`read_csv_features`]).
///
/// # Errors
/// [`TrainError::Io`] if the file cannot be opened; otherwise as [`load_csv`].
pub fn load_csv_features<T: Scalar>(path: &Path, options: &CsvOptions) -> Result<DMatrix<T>> {
    read_csv_features(open(path)?, &path.display().to_string(), options)
}

fn finish<T: Scalar>(
    name: &str,
    options: &CsvOptions,
    x: DMatrix<T>,
    labels: Vec<(u64, String)>,
    lc: usize,
    m: usize,
) -> Result<Dataset<T>> {
    let column = Some(lc + 1);
    match options.targets {
        Targets::Regression => {
            let mut y = DMatrix::zeros(1, m);
            for (j, (line, text)) in labels.iter().enumerate() {
                let v: f64 = text.parse().map_err(|_| {
                    csv_error(
                        name,
                        *line,
                        column,
                        &excerpt(text),
                        "expected a numeric target".into(),
                    )
                })?;
                if !v.is_finite() || !T::cast(v).finite() {
                    return Err(csv_error(
                        name,
                        *line,
                        column,
                        &excerpt(text),
                        "expected a finite target".into(),
                    ));
                }
                y[(0, j)] = T::cast(v);
            }
            Dataset::new(x, y)
        }
        Targets::OneHot | Targets::Binary => {
            let (classes, index) = class_indices(name, options, &labels, column)?;
            let y = if options.targets == Targets::Binary {
                if classes.len() > 2 {
                    return Err(csv_error(
                        name,
                        labels.first().map_or(0, |l| l.0),
                        column,
                        &excerpt(&classes.join(", ")),
                        format!(
                            "binary targets need at most two classes, found {}",
                            classes.len()
                        ),
                    ));
                }
                DMatrix::from_iterator(1, m, index.iter().map(|&k| T::cast(k as f64)))
            } else {
                super::one_hot(&index, classes.len())?
            };
            let mut names = classes;
            if options.targets == Targets::Binary {
                // A binary data set always names two classes.
                while names.len() < 2 {
                    names.push(names.len().to_string());
                }
            }
            Dataset::new(x, y)?.with_class_names(names)
        }
    }
}

/// The 0-based label column, checked against the row width.
fn resolve_label(
    name: &str,
    options: &CsvOptions,
    header: Option<&(u64, Vec<String>)>,
    width: usize,
    line: u64,
) -> Result<Option<usize>> {
    let index = match &options.label {
        LabelColumn::None => return Ok(None),
        LabelColumn::Last => width.saturating_sub(1),
        LabelColumn::First => 0,
        LabelColumn::Index(i) => *i,
        LabelColumn::Name(wanted) => {
            let Some((hline, cols)) = header else {
                return Err(csv_error(
                    name,
                    line,
                    None,
                    wanted,
                    "a label column by name needs a header row (has_header: true)".into(),
                ));
            };
            return cols
                .iter()
                .position(|c| c == wanted)
                .map(Some)
                .ok_or_else(|| {
                    csv_error(
                        name,
                        *hline,
                        None,
                        wanted,
                        format!(
                            "no column with this name; the header has {}",
                            excerpt(&cols.join(", "))
                        ),
                    )
                });
        }
    };
    if index >= width {
        return Err(csv_error(
            name,
            header.map_or(line, |h| h.0),
            None,
            &index.to_string(),
            format!(
                "label column index out of range: rows have {width} fields (0-based indices 0..{width})"
            ),
        ));
    }
    Ok(Some(index))
}

/// Numeric class labels are refused (as a likely regression target) when they take more
/// distinct values than this share of the rows…
pub const MAX_CLASS_SHARE: f64 = 0.5;
/// …in a file of at least this many rows.
pub const MIN_ROWS_FOR_CLASS_SHARE: usize = 20;
/// The most classes integer labels may imply (label `k` makes classes `0..=k`, each with
/// a name); give [`CsvOptions::classes`] for more.
pub const MAX_INTEGER_CLASSES: usize = 1 << 16;

/// The class names and each example's class index.
fn class_indices(
    name: &str,
    options: &CsvOptions,
    labels: &[(u64, String)],
    column: Option<usize>,
) -> Result<(Vec<String>, Vec<usize>)> {
    if let Some(classes) = &options.classes {
        let index = labels
            .iter()
            .map(|(line, text)| {
                classes.iter().position(|c| c == text).ok_or_else(|| {
                    csv_error(
                        name,
                        *line,
                        column,
                        &excerpt(text),
                        format!(
                            "unknown class; expected one of {}",
                            excerpt(&classes.join(", "))
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        return Ok((classes.clone(), index));
    }
    let distinct: BTreeSet<&str> = labels.iter().map(|(_, t)| t.as_str()).collect();
    let numbers: Option<Vec<f64>> = labels
        .iter()
        .map(|(_, t)| t.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect();
    if let Some(numbers) = &numbers {
        // Numbers as class labels must look like class indices, not like measurements.
        let regress = "; for a numeric target use regression (Targets::Regression, \
                       `--task regress` on the command line)";
        if let Some(j) = numbers.iter().position(|v| v.fract() != 0.0) {
            let (line, text) = &labels[j];
            return Err(csv_error(
                name,
                *line,
                column,
                &excerpt(text),
                format!(
                    "a class label with a fractional part: numeric class labels must be \
                     integers{regress}"
                ),
            ));
        }
        if labels.len() >= MIN_ROWS_FOR_CLASS_SHARE
            && distinct.len() as f64 > MAX_CLASS_SHARE * labels.len() as f64
        {
            return Err(csv_error(
                name,
                labels.first().map_or(0, |l| l.0),
                column,
                "",
                format!(
                    "{} distinct numeric labels in {} rows (more than {}% of the rows): this \
                     looks like a continuous target, not classes{regress}; or give the \
                     classes (CsvOptions::classes)",
                    distinct.len(),
                    labels.len(),
                    MAX_CLASS_SHARE * 100.0
                ),
            ));
        }
    }
    // Integer class labels map to themselves; the one-hot matrix they imply is bounded
    // before it is allocated, so that one stray "65535" among digits is a clear error.
    let ints: Option<Vec<usize>> = labels
        .iter()
        .map(|(_, t)| t.trim().parse::<usize>().ok())
        .collect();
    if let Some(ints) = ints
        && let Some((j, &top)) = ints.iter().enumerate().max_by_key(|(_, k)| **k)
    {
        // Each class also gets a name: the class count is bounded on its own, so that
        // a few rows cannot ask for 10⁸ names.
        let classes = top.checked_add(1).filter(|&c| c <= MAX_INTEGER_CLASSES);
        let values = classes.and_then(|c| c.checked_mul(ints.len()));
        if values.is_none_or(|v| v > DEFAULT_MAX_DATA_VALUES) {
            return Err(csv_error(
                name,
                labels[j].0,
                column,
                &excerpt(&labels[j].1),
                format!(
                    "integer labels are class indices, and this one makes {} classes × {} \
                     examples, more than the {MAX_INTEGER_CLASSES} classes \
                     (MAX_INTEGER_CLASSES) or the {DEFAULT_MAX_DATA_VALUES} one-hot values \
                     (Limits::max_data_values) allowed, though only {} distinct labels occur; \
                     renumber the labels 0..{} or give the classes (CsvOptions::classes)",
                    top.saturating_add(1),
                    ints.len(),
                    distinct.len(),
                    distinct.len().saturating_sub(1)
                ),
            ));
        }
        return Ok(((0..=top).map(|k| k.to_string()).collect(), ints));
    }

    let classes: Vec<String> = distinct.iter().map(|s| s.to_string()).collect();
    let index = labels
        .iter()
        .map(|(_, t)| classes.binary_search_by(|c| c.as_str().cmp(t)).unwrap_or(0))
        .collect();
    Ok((classes, index))
}
