//! `cargo xtask tour-check`: runs the tour, opens its page in headless Chromium as a reader
//! would, fails on anything a reader would trip over, and writes screenshots to look at.
//!
//! Steps: `cargo run --release -p nn-examples --bin tour -- --out target/tour`, `cargo doc
//! --workspace --no-deps` (the page links into the docs), then, in Debian's `chromium`
//! (installed with `apt-get install -y chromium` when `/usr/bin/chromium` is missing),
//! a copy of `index.html` with a checking script: it reports every image, every claim's
//! section (lesson, MathML laid out, figures and captions, links) and every error, and
//! this file checks the report:
//!
//! - every image loaded, and no script or console error;
//! - every section has its lesson, its reading of the numbers, MathML that takes up room,
//!   a caption for each figure that describes it (not a file name), and links that
//!   resolve to files;
//! - every SVG weighs at most 300 KB and all of them at most 3 MB, and its smallest font,
//!   at the size the page shows the figure, is at least 12 px.
//!
//! Then it writes one screenshot per section (and the top and the settings) under
//! `target/tour/screenshots/`. It is not part of `cargo xtask check`, and so not of CI:
//! a CI machine need not have a browser, and installing one (chromium and its libraries,
//! a few hundred MB) would make every CI run depend on the package mirror for a check
//! that only changes when the tour's page does. Run it before a release, or after changing
//! the page or the figures.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const USAGE: &str =
    "  tour-check   run the tour, open its page in headless Chromium, check it, and write
               screenshots to target/tour/screenshots/ (installs Debian's chromium if missing)";

const CHROMIUM: &str = "/usr/bin/chromium";
const WIDTH: u32 = 1280;
const MAX_FIGURE_BYTES: u64 = 300 * 1024;
const MAX_TOTAL_BYTES: u64 = 3 * 1024 * 1024;
const MIN_SHOWN_FONT_PX: f64 = 12.0;
const CLAIMS: usize = 15;

/// Injected at the top of the page's `<head>`: collects errors from the start, then on
/// `load` either writes the report (`#check`) or shows a single section (`#shot=ID`).
const SCRIPT: &str = r#"<script>
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    var t = e.target;
    errors.push(t && t.tagName ? 'could not load ' + (t.currentSrc || t.src || t.href) : String(e.message));
  }, true);
  var original = console.error;
  console.error = function () {
    errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    original.apply(console, arguments);
  };
  var clean = function (s) { return String(s).replace(/[\t\n\r]+/g, ' '); };
  function report() {
    var lines = [];
    document.querySelectorAll('img').forEach(function (img) {
      lines.push(['IMG', img.getAttribute('src'), img.complete ? 1 : 0, img.naturalWidth,
        img.getBoundingClientRect().width].join('\t'));
    });
    document.querySelectorAll('section.claim').forEach(function (s) {
      var lesson = s.querySelector('.lesson'), reading = s.querySelector('.reading');
      var maths = s.querySelectorAll('math'), drawn = 0;
      maths.forEach(function (m) {
        var r = m.getBoundingClientRect();
        if (r.width > 0 && r.height > 0) drawn++;
      });
      var overflowing = 0;
      s.querySelectorAll('.equation').forEach(function (e) {
        if (e.scrollWidth > e.clientWidth + 1) overflowing++;
      });
      lines.push(['SECTION', s.id, lesson ? lesson.textContent.trim().length : 0,
        reading ? reading.textContent.trim().length : 0, maths.length, drawn,
        s.querySelectorAll('figure img').length, Math.ceil(s.getBoundingClientRect().height),
        overflowing].join('\t'));
      s.querySelectorAll('figure').forEach(function (f) {
        var c = f.querySelector('figcaption');
        lines.push(['CAPTION', s.id, clean(c ? c.textContent.trim() : '')].join('\t'));
      });
      s.querySelectorAll('.links a').forEach(function (a) { lines.push(['LINK', s.id, a.href].join('\t')); });
    });
    ['top', 'settings'].forEach(function (id) {
      var e = document.getElementById(id);
      lines.push(['BLOCK', id, e ? Math.ceil(e.getBoundingClientRect().height) : 0].join('\t'));
    });
    errors.forEach(function (e) { lines.push(['ERROR', clean(e)].join('\t')); });
    var pre = document.createElement('pre');
    pre.id = 'tour-check-report';
    pre.textContent = '\n' + lines.join('\n') + '\n';
    document.body.appendChild(pre);
  }
  window.addEventListener('load', function () {
    var mode = location.hash.slice(1);
    if (mode.indexOf('shot=') === 0) {
      var keep = document.getElementById(mode.slice(5));
      document.querySelectorAll('body > header, main > section, body > footer').forEach(function (e) {
        if (e !== keep) e.style.display = 'none';
      });
      var heading = keep && keep.querySelector('h2');
      if (heading) { heading.style.marginTop = '0'; heading.style.borderTop = 'none'; }
    } else {
      report();
    }
  });
})();
</script>"#;

/// What the page's script reported about one claim's section.
#[derive(Debug, Default, Clone, PartialEq)]
struct Section {
    id: String,
    /// Characters of text in the lesson and in the reading of the numbers.
    lesson: usize,
    reading: usize,
    /// MathML elements, and how many of them take up room on the page.
    maths: usize,
    laid_out: usize,
    figures: usize,
    /// Height on the page, in CSS pixels.
    height: u32,
    /// Display equations wider than their box (they would need scrolling).
    overflowing: usize,
}

/// What the page's script reported.
#[derive(Debug, Default)]
struct Report {
    /// `(src, loaded, natural width, shown width)`.
    images: Vec<(String, bool, f64, f64)>,
    sections: Vec<Section>,
    /// `(id, caption)`.
    captions: Vec<(String, String)>,
    /// `(id, href)`.
    links: Vec<(String, String)>,
    /// `(id, height)` of the header and the footer.
    blocks: Vec<(String, u32)>,
    errors: Vec<String>,
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

impl Report {
    fn parse(dom: &str) -> Result<Self, String> {
        let start = dom
            .find("<pre id=\"tour-check-report\">")
            .ok_or("the page's checking script wrote no report (did it run?)")?;
        let body = &dom[start..];
        let body =
            &body[body.find('>').map_or(0, |i| i + 1)..body.find("</pre>").unwrap_or(body.len())];
        let mut r = Report::default();
        for line in unescape(body).lines().filter(|l| !l.is_empty()) {
            let f: Vec<&str> = line.split('\t').collect();
            let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            let field = |i: usize| f.get(i).copied().unwrap_or("").to_string();
            match f[0] {
                "IMG" => r.images.push((field(1), num(2) == 1.0, num(3), num(4))),
                "SECTION" => r.sections.push(Section {
                    id: field(1),
                    lesson: num(2) as usize,
                    reading: num(3) as usize,
                    maths: num(4) as usize,
                    laid_out: num(5) as usize,
                    figures: num(6) as usize,
                    height: num(7) as u32,
                    overflowing: num(8) as usize,
                }),
                "CAPTION" => r.captions.push((field(1), field(2))),
                "LINK" => r.links.push((field(1), field(2))),
                "BLOCK" => r.blocks.push((field(1), num(2) as u32)),
                "ERROR" => r.errors.push(field(1)),
                other => return Err(format!("unknown line in the page's report: {other}")),
            }
        }
        Ok(r)
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    println!("==> cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

/// Makes sure `/usr/bin/chromium` exists, installing Debian's package if it does not.
fn ensure_chromium() -> Result<(), String> {
    if Path::new(CHROMIUM).exists() {
        return Ok(());
    }
    println!(
        "==> {CHROMIUM} is missing: installing Debian's chromium (apt-get install -y chromium)"
    );
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    if !apt(&["install", "-y", "chromium"]) {
        println!("==> that failed; refreshing the package lists (apt-get update) and retrying");
        let _ = apt(&["update"]);
        let _ = apt(&["install", "-y", "chromium"]);
    }
    if Path::new(CHROMIUM).exists() {
        Ok(())
    } else {
        Err(format!(
            "{CHROMIUM} is still missing: install Debian's package as root with \
             `apt-get update && apt-get install -y chromium`, then rerun"
        ))
    }
}

/// Runs headless Chromium on `url` with `extra` arguments, in a fresh profile, for at most
/// a minute; returns its standard output.
fn chromium(url: &str, height: u32, extra: &[&str]) -> Result<String, String> {
    static RUNS: AtomicU32 = AtomicU32::new(0);
    let profile = std::env::temp_dir().join(format!(
        "nn-tour-check-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&profile);
    let window = format!("--window-size={WIDTH},{height}");
    let user_data = format!("--user-data-dir={}", profile.display());
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--virtual-time-budget=15000",
            &user_data,
            &window,
        ])
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start {CHROMIUM}: {e}"))?;
    // read the output while chromium runs: a DOM larger than the pipe would block it
    let reader = child.stdout.take().map(|mut stdout| {
        std::thread::spawn(move || {
            use std::io::Read as _;
            let mut out = String::new();
            let _ = stdout.read_to_string(&mut out);
            out
        })
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > Duration::from_secs(60) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = fs::remove_dir_all(&profile);
                return Err(format!("chromium did not finish within a minute on {url}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("waiting for chromium: {e}")),
        }
    };
    let out = reader.and_then(|r| r.join().ok()).unwrap_or_default();
    let _ = fs::remove_dir_all(&profile);
    if status.success() {
        Ok(out)
    } else {
        Err(format!("chromium failed on {url} ({status})"))
    }
}

/// The smallest `font-size` in an SVG file.
fn smallest_font(svg: &str) -> Option<f64> {
    svg.split("font-size=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next()?.parse::<f64>().ok())
        .reduce(f64::min)
}

/// Checks the figure files themselves: weight and fonts (by their own size).
fn check_files(dir: &Path, problems: &mut Vec<String>) -> Result<Vec<(String, f64)>, String> {
    let mut fonts = Vec::new();
    let mut total = 0;
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "svg") {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = entry.metadata().map(|m| m.len()).unwrap_or(0);
        total += bytes;
        if bytes > MAX_FIGURE_BYTES {
            problems.push(format!(
                "{name} weighs {} KB (at most {} KB)",
                bytes / 1024,
                MAX_FIGURE_BYTES / 1024
            ));
        }
        let svg = fs::read_to_string(&path).map_err(|e| format!("{name}: {e}"))?;
        fonts.push((name, smallest_font(&svg).unwrap_or(f64::INFINITY)));
    }
    if total > MAX_TOTAL_BYTES {
        problems.push(format!(
            "the figures weigh {} KB (at most {} KB)",
            total / 1024,
            MAX_TOTAL_BYTES / 1024
        ));
    }
    println!("==> {} figures, {} KB in all", fonts.len(), total / 1024);
    Ok(fonts)
}

/// A `file://` URL as a path, without its fragment.
fn file_path(url: &str) -> Option<PathBuf> {
    let path = url.strip_prefix("file://")?;
    let path = path.split('#').next()?;
    // the page's links are plain ASCII paths; only spaces could be encoded
    Some(PathBuf::from(path.replace("%20", " ")))
}

fn check_report(r: &Report, fonts: &[(String, f64)], problems: &mut Vec<String>) {
    problems.extend(r.errors.iter().map(|e| format!("page error: {e}")));
    for (src, loaded, natural, shown) in &r.images {
        if !loaded || *natural <= 0.0 {
            problems.push(format!("{src} did not load"));
            continue;
        }
        let scale = shown / natural;
        match fonts.iter().find(|(name, _)| name == src) {
            Some((_, px)) if px * scale < MIN_SHOWN_FONT_PX => problems.push(format!(
                "{src}: its smallest font is {:.1} px as shown ({px:.1} px scaled by {scale:.2})",
                px * scale
            )),
            Some(_) => {}
            None => problems.push(format!(
                "{src} is on the page but not in the tour's directory"
            )),
        }
    }
    if r.sections.len() != CLAIMS {
        problems.push(format!(
            "{} claim sections, expected {CLAIMS}",
            r.sections.len()
        ));
    }
    for s in &r.sections {
        let id = &s.id;
        if s.lesson < 600 {
            problems.push(format!("{id}: its lesson has only {} characters", s.lesson));
        }
        if s.reading < 250 {
            problems.push(format!(
                "{id}: what its numbers say has only {} characters",
                s.reading
            ));
        }
        if s.maths == 0 || s.laid_out < s.maths {
            problems.push(format!(
                "{id}: {} of {} MathML elements are laid out",
                s.laid_out, s.maths
            ));
        }
        if s.overflowing > 0 {
            problems.push(format!(
                "{id}: {} equations are wider than the page",
                s.overflowing
            ));
        }
        if s.figures == 0 {
            problems.push(format!("{id}: no figure"));
        }
        let captions: Vec<&String> = r
            .captions
            .iter()
            .filter(|(c, _)| c == id)
            .map(|(_, t)| t)
            .collect();
        if captions.len() != s.figures {
            problems.push(format!(
                "{id}: {} captions for {} figures",
                captions.len(),
                s.figures
            ));
        }
        for c in captions {
            if c.len() < 80 || c.contains(".svg") {
                problems.push(format!("{id}: caption does not describe its figure: {c:?}"));
            }
        }
        let links: Vec<&String> = r
            .links
            .iter()
            .filter(|(l, _)| l == id)
            .map(|(_, h)| h)
            .collect();
        if !links.iter().any(|h| h.ends_with(".rs")) || !links.iter().any(|h| h.ends_with("#top")) {
            problems.push(format!(
                "{id}: missing source or back-to-top link: {links:?}"
            ));
        }
        for href in links {
            match file_path(href) {
                Some(path) if path.exists() => {}
                _ => problems.push(format!("{id}: link {href} does not resolve")),
            }
        }
    }
}

fn screenshots(page: &Path, r: &Report) -> Result<PathBuf, String> {
    let dir = page.with_file_name("screenshots");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let parts = r
        .blocks
        .iter()
        .filter(|(id, _)| id == "top")
        .map(|(id, h)| (id.clone(), *h))
        .chain(r.sections.iter().map(|s| (s.id.clone(), s.height)))
        .chain(
            r.blocks
                .iter()
                .filter(|(id, _)| id == "settings")
                .map(|(id, h)| (id.clone(), *h)),
        );
    for (id, height) in parts {
        let file = dir.join(format!("{id}.png"));
        let url = format!("file://{}#shot={id}", page.display());
        chromium(
            &url,
            height + 90,
            &[&format!("--screenshot={}", file.display())],
        )?;
        if !file.exists() {
            return Err(format!("chromium wrote no screenshot {}", file.display()));
        }
    }
    Ok(dir)
}

fn tour_check() -> Result<(), String> {
    let root = root();
    let out = root.join("target/tour");
    let out_arg = out.to_string_lossy().into_owned();
    let target = root.join("target");
    let target_arg = target.to_string_lossy().into_owned();
    ensure_chromium()?;
    // a fresh directory: the page and its figures are exactly this run's
    let _ = fs::remove_dir_all(&out);
    cargo(&[
        "run",
        "--release",
        "-p",
        "nn-examples",
        "--bin",
        "tour",
        "--",
        "--out",
        &out_arg,
    ])?;
    cargo(&[
        "doc",
        "--workspace",
        "--no-deps",
        "--target-dir",
        &target_arg,
    ])?;

    let mut problems = Vec::new();
    let fonts = check_files(&out, &mut problems)?;
    let index =
        fs::read_to_string(out.join("index.html")).map_err(|e| format!("index.html: {e}"))?;
    let page = out.join("tour-check.html");
    let head = index.find("<head>").ok_or("index.html has no <head>")? + "<head>".len();
    let checked = format!("{}{SCRIPT}{}", &index[..head], &index[head..]);
    fs::write(&page, checked).map_err(|e| format!("{}: {e}", page.display()))?;

    println!(
        "==> opening {} in headless chromium",
        out.join("index.html").display()
    );
    let result = chromium(
        &format!("file://{}#check", page.display()),
        1000,
        &["--dump-dom"],
    )
    .and_then(|dom| Report::parse(&dom))
    .and_then(|report| {
        check_report(&report, &fonts, &mut problems);
        println!(
            "==> {} images, {} sections, {} captions, {} links checked",
            report.images.len(),
            report.sections.len(),
            report.captions.len(),
            report.links.len()
        );
        screenshots(&page, &report)
    });
    let _ = fs::remove_file(&page);
    let dir = result?;
    if problems.is_empty() {
        println!("==> tour-check passed; screenshots in {}", dir.display());
        Ok(())
    } else {
        for p in &problems {
            eprintln!("    {p}");
        }
        Err(format!(
            "{} problems (screenshots in {})",
            problems.len(),
            dir.display()
        ))
    }
}

pub fn run(args: &[String]) -> ExitCode {
    if !args.is_empty() {
        eprintln!("usage: cargo xtask tour-check (no options)\n{USAGE}");
        return ExitCode::FAILURE;
    }
    match tour_check() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("==> tour-check failed: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_is_read_back_with_its_escapes() {
        let dom = "<html><pre id=\"tour-check-report\">\nIMG\tt01.svg\t1\t800\t800\n\
                   SECTION\tT1\t900\t400\t3\t3\t1\t1800\t0\nCAPTION\tT1\ta &lt; b &amp; c\n\
                   LINK\tT1\tfile:///w/a.rs\nBLOCK\ttop\t700\nERROR\tboom\n</pre></html>";
        let r = Report::parse(dom).unwrap();
        assert_eq!(r.images, vec![("t01.svg".to_string(), true, 800.0, 800.0)]);
        let expected = Section {
            id: "T1".into(),
            lesson: 900,
            reading: 400,
            maths: 3,
            laid_out: 3,
            figures: 1,
            height: 1800,
            overflowing: 0,
        };
        assert_eq!(r.sections[0], expected);
        assert_eq!(r.captions[0].1, "a < b & c");
        assert_eq!(r.blocks, vec![("top".to_string(), 700)]);
        assert_eq!(r.errors, vec!["boom".to_string()]);
        assert!(Report::parse("<html></html>").is_err());
    }

    #[test]
    fn a_page_with_problems_fails_on_each_of_them() {
        let r = Report {
            images: vec![
                ("a.svg".into(), false, 0.0, 0.0),
                ("b.svg".into(), true, 800.0, 520.0),
            ],
            sections: vec![Section {
                id: "T1".into(),
                lesson: 100,
                reading: 900,
                maths: 2,
                laid_out: 1,
                figures: 1,
                height: 500,
                overflowing: 1,
            }],
            captions: vec![("T1".into(), "t01_logistic.svg".into())],
            links: vec![("T1".into(), "file:///nonexistent/x.rs".into())],
            blocks: vec![],
            errors: vec!["console.error: x".into()],
        };
        let mut problems = Vec::new();
        check_report(&r, &[("b.svg".into(), 14.0)], &mut problems);
        let all = problems.join("\n");
        for expected in [
            "page error",
            "a.svg did not load",
            "b.svg: its smallest font is 9.1 px",
            "1 claim sections",
            "lesson has only 100",
            "1 of 2 MathML",
            "wider than the page",
            "caption does not describe",
            "back-to-top",
            "does not resolve",
        ] {
            assert!(all.contains(expected), "{expected:?} not in:\n{all}");
        }
    }

    #[test]
    fn fonts_and_links_are_read_from_their_text() {
        assert_eq!(
            smallest_font("<text font-size=\"15\"/><text font-size=\"14.5\"/>"),
            Some(14.5)
        );
        assert_eq!(
            file_path("file:///a/b%20c.html#top"),
            Some(PathBuf::from("/a/b c.html"))
        );
        assert_eq!(file_path("https://x"), None);
    }
}
