//! `nn`: train, evaluate and use networks on your own CSV tables from the command line.
//!
//! ```text
//! nn train   --data train.csv --label species --out model.safetensors
//! nn eval    --model model.safetensors --data test.csv
//! nn predict --model model.safetensors --data new.csv > predictions.csv
//! nn export  --model model.safetensors --format onnx --out model.onnx
//! nn export  --model model.safetensors --format torch --out state_dict.safetensors
//! nn import  --torch state_dict.safetensors --arch arch.json --out model.safetensors
//! nn info    --model model.safetensors
//! ```
//!
//! The modules, in the order a run meets them: `args` (the grammar and its defaults),
//! `columns` (naming a column), `table` (reading a CSV file as the user's flags say),
//! `options` (flags to the library's training configuration), `train`, `eval`, `predict`,
//! `model` (opening a model, `info`, `export`), `import` (a PyTorch state_dict into a
//! model file), `progress` (the bar and the summary table). Errors from the library reach the user as
//! one line on stderr and a non-zero exit.

mod args;
mod columns;
mod eval;
mod import;
mod model;
mod options;
mod predict;
mod progress;
mod table;
mod train;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, DtypeArg};

/// A command's outcome: `Err` is the message printed after `error: `.
pub type CliResult<T> = Result<T, String>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => match args.dtype {
            DtypeArg::F32 => train::train::<f32>(&args),
            DtypeArg::F64 => train::train::<f64>(&args),
        },
        Command::Eval(args) => model::with_model(&args.model, args.threads, &args),
        Command::Predict(args) => model::with_model(&args.model, args.threads, &args),
        Command::Export(args) => model::with_model(&args.model, 1, &args),
        Command::Import(args) => import::import(&args),
        Command::Info { model } => model::with_model(&model, 1, &model::Info),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
