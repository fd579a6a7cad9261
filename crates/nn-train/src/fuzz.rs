//! Fuzz targets: one entry point per parser of untrusted input, shared by the two forms
//! of fuzzing the project runs.
//!
//! Each function takes arbitrary bytes and returns nothing. Its contract is that it
//! **never panics, aborts, or allocates without bound, for any input**: every parser
//! answers `Ok` or a typed `Err`. Where a parser's answer can be checked (a model that
//! loads must save and load back to the same bytes, a name must parse back from its
//! `Display`), the target checks it with an assertion, so that a broken promise is a
//! panic the fuzzer reports like any other.
//!
//! | target | input | what it calls |
//! |---|---|---|
//! | [`csv()`] | an options byte ([`csv_options`]), then CSV text (or gzip) | [`read_csv`] and [`read_csv_features`] (also without a label column), `f32` and `f64`; [`read_table`] with the delimiter (or detected, when bit 0 is set), and on a table that reads a [`Pipeline`] fitted, applied, and round-tripped through its stored form |
//! | [`csv_header`] | as [`csv()`] | [`load_csv_header`] on the text written to a scratch file; its feature names must number the columns [`read_csv_features`] finds |
//! | [`idx`] | an IDX file, or gzip | [`parse_idx`] as given and, for a raw file, gzip-compressed (the same answer); [`mnist_from_idx`] when the bytes are an image file followed by a label file |
//! | [`model`] | a model file | [`model_from_bytes_with`] `f32` and `f64`; a model that loads is run by `predict` on one zero column, its encoder applied, its `summary` built, saved (with its encoder, names and pipeline) and reloaded: the bytes must round-trip |
//! | [`checkpoint`] | a checkpoint file | [`checkpoint_from_bytes_with`] `f32` and `f64`; one that loads is saved and reloaded: the bytes must round-trip |
//! | [`torch`] | a PyTorch `state_dict` file | [`torch_dtype`], and [`from_torch_bytes`] ([`LIMITS`]) with the architecture the file stores (`nn.architecture`) or else a small dense one, `f32` and `f64`; a network that loads is exported ([`to_torch_bytes`]) and read back: the bytes must round-trip |
//! | [`names`] | text | every `FromStr` of the public API ([`Activation`], [`Init`], [`Loss`]): a name that parses must parse back from its `Display` to the same value |
//! | [`json`] | JSON, or any bytes | [`Pipeline::from_json_str_with`] (a pipeline round-trips), [`LayerSpec::from_json`] and [`LayerRecord::from_json`] (on the value and the elements of an array or of `"layers"`; a record or spec that parses round-trips; a spec plans and builds for two inputs, and runs), [`Encoder::from_json_str`] and [`Encoder::from_json`] (the same answer; an encoder round-trips and transforms) |
//!
//! Model files and layer specs are loaded and planned with [`LIMITS`], smaller than the
//! defaults: within the defaults a valid file of a few hundred bytes may rightly ask for
//! gigabytes (a 1×1 convolution over a 16384 × 16384 image unfolds into 2²⁸ index entries),
//! which a fuzzer would report as a memory blow-up. What the targets check is that every
//! allocation a file can cause is bounded by the limits it is loaded with.
//!
//! The two forms:
//!
//! - **Stable**, in `cargo xtask check`: `crates/nn-train/tests/fuzz.rs` runs each target
//!   on a few thousand seeded property-test cases (arbitrary bytes, and mutations of the
//!   committed corpus of valid files under `fuzz/corpus/<target>/`), and replays every
//!   input under `fuzz/regressions/<target>/`.
//! - **libFuzzer**, with a nightly toolchain: `cargo xtask fuzz <target|all> --seconds N`
//!   runs the `fuzz/` cargo-fuzz project, whose targets each call one function here.

use std::fmt::{Debug, Display};
use std::io::Write;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use nalgebra::DMatrix;
use nn_init::Init;
use nn_init::nn_activations::Activation;
use nn_init::nn_activations::nn_core::Scalar;
use serde_json::Value;

use crate::data::{
    CsvOptions, Delimiter, LabelColumn, TableOptions, Targets, load_csv_header, mnist_from_idx,
    parse_idx, read_csv, read_csv_features, read_table,
};
use crate::encode::Encoder;
use crate::error::Result;
use crate::layers::FeatureShape;
use crate::layers::{LayerRecord, LayerSpec};
use crate::limits::DEFAULT_MAX_HEADER_BYTES;
use crate::limits::Limits;
use crate::loss::Loss;
use crate::network::Network;
use crate::persist::torch::{
    TorchArchitecture, TorchImport, from_torch_bytes, stored_architecture, to_torch_bytes,
    torch_dtype,
};
use crate::persist::{
    ModelNames, ModelWriter, checkpoint_from_bytes_with, checkpoint_to_bytes, model_from_bytes_with,
};
use crate::pipeline::Pipeline;

/// The limits the [`model`], [`checkpoint`] and [`json`] targets load and plan with: 2²⁰
/// parameters and 2²⁰ values per example (4 MiB as `f32`, 8 MiB as `f64`), the default
/// header length.
pub const LIMITS: Limits = Limits {
    max_parameters: 1 << 20,
    max_example_values: 1 << 20,
    max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
    max_data_values: 1 << 20,
};

/// The CSV options that the first byte of a [`csv()`] or [`csv_header`] input selects:
///
/// | bits | option |
/// |---|---|
/// | 0 | [`CsvOptions::has_header`] |
/// | 1–2 | delimiter: `,` `;` tab space |
/// | 3–4 | label column: last, first, index 1, the column named `label` |
/// | 7 | no label column (overrides bits 3–4) |
/// | 5–6 | targets: one-hot, binary, regression, one-hot with the classes `0`, `1`, `2` given |
///
/// ```
/// use nn_train::data::{LabelColumn, Targets};
/// let options = nn_train::fuzz::csv_options(0b0101_0001);
/// assert!(options.has_header);
/// assert_eq!(options.label, LabelColumn::Index(1));
/// assert_eq!(options.targets, Targets::Regression);
/// ```
pub fn csv_options(selector: u8) -> CsvOptions {
    let bits = |shift: u8| usize::from((selector >> shift) & 3);
    let label = if selector & 0x80 != 0 {
        LabelColumn::None
    } else {
        [
            LabelColumn::Last,
            LabelColumn::First,
            LabelColumn::Index(1),
            LabelColumn::Name("label".into()),
        ][bits(3)]
        .clone()
    };
    let (targets, classes) = match bits(5) {
        0 => (Targets::OneHot, None),
        1 => (Targets::Binary, None),
        2 => (Targets::Regression, None),
        _ => (
            Targets::OneHot,
            Some(["0", "1", "2"].map(String::from).to_vec()),
        ),
    };
    CsvOptions {
        has_header: selector & 1 != 0,
        delimiter: [b',', b';', b'\t', b' '][bits(1)],
        label,
        targets,
        classes,
    }
}

/// CSV: [`read_csv`] and [`read_csv_features`] (with the label column of the options and
/// with none), as `f32` and `f64`, with the options `data[0]` selects ([`csv_options`]) on
/// the text after it.
pub fn csv(data: &[u8]) {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let options = csv_options(selector);
    let unlabelled = CsvOptions {
        label: LabelColumn::None,
        ..options.clone()
    };
    csv_as::<f32>(text, &options, &unlabelled);
    csv_as::<f64>(text, &options, &unlabelled);
    table(text, options.delimiter, selector & 1 != 0);
}

/// A table read with the options' delimiter or detected (with and without a header); a
/// table that reads is fitted
/// a pipeline on (label: its last column) and transformed, and the pipeline's stored
/// form must read back to the same pipeline.
fn table(text: &[u8], delimiter: u8, detect: bool) {
    let options = TableOptions {
        delimiter: if detect {
            Delimiter::Auto
        } else {
            Delimiter::Byte(delimiter)
        },
        max_cells: 1 << 20,
        ..TableOptions::default()
    };
    // Without a header the first row is data: it must end in a table or an error too, and
    // keep every row's width.
    let headless = TableOptions {
        has_header: false,
        ..options.clone()
    };
    if let Ok(t) = read_table(text, "fuzz.csv", &headless) {
        assert!(
            (0..t.n_columns()).all(|i| t.column_at(i).is_some_and(|c| c.len() == t.n_rows())),
            "a headless table's columns have one cell per row"
        );
    }
    let Ok(table) = read_table(text, "fuzz.csv", &options) else {
        return;
    };
    let Some(label) = table.names().last() else {
        return;
    };
    let config = crate::pipeline::PipelineConfig::new(label.clone());
    let Ok(pipeline) = Pipeline::fit(&table, &config) else {
        return;
    };
    let _ = pipeline.transform::<f32>(&table);
    let _ = pipeline.targets::<f64>(&table);
    pipeline_round_trip(&pipeline);
}

/// A pipeline's stored form reads back to the same pipeline.
fn pipeline_round_trip(pipeline: &Pipeline) {
    let text = pipeline.to_json().to_string();
    let back = Pipeline::from_json_str_with(&text, &LIMITS);
    assert!(
        back.as_ref() == Ok(pipeline),
        "a pipeline does not round-trip through to_json: {pipeline:?} became {back:?}"
    );
}

fn csv_as<T: Scalar>(text: &[u8], options: &CsvOptions, unlabelled: &CsvOptions) {
    let _ = read_csv::<T, _>(text, "fuzz.csv", options);
    let _ = read_csv_features::<T, _>(text, "fuzz.csv", options);
    let _ = read_csv_features::<T, _>(text, "fuzz.csv", unlabelled);
}

/// Makes each scratch file name of [`csv_header`] unique within the process.
static SCRATCH: AtomicUsize = AtomicUsize::new(0);

/// CSV header: [`load_csv_header`] (which reads a path) on the text after `data[0]`,
/// written to a scratch file in the temporary directory and removed after, with the
/// options `data[0]` selects ([`csv_options`]). When it and [`read_csv_features`] both
/// succeed, the header names as many features as the rows have.
pub fn csv_header(data: &[u8]) {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let options = csv_options(selector);
    let path = std::env::temp_dir().join(format!(
        "nn-fuzz-csv-header-{}-{}.csv",
        std::process::id(),
        SCRATCH.fetch_add(1, Ordering::Relaxed)
    ));
    if std::fs::write(&path, text).is_err() {
        return;
    }
    let header = load_csv_header(&path, &options);
    let _ = std::fs::remove_file(&path);
    if let (Ok(header), Ok(x)) = (
        header,
        read_csv_features::<f64, _>(text, "fuzz.csv", &options),
    ) {
        assert_eq!(
            header.features.len(),
            x.nrows(),
            "load_csv_header names {:?}, but the rows have {} features",
            header.features,
            x.nrows()
        );
    }
}

/// The length an IDX file's header declares for the whole file (header and data), if the
/// bytes start with a raw (uncompressed) IDX header.
fn idx_file_len(data: &[u8]) -> Option<usize> {
    let (&[0, 0, _, d], rest) = data.split_first_chunk::<4>()? else {
        return None;
    };
    let dims = rest.get(..4 * usize::from(d))?;
    dims.chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .try_fold(1usize, usize::checked_mul)?
        .checked_add(4 + dims.len())
}

/// IDX: [`parse_idx`] on the bytes as given (raw or gzip) and, for raw bytes, on their
/// gzip compression, which must give the same answer. When the bytes are one IDX file
/// followed by another (images, then labels), [`mnist_from_idx`] on the two, `f32` and
/// `f64`.
pub fn idx(data: &[u8]) {
    let parsed = parse_idx(data, "fuzz.idx");
    if !data.starts_with(&[0x1f, 0x8b]) {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        if let Ok(gz) = gz.write_all(data).and_then(|()| gz.finish()) {
            let inflated = parse_idx(&gz, "fuzz.idx.gz");
            assert_eq!(
                parsed.as_ref().ok(),
                inflated.as_ref().ok(),
                "parse_idx answers differently for the same bytes gzip-compressed: {:?} vs {:?}",
                parsed.as_ref().err(),
                inflated.as_ref().err()
            );
        }
    }
    let Some(split) = idx_file_len(data).filter(|&n| n < data.len()) else {
        return;
    };
    let (images, labels) = data.split_at(split);
    if let (Ok(images), Ok(labels)) = (
        parse_idx(images, "fuzz-images.idx"),
        parse_idx(labels, "fuzz-labels.idx"),
    ) {
        let names = ("fuzz-images.idx", "fuzz-labels.idx");
        let _ = mnist_from_idx::<f32>(&images, &labels, 10, names);
        let _ = mnist_from_idx::<f64>(&images, &labels, 10, names);
    }
}

/// `result`'s value; an `Err` is a broken promise (`promise` says which), reported as the
/// panic a fuzzer notices.
#[track_caller]
fn promised<V, E: Display>(result: std::result::Result<V, E>, promise: &str) -> Option<V> {
    let error = result.as_ref().err().map(ToString::to_string);
    assert!(error.is_none(), "{promise}: {}", error.unwrap_or_default());
    result.ok()
}

/// Saves `first` (something just loaded), loads the bytes back and saves again: the two
/// saves must be the same bytes.
fn round_trip<M>(
    first: &M,
    save: impl Fn(&M) -> Result<Vec<u8>>,
    load: impl Fn(&[u8]) -> Result<M>,
    what: &str,
) {
    let Some(saved) = promised(save(first), &format!("a {what} that loads saves")) else {
        return;
    };
    let Some(again) = promised(load(&saved), &format!("a saved {what} loads")) else {
        return;
    };
    let Some(resaved) = promised(save(&again), &format!("a reloaded {what} saves")) else {
        return;
    };
    assert!(
        saved == resaved,
        "saving a reloaded {what} gives other bytes ({} vs {})",
        saved.len(),
        resaved.len()
    );
}

/// Runs a loaded network and its encoder on one zero column, and builds its summary.
fn exercise<T: Scalar>(network: &Network<T>, encoder: Option<&Encoder>) {
    let zero = DMatrix::<T>::zeros(network.input_shape().len(), 1);
    let _ = network.predict(&zero);
    if let Some(encoder) = encoder {
        let _ = encoder
            .transform(&zero)
            .and_then(|z| encoder.inverse_transform(&z));
    }
    let _ = network.summary();
}

/// Model files: [`model_from_bytes_with`] ([`LIMITS`]) as `f32` and `f64`. A model that
/// loads predicts on one zero column, builds its summary, and is saved (with its encoder,
/// names and pipeline) and reloaded: saving it again must give the same bytes.
pub fn model(data: &[u8]) {
    model_as::<f32>(data);
    model_as::<f64>(data);
}

fn model_as<T: Scalar>(data: &[u8]) {
    let load = |bytes: &[u8]| model_from_bytes_with::<T>(bytes, "fuzz.safetensors", &LIMITS);
    let Ok(first) = load(data) else {
        return;
    };
    exercise(&first.network, first.encoder.as_ref());
    let save = |m: &crate::persist::Model<T>| {
        let names = ModelNames {
            classes: m.classes.clone(),
            features: m.features.clone(),
            label: m.label.clone(),
        };
        let writer = ModelWriter::new(&m.network)
            .encoder(m.encoder.as_ref())
            .names(names);
        match &m.pipeline {
            Some(p) => writer.pipeline(p).to_bytes(),
            None => writer.to_bytes(),
        }
    };
    round_trip(&first, save, load, "model");
}

/// Checkpoints: [`checkpoint_from_bytes_with`] ([`LIMITS`]) as `f32` and `f64`. A
/// checkpoint that loads is saved and reloaded: saving it again must give the same bytes.
pub fn checkpoint(data: &[u8]) {
    checkpoint_as::<f32>(data);
    checkpoint_as::<f64>(data);
}

fn checkpoint_as<T: Scalar>(data: &[u8]) {
    let load = |bytes: &[u8]| checkpoint_from_bytes_with::<T>(bytes, "fuzz.checkpoint", &LIMITS);
    let Ok(first) = load(data) else {
        return;
    };
    exercise(&first.network, first.encoder.as_ref());
    let save = |c: &crate::persist::Checkpoint<T>| {
        checkpoint_to_bytes(&c.network, &c.trainer, c.encoder.as_ref())
    };
    round_trip(&first, save, load, "checkpoint");
}

/// The architecture the [`torch`] target reads a `state_dict` without `nn.architecture`
/// with: `Linear(4, 3), ReLU(), Linear(3, 2), Softmax(dim=1)`.
pub const TORCH_ARCHITECTURE: &str = r#"{"input": {"flat": 4}, "layers": [{"type": "dense", "units": 3, "activation": "relu"}, {"type": "dense", "units": 2, "activation": "softmax"}]}"#;

/// PyTorch `state_dict`s: [`torch_dtype`], and [`from_torch_bytes`] ([`LIMITS`]) as `f32`
/// and `f64` with the file's own architecture, or [`TORCH_ARCHITECTURE`] for a file
/// without one. A network that loads predicts on one zero column and is exported and
/// read back: exporting it again must give the same bytes.
pub fn torch(data: &[u8]) {
    let _ = torch_dtype(data, "fuzz.safetensors");
    let arch = match stored_architecture(data, "fuzz.safetensors") {
        Ok(Some(arch)) => arch,
        Ok(None) => match TorchArchitecture::from_json_str(TORCH_ARCHITECTURE, "fuzz") {
            Ok(arch) => arch,
            Err(e) => unreachable!("the fixed architecture reads: {e}"),
        },
        Err(_) => return,
    };
    torch_as::<f32>(data, &arch);
    torch_as::<f64>(data, &arch);
}

fn torch_as<T: Scalar>(data: &[u8], arch: &TorchArchitecture) {
    let options = TorchImport {
        prefix: String::new(),
        limits: LIMITS,
    };
    let load = |bytes: &[u8]| from_torch_bytes::<T>(bytes, "fuzz.safetensors", arch, &options);
    let Ok(first) = load(data) else {
        return;
    };
    exercise(&first, None);
    round_trip(&first, to_torch_bytes::<T>, load, "state_dict");
}

/// Names: the bytes as text (invalid UTF-8 replaced) through every `FromStr` of the public
/// API: [`Activation`], [`Init`] and [`Loss`] (optimizers, schedules and encoder kinds have
/// no text form). A value that parses must parse back from its `Display` to itself.
pub fn names(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    name_round_trip::<Activation>(&text);
    name_round_trip::<Init>(&text);
    name_round_trip::<Loss>(&text);
}

fn name_round_trip<V: FromStr + Display + PartialEq + Debug>(text: &str) {
    let Ok(value) = text.parse::<V>() else {
        return;
    };
    let shown = value.to_string();
    let back = shown.parse::<V>().ok();
    assert!(
        back.as_ref() == Some(&value),
        "{text:?} parses to {value:?}, shown as {shown:?}, which parses to {back:?}"
    );
}

/// The JSON forms: the bytes as text (invalid UTF-8 replaced) through
/// [`Encoder::from_json_str`] and, when they are JSON, [`Encoder::from_json`] (an encoder
/// the text gives, the value gives too) and [`LayerSpec::from_json`] on the value, on each
/// element of an array, and on each element of a `"layers"` array. An encoder that parses
/// round-trips through [`Encoder::to_json`] and transforms a zero column; a layer spec
/// that parses round-trips through [`LayerSpec::to_json`], and is planned ([`LIMITS`]),
/// built and run for a flat and an image input.
pub fn json(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(pipeline) = Pipeline::from_json_str_with(&text, &LIMITS) {
        pipeline_round_trip(&pipeline);
    }
    let from_text = Encoder::from_json_str(&text);
    if let Ok(encoder) = &from_text {
        let back = Encoder::from_json(&encoder.to_json()).ok();
        assert!(
            back.as_ref() == Some(encoder),
            "an encoder does not round-trip through to_json: {encoder:?} became {back:?}"
        );
        let _ = encoder.transform(&DMatrix::<f64>::zeros(encoder.n_features(), 1));
    }
    let Ok(value) = serde_json::from_str::<Value>(&text) else {
        return;
    };
    if let Ok(encoder) = &from_text {
        let from_value = Encoder::from_json(&value).ok();
        assert!(
            from_value.as_ref() == Some(encoder),
            "Encoder::from_json_str gives {encoder:?}, from_json on the same JSON {from_value:?}"
        );
    }
    layer_spec(&value);
    let arrays = [Some(&value), value.get("layers")];
    for item in arrays
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
    {
        layer_spec(item);
    }
}

/// A layer spec's JSON: round trip, then plan, build and run for two inputs. A layer
/// record (built-in or of a user's kind) round-trips too.
fn layer_spec(v: &Value) {
    if let Ok(record) = LayerRecord::from_json(v, 0) {
        let back = LayerRecord::from_json(&record.to_json(), 0).ok();
        assert!(
            back.as_ref() == Some(&record),
            "{record:?} does not round-trip through to_json: it became {back:?}"
        );
    }
    let Ok(spec) = LayerSpec::from_json(v, 0) else {
        return;
    };
    let back = LayerSpec::from_json(&spec.to_json(), 0).ok();
    assert!(
        back == Some(spec),
        "{spec:?} does not round-trip through to_json: it became {back:?}"
    );
    let inputs = [
        FeatureShape::Flat(6),
        FeatureShape::Image {
            channels: 2,
            height: 7,
            width: 5,
        },
    ];
    for input in inputs {
        let Ok(plan) = spec.plan(input, 0, &LIMITS) else {
            continue;
        };
        let Ok(layer) = spec.build::<f32>(input, 0, 1) else {
            continue;
        };
        assert_eq!(
            layer.output_shape(),
            plan.output,
            "{spec} builds another output shape than it plans"
        );
        let out = layer.infer(&DMatrix::zeros(input.len(), 2));
        let out = promised(out, &format!("{spec} runs on its own input shape"));
        if let Some(out) = out {
            assert_eq!(out.shape(), (plan.output.len(), 2), "{spec}: output shape");
        }
    }
}
