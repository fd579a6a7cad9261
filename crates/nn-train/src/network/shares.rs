//! How a batch is split into shares: for training, by the batch and the network only
//! ([`share_count`]); for prediction, by the thread count.

/// Fewest batch columns in a share of a training step. Splitting a step changes what one
/// thread does (each share beyond the first is one more pass over the gradients to sum it,
/// and the products have other widths). Measured on one thread (Intel Xeon, f32, a step of
/// W4's 784-512-512-10): two shares of 128 columns took 2.5% longer than one of 256, two of
/// 256 2.6% longer than one of 512, while two of 512 took 2% less than one of 1024 and four
/// of 512 6% less than one of 2048. So the reference workloads' batches (32 to 256) stay
/// one share, and only batches of 1024 and more are split.
pub(crate) const MIN_SHARE_COLUMNS: usize = 512;

/// Fewest `parameters × columns` in a share of a training step: below it the fixed cost of
/// a share (its products are separate GEMM calls, and a hand-off to a thread takes a few
/// microseconds) is not small against the share's own work (2²³ is about 50 MFLOP).
pub(crate) const MIN_SHARE_WORK: usize = 1 << 23;

/// Most shares a training step is split into: more threads than this do not help a step.
pub(crate) const MAX_SHARES: usize = 16;

/// How many shares a training step of a network with `params` parameters on `columns`
/// batch columns is split into: as many as keep every share at least
/// [`MIN_SHARE_COLUMNS`] wide and at least [`MIN_SHARE_WORK`] in `parameters × columns`,
/// at most [`MAX_SHARES`], at least 1. One share is the plain single-network step.
pub(crate) fn share_count(params: usize, columns: usize) -> usize {
    let by_width = columns / MIN_SHARE_COLUMNS;
    let by_work = params.saturating_mul(columns) / MIN_SHARE_WORK;
    by_width.min(by_work).clamp(1, MAX_SHARES)
}

/// Below this many `multiply-adds per example × columns` (for dense layers, `parameters ×
/// columns`; see [`crate::Layer::work_per_example`]) a prediction stays on the calling
/// thread: waking pooled threads and copying the shares costs tens of microseconds.
/// Measured, W2's 1024-column batch (2.5M) ran twice as slow split in two, W3's (104M)
/// faster; C1's (6.8M, a convolution at a fraction of the products' speed) at 1.18–1.20M
/// samples/s undivided on two threads, 1.73–1.74M split (one core of the Intel Xeon each).
/// Only networks with a convolution are split (see [`crate::Network::predict`]).
pub(crate) const MIN_PARALLEL_PREDICT_WORK: usize = 1 << 22;

/// Fewest `multiply-adds per example × columns` of a batch that a small dense network
/// predicts in two halves on two threads ([`crate::Network::predict`]). Below it the helper
/// thread is often not awake in time, and the caller does both halves and the copies: on
/// a Zen 3 EPYC, W2's 64-32-10 at 256 columns (0.6M) predicted 0.91–0.97× as fast on two
/// threads as on one, at 512 (1.2M) 1.5–1.7×, at 1024 1.7×; 784-64-10 at 128 columns
/// (6.5M) 1.8×.
pub(crate) const MIN_HALVES_WORK: usize = 1 << 20;

/// Fewest columns in a share of a prediction.
pub(crate) const MIN_PREDICT_COLUMNS: usize = 64;

/// The positions of share `k` when `m` columns are split into `t` shares as evenly as
/// they go, in order (share sizes differ by at most one).
pub(crate) fn share(m: usize, t: usize, k: usize) -> std::ops::Range<usize> {
    k * m / t..(k + 1) * m / t
}
