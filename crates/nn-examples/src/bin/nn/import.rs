//! `nn import`: a PyTorch state_dict and nn's architecture into a model file, in the
//! state_dict's precision, with the names given on the command line.

use nn_train::Scalar;
use nn_train::nn_core::DType;
use nn_train::persist::torch::{
    TorchArchitecture, TorchImport, from_torch_bytes, read_state_dict, stored_architecture,
    torch_dtype,
};
use nn_train::persist::{ModelNames, ModelWriter};

use crate::CliResult;
use crate::args::ImportArgs;

/// Reads the state_dict and the architecture, builds the network and saves the model.
pub fn import(args: &ImportArgs) -> CliResult<()> {
    let options = TorchImport {
        prefix: args.prefix.clone(),
        ..TorchImport::default()
    };
    let bytes = read_state_dict(&args.torch, &options.limits).map_err(|e| e.to_string())?;
    let name = args.torch.display().to_string();
    let arch = match &args.arch {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            TorchArchitecture::from_json_str(&text, &path.display().to_string())
                .map_err(|e| e.to_string())?
        }
        None => stored_architecture(&bytes, &name)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "{name} does not say its architecture (nn.architecture): give it with \
                     --arch, as nn's layer list in JSON (see nn import --help)"
                )
            })?,
    };
    match torch_dtype(&bytes, &name).map_err(|e| e.to_string())? {
        DType::F32 => save::<f32>(args, &bytes, &name, &arch, &options),
        DType::F64 => save::<f64>(args, &bytes, &name, &arch, &options),
    }
}

fn save<T: Scalar>(
    args: &ImportArgs,
    bytes: &[u8],
    name: &str,
    arch: &TorchArchitecture,
    options: &TorchImport,
) -> CliResult<()> {
    let net = from_torch_bytes::<T>(bytes, name, arch, options).map_err(|e| e.to_string())?;
    let names = ModelNames {
        classes: args.classes.clone(),
        features: args.features.clone(),
        label: args.label.clone(),
    };
    ModelWriter::new(&net)
        .names(names)
        .save(&args.out)
        .map_err(|e| e.to_string())?;
    println!(
        "wrote {}: {} layers, {} parameters, {}, no preprocessing",
        args.out.display(),
        net.layers().len(),
        net.named_params()
            .iter()
            .map(|(_, p)| p.len())
            .sum::<usize>(),
        T::DTYPE
    );
    Ok(())
}
