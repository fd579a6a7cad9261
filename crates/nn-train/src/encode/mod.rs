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
//! use nn_train::DMatrix;
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

pub(crate) mod scale;
mod whiten;

use std::fmt;

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::Scalar;
use serde::Deserialize;
use serde_json::Value;

use crate::check;
use crate::error::{Result, TrainError};

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
    /// The kind's name, as the JSON form's `"kind"` writes it (`"min_max"`).
    pub fn name(&self) -> &'static str {
        match self {
            EncoderKind::Standardize => "standardize",
            EncoderKind::MinMax => "min_max",
            EncoderKind::PcaWhitening { .. } => "pca_whitening",
            EncoderKind::ZcaWhitening { .. } => "zca_whitening",
        }
    }
}

impl fmt::Display for EncoderKind {
    /// The name, with `ε` for whitening: `standardize`, `pca_whitening(epsilon=0.001)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncoderKind::PcaWhitening { epsilon } | EncoderKind::ZcaWhitening { epsilon } => {
                write!(f, "{}(epsilon={epsilon:?})", self.name())
            }
            EncoderKind::Standardize | EncoderKind::MinMax => f.write_str(self.name()),
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

/// How a fitted encoder maps the centred input (see [`Encoder::parts`]).
#[cfg(feature = "onnx")]
pub(crate) enum EncoderMap<'a> {
    /// Divide feature `i` by the `i`-th scale.
    Scale(&'a [f64]),
    /// Multiply by this `n × n` matrix.
    Linear(&'a DMatrix<f64>),
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
    /// [`DataError::SingularCovariance`](crate::DataError::SingularCovariance) when
    /// whitening with `ε = 0` data whose covariance is not invertible (fewer examples than
    /// features, a constant or duplicated feature).
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

    /// The fitted values, for exporters: the shift (subtracted first), then per-feature
    /// scales (divided by) or the matrix `W` of `x' = W (x − shift)`.
    #[cfg(feature = "onnx")]
    pub(crate) fn parts(&self) -> (&[f64], EncoderMap<'_>) {
        let map = match &self.map {
            Map::Scale(scale) => EncoderMap::Scale(scale),
            Map::Linear { w, .. } => EncoderMap::Linear(w),
        };
        (&self.shift, map)
    }

    fn check_rows<T: Scalar>(&self, what: &'static str, x: &DMatrix<T>) -> Result<()> {
        // One row per feature the encoder was fitted on.
        if x.nrows() != self.n_features() {
            return Err(TrainError::BadShape {
                what,
                expected: (self.n_features(), x.ncols()),
                found: x.shape(),
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
        let out = match &self.map {
            Map::Scale(scale) => {
                for ((mut row, shift), s) in xc.row_iter_mut().zip(&self.shift).zip(scale) {
                    row.apply(|v| *v = scale::centre_and_scale(*v, *shift, *s));
                }
                xc
            }
            Map::Linear { w, .. } => {
                for (mut row, s) in xc.row_iter_mut().zip(&self.shift) {
                    row.add_scalar_mut(-s);
                }
                w * xc
            }
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
    /// `"min_max"`, `"pca_whitening"`, `"zca_whitening"`), `formula` (the transform in
    /// words: `"x' = (x - shift) / scale per feature; …"` or `"x' = matrix (x - shift), …"`;
    /// ignored on load, and optional there), `epsilon` for whitening,
    /// `shift` (subtracted first: the mean, or the minimum), then `scale` (divided by,
    /// per feature) or `matrix` and `inverse` (`n × n`, row-major). Numbers are written
    /// in shortest round-trip form, so reading gives back the same bits.
    pub fn to_json(&self) -> Value {
        // A struct of a string and arrays of numbers always serialises.
        serde_json::to_value(self.form()).unwrap_or(Value::Null)
    }

    /// The stored form of the encoder (what [`Encoder::to_json`] serialises).
    fn form(&self) -> EncoderForm {
        let epsilon = match self.kind {
            EncoderKind::PcaWhitening { epsilon } | EncoderKind::ZcaWhitening { epsilon } => {
                Some(epsilon)
            }
            EncoderKind::Standardize | EncoderKind::MinMax => None,
        };
        let (scale, matrix, inverse) = match &self.map {
            Map::Scale(scale) => (Some(scale.clone()), None, None),
            // Row-major: the transpose's column-major storage.
            Map::Linear { w, inverse } => (
                None,
                Some(w.transpose().as_slice().to_vec()),
                Some(inverse.transpose().as_slice().to_vec()),
            ),
        };
        EncoderForm {
            kind: self.kind.name().to_string(),
            formula: Some(formula(self.kind).to_string()),
            shift: self.shift.clone(),
            scale,
            matrix,
            inverse,
            epsilon,
        }
    }

    /// Reads an encoder from [`Encoder::to_json`]'s form, validating every field.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] naming the first missing, mistyped, mis-sized or
    /// non-finite field, or an unknown kind.
    pub fn from_json(v: &Value) -> Result<Self> {
        Self::from_form(EncoderForm::deserialize(v).map_err(form_error)?)
    }

    /// Reads an encoder from the text of [`Encoder::to_json`]'s form (as stored in model
    /// files). The arrays are parsed straight into `f64`s, 8 bytes a number, so a hostile
    /// header costs little more memory than its own length.
    ///
    /// # Errors
    /// As [`Encoder::from_json`].
    pub fn from_json_str(text: &str) -> Result<Self> {
        Self::from_form(serde_json::from_str(text).map_err(form_error)?)
    }

    fn from_form(form: EncoderForm) -> Result<Self> {
        let bad = |expected: &'static str, found: String| TrainError::InvalidConfig {
            what: "encoder JSON",
            expected,
            found,
        };
        let numbers = |key: &str, values: Option<Vec<f64>>| -> Result<Vec<f64>> {
            let values = values.ok_or_else(|| {
                bad(
                    "fields shift, scale (standardize, min_max) or matrix, inverse (whitening) as arrays of numbers",
                    format!("no array {key:?}"),
                )
            })?;
            match values.iter().find(|x| !x.is_finite()) {
                Some(x) => Err(bad("finite numbers", format!("{key}: {x}"))),
                None => Ok(values),
            }
        };
        let shift = numbers("shift", Some(form.shift))?;
        let n = shift.len();
        if n == 0 {
            return Err(bad("at least one feature", "empty shift".into()));
        }
        let epsilon = || -> Result<f64> {
            form.epsilon
                .filter(|e| e.is_finite() && *e >= 0.0)
                .ok_or_else(|| {
                    bad(
                        "a finite epsilon ≥ 0 for whitening",
                        form.epsilon.map_or("none".into(), |e| e.to_string()),
                    )
                })
        };
        let kind = match form.kind.as_str() {
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
                let scale = numbers("scale", form.scale)?;
                if scale.len() != n || scale.iter().any(|s| *s <= 0.0) {
                    return Err(bad(
                        "as many positive scales as shifts",
                        format!("{} scales for {n} features", scale.len()),
                    ));
                }
                Map::Scale(scale)
            }
            EncoderKind::PcaWhitening { .. } | EncoderKind::ZcaWhitening { .. } => {
                let square = |key: &str, values: Option<Vec<f64>>| -> Result<DMatrix<f64>> {
                    let vals = numbers(key, values)?;
                    // n ≤ the header's length, so n·n cannot overflow on 64-bit targets;
                    // checked anyway for 32-bit ones.
                    if Some(vals.len()) != n.checked_mul(n) {
                        return Err(bad(
                            "an n × n matrix, row-major, for n features",
                            format!("{key}: {} numbers for {n} features", vals.len()),
                        ));
                    }
                    Ok(DMatrix::from_row_slice(n, n, &vals))
                };
                Map::Linear {
                    w: square("matrix", form.matrix)?,
                    inverse: square("inverse", form.inverse)?,
                }
            }
        };
        Ok(Self { kind, shift, map })
    }

    /// Fails if a fitted value is not finite, naming it (such an encoder could not be
    /// read back from a model file: JSON has no infinity).
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] naming the field and feature.
    pub fn check_finite(&self) -> Result<()> {
        let fields: Vec<(&str, &[f64])> = match &self.map {
            Map::Scale(scale) => vec![("shift", &self.shift), ("scale", scale)],
            Map::Linear { w, inverse } => vec![
                ("shift", &self.shift),
                ("matrix", w.as_slice()),
                ("inverse", inverse.as_slice()),
            ],
        };
        for (name, values) in fields {
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(TrainError::InvalidConfig {
                    what: "encoder",
                    expected: "finite fitted values",
                    found: format!("{name}[{i}] = {}", values[i]),
                });
            }
        }
        Ok(())
    }
}

/// The number of features a stored encoder (the text of [`Encoder::to_json`]'s form)
/// takes, the length of its `shift`, counted without building any of its arrays: a
/// model file's loader compares it with the network before parsing the encoder.
///
/// # Errors
/// [`TrainError::InvalidConfig`] if the text is not an object with a `shift` array.
pub(crate) fn stored_features(text: &str) -> Result<usize> {
    /// The length of a JSON array, counted element by element.
    struct Len(usize);
    impl<'de> Deserialize<'de> for Len {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            struct Count;
            impl<'de> serde::de::Visitor<'de> for Count {
                type Value = usize;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an array")
                }
                fn visit_seq<A: serde::de::SeqAccess<'de>>(
                    self,
                    mut seq: A,
                ) -> std::result::Result<usize, A::Error> {
                    let mut n = 0;
                    while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                        n += 1;
                    }
                    Ok(n)
                }
            }
            d.deserialize_seq(Count).map(Len)
        }
    }
    #[derive(Deserialize)]
    struct Shape {
        shift: Len,
    }
    serde_json::from_str::<Shape>(text)
        .map(|s| s.shift.0)
        .map_err(form_error)
}

/// The formula of an encoder kind in words, as the stored form's `formula` states it.
fn formula(kind: EncoderKind) -> &'static str {
    match kind {
        EncoderKind::Standardize => {
            "x' = (x - shift) / scale per feature; shift = training mean, scale = training \
             population standard deviation (1 for a constant feature); inverse: x = x' * scale + shift"
        }
        EncoderKind::MinMax => {
            "x' = (x - shift) / scale per feature; shift = training minimum, scale = training \
             maximum - minimum (1 for a constant feature); inverse: x = x' * scale + shift"
        }
        EncoderKind::PcaWhitening { .. } => {
            "x' = matrix (x - shift), matrix n x n row-major: x'_i = sum_j matrix[i*n + j] * \
             (x_j - shift_j) (on rows of examples: (X - shift) @ matrix.T); shift = training \
             mean, matrix = (L + epsilon)^(-1/2) U^T for the training covariance U L U^T, \
             eigenvalues in decreasing order; inverse: x = inverse x' + shift"
        }
        EncoderKind::ZcaWhitening { .. } => {
            "x' = matrix (x - shift), matrix n x n row-major: x'_i = sum_j matrix[i*n + j] * \
             (x_j - shift_j) (on rows of examples: (X - shift) @ matrix.T); shift = training \
             mean, matrix = U (L + epsilon)^(-1/2) U^T for the training covariance U L U^T; \
             inverse: x = inverse x' + shift"
        }
    }
}

/// The stored form of an encoder (serde): written through a JSON value (keys sorted),
/// read without an intermediate JSON tree. Absent fields are left out, not `null`.
/// `formula` is written for readers and ignored on load (files written before it was
/// added have none).
#[derive(serde::Serialize, serde::Deserialize)]
struct EncoderForm {
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    formula: Option<String>,
    shift: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    matrix: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inverse: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    epsilon: Option<f64>,
}

fn form_error(e: serde_json::Error) -> TrainError {
    TrainError::InvalidConfig {
        what: "encoder JSON",
        expected: "{\"kind\": …, \"shift\": [numbers], …} as written by Encoder::to_json",
        found: e.to_string(),
    }
}

impl fmt::Display for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Encoder({}, {} features)", self.kind, self.n_features())
    }
}
