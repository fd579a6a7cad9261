//! Each crate's examples compile in a project that depends on that crate alone, as a
//! user's program would: a doc example that names `nalgebra` (or anything else the crate
//! does not re-export) passes as a doctest inside the workspace, where the crate itself
//! depends on it, but fails with E0432 here.
//!
//! For every crate of the chain, a scratch project in `target/single-dependency/<crate>/`
//! depends on it by path and nothing else, and gets one binary per Rust block of the
//! crate's `README.md` and of its `lib.rs` crate docs (for nn-train also the workspace
//! README, whose examples use nn-train). The blocks become programs the way rustdoc makes
//! them (hidden `# ` lines kept, a `fn main` added when there is none), and
//! `cargo check --offline` compiles them (type-checks: what an import error needs) with the
//! workspace's Cargo.lock. The projects share
//! `target/single-dependency/target/`, and files are rewritten only when their text
//! changes, so a second run recompiles only what changed.

#![allow(clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A Rust code block: where it starts (`file:line` of its opening fence) and its code.
struct Block {
    origin: String,
    code: String,
}

/// Whether rustdoc compiles a fenced block with this info string: no language or `rust`,
/// with only rustdoc's own attributes besides, and neither `ignore` nor `compile_fail`.
fn is_compiled_rust(info: &str) -> bool {
    const ATTRIBUTES: [&str; 7] = [
        "rust",
        "no_run",
        "should_panic",
        "edition2015",
        "edition2018",
        "edition2021",
        "edition2024",
    ];
    info.split([',', ' '])
        .map(str::trim)
        .all(|t| t.is_empty() || ATTRIBUTES.contains(&t))
}

/// The compiled Rust blocks of a Markdown text; `name` and `first_line` place them.
fn rust_blocks(markdown: &str, name: &str, first_line: usize) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, bool, Vec<&str>)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match current.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let origin = format!("{name}:{}", first_line + i);
                    current = Some((origin, is_compiled_rust(info), Vec::new()));
                }
            }
            Some((origin, rust, lines)) if trimmed.starts_with("```") => {
                if rust {
                    blocks.push(Block {
                        origin,
                        code: lines.join("\n"),
                    });
                }
            }
            Some((origin, rust, mut lines)) => {
                lines.push(line);
                current = Some((origin, rust, lines));
            }
        }
    }
    blocks
}

/// The crate-level docs of a `lib.rs` (its opening `//!` lines), as Markdown.
fn crate_docs(lib: &str) -> String {
    lib.lines()
        .take_while(|l| l.starts_with("//!"))
        .map(|l| l.strip_prefix("//! ").unwrap_or(&l[3..]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A doc block as rustdoc compiles it: hidden lines (`# code`) shown, and, when the block
/// has no `fn main`, its code wrapped in one (returning the block's final
/// `Ok::<(), E>(())` as rustdoc does).
fn program(block: &Block) -> String {
    let code: Vec<String> = block
        .code
        .lines()
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            let rest = &line[indent..];
            if rest == "#" {
                String::new()
            } else if let Some(shown) = rest.strip_prefix("# ") {
                format!("{}{shown}", &line[..indent])
            } else if let Some(escaped) = rest.strip_prefix("##") {
                format!("{}#{escaped}", &line[..indent])
            } else {
                line.to_string()
            }
        })
        .collect();
    let code = code.join("\n");
    let header = format!("// From {}.\n", block.origin);
    if code.contains("fn main") {
        return format!("{header}{code}\n");
    }
    let returns_result = code
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.trim().starts_with("Ok") && l.trim().ends_with("(())"));
    if returns_result {
        format!(
            "{header}fn main() {{\n    fn example() -> Result<(), impl core::fmt::Debug> {{\n\
             {code}\n    }}\n    example().unwrap()\n}}\n"
        )
    } else {
        format!("{header}fn main() {{\n{code}\n}}\n")
    }
}

/// Writes `text` to `path` unless it already holds exactly that (keeping its timestamp, so
/// that cargo does not rebuild it).
fn write_if_changed(path: &Path, text: &str) {
    if fs::read_to_string(path).is_ok_and(|old| old == text) {
        return;
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    }
    fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// The examples that must compile with `krate` as the only dependency.
fn examples_of(krate: &str) -> Vec<Block> {
    let dir = root().join("crates").join(krate);
    let read = |p: &Path| {
        fs::read_to_string(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
    };
    let readme = read(&dir.join("README.md"));
    let mut blocks = rust_blocks(&readme, &format!("crates/{krate}/README.md"), 1);
    let lib = crate_docs(&read(&dir.join("src").join("lib.rs")));
    blocks.extend(rust_blocks(&lib, &format!("crates/{krate}/src/lib.rs"), 1));
    if krate == "nn-train" {
        let top = read(&root().join("README.md"));
        blocks.extend(rust_blocks(&top, "README.md", 1));
    }
    blocks
}

/// Builds `krate`'s examples in its scratch project; the compiler's complaints if not.
fn build_alone(krate: &str, blocks: &[Block]) -> Result<(), String> {
    let base = root().join("target").join("single-dependency");
    let project = base.join(krate);
    let path = root().join("crates").join(krate);
    let manifest = format!(
        "# Written by xtask/tests/single_dependency.rs: {krate}'s examples, built with {krate}\n\
         # as the only dependency.\n\
         [package]\n\
         name = \"alone-{krate}\"\n\
         version = \"0.0.0\"\n\
         edition = \"2024\"\n\
         publish = false\n\n\
         [dependencies]\n\
         {krate} = {{ path = {path:?} }}\n\n\
         [profile.dev]\n\
         debug = false\n\n\
         # Not a member of the nn workspace that surrounds it.\n\
         [workspace]\n",
        path = path.display().to_string()
    );
    write_if_changed(&project.join("Cargo.toml"), &manifest);
    // The workspace's versions, so that an offline build resolves without a registry
    // (cargo prunes what this project does not use; that rebuilds nothing).
    let lock = fs::read_to_string(root().join("Cargo.lock")).unwrap_or_default();
    fs::write(project.join("Cargo.lock"), lock)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", project.display()));
    let bin_dir = project.join("src").join("bin");
    let mut wanted = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let file = format!("example_{i:02}.rs");
        write_if_changed(&bin_dir.join(&file), &program(block));
        wanted.push(file);
    }
    // Examples that are gone from the docs go from the project too.
    for entry in fs::read_dir(&bin_dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !wanted.contains(&name) {
            let _ = fs::remove_file(entry.path());
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(&cargo)
        .args(["check", "--offline", "--bins", "--quiet"])
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", base.join("target"))
        .output()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let origins: Vec<String> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| format!("  src/bin/example_{i:02}.rs ← {}", b.origin))
        .collect();
    Err(format!(
        "{krate}'s examples do not build with {krate} as the only dependency (in {}):\n{}\n{stderr}",
        project.display(),
        origins.join("\n")
    ))
}

#[test]
fn every_crates_examples_build_with_it_as_the_only_dependency() {
    let mut failures = Vec::new();
    for krate in [
        "nn-core",
        "nn-activations",
        "nn-init",
        "nn-train",
        "nn-examples",
    ] {
        let blocks = examples_of(krate);
        assert!(
            !blocks.is_empty(),
            "{krate}: no Rust example in its README.md or crate docs"
        );
        if let Err(e) = build_alone(krate, &blocks) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "use the crate's re-exports (`nn_train::DMatrix`, `nn_core::nalgebra`, …) in its \
         examples:\n\n{}",
        failures.join("\n\n")
    );
}

/// The block extraction itself: languages, hidden lines and the `fn main` wrapper.
#[test]
fn doc_blocks_become_programs_as_rustdoc_makes_them() {
    let docs = "text\n```\nlet x = 1;\n# let y = x;\n```\n```text\nnot rust\n```\n\
                ```rust,no_run\nfn main() {}\n```\n```sh\ncargo run\n```\n\
                ```ignore\nbroken\n```\n```\nlet n: u8 = \"1\".parse()?;\n\
                # Ok::<(), std::num::ParseIntError>(())\n```\n";
    let blocks = rust_blocks(docs, "doc", 1);
    let origins: Vec<&str> = blocks.iter().map(|b| b.origin.as_str()).collect();
    assert_eq!(origins, ["doc:2", "doc:9", "doc:18"]);
    let first = program(&blocks[0]);
    assert!(
        first.contains("fn main() {\nlet x = 1;\nlet y = x;\n}"),
        "{first}"
    );
    assert_eq!(program(&blocks[1]), "// From doc:9.\nfn main() {}\n");
    let third = program(&blocks[2]);
    assert!(
        third.contains("fn example() -> Result<(), impl core::fmt::Debug>")
            && third.contains("Ok::<(), std::num::ParseIntError>(())"),
        "{third}"
    );
    assert_eq!(
        crate_docs("//! # Title\n//!\n//! text\n\nmod x;"),
        "# Title\n\ntext"
    );
}
