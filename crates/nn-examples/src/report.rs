//! What an experiment reports, the tour's terminal table, and its offline HTML page.
//!
//! The page (`index.html`) has a table of contents with each claim's verdict, then one
//! section per claim: the lesson of the experiment's module ([`Lesson`]: the claim in
//! plain words, the equation it tests as MathML, what the experiment does), its figures
//! with captions, what this run's numbers mean ([`Findings::reading`]), links to the
//! source and the crate docs, and at the end the run's settings. It needs no script and
//! no network; a print stylesheet drops the navigation.

mod markup;

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use crate::{ExampleError, Result};
pub use markup::{blocks, escape, inline, mathml, plain};

/// How big an experiment runs: `Quick` for tests and `tour --quick`, `Full` for the tour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// A small configuration that runs in a debug-build test.
    Quick,
    /// The configuration the tour reports.
    Full,
}

/// Where an experiment runs: its size and the directory its figures go to.
#[derive(Debug, Clone)]
pub struct Context {
    /// Quick or full.
    pub size: Size,
    /// Directory for SVG figures (created if missing).
    pub out_dir: PathBuf,
}

impl Context {
    /// The path of a figure file named `name` (e.g. `"t04_activations.svg"`), creating the
    /// output directory if needed.
    ///
    /// # Errors
    /// [`ExampleError::Io`] if the directory cannot be created.
    pub fn figure(&self, name: &str) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.out_dir).map_err(|e| ExampleError::io(&self.out_dir, e))?;
        Ok(self.out_dir.join(name))
    }
}

/// The teaching text of a claim, kept in the experiment's module next to its code.
///
/// The texts use a little markup: blank lines between paragraphs, lines starting with
/// `- ` for a list, `` `code` ``, and LaTeX between `$` signs (see [`blocks`]).
#[derive(Debug, Clone, Copy)]
pub struct Lesson {
    /// What the claim says and why it matters, in plain words.
    pub claim: &'static str,
    /// The equation of the theory the experiment tests, as LaTeX (a display equation).
    pub equation: &'static str,
    /// What the experiment does to test it.
    pub method: &'static str,
    /// The experiment's source file, relative to the workspace root (`file!()`).
    pub source: &'static str,
    /// Crate docs where the math lives: `(label, path under target/doc)`.
    pub docs: &'static [(&'static str, &'static str)],
}

/// A figure an experiment wrote.
#[derive(Debug, Clone)]
pub struct Figure {
    /// The SVG file.
    pub path: PathBuf,
    /// What the figure shows and what to look at in it (the markup of [`Lesson`]).
    pub caption: String,
}

impl Figure {
    /// A figure at `path` with its caption.
    pub fn new(path: PathBuf, caption: impl Into<String>) -> Self {
        Self {
            path,
            caption: caption.into(),
        }
    }
}

/// What one run of an experiment found.
#[derive(Debug, Clone)]
pub struct Findings {
    /// What was measured, in one line with the numbers (the terminal table's column).
    pub measured: String,
    /// Whether the measured numbers support the claim.
    pub passed: bool,
    /// Figures written, with their captions.
    pub figures: Vec<Figure>,
    /// What the numbers of this run mean for the claim, in plain words, including where
    /// they qualify it (the markup of [`Lesson`]).
    pub reading: String,
    /// The configuration the numbers come from: sizes, steps, seeds.
    pub settings: String,
}

/// The result of one experiment: its claim, lesson and findings, and how long it took.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Claim id, `"T1"` … `"T15"`.
    pub id: &'static str,
    /// The claim, in one sentence.
    pub claim: &'static str,
    /// The experiment's lesson.
    pub lesson: &'static Lesson,
    /// What was measured, in one line with the numbers.
    pub measured: String,
    /// Whether the measured numbers support the claim.
    pub passed: bool,
    /// Figures written, with their captions.
    pub figures: Vec<Figure>,
    /// What the numbers mean for the claim.
    pub reading: String,
    /// The configuration the numbers come from.
    pub settings: String,
    /// Wall-clock seconds the experiment took.
    pub seconds: f64,
}

/// An experiment of the tour.
#[derive(Debug, Clone, Copy)]
pub struct Experiment {
    /// Claim id, `"T1"` … `"T15"`.
    pub id: &'static str,
    /// The claim, in one sentence.
    pub claim: &'static str,
    /// Its lesson.
    pub lesson: &'static Lesson,
    /// Runs it.
    pub run: fn(&Context) -> Result<Findings>,
}

impl Experiment {
    /// Runs the experiment and times it.
    ///
    /// # Errors
    /// What the experiment returns.
    pub fn outcome(&self, ctx: &Context) -> Result<Outcome> {
        let start = Instant::now();
        let f = (self.run)(ctx)?;
        Ok(Outcome {
            id: self.id,
            claim: self.claim,
            lesson: self.lesson,
            measured: f.measured,
            passed: f.passed,
            figures: f.figures,
            reading: f.reading,
            settings: f.settings,
            seconds: start.elapsed().as_secs_f64(),
        })
    }
}

/// Splits `text` into lines of at most `width` characters at spaces (a longer word gets a
/// line of its own).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let needed = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if !line.is_empty() && needed > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Width of the terminal table's claim column.
pub const CLAIM_WIDTH: usize = 40;

/// Width of the terminal table's measured column.
pub const MEASURED_WIDTH: usize = 70;

/// The table `id | claim | verdict | measured` as plain text, the claim and the measured
/// line wrapped into their columns (nothing is cut); the id and the verdict are on a
/// row's first line.
pub fn table(outcomes: &[Outcome]) -> String {
    let rule = format!(
        "{}-+-{}-+-{}-+-{}\n",
        "-".repeat(4),
        "-".repeat(CLAIM_WIDTH),
        "-".repeat(7),
        "-".repeat(MEASURED_WIDTH)
    );
    let mut s = format!(
        "{:<4} | {:<CLAIM_WIDTH$} | verdict | measured\n",
        "id", "claim"
    );
    for o in outcomes {
        s.push_str(&rule);
        let claim = wrap(&plain(o.claim), CLAIM_WIDTH);
        let measured = wrap(&o.measured, MEASURED_WIDTH);
        let verdict = if o.passed { "PASS" } else { "FAIL" };
        for i in 0..claim.len().max(measured.len()) {
            let (id, v) = if i == 0 { (o.id, verdict) } else { ("", "") };
            let c = claim.get(i).map_or("", String::as_str);
            let m = measured.get(i).map_or("", String::as_str);
            let line = format!("{id:<4} | {c:<CLAIM_WIDTH$} | {v:<7} | {m}");
            let _ = writeln!(s, "{}", line.trim_end());
        }
    }
    s
}

/// The run as a whole, for the page's closing section.
#[derive(Debug, Clone, Copy)]
pub struct RunInfo {
    /// The configuration size every experiment ran at.
    pub size: Size,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// The relative URL from directory `from` to `to` (both absolute), `/`-separated.
fn relative_url(from: &Path, to: &Path) -> String {
    let (from, to): (Vec<Component>, Vec<Component>) =
        (from.components().collect(), to.components().collect());
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

const STYLE: &str = r#"
:root { --ink: #1d1d1f; --muted: #555; --rule: #ddd; --pass: #0a6b1f; --fail: #a00; }
body { font: 17px/1.55 system-ui, "DejaVu Sans", sans-serif; color: var(--ink);
       max-width: 840px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.9em; margin-bottom: .2em; }
h2 { font-size: 1.4em; margin-top: 2.4em; border-top: 1px solid var(--rule); padding-top: 1em; }
h3 { font-size: 1.08em; margin: 1.3em 0 .3em; }
a { color: #0b57a4; }
code { font-size: .92em; background: #f4f4f6; padding: 0 .2em; border-radius: 3px; }
math { font-size: 1.08em;
       font-family: "Latin Modern Math", "STIX Two Math", "DejaVu Math TeX Gyre", "Cambria Math", math; }
.equation { margin: 1em 0; padding: .6em 0; background: #fafafc; border-radius: 6px; overflow-x: auto; }
.equation math { font-size: 1.22em; }
table { border-collapse: collapse; margin: .8em 0; }
td, th { border: 1px solid var(--rule); padding: 4px 8px; vertical-align: top; text-align: left; }
.verdict { font-weight: bold; font-size: .8em; letter-spacing: .04em; padding: 1px 6px;
           border-radius: 4px; vertical-align: middle; }
.pass { color: var(--pass); } .fail { color: var(--fail); }
h2 .verdict.pass { background: #e4f4e7; } h2 .verdict.fail { background: #fbe3e3; }
figure { margin: 1.4em 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .95em; color: var(--muted); margin-top: .4em; }
figcaption b { color: var(--ink); }
details.measured { font-size: .9em; color: var(--muted); margin: .8em 0; }
details.measured p { margin: .3em 0 0 1em; }
.links { font-size: .92em; color: var(--muted); border-top: 1px dashed var(--rule);
         padding-top: .5em; }
footer table { font-size: .9em; }
footer td:last-child { white-space: nowrap; }
@media print {
  body { max-width: none; font-size: 11pt; }
  .links, .toc-note, details.measured { display: none; }
  h2 { break-before: page; border: none; }
  figure, .equation { break-inside: avoid; }
  figure img { width: 100%; border: none; }
  a { color: inherit; text-decoration: none; }
}
"#;

/// The `width` and `height` attributes of an SVG file's root element.
fn svg_size(path: &Path) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(path).ok()?;
    let root = &text[text.find("<svg")?..];
    let root = &root[..root.find('>')?];
    let attribute = |name: &str| -> Option<u32> {
        let rest = &root[root.find(&format!(" {name}=\""))? + name.len() + 3..];
        rest[..rest.find('"')?].parse().ok()
    };
    Some((attribute("width")?, attribute("height")?))
}

/// The CSS class and the word for a verdict.
fn verdict(passed: bool) -> (&'static str, &'static str) {
    if passed {
        ("pass", "PASS")
    } else {
        ("fail", "FAIL")
    }
}

/// A markup error, named by the claim whose text has it.
fn in_claim(id: &str) -> impl Fn(ExampleError) -> ExampleError + '_ {
    move |e| ExampleError::Usage(format!("{id}: {e}"))
}

fn section(h: &mut String, dir: &Path, root: &Path, number: usize, o: &Outcome) -> Result<()> {
    let context = in_claim(o.id);
    let (class, verdict) = verdict(o.passed);
    let lesson = o.lesson;
    let _ = writeln!(
        h,
        "<section id=\"{id}\" class=\"claim\">\n<h2>{id}. {} <span class=\"verdict {class}\">{verdict}</span></h2>",
        inline(o.claim).map_err(&context)?,
        id = o.id,
    );
    let _ = writeln!(
        h,
        "<div class=\"lesson\">\n<h3>The claim</h3>\n{}<div class=\"equation\">{}</div>\n\
         <h3>The experiment</h3>\n{}</div>",
        blocks(lesson.claim).map_err(&context)?,
        mathml(lesson.equation, true).map_err(&context)?,
        blocks(lesson.method).map_err(&context)?,
    );
    for (k, f) in o.figures.iter().enumerate() {
        // figures are written into the page's directory (`Context::figure`)
        let rel = f.path.file_name().map_or_else(
            || f.path.to_string_lossy().into_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        let (width, height) = svg_size(&f.path).unwrap_or(crate::plot::SIZE);
        let _ = writeln!(
            h,
            "<figure id=\"{id}-{n}\" style=\"max-width: {width}px\"><img src=\"{}\" alt=\"{}\" \
             width=\"{width}\" height=\"{height}\"><figcaption><b>Figure {number}.{n}.</b> {}\
             </figcaption></figure>",
            escape(&rel),
            escape(&plain(&f.caption)),
            inline(&f.caption).map_err(&context)?,
            id = o.id,
            n = k + 1,
        );
    }
    let _ = writeln!(
        h,
        "<h3>What the numbers say</h3>\n<div class=\"reading\">\n{}</div>\n\
         <details class=\"measured\"><summary>The line the terminal prints</summary><p>{}</p></details>",
        blocks(&o.reading).map_err(&context)?,
        escape(&o.measured),
    );
    let source = root.join(lesson.source);
    let file = source
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let _ = write!(
        h,
        "<p class=\"links\">Source: <a href=\"{}\"><code>{}</code></a>",
        escape(&relative_url(dir, &source)),
        escape(&file)
    );
    for (k, (label, path)) in lesson.docs.iter().enumerate() {
        let _ = write!(
            h,
            "{}<a href=\"{}\">{}</a>",
            if k == 0 { " · Docs: " } else { ", " },
            escape(&relative_url(dir, &root.join("target/doc").join(path))),
            inline(label).map_err(&context)?
        );
    }
    h.push_str(" · <a href=\"#top\">Back to top ↑</a></p>\n</section>\n");
    Ok(())
}

/// Writes `index.html` in `dir`: the table of contents, one section per outcome (lesson,
/// figures with captions, what the numbers say, links), and the run's settings; readable
/// offline (figures are referenced by relative path). Returns its path.
///
/// # Errors
/// [`ExampleError::Io`] if the file cannot be written; [`ExampleError::Usage`] if a
/// lesson's markup or LaTeX is broken.
pub fn write_index(dir: &Path, outcomes: &[Outcome], run: &RunInfo) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| ExampleError::io(dir, e))?;
    let abs_dir = dir.canonicalize().map_err(|e| ExampleError::io(dir, e))?;
    let root = workspace_root();
    let passed = outcomes.iter().filter(|o| o.passed).count();
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>nn tour: the claims of the theory, measured</title><style>{STYLE}</style></head>\n\
         <body>\n<header id=\"top\">\n<h1>The nn tour: {} claims of the theory, measured</h1>\n\
         <p>Each section below takes one claim of the tutorial on feed-forward networks, states \
         it with its equation, runs an experiment with the <code>nn</code> crates that could \
         prove it wrong, and says what the numbers mean — including where they qualify the \
         claim. {passed} of {} claims are supported by this run. The figures are drawn from \
         the same run; every seed is fixed, so the same build gives the same numbers.</p>\n\
         <p class=\"toc-note\">Regenerate with <code>cargo run --release -p nn-examples --bin \
         tour</code>; the docs links need <code>cargo doc --workspace --no-deps</code>.</p>\n\
         <nav><table><tr><th>id</th><th>claim</th><th>verdict</th></tr>\n",
        outcomes.len(),
        outcomes.len(),
    );
    for o in outcomes {
        let (class, verdict) = verdict(o.passed);
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#{id}\">{id}</a></td><td><a href=\"#{id}\">{}</a></td>\
             <td class=\"verdict {class}\">{verdict}</td></tr>",
            inline(o.claim).map_err(in_claim(o.id))?,
            id = o.id
        );
    }
    h.push_str("</table></nav>\n</header>\n<main>\n");
    for (i, o) in outcomes.iter().enumerate() {
        let number = o.id.trim_start_matches('T').parse().unwrap_or(i + 1);
        section(&mut h, &abs_dir, &root, number, o)?;
    }
    let size = match run.size {
        Size::Full => "the full configuration",
        Size::Quick => "the quick configuration (<code>--quick</code>)",
    };
    let build = if cfg!(debug_assertions) {
        "a debug build"
    } else {
        "a release build"
    };
    let _ = writeln!(
        h,
        "</main>\n<footer id=\"settings\">\n<h2>Run settings</h2>\n<p>{} experiments at {size}, \
         {build} of nn-examples {}, in {:.1} s; the seeds are in each experiment's source, \
         and the times, wall-clock, vary between runs.</p>\n\
         <table><tr><th>id</th><th>settings</th><th>time</th></tr>",
        outcomes.len(),
        env!("CARGO_PKG_VERSION"),
        run.seconds
    );
    for o in outcomes {
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#{id}\">{id}</a></td><td>{}</td><td>{:.2} s</td></tr>",
            escape(&o.settings),
            o.seconds,
            id = o.id
        );
    }
    h.push_str("</table>\n<p><a href=\"#top\">Back to top ↑</a></p>\n</footer>\n</body></html>\n");
    let path = dir.join("index.html");
    std::fs::write(&path, h).map_err(|e| ExampleError::io(&path, e))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_every_word_and_the_width() {
        let text = "a net with no hidden layer, a sigmoid output and binary cross-entropy is \
                    logistic regression";
        let lines = wrap(text, 20);
        assert!(lines.iter().all(|l| l.chars().count() <= 20), "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert_eq!(wrap("", 10), vec![String::new()]);
        assert_eq!(
            wrap("unbreakablelongword x", 5),
            vec!["unbreakablelongword", "x"]
        );
    }

    #[test]
    fn relative_urls_climb_to_the_common_directory() {
        let url = relative_url(
            Path::new("/w/target/tour"),
            Path::new("/w/crates/nn-examples/src/experiments/t01_logistic.rs"),
        );
        assert_eq!(
            url,
            "../../crates/nn-examples/src/experiments/t01_logistic.rs"
        );
        assert_eq!(
            relative_url(Path::new("/w/a"), Path::new("/w/a/b.html")),
            "b.html"
        );
    }
}
