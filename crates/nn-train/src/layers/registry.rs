//! The registration that turns the record of a layer kind defined outside this crate
//! ([`crate::LayerRecord::Custom`]) back into a layer: [`LayerRegistry`].

use std::fmt;

use nn_init::nn_activations::nn_core::Scalar;
use serde_json::Value;

use crate::error::{FormatError, Result, TrainError};
use crate::layers::LayerSpec;
use crate::layers::layer::{FeatureShape, Layer};

/// Makes a layer from its configuration and its input shape.
type Make<T> = dyn Fn(&Value, FeatureShape) -> Result<Box<dyn Layer<T>>> + Send + Sync;

/// The layer kinds of your own that a model file may hold, by type name: each maps the
/// `"config"` JSON of its [`crate::LayerRecord::Custom`] and the layer's input shape to a built
/// layer. Loading then reads the layer's parameters ([`Layer::params`]) from the file into
/// it, by name, after checking their shapes against the file.
///
/// A registration is given untrusted JSON when the file is: it should check the sizes it
/// reads before allocating.
pub struct LayerRegistry<T: Scalar> {
    kinds: Vec<(String, Box<Make<T>>)>,
}

impl<T: Scalar> Default for LayerRegistry<T> {
    fn default() -> Self {
        Self { kinds: Vec::new() }
    }
}

impl<T: Scalar> fmt::Debug for LayerRegistry<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.kinds.iter().map(|(name, _)| name))
            .finish()
    }
}

impl<T: Scalar> LayerRegistry<T> {
    /// A registry that knows no layer kinds of its own (only the built-in layers load).
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the layer kind `type_name`: `make` builds a layer from its configuration
    /// and its input shape. A later registration of the same name replaces the earlier.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] if `type_name` is a built-in layer's
    /// ([`LayerSpec::TYPES`]).
    pub fn register(
        &mut self,
        type_name: &str,
        make: impl Fn(&Value, FeatureShape) -> Result<Box<dyn Layer<T>>> + Send + Sync + 'static,
    ) -> Result<&mut Self> {
        if LayerSpec::TYPES.contains(&type_name) {
            return Err(TrainError::InvalidConfig {
                what: "layer type name",
                expected: "a name that is not a built-in layer's",
                found: format!("`{type_name}`"),
            });
        }
        self.kinds.retain(|(name, _)| name != type_name);
        self.kinds.push((type_name.to_string(), Box::new(make)));
        Ok(self)
    }

    /// The names registered, in registration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.kinds.iter().map(|(name, _)| name.as_str())
    }

    /// Builds layer `index` of kind `type_name` from `config` for inputs of `input` shape.
    ///
    /// # Errors
    /// [`FormatError::UnknownLayerType`] naming the layer and the type if it is not
    /// registered; [`TrainError::InvalidArchitecture`] naming them if its registration fails
    /// or makes a layer for another input shape.
    pub fn build(
        &self,
        type_name: &str,
        config: &Value,
        input: FeatureShape,
        index: usize,
    ) -> Result<Box<dyn Layer<T>>> {
        let invalid = |problem: String| TrainError::InvalidArchitecture {
            layer: index,
            what: format!("{type_name}({config})"),
            problem,
        };
        let Some((_, make)) = self.kinds.iter().find(|(name, _)| name == type_name) else {
            return Err(FormatError::UnknownLayerType {
                layer: index,
                what: format!("{type_name}({config})"),
                found: type_name.to_string(),
                known: LayerSpec::TYPES
                    .iter()
                    .copied()
                    .chain(self.names())
                    .map(str::to_string)
                    .collect(),
                hint: " (register a layer kind of your own in a LayerRegistry to load it)",
            }
            .into());
        };
        let layer = make(config, input).map_err(|e| invalid(e.to_string()))?;
        if layer.input_shape() != input {
            return Err(invalid(format!(
                "its registration made a layer for inputs of {}, but its input is {input}",
                layer.input_shape()
            )));
        }
        Ok(layer)
    }
}
