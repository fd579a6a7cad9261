//! Layers: the [`Layer`] trait and its implementations (dense, dropout, 2-D convolution,
//! pooling, flatten), each beside its configuration ([`DenseConfig`], [`Conv2dConfig`],
//! …), the window geometry convolution and pooling share, and [`LayerSpec`], the enum of
//! those configurations that networks are built from and model files store.
//!
//! ## One description per layer
//!
//! A layer kind is one file: the layer (a [`Layer`]: shapes, forward, backward, infer;
//! its trainable tensors as named [`Param`]s; its random stream as a [`Stochastic`] if it
//! draws) and its configuration (serde-serialisable plain data with `plan`, the shapes and
//! sizes it will have, checked against the limits before anything is allocated, and
//! `build`). [`LayerSpec`] lists the configurations once, in the `layer_specs!` table
//! below, which generates the enum, its serde form (`{"type": "dense", …}`), its type
//! names and its dispatch.
//!
//! ## Layers of your own
//!
//! Any type implementing [`Layer`] (and `Clone`) goes into a network with
//! [`crate::NetworkBuilder::push`], as do built-in layers made from given weights
//! ([`Dense::from_parameters`], [`Conv2d::from_parameters`]). To be saved, a layer says
//! how model files record it ([`Layer::record`]): a type name and its configuration as
//! JSON ([`LayerRecord::custom`]), stored as `{"type": name, "config": …}` with its
//! parameters as the tensors `layers.{i}.{name}` like any layer's. The default records
//! nothing, and saving a network holding such a layer fails naming it. Loading a file with
//! a type this build does not know fails with "unknown layer type `name`" unless the
//! caller passes a [`LayerRegistry`] in which the name is registered with a function from
//! (configuration, input shape) to a built layer
//! ([`crate::persist::model_from_bytes_registered`]); the parameters are then read from the
//! file into the layer's [`Param`]s after their shapes are checked.
//!
//! ```
//! use nalgebra::DMatrix;
//! use nn_train::persist::{model_from_bytes, model_from_bytes_registered, model_to_bytes};
//! use nn_train::*;
//!
//! /// `A = −X`: no parameters, so only the six compute methods and `record`.
//! #[derive(Debug, Clone)]
//! struct Negate { n: usize, out: DMatrix<f64> }
//!
//! impl std::fmt::Display for Negate {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         write!(f, "Negate({})", self.n)
//!     }
//! }
//!
//! impl Layer<f64> for Negate {
//!     fn input_shape(&self) -> FeatureShape { FeatureShape::Flat(self.n) }
//!     fn output_shape(&self) -> FeatureShape { FeatureShape::Flat(self.n) }
//!     fn forward(&mut self, x: &DMatrix<f64>, _: Mode) -> Result<()> {
//!         self.out = -x;
//!         Ok(())
//!     }
//!     fn output(&self) -> Option<&DMatrix<f64>> { Some(&self.out) }
//!     fn backward(
//!         &mut self,
//!         _x: &DMatrix<f64>,
//!         upstream: Upstream<'_, f64>,
//!         d_input: Option<&mut DMatrix<f64>>,
//!     ) -> Result<()> {
//!         if let (Upstream::Output(da), Some(dx)) = (upstream, d_input) {
//!             *dx = -da; // dX = −dA
//!         }
//!         Ok(())
//!     }
//!     fn infer(&self, x: &DMatrix<f64>) -> Result<DMatrix<f64>> { Ok(-x) }
//!     fn record(&self) -> Option<LayerRecord> {
//!         Some(LayerRecord::custom("negate", nn_train::serde_json::json!({ "n": self.n })))
//!     }
//! }
//!
//! let net = Network::<f64>::builder(2)
//!     .dense(3, Activation::Tanh)
//!     .push(Negate { n: 3, out: DMatrix::zeros(3, 0) })
//!     .dense(1, Activation::Sigmoid)
//!     .loss(Loss::BinaryCrossEntropy)
//!     .build()?;
//! let bytes = model_to_bytes(&net, None)?;
//! let err = model_from_bytes::<f64>(&bytes, "model").unwrap_err();
//! assert!(err.to_string().contains("unknown layer type `negate`"));
//!
//! let mut registry = LayerRegistry::new();
//! registry.register("negate", |_config, input| {
//!     Ok(Box::new(Negate { n: input.len(), out: DMatrix::zeros(input.len(), 0) })
//!         as Box<dyn Layer<f64>>)
//! })?;
//! let loaded = model_from_bytes_registered(&bytes, "model", &Limits::default(), &registry)?;
//! let x = DMatrix::from_element(2, 4, 0.5);
//! assert_eq!(loaded.network.predict(&x)?, net.predict(&x)?);
//! # Ok::<(), TrainError>(())
//! ```

mod conv;
mod dense;
mod dropout;
mod flatten;
pub(crate) mod lanes;
mod layer;
mod pool;
mod registry;
mod spec;
pub(crate) mod window;

use std::fmt;

use nn_init::nn_activations::nn_core::Scalar;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::limits::Limits;

pub use conv::{Conv2d, Conv2dConfig};
pub use dense::{Dense, DenseConfig};
pub use dropout::{Dropout, DropoutConfig};
pub use flatten::{Flatten, FlattenConfig};
pub use lanes::{LANES, Lanes};
pub use layer::{
    FeatureShape, Layer, LayerClone, LayerRecord, Mode, Param, ParamMut, Stochastic, Upstream,
};
pub use pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
pub use registry::LayerRegistry;
pub(crate) use spec::ParamSource;
pub use spec::{LayerPlan, ParamShape};

/// Generates [`LayerSpec`] from its table of `Variant(Config) = "type name"`: the enum
/// with its serde form, [`LayerSpec::TYPES`], the dispatch of `plan`, `build` and
/// `Display` to the configuration, and `From<Config>`. Each configuration has
/// `plan(input, index, limits)`, `build(plan, input, (index, seed), source)` and `Display`.
macro_rules! layer_specs {
    ($($(#[$doc:meta])* $variant:ident($config:ident) = $name:literal,)+) => {
        /// The configuration of one built-in layer: plain data (sizes, activation,
        /// initializer), which building for an input shape validates and turns into a layer.
        /// Model files store it as JSON ([`LayerSpec::to_json`]), `{"type": …}` beside the
        /// configuration's fields.
        #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type")]
        pub enum LayerSpec {
            $($(#[$doc])* #[serde(rename = $name)] $variant($config),)+
        }

        impl LayerSpec {
            /// The `"type"` names of the built-in layers, as model files store them.
            pub const TYPES: &'static [&'static str] = &[$($name),+];

            /// Works out what this layer would be for inputs of `input` shape (its output
            /// shape and parameter tensors) without building it; `index` names it in errors.
            ///
            /// # Errors
            /// [`crate::TrainError::InvalidArchitecture`] if the layer cannot take this
            /// input (zero units or channels, an image fed to a dense layer without
            /// flattening, a flat vector fed to a convolution or pooling, a kernel larger
            /// than its padded input, a stride that leaves input unread);
            /// [`crate::TrainError::TooLarge`] if a size overflows or exceeds `limits`
            /// (parameters, or values per example, including a convolution's unfolded
            /// input).
            pub fn plan(&self, input: FeatureShape, index: usize, limits: &Limits) -> Result<LayerPlan> {
                match self {
                    $(LayerSpec::$variant(c) => c.plan(input, index, limits),)+
                }
            }

            /// Builds the layer that `plan` (from [`LayerSpec::plan`] for this `input`)
            /// describes, with its parameters from `source`.
            pub(crate) fn build_with<T: Scalar>(
                &self,
                plan: &LayerPlan,
                input: FeatureShape,
                (index, seed): (usize, u64),
                source: ParamSource<'_, T>,
            ) -> Result<Box<dyn Layer<T>>> {
                match self {
                    $(LayerSpec::$variant(c) => Ok(Box::new(c.build(plan, input, (index, seed), source)?)),)+
                }
            }
        }

        impl fmt::Display for LayerSpec {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(LayerSpec::$variant(c) => c.fmt(f),)+
                }
            }
        }

        $(impl From<$config> for LayerSpec {
            fn from(config: $config) -> Self {
                LayerSpec::$variant(config)
            }
        })+
    };
}

layer_specs! {
    /// A [`Dense`] layer.
    Dense(DenseConfig) = "dense",
    /// Inverted [`Dropout`].
    Dropout(DropoutConfig) = "dropout",
    /// A 2-D convolution, [`Conv2d`].
    Conv2d(Conv2dConfig) = "conv2d",
    /// Max pooling, [`MaxPool2d`].
    MaxPool2d(MaxPool2dConfig) = "max_pool2d",
    /// Average pooling, [`AvgPool2d`].
    AvgPool2d(AvgPool2dConfig) = "avg_pool2d",
    /// [`Flatten`]: image examples become flat feature vectors (the data is unchanged).
    Flatten(FlattenConfig) = "flatten",
}

impl LayerSpec {
    /// Builds the layer for inputs of `input` shape; `index` names it in errors and
    /// `seed` derives its random stream (weights, dropout masks).
    ///
    /// # Errors
    /// As [`LayerSpec::plan`] with the default [`Limits`]; a bad dropout rate is
    /// [`crate::TrainError::InvalidArchitecture`]; [`crate::TrainError::Init`] if the
    /// initializer rejects the sizes.
    pub fn build<T: Scalar>(
        &self,
        input: FeatureShape,
        index: usize,
        seed: u64,
    ) -> Result<Box<dyn Layer<T>>> {
        let plan = self.plan(input, index, &Limits::default())?;
        self.build_with(
            &plan,
            input,
            (index, seed),
            ParamSource::Drawn { bias: None },
        )
    }
}
