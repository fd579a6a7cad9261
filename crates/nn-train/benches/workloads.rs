//! Throughput of the reference workloads W1–W4 of the performance issue: f32, synthetic
//! N(0, 1) inputs from a fixed seed, random labels, plain SGD with learning rate 0.01,
//! examples as columns.
//!
//! | id | layers         | hidden | output + loss  | batch | samples per epoch |
//! |----|----------------|--------|----------------|-------|-------------------|
//! | W1 | 2-16-16-1      | tanh   | sigmoid + BCE  | 32    | 4096              |
//! | W2 | 64-32-10       | ReLU   | softmax + CE   | 64    | 1797              |
//! | W3 | 784-128-10     | ReLU   | softmax + CE   | 64    | 60000             |
//! | W4 | 784-512-512-10 | ReLU   | softmax + CE   | 256   | 10240             |
//! | C1 | 1×8×8 → conv 16 3×3 → pool 2 → 10 | ReLU | softmax + CE | 64 | 1797   |
//! | C2 | 1×28×28 → conv 6 5×5 pad 2 → pool 2 → conv 16 5×5 → pool 2 → 120 → 84 → 10 | ReLU | softmax + CE | 64 | 10240 |
//!
//! C1 is the digits-sized CNN, C2 LeNet-5's shape (max-pooling, ReLU); pooling windows
//! are 2×2 with stride 2, convolutions have stride 1.
//! Training throughput is samples per second of full epochs of [`Trainer::fit`] (seeded
//! shuffle, batch gathering, forward, cost, backward, update); inference is
//! [`Network::predict`] on batches of 1024 columns.
//!
//! One bench target, two modes:
//!
//! - `cargo bench -p nn-train --bench workloads` runs criterion: one group per workload
//!   with a training-epoch and an inference benchmark, `Throughput::Elements(samples)`.
//! - `cargo bench -p nn-train --bench workloads -- --table FILE` skips criterion and
//!   writes JSON lines to `FILE`: one `workload` line per workload (its full
//!   specification, which the Python peers in `bench/peers/` read, so both sides run the
//!   same thing, with `train_flop` / `infer_flop`, the FLOP a sample costs as executed),
//!   a `peak` line (the CPU's measured f32 and f64 FMA peak on 1 thread and on
//!   `NN_THREADS`, see `workloads/peak.rs`), one `result` line per workload and phase,
//!   and for W3 and W4 `latency` lines: p50 and p99 of 10 000 single predictions of 1 and
//!   of 16 columns through `Network::predict_into` (after 10 000 untimed ones). `cargo xtask bench` runs
//!   this mode and prints the table. Protocol, the same in the peers: two warm-up epochs
//!   (or passes); the last one estimates how many measured runs fill [`TARGET_SECONDS`],
//!   clamped to [`MIN_RUNS`]..=[`MAX_RUNS`]; the figure is the median run.
//!
//! - `… -- --memory W3 FILE` trains one epoch of a workload in a fresh process and writes
//!   its peak resident memory and the size of its data as a `memory` line.
//!
//! In table mode W3 and W4 are also trained in `f64` (phase `train_f64`), for the f64/f32
//! time ratio.
//!
//! The thread count is the `NN_THREADS` environment variable (default 1), read by
//! [`engine_threads`]; every result is labelled with it. `cargo xtask bench` runs this
//! binary once per thread count.

// A benchmark whose fixed, valid networks and data fail to build has nothing to measure;
// stopping with the error's message is the right response.
#![allow(clippy::expect_used)]

use std::error::Error;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

#[path = "workloads/peak.rs"]
mod peak;

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use nalgebra::DMatrix;
use nn_train::{
    Activation, Control, EpochRecord, FitConfig, Loss, Network, Observer, Optimizer,
    PredictBuffers, Scalar, SeededRng, Stream, Trainer,
};

/// The seed of every workload's data, initial weights and shuffling.
const SEED: u64 = 9;
/// The SGD learning rate of every workload.
const LEARNING_RATE: f64 = 0.01;
/// Columns per inference batch.
const INFER_BATCH: usize = 1024;
/// Workloads also trained in `f64` (table mode, phase `train_f64`), for the f64/f32 time
/// ratio.
const F64_WORKLOADS: &[&str] = &["W3", "W4"];
/// Workloads whose one-request latency is measured (table mode), and the batch widths.
const LATENCY_WORKLOADS: &[&str] = &["W3", "W4"];
const LATENCY_BATCHES: &[usize] = &[1, 16];
/// Timed predictions per latency figure, after as many untimed ones.
const LATENCY_CALLS: usize = 10_000;

/// Measured time aimed at per workload and phase (table mode).
const TARGET_SECONDS: f64 = 1.5;
/// Fewest measured epochs (or inference passes) per figure.
const MIN_RUNS: usize = 5;
/// Most measured epochs (or inference passes) per figure: enough that the runs of a short
/// workload (a W1 epoch takes under a millisecond) still span [`TARGET_SECONDS`], so that
/// a moment of noise on the machine moves the median little.
const MAX_RUNS: usize = 2001;

/// What the network between input and output is.
#[derive(Debug, Clone, Copy)]
enum Arch {
    /// Dense layers of these sizes (input first), `hidden` between them; the output is
    /// sigmoid + BCE for one unit, softmax + CE otherwise.
    Mlp {
        sizes: &'static [usize],
        hidden: Activation,
    },
    /// A convolutional network on `image` (`[channels, height, width]`): the stages in
    /// order, ReLU after every convolution and hidden dense layer, softmax + CE at the end
    /// (the last stage is the output's dense layer).
    Cnn {
        image: [usize; 3],
        stages: &'static [Stage],
    },
}

/// One stage of a [`Arch::Cnn`].
#[derive(Debug, Clone, Copy)]
enum Stage {
    /// `out` filters of `kernel × kernel`, stride 1, `padding` zeros on every side.
    Conv {
        out: usize,
        kernel: usize,
        padding: usize,
    },
    /// 2×2 max-pooling, stride 2.
    MaxPool,
    /// A dense layer (after an implicit flatten) of `units`.
    Dense(usize),
}

/// C1: the digits-sized CNN.
const C1: &[Stage] = &[
    Stage::Conv {
        out: 16,
        kernel: 3,
        padding: 0,
    },
    Stage::MaxPool,
    Stage::Dense(10),
];

/// C2: LeNet-5's shape with ReLU and max-pooling.
const C2: &[Stage] = &[
    Stage::Conv {
        out: 6,
        kernel: 5,
        padding: 2,
    },
    Stage::MaxPool,
    Stage::Conv {
        out: 16,
        kernel: 5,
        padding: 0,
    },
    Stage::MaxPool,
    Stage::Dense(120),
    Stage::Dense(84),
    Stage::Dense(10),
];

/// One reference workload.
#[derive(Debug, Clone, Copy)]
struct Workload {
    id: &'static str,
    arch: Arch,
    batch: usize,
    samples: usize,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        id: "W1",
        arch: Arch::Mlp {
            sizes: &[2, 16, 16, 1],
            hidden: Activation::Tanh,
        },
        batch: 32,
        samples: 4096,
    },
    Workload {
        id: "W2",
        arch: Arch::Mlp {
            sizes: &[64, 32, 10],
            hidden: Activation::Relu,
        },
        batch: 64,
        samples: 1797,
    },
    Workload {
        id: "W3",
        arch: Arch::Mlp {
            sizes: &[784, 128, 10],
            hidden: Activation::Relu,
        },
        batch: 64,
        samples: 60000,
    },
    Workload {
        id: "W4",
        arch: Arch::Mlp {
            sizes: &[784, 512, 512, 10],
            hidden: Activation::Relu,
        },
        batch: 256,
        samples: 10240,
    },
    Workload {
        id: "C1",
        arch: Arch::Cnn {
            image: [1, 8, 8],
            stages: C1,
        },
        batch: 64,
        samples: 1797,
    },
    Workload {
        id: "C2",
        arch: Arch::Cnn {
            image: [1, 28, 28],
            stages: C2,
        },
        batch: 64,
        samples: 10240,
    },
];

/// The multiply-adds per sample of each stage of a CNN with parameters (convolutions and
/// dense layers), in order.
fn stage_macs(image: [usize; 3], stages: &[Stage]) -> Vec<usize> {
    let [mut c, mut h, mut w] = image;
    let mut macs = Vec::new();
    for stage in stages {
        match *stage {
            Stage::Conv {
                out,
                kernel,
                padding,
            } => {
                h = h + 2 * padding + 1 - kernel;
                w = w + 2 * padding + 1 - kernel;
                macs.push(out * c * kernel * kernel * h * w);
                c = out;
            }
            Stage::MaxPool => {
                h /= 2;
                w /= 2;
            }
            Stage::Dense(units) => {
                macs.push(units * c * h * w);
                (c, h, w) = (units, 1, 1);
            }
        }
    }
    macs
}

impl Workload {
    fn inputs(&self) -> usize {
        match self.arch {
            Arch::Mlp { sizes, .. } => sizes[0],
            Arch::Cnn { image, .. } => image.iter().product(),
        }
    }

    fn classes(&self) -> usize {
        match self.arch {
            Arch::Mlp { sizes, .. } => sizes[sizes.len() - 1],
            // The last stage is the output's dense layer.
            Arch::Cnn { stages, .. } => match stages.last() {
                Some(Stage::Dense(units)) => *units,
                _ => 0,
            },
        }
    }

    /// Multiply-adds per sample in the forward pass: the number of weights for an MLP.
    /// A training step costs about 3× the forward pass, so effective FLOP/s are
    /// `6 × macs × samples/s` for training and `2 × macs × samples/s` for inference.
    fn macs(&self) -> usize {
        match self.arch {
            Arch::Mlp { sizes, .. } => sizes.windows(2).map(|w| w[0] * w[1]).sum(),
            Arch::Cnn { image, stages } => stage_macs(image, stages).iter().sum(),
        }
    }

    /// Floating-point operations a sample costs as executed: `(training, inference)`.
    /// Inference is the forward pass, 2 per weight; a training step adds the weight
    /// gradient (2 per weight) and the input gradient (2 per weight) of every layer but
    /// the first, whose input gradient nobody needs. Bias and element-wise work are left
    /// out (they are not multiply-adds of a GEMM).
    fn executed_flop(&self) -> (f64, f64) {
        let (all, first) = match self.arch {
            Arch::Mlp { sizes, .. } => (self.macs(), sizes[0] * sizes[1]),
            Arch::Cnn { image, stages } => (self.macs(), stage_macs(image, stages)[0]),
        };
        let (all, first) = (all as f64, first as f64);
        (2.0 * all + 2.0 * all + 2.0 * (all - first), 2.0 * all)
    }

    /// Passes of `predict` on one 1024-column batch that cover at least an epoch's samples.
    fn infer_reps(&self) -> usize {
        self.samples.div_ceil(INFER_BATCH)
    }

    fn label(&self) -> String {
        match self.arch {
            Arch::Mlp { sizes, hidden } => {
                let sizes: Vec<String> = sizes.iter().map(ToString::to_string).collect();
                format!("{} {} {hidden}", self.id, sizes.join("-"))
            }
            Arch::Cnn { image, stages } => {
                let [c, h, w] = image;
                let parts: Vec<String> = stages
                    .iter()
                    .map(|s| match *s {
                        Stage::Conv {
                            out,
                            kernel,
                            padding: 0,
                        } => format!("conv{out}-{kernel}x{kernel}"),
                        Stage::Conv {
                            out,
                            kernel,
                            padding,
                        } => format!("conv{out}-{kernel}x{kernel}p{padding}"),
                        Stage::MaxPool => "pool2".to_string(),
                        Stage::Dense(units) => units.to_string(),
                    })
                    .collect();
                format!("{} {c}x{h}x{w} {} relu", self.id, parts.join(" "))
            }
        }
    }

    fn network<T: Scalar>(&self) -> Result<Network<T>, Box<dyn Error>> {
        match self.arch {
            Arch::Mlp { sizes, hidden } => {
                let mut builder = Network::<T>::builder(sizes[0]);
                for &units in &sizes[1..sizes.len() - 1] {
                    builder = builder.dense(units, hidden);
                }
                let (out, loss) = if self.classes() == 1 {
                    (Activation::Sigmoid, Loss::BinaryCrossEntropy)
                } else {
                    (Activation::Softmax, Loss::CategoricalCrossEntropy)
                };
                Ok(builder
                    .dense(self.classes(), out)
                    .loss(loss)
                    .seed(SEED)
                    .build()?)
            }
            Arch::Cnn { image, stages } => cnn(image, stages),
        }
    }

    /// `X: (inputs, samples)` of N(0, 1) entries (stream 0) and `Y` of uniform random
    /// labels (stream 1): 0/1 for one output, one-hot columns otherwise. Generated a
    /// column at a time, so that nothing but `X` and `Y` is held (the memory mode measures
    /// a training run's peak).
    fn data<T: Scalar>(&self) -> (DMatrix<T>, DMatrix<T>) {
        let mut normals = SeededRng::for_stream(SEED, Stream::Custom(0));
        let mut column = vec![0.0f64; self.inputs()];
        let mut x = DMatrix::zeros(self.inputs(), self.samples);
        for mut col in x.column_iter_mut() {
            normals.fill_standard_normal(&mut column);
            col.iter_mut()
                .zip(&column)
                .for_each(|(o, &v)| *o = T::cast(v));
        }
        let mut labels = SeededRng::for_stream(SEED, Stream::Custom(1));
        let classes = self.classes();
        let y = if classes == 1 {
            DMatrix::from_fn(1, self.samples, |_, _| T::from_count(labels.below(2)))
        } else {
            let mut y = DMatrix::zeros(classes, self.samples);
            for j in 0..self.samples {
                y[(labels.below(classes), j)] = T::one();
            }
            y
        };
        (x, y)
    }

    /// The specification line the peers read (flat JSON).
    fn spec_json(&self) -> String {
        let (kind, sizes, hidden, output) = match self.arch {
            Arch::Mlp { sizes, hidden } => {
                let out = if self.classes() == 1 {
                    "sigmoid"
                } else {
                    "softmax"
                };
                ("mlp", sizes.to_vec(), hidden.to_string(), out.to_string())
            }
            Arch::Cnn { .. } => (
                "cnn",
                vec![self.inputs(), self.classes()],
                "relu".into(),
                "softmax".into(),
            ),
        };
        let sizes: Vec<String> = sizes.iter().map(ToString::to_string).collect();
        format!(
            "{{\"kind\":\"workload\",\"id\":\"{}\",\"arch\":\"{kind}\",\"sizes\":[{}],\
             \"hidden\":\"{hidden}\",\"output\":\"{output}\",\"batch\":{},\"samples\":{},\
             \"macs\":{},\"train_flop\":{},\"infer_flop\":{},\"lr\":{LEARNING_RATE},\"seed\":{SEED},\"infer_batch\":{INFER_BATCH},\
             \"infer_reps\":{},\"warmup\":2,\"min_runs\":{MIN_RUNS},\"max_runs\":{MAX_RUNS},\
             \"target_s\":{TARGET_SECONDS},\"label\":\"{}\"{}}}",
            self.id,
            sizes.join(","),
            self.batch,
            self.samples,
            self.macs(),
            self.executed_flop().0,
            self.executed_flop().1,
            self.infer_reps(),
            self.label(),
            self.cnn_json(),
        )
    }

    /// For a CNN, `,"image":[c,h,w],"layers":[…]` for the spec line (empty for an MLP):
    /// `{"type":"conv","out":o,"kernel":k,"padding":p}`, `{"type":"max_pool","kernel":2}`,
    /// `{"type":"dense","units":u}`.
    fn cnn_json(&self) -> String {
        let Arch::Cnn { image, stages } = self.arch else {
            return String::new();
        };
        let layers: Vec<String> = stages
            .iter()
            .map(|s| match *s {
                Stage::Conv {
                    out,
                    kernel,
                    padding,
                } => format!(
                    "{{\"type\":\"conv\",\"out\":{out},\"kernel\":{kernel},\"padding\":{padding}}}"
                ),
                Stage::MaxPool => "{\"type\":\"max_pool\",\"kernel\":2}".to_string(),
                Stage::Dense(units) => format!("{{\"type\":\"dense\",\"units\":{units}}}"),
            })
            .collect();
        let [c, h, w] = image;
        format!(",\"image\":[{c},{h},{w}],\"layers\":[{}]", layers.join(","))
    }
}

/// A CNN workload's network: its stages, ReLU after each convolution and hidden dense
/// layer, a flatten before the first dense layer, softmax + CE.
fn cnn<T: Scalar>(image: [usize; 3], stages: &[Stage]) -> Result<Network<T>, Box<dyn Error>> {
    let [c, h, w] = image;
    let mut builder = Network::<T>::image_builder(c, h, w);
    let mut flat = false;
    for (i, stage) in stages.iter().enumerate() {
        builder = match *stage {
            Stage::Conv {
                out,
                kernel,
                padding,
            } => builder.conv2d_strided(out, kernel, 1, padding, Activation::Relu),
            Stage::MaxPool => builder.max_pool(2),
            Stage::Dense(units) => {
                if !flat {
                    builder = builder.flatten();
                    flat = true;
                }
                let last = i + 1 == stages.len();
                builder.dense(
                    units,
                    if last {
                        Activation::Softmax
                    } else {
                        Activation::Relu
                    },
                )
            }
        };
    }
    Ok(builder
        .loss(Loss::CategoricalCrossEntropy)
        .seed(SEED)
        .build()?)
}

/// The engine's thread count: `NN_THREADS` (default 1); every result is labelled with it.
/// [`TrainRun`] passes it to the trainer explicitly and sets it on the network for
/// `predict`.
fn engine_threads() -> usize {
    std::env::var("NN_THREADS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(1)
}

/// An observer that records when each epoch ends and stops `fit` after `epochs` of them,
/// so one [`Trainer`] (configured for unlimited epochs) can be driven call by call.
struct EpochClock {
    epochs: usize,
    ends: Vec<Instant>,
}

impl Observer for EpochClock {
    fn on_epoch(&mut self, _record: &EpochRecord) -> Control {
        self.ends.push(Instant::now());
        if self.ends.len() >= self.epochs {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

/// A training run of a workload: network, data and a trainer that keeps going.
struct TrainRun<T: Scalar> {
    net: Network<T>,
    x: DMatrix<T>,
    y: DMatrix<T>,
    trainer: Trainer<T>,
}

impl<T: Scalar> TrainRun<T> {
    fn new(w: &Workload) -> Result<Self, Box<dyn Error>> {
        let (x, y) = w.data();
        let config = FitConfig {
            epochs: usize::MAX,
            batch_size: w.batch,
            shuffle: true,
            seed: SEED,
            optimizer: Optimizer::sgd(LEARNING_RATE),
            threads: Some(engine_threads()),
            ..FitConfig::default()
        };
        let mut net = w.network()?;
        net.set_threads(engine_threads());
        Ok(Self {
            net,
            x,
            y,
            trainer: Trainer::new(config)?,
        })
    }

    /// The protocol's training figures: two warm-up epochs, then as many as fill
    /// [`TARGET_SECONDS`] by the last one's duration.
    fn measured_epochs(&mut self) -> Result<Vec<Duration>, Box<dyn Error>> {
        let warm = self.epochs(2)?;
        let estimate = warm.last().copied().unwrap_or_default();
        self.epochs(runs_for(estimate))
    }

    /// Runs `n + 1` epochs in one `fit` call and returns the durations of the last `n`
    /// (the first one also pays `fit`'s up-front data validation, so it is not counted).
    fn epochs(&mut self, n: usize) -> Result<Vec<Duration>, Box<dyn Error>> {
        let mut clock = EpochClock {
            epochs: n + 1,
            ends: Vec::with_capacity(n + 1),
        };
        self.trainer
            .fit(&mut self.net, (&self.x, &self.y), None, &mut clock)?;
        Ok(clock.ends.windows(2).map(|w| w[1] - w[0]).collect())
    }
}

/// The first `INFER_BATCH` columns of `x`.
fn infer_batch<T: Scalar>(x: &DMatrix<T>) -> DMatrix<T> {
    x.columns(0, INFER_BATCH.min(x.ncols())).into_owned()
}

/// One inference pass: `reps` predictions of the batch.
fn infer_pass<T: Scalar>(
    net: &Network<T>,
    batch: &DMatrix<T>,
    reps: usize,
) -> Result<(), Box<dyn Error>> {
    for _ in 0..reps {
        black_box(net.predict(black_box(batch))?);
    }
    Ok(())
}

/// The durations of [`LATENCY_CALLS`] single predictions of `batch` through
/// [`Network::predict_into`] (the serving path: no allocation after the first call),
/// after as many untimed ones, sorted.
fn latencies<T: Scalar>(
    net: &Network<T>,
    batch: &DMatrix<T>,
) -> Result<Vec<Duration>, Box<dyn Error>> {
    let mut buffers = PredictBuffers::default();
    for _ in 0..LATENCY_CALLS {
        black_box(net.predict_into(black_box(batch), &mut buffers)?);
    }
    let mut calls = Vec::with_capacity(LATENCY_CALLS);
    for _ in 0..LATENCY_CALLS {
        let start = Instant::now();
        black_box(net.predict_into(black_box(batch), &mut buffers)?);
        calls.push(start.elapsed());
    }
    calls.sort_unstable();
    Ok(calls)
}

/// The `latency` line: p50 and p99 in microseconds of sorted call durations.
fn latency_json(w: &Workload, threads: usize, batch: usize, sorted: Vec<Duration>) -> String {
    let at = |q: f64| {
        let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[i].as_secs_f64() * 1e6
    };
    format!(
        "{{\"kind\":\"latency\",\"impl\":\"nn\",\"workload\":\"{}\",\"threads\":{threads},\
         \"batch\":{batch},\"calls\":{},\"p50_us\":{:.2},\"p99_us\":{:.2}}}",
        w.id,
        sorted.len(),
        at(0.50),
        at(0.99)
    )
}

fn median(durations: &mut [Duration]) -> Duration {
    durations.sort_unstable();
    let n = durations.len();
    if n % 2 == 1 {
        durations[n / 2]
    } else {
        (durations[n / 2 - 1] + durations[n / 2]) / 2
    }
}

/// How many measured runs fill the target time, judging by one run's duration.
fn runs_for(estimate: Duration) -> usize {
    let runs = (TARGET_SECONDS / estimate.as_secs_f64().max(1e-9)).ceil();
    (runs as usize).clamp(MIN_RUNS, MAX_RUNS)
}

fn result_json(w: &Workload, threads: usize, phase: &str, runs: &[Duration]) -> String {
    let mut sorted = runs.to_vec();
    let med = median(&mut sorted);
    let samples = match phase {
        "infer" => w.infer_reps() * INFER_BATCH,
        _ => w.samples,
    };
    let rate = samples as f64 / med.as_secs_f64();
    let min = sorted.first().copied().unwrap_or(med);
    let max = sorted.last().copied().unwrap_or(med);
    format!(
        "{{\"kind\":\"result\",\"impl\":\"nn\",\"workload\":\"{}\",\"threads\":{threads},\
         \"phase\":\"{phase}\",\"runs\":{},\"samples\":{samples},\"median_s\":{:.9},\
         \"min_s\":{:.9},\"max_s\":{:.9},\"samples_per_s\":{rate:.1}}}",
        w.id,
        runs.len(),
        med.as_secs_f64(),
        min.as_secs_f64(),
        max.as_secs_f64(),
    )
}

/// Table mode: measures the workloads (all, or those whose ids `only` lists, comma
/// separated) and writes the JSON lines to `path`.
fn table(path: &str, only: &str) -> Result<(), Box<dyn Error>> {
    let wanted: Vec<&str> = only.split(',').filter(|s| !s.is_empty()).collect();
    let selected: Vec<&Workload> = WORKLOADS
        .iter()
        .filter(|w| wanted.is_empty() || wanted.contains(&w.id))
        .collect();
    if selected.is_empty() {
        return Err(format!("no workload matches --only {only:?}").into());
    }
    let threads = engine_threads();
    let mut out = String::new();
    writeln!(
        out,
        "{{\"kind\":\"info\",\"impl\":\"nn\",\"threads\":{threads},\"version\":\"{}\",\
         \"detail\":\"nn-train {}, f32, NN_THREADS={threads}\"}}",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_VERSION"),
    )?;
    for w in &selected {
        writeln!(out, "{}", w.spec_json())?;
    }
    // The CPU's FMA peak, on one thread and on as many as the workloads use.
    let peak = |f64_| (peak::gflops(f64_, 1), peak::gflops(f64_, threads));
    let ((f32_1, f32_n), (f64_1, f64_n)) = (peak(false), peak(true));
    writeln!(
        out,
        "{{\"kind\":\"peak\",\"impl\":\"nn\",\"threads\":{threads},\"isa\":\"{}\",\
         \"f32_gflops_1t\":{f32_1:.1},\"f32_gflops\":{f32_n:.1},\"f64_gflops_1t\":{f64_1:.1},\
         \"f64_gflops\":{f64_n:.1}}}",
        peak::isa()
    )?;
    for w in &selected {
        eprintln!("nn {}t: {}", threads, w.label());
        let mut run = TrainRun::<f32>::new(w)?;
        let epochs = run.measured_epochs()?;
        writeln!(out, "{}", result_json(w, threads, "train", &epochs))?;
        if F64_WORKLOADS.contains(&w.id) {
            let epochs = TrainRun::<f64>::new(w)?.measured_epochs()?;
            writeln!(out, "{}", result_json(w, threads, "train_f64", &epochs))?;
        }

        let batch = infer_batch(&run.x);
        let reps = w.infer_reps();
        let timed = |n: usize| -> Result<Vec<Duration>, Box<dyn Error>> {
            (0..n)
                .map(|_| {
                    let start = Instant::now();
                    infer_pass(&run.net, &batch, reps)?;
                    Ok(start.elapsed())
                })
                .collect()
        };
        let warm = timed(2)?;
        let estimate = warm.last().copied().unwrap_or_default();
        let passes = timed(runs_for(estimate))?;
        writeln!(out, "{}", result_json(w, threads, "infer", &passes))?;
        if LATENCY_WORKLOADS.contains(&w.id) {
            for &width in LATENCY_BATCHES {
                let calls = latencies(&run.net, &run.x.columns(0, width).into_owned())?;
                writeln!(out, "{}", latency_json(w, threads, width, calls))?;
            }
        }
    }
    if let Some(dir) = std::path::Path::new(path).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, out).map_err(|e| format!("writing {path}: {e}"))?;
    Ok(())
}

/// Memory mode: one epoch of `fit` on the workload `id` in a fresh process (f32, the
/// engine's thread count), then the process's peak resident memory (Linux's `VmHWM`)
/// and the size of the data, as one `memory` JSON line in `path`.
fn memory(path: &str, id: &str) -> Result<(), Box<dyn Error>> {
    let w = WORKLOADS
        .iter()
        .find(|w| w.id == id)
        .ok_or_else(|| format!("no workload {id:?}"))?;
    let mut run = TrainRun::<f32>::new(w)?;
    run.epochs(0)?;
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("peak memory needs Linux's /proc/self/status: {e}"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or("no VmHWM line in /proc/self/status")?;
    let mib = |bytes: usize| bytes as f64 / (1024.0 * 1024.0);
    let line = format!(
        "{{\"kind\":\"memory\",\"impl\":\"nn\",\"workload\":\"{id}\",\"threads\":{},\
         \"peak_rss_mib\":{:.1},\"inputs_mib\":{:.1},\"targets_mib\":{:.1}}}\n",
        engine_threads(),
        kib / 1024.0,
        mib(run.x.len() * size_of::<f32>()),
        mib(run.y.len() * size_of::<f32>()),
    );
    if let Some(dir) = std::path::Path::new(path).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, line).map_err(|e| format!("writing {path}: {e}"))?;
    Ok(())
}

/// Criterion mode: one group per workload, a training epoch and an inference pass.
fn criterion_benches(c: &mut Criterion) {
    let threads = engine_threads();
    for w in WORKLOADS {
        let mut group = c.benchmark_group(w.label());
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
        let mut run = TrainRun::<f32>::new(w).expect("the workload builds");

        group.throughput(Throughput::Elements(w.samples as u64));
        group.bench_function(
            BenchmarkId::new("train_epoch", format!("{threads}t")),
            |b| {
                b.iter_custom(|iters| {
                    let epochs = run.epochs(iters as usize).expect("training runs");
                    epochs.iter().sum()
                });
            },
        );

        let batch = infer_batch(&run.x);
        group.throughput(Throughput::Elements(INFER_BATCH as u64));
        group.bench_function(
            BenchmarkId::new(format!("infer_b{INFER_BATCH}"), format!("{threads}t")),
            |b| b.iter(|| infer_pass(&run.net, &batch, 1).expect("inference runs")),
        );
        group.finish();
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--memory") {
        let (Some(id), Some(path)) = (args.get(i + 1), args.get(i + 2)) else {
            return Err("--memory needs a workload id and the path of the JSON file".into());
        };
        return memory(path, id);
    }
    if let Some(i) = args.iter().position(|a| a == "--table") {
        let path = args
            .get(i + 1)
            .ok_or("--table needs the path of the JSON-lines file to write")?;
        let only = args
            .iter()
            .position(|a| a == "--only")
            .and_then(|j| args.get(j + 1))
            .map_or("", String::as_str);
        return table(path, only);
    }
    let mut c = Criterion::default().configure_from_args();
    criterion_benches(&mut c);
    c.final_summary();
    Ok(())
}
