//! Errors of model files, checkpoints and the stored forms of layers.

use thiserror::Error;

/// A model file, a checkpoint or a layer's stored form cannot be read (or written) as a
/// network this build can rebuild. Converts into [`super::TrainError::Format`].
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum FormatError {
    /// A model or checkpoint file is corrupt, truncated, or does not describe a network this
    /// build can rebuild (an unknown layer type in it included: the problem then says so).
    #[error("model file {file}: {problem}")]
    ModelFile {
        /// The path, or the name given to the bytes.
        file: String,
        /// What was expected and what was found.
        problem: String,
    },
    /// A preprocessing pipeline's stored form (its JSON, as a model file's `nn.pipeline`
    /// holds it) is malformed or inconsistent: another version, a missing or mistyped
    /// field, wrong lengths, a non-finite or non-positive number where a finite scale is
    /// needed, duplicate names, lists beyond the limits.
    #[error("preprocessing pipeline: {problem}")]
    Pipeline {
        /// What was expected and what was found.
        problem: String,
    },
    /// A layer's stored form (`LayerSpec::to_json`'s, or a model file's `nn.architecture`)
    /// names a layer type that is neither built in nor registered.
    #[error(
        "layer {layer} ({what}): unknown layer type `{found}`; this build knows {}{hint}",
        known_names(.known)
    )]
    UnknownLayerType {
        /// Index of the layer (0 = first layer after the input).
        layer: usize,
        /// The layer's stored form, as written.
        what: String,
        /// The type name found.
        found: String,
        /// The type names this build knows (the built-in ones, then any registered).
        known: Vec<String>,
        /// How to make this build know it, when there is a way (e.g. registering the kind
        /// in a `LayerRegistry`), starting with its separator; empty otherwise.
        hint: &'static str,
    },
    /// A layer (or its activation) that the ONNX export has no operators for.
    #[error("layer {layer}: {what} has no ONNX export")]
    OnnxUnsupported {
        /// Index of the layer (0 = first layer after the input).
        layer: usize,
        /// What it is: the layer's type name, or the activation's name.
        what: String,
    },
    /// A layer (or its activation) that has no module of PyTorch's `torch.nn` to stand for
    /// it in a `Sequential` (see `persist::torch`).
    #[error("layer {layer}: {what} has no PyTorch module")]
    TorchUnsupported {
        /// Index of the layer (0 = first layer after the input).
        layer: usize,
        /// What it is: the layer's type name, or the activation's name.
        what: String,
    },
}

/// `` `a`, `b`, `c` ``.
fn known_names(known: &[String]) -> String {
    let quoted: Vec<String> = known.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}
