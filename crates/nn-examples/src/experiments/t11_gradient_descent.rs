//! T11 — gradient descent moves a weight against the slope, `w ← w − η dJ/dw`, and
//! converges to the minimum of a convex cost, unless the learning rate is too large.
//!
//! Method, three convex costs:
//!
//! 1. 1-D quadratic `J(w) = (w − 3)²`, iterated by hand from `w = −2` with learning rates
//!    below, near and above the critical `η = 2/J'' = 1`: every step must go against the
//!    slope; the iterates converge to `w* = 3` for `η < 1` (monotonically, or oscillating
//!    for `η > ½`) and grow without bound for `η > 1` (detected when `|w − w*|` exceeds 10⁶
//!    times its start).
//! 2. 2-D: a one-unit linear network (identity output, MSE) fitting a line to 20 noisy
//!    points — a quadratic in `(w, b)` whose minimum is the least-squares solution of the
//!    normal equations, and whose Hessian `H = (2/m) X̃X̃ᵀ` gives the critical learning
//!    rate `2/λ_max(H)`. The library's SGD (full batch) at `1/λ_max` and at 0.9 × the
//!    critical rate (zig-zagging across the valley) must converge to the least-squares
//!    solution, each step equalling `−η ∇J` computed here independently;
//!    at `1.1 × 2/λ_max` the library must report [`TrainingError::Diverged`].
//! 3. 2-D: a one-unit sigmoid network with binary cross-entropy on 12 overlapping points
//!    (logistic regression): its gradient-descent path must converge to the minimum found
//!    independently by Newton's method.
//!
//! Each network's gradient is checked against finite differences before training.
//!
//! The tour page's text for this claim is [`LESSON`].

use nalgebra::{DMatrix, Matrix2, Vector2};
use nn_train::{
    Activation, FitConfig, Init, Loss, Network, Optimizer, SeededRng, Silent, Stream, TrainError,
    Trainer, TrainingError,
};

use super::t06_backprop::check_before_training;
use crate::plot::{ChartOptions, Labels, Legend, Series, Surface, chart, contour_paths};
use crate::{Context, Experiment, Figure, Findings, Lesson, Result, Size};

/// The claim.
pub const CLAIM: &str = "gradient descent moves a weight against the slope and converges to the minimum of a convex cost";

/// The experiment as the tour runs it.
pub const EXPERIMENT: Experiment = Experiment {
    id: "T11",
    claim: CLAIM,
    lesson: &LESSON,
    run,
};

/// The claim explained, for the tour page.
pub const LESSON: Lesson = Lesson {
    claim: r"Gradient descent reads the slope of the cost where it stands and steps the
        other way: where $dJ/dw$ is positive, $w$ decreases; where it is negative, $w$
        increases. On a convex cost every downhill step leads toward the one minimum, and
        the steps shrink with the slope, so the iterates converge to it — provided the
        learning rate $\eta$ is small enough. On the quadratic $J(w) = (w - 3)^2$ the
        distance to the minimum is multiplied by exactly $1 - 2\eta$ per step: it shrinks
        for $0 < \eta < 1$ (from the other side, oscillating, when $\eta > \frac{1}{2}$) and
        grows for $\eta > 1$. In general the limit is $2/\lambda_{\max}$, with
        $\lambda_{\max}$ the largest curvature (eigenvalue of the Hessian).",
    equation: r"w \leftarrow w - \eta\,\frac{dJ}{dw}, \qquad J(w) = (w - 3)^2:\quad w_{k+1} - 3 = (1 - 2\eta)\,(w_k - 3)",
    method: r"Three convex costs.

        - The quadratic above, iterated by hand from $w = -2$ with $\eta$ = 0.05, 0.45,
          0.9 and 1.05: every step is checked to go against the slope, and the run counts as
          diverged when $|w - 3|$ exceeds a million times its start.
        - A straight-line fit by a one-unit linear network with mean squared error — a
          quadratic in the weight and bias whose minimum is the least-squares solution and
          whose Hessian gives the critical rate $2/\lambda_{\max}$. The library's optimizer
          runs at half and at 0.9 times the critical rate, each step compared with
          $-\eta\nabla J$ computed independently, and at 1.1 times it, where the library
          must stop with a divergence error.
        - Logistic regression on twelve overlapping points by a one-unit sigmoid network:
          its path must end at the minimum found by Newton's method.",
    source: file!(),
    docs: &[
        ("`Optimizer::sgd`", "nn_train/enum.Optimizer.html"),
        (
            "`TrainingError::Diverged`",
            "nn_train/enum.TrainingError.html",
        ),
    ],
};

/// The 1-D learning rates (critical rate 1).
pub const RATES_1D: [f64; 4] = [0.05, 0.45, 0.9, 1.05];

/// The minimum of the 1-D quadratic.
pub const W_STAR: f64 = 3.0;

/// The 1-D starting point.
pub const W_START: f64 = -2.0;

/// Step counts.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Steps of the 1-D iteration.
    pub steps_1d: usize,
    /// Full-batch steps on the linear network.
    pub steps_linear: usize,
    /// Full-batch steps on the logistic network.
    pub steps_logistic: usize,
    /// Epochs allowed for the too-large learning rate to blow up.
    pub diverge_epochs: usize,
}

impl Config {
    /// The configuration for a size (the quick one takes fewer steps and is held to the
    /// same tolerances, which the contraction factors reach well within them).
    pub fn new(size: Size) -> Self {
        match size {
            Size::Quick => Self {
                steps_1d: 300,
                steps_linear: 500,
                steps_logistic: 600,
                diverge_epochs: 5000,
            },
            Size::Full => Self {
                steps_1d: 300,
                steps_linear: 800,
                steps_logistic: 1500,
                diverge_epochs: 5000,
            },
        }
    }
}

/// The 1-D run at one learning rate.
#[derive(Debug, Clone)]
pub struct Run1d {
    /// The learning rate.
    pub rate: f64,
    /// `w` after every step (the start first).
    pub path: Vec<f64>,
    /// Steps that moved along the slope (uphill).
    pub uphill_steps: usize,
    /// Final `|w − w*|`.
    pub final_error: f64,
    /// The step at which `|w − w*|` exceeded 10⁶ × its start, if it did.
    pub diverged_at: Option<usize>,
}

/// A gradient-descent run on a two-parameter network.
#[derive(Debug, Clone)]
pub struct Run2d {
    /// `(w, b)` after every step (the start first).
    pub path: Vec<(f64, f64)>,
    /// The minimum computed independently (normal equations or Newton's method).
    pub optimum: (f64, f64),
    /// Final distance `‖θ − θ*‖`.
    pub final_distance: f64,
    /// Largest `‖Δθ + η ∇J‖ / ‖η ∇J‖` over the steps longer than 1e-5, `∇J` computed
    /// here.
    pub step_rel_error: f64,
    /// The learning rate used.
    pub rate: f64,
    /// Gradient check of the network before training.
    pub gradcheck: f64,
}

/// What was measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The 1-D runs, one per [`RATES_1D`] entry.
    pub one_d: Vec<Run1d>,
    /// The linear network (MSE) at half the critical learning rate.
    pub linear: Run2d,
    /// The same at 0.9 × the critical learning rate (it zig-zags across the valley).
    pub linear_fast: Run2d,
    /// The critical learning rate `2/λ_max(H)` of the linear problem.
    pub critical_rate: f64,
    /// What the library reported at 1.1 × the critical rate: `(epoch, step)` of the
    /// [`TrainingError::Diverged`] error, `None` if training finished.
    pub diverged: Option<(usize, usize)>,
    /// The logistic network (BCE).
    pub logistic: Run2d,
    /// The data of the linear and the logistic problem, `(x, y)` rows.
    pub data: [(Vec<f64>, Vec<f64>); 2],
}

impl Measured {
    /// The claim holds if no step goes uphill; the 1-D iterates converge to `w*` (to 1e-9)
    /// exactly for the rates below 1 and diverge for the rate above; both networks
    /// converge to their independent optimum (to 1e-6) with each step `−η ∇J` (to 1e-9);
    /// the too-large rate is reported as divergence; and the gradient checks pass (1e-6).
    pub fn verdict(&self) -> bool {
        let one_d = self.one_d.iter().all(|r| {
            r.uphill_steps == 0
                && if r.rate < 1.0 {
                    r.final_error <= 1e-9 && r.diverged_at.is_none()
                } else {
                    r.diverged_at.is_some()
                }
        });
        let two_d = [&self.linear, &self.linear_fast, &self.logistic]
            .iter()
            .all(|r| r.final_distance <= 1e-6 && r.step_rel_error <= 1e-9 && r.gradcheck <= 1e-6);
        one_d && two_d && self.diverged.is_some()
    }
}

/// Gradient descent on `(w − 3)²` by hand.
pub fn descend_1d(rate: f64, steps: usize) -> Run1d {
    let start = (W_START - W_STAR).abs();
    let mut w = W_START;
    let mut path = vec![w];
    let (mut uphill_steps, mut diverged_at) = (0, None);
    for k in 0..steps {
        let slope = 2.0 * (w - W_STAR); // dJ/dw
        let next = w - rate * slope;
        // a move along the slope is uphill; no move at all (the step lost to rounding
        // next to w*) is not
        if (next - w) * slope > 0.0 {
            uphill_steps += 1;
        }
        w = next;
        path.push(w);
        if !w.is_finite() || (w - W_STAR).abs() > 1e6 * start {
            diverged_at = Some(k + 1);
            break;
        }
    }
    Run1d {
        rate,
        final_error: (w - W_STAR).abs(),
        path,
        uphill_steps,
        diverged_at,
    }
}

/// The line-fitting data: 20 points, `x ~ N(1.5, 1)`, `y = 2x − 1 + N(0, 0.3²)`.
fn line_data() -> (Vec<f64>, Vec<f64>) {
    let mut rng = SeededRng::for_stream(11, Stream::Custom(0));
    let x: Vec<f64> = (0..20).map(|_| rng.normal(1.5, 1.0)).collect();
    let y = x
        .iter()
        .map(|&x| 2.0 * x - 1.0 + rng.normal(0.0, 0.3))
        .collect();
    (x, y)
}

/// The logistic data: 12 points on a line whose labels overlap (not separable, so the
/// cost has a finite minimum).
fn logistic_data() -> (Vec<f64>, Vec<f64>) {
    (
        vec![
            -2.0, -1.5, -1.0, -0.6, -0.3, 0.0, 0.2, 0.5, 0.9, 1.3, 1.8, 2.4,
        ],
        vec![0., 0., 1., 0., 0., 1., 0., 1., 1., 0., 1., 1.],
    )
}

/// `J(w, b) = (1/m) Σ (w x + b − y)²`.
fn mse(x: &[f64], y: &[f64], (w, b): (f64, f64)) -> f64 {
    x.iter()
        .zip(y)
        .map(|(&x, &y)| (w * x + b - y).powi(2))
        .sum::<f64>()
        / x.len() as f64
}

fn mse_grad(x: &[f64], y: &[f64], (w, b): (f64, f64)) -> Vector2<f64> {
    let m = x.len() as f64;
    x.iter().zip(y).fold(Vector2::zeros(), |g, (&x, &y)| {
        let r = w * x + b - y;
        g + Vector2::new(2.0 * r * x / m, 2.0 * r / m)
    })
}

/// `J(w, b) = (1/m) Σ max(z, 0) − z y + ln(1 + e^(−|z|))`, `z = w x + b`.
fn logistic_cost(x: &[f64], y: &[f64], (w, b): (f64, f64)) -> f64 {
    x.iter()
        .zip(y)
        .map(|(&x, &y)| {
            let z = w * x + b;
            z.max(0.0) - z * y + (-z.abs()).exp().ln_1p()
        })
        .sum::<f64>()
        / x.len() as f64
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn logistic_grad(x: &[f64], y: &[f64], (w, b): (f64, f64)) -> Vector2<f64> {
    let m = x.len() as f64;
    x.iter().zip(y).fold(Vector2::zeros(), |g, (&x, &y)| {
        let r = sigmoid(w * x + b) - y;
        g + Vector2::new(r * x / m, r / m)
    })
}

/// Newton's method for logistic regression, from 0, until the step is below 1e-14.
fn newton_logistic(x: &[f64], y: &[f64]) -> (f64, f64) {
    let m = x.len() as f64;
    let mut theta = Vector2::zeros();
    for _ in 0..100 {
        let g = logistic_grad(x, y, (theta[0], theta[1]));
        let h = x.iter().fold(Matrix2::zeros(), |h, &x| {
            let p = sigmoid(theta[0] * x + theta[1]);
            let v = Vector2::new(x, 1.0);
            h + v * v.transpose() * (p * (1.0 - p) / m)
        });
        let Some(step) = h.lu().solve(&g) else { break };
        theta -= step;
        if step.norm() < 1e-14 {
            break;
        }
    }
    (theta[0], theta[1])
}

/// The normal equations' solution and the largest eigenvalue of `H = (2/m) X̃X̃ᵀ`.
fn least_squares(x: &[f64], y: &[f64]) -> ((f64, f64), f64) {
    let m = x.len() as f64;
    let (sx, sxx) = (x.iter().sum::<f64>(), x.iter().map(|v| v * v).sum::<f64>());
    let sy: f64 = y.iter().sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| a * b).sum();
    let a = Matrix2::new(sxx, sx, sx, m);
    let theta = a
        .lu()
        .solve(&Vector2::new(sxy, sy))
        .unwrap_or_else(Vector2::zeros);
    let h = a * (2.0 / m);
    let (tr, det) = (h.trace(), h.determinant());
    let lambda_max = tr / 2.0 + (tr * tr / 4.0 - det).max(0.0).sqrt();
    ((theta[0], theta[1]), lambda_max)
}

fn as_matrices(x: &[f64], y: &[f64]) -> (DMatrix<f64>, DMatrix<f64>) {
    (
        DMatrix::from_row_slice(1, x.len(), x),
        DMatrix::from_row_slice(1, y.len(), y),
    )
}

/// A one-unit network `1 → 1` with the given activation and loss, starting at `(w, b)`.
fn one_unit(activation: Activation, loss: Loss, (w, b): (f64, f64)) -> Result<Network<f64>> {
    let mut net = Network::<f64>::builder(1)
        .dense_with_init(1, activation, Init::Zeros)
        .loss(loss)
        .build()?;
    let layer = &mut net.layers_mut()[0];
    layer.set_param("weight", DMatrix::from_element(1, 1, w))?;
    layer.set_param("bias", DMatrix::from_element(1, 1, b))?;
    Ok(net)
}

fn params(net: &Network<f64>) -> (f64, f64) {
    let p = net.layers()[0].params();
    (p[0].value()[(0, 0)], p[1].value()[(0, 0)])
}

type Gradient = fn(&[f64], &[f64], (f64, f64)) -> Vector2<f64>;

/// Full-batch SGD with the library, step by step, checking each step against `−η ∇J`.
fn descend_net(
    mut net: Network<f64>,
    data: &(Vec<f64>, Vec<f64>),
    rate: f64,
    steps: usize,
    gradient: Gradient,
    optimum: (f64, f64),
) -> Result<Run2d> {
    let (xs, ys) = data;
    let (x, y) = as_matrices(xs, ys);
    let gradcheck = check_before_training(&mut net, &x, &y, xs.len())?;
    let mut trainer = Trainer::new(FitConfig {
        epochs: 1,
        batch_size: xs.len(),
        shuffle: false,
        optimizer: Optimizer::sgd(rate),
        ..FitConfig::default()
    })?;
    let mut path = vec![params(&net)];
    let mut step_rel_error = 0.0f64;
    for _ in 0..steps {
        let before = params(&net);
        trainer.train_step(&mut net, &x, &y)?;
        let after = params(&net);
        let expected = -rate * gradient(xs, ys, before);
        let moved = Vector2::new(after.0 - before.0, after.1 - before.1);
        let scale = expected.norm();
        if scale > 1e-5 {
            // the parameters are O(1): below this the difference after − before carries
            // rounding of ~1e-16 / scale, which would swamp the comparison
            step_rel_error = step_rel_error.max((moved - expected).norm() / scale);
        }
        path.push(after);
    }
    let last = params(&net);
    Ok(Run2d {
        final_distance: Vector2::new(last.0 - optimum.0, last.1 - optimum.1).norm(),
        path,
        optimum,
        step_rel_error,
        rate,
        gradcheck,
    })
}

/// Runs the three problems.
///
/// # Errors
/// If a network cannot be built or trained, other than the expected divergence.
pub fn measure(config: &Config) -> Result<Measured> {
    let one_d = RATES_1D
        .iter()
        .map(|&r| descend_1d(r, config.steps_1d))
        .collect();

    let line = line_data();
    let (optimum, lambda_max) = least_squares(&line.0, &line.1);
    let critical_rate = 2.0 / lambda_max;
    let start = (-1.0, 3.0);
    let linear = descend_net(
        one_unit(Activation::Identity, Loss::Mse, start)?,
        &line,
        1.0 / lambda_max,
        config.steps_linear,
        mse_grad,
        optimum,
    )?;
    let linear_fast = descend_net(
        one_unit(Activation::Identity, Loss::Mse, start)?,
        &line,
        0.9 * critical_rate,
        config.steps_linear,
        mse_grad,
        optimum,
    )?;
    let mut net = one_unit(Activation::Identity, Loss::Mse, start)?;
    let (x, y) = as_matrices(&line.0, &line.1);
    let fit_config = FitConfig {
        epochs: config.diverge_epochs,
        batch_size: line.0.len(),
        shuffle: false,
        optimizer: Optimizer::sgd(1.1 * critical_rate),
        ..FitConfig::default()
    };
    let diverged = match Trainer::new(fit_config)?.fit(&mut net, (&x, &y), None, &mut Silent) {
        Err(TrainError::Training(TrainingError::Diverged { epoch, step, .. })) => {
            Some((epoch, step))
        }
        Err(e) => return Err(e.into()),
        Ok(_) => None,
    };

    let logit = logistic_data();
    let logistic = descend_net(
        one_unit(Activation::Sigmoid, Loss::BinaryCrossEntropy, (-2.0, 2.5))?,
        &logit,
        2.0,
        config.steps_logistic,
        logistic_grad,
        newton_logistic(&logit.0, &logit.1),
    )?;
    Ok(Measured {
        one_d,
        linear,
        linear_fast,
        critical_rate,
        diverged,
        logistic,
        data: [line, logit],
    })
}

/// A square around the path and the optimum, with a margin.
fn frame(path: &[(f64, f64)], optimum: (f64, f64)) -> ((f64, f64), (f64, f64)) {
    let pts = path.iter().chain(std::iter::once(&optimum));
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    let (px, py) = (0.15 * (x1 - x0) + 0.1, 0.15 * (y1 - y0) + 0.1);
    ((x0 - px, x1 + px), (y0 - py, y1 + py))
}

/// Draws the 1-D error curves and the two 2-D paths over their cost surfaces.
///
/// # Errors
/// If a figure cannot be written.
pub fn figures(m: &Measured, paths: [&std::path::Path; 3]) -> Result<()> {
    let series: Vec<Series> = m
        .one_d
        .iter()
        .map(|r| {
            let label = if r.diverged_at.is_some() {
                format!("η = {} (diverges)", r.rate)
            } else if r.rate > 0.5 {
                format!("η = {} (oscillates around w*)", r.rate)
            } else {
                format!("η = {}", r.rate)
            };
            Series::new(
                label,
                r.path
                    .iter()
                    .enumerate()
                    .map(|(k, w)| (k as f64, (w - W_STAR).abs()))
                    .collect(),
            )
        })
        .collect();
    chart(
        paths[0],
        Labels {
            title: "T11: gradient descent on J(w) = (w − 3)², critical η = 1",
            x: "step",
            y: "|w − w*| (log scale)",
        },
        &series,
        &ChartOptions {
            log_y: true,
            legend: Legend::UpperRight,
            ..ChartOptions::default()
        },
    )?;
    let [(lx, ly), (gx, gy)] = &m.data;
    let shown = |r: &Run2d, n: usize| r.path.iter().take(n).copied().collect::<Vec<_>>();
    let linear_path = shown(&m.linear, 40);
    let fast_path = shown(&m.linear_fast, 40);
    let mse_at = |w: f64, b: f64| mse(lx, ly, (w, b));
    let title = format!(
        "T11: a line fit's MSE, first 40 steps (critical η = {:.3})",
        m.critical_rate
    );
    contour_paths(
        paths[1],
        Labels {
            title: &title,
            x: "weight w",
            y: "bias b",
        },
        Surface {
            range: frame(
                &[linear_path.as_slice(), &fast_path].concat(),
                m.linear.optimum,
            ),
            f: &mse_at,
            levels: 14,
        },
        &[
            Series::new(format!("η = 1/λmax = {:.3}", m.linear.rate), linear_path),
            Series::new(
                format!("η = 0.9 × critical = {:.3}", m.linear_fast.rate),
                fast_path,
            ),
        ],
        &[("least squares", m.linear.optimum)],
    )?;
    let logistic_path = shown(&m.logistic, 200);
    let bce_at = |w: f64, b: f64| logistic_cost(gx, gy, (w, b));
    let title = format!(
        "T11: logistic regression's cost, first 200 steps at η = {}",
        m.logistic.rate
    );
    contour_paths(
        paths[2],
        Labels {
            title: &title,
            x: "weight w",
            y: "bias b",
        },
        Surface {
            range: frame(&logistic_path, m.logistic.optimum),
            f: &bce_at,
            levels: 14,
        },
        &[Series::new("gradient descent", logistic_path)],
        &[("Newton's optimum", m.logistic.optimum)],
    )
}

fn run(ctx: &Context) -> Result<Findings> {
    let config = Config::new(ctx.size);
    let m = measure(&config)?;
    let files = [
        ctx.figure("t11_descent_1d.svg")?,
        ctx.figure("t11_line_fit_path.svg")?,
        ctx.figure("t11_logistic_path.svg")?,
    ];
    figures(&m, [&files[0], &files[1], &files[2]])?;
    let converged: Vec<String> = m
        .one_d
        .iter()
        .map(|r| match r.diverged_at {
            Some(k) => format!("η={}: diverged at step {k}", r.rate),
            None => format!("η={}: |w−w*| {:.0e}", r.rate, r.final_error),
        })
        .collect();
    let described: Vec<String> = m
        .one_d
        .iter()
        .map(|r| match r.diverged_at {
            Some(k) => format!(
                r"at $\eta = {}$ the distance grew by $|1 - 2\eta| = {:.1}$ per step and passed
                a million times its start at step {k}",
                r.rate,
                (1.0 - 2.0 * r.rate).abs()
            ),
            None if r.final_error == 0.0 => format!(
                r"at $\eta = {}$ the iterates landed exactly on $w^* = 3$ (the last
                distance rounded to 0)",
                r.rate
            ),
            None => format!(
                r"at $\eta = {}$ the iterates ended {:.0e} from $w^* = 3$",
                r.rate, r.final_error
            ),
        })
        .collect();
    let uphill: usize = m.one_d.iter().map(|r| r.uphill_steps).sum();
    let step_error = m
        .linear
        .step_rel_error
        .max(m.linear_fast.step_rel_error)
        .max(m.logistic.step_rel_error);
    let gradcheck = m.linear.gradcheck.max(m.logistic.gradcheck);
    let diverged = m.diverged.map_or_else(
        || "NOT detected".to_string(),
        |(e, _)| format!("Diverged at epoch {e}"),
    );
    let reported = m.diverged.map_or_else(
        || "the library did not report a divergence, and the claim fails".to_string(),
        |(e, _)| {
            format!(
                "the library stopped with a divergence error at epoch {e}, keeping the last \
                 good parameters"
            )
        },
    );
    let reading = format!(
        r"On the quadratic, {}; {} of the four runs' steps went uphill. The first three
        converge as the contraction factor $|1 - 2\eta|$ predicts; the last shows the other
        side of the same formula.

        On the line fit, the library's steps equal $-\eta\nabla J$ to {step_error:.0e}, and
        from half the critical rate $2/\lambda_{{\max}} = {:.3}$ it ends {:.0e} from the
        least-squares solution, from 0.9 times it {:.0e} — after zig-zagging across the
        valley. At 1.1 times the critical rate {reported}. The logistic path ends {:.0e} from
        Newton's optimum. (Gradient checks before training: {gradcheck:.0e}.)

        Convexity is what makes every one of these runs find the minimum from anywhere; the
        claim says nothing about the costs of deeper networks, which are not convex and have
        many stationary points.",
        described.join("; "),
        if uphill == 0 {
            "none".to_string()
        } else {
            uphill.to_string()
        },
        m.critical_rate,
        m.linear.final_distance,
        m.linear_fast.final_distance,
        m.logistic.final_distance,
    );
    let [one_d, line, logistic] = files;
    Ok(Findings {
        measured: format!(
            "1-D (w−3)²: {} ({}); line fit: ‖θ−θ*‖ {:.0e} at 0.5×critical η, \
             {:.0e} at 0.9×, steps = −η∇J to {step_error:.0e}, 1.1× → {diverged}; logistic: \
             ‖θ−θ_Newton‖ {:.0e}; gradcheck {gradcheck:.0e}",
            converged.join(", "),
            if uphill == 0 {
                "no step uphill".to_string()
            } else {
                format!("{uphill} steps uphill")
            },
            m.linear.final_distance,
            m.linear_fast.final_distance,
            m.logistic.final_distance,
        ),
        passed: m.verdict(),
        figures: vec![
            Figure::new(
                one_d,
                r"Distance $|w - w^*|$ to the minimum of $(w - 3)^2$ against the step, on a log
                scale, for four learning rates. Below the critical rate 1 each line falls
                straight — the distance shrinks by the same factor $|1 - 2\eta|$ every step —
                until it reaches rounding (at $\eta = 0.45$ it becomes exactly 0 and leaves
                the log scale); at $\eta = 1.05$ it rises just as straight.",
            ),
            Figure::new(
                line,
                r"Contours of the line fit's mean squared error over the weight and the bias
                (lighter is lower), with the first 40 iterates of gradient descent from the
                same start at two learning rates. At half the critical rate the path heads
                down the valley; at 0.9 times it, it overshoots the valley floor at every
                step and zig-zags across it, still converging to the least-squares solution
                (cross).",
            ),
            Figure::new(
                logistic,
                r"Contours of logistic regression's cost over the weight and the bias, with the
                first 200 iterates: the path runs downhill across the contours, and its steps
                shorten as the slope flattens toward the minimum found by Newton's method
                (cross).",
            ),
        ],
        reading,
        settings: format!(
            "{config:?}; 1-D from w = {W_START}, rates {RATES_1D:?}; line data seed 11; \
             logistic rate {}",
            m.logistic.rate
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_descent_goes_downhill_converges_and_diverges_when_too_fast() {
        let m = measure(&Config::new(Size::Quick)).unwrap();
        for r in &m.one_d {
            assert_eq!(r.uphill_steps, 0, "η = {}", r.rate);
            if r.rate < 1.0 {
                assert!(r.final_error <= 1e-9, "η = {}: {:e}", r.rate, r.final_error);
                assert!(r.diverged_at.is_none());
            } else {
                assert!(r.diverged_at.is_some(), "η = {}", r.rate);
            }
        }
        // the 1-D error contracts by exactly |1 − 2η| per step (J'' = 2)
        let r = &m.one_d[0];
        let ratio = (r.path[11] - W_STAR) / (r.path[10] - W_STAR);
        assert!((ratio - 0.9).abs() < 1e-12, "{ratio}");
        for r in [&m.linear, &m.linear_fast, &m.logistic] {
            assert!(r.gradcheck <= 1e-6, "{:e}", r.gradcheck);
            assert!(r.step_rel_error <= 1e-9, "{:e}", r.step_rel_error);
            assert!(r.final_distance <= 1e-6, "{:e}", r.final_distance);
        }
        assert!(m.diverged.is_some());
        assert!(m.verdict());
    }

    #[test]
    fn the_independent_optima_are_minima() {
        let (x, y) = line_data();
        let (theta, lambda_max) = least_squares(&x, &y);
        assert!(mse_grad(&x, &y, theta).norm() < 1e-12);
        assert!(lambda_max > 0.0);
        let (x, y) = logistic_data();
        let theta = newton_logistic(&x, &y);
        assert!(logistic_grad(&x, &y, theta).norm() < 1e-12);
        // a finite minimum: the overlapping labels keep the weights bounded
        assert!(theta.0.abs() < 10.0 && theta.1.abs() < 10.0, "{theta:?}");
    }
}
