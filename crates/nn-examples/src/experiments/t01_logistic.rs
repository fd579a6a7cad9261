//! T1 — a network with no hidden layer, one sigmoid output and binary cross-entropy *is*
//! logistic regression: `ŷ = σ(w·x + b)` with the cost `J = −(1/m) Σ [y ln ŷ + (1 − y)
//! ln(1 − ŷ)]`, so at the optimum the two coincide.
//!
//! Method: the bundled breast-cancer data restricted to `mean_radius`, `mean_texture`
//! and `mean_smoothness` (not linearly separable, so the unpenalised optimum is finite),
//! standardised. The network `3 → 1 sigmoid` (BCE) has its gradient checked against finite
//! differences, then is trained by plain full-batch gradient descent (the library's SGD
//! with the whole data set as the batch, learning rate 4) from its seeded initialisation.
//! Independently, logistic regression is solved here by Newton's method (iteratively
//! reweighted least squares) in f64 on the design `[1, x₁, x₂, x₃]`:
//!
//! ```text
//! p = σ(X̃ᵀβ)    H = (1/m) X̃ diag(p(1 − p)) X̃ᵀ    g = (1/m) X̃ (p − y)    β ← β − H⁻¹ g
//! ```
//!
//! until the step is below 1e-13 (relative). The trained network's weights and bias are compared with
//! Newton's coefficients and intercept (relative error), and the network's cost with the
//! cost at Newton's optimum, computed here in the stable form
//! `max(z, 0) − z y + ln(1 + e^(−|z|))`.
//!
//! The tour page's text for this claim is [`LESSON`].

use nalgebra::{DMatrix, DVector};
use nn_train::encode::{Encoder, EncoderKind};
use nn_train::{Activation, FitConfig, Loss, Network, Optimizer, Trainer};

use super::t06_backprop::check_before_training;
use crate::datasets::breast_cancer_features;
use crate::plot::{ChartOptions, Labels, Legend, Series, chart};
use crate::{Context, ExampleError, Experiment, Figure, Findings, Lesson, Result, Size};

/// The claim.
pub const CLAIM: &str =
    "a net with no hidden layer, a sigmoid output and binary cross-entropy is logistic regression";

/// The experiment as the tour runs it.
pub const EXPERIMENT: Experiment = Experiment {
    id: "T1",
    claim: CLAIM,
    lesson: &LESSON,
    run,
};

/// The claim explained, for the tour page.
pub const LESSON: Lesson = Lesson {
    claim: r"A network with no hidden layer and a single sigmoid output computes
        $\hat y = \sigma(w^\top x + b)$: the model of logistic regression, symbol for symbol.
        Trained with binary cross-entropy, it minimises the negative Bernoulli
        log-likelihood, which is what logistic regression maximises, with the sign flipped.
        That cost is convex, and strictly convex when no feature is a combination of the
        others; when the two classes overlap, its minimum is finite. So there is exactly one
        optimum, and any method that finds it must find the same coefficients, the same
        intercept and the same cost.",
    equation: r"\hat y = \sigma(w^\top x + b), \qquad J(w, b) = -\frac{1}{m}\sum_{i=1}^{m}\Big[y^{(i)}\log \hat y^{(i)} + \big(1 - y^{(i)}\big)\log\big(1 - \hat y^{(i)}\big)\Big]",
    method: r"Data: the 569 breast-cancer cases, three features (mean radius, texture and
        smoothness) standardised to zero mean and unit variance; the classes overlap. Two
        solvers that share no code:

        - the network `3 → 1 sigmoid` with binary cross-entropy, trained by plain
          full-batch gradient descent $\theta \leftarrow \theta - \eta\,\nabla J$ with
          $\eta = 4$ from its seeded random start, after its gradient was checked against
          finite differences;
        - logistic regression solved in the experiment itself by Newton's method
          (iteratively reweighted least squares), $\beta \leftarrow \beta - H^{-1}\nabla J$
          with the Hessian $H = \frac{1}{m}\tilde X \operatorname{diag}\big(p(1-p)\big)\tilde X^\top$,
          until the step is below $10^{-13}$.

        Then the network's weights and bias are compared with Newton's coefficients and
        intercept, and the two costs with each other.",
    source: file!(),
    docs: &[
        ("`Loss::BinaryCrossEntropy`", "nn_train/enum.Loss.html"),
        (
            "the experiment's module",
            "nn_examples/experiments/t01_logistic/index.html",
        ),
    ],
};

/// The breast-cancer features used.
pub const FEATURES: [&str; 3] = ["mean_radius", "mean_texture", "mean_smoothness"];

/// Tolerance on the relative error of the coefficients and intercept.
pub const COEF_TOLERANCE: f64 = 1e-4;

/// Tolerance on the difference of the costs.
pub const COST_TOLERANCE: f64 = 1e-8;

/// The gradient-descent learning rate (below the critical `2/λ_max(H) ≈ 11` at the
/// optimum of this data).
pub const LEARNING_RATE: f64 = 4.0;

/// Sizes of the run.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Full-batch gradient-descent steps.
    pub steps: usize,
}

impl Config {
    /// The configuration for a size. The problem is small (569 × 3), so both sizes train
    /// to convergence; the quick one stops once the claim's tolerances are reached.
    pub fn new(size: Size) -> Self {
        match size {
            Size::Quick => Self { steps: 600 },
            Size::Full => Self { steps: 1500 },
        }
    }
}

/// Logistic regression solved by Newton's method.
#[derive(Debug, Clone)]
pub struct Newton {
    /// `[intercept, w₁, w₂, w₃]`.
    pub beta: DVector<f64>,
    /// The cost at `beta`.
    pub cost: f64,
    /// Newton iterations taken.
    pub iterations: usize,
    /// Largest eigenvalue of the Hessian of `J` at the optimum.
    pub hessian_max_eigenvalue: f64,
}

/// Mean binary cross-entropy of logits `z` against labels `y`, in the stable form
/// `max(z, 0) − z y + ln(1 + e^(−|z|))`.
pub fn bce_from_logits(z: &DVector<f64>, y: &[f64]) -> f64 {
    let sum: f64 = z
        .iter()
        .zip(y)
        .map(|(&z, &y)| z.max(0.0) - z * y + (-z.abs()).exp().ln_1p())
        .sum();
    sum / y.len().max(1) as f64
}

/// Solves unpenalised logistic regression on `X: (n, m)` and 0/1 labels `y` by Newton's
/// method from `β = 0`.
///
/// # Errors
/// [`ExampleError::Usage`] if the Hessian is not positive definite or Newton does not
/// converge in 100 iterations (separable data has no finite optimum).
pub fn newton_logistic(x: &DMatrix<f64>, y: &[f64]) -> Result<Newton> {
    let (n, m) = x.shape();
    // the design X̃ with a row of ones for the intercept
    let design = DMatrix::from_fn(n + 1, m, |i, j| if i == 0 { 1.0 } else { x[(i - 1, j)] });
    let mut beta = DVector::zeros(n + 1);
    let mf = m as f64;
    for iteration in 1..=100 {
        let z = design.tr_mul(&beta);
        let p = z.map(|z| 1.0 / (1.0 + (-z).exp()));
        let r = DVector::from_fn(m, |j, _| p[j] - y[j]);
        let g = &design * r / mf;
        let weighted = DMatrix::from_fn(n + 1, m, |i, j| design[(i, j)] * p[j] * (1.0 - p[j]));
        let h = weighted * design.transpose() / mf;
        let chol = h.clone().cholesky().ok_or_else(|| {
            ExampleError::Usage("logistic regression: Hessian not positive definite".into())
        })?;
        let step = chol.solve(&g);
        beta -= &step;
        if step.amax() < 1e-13 * beta.amax().max(1.0) || iteration == 100 {
            if iteration == 100 && step.amax() > 1e-10 {
                return Err(ExampleError::Usage(
                    "logistic regression: Newton did not converge (separable data?)".into(),
                ));
            }
            let z = design.tr_mul(&beta);
            let eig = h.symmetric_eigenvalues().amax();
            return Ok(Newton {
                cost: bce_from_logits(&z, y),
                beta,
                iterations: iteration,
                hessian_max_eigenvalue: eig,
            });
        }
    }
    Err(ExampleError::Usage(
        "logistic regression: Newton did not converge".into(),
    ))
}

/// What was measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Newton's solution.
    pub newton: Newton,
    /// The trained network's `[b, w₁, w₂, w₃]`.
    pub net_beta: DVector<f64>,
    /// The trained network's cost on the data.
    pub net_cost: f64,
    /// Largest relative error `|β_net − β*| / |β*|` over the intercept and coefficients.
    pub coef_rel_error: f64,
    /// `|J_net − J*|`.
    pub cost_error: f64,
    /// Training accuracy of the trained network (the data are not separable: < 1).
    pub accuracy: f64,
    /// Worst relative error of the gradient against finite differences before training.
    pub gradcheck: f64,
    /// `(step, J − J*)` during gradient descent.
    pub cost_gap: Vec<(f64, f64)>,
    /// `(step, max relative coefficient error)` during gradient descent.
    pub coef_gap: Vec<(f64, f64)>,
}

impl Measured {
    /// The claim holds if coefficients and intercept agree to [`COEF_TOLERANCE`]
    /// relative, the costs to [`COST_TOLERANCE`], the data are not separable (accuracy <
    /// 1), and the gradient check passed (≤ 1e-6).
    pub fn verdict(&self) -> bool {
        self.coef_rel_error <= COEF_TOLERANCE
            && self.cost_error <= COST_TOLERANCE
            && self.accuracy < 1.0
            && self.gradcheck <= 1e-6
    }
}

fn net_beta(net: &Network<f64>) -> DVector<f64> {
    let params = net.layers()[0].params();
    let mut beta = DVector::zeros(1 + FEATURES.len());
    for param in params {
        let p = param.value();
        if param.name() == "bias" {
            beta[0] = p[(0, 0)];
        } else {
            for i in 0..FEATURES.len() {
                beta[i + 1] = p[(0, i)];
            }
        }
    }
    beta
}

fn rel_error(a: &DVector<f64>, b: &DVector<f64>) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(a, b)| (a - b).abs() / b.abs().max(1e-12))
        .fold(0.0, f64::max)
}

/// Loads and standardises the data, solves it by Newton, trains the network by gradient
/// descent, and compares.
///
/// # Errors
/// If the data cannot be read or the network cannot be built or trained (not expected).
pub fn measure(config: &Config) -> Result<Measured> {
    let data = breast_cancer_features(&FEATURES)?;
    let (_, x) = Encoder::fit_transform(EncoderKind::Standardize, data.x())?;
    let y = data.y().clone();
    let labels: Vec<f64> = y.iter().copied().collect();
    let newton = newton_logistic(&x, &labels)?;

    let mut net = Network::<f64>::builder(FEATURES.len())
        .dense(1, Activation::Sigmoid)
        .loss(Loss::BinaryCrossEntropy)
        .seed(1)
        .build()?;
    let gradcheck = check_before_training(&mut net, &x, &y, 32)?;
    let mut trainer = Trainer::new(FitConfig {
        epochs: config.steps,
        batch_size: x.ncols(),
        shuffle: false,
        optimizer: Optimizer::sgd(LEARNING_RATE),
        ..FitConfig::default()
    })?;
    let mut cost_gap = Vec::new();
    let mut coef_gap = Vec::new();
    for step in 0..config.steps {
        // the cost returned is that of the parameters before the update
        let cost = trainer.train_step(&mut net, &x, &y)?;
        cost_gap.push((step as f64, cost - newton.cost));
        coef_gap.push((step as f64, rel_error(&net_beta(&net), &newton.beta)));
    }
    let eval = net.evaluate(&x, &y)?;
    let beta = net_beta(&net);
    Ok(Measured {
        coef_rel_error: rel_error(&beta, &newton.beta),
        cost_error: (eval.cost - newton.cost).abs(),
        net_cost: eval.cost,
        net_beta: beta,
        accuracy: eval.accuracy.unwrap_or(0.0),
        newton,
        gradcheck,
        cost_gap,
        coef_gap,
    })
}

/// Draws `J − J*` and the coefficients' relative error against the step (log y).
///
/// # Errors
/// If the figure cannot be written.
pub fn figure(m: &Measured, path: &std::path::Path) -> Result<()> {
    chart(
        path,
        Labels {
            title: "T1: gradient descent closes in on Newton's optimum",
            x: "gradient-descent step (full batch, learning rate 4)",
            y: "gap to Newton's optimum (log scale)",
        },
        &[
            Series::new("cost J − J*", m.cost_gap.clone()),
            Series::new("max relative error of (b, w)", m.coef_gap.clone()),
            Series::dashed(
                "tolerance 1e-4 (coefficients)",
                vec![
                    (0.0, COEF_TOLERANCE),
                    (m.coef_gap.len() as f64, COEF_TOLERANCE),
                ],
            )
            .colour(1),
            Series::dashed(
                "tolerance 1e-8 (cost)",
                vec![
                    (0.0, COST_TOLERANCE),
                    (m.cost_gap.len() as f64, COST_TOLERANCE),
                ],
            )
            .colour(0),
        ],
        &ChartOptions {
            log_y: true,
            legend: Legend::UpperRight,
            ..ChartOptions::default()
        },
    )
}

fn run(ctx: &Context) -> Result<Findings> {
    let config = Config::new(ctx.size);
    let m = measure(&config)?;
    let path = ctx.figure("t01_logistic.svg")?;
    figure(&m, &path)?;
    let b = &m.newton.beta;
    let reading = format!(
        r"Newton's method converged in {} iterations to $b = {:.5}$,
        $w = ({:.5}, {:.5}, {:.5})$, with cost $J^* = {:.8}$. After {} gradient-descent steps
        the network's weights and bias agree with these to {:.1e} (largest relative error)
        and its cost agrees to {:.1e}: far inside the tolerances $10^{{-4}}$ and $10^{{-8}}$,
        and close to the rounding of double precision. At the optimum the network and
        logistic regression are one and the same model.

        The model classifies {:.1}% of the cases right, not all of them: the classes
        overlap, and the claim needs that. On separable data the cost keeps falling as the
        weights grow, there is no finite optimum to agree on, and Newton's method says so
        (the experiment's tests check that it does). Before training, backpropagation's
        gradient agreed with finite differences to {:.0e}.",
        m.newton.iterations,
        b[0],
        b[1],
        b[2],
        b[3],
        m.newton.cost,
        config.steps,
        m.coef_rel_error,
        m.cost_error,
        100.0 * m.accuracy,
        m.gradcheck
    );
    Ok(Findings {
        measured: format!(
            "breast cancer, 3 standardised features: Newton ({} it.) b={:.5}, w=({:.5}, {:.5}, \
             {:.5}), J*={:.8}; net after {} GD steps: b={:.5}, J={:.8}, max rel. coef. error {:.1e}, \
             |ΔJ| {:.1e}; accuracy {:.1}% (not separable); gradcheck {:.0e}",
            m.newton.iterations,
            b[0],
            b[1],
            b[2],
            b[3],
            m.newton.cost,
            config.steps,
            m.net_beta[0],
            m.net_cost,
            m.coef_rel_error,
            m.cost_error,
            100.0 * m.accuracy,
            m.gradcheck
        ),
        passed: m.verdict(),
        figures: vec![Figure::new(
            path,
            r"How far the network is from Newton's solution during gradient descent (log
            scale). The cost gap $J - J^*$ and the largest relative error of the weights fall
            along straight lines — the steady, linear convergence of gradient descent on a
            strictly convex cost — and cross their tolerances (dashed, same colour); the cost
            gap levels off where double-precision rounding begins.",
        )],
        reading,
        settings: format!(
            "{config:?}; learning rate {LEARNING_RATE} (gradient descent is stable below \
             2/λ_max of the Hessian at the optimum, {:.2}); network seed 1; features \
             {FEATURES:?}",
            2.0 / m.newton.hessian_max_eigenvalue
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sigmoid_net_trained_by_gradient_descent_is_logistic_regression() {
        let m = measure(&Config::new(Size::Quick)).unwrap();
        assert!(m.gradcheck <= 1e-6, "{:e}", m.gradcheck);
        assert!(
            m.coef_rel_error <= 1e-4,
            "net {:?} vs Newton {:?}: {:e}",
            m.net_beta.as_slice(),
            m.newton.beta.as_slice(),
            m.coef_rel_error
        );
        assert!(m.cost_error <= 1e-8, "{:e}", m.cost_error);
        // not separable: the optimum misclassifies some cases and its cost is well above 0
        assert!(m.accuracy < 0.95 && m.newton.cost > 0.1, "{m:?}");
        // the learning rate is below the critical 2/λ_max of the Hessian at the optimum
        assert!(LEARNING_RATE < 2.0 / m.newton.hessian_max_eigenvalue);
    }

    #[test]
    fn newton_solves_a_small_problem_with_a_known_answer() {
        // One feature, labels such that the MLE satisfies p(x) = observed frequencies:
        // x = −1 → 1 of 4 positive, x = +1 → 3 of 4 positive, so σ(b − w) = 1/4,
        // σ(b + w) = 3/4, i.e. b = 0, w = ln 3 (closed form).
        let x = DMatrix::from_row_slice(1, 8, &[-1.0, -1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0]);
        let y = [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0];
        let n = newton_logistic(&x, &y).unwrap();
        assert!(n.beta[0].abs() < 1e-14, "{}", n.beta[0]);
        assert!((n.beta[1] - 3f64.ln()).abs() < 1e-14, "{}", n.beta[1]);
        // and separable data has no finite optimum: Newton reports it
        let sep = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        assert!(newton_logistic(&x, &sep).is_err());
    }
}
