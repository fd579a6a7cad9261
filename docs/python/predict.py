#!/usr/bin/env python3
"""Predictions of an nn model file, with numpy, safetensors and the standard library alone.

    python3 predict.py model.safetensors data.csv [--out predictions.csv] [--delimiter ';']

The model file (written by nn-train's `ModelWriter` with a preprocessing pipeline) holds
the network's tensors and, in its metadata, the architecture (`nn.architecture`) and the
fitted pipeline (`nn.pipeline`, whose steps state their formulas). This script applies the
pipeline to the CSV file's rows (columns found by name, in any order; the label column,
if present, and any other extra column ignored), runs the dense network's forward pass in
float64, and writes one CSV row per example:

- regression: one column named after the label, the prediction in the label's units;
- classification: the predicted class under the label's name, then `p_<class>` per class
  (for one sigmoid output, the second class when its probability is at least 0.5),

the same columns as `nn predict` writes.

Supported layers: dense and dropout (the identity at inference). Supported activations:
identity, relu, leaky_relu(s), tanh, sigmoid, softmax, elu(a), selu, gelu, gelu_tanh,
silu, softplus. Anything else is refused with a message naming it. An `nn.encoder` (standardize,
min_max, PCA/ZCA whitening) after the pipeline is applied too.
"""

import argparse
import csv
import gzip
import io
import json
import math
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


class ModelError(Exception):
    """The model file asks for something this script does not do."""


# --- the table ---------------------------------------------------------------------------


def detect_delimiter(header_line):
    """The most frequent of , ; tab outside double quotes (ties: , then ; then tab)."""
    counts = {",": 0, ";": 0, "\t": 0}
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif ch == "\n" and not quoted:
            break
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = ","
    for d in (";", "\t"):
        if counts[d] > counts[best]:
            best = d
    return best


def read_table(path, delimiter=None):
    """(header, rows): every field stripped of surrounding ASCII whitespace (as nn-train's
    reader does), blank lines skipped."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8-sig")  # a byte-order mark is not part of the first name
    if delimiter is None:
        delimiter = detect_delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = [[field.strip(" \t\n\r\x0c") for field in row] for row in reader]
    rows = [r for r in rows if not (len(r) == 0 or (len(r) == 1 and r[0] == ""))]
    if not rows:
        raise ModelError(f"{path}: empty file, expected a header row")
    return rows[0], rows[1:]


# --- the pipeline ------------------------------------------------------------------------


def apply_pipeline(pipeline, header, rows):
    """X (examples as rows, float64) from the table, by the stored pipeline's formulas."""
    if pipeline.get("version") != 1:
        raise ModelError(f"nn.pipeline version {pipeline.get('version')}: this script reads 1")
    missing = set(pipeline["missing"])
    index = {name: i for i, name in enumerate(header)}
    if len(index) != len(header):
        raise ModelError("the header names a column twice")
    for r, row in enumerate(rows):
        if len(row) != len(header):
            raise ModelError(f"data row {r + 1} has {len(row)} fields, the header {len(header)}")
    blocks = []
    for col in pipeline["columns"]:
        name = col["name"]
        if name not in index:
            raise ModelError(f"the data have no column {name!r} (a feature of the model)")
        cells = [row[index[name]] for row in rows]
        if col["kind"] == "numeric":
            # impute: x = fill where missing; scale: x' = (x - shift) / scale
            try:
                x = np.array([col["fill"] if c in missing else float(c) for c in cells], dtype=np.float64)
            except ValueError as e:
                raise ModelError(f"column {name!r} is numeric in the model: {e}") from None
            blocks.append(((x - col["shift"]) / col["scale"])[:, None])
        elif col["kind"] == "categorical":
            # impute: the fill category; one-hot: x_i = 1 if the cell is categories[i];
            # an unknown category gives all zeros.
            categories = col["categories"]
            position = {c: i for i, c in enumerate(categories)}
            block = np.zeros((len(rows), len(categories)), dtype=np.float64)
            for j, c in enumerate(cells):
                k = position.get(col["fill"] if c in missing else c)
                if k is not None:
                    block[j, k] = 1.0
            blocks.append(block)
        else:
            raise ModelError(f"column {name!r}: unknown kind {col['kind']!r}")
    return np.hstack(blocks) if blocks else np.zeros((len(rows), 0))


def apply_encoder(encoder, x):
    """nn.encoder: x' = (x - shift) / scale, or matrix @ (x - shift) for whitening."""
    shift = np.array(encoder["shift"], dtype=np.float64)
    if "scale" in encoder:
        return (x - shift) / np.array(encoder["scale"], dtype=np.float64)
    n = shift.shape[0]
    w = np.array(encoder["matrix"], dtype=np.float64).reshape(n, n)  # row-major
    return (x - shift) @ w.T


# --- the network -------------------------------------------------------------------------


SELU_LAMBDA = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def activation(name):
    """The function an activation's name (its Display in nn) stands for."""
    simple = {
        "identity": lambda z: z,
        "relu": lambda z: np.maximum(z, 0.0),
        "tanh": np.tanh,
        "sigmoid": sigmoid,
        "softmax": softmax,
        "gelu": lambda z: z * 0.5 * np.vectorize(math.erfc)(-z / math.sqrt(2.0)),
        "gelu_tanh": lambda z: 0.5 * z * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z**3))),
        "silu": lambda z: z * sigmoid(z),
        "softplus": lambda z: np.logaddexp(0.0, z),
        "selu": lambda z: SELU_LAMBDA * np.where(z < 0, SELU_ALPHA * np.expm1(np.minimum(z, 0.0)), z),
    }
    if name in simple:
        return simple[name]
    if name.startswith("leaky_relu(") and name.endswith(")"):
        slope = float(name[len("leaky_relu("):-1])
        return lambda z: np.where(z > 0, z, slope * z)
    if name.startswith("elu(") and name.endswith(")"):
        alpha = float(name[len("elu("):-1])
        return lambda z: np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))
    raise ModelError(f"activation {name!r} is not supported by this script")


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward(arch, tensors, x):
    """A[l] = g(A[l-1] W[l]^T + b[l]), examples as rows."""
    if "flat" not in arch["input"]:
        raise ModelError("only flat inputs are supported (this model takes images)")
    a = x
    for i, layer in enumerate(arch["layers"]):
        kind = layer["type"]
        if kind == "dropout":
            continue
        if kind != "dense":
            raise ModelError(f"layer {i}: layer type {kind!r} is not supported by this script")
        w = tensors[f"layers.{i}.weight"].astype(np.float64)  # [out, in]
        b = tensors[f"layers.{i}.bias"].astype(np.float64)  # [out]
        a = activation(layer["activation"])(a @ w.T + b)
    return a


# --- main --------------------------------------------------------------------------------


def predict(model_path, data_path, delimiter=None):
    """(column names, rows of values) of the predictions."""
    tensors = load_file(model_path)
    with safe_open(model_path, "np") as f:
        meta = f.metadata()
    if "nn.pipeline" not in meta:
        raise ModelError("the model file has no nn.pipeline: it was saved without one")
    arch = json.loads(meta["nn.architecture"])
    pipeline = json.loads(meta["nn.pipeline"])
    header, rows = read_table(data_path, delimiter)
    x = apply_pipeline(pipeline, header, rows)
    if "nn.encoder" in meta:
        x = apply_encoder(json.loads(meta["nn.encoder"]), x)
    out = forward(arch, tensors, x)
    target = pipeline["target"]
    if target["task"] == "regression":
        # y = y' * scale + shift
        y = out[:, 0] * target["scale"] + target["shift"]
        return [target["name"]], [[repr(float(v))] for v in y]
    classes = target["classes"]
    if out.shape[1] == 1:  # one sigmoid unit: the probability of classes[1], class 1 if p >= 0.5
        best = (out[:, 0] >= 0.5).astype(int)
        out = np.hstack([1.0 - out, out])
    else:  # the first of equal largest probabilities
        best = np.argmax(out, axis=1)
    columns = [target["name"]] + [f"p_{c}" for c in classes]
    lines = [[classes[k]] + [repr(float(v)) for v in p] for k, p in zip(best, out)]
    return columns, lines


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("--out", help="CSV file to write (default: standard output)")
    parser.add_argument("--delimiter", help="field separator (default: detected from the header)")
    args = parser.parse_args(argv)
    delimiter = args.delimiter.replace("\\t", "\t") if args.delimiter else None
    try:
        columns, lines = predict(args.model, args.data, delimiter)
    except ModelError as e:
        print(f"predict.py: {e}", file=sys.stderr)
        return 2
    sink = open(args.out, "w", newline="") if args.out else sys.stdout
    try:
        writer = csv.writer(sink, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(lines)
    finally:
        if args.out:
            sink.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
