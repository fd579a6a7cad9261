//! Opening a saved model in the precision it was saved in, `nn info` and `nn export`
//! (ONNX, or a PyTorch state_dict).

use std::path::Path;

use nn_train::data::Table;
use nn_train::nn_core::DType;
use nn_train::persist::onnx::save_onnx;
use nn_train::persist::save_torch;
use nn_train::persist::{Model, load_model, model_dtype};
use nn_train::pipeline::{Feature, NumericImpute, Scaling, Target};
use nn_train::{DMatrix, Scalar};

use crate::CliResult;
use crate::args::{CsvArgs, ExportArgs, ExportFormat};
use crate::columns::ColumnRef;

/// A command that runs on a loaded model of either precision.
pub trait WithModel {
    /// Runs on `model`.
    fn run<T: Scalar>(&self, model: &Model<T>) -> CliResult<()>;
}

/// Loads the model at `path` in the precision it was saved in, lets it predict on
/// `threads` threads, and runs `job` on it.
pub fn with_model(path: &Path, threads: usize, job: &impl WithModel) -> CliResult<()> {
    fn open<T: Scalar>(path: &Path, threads: usize) -> CliResult<Model<T>> {
        let mut m = load_model::<T>(path).map_err(|e| e.to_string())?;
        m.network.set_threads(threads);
        Ok(m)
    }
    match model_dtype(path).map_err(|e| e.to_string())? {
        DType::F64 => job.run(&open::<f64>(path, threads)?),
        DType::F32 => job.run(&open::<f32>(path, threads)?),
    }
}

impl WithModel for ExportArgs {
    fn run<T: Scalar>(&self, m: &Model<T>) -> CliResult<()> {
        if self.format == ExportFormat::Torch {
            save_torch(&self.out, &m.network).map_err(|e| e.to_string())?;
            let outside = match (&m.pipeline, &m.encoder) {
                (Some(_), _) => "; the preprocessing pipeline is not part of it: apply it first",
                (None, Some(_)) => "; the input encoder is not part of it: apply it first",
                (None, None) => "",
            };
            println!(
                "wrote {}: a state_dict for the torch.nn.Sequential in its metadata \
                 (nn.torch_sequential){outside}",
                self.out.display()
            );
            return Ok(());
        }
        save_onnx(&self.out, m).map_err(|e| e.to_string())?;
        let inputs = match &m.pipeline {
            Some(p) => format!(
                "; its inputs are the table's columns after imputation and one-hot encoding: {}",
                p.input_names().join(", ")
            ),
            None => String::new(),
        };
        println!("wrote {}{inputs}", self.out.display());
        Ok(())
    }
}

/// `nn info`: the network's summary, its preprocessing, task and classes.
pub struct Info;

impl WithModel for Info {
    fn run<T: Scalar>(&self, m: &Model<T>) -> CliResult<()> {
        print!("{}", m.network.summary());
        match &m.pipeline {
            Some(p) => {
                println!("label: {}", p.label());
                println!("features: {}", p.feature_names().join(", "));
                match p.target() {
                    Target::Classification { classes, .. } => {
                        println!("task: classification");
                        println!("classes: {}", classes.join(", "));
                    }
                    Target::Regression { shift, scale, .. } => println!(
                        "task: regression (trained on (y − {shift}) / {scale}; predictions in y's units)"
                    ),
                }
                let impute = match p.impute() {
                    NumericImpute::Mean => "the training mean",
                    NumericImpute::Median => "the training median",
                };
                let scaling = match p.scaling() {
                    Scaling::Standardize => "standardized",
                    Scaling::MinMax => "min-max scaled to [0, 1]",
                    Scaling::None => "not scaled",
                };
                println!(
                    "preprocessing: a missing number is {impute}, missing text the most frequent \
                     value; text one-hot; numbers {scaling}"
                );
                for f in p.features() {
                    match f {
                        Feature::Numeric {
                            name,
                            fill,
                            shift,
                            scale,
                        } => println!(
                            "  {name}: number (missing → {fill}; x' = (x − {shift}) / {scale})"
                        ),
                        Feature::Categorical {
                            name,
                            fill,
                            categories,
                        } => println!(
                            "  {name}: text, one-hot over {} categories: {} (missing → {fill}; unseen → all zeros)",
                            categories.len(),
                            categories.join(", ")
                        ),
                    }
                }
            }
            None => {
                match &m.encoder {
                    Some(e) => println!("input encoder: {}", e.kind()),
                    None => println!("input encoder: none"),
                }
                if let Some(classes) = &m.classes {
                    println!("classes: {}", classes.join(", "));
                }
                if let Some(features) = &m.features {
                    println!("features: {}", features.join(", "));
                }
                if let Some(label) = &m.label {
                    println!("label: {label}");
                }
            }
        }
        Ok(())
    }
}

/// The network's inputs for the rows of `table`: the model's preprocessing pipeline, or,
/// for a model saved without one (by an earlier `nn`), its feature columns by name, read
/// as numbers and passed through its encoder.
pub fn inputs<T: Scalar>(m: &Model<T>, table: &Table, csv: &CsvArgs) -> CliResult<DMatrix<T>> {
    if m.pipeline.is_some() {
        return m.prepare(table).map_err(|e| e.to_string());
    }
    let file = csv.data.display().to_string();
    let names: Vec<String> = match &m.features {
        Some(features) => features.clone(),
        None => {
            let label = match &csv.label {
                Some(c) => Some(c.resolve(table.names(), &file)?),
                None => m.label.as_deref().and_then(|l| table.column_index(l)),
            };
            (0..table.n_columns())
                .filter(|&i| Some(i) != label)
                .map(|i| table.names()[i].clone())
                .collect()
        }
    };
    let expected = m.network.input_shape().len();
    if names.len() != expected {
        return Err(format!(
            "{file}: the model takes {expected} feature columns, the file has {} ({})",
            names.len(),
            names.join(", ")
        ));
    }
    let mut x = DMatrix::zeros(names.len(), table.n_rows());
    for (i, name) in names.iter().enumerate() {
        let column = ColumnRef::Name(name.clone()).resolve(table.names(), &file)?;
        let column = table
            .column_at(column)
            .ok_or_else(|| format!("{file}: no column `{name}`"))?;
        for r in 0..table.n_rows() {
            let v = column.number(r).ok_or_else(|| {
                format!(
                    "{file}: line {}: column `{name}`: expected a number, found `{}` (this model \
                     was saved without preprocessing, so it takes numbers only)",
                    table.line(r),
                    column.text(r).unwrap_or("")
                )
            })?;
            x[(i, r)] = T::cast(v);
        }
    }
    match &m.encoder {
        Some(enc) => enc.transform(&x).map_err(|e| e.to_string()),
        None => Ok(x),
    }
}
