//! The one error type of nn-core: what was expected, what was found, and in which operation.

use thiserror::Error;

/// A shape as `(rows, columns)`.
pub type Shape = (usize, usize);

/// Errors returned by nn-core's shape-checked operations and by [`crate::gradcheck`].
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum CoreError {
    /// An operand's shape does not fit the operation.
    #[error("{op}: {operand} has shape {}×{}, expected {}×{}", found.0, found.1, expected.0, expected.1)]
    ShapeMismatch {
        /// The operation that was called (e.g. `"gemm_into"`).
        op: &'static str,
        /// Which operand is wrong (e.g. `"right operand (transposed)"`).
        operand: &'static str,
        /// The shape the operation needed.
        expected: Shape,
        /// The shape it was given.
        found: Shape,
    },
    /// An operand has no columns (or no entries) where at least one is required.
    #[error("{op}: {operand} is empty ({}×{}); at least one column is needed", found.0, found.1)]
    Empty {
        /// The operation that was called.
        op: &'static str,
        /// Which operand is empty.
        operand: &'static str,
        /// Its shape.
        found: Shape,
    },
    /// An operand or a computed value is NaN or infinite.
    #[error("{op}: {operand} has non-finite value {value} at row {row}, column {col}")]
    NonFinite {
        /// The operation that found it.
        op: &'static str,
        /// Which operand or value.
        operand: &'static str,
        /// Row of the first non-finite entry.
        row: usize,
        /// Column of the first non-finite entry.
        col: usize,
        /// The value found, as `f64`.
        value: f64,
    },
    /// An argument outside its valid range (e.g. a non-positive finite-difference step).
    #[error("{op}: {what} must be {expected}, found {found}")]
    InvalidArgument {
        /// The operation that was called.
        op: &'static str,
        /// The argument's name.
        what: &'static str,
        /// The valid range, in words.
        expected: &'static str,
        /// The value given.
        found: f64,
    },
    /// A dtype name that is not one of [`crate::DType::NAMES`].
    #[error("unknown dtype {found:?}; valid names: {}", crate::DType::NAMES.map(|(_, n)| n).join(", "))]
    UnknownDType {
        /// The name as given.
        found: String,
    },
}
