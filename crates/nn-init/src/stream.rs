//! Who draws from a seed. Every consumer of randomness in the workspace names itself with
//! a [`Stream`], and each gets its own ChaCha20 stream of the seed, so two consumers never
//! share a keystream: a split's permutation and the first layer's weights stay independent
//! even when a caller passes the same seed to both.
//!
//! | consumer | stream id |
//! |---|---|
//! | [`Stream::LayerInit`]`(i)`: layer `i`'s initial parameters | `2i` |
//! | [`Stream::LayerDropout`]`(i)`: layer `i`'s dropout seed | `2i + 1` |
//! | [`Stream::Custom`]`(k)`: a program's own draws (experiments, benchmarks) | `2⁶³ + k` |
//! | [`Stream::DropoutMasks`]: a dropout layer's masks, on the seed it was given | `2⁶⁴ − 4` |
//! | [`Stream::SyntheticData`]: the synthetic data sets | `2⁶⁴ − 3` |
//! | [`Stream::DataSplit`]: dataset shuffles and splits | `2⁶⁴ − 2` |
//! | [`Stream::TrainingShuffle`]: the trainer's per-epoch order | `2⁶⁴ − 1` |
//!
//! Layer indices stay below 2⁶² (a network that large could not be stored), so the ranges
//! never meet.

use crate::rng::SeededRng;

/// A consumer of random numbers; [`Stream::id`] is its ChaCha20 stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Layer `i`'s initial weights and biases.
    LayerInit(usize),
    /// The seed of layer `i`'s dropout masks.
    LayerDropout(usize),
    /// A dropout layer's masks, drawn on the seed [`Stream::LayerDropout`] gave it.
    DropoutMasks,
    /// Synthetic data sets (XOR, moons, spirals, …).
    SyntheticData,
    /// Shuffles and splits of a dataset.
    DataSplit,
    /// The order of the examples in each training epoch.
    TrainingShuffle,
    /// A program's own draws, numbered by the program (an experiment's inputs, a
    /// benchmark's data).
    Custom(u32),
}

impl Stream {
    /// The stream id: distinct for distinct consumers (see the table in the module docs).
    pub fn id(self) -> u64 {
        match self {
            Stream::LayerInit(i) => (i as u64).wrapping_mul(2),
            Stream::LayerDropout(i) => (i as u64).wrapping_mul(2) | 1,
            Stream::Custom(k) => (1 << 63) + u64::from(k),
            Stream::DropoutMasks => u64::MAX - 3,
            Stream::SyntheticData => u64::MAX - 2,
            Stream::DataSplit => u64::MAX - 1,
            Stream::TrainingShuffle => u64::MAX,
        }
    }
}

impl SeededRng {
    /// The generator `consumer` draws from for `seed`.
    ///
    /// ```
    /// use nn_init::{SeededRng, Stream};
    /// let mut a = SeededRng::for_stream(7, Stream::DataSplit);
    /// let mut b = SeededRng::for_stream(7, Stream::LayerInit(0));
    /// assert_ne!(a.next_u64(), b.next_u64());
    /// ```
    pub fn for_stream(seed: u64, consumer: Stream) -> Self {
        SeededRng::stream(seed, consumer.id())
    }
}
