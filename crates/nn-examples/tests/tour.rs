//! The `tour` binary end to end: `--quick` runs every claim, prints the table (claims wrapped,
//! not cut), exits 0, and writes a page whose every section has its lesson, an equation in
//! MathML, figures with real captions and links to the source, and figures that are
//! well-formed SVG files, small, and lettered no smaller than the page can read. What only
//! a browser can check (images load, MathML is laid out) is `cargo xtask tour-check`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use nn_examples::plot::MIN_FONT_PX;

/// No figure may weigh more than this.
const MAX_FIGURE_BYTES: u64 = 300 * 1024;

/// All figures together may weigh no more than this.
const MAX_TOTAL_BYTES: u64 = 3 * 1024 * 1024;

fn tour(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tour"))
        .args(args)
        .output()
        .expect("run tour")
}

/// The text of `html` with its tags removed.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Every `<tag …>…</tag>` element's inner HTML in `html`.
fn elements<'a>(html: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    html.split(open)
        .skip(1)
        .map(|rest| {
            let inner = &rest[rest.find('>').map_or(0, |i| i + 1)..];
            &inner[..inner.find(close).unwrap_or(inner.len())]
        })
        .collect()
}

/// The value of attribute `name` in each occurrence of `name="…"`.
fn attributes<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    html.split(&format!("{name}=\""))
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect()
}

fn check_page(out_dir: &Path, ids: &[&str]) {
    let index = std::fs::read_to_string(out_dir.join("index.html")).unwrap();
    assert!(!index.contains("merror"), "a LaTeX error was rendered");
    assert!(index.contains("id=\"settings\""), "no run settings");
    let sections = elements(&index, "<section ", "</section>");
    assert_eq!(sections.len(), ids.len(), "one section per claim");
    for (id, section) in ids.iter().zip(&sections) {
        let lesson = elements(section, "<div class=\"lesson\"", "<figure");
        let lesson = text(lesson.first().unwrap_or_else(|| panic!("{id}: no lesson")));
        assert!(
            lesson.split_whitespace().count() >= 80,
            "{id}: the lesson is too short: {lesson}"
        );
        assert!(
            section.contains("<math display=\"block\""),
            "{id}: no display equation in MathML"
        );
        let reading = elements(section, "<div class=\"reading\"", "</div>");
        let reading = text(
            reading
                .first()
                .unwrap_or_else(|| panic!("{id}: no reading")),
        );
        assert!(
            reading.split_whitespace().count() >= 40,
            "{id}: what the numbers say is too short: {reading}"
        );
        let captions = elements(section, "<figcaption", "</figcaption>");
        let images = attributes(section, "src");
        assert!(!images.is_empty(), "{id}: no figure");
        assert_eq!(
            captions.len(),
            images.len(),
            "{id}: a figure without a caption"
        );
        for c in &captions {
            let c = text(c);
            assert!(
                c.split_whitespace().count() >= 15 && !c.contains(".svg"),
                "{id}: caption is not a description: {c}"
            );
        }
        // the source link resolves; docs links point into target/doc; back to top
        let links = elements(section, "<p class=\"links\"", "</p>");
        let hrefs = attributes(
            links.first().unwrap_or_else(|| panic!("{id}: no links")),
            "href",
        );
        let source = hrefs.first().unwrap();
        assert!(source.ends_with(".rs"), "{id}: {hrefs:?}");
        assert!(
            out_dir.canonicalize().unwrap().join(source).exists(),
            "{id}: source link {source} does not resolve"
        );
        assert!(
            hrefs.iter().any(|h| h.contains("target/doc/")),
            "{id}: {hrefs:?}"
        );
        assert!(hrefs.contains(&"#top"), "{id}: no way back to the top");
    }
}

fn check_figures(out_dir: &Path, index: &str) {
    let figures = attributes(index, "src");
    let mut total = 0;
    for f in &figures {
        let path = out_dir.join(f);
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= MAX_FIGURE_BYTES, "{f} weighs {size} bytes");
        total += size;
        let svg = std::fs::read_to_string(&path).unwrap();
        let doc = roxmltree::Document::parse(&svg)
            .unwrap_or_else(|e| panic!("{f} is not well-formed: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg", "{f}");
        // shown at its own size (the page never scales a figure up, only down on narrow
        // screens), every font is at least the minimum
        for node in doc.descendants().filter(|n| n.has_tag_name("text")) {
            let px: f64 = node.attribute("font-size").unwrap().parse().unwrap();
            assert!(px >= MIN_FONT_PX - 1e-9, "{f}: font of {px} px");
        }
        // regions and surfaces are one embedded PNG, not thousands of shapes
        assert!(doc.descendants().count() < 4000, "{f}: too many elements");
        for image in doc.descendants().filter(|n| n.has_tag_name("image")) {
            let href = image.attribute("href").unwrap();
            assert!(
                href.starts_with("data:image/png;base64,"),
                "{f}: {}",
                &href[..30]
            );
        }
    }
    assert!(total <= MAX_TOTAL_BYTES, "the figures weigh {total} bytes");
    // every SVG written is on the page
    for entry in std::fs::read_dir(out_dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if Path::new(&name).extension().is_some_and(|e| e == "svg") {
            assert!(
                figures.contains(&name.as_str()),
                "{name} is not in index.html"
            );
        }
    }
}

#[test]
fn quick_tour_passes_every_claim_and_writes_a_page_that_teaches() {
    let out_dir = std::env::temp_dir().join(format!("nn-tour-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out_dir);
    let out = tour(&["--quick", "--out", out_dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tour --quick failed:\n{stdout}\n{stderr}"
    );

    let experiments = nn_examples::experiments::all();
    let ids: Vec<&str> = experiments.iter().map(|e| e.id).collect();
    for e in &experiments {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{} ", e.id)));
        let row = row.unwrap_or_else(|| panic!("no row for {} in:\n{stdout}", e.id));
        assert!(row.contains("| PASS "), "{row}");
        // the claim is wrapped, not cut: every word of it is in the table
        for word in nn_examples::report::plain(e.claim).split_whitespace() {
            assert!(stdout.contains(word), "{}: {word:?} missing", e.id);
        }
    }

    check_page(&out_dir, &ids);
    let index = std::fs::read_to_string(out_dir.join("index.html")).unwrap();
    check_figures(&out_dir, &index);
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
