//! `nn eval`: the model's report on a labelled table: accuracy, per-class precision,
//! recall and F1 with class names, macro and weighted averages, the confusion matrix,
//! log-loss and (binary) ROC AUC; or RMSE, MAE and R² in the label's units.

use nn_train::data::{Table, one_hot};

use nn_train::metrics::{ClassificationReport, RegressionReport};
use nn_train::persist::Model;
use nn_train::pipeline::class_indices;
use nn_train::serde_json::{self, Value};
use nn_train::{DMatrix, Scalar, Task};

use crate::CliResult;
use crate::args::EvalArgs;
use crate::model::{WithModel, inputs};
use crate::table;

fn e(err: impl std::fmt::Display) -> String {
    err.to_string()
}

impl WithModel for EvalArgs {
    fn run<T: Scalar>(&self, m: &Model<T>) -> CliResult<()> {
        let table = table::read(&self.csv)?;
        let trained_on = m
            .pipeline
            .as_ref()
            .map(|p| p.label().to_string())
            .or_else(|| m.label.clone());
        let label = table::label_name(&table, &self.csv, trained_on.as_deref())?;
        if m.pipeline.is_some()
            && let Some(trained) = &trained_on
            && *trained != label
        {
            return Err(format!(
                "{}: --label names `{label}`, but the model was trained to predict `{trained}`; \
                 rename the column or leave out --label",
                self.csv.data.display()
            ));
        }
        let task = m
            .network
            .loss()
            .map(|l| l.task())
            .ok_or("the model has no loss, so there is nothing to evaluate it against")?;
        let x = inputs(m, &table, &self.csv)?;
        let a = m.network.predict(&x).map_err(e)?;
        let (text, json) = match task {
            Task::Regression => {
                let y = numbers::<T>(&table, &label)?;
                let report =
                    RegressionReport::new(&m.unscale(&a), &y, Some(std::slice::from_ref(&label)))
                        .map_err(e)?;
                let mut json = serde_json::to_value(&report).map_err(e)?;
                // One label: its scores at the top level too.
                if let (Value::Object(top), Ok(Value::Object(mean))) =
                    (&mut json, serde_json::to_value(report.mean))
                {
                    top.extend(mean);
                    top.insert("task".into(), "regression".into());
                }
                (format!("examples: {}\n{report}", report.examples), json)
            }
            Task::Binary { .. } | Task::Multiclass => {
                let classes = m.classes.as_deref().ok_or(
                    "the model was saved without class names, so labels cannot be matched",
                )?;
                let y = classes_of::<T>(&table, &label, classes, task)?;
                let report = ClassificationReport::new(task, &a, &y, Some(classes)).map_err(e)?;
                let mut json = serde_json::to_value(&report).map_err(e)?;
                if let Value::Object(top) = &mut json {
                    top.insert("task".into(), "classification".into());
                }
                (format!("examples: {}\n{report}", report.examples), json)
            }
        };
        if self.json {
            println!("{}", serde_json::to_string_pretty(&json).map_err(e)?);
        } else {
            print!("{text}");
        }
        Ok(())
    }
}

/// The label column's cells as numbers `(1, m)`.
fn numbers<T: Scalar>(table: &Table, label: &str) -> CliResult<DMatrix<T>> {
    let column = table
        .column(label)
        .ok_or_else(|| format!("{}: no column `{label}`", table.source()))?;
    let mut y = DMatrix::zeros(1, table.n_rows());
    for r in 0..table.n_rows() {
        let v = column.number(r).ok_or_else(|| {
            format!(
                "{}: line {}: column `{label}`: expected a number to compare the prediction with, \
                 found `{}`",
                table.source(),
                table.line(r),
                column.text(r).unwrap_or("")
            )
        })?;
        y[(0, r)] = T::cast(v);
    }
    Ok(y)
}

/// The label column's classes as targets: one-hot columns, or one 0/1 row for a binary
/// task (each class found as [`class_indices`] finds it: `3.0` is class `3`).
fn classes_of<T: Scalar>(
    table: &Table,
    label: &str,
    classes: &[String],
    task: Task,
) -> CliResult<DMatrix<T>> {
    let indices = class_indices(table, label, classes).map_err(e)?;
    Ok(match task {
        Task::Multiclass => one_hot(&indices, classes.len()).map_err(e)?,
        _ => DMatrix::from_iterator(1, indices.len(), indices.iter().map(|&c| T::from_count(c))),
    })
}
