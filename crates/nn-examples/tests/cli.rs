//! The `nn` command line end to end: train on a CSV file the test writes, save, inspect,
//! evaluate, predict; bad input gives one error line and a non-zero exit, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::{dir, nn, one_error, s};

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
    assert!(info.contains("numbers standardized"), "{info}");

    let eval = ok(&nn(&[
        "eval",
        "--model",
        m,
        "--data",
        test.to_str().unwrap(),
        "--label",
        "kind",
        "--json",
    ]));
    let report: nn_train::serde_json::Value = nn_train::serde_json::from_str(&eval).unwrap();
    let acc = report["accuracy"].as_f64().unwrap();
    assert!(acc >= 0.9, "{eval}");

    let pred = ok(&nn(&[
        "predict",
        "--model",
        m,
        "--data",
        new.to_str().unwrap(),
    ]));
    let lines: Vec<&str> = pred.lines().collect();
    assert_eq!(
        lines[0], "kind,p_blue,p_green,p_red",
        "named after the label"
    );
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
    // A text column is a feature now; a row with a field missing is still an error.
    std::fs::write(&bad, "x,y,kind\n1,2,a\n3,oops\n").unwrap();
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
        errors[0].contains("line 3") && errors[0].contains("field"),
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

// ---- The rough edges of a first try, each fixed ----------------------------------

/// Trains `data` with `extra` flags (quiet, seed 0), returning the model's path.
fn train_ok(d: &std::path::Path, data: &std::path::Path, extra: &[&str]) -> PathBuf {
    let model = d.join("model.safetensors");
    let mut args = vec!["train", "--data", s(data), "--quiet", "--out", s(&model)];
    args.extend_from_slice(extra);
    ok(&nn(&args));
    model
}

/// `y = 3 a − 2 b + 100` plus a little structure, with a header and the label last.
fn write_regression(path: &std::path::Path, rows: usize) {
    let mut text = String::from("a,b,price\n");
    for i in 0..rows {
        let a = (i as f64 * 0.37).sin() * 2.0;
        let b = (i as f64 * 0.11).cos();
        text += &format!("{a},{b},{}\n", 3.0 * a - 2.0 * b + 100.0);
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn regression_is_inferred_scaled_and_reported_in_the_targets_units() {
    let d = dir("regression");
    let (train, test) = (d.join("train.csv"), d.join("test.csv"));
    write_regression(&train, 300);
    write_regression(&test, 50);
    let model = train_ok(&d, &train, &[]);
    let info = ok(&nn(&["info", "--model", s(&model)]));
    assert!(info.contains("regression"), "{info}");
    let eval = ok(&nn(&["eval", "--model", s(&model), "--data", s(&test)]));
    for metric in ["RMSE", "MAE", "R²"] {
        assert!(eval.contains(metric), "{eval}");
    }
    let json = ok(&nn(&[
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&test),
        "--json",
    ]));
    let report: nn_train::serde_json::Value = nn_train::serde_json::from_str(&json).unwrap();
    let r2 = report["r2"].as_f64().unwrap();
    assert!(
        r2 > 0.9,
        "a standardised target fits a linear law: R² {r2}\n{json}"
    );
    let pred = ok(&nn(&["predict", "--model", s(&model), "--data", s(&test)]));
    let mut lines = pred.lines();
    assert_eq!(lines.next(), Some("price"), "{pred}");
    let first: f64 = lines.next().unwrap().parse().unwrap();
    assert!(
        (first - 100.0).abs() < 10.0,
        "in the target's units: {first}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_table_with_missing_values_text_columns_and_semicolons_trains_end_to_end() {
    let d = dir("messy");
    let data = d.join("messy.csv");
    let mut text = String::from("size;colour;weight;kind\r\n");
    for i in 0..240 {
        let size = if i % 7 == 0 {
            "NA".to_string()
        } else {
            format!("{}", (i % 10) as f64 * 0.5)
        };
        let colour = match i % 11 {
            0 => "",
            k if k % 2 == 0 => "red",
            _ => "blue, light",
        };
        let weight = if i % 13 == 0 {
            "nan".to_string()
        } else {
            format!("{}", i % 4)
        };
        let kind = if i % 10 < 5 { "small" } else { "large" };
        text += &format!("{size};\"{colour}\";{weight};{kind}\r\n");
    }
    std::fs::write(&data, text).unwrap();
    let model = train_ok(&d, &data, &["--epochs", "30"]);
    let eval = ok(&nn(&["eval", "--model", s(&model), "--data", s(&data)]));
    assert!(eval.contains("accuracy"), "{eval}");
    let pred = ok(&nn(&["predict", "--model", s(&model), "--data", s(&data)]));
    let mut rdr = csv_rows(&pred);
    assert_eq!(rdr[0], ["kind", "p_large", "p_small"]);
    assert_eq!(rdr.len(), 241);
    rdr.remove(0);
    assert!(rdr.iter().all(|r| r[0] == "small" || r[0] == "large"));
    let _ = std::fs::remove_dir_all(&d);
}

/// The records of a CSV text, fields unquoted.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = !quoted,
                ',' if !quoted => fields.push(std::mem::take(&mut field)),
                _ => field.push(c),
            }
        }
        fields.push(field);
        out.push(fields);
    }
    out
}

#[test]
fn crlf_files_report_the_right_line() {
    let d = dir("crlf");
    let data = d.join("crlf.csv");
    std::fs::write(&data, "a,b,c\r\n1,2,x\r\n3,4,y\r\n5,6\r\n").unwrap();
    let err = one_error(&nn(&[
        "train",
        "--data",
        s(&data),
        "--out",
        s(&d.join("m")),
    ]));
    assert!(err.contains("line 4"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn binary_eval_reports_precision_recall_f1_confusion_and_auc_with_class_names() {
    let d = dir("binary");
    let data = d.join("two.csv");
    let mut text = String::from("a,b,verdict\n");
    for i in 0..200 {
        let a = (i as f64 * 0.37).sin() * 3.0;
        text += &format!(
            "{a},{},{}\n",
            (i as f64 * 0.11).cos(),
            if a > 0.0 { "spam" } else { "ham" }
        );
    }
    std::fs::write(&data, text).unwrap();
    let model = train_ok(&d, &data, &[]);
    let eval = ok(&nn(&["eval", "--model", s(&model), "--data", s(&data)]));
    for word in [
        "precision",
        "recall",
        "f1",
        "ROC AUC",
        "log-loss",
        "spam",
        "ham",
        "macro",
        "weighted",
    ] {
        assert!(eval.contains(word), "{word} missing from\n{eval}");
    }
    let json = ok(&nn(&[
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&data),
        "--json",
    ]));
    let v: nn_train::serde_json::Value = nn_train::serde_json::from_str(&json).unwrap();
    assert!(v["roc_auc"].as_f64().unwrap() > 0.9, "{json}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn multiclass_confusion_matrix_is_labelled_with_class_names() {
    let d = dir("confusion");
    let data = d.join("three.csv");
    write_data(&data, 150, true);
    let model = train_ok(&d, &data, &["--epochs", "30"]);
    let eval = ok(&nn(&["eval", "--model", s(&model), "--data", s(&data)]));
    let confusion = eval
        .split("confusion")
        .nth(1)
        .unwrap_or_else(|| panic!("{eval}"));
    for name in ["red", "green", "blue"] {
        assert!(confusion.contains(name), "{eval}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn without_validation_nothing_is_called_val_cost_and_history_counts_from_one() {
    let d = dir("history");
    let data = d.join("three.csv");
    write_data(&data, 90, true);
    let history = d.join("h.csv");
    let model = d.join("m.safetensors");
    let out = nn(&[
        "train",
        "--data",
        s(&data),
        "--validation",
        "0",
        "--epochs",
        "3",
        "--n-iter-no-change",
        "0",
        "--out",
        s(&model),
        "--history",
        s(&history),
    ]);
    let stdout = ok(&out);
    let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains("val cost"), "{all}");
    assert!(all.contains("epoch    1"), "{all}");
    let h = std::fs::read_to_string(&history).unwrap();
    let epochs: Vec<&str> = h
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(epochs, ["1", "2", "3"], "{h}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn predict_quotes_class_names_and_drops_the_label_column_by_name() {
    let d = dir("predict");
    let data = d.join("t.csv");
    let mut text = String::from("x,kind\n");
    for i in 0..120 {
        let x = i as f64 / 10.0;
        text += &format!("{x},{}\n", if i < 60 { "\"low, cold\"" } else { "high" });
    }
    std::fs::write(&data, &text).unwrap();
    let model = train_ok(&d, &data, &["--epochs", "40"]);
    // The file still has its label: found by name and dropped.
    let pred = ok(&nn(&["predict", "--model", s(&model), "--data", s(&data)]));
    let rows = csv_rows(&pred);
    assert_eq!(rows[0][0], "kind");
    assert_eq!(rows[1][0], "low, cold", "{pred}");
    assert_eq!(
        rows[1].len(),
        3,
        "prediction and one probability per class: {pred}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn label_names_are_names_indices_are_hashed_and_typos_get_a_suggestion() {
    let d = dir("labels");
    let data = d.join("three.csv");
    write_data(&data, 90, true);
    let m = d.join("m");
    // `0` is a name; no column has it.
    let err = one_error(&nn(&[
        "train",
        "--data",
        s(&data),
        "--label",
        "0",
        "--out",
        s(&m),
    ]));
    assert!(err.contains("no column named `0`"), "{err}");
    let err = one_error(&nn(&[
        "train",
        "--data",
        s(&data),
        "--label",
        "Kind",
        "--out",
        s(&m),
    ]));
    assert!(err.contains("did you mean `kind`"), "{err}");
    assert!(
        err.contains("`x`") && err.contains("`y`") && err.contains("`kind`"),
        "{err}"
    );
    let model = train_ok(&d, &data, &["--label", "#2", "--epochs", "5"]);
    let eval = nn(&[
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&data),
        "--label",
        "0",
    ]);
    let err = one_error(&eval);
    assert!(err.contains("no column named `0`"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn negative_values_parse_and_are_refused_by_range_and_zero_epochs_is_refused() {
    let d = dir("ranges");
    let data = d.join("three.csv");
    write_data(&data, 60, true);
    let m = d.join("m");
    let err = one_error(&nn(&[
        "train",
        "--data",
        s(&data),
        "--lr",
        "-1",
        "--out",
        s(&m),
    ]));
    assert!(err.contains("learning rate") && err.contains("-1"), "{err}");
    let err = one_error(&nn(&[
        "train",
        "--data",
        s(&data),
        "--lr=-1",
        "--out",
        s(&m),
    ]));
    assert!(err.contains("learning rate"), "{err}");
    let err = one_error(&nn(&[
        "train",
        "--data",
        s(&data),
        "--epochs",
        "0",
        "--out",
        s(&m),
    ]));
    assert!(err.contains("--epochs"), "{err}");
    assert!(!m.exists(), "nothing saved");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn integer_labels_written_with_a_decimal_point_are_the_same_classes() {
    let d = dir("decimal");
    let (train, test) = (d.join("train.csv"), d.join("test.csv"));
    let mut a = String::from("x,digit\n");
    let mut b = String::from("x,digit\n");
    for i in 0..90 {
        a += &format!("{},{}.0\n", i % 3, i % 3);
        b += &format!("{},{}\n", i % 3, i % 3);
    }
    std::fs::write(&train, a).unwrap();
    std::fs::write(&test, b).unwrap();
    let model = train_ok(&d, &train, &["--epochs", "30"]);
    let info = ok(&nn(&["info", "--model", s(&model)]));
    assert!(info.contains("classes: 0, 1, 2"), "{info}");
    let eval = ok(&nn(&["eval", "--model", s(&model), "--data", s(&test)]));
    assert!(eval.contains("accuracy"), "{eval}");
    let unknown = d.join("unknown.csv");
    std::fs::write(&unknown, "x,digit\n1,1\n2,7\n").unwrap();
    let err = one_error(&nn(&["eval", "--model", s(&model), "--data", s(&unknown)]));
    assert!(
        err.contains("line 3") && err.contains("does not know"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn errors_name_columns_not_rows_and_help_describes_nn() {
    let d = dir("words");
    let data = d.join("three.csv");
    write_data(&data, 60, true);
    let model = train_ok(&d, &data, &["--epochs", "2"]);
    let fewer = d.join("fewer.csv");
    std::fs::write(&fewer, "x,kind\n1,red\n").unwrap();
    let err = one_error(&nn(&["predict", "--model", s(&model), "--data", s(&fewer)]));
    assert!(err.contains("column") && !err.contains("rows"), "{err}");
    let help = ok(&nn(&["--help"]));
    assert!(help.contains("CSV") && !help.contains("tour"), "{help}");
    let unknown = nn(&["train", "--dat", s(&data)]);
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        !unknown.status.success() && stderr.contains("--data"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn optimizers_schedules_dropout_class_weights_and_resume_from_the_command_line() {
    let d = dir("options");
    let data = d.join("three.csv");
    write_data(&data, 150, true);
    for extra in [
        &[
            "--optimizer",
            "sgd",
            "--lr",
            "0.1",
            "--schedule",
            "step:5:0.5",
        ][..],
        &[
            "--optimizer",
            "momentum",
            "--momentum",
            "0.8",
            "--schedule",
            "cosine:10",
        ],
        &[
            "--optimizer",
            "adamw",
            "--weight-decay",
            "0.05",
            "--dropout",
            "0.2",
        ],
        &[
            "--optimizer",
            "rmsprop",
            "--schedule",
            "plateau:2:0.5",
            "--class-weight",
            "balanced",
        ],
        &[
            "--class-weight",
            "red=2,green=1,blue=1",
            "--min-delta",
            "0.01",
            "--scale",
            "minmax",
        ],
    ] {
        let mut args = vec!["--epochs", "10"];
        args.extend_from_slice(extra);
        train_ok(&d, &data, &args);
    }
    // Ten epochs in two runs of five, through a checkpoint, equal ten in one.
    let ckpt = d.join("c.ckpt");
    let (one, two) = (d.join("one.safetensors"), d.join("two.safetensors"));
    let base = [
        "train",
        "--data",
        s(&data),
        "--quiet",
        "--n-iter-no-change",
        "0",
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        ok(&nn(&args));
    };
    run(&["--epochs", "10", "--out", s(&one)]);
    run(&["--epochs", "5", "--checkpoint", s(&ckpt), "--out", s(&two)]);
    run(&["--epochs", "10", "--resume", s(&ckpt), "--out", s(&two)]);
    assert_eq!(std::fs::read(&one).unwrap(), std::fs::read(&two).unwrap());
    let _ = std::fs::remove_dir_all(&d);
}

/// `python3` with numpy and safetensors, which `docs/python/predict.py` needs.
fn python_ready() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import numpy, safetensors"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn predict_py_reproduces_nn_predict_from_the_model_file_alone() {
    if !python_ready() {
        eprintln!("python3 with numpy and safetensors not found: predict.py not run");
        return;
    }
    let d = dir("python");
    let data = d.join("mixed.csv");
    let mut text = String::from("size,colour,weight,kind,price\n");
    for i in 0..200 {
        let size = if i % 9 == 0 {
            "NA".into()
        } else {
            format!("{}", (i % 13) as f64 * 0.7)
        };
        let colour = ["red", "", "blue", "green, pale"][i % 4];
        let weight = if i % 11 == 0 {
            String::new()
        } else {
            format!("{}", (i * 7 % 5) as f64)
        };
        let kind = if (i % 13) + (i * 7 % 5) > 8 {
            "large"
        } else {
            "small"
        };
        text += &format!(
            "{size},\"{colour}\",{weight},{kind},{}\n",
            i % 13 * 3 + i % 4
        );
    }
    std::fs::write(&data, text).unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/python/predict.py");
    // f64 models agree to 1e-6; f32 models to f32's precision of the un-scaled value (a
    // regression output `y'·scale + shift` carries f32 rounding of its terms, ~1e-6 for
    // prices of tens).
    for (label, dtype) in [
        ("kind", "f64"),
        ("price", "f64"),
        ("kind", "f32"),
        ("price", "f32"),
    ] {
        let tol = if dtype == "f64" { 1e-6 } else { 1e-5 };
        let model = d.join(format!("{label}-{dtype}.safetensors"));
        ok(&nn(&[
            "train",
            "--data",
            s(&data),
            "--label",
            label,
            "--dtype",
            dtype,
            "--quiet",
            "--out",
            s(&model),
        ]));
        let ours = csv_rows(&ok(&nn(&[
            "predict",
            "--model",
            s(&model),
            "--data",
            s(&data),
        ])));
        let out = std::process::Command::new("python3")
            .arg(&script)
            .arg(&model)
            .arg(&data)
            .output()
            .unwrap();
        let theirs = csv_rows(&ok(&out));
        assert_eq!(ours[0], theirs[0], "the same columns");
        assert_eq!(ours.len(), theirs.len());
        for (a, b) in ours[1..].iter().zip(&theirs[1..]) {
            for (x, y) in a.iter().zip(b) {
                match (x.parse::<f64>(), y.parse::<f64>()) {
                    (Ok(x), Ok(y)) => assert!(
                        (x - y).abs() <= tol * x.abs().max(1.0),
                        "{label} {dtype}: nn {x}, python {y}"
                    ),
                    _ => assert_eq!(x, y, "{label} {dtype}: the same class"),
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn export_writes_the_model_as_onnx() {
    let d = dir("export");
    let data = d.join("three.csv");
    write_data(&data, 90, true);
    let model = train_ok(&d, &data, &["--epochs", "5"]);
    let onnx = d.join("model.onnx");
    let out = ok(&nn(&[
        "export",
        "--model",
        s(&model),
        "--format",
        "onnx",
        "--out",
        s(&onnx),
    ]));
    assert!(out.contains("x, y"), "names the inputs in order: {out}");
    let m = nn_train::persist::load_model::<f32>(&model).unwrap();
    let expected = nn_train::persist::onnx::to_onnx_bytes(&m).unwrap();
    assert_eq!(std::fs::read(&onnx).unwrap(), expected);
    let err = one_error(&nn(&["export", "--model", s(&data), "--out", s(&onnx)]));
    assert!(err.contains("three.csv"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn missing_tokens_can_be_chosen_and_blank_cells_stay_missing() {
    let d = dir("tokens");
    let data = d.join("dash.csv");
    let mut text = String::from("size,kind\n");
    for i in 0..60 {
        let size = match i % 10 {
            0 => "-".to_string(),
            5 => String::new(),
            k => format!("{k}"),
        };
        text += &format!("{size},{}\n", if i % 10 < 5 { "small" } else { "large" });
    }
    std::fs::write(&data, text).unwrap();
    let model = train_ok(&d, &data, &["--missing", "-", "--epochs", "5"]);
    let info = ok(&nn(&["info", "--model", s(&model)]));
    assert!(
        info.contains("size: number"),
        "`-` and blanks are missing, not text: {info}"
    );
    // Without `-` in the list, the column holds text.
    let model = train_ok(&d, &data, &["--missing", "NA", "--epochs", "5"]);
    let info = ok(&nn(&["info", "--model", s(&model)]));
    assert!(info.contains("size: text"), "{info}");
    let _ = std::fs::remove_dir_all(&d);
}

/// A PyTorch fixture of nn-train's tests (`tests/torch/make_fixtures.py`).
fn torch_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../nn-train/tests/torch/{name}"))
}

/// A fixture's input rows and PyTorch's output rows, as `f64`.
fn torch_io(name: &str) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let bytes = std::fs::read(torch_fixture(&format!("{name}.io.safetensors"))).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let rows = |key: &str| -> Vec<Vec<f64>> {
        let t = st.tensor(key).unwrap();
        let values: Vec<f64> = match t.dtype() {
            safetensors::Dtype::F32 => t
                .data()
                .chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap())))
                .collect(),
            _ => t
                .data()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                .collect(),
        };
        let width = values.len() / t.shape()[0];
        values.chunks(width).map(<[f64]>::to_vec).collect()
    };
    (rows("input"), rows("output"))
}

/// `nn import` of a PyTorch fixture, then `nn predict` on its inputs written as CSV: the
/// predictions must be PyTorch's outputs.
fn import_predicts_as_torch(name: &str, classes: &[&str], tol: f64) {
    let d = dir(&format!("import-{name}"));
    let model = d.join("model.safetensors");
    let state_dict = torch_fixture(&format!("{name}.state_dict.safetensors"));
    let arch = torch_fixture(&format!("{name}.arch.json"));
    let joined = classes.join(",");
    let mut args = vec![
        "import",
        "--torch",
        s(&state_dict),
        "--arch",
        s(&arch),
        "--out",
        s(&model),
    ];
    if !classes.is_empty() {
        args.extend(["--classes", joined.as_str()]);
    }
    let out = ok(&nn(&args));
    assert!(out.contains("no preprocessing"), "{out}");
    let (inputs, expected) = torch_io(name);
    let width = inputs[0].len();
    let mut text = (0..width)
        .map(|i| format!("f{i}"))
        .collect::<Vec<_>>()
        .join(",");
    text.push('\n');
    for row in &inputs {
        let cells: Vec<String> = row.iter().map(f64::to_string).collect();
        text += &cells.join(",");
        text.push('\n');
    }
    let data = d.join("inputs.csv");
    std::fs::write(&data, text).unwrap();
    let predicted = csv_rows(&ok(&nn(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&data),
    ])));
    // With class names: the class, then one probability per class.
    let skip = usize::from(!classes.is_empty());
    assert_eq!(predicted.len(), expected.len() + 1, "{predicted:?}");
    for (row, want) in predicted[1..].iter().zip(&expected) {
        let found: Vec<f64> = row[skip..].iter().map(|c| c.parse().unwrap()).collect();
        assert_eq!(found.len(), want.len(), "{row:?}");
        for (x, y) in found.iter().zip(want) {
            assert!(
                (x - y).abs() <= tol * y.abs().max(1.0),
                "{name}: nn {x}, torch {y}"
            );
        }
        if skip == 1 {
            let best = (0..want.len()).fold(0, |b, i| if want[i] > want[b] { i } else { b });
            assert_eq!(row[0], classes[best]);
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn import_reads_a_pytorch_state_dict_that_predict_then_uses() {
    import_predicts_as_torch("mlp_f32", &["a", "b", "c"], 1e-5);
    import_predicts_as_torch("mlp_f64", &[], 1e-12);
    import_predicts_as_torch("cnn_f32", &["x", "y", "z"], 1e-5);
}

#[test]
fn export_format_torch_gives_the_state_dict_back_and_it_imports_without_arch() {
    let d = dir("export-torch");
    let state_dict = torch_fixture("cnn_f64.state_dict.safetensors");
    let model = d.join("model.safetensors");
    ok(&nn(&[
        "import",
        "--torch",
        s(&state_dict),
        "--arch",
        s(&torch_fixture("cnn_f64.arch.json")),
        "--out",
        s(&model),
    ]));
    let exported = d.join("exported.safetensors");
    let out = ok(&nn(&[
        "export",
        "--model",
        s(&model),
        "--format",
        "torch",
        "--out",
        s(&exported),
    ]));
    assert!(out.contains("nn.torch_sequential"), "{out}");
    let bytes = std::fs::read(&exported).unwrap();
    let original = std::fs::read(&state_dict).unwrap();
    let tensors = |b: &[u8]| {
        let st = safetensors::SafeTensors::deserialize(b).unwrap();
        let mut t: Vec<(String, Vec<usize>, Vec<u8>)> = st
            .tensors()
            .into_iter()
            .map(|(n, v)| (n, v.shape().to_vec(), v.data().to_vec()))
            .collect();
        t.sort();
        t
    };
    assert_eq!(tensors(&bytes), tensors(&original));
    // nn's own export carries the architecture: no --arch needed, the same model.
    let again = d.join("again.safetensors");
    ok(&nn(&[
        "import",
        "--torch",
        s(&exported),
        "--out",
        s(&again),
    ]));
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&model).unwrap()
    );
    // A trained model's pipeline stays behind, and the output says so.
    let data = d.join("three.csv");
    write_data(&data, 60, true);
    let trained = train_ok(&d, &data, &["--epochs", "2"]);
    let out = ok(&nn(&[
        "export",
        "--model",
        s(&trained),
        "--format",
        "torch",
        "--out",
        s(&exported),
    ]));
    assert!(out.contains("pipeline is not part of it"), "{out}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn import_errors_name_the_missing_architecture_and_the_tensor() {
    let d = dir("import-errors");
    let model = d.join("model.safetensors");
    let mlp = torch_fixture("mlp_f32.state_dict.safetensors");
    let err = one_error(&nn(&["import", "--torch", s(&mlp), "--out", s(&model)]));
    assert!(err.contains("--arch"), "{err}");
    let err = one_error(&nn(&[
        "import",
        "--torch",
        s(&mlp),
        "--arch",
        s(&torch_fixture("cnn_f32.arch.json")),
        "--out",
        s(&model),
    ]));
    assert!(
        err.contains("tensor \"0.weight\" has shape [6, 4], expected [3, 2, 3, 2]"),
        "{err}"
    );
    let err = one_error(&nn(&[
        "import",
        "--torch",
        s(&mlp),
        "--arch",
        s(&torch_fixture("mlp_f32.arch.json")),
        "--classes",
        "a,b",
        "--out",
        s(&model),
    ]));
    assert!(err.contains("nn.classes has 2 names"), "{err}");
    assert!(!model.exists(), "nothing is written on an error");
    let help = ok(&nn(&["import", "--help"]));
    assert!(
        help.contains("save_file(model.state_dict()") && help.contains("--prefix"),
        "{help}"
    );
    let _ = std::fs::remove_dir_all(&d);
}
