//! Repository rules, enforced as ordinary tests so that `cargo test` keeps them.
//!
//! Each failure message says what to fix and where.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn all_rust_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    rust_files(&root().join("xtask"), &mut files);
    files.sort();
    files
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

#[test]
fn every_file_opens_with_a_doc_comment() {
    let missing: Vec<String> = all_rust_files()
        .into_iter()
        .filter(|p| {
            let text = fs::read_to_string(p).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|p| rel(&p))
        .collect();
    assert!(
        missing.is_empty(),
        "add a `//!` comment saying what the file is for: {missing:?}"
    );
}

#[test]
fn no_should_panic_or_ignore() {
    let banned = ["#[should_panic", "#[ignore"];
    let mut found = Vec::new();
    for p in all_rust_files() {
        if p.ends_with("tidy.rs") {
            continue;
        }
        let text = fs::read_to_string(&p).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            if banned.iter().any(|b| line.trim_start().starts_with(b)) {
                found.push(format!("{}:{}", rel(&p), i + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "assert on the `Err` variant instead of #[should_panic]; give slow tests a smaller \
         case instead of #[ignore]: {found:?}"
    );
}

/// Library code (a crate's `src/`, outside `#[cfg(test)]` modules and binaries) must not
/// panic on user input, so it has no `unwrap`, `expect`, `panic!`, `todo!` or
/// `unimplemented!`.
#[test]
fn no_panicking_calls_in_library_code() {
    let banned = [
        ".unwrap()",
        ".expect(",
        "panic!(",
        "todo!(",
        "unimplemented!(",
    ];
    let mut found = Vec::new();
    for p in all_rust_files() {
        let s = p.to_string_lossy();
        if !s.contains("/src/") || s.contains("/xtask/") || s.contains("/bin/") {
            continue;
        }
        let text = fs::read_to_string(&p).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break; // test modules sit at the end of a file
            }
            let code = line.split("//").next().unwrap_or("");
            if banned.iter().any(|b| code.contains(b)) {
                found.push(format!("{}:{}: {}", rel(&p), i + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "return a Result instead of panicking:\n{}",
        found.join("\n")
    );
}

/// The crate chain: each crate depends on the one before it and on no later one.
#[test]
fn crate_chain_order() {
    let chain = [
        "nn-core",
        "nn-activations",
        "nn-init",
        "nn-train",
        "nn-examples",
    ];
    for (i, name) in chain.iter().enumerate() {
        let manifest = root().join("crates").join(name).join("Cargo.toml");
        let Ok(text) = fs::read_to_string(&manifest) else {
            continue;
        };
        let deps: Vec<&str> = chain
            .iter()
            .copied()
            .filter(|other| {
                other != name
                    && text.lines().any(|l| {
                        l.trim_start().starts_with(&format!("{other} "))
                            || l.trim_start().starts_with(&format!("{other}."))
                    })
            })
            .collect();
        let expected: Vec<&str> = if i == 0 { vec![] } else { vec![chain[i - 1]] };
        assert_eq!(
            deps, expected,
            "{name} must depend on exactly the crate before it in the chain {chain:?}"
        );
    }
}
