//! Tables, the preprocessing pipeline and its stored form: reading rules (delimiters,
//! missing tokens, CRLF line numbers), task inference, fitted values against numbers
//! computed by hand, fitted on the training rows only, the serde form bit-exact, hostile
//! stored forms refused, and model files with and without a pipeline.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use nn_train::data::{
    CsvOptions, DEFAULT_MISSING, Delimiter, Table, TableOptions, detect_delimiter, read_csv,
    read_table,
};
use nn_train::persist::{ModelNames, ModelWriter, model_from_bytes, model_to_bytes_named};
use nn_train::pipeline::{
    Feature, NumericImpute, Pipeline, PipelineConfig, Scaling, Target, TaskKind, check_task,
    infer_task,
};
use nn_train::{Activation, DataError, FormatError, Loss, Network, TrainError};
use proptest::prelude::*;

fn table(text: &str) -> Table {
    read_table(text.as_bytes(), "t.csv", &TableOptions::default()).unwrap()
}

fn line_of(err: &TrainError) -> u64 {
    match err {
        TrainError::Data(DataError::Csv { line, .. }) => *line,
        other => panic!("not a CSV error: {other}"),
    }
}

// ---------------------------------------------------------------------------------------
// Reading

#[test]
fn the_delimiter_is_detected_from_the_header_outside_quotes() {
    assert_eq!(detect_delimiter(b"a,b,c"), b',');
    assert_eq!(detect_delimiter(b"a;b;c"), b';');
    assert_eq!(detect_delimiter(b"a\tb\tc"), b'\t');
    assert_eq!(detect_delimiter(b"\"x,y,z\";b"), b';');
    // Ties go to the earlier of , ; tab; none at all is a comma.
    assert_eq!(detect_delimiter(b"a,b;c"), b',');
    assert_eq!(detect_delimiter(b"a;b\tc"), b';');
    assert_eq!(detect_delimiter(b"one"), b',');
    // Only the header line counts.
    assert_eq!(detect_delimiter(b"a;b\n1,2,3,4"), b';');
    for (text, names) in [
        ("a;b\n1;2\n", ["a", "b"]),
        ("a\tb\n1\t2\n", ["a", "b"]),
        ("a,b\n1,2\n", ["a", "b"]),
    ] {
        assert_eq!(table(text).names(), names, "{text:?}");
    }
    let given = TableOptions {
        delimiter: Delimiter::Byte(b'|'),
        ..TableOptions::default()
    };
    let t = read_table(&b"a|b\n1|2\n"[..], "t", &given).unwrap();
    assert_eq!(t.names(), ["a", "b"]);
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_name() {
    let t = table("\u{feff}a;b\n1;NA\n");
    assert_eq!(t.names(), ["a", "b"]);
    assert_eq!(t.column("b").unwrap().present_rows(), Vec::<usize>::new());
    assert_eq!(t.column("a").unwrap().present_rows(), [0]);
}

#[test]
fn missing_tokens_are_exact_and_configurable() {
    let t = table("x,c\n1,a\nNA,N/A\nnan,NaN\nnull,?\n,b\nNa,none\n");
    let x = t.column("x").unwrap();
    let c = t.column("c").unwrap();
    assert_eq!(x.missing_count(), 4);
    assert_eq!(c.missing_count(), 3);
    // Case matters: "Na" is a value (so x is categorical), as is "none".
    assert_eq!(x.text(5), Some("Na"));
    assert_eq!(c.text(5), Some("none"));
    let options = TableOptions {
        missing: vec!["-".into()],
        ..TableOptions::default()
    };
    let t = read_table(&b"x\n1\n-\nNA\n"[..], "t", &options).unwrap();
    let x = t.column("x").unwrap();
    assert_eq!((x.missing_count(), x.text(2)), (1, Some("NA")));
    assert_eq!(
        DEFAULT_MISSING,
        ["", "NA", "N/A", "nan", "NaN", "null", "?"]
    );
}

#[test]
fn crlf_files_report_the_same_line_numbers_as_lf_files() {
    let lf = "x,label\n1,a\n\n2,b\noops,c\n";
    let crlf = lf.replace('\n', "\r\n");
    for text in [lf, crlf.as_str()] {
        let err = read_csv::<f64, _>(text.as_bytes(), "t.csv", &CsvOptions::default()).unwrap_err();
        assert_eq!(line_of(&err), 5, "{text:?}: {err}");
        // The table reader too, for a ragged row.
        let ragged = text.replace("oops,c", "3,c,extra");
        let err = read_table(ragged.as_bytes(), "t.csv", &TableOptions::default()).unwrap_err();
        assert_eq!(line_of(&err), 5, "{ragged:?}: {err}");
        // The last field has no \r left.
        let t = table(text);
        assert_eq!(t.column("label").unwrap().text(2), Some("c"));
        assert_eq!(t.line(2), 5);
    }
    // A quoted last field keeps its text, and a quoted line break counts as a line.
    let quoted = "\"x\",\"label\"\r\n1,\"a, b\"\r\n2,\"two\r\nlines\"\r\n3,c\r\n";
    let t = table(quoted);
    let label = t.column("label").unwrap();
    assert_eq!(
        (label.text(0), label.text(1)),
        (Some("a, b"), Some("two\r\nlines"))
    );
    assert_eq!((t.line(0), t.line(1), t.line(2)), (2, 3, 5));
}

#[test]
fn gzip_tables_read_like_plain_ones() {
    use std::io::Write;
    let text = "a;b\n1;x\nNA;y\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    let t = read_table(&bytes[..], "t.csv.gz", &TableOptions::default()).unwrap();
    assert_eq!(t, table(text).clone_with_source("t.csv.gz"));
}

trait WithSource {
    fn clone_with_source(&self, source: &str) -> Table;
}
impl WithSource for Table {
    fn clone_with_source(&self, source: &str) -> Table {
        let names: Vec<&str> = self.names().iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = (0..self.n_rows())
            .map(|r| {
                (0..self.n_columns())
                    .map(|c| self.column_at(c).unwrap().text(r).unwrap_or("").to_string())
                    .collect()
            })
            .collect();
        let t = Table::from_rows(source, &names, &rows, DEFAULT_MISSING).unwrap();
        // Lines of a table read from a file are its own.
        let lines: Vec<usize> = (0..self.n_rows()).collect();
        assert!(lines.iter().all(|&r| self.line(r) == t.line(r)));
        t
    }
}

#[test]
fn hostile_tables_are_errors() {
    let dup = read_table(&b"a,a\n1,2\n"[..], "t", &TableOptions::default()).unwrap_err();
    assert!(dup.to_string().contains("duplicate column name"), "{dup}");
    let small = TableOptions {
        max_cells: 5,
        ..TableOptions::default()
    };
    let err = read_table(&b"a,b\n1,2\n3,4\n5,6\n"[..], "t", &small).unwrap_err();
    assert!(matches!(err, TrainError::TooLarge { .. }), "{err}");
    let wide = format!("{}\n", vec!["c"; 70_000].join(","));
    let err = read_table(wide.as_bytes(), "t", &TableOptions::default()).unwrap_err();
    assert!(matches!(err, TrainError::TooLarge { .. }), "{err}");
    let empty = read_table(&b""[..], "t", &TableOptions::default()).unwrap_err();
    assert_eq!(line_of(&empty), 0);
}

// ---------------------------------------------------------------------------------------
// Tasks

#[test]
fn the_task_is_inferred_from_the_labels() {
    let rows = |labels: &[&str]| {
        let rows: Vec<[&str; 2]> = labels.iter().map(|l| ["1", *l]).collect();
        Table::from_rows("t", &["x", "y"], &rows, DEFAULT_MISSING).unwrap()
    };
    let task = |labels: &[&str]| infer_task(&rows(labels), "y").unwrap();
    assert_eq!(task(&["a", "b", "a", "b"]), TaskKind::Classification);
    assert_eq!(task(&["1", "2.0", "1", "2"]), TaskKind::Classification);
    assert_eq!(task(&["1", "2.5", "1", "2"]), TaskKind::Regression);
    // More distinct values than half the rows: regression.
    assert_eq!(task(&["1", "2", "3", "1"]), TaskKind::Regression);
    // More than 20 distinct integers: regression, however many rows.
    let many: Vec<String> = (0..100).map(|i| (i % 21).to_string()).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(task(&many), TaskKind::Regression);
    let twenty: Vec<String> = (0..100).map(|i| (i % 20).to_string()).collect();
    let twenty: Vec<&str> = twenty.iter().map(String::as_str).collect();
    assert_eq!(task(&twenty), TaskKind::Classification);
}

#[test]
fn a_requested_task_that_contradicts_the_labels_is_refused() {
    let t = Table::from_rows("t", &["x", "y"], &[["1", "a"], ["2", "b"]], DEFAULT_MISSING).unwrap();
    let err = check_task(&t, "y", TaskKind::Regression).unwrap_err();
    assert!(matches!(err, TrainError::Data(DataError::Column { .. })));
    assert!(err.to_string().contains("line 2"), "{err}");
    assert!(
        err.to_string().contains("regression needs numeric labels"),
        "{err}"
    );
    let t = Table::from_rows(
        "t",
        &["x", "y"],
        &[["1", "1"], ["2", "2.5"]],
        DEFAULT_MISSING,
    )
    .unwrap();
    let err = check_task(&t, "y", TaskKind::Classification).unwrap_err();
    assert!(
        err.to_string().contains("line 3") && err.to_string().contains("\"2.5\""),
        "{err}"
    );
    let err = infer_task(&t, "nope").unwrap_err();
    assert!(
        matches!(err, TrainError::Data(DataError::MissingColumn { .. })),
        "{err}"
    );
}

#[test]
fn integer_labels_written_with_a_fraction_name_the_same_classes() {
    let train = table("x,y\n1,3.0\n2,1.0\n3,3.0\n4,10.0\n5,1\n6,10\n");
    let p = Pipeline::fit(&train, &PipelineConfig::new("y")).unwrap();
    assert_eq!(p.task(), TaskKind::Classification);
    // Numeric order, written as integers.
    assert_eq!(p.classes().unwrap(), ["1", "3", "10"]);
    let test = table("x,y\n1,3\n2,10.0\n3,1e0\n");
    assert_eq!(p.class_indices(&test).unwrap(), [1, 2, 0]);
    let unknown = table("x,y\n1,4\n");
    let err = p.class_indices(&unknown).unwrap_err();
    assert_eq!(line_of(&err), 2);
}

// ---------------------------------------------------------------------------------------
// Fitted values, by hand

fn shop() -> Table {
    table(
        "size,color,price\n\
         1,red,10\n\
         2,blue,20\n\
         NA,red,30\n\
         5,,40\n\
         6,blue,50\n",
    )
}

#[test]
fn imputation_one_hot_and_scaling_match_hand_computed_values() {
    let t = shop();
    let p = Pipeline::fit(&t, &PipelineConfig::new("price")).unwrap();
    // size: present 1, 2, 5, 6 → mean 3.5; imputed 1, 2, 3.5, 5, 6 → mean 3.5,
    // σ² = (6.25 + 2.25 + 0 + 2.25 + 6.25) / 5 = 3.4.
    let Feature::Numeric {
        fill, shift, scale, ..
    } = &p.features()[0]
    else {
        panic!("size is numeric");
    };
    assert_eq!((*fill, *shift), (3.5, 3.5));
    assert!((scale - 3.4f64.sqrt()).abs() < 1e-15);
    // color: blue 2, red 2 → tie to the first in byte order, "blue".
    assert_eq!(
        p.features()[1],
        Feature::Categorical {
            name: "color".into(),
            fill: "blue".into(),
            categories: vec!["blue".into(), "red".into()],
        }
    );
    assert_eq!(p.input_names(), ["size", "color=blue", "color=red"]);
    // price: mean 30, σ = √200.
    let Target::Regression { shift, scale, .. } = p.target() else {
        panic!("regression");
    };
    assert_eq!(*shift, 30.0);
    assert!((scale - 200f64.sqrt()).abs() < 1e-12);
    let x = p.transform::<f64>(&t).unwrap();
    let s = 3.4f64.sqrt();
    let expected = [
        [(1.0 - 3.5) / s, 0.0, 1.0],
        [(2.0 - 3.5) / s, 1.0, 0.0],
        [0.0, 0.0, 1.0],
        [(5.0 - 3.5) / s, 1.0, 0.0], // missing color → blue
        [(6.0 - 3.5) / s, 1.0, 0.0],
    ];
    for (j, col) in expected.iter().enumerate() {
        for (i, v) in col.iter().enumerate() {
            assert!(
                (x[(i, j)] - v).abs() < 1e-15,
                "({i}, {j}): {} vs {v}",
                x[(i, j)]
            );
        }
    }
    let y = p.targets::<f64>(&t).unwrap();
    assert!((y[(0, 0)] - (10.0 - 30.0) / 200f64.sqrt()).abs() < 1e-15);
    let back = p.inverse_target(&y);
    assert!((back[(0, 4)] - 50.0).abs() < 1e-12);
}

#[test]
fn median_min_max_none_and_unknown_categories() {
    let t = shop();
    let config = PipelineConfig {
        impute: NumericImpute::Median,
        scaling: Scaling::MinMax,
        ..PipelineConfig::new("price")
    };
    let p = Pipeline::fit(&t, &config).unwrap();
    // Median of 1, 2, 5, 6 is 3.5; min 1, range 5.
    let Feature::Numeric {
        fill, shift, scale, ..
    } = &p.features()[0]
    else {
        panic!("numeric");
    };
    assert_eq!((*fill, *shift, *scale), (3.5, 1.0, 5.0));
    let odd = table("a,y\n1,0\n9,1\n2,0\nNA,1\n");
    let p_odd = Pipeline::fit(
        &odd,
        &PipelineConfig {
            impute: NumericImpute::Median,
            ..PipelineConfig::new("y")
        },
    )
    .unwrap();
    let Feature::Numeric { fill, .. } = &p_odd.features()[0] else {
        panic!("numeric");
    };
    assert_eq!(*fill, 2.0);
    // Test rows: unknown color → zeros, missing color → the fill, min–max of size.
    let test = table("color,size\ngreen,11\n,1\n");
    let x = p.transform::<f32>(&test).unwrap();
    assert_eq!(x.as_slice(), [2.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let none = PipelineConfig {
        scaling: Scaling::None,
        scale_target: false,
        ..PipelineConfig::new("price")
    };
    let p = Pipeline::fit(&t, &none).unwrap();
    let x = p.transform::<f64>(&test).unwrap();
    assert_eq!(x[(0, 0)], 11.0);
    assert_eq!(
        p.inverse_target(&p.targets::<f64>(&t).unwrap())[(0, 1)],
        20.0
    );
    // A constant column: standardized 0, min–max 0.
    let c = table("k,y\n4,1\n4,2\n4,3\n");
    for scaling in [Scaling::Standardize, Scaling::MinMax] {
        let p = Pipeline::fit(
            &c,
            &PipelineConfig {
                scaling,
                ..PipelineConfig::new("y")
            },
        )
        .unwrap();
        assert_eq!(p.transform::<f64>(&c).unwrap().as_slice(), [0.0; 3]);
    }
}

#[test]
fn columns_are_found_by_name_and_missing_ones_named() {
    let t = shop();
    let p = Pipeline::fit(&t, &PipelineConfig::new("price")).unwrap();
    let reordered = table("price,extra,color,size\n1,z,red,2\n");
    let plain = table("size,color\n2,red\n");
    assert_eq!(
        p.transform::<f64>(&reordered).unwrap(),
        p.transform::<f64>(&plain).unwrap()
    );
    let err = p.transform::<f64>(&table("color\nred\n")).unwrap_err();
    match &err {
        TrainError::Data(DataError::MissingColumn { column, .. }) => assert_eq!(column, "size"),
        other => panic!("{other}"),
    }
    let err = p
        .transform::<f64>(&table("size,color\nbig,red\n"))
        .unwrap_err();
    assert_eq!(line_of(&err), 2, "{err}");
}

#[test]
fn a_feature_missing_in_every_training_row_is_an_error_naming_it() {
    let t = table("a,empty,y\n1,NA,0\n2,,1\n3,?,0\n4,NA,1\n");
    let err = Pipeline::fit(&t, &PipelineConfig::new("y")).unwrap_err();
    match &err {
        TrainError::Data(DataError::Column {
            column, problem, ..
        }) => {
            assert_eq!(column, "empty");
            assert!(problem.contains("missing in every"), "{problem}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn the_fit_depends_on_the_training_rows_only() {
    let all = shop();
    let train = all.take_rows(&[0, 1, 2]).unwrap();
    let p = Pipeline::fit(&train, &PipelineConfig::new("price")).unwrap();
    let before = p.clone();
    let test = all.take_rows(&[3, 4]).unwrap();
    let _ = p.transform::<f64>(&test).unwrap();
    let _ = p.targets::<f64>(&test).unwrap();
    assert_eq!(p, before);
    // Fitted on rows 0–2 alone: size mean (1 + 2) / 2, no "blue" beyond row 1.
    let Feature::Numeric { fill, .. } = &p.features()[0] else {
        panic!("numeric");
    };
    assert_eq!(*fill, 1.5);
    assert_ne!(
        p,
        Pipeline::fit(&all, &PipelineConfig::new("price")).unwrap()
    );
}

// ---------------------------------------------------------------------------------------
// The stored form

fn fitted() -> Vec<Pipeline> {
    let t = shop();
    let mut out = Vec::new();
    for scaling in [Scaling::Standardize, Scaling::MinMax, Scaling::None] {
        for impute in [NumericImpute::Mean, NumericImpute::Median] {
            let config = PipelineConfig {
                scaling,
                impute,
                ..PipelineConfig::new("price")
            };
            out.push(Pipeline::fit(&t, &config).unwrap());
        }
    }
    let classes = table("size,color,kind\n1,red,a\n2,blue,b\n3,red,a\n");
    out.push(Pipeline::fit(&classes, &PipelineConfig::new("kind")).unwrap());
    out
}

#[test]
fn the_stored_form_states_formulas_and_version() {
    let p = &fitted()[0];
    let v = p.to_json();
    assert_eq!(v["version"], 1);
    assert_eq!(v["scale"]["kind"], "standardize");
    assert!(
        v["scale"]["formula"]
            .as_str()
            .unwrap()
            .contains("x' = (x - shift) / scale")
    );
    assert!(
        v["target"]["formula"]
            .as_str()
            .unwrap()
            .contains("y = y' * scale + shift")
    );
    assert!(v["impute"]["formula"].is_string() && v["one_hot"]["formula"].is_string());
    assert_eq!(
        v["columns"][1]["categories"],
        serde_json::json!(["blue", "red"])
    );
    assert_eq!(
        v["inputs"],
        serde_json::json!(["size", "color=blue", "color=red"])
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn the_stored_form_round_trips_bit_exactly(
        values in proptest::collection::vec(-1e300f64..1e300, 2..12),
        cats in proptest::collection::vec("[a-c]{1,2}", 2..12),
    ) {
        let n = values.len().min(cats.len());
        let rows: Vec<[String; 3]> = (0..n)
            .map(|i| [format!("{:e}", values[i]), cats[i].clone(), format!("{}", values[(i + 1) % n])])
            .collect();
        let t = Table::from_rows("t", &["v", "c", "y"], &rows, DEFAULT_MISSING).unwrap();
        let config = PipelineConfig { task: Some(TaskKind::Regression), ..PipelineConfig::new("y") };
        let Ok(p) = Pipeline::fit(&t, &config) else { return Ok(()); };
        let text = p.to_json().to_string();
        let back = Pipeline::from_json_str(&text).unwrap();
        prop_assert_eq!(&back, &p);
        prop_assert_eq!(back.to_json().to_string(), text);
        // Bit-exact, not merely equal.
        for (a, b) in back.features().iter().zip(p.features()) {
            if let (Feature::Numeric { shift: s1, scale: c1, fill: f1, .. },
                    Feature::Numeric { shift: s2, scale: c2, fill: f2, .. }) = (a, b) {
                prop_assert_eq!((s1.to_bits(), c1.to_bits(), f1.to_bits()), (s2.to_bits(), c2.to_bits(), f2.to_bits()));
            }
        }
    }
}

/// The stored form of `p` with `edit` applied to its JSON.
fn edited(p: &Pipeline, edit: impl Fn(&mut serde_json::Value)) -> String {
    let mut v = p.to_json();
    edit(&mut v);
    v.to_string()
}

#[test]
fn hostile_or_inconsistent_stored_forms_are_format_errors() {
    let ps = fitted();
    let (reg, class) = (&ps[0], ps.last().unwrap());
    let cases: Vec<(&str, String)> = vec![
        ("version", edited(reg, |v| v["version"] = 2.into())),
        (
            "no version",
            edited(reg, |v| {
                v.as_object_mut().unwrap().remove("version");
            }),
        ),
        (
            "zero std",
            edited(reg, |v| v["columns"][0]["scale"] = 0.0.into()),
        ),
        (
            "negative std",
            edited(reg, |v| v["columns"][0]["scale"] = (-1.0).into()),
        ),
        (
            "NaN mean",
            edited(reg, |v| v["columns"][0]["shift"] = serde_json::Value::Null),
        ),
        (
            "string fill",
            edited(reg, |v| v["columns"][0]["fill"] = "x".into()),
        ),
        (
            "target std",
            edited(reg, |v| v["target"]["scale"] = 0.0.into()),
        ),
        (
            "unknown fill",
            edited(reg, |v| v["columns"][1]["fill"] = "green".into()),
        ),
        (
            "unsorted",
            edited(reg, |v| {
                v["columns"][1]["categories"] = serde_json::json!(["red", "blue"])
            }),
        ),
        (
            "no categories",
            edited(reg, |v| {
                v["columns"][1]["categories"] = serde_json::json!([])
            }),
        ),
        (
            "inputs",
            edited(reg, |v| v["inputs"] = serde_json::json!(["size"])),
        ),
        (
            "duplicate column",
            edited(reg, |v| v["columns"][1]["name"] = "size".into()),
        ),
        (
            "label as feature",
            edited(reg, |v| v["columns"][0]["name"] = "price".into()),
        ),
        (
            "one class",
            edited(class, |v| v["target"]["classes"] = serde_json::json!(["a"])),
        ),
        (
            "duplicate class",
            edited(class, |v| {
                v["target"]["classes"] = serde_json::json!(["a", "a"])
            }),
        ),
        (
            "unknown rule",
            edited(reg, |v| v["one_hot"]["unknown"] = "error".into()),
        ),
        (
            "kind",
            edited(reg, |v| v["columns"][0]["kind"] = "text".into()),
        ),
        ("huge categories", {
            let many: Vec<String> = (0..70_000).map(|i| format!("{i:06}")).collect();
            edited(reg, |v| {
                v["columns"][1]["categories"] = serde_json::json!(many)
            })
        }),
        ("not json", "{\"version\": 1, ".into()),
        ("not an object", "[1, 2]".into()),
    ];
    for (what, text) in cases {
        match Pipeline::from_json_str(&text) {
            Err(TrainError::Format(FormatError::Pipeline { .. })) => {}
            other => panic!("{what}: expected a FormatError::Pipeline, got {other:?}"),
        }
    }
    for p in &ps {
        assert_eq!(
            &Pipeline::from_json_str(&p.to_json().to_string()).unwrap(),
            p
        );
    }
}

// ---------------------------------------------------------------------------------------
// Model files

fn network(inputs: usize, outputs: usize) -> Network<f64> {
    Network::<f64>::builder(inputs)
        .dense(3, Activation::Relu)
        .dense(
            outputs,
            if outputs == 1 {
                Activation::Identity
            } else {
                Activation::Softmax
            },
        )
        .loss(if outputs == 1 {
            Loss::Mse
        } else {
            Loss::CategoricalCrossEntropy
        })
        .seed(4)
        .build()
        .unwrap()
}

#[test]
fn model_files_keep_the_pipeline_and_check_it() {
    let ps = fitted();
    let (reg, class) = (&ps[0], ps.last().unwrap());
    let net = network(reg.n_inputs(), 1);
    let bytes = ModelWriter::new(&net).pipeline(reg).to_bytes().unwrap();
    let model = model_from_bytes::<f64>(&bytes, "m").unwrap();
    assert_eq!(model.pipeline.as_ref(), Some(reg));
    assert_eq!(model.label.as_deref(), Some("price"));
    // Loaded and saved again: the same bytes.
    let again = ModelWriter::new(&model.network)
        .pipeline(model.pipeline.as_ref().unwrap())
        .to_bytes()
        .unwrap();
    assert_eq!(again, bytes);
    // prepare + predict + unscale.
    let t = shop();
    let y = model.predict_table(&t).unwrap();
    let direct = reg.inverse_target(&net.predict(&reg.transform::<f64>(&t).unwrap()).unwrap());
    assert_eq!(y, direct);

    // Classification: the classes go to nn.classes.
    let net2 = network(class.n_inputs(), 2);
    let bytes = ModelWriter::new(&net2).pipeline(class).to_bytes().unwrap();
    let model = model_from_bytes::<f64>(&bytes, "m").unwrap();
    assert_eq!(model.classes.as_deref(), class.classes());

    // Without a pipeline nothing changes: the same bytes as model_to_bytes_named.
    let names = ModelNames {
        label: Some("y".into()),
        ..ModelNames::default()
    };
    assert_eq!(
        ModelWriter::new(&net)
            .names(names.clone())
            .to_bytes()
            .unwrap(),
        model_to_bytes_named(&net, None, &names).unwrap()
    );
    let plain =
        model_from_bytes::<f64>(&model_to_bytes_named(&net, None, &names).unwrap(), "m").unwrap();
    assert!(plain.pipeline.is_none());
    assert!(matches!(
        plain.prepare(&t),
        Err(TrainError::BadInput { .. })
    ));

    // A pipeline that does not fit the network is refused when saving…
    let wrong = network(reg.n_inputs() + 1, 1);
    assert!(ModelWriter::new(&wrong).pipeline(reg).to_bytes().is_err());
    assert!(
        ModelWriter::new(&network(reg.n_inputs(), 2))
            .pipeline(reg)
            .to_bytes()
            .is_err()
    );
    let named = ModelNames {
        label: Some("other".into()),
        ..ModelNames::default()
    };
    assert!(
        ModelWriter::new(&net)
            .names(named)
            .pipeline(reg)
            .to_bytes()
            .is_err()
    );
}

#[test]
fn a_network_with_one_input_saves_and_loads() {
    // One input: the first weight is `[out, 1]` in the file, as the loader expects.
    for outputs in [1, 2] {
        let net = network(1, outputs);
        let bytes = model_to_bytes_named(&net, None, &ModelNames::default()).unwrap();
        let model = model_from_bytes::<f64>(&bytes, "m").unwrap();
        let x = nn_train::DMatrix::from_row_slice(1, 3, &[0.5, -1.0, 2.0]);
        assert_eq!(model.network.predict(&x).unwrap(), net.predict(&x).unwrap());
    }
}

#[test]
fn a_model_file_with_a_hostile_pipeline_is_a_format_error() {
    let reg = &fitted()[0];
    let net = network(reg.n_inputs(), 1);
    let good = ModelWriter::new(&net).pipeline(reg).to_bytes().unwrap();
    let text = reg.to_json().to_string();
    for bad in [
        text.replace("\"version\":1", "\"version\":7"),
        text.replace(
            "\"categories\":[\"blue\",\"red\"]",
            "\"categories\":[\"blue\",\"red\",\"z\"]",
        ),
        "{}".to_string(),
        "null".to_string(),
    ] {
        let bytes = replace_meta(&good, "nn.pipeline", &bad);
        match model_from_bytes::<f64>(&bytes, "m") {
            Err(TrainError::Format(FormatError::ModelFile { problem, .. })) => {
                assert!(problem.contains("nn.pipeline"), "{problem}");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

/// The model file `bytes` with metadata `key` set to `value` (the header rewritten).
fn replace_meta(bytes: &[u8], key: &str, value: &str) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    header["__metadata__"][key] = value.into();
    let mut text = header.to_string().into_bytes();
    while !text.len().is_multiple_of(8) {
        text.push(b' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + n..]);
    out
}

#[test]
fn a_file_without_a_header_names_its_columns_by_position() {
    let options = TableOptions {
        has_header: false,
        ..TableOptions::default()
    };
    let t = read_table(&b"1;a\n2;b\n"[..], "t", &options).unwrap();
    assert_eq!(t.names(), ["#0", "#1"]);
    assert_eq!(t.n_rows(), 2);
    assert_eq!(t.column("#0").unwrap().number(0), Some(1.0));
    assert_eq!(t.line(1), 2);
    // The first row is data, so it counts against the size limit and sets the width.
    let small = TableOptions {
        has_header: false,
        max_cells: 3,
        ..TableOptions::default()
    };
    let err = read_table(&b"1,2\n3,4\n"[..], "t", &small).unwrap_err();
    assert!(matches!(err, TrainError::TooLarge { .. }), "{err}");
    let err = read_table(&b"1,2\n3\n"[..], "t", &options).unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
}
