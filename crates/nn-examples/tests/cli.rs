//! The `nn` command line end to end: train on a CSV file the test writes, save, inspect,
//! evaluate, predict; bad input gives one error line and a non-zero exit, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::{dir, nn};

/// Three classes of points in the plane, separable by angle, with a string label.
fn write_data(path: &PathBuf, rows: usize, with_label: bool) {
    let mut text = String::from(if with_label { "x,y,kind\n" } else { "x,y\n" });
    for i in 0..rows {
        let class = i % 3;
        let angle = class as f64 * 2.1 + (i as f64 * 0.37).sin() * 0.4;
        let r = 1.0 + (i as f64 * 0.13).cos() * 0.3;
        let (x, y) = (r * angle.cos() * 10.0, r * angle.sin() * 10.0 + 50.0);
        let label = ["red", "green", "blue"][class];
        if with_label {
            text += &format!("{x},{y},{label}\n");
        } else {
            text += &format!("{x},{y}\n");
        }
    }
    std::fs::write(path, text).unwrap();
}

fn ok(out: &Output) -> String {
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "failed:\nstdout: {so}\nstderr: {se}");
    so.into_owned()
}

#[test]
fn train_info_eval_predict() {
    let d = dir("train");
    let (train, test, new) = (d.join("train.csv"), d.join("test.csv"), d.join("new.csv"));
    write_data(&train, 300, true);
    write_data(&test, 60, true);
    write_data(&new, 5, false);
    let model = d.join("model.safetensors");
    let history = d.join("history.csv");
    let m = model.to_str().unwrap();
    let out = nn(&[
        "train",
        "--data",
        train.to_str().unwrap(),
        "--label",
        "kind",
        "--layers",
        "16",
        "--activation",
        "tanh",
        "--epochs",
        "40",
        "--lr",
        "0.02",
        "--out",
        m,
        "--history",
        history.to_str().unwrap(),
        "--quiet",
    ]);
    let stdout = ok(&out);
    assert!(stdout.contains("saved"), "{stdout}");
    assert!(std::fs::read_to_string(&history).unwrap().lines().count() > 1);

    let info = ok(&nn(&["info", "--model", m]));
    assert!(
        info.contains("Dense(2→16, tanh)") && info.contains("classes: blue, green, red"),
        "{info}"
    );
    assert!(info.contains("input encoder: standardize"), "{info}");

    let eval = ok(&nn(&[
        "eval",
        "--model",
        m,
        "--data",
        test.to_str().unwrap(),
        "--label",
        "kind",
    ]));
    let acc: f64 = eval
        .lines()
        .find_map(|l| l.strip_prefix("accuracy: "))
        .unwrap_or_else(|| panic!("no accuracy in {eval}"))
        .parse()
        .unwrap();
    assert!(acc >= 0.9, "{eval}");

    let pred = ok(&nn(&[
        "predict",
        "--model",
        m,
        "--data",
        new.to_str().unwrap(),
    ]));
    let lines: Vec<&str> = pred.lines().collect();
    assert_eq!(lines[0], "prediction,p_blue,p_green,p_red");
    assert_eq!(lines.len(), 6);
    let expected = ["red", "green", "blue", "red", "green"];
    for (line, want) in lines[1..].iter().zip(expected) {
        assert!(line.starts_with(want), "{line} (expected {want})");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bad_input_is_one_error_line_and_a_failing_exit() {
    let d = dir("bad");
    let bad = d.join("bad.csv");
    std::fs::write(&bad, "x,y,kind\n1,2,a\n3,oops,b\n").unwrap();
    let out = nn(&[
        "train",
        "--data",
        bad.to_str().unwrap(),
        "--out",
        d.join("m").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("line 3") && errors[0].contains("oops"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let out = nn(&["info", "--model", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: ") && !stderr.contains("panicked"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&d);
}
