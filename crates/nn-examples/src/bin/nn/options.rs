//! From flags to the library's training configuration: the optimizer with its
//! hyper-parameters, the schedule, the stopping rules.

use nn_train::optim::{Adam, AdamW, Momentum, Nesterov, RmsProp, Sgd};
use nn_train::{Convergence, EarlyStopping, Optimizer, Schedule};

use crate::args::{OptimizerArg, TrainArgs};

/// The optimizer the flags describe (its ranges are checked by the library).
pub fn optimizer(a: &TrainArgs) -> Optimizer {
    let lr = a.lr;
    match a.optimizer {
        OptimizerArg::Sgd => Sgd { lr }.into(),
        OptimizerArg::Momentum => Momentum {
            lr,
            beta: a.momentum,
        }
        .into(),
        OptimizerArg::Nesterov => Nesterov {
            lr,
            beta: a.momentum,
        }
        .into(),
        OptimizerArg::Rmsprop => RmsProp {
            lr,
            rho: a.rho,
            eps: a.eps,
        }
        .into(),
        OptimizerArg::Adam => Adam {
            lr,
            beta1: a.beta1,
            beta2: a.beta2,
            eps: a.eps,
        }
        .into(),
        OptimizerArg::Adamw => AdamW {
            lr,
            beta1: a.beta1,
            beta2: a.beta2,
            eps: a.eps,
            weight_decay: a.weight_decay,
        }
        .into(),
    }
}

/// `--schedule`: `constant`, `step:EVERY:GAMMA`, `exponential:GAMMA`,
/// `cosine:EPOCHS[:MIN_FACTOR]`, `plateau[:PATIENCE[:FACTOR]]`.
pub fn schedule(s: &str) -> Result<Schedule, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let bad = || {
        format!(
            "--schedule: expected constant, step:EVERY:GAMMA, exponential:GAMMA, \
             cosine:EPOCHS[:MIN_FACTOR] or plateau[:PATIENCE[:FACTOR]], found `{s}`"
        )
    };
    let int = |p: &str| p.parse::<usize>().map_err(|_| bad());
    let num = |p: &str| p.parse::<f64>().map_err(|_| bad());
    let schedule = match parts.as_slice() {
        ["constant"] => Schedule::Constant,
        ["step", every, gamma] => Schedule::Step {
            every: int(every)?,
            gamma: num(gamma)?,
        },
        ["exponential", gamma] => Schedule::Exponential { gamma: num(gamma)? },
        ["cosine", epochs] => Schedule::Cosine {
            epochs: int(epochs)?,
            min_factor: 0.0,
        },
        ["cosine", epochs, min] => Schedule::Cosine {
            epochs: int(epochs)?,
            min_factor: num(min)?,
        },
        ["plateau", rest @ ..] if rest.len() <= 2 => Schedule::ReduceOnPlateau {
            patience: rest.first().map_or(Ok(10), |p| int(p))?,
            factor: rest.get(1).map_or(Ok(0.1), |p| num(p))?,
            threshold: 1e-4,
            cooldown: 0,
            min_factor: 0.0,
        },
        _ => return Err(bad()),
    };
    if schedule.is_valid() {
        Ok(schedule)
    } else {
        Err(format!(
            "--schedule `{s}`: a parameter is out of range ({})",
            bad()
        ))
    }
}

/// The validation fraction: `auto` is 0.1 for `rows ≥ 2000`, else 0.
pub fn validation_fraction(s: &str, rows: usize) -> Result<f64, String> {
    if s == "auto" {
        return Ok(if rows >= AUTO_VALIDATION_ROWS {
            0.1
        } else {
            0.0
        });
    }
    match s.parse::<f64>() {
        Ok(v) if (0.0..1.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "--validation: expected `auto` or a fraction in [0, 1), found `{s}`"
        )),
    }
}

/// Rows from which `--validation auto` holds out a tenth: 200 validation rows estimate a
/// cost well enough to stop on; below that, every row is worth more for training.
pub const AUTO_VALIDATION_ROWS: usize = 2000;

/// With validation data: early stopping on its cost; without: scikit-learn's rule on the
/// training cost.
pub fn stopping(a: &TrainArgs, validated: bool) -> (Option<EarlyStopping>, Option<Convergence>) {
    if validated {
        let early = (a.patience > 0).then(|| EarlyStopping {
            min_delta: a.min_delta,
            ..EarlyStopping::new(a.patience)
        });
        (early, None)
    } else {
        // scikit-learn stops once the count of epochs without progress exceeds
        // `n_iter_no_change`; the library's rule stops when it reaches `patience`.
        let converge = (a.n_iter_no_change > 0).then_some(Convergence {
            tol: a.tol,
            patience: a.n_iter_no_change + 1,
        });
        (None, converge)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse() {
        assert_eq!(schedule("constant"), Ok(Schedule::Constant));
        assert_eq!(
            schedule("step:10:0.5"),
            Ok(Schedule::Step {
                every: 10,
                gamma: 0.5
            })
        );
        assert!(matches!(
            schedule("plateau:5"),
            Ok(Schedule::ReduceOnPlateau { patience: 5, .. })
        ));
        assert!(schedule("step:10").is_err());
        assert!(schedule("cosine:0").is_err());
        assert!(schedule("linear").is_err());
    }

    #[test]
    fn validation_auto_depends_on_size() {
        assert_eq!(validation_fraction("auto", 150), Ok(0.0));
        assert_eq!(validation_fraction("auto", 5000), Ok(0.1));
        assert_eq!(validation_fraction("0.25", 10), Ok(0.25));
        assert!(validation_fraction("1", 10).is_err());
    }
}
