//! The ONNX export, checked without Python: the exported bytes are decoded with the same
//! prost messages and checked node by node (op types in order, attributes, input and
//! output names and shapes, initializers equal to the network's parameters, opset,
//! metadata), and the decoded graph is run by a small reference interpreter (below)
//! whose outputs must equal `Network::predict`'s, so that a wrong transpose or a wrong
//! constant fails here and not only in ONNX Runtime.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../examples/onnx_models/zoo.rs"]
mod zoo;

use std::collections::HashMap;

use nn_train::persist::Model;
use nn_train::persist::onnx::proto::{
    AttributeProto, DATA_TYPE_DOUBLE, DATA_TYPE_FLOAT, DATA_TYPE_INT64, GraphProto, ModelProto,
    NodeProto, TensorProto, ValueInfoProto,
};
use nn_train::persist::onnx::{OPSET, to_onnx_bytes};
use nn_train::{Activation, DMatrix, FormatError, Network, Scalar, TrainError};
use prost::Message;

// ---------------------------------------------------------------------------------------
// Decoding helpers

fn decode<T: Scalar>(model: &Model<T>) -> ModelProto {
    ModelProto::decode(to_onnx_bytes(model).unwrap().as_slice()).unwrap()
}

fn graph(m: &ModelProto) -> &GraphProto {
    m.graph.as_ref().unwrap()
}

fn ops(g: &GraphProto) -> Vec<&str> {
    g.node
        .iter()
        .map(|n| n.op_type.as_deref().unwrap_or(""))
        .collect()
}

fn node<'a>(g: &'a GraphProto, op: &str) -> &'a NodeProto {
    g.node
        .iter()
        .find(|n| n.op_type.as_deref() == Some(op))
        .unwrap_or_else(|| panic!("no {op} node in {:?}", ops(g)))
}

fn attr<'a>(n: &'a NodeProto, name: &str) -> &'a AttributeProto {
    n.attribute
        .iter()
        .find(|a| a.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("{:?} has no attribute {name}", n.op_type))
}

/// A tensor's shape and values (FLOAT or DOUBLE, from `raw_data`).
fn values(t: &TensorProto) -> (Vec<usize>, Vec<f64>) {
    let raw = t.raw_data.as_deref().unwrap_or_default();
    let v = match t.data_type {
        Some(DATA_TYPE_FLOAT) => raw
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap())))
            .collect(),
        Some(DATA_TYPE_DOUBLE) => raw
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        Some(DATA_TYPE_INT64) => raw
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f64)
            .collect(),
        other => panic!("data type {other:?}"),
    };
    (t.dims.iter().map(|&d| d as usize).collect(), v)
}

fn initializer<'a>(g: &'a GraphProto, name: &str) -> &'a TensorProto {
    g.initializer
        .iter()
        .find(|t| t.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no initializer {name}"))
}

/// A value's element type and dims (`-1` for the symbolic batch axis `N`).
fn signature(v: &ValueInfoProto) -> (String, i32, Vec<i64>) {
    let t = v.r#type.as_ref().unwrap().tensor_type.as_ref().unwrap();
    let dims = t
        .shape
        .as_ref()
        .unwrap()
        .dim
        .iter()
        .map(|d| match (&d.dim_value, &d.dim_param) {
            (Some(n), None) => *n,
            (None, Some(p)) if p == "N" => -1,
            other => panic!("dimension {other:?}"),
        })
        .collect();
    (v.name.clone().unwrap(), t.elem_type.unwrap(), dims)
}

fn metadata(m: &ModelProto) -> HashMap<String, String> {
    m.metadata_props
        .iter()
        .map(|e| (e.key.clone().unwrap(), e.value.clone().unwrap()))
        .collect()
}

/// The matrix `m` row by row, as `f64`.
fn row_major<T: Scalar>(m: &DMatrix<T>) -> Vec<f64> {
    let mut v = Vec::new();
    for r in 0..m.nrows() {
        v.extend(m.row(r).iter().map(|x| x.to_f64()));
    }
    v
}

fn plain<T: Scalar>(network: Network<T>) -> Model<T> {
    Model {
        network,
        encoder: None,
        classes: None,
        features: None,
        label: None,
        pipeline: None,
    }
}

// ---------------------------------------------------------------------------------------
// A reference interpreter for the ops the export writes, in f64

#[derive(Clone, Debug)]
struct Tensor {
    shape: Vec<usize>,
    data: Vec<f64>,
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// numpy broadcasting of several operands.
fn broadcast(ts: &[&Tensor], f: impl Fn(&[f64]) -> f64) -> Tensor {
    let rank = ts.iter().map(|t| t.shape.len()).max().unwrap();
    let mut shape = vec![1; rank];
    for t in ts {
        for (i, &d) in t.shape.iter().enumerate() {
            let k = rank - t.shape.len() + i;
            if d != 1 {
                assert!(shape[k] == 1 || shape[k] == d, "shapes do not broadcast");
                shape[k] = d;
            }
        }
    }
    let out_strides = strides(&shape);
    let n: usize = shape.iter().product();
    let mut data = Vec::with_capacity(n);
    let mut args = vec![0.0; ts.len()];
    for flat in 0..n {
        for (a, t) in args.iter_mut().zip(ts) {
            let ts_strides = strides(&t.shape);
            let mut idx = 0;
            for (i, &d) in t.shape.iter().enumerate() {
                let k = rank - t.shape.len() + i;
                let coord = (flat / out_strides[k]) % shape[k];
                idx += if d == 1 { 0 } else { coord * ts_strides[i] };
            }
            *a = t.data[idx];
        }
        data.push(f(&args));
    }
    Tensor { shape, data }
}

fn int_attr(n: &NodeProto, name: &str) -> Option<i64> {
    n.attribute
        .iter()
        .find(|a| a.name.as_deref() == Some(name))
        .and_then(|a| a.i)
}

fn ints_attr(n: &NodeProto, name: &str) -> Vec<usize> {
    attr(n, name).ints.iter().map(|&i| i as usize).collect()
}

fn float_attr(n: &NodeProto, name: &str) -> f64 {
    f64::from(attr(n, name).f.unwrap())
}

/// Convolution and pooling over `N × C × H × W`; `weights` `[O, C, kh, kw]` for a
/// convolution, `None` for pooling (`max` or average), one output channel per input.
fn window(
    x: &Tensor,
    weights: Option<(&Tensor, &Tensor)>,
    kernel: &[usize],
    stride: &[usize],
    pads: &[usize],
    max: bool,
) -> Tensor {
    let [n, c, h, w] = x.shape[..] else { panic!() };
    let (kh, kw) = (kernel[0], kernel[1]);
    let oh = (h + pads[0] + pads[2] - kh) / stride[0] + 1;
    let ow = (w + pads[1] + pads[3] - kw) / stride[1] + 1;
    let o = weights.map_or(c, |(wt, _)| wt.shape[0]);
    let mut data = vec![0.0; n * o * oh * ow];
    let at = |b: usize, ch: usize, y: isize, xx: isize| -> Option<f64> {
        if y < 0 || xx < 0 || y as usize >= h || xx as usize >= w {
            None
        } else {
            Some(x.data[((b * c + ch) * h + y as usize) * w + xx as usize])
        }
    };
    for b in 0..n {
        for oc in 0..o {
            for oy in 0..oh {
                for ox in 0..ow {
                    let y0 = (oy * stride[0]) as isize - pads[0] as isize;
                    let x0 = (ox * stride[1]) as isize - pads[1] as isize;
                    let v = match weights {
                        Some((wt, bias)) => {
                            let mut s = bias.data[oc];
                            for ic in 0..c {
                                for ky in 0..kh {
                                    for kx in 0..kw {
                                        let xv = at(b, ic, y0 + ky as isize, x0 + kx as isize)
                                            .unwrap_or(0.0);
                                        s += wt.data[((oc * c + ic) * kh + ky) * kw + kx] * xv;
                                    }
                                }
                            }
                            s
                        }
                        None => {
                            let vals: Vec<f64> = (0..kh)
                                .flat_map(|ky| (0..kw).map(move |kx| (ky, kx)))
                                .map(|(ky, kx)| {
                                    at(b, oc, y0 + ky as isize, x0 + kx as isize).unwrap()
                                })
                                .collect();
                            if max {
                                vals.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                            } else {
                                vals.iter().sum::<f64>() / vals.len() as f64
                            }
                        }
                    };
                    data[((b * o + oc) * oh + oy) * ow + ox] = v;
                }
            }
        }
    }
    Tensor {
        shape: vec![n, o, oh, ow],
        data,
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Runs the graph on `input`, returning every value by name.
fn run(g: &GraphProto, input: Tensor) -> HashMap<String, Tensor> {
    let mut env: HashMap<String, Tensor> = HashMap::new();
    for t in &g.initializer {
        let (shape, data) = values(t);
        env.insert(t.name.clone().unwrap(), Tensor { shape, data });
    }
    env.insert(g.input[0].name.clone().unwrap(), input);
    for n in &g.node {
        let a: Vec<Tensor> = n.input.iter().map(|i| env[i].clone()).collect();
        let unary = |f: &dyn Fn(f64) -> f64| Tensor {
            shape: a[0].shape.clone(),
            data: a[0].data.iter().map(|&v| f(v)).collect(),
        };
        let op = n.op_type.as_deref().unwrap();
        let out = match op {
            "Identity" | "Cast" => a[0].clone(),
            "Relu" => unary(&|v| v.max(0.0)),
            "Sigmoid" => unary(&sigmoid),
            "Tanh" => unary(&f64::tanh),
            "Exp" => unary(&f64::exp),
            "Log" => unary(&f64::ln),
            "Abs" => unary(&f64::abs),
            "Neg" => unary(&|v| -v),
            "Erf" => unary(&libm::erf),
            "Softplus" => unary(&|v| v.max(0.0) + (-v.abs()).exp().ln_1p()),
            "LeakyRelu" => {
                let s = float_attr(n, "alpha");
                unary(&|v| if v < 0.0 { s * v } else { v })
            }
            "Elu" => {
                let al = float_attr(n, "alpha");
                unary(&|v| if v < 0.0 { al * v.exp_m1() } else { v })
            }
            "Selu" => {
                let (al, ga) = (float_attr(n, "alpha"), float_attr(n, "gamma"));
                unary(&|v| ga * if v <= 0.0 { al * v.exp_m1() } else { v })
            }
            "Add" => broadcast(&[&a[0], &a[1]], |v| v[0] + v[1]),
            "Sub" => broadcast(&[&a[0], &a[1]], |v| v[0] - v[1]),
            "Mul" => broadcast(&[&a[0], &a[1]], |v| v[0] * v[1]),
            "Div" => broadcast(&[&a[0], &a[1]], |v| v[0] / v[1]),
            "Less" => broadcast(&[&a[0], &a[1]], |v| f64::from(u8::from(v[0] < v[1]))),
            "GreaterOrEqual" => broadcast(&[&a[0], &a[1]], |v| f64::from(u8::from(v[0] >= v[1]))),
            "Where" => broadcast(&[&a[0], &a[1], &a[2]], |v| {
                if v[0] != 0.0 { v[1] } else { v[2] }
            }),
            "MatMul" if a[0].shape.len() == 3 => {
                // [N, P, K] × [K, O], batch by batch.
                let (b, p, k, o) = (a[0].shape[0], a[0].shape[1], a[0].shape[2], a[1].shape[1]);
                assert_eq!(a[1].shape[0], k);
                let mut data = vec![0.0; b * p * o];
                for i in 0..b * p {
                    for j in 0..o {
                        data[i * o + j] = (0..k)
                            .map(|l| a[0].data[i * k + l] * a[1].data[l * o + j])
                            .sum();
                    }
                }
                Tensor {
                    shape: vec![b, p, o],
                    data,
                }
            }
            "Pad" => {
                // Only what the export writes: one zero appended to each row of [N, F].
                assert_eq!(a[1].data, [0.0, 0.0, 0.0, 1.0]);
                let (m, f) = (a[0].shape[0], a[0].shape[1]);
                let mut data = Vec::new();
                for row in a[0].data.chunks(f) {
                    data.extend_from_slice(row);
                    data.push(0.0);
                }
                Tensor {
                    shape: vec![m, f + 1],
                    data,
                }
            }
            "Gather" => {
                assert_eq!(int_attr(n, "axis"), Some(1));
                let (m, f) = (a[0].shape[0], a[0].shape[1]);
                let mut data = Vec::new();
                for row in a[0].data.chunks(f) {
                    data.extend(a[1].data.iter().map(|&i| row[i as usize]));
                }
                let mut shape = vec![m];
                shape.extend(&a[1].shape);
                Tensor { shape, data }
            }
            "Transpose" => {
                assert_eq!(ints_attr(n, "perm"), [0, 2, 1]);
                let [b, p, o] = a[0].shape[..] else { panic!() };
                let mut data = vec![0.0; b * p * o];
                for i in 0..b {
                    for j in 0..p {
                        for k in 0..o {
                            data[(i * o + k) * p + j] = a[0].data[(i * p + j) * o + k];
                        }
                    }
                }
                Tensor {
                    shape: vec![b, o, p],
                    data,
                }
            }
            "Reshape" => {
                let mut shape: Vec<usize> = a[1].data.iter().map(|&d| d as usize).collect();
                if shape[0] == 0 {
                    shape[0] = a[0].shape[0];
                }
                assert_eq!(shape.iter().product::<usize>(), a[0].data.len());
                Tensor {
                    shape,
                    data: a[0].data.clone(),
                }
            }
            "ReduceMean" => {
                assert_eq!(ints_attr(n, "axes"), [3]);
                assert_eq!(int_attr(n, "keepdims"), Some(0));
                let k = *a[0].shape.last().unwrap();
                let data = a[0]
                    .data
                    .chunks(k)
                    .map(|w| w.iter().sum::<f64>() / k as f64)
                    .collect();
                Tensor {
                    shape: a[0].shape[..3].to_vec(),
                    data,
                }
            }
            "Gemm" | "MatMul" => {
                let trans_b = op == "Gemm" && int_attr(n, "transB") == Some(1);
                let (x, w) = (&a[0], &a[1]);
                let (m, k) = (x.shape[0], x.shape[1]);
                let cols = if trans_b { w.shape[0] } else { w.shape[1] };
                assert_eq!(
                    if trans_b { w.shape[1] } else { w.shape[0] },
                    k,
                    "{op} shapes"
                );
                let mut data = vec![0.0; m * cols];
                for i in 0..m {
                    for j in 0..cols {
                        data[i * cols + j] = (0..k)
                            .map(|l| {
                                let wv = if trans_b {
                                    w.data[j * k + l]
                                } else {
                                    w.data[l * cols + j]
                                };
                                x.data[i * k + l] * wv
                            })
                            .sum();
                    }
                }
                let y = Tensor {
                    shape: vec![m, cols],
                    data,
                };
                if op == "Gemm" {
                    broadcast(&[&y, &a[2]], |v| v[0] + v[1])
                } else {
                    y
                }
            }
            "Softmax" => {
                assert_eq!(int_attr(n, "axis"), Some(1));
                let (m, k) = (a[0].shape[0], a[0].shape[1]);
                let mut data = a[0].data.clone();
                for row in data.chunks_mut(k) {
                    let top = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    row.iter_mut().for_each(|v| *v = (*v - top).exp());
                    let s: f64 = row.iter().sum();
                    row.iter_mut().for_each(|v| *v /= s);
                }
                Tensor {
                    shape: vec![m, k],
                    data,
                }
            }
            "Flatten" => {
                assert_eq!(int_attr(n, "axis"), Some(1));
                let m = a[0].shape[0];
                Tensor {
                    shape: vec![m, a[0].data.len() / m],
                    data: a[0].data.clone(),
                }
            }
            "Conv" => window(
                &a[0],
                Some((&a[1], &a[2])),
                &ints_attr(n, "kernel_shape"),
                &ints_attr(n, "strides"),
                &ints_attr(n, "pads"),
                false,
            ),
            "MaxPool" | "AveragePool" => window(
                &a[0],
                None,
                &ints_attr(n, "kernel_shape"),
                &ints_attr(n, "strides"),
                &[0, 0, 0, 0],
                op == "MaxPool",
            ),
            other => panic!("the reference interpreter has no {other}"),
        };
        env.insert(n.output[0].clone(), out);
    }
    env
}

/// The worst of |found − expected| / max(|expected|, 1).
fn worst(found: &[f64], expected: &[f64]) -> f64 {
    assert_eq!(found.len(), expected.len());
    found
        .iter()
        .zip(expected)
        .map(|(f, e)| (f - e).abs() / e.abs().max(1.0))
        .fold(0.0, f64::max)
}

fn check_cases<T: Scalar>(limit: f64) {
    let cases = zoo::all::<T>();
    assert_eq!(cases.len(), 21);
    for case in cases {
        let m = decode(&case.model);
        let g = graph(&m);
        let (shape, data) = case.input.clone();
        let env = run(g, Tensor { shape, data });
        let outputs: Vec<String> = g.output.iter().map(|o| o.name.clone().unwrap()).collect();
        assert_eq!(
            outputs,
            case.outputs.iter().map(|o| o.0.clone()).collect::<Vec<_>>(),
            "{}",
            case.name
        );
        for (name, shape, expected) in &case.outputs {
            let found = &env[name];
            assert_eq!(&found.shape, shape, "{} {name}", case.name);
            let w = worst(&found.data, expected);
            assert!(
                w <= limit,
                "{} {name}: worst difference {w:e} > {limit:e}",
                case.name
            );
        }
    }
}

#[test]
fn every_case_runs_as_predict_does_f64() {
    check_cases::<f64>(1e-12);
}

#[test]
fn every_case_runs_as_predict_does_f32() {
    check_cases::<f32>(1e-5);
}

#[test]
fn the_interpreter_catches_a_transposed_weight() {
    let mut net = Network::<f64>::builder(3)
        .dense(3, Activation::Tanh)
        .dense(2, Activation::Identity)
        .build()
        .unwrap();
    let w = DMatrix::from_row_slice(3, 3, &[0.9, -0.4, 0.1, 0.3, 0.8, -0.7, -0.2, 0.5, 0.6]);
    net.set_param("layers.0.weight", w).unwrap();
    let x = DMatrix::from_row_slice(3, 2, &[1.0, -1.0, 0.5, 2.0, -1.5, 0.25]);
    let expected = row_major(&net.predict(&x).unwrap().transpose());
    let mut m = decode(&plain(net));
    let g = m.graph.as_mut().unwrap();
    let input = Tensor {
        shape: vec![2, 3],
        data: row_major(&x.transpose()),
    };
    let good = run(g, input.clone());
    assert!(worst(&good["probabilities"].data, &expected) < 1e-14);
    // Writing W instead of Wᵀ's layout (transB dropped) must be caught.
    let gemm = g
        .node
        .iter_mut()
        .find(|n| n.op_type.as_deref() == Some("Gemm"))
        .unwrap();
    gemm.attribute.clear();
    let bad = run(g, input);
    assert!(worst(&bad["probabilities"].data, &expected) > 1e-2);
}

// ---------------------------------------------------------------------------------------
// Structure

#[test]
fn dense_network_structure_f32_and_f64() {
    fn check<T: Scalar>(data_type: i32) {
        let case = &zoo::activation_cases::<T>()[4]; // relu
        let m = decode(&case.model);
        assert_eq!(m.ir_version, Some(8));
        assert_eq!(m.opset_import.len(), 1);
        assert_eq!(m.opset_import[0].version, Some(OPSET));
        assert_eq!(OPSET, 17);
        let g = graph(&m);
        assert_eq!(
            ops(g),
            ["Gemm", "Relu", "Gemm", "Softmax", "Identity", "Identity"]
        );
        assert_eq!(
            signature(&g.input[0]),
            ("input".to_string(), data_type, vec![-1, 4])
        );
        let outs: Vec<_> = g.output.iter().map(signature).collect();
        assert_eq!(
            outs,
            [
                ("probabilities".to_string(), data_type, vec![-1, 3]),
                ("logits".to_string(), data_type, vec![-1, 3]),
            ]
        );
        for n in g
            .node
            .iter()
            .filter(|n| n.op_type.as_deref() == Some("Gemm"))
        {
            let t = attr(n, "transB");
            assert_eq!((t.i, t.r#type), (Some(1), Some(2)));
        }
        assert_eq!(attr(node(g, "Softmax"), "axis").i, Some(1));
        // The logits are the last Gemm's output, the probabilities the softmax's.
        let identities: Vec<_> = g
            .node
            .iter()
            .filter(|n| n.op_type.as_deref() == Some("Identity"))
            .map(|n| (n.input[0].as_str(), n.output[0].as_str()))
            .collect();
        assert_eq!(
            identities,
            [("layers.1.a", "probabilities"), ("layers.1.z", "logits")]
        );
        let net = &case.model.network;
        for (name, value) in net.named_params() {
            let t = initializer(g, &name);
            assert_eq!(t.data_type, Some(data_type));
            let (dims, v) = values(t);
            let expected_dims = if name.ends_with("weight") {
                vec![value.nrows(), value.ncols()]
            } else {
                vec![value.len()]
            };
            assert_eq!(dims, expected_dims, "{name}");
            assert_eq!(v, row_major(value), "{name}");
        }
        let meta = metadata(&m);
        assert_eq!(meta["nn.version"], env!("CARGO_PKG_VERSION"));
    }
    check::<f32>(DATA_TYPE_FLOAT);
    check::<f64>(DATA_TYPE_DOUBLE);
}

#[test]
fn conv_pool_flatten_dropout_structure() {
    fn check<T: Scalar>() {
        let case = zoo::cnn_case::<T>();
        let m = decode(&case.model);
        let g = graph(&m);
        if T::DTYPE == nn_train::nn_core::DType::F64 {
            check_f64(g);
            return;
        }
        assert_eq!(
            ops(g),
            [
                "Conv",
                "Relu",
                "MaxPool",
                "Conv",
                "Tanh",
                "AveragePool",
                "Flatten",
                "Identity",
                "Gemm",
                "Softmax",
                "Identity",
                "Identity"
            ]
        );
        assert_eq!(signature(&g.input[0]).2, [-1, 2, 5, 6]);
        let conv = &g.node[0];
        assert_eq!(attr(conv, "kernel_shape").ints, [3, 2]);
        assert_eq!(attr(conv, "strides").ints, [1, 2]);
        assert_eq!(attr(conv, "pads").ints, [1, 0, 1, 0]);
        let conv2 = &g.node[3];
        assert_eq!(attr(conv2, "kernel_shape").ints, [2, 2]);
        assert_eq!(attr(conv2, "strides").ints, [2, 1]);
        assert_eq!(attr(conv2, "pads").ints, [0, 1, 0, 1]);
        let max = node(g, "MaxPool");
        assert_eq!(attr(max, "kernel_shape").ints, [2, 1]);
        assert_eq!(attr(max, "strides").ints, [1, 1]);
        let avg = node(g, "AveragePool");
        assert_eq!(attr(avg, "kernel_shape").ints, [2, 2]);
        assert_eq!(attr(avg, "strides").ints, [2, 2]);
        assert_eq!(attr(node(g, "Flatten"), "axis").i, Some(1));
        // PyTorch's [out, in, kh, kw], the stored matrix read row by row.
        let w = case.model.network.param("layers.0.weight").unwrap().value();
        let (dims, v) = values(initializer(g, "layers.0.weight"));
        assert_eq!(dims, [3, 2, 3, 2]);
        assert_eq!(v, row_major(w));
        let (dims, _) = values(initializer(g, "layers.2.weight"));
        assert_eq!(dims, [4, 3, 2, 2]);
        let (dims, _) = values(initializer(g, "layers.6.weight"));
        assert_eq!(dims, [3, 8]);
    }
    /// The double graph: im2col as Gather (ONNX Runtime has no double `Conv` or
    /// `AveragePool`; it has a double `MaxPool`), checked against nn's window geometry.
    fn check_f64(g: &GraphProto) {
        let gather = ["Flatten", "Pad", "Gather"];
        let conv = [&gather[..], &["MatMul", "Add", "Transpose", "Reshape"]].concat();
        let pool = |r: &'static str| [&gather[..], &[r, "Reshape"]].concat();
        let expected = [
            &conv[..],
            &["Relu"],
            &["MaxPool"],
            &conv,
            &["Tanh"],
            &pool("ReduceMean"),
            &[
                "Flatten", "Identity", "Gemm", "Softmax", "Identity", "Identity",
            ],
        ]
        .concat();
        assert_eq!(ops(g), expected);
        // Output position (0, 0) of the first conv reads rows −1…1 (padding 1) and
        // columns 0…1: channel 0's first entries are padding (index C·H·W = 60).
        let (dims, idx) = values(initializer(g, "layers.0.window_index"));
        assert_eq!(dims, [5 * 3, 2 * 3 * 2]);
        assert_eq!(idx[..6], [60.0, 60.0, 0.0, 1.0, 6.0, 7.0]);
        // Channel 1 of the same window starts one H×W plane later.
        assert_eq!(idx[6..12], [60.0, 60.0, 30.0, 31.0, 36.0, 37.0]);
        let (dims, wt) = values(initializer(g, "layers.0.weight_t"));
        assert_eq!(dims, [12, 3]);
        assert_eq!(wt.len(), 36);
        // Average pooling: 4 channels, 1×2 positions, 2×2 windows.
        let (dims, idx) = values(initializer(g, "layers.3.window_index"));
        assert_eq!(dims, [4, 2, 4]);
        assert_eq!(idx[..8], [0.0, 1.0, 4.0, 5.0, 2.0, 3.0, 6.0, 7.0]);
    }
    check::<f32>();
    check::<f64>();
}

/// The ops of layer 0's activation (between the first Gemm and the second).
fn activation_ops(g: &GraphProto) -> Vec<&str> {
    let o = ops(g);
    let second = o.iter().rposition(|op| *op == "Gemm").unwrap();
    o[1..second].to_vec()
}

#[test]
fn activation_ops_f32() {
    let expected: [&[&str]; 13] = [
        &[],
        &["GreaterOrEqual", "Cast"],
        &["Sigmoid"],
        &["Tanh"],
        &["Relu"],
        &["LeakyRelu"],
        &["Softmax"],
        &["Elu"],
        &["Selu"],
        &["Mul", "Erf", "Add", "Mul", "Mul"],
        &["Mul", "Mul", "Mul", "Add", "Mul", "Sigmoid", "Mul"],
        &["Sigmoid", "Mul"],
        &["Softplus"],
    ];
    let cases = zoo::activation_cases::<f32>();
    for (case, ops) in cases.iter().zip(expected) {
        let m = decode(&case.model);
        assert_eq!(activation_ops(graph(&m)), ops, "{}", case.name);
    }
    let attr_of = |i: usize, op: &str, name: &str| {
        let m = decode(&cases[i].model);
        attr(node(graph(&m), op), name).clone()
    };
    let a = attr_of(5, "LeakyRelu", "alpha");
    assert_eq!((a.f, a.r#type), (Some(0.1), Some(1)));
    assert_eq!(attr_of(7, "Elu", "alpha").f, Some(0.7));
    assert_eq!(
        attr_of(8, "Selu", "alpha").f,
        Some(nn_train::nn_init::nn_activations::elu::SELU_ALPHA as f32)
    );
    assert_eq!(
        attr_of(8, "Selu", "gamma").f,
        Some(nn_train::nn_init::nn_activations::elu::SELU_LAMBDA as f32)
    );
    assert_eq!(attr_of(1, "Cast", "to").i, Some(i64::from(DATA_TYPE_FLOAT)));
}

#[test]
fn activation_ops_f64_keep_double_constants() {
    let cases = zoo::activation_cases::<f64>();
    let where_ = ["GreaterOrEqual", "Where"];
    let expected: [&[&str]; 4] = [
        &["Mul", where_[0], where_[1]],
        &["Exp", "Sub", "Mul", where_[0], where_[1]],
        &["Exp", "Sub", "Mul", where_[0], where_[1], "Mul"],
        &["Relu", "Abs", "Neg", "Exp", "Add", "Log", "Add"],
    ];
    for (i, ops) in [5, 7, 8, 12].into_iter().zip(expected) {
        let m = decode(&cases[i].model);
        assert_eq!(activation_ops(graph(&m)), ops, "{}", cases[i].name);
    }
    let constant = |i: usize, name: &str| {
        let m = decode(&cases[i].model);
        let t = initializer(graph(&m), name).clone();
        assert_eq!(t.data_type, Some(DATA_TYPE_DOUBLE));
        values(&t).1
    };
    assert_eq!(constant(5, "layers.0.slope"), [0.1]);
    assert_eq!(constant(7, "layers.0.alpha"), [0.7]);
    assert_eq!(
        constant(8, "layers.0.lambda"),
        [nn_train::nn_init::nn_activations::elu::SELU_LAMBDA]
    );
    // GELU without Erf: a series and a continued fraction, selected by `Less`.
    let m = decode(&cases[9].model);
    let gelu = activation_ops(graph(&m));
    assert!(!gelu.contains(&"Erf"), "{gelu:?}");
    assert_eq!(gelu.iter().filter(|o| **o == "Where").count(), 2);
    assert_eq!(gelu.iter().filter(|o| **o == "Less").count(), 1);
    assert_eq!(constant(9, "layers.0.erf_split"), [2.5]);
    assert_eq!(constant(9, "layers.0.erf_c1"), [-1.0 / 3.0]);
    let m = decode(&cases[1].model);
    assert_eq!(
        attr(node(graph(&m), "Cast"), "to").i,
        Some(i64::from(DATA_TYPE_DOUBLE))
    );
}

#[test]
fn encoders_become_sub_div_or_matmul() {
    let cases = zoo::encoder_cases::<f64>();
    for case in &cases {
        let m = decode(&case.model);
        let g = graph(&m);
        let encoder = case.model.encoder.as_ref().unwrap();
        let json = encoder.to_json();
        let numbers = |key: &str| -> Vec<f64> {
            json[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        };
        let o = ops(g);
        let sub = node(g, "Sub");
        assert_eq!(sub.input, ["input", "encoder.shift"]);
        assert_eq!(
            values(initializer(g, "encoder.shift")),
            (vec![4], numbers("shift"))
        );
        if json.get("scale").is_some() {
            assert_eq!(o[..3], ["Sub", "Div", "Gemm"], "{}", case.name);
            assert_eq!(
                values(initializer(g, "encoder.scale")),
                (vec![4], numbers("scale"))
            );
        } else {
            assert_eq!(o[..3], ["Sub", "MatMul", "Gemm"], "{}", case.name);
            // Wᵀ: entry (i, j) of the initializer is W[j, i] (W stored row-major).
            let w = numbers("matrix");
            let (dims, wt) = values(initializer(g, "encoder.matrix_t"));
            assert_eq!(dims, [4, 4]);
            for i in 0..4 {
                for j in 0..4 {
                    assert_eq!(wt[i * 4 + j], w[j * 4 + i]);
                }
            }
        }
        assert_eq!(
            node(g, "Gemm").input[0],
            g.node[o.iter().position(|x| *x == "Gemm").unwrap() - 1].output[0]
        );
    }
}

#[test]
fn pipeline_scaling_names_and_regression_target() {
    let class = zoo::pipeline_case::<f64>(false);
    let m = decode(&class.model);
    let g = graph(&m);
    assert_eq!(ops(g)[..2], ["Sub", "Div"]);
    let pipeline = class.model.pipeline.as_ref().unwrap();
    let meta = metadata(&m);
    assert_eq!(
        meta["nn.inputs"],
        serde_json::json!(pipeline.input_names()).to_string()
    );
    assert_eq!(
        meta["nn.inputs"],
        r#"["size","weight","colour=blue","colour=green","colour=red"]"#
    );
    assert_eq!(meta["nn.classes"], r#"["big","small"]"#);
    assert_eq!(meta["nn.features"], r#"["size","weight","colour"]"#);
    assert_eq!(meta["nn.label"], "label");
    let (_, shift) = values(initializer(g, "pipeline.shift"));
    let (_, scale) = values(initializer(g, "pipeline.scale"));
    assert_eq!(shift[2..], [0.0; 3]);
    assert_eq!(scale[2..], [1.0; 3]);
    assert!(scale[..2].iter().all(|s| *s > 0.0 && *s != 1.0));

    let reg = zoo::pipeline_case::<f64>(true);
    let m = decode(&reg.model);
    let g = graph(&m);
    let o = ops(g);
    assert_eq!(o[o.len() - 3..], ["Mul", "Add", "Identity"]);
    let names: Vec<_> = g.output.iter().map(|v| v.name.clone().unwrap()).collect();
    assert_eq!(names, ["prediction", "logits"]);
    let nn_train::pipeline::Target::Regression { shift, scale, .. } =
        reg.model.pipeline.as_ref().unwrap().target()
    else {
        panic!("a regression pipeline")
    };
    assert_eq!(values(initializer(g, "target.scale")).1, [*scale]);
    assert_eq!(values(initializer(g, "target.shift")).1, [*shift]);
    assert!(!metadata(&m).contains_key("nn.classes"));
}

#[test]
fn a_custom_layer_is_refused_by_name() {
    #[derive(Debug, Clone)]
    struct Negate;
    impl std::fmt::Display for Negate {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Negate")
        }
    }
    impl nn_train::Layer<f64> for Negate {
        fn input_shape(&self) -> nn_train::FeatureShape {
            nn_train::FeatureShape::Flat(2)
        }
        fn output_shape(&self) -> nn_train::FeatureShape {
            nn_train::FeatureShape::Flat(2)
        }
        fn forward(&mut self, _: &DMatrix<f64>, _: nn_train::Mode) -> nn_train::Result<()> {
            Ok(())
        }
        fn output(&self) -> Option<&DMatrix<f64>> {
            None
        }
        fn backward(
            &mut self,
            _: &DMatrix<f64>,
            _: nn_train::Upstream<'_, f64>,
            _: Option<&mut DMatrix<f64>>,
        ) -> nn_train::Result<()> {
            Ok(())
        }
        fn infer(&self, x: &DMatrix<f64>) -> nn_train::Result<DMatrix<f64>> {
            Ok(-x)
        }
        fn record(&self) -> Option<nn_train::LayerRecord> {
            Some(nn_train::LayerRecord::custom(
                "negate",
                serde_json::json!({}),
            ))
        }
    }
    let net = Network::<f64>::builder(2)
        .dense(2, Activation::Tanh)
        .push(Negate)
        .build()
        .unwrap();
    let err = to_onnx_bytes(&plain(net)).unwrap_err();
    assert!(
        matches!(
            &err,
            TrainError::Format(FormatError::OnnxUnsupported { layer: 1, what }) if what.contains("`negate`")
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "layer 1: the layer type `negate` has no ONNX export"
    );
}

#[test]
fn double_gelu_matches_libm_on_both_sides_of_the_split() {
    let mut net = Network::<f64>::builder(1)
        .dense(1, Activation::Gelu)
        .build()
        .unwrap();
    net.set_param("layers.0.weight", DMatrix::from_element(1, 1, 1.0))
        .unwrap();
    net.set_param("layers.0.bias", DMatrix::zeros(1, 1))
        .unwrap();
    // z from −12 to 12 in steps of 0.01: t = |z|/√2 crosses the split at |z| ≈ 3.54.
    let z: Vec<f64> = (-1200..=1200).map(|i| f64::from(i) / 100.0).collect();
    let x = DMatrix::from_row_slice(1, z.len(), &z);
    let expected = net.predict(&x).unwrap();
    let m = decode(&plain(net));
    let env = run(
        graph(&m),
        Tensor {
            shape: vec![z.len(), 1],
            data: z.clone(),
        },
    );
    let w = worst(&env["probabilities"].data, expected.as_slice());
    assert!(w < 1e-14, "worst difference {w:e}");
    // Far in the lower tail Φ is tiny and must stay accurate relative to itself.
    let at = |v: f64| z.iter().position(|&q| q == v).unwrap();
    for v in [-4.0, -8.0] {
        let (found, exact) = (env["probabilities"].data[at(v)], expected[(0, at(v))]);
        assert!(
            ((found - exact) / exact).abs() < 1e-12,
            "z = {v}: {found:e} vs {exact:e}"
        );
    }
}
