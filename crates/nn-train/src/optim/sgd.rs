//! Gradient descent, with and without (Nesterov) momentum.

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::Scalar;

/// `θ ← θ − η g`.
pub(super) fn sgd<T: Scalar>(theta: &mut DMatrix<T>, g: &DMatrix<T>, lr: T) {
    theta.zip_apply(g, |p, g| *p -= lr * g);
}

/// `v ← β v + g`, then `θ ← θ − η v` (heavy ball) or `θ ← θ − η (g + β v)` (Nesterov).
pub(super) fn momentum<T: Scalar>(
    theta: &mut DMatrix<T>,
    g: &DMatrix<T>,
    v: &mut DMatrix<T>,
    lr: T,
    beta: T,
    nesterov: bool,
) {
    for ((p, &g), v) in theta.iter_mut().zip(g.iter()).zip(v.iter_mut()) {
        *v = beta * *v + g;
        *p -= lr * if nesterov { g + beta * *v } else { *v };
    }
}
