//! Data-parallel training steps: the batch's columns are split across threads, each thread
//! runs forward and backward on its share with its own copy of the network (and
//! single-threaded GEMMs), and the gradients are summed in a fixed order, so that a given
//! thread count gives bit-identical results run after run.
//!
//! With shares of `m_k` columns (`Σ m_k = m`), each copy's gradient is of its own mean,
//! `g_k = (1/m_k) Σ_{i∈k} ∂L_i/∂θ`, so the batch gradient is `g = Σ_k (m_k/m) g_k`; the
//! L2 term is added once, after the sum.
//!
//! The copies run on threads of their own, started with the workers and woken for each step
//! through a mutex and two condition variables: unlike handing each step to a thread pool
//! (whose job queue allocates a block every few dozen submissions), a step allocates nothing.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;

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
/// 1024-column batch (2.5M) ran twice as slow split in two, W3's (104M) faster. Shares of a
/// prediction are at least [`MIN_SHARD_COLUMNS`] wide too.
pub(crate) const MIN_PARALLEL_PREDICT_WORK: usize = 1 << 23;

/// The positions of share `k` when `m` columns are split into `t` shares as evenly as
/// they go, in order (share sizes differ by at most one).
pub(crate) fn share(m: usize, t: usize, k: usize) -> std::ops::Range<usize> {
    k * m / t..(k + 1) * m / t
}

/// `NN_THREADS`, if it is set to a positive integer.
pub(crate) fn threads_from_env() -> Option<usize> {
    std::env::var("NN_THREADS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n| n > 0)
}

/// One copy's share: its network, its columns, and what it computed.
struct Shard<T: Scalar> {
    net: Network<T>,
    x: DMatrix<T>,
    y: DMatrix<T>,
    outcome: Result<f64>,
}

/// The state the caller and the worker threads share, under [`Meeting::round`].
#[derive(Debug, Default)]
struct Round {
    /// Bumped by the caller to start a step.
    generation: u64,
    /// Copies taking part in the current step: copy `i` does if `i < active`.
    active: usize,
    /// Copies of the current step still running.
    pending: usize,
    /// Set when the workers are dropped: the threads return.
    shutdown: bool,
}

/// A round's state and the two signals around it: "start" (caller → threads) and "done"
/// (the last thread → caller).
#[derive(Debug, Default)]
struct Meeting {
    round: Mutex<Round>,
    start: Condvar,
    done: Condvar,
}

/// The error of a worker thread that panicked (a bug; its locks are poisoned).
fn worker_failed<E>(_: E) -> TrainError {
    TrainError::InvalidConfig {
        what: "worker threads",
        expected: "threads that finish their share of a step",
        found: "a worker thread panicked".into(),
    }
}

impl Meeting {
    fn lock(&self) -> Result<MutexGuard<'_, Round>> {
        self.round.lock().map_err(worker_failed)
    }
}

/// Counts a copy's share as done when dropped, also if its computation panicked, so that
/// the caller never waits for a thread that is gone (the poisoned shard then reports it).
struct Done<'a>(&'a Meeting);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        if let Ok(mut round) = self.0.round.lock() {
            round.pending = round.pending.saturating_sub(1);
            if round.pending == 0 {
                self.0.done.notify_all();
            }
        }
    }
}

/// The loop of the thread that runs copy `index`: wait for a round, run the share if the
/// copy takes part, report, until shutdown.
fn work<T: Scalar>(
    index: usize,
    shard: &Mutex<Shard<T>>,
    params: &RwLock<Vec<DMatrix<T>>>,
    meeting: &Meeting,
) {
    let mut seen = 0;
    loop {
        let active = {
            let Ok(mut round) = meeting.round.lock() else {
                return;
            };
            while round.generation == seen && !round.shutdown {
                round = match meeting.start.wait(round) {
                    Ok(round) => round,
                    Err(_) => return,
                };
            }
            if round.shutdown {
                return;
            }
            seen = round.generation;
            round.active
        };
        if index < active {
            let _done = Done(meeting);
            if let (Ok(mut shard), Ok(params)) = (shard.lock(), params.read()) {
                let Shard { net, x, y, outcome } = &mut *shard;
                *outcome = net
                    .restore(&params)
                    .and_then(|()| net.backprop(x, y, Mode::Train));
            }
        }
    }
}

/// The threads, the network copies and the buffers of data-parallel steps.
pub(crate) struct Workers<T: Scalar> {
    /// Copy `i` takes share `i + 1` of a step (share 0 is the caller's network's); its
    /// thread holds the lock while it runs.
    shards: Vec<Arc<Mutex<Shard<T>>>>,
    /// The step's parameters: written by the caller, then read by every copy.
    params: Arc<RwLock<Vec<DMatrix<T>>>>,
    meeting: Arc<Meeting>,
    handles: Vec<JoinHandle<()>>,
    main_x: DMatrix<T>,
    main_y: DMatrix<T>,
    grads: Vec<DMatrix<T>>,
}

impl<T: Scalar> std::fmt::Debug for Workers<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Workers({} threads)", self.threads())
    }
}

impl<T: Scalar> Drop for Workers<T> {
    fn drop(&mut self) {
        if let Ok(mut round) = self.meeting.round.lock() {
            round.shutdown = true;
        }
        self.meeting.start.notify_all();
        for handle in self.handles.drain(..) {
            // A thread that panicked has nothing left to clean up.
            let _ = handle.join();
        }
    }
}

/// What a step computed: the cost of the data term, and correct/counted predictions.
pub(crate) struct StepOutcome {
    pub cost: f64,
    pub hits: usize,
    pub counted: usize,
}

impl<T: Scalar> Workers<T> {
    /// `threads − 1` copies of `net` (each with its own dropout stream), each with a thread.
    pub(crate) fn new(net: &Network<T>, threads: usize) -> Result<Self> {
        // Built up in place, so that if a copy or a thread fails, dropping it stops the
        // threads already started.
        let mut workers = Self {
            shards: Vec::new(),
            params: Arc::new(RwLock::new(Vec::new())),
            meeting: Arc::new(Meeting::default()),
            handles: Vec::new(),
            main_x: DMatrix::zeros(0, 0),
            main_y: DMatrix::zeros(0, 0),
            grads: Vec::new(),
        };
        for k in 1..threads {
            let mut copy = net
                .config()
                .clone()
                .seed(net.seed() ^ (0x5DEE_CE66_D000_0000 + k as u64))
                .build()?;
            if k == 1 {
                copy.for_each_param(&mut |p| workers.grads.push(p.grad.clone()));
            }
            let shard = Arc::new(Mutex::new(Shard {
                net: copy,
                x: DMatrix::zeros(0, 0),
                y: DMatrix::zeros(0, 0),
                outcome: Ok(0.0),
            }));
            let (mine, params) = (shard.clone(), workers.params.clone());
            let meeting = workers.meeting.clone();
            let handle = std::thread::Builder::new()
                .name(format!("nn-worker-{k}"))
                .spawn(move || work(k - 1, &mine, &params, &meeting))
                .map_err(|e| TrainError::InvalidConfig {
                    what: "threads",
                    expected: "a count the system can start",
                    found: format!("{threads} ({e})"),
                })?;
            workers.shards.push(shard);
            workers.handles.push(handle);
        }
        Ok(workers)
    }

    /// Number of threads, the caller's included.
    pub(crate) fn threads(&self) -> usize {
        self.shards.len() + 1
    }

    /// Whether these workers can run `shares` shares of a step of `net`: enough threads,
    /// and copies of `net`'s architecture.
    pub(crate) fn fits(&self, net: &Network<T>, shares: usize) -> bool {
        self.threads() >= shares
            && self.shards.first().is_none_or(|s| {
                s.lock().is_ok_and(|s| {
                    s.net.specs() == net.specs()
                        && s.net.input_shape() == net.input_shape()
                        && s.net.loss() == net.loss()
                })
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
        let share = |k: usize| &cols[share(m, t, k)];
        net.snapshot_into(&mut *self.params.write().map_err(worker_failed)?);
        for (k, shard) in self.shards[..t - 1].iter().enumerate() {
            let mut shard = shard.lock().map_err(worker_failed)?;
            let Shard { x: sx, y: sy, .. } = &mut *shard;
            gather_columns(x, share(k + 1), sx);
            gather_columns(y, share(k + 1), sy);
        }
        // Each copy's dropout masks come from a seed drawn from the caller's stream, so the
        // caller's streams (which checkpoints save) determine every mask of the step.
        for i in 0..net.layers().len() {
            if let Some(state) = net.layers()[i].rng_state() {
                let mut rng = SeededRng::from_state(&state);
                for shard in &self.shards[..t - 1] {
                    let mut shard = shard.lock().map_err(worker_failed)?;
                    shard.net.layers_mut()[i].reseed(rng.next_u64());
                }
                net.layers_mut()[i].set_rng_state(rng.state());
            }
        }
        {
            let mut round = self.meeting.lock()?;
            round.generation += 1;
            round.active = t - 1;
            round.pending = t - 1;
        }
        self.meeting.start.notify_all();
        // The caller's own share, while the copies run theirs.
        gather_columns(x, share(0), &mut self.main_x);
        gather_columns(y, share(0), &mut self.main_y);
        let main = net.backprop(&self.main_x, &self.main_y, Mode::Train);
        {
            let mut round = self.meeting.lock()?;
            while round.pending > 0 {
                round = self.meeting.done.wait(round).map_err(worker_failed)?;
            }
        }
        let task = net.loss().task();
        let weight = |n: usize| n as f64 / m as f64;
        let mut cost = main? * weight(self.main_x.ncols());
        let (mut hits, mut counted) =
            correct_count(task, net.output()?, &self.main_y).unwrap_or((0, 0));
        let w0 = T::cast(weight(self.main_x.ncols()));
        for (k, shard) in self.shards[..t - 1].iter().enumerate() {
            let mut shard = shard.lock().map_err(worker_failed)?;
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
