//! The sizes nn refuses before it allocates anything, so that no file, however hostile,
//! and no size, however large, can abort the process or wrap an integer.
//!
//! Every size derived from user input (features, channels × height × width, window
//! geometry, rows × cols, parameter counts, one-hot classes × examples, header and
//! decompressed lengths) is computed with overflow-checked arithmetic ([`checked_product`])
//! and compared with a limit before the first allocation it would size. A size that
//! overflows `usize` is [`TrainError::TooLarge`] with the limit "usize::MAX"; one above a
//! limit is the same error naming the limit and how to raise it.
//!
//! The limits are settings, not magic numbers: [`Limits`] carries them, with the defaults
//! below, to [`crate::NetworkBuilder::limits`], [`crate::persist::model_from_bytes_with`],
//! and the data loaders' options.

use crate::error::TrainError;

/// Default [`Limits::max_parameters`]: 2²⁸ (268 million) trainable scalars, 1 GiB of f32.
pub const DEFAULT_MAX_PARAMETERS: usize = 1 << 28;
/// Default [`Limits::max_example_values`]: 2²⁶ (67 million) values in one example at any
/// layer: its input, a layer's output, or a convolution's unfolded `C_in·kh·kw × P`
/// columns (whose index table a convolution builds up front: 512 MiB at this limit). A
/// 224×224 RGB image unfolded for a 7×7 convolution is 7.4 million.
pub const DEFAULT_MAX_EXAMPLE_VALUES: usize = 1 << 26;
/// Default [`Limits::max_header_bytes`]: 100 MB, the limit safetensors itself applies to
/// a file's JSON header (which holds the architecture, the encoder and the names).
pub const DEFAULT_MAX_HEADER_BYTES: usize = 100_000_000;
/// Default [`Limits::max_data_values`]: 2²⁸ values (1 GiB as f32; MNIST's training
/// images are 4.7·10⁷) in one data matrix whose size a file declares rather than
/// contains: an IDX array (its header gives the size; gzip can expand a small file a
/// thousandfold), a one-hot matrix of classes × examples. Used by [`crate::data::parse_idx`],
/// [`crate::data::load_idx`] and [`crate::data::one_hot`].
pub const DEFAULT_MAX_DATA_VALUES: usize = 1 << 28;

/// Upper bounds on what a network, a model file or a data file may ask to allocate.
///
/// ```
/// use nn_train::{Activation, Limits, Loss, Network, TrainError};
/// // 20000 × 20000 weights are 4·10⁸ parameters: more than the default 2²⁸.
/// let err = Network::<f32>::builder(20_000)
///     .dense(20_000, Activation::Relu)
///     .dense(1, Activation::Sigmoid)
///     .loss(Loss::BinaryCrossEntropy)
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, TrainError::TooLarge { .. }), "{err}");
/// // A caller who means it raises the limit.
/// let limits = Limits { max_parameters: 1 << 29, ..Limits::default() };
/// let plan = Network::<f32>::builder(20_000)
///     .dense(20_000, Activation::Relu)
///     .dense(1, Activation::Sigmoid)
///     .loss(Loss::BinaryCrossEntropy)
///     .limits(limits)
///     .plan()?;
/// assert_eq!(plan.parameters, 20_000 * 20_000 + 20_000 + 20_000 + 1);
/// # Ok::<(), TrainError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most trainable scalars in one network ([`DEFAULT_MAX_PARAMETERS`]).
    pub max_parameters: usize,
    /// Most values one example may have at any layer ([`DEFAULT_MAX_EXAMPLE_VALUES`]).
    pub max_example_values: usize,
    /// Longest JSON header a model or checkpoint file may have
    /// ([`DEFAULT_MAX_HEADER_BYTES`]).
    pub max_header_bytes: usize,
    /// Most values in one data matrix whose size a file declares
    /// ([`DEFAULT_MAX_DATA_VALUES`]).
    pub max_data_values: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_parameters: DEFAULT_MAX_PARAMETERS,
            max_example_values: DEFAULT_MAX_EXAMPLE_VALUES,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_data_values: DEFAULT_MAX_DATA_VALUES,
        }
    }
}

/// The product of `factors`, or [`TrainError::TooLarge`] naming `what` if it overflows
/// `usize`.
///
/// # Errors
/// [`TrainError::TooLarge`] with the factors and the limit "usize::MAX".
pub fn checked_product(what: impl Fn() -> String, factors: &[usize]) -> Result<usize, TrainError> {
    factors
        .iter()
        .try_fold(1usize, |acc, &f| acc.checked_mul(f))
        .ok_or_else(|| TrainError::TooLarge {
            what: what(),
            found: factors
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(" × "),
            limit: format!("usize::MAX ({})", usize::MAX),
            raise: "",
        })
}

/// `Ok(n)` if `n ≤ limit`, else [`TrainError::TooLarge`] naming `what` and the setting
/// `raise` that would allow it.
///
/// # Errors
/// [`TrainError::TooLarge`] if `n > limit`.
pub fn within(
    what: impl Fn() -> String,
    n: usize,
    limit: usize,
    raise: &'static str,
) -> Result<usize, TrainError> {
    if n <= limit {
        Ok(n)
    } else {
        Err(TrainError::TooLarge {
            what: what(),
            found: n.to_string(),
            limit: limit.to_string(),
            raise,
        })
    }
}
