//! Things with one owner: the environment is read only by programs (binaries, benchmarks,
//! tests), never by a library; random streams are made only through `nn_init::Stream`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace root")
        .to_path_buf()
}

/// Every `.rs` file under `dir` with its text.
fn rust_files(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in fs::read_dir(dir).expect("readable folder") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((
                path.clone(),
                fs::read_to_string(&path).expect("utf-8 source"),
            ));
        }
    }
}

/// Library code: every crate's `src/` except its binaries.
fn library_files() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(root().join("crates")).expect("crates/") {
        let src = entry.expect("crate folder").path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut out);
        }
    }
    out.retain(|(p, _)| !p.components().any(|c| c.as_os_str() == "bin"));
    out
}

/// Lines of code (not comments) containing `needle`, as `path:line`.
fn code_lines_with(files: &[(PathBuf, String)], needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for (path, text) in files {
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains(needle) {
                let rel = path.strip_prefix(root()).unwrap_or(path);
                hits.push(format!("{}:{}", rel.display(), i + 1));
            }
        }
    }
    hits
}

#[test]
fn libraries_read_no_environment_variables() {
    let files = library_files();
    assert!(files.len() > 50, "found only {} library files", files.len());
    let mut hits = code_lines_with(&files, "env::var");
    hits.extend(code_lines_with(&files, "env::vars"));
    assert!(
        hits.is_empty(),
        "a library reads the environment; take the value as a parameter and let the \
         program read it:\n{}",
        hits.join("\n")
    );
}
