//! What an experiment reports, the tour's table, and its offline HTML index.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::{ExampleError, Result};

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

/// The result of one experiment: the numbers behind the claim, the verdict, the figures.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Claim id, `"T1"` … `"T15"`.
    pub id: &'static str,
    /// The claim, in one sentence.
    pub claim: &'static str,
    /// What was measured, in one line with the numbers.
    pub measured: String,
    /// Whether the measured numbers support the claim.
    pub passed: bool,
    /// Figures written, as paths.
    pub figures: Vec<PathBuf>,
}

/// An experiment of the tour.
#[derive(Debug, Clone, Copy)]
pub struct Experiment {
    /// Claim id, `"T1"` … `"T15"`.
    pub id: &'static str,
    /// The claim, in one sentence.
    pub claim: &'static str,
    /// Runs it.
    pub run: fn(&Context) -> Result<Outcome>,
}

/// The table `id | claim | measured | verdict` as plain text, one row per outcome.
pub fn table(outcomes: &[Outcome]) -> String {
    let claim_w = outcomes
        .iter()
        .map(|o| o.claim.chars().count())
        .max()
        .unwrap_or(5)
        .min(60);
    let mut s = format!(
        "{:<4} | {:<claim_w$} | {} | verdict\n",
        "id", "claim", "measured"
    );
    for o in outcomes {
        let claim: String = if o.claim.chars().count() > claim_w {
            o.claim
                .chars()
                .take(claim_w - 1)
                .chain(std::iter::once('…'))
                .collect()
        } else {
            o.claim.to_string()
        };
        let verdict = if o.passed { "PASS" } else { "FAIL" };
        let _ = writeln!(
            s,
            "{:<4} | {:<claim_w$} | {} | {verdict}",
            o.id, claim, o.measured
        );
    }
    s
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes `index.html` in `dir`: the table and every figure, readable offline (figures are
/// referenced by relative path). Returns its path.
///
/// # Errors
/// [`ExampleError::Io`] if the file cannot be written.
pub fn write_index(dir: &Path, outcomes: &[Outcome]) -> Result<PathBuf> {
    let mut h = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>nn tour</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}\
         table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}\
         .pass{color:#070}.fail{color:#a00;font-weight:bold}figure{display:inline-block;margin:8px}\
         img{max-width:520px;border:1px solid #eee}</style></head><body>\n<h1>nn tour: the claims, measured</h1>\n\
         <table><tr><th>id</th><th>claim</th><th>measured</th><th>verdict</th></tr>\n",
    );
    for o in outcomes {
        let (class, verdict) = if o.passed {
            ("pass", "PASS")
        } else {
            ("fail", "FAIL")
        };
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#{id}\">{id}</a></td><td>{}</td><td>{}</td><td class=\"{class}\">{verdict}</td></tr>",
            escape(o.claim),
            escape(&o.measured),
            id = o.id
        );
    }
    h.push_str("</table>\n");
    for o in outcomes {
        let _ = writeln!(
            h,
            "<h2 id=\"{}\">{}: {}</h2>\n<p>{}</p>",
            o.id,
            o.id,
            escape(o.claim),
            escape(&o.measured)
        );
        for f in &o.figures {
            let rel = f.strip_prefix(dir).unwrap_or(f);
            let rel = escape(&rel.to_string_lossy());
            let _ = writeln!(
                h,
                "<figure><img src=\"{rel}\" alt=\"{rel}\"><figcaption>{rel}</figcaption></figure>"
            );
        }
    }
    h.push_str("</body></html>\n");
    std::fs::create_dir_all(dir).map_err(|e| ExampleError::io(dir, e))?;
    let path = dir.join("index.html");
    std::fs::write(&path, h).map_err(|e| ExampleError::io(&path, e))?;
    Ok(path)
}
