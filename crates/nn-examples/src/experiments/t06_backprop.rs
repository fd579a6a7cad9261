//! T6 — backpropagation: for a sigmoid output with binary cross-entropy `dZ = A − Y`, and
//! the layer equations `dW = (1/m) dZ A_prevᵀ`, `db = (1/m) Σ dZ`, `dA_prev = Wᵀ dZ`,
//! `dZ = dA ∘ g'(Z)` give the gradient of the cost `J`.
//!
//! Method: [`random_case`] turns a seed into a random network (depth, widths, hidden
//! activations, output activation and loss, L2 penalty) with random inputs and targets
//! that suit the loss. Every parameter's backpropagated gradient is compared with central
//! finite differences of `J` (nn-core's gradcheck through [`Network::gradient_check`], in
//! f64). Cases with a pre-activation or a loss argument within 1e-3 of a kink (ReLU-like
//! activations at 0, hinge and Huber corners, the probability clamp) are skipped, because
//! there the difference quotient measures the kink, not the derivative. The fused output
//! gradients `dZ = A − Y` (sigmoid + BCE, softmax + CE) are checked on their own against
//! finite differences of the loss in the logits. The tour evaluates a fixed range of
//! seeds; the test is a proptest over the same generator.
//!
//! [`check_before_training`] is the gradient check every training experiment runs on its
//! network before it trains it.
//!
//! The tour page's text for this claim is [`LESSON`].

use nalgebra::DMatrix;
use nn_train::nn_core::GradCheck;
use nn_train::{Activation, Loss, Mode, Network, SeededRng, Stream, Task, TrainError};

use crate::plot::{ChartOptions, Labels, Legend, Series, chart};
use crate::{Context, Experiment, Figure, Findings, Lesson, Result, Size};

/// The claim.
pub const CLAIM: &str = "backpropagation (dZ = A − Y for sigmoid + BCE, then the layer equations) gives the gradient of J";

/// The experiment as the tour runs it.
pub const EXPERIMENT: Experiment = Experiment {
    id: "T6",
    claim: CLAIM,
    lesson: &LESSON,
    run,
};

/// The claim explained, for the tour page.
pub const LESSON: Lesson = Lesson {
    claim: r"Backpropagation is the chain rule, applied from the cost back to the first layer
        so that every intermediate result is computed once. It starts at the output: for a
        sigmoid with binary cross-entropy, $\frac{\partial L}{\partial a} = \frac{a - y}{a(1-a)}$
        and $\frac{\partial a}{\partial z} = a(1-a)$ cancel to $dZ = A - Y$ (softmax with
        cross-entropy gives the same). Each layer then turns the gradient it receives into
        the gradients of its weights and bias, averaged over the $m$ examples, and into the
        gradient it passes back: multiplied by $W^\top$ (so the shapes fit) and, element by
        element, by the activation's derivative. The claim is that these few equations give
        the true gradient of the cost $J$ — for any depth, activation and loss.",
    equation: r"\begin{aligned} &dZ^{[L]} = A^{[L]} - Y, \qquad dW^{[l]} = \tfrac{1}{m}\,dZ^{[l]}A^{[l-1]\top}, \qquad db^{[l]} = \tfrac{1}{m}\textstyle\sum_{i=1}^{m} dZ^{[l](i)}, \\ &dZ^{[l-1]} = W^{[l]\top}dZ^{[l]} \circ g'^{[l-1]}\big(Z^{[l-1]}\big) \end{aligned}",
    method: r"The independent reference is the definition of a derivative: nudge one
        parameter by $\pm h$ and $\pm 2h$ ($h = 10^{-4}$), recompute the cost, and take the
        five-point central difference. A generator turns each seed into a random network —
        1 to 4 layers of 1 to 6 units, hidden activations drawn from all twelve the library
        has, one of its six losses with the output activation it needs, L2 penalty or not,
        a random small batch — and every parameter's backpropagated gradient is compared
        with the finite difference by the relative error
        $|a - n| / \max(|a|, |n|, 10^{-3})$. Cases with an input within $10^{-3}$ of a kink
        (ReLU at 0, the corners of hinge and Huber) are skipped, because a difference
        quotient across a kink measures the jump. The fused $dZ = A - Y$ is also checked on
        its own, against differences of the loss in the logits.",
    source: file!(),
    docs: &[
        (
            "`Network::gradient_check`",
            "nn_train/struct.Network.html#method.gradient_check",
        ),
        ("`nn_core::GradCheck`", "nn_core/struct.GradCheck.html"),
        (
            "the losses and their fused gradients",
            "nn_train/enum.Loss.html",
        ),
    ],
};

/// Hidden activations the generator draws from.
pub const HIDDEN: [Activation; 12] = [
    Activation::Identity,
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Relu,
    Activation::LeakyRelu { slope: 0.01 },
    Activation::Softmax,
    Activation::Elu { alpha: 1.0 },
    Activation::Selu,
    Activation::Gelu,
    Activation::GeluTanh,
    Activation::Silu,
    Activation::Softplus,
];

/// Losses the generator draws from.
pub const LOSSES: [Loss; 6] = [
    Loss::BinaryCrossEntropy,
    Loss::CategoricalCrossEntropy,
    Loss::BceProbabilities,
    Loss::Mse,
    Loss::Huber { delta: 0.5 },
    Loss::Hinge,
];

/// Distance from a kink below which a case is skipped.
pub const KINK_MARGIN: f64 = 1e-3;

/// The tolerance of the claim: relative error of backpropagation against finite
/// differences.
pub const TOLERANCE: f64 = 1e-6;

/// How many random cases to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Seeds `0..cases` are turned into cases by [`random_case`].
    pub cases: u64,
}

impl Config {
    /// The configuration for a size.
    pub fn new(size: Size) -> Self {
        Self {
            cases: if size == Size::Quick { 24 } else { 400 },
        }
    }
}

/// One random gradient-check problem: a network and a batch that suits its loss.
#[derive(Debug)]
pub struct Case {
    /// The network (f64).
    pub net: Network<f64>,
    /// Inputs, examples as columns.
    pub x: DMatrix<f64>,
    /// Targets, examples as columns.
    pub y: DMatrix<f64>,
}

/// Does the activation have a kink (a jump in its derivative) at 0?
fn has_kink(act: Activation) -> bool {
    matches!(
        act,
        Activation::Relu | Activation::LeakyRelu { .. } | Activation::Elu { .. } | Activation::Selu
    )
}

/// The output activation a loss needs (its task: probabilities of classes or of binary
/// outputs), or a pick from [`HIDDEN`] for the losses that take any output.
fn output_activation(loss: Loss, pick: usize) -> Activation {
    match loss.task() {
        Task::Binary {
            threshold_is_zero: false,
        } => Activation::Sigmoid,
        Task::Multiclass => Activation::Softmax,
        Task::Binary {
            threshold_is_zero: true,
        }
        | Task::Regression => HIDDEN[pick % HIDDEN.len()],
    }
}

/// Random targets of shape `(k, m)` that suit the loss.
fn targets(loss: Loss, k: usize, m: usize, rng: &mut SeededRng) -> DMatrix<f64> {
    match loss.task() {
        Task::Multiclass => {
            let mut y = DMatrix::zeros(k, m);
            for j in 0..m {
                y[(rng.below(k), j)] = 1.0;
            }
            y
        }
        Task::Binary {
            threshold_is_zero: false,
        } => DMatrix::from_fn(k, m, |_, _| rng.below(2) as f64),
        Task::Binary {
            threshold_is_zero: true,
        } => DMatrix::from_fn(k, m, |_, _| if rng.below(2) == 0 { -1.0 } else { 1.0 }),
        Task::Regression => DMatrix::from_fn(k, m, |_, _| rng.uniform(-1.0, 1.0)),
    }
}

/// The random case of `seed`: 1–4 dense layers of 1–6 units (a softmax output gets at
/// least 2), hidden activations from [`HIDDEN`], a loss from [`LOSSES`] with the output
/// activation it needs, L2 penalty 0 or in [0.01, 0.5), 1–4 inputs, 1–4 examples with
/// inputs uniform in [−2, 2]. Everything is drawn from `SeededRng::for_stream(seed, Stream::Custom(0))`; the
/// network's weights from its own streams of `seed`.
///
/// # Errors
/// If the network cannot be built (not expected: every drawn architecture is valid).
pub fn random_case(seed: u64) -> Result<Case> {
    let mut rng = SeededRng::for_stream(seed, Stream::Custom(0));
    let depth = 1 + rng.below(4);
    let loss = LOSSES[rng.below(LOSSES.len())];
    let inputs = 1 + rng.below(4);
    let m = 1 + rng.below(4);
    let l2 = if rng.below(2) == 0 {
        0.0
    } else {
        rng.uniform(0.01, 0.5)
    };
    let mut builder = Network::<f64>::builder(inputs);
    for _ in 0..depth - 1 {
        let units = 1 + rng.below(6);
        builder = builder.dense(units, HIDDEN[rng.below(HIDDEN.len())]);
    }
    let mut k = 1 + rng.below(6);
    if loss == Loss::CategoricalCrossEntropy {
        k = k.max(2);
    }
    let out = output_activation(loss, rng.below(HIDDEN.len()));
    let net = builder.dense(k, out).loss(loss).l2(l2).seed(seed).build()?;
    let x = DMatrix::from_fn(inputs, m, |_, _| rng.uniform(-2.0, 2.0));
    let y = targets(loss, k, m, &mut rng);
    Ok(Case { net, x, y })
}

/// Is any pre-activation of a kinked activation, or any argument of a kinked loss,
/// within `margin` of its kink? (Runs a forward pass.)
///
/// # Errors
/// If the forward pass rejects the inputs (not expected for generated cases).
pub fn near_kink(case: &mut Case, margin: f64) -> Result<bool> {
    case.net.forward(&case.x, Mode::Eval)?;
    let z_kink = case.net.layers().iter().any(|l| {
        l.activation().is_some_and(has_kink)
            && l.pre_activation()
                .is_some_and(|z| z.iter().any(|v| v.abs() < margin))
    });
    let a = case.net.output()?;
    let y = &case.y;
    let loss_kink = match case.net.loss() {
        Some(Loss::Hinge) => a.iter().zip(y.iter()).any(|(&a, &y)| {
            let t = if y > 0.0 { 1.0 } else { -1.0 };
            (1.0 - t * a).abs() < margin
        }),
        Some(Loss::Huber { delta }) => a
            .iter()
            .zip(y.iter())
            .any(|(&a, &y)| ((a - y).abs() - delta).abs() < margin),
        // the probability clamp at ε = 1e-7 is a kink too
        Some(Loss::BceProbabilities) => a.iter().any(|&a| !(1e-6..=1.0 - 1e-6).contains(&a)),
        Some(Loss::BinaryCrossEntropy | Loss::CategoricalCrossEntropy | Loss::Mse) | None => false,
    };
    Ok(z_kink || loss_kink)
}

/// The worst relative error, over every parameter tensor, of the backpropagated gradient
/// of `J` on `(X, Y)` against central finite differences (default [`GradCheck`]).
///
/// # Errors
/// As [`Network::gradient_check`].
pub fn gradient_error(net: &mut Network<f64>, x: &DMatrix<f64>, y: &DMatrix<f64>) -> Result<f64> {
    let reports = net.gradient_check(x, y, &GradCheck::default())?;
    Ok(reports
        .iter()
        .map(|(_, r)| r.max_rel_error)
        .fold(0.0, f64::max))
}

/// The check a training experiment runs before it trains: [`gradient_error`] on the first
/// `columns` examples of `(X, Y)` (all of them if there are fewer).
///
/// # Errors
/// As [`Network::gradient_check`].
pub fn check_before_training(
    net: &mut Network<f64>,
    x: &DMatrix<f64>,
    y: &DMatrix<f64>,
    columns: usize,
) -> Result<f64> {
    let c = columns.clamp(1, x.ncols().max(1));
    gradient_error(
        net,
        &x.columns(0, c).into_owned(),
        &y.columns(0, c).into_owned(),
    )
}

/// The gradient check of one case: `None` if it is within [`KINK_MARGIN`] of a kink,
/// else the worst relative error over its parameters.
///
/// # Errors
/// As [`Network::gradient_check`].
pub fn check_case(case: &mut Case) -> Result<Option<f64>> {
    if near_kink(case, KINK_MARGIN)? {
        return Ok(None);
    }
    gradient_error(&mut case.net, &case.x, &case.y).map(Some)
}

/// Every parameter entry's `(finite difference, backpropagation)` gradient of `J` for a
/// case (default [`GradCheck`], evaluation mode); the network's parameters are restored.
///
/// # Errors
/// As [`Network::compute_gradients`]; if the cost is not finite at a perturbed point.
pub fn gradient_pairs(case: &mut Case) -> Result<Vec<(f64, f64)>> {
    let (net, x, y) = (&mut case.net, &case.x, &case.y);
    net.compute_gradients(x, y, Mode::Eval)?;
    let mut analytic = Vec::new();
    net.for_each_param(&mut |p| analytic.push(p.grad.clone()));
    let original = net.snapshot();
    let mut pairs = Vec::new();
    for (k, grad) in analytic.iter().enumerate() {
        let mut params = original.clone();
        let numeric = GradCheck::default()
            .numeric_gradient(
                |theta| {
                    params[k].copy_from(theta);
                    match net.restore(&params) {
                        Ok(()) => net.evaluate(x, y).map_or(f64::NAN, |e| e.cost),
                        Err(_) => f64::NAN,
                    }
                },
                &original[k],
            )
            .map_err(TrainError::from)?;
        pairs.extend(numeric.iter().copied().zip(grad.iter().copied()));
    }
    net.restore(&original)?;
    Ok(pairs)
}

/// The fused output gradient against finite differences: the worst relative error of
/// `A − Y` as the gradient of `m·J` in the logits `Z`, for sigmoid + BCE (`K = 1`) and
/// softmax + CE (`K = 4`), over `batches` batches of 8 random columns with logits of
/// standard deviation 3 (small batches keep the rounding of the summed cost small).
///
/// # Errors
/// If the checker rejects its input (not expected).
pub fn fused_output_error(batches: usize, seed: u64) -> Result<f64> {
    let mut rng = SeededRng::for_stream(seed, Stream::Custom(1));
    let mut worst = 0.0f64;
    let m = 8;
    for (loss, act, k) in (0..batches).flat_map(|_| {
        [
            (Loss::BinaryCrossEntropy, Activation::Sigmoid, 1),
            (Loss::CategoricalCrossEntropy, Activation::Softmax, 4),
        ]
    }) {
        let z = DMatrix::from_fn(k, m, |_, _| 3.0 * rng.standard_normal());
        let y = targets(loss, k, m, &mut rng);
        let analytic = act.forward(&z) - &y; // dZ = A − Y
        let cost = |z: &DMatrix<f64>| m as f64 * loss.cost(z, &act.forward(z), &y);
        let report = GradCheck::default()
            .check(cost, &z, &analytic)
            .map_err(TrainError::from)?;
        worst = worst.max(report.max_rel_error);
    }
    Ok(worst)
}

/// What was measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Cases checked (not near a kink).
    pub checked: usize,
    /// Cases skipped because they were within [`KINK_MARGIN`] of a kink.
    pub skipped: usize,
    /// The worst relative error over all checked cases and parameters.
    pub worst_rel_error: f64,
    /// The network of the worst case, as displayed.
    pub worst_case: String,
    /// Worst relative error of the fused `dZ = A − Y` against finite differences.
    pub fused_rel_error: f64,
    /// How many of [`HIDDEN`] appeared in checked cases (in any layer).
    pub activations_covered: usize,
    /// How many of [`LOSSES`] appeared in checked cases.
    pub losses_covered: usize,
    /// `(finite difference, backpropagation)` for every parameter entry of the checked
    /// cases.
    pub pairs: Vec<(f64, f64)>,
}

impl Measured {
    /// The claim holds if every checked gradient and the fused output gradient agree with
    /// finite differences to [`TOLERANCE`], and at least half the cases were checked.
    pub fn verdict(&self) -> bool {
        self.worst_rel_error <= TOLERANCE
            && self.fused_rel_error <= TOLERANCE
            && self.checked >= self.skipped
    }
}

/// Runs the gradient check on the cases of seeds `0..config.cases`.
///
/// # Errors
/// If a case cannot be built or checked (not expected).
pub fn measure(config: &Config) -> Result<Measured> {
    let mut m = Measured {
        checked: 0,
        skipped: 0,
        worst_rel_error: 0.0,
        worst_case: String::new(),
        fused_rel_error: fused_output_error(16, 6)?,
        activations_covered: 0,
        losses_covered: 0,
        pairs: Vec::new(),
    };
    let mut acts_seen = [false; HIDDEN.len()];
    let mut losses_seen = [false; LOSSES.len()];
    for seed in 0..config.cases {
        let mut case = random_case(seed)?;
        let Some(err) = check_case(&mut case)? else {
            m.skipped += 1;
            continue;
        };
        m.checked += 1;
        m.pairs.extend(gradient_pairs(&mut case)?);
        if err >= m.worst_rel_error {
            m.worst_rel_error = err;
            m.worst_case = case.net.to_string();
        }
        for layer in case.net.layers() {
            if let Some(i) = HIDDEN.iter().position(|&a| Some(a) == layer.activation()) {
                acts_seen[i] = true;
            }
        }
        if let Some(i) = LOSSES.iter().position(|&l| Some(l) == case.net.loss()) {
            losses_seen[i] = true;
        }
    }
    m.activations_covered = acts_seen.iter().filter(|&&s| s).count();
    m.losses_covered = losses_seen.iter().filter(|&&s| s).count();
    Ok(m)
}

/// Gradient entries smaller than this in both methods are drawn as zero (left out of the
/// log-log scatter): the finite difference's rounding is about that large.
pub const ZERO_GRADIENT: f64 = 1e-9;

/// The relative error of one entry, as [`GradCheck`] measures it.
fn rel_error((numeric, analytic): (f64, f64)) -> f64 {
    (analytic - numeric).abs()
        / analytic
            .abs()
            .max(numeric.abs())
            .max(GradCheck::default().floor)
}

/// Draws backpropagation against finite differences, and each entry's relative error
/// against its size (log axes, at most 800 entries each), two files.
///
/// # Errors
/// If a figure cannot be written.
pub fn figures(m: &Measured, scatter: &std::path::Path, errors: &std::path::Path) -> Result<()> {
    let every = (m.pairs.len() / 800).max(1);
    let shown: Vec<(f64, f64)> = m.pairs.iter().copied().step_by(every).collect();
    // below 1e-9 a gradient is zero up to the finite difference's rounding
    let nonzero: Vec<(f64, f64)> = shown
        .iter()
        .copied()
        .filter(|&(n, a)| n.abs().max(a.abs()) >= ZERO_GRADIENT)
        .collect();
    let (lo, hi) = nonzero
        .iter()
        .map(|p| p.0.abs())
        .filter(|&v| v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let options = ChartOptions {
        log_x: true,
        log_y: true,
        legend: Legend::UpperLeft,
    };
    chart(
        scatter,
        Labels {
            title: "T6: backpropagation against finite differences, entry by entry",
            x: "|∂J/∂θ| by finite differences (log scale)",
            y: "|∂J/∂θ| by backpropagation (log scale)",
        },
        &[
            Series::dashed("equal: y = x", vec![(lo, lo), (hi, hi)]).colour(7),
            Series::points(
                "one parameter entry",
                nonzero.iter().map(|&(n, a)| (n.abs(), a.abs())).collect(),
            )
            .colour(0),
        ],
        &options,
    )?;
    chart(
        errors,
        Labels {
            title: "T6: relative error of each backpropagated gradient entry",
            x: "|∂J/∂θ| by finite differences (log scale)",
            y: "relative error (log scale)",
        },
        &[
            Series::dashed("tolerance 1e-6", vec![(lo, TOLERANCE), (hi, TOLERANCE)]).colour(3),
            Series::points(
                "one parameter entry",
                shown.iter().map(|&p| (p.0.abs(), rel_error(p))).collect(),
            )
            .colour(0),
        ],
        &options,
    )
}

fn run(ctx: &Context) -> Result<Findings> {
    let config = Config::new(ctx.size);
    let m = measure(&config)?;
    let scatter = ctx.figure("t06_backprop_scatter.svg")?;
    let errors = ctx.figure("t06_backprop_errors.svg")?;
    figures(&m, &scatter, &errors)?;
    let magnitudes: Vec<f64> = m
        .pairs
        .iter()
        .map(|p| p.0.abs())
        .filter(|&v| v >= ZERO_GRADIENT)
        .collect();
    let (lo, hi) = magnitudes
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let mut errs: Vec<f64> = m.pairs.iter().map(|&p| rel_error(p)).collect();
    errs.sort_by(f64::total_cmp);
    let median = errs.get(errs.len() / 2).copied().unwrap_or(0.0);
    let reading = format!(
        r"{} random networks were checked ({} more were skipped near a kink), covering {} of
        the {} hidden activations and {} of the {} losses; together they have {} parameter
        entries, whose gradients range from about {lo:.0e} to {hi:.0e} (or are zero). For every one of
        them backpropagation agrees with the finite difference: the worst relative error is
        {:.1e} (on `{}`), the median {median:.0e}, against a tolerance of $10^{{-6}}$. A wrong
        equation — a missing transpose, a forgotten $\frac{{1}}{{m}}$, the derivative of the
        wrong activation — is off by order 1, and one of the experiment's tests shows that
        even a gradient 1% too large fails. The fused output gradient $dZ = A - Y$ agrees to
        {:.1e}.

        The errors left are those of the finite difference itself: its rounding grows where
        the gradient is small and the cost is not, which is why the small entries carry the
        largest relative errors. The check is silent about the kinks it skips: there the
        derivative does not exist, and the library picks a value by convention (1 for ReLU
        at 0).",
        m.checked,
        m.skipped,
        m.activations_covered,
        HIDDEN.len(),
        m.losses_covered,
        LOSSES.len(),
        m.pairs.len(),
        m.worst_rel_error,
        m.worst_case,
        m.fused_rel_error
    );
    Ok(Findings {
        measured: format!(
            "{} random nets ({} skipped near a kink; {}/{} activations, {}/{} losses): worst rel. \
             error vs finite differences {:.1e}; fused dZ = A − Y: {:.1e}",
            m.checked,
            m.skipped,
            m.activations_covered,
            HIDDEN.len(),
            m.losses_covered,
            LOSSES.len(),
            m.worst_rel_error,
            m.fused_rel_error
        ),
        passed: m.verdict(),
        figures: vec![
            Figure::new(
                scatter,
                r"Each dot is one parameter entry of one random network: its gradient by
                backpropagation against its gradient by finite differences, in absolute value
                on log axes. All of them sit on the diagonal $y = x$ over many orders of
                magnitude; at this scale even a 1% error would be invisible, which is why
                the next figure shows the errors themselves. (Entries whose gradient is 0 up
                to rounding, below $10^{-9}$ — such as those behind an inactive ReLU — cannot
                be drawn on log axes and are left out.)",
            ),
            Figure::new(
                errors,
                r"The relative error of the same entries against the size of their gradient.
                Every dot lies far below the tolerance $10^{-6}$ (dashed); the errors grow
                toward small gradients, where the finite difference's rounding is largest
                relative to what it measures.",
            ),
        ],
        reading,
        settings: format!(
            "{config:?}; five-point differences, h = 1e-4, floor 1e-3; fused check: 16 \
             batches of 8, seed 6"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn backprop_gradients_agree_with_finite_differences_on_the_quick_config() {
        let m = measure(&Config::new(Size::Quick)).unwrap();
        assert!(
            m.checked >= 12,
            "{} checked, {} skipped",
            m.checked,
            m.skipped
        );
        assert!(
            m.worst_rel_error <= 1e-6,
            "{:e} on {}",
            m.worst_rel_error,
            m.worst_case
        );
        assert!(m.fused_rel_error <= 1e-6, "{:e}", m.fused_rel_error);
    }

    #[test]
    fn sigmoid_with_bce_gives_dz_equal_a_minus_y() {
        // A one-layer sigmoid + BCE net on one example: dW = (A − Y) xᵀ, db = A − Y.
        let mut net = Network::<f64>::builder(2)
            .dense(1, Activation::Sigmoid)
            .loss(Loss::BinaryCrossEntropy)
            .seed(3)
            .build()
            .unwrap();
        let x = DMatrix::from_column_slice(2, 1, &[0.7, -1.2]);
        let y = DMatrix::from_column_slice(1, 1, &[1.0]);
        net.compute_gradients(&x, &y, Mode::Train).unwrap();
        let a = net.output().unwrap()[(0, 0)];
        let mut grads = Vec::new();
        net.for_each_param(&mut |p| grads.push(p.grad.clone()));
        assert!((grads[0][(0, 0)] - (a - 1.0) * 0.7).abs() < 1e-15);
        assert!((grads[0][(0, 1)] - (a - 1.0) * -1.2).abs() < 1e-15);
        assert!((grads[1][(0, 0)] - (a - 1.0)).abs() < 1e-15);
        assert!(fused_output_error(4, 1).unwrap() <= 1e-6);
    }

    #[test]
    fn a_wrong_gradient_would_be_caught() {
        // The check can fail: the first layer's weight gradient scaled by 1.01 is off by
        // ~1e-2 relative.
        let build = || {
            Network::<f64>::builder(2)
                .dense(3, Activation::Tanh)
                .dense(1, Activation::Sigmoid)
                .loss(Loss::BinaryCrossEntropy)
                .seed(4)
                .build()
                .unwrap()
        };
        let x = DMatrix::from_row_slice(2, 3, &[0.5, -1.0, 1.5, 2.0, 0.3, -0.7]);
        let y = DMatrix::from_row_slice(1, 3, &[1.0, 0.0, 1.0]);
        let mut net = build();
        net.compute_gradients(&x, &y, Mode::Eval).unwrap();
        let mut grads = Vec::new();
        net.for_each_param(&mut |p| grads.push(p.grad.clone()));
        let w = net.layers()[0].params()[0].value().clone();
        let mut probe = build();
        let mut cost = |w: &DMatrix<f64>| {
            probe.set_param("layers.0.weight", w.clone()).unwrap();
            probe.evaluate(&x, &y).unwrap().cost
        };
        let right = GradCheck::default()
            .check(&mut cost, &w, &grads[0])
            .unwrap();
        assert!(right.max_rel_error <= 1e-6, "{right}");
        let wrong = GradCheck::default()
            .check(&mut cost, &w, &(&grads[0] * 1.01))
            .unwrap();
        assert!(wrong.max_rel_error > 1e-3, "{wrong}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// For random architectures, activations and losses, backpropagation's gradient
        /// of J equals central finite differences to 1e-6 (cases near a kink rejected).
        #[test]
        fn backprop_matches_finite_differences(seed in any::<u64>()) {
            let mut case = random_case(seed).unwrap();
            prop_assume!(!near_kink(&mut case, KINK_MARGIN).unwrap());
            let err = check_case(&mut case).unwrap();
            prop_assert!(err.is_some_and(|e| e <= 1e-6), "{err:?} on {}", case.net);
        }
    }
}
