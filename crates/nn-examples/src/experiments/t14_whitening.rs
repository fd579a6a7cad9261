//! T14 — encoding the inputs (zero mean, unit variance, or fully whitened: identity
//! covariance) helps training: on raw features of very different scales the cost surface
//! is a long, thin valley, large inputs saturate the hidden units, and one learning rate
//! cannot suit every weight.
//!
//! Method: all 30 features of the bundled breast-cancer data (from ~10⁻³ to ~10³), a
//! seeded stratified split (75% train, 25% test). Four encodings, each fitted on the
//! training part only ([`Encoder`]): none (raw), standardisation, PCA whitening and ZCA
//! whitening (`ε = 0`). The same network `30 → 16 tanh → 1 sigmoid` (BCE, the same seed,
//! hence the same initial weights) is trained on each with the same optimizer, the same
//! batches and the same number of steps (plain SGD, learning rate 0.05, batch 32), after
//! a gradient check against finite differences. Reported: the training-cost curves, the
//! final test accuracies, and how far the whitened training inputs' covariance
//! `(1/m) Z Zᵀ` is from the identity.
//!
//! What it shows: on raw inputs SGD makes no progress (the cost stays at that of
//! predicting the class prior); every encoding trains. Whitening with `ε = 0` also scales
//! up the directions of tiny variance (mostly noise: radius, perimeter and area are
//! nearly collinear), so it starts slower than standardisation and generalises a little
//! worse here; `ε > 0` is the usual remedy.
//!
//! The tour page's text for this claim is [`LESSON`].

use std::path::Path;

use nalgebra::DMatrix;
use nn_train::encode::{Encoder, EncoderKind};
use nn_train::{
    Activation, FitConfig, Loss, Network, Optimizer, Silent, TrainError, TrainingError, fit,
};

use super::t06_backprop::check_before_training;
use crate::datasets::breast_cancer;
use crate::plot::{ChartOptions, Labels, Legend, Series, chart};
use crate::{Context, Experiment, Figure, Findings, Lesson, Result, Size};

/// The claim.
pub const CLAIM: &str =
    "encoding or whitening the inputs (zero mean, identity covariance) helps training";

/// The experiment as the tour runs it.
pub const EXPERIMENT: Experiment = Experiment {
    id: "T14",
    claim: CLAIM,
    lesson: &LESSON,
    run,
};

/// The claim explained, for the tour page.
pub const LESSON: Lesson = Lesson {
    claim: r"Real features come in their own units: in the breast-cancer data an area is in
        the thousands and a smoothness in the hundredths. Fed in raw, the large features
        dominate every weighted sum and saturate the first layer, the cost surface becomes
        a long, thin valley, and no single learning rate suits both the weights of large
        features (which need tiny steps) and those of small ones (which need large steps).
        Encoding the inputs first fixes the scales: standardising gives every feature zero
        mean and unit variance; whitening goes further and also removes the correlations,
        so that the inputs' covariance is the identity.",
    equation: r"\begin{aligned} \text{standardise: }& \tilde x_k = \frac{x_k - \mu_k}{\sigma_k} \\ \text{PCA whitening: }& \tilde x = \Lambda^{-1/2}U^\top(x - \mu) \\ \text{ZCA whitening: }& \tilde x = U\Lambda^{-1/2}U^\top(x - \mu), \qquad \text{both: } \tfrac{1}{m}\tilde X\tilde X^\top = I \end{aligned}",
    method: r"All 30 features of the bundled breast-cancer data, split 75/25 into training and
        test cases by a seeded stratified split. Four encodings, each fitted on the training
        part only: none (raw), standardisation, and PCA and ZCA whitening (from the
        eigendecomposition $C = U\Lambda U^\top$ of the training covariance). The same
        network `30 → 16 tanh → 1 sigmoid` — same seed, so the same initial weights — is
        trained on each with the same plain SGD (learning rate 0.05, batch 32) for the same
        number of epochs, after a gradient check. The experiment records the training cost
        per epoch, the final test accuracy, and how far the whitened training inputs'
        covariance is from the identity.",
    source: file!(),
    docs: &[
        (
            "`encode` (standardise, PCA/ZCA whitening)",
            "nn_train/encode/index.html",
        ),
        (
            "the experiment's module",
            "nn_examples/experiments/t14_whitening/index.html",
        ),
    ],
};

/// Tolerance of the whitened covariance against the identity (largest entry difference).
pub const COVARIANCE_TOLERANCE: f64 = 1e-9;

/// The encodings compared, `None` for raw inputs.
pub const ENCODINGS: [Option<EncoderKind>; 4] = [
    None,
    Some(EncoderKind::Standardize),
    Some(EncoderKind::PcaWhitening { epsilon: 0.0 }),
    Some(EncoderKind::ZcaWhitening { epsilon: 0.0 }),
];

/// Sizes of the run.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Epochs of SGD.
    pub epochs: usize,
}

impl Config {
    /// The configuration for a size.
    pub fn new(size: Size) -> Self {
        match size {
            Size::Quick => Self { epochs: 15 },
            Size::Full => Self { epochs: 60 },
        }
    }
}

/// One encoding's run.
#[derive(Debug, Clone)]
pub struct Run {
    /// `"raw"`, `"standardize"`, `"pca_whitening"`, `"zca_whitening"`.
    pub name: String,
    /// Training cost per epoch (mean over the epoch's batches).
    pub costs: Vec<f64>,
    /// Training cost after the last epoch.
    pub final_cost: f64,
    /// Test accuracy after the last epoch.
    pub test_accuracy: f64,
    /// Largest `|C − I|` entry of the encoded training inputs' covariance `C`.
    pub covariance_error: f64,
    /// Worst relative error of the gradient against finite differences before training.
    pub gradcheck: f64,
}

/// What was measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// One run per entry of [`ENCODINGS`], in that order.
    pub runs: Vec<Run>,
    /// The ratio of the largest to the smallest feature standard deviation (raw).
    pub scale_ratio: f64,
}

impl Measured {
    /// The raw run.
    pub fn raw(&self) -> Option<&Run> {
        self.runs.first()
    }

    /// The encoded runs.
    pub fn encoded(&self) -> &[Run] {
        self.runs.get(1..).unwrap_or(&[])
    }

    /// The claim holds if both whitened inputs have identity covariance to
    /// [`COVARIANCE_TOLERANCE`], every encoded run ends with at most half the raw run's
    /// training cost and a higher test accuracy, and every gradient check passed.
    pub fn verdict(&self) -> bool {
        let Some(raw) = self.raw() else {
            return false;
        };
        self.encoded()
            .iter()
            .all(|r| r.final_cost <= 0.5 * raw.final_cost && r.test_accuracy > raw.test_accuracy)
            && self.runs[2..]
                .iter()
                .all(|r| r.covariance_error <= COVARIANCE_TOLERANCE)
            && self.runs.iter().all(|r| r.gradcheck <= 1e-6)
    }
}

/// Largest `|(1/m) Z Zᵀ − I|` entry (the data are centred by the encoders).
pub fn covariance_error(z: &DMatrix<f64>) -> f64 {
    let m = z.ncols() as f64;
    let mean = z.column_mean();
    let mut c = z.clone();
    for mut col in c.column_iter_mut() {
        col -= &mean;
    }
    let cov = &c * c.transpose() / m;
    (cov - DMatrix::identity(z.nrows(), z.nrows())).amax()
}

/// Runs the four encodings.
///
/// # Errors
/// If the data cannot be read, an encoder cannot be fitted, or a network cannot be built
/// or trained (a diverging raw run is recorded, not an error).
pub fn measure(config: &Config) -> Result<Measured> {
    let data = breast_cancer()?;
    let (train, test) = data.split_stratified(0.25, 14)?;
    let stds: Vec<f64> = train.x().row_iter().map(|r| r.variance().sqrt()).collect();
    let scale_ratio = stds.iter().copied().fold(0.0, f64::max)
        / stds.iter().copied().fold(f64::INFINITY, f64::min);
    let mut runs = Vec::new();
    for kind in ENCODINGS {
        let (x, x_test, name) = match kind {
            None => (train.x().clone(), test.x().clone(), "raw".to_string()),
            Some(kind) => {
                let (enc, x) = Encoder::fit_transform(kind, train.x())?;
                let name = kind.to_string();
                let name = name.split('(').next().unwrap_or_default().to_string();
                (x, enc.transform(test.x())?, name)
            }
        };
        let y = train.y();
        let mut net = Network::<f64>::builder(30)
            .dense(16, Activation::Tanh)
            .dense(1, Activation::Sigmoid)
            .loss(Loss::BinaryCrossEntropy)
            .seed(14)
            .build()?;
        let gradcheck = check_before_training(&mut net, &x, y, 16)?;
        let fit_config = FitConfig {
            epochs: config.epochs,
            batch_size: 32,
            optimizer: Optimizer::sgd(0.05),
            seed: 14,
            ..FitConfig::default()
        };
        let costs = match fit(&mut net, (&x, y), None, &fit_config, &mut Silent) {
            Ok(history) => history.epochs.iter().map(|e| e.train_cost).collect(),
            // a diverged run keeps its last good parameters; its curve stops there
            Err(TrainError::Training(TrainingError::Diverged { .. })) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        runs.push(Run {
            name,
            costs,
            final_cost: net.evaluate(&x, y)?.cost,
            test_accuracy: net.evaluate(&x_test, test.y())?.accuracy.unwrap_or(0.0),
            covariance_error: covariance_error(&x),
            gradcheck,
        });
    }
    Ok(Measured { runs, scale_ratio })
}

/// Draws the training-cost curves (log y).
///
/// # Errors
/// If the figure cannot be written.
pub fn figure(m: &Measured, path: &Path) -> Result<()> {
    let series: Vec<Series> = m
        .runs
        .iter()
        .map(|r| {
            Series::new(
                format!("{}: test accuracy {:.1}%", r.name, 100.0 * r.test_accuracy),
                r.costs
                    .iter()
                    .enumerate()
                    .map(|(e, &c)| ((e + 1) as f64, c))
                    .collect(),
            )
        })
        .collect();
    chart(
        path,
        Labels {
            title: "T14: the same net and SGD steps on raw and encoded inputs",
            x: "epoch (SGD, learning rate 0.05, batch 32)",
            y: "training cost J (log scale)",
        },
        &series,
        &ChartOptions {
            log_y: true,
            legend: Legend::MiddleRight,
            ..ChartOptions::default()
        },
    )
}

fn run(ctx: &Context) -> Result<Findings> {
    let config = Config::new(ctx.size);
    let m = measure(&config)?;
    let path = ctx.figure("t14_whitening.svg")?;
    figure(&m, &path)?;
    let parts: Vec<String> = m
        .runs
        .iter()
        .map(|r| {
            format!(
                "{} J={:.3} test {:.1}%",
                r.name,
                r.final_cost,
                100.0 * r.test_accuracy
            )
        })
        .collect();
    let cov = m.runs[2..]
        .iter()
        .map(|r| r.covariance_error)
        .fold(0.0, f64::max);
    let gradcheck = m.runs.iter().map(|r| r.gradcheck).fold(0.0, f64::max);
    let encoded: Vec<String> = m
        .encoded()
        .iter()
        .map(|r| {
            format!(
                "{} {:.3} ({:.1}%)",
                r.name.replace('_', " "),
                r.final_cost,
                100.0 * r.test_accuracy
            )
        })
        .collect();
    let reading = m.raw().map_or_else(String::new, |raw| {
        format!(
            r"The raw features' standard deviations differ by a factor of {:.0e}. On them the
            network does not learn: after {} epochs its training cost is {:.3} and it gets
            {:.1}% of the test cases right, about what always answering the more common
            class gives. With the same network, start and steps, every encoding trains: the
            final training costs (and test accuracies) are {}. The whitened inputs'
            covariance equals the identity to {cov:.0e}.

            The numbers also qualify the claim. Whitening is not better than standardising
            here: it rescales every direction of the data to unit variance, including the
            directions of tiny variance that are mostly noise (radius, perimeter and area are
            nearly the same feature), so it starts slower and generalises a little worse. A
            small $\varepsilon$ added to the eigenvalues before the inverse square root is
            the usual remedy. What helps training is mostly getting the scales right; how
            much more whitening buys depends on the data. (Gradient checks: {gradcheck:.0e}
            at worst.)",
            m.scale_ratio,
            config.epochs,
            raw.final_cost,
            100.0 * raw.test_accuracy,
            encoded.join(", ")
        )
    });
    Ok(Findings {
        measured: format!(
            "breast cancer, 30 features (their scales differ {:.0e}-fold), same net and SGD \
             steps: {}; \
             whitened covariance max |C − I| {:.0e}; gradcheck {:.0e}",
            m.scale_ratio,
            parts.join(", "),
            cov,
            gradcheck
        ),
        passed: m.verdict(),
        figures: vec![Figure::new(
            path,
            r"Training cost per epoch (log scale) of the same network trained the same way
            on the raw and on the three encoded versions of the inputs; the legend gives
            each run's test accuracy. The raw run stays flat near the cost of guessing from
            the class frequencies; the encoded runs fall by an order of magnitude or more,
            standardisation fastest at first.",
        )],
        reading,
        settings: format!(
            "{config:?}; SGD 0.05, batch 32; split seed 14, network seed 14, shuffling seed \
             14; whitening ε = 0"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitened_inputs_train_better_than_raw_ones() {
        let m = measure(&Config::new(Size::Quick)).unwrap();
        assert!(m.scale_ratio > 1e4, "{}", m.scale_ratio);
        let raw = m.raw().unwrap();
        for r in &m.runs {
            assert!(r.gradcheck <= 1e-6, "{}: {:e}", r.name, r.gradcheck);
        }
        for r in m.encoded() {
            assert!(
                r.final_cost <= 0.5 * raw.final_cost && r.test_accuracy > raw.test_accuracy,
                "{} (J {}, {}) vs raw (J {}, {})",
                r.name,
                r.final_cost,
                r.test_accuracy,
                raw.final_cost,
                raw.test_accuracy
            );
        }
        for r in &m.runs[2..] {
            assert!(
                r.covariance_error <= 1e-9,
                "{}: {:e}",
                r.name,
                r.covariance_error
            );
        }
        // standardised data has unit variances, but not identity covariance
        assert!(
            m.runs[1].covariance_error > 0.5,
            "{}",
            m.runs[1].covariance_error
        );
    }
}
