//! `nn train`: read the table, split off validation rows, fit the preprocessing on the
//! training rows, build and train the network, save it with its preprocessing.

use std::collections::BTreeMap;
use std::path::Path;

use nn_train::data::{Table, split_rows};
use nn_train::metrics::class_counts;
use nn_train::persist::{ModelWriter, check_writable, load_checkpoint};
use nn_train::pipeline::{
    NumericImpute, Pipeline, PipelineConfig, Scaling, TaskKind, class_name, resolve_task,
};
use nn_train::{
    Activation, DMatrix, FitConfig, History, Loss, Network, Scalar, TrainError, Trainer,
    TrainingError, balanced_class_weights,
};

use crate::CliResult;
use crate::args::{ImputeArg, ScaleArg, TaskArg, TrainArgs};
use crate::options::{optimizer, schedule, stopping, validation_fraction};
use crate::progress::{Progress, summary};
use crate::table;

fn e(err: TrainError) -> String {
    err.to_string()
}

/// Inputs and targets of one part of the table.
struct Part<T: Scalar> {
    x: DMatrix<T>,
    y: DMatrix<T>,
}

impl<T: Scalar> Part<T> {
    /// The rows of `table` through `pipeline`; two classes become one 0/1 row (the
    /// network has one sigmoid output).
    fn of(table: &Table, pipeline: &Pipeline) -> CliResult<Self> {
        let x = pipeline.transform::<T>(table).map_err(e)?;
        let mut y = pipeline.targets::<T>(table).map_err(e)?;
        if binary(pipeline) {
            y = y.rows(1, 1).into_owned();
        }
        Ok(Self { x, y })
    }
}

/// Two classes: one sigmoid output instead of a two-way softmax.
fn binary(pipeline: &Pipeline) -> bool {
    pipeline.classes().is_some_and(|c| c.len() == 2)
}

pub fn train<T: Scalar>(a: &TrainArgs) -> CliResult<()> {
    if a.epochs == 0 {
        return Err(
            "--epochs must be at least 1 (0 epochs would save an untrained network)".into(),
        );
    }
    // Where the results go must take a file before any time is spent training.
    for path in [Some(&a.out), a.history.as_ref(), a.checkpoint.as_ref()]
        .into_iter()
        .flatten()
    {
        check_writable(path).map_err(e)?;
    }
    let table = table::read(&a.csv)?;
    let resumed = match &a.resume {
        Some(path) => Some(resume::<T>(path)?),
        None => None,
    };
    // A resumed run keeps its pipeline and its seed, so it splits the rows as before.
    let (label, task, seed) = match &resumed {
        Some((_, trainer, p)) => (p.label().to_string(), p.task(), trainer.config().seed),
        None => {
            let label = table::label_name(&table, &a.csv, None)?;
            let requested = match a.task {
                TaskArg::Auto => None,
                TaskArg::Classify => Some(TaskKind::Classification),
                TaskArg::Regress => Some(TaskKind::Regression),
            };
            let task = resolve_task(&table, &label, requested).map_err(e)?;
            (label, task, a.seed)
        }
    };
    let fraction = validation_fraction(&a.validation, table.n_rows())?;
    let (train_table, val_table) = split(&table, &label, task, fraction, seed)?;
    let pipeline = match &resumed {
        Some((_, _, p)) => p.clone(),
        None => fit_pipeline(&train_table, label, task, a)?,
    };
    let train = Part::<T>::of(&train_table, &pipeline)?;
    let val = match &val_table {
        Some(t) => Some(Part::<T>::of(t, &pipeline)?),
        None => None,
    };
    let (mut net, mut trainer) = match resumed {
        Some((net, mut trainer, _)) => {
            trainer.set_epochs(a.epochs);
            trainer.set_threads(a.threads);
            (net, trainer)
        }
        None => {
            let net = build::<T>(a, &pipeline, &train)?;
            let (early_stopping, convergence) = stopping(a, val.is_some());
            let config = FitConfig {
                epochs: a.epochs,
                batch_size: a.batch_size.unwrap_or(train.x.ncols().min(200)),
                seed,
                optimizer: optimizer(a),
                schedule: schedule(&a.schedule)?,
                warmup_steps: a.warmup_steps,
                clip_norm: a.clip_norm,
                early_stopping,
                convergence,
                threads: a.threads,
                ..FitConfig::default()
            };
            (net, Trainer::new(config).map_err(e)?)
        }
    };
    if !a.quiet {
        eprint!("{}", net.summary());
        eprintln!(
            "training on {} rows{}",
            train.x.ncols(),
            val.as_ref().map_or(String::new(), |v| format!(
                ", validating on {}",
                v.x.ncols()
            ))
        );
    }
    let history = run(a, &mut net, &mut trainer, &pipeline, &train, val.as_ref())?;
    if let Some(path) = &a.history {
        history.save_csv(path).map_err(e)?;
    }
    if !a.quiet {
        eprint!(
            "{}",
            summary(&history, a.epochs, trainer.config().convergence.is_some())
        );
    }
    println!(
        "trained {} epochs on {} rows; saved {}",
        history.epochs.len(),
        train.x.ncols(),
        a.out.display()
    );
    Ok(())
}

/// Trains, saving checkpoints every `--checkpoint-every` epochs, and saves the model; a
/// run that diverges still saves the parameters training kept.
fn run<T: Scalar>(
    a: &TrainArgs,
    net: &mut Network<T>,
    trainer: &mut Trainer<T>,
    pipeline: &Pipeline,
    train: &Part<T>,
    val: Option<&Part<T>>,
) -> CliResult<History> {
    let save = |net: &Network<T>| {
        ModelWriter::new(net)
            .pipeline(pipeline)
            .save(&a.out)
            .map_err(e)
    };
    let mut progress = Progress::new(a.epochs, trainer.epoch, a.quiet);
    let every = a.checkpoint_every.max(1);
    let mut checkpoint = |net: &Network<T>, trainer: &Trainer<T>| match &a.checkpoint {
        Some(path) if trainer.epoch.is_multiple_of(every) => ModelWriter::new(net)
            .pipeline(pipeline)
            .save_checkpoint(path, trainer),
        _ => Ok(()),
    };
    let fitted = trainer.fit_with_hook(
        net,
        (&train.x, &train.y),
        val.map(|v| (&v.x, &v.y)),
        &mut progress,
        &mut checkpoint,
    );
    progress.finish();
    let history = match fitted {
        Ok(history) => history,
        Err(err @ TrainError::Training(TrainingError::Diverged { .. })) => {
            // The network holds the last good (or, with early stopping, the best)
            // parameters: keep them rather than losing the run.
            return Err(match save(net) {
                Ok(()) => format!(
                    "{err}\nsaved the parameters training kept to {}",
                    a.out.display()
                ),
                Err(save) => format!("{err}\nand saving them failed: {save}"),
            });
        }
        // A checkpoint that could not be written ends the run; the model is still saved.
        Err(err @ TrainError::Io { .. }) => {
            return Err(match save(net) {
                Ok(()) => format!(
                    "{err}\nsaved the model as trained so far to {}",
                    a.out.display()
                ),
                Err(save) => format!("{err}\nand saving the model failed: {save}"),
            });
        }
        Err(err) => return Err(e(err)),
    };
    if let Some(path) = &a.checkpoint {
        ModelWriter::new(&*net)
            .pipeline(pipeline)
            .save_checkpoint(path, trainer)
            .map_err(e)?;
    }
    save(net)?;
    Ok(history)
}

/// A checkpoint's network, trainer and pipeline.
fn resume<T: Scalar>(path: &Path) -> CliResult<(Network<T>, Trainer<T>, Pipeline)> {
    let c = load_checkpoint::<T>(path).map_err(e)?;
    let pipeline = c.pipeline.ok_or_else(|| {
        format!(
            "{}: the checkpoint has no preprocessing pipeline (it was not written by `nn train`)",
            path.display()
        )
    })?;
    Ok((c.network, c.trainer, pipeline))
}

/// The pipeline the flags ask for, fitted on the training rows.
fn fit_pipeline(
    train: &Table,
    label: String,
    task: TaskKind,
    a: &TrainArgs,
) -> CliResult<Pipeline> {
    let config = PipelineConfig {
        task: Some(task),
        impute: match a.impute {
            ImputeArg::Mean => NumericImpute::Mean,
            ImputeArg::Median => NumericImpute::Median,
        },
        scaling: match a.scale {
            ScaleArg::Standardize => Scaling::Standardize,
            ScaleArg::Minmax => Scaling::MinMax,
            ScaleArg::None => Scaling::None,
        },
        ..PipelineConfig::new(label)
    };
    Pipeline::fit(train, &config).map_err(e)
}

/// `(train, validation)` rows of `table` (all rows and none for `fraction = 0`),
/// stratified by class for classification.
fn split(
    table: &Table,
    label: &str,
    task: TaskKind,
    fraction: f64,
    seed: u64,
) -> CliResult<(Table, Option<Table>)> {
    if fraction == 0.0 {
        return Ok((table.clone(), None));
    }
    let classes = match (task, table.column(label)) {
        (TaskKind::Classification, Some(column)) => {
            // Rows grouped by class name (a missing label is a group of its own, refused
            // later with its line).
            let mut ids = BTreeMap::new();
            let rows: Vec<usize> = (0..table.n_rows())
                .map(|r| {
                    let name = column.text(r).map(class_name);
                    let next = ids.len();
                    *ids.entry(name).or_insert(next)
                })
                .collect();
            Some(rows)
        }
        _ => None,
    };
    let (train, val) = split_rows(table.n_rows(), classes.as_deref(), fraction, seed).map_err(e)?;
    Ok((
        table.take_rows(&train).map_err(e)?,
        Some(table.take_rows(&val).map_err(e)?),
    ))
}

/// The network the flags describe, for `pipeline`'s inputs and task.
fn build<T: Scalar>(a: &TrainArgs, pipeline: &Pipeline, train: &Part<T>) -> CliResult<Network<T>> {
    let hidden: Activation = a.activation.parse().map_err(
        |err: nn_train::nn_init::nn_activations::ActivationError| format!("--activation: {err}"),
    )?;
    let mut builder = Network::<T>::builder(pipeline.n_inputs())
        .l2(a.l2)
        .seed(a.seed);
    for &units in &a.layers.0 {
        builder = builder.dense(units, hidden);
        if a.dropout > 0.0 {
            builder = builder.dropout(a.dropout);
        }
    }
    let (out, loss) = match pipeline.classes() {
        None => (Activation::Identity, Loss::Mse),
        Some(_) if binary(pipeline) => (Activation::Sigmoid, Loss::BinaryCrossEntropy),
        Some(_) => (Activation::Softmax, Loss::CategoricalCrossEntropy),
    };
    builder = builder.dense(train.y.nrows(), out).loss(loss);
    if let Some(spec) = &a.class_weight {
        builder = builder.class_weights(class_weights(spec, pipeline, loss, train)?);
    }
    builder.build().map_err(e)
}

/// `--class-weight`: `balanced`, or `name=weight` for every class (for two classes the
/// weights are `[w_negative, w_positive]`, in class order).
fn class_weights<T: Scalar>(
    spec: &str,
    pipeline: &Pipeline,
    loss: Loss,
    train: &Part<T>,
) -> CliResult<Vec<f64>> {
    let Some(classes) = pipeline.classes() else {
        return Err("--class-weight needs a classification task".into());
    };
    if spec == "balanced" {
        let counts = class_counts(loss.task(), &train.y).map_err(e)?;
        return balanced_class_weights(&counts).map_err(e);
    }
    let mut given = BTreeMap::new();
    for part in spec.split(',') {
        let (name, w) = part.split_once('=').ok_or_else(|| {
            format!("--class-weight: expected `balanced` or name=weight,…; found `{part}`")
        })?;
        let w: f64 = w
            .parse()
            .map_err(|_| format!("--class-weight: `{w}` (class `{name}`) is not a number"))?;
        if !classes.iter().any(|c| c == name) {
            return Err(format!(
                "--class-weight: no class `{name}` (classes: {})",
                classes.join(", ")
            ));
        }
        given.insert(name.to_string(), w);
    }
    classes
        .iter()
        .map(|c| {
            given.get(c).copied().ok_or_else(|| {
                format!("--class-weight: no weight for class `{c}`; give one for every class")
            })
        })
        .collect()
}
