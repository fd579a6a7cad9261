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

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

#[cfg(feature = "gzip")]
use flate2::read::MultiGzDecoder;
use nalgebra::DMatrix;
use nn_init::nn_activations::nn_core::Scalar;

use super::Dataset;
use crate::error::{DataError, Result, TrainError};

/// An IDX array of unsigned bytes: its dimensions and its elements, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimensions, outermost first (images: count, rows, columns).
    pub dims: Vec<usize>,
    /// The elements, `∏ dims` of them.
    pub data: Vec<u8>,
}

fn idx_error(file: &str, offset: u64, problem: String) -> TrainError {
    DataError::Idx {
        file: file.to_string(),
        offset,
        problem,
    }
    .into()
}

/// Reads into `buf` until it is full or the stream ends; the number of bytes read.
fn read_up_to(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Parses an IDX array from a stream (already decompressed), reading the header first and
/// then exactly the bytes it declares: nothing beyond the declared size is read into
/// memory, and a size above `max_values` is refused before anything is allocated.
fn parse_stream(reader: &mut dyn Read, name: &str, max_values: usize) -> Result<IdxArray> {
    let gzip = |at: usize, e: std::io::Error| {
        idx_error(
            name,
            at as u64,
            format!("corrupt or truncated data (gzip or I/O): {e}"),
        )
    };
    let mut magic = [0u8; 4];
    let got = read_up_to(reader, &mut magic).map_err(|e| gzip(0, e))?;
    if got < 4 {
        return Err(idx_error(
            name,
            got as u64,
            format!("file ends after {got} bytes: expected a 4-byte magic number"),
        ));
    }
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
    let mut raw_dims = vec![0u8; 4 * d];
    let got = read_up_to(reader, &mut raw_dims).map_err(|e| gzip(4, e))?;
    if got < raw_dims.len() {
        return Err(idx_error(
            name,
            (4 + got) as u64,
            format!(
                "file ends inside the header: expected {d} dimensions ({header} header bytes), found {} bytes",
                4 + got
            ),
        ));
    }
    let dims: Vec<usize> = raw_dims
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let len = dims
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .ok_or_else(|| idx_error(name, 4, format!("dimensions {dims:?} overflow")))?;
    if len > max_values {
        return Err(idx_error(
            name,
            4,
            format!(
                "dimensions {dims:?} declare {len} values, more than the limit of {max_values} \
                 (Limits::max_data_values)"
            ),
        ));
    }
    let mut data = Vec::new();
    data.try_reserve_exact(len).map_err(|e| {
        idx_error(
            name,
            4,
            format!("dimensions {dims:?} need {len} bytes, which cannot be allocated: {e}"),
        )
    })?;
    reader
        .take(len as u64)
        .read_to_end(&mut data)
        .map_err(|e| gzip(header + data.len(), e))?;
    let found = data.len();
    if found < len {
        return Err(idx_error(
            name,
            (header + found) as u64,
            format!(
                "truncated: dimensions {dims:?} need {len} data bytes after the {header}-byte header, found {found}"
            ),
        ));
    }
    let mut next = [0u8; 1];
    if read_up_to(reader, &mut next).map_err(|e| gzip(header + len, e))? > 0 {
        return Err(idx_error(
            name,
            (header + len) as u64,
            format!(
                "trailing bytes: dimensions {dims:?} need {len} data bytes after the {header}-byte header, but the file goes on"
            ),
        ));
    }
    Ok(IdxArray { dims, data })
}

/// Parses an IDX array of unsigned bytes from the bytes of a file (raw or gzip), checking
/// the magic number, the dimensions and that the data is exactly `∏ dims` bytes long;
/// `name` names the source in errors. Compressed data is inflated only up to the size the
/// header declares (at most [`crate::limits::DEFAULT_MAX_DATA_VALUES`]), so a small file
/// cannot expand into a huge allocation.
///
/// # Errors
/// [`DataError::Idx`] with the byte offset (in the decompressed stream) of the first
/// problem: a header cut short, a magic number that is not `00 00 08 d`, an element type
/// other than unsigned byte, a size that overflows or exceeds the limit, data shorter or
/// longer than the dimensions say, corrupt gzip data.
pub fn parse_idx(bytes: &[u8], name: &str) -> Result<IdxArray> {
    let max = crate::limits::DEFAULT_MAX_DATA_VALUES;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        parse_gzip(bytes, name, max)
    } else {
        parse_stream(&mut { bytes }, name, max)
    }
}

/// Parses gzip-compressed IDX data, inflating it as it is read.
#[cfg(feature = "gzip")]
fn parse_gzip<R: Read>(compressed: R, name: &str, max: usize) -> Result<IdxArray> {
    parse_stream(&mut MultiGzDecoder::new(compressed), name, max)
}

/// Without the `gzip` feature compressed data is refused.
#[cfg(not(feature = "gzip"))]
fn parse_gzip<R: Read>(_compressed: R, name: &str, _max: usize) -> Result<IdxArray> {
    Err(idx_error(
        name,
        0,
        "gzip-compressed data, but nn-train was built without its `gzip` feature".into(),
    ))
}

/// Reads an IDX file of unsigned bytes (raw or `.gz`), streaming: the file is read (and
/// inflated) once, straight into the returned array. See [`parse_idx`].
///
/// # Errors
/// [`TrainError::Io`] if the file cannot be read; [`DataError::Idx`] as [`parse_idx`].
pub fn load_idx(path: &Path) -> Result<IdxArray> {
    let io = |e| TrainError::io(format!("reading IDX file {}", path.display()), e);
    let name = path.display().to_string();
    let mut file = BufReader::new(std::fs::File::open(path).map_err(io)?);
    let gz = file.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    let max = crate::limits::DEFAULT_MAX_DATA_VALUES;
    if gz {
        parse_gzip(file, &name, max)
    } else {
        parse_stream(&mut file, &name, max)
    }
}

/// MNIST (or Fashion-MNIST, or any IDX pair of the same layout) from parsed arrays: images
/// `(count, rows, columns)`, labels `(count)` below `classes`.
///
/// # Errors
/// [`DataError::Idx`] if the images are not 3-dimensional, the labels not 1-dimensional,
/// the counts differ, or there are no images; [`DataError::LabelOutOfRange`] naming the
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
/// [`TrainError::Io`] if a file cannot be read; [`DataError::Idx`] for a malformed file
/// or mismatched counts; [`DataError::LabelOutOfRange`] for a label above 9.
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
