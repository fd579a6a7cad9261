//! T5 — vectorised forward propagation over m examples equals the per-example loop.
//!
//! For random networks, `A[L]` computed with the examples as the columns of one matrix is
//! compared with the loop that feeds one column at a time. The time per example of both
//! is measured for batch sizes from 1 up (wall-clock, best of three; reported by the
//! tour, never asserted in tests).
//!
//! The tour page's text for this claim is [`LESSON`].

use std::time::Instant;

use nalgebra::DMatrix;
use nn_train::{Activation, Loss, Network, SeededRng, Stream};

use crate::plot::{ChartOptions, Labels, Legend, Series, chart};
use crate::{Context, Experiment, Figure, Findings, Lesson, Result, Size};

/// The claim.
pub const CLAIM: &str =
    "vectorised forward propagation over m examples equals the per-example loop";

/// The experiment as the tour runs it.
pub const EXPERIMENT: Experiment = Experiment {
    id: "T5",
    claim: CLAIM,
    lesson: &LESSON,
    run,
};

/// The claim explained, for the tour page.
pub const LESSON: Lesson = Lesson {
    claim: r"A layer does the same thing to every example: $z^{(i)} = W x^{(i)} + b$. Put the
        $m$ examples side by side as the columns of $X$, and column $i$ of the product $WX$
        is exactly $W x^{(i)}$ — that is how matrix multiplication is defined. So one matrix
        product per layer computes the whole batch, and gives the same numbers as a loop
        over the examples. It is also much faster: one large product keeps the processor's
        vector units and caches busy, where $m$ small ones spend their time on overhead.",
    equation: r"\begin{aligned} \text{loop: }& z^{[1](i)} = W^{[1]}x^{(i)} + b^{[1]}, \quad i = 1, \dots, m \\ \text{vectorised: }& Z^{[1]} = W^{[1]}X + b^{[1]}, \quad X = \big[x^{(1)}\; x^{(2)}\; \cdots\; x^{(m)}\big] \end{aligned}",
    method: r"Random networks `64 → 128 ReLU → 64 tanh → 10` (seeded) get a batch of
        standard-normal inputs twice: once as one matrix through `Network::predict`, once
        column by column in a loop, through the same function. The largest difference
        between the two outputs is recorded. Then, for one network, both ways are timed
        (best of five, each repeated until it takes at least 2 ms) for batch sizes from 1
        to 10 000, as time per example.",
    source: file!(),
    docs: &[
        (
            "`Network::predict`",
            "nn_train/struct.Network.html#method.predict",
        ),
        (
            "the one matrix product (`nn_core::gemm_into`)",
            "nn_core/fn.gemm_into.html",
        ),
    ],
};

/// Sizes of the comparison.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Number of random networks (seeds 0..nets).
    pub nets: u64,
    /// Examples per batch for the comparison.
    pub examples: usize,
    /// Batch sizes timed.
    pub batch_sizes: &'static [usize],
}

impl Config {
    /// The configuration for a size.
    pub fn new(size: Size) -> Self {
        match size {
            Size::Quick => Self {
                nets: 3,
                examples: 64,
                batch_sizes: &[1, 8, 64],
            },
            Size::Full => Self {
                nets: 10,
                examples: 2000,
                batch_sizes: &[1, 3, 10, 30, 100, 300, 1000, 3000, 10000],
            },
        }
    }
}

/// Time per example at one batch size.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Examples in the batch.
    pub examples: usize,
    /// Microseconds per example, one column at a time.
    pub loop_us: f64,
    /// Microseconds per example, the batch as one matrix.
    pub vectorised_us: f64,
}

/// What was measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Largest |vectorised − loop| over all networks, outputs and examples.
    pub max_abs_diff: f64,
    /// Loop time / vectorised time on the comparison batches, summed over networks.
    pub speedup: f64,
    /// Time per example by batch size.
    pub timings: Vec<Timing>,
}

impl Measured {
    /// The claim holds if the two agree to 1e-12.
    pub fn verdict(&self) -> bool {
        self.max_abs_diff <= 1e-12
    }
}

fn network(seed: u64) -> Result<Network<f64>> {
    Ok(Network::<f64>::builder(64)
        .dense(128, Activation::Relu)
        .dense(64, Activation::Tanh)
        .dense(10, Activation::Identity)
        .loss(Loss::Mse)
        .seed(seed)
        .build()?)
}

fn inputs(m: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = SeededRng::for_stream(seed, Stream::Custom(1));
    DMatrix::from_fn(64, m, |_, _| rng.standard_normal())
}

/// The output of `net` on `x`, one column at a time.
fn looped(net: &Network<f64>, x: &DMatrix<f64>) -> Result<DMatrix<f64>> {
    let mut out = DMatrix::zeros(net.output_size(), x.ncols());
    for j in 0..x.ncols() {
        out.set_column(j, &net.predict(&x.columns(j, 1).into_owned())?.column(0));
    }
    Ok(out)
}

/// Seconds per call of `f`: best of five, each repeating `f` until it took 2 ms (the
/// best is the least disturbed by other work on the machine).
fn seconds_per_call(mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let (start, mut calls) = (Instant::now(), 0u32);
        while calls == 0 || start.elapsed().as_secs_f64() < 2e-3 {
            f()?;
            calls += 1;
        }
        best = best.min(start.elapsed().as_secs_f64() / f64::from(calls));
    }
    Ok(best)
}

/// Runs the comparison and the timings.
///
/// # Errors
/// If a network cannot be built or run (not expected).
pub fn measure(config: &Config) -> Result<Measured> {
    let (mut max_abs_diff, mut t_loop, mut t_vec) = (0.0f64, 0.0, 0.0);
    for seed in 0..config.nets {
        let net = network(seed)?;
        let x = inputs(config.examples, seed);
        let all = net.predict(&x)?;
        max_abs_diff = max_abs_diff.max((&looped(&net, &x)? - &all).amax());
        t_vec += seconds_per_call(|| net.predict(&x).map(drop).map_err(Into::into))?;
        t_loop += seconds_per_call(|| looped(&net, &x).map(drop))?;
    }
    let net = network(0)?;
    let mut timings = Vec::new();
    for &m in config.batch_sizes {
        let x = inputs(m, 0);
        let per = 1e6 / m as f64;
        timings.push(Timing {
            examples: m,
            vectorised_us: per
                * seconds_per_call(|| net.predict(&x).map(drop).map_err(Into::into))?,
            loop_us: per * seconds_per_call(|| looped(&net, &x).map(drop))?,
        });
    }
    Ok(Measured {
        max_abs_diff,
        speedup: t_loop / t_vec.max(1e-12),
        timings,
    })
}

/// Draws the time per example of both ways against the batch size (log axes).
///
/// # Errors
/// If the figure cannot be written.
pub fn figure(m: &Measured, path: &std::path::Path) -> Result<()> {
    let pts = |f: fn(&Timing) -> f64| {
        m.timings
            .iter()
            .map(|t| (t.examples as f64, f(t)))
            .collect::<Vec<_>>()
    };
    chart(
        path,
        Labels {
            title: "T5: time per example, one column at a time vs one matrix",
            x: "examples in the batch, m (log scale)",
            y: "microseconds per example (log scale)",
        },
        &[
            Series::new("loop over the columns", pts(|t| t.loop_us)),
            Series::new(
                "vectorised: one product per layer",
                pts(|t| t.vectorised_us),
            ),
        ],
        &ChartOptions {
            log_x: true,
            log_y: true,
            legend: Legend::LowerRight,
        },
    )
}

fn run(ctx: &Context) -> Result<Findings> {
    let config = Config::new(ctx.size);
    let m = measure(&config)?;
    let path = ctx.figure("t05_vectorised.svg")?;
    figure(&m, &path)?;
    let agreement = if m.max_abs_diff == 0.0 {
        "they are identical, bit for bit. (That is the kernel's doing: here it adds each \
         column's terms in the same order for a batch as for a single column. It need not, \
         and then the two would differ by rounding, far below the tolerance 1e-12.)"
            .to_string()
    } else {
        format!(
            "they differ by at most {:.1e}, which is rounding: a blocked matrix product may \
             add the terms of a column in another order than a product with one column.",
            m.max_abs_diff
        )
    };
    let per_example = |f: fn(&Timing) -> f64| {
        m.timings.iter().map(|t| (f(t), t.examples)).fold(
            (f64::INFINITY, 0, 0.0f64),
            |(lo, at, hi), (v, e)| {
                if v < lo {
                    (v, e, hi.max(v))
                } else {
                    (lo, at, hi.max(v))
                }
            },
        )
    };
    let (loop_lo, _, loop_hi) = per_example(|t| t.loop_us);
    let (vec_lo, vec_at, _) = per_example(|t| t.vectorised_us);
    let timing = format!(
        r" Per example, the loop cost {loop_lo:.1}–{loop_hi:.1} µs at every batch size — each
        call pays the same overhead for one column — while the vectorised form got down to
        {vec_lo:.2} µs, at $m = {vec_at}$."
    );
    let reading = format!(
        r"Over {} random networks and batches of {} examples, the vectorised output and the
        loop's: {agreement} Vectorising changes how the work is organised, not what is
        computed.

        It does change how long it takes: on batches of {} the vectorised form was {:.1}×
        as fast as the loop.{timing} The times come from this machine and this run, and
        vary between runs; only the agreement is part of the verdict.",
        config.nets, config.examples, config.examples, m.speedup
    );
    Ok(Findings {
        measured: format!(
            "max |vectorised − loop| = {:.1e}; vectorised is {:.1}× faster",
            m.max_abs_diff, m.speedup
        ),
        passed: m.verdict(),
        figures: vec![Figure::new(
            path,
            r"Microseconds per example for the loop (one column per call) and for the
            vectorised form (the whole batch as one matrix), against the batch size $m$, both
            axes logarithmic. At $m = 1$ the two are the same computation. The loop's cost
            per example stays where it was; the vectorised one drops as the fixed cost of a
            call is shared by more columns, and may rise again for large batches whose
            intermediate matrices no longer fit in the processor's caches. The times are
            wall-clock on a shared machine: their wiggles are noise.",
        )],
        reading,
        settings: format!(
            "{config:?}; networks seeds 0..{}; wall-clock, best of 5",
            config.nets
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectorised_forward_equals_the_loop() {
        let m = measure(&Config::new(Size::Quick)).unwrap();
        assert!(m.max_abs_diff <= 1e-12, "{:e}", m.max_abs_diff);
        // a timing for every batch size, each positive (their values are not asserted)
        assert_eq!(m.timings.len(), Config::new(Size::Quick).batch_sizes.len());
        assert!(
            m.timings
                .iter()
                .all(|t| t.loop_us > 0.0 && t.vectorised_us > 0.0)
        );
    }
}
