//! Activations as text, for configs and model files: `Display` and `FromStr`.
//!
//! The grammar is `name` or `name(number)`, case-insensitive, with spaces allowed
//! around the parts. `Display` writes the canonical lower-case name and, for the two
//! parameterised activations, always the parameter: `leaky_relu(0.01)`, `elu(1)`.
//! Numbers are written in Rust's shortest form that reads back to the same `f64`
//! (scientific notation outside `[1e-5, 1e16)`), so `Display` then `FromStr` gives back
//! exactly the same value for every valid activation.

use std::fmt;
use std::str::FromStr;

use crate::{Activation, ActivationError};

/// The valid range of a leaky-ReLU slope and an ELU `α`, in words.
pub(crate) const PARAMETER_RANGE: &str = "a finite number ≥ 0";

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
    /// The canonical name, with the parameter for leaky ReLU and ELU:
    /// `relu`, `leaky_relu(0.2)`, `elu(1)`, `gelu_tanh`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parameter = match *self {
            Activation::LeakyRelu { slope } => slope,
            Activation::Elu { alpha } => alpha,
            _ => return f.write_str(self.name()),
        };
        write!(f, "{}(", self.name())?;
        write_number(f, parameter)?;
        f.write_str(")")
    }
}

impl FromStr for Activation {
    type Err = ActivationError;

    /// Parses `name` or `name(number)`: one of [`Activation::ALL_NAMES`] or the aliases
    /// `linear` (identity) and `swish` (silu). `leaky_relu` and `elu` without a parameter
    /// get their defaults (0.01 and 1).
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
        let (name, parameter) = match lower.split_once('(') {
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
        let plain = |g: Activation| match parameter {
            None => Ok(g),
            Some(_) => Err(ActivationError::UnexpectedParameter {
                name: g.name(),
                found: s.to_string(),
            }),
        };
        match name {
            "identity" | "linear" => plain(Activation::Identity),
            "step" => plain(Activation::Step),
            "sigmoid" => plain(Activation::Sigmoid),
            "tanh" => plain(Activation::Tanh),
            "relu" => plain(Activation::Relu),
            "softmax" => plain(Activation::Softmax),
            "selu" => plain(Activation::Selu),
            "gelu" => plain(Activation::Gelu),
            "gelu_tanh" => plain(Activation::GeluTanh),
            "silu" | "swish" => plain(Activation::Silu),
            "softplus" => plain(Activation::Softplus),
            "leaky_relu" => match parameter {
                None => Ok(Activation::leaky_relu()),
                Some(p) => Ok(Activation::LeakyRelu {
                    slope: parse_parameter("leaky_relu", "slope", p)?,
                }),
            },
            "elu" => match parameter {
                None => Ok(Activation::elu()),
                Some(p) => Ok(Activation::Elu {
                    alpha: parse_parameter("elu", "alpha", p)?,
                }),
            },
            _ => Err(ActivationError::UnknownName {
                found: s.trim().to_string(),
                valid: Activation::ALL_NAMES,
            }),
        }
    }
}

/// Parses a parameter that must be a finite number `≥ 0`.
fn parse_parameter(
    name: &'static str,
    parameter: &'static str,
    text: &str,
) -> Result<f64, ActivationError> {
    let bad = || ActivationError::BadParameter {
        name,
        parameter,
        found: text.to_string(),
        expected: PARAMETER_RANGE,
    };
    let value: f64 = text.parse().map_err(|_| bad())?;
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(bad())
    }
}
