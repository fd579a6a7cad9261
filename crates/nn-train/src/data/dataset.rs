//! A data set in the column convention: inputs `X: (n_features, m)` and targets
//! `Y: (n_outputs, m)`, with seeded shuffling, stratified splits and zero-copy chunks. (Training draws its own
//! shuffled mini-batches: see `Trainer`.)

use nalgebra::{DMatrix, DMatrixView};
use nn_init::nn_activations::nn_core::Scalar;
use nn_init::{SeededRng, Stream};

use crate::check;
use crate::columns::gather_columns;
use crate::data::Data;
use crate::error::{DataError, Result, TrainError};
use crate::limits::{DEFAULT_MAX_DATA_VALUES, checked_product, within};

/// Inputs and targets of `m` examples, one example per column, all finite.
///
/// Built from row-major data ([`Dataset::from_rows`], [`Dataset::from_labels`]), from
/// matrices ([`Dataset::new`]), a CSV file ([`crate::data::load_csv`]), MNIST's IDX files
/// ([`crate::data::load_mnist`]) or a generator ([`crate::data::synthetic`]). Hand it to
/// training with [`Dataset::as_data`]:
///
/// ```
/// use nn_train::data::Dataset;
/// // Four examples with two features each (one row per example), two classes.
/// let rows = [0.0, 0.0,  0.0, 1.0,  1.0, 0.0,  1.0, 1.0];
/// let data = Dataset::<f64>::from_labels(&rows, 2, &[0, 1, 1, 0], 2)?;
/// assert_eq!(data.x().shape(), (2, 4)); // examples are columns
/// assert_eq!(data.y().column(1).as_slice(), &[0.0, 1.0]); // one-hot
/// let (x, y) = data.as_data();
/// # let _ = (x, y);
/// # Ok::<(), nn_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset<T: Scalar> {
    pub(crate) x: DMatrix<T>,
    pub(crate) y: DMatrix<T>,
    pub(crate) class_names: Option<Vec<String>>,
}

/// A train / validation / test split (see [`Dataset::split_stratified3`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Split<T: Scalar> {
    /// The training part.
    pub train: Dataset<T>,
    /// The validation part.
    pub validation: Dataset<T>,
    /// The test part.
    pub test: Dataset<T>,
}

/// One-hot encoding of class labels: column `j` is `e_{labels[j]}` of length `classes`.
///
/// ```
/// let y = nn_train::data::one_hot::<f64>(&[2, 0], 3)?;
/// assert_eq!(y.as_slice(), &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
/// # Ok::<(), nn_train::TrainError>(())
/// ```
///
/// # Errors
/// [`DataError::LabelOutOfRange`] naming the first example whose label is `≥ classes`;
/// [`TrainError::InvalidConfig`] for `classes = 0`; [`TrainError::TooLarge`] if
/// `classes × labels.len()` exceeds [`DEFAULT_MAX_DATA_VALUES`] (checked before allocating).
pub fn one_hot<T: Scalar>(labels: &[usize], classes: usize) -> Result<DMatrix<T>> {
    if classes == 0 {
        return Err(TrainError::InvalidConfig {
            what: "number of classes",
            expected: "≥ 1",
            found: "0".into(),
        });
    }
    if let Some((j, &label)) = labels.iter().enumerate().find(|(_, l)| **l >= classes) {
        return Err(DataError::LabelOutOfRange {
            index: j,
            label,
            classes,
        }
        .into());
    }
    let what = || "one-hot targets (classes × examples)".to_string();
    let values = checked_product(what, &[classes, labels.len()])?;
    within(
        what,
        values,
        DEFAULT_MAX_DATA_VALUES,
        "fewer classes (are the labels class indices 0..k?)",
    )?;
    let mut y = DMatrix::zeros(classes, labels.len());
    for (j, &label) in labels.iter().enumerate() {
        y[(label, j)] = T::one();
    }
    Ok(y)
}

/// Row-major `(m, n)` data as an `(n, m)` matrix of columns.
fn columns_from_rows<T: Scalar>(
    what: &'static str,
    values: &[f64],
    n: usize,
) -> Result<DMatrix<T>> {
    if n == 0 {
        return Err(TrainError::InvalidConfig {
            what,
            expected: "≥ 1 value per example",
            found: "0".into(),
        });
    }
    if !values.len().is_multiple_of(n) {
        return Err(TrainError::BadInput {
            what,
            expected: format!("a multiple of {n} values (one row of {n} per example)"),
            found: format!("{} values", values.len()),
        });
    }
    // Row-major (m, n) read as column-major is exactly the (n, m) matrix of columns.
    Ok(DMatrix::from_iterator(
        n,
        values.len() / n,
        values.iter().map(|&v| T::cast(v)),
    ))
}

impl<T: Scalar> Dataset<T> {
    /// A data set from matrices whose columns are examples.
    ///
    /// # Errors
    /// [`TrainError::BadShape`] if `X` and `Y` differ in columns, [`TrainError::BadInput`]
    /// if one has no rows;
    /// [`TrainError::EmptyData`] without examples; [`TrainError::NonFiniteData`].
    pub fn new(x: DMatrix<T>, y: DMatrix<T>) -> Result<Self> {
        // One column of Y per example of X.
        if x.ncols() != y.ncols() {
            return Err(TrainError::BadShape {
                what: "targets Y",
                expected: (y.nrows(), x.ncols()),
                found: y.shape(),
            });
        }
        if x.nrows() == 0 || y.nrows() == 0 {
            return Err(TrainError::BadInput {
                what: "data set",
                expected: "at least one feature row and one target row".into(),
                found: format!(
                    "X {}×{}, Y {}×{}",
                    x.nrows(),
                    x.ncols(),
                    y.nrows(),
                    y.ncols()
                ),
            });
        }
        if x.ncols() == 0 {
            return Err(TrainError::EmptyData { what: "data set" });
        }
        check::finite("inputs X", &x)?;
        check::finite("targets Y", &y)?;
        Ok(Self {
            x,
            y,
            class_names: None,
        })
    }

    /// A data set from row-major values, one example per row: `features` holds `m` rows of
    /// `n_features`, `targets` `m` rows of `n_outputs` (as a CSV file or a NumPy array
    /// would hold them). They are transposed into columns.
    ///
    /// # Errors
    /// As [`Dataset::new`]; [`TrainError::BadInput`] if a slice is not whole rows,
    /// [`TrainError::BadShape`] if the two hold different numbers of examples.
    pub fn from_rows(
        features: &[f64],
        n_features: usize,
        targets: &[f64],
        n_outputs: usize,
    ) -> Result<Self> {
        let x = columns_from_rows("features", features, n_features)?;
        let y = columns_from_rows("targets", targets, n_outputs)?;
        Self::new(x, y)
    }

    /// A classification data set from row-major features and class labels, one-hot
    /// encoded into `classes` rows.
    ///
    /// # Errors
    /// As [`Dataset::from_rows`]; [`DataError::LabelOutOfRange`] for a label `≥ classes`.
    pub fn from_labels(
        features: &[f64],
        n_features: usize,
        labels: &[usize],
        classes: usize,
    ) -> Result<Self> {
        let x = columns_from_rows("features", features, n_features)?;
        Self::new(x, one_hot(labels, classes)?)
    }

    /// Attaches names to the classes (row `k` of a one-hot `Y`, or value `k` of a
    /// one-row `Y`), e.g. the string labels of a CSV file.
    ///
    /// # Errors
    /// [`TrainError::BadInput`] if there are not as many names as classes (`Y`'s rows; 1 or
    /// 2 for a one-row `Y`).
    pub fn with_class_names(mut self, names: Vec<String>) -> Result<Self> {
        let rows = self.y.nrows();
        if names.len() != rows && !(rows == 1 && names.len() == 2) {
            return Err(TrainError::BadInput {
                what: "class names",
                expected: format!(
                    "{rows} names (one per row of Y){}",
                    if rows == 1 {
                        ", or 2 for 0/1 targets"
                    } else {
                        ""
                    }
                ),
                found: format!("{} names", names.len()),
            });
        }
        self.class_names = Some(names);
        Ok(self)
    }

    /// The inputs, `(n_features, m)`.
    pub fn x(&self) -> &DMatrix<T> {
        &self.x
    }

    /// The targets, `(n_outputs, m)`.
    pub fn y(&self) -> &DMatrix<T> {
        &self.y
    }

    /// `(X, Y)`, as [`crate::Trainer::fit`] and [`crate::fit`] take them.
    pub fn as_data(&self) -> Data<'_, T> {
        (&self.x, &self.y)
    }

    /// The matrices, moved out.
    pub fn into_parts(self) -> (DMatrix<T>, DMatrix<T>) {
        (self.x, self.y)
    }

    /// The class names, if the data set has them.
    pub fn class_names(&self) -> Option<&[String]> {
        self.class_names.as_deref()
    }

    /// Number of examples `m`.
    pub fn len(&self) -> usize {
        self.x.ncols()
    }

    /// `true` if there are no examples (never, for a data set built by this crate).
    pub fn is_empty(&self) -> bool {
        self.x.ncols() == 0
    }

    /// Number of features (rows of `X`).
    pub fn n_features(&self) -> usize {
        self.x.nrows()
    }

    /// Number of outputs (rows of `Y`).
    pub fn n_outputs(&self) -> usize {
        self.y.nrows()
    }

    /// The same data in another scalar type (e.g. `f32` for speed).
    pub fn cast<U: Scalar>(&self) -> Dataset<U> {
        Dataset {
            x: self.x.map(|v| U::cast(v.to_f64())),
            y: self.y.map(|v| U::cast(v.to_f64())),
            class_names: self.class_names.clone(),
        }
    }

    /// A copy with the inputs replaced (e.g. by an encoder's output); the targets and
    /// class names are kept.
    ///
    /// # Errors
    /// [`TrainError::BadShape`] if `x` has a different number of examples;
    /// [`TrainError::NonFiniteData`].
    pub fn with_x(&self, x: DMatrix<T>) -> Result<Self> {
        let mut d = Self::new(x, self.y.clone())?;
        d.class_names = self.class_names.clone();
        Ok(d)
    }

    /// The examples at `indices`, in that order (copies them).
    ///
    /// # Errors
    /// [`TrainError::EmptyData`] if `indices` is empty; [`TrainError::BadInput`] if an index
    /// is `≥ m`.
    pub fn select(&self, indices: &[usize]) -> Result<Self> {
        if indices.is_empty() {
            return Err(TrainError::EmptyData {
                what: "selected examples",
            });
        }
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(TrainError::BadInput {
                what: "example index",
                expected: format!("below {} (the number of examples)", self.len()),
                found: bad.to_string(),
            });
        }
        Ok(self.select_unchecked(indices))
    }

    fn select_unchecked(&self, indices: &[usize]) -> Self {
        let mut x = DMatrix::zeros(0, 0);
        let mut y = DMatrix::zeros(0, 0);
        gather_columns(&self.x, indices, &mut x);
        gather_columns(&self.y, indices, &mut y);
        Self {
            x,
            y,
            class_names: self.class_names.clone(),
        }
    }

    /// The examples in a seeded random order (Fisher–Yates on the seed's [`Stream::DataSplit`]).
    pub fn shuffled(&self, seed: u64) -> Self {
        let mut order: Vec<usize> = (0..self.len()).collect();
        SeededRng::for_stream(seed, Stream::DataSplit).shuffle(&mut order);
        self.select_unchecked(&order)
    }

    /// The class of each example, read from the targets: the row of the 1 in a one-hot
    /// column, or the value (0 or 1) of a one-row `Y`.
    ///
    /// # Errors
    /// [`TrainError::BadTarget`] at the first column that is not a class label (regression
    /// targets cannot be stratified).
    pub fn labels(&self) -> Result<Vec<usize>> {
        let bad = |problem: &str, row, col, value: T| TrainError::BadTarget {
            problem: problem.to_string(),
            row,
            col,
            value: value.to_f64(),
        };
        let mut labels = Vec::with_capacity(self.len());
        for (j, col) in self.y.column_iter().enumerate() {
            if col.len() == 1 {
                let v = col[0];
                if v == T::zero() || v == T::one() {
                    labels.push(usize::from(v == T::one()));
                } else {
                    return Err(bad("a class label needs a 0/1 target", 0, j, v));
                }
            } else {
                let mut hot = None;
                for (i, &v) in col.iter().enumerate() {
                    if v == T::one() && hot.is_none() {
                        hot = Some(i);
                    } else if v != T::zero() {
                        return Err(bad("a class label needs a one-hot column", i, j, v));
                    }
                }
                match hot {
                    Some(i) => labels.push(i),
                    None => {
                        return Err(bad("a class label needs a one-hot column", 0, j, col[0]));
                    }
                }
            }
        }
        Ok(labels)
    }

    /// A seeded random split into `(train, test)` with `round(test_fraction · m)` test
    /// examples; each part keeps the original order of its examples.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] unless both parts get at least one example.
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        let groups = [(0..self.len()).collect::<Vec<_>>()];
        let [train, test] = self.split_groups(&groups, &[test_fraction], seed)?;
        Ok((train, test))
    }

    /// A seeded stratified split into `(train, test)`: each class is split in the same
    /// proportion (`round(test_fraction · m_c)` test examples of class `c`), so both parts
    /// keep the class balance. Each part keeps the original order of its examples.
    ///
    /// # Errors
    /// [`TrainError::BadTarget`] if the targets are not class labels;
    /// [`TrainError::InvalidConfig`] unless both parts get at least one example.
    pub fn split_stratified(&self, test_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        let groups = self.class_groups()?;
        let [train, test] = self.split_groups(&groups, &[test_fraction], seed)?;
        Ok((train, test))
    }

    /// A seeded stratified three-way split: validation and test fractions of each class,
    /// the rest for training.
    ///
    /// # Errors
    /// As [`Dataset::split_stratified`]; the fractions must sum to less than 1.
    pub fn split_stratified3(
        &self,
        validation_fraction: f64,
        test_fraction: f64,
        seed: u64,
    ) -> Result<Split<T>> {
        let groups = self.class_groups()?;
        let [train, validation, test] =
            self.split_groups(&groups, &[validation_fraction, test_fraction], seed)?;
        Ok(Split {
            train,
            validation,
            test,
        })
    }

    fn class_groups(&self) -> Result<Vec<Vec<usize>>> {
        let labels = self.labels()?;
        let classes = labels.iter().max().map_or(0, |&c| c + 1);
        let mut groups = vec![Vec::new(); classes];
        for (j, &c) in labels.iter().enumerate() {
            groups[c].push(j);
        }
        Ok(groups)
    }

    /// Splits each group by `fractions` (the first part gets the rest).
    fn split_groups<const N: usize>(
        &self,
        groups: &[Vec<usize>],
        fractions: &[f64],
        seed: u64,
    ) -> Result<[Self; N]> {
        let parts: [Vec<usize>; N] = split_group_rows(groups, fractions, seed, self.len())?;
        Ok(parts.map(|p| self.select_unchecked(&p)))
    }

    /// Consecutive mini-batches in the stored order as zero-copy views (contiguous columns
    /// of column-major storage), e.g. to evaluate a large set in pieces.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] for `batch_size = 0`.
    pub fn chunks(
        &self,
        batch_size: usize,
    ) -> Result<impl Iterator<Item = (DMatrixView<'_, T>, DMatrixView<'_, T>)>> {
        if batch_size == 0 {
            return Err(TrainError::InvalidConfig {
                what: "batch_size",
                expected: "≥ 1",
                found: "0".into(),
            });
        }
        let m = self.len();
        Ok((0..m).step_by(batch_size).map(move |start| {
            let n = batch_size.min(m - start);
            (self.x.columns(start, n), self.y.columns(start, n))
        }))
    }
}

/// The row indices of a seeded split of `rows` rows into `(train, test)`, as
/// [`Dataset::split`] makes it, or, given each row's class in `classes`, as
/// [`Dataset::split_stratified`] does: `round(test_fraction · m_c)` test rows of each
/// class. Both lists are sorted. For data that is not yet a [`Dataset`] (a table whose
/// preprocessing must be fitted on the training rows only).
///
/// # Errors
/// [`TrainError::InvalidConfig`] unless `test_fraction ∈ (0, 1)` and both parts get at
/// least one row; [`TrainError::BadInput`] if `classes` does not have `rows` entries.
pub fn split_rows(
    rows: usize,
    classes: Option<&[usize]>,
    test_fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let groups = match classes {
        None => vec![(0..rows).collect::<Vec<_>>()],
        Some(classes) => {
            if classes.len() != rows {
                return Err(TrainError::BadInput {
                    what: "the classes of a split",
                    expected: format!("one class per row ({rows})"),
                    found: format!("{} classes", classes.len()),
                });
            }
            let count = classes.iter().max().map_or(0, |&c| c + 1);
            let mut groups = vec![Vec::new(); count];
            for (j, &c) in classes.iter().enumerate() {
                groups[c].push(j);
            }
            groups
        }
    };
    let [train, test] = split_group_rows(&groups, &[test_fraction], seed, rows)?;
    Ok((train, test))
}

/// Splits each group of row indices by `fractions` (the first part gets the rest), from
/// the data-split stream of `seed`; each part sorted.
fn split_group_rows<const N: usize>(
    groups: &[Vec<usize>],
    fractions: &[f64],
    seed: u64,
    rows: usize,
) -> Result<[Vec<usize>; N]> {
    let total: f64 = fractions.iter().sum();
    if fractions.iter().any(|f| !(f.is_finite() && *f > 0.0)) || total >= 1.0 {
        return Err(TrainError::InvalidConfig {
            what: "split fractions",
            expected: "each in (0, 1), summing to less than 1",
            found: format!("{fractions:?}"),
        });
    }
    let mut rng = SeededRng::for_stream(seed, Stream::DataSplit);
    let mut parts: [Vec<usize>; N] = std::array::from_fn(|_| Vec::new());
    for group in groups {
        let mut members = group.clone();
        rng.shuffle(&mut members);
        let mut start = 0;
        for (k, f) in fractions.iter().enumerate() {
            let take = ((f * group.len() as f64).round() as usize).min(members.len() - start);
            parts[k + 1].extend_from_slice(&members[start..start + take]);
            start += take;
        }
        parts[0].extend_from_slice(&members[start..]);
    }
    if let Some(k) = parts.iter().position(Vec::is_empty) {
        return Err(TrainError::InvalidConfig {
            what: "split fractions",
            expected: "fractions that leave at least one example in every part",
            found: format!("{fractions:?} of {rows} examples leaves part {k} (0 = train) empty"),
        });
    }
    for p in &mut parts {
        p.sort_unstable();
    }
    Ok(parts)
}
