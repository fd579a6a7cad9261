//! `nn predict`: the model's predictions for every row, as CSV: the predicted class and
//! one probability per class, or the predicted value in the label's units.

use std::io::Write;

use nn_train::persist::{Model, write_atomic};
use nn_train::{DMatrix, Scalar};

use crate::CliResult;
use crate::args::PredictArgs;
use crate::model::{WithModel, inputs};
use crate::table;

impl WithModel for PredictArgs {
    fn run<T: Scalar>(&self, m: &Model<T>) -> CliResult<()> {
        let table = table::read(&self.csv)?;
        let x = inputs(m, &table, &self.csv)?;
        let a = m.network.predict(&x).map_err(|e| e.to_string())?;
        let label = m
            .pipeline
            .as_ref()
            .map(|p| p.label().to_string())
            .or_else(|| m.label.clone())
            .unwrap_or_else(|| "prediction".into());
        let out = write_predictions(&m.unscale(&a), &label, m.classes.as_deref())?;
        match &self.out {
            // Built in memory, then written in one atomic step: a failed write (a full
            // disk) leaves an existing predictions file as it was.
            Some(path) => write_atomic(path, &out).map_err(|e| e.to_string()),
            None => {
                let mut stdout = std::io::stdout().lock();
                stdout
                    .write_all(&out)
                    .and_then(|()| stdout.flush())
                    .map_err(|e| format!("writing predictions: {e}"))
            }
        }
    }
}

/// The CSV text of outputs `a` (one column per input row): with class names, the
/// predicted class under the label's name and `p_<class>` for every class (a single
/// sigmoid output gives both classes' probabilities, the class by `p ≥ 0.5`); without,
/// one column per output (the label's name for one).
fn write_predictions<T: Scalar>(
    a: &DMatrix<T>,
    label: &str,
    classes: Option<&[String]>,
) -> CliResult<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |err: csv::Error| format!("writing predictions: {err}");
    match classes {
        Some(names) => {
            let mut header = vec![label.to_string()];
            header.extend(names.iter().map(|n| format!("p_{n}")));
            w.write_record(&header).map_err(io)?;
            for col in a.column_iter() {
                let (probs, best): (Vec<T>, usize) = if col.len() == 1 && names.len() == 2 {
                    let p = col[0];
                    (vec![T::one() - p, p], usize::from(p.to_f64() >= 0.5))
                } else {
                    let best = (0..col.len()).fold(0, |b, i| if col[i] > col[b] { i } else { b });
                    (col.iter().copied().collect(), best)
                };
                let mut record = vec![names.get(best).cloned().unwrap_or_default()];
                record.extend(probs.iter().map(ToString::to_string));
                w.write_record(&record).map_err(io)?;
            }
        }
        None => {
            let header: Vec<String> = if a.nrows() == 1 {
                vec![label.to_string()]
            } else {
                (0..a.nrows()).map(|i| format!("{label}_{i}")).collect()
            };
            w.write_record(&header).map_err(io)?;
            for col in a.column_iter() {
                w.write_record(col.iter().map(ToString::to_string))
                    .map_err(io)?;
            }
        }
    }
    w.into_inner()
        .map_err(|err| format!("writing predictions: {err}"))
}
