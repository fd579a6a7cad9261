//! RMSProp: gradient scaled by a running root mean square.

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::Scalar;

/// `s ← ρ s + (1 − ρ) g²`, `θ ← θ − η g / (√s + ε)`.
pub(super) fn rmsprop<T: Scalar>(
    theta: &mut DMatrix<T>,
    g: &DMatrix<T>,
    s: &mut DMatrix<T>,
    lr: T,
    rho: f64,
    eps: f64,
) {
    let (rho, one_minus_rho, eps) = (T::cast(rho), T::cast(1.0 - rho), T::cast(eps));
    for ((p, &g), s) in theta.iter_mut().zip(g.iter()).zip(s.iter_mut()) {
        *s = rho * *s + one_minus_rho * g * g;
        *p -= lr * g / (s.sqrt() + eps);
    }
}
