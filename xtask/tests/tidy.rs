//! Repository rules, enforced as ordinary tests so that `cargo test` keeps them.
//!
//! Each failure message says what to fix and where.

#![allow(clippy::panic)]

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

/// The packages of the workspace: the root and every directory with a `Cargo.toml` under
/// `crates/`, plus `xtask`.
fn package_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root().join("crates"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join("Cargo.toml").is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.push(root().join("xtask"));
    dirs.sort();
    dirs
}

/// Both licence files sit at the root and in every package (so that `cargo package` ships
/// them), each a copy of the root's, and the root's are the standard texts.
#[test]
fn every_package_carries_both_licences() {
    let mut problems = Vec::new();
    for (name, marks) in [
        (
            "LICENSE-MIT",
            &[
                "Copyright (c) the nn developers",
                "Permission is hereby granted",
            ][..],
        ),
        (
            "LICENSE-APACHE",
            &[
                "Apache License",
                "Version 2.0, January 2004",
                "END OF TERMS AND CONDITIONS",
                "Copyright the nn developers",
            ][..],
        ),
    ] {
        let Ok(text) = fs::read_to_string(root().join(name)) else {
            problems.push(format!("{name} is missing at the root"));
            continue;
        };
        for mark in marks {
            if !text.contains(mark) {
                problems.push(format!("{name} at the root lacks {mark:?}"));
            }
        }
        for dir in package_dirs() {
            match fs::read_to_string(dir.join(name)) {
                Ok(copy) if copy == text => {}
                Ok(_) => problems.push(format!("{} differs from the root's", rel(&dir.join(name)))),
                Err(_) => problems.push(format!("{} is missing", rel(&dir.join(name)))),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "copy the root's licence files into every package:\n{}",
        problems.join("\n")
    );
}

/// No manifest names a placeholder URL (`example.invalid`, `example.com`, …): a
/// `repository`, `homepage` or `documentation` field is real or absent.
#[test]
fn no_placeholder_urls_in_manifests() {
    let mut found = Vec::new();
    let mut manifests = vec![root().join("Cargo.toml")];
    manifests.extend(package_dirs().iter().map(|d| d.join("Cargo.toml")));
    for manifest in manifests {
        let text = fs::read_to_string(&manifest).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            if [
                "example.invalid",
                "example.com",
                "example.org",
                "example.net",
            ]
            .iter()
            .any(|p| line.contains(p))
            {
                found.push(format!("{}:{}: {}", rel(&manifest), i + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "remove the placeholder or give the real URL:\n{}",
        found.join("\n")
    );
}

/// `1.89.0` → `[1, 89, 0]`; `None` for anything that is not dotted numbers.
fn version_numbers(v: &str) -> Option<Vec<u64>> {
    let mut parts: Vec<u64> = v
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    parts.resize(3, 0);
    Some(parts)
}

/// The value of the first `key = "value"` line of a manifest.
fn manifest_string(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The workspace's `rust-version` is at least every dependency's: for each registry
/// package that the five crates build (`cargo tree -e normal,build`, the versions in
/// Cargo.lock), the `rust-version` of its own manifest under
/// `$CARGO_HOME/registry/src/*/<name>-<version>/`.
#[test]
fn rust_version_covers_every_dependency() {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap_or_default();
    let declared = manifest_string(&manifest, "rust-version").unwrap_or_default();
    let Some(declared_numbers) = version_numbers(&declared) else {
        panic!("the root Cargo.toml must declare `rust-version = \"1.xx\"`, found {declared:?}");
    };

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut args = vec![
        "tree",
        "--offline",
        "-e",
        "normal,build",
        "--prefix",
        "none",
    ];
    for name in [
        "nn-core",
        "nn-activations",
        "nn-init",
        "nn-train",
        "nn-examples",
    ] {
        args.extend(["-p", name]);
    }
    let out = std::process::Command::new(&cargo)
        .args(&args)
        .current_dir(root())
        .output();
    let out = match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => panic!(
            "`cargo {}` failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("cannot run {cargo}: {e}"),
    };
    let mut packages: Vec<(String, String)> = out
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (name, version) = (words.next()?, words.next()?.strip_prefix('v')?);
            // workspace members print their path: `nn-core v0.1.0 (/…/crates/nn-core)`
            let local = words.any(|w| w.contains('/'));
            (!local).then(|| (name.to_string(), version.to_string()))
        })
        .collect();
    packages.sort();
    packages.dedup();
    assert!(
        packages.iter().any(|(n, _)| n == "nalgebra"),
        "`cargo tree` listed no nalgebra: {out}"
    );

    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .unwrap_or_default();
    let sources: Vec<PathBuf> = fs::read_dir(cargo_home.join("registry").join("src"))
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    let mut missing = Vec::new();
    let mut highest: Option<(Vec<u64>, String)> = None;
    for (name, version) in &packages {
        let dir = format!("{name}-{version}");
        let Some(text) = sources
            .iter()
            .find_map(|s| fs::read_to_string(s.join(&dir).join("Cargo.toml")).ok())
        else {
            missing.push(dir);
            continue;
        };
        let Some(rv) = manifest_string(&text, "rust-version") else {
            continue;
        };
        let Some(numbers) = version_numbers(&rv) else {
            panic!("{dir} declares an unreadable rust-version {rv:?}");
        };
        if highest.as_ref().is_none_or(|(h, _)| numbers > *h) {
            highest = Some((numbers, format!("{dir} (rust-version {rv})")));
        }
    }
    assert!(
        missing.is_empty(),
        "cannot read the rust-version of {} packages: their sources are not under {}/registry/src \
         (run `cargo fetch`, or set CARGO_HOME to where they are): {missing:?}",
        missing.len(),
        cargo_home.display()
    );
    let Some((highest, who)) = highest else {
        panic!("no dependency declares a rust-version; the check read nothing");
    };
    assert!(
        declared_numbers >= highest,
        "the workspace declares rust-version {declared}, lower than {who}: raise it in the root \
         Cargo.toml"
    );
}
