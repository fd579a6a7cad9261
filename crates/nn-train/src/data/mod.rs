//! Data: [`Dataset`] in the column convention, seeded splits, synthetic
//! problems, loaders for CSV and MNIST's IDX files, and raw [`Table`]s of named text
//! columns with missing values, which a [`crate::pipeline::Pipeline`] turns into numbers.
//!
//! ```
//! use nn_train::data::synthetic;
//! let moons = synthetic::two_moons(200, 0.1, 7)?;
//! let (train, test) = moons.split_stratified(0.25, 7)?;
//! assert_eq!((train.len(), test.len()), (150, 50));
//! # Ok::<(), nn_train::TrainError>(())
//! ```

#[cfg(feature = "csv")]
mod csv;
mod dataset;
mod idx;
pub mod synthetic;
mod table;

#[cfg(feature = "csv")]
pub use csv::{
    CsvHeader, CsvOptions, LabelColumn, MAX_CLASS_SHARE, MAX_INTEGER_CLASSES,
    MIN_ROWS_FOR_CLASS_SHARE, Targets, load_csv, load_csv_features, load_csv_header, read_csv,
    read_csv_features,
};
pub use dataset::{Dataset, Split, one_hot, split_rows};
pub use idx::{IdxArray, load_idx, load_mnist, mnist_from_idx, parse_idx};
pub(crate) use table::table_error;
pub use table::{
    Column, ColumnKind, DEFAULT_MISSING, Delimiter, MAX_TABLE_COLUMNS, Table, TableOptions,
    detect_delimiter,
};
#[cfg(feature = "csv")]
pub use table::{load_table, read_table};

/// Training data: inputs `X: (features, m)` and targets `Y: (outputs, m)`.
pub type Data<'a, T> = (&'a nalgebra::DMatrix<T>, &'a nalgebra::DMatrix<T>);
