//! Activations as text, for configs and model files: the table of names, `Display`,
//! `FromStr` and serde.
//!
//! The one table is the declaration of [`Activation`] itself (in `activation.rs`): each
//! variant is written with its canonical name, its aliases and, for a parameterised one,
//! its parameter's name and default,
//!
//! ```text
//! Identity => "identity" | "linear",
//! LeakyRelu { slope: f64 = DEFAULT_LEAKY_SLOPE } => "leaky_relu",
//! ```
//!
//! and [`activation_table!`] turns that into the enum, [`Activation::ALL`],
//! [`Activation::ALL_NAMES`], [`Activation::ALIASES`], [`Activation::name`] and
//! [`Activation::parameter`]. Everything in this file reads those; none of it names a
//! variant.
//!
//! The grammar is `name` or `name(number)`, case-insensitive, with spaces allowed
//! around the parts. `Display` writes the canonical lower-case name and, for a
//! parameterised activation, always the parameter: `leaky_relu(0.01)`, `elu(1)`.
//! Numbers are written in Rust's shortest form that reads back to the same `f64`
//! (scientific notation outside `[1e-5, 1e16)`), so `Display` then `FromStr` gives back
//! exactly the same value for every valid activation. The serialised form (serde) is the
//! `Display` string, read back with `FromStr`.

use std::fmt;
use std::str::FromStr;

use crate::{Activation, ActivationError};

/// Declares [`Activation`] and its table of names from one list of variants.
///
/// Each variant is written as in an enum, followed by `=> "name"` and any aliases
/// (`| "alias"`); a parameterised variant has exactly one `f64` field, written with its
/// default (`slope: f64 = 0.01`). The macro emits the enum as declared (attributes and
/// docs included) and, in an `impl`, the constants and functions that hold every name:
/// `ALL`, `ALL_NAMES`, `ALIASES`, `name`, `parameter`, and the crate's `from_name` and
/// `with_parameter`. Every `match` it emits is exhaustive.
macro_rules! activation_table {
    (@parameter) => {
        None
    };
    (@parameter $param:ident) => {
        Some((stringify!($param), $param))
    };
    (
        $(#[$meta:meta])*
        pub enum $Enum:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident $({
                    $(#[$pmeta:meta])*
                    $param:ident: f64 = $default:expr $(,)?
                })? => $name:literal $(| $alias:literal)*
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        pub enum $Enum {
            $(
                $(#[$vmeta])*
                $variant $({
                    $(#[$pmeta])*
                    $param: f64,
                })?,
            )+
        }

        impl $Enum {
            /// Every activation's canonical name, in declaration order; each parses with
            /// `FromStr` (a parameterised one to its default).
            pub const ALL_NAMES: &'static [&'static str] = &[$($name),+];

            /// Every activation, in the order of [`Activation::ALL_NAMES`], with default
            /// parameters.
            pub const ALL: [$Enum; $Enum::ALL_NAMES.len()] =
                [$($Enum::$variant $({ $param: $default })?),+];

            /// Every alias that `FromStr` accepts, with the canonical name it stands for:
            /// `("linear", "identity")`, `("swish", "silu")`.
            pub const ALIASES: &'static [(&'static str, &'static str)] =
                &[$($(($alias, $name),)*)+];

            /// The canonical name without parameters (`"leaky_relu"`, `"gelu_tanh"`, …):
            /// the entry of [`Activation::ALL_NAMES`] for this variant.
            pub const fn name(&self) -> &'static str {
                match self {
                    $($Enum::$variant { .. } => $name,)+
                }
            }

            /// The parameter's name and value for a parameterised activation
            /// (`Some(("slope", 0.01))` for the default leaky ReLU), `None` for the others.
            pub const fn parameter(&self) -> Option<(&'static str, f64)> {
                match *self {
                    $($Enum::$variant $({ $param })? => $crate::name::activation_table!(@parameter $($param)?),)+
                }
            }

            /// The same activation with its parameter set to `value` (unchanged if it has
            /// none). Not validated.
            pub(crate) const fn with_parameter(self, value: f64) -> Self {
                match self {
                    $($Enum::$variant { .. } => $Enum::$variant $({ $param: value })?,)+
                }
            }

            /// The activation a canonical name or an alias (lower case) stands for, with
            /// its default parameter.
            pub(crate) fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name $(| $alias)* => Some($Enum::$variant $({ $param: $default })?),)+
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use activation_table;

/// The valid range of every activation parameter (leaky-ReLU slope, ELU `α`), in words.
pub(crate) const PARAMETER_RANGE: &str = "a finite number ≥ 0";

/// `Ok` if `value` is in [`PARAMETER_RANGE`], else `BadParameter` naming the activation
/// and the parameter.
pub(crate) fn check_parameter(
    name: &'static str,
    parameter: &'static str,
    value: f64,
    found: impl FnOnce() -> String,
) -> Result<f64, ActivationError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(ActivationError::BadParameter {
            name,
            parameter,
            found: found(),
            expected: PARAMETER_RANGE,
        })
    }
}

/// What an unknown-name error adds after the list of names, from the tables: the aliases
/// and the parameterised forms with their defaults, e.g. `aliases: linear = identity,
/// swish = silu; with an optional parameter: leaky_relu(0.01), elu(1)`.
pub(crate) fn name_notes() -> String {
    let aliases: Vec<String> = Activation::ALIASES
        .iter()
        .map(|(alias, name)| format!("{alias} = {name}"))
        .collect();
    let parameterised: Vec<String> = Activation::ALL
        .iter()
        .filter(|g| g.parameter().is_some())
        .map(Activation::to_string)
        .collect();
    format!(
        "aliases: {}; with an optional parameter: {}",
        aliases.join(", "),
        parameterised.join(", ")
    )
}

/// Writes `x` in the shortest form that parses back to the same `f64`.
fn write_number(f: &mut fmt::Formatter<'_>, x: f64) -> fmt::Result {
    let magnitude = x.abs();
    if x == 0.0 || (1e-5..1e16).contains(&magnitude) || !x.is_finite() {
        write!(f, "{x}")
    } else {
        write!(f, "{x:e}")
    }
}

impl fmt::Display for Activation {
    /// The canonical name, with the parameter for a parameterised activation:
    /// `relu`, `leaky_relu(0.2)`, `elu(1)`, `gelu_tanh`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((_, parameter)) = self.parameter() else {
            return f.write_str(self.name());
        };
        write!(f, "{}(", self.name())?;
        write_number(f, parameter)?;
        f.write_str(")")
    }
}

impl FromStr for Activation {
    type Err = ActivationError;

    /// Parses `name` or `name(number)`: one of [`Activation::ALL_NAMES`] or of
    /// [`Activation::ALIASES`]. A parameterised activation without a parameter gets its
    /// default (`leaky_relu` is `leaky_relu(0.01)`).
    ///
    /// # Errors
    /// [`ActivationError::UnknownName`] (listing the valid names),
    /// [`ActivationError::BadParameter`] for a parameter that is not a finite number
    /// `≥ 0`, [`ActivationError::UnexpectedParameter`] for a parameter given to an
    /// activation that takes none, [`ActivationError::Malformed`] for an unclosed or
    /// stray parenthesis.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let malformed = || ActivationError::Malformed {
            found: s.to_string(),
        };
        let (name, text) = match lower.split_once('(') {
            None if lower.contains(')') => return Err(malformed()),
            None => (lower.as_str(), None),
            Some((name, rest)) => {
                let inner = rest.strip_suffix(')').ok_or_else(malformed)?;
                if inner.contains(['(', ')']) {
                    return Err(malformed());
                }
                (name.trim_end(), Some(inner.trim()))
            }
        };
        let g = Activation::from_name(name).ok_or_else(|| ActivationError::UnknownName {
            found: s.trim().to_string(),
            valid: Activation::ALL_NAMES,
        })?;
        match (g.parameter(), text) {
            (_, None) => Ok(g),
            (None, Some(_)) => Err(ActivationError::UnexpectedParameter {
                name: g.name(),
                found: s.to_string(),
            }),
            (Some((parameter, _)), Some(text)) => {
                let found = || text.to_string();
                let value = text.parse::<f64>().unwrap_or(f64::NAN);
                let value = check_parameter(g.name(), parameter, value, found)?;
                Ok(g.with_parameter(value))
            }
        }
    }
}

impl serde::Serialize for Activation {
    /// The `Display` string, e.g. `"leaky_relu(0.01)"`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        nn_core::text::serialize(self, serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Activation {
    /// A string in the `FromStr` grammar, with its errors.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        nn_core::text::deserialize(deserializer)
    }
}
