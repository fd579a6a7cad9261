//! PyTorch in and out, without Python: the fixtures under `tests/torch/` were written by
//! `tests/torch/make_fixtures.py` (PyTorch `Sequential` models saved with
//! `safetensors.torch.save_file(model.state_dict())`, their architecture as nn's layer
//! list, seeded inputs and PyTorch's outputs). Each is read into a `Network`, which must
//! predict what PyTorch did, and written back as a `state_dict`, which must hold the
//! same tensors; then every way a `state_dict` can be wrong is refused with an error that
//! names the tensor.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::PathBuf;

use nn_train::persist::torch::{
    self, SEQUENTIAL_KEY, TorchArchitecture, TorchImport, from_torch_bytes, stored_architecture,
    to_torch_bytes, torch_dtype,
};
use nn_train::{
    Activation, DMatrix, FormatError, LayerSpec, Limits, Loss, Network, Scalar, TrainError,
    nn_core::DType,
};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/torch")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

fn arch(name: &str) -> TorchArchitecture {
    let text = std::fs::read_to_string(fixture(&format!("{name}.arch.json"))).unwrap();
    TorchArchitecture::from_json_str(&text, name).unwrap()
}

/// A tensor's values as `f64`.
fn values(view: &TensorView<'_>) -> Vec<f64> {
    match view.dtype() {
        Dtype::F32 => view
            .data()
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap())))
            .collect(),
        Dtype::F64 => view
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        other => panic!("unexpected dtype {other:?}"),
    }
}

/// The fixture's inputs as columns and PyTorch's outputs as columns.
fn io<T: Scalar>(name: &str) -> (DMatrix<T>, DMatrix<f64>) {
    let bytes = read(&format!("{name}.io.safetensors"));
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let x = st.tensor("input").unwrap();
    let y = st.tensor("output").unwrap();
    let m = x.shape()[0];
    let n: usize = x.shape()[1..].iter().product();
    let k = y.shape()[1];
    let xv = values(&x);
    let yv = values(&y);
    (
        DMatrix::from_fn(n, m, |i, j| T::cast(xv[j * n + i])),
        DMatrix::from_fn(k, m, |i, j| yv[j * k + i]),
    )
}

/// max |nn − torch| / max(|torch|, 1) over the entries.
fn worst<T: Scalar>(nn: &DMatrix<T>, torch: &DMatrix<f64>) -> f64 {
    assert_eq!(nn.shape(), torch.shape());
    nn.iter()
        .zip(torch.iter())
        .map(|(a, b)| (a.to_f64() - b).abs() / b.abs().max(1.0))
        .fold(0.0, f64::max)
}

fn import<T: Scalar>(name: &str) -> Network<T> {
    let bytes = read(&format!("{name}.state_dict.safetensors"));
    from_torch_bytes::<T>(&bytes, name, &arch(name), &TorchImport::default()).unwrap()
}

fn predicts_as_torch<T: Scalar>(name: &str, limit: f64) {
    let net = import::<T>(name);
    let (x, expected) = io::<T>(name);
    let found = net.predict(&x).unwrap();
    let d = worst(&found, &expected);
    assert!(d <= limit, "{name}: worst difference {d:e} > {limit:e}");
    // The outputs are not trivially equal: they vary across examples and classes.
    let spread = expected.max() - expected.min();
    assert!(spread > 1e-3, "{name}: outputs barely vary ({spread})");
}

#[test]
fn a_pytorch_mlp_predicts_the_same_in_nn_f32() {
    predicts_as_torch::<f32>("mlp_f32", 1e-5);
}

#[test]
fn a_pytorch_mlp_predicts_the_same_in_nn_f64() {
    predicts_as_torch::<f64>("mlp_f64", 1e-12);
}

#[test]
fn a_pytorch_cnn_predicts_the_same_in_nn_f32() {
    predicts_as_torch::<f32>("cnn_f32", 1e-5);
}

#[test]
fn a_pytorch_cnn_predicts_the_same_in_nn_f64() {
    predicts_as_torch::<f64>("cnn_f64", 1e-12);
}

/// Every tensor of a safetensors file: name → (dtype, shape, bytes).
type Tensors = HashMap<String, (Dtype, Vec<usize>, Vec<u8>)>;

fn tensors(bytes: &[u8]) -> Tensors {
    let st = SafeTensors::deserialize(bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(n, v)| (n, (v.dtype(), v.shape().to_vec(), v.data().to_vec())))
        .collect()
}

fn metadata(bytes: &[u8]) -> HashMap<String, String> {
    let (_, meta) = SafeTensors::read_metadata(bytes).unwrap();
    meta.metadata().clone().unwrap_or_default()
}

fn serialize(tensors: &Tensors, meta: Option<HashMap<String, String>>) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, (d, s, b))| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, meta).unwrap()
}

fn round_trips<T: Scalar>(name: &str) {
    let original = read(&format!("{name}.state_dict.safetensors"));
    let net = import::<T>(name);
    let exported = to_torch_bytes(&net).unwrap();
    // The same tensors, bit for bit, under the same names.
    assert_eq!(tensors(&exported), tensors(&original), "{name}");
    let meta = metadata(&exported);
    assert_eq!(meta.get("format").map(String::as_str), Some("pt"));
    assert_eq!(
        meta.get(SEQUENTIAL_KEY),
        Some(&torch::torch_sequential(&net).unwrap())
    );
    // The file carries its architecture: it reads back without being told, to the same
    // network and the same bytes.
    let stored = stored_architecture(&exported, name).unwrap().unwrap();
    assert_eq!(stored.layers, arch(name).layers);
    assert_eq!(stored.dtype, Some(T::DTYPE));
    let back = from_torch_bytes::<T>(&exported, name, &stored, &TorchImport::default()).unwrap();
    assert_eq!(back.named_params(), net.named_params());
    assert_eq!(to_torch_bytes(&back).unwrap(), exported);
    assert_eq!(torch_dtype(&exported, name).unwrap(), T::DTYPE);
    assert_eq!(torch_dtype(&original, name).unwrap(), T::DTYPE);
}

#[test]
fn the_export_of_an_imported_mlp_has_the_same_tensors() {
    round_trips::<f32>("mlp_f32");
    round_trips::<f64>("mlp_f64");
}

#[test]
fn the_export_of_an_imported_cnn_has_the_same_tensors() {
    round_trips::<f32>("cnn_f32");
    round_trips::<f64>("cnn_f64");
}

#[test]
fn the_sequential_source_lists_every_module_with_its_index() {
    let cnn = torch::torch_sequential(&import::<f64>("cnn_f64")).unwrap();
    let expected = "torch.nn.Sequential(
    torch.nn.Conv2d(2, 3, kernel_size=(3, 2), stride=(1, 2), padding=(1, 0)),  # 0
    torch.nn.ReLU(),  # 1
    torch.nn.MaxPool2d(kernel_size=(2, 1), stride=(1, 1)),  # 2
    torch.nn.Conv2d(3, 4, kernel_size=(2, 2), stride=(2, 1), padding=(0, 1)),  # 3
    torch.nn.Tanh(),  # 4
    torch.nn.AvgPool2d(kernel_size=(2, 2), stride=(2, 2)),  # 5
    torch.nn.Flatten(),  # 6
    torch.nn.Dropout(p=0.25),  # 7
    torch.nn.Linear(8, 3),  # 8
    torch.nn.Softmax(dim=1),  # 9
).double()";
    assert_eq!(cnn, expected);
    let mlp = torch::torch_sequential(&import::<f32>("mlp_f32")).unwrap();
    for module in [
        "torch.nn.LeakyReLU(negative_slope=0.1),  # 3",
        "torch.nn.ELU(alpha=0.7),  # 5",
        "torch.nn.GELU(),  # 7",
        "torch.nn.SiLU(),  # 9",
        "torch.nn.Softplus(beta=1.0, threshold=40.0),  # 11",
        "torch.nn.Dropout(p=0.2),  # 12",
        "torch.nn.GELU(approximate='tanh'),  # 14",
        "torch.nn.SELU(),  # 16",
        "torch.nn.Sigmoid(),  # 20",
        "torch.nn.Linear(4, 3),  # 21",
    ] {
        assert!(mlp.contains(module), "{module} not in\n{mlp}");
    }
    assert!(mlp.ends_with(')'), "an f32 network needs no .double()");
}

#[test]
fn an_architecture_without_loss_infers_it_from_the_output() {
    assert_eq!(
        import::<f32>("mlp_f32").loss(),
        Some(Loss::CategoricalCrossEntropy)
    );
    let sigmoid = r#"{"input": {"flat": 2}, "layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}]}"#;
    let linear = r#"{"input": {"flat": 2}, "layers": [{"type": "dense", "units": 1, "activation": "identity"}], "l2": 0.5}"#;
    for (text, loss) in [(sigmoid, Loss::BinaryCrossEntropy), (linear, Loss::Mse)] {
        let a = TorchArchitecture::from_json_str(text, "a.json").unwrap();
        let LayerSpec::Dense(dense) = a.layers[0] else {
            panic!("{:?}", a.layers[0]);
        };
        let net = Network::<f64>::builder(2)
            .dense(1, dense.activation)
            .loss(loss)
            .build()
            .unwrap();
        let bytes = to_torch_bytes(&net).unwrap();
        let back = from_torch_bytes::<f64>(&bytes, "sd", &a, &TorchImport::default()).unwrap();
        assert_eq!(back.loss(), Some(loss));
        assert_eq!(back.l2(), a.l2);
    }
}

// ---------------------------------------------------------------------------------------
// What is refused

fn problem(e: TrainError) -> String {
    match e {
        TrainError::Format(FormatError::ModelFile { problem, .. }) => problem,
        other => panic!("expected a model file error, found {other:?}"),
    }
}

fn import_err<T: Scalar>(bytes: &[u8], arch: &TorchArchitecture, options: &TorchImport) -> String {
    problem(from_torch_bytes::<T>(bytes, "sd.safetensors", arch, options).unwrap_err())
}

fn mlp_tensors() -> Tensors {
    tensors(&read("mlp_f32.state_dict.safetensors"))
}

#[test]
fn a_missing_tensor_is_named() {
    let mut t = mlp_tensors();
    t.remove("4.bias").unwrap();
    let e = import_err::<f32>(
        &serialize(&t, None),
        &arch("mlp_f32"),
        &TorchImport::default(),
    );
    assert!(e.contains("tensor \"4.bias\" (layer 2) is missing"), "{e}");
}

#[test]
fn a_misshaped_tensor_is_named_with_both_shapes() {
    let mut t = mlp_tensors();
    let (_, shape, _) = t.get_mut("2.weight").unwrap();
    assert_eq!(shape, &vec![5, 6]);
    *shape = vec![6, 5];
    let e = import_err::<f32>(
        &serialize(&t, None),
        &arch("mlp_f32"),
        &TorchImport::default(),
    );
    assert!(
        e.contains("tensor \"2.weight\" has shape [6, 5], expected [5, 6]")
            && e.contains("module 2 of the Sequential"),
        "{e}"
    );
}

#[test]
fn an_extra_tensor_is_refused() {
    let mut t = mlp_tensors();
    let extra = t["0.bias"].clone();
    t.insert("1.bias".into(), extra);
    let e = import_err::<f32>(
        &serialize(&t, None),
        &arch("mlp_f32"),
        &TorchImport::default(),
    );
    assert!(
        e.contains("unexpected tensors [\"1.bias\"]") && e.contains("weighted modules [0, 2, 4"),
        "{e}"
    );
}

#[test]
fn another_dtype_than_the_networks_is_refused() {
    let bytes = read("mlp_f32.state_dict.safetensors");
    let e = import_err::<f64>(&bytes, &arch("mlp_f32"), &TorchImport::default());
    assert!(
        e.contains("tensor \"0.weight\" is f32, but a Network<f64> was asked for"),
        "{e}"
    );
    // A 16-bit tensor, whatever the network.
    let mut t = mlp_tensors();
    let (dtype, shape, data) = t.get_mut("0.bias").unwrap();
    *dtype = Dtype::F16;
    data.truncate(shape[0] * 2);
    let bytes = serialize(&t, None);
    let e = import_err::<f32>(&bytes, &arch("mlp_f32"), &TorchImport::default());
    assert!(
        e.contains("\"0.bias\" has dtype F16, expected F32 or F64") && e.contains("model.float()"),
        "{e}"
    );
    assert!(problem(torch_dtype(&bytes, "sd").unwrap_err()).contains("F16"));
    // An architecture that states another dtype.
    let mut a = arch("mlp_f64");
    a.dtype = Some(DType::F32);
    let e = import_err::<f64>(
        &read("mlp_f64.state_dict.safetensors"),
        &a,
        &TorchImport::default(),
    );
    assert!(e.contains("the architecture says dtype f32"), "{e}");
}

#[test]
fn a_truncated_or_corrupt_file_is_an_error() {
    let bytes = read("cnn_f32.state_dict.safetensors");
    let a = arch("cnn_f32");
    for cut in [0, 5, 8, 40, bytes.len() / 2, bytes.len() - 1] {
        let e = import_err::<f32>(&bytes[..cut], &a, &TorchImport::default());
        assert!(e.contains("not a valid safetensors file"), "cut {cut}: {e}");
    }
    let mut flipped = bytes.clone();
    flipped[12] ^= 0xff;
    assert!(from_torch_bytes::<f32>(&flipped, "sd", &a, &TorchImport::default()).is_err());
}

#[test]
fn a_non_finite_value_is_refused() {
    let mut t = mlp_tensors();
    let (_, _, data) = t.get_mut("4.weight").unwrap();
    data[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
    let e = import_err::<f32>(
        &serialize(&t, None),
        &arch("mlp_f32"),
        &TorchImport::default(),
    );
    assert!(
        e.contains("tensor \"4.weight\" has a non-finite value NaN at flat index 2"),
        "{e}"
    );
}

#[test]
fn a_common_prefix_is_hinted_and_accepted() {
    let t: Tensors = mlp_tensors()
        .into_iter()
        .map(|(n, v)| (format!("model.{n}"), v))
        .collect();
    let bytes = serialize(&t, None);
    let a = arch("mlp_f32");
    let e = import_err::<f32>(&bytes, &a, &TorchImport::default());
    assert!(
        e.contains("every tensor's name starts with \"model.\""),
        "{e}"
    );
    let options = TorchImport {
        prefix: "model.".into(),
        ..TorchImport::default()
    };
    let net = from_torch_bytes::<f32>(&bytes, "sd", &a, &options).unwrap();
    assert_eq!(net.named_params(), import::<f32>("mlp_f32").named_params());
}

#[test]
fn a_huge_architecture_is_refused_before_anything_is_allocated() {
    let text = r#"{"input": {"flat": 100000}, "layers": [{"type": "dense", "units": 100000, "activation": "relu"}]}"#;
    let a = TorchArchitecture::from_json_str(text, "a.json").unwrap();
    let options = TorchImport {
        limits: Limits {
            max_parameters: 1 << 20,
            ..Limits::default()
        },
        ..TorchImport::default()
    };
    let bytes = read("mlp_f32.state_dict.safetensors");
    match from_torch_bytes::<f32>(&bytes, "sd", &a, &options) {
        Err(TrainError::TooLarge { limit, .. }) => assert!(limit.contains("1048576"), "{limit}"),
        other => panic!("expected TooLarge, found {other:?}"),
    }
}

#[test]
fn architectures_that_do_not_read_are_refused_by_name() {
    let unknown_field = r#"{"input": {"flat": 2}, "layer": []}"#;
    let e = problem(TorchArchitecture::from_json_str(unknown_field, "arch.json").unwrap_err());
    assert!(e.contains("unknown field `layer`"), "{e}");
    let bad_layer = r#"{"input": {"flat": 2}, "layers": [{"type": "lstm"}]}"#;
    let e = TorchArchitecture::from_json_str(bad_layer, "arch.json").unwrap_err();
    assert!(
        matches!(&e, TrainError::Format(FormatError::UnknownLayerType { layer: 0, found, .. }) if found == "lstm"),
        "{e}"
    );
}

#[test]
fn layers_without_a_torch_module_are_refused_by_layer() {
    let step = Network::<f32>::builder(2)
        .dense(3, Activation::Relu)
        .dense(1, Activation::Step)
        .build()
        .unwrap();
    let e = to_torch_bytes(&step).unwrap_err();
    assert!(
        matches!(&e, TrainError::Format(FormatError::TorchUnsupported { layer: 1, what }) if what.contains("step")),
        "{e}"
    );
    let conv_softmax = Network::<f32>::image_builder(1, 4, 4)
        .conv2d(2, 3, Activation::Softmax)
        .build()
        .unwrap();
    let e = torch::torch_sequential(&conv_softmax).unwrap_err();
    assert!(
        matches!(&e, TrainError::Format(FormatError::TorchUnsupported { layer: 0, what }) if what.contains("softmax after a convolution")),
        "{e}"
    );
    // The same architectures are refused on the way in.
    let a = TorchArchitecture::of(&step).unwrap();
    let e = from_torch_bytes::<f32>(
        &read("mlp_f32.state_dict.safetensors"),
        "sd",
        &a,
        &TorchImport::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            TrainError::Format(FormatError::TorchUnsupported { layer: 1, .. })
        ),
        "{e}"
    );
}

#[test]
fn a_non_finite_parameter_is_not_exported() {
    let mut net = import::<f32>("mlp_f32");
    let mut first = true;
    net.for_each_param(&mut |p| {
        if first {
            p.value[(1, 2)] = f32::INFINITY;
            first = false;
        }
    });
    let e = problem(to_torch_bytes(&net).unwrap_err());
    assert!(e.contains("0.weight") && e.contains("non-finite"), "{e}");
}
