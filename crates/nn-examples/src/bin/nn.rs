//! `nn`: train, evaluate and use networks on your own CSV data from the command line.
//!
//! ```text
//! nn train   --data train.csv --label species --layers 64,32 --activation relu \
//!            --epochs 50 --out model.safetensors
//! nn eval    --model model.safetensors --data test.csv
//! nn predict --model model.safetensors --data new.csv > predictions.csv
//! nn info    --model model.safetensors
//! ```
//!
//! Errors from the library reach the user as one line on stderr and a non-zero exit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use nalgebra::DMatrix;
use nn_train::Task as LossTask;
use nn_train::data::{
    CsvOptions, Dataset, LabelColumn, Targets, load_csv, load_csv_features, load_csv_header,
};
use nn_train::encode::{Encoder, EncoderKind};
use nn_train::metrics::{ConfusionMatrix, argmax_columns};
use nn_train::nn_core::DType;
use nn_train::persist::{
    Model, ModelNames, check_writable, load_model, model_dtype, save_model_named, write_atomic,
};
use nn_train::{
    Activation, Control, EarlyStopping, EpochRecord, FitConfig, Loss, Network, Observer, Optimizer,
    Scalar, TrainError, Trainer, TrainingError,
};

/// Train, evaluate and use feed-forward networks on CSV data.
#[derive(Debug, Parser)]
#[command(name = "nn", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a network on a CSV file and save it.
    Train(TrainArgs),
    /// Evaluate a saved network on a labelled CSV file.
    Eval(DataArgs),
    /// Write the network's predictions for a CSV file as CSV to stdout (or --out).
    Predict(PredictArgs),
    /// Print a saved network's summary.
    Info {
        /// The model file.
        #[arg(long)]
        model: PathBuf,
    },
}

/// What the label column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Task {
    /// Class labels (strings or integers): softmax + cross-entropy, or sigmoid + BCE for
    /// two classes.
    Classify,
    /// Numbers: identity output + mean squared error.
    Regress,
}

/// Floating-point type of the parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Dtype {
    /// 32-bit (fast).
    F32,
    /// 64-bit.
    F64,
}

#[derive(Debug, clap::Args)]
struct CsvArgs {
    /// The CSV file (optionally gzip-compressed).
    #[arg(long)]
    data: PathBuf,
    /// The label column: a header name or a 0-based index (default: the last column).
    #[arg(long)]
    label: Option<String>,
    /// The file has no header row.
    #[arg(long)]
    no_header: bool,
}

#[derive(Debug, clap::Args)]
struct TrainArgs {
    #[command(flatten)]
    csv: CsvArgs,
    /// Hidden layer sizes, e.g. 64,32 (none: logistic/linear regression).
    #[arg(long, value_delimiter = ',')]
    layers: Vec<usize>,
    /// Hidden activation, e.g. relu, tanh, gelu, leaky_relu(0.1).
    #[arg(long, default_value = "relu")]
    activation: String,
    /// Classification or regression.
    #[arg(long, value_enum, default_value = "classify")]
    task: Task,
    /// Passes over the training data.
    #[arg(long, default_value_t = 50)]
    epochs: usize,
    /// Examples per mini-batch.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// L2 penalty λ.
    #[arg(long, default_value_t = 0.0)]
    l2: f64,
    /// Fraction of the data held out for validation (stratified for classification).
    #[arg(long, default_value_t = 0.2)]
    validation: f64,
    /// Stop after this many epochs without validation improvement (0: never).
    #[arg(long, default_value_t = 10)]
    patience: usize,
    /// Do not standardise the inputs (z-score fitted on the training part).
    #[arg(long)]
    no_standardize: bool,
    /// Parameter type.
    #[arg(long, value_enum, default_value = "f32")]
    dtype: Dtype,
    /// Seed of weights, split and shuffling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threads for training steps (default: the NN_THREADS environment variable, else 1).
    /// The model is the same on any thread count; only the speed changes.
    #[arg(long, env = "NN_THREADS")]
    threads: Option<usize>,
    /// Where to save the model (safetensors).
    #[arg(long)]
    out: PathBuf,
    /// Also write the per-epoch history as CSV.
    #[arg(long)]
    history: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, clap::Args)]
struct DataArgs {
    /// The model file.
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    csv: CsvArgs,
    /// Threads a large batch is split across (default: the NN_THREADS environment
    /// variable, else 1).
    #[arg(long, env = "NN_THREADS", default_value_t = 1)]
    threads: usize,
}

#[derive(Debug, clap::Args)]
struct PredictArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The file has a label column to drop: the last one, or the one named by --label
    /// (otherwise every column is a feature).
    #[arg(long)]
    has_label: bool,
    /// Write to this file instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

type CliResult<T> = Result<T, String>;

fn label_column(label: &Option<String>) -> LabelColumn {
    match label {
        None => LabelColumn::Last,
        Some(s) => s
            .parse()
            .map_or_else(|_| LabelColumn::Name(s.clone()), LabelColumn::Index),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => match args.dtype {
            Dtype::F32 => train::<f32>(&args),
            Dtype::F64 => train::<f64>(&args),
        },
        Command::Eval(args) => with_model(&args.model, args.threads, |m| eval(m, &args)),
        Command::Predict(args) => {
            with_model(&args.data.model, args.data.threads, |m| predict(m, &args))
        }
        Command::Info { model } => with_model(&model, 1, |m| {
            info(m);
            Ok(())
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Loads a model in the precision it was saved in, lets it predict on `threads` threads,
/// and runs `f` on it.
fn with_model(
    path: &Path,
    threads: usize,
    f: impl FnOnce(AnyModel) -> CliResult<()>,
) -> CliResult<()> {
    let e = |e: nn_train::TrainError| e.to_string();
    match model_dtype(path).map_err(e)? {
        DType::F64 => {
            let mut m = load_model::<f64>(path).map_err(e)?;
            m.network.set_threads(threads);
            f(AnyModel::F64(m))
        }
        DType::F32 => {
            let mut m = load_model::<f32>(path).map_err(e)?;
            m.network.set_threads(threads);
            f(AnyModel::F32(m))
        }
    }
}

enum AnyModel {
    F32(Model<f32>),
    F64(Model<f64>),
}

fn info(model: AnyModel) {
    match model {
        AnyModel::F32(m) => print_info(&m),
        AnyModel::F64(m) => print_info(&m),
    }
}

fn print_info<T: Scalar>(m: &Model<T>) {
    print!("{}", m.network.summary());
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

/// Fails unless the CSV file's header names the model's features, in order (a model
/// without stored names, or a file without a header, is not checked).
fn check_columns<T: Scalar>(m: &Model<T>, path: &Path, options: &CsvOptions) -> CliResult<()> {
    if m.features.is_none() || !options.has_header {
        return Ok(());
    }
    let header = load_csv_header(path, options).map_err(|e| e.to_string())?;
    m.check_features(&header.features, &path.display().to_string())
        .map_err(|e| e.to_string())
}

/// CSV options for the model's task, so labels map to the classes it was trained on.
fn options_for<T: Scalar>(m: &Model<T>, csv: &CsvArgs) -> CsvOptions {
    let targets = match m.network.loss().map(|l| l.task()) {
        Some(LossTask::Multiclass) => Targets::OneHot,
        Some(LossTask::Binary { .. }) => Targets::Binary,
        Some(LossTask::Regression) | None => Targets::Regression,
    };
    CsvOptions {
        has_header: !csv.no_header,
        label: label_column(&csv.label),
        targets,
        classes: m.classes.clone(),
        ..CsvOptions::default()
    }
}

fn encoded<T: Scalar>(m: &Model<T>, x: &DMatrix<T>) -> CliResult<DMatrix<T>> {
    match &m.encoder {
        Some(e) => e.transform(x).map_err(|e| e.to_string()),
        None => Ok(x.clone()),
    }
}

fn eval(model: AnyModel, args: &DataArgs) -> CliResult<()> {
    match model {
        AnyModel::F32(m) => eval_typed(&m, args),
        AnyModel::F64(m) => eval_typed(&m, args),
    }
}

fn eval_typed<T: Scalar>(m: &Model<T>, args: &DataArgs) -> CliResult<()> {
    let e = |e: nn_train::TrainError| e.to_string();
    let options = options_for(m, &args.csv);
    check_columns(m, &args.csv.data, &options)?;
    let data: Dataset<T> = load_csv(&args.csv.data, &options).map_err(e)?;
    let x = encoded(m, data.x())?;
    let ev = m.network.evaluate(&x, data.y()).map_err(e)?;
    println!("examples: {}", data.len());
    println!("cost: {:.6}", ev.cost);
    if let Some(acc) = ev.accuracy {
        println!("accuracy: {:.4}", acc);
    }
    if m.network.loss().map(|l| l.task()) == Some(LossTask::Multiclass) {
        let a = m.network.predict(&x).map_err(e)?;
        let cm = ConfusionMatrix::from_outputs(&a, data.y()).map_err(e)?;
        println!("macro F1: {:.4}", cm.macro_f1());
        print!("{cm}");
    }
    Ok(())
}

fn predict(model: AnyModel, args: &PredictArgs) -> CliResult<()> {
    match model {
        AnyModel::F32(m) => predict_typed(&m, args),
        AnyModel::F64(m) => predict_typed(&m, args),
    }
}

fn predict_typed<T: Scalar>(m: &Model<T>, args: &PredictArgs) -> CliResult<()> {
    let e = |e: nn_train::TrainError| e.to_string();
    let csv = &args.data.csv;
    let options = CsvOptions {
        has_header: !csv.no_header,
        label: if args.has_label || csv.label.is_some() {
            label_column(&csv.label)
        } else {
            LabelColumn::None
        },
        ..CsvOptions::default()
    };
    check_columns(m, &csv.data, &options)?;
    let x: DMatrix<T> = load_csv_features(&csv.data, &options).map_err(e)?;
    let a = m.network.predict(&encoded(m, &x)?).map_err(e)?;
    // Built in memory, then written in one atomic step: a failed write (a full disk)
    // leaves an existing predictions file as it was.
    let mut out: Vec<u8> = Vec::new();
    let io = |err: std::io::Error| format!("writing predictions: {err}");
    let classes = m.classes.clone();
    match (m.network.loss().map(|l| l.task()), &classes) {
        (Some(LossTask::Multiclass), Some(names)) => {
            writeln!(
                out,
                "prediction,{}",
                names
                    .iter()
                    .map(|n| format!("p_{n}"))
                    .collect::<Vec<_>>()
                    .join(",")
            )
            .map_err(io)?;
            for (j, k) in argmax_columns(&a).into_iter().enumerate() {
                let probs: Vec<String> = a.column(j).iter().map(|p| format!("{p}")).collect();
                writeln!(out, "{},{}", names[k], probs.join(",")).map_err(io)?;
            }
        }
        // Probabilities, thresholded at 0.5 (a hinge's margins are printed as they are).
        (
            Some(LossTask::Binary {
                threshold_is_zero: false,
            }),
            Some(names),
        ) if names.len() == 2 => {
            writeln!(out, "prediction,p_{}", names[1]).map_err(io)?;
            for p in a.row(0).iter() {
                let k = usize::from(p.to_f64() >= 0.5);
                writeln!(out, "{},{p}", names[k]).map_err(io)?;
            }
        }
        _ => {
            let header: Vec<String> = (0..a.nrows()).map(|i| format!("output_{i}")).collect();
            writeln!(out, "{}", header.join(",")).map_err(io)?;
            for col in a.column_iter() {
                let row: Vec<String> = col.iter().map(|v| format!("{v}")).collect();
                writeln!(out, "{}", row.join(",")).map_err(io)?;
            }
        }
    }
    match &args.out {
        Some(path) => write_atomic(path, &out).map_err(e),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&out)
                .and_then(|()| stdout.flush())
                .map_err(io)
        }
    }
}

/// Shows training progress on stderr and keeps the last record for the summary line.
struct Progress {
    bar: Option<ProgressBar>,
}

impl Observer for Progress {
    fn on_epoch(&mut self, r: &EpochRecord) -> Control {
        if let Some(bar) = &self.bar {
            let acc = |a: Option<f64>| a.map_or(String::new(), |a| format!(" acc {a:.3}"));
            let val = r.val_cost.map_or(String::new(), |v| {
                format!(" | val cost {v:.4}{}", acc(r.val_accuracy))
            });
            bar.set_message(format!(
                "cost {:.4}{}{val}",
                r.train_cost,
                acc(r.train_accuracy)
            ));
            bar.inc(1);
            let line = format!(
                "epoch {:>4}: cost {:.4}{}{val}",
                r.epoch + 1,
                r.train_cost,
                acc(r.train_accuracy)
            );
            if bar.is_hidden() {
                eprintln!("{line}"); // not a terminal: plain lines
            } else {
                bar.println(line);
            }
        }
        Control::Continue
    }
}

fn train<T: Scalar>(args: &TrainArgs) -> CliResult<()> {
    let e = |e: nn_train::TrainError| e.to_string();
    let targets = match args.task {
        Task::Regress => Targets::Regression,
        Task::Classify => Targets::OneHot,
    };
    let options = CsvOptions {
        has_header: !args.csv.no_header,
        label: label_column(&args.csv.label),
        targets,
        ..CsvOptions::default()
    };
    // Where the results go must take a file before any time is spent training.
    check_writable(&args.out).map_err(e)?;
    if let Some(path) = &args.history {
        check_writable(path).map_err(e)?;
    }
    let mut data: Dataset<T> = load_csv(&args.csv.data, &options).map_err(e)?;
    let header = if options.has_header {
        Some(load_csv_header(&args.csv.data, &options).map_err(e)?)
    } else {
        None
    };
    let classes = data.class_names().map(<[String]>::to_vec);
    // Two classes: one sigmoid output instead of a two-way softmax.
    let binary = args.task == Task::Classify && data.n_outputs() == 2;
    if binary {
        let y = DMatrix::from_fn(1, data.len(), |_, j| data.y()[(1, j)]);
        data = Dataset::new(data.x().clone(), y).map_err(e)?;
    }
    if !(0.0..1.0).contains(&args.validation) {
        return Err(format!(
            "--validation must be in [0, 1), found {}",
            args.validation
        ));
    }
    let (train, val) = if args.validation > 0.0 {
        let (t, v) = if args.task == Task::Classify && !binary {
            data.split_stratified(args.validation, args.seed)
        } else {
            data.split(args.validation, args.seed)
        }
        .map_err(e)?;
        (t, Some(v))
    } else {
        (data, None)
    };
    let (encoder, x_train) = if args.no_standardize {
        (None, train.x().clone())
    } else {
        let (enc, x) = Encoder::fit_transform(EncoderKind::Standardize, train.x()).map_err(e)?;
        (Some(enc), x)
    };
    let x_val = match (&val, &encoder) {
        (Some(v), Some(enc)) => Some(enc.transform(v.x()).map_err(e)?),
        (Some(v), None) => Some(v.x().clone()),
        _ => None,
    };

    let hidden: Activation = args
        .activation
        .parse()
        .map_err(|err: nn_train::nn_init::nn_activations::ActivationError| err.to_string())?;
    let mut builder = Network::<T>::builder(train.n_features())
        .l2(args.l2)
        .seed(args.seed);
    for &units in &args.layers {
        builder = builder.dense(units, hidden);
    }
    let (out_act, loss) = match args.task {
        Task::Regress => (Activation::Identity, Loss::Mse),
        Task::Classify if binary => (Activation::Sigmoid, Loss::BinaryCrossEntropy),
        Task::Classify => (Activation::Softmax, Loss::CategoricalCrossEntropy),
    };
    let mut net = builder
        .dense(train.n_outputs(), out_act)
        .loss(loss)
        .build()
        .map_err(e)?;
    let config = FitConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        seed: args.seed,
        optimizer: Optimizer::adam(args.lr),
        early_stopping: (args.patience > 0).then(|| EarlyStopping::new(args.patience)),
        threads: args.threads,
        ..FitConfig::default()
    };
    let bar = (!args.quiet).then(|| {
        let bar = ProgressBar::new(args.epochs as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} epoch {pos}/{len} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    if !args.quiet {
        eprint!("{}", net.summary());
    }
    let mut progress = Progress { bar };
    let validation = match (&val, &x_val) {
        (Some(v), Some(x)) => Some((x, v.y())),
        _ => None,
    };
    let names = ModelNames {
        classes,
        features: header.as_ref().map(|h| h.features.clone()),
        label: header.and_then(|h| h.label),
    };
    let fitted = Trainer::new(config)
        .and_then(|mut t| t.fit(&mut net, (&x_train, train.y()), validation, &mut progress));
    if let Some(bar) = &progress.bar {
        bar.finish_and_clear();
    }
    let history = match fitted {
        Ok(history) => history,
        Err(err @ TrainError::Training(TrainingError::Diverged { .. })) => {
            // The network holds the last good (or, with early stopping, the best)
            // parameters: keep them rather than losing the run.
            return Err(
                match save_model_named(&args.out, &net, encoder.as_ref(), &names) {
                    Ok(()) => format!(
                        "{err}\nsaved the parameters training kept to {}",
                        args.out.display()
                    ),
                    Err(save) => format!("{err}\nand saving them failed: {save}"),
                },
            );
        }
        Err(err) => return Err(e(err)),
    };
    save_model_named(&args.out, &net, encoder.as_ref(), &names).map_err(e)?;
    if let Some(path) = &args.history {
        history.save_csv(path).map_err(e)?;
    }
    let last = history.epochs.last();
    let summary = match (history.best_epoch, last) {
        (Some(best), _) => {
            let r = &history.epochs[best];
            format!(
                "best epoch {}: val cost {:.4}{}",
                best + 1,
                r.val_cost.unwrap_or(r.train_cost),
                r.val_accuracy
                    .map_or(String::new(), |a| format!(", val accuracy {a:.4}"))
            )
        }
        (None, Some(r)) => format!("final train cost {:.4}", r.train_cost),
        (None, None) => "no epochs run".to_string(),
    };
    println!(
        "trained {} epochs; {summary}; saved {}",
        history.epochs.len(),
        args.out.display()
    );
    Ok(())
}
