//! `cargo xtask fuzz <target|all> [--seconds N]`: libFuzzer runs of the `fuzz/` cargo-fuzz
//! project, one target after another.
//!
//! Needs a nightly toolchain (cargo-fuzz builds with sanitizer flags only nightly has);
//! without one it says so and exits 1 (the stable form of the same targets runs in
//! `cargo xtask check`). `cargo-fuzz` is installed with `cargo install cargo-fuzz --locked`
//! if it is missing. Each target starts from its committed corpus `fuzz/corpus/<target>/`
//! and writes the inputs it finds to a scratch corpus `target/fuzz-corpus/<target>/`, so
//! the committed one stays the small hand-made set; a crash leaves its input under
//! `fuzz/artifacts/<target>/`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// The targets: the `[[bin]]` names in `fuzz/Cargo.toml` (each calls the function of
/// `nn_train::fuzz` of the same name).
fn targets(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin && let Some(name) = line.strip_prefix("name = ") {
            out.push(name.trim_matches('"').to_string());
        }
    }
    out
}

/// Memory limits given to libFuzzer, in MB: the whole process, and any one allocation.
const RSS_LIMIT_MB: u32 = 2048;
const MALLOC_LIMIT_MB: u32 = 2048;

pub const USAGE: &str =
    "  fuzz    libFuzzer on one target or all, from fuzz/corpus/<target> (needs nightly)
          <target|all>   a [[bin]] of fuzz/Cargo.toml (csv, csv_header, idx, model, …)
          --seconds N    per target (default 60)";

/// What one libFuzzer run reported.
#[derive(Debug, Default)]
struct Stats {
    executions: Option<u64>,
    per_second: Option<u64>,
    peak_rss_mb: Option<u64>,
}

impl Stats {
    /// Takes the value of a `-print_final_stats` line (`stat::name: value`).
    fn read(&mut self, line: &str) {
        let Some((key, value)) = line
            .strip_prefix("stat::")
            .and_then(|rest| rest.split_once(':'))
        else {
            return;
        };
        let slot = match key {
            "number_of_executed_units" => &mut self.executions,
            "average_exec_per_sec" => &mut self.per_second,
            "peak_rss_mb" => &mut self.peak_rss_mb,
            _ => return,
        };
        *slot = value.trim().parse().ok().or(*slot);
    }
}

fn parse_args(args: &[String], known: &[String]) -> Result<(Vec<String>, u64), String> {
    let mut targets = None;
    let mut seconds = 60;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = rest
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|&s| s > 0)
                    .ok_or("--seconds needs a positive whole number")?;
            }
            "all" => targets = Some(known.to_vec()),
            name if known.iter().any(|t| t == name) => targets = Some(vec![name.to_string()]),
            name => return Err(format!("unknown target {name:?}; one of {known:?} or all")),
        }
    }
    Ok((targets.ok_or("name a target, or all")?, seconds))
}

/// `Ok` if `rustup toolchain list` shows a nightly toolchain, else why not.
fn check_nightly() -> Result<(), String> {
    let out = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .map_err(|e| format!("cannot run rustup ({e}); libFuzzer needs a nightly toolchain"))?;
    let list = String::from_utf8_lossy(&out.stdout);
    if list.lines().any(|l| l.starts_with("nightly")) {
        Ok(())
    } else {
        Err(
            "no nightly toolchain (rustup toolchain list shows none); install one with \
             `rustup toolchain install nightly`. The stable form of the fuzz targets runs in \
             `cargo xtask check` without it."
                .into(),
        )
    }
}

/// A nightly `cargo` command, clear of the stable toolchain this task runs under.
fn nightly_cargo() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("+nightly")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO");
    cmd
}

fn cargo_fuzz_present() -> bool {
    nightly_cargo()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `Ok` once `cargo fuzz` runs, installing cargo-fuzz if it is missing.
fn ensure_cargo_fuzz() -> Result<(), String> {
    if cargo_fuzz_present() {
        return Ok(());
    }
    println!("==> cargo-fuzz is missing: cargo install cargo-fuzz --locked");
    let installed = Command::new("cargo")
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .is_ok_and(|s| s.success());
    if installed && cargo_fuzz_present() {
        Ok(())
    } else {
        Err("cargo-fuzz could not be installed (cargo install cargo-fuzz --locked)".into())
    }
}

/// Runs libFuzzer on `target` for `seconds`, echoing its output; its exit status and
/// final statistics.
fn fuzz_one(
    root: &Path,
    scratch: &Path,
    target: &str,
    seconds: u64,
) -> Result<(bool, Stats), String> {
    std::fs::create_dir_all(scratch).map_err(|e| format!("creating {}: {e}", scratch.display()))?;
    let corpus = Path::new("corpus").join(target);
    let mut child = nightly_cargo()
        .current_dir(root.join("fuzz"))
        .args(["fuzz", "run", target])
        .arg(scratch)
        .arg(&corpus)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg(format!("-malloc_limit_mb={MALLOC_LIMIT_MB}"))
        .arg("-print_final_stats=1")
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo +nightly fuzz: {e}"))?;
    let mut stats = Stats::default();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
            stats.read(&line);
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for libFuzzer: {e}"))?;
    Ok((status.success(), stats))
}

pub fn run(args: &[String]) -> ExitCode {
    let Some(root) = Path::new(env!("CARGO_MANIFEST_DIR")).parent() else {
        eprintln!("cargo xtask fuzz: xtask is not inside a workspace");
        return ExitCode::FAILURE;
    };
    let manifest = std::fs::read_to_string(root.join("fuzz/Cargo.toml")).unwrap_or_default();
    let (targets, seconds) = match parse_args(args, &targets(&manifest)) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!(
                "cargo xtask fuzz: {e}\n\nusage: cargo xtask fuzz <target|all> [--seconds N]\n{USAGE}"
            );
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = check_nightly().and_then(|()| ensure_cargo_fuzz()) {
        eprintln!("cargo xtask fuzz: {e}");
        return ExitCode::FAILURE;
    }
    let mut report = Vec::new();
    for target in &targets {
        println!("==> fuzz {target} for {seconds} s");
        let scratch: PathBuf = root.join("target").join("fuzz-corpus").join(target);
        match fuzz_one(root, &scratch, target, seconds) {
            Ok(outcome) => report.push((target, outcome)),
            Err(e) => {
                eprintln!("cargo xtask fuzz: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let show = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
    println!(
        "\n{:<12} {:>8} {:>14} {:>10} {:>13}",
        "target", "result", "executions", "exec/s", "peak RSS MB"
    );
    for (target, (ok, s)) in &report {
        println!(
            "{target:<12} {:>8} {:>14} {:>10} {:>13}",
            if *ok { "ok" } else { "CRASH" },
            show(s.executions),
            show(s.per_second),
            show(s.peak_rss_mb)
        );
    }
    if report.iter().all(|(_, (ok, _))| *ok) {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "\na crash input is under fuzz/artifacts/<target>/: minimise it \
             (cargo +nightly fuzz tmin <target> <file>, in fuzz/), fix the library, and commit \
             the input under fuzz/regressions/<target>/ (crates/nn-train/tests/fuzz.rs replays it)"
        );
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn targets_are_the_bins_of_the_fuzz_manifest() {
        let manifest = "[package]\nname = \"nn-fuzz\"\n\n[[bin]]\nname = \"csv\"\npath = \"fuzz_targets/csv.rs\"\n\n[[bin]]\nname = \"model\"\n";
        assert_eq!(targets(manifest), ["csv", "model"]);
        let real =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/Cargo.toml"));
        let real = targets(&real.unwrap());
        assert!(
            real.contains(&"csv".to_string()) && real.contains(&"checkpoint".to_string()),
            "{real:?}"
        );
    }

    #[test]
    fn arguments_parse_and_reject() {
        let known: Vec<String> = ["csv", "model"].map(String::from).to_vec();
        let parse = |s: &str| parse_args(&args(s), &known);
        assert_eq!(parse("model"), Ok((vec!["model".to_string()], 60)));
        assert_eq!(parse("all --seconds 300"), Ok((known.clone(), 300)));
        assert!(parse("").is_err());
        assert!(parse("modle").unwrap_err().contains("unknown target"));
        assert!(parse("csv --seconds 0").is_err());
        assert!(parse("csv --seconds").is_err());
    }

    #[test]
    fn final_statistics_are_read() {
        let mut s = Stats::default();
        for line in [
            "stat::number_of_executed_units: 1234567",
            "stat::average_exec_per_sec:     4115",
            "stat::new_units_added:          10",
            "stat::peak_rss_mb:              512",
            "#2 INITED cov: 12 ft: 13 corp: 1/1b exec/s: 0 rss: 30Mb",
        ] {
            s.read(line);
        }
        assert_eq!(
            (s.executions, s.per_second, s.peak_rss_mb),
            (Some(1_234_567), Some(4115), Some(512))
        );
    }
}
