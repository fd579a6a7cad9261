//! The models the PyTorch interop is checked on, for `cargo xtask interop --with-torch`
//! (`bench/interop/check_torch.py`).
//!
//! ```text
//! cargo run --release -p nn-train --example torch_models -- export <folder>
//! cargo run --release -p nn-train --example torch_models -- import <folder>
//! ```
//!
//! `export` writes, for every model of the ONNX check's zoo that PyTorch has modules for
//! (a dense network per activation, the CNN with every layer kind; `f32` and `f64`),
//! `<name>.state_dict.safetensors` ([`to_torch_bytes`]: the tensors, the `Sequential`'s
//! source, the architecture) and `<name>.io.safetensors` with input rows (`input`) and
//! nn's outputs for them (`output`). The step activation, which has no module, must be
//! refused.
//!
//! `import` reads every `<name>.state_dict.safetensors` of the folder (written by
//! PyTorch) with the architecture `<name>.arch.json` ([`from_torch_bytes`]), predicts
//! the rows `input` of `<name>.io.safetensors`, and writes nn's outputs as
//! `<name>.nn.safetensors` (`output`) and the network exported back as
//! `<name>.back.safetensors`.

// The torch-mappable part of the ONNX check's zoo: its encoder and pipeline cases are
// not used here.
#[allow(dead_code)]
#[path = "onnx_models/zoo.rs"]
mod zoo;

use std::collections::HashMap;
use std::error::Error;
use std::path::{Path, PathBuf};

use nn_train::nn_core::DType;
use nn_train::persist::torch::{
    TorchArchitecture, TorchImport, from_torch_bytes, to_torch_bytes, torch_dtype,
};
use nn_train::{Activation, DMatrix, Network, Scalar};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Values as little-endian bytes of `T`.
fn bytes<T: Scalar>(values: impl Iterator<Item = f64>) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        match T::DTYPE {
            DType::F32 => out.extend_from_slice(&(v as f32).to_le_bytes()),
            DType::F64 => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
    out
}

fn dtype<T: Scalar>() -> Dtype {
    match T::DTYPE {
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
    }
}

/// Writes tensors `(name, shape, bytes)` of `T`'s dtype to `path`.
fn write_tensors<T: Scalar>(path: &Path, tensors: &[(&str, Vec<usize>, Vec<u8>)]) -> Result<()> {
    let views = tensors
        .iter()
        .map(|(n, s, b)| Ok((n.to_string(), TensorView::new(dtype::<T>(), s.clone(), b)?)))
        .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()?;
    safetensors::serialize_to_file(views, None::<HashMap<String, String>>, path)?;
    Ok(())
}

/// The outputs `(k, m)` as rows `[m, k]`.
fn rows<T: Scalar>(a: &DMatrix<T>) -> (Vec<usize>, Vec<u8>) {
    let values =
        (0..a.ncols()).flat_map(|j| a.column(j).iter().map(|v| v.to_f64()).collect::<Vec<_>>());
    (vec![a.ncols(), a.nrows()], bytes::<T>(values))
}

fn export<T: Scalar>(dir: &Path) -> Result<usize> {
    let mut cases = zoo::activation_cases::<T>();
    cases.push(zoo::cnn_case::<T>());
    let mut written = 0;
    for case in cases {
        let net = &case.model.network;
        let refused = net.layers().iter().any(|l| {
            matches!(
                l.record(),
                Some(nn_train::LayerRecord::Builtin(nn_train::LayerSpec::Dense(c)))
                    if c.activation == Activation::Step
            )
        });
        match (to_torch_bytes(net), refused) {
            (Err(e), true) => println!("{}: refused as it should be ({e})", case.name),
            (Ok(_), true) => {
                return Err(format!("{}: exported a step activation", case.name).into());
            }
            (Err(e), false) => return Err(format!("{}: {e}", case.name).into()),
            (Ok(state_dict), false) => {
                std::fs::write(
                    dir.join(format!("{}.state_dict.safetensors", case.name)),
                    state_dict,
                )?;
                let (shape, values) = case.input;
                let m = shape[0];
                let n = values.len() / m;
                let x = DMatrix::<T>::from_fn(n, m, |i, j| T::cast(values[j * n + i]));
                let (out_shape, out) = rows(&net.predict(&x)?);
                write_tensors::<T>(
                    &dir.join(format!("{}.io.safetensors", case.name)),
                    &[
                        ("input", shape, bytes::<T>(values.into_iter())),
                        ("output", out_shape, out),
                    ],
                )?;
                written += 1;
            }
        }
    }
    Ok(written)
}

/// Reads, predicts and exports back the PyTorch model `name` of `T`'s dtype.
fn import_one<T: Scalar>(dir: &Path, name: &str, state_dict: &[u8]) -> Result<()> {
    let text = std::fs::read_to_string(dir.join(format!("{name}.arch.json")))?;
    let arch = TorchArchitecture::from_json_str(&text, name)?;
    let net: Network<T> = from_torch_bytes(state_dict, name, &arch, &TorchImport::default())?;
    let io = std::fs::read(dir.join(format!("{name}.io.safetensors")))?;
    let io = SafeTensors::deserialize(&io)?;
    let input = io.tensor("input")?;
    let m = input.shape()[0];
    let width = T::DTYPE.size_in_bytes();
    let values: Vec<f64> = input
        .data()
        .chunks_exact(width)
        .map(|b| match T::DTYPE {
            DType::F32 => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            DType::F64 => f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        })
        .collect();
    let n = values.len() / m;
    let x = DMatrix::<T>::from_fn(n, m, |i, j| T::cast(values[j * n + i]));
    let (shape, out) = rows(&net.predict(&x)?);
    write_tensors::<T>(
        &dir.join(format!("{name}.nn.safetensors")),
        &[("output", shape, out)],
    )?;
    std::fs::write(
        dir.join(format!("{name}.back.safetensors")),
        to_torch_bytes(&net)?,
    )?;
    Ok(())
}

fn import(dir: &Path) -> Result<usize> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".state_dict.safetensors").map(String::from))
        .collect();
    names.sort();
    for name in &names {
        let state_dict = std::fs::read(dir.join(format!("{name}.state_dict.safetensors")))?;
        match torch_dtype(&state_dict, name)? {
            DType::F32 => import_one::<f32>(dir, name, &state_dict)?,
            DType::F64 => import_one::<f64>(dir, name, &state_dict)?,
        }
    }
    Ok(names.len())
}

fn main() -> Result<()> {
    let usage = "usage: torch_models export|import <folder>";
    let mut args = std::env::args().skip(1);
    let (mode, dir) = match (args.next(), args.next()) {
        (Some(mode), Some(dir)) => (mode, PathBuf::from(dir)),
        _ => return Err(usage.into()),
    };
    std::fs::create_dir_all(&dir)?;
    match mode.as_str() {
        "export" => {
            let n = export::<f32>(&dir)? + export::<f64>(&dir)?;
            println!("wrote {n} state_dicts to {}", dir.display());
        }
        "import" => println!(
            "imported {} state_dicts from {}",
            import(&dir)?,
            dir.display()
        ),
        _ => return Err(usage.into()),
    }
    Ok(())
}
