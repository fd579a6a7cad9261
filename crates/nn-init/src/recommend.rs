//! Which initializer the literature pairs with each activation.
//!
//! | activation                      | initializer              | why                                                        |
//! |---------------------------------|--------------------------|------------------------------------------------------------|
//! | identity, tanh, sigmoid, softmax, step | `xavier_normal` (1/n_in) | near-linear around 0: keeping `Var(z)` needs `n_in·Var(W) = 1` (Glorot & Bengio 2010; the tutorial's form) |
//! | ReLU                            | `he_normal(0)` (2/n_in)  | ReLU keeps half of the second moment (He et al. 2015)       |
//! | leaky ReLU, slope `α`           | `he_normal(α)` (2/((1+α²) n_in)) | it keeps `(1 + α²)/2` of it                        |
//! | ELU, GELU, GELU (tanh), SiLU, softplus | `he_normal(0)`   | ReLU-like for large inputs; He init is the common practice (Clevert et al. 2016 for ELU) |
//! | SELU                            | `lecun_normal` (1/n_in)  | the self-normalising fixed point assumes it (Klambauer et al. 2017) |

use nn_activations::Activation;

use crate::Init;

/// The initializer the literature recommends for layers followed by `activation` (see the
/// table in the crate docs).
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
    match activation {
        Activation::Identity
        | Activation::Step
        | Activation::Sigmoid
        | Activation::Tanh
        | Activation::Softmax => Init::XavierNormal,
        Activation::Relu => Init::HeNormal { slope: 0.0 },
        Activation::LeakyRelu { slope } => Init::HeNormal { slope },
        Activation::Selu => Init::LecunNormal,
        Activation::Elu { .. }
        | Activation::Gelu
        | Activation::GeluTanh
        | Activation::Silu
        | Activation::Softplus => Init::HeNormal { slope: 0.0 },
    }
}
