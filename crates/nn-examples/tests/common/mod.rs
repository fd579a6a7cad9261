//! What the command-line tests share: running the `nn` binary, and a scratch directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the `nn` binary with `args`.
pub fn nn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nn"))
        .args(args)
        .output()
        .expect("run nn")
}

/// A fresh directory for one test (this process's id and the test's name).
pub fn dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nn-cli-test-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
