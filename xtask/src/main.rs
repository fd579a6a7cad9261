//! Project automation, in plain Rust with no dependencies.
//!
//! `cargo xtask check` runs, in order, stopping at the first failure:
//! formatting, clippy with warnings denied, clippy on nn-train without its default
//! features (the inference-only build), every test, and the docs with rustdoc
//! warnings denied. CI runs exactly this command.
//!
//! `cargo xtask bench [--compare [--with-torch]] [--write]` measures the reference
//! workloads and prints a table (see `xtask/src/bench.rs`); it is never part of `check`.
//!
//! `cargo xtask tour-check` checks the tour's page in headless Chromium and writes
//! screenshots (see `xtask/src/tour_check.rs`); it is never part of `check` either.
//!
//! `cargo xtask interop` exports a model per layer kind, activation and encoder to ONNX
//! and checks each with `onnx.checker` and ONNX Runtime against nn, and with
//! `--with-torch` PyTorch state_dicts both ways (see `xtask/src/interop.rs`); it needs
//! PyPI once, so it is never part of `check`.
//!
//! `cargo xtask fuzz <target|all> [--seconds N]` runs libFuzzer on the fuzz targets
//! (needs nightly; see `xtask/src/fuzz.rs`); their stable form runs in `check`.

mod bench;
mod cores;
mod fuzz;
mod interop;
mod json;
mod tour_check;

use std::process::{Command, ExitCode};
use std::time::Instant;

/// One named step of a task: a cargo invocation and extra environment.
struct Step {
    name: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

const CHECK: &[Step] = &[
    Step {
        name: "format",
        args: &["fmt", "--all", "--check"],
        env: &[],
    },
    Step {
        name: "clippy",
        args: &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        env: &[],
    },
    // An inference-only build of nn-train: no CSV, no gzip, no thread pool.
    Step {
        name: "minimal features",
        args: &[
            "clippy",
            "-p",
            "nn-train",
            "--lib",
            "--no-default-features",
            "--",
            "-D",
            "warnings",
        ],
        env: &[],
    },
    Step {
        name: "tests",
        args: &["test", "--workspace"],
        env: &[],
    },
    Step {
        name: "docs",
        args: &["doc", "--workspace", "--no-deps"],
        env: &[("RUSTDOCFLAGS", "-D warnings")],
    },
];

fn run(steps: &[Step]) -> ExitCode {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let total = steps.len();
    for (i, step) in steps.iter().enumerate() {
        println!(
            "==> [{}/{total}] {}: cargo {}",
            i + 1,
            step.name,
            step.args.join(" ")
        );
        let start = Instant::now();
        let status = Command::new(&cargo)
            .args(step.args)
            .envs(step.env.iter().copied())
            .status();
        match status {
            Ok(s) if s.success() => {
                println!(
                    "==> {} passed in {:.1} s",
                    step.name,
                    start.elapsed().as_secs_f64()
                );
            }
            Ok(s) => {
                eprintln!(
                    "==> {} FAILED ({s}); fix it and rerun `cargo xtask check`",
                    step.name
                );
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("==> {} could not start cargo: {e}", step.name);
                return ExitCode::FAILURE;
            }
        }
    }
    println!("==> all {total} checks passed");
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check") => run(CHECK),
        Some("bench") => bench::run(&args[1..]),
        Some("tour-check") => tour_check::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("interop") => interop::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask check | bench [options] | tour-check | fuzz <target|all> [options] | interop [--with-torch]\n\n  check   fmt, clippy -D warnings (also nn-train without default features), tests, docs (what CI runs)\n{}\n{}\n{}\n{}",
                bench::USAGE,
                tour_check::USAGE,
                fuzz::USAGE,
                interop::USAGE
            );
            ExitCode::FAILURE
        }
    }
}
