//! Loss functions: the per-example loss `L(ŷ, y)`, the cost `J = (1/m) Σ L`, and the
//! gradient that starts backpropagation.
//!
//! Sigmoid + binary cross-entropy and softmax + categorical cross-entropy are fused: their
//! cost is finite for any logits `Z` (binary: computed from `Z`; categorical: `−ln a` read
//! off the softmax output, from `Z`'s log-sum-exp where `a` is too small to trust), and they
//! hand the output layer `dZ = A − Y` directly instead of going through `g'(Z)`, which would
//! divide by a saturated `A(1 − A)`.

use std::fmt;
use std::str::FromStr;

use nalgebra::DMatrix;
use nn_init::nn_activations::Activation;
use nn_init::nn_activations::nn_core::{self, Scalar, fit_buffer};

use crate::error::{Result, TrainError};

/// The clamp of [`Loss::BceProbabilities`]: probabilities are kept in `[ε, 1 − ε]`.
pub const PROBABILITY_EPSILON: f64 = 1e-7;

/// Declares [`Loss`] and its table of names from one list of variants: each written as in
/// an enum, followed by `=> "name"`; a parameterised variant has one `f64` field written
/// with its default (`delta: f64 = 1.0`). The macro emits the enum as declared and, in an
/// `impl`, `ALL`, `NAMES`, `name`, `parameter` and the module's `from_name`,
/// `with_parameter` and `EXPECTED`. Every `match` it emits is exhaustive.
macro_rules! loss_table {
    (@parameter) => {
        None
    };
    (@parameter $param:ident) => {
        Some((stringify!($param), $param))
    };
    (@form $name:literal) => {
        $name
    };
    (@form $name:literal $param:ident) => {
        concat!($name, "(<", stringify!($param), ">)")
    };
    (
        $(#[$meta:meta])*
        pub enum $Enum:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident $({
                    $(#[$pmeta:meta])*
                    $param:ident: f64 = $default:expr $(,)?
                })? => $name:literal
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
            /// Every loss, in declaration order, with its default parameter.
            pub const ALL: [$Enum; $Enum::NAMES.len()] =
                [$($Enum::$variant $({ $param: $default })?),+];

            /// All loss forms, as accepted by `FromStr`, in declaration order
            /// (`"huber(<delta>)"` for the parameterised one).
            pub const NAMES: &'static [&'static str] =
                &[$(loss_table!(@form $name $($param)?)),+];

            /// What `FromStr` accepts, in words: "one of …" and the forms.
            const EXPECTED: &'static str =
                concat!("one of ", loss_table!(@join $(loss_table!(@form $name $($param)?)),+));

            /// The name without the parameter (`"huber"`, `"mse"`).
            pub const fn name(&self) -> &'static str {
                match self {
                    $($Enum::$variant { .. } => $name,)+
                }
            }

            /// The parameter's name and value (`Some(("delta", 1.0))` for the default
            /// Huber loss), `None` for a loss without one.
            pub const fn parameter(&self) -> Option<(&'static str, f64)> {
                match *self {
                    $($Enum::$variant $({ $param })? => loss_table!(@parameter $($param)?),)+
                }
            }

            /// The same loss with its parameter set to `value` (unchanged if it has none).
            const fn with_parameter(self, value: f64) -> Self {
                match self {
                    $($Enum::$variant { .. } => $Enum::$variant $({ $param: value })?,)+
                }
            }

            /// The loss a name stands for, with its default parameter.
            fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some($Enum::$variant $({ $param: $default })?),)+
                    _ => None,
                }
            }
        }
    };
    (@join $first:expr $(, $rest:expr)*) => {
        concat!($first $(, ", ", $rest)*)
    };
}

loss_table! {
    /// A loss function. `K` is the number of output units, `a` the output, `z` the logits.
    ///
    /// | loss | per-example `L` | gradient passed down | PyTorch / Keras |
    /// |---|---|---|---|
    /// | `BinaryCrossEntropy` (sigmoid output) | `(1/K) Σ_k max(z,0) − z·y + ln(1 + e^(−\|z\|))` | `dZ = (A − Y)/K` | `BCEWithLogitsLoss` / `BinaryCrossentropy(from_logits=True)` |
    /// | `CategoricalCrossEntropy` (softmax output) | `−Σ_k y_k ln a_k = Σ_k y_k (logsumexp(z) − z_k)` | `dZ = A − Y` | `CrossEntropyLoss` (probability targets) / `CategoricalCrossentropy(from_logits=True)` |
    /// | `BceProbabilities` | `−(1/K) Σ_k y ln â + (1 − y) ln(1 − â)`, `â = clamp(a, ε, 1 − ε)` | `dA = (â − y) / (K â (1 − â))`, 0 where clamped | `BCELoss` / `BinaryCrossentropy()` |
    /// | `Mse` | `(1/K) Σ_k (a − y)²` | `dA = 2 (a − y) / K` | `MSELoss` / `MeanSquaredError` |
    /// | `Huber { delta }` | `(1/K) Σ_k ½r²` if `\|r\| ≤ δ`, else `δ(\|r\| − ½δ)`; `r = a − y` | `dA = clamp(r, −δ, δ) / K` | `HuberLoss(delta)` / `Huber(delta)` |
    /// | `Hinge` | `(1/K) Σ_k max(0, 1 − t·a)`, `t = ±1` | `dA = −t/K` where `t·a < 1`, else 0 | — / `Hinge` |
    ///
    /// With one output unit (`K = 1`) the binary losses are exactly the tutorial's, and
    /// `dZ = A − Y`. Binary targets may be soft (any value in `[0, 1]`); hinge targets are
    /// `0`/`1` or `−1`/`1` (0 is read as −1). Categorical targets are probability columns
    /// (one-hot for class labels).
    ///
    /// This declaration is the one table of losses: each variant with its name, for
    /// `Display`, `FromStr` and serde (`"mse"`, `"huber(0.5)"`), and the parameter's
    /// default.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub enum Loss {
        /// Binary cross-entropy on a sigmoid output, fused (from the logits).
        BinaryCrossEntropy => "binary_cross_entropy",
        /// Categorical cross-entropy on a softmax output, fused (from the logits).
        CategoricalCrossEntropy => "categorical_cross_entropy",
        /// Binary cross-entropy on probabilities from any `[0, 1]` output, clamped to `ε`.
        BceProbabilities => "bce_probabilities",
        /// Mean squared error over output units.
        Mse => "mse",
        /// Huber loss with threshold `delta > 0` (quadratic inside, linear outside).
        Huber {
            /// The threshold `δ` (default 1, as in PyTorch and Keras).
            delta: f64 = 1.0,
        } => "huber",
        /// Hinge loss on raw outputs, for ±1 margins.
        Hinge => "hinge",
    }
}

/// What a loss's gradient is with respect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradientOf {
    /// `∂L/∂A`, to be chained through the output activation.
    Output,
    /// `∂L/∂Z`, already fused with the output activation.
    PreActivation,
}

/// How predictions are scored for accuracy under a loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Independent binary outputs, positive when the output is ≥ `threshold`.
    Binary {
        /// The decision threshold on the output (0.5 for probabilities, 0 for margins).
        threshold_is_zero: bool,
    },
    /// One class per example: the argmax of the output column.
    Multiclass,
    /// Real-valued outputs: no accuracy.
    Regression,
}

impl Loss {
    /// Which gradient [`Loss::gradient_into`] produces.
    pub fn gradient_of(&self) -> GradientOf {
        match self {
            Loss::BinaryCrossEntropy | Loss::CategoricalCrossEntropy => GradientOf::PreActivation,
            Loss::BceProbabilities | Loss::Mse | Loss::Huber { .. } | Loss::Hinge => {
                GradientOf::Output
            }
        }
    }

    /// How accuracy is measured for this loss.
    pub fn task(&self) -> Task {
        match self {
            Loss::BinaryCrossEntropy | Loss::BceProbabilities => Task::Binary {
                threshold_is_zero: false,
            },
            Loss::Hinge => Task::Binary {
                threshold_is_zero: true,
            },
            Loss::CategoricalCrossEntropy => Task::Multiclass,
            Loss::Mse | Loss::Huber { .. } => Task::Regression,
        }
    }

    /// Checks that the loss fits an output layer with this activation and unit count;
    /// the message says what would fit.
    ///
    /// # Errors
    /// A description of the mismatch.
    pub fn check_output(
        &self,
        activation: Option<Activation>,
        units: usize,
    ) -> std::result::Result<(), String> {
        let found = || activation.map_or("none".to_string(), |a| a.to_string());
        let is = |g: Activation| activation == Some(g);
        match *self {
            Loss::BinaryCrossEntropy if is(Activation::Sigmoid) => Ok(()),
            Loss::BinaryCrossEntropy => Err(format!(
                "binary_cross_entropy is fused with a sigmoid output, but the last layer's \
                 activation is {}; use Activation::Sigmoid, or Loss::BceProbabilities",
                found()
            )),
            Loss::CategoricalCrossEntropy if is(Activation::Softmax) && units >= 2 => Ok(()),
            Loss::CategoricalCrossEntropy if is(Activation::Softmax) => Err(
                "categorical_cross_entropy needs at least 2 output units (classes); \
                 for one binary output use sigmoid + binary_cross_entropy"
                    .to_string(),
            ),
            Loss::CategoricalCrossEntropy => Err(format!(
                "categorical_cross_entropy is fused with a softmax output, but the last \
                 layer's activation is {}; use Activation::Softmax",
                found()
            )),
            Loss::BceProbabilities if is(Activation::Sigmoid) || is(Activation::Softmax) => Ok(()),
            Loss::BceProbabilities => Err(format!(
                "bce_probabilities needs outputs in [0, 1] (sigmoid or softmax), but the \
                 last layer's activation is {}",
                found()
            )),
            Loss::Huber { delta } if !(delta.is_finite() && delta > 0.0) => {
                Err(format!("huber delta must be finite and > 0, found {delta}"))
            }
            Loss::Mse | Loss::Huber { .. } | Loss::Hinge => Ok(()),
        }
    }

    /// Checks that every target suits the loss (binary in `[0, 1]`, hinge in {−1, 0, 1},
    /// categorical columns non-negative and summing to 1).
    ///
    /// # Errors
    /// [`TrainError::BadTarget`] naming the first offending entry.
    pub fn check_targets<T: Scalar>(&self, y: &DMatrix<T>) -> Result<()> {
        let bad = |problem: &str, i: usize, v: T| TrainError::BadTarget {
            problem: problem.to_string(),
            row: i % y.nrows().max(1),
            col: i / y.nrows().max(1),
            value: v.to_f64(),
        };
        match self {
            Loss::BinaryCrossEntropy | Loss::BceProbabilities => {
                let in_range = |v: T| v >= T::zero() && v <= T::one();
                if let Some(i) = y.iter().position(|&v| !in_range(v)) {
                    return Err(bad("binary labels must be in [0, 1]", i, y[i]));
                }
            }
            Loss::Hinge => {
                let ok = |v: T| v == T::zero() || v == T::one() || v == -T::one();
                if let Some(i) = y.iter().position(|&v| !ok(v)) {
                    return Err(bad("hinge labels must be -1, 0 or 1", i, y[i]));
                }
            }
            Loss::CategoricalCrossEntropy => {
                if let Some(i) = y.iter().position(|&v| v < T::zero()) {
                    return Err(bad("class probabilities must be ≥ 0", i, y[i]));
                }
                let tol = 1e-4_f64.max(T::EPSILON.to_f64() * 100.0);
                for (j, col) in y.column_iter().enumerate() {
                    let s = col.iter().fold(0.0, |s, v| s + v.to_f64());
                    if (s - 1.0).abs() > tol {
                        return Err(TrainError::BadTarget {
                            problem: "each target column must be one-hot (or sum to 1)".to_string(),
                            row: 0,
                            col: j,
                            value: s,
                        });
                    }
                }
            }
            Loss::Mse | Loss::Huber { .. } => {}
        }
        Ok(())
    }

    /// The cost `J = (1/m) Σ_examples L`, accumulated in `f64`. `z` is the output layer's
    /// pre-activation (needed by the fused losses), `a` its output: for categorical
    /// cross-entropy `a` must be `softmax(z)`, as the network's forward pass makes it.
    pub fn cost<T: Scalar>(&self, z: &DMatrix<T>, a: &DMatrix<T>, y: &DMatrix<T>) -> f64 {
        let m = a.ncols().max(1) as f64;
        let k = a.nrows().max(1) as f64;
        let f = |v: T| v.to_f64();
        let total: f64 = match *self {
            Loss::BinaryCrossEntropy => {
                z.iter()
                    .zip(y.iter())
                    .map(|(&z, &y)| {
                        let (z, y) = (f(z), f(y));
                        z.max(0.0) - z * y + (-z.abs()).exp().ln_1p()
                    })
                    .sum::<f64>()
                    / k
            }
            Loss::CategoricalCrossEntropy => {
                let rows = z.nrows().max(1);
                z.as_slice()
                    .chunks_exact(rows)
                    .zip(a.as_slice().chunks_exact(rows))
                    .zip(y.as_slice().chunks_exact(rows))
                    .map(|((zc, ac), yc)| cross_entropy_column(zc, ac, yc))
                    .sum()
            }
            Loss::BceProbabilities => {
                let eps = PROBABILITY_EPSILON;
                a.iter()
                    .zip(y.iter())
                    .map(|(&a, &y)| {
                        let (a, y) = (f(a).clamp(eps, 1.0 - eps), f(y));
                        -(y * a.ln() + (1.0 - y) * (1.0 - a).ln())
                    })
                    .sum::<f64>()
                    / k
            }
            Loss::Mse => {
                a.iter()
                    .zip(y.iter())
                    .map(|(&a, &y)| (f(a) - f(y)).powi(2))
                    .sum::<f64>()
                    / k
            }
            Loss::Huber { delta } => {
                a.iter()
                    .zip(y.iter())
                    .map(|(&a, &y)| {
                        let r = (f(a) - f(y)).abs();
                        if r <= delta {
                            0.5 * r * r
                        } else {
                            delta * (r - 0.5 * delta)
                        }
                    })
                    .sum::<f64>()
                    / k
            }
            Loss::Hinge => {
                a.iter()
                    .zip(y.iter())
                    .map(|(&a, &y)| (1.0 - hinge_sign(f(y)) * f(a)).max(0.0))
                    .sum::<f64>()
                    / k
            }
        };
        total / m
    }

    /// Writes the gradient that starts backpropagation into `out` (resized as needed), per
    /// example (the `1/m` of `J` is applied by the layers): `dZ` for the fused losses, `dA`
    /// for the others (see [`Loss::gradient_of`]). Allocates nothing once `out` is sized.
    pub fn gradient_into<T: Scalar>(
        &self,
        a: &DMatrix<T>,
        y: &DMatrix<T>,
        out: &mut DMatrix<T>,
    ) -> GradientOf {
        fit_buffer(out, a.nrows(), a.ncols());
        let k = T::from_count(a.nrows().max(1));
        // Contiguous slices (nalgebra's iterators are strided and do not vectorise).
        let pairs = out
            .as_mut_slice()
            .iter_mut()
            .zip(a.as_slice().iter().zip(y.as_slice()));
        match *self {
            Loss::CategoricalCrossEntropy => {
                pairs.for_each(|(o, (&a, &y))| *o = a - y);
            }
            Loss::BinaryCrossEntropy => {
                pairs.for_each(|(o, (&a, &y))| *o = (a - y) / k);
            }
            Loss::BceProbabilities => {
                let eps = T::cast(PROBABILITY_EPSILON);
                pairs.for_each(|(o, (&a, &y))| {
                    *o = if a < eps || a > T::one() - eps {
                        T::zero()
                    } else {
                        (a - y) / (k * a * (T::one() - a))
                    }
                });
            }
            Loss::Mse => pairs.for_each(|(o, (&a, &y))| *o = (a - y) * T::cast(2.0) / k),
            Loss::Huber { delta } => {
                let d = T::cast(delta);
                pairs.for_each(|(o, (&a, &y))| *o = (a - y).clamp(-d, d) / k);
            }
            Loss::Hinge => pairs.for_each(|(o, (&a, &y))| {
                let t = T::cast(hinge_sign(y.to_f64()));
                *o = if t * a < T::one() { -t / k } else { T::zero() };
            }),
        }
        self.gradient_of()
    }
}

/// Smallest softmax output whose logarithm [`cross_entropy_column`] trusts: below it, an
/// `f32` output may have lost digits (or underflowed to 0), so the column is recomputed
/// from the logits.
const LN_SAFE_PROBABILITY: f64 = 1e-30;

/// One column's `Σ_k y_k (logsumexp(z) − z_k)`, for softmax outputs `a = softmax(z)`.
///
/// `logsumexp(z) − z_k = −ln a_k`, so with one-hot targets this is one logarithm per
/// column instead of an exponential per entry — the cost is computed at every training
/// step. Where a target's probability is tiny, the log-sum-exp of the logits is used, which
/// stays exact however confident the wrong answer.
fn cross_entropy_column<T: Scalar>(z: &[T], a: &[T], y: &[T]) -> f64 {
    let mut total = 0.0;
    for (&a_k, &y_k) in a.iter().zip(y) {
        if y_k != T::zero() {
            let a_k = a_k.to_f64();
            if a_k.is_nan() || a_k < LN_SAFE_PROBABILITY {
                let max = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v.to_f64()));
                let lse = max
                    + z.iter()
                        .map(|&v| (v.to_f64() - max).exp())
                        .sum::<f64>()
                        .ln();
                return z
                    .iter()
                    .zip(y)
                    .map(|(&z, &y)| y.to_f64() * (lse - z.to_f64()))
                    .sum();
            }
            total -= y_k.to_f64() * a_k.ln();
        }
    }
    total
}

/// Hinge targets: 1 stays 1, 0 and −1 become −1.
fn hinge_sign(y: f64) -> f64 {
    if y > 0.0 { 1.0 } else { -1.0 }
}

impl fmt::Display for Loss {
    /// The name, with the parameter in Rust's `Debug` form for a parameterised loss:
    /// `mse`, `huber(1.0)`, `huber(0.001)` (the form model files of version 1 store).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.parameter() {
            None => f.write_str(self.name()),
            Some((_, value)) => write!(f, "{}({value:?})", self.name()),
        }
    }
}

impl FromStr for Loss {
    type Err = TrainError;

    /// Parses one of [`Loss::NAMES`] (spaces around it allowed): a name, or for the
    /// parameterised loss `name(number)`; `huber` alone is `huber(1.0)`.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] for an unknown name or a parameter that is not a
    /// number; for a Huber `delta` that is not finite and `> 0`.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let unknown = || TrainError::InvalidConfig {
            what: "loss name",
            expected: Loss::EXPECTED,
            found: format!("{s:?}"),
        };
        let (name, text) = match s.split_once('(') {
            None => (s, None),
            Some((name, rest)) => (name, Some(rest.strip_suffix(')').ok_or_else(unknown)?)),
        };
        let loss = Loss::from_name(name).ok_or_else(unknown)?;
        match (loss.parameter(), text) {
            (_, None) => Ok(loss),
            (None, Some(_)) => Err(unknown()),
            (Some(_), Some(text)) => {
                let value: f64 = text.trim().parse().map_err(|_| unknown())?;
                let loss = loss.with_parameter(value);
                loss.validate()?;
                Ok(loss)
            }
        }
    }
}

impl Loss {
    /// Checks the parameter: a Huber `delta` must be finite and `> 0`.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] naming the parameter and its value.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Loss::Huber { delta } if !(delta.is_finite() && delta > 0.0) => {
                Err(TrainError::InvalidConfig {
                    what: "huber delta",
                    expected: "finite and > 0",
                    found: delta.to_string(),
                })
            }
            Loss::BinaryCrossEntropy
            | Loss::CategoricalCrossEntropy
            | Loss::BceProbabilities
            | Loss::Mse
            | Loss::Huber { .. }
            | Loss::Hinge => Ok(()),
        }
    }
}

impl serde::Serialize for Loss {
    /// The `Display` string, e.g. `"huber(1.0)"`.
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        nn_core::text::serialize(self, serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Loss {
    /// A string in the `FromStr` grammar, with its errors.
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        nn_core::text::deserialize(deserializer)
    }
}
