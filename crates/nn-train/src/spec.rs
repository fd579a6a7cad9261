//! Layer configurations: what a layer is, separate from its built parameters.
//!
//! A [`LayerSpec`] is plain data (sizes, activation, initializer); building it for an
//! input shape validates the sizes and draws the parameters. Model files store the specs.

use std::fmt;

use serde_json::{Value, json};

use nn_init::nn_activations::Activation;
use nn_init::nn_activations::nn_core::Scalar;
use nn_init::{Init, SeededRng, recommended_for};

use crate::dense::Dense;
use crate::dropout::Dropout;
use crate::layer::{FeatureShape, Layer};
use crate::{Result, TrainError};

/// The configuration of one layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayerSpec {
    /// A dense layer with `units` outputs; `init: None` uses
    /// [`recommended_for`]`(activation)`.
    Dense {
        /// Number of units (outputs).
        units: usize,
        /// The activation `g`.
        activation: Activation,
        /// The weight initializer; `None` picks the recommended one for `activation`.
        init: Option<Init>,
    },
    /// Inverted dropout with drop probability `rate ∈ [0, 1)`.
    Dropout {
        /// The drop probability.
        rate: f64,
    },
}

impl fmt::Display for LayerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerSpec::Dense {
                units, activation, ..
            } => write!(f, "Dense({units}, {activation})"),
            LayerSpec::Dropout { rate } => write!(f, "Dropout(p={rate})"),
        }
    }
}

impl LayerSpec {
    /// Builds the layer for inputs of `input` shape; `index` names it in errors and
    /// `seed` derives its random stream (weights, dropout masks).
    ///
    /// # Errors
    /// [`TrainError::InvalidArchitecture`] if the layer cannot take this input (zero units,
    /// an image fed to a dense layer without flattening, a bad dropout rate);
    /// [`TrainError::Init`] if the initializer rejects the sizes.
    pub fn build<T: Scalar>(
        &self,
        input: FeatureShape,
        index: usize,
        seed: u64,
    ) -> Result<Box<dyn Layer<T>>> {
        let invalid = |problem: String| TrainError::InvalidArchitecture {
            layer: index,
            what: self.to_string(),
            problem,
        };
        match *self {
            LayerSpec::Dense {
                units,
                activation,
                init,
            } => {
                let inputs = match input {
                    FeatureShape::Flat(n) => n,
                    FeatureShape::Image { .. } => {
                        return Err(invalid(format!(
                            "a dense layer takes a flat vector, but its input is an image \
                             {input}; add a flatten layer before it"
                        )));
                    }
                };
                if units == 0 || inputs == 0 {
                    return Err(invalid(format!(
                        "needs at least one unit and one input, found {units} units and \
                         {inputs} inputs"
                    )));
                }
                let init = init.unwrap_or_else(|| recommended_for(activation));
                let mut rng = SeededRng::stream(seed, 2 * index as u64);
                let w = init.weights::<T>(units, inputs, &mut rng)?;
                let b = init.bias::<T>(units, &mut rng)?;
                Ok(Box::new(Dense::new(w, b, activation)?))
            }
            LayerSpec::Dropout { rate } => {
                let mask_seed = SeededRng::stream(seed, 2 * index as u64 + 1).next_u64();
                Dropout::new(input, rate, mask_seed)
                    .map(|d| Box::new(d) as Box<dyn Layer<T>>)
                    .map_err(|e| invalid(e.to_string()))
            }
        }
    }
}

impl LayerSpec {
    /// The spec as JSON, the form model files store (see [`crate::persist`]):
    /// `{"type": "dense", "units": 16, "activation": "tanh", "init": null | "he_normal(0)"}`
    /// or `{"type": "dropout", "rate": 0.5}`. Activation and initializer names are their
    /// `Display` forms, which parse back to the same value.
    pub fn to_json(&self) -> Value {
        match self {
            LayerSpec::Dense {
                units,
                activation,
                init,
            } => json!({
                "type": "dense",
                "units": units,
                "activation": activation.to_string(),
                "init": init.map(|i| i.to_string()),
            }),
            LayerSpec::Dropout { rate } => json!({ "type": "dropout", "rate": rate }),
        }
    }

    /// Reads a spec from [`LayerSpec::to_json`]'s form; `index` names the layer in errors.
    /// Only the form is checked here; sizes are checked when the network is built.
    ///
    /// # Errors
    /// [`TrainError::InvalidArchitecture`] for an unknown layer type, a missing or mistyped
    /// field, or an activation or initializer name that does not parse.
    pub fn from_json(v: &Value, index: usize) -> Result<Self> {
        let invalid = |problem: String| TrainError::InvalidArchitecture {
            layer: index,
            what: v.to_string(),
            problem,
        };
        let field = |key: &str| {
            v.get(key)
                .ok_or_else(|| invalid(format!("missing field {key:?}")))
        };
        let kind = field("type")?
            .as_str()
            .ok_or_else(|| invalid("\"type\" must be a string".into()))?;
        match kind {
            "dense" => {
                let units = field("units")?
                    .as_u64()
                    .and_then(|u| usize::try_from(u).ok())
                    .ok_or_else(|| invalid("\"units\" must be a non-negative integer".into()))?;
                let name = field("activation")?
                    .as_str()
                    .ok_or_else(|| invalid("\"activation\" must be a string".into()))?;
                let activation: Activation = name
                    .parse()
                    .map_err(|e| invalid(format!("unknown activation: {e}")))?;
                let init = match v.get("init") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(
                        s.parse::<Init>()
                            .map_err(|e| invalid(format!("unknown initializer: {e}")))?,
                    ),
                    Some(other) => {
                        return Err(invalid(format!(
                            "\"init\" must be null or a string, found {other}"
                        )));
                    }
                };
                Ok(LayerSpec::Dense {
                    units,
                    activation,
                    init,
                })
            }
            "dropout" => {
                let rate = field("rate")?
                    .as_f64()
                    .ok_or_else(|| invalid("\"rate\" must be a number".into()))?;
                Ok(LayerSpec::Dropout { rate })
            }
            other => Err(invalid(format!(
                "unknown layer type {other:?}; this build knows \"dense\" and \"dropout\""
            ))),
        }
    }
}
