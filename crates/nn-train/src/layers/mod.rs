//! Layers: the [`Layer`] trait and its implementations (dense, dropout, 2-D convolution,
//! pooling, flatten), the window geometry convolution and pooling share, and
//! [`LayerSpec`], the plain-data configuration a network is built from.

mod conv;
mod dense;
mod dropout;
mod flatten;
mod layer;
mod pool;
mod spec;
pub(crate) mod window;

pub use conv::Conv2d;
pub use dense::Dense;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use layer::{FeatureShape, Layer, Mode, ParamMut, Upstream};
pub use pool::{AvgPool2d, MaxPool2d};
pub(crate) use spec::ParamSource;
pub use spec::{LayerPlan, LayerSpec, ParamShape};
