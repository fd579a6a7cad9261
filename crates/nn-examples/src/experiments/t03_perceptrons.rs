//! T3 — a step-function (Heaviside) perceptron `h(w·x + b)` is a linear classifier: it
//! answers which side of the line `w·x + b = 0` a point lies on. Three of them in a hidden
//! layer bound a triangle, and an output unit that fires when all three do classifies
//! inside against outside.
//!
//! Method: points uniform in [−1, 1]², labelled by the triangle of
//! [`synthetic::TRIANGLE`]. The network `2 → 3 step → 1 step` is built twice:
//!
//! - **from the edges**: hidden unit `k` is the line through edge `k`, oriented so that
//!   the third vertex is on its positive side; the output unit is `h(h₁ + h₂ + h₃ − 2.5)`
//!   (an AND);
//! - **by the perceptron rule** ([`Perceptron`]), layer by layer: hidden unit `k` learns
//!   the half-plane of edge `k` (its targets are "same side of edge `k` as the triangle"),
//!   then the output unit learns the triangle's labels from the three hidden outputs. The
//!   training points keep a distance ≥ [`MARGIN`] from every edge, so each of these sets
//!   is linearly separable with a margin and Novikoff's theorem bounds the mistakes: the
//!   rule must reach an epoch without mistakes. The mistakes per epoch are reported.
//!
//! Both networks are evaluated on fresh uniform points (no margin). Gradient checking does
//! not apply: the step's derivative is 0 everywhere, which is why the perceptron rule
//! trains these units, and the library refuses to backpropagate through them (checked).
//!
//! The tour page's text for this claim is [`LESSON`].

use std::path::Path;

use nalgebra::DMatrix;
use nn_train::data::synthetic::{self, TRIANGLE};
use nn_train::{Activation, Loss, Mode, Network, Perceptron, PerceptronConfig, TrainError};

use crate::plot::{ChartOptions, Labels, Legend, Point2, Series, chart, decision_regions};
use crate::{Context, Experiment, Figure, Findings, Lesson, Result, Size};

/// The claim.
pub const CLAIM: &str = "step perceptrons are linear classifiers; three in a hidden layer bound a triangle (inside vs outside)";

/// The experiment as the tour runs it.
pub const EXPERIMENT: Experiment = Experiment {
    id: "T3",
    claim: CLAIM,
    lesson: &LESSON,
    run,
};

/// The claim explained, for the tour page.
pub const LESSON: Lesson = Lesson {
    claim: r"A perceptron with the Heaviside step $h$ answers one question: on which side of
        the line $w \cdot x + b = 0$ does the point lie? So one unit can only separate
        classes that a straight line separates. Put three of them in a hidden layer, though,
        and their three lines can be the edges of a triangle; an output unit that fires only
        when all three do (an AND) then tells inside from outside — a region no single line
        can describe. Non-linearity, here the step, is what lets lines combine into shapes.",
    equation: r"\begin{aligned} f(x) &= h(w\cdot x + b), \qquad h(z) = \begin{cases} 1 & z \ge 0 \\ 0 & z < 0 \end{cases} \\ \text{inside} &= h\big(h_1 + h_2 + h_3 - 2.5\big) \end{aligned}",
    method: r"Points uniform in the square $[-1, 1]^2$, labelled inside or outside a fixed
        triangle. The network `2 → 3 step → 1 step` is built twice:

        - from the edges: hidden unit $k$ is the line through edge $k$, oriented so that the
          triangle is on its positive side, and the output unit is the AND above;
        - by the perceptron rule $w \leftarrow w + \eta\,(t - f(x))\,x$, layer by layer: each
          hidden unit learns the half-plane of one edge, then the output unit learns the
          labels from the three hidden outputs. Training points closer than 0.005 to an edge
          are left out, so every one of these problems is separable with a margin and the
          perceptron convergence theorem (Novikoff) promises an epoch without mistakes.

        Both networks are then tested on fresh points, with no margin. Gradient checking does
        not apply: the step's derivative is 0 everywhere, which is why the perceptron rule
        trains these units — the library refuses to backpropagate through them, and the
        experiment checks that it does.",
    source: file!(),
    docs: &[
        ("`Perceptron`", "nn_train/struct.Perceptron.html"),
        ("`Activation::Step`", "nn_activations/enum.Activation.html"),
        (
            "the experiment's module",
            "nn_examples/experiments/t03_perceptrons/index.html",
        ),
    ],
};

/// Training points closer than this to an edge's line are left out (the margin γ).
pub const MARGIN: f64 = 0.005;

/// Sizes of the run.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Training points drawn (before the margin filter).
    pub train: usize,
    /// Test points.
    pub test: usize,
    /// Epoch limit of the perceptron rule.
    pub max_epochs: usize,
}

impl Config {
    /// The configuration for a size.
    pub fn new(size: Size) -> Self {
        match size {
            Size::Quick => Self {
                train: 3000,
                test: 2000,
                max_epochs: 500,
            },
            Size::Full => Self {
                train: 4000,
                test: 20000,
                max_epochs: 2000,
            },
        }
    }
}

/// The line `(a, b, c)`, `a x + b y + c = 0`, through edge `k` (from vertex `k` to vertex
/// `k + 1`), oriented so that the opposite vertex gives a positive value.
pub fn edge_line(k: usize) -> (f64, f64, f64) {
    let (p, q, r) = (TRIANGLE[k], TRIANGLE[(k + 1) % 3], TRIANGLE[(k + 2) % 3]);
    // normal (−(qy − py), qx − px), through p
    let (a, b) = (-(q[1] - p[1]), q[0] - p[0]);
    let c = -(a * p[0] + b * p[1]);
    let s = (a * r[0] + b * r[1] + c).signum();
    (s * a, s * b, s * c)
}

/// Distance of `p` from the line through edge `k`.
fn edge_distance(k: usize, p: [f64; 2]) -> f64 {
    let (a, b, c) = edge_line(k);
    (a * p[0] + b * p[1] + c).abs() / a.hypot(b)
}

/// One step network, with its three hidden lines.
#[derive(Debug)]
pub struct StepNet {
    /// The network `2 → 3 step → 1 step`.
    pub net: Network<f64>,
    /// The hidden units' lines `(a, b, c)`.
    pub lines: Vec<(f64, f64, f64)>,
    /// Accuracy on the test points.
    pub test_accuracy: f64,
}

/// What was measured.
#[derive(Debug)]
pub struct Measured {
    /// Training points kept (outside the margin band).
    pub train_points: usize,
    /// The network set from the edges.
    pub from_edges: StepNet,
    /// The network trained by the perceptron rule.
    pub trained: StepNet,
    /// Mistakes per epoch of the perceptron rule: hidden units 1–3, then the output unit.
    pub mistakes: Vec<Vec<usize>>,
    /// Whether each of those four runs reached an epoch without mistakes.
    pub converged: Vec<bool>,
    /// Whether the library refused to backpropagate through the step units.
    pub backprop_refused: bool,
    /// The test points and labels (for the figure).
    pub test: (DMatrix<f64>, DMatrix<f64>),
}

impl Measured {
    /// The claim holds if every perceptron run reached zero mistakes, both networks
    /// classify ≥ 99% of the test points, and backpropagation through steps is refused.
    pub fn verdict(&self) -> bool {
        self.converged.iter().all(|&c| c)
            && self.from_edges.test_accuracy >= 0.99
            && self.trained.test_accuracy >= 0.99
            && self.backprop_refused
    }
}

/// Builds `2 → 3 step → 1 step` with the given hidden lines and output unit.
fn step_net(lines: &[(f64, f64, f64)], out_w: [f64; 3], out_b: f64) -> Result<Network<f64>> {
    let mut net = Network::<f64>::builder(2)
        .dense(3, Activation::Step)
        .dense(1, Activation::Step)
        .loss(Loss::Mse)
        .build()?;
    let w1 = DMatrix::from_fn(3, 2, |i, j| if j == 0 { lines[i].0 } else { lines[i].1 });
    let b1 = DMatrix::from_fn(3, 1, |i, _| lines[i].2);
    let layers = net.layers_mut();
    layers[0].set_param("weight", w1)?;
    layers[0].set_param("bias", b1)?;
    layers[1].set_param("weight", DMatrix::from_row_slice(1, 3, &out_w))?;
    layers[1].set_param("bias", DMatrix::from_element(1, 1, out_b))?;
    Ok(net)
}

fn accuracy(net: &Network<f64>, x: &DMatrix<f64>, y: &DMatrix<f64>) -> Result<f64> {
    let p = net.predict(x)?;
    let correct = p
        .iter()
        .zip(y.iter())
        .filter(|(p, y)| (**p >= 0.5) == (**y >= 0.5))
        .count();
    Ok(correct as f64 / y.len().max(1) as f64)
}

/// Draws the training points, builds both networks, trains the perceptrons, evaluates.
///
/// # Errors
/// If a network cannot be built or a perceptron cannot be trained (not expected).
pub fn measure(config: &Config) -> Result<Measured> {
    let (x_all, y_all) = synthetic::triangle(config.train, 3)?.into_parts();
    let keep: Vec<usize> = (0..x_all.ncols())
        .filter(|&j| {
            let p = [x_all[(0, j)], x_all[(1, j)]];
            (0..3).all(|k| edge_distance(k, p) >= MARGIN)
        })
        .collect();
    let x = DMatrix::from_fn(2, keep.len(), |i, j| x_all[(i, keep[j])]);
    let y = DMatrix::from_fn(1, keep.len(), |_, j| y_all[(0, keep[j])]);
    let test = synthetic::triangle(config.test, 4)?.into_parts();

    let exact: Vec<(f64, f64, f64)> = (0..3).map(edge_line).collect();
    let edges_net = step_net(&exact, [1.0, 1.0, 1.0], -2.5)?;

    let pc = PerceptronConfig {
        lr: 1.0,
        max_epochs: config.max_epochs,
    };
    let mut mistakes = Vec::new();
    let mut converged = Vec::new();
    let mut lines = Vec::new();
    let mut hidden = DMatrix::zeros(3, x.ncols());
    for (k, &(a, b, c)) in exact.iter().enumerate() {
        // targets: the side of edge k the triangle is on
        let t = DMatrix::from_fn(1, x.ncols(), |_, j| {
            f64::from(u8::from(a * x[(0, j)] + b * x[(1, j)] + c > 0.0))
        });
        let mut unit = Perceptron::<f64>::new(2);
        let report = unit.train(&x, &t, &pc)?;
        mistakes.push(report.mistakes);
        converged.push(report.converged);
        let w = unit.weights();
        lines.push((w[(0, 0)], w[(0, 1)], unit.bias()));
        hidden.row_mut(k).copy_from(&unit.predict(&x)?.row(0));
    }
    let mut out = Perceptron::<f64>::new(3);
    let report = out.train(&hidden, &y, &pc)?;
    mistakes.push(report.mistakes);
    converged.push(report.converged);
    let ow = out.weights();
    let trained_net = step_net(&lines, [ow[(0, 0)], ow[(0, 1)], ow[(0, 2)]], out.bias())?;

    // backpropagation cannot train step units: the library says so
    let mut probe = step_net(&exact, [1.0, 1.0, 1.0], -2.5)?;
    let backprop_refused = matches!(
        probe.compute_gradients(&x, &y, Mode::Train),
        Err(TrainError::InvalidArchitecture { .. })
    );

    let (tx, ty) = &test;
    Ok(Measured {
        train_points: keep.len(),
        from_edges: StepNet {
            test_accuracy: accuracy(&edges_net, tx, ty)?,
            net: edges_net,
            lines: exact,
        },
        trained: StepNet {
            test_accuracy: accuracy(&trained_net, tx, ty)?,
            net: trained_net,
            lines,
        },
        mistakes,
        converged,
        backprop_refused,
        test,
    })
}

/// Draws the trained network's region with its three lines over (a sample of) the test
/// points, and the perceptron rule's mistakes per epoch.
///
/// # Errors
/// If a figure cannot be written.
pub fn figures(m: &Measured, region: &Path, mistakes: &Path) -> Result<()> {
    let (x, y) = &m.test;
    let points: Vec<Point2> = (0..x.ncols().min(600))
        .map(|j| Point2 {
            x: x[(0, j)],
            y: x[(1, j)],
            class: usize::from(y[(0, j)] > 0.5),
        })
        .collect();
    let net = &m.trained.net;
    let classify = |grid: &DMatrix<f64>| -> Result<Vec<usize>> {
        Ok(net
            .predict(grid)?
            .iter()
            .map(|&p| usize::from(p >= 0.5))
            .collect())
    };
    let title = format!(
        "T3: three trained step units + AND: {:.2}% right",
        100.0 * m.trained.test_accuracy
    );
    decision_regions(
        region,
        &title,
        ((-1.0, 1.0), (-1.0, 1.0)),
        &classify,
        &points,
        &m.trained.lines,
    )?;
    let names = [
        "hidden unit 1 (edge 1)",
        "hidden unit 2 (edge 2)",
        "hidden unit 3 (edge 3)",
        "output unit (AND)",
    ];
    let series: Vec<Series> = m
        .mistakes
        .iter()
        .zip(names)
        .map(|(ms, name)| {
            Series::new(
                format!("{name}: {} epochs", ms.len()),
                ms.iter()
                    .enumerate()
                    .map(|(e, &k)| ((e + 1) as f64, k as f64))
                    .collect(),
            )
        })
        .collect();
    chart(
        mistakes,
        Labels {
            title: "T3: the perceptron rule's mistakes per epoch reach 0",
            x: "epoch",
            y: "mistakes in the epoch",
        },
        &series,
        &ChartOptions {
            legend: Legend::UpperRight,
            ..ChartOptions::default()
        },
    )
}

fn run(ctx: &Context) -> Result<Findings> {
    let config = Config::new(ctx.size);
    let m = measure(&config)?;
    let region = ctx.figure("t03_triangle.svg")?;
    let mistakes = ctx.figure("t03_perceptron_mistakes.svg")?;
    figures(&m, &region, &mistakes)?;
    let per_unit: Vec<String> = m
        .mistakes
        .iter()
        .map(|ms| {
            let shown: Vec<String> = ms.iter().take(6).map(ToString::to_string).collect();
            let more = if ms.len() > 6 { ", …" } else { "" };
            format!("[{}{more}] ({} epochs)", shown.join(", "), ms.len())
        })
        .collect();
    let epochs: Vec<String> = m.mistakes.iter().map(|ms| ms.len().to_string()).collect();
    let reading = format!(
        r"Set from the edges, the network classifies {:.2}% of {} fresh test points right:
        three lines and an AND describe the triangle exactly (a point lands on an edge with
        probability zero).

        Trained by the perceptron rule on {} points, each of the four units reached an epoch
        without mistakes, after {} epochs (hidden units 1–3, then the output unit), so the
        rule converged as the theorem says it must on separable data. The trained network
        gets {:.2}% of the test points right.{} Backpropagation through the step units was
        refused: {}.",
        100.0 * m.from_edges.test_accuracy,
        config.test,
        m.train_points,
        epochs.join(", "),
        100.0 * m.trained.test_accuracy,
        if m.trained.test_accuracy < 1.0 {
            " Its mistakes lie in a thin band along the edges: the rule stops at the first \
             line that separates the training points, and test points inside the margin, \
             which training never saw, can fall on the wrong side of it."
        } else {
            ""
        },
        if m.backprop_refused { "yes" } else { "no" }
    );
    Ok(Findings {
        measured: format!(
            "test accuracy: set from the edges {:.2}%, trained by the perceptron rule {:.2}% \
             ({} training points, margin {MARGIN}); mistakes per epoch, hidden 1–3 and output: {}; \
             backprop through steps refused: {}",
            100.0 * m.from_edges.test_accuracy,
            100.0 * m.trained.test_accuracy,
            m.train_points,
            per_unit.join(", "),
            m.backprop_refused
        ),
        passed: m.verdict(),
        figures: vec![
            Figure::new(
                region,
                r"Test points (orange inside the triangle, blue outside) over the region the
                trained network calls inside (orange tint). The three black lines are the
                hidden units' lines $w_k \cdot x + b_k = 0$ as the perceptron rule left them;
                the tinted triangle is where all three units fire.",
            ),
            Figure::new(
                mistakes,
                r"Mistakes per epoch of the perceptron rule, for each hidden unit (one edge
                each) and then the output unit. Every curve reaches 0: an epoch without a
                mistake, after which the rule stops.",
            ),
        ],
        reading,
        settings: format!(
            "{config:?}; margin {MARGIN}; perceptron learning rate 1; training data seed 3, \
             test seed 4"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_step_units_bound_the_triangle_and_the_perceptron_rule_converges() {
        let m = measure(&Config::new(Size::Quick)).unwrap();
        for (k, (ms, c)) in m.mistakes.iter().zip(&m.converged).enumerate() {
            assert!(*c && ms.last() == Some(&0), "unit {k}: {ms:?}");
            // it did have to learn: the first epoch made mistakes
            assert!(ms[0] > 0, "unit {k}: {ms:?}");
        }
        assert!(
            m.from_edges.test_accuracy >= 0.999,
            "{}",
            m.from_edges.test_accuracy
        );
        assert!(
            m.trained.test_accuracy >= 0.99,
            "{}",
            m.trained.test_accuracy
        );
        assert!(m.backprop_refused);
    }

    #[test]
    fn the_edge_lines_put_the_triangle_on_their_positive_side() {
        // the centroid is inside: positive for all three lines; a far corner is not
        let c = [0.0, (-0.6 - 0.6 + 0.8) / 3.0];
        for k in 0..3 {
            let (a, b, cc) = edge_line(k);
            assert!(a * c[0] + b * c[1] + cc > 0.0);
            // both endpoints of the edge are on the line (closed form: 0)
            let (p, q) = (TRIANGLE[k], TRIANGLE[(k + 1) % 3]);
            assert!((a * p[0] + b * p[1] + cc).abs() < 1e-15);
            assert!((a * q[0] + b * q[1] + cc).abs() < 1e-15);
        }
        assert!(synthetic::inside_triangle(c) && !synthetic::inside_triangle([0.9, 0.9]));
    }
}
