//! Input encoders ("whitening the inputs"): standardisation, min–max scaling, and PCA or
//! ZCA whitening, fitted on training data only and applied to any data after.
//!
//! | kind | transform `x ↦ x'` | inverse |
//! |---|---|---|
//! | [`EncoderKind::Standardize`] | `(x − μ) / σ` per feature (`σ = 1` where constant) | `x'σ + μ` |
//! | [`EncoderKind::MinMax`] | `(x − min) / (max − min)` per feature, into `[0, 1]` | `x'(max − min) + min` |
//! | [`EncoderKind::PcaWhitening`] | `(Λ + ε)^(−½) Uᵀ (x − μ)` | `U (Λ + ε)^(½) x' + μ` |
//! | [`EncoderKind::ZcaWhitening`] | `U (Λ + ε)^(−½) Uᵀ (x − μ)` | `U (Λ + ε)^(½) Uᵀ x' + μ` |
//!
//! `μ`, `σ` and the covariance `C = U Λ Uᵀ` are population statistics (`1/m`) of the
//! training inputs. Whitened training data has identity covariance up to `Λ/(Λ + ε)`.
//! Statistics are fitted and applied in `f64` whatever the data's scalar type.
//!
//! ```
//! use nalgebra::DMatrix;
//! use nn_train::encode::{Encoder, EncoderKind};
//! let x = DMatrix::<f64>::from_row_slice(2, 4, &[1.0, 2.0, 3.0, 4.0,
//!                                         10.0, 10.0, 10.0, 10.0]);
//! let enc = Encoder::fit(EncoderKind::Standardize, &x)?;
//! let z = enc.transform(&x)?;
//! assert!((z.row(0).sum()).abs() < 1e-12);   // centred
//! assert_eq!(z.row(1).sum(), 0.0);            // the constant feature becomes 0, not NaN
//! let back = enc.inverse_transform(&z)?;
//! assert!((back - &x).amax() < 1e-12);
//! # Ok::<(), nn_train::TrainError>(())
//! ```

mod scale;
mod whiten;

use std::fmt;

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::Scalar;
use serde_json::{Value, json};

use crate::{Result, TrainError, check};

/// Which encoder to fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EncoderKind {
    /// Zero mean, unit variance per feature (z-score).
    Standardize,
    /// Each feature into `[0, 1]` over the training data.
    MinMax,
    /// Decorrelate onto the principal axes and scale to unit variance.
    PcaWhitening {
        /// The regulariser `ε ≥ 0` added to each eigenvalue (0 needs an invertible
        /// covariance).
        epsilon: f64,
    },
    /// PCA whitening rotated back onto the original axes (the whitened data closest to
    /// the input).
    ZcaWhitening {
        /// The regulariser `ε ≥ 0` added to each eigenvalue.
        epsilon: f64,
    },
}

impl EncoderKind {
    fn name(&self) -> &'static str {
        match self {
            EncoderKind::Standardize => "standardize",
            EncoderKind::MinMax => "min_max",
            EncoderKind::PcaWhitening { .. } => "pca_whitening",
            EncoderKind::ZcaWhitening { .. } => "zca_whitening",
        }
    }
}

impl fmt::Display for EncoderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncoderKind::PcaWhitening { epsilon } | EncoderKind::ZcaWhitening { epsilon } => {
                write!(f, "{}(epsilon={epsilon:?})", self.name())
            }
            _ => f.write_str(self.name()),
        }
    }
}

/// How the centred input is mapped.
#[derive(Debug, Clone, PartialEq)]
enum Map {
    /// Divide feature `i` by `scale[i]`.
    Scale(Vec<f64>),
    /// Multiply by `w`; `inverse = w⁻¹`.
    Linear {
        w: DMatrix<f64>,
        inverse: DMatrix<f64>,
    },
}

/// A fitted encoder: `x' = map(x − shift)`. Fit with [`Encoder::fit`]; saved inside model
/// files (see [`crate::persist`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Encoder {
    kind: EncoderKind,
    /// `μ` (or the minimum for min–max), per feature.
    shift: Vec<f64>,
    map: Map,
}

fn f64_matrix<T: Scalar>(x: &DMatrix<T>) -> DMatrix<f64> {
    x.map(|v| v.to_f64())
}

impl Encoder {
    /// Fits the encoder to training inputs `X: (n_features, m)`.
    ///
    /// # Errors
    /// [`TrainError::EmptyData`] without examples; [`TrainError::NonFiniteData`];
    /// [`TrainError::InvalidConfig`] for a negative or non-finite `ε`;
    /// [`TrainError::SingularCovariance`] when whitening with `ε = 0` data whose
    /// covariance is not invertible (fewer examples than features, a constant or duplicated
    /// feature).
    pub fn fit<T: Scalar>(kind: EncoderKind, x: &DMatrix<T>) -> Result<Self> {
        if x.ncols() == 0 || x.nrows() == 0 {
            return Err(TrainError::EmptyData {
                what: "encoder training inputs",
            });
        }
        check::finite("encoder training inputs", x)?;
        let x = f64_matrix(x);
        let (shift, map) = match kind {
            EncoderKind::Standardize => {
                let (mean, scale) = scale::standardize(&x);
                (mean, Map::Scale(scale))
            }
            EncoderKind::MinMax => {
                let (low, range) = scale::min_max(&x);
                (low, Map::Scale(range))
            }
            EncoderKind::PcaWhitening { epsilon } | EncoderKind::ZcaWhitening { epsilon } => {
                if !(epsilon.is_finite() && epsilon >= 0.0) {
                    return Err(TrainError::InvalidConfig {
                        what: "whitening ε",
                        expected: "finite and ≥ 0",
                        found: epsilon.to_string(),
                    });
                }
                let (mean, _) = scale::standardize(&x);
                let mut xc = x;
                for (mut row, mu) in xc.row_iter_mut().zip(&mean) {
                    row.add_scalar_mut(-mu);
                }
                let zca = matches!(kind, EncoderKind::ZcaWhitening { .. });
                let (w, inverse) = whiten::fit(&xc, epsilon, zca)?;
                (mean, Map::Linear { w, inverse })
            }
        };
        Ok(Self { kind, shift, map })
    }

    /// Fits to `x` and returns the encoder with the encoded `x`.
    ///
    /// # Errors
    /// As [`Encoder::fit`].
    pub fn fit_transform<T: Scalar>(
        kind: EncoderKind,
        x: &DMatrix<T>,
    ) -> Result<(Self, DMatrix<T>)> {
        let enc = Self::fit(kind, x)?;
        let z = enc.transform(x)?;
        Ok((enc, z))
    }

    /// What was fitted.
    pub fn kind(&self) -> EncoderKind {
        self.kind
    }

    /// Number of features it takes (and returns).
    pub fn n_features(&self) -> usize {
        self.shift.len()
    }

    fn check_rows<T: Scalar>(&self, what: &'static str, x: &DMatrix<T>) -> Result<()> {
        if x.nrows() != self.n_features() {
            return Err(TrainError::BadShape {
                what,
                expected: format!(
                    "{} rows (the features the encoder was fitted on)",
                    self.n_features()
                ),
                found: format!("{} rows × {} columns", x.nrows(), x.ncols()),
            });
        }
        check::finite(what, x)
    }

    /// Encodes `X: (n_features, m)` (allocates the result).
    ///
    /// # Errors
    /// [`TrainError::BadShape`] for the wrong number of features;
    /// [`TrainError::NonFiniteData`].
    pub fn transform<T: Scalar>(&self, x: &DMatrix<T>) -> Result<DMatrix<T>> {
        self.check_rows("encoder input", x)?;
        let mut xc = f64_matrix(x);
        for (mut row, s) in xc.row_iter_mut().zip(&self.shift) {
            row.add_scalar_mut(-s);
        }
        let out = match &self.map {
            Map::Scale(scale) => {
                for (mut row, s) in xc.row_iter_mut().zip(scale) {
                    row /= *s;
                }
                xc
            }
            Map::Linear { w, .. } => w * xc,
        };
        Ok(out.map(T::cast))
    }

    /// Decodes encoded data back to the input space (allocates the result).
    ///
    /// # Errors
    /// As [`Encoder::transform`].
    pub fn inverse_transform<T: Scalar>(&self, z: &DMatrix<T>) -> Result<DMatrix<T>> {
        self.check_rows("encoded data", z)?;
        let z = f64_matrix(z);
        let mut x = match &self.map {
            Map::Scale(scale) => {
                let mut x = z;
                for (mut row, s) in x.row_iter_mut().zip(scale) {
                    row *= *s;
                }
                x
            }
            Map::Linear { inverse, .. } => inverse * z,
        };
        for (mut row, s) in x.row_iter_mut().zip(&self.shift) {
            row.add_scalar_mut(*s);
        }
        Ok(x.map(T::cast))
    }

    /// The encoder as JSON (the form stored in model files): `kind` (`"standardize"`,
    /// `"min_max"`, `"pca_whitening"`, `"zca_whitening"`), `epsilon` for whitening,
    /// `shift` (subtracted first: the mean, or the minimum), then `scale` (divided by,
    /// per feature) or `matrix` and `inverse` (`n × n`, row-major). Numbers are written
    /// in shortest round-trip form, so reading gives back the same bits.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "kind": self.kind.name(),
            "shift": self.shift,
        });
        if let EncoderKind::PcaWhitening { epsilon } | EncoderKind::ZcaWhitening { epsilon } =
            self.kind
        {
            v["epsilon"] = json!(epsilon);
        }
        match &self.map {
            Map::Scale(scale) => v["scale"] = json!(scale),
            Map::Linear { w, inverse } => {
                // Row-major: the transpose's column-major storage.
                v["matrix"] = json!(w.transpose().as_slice());
                v["inverse"] = json!(inverse.transpose().as_slice());
            }
        }
        v
    }

    /// Reads an encoder from [`Encoder::to_json`]'s form, validating every field.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] naming the first missing, mistyped, mis-sized or
    /// non-finite field, or an unknown kind.
    pub fn from_json(v: &Value) -> Result<Self> {
        let bad = |expected: &'static str, found: String| TrainError::InvalidConfig {
            what: "encoder JSON",
            expected,
            found,
        };
        let numbers = |key: &str| -> Result<Vec<f64>> {
            let arr = v.get(key).and_then(Value::as_array).ok_or_else(|| {
                bad(
                    "fields shift, scale (standardize, min_max) or matrix, inverse (whitening) as arrays of numbers",
                    format!("no array {key:?}"),
                )
            })?;
            arr.iter()
                .map(|x| {
                    x.as_f64()
                        .filter(|f| f.is_finite())
                        .ok_or_else(|| bad("finite numbers", format!("{key}: {x}")))
                })
                .collect()
        };
        let kind_name = v
            .get("kind")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("a string field \"kind\"", v.to_string()))?;
        let shift = numbers("shift")?;
        let n = shift.len();
        if n == 0 {
            return Err(bad("at least one feature", "empty shift".into()));
        }
        let epsilon = || -> Result<f64> {
            v.get("epsilon")
                .and_then(Value::as_f64)
                .filter(|e| e.is_finite() && *e >= 0.0)
                .ok_or_else(|| {
                    bad(
                        "a finite epsilon ≥ 0 for whitening",
                        v.get("epsilon").map_or("none".into(), Value::to_string),
                    )
                })
        };
        let kind = match kind_name {
            "standardize" => EncoderKind::Standardize,
            "min_max" => EncoderKind::MinMax,
            "pca_whitening" => EncoderKind::PcaWhitening {
                epsilon: epsilon()?,
            },
            "zca_whitening" => EncoderKind::ZcaWhitening {
                epsilon: epsilon()?,
            },
            other => {
                return Err(bad(
                    "kind standardize, min_max, pca_whitening or zca_whitening",
                    format!("{other:?}"),
                ));
            }
        };
        let map = match kind {
            EncoderKind::Standardize | EncoderKind::MinMax => {
                let scale = numbers("scale")?;
                if scale.len() != n || scale.iter().any(|s| *s <= 0.0) {
                    return Err(bad(
                        "as many positive scales as shifts",
                        format!("{} scales for {n} features", scale.len()),
                    ));
                }
                Map::Scale(scale)
            }
            _ => {
                let square = |key: &str| -> Result<DMatrix<f64>> {
                    let vals = numbers(key)?;
                    if vals.len() != n * n {
                        return Err(bad(
                            "an n × n matrix, row-major, for n features",
                            format!("{key}: {} numbers for {n} features", vals.len()),
                        ));
                    }
                    Ok(DMatrix::from_row_slice(n, n, &vals))
                };
                Map::Linear {
                    w: square("matrix")?,
                    inverse: square("inverse")?,
                }
            }
        };
        Ok(Self { kind, shift, map })
    }
}

impl fmt::Display for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Encoder({}, {} features)", self.kind, self.n_features())
    }
}
