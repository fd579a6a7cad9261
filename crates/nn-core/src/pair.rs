//! A second thread for the halves of a large product.
//!
//! [`gemm_into`](crate::gemm_into) cuts a large product into two halves by its shape alone
//! (see its docs). Inside [`with_kernel_threads`] with two or more threads, the second half
//! runs on a helper thread, started on first use and kept for the life of the process;
//! otherwise, or while the helper is busy with another caller's half, both halves run on
//! the calling thread one after the other. Each half computes the same entries with the
//! same operations either way, so the result is the same bits on one thread or two.
//!
//! **Why not a thread pool.** A training step must not allocate (`tests/alloc.rs` of
//! nn-train), and rayon, handed a job from outside its pool, puts it on a queue that
//! allocates a block every few dozen jobs: a two-thread step of a 640-512-3 network made 3
//! allocations in 140 steps that way. Scoped threads (`std::thread::scope`) spawn a thread,
//! and allocate, per call. Here the hand-off is a pointer to a closure on the caller's
//! stack; the caller does not return before the helper is done with it, also when its
//! own half unwinds (a drop guard waits). That lifetime argument is the one thing the
//! compiler cannot check, hence the `unsafe` below, confined to this module.
//!
//! **Latency.** After each half the helper spins for [`SPIN`] before it sleeps, so that
//! back-to-back products (the products of one training step, one request after another)
//! do not pay for waking it (a futex wake and a reschedule, tens of µs on a virtual
//! machine); a sleeping helper costs nothing.

#![allow(unsafe_code)]

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::hint::spin_loop;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long a thread spins for the other before it gives up its core: the helper waiting
/// for the next half (then it sleeps), the caller waiting for the helper to finish one
/// (then it yields between checks).
const SPIN: Duration = Duration::from_millis(1);

/// The helper's states. The caller moves `IDLE → POSTED`, and back to `IDLE` when it takes
/// a half the helper has not started; the helper `POSTED → RUNNING → DONE`; the caller
/// `DONE → IDLE`.
const IDLE: u8 = 0;
const POSTED: u8 = 1;
const RUNNING: u8 = 2;
const DONE: u8 = 3;

/// A type-erased `&mut F` where `F: FnMut() + Send`, and the function that calls it.
struct Job {
    data: *mut (),
    call: unsafe fn(*mut ()),
}

/// The helper thread and its one job slot.
struct Helper {
    /// Held by the one caller whose half the helper runs (or may run).
    claimed: AtomicBool,
    state: AtomicU8,
    job: UnsafeCell<Option<Job>>,
    /// The panic of the last half the helper ran, if it panicked: written by the helper
    /// before `DONE`, taken by the caller after it.
    panic: UnsafeCell<Option<Box<dyn Any + Send>>>,
    /// Set while the helper sleeps (or is about to): a post must wake it.
    sleeping: AtomicBool,
    /// Set once the helper thread runs [`Helper::serve`].
    started: AtomicBool,
    thread: Thread,
}

// SAFETY: `job` is written only by the caller holding `claimed`, while the state is
// `IDLE` or after it took its half back (`POSTED → IDLE`); the helper takes it only after
// moving the state `POSTED → RUNNING` (`Acquire`), which the caller's `Release` store of
// `POSTED` after the write makes visible, and it is the only one to make that move. The
// closure behind the pointer is `Send`, and outlives its use (see `join`).
unsafe impl Sync for Helper {}
// SAFETY: as above; `Job` is only ever moved inside `Helper`.
unsafe impl Send for Job {}

thread_local! {
    /// How many threads this thread's products may use (see [`with_kernel_threads`]).
    static KERNEL_THREADS: Cell<usize> = const { Cell::new(1) };
}

/// Runs `f` with [`gemm_into`](crate::gemm_into)'s large products on two threads when
/// `threads ≥ 2`: the second half of each goes to a helper thread. With `threads = 1`
/// (the default), the halves run one after the other on the calling thread. The cut
/// depends on the product's shape only, so the results are the same bits on any thread
/// count. Restores the previous setting when `f` returns or unwinds.
///
/// The trainer uses it for a step it does not split into shares, and prediction for a
/// batch it does not split by columns; a caller that already runs one share per core
/// leaves it at 1.
///
/// ```
/// use nn_core::{DMatrix, Trans, gemm_into, with_kernel_threads};
/// let a = DMatrix::<f32>::from_fn(256, 300, |i, j| ((i * 7 + j) % 5) as f32 - 2.0);
/// let b = DMatrix::from_fn(300, 256, |i, j| ((i + 3 * j) % 7) as f32 - 3.0);
/// let (mut one, mut two) = (DMatrix::zeros(256, 256), DMatrix::zeros(256, 256));
/// gemm_into(1.0, &a, Trans::No, &b, Trans::No, 0.0, &mut one)?;
/// with_kernel_threads(2, || gemm_into(1.0, &a, Trans::No, &b, Trans::No, 0.0, &mut two))?;
/// assert_eq!(one, two);
/// # Ok::<(), nn_core::CoreError>(())
/// ```
pub fn with_kernel_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            KERNEL_THREADS.set(self.0);
        }
    }
    let _restore = Restore(KERNEL_THREADS.replace(threads.max(1)));
    f()
}

/// The thread count [`with_kernel_threads`] set for the calling thread (1 outside it).
pub fn kernel_threads() -> usize {
    KERNEL_THREADS.get()
}

/// Runs `first` on the calling thread and `second` on the helper, when this thread may use
/// two ([`with_kernel_threads`]) and the helper is free; else `first` then `second` here.
/// If the helper has not started `second` by the time `first` is done (it is asleep, or
/// the OS runs something else on its core), the caller takes `second` back and runs it
/// itself, so a busy machine costs at most the one-thread time. Returns when both are
/// done. The hand-off allocates nothing.
///
/// For results that do not depend on the thread count, split the work by its size alone,
/// as [`gemm_into`](crate::gemm_into) does, and combine the halves in a fixed order.
///
/// ```
/// use nn_core::{join, with_kernel_threads};
/// let data: Vec<u64> = (1..=1000).collect();
/// let (low, high) = data.split_at(500);
/// let (mut a, mut b) = (0, 0);
/// with_kernel_threads(2, || join(|| a = low.iter().sum(), || b = high.iter().sum()));
/// assert_eq!(a + b, 500_500);
/// ```
///
/// # Panics
/// If either half panics (a bug in the caller): the panic propagates to the caller, the
/// helper's once both halves are done.
pub fn join(first: impl FnOnce(), second: impl FnOnce() + Send) {
    let Some(helper) = free_helper() else {
        first();
        second();
        return;
    };
    let mut second = Some(second);
    let mut run = move || {
        if let Some(f) = second.take() {
            f();
        }
    };
    // From here until `wait` is settled, the helper may be running `run`, which borrows
    // this frame: settling (also in `wait`'s drop, should `first` unwind) takes the half
    // back or blocks until the helper is done, so `run` outlives every use of the pointer.
    let mut wait = helper.post(&mut run);
    first();
    if wait.settle() == Settled::TakenBack {
        drop(wait);
        run();
    }
}

/// The helper, claimed for the calling thread, if it may use two threads, the helper
/// thread could be started, and no other caller holds it.
fn free_helper() -> Option<&'static Helper> {
    if KERNEL_THREADS.get() < 2 {
        return None;
    }
    let helper = helper()?;
    helper
        .claimed
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
        .then_some(helper)
}

/// The process's helper, started on the first call; `None` if the thread could not be
/// started (then every product runs on its caller's thread).
fn helper() -> Option<&'static Helper> {
    static HELPER: OnceLock<Option<Helper>> = OnceLock::new();
    let helper = HELPER
        .get_or_init(|| {
            let started = thread::Builder::new()
                .name("nn-kernel".into())
                .spawn(|| {
                    // Nothing is posted before `HELPER` holds the helper; until then any
                    // wake-up is spurious.
                    let helper = loop {
                        if let Some(Some(helper)) = HELPER.get() {
                            break helper;
                        }
                        thread::park();
                    };
                    helper.serve()
                })
                .ok()?;
            Some(Helper {
                claimed: AtomicBool::new(false),
                state: AtomicU8::new(IDLE),
                job: UnsafeCell::new(None),
                panic: UnsafeCell::new(None),
                // Asleep until `serve` starts: the first post must wake it from the
                // loop above.
                sleeping: AtomicBool::new(true),
                started: AtomicBool::new(false),
                thread: started.thread().clone(),
            })
        })
        .as_ref()?;
    // The first caller waits until the helper thread has started: the set-up of a new
    // thread allocates (on that thread), and it should do so inside this first call, not
    // during a later step that must not allocate.
    if !helper.started.load(Ordering::Acquire) {
        helper.thread.unpark();
        spin_until(|| helper.started.load(Ordering::Acquire), thread::yield_now);
    }
    Some(helper)
}

/// Calls the `F` that `data` points to.
///
/// # Safety
/// `data` must come from a `&mut F` that is live and not otherwise used during the call.
unsafe fn call<F: FnMut()>(data: *mut ()) {
    // SAFETY: the caller's contract.
    unsafe { (*data.cast::<F>())() }
}

/// How a posted half ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    /// The helper ran it.
    Done,
    /// The helper had not started it; the caller has it back, to run itself.
    TakenBack,
}

/// A posted half, to be settled before the caller's frame is left (by [`Wait::settle`],
/// or by the drop if the caller unwinds first).
struct Wait {
    helper: &'static Helper,
    settled: Option<Settled>,
}

impl Wait {
    /// Takes the half back if the helper has not started it, else waits until the helper
    /// is done; then frees the helper for the next caller.
    fn settle(&mut self) -> Settled {
        if let Some(settled) = self.settled {
            return settled;
        }
        let helper = self.helper;
        let taken_back = helper
            .state
            .compare_exchange(POSTED, IDLE, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
        let mut panic = None;
        if taken_back {
            // SAFETY: the state went `POSTED → IDLE` here, so the helper never took the
            // slot and will not (it takes it only after moving `POSTED → RUNNING`).
            unsafe { *helper.job.get() = None };
        } else {
            let done = || helper.state.load(Ordering::Acquire) == DONE;
            spin_until(done, thread::yield_now);
            // SAFETY: the helper wrote it before storing `DONE`, read above with
            // `Acquire`, and touches it again only after a new post.
            panic = unsafe { (*helper.panic.get()).take() };
            helper.state.store(IDLE, Ordering::Relaxed);
        }
        helper.claimed.store(false, Ordering::Release);
        let settled = if taken_back {
            Settled::TakenBack
        } else {
            Settled::Done
        };
        self.settled = Some(settled);
        if let Some(panic) = panic
            && !thread::panicking()
        {
            resume_unwind(panic);
        }
        settled
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        self.settle();
    }
}

/// Spins until `ready()`, checking after every pause; once [`SPIN`] has passed, calls
/// `idle()` between checks instead.
fn spin_until(ready: impl Fn() -> bool, idle: impl Fn()) {
    let start = Instant::now();
    let mut spins = 0u32;
    while !ready() {
        spin_loop();
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(64) && start.elapsed() > SPIN {
            while !ready() {
                idle();
            }
            return;
        }
    }
}

impl Helper {
    /// Posts `f` to the helper (claimed by the caller, idle) and wakes it if it sleeps.
    fn post<F: FnMut() + Send>(&'static self, f: &mut F) -> Wait {
        let job = Job {
            data: std::ptr::from_mut(f).cast(),
            call: call::<F>,
        };
        // SAFETY: the caller holds `claimed` and the state is `IDLE`: the helper does not
        // read the slot until it has moved the state from `POSTED`, stored below.
        unsafe { *self.job.get() = Some(job) };
        // `SeqCst` on both sides of the sleeping flag: either the helper sees the post
        // before it sleeps, or this sees it asleep and wakes it.
        self.state.store(POSTED, Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) {
            self.thread.unpark();
        }
        Wait {
            helper: self,
            settled: None,
        }
    }

    /// The helper thread's loop: wait for a half, start it unless the caller took it
    /// back, run it, report, forever.
    fn serve(&self) -> ! {
        self.sleeping.store(false, Ordering::SeqCst);
        self.started.store(true, Ordering::Release);
        loop {
            self.wait_for_post();
            if self
                .state
                .compare_exchange(POSTED, RUNNING, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                continue; // taken back
            }
            // SAFETY: this thread moved the state `POSTED → RUNNING` (`Acquire`), after the
            // caller wrote the slot; the caller does not touch it again until `DONE`.
            let job = unsafe { (*self.job.get()).take() };
            let outcome = job.map_or(Ok(()), |job| {
                // SAFETY: `post` made `data` from a live `&mut F` with `call::<F>`, and the
                // caller keeps it alive and unused until it sees `DONE` (`Wait::settle`).
                catch_unwind(AssertUnwindSafe(|| unsafe { (job.call)(job.data) }))
            });
            // SAFETY: the caller reads it only after `DONE`, stored below with `Release`.
            unsafe { *self.panic.get() = outcome.err() };
            self.state.store(DONE, Ordering::Release);
        }
    }

    /// Returns once a half is posted: spins for [`SPIN`], then sleeps until woken.
    fn wait_for_post(&self) {
        let posted = || self.state.load(Ordering::SeqCst) == POSTED;
        if posted() {
            return;
        }
        spin_until(posted, || {
            self.sleeping.store(true, Ordering::SeqCst);
            if !posted() {
                thread::park();
            }
            self.sleeping.store(false, Ordering::SeqCst);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_half_runs_on_the_helper_with_two_threads_only() {
        let here = thread::current().id();
        let mut ran_on = None;
        join(|| {}, || ran_on = Some(thread::current().id()));
        assert_eq!(ran_on, Some(here), "one thread: both halves on the caller");
        // Other tests of this binary use the helper too, and a join that finds it claimed
        // runs both halves here: count the joins whose second half ran elsewhere.
        let (mut on_helper, deadline) = (0, Instant::now() + Duration::from_secs(20));
        while on_helper < 100 && Instant::now() < deadline {
            // The first half waits (up to a second) for the second to start, so that the
            // caller does not take it back.
            let started = AtomicBool::new(false);
            with_kernel_threads(2, || {
                join(
                    || {
                        let start = Instant::now();
                        while !started.load(Ordering::Acquire) && start.elapsed().as_secs() < 1 {
                            spin_loop();
                        }
                    },
                    || {
                        started.store(true, Ordering::Release);
                        ran_on = Some(thread::current().id());
                    },
                );
            });
            on_helper += usize::from(ran_on.is_some_and(|id| id != here));
        }
        assert_eq!(on_helper, 100, "two threads: second halves on the helper");
        assert_eq!(kernel_threads(), 1, "the setting is restored");
    }

    #[test]
    fn both_halves_finish_before_join_returns() {
        for _ in 0..200 {
            let (mut a, mut b) = (0u64, 0u64);
            with_kernel_threads(2, || {
                join(
                    || a = (0..1000).sum(),
                    || {
                        thread::sleep(Duration::from_micros(50));
                        b = (0..2000).sum();
                    },
                );
            });
            assert_eq!((a, b), (499_500, 1_999_000));
        }
    }

    #[test]
    fn a_panic_on_the_helper_reaches_the_caller_and_frees_the_helper() {
        let caught = catch_unwind(|| {
            with_kernel_threads(2, || join(|| {}, || panic!("boom")));
        });
        let payload = caught.err().and_then(|p| p.downcast_ref::<&str>().copied());
        assert_eq!(
            payload,
            Some("boom"),
            "the helper's panic must reach the caller"
        );
        assert_eq!(kernel_threads(), 1);
        let mut later = 0;
        with_kernel_threads(2, || join(|| {}, || later = 7));
        assert_eq!(later, 7, "the helper keeps serving after a panic");
    }

    #[test]
    fn callers_on_several_threads_share_the_helper_safely() {
        let sums: Vec<u64> = thread::scope(|s| {
            let handles: Vec<_> = (0..4u64)
                .map(|t| {
                    s.spawn(move || {
                        let mut total = 0;
                        for i in 0..500u64 {
                            let (mut x, mut y) = (0, 0);
                            with_kernel_threads(2, || join(|| x = i + t, || y = 2 * i));
                            total += x + y;
                        }
                        total
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
        });
        let expected = |t: u64| (0..500u64).map(|i| 3 * i + t).sum::<u64>();
        assert_eq!(sums, (0..4).map(expected).collect::<Vec<_>>());
    }
}
