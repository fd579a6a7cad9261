"""ONNX Runtime peer: the same MLP as an ONNX graph built with the `onnx` package's
helpers (`Gemm` with `transB=1` per layer on rows, the hidden activation, then `Softmax`
over the classes or `Sigmoid`), and the same CNN (`Conv`, `Relu`, `MaxPool`, `Flatten`,
`Gemm` on N×C×H×W images), run by `onnxruntime` on the CPU execution provider with
`--threads` intra-op threads, float32. ONNX Runtime only runs graphs, so it measures
inference: throughput on 1024-example batches and the latency of one prediction of 1 and
of 16 examples, with nn's protocol. The weights are the peers' shared initial ones.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

ARGS = common.setup("ort")  # before the imports below: it pins the CPUs

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

OPSET = 17


def graph(spec):
    """The workload's network as an ONNX model: input `x` (N × inputs), output `y`."""
    sizes = spec["sizes"]
    hidden = {"relu": "Relu", "tanh": "Tanh"}[spec["hidden"]]
    nodes, inits = [], []
    a = "x"
    for l, (w, b) in enumerate(common.init_params(spec, np)):
        inits.append(numpy_helper.from_array(w, f"W{l}"))  # (out, in): transB
        inits.append(numpy_helper.from_array(b.ravel(), f"b{l}"))
        z = f"z{l}"
        nodes.append(helper.make_node("Gemm", [a, f"W{l}", f"b{l}"], [z], transB=1))
        if l < len(sizes) - 2:
            a = f"a{l}"
            nodes.append(helper.make_node(hidden, [z], [a]))
        else:
            out = "Softmax" if spec["output"] == "softmax" else "Sigmoid"
            attrs = {"axis": 1} if out == "Softmax" else {}
            nodes.append(helper.make_node(out, [z], ["y"], **attrs))
    g = helper.make_graph(
        nodes,
        spec["id"],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", sizes[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", sizes[-1]])],
        inits,
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model)
    return model


def cnn_graph(spec):
    """The CNN workload as an ONNX model: input `x` (N × C × H × W), output `y`."""
    params = iter(common.init_cnn_params(spec, np))
    shapes = common.cnn_shapes(spec)
    nodes, inits = [], []
    a, flat = "x", False
    for l, (layer, _) in enumerate(shapes):
        out = f"a{l}"
        if layer["type"] == "max_pool":
            k = layer["kernel"]
            nodes.append(helper.make_node("MaxPool", [a], [out], kernel_shape=[k, k], strides=[k, k]))
            a = out
            continue
        w, b = next(params)
        inits.append(numpy_helper.from_array(w, f"W{l}"))
        inits.append(numpy_helper.from_array(b, f"b{l}"))
        z = f"z{l}"
        if layer["type"] == "conv":
            p = layer["padding"]
            nodes.append(
                helper.make_node("Conv", [a, f"W{l}", f"b{l}"], [z], pads=[p, p, p, p])
            )
        else:
            if not flat:
                nodes.append(helper.make_node("Flatten", [a], ["flat"], axis=1))
                a, flat = "flat", True
            nodes.append(helper.make_node("Gemm", [a, f"W{l}", f"b{l}"], [z], transB=1))
        if l < len(shapes) - 1:
            nodes.append(helper.make_node("Relu", [z], [out]))
            a = out
        else:
            nodes.append(helper.make_node("Softmax", [z], ["y"], axis=1))
    g = helper.make_graph(
        nodes,
        spec["id"],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *spec["image"]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", spec["sizes"][-1]])],
        inits,
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model)
    return model


def main():
    args = ARGS
    report = common.Report("ort", args)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    report.info(
        ort.__version__,
        f"onnxruntime {ort.__version__} (onnx {onnx.__version__}, opset {OPSET}), CPU "
        f"execution provider, {args.threads} intra-op thread(s)",
    )
    for spec in common.workloads(args, ("mlp", "cnn")):
        cnn = spec["arch"] == "cnn"
        session = ort.InferenceSession(
            (cnn_graph if cnn else graph)(spec).SerializeToString(),
            options,
            providers=["CPUExecutionProvider"],
        )
        x, _, _ = common.data(spec, np)
        rows = np.ascontiguousarray(x.T)
        if cnn:
            rows = rows.reshape(-1, *spec["image"])
        xb = rows[: spec["infer_batch"]]

        def infer():
            for _ in range(spec["infer_reps"]):
                session.run(["y"], {"x": xb})

        report.result(spec, "infer", common.measure(spec, infer))
        if spec["id"] in common.LATENCY_WORKLOADS:
            for width in common.LATENCY_BATCHES:
                xq = np.ascontiguousarray(rows[:width])
                report.latency(spec, width, common.latencies(lambda: session.run(["y"], {"x": xq})))
    report.write()


if __name__ == "__main__":
    main()
