//! `tour`: runs every experiment of the theory, prints `id | claim | measured | verdict`,
//! and writes the figures and an offline `index.html` (default `target/tour/`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use nn_examples::{Context, RunInfo, Size, experiments, table, write_index};

/// Runs the experiments behind the claims T1–T15 and reports each verdict.
#[derive(Debug, Parser)]
#[command(name = "tour", version)]
struct Args {
    /// Run only these claims, e.g. `--only T3,T10`.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Output directory for figures and index.html.
    #[arg(long, default_value = "target/tour")]
    out: PathBuf,
    /// Small configurations (seconds in total; what the tests run).
    #[arg(long)]
    quick: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let all = experiments::all();
    let wanted: Vec<String> = args.only.iter().map(|s| s.trim().to_uppercase()).collect();
    if let Some(bad) = wanted
        .iter()
        .find(|w| !all.iter().any(|e| e.id == w.as_str()))
    {
        let ids: Vec<&str> = all.iter().map(|e| e.id).collect();
        eprintln!("error: unknown claim {bad:?}; valid: {}", ids.join(", "));
        return ExitCode::from(2);
    }
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|e| wanted.is_empty() || wanted.iter().any(|w| w == e.id))
        .collect();
    let ctx = Context {
        size: if args.quick { Size::Quick } else { Size::Full },
        out_dir: args.out.clone(),
    };

    let bar = ProgressBar::new(chosen.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let start = Instant::now();
    let mut outcomes = Vec::new();
    let mut errors = Vec::new();
    for e in &chosen {
        bar.set_message(format!("{}: {}", e.id, e.claim));
        match e.outcome(&ctx) {
            Ok(o) => outcomes.push(o),
            Err(err) => errors.push(format!("{}: {err}", e.id)),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    print!("{}", table(&outcomes));
    for err in &errors {
        eprintln!("error: {err}");
    }
    let run = RunInfo {
        size: ctx.size,
        seconds: start.elapsed().as_secs_f64(),
    };
    match write_index(&args.out, &outcomes, &run) {
        Ok(path) => println!("figures and index: {}", path.display()),
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count() + errors.len();
    if failed > 0 {
        eprintln!("{failed} of {} claims not supported", chosen.len());
        ExitCode::FAILURE
    } else {
        println!("all {} claims supported", chosen.len());
        ExitCode::SUCCESS
    }
}
