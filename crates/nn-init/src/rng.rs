//! The seeded generator behind everything random in the workspace: ChaCha20 words, turned
//! into uniforms, normals, bounded integers and shuffles by code that lives here.
//!
//! Why not `StdRng` and `rand_distr`? `StdRng`'s algorithm is not part of rand's contract
//! and may change in any release; `rand_distr`'s samplers are value-stable only within a
//! major version. Here the only thing taken from a dependency is the ChaCha20 keystream,
//! which is fixed by its specification (and pinned in the tests against a published test
//! vector). Every step from those 32-bit words to a number is written out below, uses only
//! correctly rounded IEEE operations or `libm` (a pure-Rust `log` that returns the same bits
//! on every platform), and therefore gives the same bits on every platform and with every
//! future version of rand.
//!
//! ```text
//! key      = seed as 8 little-endian bytes, followed by 24 zero bytes
//! stream   = ChaCha's 64-bit stream id (nonce): 2⁶⁴ independent streams per seed
//! next_u32 = the next keystream word
//! next_u64 = lo | hi << 32           (two words, low first)
//! uniform  = (next_u64 >> 11) · 2⁻⁵³  in [0, 1), every multiple of 2⁻⁵³ equally likely
//! normal   = Marsaglia's polar method: u, v uniform in (−1, 1), s = u² + v², retry unless
//!            0 < s < 1, then u·f and v·f with f = √(−2 ln s / s) are independent normals;
//!            standard_normal returns u·f only, fill_standard_normal writes both
//! below(n) = Lemire's multiply-and-reject: unbiased, one word pair per draw almost always
//! ```

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

/// Where a [`SeededRng`] is in its output: enough to resume it exactly (for checkpoints).
///
/// Plain data: the seed and stream it was created with, and how many 32-bit words of the
/// stream have been consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RngState {
    /// The seed given to [`SeededRng::new`] or [`SeededRng::stream`].
    pub seed: u64,
    /// The stream id (0 for [`SeededRng::new`]).
    pub stream: u64,
    /// 32-bit words consumed so far (a [`SeededRng::next_u64`] consumes two).
    pub word_pos: u128,
}

/// A seeded random generator: ChaCha20 with a 64-bit seed and a 64-bit stream id.
///
/// Same seed and stream → the same bits, on every platform and with every version of
/// rand (see the module source for the exact recipe from keystream words to numbers).
/// Different stream ids of one seed are independent, so one seed can feed one stream per
/// layer, one for shuffling and one for dropout without any of them shifting the others.
///
/// ```
/// use nn_init::SeededRng;
/// let mut a = SeededRng::stream(42, 3);
/// let mut b = SeededRng::stream(42, 3);
/// assert_eq!(a.next_u64(), b.next_u64());
///
/// // Checkpoint and resume exactly.
/// let saved = a.state();
/// let x = a.standard_normal();
/// let mut resumed = SeededRng::from_state(&saved);
/// assert_eq!(resumed.standard_normal().to_bits(), x.to_bits());
/// ```
#[derive(Clone, Debug)]
pub struct SeededRng {
    seed: u64,
    inner: ChaCha20Rng,
}

/// The ChaCha20 key for a seed: its 8 little-endian bytes, then zeros.
///
/// ChaCha is a pseudo-random function of its key, so a key with many zero bytes is as good
/// as any other; this layout makes seed 0 the all-zero key of the published test vectors.
fn key(seed: u64) -> [u8; 32] {
    let mut k = [0u8; 32];
    k[..8].copy_from_slice(&seed.to_le_bytes());
    k
}

impl SeededRng {
    /// The generator for `seed`, on stream 0.
    pub fn new(seed: u64) -> Self {
        Self::stream(seed, 0)
    }

    /// The generator for `seed` on stream `stream`: independent of every other stream of
    /// the same seed (ChaCha's nonce), e.g. one per layer, one for shuffling, one for dropout.
    pub fn stream(seed: u64, stream: u64) -> Self {
        let mut inner = ChaCha20Rng::from_seed(key(seed));
        inner.set_stream(stream);
        Self { seed, inner }
    }

    /// Where the generator is, to resume it later with [`SeededRng::from_state`].
    pub fn state(&self) -> RngState {
        RngState {
            seed: self.seed,
            stream: self.inner.get_stream(),
            word_pos: self.inner.get_word_pos(),
        }
    }

    /// A generator that continues exactly where the one that produced `state` was.
    pub fn from_state(state: &RngState) -> Self {
        let mut rng = Self::stream(state.seed, state.stream);
        rng.inner.set_word_pos(state.word_pos);
        rng
    }

    /// The next 32 bits of the ChaCha20 keystream.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        self.inner.next_u32()
    }

    /// The next 64 bits: two keystream words, the first one in the low half.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let lo = u64::from(self.next_u32());
        let hi = u64::from(self.next_u32());
        lo | (hi << 32)
    }

    /// A uniform sample from `[0, 1)`: the top 53 bits of [`SeededRng::next_u64`] times
    /// `2⁻⁵³`, so every multiple of `2⁻⁵³` in the range is equally likely.
    #[inline]
    pub fn uniform01(&mut self) -> f64 {
        const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
        (self.next_u64() >> 11) as f64 * SCALE
    }

    /// A uniform sample from `[low, high)`, as `low + (high − low)·u`.
    ///
    /// The caller checks `low < high` and that both are finite (the initializers do).
    #[inline]
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        // u < 1, but low + (high − low)·u can round up to high; fold that case back.
        let x = low + (high - low) * self.uniform01();
        if x < high { x } else { low }
    }

    /// A standard normal sample (mean 0, variance 1), by Marsaglia's polar method.
    ///
    /// Each accepted pair `(u, v)` yields one sample, `u·√(−2 ln s / s)`; the second one
    /// the method offers is dropped, so that the generator's state is only its position in
    /// the stream (use [`SeededRng::fill_standard_normal`] for many samples). `ln` is libm's, so the result has the same bits on every platform.
    pub fn standard_normal(&mut self) -> f64 {
        self.polar_pair().0
    }

    /// One accepted polar pair `(u·f, v·f)`: two independent standard normals.
    #[inline]
    fn polar_pair(&mut self) -> (f64, f64) {
        loop {
            let u = 2.0 * self.uniform01() - 1.0;
            let v = 2.0 * self.uniform01() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * libm::log(s) / s).sqrt();
                return (u * f, v * f);
            }
        }
    }

    /// Fills `out` with standard normal samples, using both normals of each polar pair
    /// (`out[0] = u·f`, `out[1] = v·f`, …; an odd last entry gets `u·f` only): half the
    /// randomness of calling [`SeededRng::standard_normal`] per entry, and so a different
    /// sequence. This is what the initializers use.
    pub fn fill_standard_normal(&mut self, out: &mut [f64]) {
        let mut chunks = out.chunks_exact_mut(2);
        for pair in &mut chunks {
            let (a, b) = self.polar_pair();
            pair[0] = a;
            pair[1] = b;
        }
        for last in chunks.into_remainder() {
            *last = self.polar_pair().0;
        }
    }

    /// A normal sample with the given mean and standard deviation: `mean + std·z`.
    #[inline]
    pub fn normal(&mut self, mean: f64, std: f64) -> f64 {
        mean + std * self.standard_normal()
    }

    /// A uniform integer in `0..n`, without bias (Lemire's multiply-and-reject method).
    ///
    /// `n = 0` and `n = 1` return 0 without consuming any randomness.
    pub fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let n = n as u64;
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            // Reject the low products that would make some results more likely:
            // there are 2⁶⁴ mod n of them.
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as usize
    }

    /// Shuffles `items` in place (Fisher–Yates, from the last position down, each swap
    /// partner drawn with [`SeededRng::below`]): every permutation is equally likely, and
    /// the same generator state gives the same permutation everywhere.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_is_two_words_low_first() {
        let mut a = SeededRng::new(9);
        let mut b = SeededRng::new(9);
        let lo = u64::from(b.next_u32());
        let hi = u64::from(b.next_u32());
        assert_eq!(a.next_u64(), lo | hi << 32);
        assert_eq!(a.state().word_pos, 2);
    }

    #[test]
    fn below_one_and_zero_consume_nothing() {
        let mut r = SeededRng::new(1);
        assert_eq!(r.below(0), 0);
        assert_eq!(r.below(1), 0);
        assert_eq!(r.state().word_pos, 0);
    }
}
