//! T4 — the popular activations and their derivatives: sigmoid `a(1−a)`, tanh `1−a²`,
//! ReLU, leaky ReLU (slope 0.01).
//!
//! Measures, on a grid over [−5, 5] away from the kinks, the largest relative difference
//! between each activation's derivative (as nn-activations computes it, from the output
//! where that is cheaper) and a central finite difference of its value; draws g and g'.

use nn_train::Activation;
use nn_train::nn_core::GradCheck;

use crate::plot::{Labels, Series, line_chart};
use crate::{Context, Experiment, Outcome, Result, Size};

/// The claim.
pub const CLAIM: &str = "sigmoid' = a(1−a), tanh' = 1−a², ReLU and leaky ReLU (0.01) derivatives agree with finite differences";

/// The experiment as the tour runs it.
pub const EXPERIMENT: Experiment = Experiment {
    id: "T4",
    claim: CLAIM,
    run,
};

/// The activations the claim names.
pub const ACTIVATIONS: [Activation; 4] = [
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Relu,
    Activation::LeakyRelu { slope: 0.01 },
];

/// Grid size over [−5, 5].
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Number of grid points.
    pub points: usize,
}

impl Config {
    /// The configuration for a size.
    pub fn new(size: Size) -> Self {
        Self {
            points: if size == Size::Quick { 201 } else { 2001 },
        }
    }
}

/// Samples `(z, g(z), g'(z))` of one activation.
pub type Curve = Vec<(f64, f64, f64)>;

/// What was measured: per activation, the worst relative error of g' against finite
/// differences.
#[derive(Debug, Clone)]
pub struct Measured {
    /// `(activation, max relative error)`.
    pub errors: Vec<(Activation, f64)>,
    /// `(activation, [(z, g(z), g'(z))])` for the figure.
    pub curves: Vec<(Activation, Curve)>,
}

impl Measured {
    /// The claim holds if every derivative agrees to 1e-6.
    pub fn verdict(&self) -> bool {
        self.errors.iter().all(|&(_, e)| e <= 1e-6)
    }
}

/// Runs the measurement.
///
/// # Errors
/// Only if the finite-difference checker rejects its input (it does not for these grids).
pub fn measure(config: &Config) -> Result<Measured> {
    let n = config.points.max(2);
    let grid: Vec<f64> = (0..n)
        .map(|i| -5.0 + 10.0 * i as f64 / (n - 1) as f64)
        .collect();
    let mut errors = Vec::new();
    let mut curves = Vec::new();
    for act in ACTIVATIONS {
        // Points within 1e-3 of the kink at 0 are left out: the difference quotient there
        // measures the kink, not the derivative.
        let zs: Vec<f64> = grid.iter().copied().filter(|z| z.abs() > 1e-3).collect();
        // One point at a time: a sum over the grid would add its rounding to every
        // difference quotient.
        let analytic = act
            .derivative(&nalgebra::DMatrix::from_row_slice(1, zs.len(), &zs))
            .map_err(nn_train::TrainError::from)?;
        let mut worst = 0.0f64;
        for (j, &z) in zs.iter().enumerate() {
            let point = nalgebra::DMatrix::from_element(1, 1, z);
            let slope = nalgebra::DMatrix::from_element(1, 1, analytic[j]);
            let report = GradCheck::default()
                .check(|z| act.value(z[0]), &point, &slope)
                .map_err(nn_train::TrainError::from)?;
            worst = worst.max(report.max_rel_error);
        }
        errors.push((act, worst));
        curves.push((
            act,
            grid.iter()
                .map(|&z| (z, act.value(z), act.slope(z)))
                .collect(),
        ));
    }
    Ok(Measured { errors, curves })
}

/// Draws g and g' of each activation.
///
/// # Errors
/// If the figure cannot be written.
pub fn figure(m: &Measured, path: &std::path::Path) -> Result<()> {
    let mut series = Vec::new();
    for (act, pts) in &m.curves {
        series.push(Series::new(
            format!("{act}"),
            pts.iter().map(|&(z, g, _)| (z, g)).collect(),
        ));
        series.push(Series::new(
            format!("{act}'"),
            pts.iter().map(|&(z, _, d)| (z, d)).collect(),
        ));
    }
    line_chart(
        path,
        Labels {
            title: "T4: activations g(z) and derivatives g'(z)",
            x: "z",
            y: "value",
        },
        &series,
        false,
    )
}

fn run(ctx: &Context) -> Result<Outcome> {
    let m = measure(&Config::new(ctx.size))?;
    let path = ctx.figure("t04_activations.svg")?;
    figure(&m, &path)?;
    let worst = m.errors.iter().map(|e| e.1).fold(0.0, f64::max);
    Ok(Outcome {
        id: "T4",
        claim: CLAIM,
        measured: format!(
            "max rel. error of g' vs finite differences over 4 activations: {worst:.1e}"
        ),
        passed: m.verdict(),
        figures: vec![path],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_agree_with_finite_differences() {
        let m = measure(&Config::new(Size::Quick)).unwrap();
        for (act, err) in &m.errors {
            assert!(*err <= 1e-6, "{act}: {err:e}");
        }
        // the closed forms the claim names, at a few points
        let (s, t) = (Activation::Sigmoid, Activation::Tanh);
        for z in [-2.0f64, 0.3, 4.0] {
            let a = s.value(z);
            assert!((s.slope(z) - a * (1.0 - a)).abs() < 1e-15);
            let a = t.value(z);
            assert!((t.slope(z) - (1.0 - a * a)).abs() < 1e-15);
        }
        assert_eq!(Activation::LeakyRelu { slope: 0.01 }.slope(-1.0f64), 0.01);
    }
}
