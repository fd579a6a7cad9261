//! The one error type of nn-activations: bad shapes (from nn-core), unknown names, bad
//! parameters, and element-wise questions asked of softmax.

use thiserror::Error;

/// Errors returned by [`crate::Activation`]'s checked operations and by its `FromStr`.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ActivationError {
    /// A shape mismatch (or another tensor error) reported by nn-core, naming the
    /// operation, the operand and both shapes.
    #[error(transparent)]
    Core(#[from] nn_core::CoreError),
    /// A name that is not an activation.
    #[error(
        "unknown activation {found:?}; valid names: {} ({})",
        valid.join(", "),
        crate::name::name_notes()
    )]
    UnknownName {
        /// The name as given.
        found: String,
        /// Every valid name ([`crate::Activation::ALL_NAMES`]).
        valid: &'static [&'static str],
    },
    /// A parameter that is not a number, or outside its valid range.
    #[error("{name}: parameter `{parameter}` must be {expected}, found {found:?}")]
    BadParameter {
        /// The activation (e.g. `"leaky_relu"`).
        name: &'static str,
        /// The parameter's name (e.g. `"slope"`).
        parameter: &'static str,
        /// The text or value given.
        found: String,
        /// The valid range, in words.
        expected: &'static str,
    },
    /// A parameter given to an activation that takes none (e.g. `"relu(0.1)"`).
    #[error("{name} takes no parameter, found {found:?}; write just `{name}`")]
    UnexpectedParameter {
        /// The activation's name.
        name: &'static str,
        /// The whole text as given.
        found: String,
    },
    /// Text that does not have the form `name` or `name(number)` (e.g. an unclosed
    /// parenthesis).
    #[error(
        "malformed activation {found:?}: expected `name` or `name(number)`, e.g. \
             \"relu\" or \"leaky_relu(0.2)\""
    )]
    Malformed {
        /// The whole text as given.
        found: String,
    },
    /// An element-wise question (e.g. the derivative as a matrix) asked of an activation
    /// that couples the entries of a column (softmax).
    #[error("{activation} is not element-wise: {what}")]
    NotElementwise {
        /// The activation's name.
        activation: &'static str,
        /// What was asked and what to use instead.
        what: &'static str,
    },
}
