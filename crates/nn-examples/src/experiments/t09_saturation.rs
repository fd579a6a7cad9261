//! T9 — too-large weights saturate sigmoid and tanh: the pre-activations land in the flat
//! tails, the derivatives `g'(Z)` that every gradient passes through become tiny, and
//! learning is slow.
//!
//! Method: a 10 → 32 → 1 network (hidden sigmoid or tanh; sigmoid output with BCE, output
//! weights Xavier) on a task with standard-normal inputs and labels from a random linear
//! teacher. The hidden weights are drawn from `N(0, s²)` for scales `s` from 0.01 to 10
//! (Xavier's `1/√10 ≈ 0.32` is the reference), biases zero. For each scale: the mean `|g'(Z)|` of the
//! hidden layer on the data at initialisation, then the gradient check, then plain
//! mini-batch gradient descent (SGD, so that a tiny gradient means a tiny step — Adam
//! would rescale it) for a fixed number of epochs, and the cost after training.
//!
//! The tour page's text for this claim is [`LESSON`].

use nalgebra::DMatrix;
use nn_train::{
    Activation, FitConfig, Init, Loss, Mode, Network, Optimizer, SeededRng, Silent, Stream, fit,
};

use super::t06_backprop::check_before_training;
use crate::plot::{ChartOptions, Labels, Legend, Series, chart};
use crate::{Context, Experiment, Figure, Findings, Lesson, Result, Size};

/// The claim.
pub const CLAIM: &str =
    "too-large weights saturate sigmoid/tanh: gradients become tiny and learning is slow";

/// The experiment as the tour runs it.
pub const EXPERIMENT: Experiment = Experiment {
    id: "T9",
    claim: CLAIM,
    lesson: &LESSON,
    run,
};

/// The claim explained, for the tour page.
pub const LESSON: Lesson = Lesson {
    claim: r"Sigmoid and tanh are steep only near 0 and flat in their tails. With large
        initial weights, the pre-activations $z = Wx + b$ are large, most units sit in a
        tail, and their derivative $g'(z)$ is nearly 0. Every gradient on its way back to
        the weights is multiplied by that derivative, so the gradients are tiny and gradient
        descent takes tiny steps: learning is slow. Small random weights keep $z$ in the
        steep middle.",
    equation: r"\begin{aligned} W^{[1]}_{jk} \sim \mathcal{N}(0, s^2) \;&\Rightarrow\; \operatorname{Var} z^{[1]}_j = n\,s^2 \quad (\text{inputs of variance } 1) \\ dZ^{[1]} &= W^{[2]\top}dZ^{[2]} \circ g'\big(Z^{[1]}\big) \end{aligned}",
    method: r"A network `10 → 32 → 1` (hidden sigmoid or tanh, sigmoid output, binary
        cross-entropy) on 10 standard-normal inputs labelled by a random linear rule. The
        hidden weights are drawn from $\mathcal{N}(0, s^2)$ for scales $s$ from 0.01 to 10 —
        Xavier's $1/\sqrt{10} \approx 0.32$ is the reference — with biases zero. For each
        scale the experiment records the mean $|g'(Z)|$ of the hidden layer over the data
        at the start, checks the gradient against finite differences, trains with plain
        mini-batch gradient descent (SGD: a tiny gradient gives a tiny step, which Adam
        would rescale away) for a fixed number of epochs, and records the cost.",
    source: file!(),
    docs: &[
        (
            "`Activation` (derivatives)",
            "nn_activations/enum.Activation.html",
        ),
        ("`Init::Normal`", "nn_init/enum.Init.html"),
    ],
};

/// Input features.
pub const INPUTS: usize = 10;
/// Hidden units.
pub const HIDDEN_UNITS: usize = 32;
/// The reference ("good") scale: the sweep's value nearest Xavier's `1/√INPUTS`.
pub const GOOD_SCALE: f64 = 0.3;
/// The largest scale of the sweep.
pub const LARGE_SCALE: f64 = 10.0;
/// The activations studied.
pub const ACTIVATIONS: [Activation; 2] = [Activation::Sigmoid, Activation::Tanh];

/// Sizes of the sweep.
#[derive(Debug, Clone)]
pub struct Config {
    /// Standard deviations of the hidden weights (must include [`GOOD_SCALE`] and
    /// [`LARGE_SCALE`]).
    pub scales: Vec<f64>,
    /// Training examples.
    pub examples: usize,
    /// Epochs of SGD (batch 25, learning rate 0.5).
    pub epochs: usize,
}

impl Config {
    /// The configuration for a size.
    pub fn new(size: Size) -> Self {
        match size {
            Size::Quick => Self {
                scales: vec![0.01, GOOD_SCALE, 3.0, LARGE_SCALE],
                examples: 400,
                epochs: 20,
            },
            Size::Full => Self {
                scales: vec![0.01, 0.03, 0.1, GOOD_SCALE, 1.0, 3.0, LARGE_SCALE],
                examples: 1000,
                epochs: 30,
            },
        }
    }
}

/// One activation at one scale.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    /// The hidden activation.
    pub activation: Activation,
    /// Standard deviation of the hidden weights.
    pub scale: f64,
    /// Mean `|g'(Z)|` of the hidden layer over the data, at initialisation.
    pub mean_slope: f64,
    /// Cost before training.
    pub initial_cost: f64,
    /// Cost after training.
    pub final_cost: f64,
    /// Training accuracy after training.
    pub accuracy: f64,
    /// Worst relative error of the gradient against finite differences before training.
    pub gradcheck: f64,
}

/// What was measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// One point per activation and scale.
    pub points: Vec<Point>,
}

impl Measured {
    /// The point of `activation` at `scale`.
    pub fn at(&self, activation: Activation, scale: f64) -> Option<&Point> {
        self.points
            .iter()
            .find(|p| p.activation == activation && p.scale == scale)
    }

    /// The worst gradient-check error over all networks.
    pub fn worst_gradcheck(&self) -> f64 {
        self.points.iter().map(|p| p.gradcheck).fold(0.0, f64::max)
    }

    /// The claim holds, for both activations, if the mean derivative at scale 10 is under
    /// a quarter of that at the good scale, it falls (never rises by more than 1%) from
    /// the good scale up, and the cost after training is at least twice as high at scale
    /// 10 as at the good scale; and every gradient check passed (≤ 1e-6).
    pub fn verdict(&self) -> bool {
        ACTIVATIONS.iter().all(|&act| {
            let (Some(good), Some(large)) = (self.at(act, GOOD_SCALE), self.at(act, LARGE_SCALE))
            else {
                return false;
            };
            let upward: Vec<f64> = self
                .points
                .iter()
                .filter(|p| p.activation == act && p.scale >= GOOD_SCALE)
                .map(|p| p.mean_slope)
                .collect();
            large.mean_slope < 0.25 * good.mean_slope
                && upward.windows(2).all(|w| w[1] <= 1.01 * w[0])
                && large.final_cost >= 2.0 * good.final_cost
        }) && self.worst_gradcheck() <= 1e-6
    }
}

/// Standard-normal inputs `(INPUTS, m)` and labels `[w·x > 0]` of a random teacher `w`.
fn teacher_data(m: usize, seed: u64) -> (DMatrix<f64>, DMatrix<f64>) {
    let mut rng = SeededRng::for_stream(seed, Stream::Custom(0));
    let w: Vec<f64> = (0..INPUTS).map(|_| rng.standard_normal()).collect();
    let x = DMatrix::from_fn(INPUTS, m, |_, _| rng.standard_normal());
    let y = DMatrix::from_fn(1, m, |_, j| {
        let s: f64 = (0..INPUTS).map(|i| w[i] * x[(i, j)]).sum();
        f64::from(u8::from(s > 0.0))
    });
    (x, y)
}

fn one(
    activation: Activation,
    scale: f64,
    data: &(DMatrix<f64>, DMatrix<f64>),
    config: &Config,
) -> Result<Point> {
    let (x, y) = data;
    let mut net = Network::<f64>::builder(INPUTS)
        .dense_with_init(
            HIDDEN_UNITS,
            activation,
            Init::Normal {
                mean: 0.0,
                std: scale,
            },
        )
        .dense(1, Activation::Sigmoid)
        .loss(Loss::BinaryCrossEntropy)
        .seed(9)
        // `Init::Normal` would draw biases too; the sweep is over the weights
        .bias_init(Init::Zeros)
        .build()?;
    net.forward(x, Mode::Eval)?;
    let z = net.layers()[0]
        .pre_activation()
        .cloned()
        .unwrap_or_else(|| DMatrix::zeros(0, 0));
    let slopes = activation
        .derivative(&z)
        .map_err(nn_train::TrainError::from)?;
    let mean_slope = slopes.iter().map(|v| v.abs()).sum::<f64>() / slopes.len().max(1) as f64;
    let initial_cost = net.evaluate(x, y)?.cost;
    let gradcheck = check_before_training(&mut net, x, y, 16)?;
    let fit_config = FitConfig {
        epochs: config.epochs,
        batch_size: 25,
        optimizer: Optimizer::sgd(0.5),
        seed: 2,
        ..FitConfig::default()
    };
    fit(&mut net, (x, y), None, &fit_config, &mut Silent)?;
    let eval = net.evaluate(x, y)?;
    Ok(Point {
        activation,
        scale,
        mean_slope,
        initial_cost,
        final_cost: eval.cost,
        accuracy: eval.accuracy.unwrap_or(0.0),
        gradcheck,
    })
}

/// Runs the sweep.
///
/// # Errors
/// If a network cannot be built or trained (not expected).
pub fn measure(config: &Config) -> Result<Measured> {
    let data = teacher_data(config.examples, 9);
    let mut points = Vec::new();
    for act in ACTIVATIONS {
        for &scale in &config.scales {
            points.push(one(act, scale, &data, config)?);
        }
    }
    Ok(Measured { points })
}

/// Draws the mean derivative and the cost after training against the scale (log axes),
/// two files.
///
/// # Errors
/// If a figure cannot be written.
pub fn figures(
    m: &Measured,
    epochs: usize,
    slopes: &std::path::Path,
    costs: &std::path::Path,
) -> Result<()> {
    let series = |f: &dyn Fn(&Point) -> f64, with_initial: bool| {
        let mut out = Vec::new();
        for (k, act) in ACTIVATIONS.into_iter().enumerate() {
            let pts = m.points.iter().filter(|p| p.activation == act);
            let name = if with_initial {
                format!("{act}, after training")
            } else {
                format!("{act}")
            };
            out.push(Series::new(name, pts.clone().map(|p| (p.scale, f(p))).collect()).colour(k));
            if with_initial {
                out.push(
                    Series::dashed(
                        format!("{act}, before training"),
                        pts.map(|p| (p.scale, p.initial_cost)).collect(),
                    )
                    .colour(k),
                );
            }
        }
        out
    };
    let options = |legend| ChartOptions {
        log_x: true,
        log_y: true,
        legend,
    };
    chart(
        slopes,
        Labels {
            title: "T9: mean |g'(Z)| of the hidden layer at the start",
            x: "standard deviation s of the hidden weights (log scale)",
            y: "mean |g'(Z)| (log scale)",
        },
        &series(&|p| p.mean_slope, false),
        &options(Legend::LowerLeft),
    )?;
    let title = format!("T9: cost after {epochs} epochs of SGD (lr 0.5)");
    chart(
        costs,
        Labels {
            title: &title,
            x: "standard deviation s of the hidden weights (log scale)",
            y: "cost J (log scale)",
        },
        &series(&|p| p.final_cost, true),
        &options(Legend::MiddleLeft),
    )
}

fn run(ctx: &Context) -> Result<Findings> {
    let config = Config::new(ctx.size);
    let m = measure(&config)?;
    let slopes = ctx.figure("t09_saturation_slopes.svg")?;
    let costs = ctx.figure("t09_saturation_costs.svg")?;
    figures(&m, config.epochs, &slopes, &costs)?;
    let mut parts = Vec::new();
    let mut sentences = Vec::new();
    for act in ACTIVATIONS {
        if let (Some(g), Some(l)) = (m.at(act, GOOD_SCALE), m.at(act, LARGE_SCALE)) {
            parts.push(format!(
                "{act}: mean|g'| {:.3} at s={GOOD_SCALE} vs {:.3} at s={LARGE_SCALE}, cost after \
                 {} epochs {:.3} vs {:.3}",
                g.mean_slope, l.mean_slope, config.epochs, g.final_cost, l.final_cost
            ));
            sentences.push(format!(
                "for {act}, the mean derivative falls from {:.3} at $s = {GOOD_SCALE}$ to {:.3} \
                 at $s = {LARGE_SCALE}$ ({:.0}× smaller), and the cost after training is {:.3} \
                 against {:.3} ({:.0}% against {:.0}% of the training points right)",
                g.mean_slope,
                l.mean_slope,
                g.mean_slope / l.mean_slope,
                g.final_cost,
                l.final_cost,
                100.0 * g.accuracy,
                100.0 * l.accuracy
            ));
        }
    }
    let best: Vec<String> = ACTIVATIONS
        .iter()
        .filter_map(|&act| {
            m.points
                .iter()
                .filter(|p| p.activation == act)
                .min_by(|a, b| a.final_cost.total_cmp(&b.final_cost))
                .map(|p| format!("$s = {}$ for {act}", p.scale))
        })
        .collect();
    let reading = format!(
        r"With the same data, network and {} epochs of SGD: {}. At the large scale the
        pre-activations have a standard deviation of about $\sqrt{{10}} \times 10 \approx
        32$, deep in the flat tails, and when the epochs run out the cost is still several
        times that of the network that started well.

        Two things qualify the claim. Very small weights are not the cure: at $s = 0.01$ the
        derivative is at its maximum, but the hidden units' outputs barely vary from one
        input to the next, so the layer above has little to learn from until the weights
        have grown; the lowest cost after training is at {},
        not at 0.01 (second figure). And the experiment measures speed —
        the cost after a fixed number of plain gradient steps — not what the networks could
        learn eventually: it does not show that a saturated network never learns, only that
        gradient descent moves it slowly. (Gradient checks: {:.0e} at worst.)",
        config.epochs,
        sentences.join("; "),
        best.join(" and "),
        m.worst_gradcheck()
    );
    Ok(Findings {
        measured: format!(
            "{}; gradcheck {:.0e}",
            parts.join("; "),
            m.worst_gradcheck()
        ),
        passed: m.verdict(),
        figures: vec![
            Figure::new(
                slopes,
                r"The mean $|g'(Z)|$ of the hidden units at the start, against the standard
                deviation $s$ of their weights (both axes logarithmic). Small weights keep
                every unit near the peak of its derivative (1/4 for the sigmoid, 1 for tanh);
                from about $s = 0.3$ on, more and more units sit in the flat tails and the
                mean derivative falls roughly like $1/s$.",
            ),
            Figure::new(
                costs,
                r"The cost before training (dashed) and after it (solid) against the same
                scale. Every network starts at about the same cost, 0.7–0.9; after the same
                number of SGD steps, those that started saturated, at $s = 10$, have come
                down the least. Very small weights are not the best start either.",
            ),
        ],
        reading,
        settings: format!(
            "{config:?}; SGD 0.5, batch 25; network seed 9, data seed 9, shuffling seed 2"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_weights_saturate_and_slow_learning() {
        let m = measure(&Config::new(Size::Quick)).unwrap();
        assert!(m.worst_gradcheck() <= 1e-6, "{:e}", m.worst_gradcheck());
        for act in ACTIVATIONS {
            let good = m.at(act, GOOD_SCALE).unwrap();
            let large = m.at(act, LARGE_SCALE).unwrap();
            let tiny = m.at(act, 0.01).unwrap();
            // near 0 the derivative is its maximum: 1/4 for sigmoid, 1 for tanh
            let top = if act == Activation::Sigmoid {
                0.25
            } else {
                1.0
            };
            assert!(
                (tiny.mean_slope - top).abs() < 0.01 * top,
                "{act}: {tiny:?}"
            );
            assert!(
                large.mean_slope < 0.25 * good.mean_slope,
                "{act}: {} vs {}",
                large.mean_slope,
                good.mean_slope
            );
            assert!(
                large.final_cost >= 2.0 * good.final_cost,
                "{act}: {} vs {}",
                large.final_cost,
                good.final_cost
            );
        }
        assert!(m.verdict());
    }
}
