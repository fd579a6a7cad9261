//! Writes the models the ONNX export is checked on, for `cargo xtask interop`: for each,
//! `<name>.onnx`, the model file `<name>.model.safetensors` (which the Python reader
//! `docs/python/nn_model.py` is checked on) and `<name>.io.safetensors` with the input
//! rows (`input`) and nn's outputs for them (`probabilities` or `prediction`, and
//! `logits`), in the model's scalar type.
//!
//! ```text
//! cargo run --release -p nn-train --example onnx_models -- <output folder>
//! ```

mod zoo;

use std::collections::HashMap;
use std::error::Error;
use std::path::{Path, PathBuf};

use nn_train::Scalar;
use nn_train::nn_core::DType;
use nn_train::persist::onnx::save_onnx;
use nn_train::persist::{ModelNames, ModelWriter};
use safetensors::{Dtype, tensor::TensorView};

/// A tensor's little-endian bytes in `T`'s type.
fn bytes<T: Scalar>(values: &[f64]) -> Vec<u8> {
    let mut out = Vec::new();
    for &v in values {
        match T::DTYPE {
            DType::F32 => out.extend_from_slice(&(v as f32).to_le_bytes()),
            DType::F64 => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
    out
}

fn write<T: Scalar>(dir: &Path) -> Result<Vec<String>, Box<dyn Error>> {
    let dtype = match T::DTYPE {
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
    };
    let mut names = Vec::new();
    for case in zoo::all::<T>() {
        save_onnx(&dir.join(format!("{}.onnx", case.name)), &case.model)?;
        let m = &case.model;
        let mut writer = ModelWriter::new(&m.network)
            .encoder(m.encoder.as_ref())
            .names(ModelNames {
                classes: m.classes.clone(),
                features: m.features.clone(),
                label: m.label.clone(),
            });
        if let Some(p) = &m.pipeline {
            writer = writer.pipeline(p);
        }
        writer.save(&dir.join(format!("{}.model.safetensors", case.name)))?;
        let mut tensors = vec![("input".to_string(), case.input.0, bytes::<T>(&case.input.1))];
        for (name, shape, values) in case.outputs {
            tensors.push((name, shape, bytes::<T>(&values)));
        }
        let views: Vec<(String, TensorView<'_>)> = tensors
            .iter()
            .map(|(n, s, b)| Ok((n.clone(), TensorView::new(dtype, s.clone(), b)?)))
            .collect::<Result<_, safetensors::SafeTensorError>>()?;
        let path = dir.join(format!("{}.io.safetensors", case.name));
        safetensors::serialize_to_file(views, None::<HashMap<String, String>>, &path)?;
        names.push(case.name);
    }
    Ok(names)
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: onnx_models <output folder>")?;
    std::fs::create_dir_all(&dir)?;
    let mut names = write::<f32>(&dir)?;
    names.extend(write::<f64>(&dir)?);
    println!("wrote {} models to {}", names.len(), dir.display());
    Ok(())
}
