//! How far apart the machine's cores are: the round trip of one cache line between two
//! threads, measured by `cargo xtask bench` before and after every run.
//!
//! A virtual machine's two vCPUs are not always on neighbouring cores. On the Zen 4 EPYC
//! host of docs/PERFORMANCE.md they were sometimes on cores that share an L3 cache (a round
//! trip of 50–77 ns) and sometimes on cores that do not (300–390 ns), and the host moved
//! them between the two every few seconds to minutes. Two-thread training, which hands
//! the halves of each product and update between the cores, was ~25% slower in the far
//! placement; one-thread figures and inference were not affected. The report shows the
//! round trip next to every run so that a two-thread figure can be read for what it is.
//! The threads are not pinned: on a machine of more than two CPUs it measures whichever
//! two the scheduler picked.

use std::hint::spin_loop;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Round trips per timed run: ~1 ms near, ~7 ms far.
const TRIPS: u64 = 20_000;
/// Timed runs; the median is reported.
const RUNS: usize = 9;
/// Longest a run may take: a core busy with other work answers once per time slice,
/// and the run then ends early, averaged over the trips it made.
const RUN_LIMIT: Duration = Duration::from_millis(100);
/// The value that tells the second thread to return.
const STOP: u64 = u64::MAX;

/// The line two threads pass between them, alone in its cache line.
#[repr(align(128))]
struct Line(AtomicU64);

/// The median round trip, in ns, of a cache line passed between two threads (the calling
/// one and one it starts), or `None` on a machine with one CPU or if no thread starts.
/// The counter is odd while the second thread holds the turn, even while the first does.
pub fn round_trip_ns() -> Option<f64> {
    if thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return None;
    }
    let line = Line(AtomicU64::new(0));
    let mut runs = thread::scope(|s| {
        let answer = || loop {
            match line.0.load(Ordering::Acquire) {
                STOP => return,
                turn if turn % 2 == 1 => line.0.store(turn + 1, Ordering::Release),
                _ => spin_loop(),
            }
        };
        let other = thread::Builder::new().spawn_scoped(s, answer).ok()?;
        let mut runs = Vec::with_capacity(RUNS);
        let mut turn = 0;
        for _ in 0..RUNS {
            let start = Instant::now();
            let mut trips = 0;
            while trips < TRIPS && (trips % 256 != 0 || start.elapsed() < RUN_LIMIT) {
                line.0.store(turn + 1, Ordering::Release);
                while line.0.load(Ordering::Acquire) != turn + 2 {
                    spin_loop();
                }
                (turn, trips) = (turn + 2, trips + 1);
            }
            runs.push(start.elapsed().as_secs_f64() * 1e9 / trips as f64);
        }
        line.0.store(STOP, Ordering::Release);
        other.join().ok().map(|()| runs)
    })?;
    runs.sort_by(f64::total_cmp);
    runs.get(RUNS / 2).copied()
}

/// The round trips around each run, in the order of the runs.
#[derive(Debug, Default)]
pub struct Placements(Vec<(String, Option<f64>, Option<f64>)>);

impl Placements {
    /// Runs `f`, recording the round trip before and after it under `label`.
    pub fn around<R>(&mut self, label: String, f: impl FnOnce() -> R) -> R {
        let before = round_trip_ns();
        let out = f();
        self.0.push((label, before, round_trip_ns()));
        out
    }

    /// `Cross-core round trip of a cache line …: nn 1t 52 → 53, nn 2t 51 → 340, …`, or
    /// `None` if nothing was measured (one CPU).
    pub fn line(&self) -> Option<String> {
        let ns = |x: &Option<f64>| x.map_or("?".into(), |x| format!("{x:.0}"));
        let runs: Vec<String> = self
            .0
            .iter()
            .filter(|(_, b, a)| b.is_some() || a.is_some())
            .map(|(label, b, a)| format!("{label} {} → {}", ns(b), ns(a)))
            .collect();
        (!runs.is_empty()).then(|| {
            format!(
                "Cross-core round trip of a cache line between two threads, ns, before → after \
                 each run (see \"Where the two vCPUs are\" in docs/PERFORMANCE.md): {}.",
                runs.join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_trip_is_measured_on_two_cpus() {
        let two = std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2;
        let ns = round_trip_ns();
        assert_eq!(
            ns.is_some(),
            two,
            "measured exactly when there are two CPUs"
        );
        if let Some(ns) = ns {
            assert!(ns.is_finite() && ns > 0.0, "a round trip takes time: {ns}");
        }
    }

    #[test]
    fn the_line_lists_every_measured_run_in_order() {
        let mut p = Placements::default();
        p.0.push(("nn 1t".into(), Some(52.4), Some(53.0)));
        p.0.push(("nn 2t".into(), Some(51.0), Some(340.2)));
        p.0.push(("JAX 1t".into(), None, None));
        p.0.push(("JAX 2t".into(), Some(338.0), None));
        let line = p.line().unwrap_or_default();
        assert!(
            line.ends_with(": nn 1t 52 → 53, nn 2t 51 → 340, JAX 2t 338 → ?."),
            "{line}"
        );
        assert_eq!(Placements::default().line(), None);
    }
}
