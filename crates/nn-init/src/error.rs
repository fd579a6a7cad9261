//! The one error type of nn-init: a bad argument (with what was expected and what was
//! found), a zero size, or text that is not an initializer.

use thiserror::Error;

/// Errors returned by [`crate::Init`]'s constructors of matrices and by its `FromStr`.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum InitError {
    /// A requested size is zero: a layer needs at least one input and one output.
    #[error("{init}: {what} must be at least 1, found 0 (requested shape {}×{})", shape.0, shape.1)]
    ZeroSize {
        /// The initializer (its name as in [`crate::Init`]'s `Display`, e.g. `"he_normal"`).
        init: &'static str,
        /// Which size is zero: `"fan_out"`, `"fan_in"` or `"bias length"`.
        what: &'static str,
        /// The shape requested, as `(rows, columns)`.
        shape: (usize, usize),
    },
    /// A requested shape whose number of entries, or whose size in bytes, does not fit in
    /// memory's address range (`rows·cols·size_of::<T>() > isize::MAX`): nothing is
    /// allocated.
    #[error("{init}: a {}×{} matrix of {bytes_per_entry}-byte entries is too large to allocate", shape.0, shape.1)]
    TooLarge {
        /// The initializer (its name as in [`crate::Init`]'s `Display`).
        init: &'static str,
        /// The shape requested, as `(rows, columns)`.
        shape: (usize, usize),
        /// The size of one entry in bytes (4 for `f32`, 8 for `f64`).
        bytes_per_entry: usize,
    },
    /// A parameter outside its valid range: a negative or non-finite standard deviation,
    /// `low ≥ high`, a non-finite constant, slope or gain.
    #[error("{init}: {what} must be {expected}, found {found}")]
    InvalidArgument {
        /// The initializer (e.g. `"uniform"`).
        init: &'static str,
        /// The parameter's name (e.g. `"std"`).
        what: &'static str,
        /// The valid range, in words (e.g. `"finite and ≥ 0"`).
        expected: String,
        /// The value given.
        found: f64,
    },
    /// Text that does not parse as an initializer.
    #[error("cannot parse {found:?} as an initializer: {reason}; expected one of {expected}")]
    Parse {
        /// The text as given.
        found: String,
        /// What is wrong with it.
        reason: String,
        /// The accepted forms ([`crate::Init::FORMS`], joined).
        expected: String,
    },
}
