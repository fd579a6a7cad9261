//! What the command-line tests share: running the `nn` binary, and a scratch directory.

// Each test crate uses some of these helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
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

/// The path as text (the test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Exit status 1, no panic and exactly one `error:` line; returns stderr.
pub fn one_error(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    stderr
}
