//! nn-train's folders form a stack: a module may use the modules below it and never one
//! above, and no two files of the crate import each other in a circle. The order is the
//! one written in docs/ARCHITECTURE.md ("Inside nn-train"), read from there.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace root")
        .to_path_buf()
}

/// The module order from docs/ARCHITECTURE.md: the line after the marker, a list of
/// module names in backticks separated by `→`, lowest first.
fn documented_order() -> Vec<String> {
    let text = fs::read_to_string(root().join("docs/ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let marker = "<!-- nn-train module order, lowest first -->";
    let line = text
        .lines()
        .skip_while(|l| l.trim() != marker)
        .nth(1)
        .unwrap_or_else(|| panic!("docs/ARCHITECTURE.md has no line after {marker}"));
    line.split('→')
        .map(|m| m.trim().trim_matches('`').to_string())
        .filter(|m| !m.is_empty())
        .collect()
}

/// Every `.rs` file under `dir`, as (path relative to `dir` with `/`, text).
fn sources(dir: &Path) -> Vec<(String, String)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in fs::read_dir(dir).expect("readable source folder") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(base).expect("under base");
                let rel = rel.to_string_lossy().replace('\\', "/");
                out.push((rel, fs::read_to_string(&path).expect("utf-8 source")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The code of a file without comments (line comments, doc comments) and string literals'
/// contents, so that only real paths are read.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            if c == '\\' {
                chars.next();
            } else if c == '"' {
                in_string = false;
                out.push('"');
            } else if c == '\n' {
                out.push('\n');
            }
            continue;
        }
        if c == '/' && chars.peek() == Some(&'/') {
            for c in chars.by_ref() {
                if c == '\n' {
                    out.push('\n');
                    break;
                }
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

/// The module path (`["layers", "dense"]`) a source file defines.
fn module_of(file: &str) -> Vec<String> {
    let stem = file.trim_end_matches(".rs");
    let mut parts: Vec<String> = stem.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// Splits a use tree such as `a::{b, c::{d, e}}` into its leaf paths.
fn leaves(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.to_string()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut parts, mut depth, mut cur) = (Vec::new(), 0, String::new());
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    parts
        .iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| leaves(p))
        .map(|leaf| format!("{prefix}{leaf}"))
        .collect()
}

/// Every path a file names through `crate::` or `super::`, as absolute module paths
/// (`["layers", "Dense"]`), from its `use` items and from paths written inline.
fn referenced_paths(file: &str, text: &str) -> Vec<Vec<String>> {
    let code = code_only(text);
    let here = module_of(file);
    let is_mod_file = file.ends_with("mod.rs") || file == "lib.rs";
    let mut out = Vec::new();
    let mut push = |path: &str| {
        let segs: Vec<String> = path
            .split("::")
            .map(|s| s.trim().trim_start_matches("self").to_string())
            .filter(|s| !s.is_empty() && s != "*")
            .map(|s| s.split(" as ").next().unwrap_or("").trim().to_string())
            .collect();
        let (start, rest): (Vec<String>, &[String]) = match segs.first().map(String::as_str) {
            Some("crate") => (Vec::new(), &segs[1..]),
            Some("super") => {
                let mut base = here.clone();
                // A non-mod file's `super` is its folder's module.
                if !is_mod_file || base.len() > 1 {
                    base.pop();
                }
                let mut i = 1;
                while segs.get(i).is_some_and(|s| s == "super") {
                    base.pop();
                    i += 1;
                }
                (base, &segs[i..])
            }
            _ => return,
        };
        let mut full = start;
        full.extend(rest.iter().cloned());
        out.push(full);
    };
    // `use` items (possibly over several lines).
    let mut rest = code.as_str();
    while let Some(pos) = rest.find("use ") {
        let before = rest[..pos].chars().last();
        rest = &rest[pos + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let end = rest.find(';').unwrap_or(rest.len());
        let tree: String = rest[..end].split_whitespace().collect::<Vec<_>>().join(" ");
        if tree.starts_with("crate::") || tree.starts_with("super::") {
            for leaf in leaves(&tree) {
                push(&leaf);
            }
        }
        rest = &rest[end..];
    }
    // Inline paths such as `crate::persist::write_atomic(…)`.
    for (i, _) in code.match_indices("crate::") {
        if code[..i].ends_with("use ") || code[..i].trim_end().ends_with('{') {
            continue;
        }
        let path: String = code[i..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        push(path.trim_end_matches(':'));
    }
    out
}

/// The files of a source tree and where each top-level module's items are defined.
struct Tree {
    /// Module path → the file that defines it.
    files: BTreeMap<Vec<String>, String>,
    /// (module path, name) → the module a facade re-exports `name` from.
    reexports: BTreeMap<(Vec<String>, String), Vec<String>>,
}

impl Tree {
    fn new(sources: &[(String, String)]) -> Tree {
        let mut files = BTreeMap::new();
        let mut reexports = BTreeMap::new();
        for (file, text) in sources {
            let module = module_of(file);
            files.insert(module.clone(), file.clone());
            for line in code_only(text).split(';') {
                let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
                let Some(tree) = line
                    .strip_prefix("pub use ")
                    .or_else(|| line.strip_prefix("pub(crate) use "))
                else {
                    continue;
                };
                for leaf in leaves(tree) {
                    let segs: Vec<&str> = leaf.split("::").map(str::trim).collect();
                    if segs.len() < 2 || segs[0] == "crate" || segs[0] == "super" {
                        continue;
                    }
                    let name = segs[segs.len() - 1].to_string();
                    let mut from = module.clone();
                    from.extend(segs[..segs.len() - 1].iter().map(|s| s.to_string()));
                    reexports.insert((module.clone(), name), from);
                }
            }
        }
        Tree { files, reexports }
    }

    /// The file a path's item lives in: the longest module prefix of the path that is a
    /// file, followed through a facade's re-export when the next segment is one.
    fn file_of(&self, path: &[String]) -> Option<String> {
        let mut module: Vec<String> = Vec::new();
        for seg in path {
            let mut next = module.clone();
            next.push(seg.clone());
            if self.files.contains_key(&next) {
                module = next;
            } else if let Some(from) = self.reexports.get(&(module.clone(), seg.clone())) {
                if self.files.contains_key(from) {
                    module = from.clone();
                }
                break;
            } else {
                break;
            }
        }
        self.files.get(&module).cloned()
    }
}

/// Checks a crate's sources against a module order; returns one message per violation:
/// a path through the crate root's re-exports, an import from a higher module, a cycle
/// between files.
fn check_layering(sources: &[(String, String)], order: &[String]) -> Vec<String> {
    let rank = |m: &str| order.iter().position(|o| o == m);
    let tree = Tree::new(sources);
    let mut problems = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, text) in sources {
        if file == "lib.rs" {
            continue;
        }
        let source_module = module_of(file);
        let Some(source_top) = source_module.first() else {
            continue;
        };
        let Some(source_rank) = rank(source_top) else {
            problems.push(format!(
                "{file}: module `{source_top}` is not in the documented order"
            ));
            continue;
        };
        for path in referenced_paths(file, text) {
            let Some(top) = path.first() else { continue };
            match rank(top) {
                None => problems.push(format!(
                    "{file}: `crate::{}` goes through the crate root; name the module it lives in",
                    path.join("::")
                )),
                Some(r) if r > source_rank => problems.push(format!(
                    "{file}: `{source_top}` imports `{}` from `{top}`, which is above it",
                    path.join("::")
                )),
                Some(_) => {}
            }
            if let Some(target) = tree.file_of(&path) {
                let facade_child = (file.ends_with("mod.rs"))
                    && module_of(&target).starts_with(&source_module)
                    && module_of(&target).len() > source_module.len();
                if target != *file && !facade_child {
                    edges.entry(file.clone()).or_default().insert(target);
                }
            }
        }
    }
    // Cycles between files: depth-first search with colours.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
        problems: &mut Vec<String>,
    ) {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|s| s == next).unwrap_or(0);
                    problems.push(format!(
                        "import cycle: {} → {next}",
                        stack[from..].join(" → ")
                    ));
                }
                Some(_) => {}
                None => visit(next, edges, state, stack, problems),
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node) {
            visit(node, &edges, &mut state, &mut Vec::new(), &mut problems);
        }
    }
    problems
}

fn nn_train_sources() -> Vec<(String, String)> {
    sources(&root().join("crates/nn-train/src"))
}

#[test]
fn nn_train_modules_import_only_downwards_and_without_cycles() {
    let order = documented_order();
    assert!(order.len() >= 10, "documented order too short: {order:?}");
    let sources = nn_train_sources();
    let problems = check_layering(&sources, &order);
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
    // Every top-level module of the crate is placed in the order.
    let tops: BTreeSet<String> = sources
        .iter()
        .filter_map(|(f, _)| module_of(f).first().cloned())
        .collect();
    let documented: BTreeSet<String> = order.iter().cloned().collect();
    assert_eq!(
        tops, documented,
        "modules in src/ versus the documented order"
    );
}

#[test]
fn an_upward_import_a_root_path_and_a_cycle_are_caught() {
    let order = documented_order();
    let mut sources = nn_train_sources();
    let lowest = order[0].clone();
    let highest = order[order.len() - 1].clone();
    // An upward import in the lowest module.
    sources.push((
        format!("{lowest}/upward.rs"),
        format!("//! test\nuse crate::{highest}::Something;\n"),
    ));
    let problems = check_layering(&sources, &order);
    assert!(
        problems.iter().any(|p| p.contains("which is above it")),
        "{problems:?}"
    );
    // A path through the crate root's re-exports.
    let sources2 = vec![(
        format!("{highest}.rs"),
        "//! test\nuse crate::{Result, TrainError};\n".to_string(),
    )];
    let problems = check_layering(&sources2, &order);
    assert_eq!(problems.len(), 2, "{problems:?}");
    // Two files of one module importing each other.
    let sources3 = vec![
        (
            format!("{highest}/mod.rs"),
            "//! m\nmod a;\nmod b;\n".to_string(),
        ),
        (
            format!("{highest}/a.rs"),
            "//! a\nuse super::b::B;\npub struct A;\n".to_string(),
        ),
        (
            format!("{highest}/b.rs"),
            format!("//! b\nuse crate::{highest}::a::A;\npub struct B;\n"),
        ),
    ];
    let problems = check_layering(&sources3, &order);
    assert!(
        problems.iter().any(|p| p.starts_with("import cycle")),
        "{problems:?}"
    );
    // Comments and strings are not imports.
    let sources4 = vec![(
        format!("{lowest}.rs"),
        format!("//! see [`crate::{highest}::X`]\nconst S: &str = \"crate::{highest}::Y\";\n"),
    )];
    assert!(check_layering(&sources4, &order).is_empty());
}
