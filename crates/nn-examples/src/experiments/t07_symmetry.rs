//! T7 — zero or constant initialisation never breaks symmetry: the units of a layer start
//! identical, receive identical gradients, and stay identical through training.
//!
//! Method: the same 2 → 8 tanh → 8 tanh → 1 sigmoid network (BCE) is trained with Adam on
//! an XOR-like task (points in the four quadrants of [−1, 1]², label 1 where x₁x₂ > 0),
//! once from all-zero weights and biases, once from all weights and biases 0.5, and once
//! from the recommended random initialisation (Xavier). Each network's gradient is checked
//! against finite differences before training. After training, the spread of the rows of
//! each hidden weight matrix (and bias) — the largest difference of any entry from the
//! same entry of row 0 — measures how far the units have drifted apart, and the training
//! accuracy shows what symmetric units can learn: all units of a layer computing the same
//! function are as good as one, so the network's decision boundary is a single line,
//! which cannot separate XOR.
//!
//! The tour page's text for this claim is [`LESSON`].

use nalgebra::DMatrix;
use nn_train::{
    Activation, FitConfig, Init, Loss, Network, Optimizer, SeededRng, Silent, Stream, fit,
};

use super::t06_backprop::check_before_training;
use crate::plot::{Point2, decision_regions};
use crate::{Context, Experiment, Figure, Findings, Lesson, Result, Size};

/// The claim.
pub const CLAIM: &str =
    "zero or constant initialisation never breaks symmetry: a layer's units stay identical";

/// The experiment as the tour runs it.
pub const EXPERIMENT: Experiment = Experiment {
    id: "T7",
    claim: CLAIM,
    lesson: &LESSON,
    run,
};

/// The claim explained, for the tour page.
pub const LESSON: Lesson = Lesson {
    claim: r"If every weight of a layer starts at the same value, every unit of the layer
        computes the same function of the same inputs. They then have the same effect on
        the cost, receive the same gradient, take the same step — and are still identical
        afterwards, forever. A layer of $n$ identical units is no better than one unit, so
        the network can only learn what a much narrower one could. Random initial weights
        break this symmetry; biases may start at 0, because the weights already differ.",
    equation: r"W^{[l]}_{1,:} = W^{[l]}_{2,:} = \dots = W^{[l]}_{n,:} \;\Longrightarrow\; a^{[l]}_1 = \dots = a^{[l]}_n \;\Longrightarrow\; dW^{[l]}_{1,:} = \dots = dW^{[l]}_{n,:}",
    method: r"The same network `2 → 8 tanh → 8 tanh → 1 sigmoid` (binary cross-entropy) is
        trained with Adam on an XOR-like task — label 1 where $x_1 x_2 > 0$ — three times:
        from all-zero weights and biases, from every weight and bias equal to 0.5, and from
        the recommended random start (Xavier). Each network's gradient is checked against
        finite differences first. After training, the row spread of each hidden weight
        matrix — the largest difference between the weights of any unit and those of unit
        1 — measures how far the units have drifted apart, and the accuracy shows what the
        network learnt. Identical units make the network a function of one weighted sum of
        the inputs, so its decision boundary is a single line; the best any line does on
        this data is found by search, for comparison.",
    source: file!(),
    docs: &[
        (
            "`Init` (constant, zeros, Xavier, He)",
            "nn_init/enum.Init.html",
        ),
        (
            "the experiment's module",
            "nn_examples/experiments/t07_symmetry/index.html",
        ),
    ],
};

/// Hidden units per layer.
pub const HIDDEN_UNITS: usize = 8;

/// Sizes of the run.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Training examples.
    pub examples: usize,
    /// Epochs of Adam (batch 32, learning rate 0.05).
    pub epochs: usize,
}

impl Config {
    /// The configuration for a size.
    pub fn new(size: Size) -> Self {
        match size {
            Size::Quick => Self {
                examples: 128,
                epochs: 120,
            },
            Size::Full => Self {
                examples: 400,
                epochs: 300,
            },
        }
    }
}

/// The XOR-like task: `m` points uniform in [−1, 1]² with both |x₁|, |x₂| ≥ 0.1 (a margin
/// around the axes), label 1 where `x₁ x₂ > 0`. Drawn from `SeededRng::for_stream(seed, Stream::Custom(0))`.
pub fn xor_quadrants(m: usize, seed: u64) -> (DMatrix<f64>, DMatrix<f64>) {
    let mut rng = SeededRng::for_stream(seed, Stream::Custom(0));
    let mut x = DMatrix::zeros(2, m);
    let mut y = DMatrix::zeros(1, m);
    for j in 0..m {
        let mut draw = || loop {
            let v = rng.uniform(-1.0, 1.0);
            if v.abs() >= 0.1 {
                return v;
            }
        };
        let (a, b) = (draw(), draw());
        x[(0, j)] = a;
        x[(1, j)] = b;
        y[(0, j)] = f64::from(u8::from(a * b > 0.0));
    }
    (x, y)
}

/// How one initialisation did.
#[derive(Debug)]
pub struct Run {
    /// The initialisation, as displayed (`zeros`, `constant(0.5)`, `xavier_normal`).
    pub init: String,
    /// Worst relative error of the gradient against finite differences before training.
    pub gradcheck: f64,
    /// Largest row spread over the hidden layers' weights and biases after training.
    pub row_spread: f64,
    /// Largest change of any hidden weight during training (0 means it never moved).
    pub moved: f64,
    /// Training accuracy after training.
    pub accuracy: f64,
    /// The trained network (for the figure).
    pub net: Network<f64>,
}

/// What was measured.
#[derive(Debug)]
pub struct Measured {
    /// All-zero initialisation.
    pub zeros: Run,
    /// Every weight and bias 0.5.
    pub constant: Run,
    /// The recommended random initialisation.
    pub random: Run,
    /// The best training accuracy any single straight line reaches on the data (searched
    /// over 720 directions and every threshold): what a layer of identical units can do.
    pub best_line_accuracy: f64,
    /// The training data (for the figure).
    pub data: (DMatrix<f64>, DMatrix<f64>),
}

impl Measured {
    /// The claim holds if the constant initialisations end with identical rows (spread ≤
    /// 1e-12) and low accuracy (no better than the best single line, + 0.02 for the
    /// search's resolution, and ≤ 0.8), while random initialisation solves the task
    /// (≥ 0.95), and every gradient check passed (≤ 1e-6).
    pub fn verdict(&self) -> bool {
        [&self.zeros, &self.constant].iter().all(|r| {
            r.row_spread <= 1e-12
                && r.accuracy <= 0.8
                && r.accuracy <= self.best_line_accuracy + 0.02
        }) && self.random.accuracy >= 0.95
            && [&self.zeros, &self.constant, &self.random]
                .iter()
                .all(|r| r.gradcheck <= 1e-6)
    }
}

/// Largest `|W[i][j] − W[0][j]|` over rows `i` and columns `j`.
fn row_spread(w: &DMatrix<f64>) -> f64 {
    let mut spread = 0.0f64;
    for i in 1..w.nrows() {
        for j in 0..w.ncols() {
            spread = spread.max((w[(i, j)] - w[(0, j)]).abs());
        }
    }
    spread
}

/// The best accuracy of a classifier `[u·x > t]` (either orientation) on 2-D data, over
/// 720 directions `u` and every threshold `t` between sorted projections.
pub fn best_line_accuracy(x: &DMatrix<f64>, y: &DMatrix<f64>) -> f64 {
    let m = x.ncols();
    let positives = y.iter().filter(|&&v| v > 0.5).count();
    let mut best = 0usize;
    for k in 0..720 {
        let angle = std::f64::consts::PI * k as f64 / 360.0;
        let (c, s) = (angle.cos(), angle.sin());
        let mut order: Vec<(f64, bool)> = (0..m)
            .map(|j| (c * x[(0, j)] + s * x[(1, j)], y[(0, j)] > 0.5))
            .collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0));
        // predict 1 above the threshold: correct = negatives below + positives above
        // (the other orientation gets m − correct)
        let (mut neg_below, mut pos_below) = (0usize, 0usize);
        best = best.max(positives).max(m - positives);
        for &(_, positive) in &order {
            if positive {
                pos_below += 1;
            } else {
                neg_below += 1;
            }
            let correct = neg_below + (positives - pos_below);
            best = best.max(correct).max(m - correct);
        }
    }
    best as f64 / m.max(1) as f64
}

fn train(init: Option<Init>, data: &(DMatrix<f64>, DMatrix<f64>), config: &Config) -> Result<Run> {
    let dense = |b: nn_train::NetworkBuilder<f64>, units, act| match init {
        Some(init) => b.dense_with_init(units, act, init),
        None => b.dense(units, act),
    };
    let mut builder = Network::<f64>::builder(2);
    builder = dense(builder, HIDDEN_UNITS, Activation::Tanh);
    builder = dense(builder, HIDDEN_UNITS, Activation::Tanh);
    builder = dense(builder, 1, Activation::Sigmoid);
    let mut net = builder.loss(Loss::BinaryCrossEntropy).seed(7).build()?;
    let (x, y) = data;
    let gradcheck = check_before_training(&mut net, x, y, 32)?;
    let before = net.snapshot();
    let fit_config = FitConfig {
        epochs: config.epochs,
        batch_size: 32,
        optimizer: Optimizer::adam(0.05),
        seed: 1,
        ..FitConfig::default()
    };
    fit(&mut net, (x, y), None, &fit_config, &mut Silent)?;
    let hidden = net.layers().len() - 1;
    let mut spread = 0.0f64;
    let mut moved = 0.0f64;
    for (l, layer) in net.layers()[..hidden].iter().enumerate() {
        for param in layer.params() {
            let p = param.value();
            spread = spread.max(row_spread(p));
            if param.name() == "weight" {
                moved = moved.max((p - &before[2 * l]).amax());
            }
        }
    }
    Ok(Run {
        init: init.map_or_else(|| "xavier_normal".to_string(), |i| i.to_string()),
        gradcheck,
        row_spread: spread,
        moved,
        accuracy: net.evaluate(x, y)?.accuracy.unwrap_or(0.0),
        net,
    })
}

/// Trains the three networks.
///
/// # Errors
/// If a network cannot be built or trained (not expected).
pub fn measure(config: &Config) -> Result<Measured> {
    let data = xor_quadrants(config.examples, 7);
    Ok(Measured {
        best_line_accuracy: best_line_accuracy(&data.0, &data.1),
        zeros: train(Some(Init::Zeros), &data, config)?,
        constant: train(Some(Init::Constant(0.5)), &data, config)?,
        random: train(None, &data, config)?,
        data,
    })
}

/// Draws the decision regions of a trained network over the data.
///
/// # Errors
/// If the figure cannot be written.
pub fn figure(m: &Measured, run: &Run, path: &std::path::Path) -> Result<()> {
    let (x, y) = &m.data;
    let points: Vec<Point2> = (0..x.ncols())
        .map(|j| Point2 {
            x: x[(0, j)],
            y: x[(1, j)],
            class: usize::from(y[(0, j)] > 0.5),
        })
        .collect();
    let classify = |grid: &DMatrix<f64>| -> Result<Vec<usize>> {
        Ok(run
            .net
            .predict(grid)?
            .iter()
            .map(|&p| usize::from(p >= 0.5))
            .collect())
    };
    let units = if run.row_spread <= 1e-12 {
        "units identical".to_string()
    } else {
        format!("units differ by {:.1}", run.row_spread)
    };
    let title = format!(
        "T7: start {}: {:.0}% right, {units}",
        run.init,
        100.0 * run.accuracy
    );
    decision_regions(
        path,
        &title,
        ((-1.0, 1.0), (-1.0, 1.0)),
        &classify,
        &points,
        &[],
    )
}

fn run(ctx: &Context) -> Result<Findings> {
    let config = Config::new(ctx.size);
    let m = measure(&config)?;
    let constant = ctx.figure("t07_constant_init.svg")?;
    figure(&m, &m.constant, &constant)?;
    let random = ctx.figure("t07_random_init.svg")?;
    figure(&m, &m.random, &random)?;
    let gradcheck = [&m.zeros, &m.constant, &m.random]
        .iter()
        .map(|r| r.gradcheck)
        .fold(0.0, f64::max);
    let spread = |v: f64| {
        if v == 0.0 {
            "units identical".to_string()
        } else {
            format!("row spread {v:.0e}")
        }
    };
    let differ = |spread: f64| {
        if spread == 0.0 {
            "are still exactly equal".to_string()
        } else {
            format!("still differ by only {spread:.0e}")
        }
    };
    let reading = format!(
        r"From the constant start (every weight 0.5), the hidden weights moved by up to
        {:.1} during training, yet the rows of each hidden weight matrix {}: the eight units
        of each layer took exactly the same steps. The network
        classifies {:.0}% of the points right, and the best single straight line gets
        {:.0}% — identical units draw one line, as the figure shows.

        The all-zero start is stuck harder still: a tanh layer of zero weights outputs
        zeros, so no weight gets any gradient ({}); only the output bias learns, and the
        network predicts the more common label, {:.0}% right. From the random start the
        units drift apart (their rows differ by up to {:.1} after training), and the
        network solves the task: {:.0}% right. (Gradient checks before training: {:.0e} at
        worst.)",
        m.constant.moved,
        differ(m.constant.row_spread),
        100.0 * m.constant.accuracy,
        100.0 * m.best_line_accuracy,
        if m.zeros.moved == 0.0 {
            "not one moved".to_string()
        } else {
            format!("they moved by at most {:.0e}", m.zeros.moved)
        },
        100.0 * m.zeros.accuracy,
        m.random.row_spread,
        100.0 * m.random.accuracy,
        gradcheck
    );
    Ok(Findings {
        measured: format!(
            "XOR quadrants: zeros → {}, acc {:.0}%; constant 0.5 → {} (weights moved {:.1}), \
             acc {:.0}% (best single line {:.0}%); random → acc {:.0}%; gradcheck {:.0e}",
            spread(m.zeros.row_spread),
            100.0 * m.zeros.accuracy,
            spread(m.constant.row_spread),
            m.constant.moved,
            100.0 * m.constant.accuracy,
            100.0 * m.best_line_accuracy,
            100.0 * m.random.accuracy,
            gradcheck
        ),
        passed: m.verdict(),
        figures: vec![
            Figure::new(
                constant,
                r"After training from the constant start: the XOR-like data (orange where
                $x_1 x_2 > 0$, blue elsewhere) over the class the network predicts. Sixteen
                hidden units, but every unit of a layer is the same unit, and the boundary is
                one straight line, which cannot put both orange quadrants on one side and
                both blue ones on the other.",
            ),
            Figure::new(
                random,
                r"The same network and training from a random start: the units differ, and
                the boundary follows both axes, putting each quadrant on its side.",
            ),
        ],
        reading,
        settings: format!(
            "{config:?}; Adam 0.05, batch 32; network seed 7, data seed 7, shuffling seed 1"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_initialisation_keeps_units_identical_and_cannot_learn_xor() {
        let m = measure(&Config::new(Size::Quick)).unwrap();
        for r in [&m.zeros, &m.constant, &m.random] {
            assert!(r.gradcheck <= 1e-6, "{}: {:e}", r.init, r.gradcheck);
        }
        for r in [&m.zeros, &m.constant] {
            assert!(r.row_spread <= 1e-12, "{}: {:e}", r.init, r.row_spread);
            // identical units draw a single line: no better than the best line (the
            // search over 720 directions may miss the optimum by a point or two)
            assert!(
                r.accuracy <= m.best_line_accuracy + 0.02 && r.accuracy <= 0.8,
                "{}: {} vs best line {}",
                r.init,
                r.accuracy,
                m.best_line_accuracy
            );
        }
        // the constant weights did train (so identical rows are not merely untouched ones)
        assert!(m.constant.moved > 0.05, "{}", m.constant.moved);
        assert!(m.random.accuracy >= 0.95, "{}", m.random.accuracy);
        assert!(m.random.row_spread > 0.1, "{}", m.random.row_spread);
    }

    #[test]
    fn the_task_is_balanced_and_has_its_margin() {
        let (x, y) = xor_quadrants(400, 3);
        let ones = y.iter().filter(|&&v| v == 1.0).count();
        assert!((150..=250).contains(&ones), "{ones}");
        assert!(x.iter().all(|v| (0.1..=1.0).contains(&v.abs())));
        // a line through the positive quadrant's corner gets ~67% of it, never ~100%
        let best = best_line_accuracy(&x, &y);
        assert!((0.6..0.8).contains(&best), "{best}");
        // and a separable labelling is found to be separable
        let sep = DMatrix::from_fn(1, 400, |_, j| f64::from(u8::from(x[(0, j)] > 0.0)));
        assert_eq!(best_line_accuracy(&x, &sep), 1.0);
    }
}
