//! Saving and loading a trained network (with its input encoder) as a safetensors model
//! file; the layout is documented in the parent module.

use std::collections::HashMap;
use std::path::Path;

use nn_init::nn_activations::nn_core::{DType, Scalar};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    FORMAT_VERSION, FileReader, OwnedTensor, json_text, read_file, serialize, tensor_of,
    write_atomic,
};
use crate::data::Table;
use crate::encode::{Encoder, stored_features};
use crate::error::{DataError, FormatError, Result, TrainError};
use crate::layers::FeatureShape;
use crate::layers::{LayerRecord, LayerRegistry, ParamShape};
use crate::limits::Limits;
use crate::loss::Loss;
use crate::network::{Network, NetworkBuilder};
use crate::pipeline::{Pipeline, TaskKind};

/// A network loaded from a model file, with the input encoder saved beside it.
#[derive(Debug)]
pub struct Model<T: Scalar> {
    /// The network, with the saved parameters.
    pub network: Network<T>,
    /// The fitted input encoder, if one was saved: apply it to inputs before
    /// [`Network::predict`].
    pub encoder: Option<Encoder>,
    /// The class names, in output order, if they were saved (see
    /// [`save_model_with_classes`]).
    pub classes: Option<Vec<String>>,
    /// The input features' names, in input order, if they were saved (a model trained
    /// from a CSV file with a header); see [`Model::check_features`].
    pub features: Option<Vec<String>>,
    /// The name of the label column it was trained on, if saved.
    pub label: Option<String>,
    /// The preprocessing pipeline fitted on the training table, if one was saved (see
    /// [`ModelWriter::pipeline`]): [`Model::prepare`] applies it (and the encoder).
    pub pipeline: Option<Pipeline>,
}

/// The names a model file may carry beside the network: of its classes (in output
/// order), of its input features (in input order) and of the label column. Stored in the
/// metadata as `nn.classes` and `nn.features` (JSON arrays of strings) and `nn.label`
/// (a JSON string).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelNames {
    /// One name per output unit, or two for a single sigmoid unit.
    pub classes: Option<Vec<String>>,
    /// One name per input feature.
    pub features: Option<Vec<String>>,
    /// The label column's name.
    pub label: Option<String>,
}

impl<T: Scalar> Model<T> {
    /// The network's inputs for the rows of `table`: the pipeline's transform, then the
    /// encoder if the model has one too.
    ///
    /// # Errors
    /// [`TrainError::BadInput`] for a model saved without a pipeline; otherwise as
    /// [`Pipeline::transform`] and [`Encoder::transform`].
    pub fn prepare(&self, table: &Table) -> Result<nalgebra::DMatrix<T>> {
        let pipeline = self.pipeline.as_ref().ok_or_else(|| TrainError::BadInput {
            what: "model",
            expected: "a model saved with a preprocessing pipeline (nn.pipeline)".into(),
            found: "a model without one: give it numeric inputs".into(),
        })?;
        let x = pipeline.transform::<T>(table)?;
        match &self.encoder {
            Some(enc) => enc.transform(&x),
            None => Ok(x),
        }
    }

    /// Network outputs in the label's units: a regression pipeline's target scaling undone
    /// (`y = y'·scale + shift`); anything else unchanged (no pipeline, or classification).
    pub fn unscale(&self, outputs: &nalgebra::DMatrix<T>) -> nalgebra::DMatrix<T> {
        match &self.pipeline {
            Some(p) => p.inverse_target(outputs),
            None => outputs.clone(),
        }
    }

    /// Predictions for the rows of `table`: [`Model::prepare`], the network's forward
    /// pass, then [`Model::unscale`] (regression values in the label's units; class
    /// probabilities as they are).
    ///
    /// # Errors
    /// As [`Model::prepare`] and [`Network::predict`].
    pub fn predict_table(&self, table: &Table) -> Result<nalgebra::DMatrix<T>> {
        let x = self.prepare(table)?;
        Ok(self.unscale(&self.network.predict(&x)?))
    }

    /// Checks that data with columns `found` (e.g. a CSV header without its label) has
    /// the features this model was trained on, in the same order; `source` names the data
    /// in the error. A model saved without feature names accepts any names.
    ///
    /// # Errors
    /// [`DataError::FeatureMismatch`] listing the missing, extra and reordered names.
    pub fn check_features(&self, found: &[String], source: &str) -> Result<()> {
        let Some(expected) = &self.features else {
            return Ok(());
        };
        if expected.as_slice() == found {
            return Ok(());
        }
        let missing: Vec<String> = expected
            .iter()
            .filter(|n| !found.contains(n))
            .cloned()
            .collect();
        let extra: Vec<String> = found
            .iter()
            .filter(|n| !expected.contains(n))
            .cloned()
            .collect();
        // Of the names both have, those not at the same place among the shared ones.
        let shared_expected: Vec<&String> = expected.iter().filter(|n| found.contains(n)).collect();
        let shared_found: Vec<&String> = found.iter().filter(|n| expected.contains(n)).collect();
        let reordered: Vec<String> = shared_found
            .iter()
            .zip(&shared_expected)
            .filter(|(f, e)| f != e)
            .map(|(f, _)| (*f).clone())
            .collect();
        Err(DataError::FeatureMismatch {
            data: source.to_string(),
            expected: expected.clone(),
            missing,
            extra,
            reordered,
        }
        .into())
    }
}

/// The architecture stored under `nn.architecture` (see the module docs), read and
/// written by serde. The layers stay in `LayerSpec::to_json`'s form, one JSON value each.
#[derive(Serialize, Deserialize)]
struct ArchitectureForm {
    dtype: DType,
    input: InputForm,
    l2: f64,
    layers: Vec<Value>,
    loss: Loss,
    /// Per-class weights of the loss; only when set (files without are as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    class_weights: Option<Vec<f64>>,
    seed: u64,
}

/// The shape of one input example: `{"flat": n}` or `{"image": [c, h, w]}`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum InputForm {
    /// A vector of `n` features.
    Flat(usize),
    /// `[channels, height, width]`.
    Image([usize; 3]),
}

impl From<FeatureShape> for InputForm {
    fn from(shape: FeatureShape) -> Self {
        match shape {
            FeatureShape::Flat(n) => InputForm::Flat(n),
            FeatureShape::Image {
                channels,
                height,
                width,
            } => InputForm::Image([channels, height, width]),
        }
    }
}

impl From<InputForm> for FeatureShape {
    fn from(form: InputForm) -> Self {
        match form {
            InputForm::Flat(n) => FeatureShape::Flat(n),
            InputForm::Image([channels, height, width]) => FeatureShape::Image {
                channels,
                height,
                width,
            },
        }
    }
}

/// Only the dtype of an architecture, for [`model_dtype`].
#[derive(Deserialize)]
struct DTypeForm {
    dtype: DType,
}

/// The architecture of a network (see the module docs).
///
/// # Errors
/// [`TrainError::InvalidArchitecture`] for a network without a loss, or with a layer of
/// its own that does not say how model files record it.
fn architecture_form<T: Scalar>(net: &Network<T>) -> Result<ArchitectureForm> {
    Ok(ArchitectureForm {
        dtype: T::DTYPE,
        input: net.input_shape().into(),
        l2: net.l2(),
        layers: net.records()?.iter().map(LayerRecord::to_json).collect(),
        loss: net.require_loss()?,
        class_weights: net.class_weights().map(<[f64]>::to_vec),
        seed: net.seed(),
    })
}

/// Every parameter tensor, named `layers.{i}.{name}`, in the file layout.
pub(super) fn network_tensors<T: Scalar>(net: &Network<T>) -> Vec<(String, OwnedTensor)> {
    let mut out = Vec::new();
    for (i, layer) in net.layers().iter().enumerate() {
        for p in layer.params() {
            let name = p.name();
            out.push((
                format!("layers.{i}.{name}"),
                tensor_of(p.value(), p.file_shape()),
            ));
        }
    }
    out
}

/// The metadata every file has; refuses a network or encoder with a non-finite value,
/// which could not be read back (JSON has no infinity; loading rejects non-finite
/// tensors).
pub(super) fn base_metadata<T: Scalar>(
    net: &Network<T>,
    encoder: Option<&Encoder>,
    kind: &str,
) -> Result<HashMap<String, String>> {
    let refuse = |problem: String| {
        TrainError::from(FormatError::ModelFile {
            file: format!("({kind} being saved)"),
            problem,
        })
    };
    for (i, layer) in net.layers().iter().enumerate() {
        for p in layer.params() {
            let name = p.name();
            if let Some(at) = p.value().iter().position(|v| !v.finite()) {
                return Err(refuse(format!(
                    "layers.{i}.{name} has a non-finite value at (column-major) index {at}; \
                     it would not load back"
                )));
            }
        }
    }
    if let Some(enc) = encoder {
        enc.check_finite().map_err(|e| refuse(e.to_string()))?;
    }
    let mut meta = HashMap::new();
    meta.insert("format".into(), "pt".into());
    meta.insert("nn.format_version".into(), FORMAT_VERSION.into());
    meta.insert("nn.kind".into(), kind.into());
    meta.insert(
        "nn.architecture".into(),
        json_text(&architecture_form(net)?)?,
    );
    if let Some(enc) = encoder {
        meta.insert("nn.encoder".into(), enc.to_json().to_string());
    }
    Ok(meta)
}

/// Rebuilds the network from the architecture (with the layer kinds of `registry`) and
/// reads every parameter tensor.
pub(super) fn read_network<T: Scalar>(
    file: &mut FileReader<'_>,
    limits: &Limits,
    registry: &LayerRegistry<T>,
) -> Result<Network<T>> {
    let text = file
        .meta("nn.architecture")
        .ok_or_else(|| file.error("no \"nn.architecture\" in the metadata".into()))?;
    let arch: ArchitectureForm =
        serde_json::from_str(text).map_err(|e| file.error(format!("architecture: {e}")))?;
    if arch.dtype != T::DTYPE {
        return Err(file.error(format!(
            "the parameters are {}, but a Network<{}> was asked for; load it as Network<{}>",
            arch.dtype,
            T::DTYPE,
            arch.dtype
        )));
    }
    let (input, layers, loss, l2, seed) = (
        arch.input.into(),
        arch.layers,
        arch.loss,
        arch.l2,
        arch.seed,
    );
    let builder = NetworkBuilder::<T>::new(input)
        .loss(loss)
        .class_weights(arch.class_weights)
        .l2(l2)
        .seed(seed)
        .limits(*limits)
        .layers_from_json(&layers, registry)
        .map_err(|e| file.error(format!("architecture: {e}")))?;
    // Sizes first, with overflow-checked arithmetic and the limits; then every tensor the
    // architecture needs is compared with the header (name, dtype, shape) before anything
    // is built, so a file that declares a huge network costs nothing to reject.
    let plan = builder
        .plan()
        .map_err(|e| file.error(format!("architecture does not build: {e}")))?;
    for (i, layer) in plan.layers.iter().enumerate() {
        for p in &layer.params {
            file.check_tensor::<T>(&format!("layers.{i}.{}", p.name), &p.file_shape)?;
        }
    }
    let mut load = |i: usize, p: &ParamShape| {
        file.matrix::<T>(
            &format!("layers.{i}.{}", p.name),
            &p.file_shape,
            (p.rows, p.cols),
        )
    };
    builder
        .build_from(&plan, Some(&mut load))
        .map_err(|e| match e {
            e @ TrainError::Format(FormatError::ModelFile { .. }) => e,
            e => file.error(format!("architecture does not build: {e}")),
        })
}

/// Reads the encoder, checking that it takes the network's inputs.
pub(super) fn read_encoder<T: Scalar>(
    file: &FileReader<'_>,
    net: &Network<T>,
) -> Result<Option<Encoder>> {
    let Some(text) = file.meta("nn.encoder") else {
        return Ok(None);
    };
    let wrong = |n: usize| {
        file.error(format!(
            "nn.encoder takes {n} features, but the network takes {}",
            net.input_shape().len()
        ))
    };
    // Counted first, so that a hostile array costs nothing to refuse.
    let n = stored_features(text).map_err(|e| file.error(format!("nn.encoder: {e}")))?;
    if n != net.input_shape().len() {
        return Err(wrong(n));
    }
    let enc = Encoder::from_json_str(text).map_err(|e| file.error(format!("nn.encoder: {e}")))?;
    if enc.n_features() != n {
        return Err(wrong(enc.n_features()));
    }
    Ok(Some(enc))
}

/// The model file's bytes (see the module docs for the layout).
///
/// # Errors
/// [`crate::TrainError::InvalidArchitecture`] for a network without a loss, or with a layer
/// of its own that does not say how model files record it;
/// [`FormatError::ModelFile`] for a non-finite parameter or encoder value (it could not be
/// read back).
pub fn model_to_bytes<T: Scalar>(net: &Network<T>, encoder: Option<&Encoder>) -> Result<Vec<u8>> {
    model_to_bytes_with_classes(net, encoder, None)
}

/// The model file's bytes with the class names in the metadata key `nn.classes` (a JSON
/// array of strings, in output order).
///
/// # Errors
/// [`FormatError::ModelFile`] if the number of names does not fit the output layer
/// (one per output unit, or two for a single sigmoid unit), or a parameter or the
/// encoder holds a non-finite value (the file could not be loaded back).
pub fn model_to_bytes_with_classes<T: Scalar>(
    net: &Network<T>,
    encoder: Option<&Encoder>,
    classes: Option<&[String]>,
) -> Result<Vec<u8>> {
    let names = ModelNames {
        classes: classes.map(<[String]>::to_vec),
        ..ModelNames::default()
    };
    model_to_bytes_named(net, encoder, &names)
}

/// The model file's bytes with the names of its classes, features and label column in
/// the metadata (see [`ModelNames`]).
///
/// # Errors
/// [`FormatError::ModelFile`] if the class names do not fit the output layer, the
/// feature names do not number the network's inputs, or a parameter or the encoder holds
/// a non-finite value.
pub fn model_to_bytes_named<T: Scalar>(
    net: &Network<T>,
    encoder: Option<&Encoder>,
    names: &ModelNames,
) -> Result<Vec<u8>> {
    serialize(
        &network_tensors(net),
        named_metadata(net, encoder, names, "model")?,
    )
}

/// The metadata of a model file with names (see [`model_to_bytes_named`]).
fn named_metadata<T: Scalar>(
    net: &Network<T>,
    encoder: Option<&Encoder>,
    names: &ModelNames,
    kind: &str,
) -> Result<HashMap<String, String>> {
    let refuse = |problem: String| {
        TrainError::from(FormatError::ModelFile {
            file: format!("({kind} being saved)"),
            problem,
        })
    };
    let mut meta = base_metadata(net, encoder, kind)?;
    if let Some(classes) = &names.classes {
        check_class_count(net, classes.len()).map_err(refuse)?;
        meta.insert("nn.classes".into(), json!(classes).to_string());
    }
    if let Some(features) = &names.features {
        check_feature_count(net, features.len()).map_err(refuse)?;
        meta.insert("nn.features".into(), json!(features).to_string());
    }
    if let Some(label) = &names.label {
        meta.insert("nn.label".into(), json!(label).to_string());
    }
    Ok(meta)
}

/// Writes a model file: the network, with the optional encoder, names and preprocessing
/// pipeline beside it. [`save_model_named`] and the other savers are shorthands of it.
///
/// With a pipeline, the metadata gains `nn.pipeline` (its stored form,
/// [`Pipeline::to_json`]); a classification pipeline's classes and the label's name are
/// written as `nn.classes` and `nn.label` too, unless [`ModelNames`] gives them (then they
/// must agree).
///
/// ```
/// use nn_train::data::{Table, DEFAULT_MISSING};
/// use nn_train::pipeline::{Pipeline, PipelineConfig};
/// use nn_train::persist::{model_from_bytes, ModelWriter};
/// use nn_train::{Activation, Loss, Network};
/// let t = Table::from_rows("t", &["x", "y"], &[["1", "2"], ["2", "4.5"], ["NA", "3"]], DEFAULT_MISSING)?;
/// let pipeline = Pipeline::fit(&t, &PipelineConfig::new("y"))?;
/// let net = Network::<f64>::builder(pipeline.n_inputs())
///     .dense(1, Activation::Identity)
///     .loss(Loss::Mse)
///     .build()?;
/// let bytes = ModelWriter::new(&net).pipeline(&pipeline).to_bytes()?;
/// let model = model_from_bytes::<f64>(&bytes, "m")?;
/// assert_eq!(model.pipeline.as_ref(), Some(&pipeline));
/// let y = model.predict_table(&t)?; // in the label's units
/// assert_eq!(y.shape(), (1, 3));
/// # Ok::<(), nn_train::TrainError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ModelWriter<'a, T: Scalar> {
    network: &'a Network<T>,
    encoder: Option<&'a Encoder>,
    names: ModelNames,
    pipeline: Option<&'a Pipeline>,
}

impl<'a, T: Scalar> ModelWriter<'a, T> {
    /// A writer of `network` alone.
    pub fn new(network: &'a Network<T>) -> Self {
        Self {
            network,
            encoder: None,
            names: ModelNames::default(),
            pipeline: None,
        }
    }

    /// Saves the input encoder (applied after the pipeline, if both are given).
    pub fn encoder(mut self, encoder: Option<&'a Encoder>) -> Self {
        self.encoder = encoder;
        self
    }

    /// Saves these names of classes, features and label column.
    pub fn names(mut self, names: ModelNames) -> Self {
        self.names = names;
        self
    }

    /// Saves the preprocessing pipeline (`nn.pipeline`).
    pub fn pipeline(mut self, pipeline: &'a Pipeline) -> Self {
        self.pipeline = Some(pipeline);
        self
    }

    /// The model file's bytes.
    ///
    /// # Errors
    /// As [`model_to_bytes_named`]; [`FormatError::ModelFile`] if the pipeline does not
    /// fit the network (its inputs, or one output for regression) or disagrees with the
    /// names given.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        serialize(&network_tensors(self.network), self.metadata("model")?)
    }

    /// The network being written.
    pub(super) fn network(&self) -> &'a Network<T> {
        self.network
    }

    /// The metadata of a file of `kind` (`"model"` or `"checkpoint"`): the network's,
    /// the encoder's, the names and the pipeline.
    pub(super) fn metadata(&self, kind: &str) -> Result<HashMap<String, String>> {
        let refuse = |problem: String| {
            TrainError::from(FormatError::ModelFile {
                file: format!("({kind} being saved)"),
                problem,
            })
        };
        let mut names = self.names.clone();
        if let Some(p) = self.pipeline {
            check_pipeline(self.network, self.encoder, p).map_err(refuse)?;
            if let Some(classes) = p.classes() {
                match &names.classes {
                    None => names.classes = Some(classes.to_vec()),
                    Some(given) if given.as_slice() != classes => {
                        return Err(refuse(format!(
                            "nn.classes ({}) differ from the pipeline's classes ({})",
                            given.join(", "),
                            classes.join(", ")
                        )));
                    }
                    Some(_) => {}
                }
            }
            match &names.label {
                None => names.label = Some(p.label().to_string()),
                Some(given) if given != p.label() => {
                    return Err(refuse(format!(
                        "nn.label {given:?} differs from the pipeline's label {:?}",
                        p.label()
                    )));
                }
                Some(_) => {}
            }
        }
        let mut meta = named_metadata(self.network, self.encoder, &names, kind)?;
        if let Some(p) = self.pipeline {
            meta.insert("nn.pipeline".into(), p.to_json().to_string());
        }
        Ok(meta)
    }

    /// Saves the model file atomically.
    ///
    /// # Errors
    /// As [`ModelWriter::to_bytes`]; [`crate::TrainError::Io`] if the file cannot be
    /// written.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }
}

/// A pipeline's inputs are the network's (or the encoder's), and a regression target is
/// one output.
fn check_pipeline<T: Scalar>(
    net: &Network<T>,
    encoder: Option<&Encoder>,
    p: &Pipeline,
) -> std::result::Result<(), String> {
    let inputs = encoder.map_or(net.input_shape().len(), Encoder::n_features);
    if p.n_inputs() != inputs {
        return Err(format!(
            "nn.pipeline makes {} inputs, but the {} takes {inputs}",
            p.n_inputs(),
            if encoder.is_some() {
                "encoder"
            } else {
                "network"
            }
        ));
    }
    if p.task() == TaskKind::Regression && net.output_size() != 1 {
        return Err(format!(
            "nn.pipeline is a regression on one label, but the network has {} outputs",
            net.output_size()
        ));
    }
    if let Some(classes) = p.classes() {
        check_class_count(net, classes.len())?;
    }
    Ok(())
}

/// One name per input feature.
fn check_feature_count<T: Scalar>(
    net: &Network<T>,
    names: usize,
) -> std::result::Result<(), String> {
    let inputs = net.input_shape().len();
    if names == inputs {
        Ok(())
    } else {
        Err(format!(
            "nn.features has {names} names, but the network takes {inputs} input features"
        ))
    }
}

/// Saves a model with the names of its classes, features and label column (see
/// [`ModelNames`]), atomically.
///
/// # Errors
/// As [`model_to_bytes_named`]; [`crate::TrainError::Io`] if the file cannot be written.
pub fn save_model_named<T: Scalar>(
    path: &Path,
    net: &Network<T>,
    encoder: Option<&Encoder>,
    names: &ModelNames,
) -> Result<()> {
    write_atomic(path, &model_to_bytes_named(net, encoder, names)?)
}

/// One name per output unit, or two names for a single (sigmoid) output.
fn check_class_count<T: Scalar>(net: &Network<T>, names: usize) -> std::result::Result<(), String> {
    let outputs = net.output_size();
    if names == outputs || (outputs == 1 && names == 2) {
        Ok(())
    } else {
        Err(format!(
            "nn.classes has {names} names, but the network has {outputs} output unit(s) \
             (expected {outputs}{})",
            if outputs == 1 {
                ", or 2 for a binary output"
            } else {
                ""
            }
        ))
    }
}

/// Saves a classifier with the names of its classes, so that predictions can be reported
/// as labels and test files mapped to the same classes (see [`Model::classes`]).
///
/// # Errors
/// As [`model_to_bytes_with_classes`]; [`crate::TrainError::Io`] if the file cannot be
/// written.
pub fn save_model_with_classes<T: Scalar>(
    path: &Path,
    net: &Network<T>,
    encoder: Option<&Encoder>,
    classes: Option<&[String]>,
) -> Result<()> {
    write_atomic(path, &model_to_bytes_with_classes(net, encoder, classes)?)
}

/// The scalar type ([`DType::F32`] or [`DType::F64`]) a model file's parameters are
/// stored in, so that it can be loaded as the right `Network<T>`.
///
/// # Errors
/// [`crate::TrainError::Io`] if the file cannot be read;
/// [`FormatError::ModelFile`] if it is not a model file or names another type.
pub fn model_dtype(path: &Path) -> Result<DType> {
    let limits = Limits::default();
    let bytes = read_file(path, &limits)?;
    let file = FileReader::open(
        &bytes,
        &path.display().to_string(),
        &["model", "checkpoint"],
        &limits,
    )?;
    let text = file
        .meta("nn.architecture")
        .ok_or_else(|| file.error("no \"nn.architecture\" in the metadata".into()))?;
    serde_json::from_str::<DTypeForm>(text)
        .map(|form| form.dtype)
        .map_err(|e| file.error(format!("architecture: {e}")))
}

/// Saves a network (and the encoder its inputs go through, if any) to `path`, atomically.
///
/// # Errors
/// [`crate::TrainError::Io`] naming the path if it cannot be written.
pub fn save_model<T: Scalar>(
    path: &Path,
    net: &Network<T>,
    encoder: Option<&Encoder>,
) -> Result<()> {
    write_atomic(path, &model_to_bytes(net, encoder)?)
}

/// Reads a model from a model file's bytes (a checkpoint's bytes work too: its optimizer
/// state is ignored); `name` names the source in errors.
///
/// # Errors
/// [`FormatError::ModelFile`] for anything that is not a valid model of scalar
/// type `T`: corrupt or truncated bytes, an unknown format version, an architecture that
/// does not parse or build (unknown activation, wrong sizes), a missing, extra, mistyped
/// or mis-shaped tensor, a non-finite value, an encoder that does not fit.
pub fn model_from_bytes<T: Scalar>(bytes: &[u8], name: &str) -> Result<Model<T>> {
    model_from_bytes_with(bytes, name, &Limits::default())
}

/// [`model_from_bytes`] with explicit [`Limits`] on the header's length and the network's
/// sizes (raise them for models larger than the defaults allow).
///
/// Nothing the file declares is allocated before it is checked: the architecture's sizes
/// are computed with overflow-checked arithmetic and compared with `limits`, then every
/// tensor it needs is compared with the header (name, dtype, shape), and only then are
/// the layers built, with their parameters read straight from the file.
///
/// # Errors
/// As [`model_from_bytes`]; [`FormatError::ModelFile`] naming the limit a size
/// exceeds.
pub fn model_from_bytes_with<T: Scalar>(
    bytes: &[u8],
    name: &str,
    limits: &Limits,
) -> Result<Model<T>> {
    model_from_bytes_registered(bytes, name, limits, &LayerRegistry::new())
}

/// [`model_from_bytes_with`] for a file that may hold layers of kinds of your own: each
/// is built by its entry in `registry` (see [`LayerRegistry`]), then its parameters are
/// read from the file like any layer's.
///
/// # Errors
/// As [`model_from_bytes_with`]; a layer type neither built in nor in `registry` is
/// [`FormatError::ModelFile`] saying "unknown layer type `…`".
pub fn model_from_bytes_registered<T: Scalar>(
    bytes: &[u8],
    name: &str,
    limits: &Limits,
    registry: &LayerRegistry<T>,
) -> Result<Model<T>> {
    let mut file = FileReader::open(bytes, name, &["model", "checkpoint"], limits)?;
    let model = read_model(&mut file, limits, registry)?;
    let skip =
        (file.meta("nn.kind").map(String::as_str) == Some("checkpoint")).then_some("optimizer.");
    file.check_all_used(skip)?;
    Ok(model)
}

/// The model part of a model file or checkpoint: the network, the encoder, the names and
/// the pipeline, each checked against the network.
pub(super) fn read_model<T: Scalar>(
    file: &mut FileReader<'_>,
    limits: &Limits,
    registry: &LayerRegistry<T>,
) -> Result<Model<T>> {
    let network = read_network::<T>(file, limits, registry)?;
    let encoder = read_encoder(file, &network)?;
    let strings = |key: &str| -> Result<Option<Vec<String>>> {
        file.meta(key)
            .map(|text| {
                serde_json::from_str::<Vec<String>>(text)
                    .map_err(|e| file.error(format!("{key} must be an array of strings: {e}")))
            })
            .transpose()
    };
    let classes = strings("nn.classes")?;
    if let Some(names) = &classes {
        check_class_count(&network, names.len()).map_err(|p| file.error(p))?;
    }
    let features = strings("nn.features")?;
    if let Some(names) = &features {
        check_feature_count(&network, names.len()).map_err(|p| file.error(p))?;
    }
    let label = file
        .meta("nn.label")
        .map(|text| {
            serde_json::from_str::<String>(text)
                .map_err(|e| file.error(format!("nn.label must be a string: {e}")))
        })
        .transpose()?;
    let pipeline = file
        .meta("nn.pipeline")
        .map(|text| {
            let p = Pipeline::from_json_str_with(text, limits)
                .map_err(|e| file.error(format!("nn.pipeline: {e}")))?;
            check_pipeline(&network, encoder.as_ref(), &p).map_err(|e| file.error(e))?;
            if let (Some(classes), Some(named)) = (p.classes(), &classes)
                && classes != named.as_slice()
            {
                return Err(file.error("nn.classes differ from the classes of nn.pipeline".into()));
            }
            if let Some(named) = &label
                && named != p.label()
            {
                return Err(file.error("nn.label differs from the label of nn.pipeline".into()));
            }
            Ok(p)
        })
        .transpose()?;
    Ok(Model {
        network,
        encoder,
        classes,
        features,
        label,
        pipeline,
    })
}

/// Loads a model file written by [`save_model`] (or a checkpoint, for its weights).
///
/// # Errors
/// [`crate::TrainError::Io`] if the file cannot be read; otherwise as
/// [`model_from_bytes`].
pub fn load_model<T: Scalar>(path: &Path) -> Result<Model<T>> {
    load_model_with(path, &Limits::default())
}

/// [`load_model`] with explicit [`Limits`] (see [`model_from_bytes_with`]); a file longer
/// than a model within them can be is refused before it is read.
///
/// # Errors
/// As [`load_model`].
pub fn load_model_with<T: Scalar>(path: &Path, limits: &Limits) -> Result<Model<T>> {
    model_from_bytes_with(
        &read_file(path, limits)?,
        &path.display().to_string(),
        limits,
    )
}

/// [`load_model_with`] for a file that may hold layers of kinds of your own, built by
/// `registry` (see [`model_from_bytes_registered`]).
///
/// # Errors
/// As [`model_from_bytes_registered`]; [`crate::TrainError::Io`] if the file cannot be
/// read.
pub fn load_model_registered<T: Scalar>(
    path: &Path,
    limits: &Limits,
    registry: &LayerRegistry<T>,
) -> Result<Model<T>> {
    model_from_bytes_registered(
        &read_file(path, limits)?,
        &path.display().to_string(),
        limits,
        registry,
    )
}
