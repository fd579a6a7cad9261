//! Helpers that the workspace's test suites share (Cargo feature `testing`, off by default).
//!
//! - [`CountingAllocator`]: a global allocator that forwards to the system allocator and
//!   counts allocations, per thread ([`allocations_on_this_thread`]) and for the whole
//!   process ([`allocations_total`]), so that a test can assert that a pass allocates
//!   nothing once its buffers are sized. The counters live here; each test binary that
//!   counts declares its own `#[global_allocator]` static of this type.
//! - [`weighted_sum`] and [`upstream_cost`]: the scalar cost `J(X) = ⟨R, f(X)⟩`, whose
//!   gradient is the vector–Jacobian product of `f` at `X` with upstream `R`, which is what
//!   every backward returns. Checking a backward is then `gradcheck(upstream_cost(&r, f),
//!   &x, &backward)` against [`GRADIENT_TOLERANCE`].
//!
//! Nothing in the libraries uses this module; enable it from `[dev-dependencies]`.
//!
//! # Example
//!
//! ```
//! use nn_core::testing::{
//!     CountingAllocator, GRADIENT_TOLERANCE, allocations_on_this_thread_during, upstream_cost,
//! };
//! use nn_core::{DMatrix, gradcheck, hadamard, hadamard_backward, hadamard_into};
//!
//! #[global_allocator]
//! static GLOBAL: CountingAllocator = CountingAllocator;
//!
//! fn main() -> Result<(), nn_core::CoreError> {
//!     let a = DMatrix::from_row_slice(2, 2, &[0.5, -1.0, 2.0, 0.25]);
//!     let b = DMatrix::from_row_slice(2, 2, &[1.5, 0.5, -2.0, 1.0]);
//!     let r = DMatrix::from_row_slice(2, 2, &[1.0, -1.0, 0.5, 2.0]);
//!
//!     // The in-place form allocates nothing; the counter sees the allocating one.
//!     let mut c = DMatrix::zeros(2, 2);
//!     assert_eq!(allocations_on_this_thread_during(|| hadamard_into(&a, &b, &mut c)), 0);
//!     assert!(allocations_on_this_thread_during(|| hadamard(&a, &b)) > 0);
//!
//!     // dA of ⟨R, A ∘ B⟩ is the backward's, by finite differences.
//!     let (da, _) = hadamard_backward(&a, &b, &r)?;
//!     let report = gradcheck(upstream_cost(&r, |x| hadamard(x, &b)), &a, &da)?;
//!     assert!(report.passes(GRADIENT_TOLERANCE), "{report}");
//!     Ok(())
//! }
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use nalgebra::DMatrix;

use crate::Scalar;

/// The largest relative error (as [`GradCheckReport::passes`](crate::GradCheckReport::passes)
/// measures it) that a correct `f64` gradient may show against central finite differences,
/// away from kinks: the bound every gradient test of the workspace asserts.
pub const GRADIENT_TOLERANCE: f64 = 1e-6;

/// A global allocator that forwards every call to [`System`] unchanged and counts each
/// `alloc`, `alloc_zeroed` and `realloc` (not `dealloc`), on the calling thread and in the
/// process-wide total.
///
/// Install it in a test binary with
/// `#[global_allocator] static GLOBAL: CountingAllocator = CountingAllocator;`. Without
/// that, the counters stay at zero: a test that asserts "no allocation" should also check
/// that the counter sees an allocation it knows of.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAllocator;

static TOTAL: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static ON_THIS_THREAD: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    TOTAL.fetch_add(1, Ordering::Relaxed);
    // A thread being torn down has no counter left; its allocations still count in TOTAL.
    let _ = ON_THIS_THREAD.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards to the system allocator with the caller's arguments and
// returns its result unchanged; the only addition is a counter update, which neither
// allocates nor unwinds.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// The allocations the current thread has made so far through a [`CountingAllocator`].
///
/// Other threads (the test harness runs tests in parallel) do not move it.
pub fn allocations_on_this_thread() -> usize {
    ON_THIS_THREAD.with(Cell::get)
}

/// The allocations every thread of the process has made so far through a
/// [`CountingAllocator`]: for code that allocates on threads of its own.
pub fn allocations_total() -> usize {
    TOTAL.load(Ordering::Relaxed)
}

/// The allocations that the calling thread makes while `f` runs (the result of `f` is
/// dropped after counting, so its own allocation is counted but not its release).
pub fn allocations_on_this_thread_during<R>(f: impl FnOnce() -> R) -> usize {
    let before = allocations_on_this_thread();
    let result = f();
    let n = allocations_on_this_thread() - before;
    drop(result);
    n
}

/// The allocations that the whole process makes while `f` runs, worker threads included;
/// meaningful only while nothing else runs (a test binary with one test).
pub fn allocations_during<R>(f: impl FnOnce() -> R) -> usize {
    let before = allocations_total();
    let result = f();
    let n = allocations_total() - before;
    drop(result);
    n
}

/// `⟨R, A⟩ = Σ_ij R_ij A_ij`, the weighted sum of `A` with weights `R`; NaN when the shapes
/// differ, which [`gradcheck`](crate::gradcheck) reports as an error rather than a pass.
pub fn weighted_sum<T: Scalar>(r: &DMatrix<T>, a: &DMatrix<T>) -> T {
    if r.shape() != a.shape() {
        return T::cast(f64::NAN);
    }
    r.iter()
        .zip(a.iter())
        .fold(T::zero(), |s, (&x, &y)| s + x * y)
}

/// What a function under test returns: a matrix, or a `Result` of one.
pub trait TestOutput {
    /// The matrix, or `None` for an error.
    fn into_matrix(self) -> Option<DMatrix<f64>>;
}

impl TestOutput for DMatrix<f64> {
    fn into_matrix(self) -> Option<DMatrix<f64>> {
        Some(self)
    }
}

impl<E> TestOutput for Result<DMatrix<f64>, E> {
    fn into_matrix(self) -> Option<DMatrix<f64>> {
        self.ok()
    }
}

/// The cost `J(X) = ⟨R, f(X)⟩`, whose gradient at `X` is the vector–Jacobian product of `f`
/// with upstream `R`: what a backward given `dA = R` must return. An error from `f`, or an
/// output not shaped like `R`, makes the cost NaN, which `gradcheck` reports as an error.
pub fn upstream_cost<'a, O: TestOutput>(
    r: &'a DMatrix<f64>,
    f: impl Fn(&DMatrix<f64>) -> O + 'a,
) -> impl Fn(&DMatrix<f64>) -> f64 + 'a {
    move |x| f(x).into_matrix().map_or(f64::NAN, |a| weighted_sum(r, &a))
}
