//! T4 — the popular activations and their derivatives: sigmoid `a(1−a)`, tanh `1−a²`,
//! ReLU, leaky ReLU (slope 0.01).
//!
//! Measures, on a grid over [−5, 5] away from the kinks, the largest relative difference
//! between each activation's derivative (as nn-activations computes it, from the output
//! where that is cheaper) and a central finite difference of its value; draws g and g'.
//!
//! The tour page's text for this claim is [`LESSON`].

use nn_train::Activation;
use nn_train::nn_core::GradCheck;

use crate::plot::{ChartOptions, Labels, Legend, Series, chart};
use crate::{Context, Experiment, Figure, Findings, Lesson, Result, Size};

/// The claim.
pub const CLAIM: &str = "sigmoid' = a(1−a), tanh' = 1−a², ReLU and leaky ReLU (0.01) derivatives agree with finite differences";

/// The experiment as the tour runs it.
pub const EXPERIMENT: Experiment = Experiment {
    id: "T4",
    claim: CLAIM,
    lesson: &LESSON,
    run,
};

/// The claim explained, for the tour page.
pub const LESSON: Lesson = Lesson {
    claim: r"Backpropagation multiplies by $g'(Z)$ at every layer, so each activation comes
        with its derivative, and the cheap forms matter. For the sigmoid and tanh the
        derivative is a function of the output $a = g(z)$ that the forward pass already
        computed: $a(1-a)$ and $1-a^2$. ReLU's is a step, 0 for negative inputs and 1 for
        positive ones; leaky ReLU keeps a slope of 0.01 on the negative side so that a unit
        with negative input still passes some gradient. At $z = 0$ the ReLUs have a kink
        where the derivative jumps; the library uses 1 there.",
    equation: r"\begin{aligned} &\sigma'(z) = a(1 - a), \qquad \tanh'(z) = 1 - a^2, \\ &\mathrm{ReLU}'(z) = \begin{cases} 1 & z \ge 0 \\ 0 & z < 0 \end{cases} \qquad \mathrm{leaky}'(z) = \begin{cases} 1 & z \ge 0 \\ 0.01 & z < 0 \end{cases} \end{aligned}",
    method: r"On a grid of points over $[-5, 5]$, each activation's derivative as the library
        computes it (from the output, where that is cheaper) is compared with a five-point
        central difference of the activation's value, one point at a time, by the relative
        error. Points within $10^{-3}$ of the kink at 0 are left out: a difference quotient
        that straddles a kink measures the jump, not the derivative.",
    source: file!(),
    docs: &[
        ("`Activation`", "nn_activations/enum.Activation.html"),
        (
            "finite differences (`nn_core::gradcheck`)",
            "nn_core/struct.GradCheck.html",
        ),
    ],
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

/// Draws g (solid) and g' (dashed, the same colour) of the activations at `which` (indices
/// into [`ACTIVATIONS`]), at every tenth grid point at most.
///
/// # Errors
/// If the figure cannot be written.
pub fn figure(m: &Measured, which: &[usize], title: &str, path: &std::path::Path) -> Result<()> {
    let mut series = Vec::new();
    for &k in which {
        let Some((act, pts)) = m.curves.get(k) else {
            continue;
        };
        let every = (pts.len() / 200).max(1);
        let thinned = || pts.iter().step_by(every);
        series.push(
            Series::new(
                format!("{act}"),
                thinned().map(|&(z, g, _)| (z, g)).collect(),
            )
            .colour(k),
        );
        series.push(
            Series::dashed(
                format!("{act}'"),
                thinned().map(|&(z, _, d)| (z, d)).collect(),
            )
            .colour(k),
        );
    }
    chart(
        path,
        Labels {
            title,
            x: "z",
            y: "g(z) (solid) and g'(z) (dashed)",
        },
        &series,
        &ChartOptions {
            legend: Legend::UpperLeft,
            ..ChartOptions::default()
        },
    )
}

fn run(ctx: &Context) -> Result<Findings> {
    let config = Config::new(ctx.size);
    let m = measure(&config)?;
    let smooth = ctx.figure("t04_sigmoid_tanh.svg")?;
    figure(
        &m,
        &[0, 1],
        "T4: sigmoid and tanh, and their derivatives",
        &smooth,
    )?;
    let kinked = ctx.figure("t04_relu.svg")?;
    figure(
        &m,
        &[2, 3],
        "T4: ReLU and leaky ReLU, and their derivatives",
        &kinked,
    )?;
    let worst = m.errors.iter().map(|e| e.1).fold(0.0, f64::max);
    let each: Vec<String> = m
        .errors
        .iter()
        .map(|(act, e)| format!("`{act}` {e:.1e}"))
        .collect();
    let reading = format!(
        r"Over {} grid points, the largest relative error between the library's derivative
        and the finite difference is {}: {worst:.1e} at worst, where a wrong formula (say
        $a(1+a)$, or a missing slope on leaky ReLU's negative side) would be off by order
        1. What is left is the finite difference's own rounding: it divides errors of about
        $10^{{-16}}$ by the step $h = 10^{{-4}}$, which leaves noise of about $10^{{-12}}$,
        of order $10^{{-10}}$ relative to the small slopes in the tails ($\sigma'(5) \approx
        0.007$); the five-point formula's truncation error is far below that. The check says nothing about $z = 0$ itself, where the ReLUs have
        no derivative; the library's choice of 1 there is a convention, tested separately.",
        config.points,
        each.join(", ")
    );
    Ok(Findings {
        measured: format!(
            "max rel. error of g' vs finite differences over 4 activations: {worst:.1e}"
        ),
        passed: m.verdict(),
        figures: vec![
            Figure::new(
                smooth,
                r"Sigmoid and tanh (solid) with their derivatives (dashed, same colour) on
                $[-5, 5]$. Both derivatives peak at $z = 0$ — 1/4 for the sigmoid, 1 for tanh —
                and fade to nearly 0 within a few units: where a unit's input is large, its
                gradient vanishes (T9).",
            ),
            Figure::new(
                kinked,
                r"ReLU and leaky ReLU with their derivatives. For $z > 0$ the two are the same
                line, slope 1; for $z < 0$ ReLU is 0 and leaky ReLU is $0.01z$, too small to
                tell apart at this scale, and their derivatives are 0 and 0.01. That small
                slope is the whole point: a leaky unit with negative input still passes a
                little gradient back.",
            ),
        ],
        reading,
        settings: format!("{config:?} on [−5, 5]; five-point stencil, h = 1e-4"),
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
