//! Which initializer the literature pairs with each activation: the activation's
//! [`WeightScale`] as an [`Init`].

use nn_activations::{Activation, WeightScale};

use crate::Init;

/// The initializer the literature recommends for layers followed by `activation`: the
/// normal initializer of its [`Activation::weight_scale`] (the "init" column of the table
/// on [`Activation`]; the reasons are on [`WeightScale`]).
///
/// | weight scale | `Var(W)` | initializer | activations |
/// |---|---|---|---|
/// | `Xavier` | `1/n_in` | `xavier_normal` | identity, step, sigmoid, tanh, softmax |
/// | `He { slope }` | `2/((1 + slope²) n_in)` | `he_normal(slope)` | ReLU, leaky ReLU (its slope), ELU, GELU, GELU (tanh), SiLU, softplus |
/// | `Lecun` | `1/n_in` | `lecun_normal` | SELU |
///
/// ```
/// use nn_init::{nn_activations::Activation, recommended_for, Init};
/// assert_eq!(recommended_for(Activation::Tanh), Init::XavierNormal);
/// assert_eq!(recommended_for(Activation::Relu), Init::HeNormal { slope: 0.0 });
/// assert_eq!(
///     recommended_for(Activation::LeakyRelu { slope: 0.1 }),
///     Init::HeNormal { slope: 0.1 }
/// );
/// assert_eq!(recommended_for(Activation::Selu), Init::LecunNormal);
/// ```
pub fn recommended_for(activation: Activation) -> Init {
    match activation.weight_scale() {
        WeightScale::Xavier => Init::XavierNormal,
        WeightScale::He { slope } => Init::HeNormal { slope },
        WeightScale::Lecun => Init::LecunNormal,
    }
}
