//! Model files and checkpoints in the safetensors format, readable from Python as they
//! are.
//!
//! The file layout (format version 1) is documented in the crate docs, [Model
//! files](crate#model-files): tensors `layers.{i}.weight` (`[out, in]`, or
//! `[out, in, kh, kw]` for a convolution, as in PyTorch) and `layers.{i}.bias` (`[out]`),
//! F32 or F64, and the architecture as JSON in the metadata.
//!
//! Writes are atomic ([`write_atomic`]): the bytes go to a temporary file in the same
//! directory, which is synced, renamed over the target, and the directory synced, so a
//! crash or a full disk never leaves half a model, and at most one temporary file.
//! Loading validates everything: the safetensors structure, the version, the architecture
//! (rebuilt through [`crate::NetworkBuilder`]), each tensor's dtype and shape, missing and
//! extra tensors, non-finite values.

mod checkpoint;
mod model;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod torch;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::{DType, Scalar};
use safetensors::tensor::Metadata;
use safetensors::{Dtype, SafeTensors, View};
use serde_json::Value;

pub use crate::atomic::{check_writable, write_atomic};
pub use checkpoint::{
    Checkpoint, checkpoint_from_bytes, checkpoint_from_bytes_registered,
    checkpoint_from_bytes_with, checkpoint_to_bytes, load_checkpoint, load_checkpoint_registered,
    load_checkpoint_with, save_checkpoint,
};
pub use model::{
    Model, ModelNames, ModelWriter, load_model, load_model_registered, load_model_with,
    model_dtype, model_from_bytes, model_from_bytes_registered, model_from_bytes_with,
    model_to_bytes, model_to_bytes_named, model_to_bytes_with_classes, save_model,
    save_model_named, save_model_with_classes,
};
pub use torch::{
    TorchArchitecture, TorchImport, from_torch_bytes, load_torch, save_torch, to_torch_bytes,
};

use crate::error::{FormatError, Result, TrainError};
use crate::limits::Limits;

/// The format version this build writes and the only one it reads.
pub const FORMAT_VERSION: &str = "1";

/// A tensor ready to be written.
struct OwnedTensor {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &OwnedTensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// The safetensors dtype of `T`'s tensors.
fn dtype_of<T: Scalar>() -> Dtype {
    match T::DTYPE {
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
    }
}

/// `m` in row-major order as little-endian bytes of `T`, with the given file shape.
fn tensor_of<T: Scalar>(m: &DMatrix<T>, shape: Vec<usize>) -> OwnedTensor {
    let mut data = Vec::with_capacity(m.len() * T::DTYPE.size_in_bytes());
    for r in 0..m.nrows() {
        for c in 0..m.ncols() {
            let v = m[(r, c)].to_f64();
            match T::DTYPE {
                DType::F64 => data.extend_from_slice(&v.to_le_bytes()),
                // Exact: v is an f32 widened to f64.
                DType::F32 => data.extend_from_slice(&(v as f32).to_le_bytes()),
            }
        }
    }
    OwnedTensor {
        dtype: dtype_of::<T>(),
        shape,
        data,
    }
}

/// A reader of one file's tensors and metadata that remembers which tensors were used.
struct FileReader<'a> {
    name: String,
    /// The parsed header: tensor infos (offsets validated against the data) and metadata.
    header: Metadata,
    /// The bytes after the header.
    data: &'a [u8],
    used: BTreeSet<String>,
}

impl<'a> FileReader<'a> {
    /// Parses the safetensors structure and checks the format version and kind; a header
    /// longer than [`Limits::max_header_bytes`] is refused before it is parsed.
    fn open(bytes: &'a [u8], name: &str, kinds: &[&str], limits: &Limits) -> Result<Self> {
        let file = Self::parse(bytes, name, limits)?;
        let err = |problem: String| model_error(name, problem);
        let version = file.meta("nn.format_version").ok_or_else(|| {
            err("no \"nn.format_version\" in the metadata: not a file written by nn".into())
        })?;
        if version != FORMAT_VERSION {
            return Err(err(format!(
                "format version {version:?} is not supported; this build reads version \
                 {FORMAT_VERSION:?} (a newer nn wrote it?)"
            )));
        }
        let kind = file.meta("nn.kind").map_or("", String::as_str);
        if !kinds.contains(&kind) {
            return Err(err(format!(
                "\"nn.kind\" is {kind:?}, expected one of {kinds:?}"
            )));
        }
        Ok(file)
    }

    /// Parses the safetensors structure of any file (a PyTorch state_dict too); a header
    /// longer than [`Limits::max_header_bytes`] is refused before it is parsed.
    fn parse(bytes: &'a [u8], name: &str, limits: &Limits) -> Result<Self> {
        let err = |problem: String| model_error(name, problem);
        let header_len = bytes
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
            .ok_or_else(|| {
                err(format!(
                    "not a valid safetensors file: {} bytes, fewer than the 8 of the header \
                     length",
                    bytes.len()
                ))
            })?;
        if header_len > limits.max_header_bytes as u64 {
            return Err(err(format!(
                "the header is {header_len} bytes long, more than the limit of {} \
                 (Limits::max_header_bytes)",
                limits.max_header_bytes
            )));
        }
        // One parse of the header (it may hold megabytes of encoder JSON).
        let (n, header) = SafeTensors::read_metadata(bytes).map_err(|e| {
            err(format!(
                "not a valid safetensors file (corrupt or truncated): {e}"
            ))
        })?;
        let data = bytes.get(8 + n..).unwrap_or_default();
        Ok(Self {
            name: name.to_string(),
            header,
            data,
            used: BTreeSet::new(),
        })
    }

    /// A metadata entry.
    fn meta(&self, key: &str) -> Option<&String> {
        self.header.metadata().as_ref()?.get(key)
    }

    /// The tensor `name`'s dtype, shape and bytes, if the header lists it.
    fn view(&self, name: &str) -> Result<(Dtype, &[usize], &'a [u8])> {
        let missing = || self.error(format!("tensor {name:?} is missing"));
        let info = self.header.info(name).ok_or_else(missing)?;
        let (start, end) = info.data_offsets;
        // `read_metadata` checked that the offsets tile the data exactly.
        let bytes = self.data.get(start..end).ok_or_else(missing)?;
        Ok((info.dtype, &info.shape, bytes))
    }

    fn error(&self, problem: String) -> TrainError {
        model_error(&self.name, problem)
    }

    /// Fails unless the header lists a tensor `name` of `T`'s dtype and of `shape` (reads
    /// no data).
    fn check_tensor<T: Scalar>(&self, name: &str, shape: &[usize]) -> Result<&'a [u8]> {
        let (dtype, found, bytes) = self.view(name)?;
        if dtype != dtype_of::<T>() {
            return Err(self.error(format!(
                "tensor {name:?} has dtype {dtype:?}, expected {:?} (the network's scalar type)",
                dtype_of::<T>()
            )));
        }
        if found != shape {
            return Err(self.error(format!(
                "tensor {name:?} has shape {found:?}, expected {shape:?}"
            )));
        }
        Ok(bytes)
    }

    /// The tensor `name`, checked to be of `T`'s dtype and of `shape`, as a `rows × cols`
    /// matrix.
    fn matrix<T: Scalar>(
        &mut self,
        name: &str,
        shape: &[usize],
        (rows, cols): (usize, usize),
    ) -> Result<DMatrix<T>> {
        let data = self.check_tensor::<T>(name, shape)?;
        let values: Vec<T> = match T::DTYPE {
            DType::F32 => data
                .chunks_exact(4)
                .map(|b| T::cast(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))))
                .collect(),
            DType::F64 => data
                .chunks_exact(8)
                .map(|b| {
                    T::cast(f64::from_le_bytes([
                        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                    ]))
                })
                .collect(),
        };
        if Some(values.len()) != rows.checked_mul(cols) {
            return Err(self.error(format!(
                "tensor {name:?} holds {} values, expected {}",
                values.len(),
                rows * cols
            )));
        }
        if let Some(i) = values.iter().position(|v| !v.finite()) {
            return Err(self.error(format!(
                "tensor {name:?} has a non-finite value {} at flat index {i}",
                values[i]
            )));
        }
        self.used.insert(name.to_string());
        Ok(DMatrix::from_row_iterator(rows, cols, values))
    }

    /// Fails if a tensor was not used (ignoring those whose name starts with `skip`).
    fn check_all_used(&self, skip: Option<&str>) -> Result<()> {
        let extra: Vec<String> = self
            .header
            .offset_keys()
            .into_iter()
            .filter(|n| !self.used.contains(n) && !skip.is_some_and(|p| n.starts_with(p)))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if extra.is_empty() {
            Ok(())
        } else {
            Err(self.error(format!(
                "unexpected tensors {extra:?}: the architecture has no parameters by these names"
            )))
        }
    }
}

fn model_error(file: &str, problem: String) -> TrainError {
    FormatError::ModelFile {
        file: file.to_string(),
        problem,
    }
    .into()
}

/// The JSON text of a stored form (the architecture, the trainer state, the encoder), as
/// format version 1 writes it: through a `serde_json::Value`, whose map orders keys, so
/// that every object's keys come out sorted whatever the order of the form's fields, and
/// numbers in shortest round-trip form.
///
/// # Errors
/// [`TrainError::Internal`] if the form does not serialise (only a map with non-string
/// keys would not; none of the forms here has one).
fn json_text<F: serde::Serialize>(form: &F) -> Result<String> {
    serde_json::to_value(form)
        .map(|v| v.to_string())
        .map_err(|e| TrainError::internal(format!("serialising a model file's JSON: {e}")))
}

/// Serialises tensors and metadata into safetensors bytes, with the header's keys sorted
/// so that the same model always gives the same bytes (the metadata map's own order is
/// random).
///
/// # Errors
/// [`TrainError::Internal`] if safetensors refuses the tensors or writes a header that
/// does not read back: each tensor's bytes are made for its shape and dtype, so neither
/// happens.
fn serialize(
    tensors: &[(String, OwnedTensor)],
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let fail =
        |message: String| TrainError::internal(format!("serialising a model file: {message}"));
    let bytes =
        safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(metadata))
            .map_err(|e| fail(e.to_string()))?;
    let n = bytes
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .and_then(|b| usize::try_from(u64::from_le_bytes(b)).ok())
        .ok_or_else(|| fail("no header length".into()))?;
    let header: Value = bytes
        .get(8..8 + n)
        .and_then(|h| serde_json::from_slice(h).ok())
        .ok_or_else(|| fail("unreadable header".into()))?;
    // serde_json's map is ordered by key: re-serialising sorts the header.
    let mut text = header.to_string().into_bytes();
    text.resize(text.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

/// Reads a whole model or checkpoint file, naming it in errors; a file longer than any
/// file within `limits` can be (the header, then the parameters and up to three optimizer
/// slots per parameter in `f64`) is refused before it is read.
fn read_file(path: &Path, limits: &Limits) -> Result<Vec<u8>> {
    let io = |e| TrainError::io(format!("reading {}", path.display()), e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let most = (limits.max_parameters as u64)
        .saturating_mul(4 * 8)
        .saturating_add(limits.max_header_bytes as u64 + 8);
    if len > most {
        return Err(model_error(
            &path.display().to_string(),
            format!(
                "the file is {len} bytes, more than a model within the limits can be \
                 ({most} bytes: Limits::max_header_bytes and Limits::max_parameters)"
            ),
        ));
    }
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(usize::try_from(len).unwrap_or(usize::MAX))
        .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::OutOfMemory, e)))?;
    std::io::Read::read_to_end(&mut file, &mut bytes).map_err(io)?;
    Ok(bytes)
}
