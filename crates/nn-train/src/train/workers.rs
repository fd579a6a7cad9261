//! Data-parallel training steps. How a batch is split into shares depends only on the
//! batch's width and the network's size ([`share_count`]), never on the thread count;
//! threads then run the shares (with fewer threads than shares, each runs several, round by
//! round), each share forward and backward on its own columns and with its own dropout
//! seeds, and the gradients are summed in share order. So the same seed gives the same
//! bits on any number of threads.
//!
//! With shares of `m_k` columns (`Σ m_k = m`), each share's gradient is of its own mean,
//! `g_k = (1/m_k) Σ_{i∈k} ∂L_i/∂θ`, so the batch gradient is `g = Σ_k (m_k/m) g_k`, summed
//! as `((m_0/m) g_0 + (m_1/m) g_1) + …` whatever thread computed each `g_k`; the L2 term is
//! added once, after the sum.
//!
//! The copies of the network run on threads of their own, started with the workers and
//! woken for each round through a mutex and two condition variables: unlike handing each
//! step to a thread pool (whose job queue allocates a block every few dozen submissions), a
//! step allocates nothing.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;

use nalgebra::DMatrix;
use nn_init::SeededRng;
use nn_init::nn_activations::nn_core::Scalar;

use crate::columns::gather_columns;
use crate::error::{Result, TrainError};
use crate::layers::Mode;
use crate::metrics::correct_count;
use crate::network::{Network, share};

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
    /// Bumped by the caller to start a round.
    generation: u64,
    /// Bumped by the caller when a step starts: the copies take its parameters at their
    /// first round of it.
    step: u64,
    /// Copies taking part in the current round: copy `i` does if `i < active`.
    active: usize,
    /// Copies of the current round still running.
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
    TrainError::internal(
        "a worker thread of a data-parallel training step panicked; expected threads that \
         finish their share of a step",
    )
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
/// copy takes part (taking the step's parameters first, once per step), report, until
/// shutdown.
fn work<T: Scalar>(
    index: usize,
    shard: &Mutex<Shard<T>>,
    params: &RwLock<Vec<DMatrix<T>>>,
    meeting: &Meeting,
) {
    let (mut seen, mut restored) = (0, 0);
    loop {
        let (active, step) = {
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
            (round.active, round.step)
        };
        if index < active {
            let _done = Done(meeting);
            if let (Ok(mut shard), Ok(params)) = (shard.lock(), params.read()) {
                let Shard { net, x, y, outcome } = &mut *shard;
                let fresh = if restored == step {
                    Ok(())
                } else {
                    restored = step;
                    net.restore(&params)
                };
                *outcome = fresh.and_then(|()| net.backprop(x, y, Mode::Train));
            }
        }
    }
}

/// Where the running gradient sum of a step is.
#[derive(Debug, Clone, Copy)]
enum Sum<T> {
    /// Nothing summed yet.
    Empty,
    /// The first share's gradient, not yet multiplied by its weight (given here), which
    /// the second share's pass does.
    Unweighted(T),
    /// `Σ (m_k/m) g_k` over the shares so far.
    Weighted,
}

/// Adds the gradient held by `net` with weight `w` to the running sum `sum`. The first
/// share's buffers are swapped in (no copy); the second pass computes `w_0 g_0 + w_1 g_1`
/// in one read of each; later ones `+= w_k g_k`. The arithmetic is the same whichever
/// network computed each share.
fn add_gradient<T: Scalar>(sum: &mut [DMatrix<T>], state: &mut Sum<T>, net: &mut Network<T>, w: T) {
    let mut i = 0;
    match *state {
        Sum::Empty => {
            net.for_each_param(&mut |p| {
                std::mem::swap(p.grad, &mut sum[i]);
                i += 1;
            });
            *state = Sum::Unweighted(w);
        }
        Sum::Unweighted(w0) => {
            net.for_each_param(&mut |p| {
                let pairs = sum[i].as_mut_slice().iter_mut().zip(p.grad.as_slice());
                pairs.for_each(|(s, &g)| *s = w0 * *s + w * g);
                i += 1;
            });
            *state = Sum::Weighted;
        }
        Sum::Weighted => {
            net.for_each_param(&mut |p| {
                let pairs = sum[i].as_mut_slice().iter_mut().zip(p.grad.as_slice());
                pairs.for_each(|(s, &g)| *s += w * g);
                i += 1;
            });
        }
    }
}

/// What makes two networks the same architecture for the copies: the network as shown
/// (input, every layer with its sizes and settings, loss) and its parameters' shapes.
#[derive(Debug, PartialEq)]
struct Architecture {
    shown: String,
    shapes: Vec<(usize, usize)>,
}

impl Architecture {
    fn of<T: Scalar>(net: &Network<T>) -> Self {
        Self {
            shown: net.to_string(),
            shapes: net.tensors().map(|p| p.value().shape()).collect(),
        }
    }

    /// Whether `net` has this architecture, found without allocating (steps call it).
    fn fits<T: Scalar>(&self, net: &Network<T>) -> bool {
        let mut shown = SameText {
            rest: &self.shown,
            same: true,
        };
        let written = fmt::write(&mut shown, format_args!("{net}")).is_ok();
        written
            && shown.same
            && shown.rest.is_empty()
            && self
                .shapes
                .iter()
                .copied()
                .eq(net.tensors().map(|p| p.value().shape()))
    }
}

/// A writer that compares what is written with a text.
struct SameText<'a> {
    rest: &'a str,
    same: bool,
}

impl fmt::Write for SameText<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        match self.rest.strip_prefix(s) {
            Some(rest) if self.same => self.rest = rest,
            _ => self.same = false,
        }
        Ok(())
    }
}

/// Reseeds the dropout layers of the network that runs the next share: one seed per
/// layer, the next of that layer's seed stream (so share `k` gets the `k`-th seed of each
/// stream, whoever runs it).
fn reseed_share<T: Scalar>(seeders: &mut [(usize, SeededRng)], net: &mut Network<T>) {
    for (i, rng) in seeders {
        if let Some(stream) = net.layers_mut()[*i].stochastic_mut() {
            stream.reseed(rng.next_u64());
        }
    }
}

/// The threads, the network copies and the buffers of data-parallel steps.
pub(crate) struct Workers<T: Scalar> {
    /// Copy `i` runs share `r·e + i + 1` of round `r` (with `e` networks in all; share
    /// `r·e` is the caller's network's); its thread holds the lock while it runs.
    shards: Vec<Arc<Mutex<Shard<T>>>>,
    /// The step's parameters: written by the caller, then read by every copy.
    params: Arc<RwLock<Vec<DMatrix<T>>>>,
    meeting: Arc<Meeting>,
    handles: Vec<JoinHandle<()>>,
    /// The architecture the copies and buffers are made for.
    architecture: Architecture,
    main_x: DMatrix<T>,
    main_y: DMatrix<T>,
    /// The running gradient sum, in [`Network::for_each_param`] order; swapped into the
    /// caller's network at the end of a step.
    sum: Vec<DMatrix<T>>,
    /// `(layer index, seed stream)` for each dropout layer: where the shares' seeds come
    /// from, in share order.
    seeders: Vec<(usize, SeededRng)>,
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
    /// `threads − 1` copies of `net`, each with a thread (none for one thread: the caller
    /// then runs every share itself).
    pub(crate) fn new(net: &Network<T>, threads: usize) -> Result<Self> {
        // Built up in place, so that if a copy or a thread fails, dropping it stops the
        // threads already started.
        let mut workers = Self {
            shards: Vec::new(),
            params: Arc::new(RwLock::new(Vec::new())),
            meeting: Arc::new(Meeting::default()),
            handles: Vec::new(),
            architecture: Architecture::of(net),
            main_x: DMatrix::zeros(0, 0),
            main_y: DMatrix::zeros(0, 0),
            sum: Vec::new(),
            seeders: Vec::new(),
        };
        for layer in net.layers() {
            for p in layer.params() {
                workers.sum.push(p.value().clone());
            }
        }
        for k in 1..threads {
            let shard = Arc::new(Mutex::new(Shard {
                net: net.clone(),
                x: DMatrix::zeros(0, 0),
                y: DMatrix::zeros(0, 0),
                outcome: Ok(0.0),
            }));
            let (mine, params) = (shard.clone(), workers.params.clone());
            let meeting = workers.meeting.clone();
            let handle = std::thread::Builder::new()
                .name(format!("nn-worker-{k}"))
                .spawn(move || work(k - 1, &mine, &params, &meeting))
                .map_err(|e| {
                    TrainError::io(
                        format!("starting training thread {k} of {threads} (FitConfig::threads)"),
                        e,
                    )
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

    /// Whether these workers can run steps of `net` on `threads` threads: enough of them,
    /// and made for `net`'s architecture.
    pub(crate) fn fits(&self, net: &Network<T>, threads: usize) -> bool {
        self.threads() >= threads && self.architecture.fits(net)
    }

    /// Forward and backward of the columns `cols` of `(x, y)`, split into `shares` (≥ 2)
    /// run by `threads` networks (the caller's and `threads − 1` copies), round after
    /// round; leaves `g = Σ_k (m_k/m) g_k` (without L2) in `net`'s gradients, summed in
    /// share order, and advances each dropout stream of `net` by one draw per share.
    pub(crate) fn backprop(
        &mut self,
        net: &mut Network<T>,
        (x, y): (&DMatrix<T>, &DMatrix<T>),
        cols: &[usize],
        (shares, threads): (usize, usize),
    ) -> Result<StepOutcome> {
        let m = cols.len();
        let (s, e) = (shares.clamp(1, m.max(1)), threads.clamp(1, self.threads()));
        let share = |k: usize| &cols[share(m, s, k)];
        if e > 1 {
            net.snapshot_into(&mut *self.params.write().map_err(worker_failed)?);
            self.meeting.lock()?.step += 1;
        }
        // Share k's dropout masks come from the k-th seed of a stream that continues the
        // network's own, so the network's streams (which checkpoints save) and the share
        // index decide every mask, not the thread that draws it.
        self.seeders.clear();
        for (i, layer) in net.layers().iter().enumerate() {
            if let Some(stream) = layer.stochastic() {
                self.seeders
                    .push((i, SeededRng::from_state(&stream.rng_state())));
            }
        }
        let task = net.require_loss()?.task();
        let weight = |n: usize| n as f64 / m as f64;
        let (mut cost, mut hits, mut counted) = (0.0, 0, 0);
        let mut sum = Sum::Empty;
        for first in (0..s).step_by(e) {
            let n = e.min(s - first);
            reseed_share(&mut self.seeders, net);
            for (j, shard) in self.shards[..n - 1].iter().enumerate() {
                let mut shard = shard.lock().map_err(worker_failed)?;
                let Shard {
                    net: copy,
                    x: sx,
                    y: sy,
                    ..
                } = &mut *shard;
                gather_columns(x, share(first + j + 1), sx);
                gather_columns(y, share(first + j + 1), sy);
                reseed_share(&mut self.seeders, copy);
            }
            if n > 1 {
                let mut round = self.meeting.lock()?;
                round.generation += 1;
                round.active = n - 1;
                round.pending = n - 1;
                drop(round);
                self.meeting.start.notify_all();
            }
            // The caller's own share, while the copies run theirs.
            gather_columns(x, share(first), &mut self.main_x);
            gather_columns(y, share(first), &mut self.main_y);
            let main = net.backprop(&self.main_x, &self.main_y, Mode::Train);
            if n > 1 {
                let mut round = self.meeting.lock()?;
                while round.pending > 0 {
                    round = self.meeting.done.wait(round).map_err(worker_failed)?;
                }
            }
            // Sum this round's shares in share order.
            let mk = self.main_x.ncols();
            cost += main? * weight(mk);
            if let Some((h, c)) = correct_count(task, net.output()?, &self.main_y) {
                hits += h;
                counted += c;
            }
            add_gradient(&mut self.sum, &mut sum, net, T::cast(weight(mk)));
            for shard in &self.shards[..n - 1] {
                let mut shard = shard.lock().map_err(worker_failed)?;
                let mk = shard.x.ncols();
                cost += std::mem::replace(&mut shard.outcome, Ok(0.0))? * weight(mk);
                if let Some((h, c)) = correct_count(task, shard.net.output()?, &shard.y) {
                    hits += h;
                    counted += c;
                }
                add_gradient(&mut self.sum, &mut sum, &mut shard.net, T::cast(weight(mk)));
            }
        }
        for (i, rng) in &self.seeders {
            if let Some(stream) = net.layers_mut()[*i].stochastic_mut() {
                stream.set_rng_state(rng.state());
            }
        }
        // The sum becomes the network's gradient (a swap of buffers, no copy).
        let mut i = 0;
        let total = &mut self.sum;
        net.for_each_param(&mut |p| {
            std::mem::swap(p.grad, &mut total[i]);
            i += 1;
        });
        Ok(StepOutcome {
            cost,
            hits,
            counted,
        })
    }
}
