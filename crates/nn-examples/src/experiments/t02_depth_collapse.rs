//! T2 — without a non-linear activation, depth collapses: linear layers
//! `A[1] = W1 x + b1`, `A[2] = W2 A[1] + b2` compose to the single layer
//! `W̃ = W2 W1`, `b̃ = W2 b1 + b2` (and so on for any depth), so a deep linear network
//! computes no more than one linear layer.
//!
//! Method, two parts:
//!
//! 1. Random networks whose every layer has the identity activation (depth 2–6, widths
//!    1–8, 1–5 inputs, seeded): the collapsed layer is built explicitly by folding
//!    `W̃ ← W W̃`, `b̃ ← W b̃ + b` through the layers, and `W̃ X + b̃` is compared with the
//!    network's output on random inputs in [−2, 2].
//! 2. Two tasks no single line separates: the four XOR points and two concentric circles
//!    (radii 1 and 0.5, noise 0.05). A deep linear network `2 → 8 → 8 → 8 → 1` (identity
//!    hidden layers, sigmoid output, BCE) — a logistic regression in disguise — is
//!    trained with Adam beside a network with one hidden tanh layer `2 → 8 → 1`. Each
//!    network's gradient is checked against finite differences first. The deep linear
//!    network's accuracy is bounded by the best single straight line's (found by search,
//!    see [`best_line_accuracy`]); the tanh network fits both tasks.
//!
//! The tour page's text for this claim is [`LESSON`].

use nalgebra::DMatrix;
use nn_train::data::synthetic;
use nn_train::{Activation, FitConfig, Loss, Network, Optimizer, SeededRng, Silent, Stream, fit};

use super::t06_backprop::check_before_training;
use super::t07_symmetry::best_line_accuracy;
use crate::plot::{Point2, decision_regions};
use crate::{Context, Experiment, Figure, Findings, Lesson, Result, Size};

/// The claim.
pub const CLAIM: &str = "without a non-linear activation depth collapses: stacked linear layers equal one, W̃ = W2 W1, b̃ = W2 b1 + b2";

/// The experiment as the tour runs it.
pub const EXPERIMENT: Experiment = Experiment {
    id: "T2",
    claim: CLAIM,
    lesson: &LESSON,
    run,
};

/// The claim explained, for the tour page.
pub const LESSON: Lesson = Lesson {
    claim: r"Stacking layers only adds expressive power if something non-linear sits between
        them. Without an activation, a layer is an affine map $x \mapsto Wx + b$, and an
        affine map of an affine map is again one: two layers fold into one layer with
        $\tilde W = W^{[2]}W^{[1]}$ and $\tilde b = W^{[2]}b^{[1]} + b^{[2]}$, and by
        induction so do any number. A deep linear network therefore draws the same decision
        boundaries as a logistic regression — a single straight line — however many layers
        and units it has.",
    equation: r"\begin{aligned} W^{[2]}\big(W^{[1]}x + b^{[1]}\big) + b^{[2]} &= \tilde W x + \tilde b, \\ \text{with}\quad \tilde W = W^{[2]}W^{[1]}, \quad \tilde b &= W^{[2]}b^{[1]} + b^{[2]} \end{aligned}",
    method: r"Two parts.

        - The algebra: random networks of 2–6 identity-activation layers (random widths and
          inputs, seeded) are folded into one layer, $\tilde W \leftarrow W\tilde W$ and
          $\tilde b \leftarrow W\tilde b + b$ layer by layer, and the folded layer's output
          is compared with the network's on random inputs.
        - The consequence: two tasks no straight line solves, the four XOR points and two
          concentric circles. A deep linear network `2 → 8 → 8 → 8 → 1` (identity hidden
          layers, sigmoid output) and a network with one hidden tanh layer `2 → 8 → 1` are
          trained on each with Adam, after a gradient check. The deep linear network's
          accuracy is compared with the best any single line reaches, found by searching 720
          directions and every threshold.",
    source: file!(),
    docs: &[
        (
            "`Activation::Identity`",
            "nn_activations/enum.Activation.html",
        ),
        (
            "the experiment's module",
            "nn_examples/experiments/t02_depth_collapse/index.html",
        ),
    ],
};

/// Tolerance of the collapse: largest absolute difference of the outputs.
pub const COLLAPSE_TOLERANCE: f64 = 1e-12;

/// Chance accuracy on the balanced tasks.
pub const CHANCE: f64 = 0.5;

/// The margin over chance a linear model may reach: a line gets 3 of the 4 XOR points.
pub const MARGIN: f64 = 0.25;

/// Sizes of the run.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Random linear networks collapsed.
    pub nets: u64,
    /// Points on the circles.
    pub circle_points: usize,
    /// Epochs of Adam (learning rate 0.02, batch 32) on the circles; XOR gets 10× as many
    /// (its one batch is one step).
    pub epochs: usize,
}

impl Config {
    /// The configuration for a size.
    pub fn new(size: Size) -> Self {
        match size {
            Size::Quick => Self {
                nets: 40,
                circle_points: 200,
                epochs: 150,
            },
            Size::Full => Self {
                nets: 500,
                circle_points: 400,
                epochs: 300,
            },
        }
    }
}

/// The single layer `(W̃, b̃)` a network of identity-activation dense layers computes.
pub fn collapse(net: &Network<f64>) -> (DMatrix<f64>, DMatrix<f64>) {
    let n = net.input_shape().len();
    let mut w = DMatrix::<f64>::identity(n, n);
    let mut b = DMatrix::<f64>::zeros(n, 1);
    for layer in net.layers() {
        let params = layer.params();
        let get = |name: &str| params.iter().find(|p| p.name() == name).map(|p| p.value());
        if let (Some(wl), Some(bl)) = (get("weight"), get("bias")) {
            // W̃ ← W W̃,  b̃ ← W b̃ + b
            b = wl * &b + bl;
            w = wl * &w;
        }
    }
    (w, b)
}

/// The largest `|net(X) − (W̃ X + b̃)|` for the random linear network of `seed`.
///
/// # Errors
/// If the network cannot be built (not expected).
pub fn collapse_error(seed: u64) -> Result<f64> {
    let mut rng = SeededRng::for_stream(seed, Stream::Custom(2));
    let inputs = 1 + rng.below(5);
    let depth = 2 + rng.below(5);
    let mut builder = Network::<f64>::builder(inputs);
    for _ in 0..depth {
        builder = builder.dense(1 + rng.below(8), Activation::Identity);
    }
    let net = builder.loss(Loss::Mse).seed(seed).build()?;
    let m = 1 + rng.below(10);
    let x = DMatrix::from_fn(inputs, m, |_, _| rng.uniform(-2.0, 2.0));
    let (w, b) = collapse(&net);
    let mut collapsed = &w * &x;
    for mut col in collapsed.column_iter_mut() {
        col += b.column(0);
    }
    Ok((net.predict(&x)? - collapsed).amax())
}

/// One trained network on one task.
#[derive(Debug)]
pub struct Fit {
    /// Training accuracy.
    pub accuracy: f64,
    /// Worst relative error of the gradient against finite differences before training.
    pub gradcheck: f64,
    /// The trained network.
    pub net: Network<f64>,
}

/// Both networks on one task.
#[derive(Debug)]
pub struct Task {
    /// `"XOR"` or `"circles"`.
    pub name: &'static str,
    /// The data.
    pub data: (DMatrix<f64>, DMatrix<f64>),
    /// The best accuracy of any single straight line on the data.
    pub best_line: f64,
    /// The deep linear network `2 → 8 → 8 → 8 → 1`.
    pub linear: Fit,
    /// The network with one hidden tanh layer `2 → 8 → 1`.
    pub tanh: Fit,
}

/// What was measured.
#[derive(Debug)]
pub struct Measured {
    /// Random networks collapsed.
    pub nets: u64,
    /// The worst output difference between a network and its collapsed layer.
    pub collapse_error: f64,
    /// XOR and circles.
    pub tasks: Vec<Task>,
}

impl Measured {
    /// The claim holds if every collapse agrees to [`COLLAPSE_TOLERANCE`], on both tasks
    /// the deep linear network stays at or below chance + [`MARGIN`] (and the best line
    /// + 0.02) while the tanh network reaches ≥ 99%, and every gradient check passed.
    pub fn verdict(&self) -> bool {
        self.collapse_error <= COLLAPSE_TOLERANCE
            && self.tasks.iter().all(|t| {
                t.linear.accuracy <= CHANCE + MARGIN
                    && t.linear.accuracy <= t.best_line + 0.02
                    && t.tanh.accuracy >= 0.99
                    && t.linear.gradcheck <= 1e-6
                    && t.tanh.gradcheck <= 1e-6
            })
    }
}

fn train(
    hidden: &[(usize, Activation)],
    data: &(DMatrix<f64>, DMatrix<f64>),
    epochs: usize,
) -> Result<Fit> {
    let mut builder = Network::<f64>::builder(2);
    for &(units, act) in hidden {
        builder = builder.dense(units, act);
    }
    let mut net = builder
        .dense(1, Activation::Sigmoid)
        .loss(Loss::BinaryCrossEntropy)
        .seed(2)
        .build()?;
    let (x, y) = data;
    let gradcheck = check_before_training(&mut net, x, y, 16)?;
    let config = FitConfig {
        epochs,
        batch_size: 32,
        optimizer: Optimizer::adam(0.02),
        seed: 2,
        ..FitConfig::default()
    };
    fit(&mut net, (x, y), None, &config, &mut Silent)?;
    Ok(Fit {
        accuracy: net.evaluate(x, y)?.accuracy.unwrap_or(0.0),
        gradcheck,
        net,
    })
}

fn task(name: &'static str, data: (DMatrix<f64>, DMatrix<f64>), epochs: usize) -> Result<Task> {
    let linear = [(8, Activation::Identity); 3];
    Ok(Task {
        name,
        best_line: best_line_accuracy(&data.0, &data.1),
        linear: train(&linear, &data, epochs)?,
        tanh: train(&[(8, Activation::Tanh)], &data, epochs)?,
        data,
    })
}

/// Collapses the random networks and trains both networks on both tasks.
///
/// # Errors
/// If a network cannot be built or trained (not expected).
pub fn measure(config: &Config) -> Result<Measured> {
    let mut worst = 0.0f64;
    for seed in 0..config.nets {
        worst = worst.max(collapse_error(seed)?);
    }
    let xor = synthetic::xor().into_parts();
    let circles = synthetic::two_circles(config.circle_points, 0.5, 0.05, 2)?.into_parts();
    Ok(Measured {
        nets: config.nets,
        collapse_error: worst,
        tasks: vec![
            task("XOR", xor, 10 * config.epochs)?,
            task("circles", circles, config.epochs)?,
        ],
    })
}

/// Draws the decision regions of a trained network on a task; for the deep linear
/// network also its collapsed decision line `W̃ x + b̃ = 0`.
///
/// # Errors
/// If the figure cannot be written.
pub fn figure(task: &Task, fit: &Fit, title: &str, path: &std::path::Path) -> Result<()> {
    let (x, y) = &task.data;
    let points: Vec<Point2> = (0..x.ncols())
        .map(|j| Point2 {
            x: x[(0, j)],
            y: x[(1, j)],
            class: usize::from(y[(0, j)] > 0.5),
        })
        .collect();
    let classify = |grid: &DMatrix<f64>| -> Result<Vec<usize>> {
        Ok(fit
            .net
            .predict(grid)?
            .iter()
            .map(|&p| usize::from(p >= 0.5))
            .collect())
    };
    let mut lines = Vec::new();
    if fit
        .net
        .layers()
        .iter()
        .rev()
        .skip(1)
        .all(|l| l.activation() == Some(Activation::Identity))
    {
        // sigmoid(W̃x + b̃) ≥ ½ ⇔ W̃x + b̃ ≥ 0: the boundary is one line
        let (w, b) = collapse(&fit.net);
        lines.push((w[(0, 0)], w[(0, 1)], b[(0, 0)]));
    }
    let range = if task.name == "XOR" {
        ((-0.5, 1.5), (-0.5, 1.5))
    } else {
        ((-1.4, 1.4), (-1.4, 1.4))
    };
    decision_regions(path, title, range, &classify, &points, &lines)
}

fn run(ctx: &Context) -> Result<Findings> {
    let config = Config::new(ctx.size);
    let m = measure(&config)?;
    let mut figures = Vec::new();
    let mut parts = Vec::new();
    for t in &m.tasks {
        if t.name == "circles" {
            let linear = ctx.figure("t02_deep_linear_circles.svg")?;
            figure(
                t,
                &t.linear,
                &format!(
                    "T2: deep linear 2→8→8→8→1: {:.0}% right",
                    100.0 * t.linear.accuracy
                ),
                &linear,
            )?;
            figures.push(Figure::new(
                linear,
                format!(
                    r"The deep linear network after training on the two circles (inner ring
                    orange, outer ring blue; the tint is the class it predicts). Its whole
                    decision boundary is the black line $\tilde W x + \tilde b = 0$ computed
                    from the collapsed layer: three hidden layers of 8 units draw one straight
                    line, and {:.0}% of the points end up on the right side of it — about what
                    a coin would do.",
                    100.0 * t.linear.accuracy
                ),
            ));
            let tanh = ctx.figure("t02_tanh_circles.svg")?;
            figure(
                t,
                &t.tanh,
                &format!(
                    "T2: one hidden tanh layer 2→8→1: {:.0}% right",
                    100.0 * t.tanh.accuracy
                ),
                &tanh,
            )?;
            figures.push(Figure::new(
                tanh,
                format!(
                    r"The same points and training for a network with one hidden layer of 8
                    tanh units: the boundary bends and closes around the inner ring, and
                    {:.0}% of the points are classified right.",
                    100.0 * t.tanh.accuracy
                ),
            ));
        }
        parts.push(format!(
            "{}: deep linear {:.0}% (best line {:.0}%), tanh {:.0}%",
            t.name,
            100.0 * t.linear.accuracy,
            100.0 * t.best_line,
            100.0 * t.tanh.accuracy
        ));
    }
    let gradcheck = m
        .tasks
        .iter()
        .flat_map(|t| [t.linear.gradcheck, t.tanh.gradcheck])
        .fold(0.0, f64::max);
    let tasks: Vec<String> = m
        .tasks
        .iter()
        .map(|t| {
            format!(
                "on {} the deep linear network gets {:.0}% right (the best single line: \
                 {:.0}%) and the tanh network {:.0}%",
                t.name,
                100.0 * t.linear.accuracy,
                100.0 * t.best_line,
                100.0 * t.tanh.accuracy
            )
        })
        .collect();
    let reading = format!(
        r"Over {} random deep linear networks, the folded single layer reproduces the output
        to within {:.1e}: the collapse is exact, up to rounding.

        Trained, {}. The deep linear network never beats the best straight line, because it
        is one; the single hidden tanh layer, with fewer weights than the three linear
        layers, fits both tasks. What depth adds comes from the non-linearity between the
        layers, not from the layers themselves. (Every network's gradient agreed with finite
        differences to {:.0e} before training.)",
        m.nets,
        m.collapse_error,
        tasks.join("; "),
        gradcheck
    );
    Ok(Findings {
        measured: format!(
            "{} random linear nets vs their collapsed W̃, b̃: max |Δ| {:.1e}; {}; gradcheck {:.0e}",
            m.nets,
            m.collapse_error,
            parts.join("; "),
            gradcheck
        ),
        passed: m.verdict(),
        figures,
        reading,
        settings: format!("{config:?}; Adam 0.02, batch 32; network seed 2, circles seed 2"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_layers_collapse_and_cannot_fit_xor_or_circles() {
        let m = measure(&Config::new(Size::Quick)).unwrap();
        assert!(m.collapse_error <= 1e-12, "{:e}", m.collapse_error);
        for t in &m.tasks {
            assert!(
                t.linear.gradcheck <= 1e-6,
                "{}: {:e}",
                t.name,
                t.linear.gradcheck
            );
            assert!(
                t.tanh.gradcheck <= 1e-6,
                "{}: {:e}",
                t.name,
                t.tanh.gradcheck
            );
            assert!(
                t.linear.accuracy <= CHANCE + MARGIN && t.linear.accuracy <= t.best_line + 0.02,
                "{}: deep linear {} (best line {})",
                t.name,
                t.linear.accuracy,
                t.best_line
            );
            assert!(
                t.tanh.accuracy >= 0.99,
                "{}: tanh {}",
                t.name,
                t.tanh.accuracy
            );
        }
    }

    #[test]
    fn two_layers_collapse_to_the_closed_form() {
        // W2 W1 and W2 b1 + b2 by hand for a 1 → 2 → 1 network.
        let mut net = Network::<f64>::builder(1)
            .dense(2, Activation::Identity)
            .dense(1, Activation::Identity)
            .loss(Loss::Mse)
            .build()
            .unwrap();
        let layers = net.layers_mut();
        layers[0]
            .set_param("weight", DMatrix::from_column_slice(2, 1, &[2.0, -1.0]))
            .unwrap();
        layers[0]
            .set_param("bias", DMatrix::from_column_slice(2, 1, &[0.5, 3.0]))
            .unwrap();
        layers[1]
            .set_param("weight", DMatrix::from_row_slice(1, 2, &[4.0, 5.0]))
            .unwrap();
        layers[1]
            .set_param("bias", DMatrix::from_element(1, 1, -7.0))
            .unwrap();
        let (w, b) = collapse(&net);
        // W̃ = 4·2 + 5·(−1) = 3; b̃ = 4·0.5 + 5·3 − 7 = 10
        assert_eq!((w[(0, 0)], b[(0, 0)]), (3.0, 10.0));
        assert!(collapse_error(7).unwrap() <= 1e-12);
    }
}
