//! The `nn` command line at the boundary: hostile files are exit 1 with one error line
//! (never a panic, an abort or a crash), wrong columns are refused by name, a run is never
//! lost to an output location that cannot be written, and a write that fails midway (a
//! full disk) leaves the files that were there intact.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{dir, nn, one_error, s};

/// `nn` with writes limited to 512 bytes per file (`ulimit -f 1`), and SIGXFSZ ignored
/// so that a write beyond that fails with an error, as on a full disk.
fn nn_on_a_full_disk(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 1; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_nn"))
        .args(args)
        .output()
        .expect("run nn under sh")
}

/// Two features and a class that depends on `a` only.
fn write_data(path: &Path, header: &str, rows: usize) {
    let mut text = format!("{header}\n");
    for i in 0..rows {
        let a = (i as f64 * 0.37).sin() * 3.0;
        let b = (i as f64 * 0.11).cos();
        let (x, y) = if header.starts_with('a') {
            (a, b)
        } else {
            (b, a)
        };
        text += &format!("{x},{y},{}\n", if a > 0.0 { "up" } else { "down" });
    }
    std::fs::write(path, text).unwrap();
}

fn train(d: &Path, extra: &[&str]) -> (PathBuf, Output) {
    let data = d.join("train.csv");
    write_data(&data, "a,b,class", 200);
    let model = d.join("model.safetensors");
    let mut args = vec![
        "train",
        "--data",
        s(&data),
        "--layers",
        "8",
        "--epochs",
        "20",
        "--lr",
        "0.05",
        "--quiet",
        "--out",
    ];
    args.push(s(&model));
    args.extend_from_slice(extra);
    let out = nn(&args);
    (model, out)
}

#[test]
fn a_model_file_declaring_a_huge_network_is_exit_1_not_an_abort() {
    let d = dir("hostile");
    let arch = r#"{"input": {"flat": 200000}, "layers": [{"type": "dense", "units": 200000, "activation": "relu", "init": null}], "loss": "mse", "l2": 0.0, "seed": 0, "dtype": "f32"}"#;
    let meta: HashMap<String, String> = [
        ("nn.format_version", "1"),
        ("nn.kind", "model"),
        ("nn.architecture", arch),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let none: Vec<(&str, safetensors::tensor::TensorView<'_>)> = Vec::new();
    let path = d.join("hostile.safetensors");
    std::fs::write(&path, safetensors::serialize(none, Some(meta)).unwrap()).unwrap();
    for args in [
        vec!["info", "--model", s(&path)],
        vec!["eval", "--model", s(&path), "--data", s(&path)],
        vec!["predict", "--model", s(&path), "--data", s(&path)],
    ] {
        let cmd = args[0];
        let out = nn(&args);
        let stderr = one_error(&out);
        assert!(stderr.contains("Limits::max_parameters"), "{cmd}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn columns_that_are_not_the_models_features_are_refused_by_name() {
    let d = dir("columns");
    let (model, out) = train(&d, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = String::from_utf8_lossy(&nn(&["info", "--model", s(&model)]).stdout).into_owned();
    assert!(
        info.contains("features: a, b") && info.contains("label: class"),
        "{info}"
    );

    // Columns are found by name: the same data in another column order gives the same
    // report, never one computed from swapped features.
    let (same, swapped) = (d.join("same.csv"), d.join("swapped.csv"));
    write_data(&same, "a,b,class", 50);
    write_data(&swapped, "b,a,class", 50);
    let report = |data: &Path| {
        let out = nn(&["eval", "--model", s(&model), "--data", s(data), "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(report(&same), report(&swapped));
    let renamed = d.join("renamed.csv");
    write_data(&renamed, "a,c,class", 50);
    let stderr = one_error(&nn(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&renamed),
    ]));
    assert!(
        stderr.contains("no column named \"b\"") && stderr.contains("\"a\", \"c\", \"class\""),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn an_output_that_cannot_be_written_fails_before_training() {
    let d = dir("unwritable");
    let data = d.join("train.csv");
    write_data(&data, "a,b,class", 200);
    let missing = d.join("no/such/dir/model.safetensors");
    for (out, history) in [
        (s(&missing), None),
        (s(&d), None),
        (s(&d.join("m.safetensors")), Some(s(&missing))),
    ] {
        let mut args = vec![
            "train",
            "--data",
            s(&data),
            "--epochs",
            "100000",
            "--out",
            out,
        ];
        if let Some(h) = history {
            args.extend_from_slice(&["--history", h]);
        }
        let started = std::time::Instant::now();
        let stderr = one_error(&nn(&args));
        assert!(!stderr.contains("epoch"), "trained first: {stderr}");
        // 100000 epochs would take minutes: failing at once is the point.
        assert!(started.elapsed().as_secs() < 30, "{stderr}");
    }
    assert!(!d.join("m.safetensors").exists());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_full_disk_leaves_existing_models_predictions_and_history_intact() {
    let d = dir("full");
    let history = d.join("history.csv");
    let (model, out) = train(&d, &["--history", s(&history)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let predictions = d.join("predictions.csv");
    let new = d.join("new.csv");
    write_data(&new, "a,b,class", 100);
    let out = nn(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&new),
        "--out",
        s(&predictions),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before: Vec<Vec<u8>> = [&model, &predictions, &history]
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert!(
        before.iter().all(|b| b.len() > 512),
        "the files must exceed the 512-byte limit"
    );

    let out = nn_on_a_full_disk(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&new),
        "--out",
        s(&predictions),
    ]);
    let stderr = one_error(&out);
    assert!(stderr.contains("predictions.csv"), "{stderr}");
    let out = nn_on_a_full_disk(&[
        "train",
        "--data",
        s(&d.join("train.csv")),
        "--epochs",
        "3",
        "--quiet",
        "--out",
        s(&model),
        "--history",
        s(&history),
    ]);
    one_error(&out);
    let after: Vec<Vec<u8>> = [&model, &predictions, &history]
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert!(before == after, "a failed write changed an existing file");
    let tmp: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .collect();
    assert!(tmp.is_empty(), "{tmp:?}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_same_command_gives_the_same_model_bytes_on_1_2_and_3_threads() {
    let d = dir("threads");
    // 2048 rows of 20 features, batches of 1024 through 20-256-128-3 (38.5k parameters):
    // large enough that a step is split into two shares of 512 columns.
    let mut text = (0..20).map(|i| format!("f{i},")).collect::<String>() + "class\n";
    for r in 0..2048 {
        let row: Vec<String> = (0..20)
            .map(|c| format!("{}", ((r * 31 + c * 17) % 97) as f64 / 9.7))
            .collect();
        text += &format!("{},{}\n", row.join(","), ["a", "b", "c"][r % 3]);
    }
    let data = d.join("wide.csv");
    std::fs::write(&data, text).unwrap();
    let mut models = Vec::new();
    for threads in ["1", "2", "3"] {
        let model = d.join(format!("model-{threads}.safetensors"));
        let out = nn(&[
            "train",
            "--data",
            s(&data),
            "--layers",
            "256,128",
            "--batch-size",
            "1024",
            "--epochs",
            "2",
            "--validation",
            "0",
            "--threads",
            threads,
            "--quiet",
            "--out",
            s(&model),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        models.push(std::fs::read(&model).unwrap());
    }
    assert!(models[0] == models[1], "1 and 2 threads differ");
    assert!(models[0] == models[2], "1 and 3 threads differ");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_run_that_diverges_still_saves_what_training_kept() {
    let d = dir("diverge");
    let data = d.join("train.csv");
    write_data(&data, "a,b,class", 200);
    let model = d.join("model.safetensors");
    let stderr = one_error(&nn(&[
        "train",
        "--data",
        s(&data),
        "--layers",
        "8",
        "--lr",
        "1e6",
        "--epochs",
        "30",
        "--validation",
        "0",
        "--quiet",
        "--out",
        s(&model),
    ]));
    assert!(stderr.contains("diverged"), "{stderr}");
    assert!(
        stderr.contains("saved the parameters training kept"),
        "{stderr}"
    );
    // The saved model is whole and usable.
    let info = nn(&["info", "--model", s(&model)]);
    assert!(
        info.status.success(),
        "{}",
        String::from_utf8_lossy(&info.stderr)
    );
    let _ = std::fs::remove_dir_all(&d);
}
