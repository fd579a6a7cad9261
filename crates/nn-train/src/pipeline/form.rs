//! The stored form of a [`Pipeline`] (serde), with each step's formula in words, and its
//! validation on load: a hostile or inconsistent form is a [`FormatError::Pipeline`],
//! never a panic, and no list longer than its limit is built.

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Feature, NumericImpute, PIPELINE_VERSION, Pipeline, Scaling, Target, TaskKind};
use crate::data::{ColumnKind, MAX_TABLE_COLUMNS};
use crate::error::{FormatError, Result, TrainError};
use crate::limits::Limits;

use super::task::MAX_CLASSES;

/// The most categories one categorical column may have in a stored pipeline.
pub const MAX_CATEGORIES: usize = 1 << 16;

/// The most missing-value tokens a stored pipeline may list.
pub const MAX_MISSING_TOKENS: usize = 1024;

const IMPUTE_FORMULA: &str = "x = fill where the cell is missing (its text is one of \
    `missing`, after trimming whitespace); numeric columns: fill = the training mean or median \
    (`numeric`) of the column; categorical columns: fill = the most frequent training category, \
    ties to the first in byte order";
const ONE_HOT_FORMULA: &str = "a categorical column with categories [c_1, ..., c_k] becomes k \
    inputs x_i = 1 if the (imputed) cell equals c_i else 0; a category not in the list gives \
    all zeros; numeric columns are one input each; inputs in the order of `columns`";
const TARGET_REGRESSION: &str = "y' = (y - shift) / scale for training; a prediction is \
    y = y' * scale + shift";
const TARGET_CLASSIFICATION: &str = "output i is the class classes[i] (softmax: one probability \
    per class; a single sigmoid output: the probability of classes[1]); integer labels are \
    named as integers, so 3.0 is class \"3\"";

fn scale_formula(scaling: Scaling) -> &'static str {
    match scaling {
        Scaling::Standardize => {
            "x' = (x - shift) / scale for numeric columns, after imputation; shift = training \
             mean, scale = training population standard deviation (1 for a constant column); \
             one-hot inputs are not scaled"
        }
        Scaling::MinMax => {
            "x' = (x - shift) / scale for numeric columns, after imputation; shift = training \
             minimum, scale = training maximum - minimum (1 for a constant column); one-hot \
             inputs are not scaled"
        }
        Scaling::None => {
            "x' = (x - shift) / scale with shift = 0 and scale = 1: numeric columns unscaled"
        }
    }
}

/// A list that refuses to grow beyond `N` elements while it is parsed.
#[derive(Debug, Clone, PartialEq)]
struct Bounded<T, const N: usize>(Vec<T>);

impl<T: Serialize, const N: usize> Serialize for Bounded<T, N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for Bounded<T, N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T, const N: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for V<T, N> {
            type Value = Bounded<T, N>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an array of at most {N} elements")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = seq.next_element()? {
                    if out.len() == N {
                        return Err(de::Error::custom(format_args!(
                            "more than {N} elements (the limit)"
                        )));
                    }
                    out.push(x);
                }
                Ok(Bounded(out))
            }
        }
        d.deserialize_seq(V::<T, N>(PhantomData))
    }
}

/// A column's fill: a number (numeric) or a category (categorical).
#[derive(Debug, Clone, PartialEq)]
enum Fill {
    Number(f64),
    Text(String),
}

impl Serialize for Fill {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Fill::Number(v) => s.serialize_f64(*v),
            Fill::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for Fill {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Fill;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Fill, E> {
                Ok(Fill::Number(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Fill, E> {
                Ok(Fill::Number(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Fill, E> {
                Ok(Fill::Number(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Fill, E> {
                Ok(Fill::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One feature column.
#[derive(Serialize, Deserialize)]
struct ColumnForm {
    name: String,
    kind: ColumnKind,
    fill: Fill,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shift: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scale: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    categories: Option<Bounded<String, MAX_CATEGORIES>>,
}

#[derive(Serialize, Deserialize)]
struct ImputeForm {
    numeric: NumericImpute,
    categorical: String,
    formula: String,
}

#[derive(Serialize, Deserialize)]
struct OneHotForm {
    unknown: String,
    formula: String,
}

#[derive(Serialize, Deserialize)]
struct ScaleForm {
    kind: Scaling,
    formula: String,
}

#[derive(Serialize, Deserialize)]
struct TargetForm {
    task: TaskKind,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    classes: Option<Bounded<String, MAX_CLASSES>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shift: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scale: Option<f64>,
    formula: String,
}

/// The whole stored form.
#[derive(Serialize, Deserialize)]
struct PipelineForm {
    version: u32,
    missing: Bounded<String, MAX_MISSING_TOKENS>,
    columns: Bounded<ColumnForm, MAX_TABLE_COLUMNS>,
    /// The network inputs' names, derived from `columns` (checked on load).
    inputs: Bounded<String, { crate::limits::DEFAULT_MAX_EXAMPLE_VALUES }>,
    impute: ImputeForm,
    one_hot: OneHotForm,
    scale: ScaleForm,
    target: TargetForm,
}

fn bad(problem: String) -> TrainError {
    FormatError::Pipeline { problem }.into()
}

fn finite(what: &str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(bad(format!("{what} must be a finite number, found {v}")))
    }
}

fn positive(what: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(bad(format!(
            "{what} must be a finite number > 0, found {v}"
        )))
    }
}

/// Distinct, and (if `sorted`) in strictly ascending byte order.
fn check_names(what: &str, names: &[String], sorted: bool) -> Result<()> {
    if names.is_empty() {
        return Err(bad(format!(
            "{what}: expected at least one name, found none"
        )));
    }
    if sorted {
        if let Some(w) = names.windows(2).find(|w| w[0] >= w[1]) {
            return Err(bad(format!(
                "{what} must be distinct and in byte order, found {:?} before {:?}",
                w[0], w[1]
            )));
        }
    } else {
        let mut seen = HashSet::new();
        if let Some(n) = names.iter().find(|n| !seen.insert(n.as_str())) {
            return Err(bad(format!("{what}: {n:?} occurs twice")));
        }
    }
    Ok(())
}

impl Pipeline {
    fn form(&self) -> PipelineForm {
        let columns = self
            .features
            .iter()
            .map(|f| match f {
                Feature::Numeric {
                    name,
                    fill,
                    shift,
                    scale,
                } => ColumnForm {
                    name: name.clone(),
                    kind: ColumnKind::Numeric,
                    fill: Fill::Number(*fill),
                    shift: Some(*shift),
                    scale: Some(*scale),
                    categories: None,
                },
                Feature::Categorical {
                    name,
                    fill,
                    categories,
                } => ColumnForm {
                    name: name.clone(),
                    kind: ColumnKind::Categorical,
                    fill: Fill::Text(fill.clone()),
                    shift: None,
                    scale: None,
                    categories: Some(Bounded(categories.clone())),
                },
            })
            .collect();
        let target = match &self.target {
            Target::Classification { name, classes } => TargetForm {
                task: TaskKind::Classification,
                name: name.clone(),
                classes: Some(Bounded(classes.clone())),
                shift: None,
                scale: None,
                formula: TARGET_CLASSIFICATION.into(),
            },
            Target::Regression { name, shift, scale } => TargetForm {
                task: TaskKind::Regression,
                name: name.clone(),
                classes: None,
                shift: Some(*shift),
                scale: Some(*scale),
                formula: TARGET_REGRESSION.into(),
            },
        };
        PipelineForm {
            version: PIPELINE_VERSION,
            missing: Bounded(self.missing.clone()),
            columns: Bounded(columns),
            inputs: Bounded(self.input_names()),
            impute: ImputeForm {
                numeric: self.impute,
                categorical: "most_frequent".into(),
                formula: IMPUTE_FORMULA.into(),
            },
            one_hot: OneHotForm {
                unknown: "zeros".into(),
                formula: ONE_HOT_FORMULA.into(),
            },
            scale: ScaleForm {
                kind: self.scaling,
                formula: scale_formula(self.scaling).into(),
            },
            target,
        }
    }

    /// The stored form (see the module docs): every fitted number in shortest round-trip
    /// form, so reading gives back the same bits; keys sorted.
    pub fn to_json(&self) -> Value {
        // Strings, numbers and arrays of them always serialise.
        serde_json::to_value(self.form()).unwrap_or(Value::Null)
    }

    /// Reads a pipeline from the text of its stored form, with the default [`Limits`].
    ///
    /// # Errors
    /// As [`Pipeline::from_json_str_with`].
    pub fn from_json_str(text: &str) -> Result<Pipeline> {
        Self::from_json_str_with(text, &Limits::default())
    }

    /// Reads a pipeline from the text of its stored form, validating everything: the
    /// version, every field's type, finite fills and shifts, positive finite scales,
    /// distinct column names, categories and classes distinct and (categories) in byte
    /// order, each fill a known category, the `inputs` names matching the columns, lists
    /// within [`MAX_TABLE_COLUMNS`], [`MAX_CATEGORIES`], [`MAX_CLASSES`] and
    /// [`MAX_MISSING_TOKENS`] (refused while parsing, before they are built), and the
    /// number of inputs within [`Limits::max_example_values`].
    ///
    /// # Errors
    /// [`FormatError::Pipeline`] naming the first problem.
    pub fn from_json_str_with(text: &str, limits: &Limits) -> Result<Pipeline> {
        // The version first, so that a form of another version is named as such.
        #[derive(Deserialize)]
        struct Version {
            version: Option<Value>,
        }
        match serde_json::from_str::<Version>(text) {
            Ok(Version { version: Some(v) }) if v != PIPELINE_VERSION => {
                return Err(bad(format!(
                    "version {v}, but this build reads version {PIPELINE_VERSION} only"
                )));
            }
            _ => {}
        }
        let form: PipelineForm =
            serde_json::from_str(text).map_err(|e| bad(format!("not a stored pipeline: {e}")))?;
        Self::from_form(form, limits)
    }

    /// [`Pipeline::from_json_str`] on a JSON value.
    ///
    /// # Errors
    /// As [`Pipeline::from_json_str_with`].
    pub fn from_json(value: &Value) -> Result<Pipeline> {
        Self::from_json_str(&value.to_string())
    }

    fn from_form(form: PipelineForm, limits: &Limits) -> Result<Pipeline> {
        if form.version != PIPELINE_VERSION {
            return Err(bad(format!(
                "version {}, but this build reads version {PIPELINE_VERSION} only",
                form.version
            )));
        }
        if form.impute.categorical != "most_frequent" {
            return Err(bad(format!(
                "impute.categorical must be \"most_frequent\", found {:?}",
                form.impute.categorical
            )));
        }
        if form.one_hot.unknown != "zeros" {
            return Err(bad(format!(
                "one_hot.unknown must be \"zeros\", found {:?}",
                form.one_hot.unknown
            )));
        }
        let scaling = form.scale.kind;
        let mut features = Vec::with_capacity(form.columns.0.len());
        for (i, c) in form.columns.0.into_iter().enumerate() {
            let column_name = c.name.clone();
            let at = |field: &str| format!("columns[{i}] ({column_name:?}).{field}");
            let feature = match (c.kind, c.fill) {
                (ColumnKind::Numeric, Fill::Number(fill)) => {
                    if c.categories.is_some() {
                        return Err(bad(format!(
                            "{}: a numeric column has no categories",
                            at("categories")
                        )));
                    }
                    let shift = finite(&at("shift"), c.shift.unwrap_or(f64::NAN))?;
                    let scale = positive(&at("scale"), c.scale.unwrap_or(f64::NAN))?;
                    if scaling == Scaling::None && (shift != 0.0 || scale != 1.0) {
                        return Err(bad(format!(
                            "{}: scale kind none needs shift 0 and scale 1, found {shift} and {scale}",
                            at("shift")
                        )));
                    }
                    let fill = finite(&at("fill"), fill)?;
                    Feature::Numeric {
                        name: c.name,
                        fill,
                        shift,
                        scale,
                    }
                }
                (ColumnKind::Categorical, Fill::Text(fill)) => {
                    if c.shift.is_some() || c.scale.is_some() {
                        return Err(bad(format!(
                            "{}: a categorical column is not scaled",
                            at("shift")
                        )));
                    }
                    let categories = c
                        .categories
                        .ok_or_else(|| bad(format!("{}: missing", at("categories"))))?
                        .0;
                    check_names(&at("categories"), &categories, true)?;
                    if categories.binary_search(&fill).is_err() {
                        return Err(bad(format!(
                            "{}: {fill:?} is not one of the categories",
                            at("fill")
                        )));
                    }
                    Feature::Categorical {
                        name: c.name,
                        fill,
                        categories,
                    }
                }
                (ColumnKind::Numeric, Fill::Text(_)) => {
                    return Err(bad(format!(
                        "{}: a numeric column's fill is a number",
                        at("fill")
                    )));
                }
                (ColumnKind::Categorical, Fill::Number(_)) => {
                    return Err(bad(format!(
                        "{}: a categorical column's fill is a category (a string)",
                        at("fill")
                    )));
                }
            };
            features.push(feature);
        }
        let target = match form.target.task {
            TaskKind::Classification => {
                if form.target.shift.is_some() || form.target.scale.is_some() {
                    return Err(bad("target: a classification target is not scaled".into()));
                }
                let classes = form
                    .target
                    .classes
                    .ok_or_else(|| bad("target.classes: missing".into()))?
                    .0;
                check_names("target.classes", &classes, false)?;
                if classes.len() < 2 {
                    return Err(bad(format!(
                        "target.classes: expected at least two classes, found {}",
                        classes.len()
                    )));
                }
                Target::Classification {
                    name: form.target.name,
                    classes,
                }
            }
            TaskKind::Regression => {
                if form.target.classes.is_some() {
                    return Err(bad("target: a regression target has no classes".into()));
                }
                Target::Regression {
                    name: form.target.name,
                    shift: finite("target.shift", form.target.shift.unwrap_or(f64::NAN))?,
                    scale: positive("target.scale", form.target.scale.unwrap_or(f64::NAN))?,
                }
            }
        };
        let pipeline = Pipeline {
            missing: form.missing.0,
            impute: form.impute.numeric,
            scaling,
            features,
            target,
        };
        pipeline.validate(limits)?;
        let inputs = pipeline.input_names();
        if inputs != form.inputs.0 {
            return Err(bad(format!(
                "inputs: expected the {} names the columns make ({}), found {} names",
                inputs.len(),
                excerpt(&inputs),
                form.inputs.0.len()
            )));
        }
        Ok(pipeline)
    }

    /// The checks every pipeline passes, fitted or loaded: at least one feature, distinct
    /// column names (the label's among them), finite numbers, positive scales, and the
    /// inputs within `limits`.
    pub(super) fn validate(&self, limits: &Limits) -> Result<()> {
        if self.features.is_empty() {
            return Err(bad("columns: expected at least one feature column".into()));
        }
        let mut names: Vec<String> = self.features.iter().map(|f| f.name().to_string()).collect();
        names.push(self.label().to_string());
        check_names("column names (features and label)", &names, false)?;
        if self.missing.len() > MAX_MISSING_TOKENS {
            return Err(bad(format!(
                "{} missing-value tokens, more than {MAX_MISSING_TOKENS}",
                self.missing.len()
            )));
        }
        if let Some(f) = self.features.iter().find(|f| f.width() > MAX_CATEGORIES) {
            return Err(bad(format!(
                "column {:?}: {} categories, more than {MAX_CATEGORIES} (MAX_CATEGORIES)",
                f.name(),
                f.width()
            )));
        }
        if let Some(c) = self.classes().filter(|c| c.len() > MAX_CLASSES) {
            return Err(bad(format!("{} classes, more than {MAX_CLASSES}", c.len())));
        }
        for f in &self.features {
            if let Feature::Numeric {
                name,
                fill,
                shift,
                scale,
            } = f
            {
                finite(&format!("column {name:?}: fill"), *fill)?;
                finite(&format!("column {name:?}: shift"), *shift)?;
                positive(&format!("column {name:?}: scale"), *scale)?;
            }
        }
        if let Target::Regression { shift, scale, .. } = &self.target {
            finite("target.shift", *shift)?;
            positive("target.scale", *scale)?;
        }
        let n: usize = self
            .features
            .iter()
            .try_fold(0usize, |acc, f| acc.checked_add(f.width()))
            .unwrap_or(usize::MAX);
        if n > limits.max_example_values {
            return Err(bad(format!(
                "{n} network inputs, more than the {} allowed (Limits::max_example_values)",
                limits.max_example_values
            )));
        }
        Ok(())
    }
}

/// The first few names, for a message.
fn excerpt(names: &[String]) -> String {
    let mut s = names.iter().take(8).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 8 {
        s.push_str(", …");
    }
    s
}
