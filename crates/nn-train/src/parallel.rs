//! Data-parallel training steps: the batch's columns are split across threads, each thread
//! runs forward and backward on its share with its own copy of the network (and
//! single-threaded GEMMs), and the gradients are summed in a fixed order, so that a given
//! thread count gives bit-identical results run after run.
//!
//! With shares of `m_k` columns (`Σ m_k = m`), each copy's gradient is of its own mean,
//! `g_k = (1/m_k) Σ_{i∈k} ∂L_i/∂θ`, so the batch gradient is `g = Σ_k (m_k/m) g_k`; the
//! L2 term is added once, after the sum.

use nalgebra::DMatrix;
use nn_init::SeededRng;
use nn_init::nn_activations::nn_core::Scalar;

use crate::layer::Mode;
use crate::metrics::correct_count;
use crate::network::Network;
use crate::train::gather_columns;
use crate::{Result, TrainError};

/// Below this many `parameters × batch columns` a training step is too small to gain from
/// a second thread (the hand-off costs a few microseconds; such a step takes about as
/// long).
pub(crate) const MIN_PARALLEL_WORK: usize = 1 << 20;

/// Fewest batch columns per thread in a data-parallel training step. Narrower shares make
/// thin products, and the per-step gradient sum costs the same whatever the width:
/// measured, W3 (784-128-10, batch 64: 32 columns a thread) trained 15–25% slower on two
/// threads than on one, W4 (784-512-512-10, batch 256: 128 a thread) 1.5× faster.
pub(crate) const MIN_SHARD_COLUMNS: usize = 64;

/// Below this many `parameters × columns` a prediction stays on the calling thread: waking
/// pooled threads and copying the shares costs tens of microseconds. Measured, W2's
/// 1024-column batch (2.5M) ran twice as slow split in two, W3's (104M) faster.
pub(crate) const MIN_PARALLEL_PREDICT_WORK: usize = 1 << 23;

/// `NN_THREADS`, if it is set to a positive integer.
pub(crate) fn threads_from_env() -> Option<usize> {
    std::env::var("NN_THREADS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n| n > 0)
}

/// One thread's share: its copy of the network, its columns, and what it computed.
struct Shard<T: Scalar> {
    net: Network<T>,
    x: DMatrix<T>,
    y: DMatrix<T>,
    outcome: Result<f64>,
}

/// What every share of a step reads: the parameters, the data and the batch's columns.
struct StepInput<'a, T: Scalar> {
    params: &'a [DMatrix<T>],
    x: &'a DMatrix<T>,
    y: &'a DMatrix<T>,
    cols: &'a [usize],
    /// Number of shares the columns are split into.
    shares: usize,
}

impl<T: Scalar> StepInput<'_, T> {
    /// The columns of share `k` (0 is the caller's; copy `i` takes share `i + 1`).
    fn share(&self, k: usize) -> &[usize] {
        let (m, t) = (self.cols.len(), self.shares);
        &self.cols[k * m / t..(k + 1) * m / t]
    }
}

impl<T: Scalar> Shard<T> {
    /// Takes the step's parameters and the columns of share `k`, then forward and backward
    /// on them. The copies run on the shard's thread, beside the caller's own share.
    fn run(&mut self, input: &StepInput<'_, T>, k: usize) {
        gather_columns(input.x, input.share(k), &mut self.x);
        gather_columns(input.y, input.share(k), &mut self.y);
        self.outcome = self
            .net
            .restore(input.params)
            .and_then(|()| self.net.backprop(&self.x, &self.y, Mode::Train));
    }
}

/// Runs `shards` on the pool, halving recursively; `shards[i]` takes share `first + i`.
fn run_all<T: Scalar>(shards: &mut [Shard<T>], input: &StepInput<'_, T>, first: usize) {
    match shards {
        [] => {}
        [one] => one.run(input, first),
        _ => {
            let half = shards.len() / 2;
            let (a, b) = shards.split_at_mut(half);
            rayon::join(
                || run_all(a, input, first),
                || run_all(b, input, first + half),
            );
        }
    }
}

/// The threads, the network copies and the buffers of data-parallel steps.
pub(crate) struct Workers<T: Scalar> {
    pool: rayon::ThreadPool,
    /// Shard 0 is the caller's network's; shards 1.. run on copies.
    shards: Vec<Shard<T>>,
    main_x: DMatrix<T>,
    main_y: DMatrix<T>,
    params: Vec<DMatrix<T>>,
    grads: Vec<DMatrix<T>>,
}

impl<T: Scalar> std::fmt::Debug for Workers<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Workers({} threads)", self.shards.len() + 1)
    }
}

/// What a step computed: the cost of the data term, and correct/counted predictions.
pub(crate) struct StepOutcome {
    pub cost: f64,
    pub hits: usize,
    pub counted: usize,
}

impl<T: Scalar> Workers<T> {
    /// Threads and `threads − 1` copies of `net` (each with its own dropout stream).
    pub(crate) fn new(net: &Network<T>, threads: usize) -> Result<Self> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| TrainError::InvalidConfig {
                what: "threads",
                expected: "a count the system can start",
                found: format!("{threads} ({e})"),
            })?;
        let mut shards = Vec::with_capacity(threads - 1);
        for k in 1..threads {
            let copy = net
                .config()
                .clone()
                .seed(net.seed() ^ (0x5DEE_CE66_D000_0000 + k as u64))
                .build()?;
            shards.push(Shard {
                net: copy,
                x: DMatrix::zeros(0, 0),
                y: DMatrix::zeros(0, 0),
                outcome: Ok(0.0),
            });
        }
        let mut grads = Vec::new();
        if let Some(first) = shards.first_mut() {
            first
                .net
                .for_each_param(&mut |p| grads.push(p.grad.clone()));
        }
        Ok(Self {
            pool,
            shards,
            main_x: DMatrix::zeros(0, 0),
            main_y: DMatrix::zeros(0, 0),
            params: Vec::new(),
            grads,
        })
    }

    /// Number of threads.
    pub(crate) fn threads(&self) -> usize {
        self.shards.len() + 1
    }

    /// Whether these workers were made for `threads` threads and `net`'s architecture.
    pub(crate) fn fits(&self, net: &Network<T>, threads: usize) -> bool {
        self.threads() == threads
            && self.shards.first().is_none_or(|s| {
                s.net.specs() == net.specs()
                    && s.net.input_shape() == net.input_shape()
                    && s.net.loss() == net.loss()
            })
    }

    /// Forward and backward of the columns `cols` of `(x, y)`, split into `shares` (at most
    /// one per thread); leaves `g = Σ_k (m_k/m) g_k` (without L2) in `net`'s gradients.
    pub(crate) fn backprop(
        &mut self,
        net: &mut Network<T>,
        (x, y): (&DMatrix<T>, &DMatrix<T>),
        cols: &[usize],
        shares: usize,
    ) -> Result<StepOutcome> {
        let m = cols.len();
        let t = shares.min(self.threads()).min(m).max(1);
        net.snapshot_into(&mut self.params);
        // Each copy's dropout masks come from a seed drawn from the caller's stream, so the
        // caller's streams (which checkpoints save) determine every mask of the step.
        for i in 0..net.layers().len() {
            if let Some(state) = net.layers()[i].rng_state() {
                let mut rng = SeededRng::from_state(&state);
                for shard in self.shards.iter_mut().take(t - 1) {
                    shard.net.layers_mut()[i].reseed(rng.next_u64());
                }
                net.layers_mut()[i].set_rng_state(rng.state());
            }
        }
        let input = StepInput {
            params: &self.params,
            x,
            y,
            cols,
            shares: t,
        };
        let (main_x, main_y) = (&mut self.main_x, &mut self.main_y);
        let busy = &mut self.shards[..t - 1];
        let main = self.pool.install(|| {
            rayon::join(
                || {
                    gather_columns(x, input.share(0), main_x);
                    gather_columns(y, input.share(0), main_y);
                    net.backprop(main_x, main_y, Mode::Train)
                },
                || run_all(busy, &input, 1),
            )
            .0
        });
        let task = net.loss().task();
        let weight = |n: usize| n as f64 / m as f64;
        let mut cost = main? * weight(self.main_x.ncols());
        let (mut hits, mut counted) =
            correct_count(task, net.output()?, &self.main_y).unwrap_or((0, 0));
        let w0 = T::cast(weight(self.main_x.ncols()));
        for (k, shard) in self.shards[..t - 1].iter_mut().enumerate() {
            let mk = shard.x.ncols();
            cost += std::mem::replace(&mut shard.outcome, Ok(0.0))? * weight(mk);
            if let Some((h, n)) = correct_count(task, shard.net.output()?, &shard.y) {
                hits += h;
                counted += n;
            }
            // Borrow the copy's gradients by swapping buffers (no copy, no allocation)…
            let mut i = 0;
            let grads = &mut self.grads;
            shard.net.for_each_param(&mut |p| {
                std::mem::swap(p.grad, &mut grads[i]);
                i += 1;
            });
            // …and add them to the caller's in shard order, the caller's own share weighted
            // in the same pass as the first copy's (one read of each, one write).
            let (wk, mut i) = (T::cast(weight(mk)), 0);
            net.for_each_param(&mut |p| {
                let pairs = p.grad.as_mut_slice().iter_mut().zip(grads[i].as_slice());
                if k == 0 {
                    pairs.for_each(|(g, &s)| *g = w0 * *g + wk * s);
                } else {
                    pairs.for_each(|(g, &s)| *g += wk * s);
                }
                i += 1;
            });
        }
        Ok(StepOutcome {
            cost,
            hits,
            counted,
        })
    }
}
