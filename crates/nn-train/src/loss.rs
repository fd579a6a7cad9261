//! Loss functions: the per-example loss `L(ŷ, y)`, the cost `J = (1/m) Σ L`, and the
//! gradient that starts backpropagation.
//!
//! Sigmoid + binary cross-entropy and softmax + categorical cross-entropy are fused: their
//! cost is finite for any logits `Z` (binary: computed from `Z`; categorical: `−ln a` read
//! off the softmax output, from `Z`'s log-sum-exp where `a` is too small to trust), and they
//! hand the output layer `dZ = A − Y` directly instead of going through `g'(Z)`, which would
//! divide by a saturated `A(1 − A)`.
//!
//! The cross-entropies take optional per-class weights: [`Loss::weighted_cost`] gives
//! the formulas.

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

    /// Checks per-class weights for this loss on an output layer of `units` units: only
    /// the cross-entropies take them; `[w_0, w_1]` (negative class first) for
    /// `binary_cross_entropy` and `bce_probabilities` (applied to every output unit), one
    /// per unit (class) for `categorical_cross_entropy`; each finite and ≥ 0, not all 0.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] saying which rule the weights break.
    pub fn check_class_weights(&self, weights: &[f64], units: usize) -> Result<()> {
        let bad = |expected: &'static str, found: String| {
            Err(TrainError::InvalidConfig {
                what: "class weights",
                expected,
                found,
            })
        };
        let count = match self {
            Loss::BinaryCrossEntropy | Loss::BceProbabilities => 2,
            Loss::CategoricalCrossEntropy => units,
            Loss::Mse | Loss::Huber { .. } | Loss::Hinge => {
                return bad(
                    "a cross-entropy loss (binary_cross_entropy, bce_probabilities or \
                     categorical_cross_entropy)",
                    format!("class weights with loss {self}"),
                );
            }
        };
        if weights.len() != count {
            let expected = match self {
                Loss::CategoricalCrossEntropy => "one weight per class (output unit)",
                _ => "two weights, [w_0, w_1] (negative class first)",
            };
            return bad(
                expected,
                format!("{} weights for {count} classes", weights.len()),
            );
        }
        if let Some((c, w)) = weights
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
        {
            return bad("finite weights ≥ 0", format!("weight {w} for class {c}"));
        }
        if weights.iter().all(|&w| w == 0.0) {
            return bad("at least one weight > 0", format!("{weights:?}"));
        }
        Ok(())
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
        self.weighted_cost(z, a, y, None)
    }

    /// [`Loss::cost`] with per-class weights: `weights` as [`Loss::check_class_weights`]
    /// accepts them (`[w_0, w_1]` for the binary losses, one per output unit for the
    /// categorical one), `None` for the unweighted cost (the same bits as [`Loss::cost`]).
    /// Losses other than the cross-entropies ignore them.
    ///
    /// Each example's loss is scaled by the weight of its class ([`balanced_class_weights`]
    /// makes scikit-learn's `"balanced"` ones), and the cost stays a mean over the `m`
    /// examples:
    ///
    /// ```text
    /// categorical:  J = −(1/m) Σ_j Σ_k w_k y_kj ln a_kj
    ///                 = −(1/m) Σ_j w_{y_j} ln a_{y_j, j}        for one-hot Y
    /// binary:       J = −(1/m) Σ_j (1/K) Σ_k w_1 y ln a + w_0 (1 − y) ln(1 − a)
    /// ```
    ///
    /// This is scikit-learn's `class_weight` (each sample's loss scaled, the mean over
    /// samples), and PyTorch's `CrossEntropyLoss(weight=w, reduction="sum")` divided by `m`
    /// — not its `reduction="mean"`, which divides by `Σ_j w_{y_j}` instead. Dividing by `m`
    /// keeps `J` the mean the rest of the crate assumes: the layers' `1/m` stays the only
    /// normaliser, a mini-batch's gradient is an unbiased estimate of the whole set's (a
    /// per-batch `Σ w` would make each batch's scale depend on its mix of classes), and the
    /// shares of a data-parallel step add up exactly as without weights. With
    /// [`balanced_class_weights`] `Σ_j w_{y_j} = m` over the training set, so there the two
    /// normalisations agree.
    ///
    /// Weighted gradients, still fused: categorical `dZ = A ∘ s − w ∘ Y` with
    /// `s_j = Σ_k w_k y_kj` per column (`w_c (A − Y)` for a one-hot column of class `c`);
    /// binary `dZ = (w_0 (1 − y) a − w_1 y (1 − a)) / K` (`w_y (a − y)/K` for 0/1 targets).
    pub fn weighted_cost<T: Scalar>(
        &self,
        z: &DMatrix<T>,
        a: &DMatrix<T>,
        y: &DMatrix<T>,
        weights: Option<&[f64]>,
    ) -> f64 {
        let m = a.ncols().max(1) as f64;
        let k = a.nrows().max(1) as f64;
        let f = |v: T| v.to_f64();
        if let (Loss::BinaryCrossEntropy | Loss::BceProbabilities, Some(&[w0, w1])) =
            (*self, weights)
        {
            let eps = PROBABILITY_EPSILON;
            let fused = *self == Loss::BinaryCrossEntropy;
            // −ln a and −ln(1 − a): from the logits when fused (stable for any z), else
            // from the clamped probability.
            let total: f64 = z
                .iter()
                .zip(a.iter())
                .zip(y.iter())
                .map(|((&z, &a), &y)| {
                    let (z, a, y) = (f(z), f(a).clamp(eps, 1.0 - eps), f(y));
                    let (ln_a, ln_1a) = if fused {
                        (-softplus(-z), -softplus(z))
                    } else {
                        (a.ln(), (1.0 - a).ln())
                    };
                    -(w1 * y * ln_a + w0 * (1.0 - y) * ln_1a)
                })
                .sum();
            return total / k / m;
        }
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
                    .map(|((zc, ac), yc)| cross_entropy_column(zc, ac, yc, weights))
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
        self.weighted_gradient_into(a, y, None, out)
    }

    /// [`Loss::gradient_into`] of [`Loss::weighted_cost`]: with `None`, the same bits as
    /// the unweighted gradient; the fused losses stay fused
    /// ([`Loss::weighted_cost`] gives `dZ`).
    pub fn weighted_gradient_into<T: Scalar>(
        &self,
        a: &DMatrix<T>,
        y: &DMatrix<T>,
        weights: Option<&[f64]>,
        out: &mut DMatrix<T>,
    ) -> GradientOf {
        fit_buffer(out, a.nrows(), a.ncols());
        match (*self, weights) {
            (Loss::CategoricalCrossEntropy, Some(w)) if w.len() == a.nrows() => {
                let rows = a.nrows().max(1);
                for ((o, ac), yc) in out
                    .as_mut_slice()
                    .chunks_exact_mut(rows)
                    .zip(a.as_slice().chunks_exact(rows))
                    .zip(y.as_slice().chunks_exact(rows))
                {
                    let s = yc
                        .iter()
                        .zip(w)
                        .fold(T::zero(), |s, (&y, &w)| s + T::cast(w) * y);
                    for (((o, &a), &y), &w) in o.iter_mut().zip(ac).zip(yc).zip(w) {
                        *o = a * s - T::cast(w) * y;
                    }
                }
                return self.gradient_of();
            }
            (Loss::BinaryCrossEntropy, Some(&[w0, w1])) => {
                let k = T::from_count(a.nrows().max(1));
                let (w0, w1) = (T::cast(w0), T::cast(w1));
                let pairs = out
                    .as_mut_slice()
                    .iter_mut()
                    .zip(a.as_slice().iter().zip(y.as_slice()));
                pairs.for_each(|(o, (&a, &y))| {
                    *o = (w0 * (T::one() - y) * a - w1 * y * (T::one() - a)) / k;
                });
                return self.gradient_of();
            }
            (Loss::BceProbabilities, Some(&[w0, w1])) => {
                let k = T::from_count(a.nrows().max(1));
                let (w0, w1) = (T::cast(w0), T::cast(w1));
                let eps = T::cast(PROBABILITY_EPSILON);
                let pairs = out
                    .as_mut_slice()
                    .iter_mut()
                    .zip(a.as_slice().iter().zip(y.as_slice()));
                pairs.for_each(|(o, (&a, &y))| {
                    *o = if a < eps || a > T::one() - eps {
                        T::zero()
                    } else {
                        (w0 * (T::one() - y) / (T::one() - a) - w1 * y / a) / k
                    }
                });
                return self.gradient_of();
            }
            _ => {}
        }
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
///
/// With class weights `w` each term is scaled by its class's weight:
/// `Σ_k w_k y_k (logsumexp(z) − z_k)`.
fn cross_entropy_column<T: Scalar>(z: &[T], a: &[T], y: &[T], w: Option<&[f64]>) -> f64 {
    let weight = |k: usize| w.and_then(|w| w.get(k)).copied();
    let mut total = 0.0;
    for (index, (&a_k, &y_k)) in a.iter().zip(y).enumerate() {
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
                    .enumerate()
                    .map(|(k, (&z, &y))| {
                        let term = y.to_f64() * (lse - z.to_f64());
                        weight(k).map_or(term, |w| w * term)
                    })
                    .sum();
            }
            let term = y_k.to_f64() * a_k.ln();
            total -= weight(index).map_or(term, |w| w * term);
        }
    }
    total
}

/// `ln(1 + eˣ)`, stable for any `x`.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// scikit-learn's `class_weight="balanced"`: `w_c = n / (k · n_c)` from the number of
/// examples `n_c` of each of the `k` classes (`n = Σ n_c`), so that every class carries the
/// same total weight `n / k`. For the binary losses pass `[n_0, n_1]` (negatives first);
/// [`crate::metrics::class_counts`] counts them from targets.
///
/// # Errors
/// [`TrainError::BadInput`] naming the first class without examples (its weight would be
/// infinite), or for fewer than two classes.
pub fn balanced_class_weights(counts: &[usize]) -> Result<Vec<f64>> {
    if counts.len() < 2 {
        return Err(TrainError::BadInput {
            what: "class counts for balanced class weights",
            expected: "at least 2 classes".into(),
            found: format!("{} classes", counts.len()),
        });
    }
    if let Some(c) = counts.iter().position(|&n| n == 0) {
        return Err(TrainError::BadInput {
            what: "class counts for balanced class weights",
            expected: "at least one example of every class".into(),
            found: format!("no example of class {c} (weight n / (k · 0) would be infinite)"),
        });
    }
    let n: usize = counts.iter().sum();
    let k = counts.len() as f64;
    Ok(counts
        .iter()
        .map(|&n_c| n as f64 / (k * n_c as f64))
        .collect())
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
