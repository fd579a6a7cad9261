//! MNIST's IDX files (raw or gzip-compressed): parsed with every magic number, dimension and
//! length validated, so that a truncated or mismatched file is an error naming the byte.
//!
//! ```text
//! offset  size  content
//! 0       2     0x00 0x00
//! 2       1     element type: 0x08 = unsigned byte (the only one MNIST uses)
//! 3       1     number of dimensions d (images: 3, labels: 1)
//! 4       4·d   each dimension, a big-endian u32 (images: count, rows, columns)
//! 4+4d    ∏ dims  the elements, row-major
//! ```
//!
//! [`load_mnist`] pairs an image file with a label file: pixels scaled to `[0, 1]`, one
//! image of `rows·columns` pixels per column of `X` (row-major within the image), one-hot
//! labels of 10 classes.

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;
use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::Scalar;

use super::Dataset;
use crate::{Result, TrainError};

/// An IDX array of unsigned bytes: its dimensions and its elements, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimensions, outermost first (images: count, rows, columns).
    pub dims: Vec<usize>,
    /// The elements, `∏ dims` of them.
    pub data: Vec<u8>,
}

fn idx_error(file: &str, offset: u64, problem: String) -> TrainError {
    TrainError::Idx {
        file: file.to_string(),
        offset,
        problem,
    }
}

/// The bytes of a file, decompressed if they start with gzip's magic `1f 8b`.
fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| TrainError::Io {
        context: format!("reading IDX file {}", path.display()),
        message: e.to_string(),
    })?;
    decompress(raw, &path.display().to_string())
}

fn decompress(raw: Vec<u8>, name: &str) -> Result<Vec<u8>> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| {
            idx_error(
                name,
                out.len() as u64,
                format!("corrupt or truncated gzip data: {e}"),
            )
        })?;
    Ok(out)
}

/// Parses an IDX array of unsigned bytes from the bytes of a file (raw or gzip), checking
/// the magic number, the dimensions and that the data is exactly `∏ dims` bytes long;
/// `name` names the source in errors.
///
/// # Errors
/// [`TrainError::Idx`] with the byte offset of the first problem: a header cut short, a
/// magic number that is not `00 00 08 d`, an element type other than unsigned byte, a
/// size that overflows, data shorter or longer than the dimensions say.
pub fn parse_idx(bytes: &[u8], name: &str) -> Result<IdxArray> {
    let owned;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        owned = decompress(bytes.to_vec(), name)?;
        owned.as_slice()
    } else {
        bytes
    };
    let Some(magic) = bytes.get(..4) else {
        return Err(idx_error(
            name,
            bytes.len() as u64,
            format!(
                "file ends after {} bytes: expected a 4-byte magic number",
                bytes.len()
            ),
        ));
    };
    if magic[0] != 0 || magic[1] != 0 {
        return Err(idx_error(
            name,
            0,
            format!(
                "expected an IDX magic number starting 00 00, found {:02x} {:02x} (not an IDX file)",
                magic[0], magic[1]
            ),
        ));
    }
    if magic[2] != 0x08 {
        return Err(idx_error(
            name,
            2,
            format!(
                "expected element type 0x08 (unsigned byte), found 0x{:02x}",
                magic[2]
            ),
        ));
    }
    let d = usize::from(magic[3]);
    if d == 0 {
        return Err(idx_error(
            name,
            3,
            "expected at least one dimension, found 0".into(),
        ));
    }
    let header = 4 + 4 * d;
    let mut dims = Vec::with_capacity(d);
    for k in 0..d {
        let at = 4 + 4 * k;
        let Some(b) = bytes.get(at..at + 4) else {
            return Err(idx_error(
                name,
                bytes.len() as u64,
                format!(
                    "file ends inside the header: expected {d} dimensions ({header} header bytes), found {} bytes",
                    bytes.len()
                ),
            ));
        };
        dims.push(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    }
    let len = dims
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .ok_or_else(|| idx_error(name, 4, format!("dimensions {dims:?} overflow")))?;
    let found = bytes.len() - header;
    if found != len {
        let what = if found < len {
            "truncated"
        } else {
            "trailing bytes"
        };
        return Err(idx_error(
            name,
            (header + found.min(len)) as u64,
            format!(
                "{what}: dimensions {dims:?} need {len} data bytes after the {header}-byte header, found {found}"
            ),
        ));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Reads an IDX file of unsigned bytes (raw or `.gz`). See [`parse_idx`].
///
/// # Errors
/// [`TrainError::Io`] if the file cannot be read; [`TrainError::Idx`] as [`parse_idx`].
pub fn load_idx(path: &Path) -> Result<IdxArray> {
    let bytes = read_bytes(path)?;
    parse_idx(&bytes, &path.display().to_string())
}

/// MNIST (or Fashion-MNIST, or any IDX pair of the same layout) from parsed arrays: images
/// `(count, rows, columns)`, labels `(count)` below `classes`.
///
/// # Errors
/// [`TrainError::Idx`] if the images are not 3-dimensional, the labels not 1-dimensional,
/// the counts differ, or there are no images; [`TrainError::LabelOutOfRange`] naming the
/// first label `≥ classes`.
pub fn mnist_from_idx<T: Scalar>(
    images: &IdxArray,
    labels: &IdxArray,
    classes: usize,
    names: (&str, &str),
) -> Result<Dataset<T>> {
    let &[count, rows, cols] = images.dims.as_slice() else {
        return Err(idx_error(
            names.0,
            3,
            format!(
                "expected 3 dimensions (count, rows, columns) for images, found {}",
                images.dims.len()
            ),
        ));
    };
    let &[n_labels] = labels.dims.as_slice() else {
        return Err(idx_error(
            names.1,
            3,
            format!(
                "expected 1 dimension (count) for labels, found {}",
                labels.dims.len()
            ),
        ));
    };
    if n_labels != count {
        return Err(idx_error(
            names.1,
            4,
            format!(
                "expected {count} labels (one per image in {}), found {n_labels}",
                names.0
            ),
        ));
    }
    if count == 0 || rows * cols == 0 {
        return Err(TrainError::EmptyData { what: "IDX images" });
    }
    let scale = 1.0 / 255.0;
    let x = DMatrix::from_iterator(
        rows * cols,
        count,
        images.data.iter().map(|&p| T::cast(f64::from(p) * scale)),
    );
    let index: Vec<usize> = labels.data.iter().map(|&l| usize::from(l)).collect();
    let y = super::one_hot(&index, classes)?;
    Dataset::new(x, y)?.with_class_names((0..classes).map(|k| k.to_string()).collect())
}

/// Loads MNIST from its image and label files (e.g. `train-images-idx3-ubyte.gz` and
/// `train-labels-idx1-ubyte.gz`, raw or gzip): `X` is `(rows·columns, count)` with pixels
/// scaled to `[0, 1]`, `Y` one-hot with 10 rows.
///
/// # Errors
/// [`TrainError::Io`] if a file cannot be read; [`TrainError::Idx`] for a malformed file
/// or mismatched counts; [`TrainError::LabelOutOfRange`] for a label above 9.
pub fn load_mnist<T: Scalar>(images: &Path, labels: &Path) -> Result<Dataset<T>> {
    let img = load_idx(images)?;
    let lab = load_idx(labels)?;
    mnist_from_idx(
        &img,
        &lab,
        10,
        (&images.display().to_string(), &labels.display().to_string()),
    )
}
