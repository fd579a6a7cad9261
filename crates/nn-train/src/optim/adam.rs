//! Adam and AdamW: bias-corrected moment estimates, with decoupled weight decay for AdamW.

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::Scalar;

/// Hyperparameters of one Adam step (`t` counts from 1).
pub(super) struct AdamStep {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub t: u64,
    /// Decoupled decay `λ` (0 for Adam, and for AdamW's biases).
    pub weight_decay: f64,
}

/// ```text
/// θ ← θ (1 − η λ)                      (AdamW only)
/// m ← β₁ m + (1 − β₁) g                v ← β₂ v + (1 − β₂) g²
/// θ ← θ − η · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
/// ```
pub(super) fn adam<T: Scalar>(
    theta: &mut DMatrix<T>,
    g: &DMatrix<T>,
    moments: &mut [DMatrix<T>],
    hp: &AdamStep,
) {
    let [m, v] = moments else { return };
    let t = hp.t.min(i32::MAX as u64) as i32;
    let c1 = T::cast(1.0 / (1.0 - hp.beta1.powi(t)));
    let c2 = T::cast(1.0 / (1.0 - hp.beta2.powi(t)));
    let (b1, b2) = (T::cast(hp.beta1), T::cast(hp.beta2));
    let (ob1, ob2) = (T::cast(1.0 - hp.beta1), T::cast(1.0 - hp.beta2));
    let (lr, eps) = (T::cast(hp.lr), T::cast(hp.eps));
    let decay = T::cast(1.0 - hp.lr * hp.weight_decay);
    let decays = hp.weight_decay != 0.0;
    for (((p, &g), m), v) in theta
        .iter_mut()
        .zip(g.iter())
        .zip(m.iter_mut())
        .zip(v.iter_mut())
    {
        if decays {
            *p *= decay;
        }
        *m = b1 * *m + ob1 * g;
        *v = b2 * *v + ob2 * g * g;
        *p -= lr * (*m * c1) / ((*v * c2).sqrt() + eps);
    }
}
