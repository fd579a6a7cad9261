//! Initializers as text, for configs and model files: the table of names and parameters,
//! `Display`, `FromStr` and serde.
//!
//! The one table is the declaration of [`Init`] itself (in `init.rs`): each variant is
//! written with its name, its parameters and, where it may be written without them, their
//! defaults,
//!
//! ```text
//! Uniform { low, high } => "uniform",
//! HeNormal { slope } => "he_normal" (default: 0.0),
//! ```
//!
//! and [`init_table!`] turns that into the enum, [`Init::FORMS`], [`Init::name`],
//! `Display` and the function `FromStr` calls once it has split the text into a name and
//! numbers. Nothing else in this file names a variant.
//!
//! The grammar is `name` or `name(n1,n2,…)`, with spaces allowed around names and
//! numbers. `Display` writes every parameter with Rust's shortest round-trip formatting
//! (`he_normal(0)`, `normal(0,0.01)`), so `FromStr` reads back the same value. The
//! serialised form (serde) is that string.

use std::fmt;
use std::str::FromStr;

use crate::{Init, InitError};

/// Declares [`Init`] and its table of names and parameters from one list of variants.
///
/// Each variant is written as in an enum but with its fields' names only (all are `f64`):
/// a unit variant, a one-field tuple variant `Constant(c)`, or a struct variant
/// `Uniform { low, high }`; then `=> "name"` and, if the text form may leave the
/// parameters out, `(default: v1, v2, …)`. The macro emits the enum as declared (docs
/// included), `FORMS`, `name`, `Display` and the crate's `from_parts`. Every `match` on
/// the enum it emits is exhaustive.
macro_rules! init_table {
    (@f64 $field:ident) => {
        f64
    };
    (@join $first:ident $(, $rest:ident)*) => {
        concat!(stringify!($first) $(, ",", stringify!($rest))*)
    };
    (@form $name:literal) => {
        $name
    };
    (@form $name:literal $($field:ident)+) => {
        concat!($name, "(", $crate::name::init_table!(@join $($field),+), ")")
    };
    (
        $(#[$meta:meta])*
        pub enum $Enum:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident
                $(( $(#[$tmeta:meta])* $tfield:ident ))?
                $({ $( $(#[$fmeta:meta])* $field:ident ),+ $(,)? })?
                => $name:literal $((default: $($default:expr),+))?
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        pub enum $Enum {
            $(
                $(#[$vmeta])*
                $variant
                $(( $(#[$tmeta])* $crate::name::init_table!(@f64 $tfield) ))?
                $({ $( $(#[$fmeta])* $field: f64, )+ })?,
            )+
        }

        impl $Enum {
            /// The accepted text forms, as shown in parse errors: `"zeros"`,
            /// `"uniform(low,high)"`, …
            pub const FORMS: &'static [&'static str] = &[$(
                $crate::name::init_table!(@form $name $($tfield)? $($($field)+)?)
            ),+];

            /// The initializer's name, as in its text form without parameters
            /// (`"he_normal"`).
            pub const fn name(&self) -> &'static str {
                match self {
                    $($Enum::$variant { .. } => $name,)+
                }
            }

            /// The initializer `name` with parameters `args` (all given, or none where the
            /// table has defaults); not validated.
            pub(crate) fn from_parts(name: &str, args: &[f64]) -> Result<Self, $crate::name::FormError> {
                match name {
                    $($name => {
                        let defaults: &[f64] = &[$($($default),+)?];
                        let args = if args.is_empty() { defaults } else { args };
                        match *args {
                            [$($tfield)? $($($field),+)?] => {
                                Ok($Enum::$variant $(($tfield))? $({ $($field),+ })?)
                            }
                            _ => Err($crate::name::FormError::Arity(args.len())),
                        }
                    })+
                    _ => Err($crate::name::FormError::UnknownName),
                }
            }
        }

        impl ::std::fmt::Display for $Enum {
            /// The text form, e.g. `he_normal(0)`, `normal(0,0.01)`; numbers are printed
            /// with Rust's shortest round-trip formatting, so parsing the text gives back
            /// the same value.
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match *self {
                    $($Enum::$variant $(($tfield))? $({ $($field),+ })? => {
                        $crate::name::write_form(f, $name, &[$($tfield)? $($($field),+)?])
                    })+
                }
            }
        }
    };
}
pub(crate) use init_table;

/// Why a name and numbers are not an initializer.
pub(crate) enum FormError {
    /// No initializer has this name.
    UnknownName,
    /// The initializer takes another number of parameters than this one.
    Arity(usize),
}

/// Writes `name`, or `name(p1,p2,…)` with each number in Rust's shortest round-trip form.
pub(crate) fn write_form(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    parameters: &[f64],
) -> fmt::Result {
    f.write_str(name)?;
    let Some((first, rest)) = parameters.split_first() else {
        return Ok(());
    };
    write!(f, "({first}")?;
    for p in rest {
        write!(f, ",{p}")?;
    }
    f.write_str(")")
}

impl FromStr for Init {
    type Err = InitError;

    /// Parses the text form (whitespace around names and numbers is allowed) and
    /// validates the parameters. `he_normal`/`he_uniform` without a slope mean slope 0,
    /// `orthogonal` without a gain means gain 1.
    ///
    /// # Errors
    /// [`InitError::Parse`] for an unknown name, a wrong number of parameters or a
    /// parameter that is not a number; [`InitError::InvalidArgument`] for a number out of
    /// range (e.g. `normal(0,-1)`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse_err = |reason: String| InitError::Parse {
            found: s.to_string(),
            reason,
            expected: Init::FORMS.join(", "),
        };
        let text = s.trim();
        let (name, args) = match text.split_once('(') {
            None => (text, Vec::new()),
            Some((name, rest)) => {
                let inner = rest
                    .strip_suffix(')')
                    .ok_or_else(|| parse_err("missing closing parenthesis".into()))?;
                let args = if inner.trim().is_empty() {
                    Vec::new()
                } else {
                    inner
                        .split(',')
                        .map(|a| {
                            a.trim()
                                .parse::<f64>()
                                .map_err(|_| parse_err(format!("{:?} is not a number", a.trim())))
                        })
                        .collect::<Result<Vec<f64>, InitError>>()?
                };
                (name.trim(), args)
            }
        };
        let init = Init::from_parts(name, &args).map_err(|e| {
            parse_err(match e {
                FormError::UnknownName => format!("unknown initializer {name:?}"),
                FormError::Arity(n) => format!("{name} does not take {n} parameter(s)"),
            })
        })?;
        init.validate()?;
        Ok(init)
    }
}

impl serde::Serialize for Init {
    /// The `Display` string, e.g. `"he_normal(0)"`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        nn_activations::nn_core::text::serialize(self, serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Init {
    /// A string in the `FromStr` grammar, with its errors.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        nn_activations::nn_core::text::deserialize(deserializer)
    }
}
