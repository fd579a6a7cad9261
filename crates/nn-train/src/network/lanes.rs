//! [`Network::predict`] of a small convolutional network with one example per vector lane
//! (`src/layers/lanes.rs`): the batch goes through every layer in groups of
//! [`LANES`] columns, each group's features turned into lanes on the way in and back into
//! columns on the way out.

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::{Scalar, all_finite, fit_buffer, join, kernel_threads};

use super::{MIN_PARALLEL_PREDICT_WORK, Network};
use crate::check;
use crate::error::Result;
use crate::layers::{LANES, Lanes};

/// Most multiply-adds per example of a network predicted in lanes. C1 (6,624) went from
/// 1.14M to 3.24M samples/s on one core of the Intel Xeon (model 167); LeNet-5's C2
/// (416,520, layers of up to 4,704 values, whose groups do not fit the L1 cache) fell from
/// 41.2k to 10.3k, and stays with the batched products' kernels.
const MAX_WORK: usize = 1 << 16;

/// Most values per example of a layer's output (C1's widest is 576): a group's two
/// buffers of them stay within the L1 and L2 caches.
const MAX_FEATURES: usize = 1 << 11;

impl<T: Scalar> Network<T> {
    /// Whether [`Network::predict`] goes through [`Network::predict_lanes`]: a network
    /// with a convolution (whose batched path unfolds and scatters around small products)
    /// small enough for its groups' buffers to stay in the cache.
    pub(super) fn predicts_in_lanes(&self) -> bool {
        let work: usize = self.layers.iter().map(|l| l.work_per_example()).sum();
        let widest = self.layers.iter().map(|l| l.output_shape().len()).max();
        !self.layers.iter().all(|l| l.batch_wide_products())
            && work <= MAX_WORK
            && widest.is_some_and(|w| w <= MAX_FEATURES)
    }

    /// The predictions of `x` computed in lanes into `out` (reshaped), `false` if a layer
    /// has no lane path ([`Layer::infer_lanes`](crate::layers::Layer::infer_lanes)). With
    /// `unchecked`, the whole of which `x` is a block, the inputs have not been checked for
    /// NaN and infinity: each group's columns are, and the error names the entry of
    /// `unchecked`. Inside `nn_core::with_kernel_threads` with two threads, a batch of at
    /// least [`MIN_PARALLEL_PREDICT_WORK`] multiply-adds is cut in two halves of whole
    /// groups, the second on nn-core's helper thread (each lane's result is the same either
    /// way). Allocates nothing once `buffers` and `out` have held a batch of this width.
    pub(super) fn predict_lanes(
        &self,
        x: &DMatrix<T>,
        unchecked: Option<&DMatrix<T>>,
        buffers: &mut [LaneBuffers<T>; 2],
        out: &mut DMatrix<T>,
    ) -> Result<bool> {
        let (rows, m) = x.shape();
        let outputs = self.output_size();
        fit_buffer(out, outputs, m);
        let work: usize = self.layers.iter().map(|l| l.work_per_example()).sum();
        let groups = m.div_ceil(LANES);
        let [first, second] = buffers;
        let (x, out) = (x.as_slice(), out.as_mut_slice());
        if kernel_threads() < 2 || groups < 2 || work.saturating_mul(m) < MIN_PARALLEL_PREDICT_WORK
        {
            return self.groups_in_lanes((x, rows), unchecked, first, out);
        }
        let at = groups / 2 * LANES;
        let ((x0, x1), (out0, out1)) = (x.split_at(at * rows), out.split_at_mut(at * outputs));
        let (mut done0, mut done1) = (Ok(false), Ok(false));
        join(
            || done0 = self.groups_in_lanes((x0, rows), unchecked, first, out0),
            || done1 = self.groups_in_lanes((x1, rows), unchecked, second, out1),
        );
        Ok(done0? && done1?)
    }

    /// [`Network::predict_lanes`] of the columns `x` (of `rows` values each) into `out`,
    /// on this thread.
    fn groups_in_lanes(
        &self,
        (x, rows): (&[T], usize),
        unchecked: Option<&DMatrix<T>>,
        buffers: &mut LaneBuffers<T>,
        out: &mut [T],
    ) -> Result<bool> {
        let computing = || self.layers.iter().filter(|l| l.output().is_some());
        let widest = computing()
            .map(|l| l.output_shape().len())
            .fold(rows, usize::max);
        let outputs = self.output_size();
        let LaneBuffers { a, b, scratch } = buffers;
        a.resize(widest, [T::zero(); LANES]);
        b.resize(widest, [T::zero(); LANES]);
        for (columns, out) in x.chunks(LANES * rows).zip(out.chunks_mut(LANES * outputs)) {
            if let Some(whole) = unchecked
                && !all_finite(columns)
            {
                check::finite("inputs X", whole)?;
            }
            to_lanes(columns, rows, &mut a[..rows]);
            let mut len = rows;
            for layer in computing() {
                let n = layer.output_shape().len();
                if !layer.infer_lanes(&a[..len], &mut b[..n], scratch) {
                    return Ok(false);
                }
                std::mem::swap(a, b);
                len = n;
            }
            from_lanes(&a[..outputs], out);
        }
        Ok(true)
    }
}

/// The buffers of [`Network::predict_lanes`]: a group's values before and after a layer,
/// and a layer's scratch (a convolution's zero-padded input).
#[derive(Debug, Clone, Default)]
pub(crate) struct LaneBuffers<T: Scalar> {
    a: Vec<Lanes<T>>,
    b: Vec<Lanes<T>>,
    scratch: Vec<Lanes<T>>,
}

/// `lanes[f][l] ← columns[l·rows + f]` for the (at most [`LANES`]) columns of `rows`
/// values; the lanes past the last column repeat it (their results are not kept).
fn to_lanes<T: Scalar>(columns: &[T], rows: usize, lanes: &mut [Lanes<T>]) {
    let last = columns.len() / rows - 1;
    for l in 0..LANES {
        let column = &columns[l.min(last) * rows..][..rows];
        for (f, &v) in column.iter().enumerate() {
            lanes[f][l] = v;
        }
    }
}

/// `columns[l·rows + f] ← lanes[f][l]` for the whole columns `columns` holds
/// (`rows = lanes.len()`).
fn from_lanes<T: Scalar>(lanes: &[Lanes<T>], columns: &mut [T]) {
    for (l, column) in columns.chunks_exact_mut(lanes.len()).enumerate() {
        for (v, lane) in column.iter_mut().zip(lanes) {
            *v = lane[l];
        }
    }
}
