//! Training progress on stderr: a bar with the epoch, the costs and an ETA on a terminal,
//! one plain line per epoch otherwise; and the summary table printed at the end.

use indicatif::{ProgressBar, ProgressStyle};
use nn_train::{Control, EpochRecord, History, Observer, Stopped};

/// Shows each epoch's record (epochs numbered from 1, as the history file numbers them).
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar over `epochs` epochs starting at `done` (a resumed run), or nothing when
    /// `quiet`.
    pub fn new(epochs: usize, done: usize, quiet: bool) -> Self {
        let bar = (!quiet).then(|| {
            let bar = ProgressBar::new(epochs as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} epoch {pos}/{len} {msg} [{elapsed} elapsed, ETA {eta}]",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_position(done as u64);
            bar.reset_eta();
            bar
        });
        Self { bar }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// ` acc 0.953` or nothing.
fn accuracy(a: Option<f64>) -> String {
    a.map_or(String::new(), |a| format!(" acc {a:.3}"))
}

impl Observer for Progress {
    fn on_epoch(&mut self, r: &EpochRecord) -> Control {
        if let Some(bar) = &self.bar {
            let val = r.val_cost.map_or(String::new(), |v| {
                format!(" | val cost {v:.4}{}", accuracy(r.val_accuracy))
            });
            let line = format!(
                "epoch {:>4}: cost {:.4}{}{val} lr {:.3e}",
                r.epoch + 1,
                r.train_cost,
                accuracy(r.train_accuracy),
                r.learning_rate
            );
            bar.set_message(format!("cost {:.4}{val}", r.train_cost));
            bar.inc(1);
            if bar.is_hidden() {
                eprintln!("{line}"); // not a terminal: plain lines
            } else {
                bar.println(line);
            }
        }
        Control::Continue
    }
}

/// The end-of-training table: epochs run and why they ended (`converging`: the
/// convergence rule was on), the first, best and last epochs' costs and accuracies.
pub fn summary(history: &History, planned: usize, converging: bool) -> String {
    let Some(last) = history.epochs.last() else {
        return "no epochs were run\n".into();
    };
    let why = match history.stopped {
        None if converging => format!(
            "ran all {planned} epochs; the training cost was still falling by more than \
             --tol, so more --epochs may help"
        ),
        None => format!("ran all {planned} epochs"),
        Some(Stopped::EarlyStopping) => {
            "stopped early: the validation cost stopped improving".into()
        }
        Some(Stopped::Converged) => "stopped: the training cost stopped falling (--tol)".into(),
        Some(Stopped::Observer) => "stopped".into(),
    };
    let has_val = last.val_cost.is_some();
    let has_acc = last.train_accuracy.is_some();
    let mut out = format!("{} epochs; {why}\n", history.epochs.len());
    let mut head = format!("{:<12} {:>6} {:>11}", "", "epoch", "train cost");
    if has_acc {
        head += &format!(" {:>10}", "train acc");
    }
    if has_val {
        head += &format!(" {:>10}", "val cost");
        if has_acc {
            head += &format!(" {:>8}", "val acc");
        }
    }
    out += head.trim_end();
    out.push('\n');
    let mut row = |name: &str, r: &EpochRecord| {
        let mut line = format!("{name:<12} {:>6} {:>11.4}", r.epoch + 1, r.train_cost);
        let cell = |v: Option<f64>, w: usize| {
            v.map_or(format!(" {:>w$}", "—"), |v| format!(" {v:>w$.4}"))
        };
        if has_acc {
            line += &cell(r.train_accuracy, 10);
        }
        if has_val {
            line += &cell(r.val_cost, 10);
            if has_acc {
                line += &cell(r.val_accuracy, 8);
            }
        }
        out += &line;
        out.push('\n');
    };
    row("first", &history.epochs[0]);
    if let Some(best) = history.best_epoch.and_then(|b| history.epochs.get(b)) {
        row("best (kept)", best);
    }
    row("last", last);
    out
}
