//! T5 — vectorised forward propagation over m examples equals the per-example loop.
//!
//! For random networks, `A[L]` computed with the examples as the columns of one matrix is
//! compared with the loop that feeds one column at a time; the speed-up of the vectorised
//! form is reported (measured with wall-clock time in the tour, never asserted in tests).

use std::time::Instant;

use nalgebra::DMatrix;
use nn_train::{Activation, Loss, Network, SeededRng};

use crate::{Context, Experiment, Outcome, Result, Size};

/// The claim.
pub const CLAIM: &str =
    "vectorised forward propagation over m examples equals the per-example loop";

/// The experiment as the tour runs it.
pub const EXPERIMENT: Experiment = Experiment {
    id: "T5",
    claim: CLAIM,
    run,
};

/// Sizes of the comparison.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Number of random networks (seeds 0..nets).
    pub nets: u64,
    /// Examples per batch.
    pub examples: usize,
}

impl Config {
    /// The configuration for a size.
    pub fn new(size: Size) -> Self {
        match size {
            Size::Quick => Self {
                nets: 3,
                examples: 64,
            },
            Size::Full => Self {
                nets: 10,
                examples: 2000,
            },
        }
    }
}

/// What was measured.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Largest |vectorised − loop| over all networks, outputs and examples.
    pub max_abs_diff: f64,
    /// Loop time / vectorised time, summed over networks.
    pub speedup: f64,
}

impl Measured {
    /// The claim holds if the two agree to 1e-12.
    pub fn verdict(&self) -> bool {
        self.max_abs_diff <= 1e-12
    }
}

/// Runs the comparison.
///
/// # Errors
/// If a network cannot be built or run (not expected).
pub fn measure(config: &Config) -> Result<Measured> {
    let (mut max_abs_diff, mut t_loop, mut t_vec) = (0.0f64, 0.0, 0.0);
    for seed in 0..config.nets {
        let net = Network::<f64>::builder(64)
            .dense(128, Activation::Relu)
            .dense(64, Activation::Tanh)
            .dense(10, Activation::Identity)
            .loss(Loss::Mse)
            .seed(seed)
            .build()?;
        let mut rng = SeededRng::stream(seed, 1);
        let x = DMatrix::from_fn(64, config.examples, |_, _| rng.standard_normal());
        let columns: Vec<DMatrix<f64>> = (0..x.ncols())
            .map(|j| x.columns(j, 1).into_owned())
            .collect();
        // Best of three of each (the first also touches fresh buffers).
        let (mut best_vec, mut best_loop) = (f64::INFINITY, f64::INFINITY);
        let mut all = DMatrix::zeros(0, 0);
        let mut looped = DMatrix::zeros(10, x.ncols());
        for _ in 0..3 {
            let start = Instant::now();
            all = net.predict(&x)?;
            best_vec = best_vec.min(start.elapsed().as_secs_f64());
            let start = Instant::now();
            for (j, column) in columns.iter().enumerate() {
                looped.set_column(j, &net.predict(column)?.column(0));
            }
            best_loop = best_loop.min(start.elapsed().as_secs_f64());
        }
        max_abs_diff = max_abs_diff.max((&looped - &all).amax());
        t_vec += best_vec;
        t_loop += best_loop;
    }
    Ok(Measured {
        max_abs_diff,
        speedup: t_loop / t_vec.max(1e-12),
    })
}

fn run(ctx: &Context) -> Result<Outcome> {
    let m = measure(&Config::new(ctx.size))?;
    Ok(Outcome {
        id: "T5",
        claim: CLAIM,
        measured: format!(
            "max |vectorised − loop| = {:.1e}; vectorised is {:.1}× faster",
            m.max_abs_diff, m.speedup
        ),
        passed: m.verdict(),
        figures: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectorised_forward_equals_the_loop() {
        let m = measure(&Config::new(Size::Quick)).unwrap();
        assert!(m.max_abs_diff <= 1e-12, "{:e}", m.max_abs_diff);
    }
}
