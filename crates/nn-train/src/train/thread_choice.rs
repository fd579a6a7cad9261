//! Whether a step of one share hands half of its work to nn-core's helper thread: chosen
//! by timing steps both ways.
//!
//! A step gives the same bits on one thread or two (each entry of its products, check and
//! update is computed the same way whichever thread computes it), so the choice can follow
//! the clock. Two
//! threads are not always the faster: sharing a product moves its operands between the
//! cores' caches, and where the cores share none (a virtual machine's two vCPUs on
//! different dies of the host) that can cost more than the half saves. On a 2-vCPU Zen 4
//! EPYC whose host moved the vCPUs between such placements, W3's 784-128-10 at batch 64
//! trained at 313k samples/s on two threads with a shared L3 and at 167k without one,
//! against 213k on one thread either way; W4's 784-512-512-10 stayed faster on two (58k
//! and 44k against 30k). A placement lasts seconds to minutes, so the trainer times a
//! few steps on each count every [`SETTLED`] (or more, for long steps) and runs the faster
//! meanwhile.

use std::time::{Duration, Instant};

/// Steps timed per trial of a thread count, after one that is not timed (it moves the
/// data into the caches of the cores that now run it).
const TRIAL_STEPS: u32 = 4;
/// Least time a trial covers: more steps than [`TRIAL_STEPS`] when steps are short.
const TRIAL_TIME: Duration = Duration::from_millis(5);
/// Least time between trials. A trial of the slower count costs its extra time over
/// `TRIAL_STEPS + 1` steps: for W4's steps (4.3 ms on two threads, 8.5 on one) 0.7% of
/// this.
const SETTLED: Duration = Duration::from_secs(3);
/// Least time between trials as a multiple of the time the last two took: long steps
/// (a trial of 200 ms steps takes seconds) are tried again less often.
const SETTLED_PER_TRIAL: u32 = 50;
/// One thread is chosen only if its time per column is below this fraction of the
/// other's: two threads stay the choice within the noise.
const ONE_IF_BELOW: f64 = 0.95;

/// The thread count for each step of one share, from timing steps on `1` and on the most
/// allowed.
#[derive(Debug, Clone)]
pub(crate) struct ThreadChoice {
    most: usize,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Timing steps on `threads`: whether the untimed first step is done, then the
    /// steps, columns and time so far; `on_most` is the time per column measured on the
    /// most threads and the time that trial took, once it is done.
    Trial {
        threads: usize,
        warm: bool,
        steps: u32,
        columns: usize,
        time: Duration,
        on_most: Option<(f64, Duration)>,
    },
    /// Running on `threads` from `since` for `lasts`.
    Settled {
        threads: usize,
        since: Instant,
        lasts: Duration,
    },
}

impl State {
    /// A trial of `threads`, starting with an untimed step unless `warm`.
    fn trial(threads: usize, warm: bool, on_most: Option<(f64, Duration)>) -> Self {
        State::Trial {
            threads,
            warm,
            steps: 0,
            columns: 0,
            time: Duration::ZERO,
            on_most,
        }
    }
}

impl ThreadChoice {
    /// A choice between 1 and `most` threads, starting with a trial of `most`.
    pub(crate) fn new(most: usize) -> Self {
        Self {
            most,
            state: State::trial(most, false, None),
        }
    }

    /// The thread count for the next step.
    pub(crate) fn threads(&self) -> usize {
        match self.state {
            State::Trial { threads, .. } | State::Settled { threads, .. } => threads,
        }
    }

    /// Records a step of `columns` columns that took `took` on [`ThreadChoice::threads`]
    /// threads, ending at `now`.
    pub(crate) fn record(&mut self, columns: usize, took: Duration, now: Instant) {
        if self.most <= 1 {
            return;
        }
        let most = self.most;
        // Updates a trial in place; a new state where one ends or starts.
        let next = match &mut self.state {
            State::Settled { since, lasts, .. } if now.duration_since(*since) < *lasts => None,
            // The most threads first: coming from one, its first step warms their caches.
            State::Settled { threads, .. } => Some(State::trial(most, *threads == most, None)),
            State::Trial { warm, .. } if !*warm => {
                *warm = true;
                None
            }
            State::Trial {
                steps,
                columns: seen,
                time,
                on_most,
                ..
            } => {
                (*steps, *seen, *time) = (*steps + 1, *seen + columns, *time + took);
                (*steps >= TRIAL_STEPS && *time >= TRIAL_TIME).then(|| {
                    let per_column = time.as_secs_f64() / (*seen).max(1) as f64;
                    match *on_most {
                        None => State::trial(1, false, Some((per_column, *time))),
                        Some((most_per_column, most_time)) => State::Settled {
                            threads: if per_column < ONE_IF_BELOW * most_per_column {
                                1
                            } else {
                                most
                            },
                            since: now,
                            lasts: SETTLED.max((most_time + *time) * SETTLED_PER_TRIAL),
                        },
                    }
                })
            }
        };
        if let Some(next) = next {
            self.state = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `steps` steps of 64 columns on `choice`, each taking `per_step(threads)`, from
    /// `*now`; returns the thread counts used.
    fn run(
        choice: &mut ThreadChoice,
        now: &mut Instant,
        steps: usize,
        per_step: impl Fn(usize) -> Duration,
    ) -> Vec<usize> {
        (0..steps)
            .map(|_| {
                let threads = choice.threads();
                let took = per_step(threads);
                *now += took;
                choice.record(64, took, *now);
                threads
            })
            .collect()
    }

    fn ms(x: f64) -> Duration {
        Duration::from_secs_f64(x / 1e3)
    }

    #[test]
    fn the_faster_count_is_chosen_and_tried_again_later() {
        let mut choice = ThreadChoice::new(2);
        let mut now = Instant::now();
        // Two threads twice as fast (W4 with a shared cache): trials, then two threads.
        let used = run(&mut choice, &mut now, 20, |t| {
            ms(if t == 2 { 4.0 } else { 8.0 })
        });
        assert_eq!(&used[..10], &[2, 2, 2, 2, 2, 1, 1, 1, 1, 1], "{used:?}");
        assert!(used[10..].iter().all(|&t| t == 2), "{used:?}");
        // The cores move apart: one thread faster. Two threads run until the next trial,
        // which then picks one thread.
        let slow_two = |t| ms(if t == 2 { 1.9 } else { 1.5 });
        let used = run(&mut choice, &mut now, 3000, slow_two);
        let first_one = used.iter().position(|&t| t == 1).unwrap_or(usize::MAX);
        assert!(first_one > 1000, "no trial before {SETTLED:?}: {first_one}");
        assert!(
            used[first_one..].iter().filter(|&&t| t == 1).count() > 1000,
            "{used:?}"
        );
        // Settled on one thread, it tries two again after a while (their first step
        // untimed), and keeps one.
        let used = run(&mut choice, &mut now, 4000, slow_two);
        let again = used.iter().position(|&t| t == 2).unwrap_or(usize::MAX);
        assert!(
            (500..2100).contains(&again),
            "a trial of two threads: {again}"
        );
        assert_eq!(&used[again..again + 6], &[2, 2, 2, 2, 2, 1], "{used:?}");
        let next = used[again + 6..].iter().position(|&t| t == 2);
        assert!(next.is_none_or(|n| n > 1900), "3 s on one thread: {next:?}");
        // Within the margin, two threads stay the choice.
        let mut choice = ThreadChoice::new(2);
        let used = run(&mut choice, &mut now, 200, |t| {
            ms(if t == 2 { 1.0 } else { 0.97 })
        });
        assert!(used[20..].iter().all(|&t| t == 2), "{used:?}");
    }

    #[test]
    fn a_trial_covers_enough_time_and_counts_columns() {
        let mut choice = ThreadChoice::new(2);
        let mut now = Instant::now();
        // 0.1 ms steps: a trial needs 5 ms, not just four steps.
        let used = run(&mut choice, &mut now, 60, |_| ms(0.1));
        assert!(used[..51].iter().all(|&t| t == 2), "{used:?}");
        // A short last batch of an epoch counts by its columns: 32 columns in half the
        // time is the same speed.
        let mut choice = ThreadChoice::new(2);
        let took = ms(2.0);
        for _ in 0..5 {
            now += took;
            choice.record(64, took, now);
        }
        for _ in 0..4 {
            now += ms(1.0);
            choice.record(32, ms(1.0), now);
        }
        choice.record(64, ms(2.0), now);
        assert_eq!(choice.threads(), 2, "{:?}", choice.state);
    }

    #[test]
    fn one_thread_allowed_is_never_timed() {
        let mut choice = ThreadChoice::new(1);
        let mut now = Instant::now();
        assert!(
            run(&mut choice, &mut now, 50, |_| ms(1.0))
                .iter()
                .all(|&t| t == 1)
        );
        assert_eq!(choice.state, State::trial(1, false, None));
    }

    #[test]
    fn long_steps_are_tried_again_less_often() {
        let mut choice = ThreadChoice::new(2);
        let mut now = Instant::now();
        // 200 ms steps on two threads, 400 on one: the trials take 2.4 s of timed steps,
        // so the next comes 50 × that (600 steps) later, not after 3 s (15 steps).
        let used = run(&mut choice, &mut now, 700, |t| {
            ms(if t == 2 { 200.0 } else { 400.0 })
        });
        let ones: Vec<usize> = (0..used.len()).filter(|&i| used[i] == 1).collect();
        assert_eq!(ones.len(), 10, "two trials of one thread: {used:?}");
        assert_eq!(ones[5] - ones[4], 1 + 600 + 4, "{ones:?}");
    }
}
