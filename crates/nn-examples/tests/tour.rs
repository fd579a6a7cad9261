//! The `tour` binary end to end: `--quick` runs every claim, prints the table, exits 0, and
//! writes an index that lists every figure, each a well-formed SVG file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

fn tour(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tour"))
        .args(args)
        .output()
        .expect("run tour")
}

#[test]
fn quick_tour_passes_every_claim_and_writes_valid_figures() {
    let out_dir = std::env::temp_dir().join(format!("nn-tour-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out_dir);
    let out = tour(&["--quick", "--out", out_dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tour --quick failed:\n{stdout}\n{stderr}"
    );

    let ids: Vec<&str> = nn_examples::experiments::all()
        .iter()
        .map(|e| e.id)
        .collect();
    for id in &ids {
        let row = stdout.lines().find(|l| l.starts_with(&format!("{id} ")));
        let row = row.unwrap_or_else(|| panic!("no row for {id} in:\n{stdout}"));
        assert!(row.ends_with("| PASS"), "{row}");
    }

    let index = std::fs::read_to_string(out_dir.join("index.html")).unwrap();
    let figures: Vec<&str> = index
        .split("<img src=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert!(!figures.is_empty(), "index lists no figures");
    for f in &figures {
        let path = out_dir.join(f);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{f} is not well-formed: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg", "{f}");
    }
    // every SVG written is listed
    for entry in std::fs::read_dir(&out_dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if Path::new(&name).extension().is_some_and(|e| e == "svg") {
            assert!(
                figures.contains(&name.as_str()),
                "{name} is not in index.html"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn unknown_claim_is_a_usage_error() {
    let out = tour(&["--only", "T99", "--quick"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown claim") && stderr.contains("T4"),
        "{stderr}"
    );
}
