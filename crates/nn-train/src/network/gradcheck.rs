//! The whole-network finite-difference check: every parameter tensor's backpropagated
//! gradient against central differences of the cost.

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::{GradCheck, GradCheckReport};

use super::Network;
use crate::error::Result;
use crate::layers::Mode;

impl Network<f64> {
    /// Checks every parameter's backpropagated gradient against central finite differences
    /// of `J` on the batch `(X, Y)` (evaluation mode, so dropout is off), one report per
    /// tensor, named as in [`Network::named_params`].
    ///
    /// # Errors
    /// As [`Network::compute_gradients`]; [`TrainError::Core`](crate::TrainError::Core) if the cost is not finite at
    /// a perturbed point.
    pub fn gradient_check(
        &mut self,
        x: &DMatrix<f64>,
        y: &DMatrix<f64>,
        config: &GradCheck,
    ) -> Result<Vec<(String, GradCheckReport)>> {
        self.compute_gradients(x, y, Mode::Eval)?;
        let mut analytic = Vec::new();
        self.for_each_param(&mut |p| analytic.push(p.grad.clone()));
        let names: Vec<String> = self.named_params().into_iter().map(|(n, _)| n).collect();
        let original = self.snapshot();
        let mut reports = Vec::with_capacity(names.len());
        for (k, name) in names.into_iter().enumerate() {
            let mut cost_at = |theta: &DMatrix<f64>| -> f64 {
                self.cost_with_param(k, theta, x, y).unwrap_or(f64::NAN)
            };
            let report = config.check(&mut cost_at, &original[k], &analytic[k]);
            self.restore(&original)?;
            reports.push((name, report?));
        }
        Ok(reports)
    }

    /// `J` (evaluation mode) with parameter tensor `k` (in [`Network::for_each_param`]
    /// order) set to `theta`: only that tensor is copied, so finite differences over a
    /// large network stay cheap.
    fn cost_with_param(
        &mut self,
        k: usize,
        theta: &DMatrix<f64>,
        x: &DMatrix<f64>,
        y: &DMatrix<f64>,
    ) -> Result<f64> {
        let mut i = 0;
        self.for_each_param(&mut |p| {
            if i == k && p.value.shape() == theta.shape() {
                p.value.copy_from(theta);
            }
            i += 1;
        });
        self.forward_unchecked(x, Mode::Eval)?;
        self.cost_of_last_forward(y)
    }
}
