//! `cargo xtask interop [--with-torch]`: nn's ONNX export checked by the real tools, and
//! with `--with-torch` its PyTorch state_dicts in both directions.
//!
//! Creates (once) a Python environment `<target>/interop-venv` with the pinned packages of
//! `bench/interop/requirements.txt` (onnx, onnxruntime, numpy, safetensors), writes the
//! models of nn-train's `onnx_models` example (one per layer kind, activation, encoder
//! and pipeline task, in f32 and f64, each with input rows and nn's outputs for them)
//! into `<target>/interop/`, and runs `bench/interop/check_onnx.py` on them:
//! `onnx.checker.check_model`, then ONNX Runtime compared with nn (≤ 1e-5 in f32,
//! ≤ 1e-12 in f64). Then `bench/interop/check_reader.py` checks the Python reader
//! `docs/python/nn_model.py` on the same models, and against the release `nn train` /
//! `nn predict` on the bundled data sets. It prints the tool versions and the worst
//! difference per model, and fails if any model fails. It needs PyPI the first time, so
//! it is not part of `check`.
//!
//! `--with-torch` also installs `bench/interop/requirements-torch.txt` (torch, pinned as
//! the bench's peer) into the same environment, writes the state_dicts of nn-train's
//! `torch_models` example into `<target>/interop/torch/`, and runs
//! `bench/interop/check_torch.py`: each loads into the `torch.nn.Sequential` built from
//! its own `nn.torch_sequential` with `load_state_dict(strict=True)` and must predict what
//! nn does; then freshly initialised PyTorch models of the same architectures go through
//! the example's `import` (nn predicts, and exports them back), and nn's outputs must be
//! PyTorch's and the tensors exported back identical. Same tolerances.

use std::path::Path;
use std::process::{Command, ExitCode};

use crate::bench::{Paths, pip_install};

pub const USAGE: &str =
    "  interop  export a model per layer, activation and encoder to ONNX and check each
           with onnx.checker and ONNX Runtime against nn, and the Python reader against nn
           (Python venv in target/interop-venv)
          --with-torch   also PyTorch state_dicts, nn → torch and torch → nn → torch
                         (installs torch, several GB)";

pub fn run(args: &[String]) -> ExitCode {
    let with_torch = match args {
        [] => false,
        [flag] if flag == "--with-torch" => true,
        _ => {
            eprintln!("usage: cargo xtask interop [--with-torch]\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    match interop(with_torch) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("==> interop failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo run --quiet --release -p nn-train --example <example> -- <args>`.
fn run_example(example: &str, args: &[&str], out: &Path) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let status = Command::new(&cargo)
        .args([
            "run",
            "--quiet",
            "--release",
            "-p",
            "nn-train",
            "--example",
            example,
            "--",
        ])
        .args(args)
        .arg(out)
        .status()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the {example} example failed ({status})"))
    }
}

fn interop(with_torch: bool) -> Result<(), String> {
    let paths = Paths::locate()?;
    let python = venv(&paths.target.join("interop-venv"))?;
    pip_install(&python, &paths.root.join("bench/interop/requirements.txt"))?;
    if with_torch {
        println!("==> checking PyTorch (several GB on first install)");
        pip_install(
            &python,
            &paths.root.join("bench/interop/requirements-torch.txt"),
        )?;
    }
    let out = paths.target.join("interop");
    if out.exists() {
        std::fs::remove_dir_all(&out).map_err(|e| format!("clearing {}: {e}", out.display()))?;
    }
    println!("==> writing the models to {}", out.display());
    run_example("onnx_models", &[], &out)?;
    println!("==> checking them with onnx and ONNX Runtime");
    let onnx = Command::new(&python)
        .arg(paths.root.join("bench/interop/check_onnx.py"))
        .arg(&out)
        .status()
        .map_err(|e| format!("could not start {}: {e}", python.display()))?;
    if !onnx.success() {
        return Err(format!("check_onnx.py reported failures ({onnx})"));
    }
    check_reader(&paths, &python, &out)?;
    if with_torch {
        let dir = out.join("torch");
        println!("==> writing the state_dicts to {}", dir.display());
        run_example("torch_models", &["export"], &dir)?;
        println!("==> checking them with PyTorch, both ways");
        let example = paths.target.join("release/examples/torch_models");
        let status = Command::new(&python)
            .arg(paths.root.join("bench/interop/check_torch.py"))
            .arg(&dir)
            .arg(&example)
            .status()
            .map_err(|e| format!("could not start {}: {e}", python.display()))?;
        if !status.success() {
            return Err(format!("check_torch.py reported failures ({status})"));
        }
    }
    Ok(())
}

/// The Python reader `docs/python/nn_model.py` against nn: on the models just written,
/// and on the bundled data sets through the release `nn train` / `nn predict`
/// (`bench/interop/check_reader.py`).
fn check_reader(paths: &Paths, python: &Path, models: &Path) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    println!("==> building the nn command line (release)");
    let status = Command::new(&cargo)
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "nn-examples",
            "--bin",
            "nn",
        ])
        .status()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building nn failed ({status})"));
    }
    println!("==> checking the Python reader against nn");
    let status = Command::new(python)
        .arg(paths.root.join("bench/interop/check_reader.py"))
        .arg(models)
        .arg("--nn")
        .arg(paths.target.join("release").join("nn"))
        .arg("--data")
        .arg(paths.root.join("crates/nn-examples/data"))
        .arg("--work")
        .arg(models.join("reader"))
        .status()
        .map_err(|e| format!("could not start {}: {e}", python.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("check_reader.py reported failures ({status})"))
    }
}

/// The environment's Python, creating the environment if it is not there.
fn venv(dir: &Path) -> Result<std::path::PathBuf, String> {
    let python = dir.join("bin").join("python");
    if !python.exists() {
        println!("==> creating {} (python3 -m venv)", dir.display());
        let status = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(dir)
            .status()
            .map_err(|e| format!("python3 not found ({e}); install Python 3.10+"))?;
        if !status.success() {
            // A half-made venv would be mistaken for a good one next time.
            let _ = std::fs::remove_dir_all(dir);
            return Err(format!(
                "python3 -m venv failed ({status}); on Debian/Ubuntu install python3-venv"
            ));
        }
    }
    Ok(python)
}
