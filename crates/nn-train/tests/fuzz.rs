//! The stable form of fuzzing: every `nn_train::fuzz` target on seeded property-test cases
//! (arbitrary bytes, and mutations of the committed corpus of valid files in
//! `fuzz/corpus/<target>/`), the replay of every input in `fuzz/regressions/<target>/`,
//! and checks that the corpus stays valid.
//!
//! The corpus is made by [`write_fuzz_corpus`]; after a change of a file format,
//! regenerate it with
//!
//! ```text
//! NN_WRITE_FUZZ_CORPUS=1 cargo test -p nn-train --test fuzz write_fuzz_corpus
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use nalgebra::DMatrix;
use nn_train::data::{DEFAULT_MISSING, Table};
use nn_train::data::{
    LabelColumn, load_csv_header, mnist_from_idx, parse_idx, read_csv, read_csv_features,
};
use nn_train::encode::{Encoder, EncoderKind};
use nn_train::fuzz;
use nn_train::persist::{
    ModelNames, ModelWriter, checkpoint_from_bytes, checkpoint_to_bytes, model_from_bytes,
    model_from_bytes_with, model_to_bytes, model_to_bytes_named,
};
use nn_train::pipeline::{NumericImpute, Pipeline, PipelineConfig, Scaling};
use nn_train::*;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed};
use serde_json::Value;

/// A fuzz target's entry point.
type Target = fn(&[u8]);

/// Every target, with the seeds of its property tests: makes `TARGETS` and the tests of
/// arbitrary and mutated inputs.
macro_rules! fuzz_target_tests {
    ($($target:ident: $seed:literal),* $(,)?) => {
        /// Each target: its name (the directory of its corpus and regressions, and its
        /// libFuzzer binary) and its entry point.
        const TARGETS: &[(&str, Target)] = &[$((stringify!($target), fuzz::$target)),*];

        mod arbitrary {
            use super::*;
            $(
                proptest! {
                    #![proptest_config(config(ARBITRARY_CASES, $seed))]
                    #[test]
                    fn $target(data in bytes()) {
                        fuzz::$target(&data);
                    }
                }
            )*
        }
        mod mutated {
            use super::*;
            $(
                proptest! {
                    #![proptest_config(config(MUTATED_CASES, $seed + 1))]
                    #[test]
                    fn $target((file, edits) in edits()) {
                        fuzz::$target(&mutated(stringify!($target), &file, &edits));
                    }
                }
            )*
        }
    };
}

fuzz_target_tests!(
    csv: 10,
    csv_header: 20,
    idx: 30,
    model: 40,
    checkpoint: 50,
    names: 60,
    json: 70,
    torch: 90,
);

/// Cases per target: arbitrary bytes, and mutations of corpus files.
const ARBITRARY_CASES: u32 = 1000;
const MUTATED_CASES: u32 = 4000;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted by name.
fn files(kind: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// The committed corpus of a target, read once.
fn corpus(target: &str) -> &'static [Vec<u8>] {
    static CORPUS: OnceLock<BTreeMap<&'static str, Vec<Vec<u8>>>> = OnceLock::new();
    let all = CORPUS.get_or_init(|| {
        TARGETS
            .iter()
            .map(|(t, _)| (*t, files("corpus", t).into_iter().map(|f| f.1).collect()))
            .collect()
    });
    &all[target]
}

// ---------------------------------------------------------------------------------------
// Mutations

/// Numbers a mutation puts in place of a number: edges of the integer types, sizes that
/// once overflowed or allocated without bound, and floats beyond `f64`.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "7",
    "255",
    "65535",
    "999999990",
    "4294967296",
    "1099511627776",
    "4611686018427387904",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211455",
    "0.5",
    "-0",
    "1e308",
    "1e400",
    "-1e-320",
];

/// Words a mutation puts in place of a word: every name the file formats use.
const WORDS: &[&str] = &[
    "dense",
    "dropout",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "flatten",
    "relu",
    "softmax",
    "sigmoid",
    "leaky_relu",
    "identity",
    "f32",
    "f64",
    "F32",
    "F64",
    "I64",
    "model",
    "checkpoint",
    "adam",
    "momentum",
    "sgd",
    "step",
    "cosine",
    "standardize",
    "min_max",
    "pca_whitening",
    "zca_whitening",
    "null",
    "true",
    "flat",
    "image",
    "layers",
    "units",
    "kernel",
    "stride",
    "padding",
    "mse",
    "huber",
    "label",
];

/// One edit of a corpus file.
#[derive(Debug, Clone)]
enum Edit {
    FlipBit(Index, u8),
    Overwrite(Index, u8),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    /// The start of this file up to the first index, then another corpus file (the
    /// second) from the third index on.
    Splice(Index, Index, Index),
    /// A number (a run of digits) in the JSON header of a model file, or anywhere in
    /// another file, replaced by one of [`NUMBERS`].
    Number(Index, Index),
    /// A word (a run of letters and `_`) replaced by one of [`WORDS`], likewise.
    Word(Index, Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        2 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Edit::FlipBit(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Overwrite(i, b)),
        1 => any::<Index>().prop_map(Edit::Truncate),
        1 => (any::<Index>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        1 => (any::<Index>(), any::<Index>(), any::<Index>())
            .prop_map(|(a, f, b)| Edit::Splice(a, f, b)),
        4 => (any::<Index>(), any::<Index>()).prop_map(|(i, n)| Edit::Number(i, n)),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(i, w)| Edit::Word(i, w)),
    ]
}

/// The JSON header of a safetensors file (`start..end`), or the whole file if it has
/// none; and whether the 8-byte header length must follow an edit.
fn editable_span(data: &[u8]) -> (usize, usize, bool) {
    let header = data
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        .and_then(|n| usize::try_from(n).ok())
        .and_then(|n| n.checked_add(8))
        .filter(|&end| end <= data.len() && data.get(8) == Some(&b'{'));
    match header {
        Some(end) => (8, end, true),
        None => (0, data.len(), false),
    }
}

/// Replaces the `pick`-th maximal run of bytes matching `class` inside the editable span
/// by `with`, keeping a safetensors header length right.
fn replace_run(data: &mut Vec<u8>, class: fn(u8) -> bool, pick: &Index, with: &str) {
    let (start, end, is_header) = editable_span(data);
    let mut runs = Vec::new();
    let mut i = start;
    while i < end {
        if class(data[i]) {
            let s = i;
            while i < end && class(data[i]) {
                i += 1;
            }
            runs.push((s, i));
        } else {
            i += 1;
        }
    }
    if runs.is_empty() {
        return;
    }
    let (s, e) = runs[pick.index(runs.len())];
    data.splice(s..e, with.bytes());
    if is_header {
        let n = (end - 8 + with.len() - (e - s)) as u64;
        data[..8].copy_from_slice(&n.to_le_bytes());
    }
}

fn apply(data: &mut Vec<u8>, edit: &Edit, others: &[Vec<u8>]) {
    let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len) };
    match edit {
        Edit::FlipBit(i, b) if !data.is_empty() => {
            let k = i.index(data.len());
            data[k] ^= 1 << b;
        }
        Edit::Overwrite(i, b) if !data.is_empty() => {
            let k = i.index(data.len());
            data[k] = *b;
        }
        Edit::Truncate(i) => data.truncate(at(i, data.len())),
        Edit::Insert(i, bytes) => {
            let k = at(i, data.len() + 1);
            data.splice(k..k, bytes.iter().copied());
        }
        Edit::Splice(a, f, b) => {
            let other = &others[f.index(others.len())];
            data.truncate(at(a, data.len()));
            data.extend_from_slice(&other[at(b, other.len())..]);
        }
        Edit::Number(i, n) => replace_run(
            data,
            |c| c.is_ascii_digit(),
            i,
            NUMBERS[n.index(NUMBERS.len())],
        ),
        Edit::Word(i, w) => replace_run(
            data,
            |c| c.is_ascii_alphabetic() || c == b'_',
            i,
            WORDS[w.index(WORDS.len())],
        ),
        _ => {}
    }
}

/// A corpus file of `target` with `edits` applied.
fn mutated(target: &str, file: &Index, edits: &[Edit]) -> Vec<u8> {
    let files = corpus(target);
    assert!(
        !files.is_empty(),
        "no corpus for {target}: run write_fuzz_corpus"
    );
    let mut data = files[file.index(files.len())].clone();
    for e in edits {
        apply(&mut data, e, files);
    }
    data
}

fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Arbitrary bytes, up to 2 KiB (most of them short).
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..64),
        1 => proptest::collection::vec(any::<u8>(), 0..2048),
    ]
}

/// Mutations: a corpus file and one to three edits.
fn edits() -> impl Strategy<Value = (Index, Vec<Edit>)> {
    (any::<Index>(), proptest::collection::vec(edit(), 1..4))
}

/// Arbitrary JSON for the `json` target: a tree of the value kinds with the keys and
/// strings the formats use.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        proptest::sample::select(WORDS).prop_map(str::to_string),
        proptest::sample::select(
            &[
                "type",
                "activation",
                "init",
                "rate",
                "out_channels",
                "kind",
                "shift",
                "scale",
                "matrix",
                "inverse",
                "epsilon"
            ][..]
        )
        .prop_map(str::to_string),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        proptest::sample::select(WORDS).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config(1000, 80))]
    #[test]
    fn json_of_any_shape(v in json_value()) {
        fuzz::json(v.to_string().as_bytes());
    }
}

// ---------------------------------------------------------------------------------------
// Regressions: every input a fuzzer once crashed on

#[test]
fn every_regression_input_is_handled() {
    let mut replayed = 0;
    for &(target, run) in TARGETS {
        for (name, data) in files("regressions", target) {
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "fuzz/regressions/{target}/{name}");
            replayed += 1;
        }
    }
    assert!(
        replayed > 0,
        "no regression inputs found under fuzz/regressions"
    );
}

#[test]
fn every_target_has_a_libfuzzer_binary() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for &(target, _) in TARGETS {
        let source = format!("fuzz_targets/{target}.rs");
        let text = std::fs::read_to_string(fuzz_dir().join(&source)).unwrap();
        assert!(
            text.contains(&format!("nn_train::fuzz::{target}(")),
            "{source} must call nn_train::fuzz::{target}"
        );
        assert!(
            manifest.contains(&format!("path = \"{source}\"")),
            "fuzz/Cargo.toml must list {source}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The corpus: valid files of every format

/// Whether `data` is a valid input of `target` (what its corpus must hold).
fn is_valid(target: &str, data: &[u8]) -> Result<(), String> {
    let text = || String::from_utf8_lossy(data).into_owned();
    let err = |e: TrainError| e.to_string();
    match target {
        _ if data.is_empty() => Err("empty".into()),
        "csv" => {
            let (options, csv) = (fuzz::csv_options(data[0]), &data[1..]);
            if options.label == LabelColumn::None {
                read_csv_features::<f64, _>(csv, "c", &options).map(drop)
            } else {
                read_csv::<f64, _>(csv, "c", &options).map(drop)
            }
            .map_err(err)
        }
        "csv_header" => {
            let (options, csv) = (fuzz::csv_options(data[0]), &data[1..]);
            static N: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "nn-fuzz-corpus-{}-{}.csv",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&path, csv).unwrap();
            let header = load_csv_header(&path, &options);
            std::fs::remove_file(&path).unwrap();
            header.map(drop).map_err(err)
        }
        "idx" => match idx_len(data).filter(|&n| n < data.len()) {
            Some(n) => {
                let images = parse_idx(&data[..n], "images").map_err(err)?;
                let labels = parse_idx(&data[n..], "labels").map_err(err)?;
                mnist_from_idx::<f32>(&images, &labels, 10, ("i", "l"))
                    .map(drop)
                    .map_err(err)
            }
            None => parse_idx(data, "idx").map(drop).map_err(err),
        },
        "model" => {
            let f32 = model_from_bytes::<f32>(data, "m").map(drop);
            let f64 = model_from_bytes::<f64>(data, "m").map(drop);
            let fuzz_limits = model_from_bytes_with::<f32>(data, "m", &fuzz::LIMITS)
                .map(drop)
                .or_else(|_| model_from_bytes_with::<f64>(data, "m", &fuzz::LIMITS).map(drop));
            f32.or(f64).and(fuzz_limits).map_err(err)
        }
        "checkpoint" => checkpoint_from_bytes::<f32>(data, "c")
            .map(drop)
            .or_else(|_| checkpoint_from_bytes::<f64>(data, "c").map(drop))
            .map_err(err),
        "names" => {
            let t = text();
            let parses = t.parse::<Activation>().is_ok()
                || t.parse::<Init>().is_ok()
                || t.parse::<Loss>().is_ok();
            if parses {
                Ok(())
            } else {
                Err(format!("{t:?} is no name"))
            }
        }
        "json" => {
            let t = text();
            if Encoder::from_json_str(&t).is_ok() || Pipeline::from_json_str(&t).is_ok() {
                return Ok(());
            }
            let v: Value = serde_json::from_str(&t).map_err(|e| e.to_string())?;
            let specs: Vec<&Value> = match (v.as_array(), v.get("layers")) {
                (Some(items), _) => items.iter().collect(),
                (None, Some(Value::Array(items))) => items.iter().collect(),
                _ => vec![&v],
            };
            specs
                .iter()
                .try_for_each(|s| LayerSpec::from_json(s, 0).map(drop))
                .map_err(err)
        }
        "torch" => {
            let arch = match persist::torch::stored_architecture(data, "t").map_err(err)? {
                Some(arch) => arch,
                None => {
                    persist::torch::TorchArchitecture::from_json_str(fuzz::TORCH_ARCHITECTURE, "a")
                        .map_err(err)?
                }
            };
            let options = persist::TorchImport {
                limits: fuzz::LIMITS,
                ..persist::TorchImport::default()
            };
            persist::from_torch_bytes::<f32>(data, "t", &arch, &options)
                .map(drop)
                .or_else(|_| persist::from_torch_bytes::<f64>(data, "t", &arch, &options).map(drop))
                .map_err(err)
        }
        other => Err(format!("unknown target {other}")),
    }
}

/// The length of the raw IDX file at the start of `data`, from its header.
fn idx_len(data: &[u8]) -> Option<usize> {
    if !data.starts_with(&[0, 0]) {
        return None;
    }
    let d = usize::from(*data.get(3)?);
    let dims = data.get(4..4 + 4 * d)?;
    dims.chunks_exact(4)
        .map(|b| u32::from_be_bytes(b.try_into().unwrap()) as usize)
        .try_fold(1usize, usize::checked_mul)?
        .checked_add(4 + 4 * d)
}

#[test]
fn every_committed_corpus_file_is_valid_and_the_corpus_is_small() {
    let mut total = 0;
    for &(target, _) in TARGETS {
        let files = files("corpus", target);
        assert!(
            files.len() >= 3,
            "fuzz/corpus/{target} has {} files",
            files.len()
        );
        for (name, data) in files {
            total += data.len();
            if let Err(e) = is_valid(target, &data) {
                panic!(
                    "fuzz/corpus/{target}/{name} is not valid ({e}); regenerate the corpus: \
                     NN_WRITE_FUZZ_CORPUS=1 cargo test -p nn-train --test fuzz write_fuzz_corpus"
                );
            }
        }
    }
    assert!(total < 300_000, "the corpus is {total} bytes");
}

/// Makes every corpus file, checks that each is valid and that the committed corpus has
/// it; with `NN_WRITE_FUZZ_CORPUS=1`, first writes them to `fuzz/corpus/` (replacing what
/// is there).
#[test]
fn write_fuzz_corpus() {
    let made = make_corpus();
    let write = std::env::var_os("NN_WRITE_FUZZ_CORPUS").is_some();
    for &(target, _) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(target);
        if write {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
        }
        let mine: Vec<&(String, String, Vec<u8>)> =
            made.iter().filter(|(t, _, _)| t == target).collect();
        assert!(!mine.is_empty(), "no corpus files made for {target}");
        for (_, name, data) in mine {
            if let Err(e) = is_valid(target, data) {
                panic!("made {target}/{name}, which is not valid: {e}");
            }
            if write {
                std::fs::write(dir.join(name), data).unwrap();
            }
            assert!(
                dir.join(name).is_file(),
                "fuzz/corpus/{target}/{name} is missing; regenerate the corpus: \
                 NN_WRITE_FUZZ_CORPUS=1 cargo test -p nn-train --test fuzz write_fuzz_corpus"
            );
        }
    }
}

/// (target, file name, bytes) of every corpus file.
fn make_corpus() -> Vec<(String, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut add = |target: &str, name: &str, data: Vec<u8>| {
        out.push((target.to_string(), name.to_string(), data));
    };
    for (name, data) in model_files() {
        add("model", &name, data);
    }
    for (name, data) in checkpoint_files() {
        add("checkpoint", &name, data);
    }
    for (name, data) in torch_files() {
        add("torch", &name, data);
    }
    for (name, selector, text, gz) in csv_files() {
        let mut data = vec![selector];
        data.extend_from_slice(&if gz {
            gzip(text.as_bytes())
        } else {
            text.into_bytes()
        });
        if selector & 1 == 1 {
            add("csv_header", &name, data.clone());
        }
        add("csv", &name, data);
    }
    for (name, data) in idx_files() {
        add("idx", &name, data);
    }
    for (i, text) in NAMES.iter().enumerate() {
        add("names", &format!("{i:02}.txt"), text.as_bytes().to_vec());
    }
    for (name, v) in json_files() {
        add("json", &name, v.to_string().into_bytes());
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Three features × 12 examples, deterministic, with distinct variances and correlations.
fn inputs() -> DMatrix<f64> {
    DMatrix::from_fn(3, 12, |r, c| {
        let (r, c) = (r as f64, c as f64);
        (c * (r + 1.0) * 0.37).sin() * (r + 1.0) + 0.1 * c
    })
}

fn encoders() -> Vec<(&'static str, Encoder)> {
    [
        ("standardize", EncoderKind::Standardize),
        ("min_max", EncoderKind::MinMax),
        ("pca", EncoderKind::PcaWhitening { epsilon: 1e-3 }),
        ("zca", EncoderKind::ZcaWhitening { epsilon: 1e-3 }),
    ]
    .into_iter()
    .map(|(name, kind)| (name, Encoder::fit(kind, &inputs()).unwrap()))
    .collect()
}

fn dense_f32() -> Network<f32> {
    Network::<f32>::builder(3)
        .dense(4, Activation::Tanh)
        .dropout(0.25)
        .dense(1, Activation::Sigmoid)
        .loss(Loss::BinaryCrossEntropy)
        .seed(1)
        .build()
        .unwrap()
}

fn dense_f64() -> Network<f64> {
    Network::<f64>::builder(3)
        .dense_with_init(
            5,
            Activation::LeakyRelu { slope: 0.1 },
            Init::HeNormal { slope: 0.1 },
        )
        .dense(3, Activation::Softmax)
        .loss(Loss::CategoricalCrossEntropy)
        .l2(0.01)
        .seed(2)
        .build()
        .unwrap()
}

fn cnn() -> Network<f32> {
    Network::<f32>::image_builder(1, 6, 6)
        .conv2d(2, 3, Activation::Relu)
        .max_pool(2)
        .conv2d_strided(2, 3, 1, 1, Activation::Elu { alpha: 1.0 })
        .avg_pool(2)
        .flatten()
        .dense(2, Activation::Softmax)
        .loss(Loss::CategoricalCrossEntropy)
        .seed(3)
        .build()
        .unwrap()
}

fn model_files() -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        (
            "dense-f32.safetensors".into(),
            model_to_bytes(&dense_f32(), None).unwrap(),
        ),
        (
            "dense-f64.safetensors".into(),
            model_to_bytes(&dense_f64(), None).unwrap(),
        ),
        (
            "cnn-f32.safetensors".into(),
            model_to_bytes(&cnn(), None).unwrap(),
        ),
    ];
    for (name, enc) in encoders() {
        let bytes = model_to_bytes(&dense_f64(), Some(&enc)).unwrap();
        out.push((format!("encoder-{name}.safetensors"), bytes));
    }
    let names = ModelNames {
        classes: Some(vec!["low".into(), "mid".into(), "high".into()]),
        features: Some(vec!["x1".into(), "x 2".into(), "\"x3\"".into()]),
        label: Some("class".into()),
    };
    let (_, enc) = &encoders()[0];
    let named = model_to_bytes_named(&dense_f64(), Some(enc), &names).unwrap();
    out.push(("named-f64.safetensors".into(), named));
    let huber = Network::<f32>::builder(2)
        .dense(1, Activation::Identity)
        .loss(Loss::Huber { delta: 0.5 })
        .build()
        .unwrap();
    out.push((
        "huber-f32.safetensors".into(),
        model_to_bytes(&huber, None).unwrap(),
    ));
    for (name, p) in pipelines() {
        let outputs = p.classes().map_or(1, <[String]>::len);
        let net = Network::<f64>::builder(p.n_inputs())
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
            .seed(6)
            .build()
            .unwrap();
        let bytes = ModelWriter::new(&net).pipeline(&p).to_bytes().unwrap();
        out.push((format!("pipeline-{name}-f64.safetensors"), bytes));
    }
    out
}

/// A network trained for two epochs with `config`, and its checkpoint.
fn trained<T: Scalar>(mut net: Network<T>, config: FitConfig, enc: Option<&Encoder>) -> Vec<u8> {
    let x = inputs().map(T::cast);
    let k = net.output_size();
    let y = DMatrix::from_fn(k, x.ncols(), |r, c| {
        let class = if k == 1 { c % 2 } else { c % k };
        T::cast(if k == 1 {
            class as f64
        } else {
            f64::from(u8::from(r == class))
        })
    });
    let mut trainer = Trainer::new(config).unwrap();
    trainer.fit(&mut net, (&x, &y), None, &mut Silent).unwrap();
    checkpoint_to_bytes(&net, &trainer, enc).unwrap()
}

fn checkpoint_files() -> Vec<(String, Vec<u8>)> {
    let base = FitConfig {
        epochs: 2,
        batch_size: 4,
        threads: Some(1),
        ..FitConfig::default()
    };
    let (_, enc) = &encoders()[1];
    vec![
        (
            "adam-dropout-f32.checkpoint".into(),
            trained(dense_f32(), base, None),
        ),
        (
            "momentum-f64.checkpoint".into(),
            trained(
                dense_f64(),
                FitConfig {
                    optimizer: Optimizer::momentum(0.05),
                    schedule: Schedule::Step {
                        every: 1,
                        gamma: 0.5,
                    },
                    clip_norm: Some(1.0),
                    early_stopping: Some(EarlyStopping::new(3)),
                    ..base
                },
                Some(enc),
            ),
        ),
        (
            "sgd-f32.checkpoint".into(),
            trained(
                dense_f32(),
                FitConfig {
                    optimizer: Optimizer::sgd(0.1),
                    ..base
                },
                None,
            ),
        ),
        (
            "adamw-cosine-f64.checkpoint".into(),
            trained(
                dense_f64(),
                FitConfig {
                    optimizer: Optimizer::adamw(0.01),
                    schedule: Schedule::Cosine {
                        epochs: 4,
                        min_factor: 0.1,
                    },
                    warmup_steps: 2,
                    shuffle: false,
                    ..base
                },
                None,
            ),
        ),
    ]
}

/// (name, options byte, CSV text, gzip it).
fn csv_files() -> Vec<(String, u8, String, bool)> {
    let rows = |f: &dyn Fn(usize) -> String| (0..12).map(f).collect::<Vec<_>>().join("\n");
    let species = ["setosa", "versicolor", "\"virginica, tall\""];
    let strings = format!(
        "length,width,species\n{}\n",
        rows(&|i| format!("{}.5,{},{}", i % 5, i % 3, species[i % 3]))
    );
    let integers = rows(&|i| format!("{};{};{}", i % 3, i, 2 * i % 7));
    let regression = format!(
        "a\tb\ty\n{}",
        rows(&|i| format!("{}\t-{}e-2\t{}", i, i, 68.37 + i as f64))
    );
    let binary = format!(
        "x,label,z\n{}",
        rows(&|i| format!("{},{},{}", i, ["no", "yes"][i % 2], i * i))
    );
    let classes = format!(
        "p q label\n{}",
        rows(&|i| format!("{} {} {}", i, i % 4, i % 3))
    );
    let features = format!(
        "x1,x2,x3\n{}",
        rows(&|i| format!("{},{},{}", i, i + 1, i + 2))
    );
    vec![
        ("strings.csv".into(), 0b0000_0001, strings.clone(), false),
        ("strings.csv.gz".into(), 0b0000_0001, strings, true),
        (
            "integers-first-semicolon.csv".into(),
            0b0000_1010,
            integers,
            false,
        ),
        ("regression-tab.csv".into(), 0b0100_0101, regression, false),
        ("binary-named.csv".into(), 0b0011_1001, binary, false),
        (
            "classes-given-space.csv".into(),
            0b0110_0111,
            classes,
            false,
        ),
        ("features-only.csv".into(), 0b1000_0001, features, false),
    ]
}

fn idx_array(dims: &[u32], data: impl Iterator<Item = u8>) -> Vec<u8> {
    let mut out = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend(data);
    out
}

fn idx_files() -> Vec<(String, Vec<u8>)> {
    let images = idx_array(&[4, 3, 3], (0..36).map(|i| (i * 7 % 256) as u8));
    let labels = idx_array(&[4], [3, 1, 4, 1].into_iter());
    let pair = [images.clone(), labels.clone()].concat();
    vec![
        ("images.idx".into(), images.clone()),
        ("labels.idx".into(), labels.clone()),
        ("images.idx.gz".into(), gzip(&images)),
        ("labels.idx.gz".into(), gzip(&labels)),
        ("images-then-labels.idx".into(), pair),
    ]
}

const NAMES: &[&str] = &[
    "relu",
    "leaky_relu(0.2)",
    " ELU ( 1e-5 ) ",
    "gelu_tanh",
    "swish",
    "softmax",
    "he_normal(0)",
    "normal(0,0.01)",
    "uniform(-1, 1)",
    "orthogonal(1.5)",
    "constant(0.1)",
    "glorot_uniform",
    "huber(0.5)",
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "hinge",
];

fn json_files() -> Vec<(String, Value)> {
    let specs = cnn()
        .records()
        .unwrap()
        .iter()
        .chain(&dense_f32().records().unwrap())
        .chain(&dense_f64().records().unwrap())
        .map(LayerRecord::to_json)
        .collect::<Vec<_>>();
    let mut out: Vec<(String, Value)> = specs
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("layer-{i:02}.json"), v.clone()))
        .collect();
    out.push(("layers.json".into(), Value::from(specs.clone())));
    out.push((
        "architecture.json".into(),
        serde_json::json!({"input": {"image": [1, 6, 6]}, "layers": cnn().records().unwrap().iter().map(LayerRecord::to_json).collect::<Vec<_>>()}),
    ));
    for (name, enc) in encoders() {
        out.push((format!("encoder-{name}.json"), enc.to_json()));
    }
    for (name, p) in pipelines() {
        out.push((format!("pipeline-{name}.json"), p.to_json()));
    }
    out
}

/// Fitted preprocessing pipelines: a regression (mean, standardize) and a classification
/// (median, min–max), each with a numeric and a categorical column with missing cells.
fn pipelines() -> Vec<(&'static str, Pipeline)> {
    let table = Table::from_rows(
        "t",
        &["size", "color", "kind", "price"],
        &[
            ["1", "red", "a", "10"],
            ["NA", "blue", "b", "12.5"],
            ["3", "", "a", "9"],
            ["4.5", "red", "b", "20"],
        ],
        DEFAULT_MISSING,
    )
    .unwrap();
    let regression = PipelineConfig {
        features: Some(vec!["size".into(), "color".into()]),
        ..PipelineConfig::new("price")
    };
    let classification = PipelineConfig {
        features: Some(vec!["size".into(), "color".into()]),
        impute: NumericImpute::Median,
        scaling: Scaling::MinMax,
        ..PipelineConfig::new("kind")
    };
    vec![
        ("regression", Pipeline::fit(&table, &regression).unwrap()),
        (
            "classification",
            Pipeline::fit(&table, &classification).unwrap(),
        ),
    ]
}

/// PyTorch state_dicts: nn's exports (with their architecture) of a dense network in
/// `f32` and a CNN in `f64`, and the tensors of `fuzz::TORCH_ARCHITECTURE` alone, as
/// PyTorch saves them (no nn metadata).
fn torch_files() -> Vec<(String, Vec<u8>)> {
    let mlp = Network::<f32>::builder(4)
        .dense(3, Activation::Relu)
        .dense(2, Activation::Softmax)
        .loss(Loss::CategoricalCrossEntropy)
        .seed(3)
        .build()
        .unwrap();
    let cnn = Network::<f64>::image_builder(1, 4, 4)
        .conv2d(2, 3, Activation::Tanh)
        .max_pool(2)
        .flatten()
        .dropout(0.5)
        .dense(2, Activation::Sigmoid)
        .build()
        .unwrap();
    let exported = persist::torch::to_torch_bytes(&mlp).unwrap();
    // The same tensors without metadata, as safetensors.torch.save_file writes them.
    let st = safetensors::SafeTensors::deserialize(&exported).unwrap();
    let plain = safetensors::serialize(st.tensors(), None).unwrap();
    vec![
        ("mlp_f32.safetensors".into(), exported.clone()),
        (
            "cnn_f64.safetensors".into(),
            persist::torch::to_torch_bytes(&cnn).unwrap(),
        ),
        ("plain_f32.safetensors".into(), plain),
    ]
}
