//! T12 — parameter sharing: one small filter slid over the whole image computes the same
//! response to a pattern wherever the pattern is, so a detector learnt at one position
//! works at every position; a dense model gives every pixel its own weight and learns
//! only where it was shown the pattern.
//!
//! Method: 12×12 single-channel images, background noise `N(0, 0.1²)`, with one 3×3
//! pattern of five bright pixels: a plus `+` (label 1) or a saltire `×` (label 0) — the
//! same brightness, so only the shape tells them apart. Its top-left corner is at one of
//! the 10 × 10 positions. Both models are trained on patterns at **one** position only,
//! [`TRAIN_POSITION`], then tested at every position:
//!
//! - **shared weights**: `Conv2d(4 filters 3×3, zero padding 1, ReLU) → global max pool
//!   (12×12) → dense sigmoid` — the filters see every window, and the max over positions
//!   forgets where. (Without the padding, windows that hang over the image's edge do not
//!   exist, and a filter that also learnt from a window half over the pattern loses that
//!   evidence at the border: accuracy there drops.)
//! - **dense logistic regression**: `144 → 1 sigmoid` on the pixels, starting from zero
//!   weights (the problem is convex, and untouched pixels keep weight ≈ 0 instead of a
//!   random one).
//!
//! Both use BCE and Adam, and have their gradients checked against finite differences
//! before training. Reported: accuracy at the training position, and the mean accuracy
//! over the positions whose window does not overlap the training window (where a model
//! that did not generalise is at chance, 50%). Near the training position the dense
//! model is not at chance but systematically right or wrong: the `+` and the `×` are
//! complements within their 3×3 square, so a one-pixel shift makes one read as the other
//! under the learnt weights (the checkerboard in its figure).
//!
//! The tour page's text for this claim is [`LESSON`].

use std::path::Path;

use nalgebra::DMatrix;
use nn_train::{
    Activation, FitConfig, Init, Loss, Network, Optimizer, SeededRng, Silent, Stream, fit,
};

use super::t06_backprop::check_before_training;
use crate::plot::{Labels, value_grid};
use crate::{Context, Experiment, Figure, Findings, Lesson, Result, Size};

/// The claim.
pub const CLAIM: &str = "parameter sharing: a small filter slid over the image detects a pattern anywhere; a dense model trained at one position does not";

/// The experiment as the tour runs it.
pub const EXPERIMENT: Experiment = Experiment {
    id: "T12",
    claim: CLAIM,
    lesson: &LESSON,
    run,
};

/// The claim explained, for the tour page.
pub const LESSON: Lesson = Lesson {
    claim: r"A dense layer gives every pixel its own weight: weight $\theta_1$ only ever looks at
        the top-left pixel. If a pattern appeared only in one place during training, the
        weights elsewhere never learnt anything about it, and the model cannot recognise it
        anywhere else. Parameter sharing uses one small filter $\theta$ for every position:
        it is slid over the image, and the same weights compute a response at each place.
        What the filter learnt at one position it then knows at all of them, and taking the
        maximum response over the positions makes the answer independent of where the
        pattern is. This is the idea behind convolutional networks.",
    equation: r"a_{rs} = \sum_{i=1}^{3}\sum_{j=1}^{3} \theta_{ij}\,x_{r+i,\,s+j}, \qquad \hat y = \sigma\Big(w \max_{r,s} \operatorname{ReLU}(a_{rs} + b) + c\Big)",
    method: r"Images of $12 \times 12$ noisy pixels with one bright $3 \times 3$ pattern, a plus
        $+$ (label 1) or a saltire $\times$ (label 0): five bright pixels each, so only the
        shape tells them apart. Both models are trained on images with the pattern at one
        position only — its top-left corner at row 1, column 1 — and then tested with the
        pattern at each of the $10 \times 10$ positions:

        - shared weights: a convolution of four $3 \times 3$ filters (zero padding, ReLU),
          the maximum over all positions, then one sigmoid unit;
        - a dense logistic regression $144 \to 1$ on the pixels, from zero weights.

        Both use binary cross-entropy and Adam, after a gradient check. Accuracy is
        reported at the training position, and on average over the positions whose pattern
        does not overlap the training one — where a model that learnt nothing transferable
        is at chance, 50%.",
    source: file!(),
    docs: &[
        ("`Conv2d`", "nn_train/struct.Conv2d.html"),
        ("`MaxPool2d`", "nn_train/struct.MaxPool2d.html"),
        (
            "the experiment's module",
            "nn_examples/experiments/t12_parameter_sharing/index.html",
        ),
    ],
};

/// Image side in pixels.
pub const SIDE: usize = 12;
/// Pattern side in pixels.
pub const PATTERN: usize = 3;
/// Positions per axis of the pattern's top-left corner.
pub const POSITIONS: usize = SIDE - PATTERN + 1;
/// The one position (row, column of the top-left corner) the models are trained at.
pub const TRAIN_POSITION: (usize, usize) = (1, 1);
/// Standard deviation of the background noise.
pub const NOISE: f64 = 0.1;

/// The patterns indexed by label, row by row: the saltire `×` (0) and the plus `+` (1).
const SHAPES: [[[f64; 3]; 3]; 2] = [
    [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0]],
    [[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]],
];

/// Sizes of the run.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Training images (all at [`TRAIN_POSITION`]).
    pub train: usize,
    /// Test images per position.
    pub test_per_position: usize,
    /// Epochs of Adam (learning rate 0.02, batch 32).
    pub epochs: usize,
}

impl Config {
    /// The configuration for a size.
    pub fn new(size: Size) -> Self {
        match size {
            Size::Quick => Self {
                train: 160,
                test_per_position: 10,
                epochs: 15,
            },
            Size::Full => Self {
                train: 400,
                test_per_position: 40,
                epochs: 30,
            },
        }
    }
}

/// `m` images (columns of `SIDE²` pixels, row-major) with the pattern's top-left corner at
/// `(row, col)`, alternating labels 1, 0, 1, …; noise from `rng`.
pub fn images(
    m: usize,
    (row, col): (usize, usize),
    rng: &mut SeededRng,
) -> (DMatrix<f64>, DMatrix<f64>) {
    let mut x = DMatrix::from_fn(SIDE * SIDE, m, |_, _| NOISE * rng.standard_normal());
    let mut y = DMatrix::zeros(1, m);
    for j in 0..m {
        let label = (j + 1) % 2;
        y[(0, j)] = label as f64;
        let shape = &SHAPES[label];
        for (dy, line) in shape.iter().enumerate() {
            for (dx, &v) in line.iter().enumerate() {
                x[((row + dy) * SIDE + col + dx, j)] += v;
            }
        }
    }
    (x, y)
}

/// Does a pattern at `p` overlap one at the training position?
pub fn overlaps_training_window(p: (usize, usize)) -> bool {
    let (r, c) = TRAIN_POSITION;
    p.0.abs_diff(r) < PATTERN && p.1.abs_diff(c) < PATTERN
}

/// One model's results.
#[derive(Debug, Clone)]
pub struct ModelResult {
    /// `accuracy[row][col]` at each position.
    pub accuracy: Vec<Vec<f64>>,
    /// Worst relative error of the gradient against finite differences before training.
    pub gradcheck: f64,
}

impl ModelResult {
    /// Accuracy at the training position.
    pub fn at_training_position(&self) -> f64 {
        self.accuracy[TRAIN_POSITION.0][TRAIN_POSITION.1]
    }

    /// Mean accuracy over the positions not overlapping the training window.
    pub fn elsewhere(&self) -> f64 {
        let mut sum = 0.0;
        let mut n = 0;
        for (r, row) in self.accuracy.iter().enumerate() {
            for (c, &a) in row.iter().enumerate() {
                if !overlaps_training_window((r, c)) {
                    sum += a;
                    n += 1;
                }
            }
        }
        sum / f64::from(n.max(1))
    }

    /// The lowest accuracy at any position.
    pub fn worst(&self) -> f64 {
        self.accuracy.iter().flatten().copied().fold(1.0, f64::min)
    }
}

/// What was measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The shared-weight (convolutional) model.
    pub shared: ModelResult,
    /// The dense logistic regression.
    pub dense: ModelResult,
}

impl Measured {
    /// The claim holds if both models learn the training position (≥ 95%), the shared
    /// model keeps ≥ 95% away from it, the dense one falls to chance (mean within 0.5 ±
    /// 0.1 away from it), and both gradient checks passed (≤ 1e-6).
    pub fn verdict(&self) -> bool {
        self.shared.at_training_position() >= 0.95
            && self.dense.at_training_position() >= 0.95
            && self.shared.elsewhere() >= 0.95
            && (self.dense.elsewhere() - 0.5).abs() <= 0.1
            && self.shared.gradcheck <= 1e-6
            && self.dense.gradcheck <= 1e-6
    }
}

fn train_and_test(
    mut net: Network<f64>,
    train: &(DMatrix<f64>, DMatrix<f64>),
    config: &Config,
) -> Result<ModelResult> {
    let (x, y) = train;
    let gradcheck = check_before_training(&mut net, x, y, 6)?;
    let fit_config = FitConfig {
        epochs: config.epochs,
        batch_size: 32,
        optimizer: Optimizer::adam(0.02),
        seed: 12,
        ..FitConfig::default()
    };
    fit(&mut net, (x, y), None, &fit_config, &mut Silent)?;
    let mut rng = SeededRng::for_stream(12, Stream::Custom(1));
    let mut accuracy = vec![vec![0.0; POSITIONS]; POSITIONS];
    for (r, row) in accuracy.iter_mut().enumerate() {
        for (c, a) in row.iter_mut().enumerate() {
            let (tx, ty) = images(config.test_per_position, (r, c), &mut rng);
            *a = net.evaluate(&tx, &ty)?.accuracy.unwrap_or(0.0);
        }
    }
    Ok(ModelResult {
        accuracy,
        gradcheck,
    })
}

/// Trains both models at the training position and tests them everywhere.
///
/// # Errors
/// If a network cannot be built or trained (not expected).
pub fn measure(config: &Config) -> Result<Measured> {
    let train = images(
        config.train,
        TRAIN_POSITION,
        &mut SeededRng::for_stream(12, Stream::Custom(0)),
    );
    // zero padding keeps the output 12×12, so that windows half off the image exist at the
    // border too; the max pool over all of it is global
    let shared = Network::<f64>::image_builder(1, SIDE, SIDE)
        .conv2d_strided(4, PATTERN, 1, PATTERN / 2, Activation::Relu)
        .max_pool(SIDE)
        .flatten()
        .dense(1, Activation::Sigmoid)
        .loss(Loss::BinaryCrossEntropy)
        .seed(12)
        .build()?;
    let dense = Network::<f64>::builder(SIDE * SIDE)
        .dense_with_init(1, Activation::Sigmoid, Init::Zeros)
        .loss(Loss::BinaryCrossEntropy)
        .seed(12)
        .build()?;
    Ok(Measured {
        shared: train_and_test(shared, &train, config)?,
        dense: train_and_test(dense, &train, config)?,
    })
}

/// Draws each model's accuracy at every position as a heat map (in %), two files.
///
/// # Errors
/// If a figure cannot be written.
pub fn figures(m: &Measured, shared: &Path, dense: &Path) -> Result<()> {
    let percent = |r: &ModelResult| -> Vec<Vec<f64>> {
        r.accuracy
            .iter()
            .map(|row| row.iter().map(|a| (100.0 * a).round()).collect())
            .collect()
    };
    let (tr, tc) = TRAIN_POSITION;
    for (result, path, name) in [
        (&m.shared, shared, "conv 3×3 + global max pool"),
        (&m.dense, dense, "dense logistic regression"),
    ] {
        let title = format!("T12: {name}, trained at ({tr}, {tc}) only: accuracy %");
        value_grid(
            path,
            Labels {
                title: &title,
                x: "column of the pattern's left edge",
                y: "row of the pattern's top edge",
            },
            &percent(result),
            (0.0, 100.0),
        )?;
    }
    Ok(())
}

fn run(ctx: &Context) -> Result<Findings> {
    let config = Config::new(ctx.size);
    let m = measure(&config)?;
    let shared = ctx.figure("t12_shared_weights.svg")?;
    let dense = ctx.figure("t12_dense.svg")?;
    figures(&m, &shared, &dense)?;
    let reading = format!(
        r"At the training position both models are right on {:.0}% (shared) and {:.0}% (dense)
        of the test images: both learnt the task where they saw it. Away from it the shared
        filters stay at {:.1}% on average (their worst position: {:.0}%), while the dense
        model falls to {:.1}% — chance is 50%. Its weights away from the training window only
        ever saw noise, which carries no label: they learnt nothing that tells $+$ from
        $\times$, and a pattern there moves the output about as much as noise does.

        Near the training window the dense model is not at chance but systematically right
        or wrong (the checkerboard next to it in its figure): the plus and the saltire are
        complements within their square, so a pattern shifted by one pixel looks, to the
        learnt weights, like the other one. What the shared model gains is built in, not
        learnt: a filter slid over the image and a maximum over positions. It would not
        help with a task where position matters. (Gradient checks: {:.0e} at worst.)",
        100.0 * m.shared.at_training_position(),
        100.0 * m.dense.at_training_position(),
        100.0 * m.shared.elsewhere(),
        100.0 * m.shared.worst(),
        100.0 * m.dense.elsewhere(),
        m.shared.gradcheck.max(m.dense.gradcheck)
    );
    let (tr, tc) = TRAIN_POSITION;
    Ok(Findings {
        measured: format!(
            "+ vs × on 12×12 noisy images, trained at one position: conv + max pool {:.0}% there, \
             {:.1}% mean elsewhere (worst position {:.0}%); dense logistic regression {:.0}% \
             there, {:.1}% mean elsewhere (chance 50%); gradcheck {:.0e}",
            100.0 * m.shared.at_training_position(),
            100.0 * m.shared.elsewhere(),
            100.0 * m.shared.worst(),
            100.0 * m.dense.at_training_position(),
            100.0 * m.dense.elsewhere(),
            m.shared.gradcheck.max(m.dense.gradcheck)
        ),
        passed: m.verdict(),
        figures: vec![
            Figure::new(
                shared,
                format!(
                    r"Test accuracy (%) of the shared-weight model for each position of the
                    pattern's top-left corner (row down, column across), {} test images per
                    cell. It was trained at row {tr}, column {tc} only, and is as good
                    everywhere: the same filters look at every position.",
                    config.test_per_position
                ),
            ),
            Figure::new(
                dense,
                format!(
                    r"The same map for the dense logistic regression, trained at row {tr},
                    column {tc}. It is right there, and away from that spot it averages
                    chance, 50 — single cells stray far from 50 either way, where weights
                    learnt from noise happen to favour one pattern. The checkerboard of 0s and
                    100s right next to the spot is the plus read as the saltire and back when
                    the pattern is shifted by one pixel."
                ),
            ),
        ],
        reading,
        settings: format!(
            "{config:?}; Adam 0.02, batch 32; training images seed 12, test images seed 12 \
             (stream 1), networks seed 12"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_filters_detect_the_pattern_anywhere_and_dense_weights_do_not() {
        let m = measure(&Config::new(Size::Quick)).unwrap();
        assert!(m.shared.gradcheck <= 1e-6, "{:e}", m.shared.gradcheck);
        assert!(m.dense.gradcheck <= 1e-6, "{:e}", m.dense.gradcheck);
        assert!(m.shared.at_training_position() >= 0.95, "{:?}", m.shared);
        assert!(m.dense.at_training_position() >= 0.95, "{:?}", m.dense);
        assert!(m.shared.elsewhere() >= 0.95, "{}", m.shared.elsewhere());
        assert!(
            (m.dense.elsewhere() - 0.5).abs() <= 0.1,
            "{}",
            m.dense.elsewhere()
        );
    }

    #[test]
    fn the_two_patterns_have_the_same_brightness_and_land_where_asked() {
        let (x, y) = images(2, (4, 7), &mut SeededRng::for_stream(1, Stream::Custom(0)));
        assert_eq!((y[(0, 0)], y[(0, 1)]), (1.0, 0.0));
        let sums: Vec<f64> = SHAPES.iter().map(|s| s.iter().flatten().sum()).collect();
        assert_eq!(sums, [5.0, 5.0]);
        // the centre pixel of both patterns is at (5, 8): bright above the noise
        assert!(x[(5 * SIDE + 8, 0)] > 0.5 && x[(5 * SIDE + 8, 1)] > 0.5);
        assert!(overlaps_training_window((2, 3)) && !overlaps_training_window((4, 1)));
    }
}
