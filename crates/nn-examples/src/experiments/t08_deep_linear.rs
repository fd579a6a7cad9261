//! T8 — in a deep linear network, weights slightly larger than the identity make the
//! output and the gradients explode with depth, and slightly smaller make them vanish:
//! with `W[l] = a·I` for the `L − 1` hidden layers, `ŷ = W[L] a^(L−1) x`.
//!
//! Method: for each depth `L`, a network of `L − 1` identity-activation dense layers of
//! width 3 with weights set by hand to `a·I` (biases zero) and an output layer
//! `W[L] = u` (1×3), for `a = 1.5` and `a = 0.5`. On 16 random inputs with targets 0 and
//! mean squared error, the network's output `ŷ` and its backpropagated gradient of the first
//! layer's weights are compared with the closed forms
//!
//! ```text
//! ŷ = a^(L−1) u X                 dW[1] = (2/m) a^(L−2) uᵀ ŷ Xᵀ = (2/m) a^(2L−3) uᵀ u X Xᵀ
//! ```
//!
//! (MSE's `dA = 2(ŷ − y)` passes back through `L − 2` factors `a·I` to layer 1), as the
//! relative Frobenius distance between the matrices. The norms are drawn on a log scale
//! against depth: straight lines with slopes `ln a` (output) and `2 ln a` (gradient).
//!
//! The tour page's text for this claim is [`LESSON`].

use nalgebra::DMatrix;
use nn_train::{Activation, Init, Loss, Mode, Network, SeededRng, Stream};

use crate::plot::{ChartOptions, Labels, Legend, Series, chart};
use crate::{Context, Experiment, Figure, Findings, Lesson, Result, Size};

/// The claim.
pub const CLAIM: &str =
    "in a deep linear net, weights 1.5·I explode and 0.5·I vanish: ŷ = W[L] a^(L−1) x";

/// The experiment as the tour runs it.
pub const EXPERIMENT: Experiment = Experiment {
    id: "T8",
    claim: CLAIM,
    lesson: &LESSON,
    run,
};

/// The claim explained, for the tour page.
pub const LESSON: Lesson = Lesson {
    claim: r"In a deep network the signal is multiplied by a weight matrix at every layer,
        on the way forward and again on the way back. The simplest case shows what that
        does: linear activations and every hidden weight matrix equal to $a$ times the
        identity. Then the output is $a^{L-1}$ times what a single layer would give: for
        $a = 1.5$ it grows exponentially with the depth $L$, for $a = 0.5$ it shrinks
        exponentially. The gradient of the first layer passes through the same factors
        forward and back, so it scales like $a^{2L-3}$ — twice as fast. Exploding gradients
        make training unstable, vanishing ones stop the early layers from learning.",
    equation: r"\hat y = W^{[L]}\,(aI)^{L-1}\,x = a^{L-1}\,W^{[L]}x, \qquad dW^{[1]} = \tfrac{2}{m}\,a^{2L-3}\,W^{[L]\top}W^{[L]}\,XX^\top",
    method: r"For each depth $L$ from 2 up, a network of $L - 1$ linear layers of width 3 with
        weights set by hand to $aI$ (biases zero) and an output layer $W^{[L]} = u$, for
        $a = 1.5$ and $a = 0.5$. On 16 random inputs with target 0 and mean squared error,
        the network's output and its backpropagated gradient of the first layer's weights
        are compared with the closed forms above (the $2$ comes from the squared error's
        derivative $2(\hat y - y)$), as the relative distance between the matrices. The
        norms are then drawn against depth on a log scale, where powers of $a$ are straight
        lines.",
    source: file!(),
    docs: &[
        (
            "`Network::compute_gradients`",
            "nn_train/struct.Network.html#method.compute_gradients",
        ),
        (
            "the experiment's module",
            "nn_examples/experiments/t08_deep_linear/index.html",
        ),
    ],
};

/// Width of the hidden layers (and of the input).
pub const WIDTH: usize = 3;

/// The two scales of the identity.
pub const SCALES: [f64; 2] = [1.5, 0.5];

/// The depths to build.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Largest depth `L` (depths `2..=max_depth`).
    pub max_depth: usize,
    /// Number of input examples.
    pub examples: usize,
}

impl Config {
    /// The configuration for a size.
    pub fn new(size: Size) -> Self {
        match size {
            Size::Quick => Self {
                max_depth: 12,
                examples: 16,
            },
            Size::Full => Self {
                max_depth: 40,
                examples: 16,
            },
        }
    }
}

/// One depth at one scale.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    /// The scale `a`.
    pub scale: f64,
    /// The depth `L` (number of dense layers).
    pub depth: usize,
    /// `‖ŷ‖` as the network computes it.
    pub output_norm: f64,
    /// `‖dW[1]‖` as backpropagation computes it.
    pub grad_norm: f64,
    /// Relative distance of `ŷ` from its closed form.
    pub output_rel_error: f64,
    /// Relative distance of `dW[1]` from its closed form.
    pub grad_rel_error: f64,
}

/// What was measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// One point per scale and depth.
    pub points: Vec<Point>,
}

impl Measured {
    /// The worst relative distance from the closed forms over all points.
    pub fn worst_rel_error(&self) -> f64 {
        self.points
            .iter()
            .map(|p| p.output_rel_error.max(p.grad_rel_error))
            .fold(0.0, f64::max)
    }

    /// `(‖ŷ‖, ‖dW[1]‖)` at the deepest network over those at depth 2, for scale `a`.
    pub fn growth(&self, a: f64) -> (f64, f64) {
        let of = |p: &&Point| p.scale == a;
        let first = self.points.iter().find(of);
        let last = self.points.iter().rfind(of);
        match (first, last) {
            (Some(f), Some(l)) => (l.output_norm / f.output_norm, l.grad_norm / f.grad_norm),
            _ => (f64::NAN, f64::NAN),
        }
    }

    /// The claim holds if every output and gradient matches its closed form to 1e-9
    /// relative, and the norms grow with depth for 1.5 and shrink for 0.5.
    pub fn verdict(&self) -> bool {
        let (up_out, up_grad) = self.growth(1.5);
        let (down_out, down_grad) = self.growth(0.5);
        self.worst_rel_error() <= 1e-9
            && up_out > 1.0
            && up_grad > up_out
            && down_out < 1.0
            && down_grad < down_out
    }
}

/// The output layer `u`.
fn output_weights() -> DMatrix<f64> {
    DMatrix::from_row_slice(1, WIDTH, &[0.5, -1.0, 0.8])
}

/// The deep linear network of depth `depth ≥ 2` with hidden weights `a·I`.
///
/// # Errors
/// If the network cannot be built (not expected).
pub fn deep_linear(depth: usize, a: f64) -> Result<Network<f64>> {
    let mut b = Network::<f64>::builder(WIDTH);
    for _ in 1..depth {
        b = b.dense_with_init(WIDTH, Activation::Identity, Init::Zeros);
    }
    let mut net = b
        .dense_with_init(1, Activation::Identity, Init::Zeros)
        .loss(Loss::Mse)
        .build()?;
    let layers = net.layers_mut();
    let last = layers.len() - 1;
    for layer in &mut layers[..last] {
        layer.set_param("weight", DMatrix::identity(WIDTH, WIDTH) * a)?;
    }
    layers[last].set_param("weight", output_weights())?;
    Ok(net)
}

fn rel(measured: &DMatrix<f64>, closed: &DMatrix<f64>) -> f64 {
    (measured - closed).norm() / closed.norm().max(f64::MIN_POSITIVE)
}

/// Builds every network and compares it with the closed forms.
///
/// # Errors
/// If a network cannot be built or run (not expected).
pub fn measure(config: &Config) -> Result<Measured> {
    let m = config.examples;
    let mut rng = SeededRng::for_stream(8, Stream::Custom(0));
    let x = DMatrix::from_fn(WIDTH, m, |_, _| rng.standard_normal());
    let y = DMatrix::zeros(1, m);
    let u = output_weights();
    let xxt = &x * x.transpose();
    let mut points = Vec::new();
    for a in SCALES {
        for depth in 2..=config.max_depth.max(2) {
            let mut net = deep_linear(depth, a)?;
            net.compute_gradients(&x, &y, Mode::Eval)?;
            let y_hat = net.output()?.clone();
            let mut dw1 = None;
            net.for_each_param(&mut |p| {
                if dw1.is_none() {
                    dw1 = Some(p.grad.clone());
                }
            });
            let dw1 = dw1.unwrap_or_else(|| DMatrix::zeros(WIDTH, WIDTH));
            let power = |k: i32| a.powi(k);
            let closed_out = &u * &x * power(depth as i32 - 1);
            let closed_grad =
                u.transpose() * (&u * &xxt) * (2.0 / m as f64 * power(2 * depth as i32 - 3));
            points.push(Point {
                scale: a,
                depth,
                output_norm: y_hat.norm(),
                grad_norm: dw1.norm(),
                output_rel_error: rel(&y_hat, &closed_out),
                grad_rel_error: rel(&dw1, &closed_grad),
            });
        }
    }
    Ok(Measured { points })
}

/// Draws `‖ŷ‖` and `‖dW[1]‖` against depth, log scale.
///
/// # Errors
/// If the figure cannot be written.
pub fn figure(m: &Measured, path: &std::path::Path) -> Result<()> {
    let mut series = Vec::new();
    for a in SCALES {
        let pts = m.points.iter().filter(|p| p.scale == a);
        series.push(Series::new(
            format!("‖ŷ‖, W = {a}·I"),
            pts.clone()
                .map(|p| (p.depth as f64, p.output_norm))
                .collect(),
        ));
        series.push(Series::new(
            format!("‖dW[1]‖, W = {a}·I"),
            pts.map(|p| (p.depth as f64, p.grad_norm)).collect(),
        ));
    }
    chart(
        path,
        Labels {
            title: "T8: deep linear net with W[l] = a·I: output and gradient vs depth",
            x: "depth L (layers)",
            y: "norm (log scale)",
        },
        &series,
        &ChartOptions {
            log_y: true,
            legend: Legend::LowerLeft,
            ..ChartOptions::default()
        },
    )
}

fn run(ctx: &Context) -> Result<Findings> {
    let config = Config::new(ctx.size);
    let m = measure(&config)?;
    let path = ctx.figure("t08_deep_linear.svg")?;
    figure(&m, &path)?;
    let (up_out, up_grad) = m.growth(1.5);
    let (down_out, down_grad) = m.growth(0.5);
    let steps = config.max_depth as i32 - 2;
    let reading = format!(
        r"From depth 2 to depth {}, with $a = 1.5$ the output's norm grew {up_out:.1e}-fold
        and the first layer's gradient {up_grad:.1e}-fold; with $a = 0.5$ they shrank to
        {down_out:.1e} and {down_grad:.1e} of their values at depth 2. These are the closed
        forms' $a^{{{steps}}}$ and $a^{{{}}}$ ($1.5^{{{steps}}} = {:.1e}$), and every output
        and gradient the network computed matches its closed form to {:.1e} (relative), the
        rounding of double precision.

        So a factor of 1.5 or 0.5 per layer, harmless in one layer, compounds over the
        layers into the numbers above. The example is deliberately extreme — real networks
        have non-linear activations and random weights — but the mechanism is the same, and
        it is why the initialisation must keep each layer's gain near 1 (T10).",
        config.max_depth,
        2 * steps,
        1.5f64.powi(steps),
        m.worst_rel_error()
    );
    Ok(Findings {
        measured: format!(
            "depth 2→{}: ‖ŷ‖ ×{up_out:.1e} and ‖dW[1]‖ ×{up_grad:.1e} at 1.5·I, ×{down_out:.1e} \
             and ×{down_grad:.1e} at 0.5·I; max rel. distance from the closed form {:.1e}",
            config.max_depth,
            m.worst_rel_error()
        ),
        passed: m.verdict(),
        figures: vec![Figure::new(
            path,
            r"Norm of the output $\hat y$ and of the first layer's gradient $dW^{[1]}$ against
            the depth $L$, for hidden weights $1.5\,I$ and $0.5\,I$, on a log scale. Every
            curve is a straight line — exponential growth or decay — and the gradients'
            lines are twice as steep as the outputs', since the gradient crosses the layers
            twice: forward, then back.",
        )],
        reading,
        settings: format!("{config:?}; width {WIDTH}; inputs seed 8"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_linear_outputs_and_gradients_follow_the_powers_of_the_scale() {
        let config = Config::new(Size::Quick);
        let m = measure(&config).unwrap();
        assert_eq!(m.points.len(), 2 * (config.max_depth - 1));
        assert!(m.worst_rel_error() <= 1e-9, "{:e}", m.worst_rel_error());
        // From depth 2 to 12 the closed forms give ‖ŷ‖ × a^10 and ‖dW[1]‖ × a^20.
        let (up_out, up_grad) = m.growth(1.5);
        assert!((up_out / 1.5f64.powi(10) - 1.0).abs() < 1e-9, "{up_out}");
        assert!((up_grad / 1.5f64.powi(20) - 1.0).abs() < 1e-9, "{up_grad}");
        let (down_out, down_grad) = m.growth(0.5);
        assert!(
            (down_out / 0.5f64.powi(10) - 1.0).abs() < 1e-9,
            "{down_out}"
        );
        assert!(
            (down_grad / 0.5f64.powi(20) - 1.0).abs() < 1e-9,
            "{down_grad}"
        );
    }

    #[test]
    fn the_closed_form_is_checked_against_finite_differences_too() {
        // The gradient the closed form predicts is the network's gradient of J.
        let mut net = deep_linear(5, 1.5).unwrap();
        let mut rng = SeededRng::for_stream(8, Stream::Custom(1));
        let x = DMatrix::from_fn(WIDTH, 4, |_, _| rng.standard_normal());
        let y = DMatrix::zeros(1, 4);
        let err = super::super::t06_backprop::gradient_error(&mut net, &x, &y).unwrap();
        assert!(err <= 1e-6, "{err:e}");
    }
}
