//! The command line's grammar: every subcommand, flag and default, with the help text
//! `nn … --help` prints.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::columns::ColumnRef;

/// Train, evaluate and use feed-forward networks on CSV tables.
///
/// `nn train` fits a network to a CSV file (numeric and text columns, missing values
/// allowed) and saves it, preprocessing included, in one safetensors file; `nn eval`
/// scores it on a labelled file, `nn predict` writes its predictions as CSV, `nn info`
/// describes it. Run `nn train --help` for the defaults and why they are what they are.
#[derive(Debug, Parser)]
#[command(name = "nn", version, about, long_about, allow_negative_numbers = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a network on a CSV file and save it.
    #[command(long_about = TRAIN_ABOUT, allow_negative_numbers = true)]
    Train(Box<TrainArgs>),
    /// Evaluate a saved network on a labelled CSV file.
    Eval(EvalArgs),
    /// Write the network's predictions for a CSV file as CSV to stdout (or --out).
    Predict(PredictArgs),
    /// Write a saved network in another format: ONNX, for ONNX Runtime and other servers,
    /// or a PyTorch state_dict.
    Export(ExportArgs),
    /// Make a model file from a PyTorch state_dict and the network's architecture.
    #[command(long_about = IMPORT_ABOUT)]
    Import(ImportArgs),
    /// Describe a saved network: layers, preprocessing, classes.
    Info {
        /// The model file.
        #[arg(long)]
        model: PathBuf,
    },
}

/// `nn train --help`'s description: what the defaults are and why.
const TRAIN_ABOUT: &str = "\
Train a network on a CSV file and save it.

The defaults are scikit-learn's MLPClassifier/MLPRegressor defaults; measured on iris,
wine, breast cancer, digits, diabetes and a 6,366-row survey table they score within 2
points of scikit-learn (the README has the table): one hidden layer of 100 ReLU units, Adam at learning rate 1e-3,
mini-batches of min(200, rows), L2 penalty 1e-4, and up to 200 epochs, stopping when the
training cost has not fallen by more than --tol for --n-iter-no-change epochs. Tables of
2,000 rows or more hold out 10% for validation and stop on the validation cost instead
(restoring the best epoch's parameters); smaller tables keep every row for training.

Preprocessing is fitted on the training rows only and stored in the model: missing values
(empty, NA, N/A, nan, NaN, null, ?) imputed per column (numbers by the mean, text by the
most frequent value), text columns one-hot encoded, every feature standardised. The task
is inferred from the label (text, or few distinct integers: classification; other
numbers: regression) unless --task says; a regression target is standardised for
training and predictions are returned in its units.";

/// What the label column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// Infer it from the label: text, or integers with few distinct values, are classes;
    /// other numbers a regression target.
    Auto,
    /// Class labels: softmax + cross-entropy, or sigmoid + binary cross-entropy for two
    /// classes.
    Classify,
    /// Numbers: identity output + mean squared error on the standardised target.
    Regress,
}

/// Floating-point type of the parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DtypeArg {
    /// 32-bit (fast).
    F32,
    /// 64-bit.
    F64,
}

/// The update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    /// Adam (β₁ --beta1, β₂ --beta2, ε --eps).
    Adam,
    /// AdamW: Adam with decoupled weight decay --weight-decay on weights.
    Adamw,
    /// Plain gradient descent.
    Sgd,
    /// Heavy-ball momentum (β --momentum).
    Momentum,
    /// Nesterov momentum (β --momentum).
    Nesterov,
    /// RMSProp (ρ --rho, ε --eps).
    Rmsprop,
}

/// How each feature is scaled after imputation and encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScaleArg {
    /// `(x − mean) / std` over the training rows.
    Standardize,
    /// `(x − min) / (max − min)` over the training rows, into [0, 1].
    Minmax,
    /// As read.
    None,
}

/// How missing numbers are filled in (text columns take their most frequent value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImputeArg {
    /// The column's mean over the training rows.
    Mean,
    /// The column's median over the training rows.
    Median,
}

/// Reading a CSV file.
#[derive(Debug, Clone, clap::Args)]
pub struct CsvArgs {
    /// The CSV file (optionally gzip-compressed).
    #[arg(long)]
    pub data: PathBuf,
    /// The label column: its header name, or `#index` for a 0-based position
    /// [default: the last column for train; the model's label for eval and predict].
    #[arg(long)]
    pub label: Option<ColumnRef>,
    /// The file has no header row (columns are then named by position, `#0`, `#1`, …).
    #[arg(long)]
    pub no_header: bool,
    /// The field separator, one character (`\t` for tab) [default: detected from the
    /// first line among `,` `;` and tab].
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Cells that mean "missing", comma-separated; an empty cell always does [default:
    /// NA, N/A, nan, NaN, null, ?].
    #[arg(long, value_delimiter = ',')]
    pub missing: Option<Vec<String>>,
}

/// `,` `;` `|`, or `\t` / `tab`, as one byte.
fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!(
            "expected one ASCII character (or `\\t` for tab), found `{s}`"
        )),
    }
}

/// Hidden layer sizes, input side first (empty: no hidden layer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layers(pub Vec<usize>);

/// Hidden layers: sizes, or `none`.
fn parse_layers(s: &str) -> Result<Layers, String> {
    if s == "none" || s.is_empty() {
        return Ok(Layers(Vec::new()));
    }
    s.split(',')
        .map(|p| match p.trim().parse::<usize>() {
            Ok(0) | Err(_) => Err(format!(
                "expected hidden layer sizes ≥ 1 separated by commas (e.g. 64,32) or `none`, \
                 found `{s}`"
            )),
            Ok(n) => Ok(n),
        })
        .collect::<Result<_, _>>()
        .map(Layers)
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Classification or regression.
    #[arg(long, value_enum, default_value = "auto")]
    pub task: TaskArg,
    /// Hidden layer sizes, e.g. 64,32, or `none` (logistic or linear regression).
    #[arg(long, default_value = "100", value_parser = parse_layers)]
    pub layers: Layers,
    /// Hidden activation, e.g. relu, tanh, gelu, leaky_relu(0.1).
    #[arg(long, default_value = "relu")]
    pub activation: String,
    /// Dropout rate after every hidden layer (0: none).
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f64,
    /// Most passes over the training data (≥ 1).
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// Examples per mini-batch [default: min(200, training rows)].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// The update rule.
    #[arg(long, value_enum, default_value = "adam")]
    pub optimizer: OptimizerArg,
    /// The base learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Adam's and AdamW's β₁.
    #[arg(long, default_value_t = 0.9)]
    pub beta1: f64,
    /// Adam's and AdamW's β₂.
    #[arg(long, default_value_t = 0.999)]
    pub beta2: f64,
    /// ε of Adam, AdamW and RMSProp.
    #[arg(long, default_value_t = 1e-8)]
    pub eps: f64,
    /// β of momentum and Nesterov.
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f64,
    /// ρ of RMSProp.
    #[arg(long, default_value_t = 0.9)]
    pub rho: f64,
    /// AdamW's decoupled weight decay λ.
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// Learning-rate schedule: `constant`, `step:EVERY:GAMMA`, `exponential:GAMMA`,
    /// `cosine:EPOCHS[:MIN_FACTOR]`, or `plateau[:PATIENCE[:FACTOR]]` (reduce the rate by
    /// FACTOR, default 0.1, when the monitored cost has not improved for PATIENCE epochs,
    /// default 10).
    #[arg(long, default_value = "constant")]
    pub schedule: String,
    /// Linear warm-up of the learning rate over this many steps.
    #[arg(long, default_value_t = 0)]
    pub warmup_steps: usize,
    /// Clip the global gradient norm to this value.
    #[arg(long)]
    pub clip_norm: Option<f64>,
    /// L2 penalty λ of J + λ/(2m)·Σ‖W‖² (scikit-learn's `alpha`).
    #[arg(long, default_value_t = 1e-4)]
    pub l2: f64,
    /// Class weights for the cross-entropy: `balanced` (n / (classes · n_c)), or
    /// `name=weight,…` for every class.
    #[arg(long)]
    pub class_weight: Option<String>,
    /// Fraction of the rows held out for validation (stratified for classes), or `auto`:
    /// 0.1 for tables of 2,000 rows or more, else none.
    #[arg(long, default_value = "auto")]
    pub validation: String,
    /// Early stopping on the validation cost: epochs without an improvement of more
    /// than --min-delta before stopping (0: never).
    #[arg(long, default_value_t = 10)]
    pub patience: usize,
    /// The smallest fall of the validation cost that counts as an improvement.
    #[arg(long, default_value_t = 1e-4)]
    pub min_delta: f64,
    /// Without validation data: stop when the training cost has not fallen by more than
    /// this for --n-iter-no-change epochs (scikit-learn's rule).
    #[arg(long, default_value_t = 1e-4)]
    pub tol: f64,
    /// See --tol (0: run every epoch).
    #[arg(long, default_value_t = 10)]
    pub n_iter_no_change: usize,
    /// How each feature is scaled.
    #[arg(long, value_enum, default_value = "standardize")]
    pub scale: ScaleArg,
    /// How missing numbers are filled in.
    #[arg(long, value_enum, default_value = "mean")]
    pub impute: ImputeArg,
    /// Parameter type.
    #[arg(long, value_enum, default_value = "f32")]
    pub dtype: DtypeArg,
    /// Seed of the weights, the validation split and the shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Threads for training steps (default: the NN_THREADS environment variable, else 1).
    /// The model is the same on any thread count; only the speed changes.
    #[arg(long, env = "NN_THREADS")]
    pub threads: Option<usize>,
    /// Where to save the model (safetensors).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the per-epoch history as CSV (epochs numbered from 1, as printed).
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// Save a checkpoint (model + optimizer state) to this file every --checkpoint-every
    /// epochs and at the end, to continue with --resume.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Epochs between checkpoints.
    #[arg(long, default_value_t = 1)]
    pub checkpoint_every: usize,
    /// Continue training from this checkpoint (its network, preprocessing and optimizer
    /// state) up to --epochs epochs in all; the data must have the same columns.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// No progress bar or per-epoch lines.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The model file.
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Threads a large batch is split across (default: the NN_THREADS environment
    /// variable, else 1).
    #[arg(long, env = "NN_THREADS", default_value_t = 1)]
    pub threads: usize,
}

/// Formats `nn export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// An ONNX graph (opset 17) taking rows: the network, the stored scaling in front of
    /// it and the outputs `probabilities` (or `prediction`) and `logits`. A model with a
    /// preprocessing pipeline takes its inputs after imputation and one-hot encoding, in
    /// the order the metadata's `nn.inputs` lists.
    Onnx,
    /// A PyTorch state_dict (safetensors) that loads with `load_state_dict(strict=True)`
    /// into the torch.nn.Sequential whose Python source is in its metadata,
    /// `nn.torch_sequential`; the network alone: a stored pipeline or encoder stays in the
    /// model file.
    Torch,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The model file.
    #[arg(long)]
    pub model: PathBuf,
    /// The format to write.
    #[arg(long, value_enum, default_value = "onnx")]
    pub format: ExportFormat,
    /// Where to write it.
    #[arg(long)]
    pub out: PathBuf,
}

/// `nn import --help`'s description.
const IMPORT_ABOUT: &str = "\
Make a model file from a PyTorch state_dict and the network's architecture.

The state_dict is a safetensors file of a torch.nn.Sequential of Linear, Conv2d, MaxPool2d,
AvgPool2d, Flatten, Dropout and activation modules, as
safetensors.torch.save_file(model.state_dict(), path) writes it. The architecture is nn's
layer list as JSON, the form of a model file's nn.architecture, for example

  {\"input\": {\"flat\": 4}, \"layers\": [
    {\"type\": \"dense\", \"units\": 16, \"activation\": \"relu\"},
    {\"type\": \"dense\", \"units\": 3, \"activation\": \"softmax\"}]}

for Sequential(Linear(4, 16), ReLU(), Linear(16, 3), Softmax(dim=1)): a dense or conv2d
layer is its Linear or Conv2d module followed by its activation's module (none for
identity), so the tensors are 0.weight, 0.bias, 2.weight, 2.bias. The loss is inferred
from the output (softmax: categorical cross-entropy, sigmoid: binary cross-entropy,
otherwise mse) unless \"loss\" says. A state_dict written by nn export --format torch
carries its architecture, and --arch may be left out.

The model has the state_dict's precision (float32 or float64 tensors) and no
preprocessing: nn predict reads its inputs as numbers, from the columns named by
--features, or every column but the label.";

/// `nn import`: a PyTorch state_dict into a model file.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The PyTorch state_dict (safetensors).
    #[arg(long)]
    pub torch: PathBuf,
    /// The architecture as nn's layer list (JSON) [default: the one stored in the
    /// state_dict by nn export --format torch].
    #[arg(long)]
    pub arch: Option<PathBuf>,
    /// A prefix of every tensor name before the module index, e.g. `model.` for
    /// model.0.weight.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// The class names in output order, comma-separated (two for a single sigmoid
    /// output): nn predict and nn eval then report classes.
    #[arg(long, value_delimiter = ',')]
    pub classes: Option<Vec<String>>,
    /// The input features' names in input order, comma-separated: nn predict reads these
    /// columns.
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// The label column's name (nn eval's default --label).
    #[arg(long)]
    pub label: Option<String>,
    /// Where to save the model (safetensors).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// The model file.
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Write to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Threads a large batch is split across (default: the NN_THREADS environment
    /// variable, else 1).
    #[arg(long, env = "NN_THREADS", default_value_t = 1)]
    pub threads: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_and_delimiters_parse() {
        assert_eq!(parse_layers("64,32"), Ok(Layers(vec![64, 32])));
        assert_eq!(parse_layers("none"), Ok(Layers(vec![])));
        assert!(parse_layers("64,0").is_err());
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert_eq!(parse_delimiter("\\t"), Ok(b'\t'));
        assert!(parse_delimiter(";;").is_err());
    }

    #[test]
    fn negative_numbers_are_values() {
        let cli =
            Cli::try_parse_from(["nn", "train", "--data", "d.csv", "--out", "m", "--lr", "-1"]);
        match cli.map(|c| c.command) {
            Ok(Command::Train(a)) => assert_eq!(a.lr, -1.0),
            other => panic!("expected a train command, found {other:?}"),
        }
    }
}
