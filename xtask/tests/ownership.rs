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

#[test]
fn libraries_print_nothing() {
    let files = library_files();
    let mut hits = Vec::new();
    for macro_call in ["println!", "eprintln!", "print!(", "eprint!(", "dbg!("] {
        hits.extend(code_lines_with(&files, macro_call));
    }
    assert!(
        hits.is_empty(),
        "library code prints; report progress through nn_train::Observer and problems as \
         errors:\n{}",
        hits.join("\n")
    );
}

#[test]
fn only_gemm_into_multiplies_matrices_on_the_hot_path() {
    let mut files = Vec::new();
    for dir in [
        "crates/nn-core/src",
        "crates/nn-activations/src",
        "crates/nn-train/src/layers",
        "crates/nn-train/src/network",
        "crates/nn-train/src/loss.rs",
        "crates/nn-train/src/optim",
        "crates/nn-train/src/train",
    ] {
        let path = root().join(dir);
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else {
            files.push((
                path.clone(),
                fs::read_to_string(&path).expect("source file"),
            ));
        }
    }
    files.retain(|(p, _)| !p.ends_with("gemm.rs"));
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut hits = Vec::new();
    // `.transpose()` of a matrix, not of an `Option` of a `Result` (`.transpose()` after
    // `map`/`ok`): the matrix forms are what a product would be built from.
    for call in [
        "tr_mul",
        "gemm_tr",
        ").transpose() *",
        ".transpose() *",
        ".mul_to(",
        ".gemm(",
    ] {
        hits.extend(code_lines_with(&files, call));
    }
    assert!(
        hits.is_empty(),
        "a product outside nn_core::gemm_into (fold the transpose into its call):\n{}",
        hits.join("\n")
    );
}

#[test]
fn randomness_comes_from_seeded_rng_only() {
    let files: Vec<_> = library_files()
        .into_iter()
        .filter(|(p, _)| !p.starts_with(root().join("crates/nn-init")))
        .collect();
    let mut hits = Vec::new();
    for source in ["rand::", "StdRng", "thread_rng", "rand_distr", "getrandom"] {
        hits.extend(code_lines_with(&files, source));
    }
    assert!(
        hits.is_empty(),
        "randomness outside nn_init::SeededRng (same seed, same bits, on every platform):\n{}",
        hits.join("\n")
    );
}

#[test]
fn random_streams_are_named_by_their_consumer() {
    // Everything but nn-init, which defines the streams (and tests its generator).
    let mut files = Vec::new();
    for entry in fs::read_dir(root().join("crates")).expect("crates/") {
        let dir = entry.expect("crate folder").path();
        if !dir.ends_with("nn-init") {
            rust_files(&dir, &mut files);
        }
    }
    rust_files(&root().join("xtask"), &mut files);
    files.retain(|(p, _)| !p.ends_with("ownership.rs"));
    let mut hits = code_lines_with(&files, "SeededRng::new(");
    hits.extend(code_lines_with(&files, "SeededRng::stream("));
    assert!(
        hits.is_empty(),
        "a generator on a raw stream id; use SeededRng::for_stream(seed, Stream::…) so that \
         no two consumers share a stream (add a Stream variant for a new consumer):\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_scan_sees_code_and_skips_comments() {
    let files = vec![(
        root().join("crates/example/src/lib.rs"),
        "// println!(\"a comment\")\nfn f() { println!(\"code\"); }\n".to_string(),
    )];
    assert_eq!(
        code_lines_with(&files, "println!"),
        ["crates/example/src/lib.rs:2"]
    );
}
