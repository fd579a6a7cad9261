#!/usr/bin/env python3
"""Read an nn model file and predict with it, with numpy, safetensors and the standard
library alone.

    import nn_model
    model = nn_model.load("model.safetensors")
    model.layers, model.dtype, model.encoder, model.pipeline    # what the file holds
    model.classes, model.features, model.label, model.input_names
    p = model.predict(x)          # x: rows (N x features, or N x C x H x W for images)
    p = model.predict_table("new.csv")                           # a table, as `nn predict`
    columns, rows = model.prediction_rows("new.csv")             # its CSV columns

On the command line it writes the same CSV columns as `nn predict`:

    python3 nn_model.py model.safetensors data.csv [--out predictions.csv] [--delimiter ';']

What it reads (nn-train's "Model files" section has the layout): the tensors
`layers.{i}.weight` / `layers.{i}.bias`, and the metadata `nn.architecture` (input shape,
layers, dtype), `nn.encoder` (standardize and min_max: `x' = (x - shift) / scale`;
PCA/ZCA whitening: `x' = matrix (x - shift)`, as its `formula` states), `nn.pipeline`
(imputation, one-hot encoding, scaling and the regression target's scale, each step with
its formula), `nn.classes`, `nn.features` and `nn.label`.

`model.predict(x)` computes what the model's ONNX export computes: for a model with a
pipeline, `x` is the pipeline's input vector after imputation and one-hot encoding (the
names `model.input_names`), which it scales; then the encoder, the network, and for
regression the target's scale undone (the label's units). Outputs are `N x outputs`
(a network that ends on an image has it flattened, `C*H*W` per row, channel-major).
`model.logits(x)` is the last layer's pre-activation. `model.predict_table` reads the
columns by name and applies the whole pipeline, as `nn predict` does.

Layers: dense, conv2d (stride, zero padding), max_pool2d, avg_pool2d, flatten, dropout
(the identity at inference). Activations: identity, step, sigmoid, tanh, relu,
leaky_relu(s), softmax (over each example's features, `C*H*W` for a conv layer),
elu(a), selu, gelu, gelu_tanh, silu (swish), softplus, in their numerically stable
forms. Anything else is refused with a `ModelError` naming it.

Precision: everything is computed in float64, also for an f32 model (whose parameters are
exact in float64); the results then differ from nn's float32 arithmetic by its rounding,
a few 1e-7 relative, and agree with an f64 model to about 1e-15.
"""

import argparse
import csv
import gzip
import io
import json
import math
import sys

import numpy as np
from safetensors import SafetensorError, safe_open

__all__ = ["ModelError", "Model", "Encoder", "load", "read_table", "main"]

FORMAT_VERSION = "1"
PIPELINE_VERSION = 1


class ModelError(Exception):
    """The model file, or the data given to it, is not what this module can use; the
    message says what was expected and what was found."""


# --- activations ---------------------------------------------------------------------


SELU_LAMBDA = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772
SQRT_2_OVER_PI = 0.7978845608028654
GELU_TANH_CUBIC = 0.044715


def sigmoid(z):
    """1 / (1 + e^-z) without overflow: e^-|z| is at most 1."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _erfc(t):
    """erfc(t), vectorised: the Taylor series of erf for |t| < 2.5, the continued fraction
    of erfc beyond (erfc(-t) = 2 - erfc(t)); within 1e-14 of math.erfc (absolute; the
    series loses relative accuracy where erfc is small, just below 2.5)."""
    t = np.asarray(t, dtype=np.float64)
    a = np.abs(t)
    small = a < 2.5
    # erf(t) = 2/sqrt(pi) sum_n (-1)^n t^(2n+1) / (n! (2n+1)); 60 terms reach 1e-17 at 2.5.
    ts = np.where(small, t, 0.0)
    term = ts.copy()
    total = ts.copy()
    t2 = ts * ts
    for n in range(1, 60):
        term = term * (-t2) / n
        total = total + term / (2 * n + 1)
    erfc_small = 1.0 - total * (2.0 / math.sqrt(math.pi))
    # erfc(a) = e^(-a^2)/sqrt(pi) * 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))), a >= 2.5.
    ab = np.where(small, 2.5, a)
    frac = ab.copy()
    for k in range(120, 0, -1):
        frac = ab + (k / 2.0) / frac
    with np.errstate(under="ignore"):
        erfc_big = np.exp(-ab * ab) / (math.sqrt(math.pi) * frac)
    erfc_big = np.where(t < 0, 2.0 - erfc_big, erfc_big)
    return np.where(small, erfc_small, erfc_big)


def _softmax_rows(z):
    """Softmax over each example's features (all axes but the first), max subtracted."""
    flat = z.reshape(z.shape[0], -1)
    e = np.exp(flat - flat.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).reshape(z.shape)


def _elu(z, alpha):
    return np.where(z < 0, alpha * np.expm1(np.minimum(z, 0.0)), z)


def _gelu_tanh(z):
    with np.errstate(over="ignore", invalid="ignore"):
        v = 2.0 * SQRT_2_OVER_PI * (z + GELU_TANH_CUBIC * z * z * z)
        return z * sigmoid(v)


_ACTIVATIONS = {
    "identity": lambda z: z,
    "linear": lambda z: z,
    "step": lambda z: (z >= 0).astype(np.float64),
    "sigmoid": sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.where(z >= 0, z, 0.0),
    "softmax": _softmax_rows,
    "selu": lambda z: SELU_LAMBDA * _elu(z, SELU_ALPHA),
    "gelu": lambda z: z * (0.5 * _erfc(-z / math.sqrt(2.0))),
    "gelu_tanh": _gelu_tanh,
    "silu": lambda z: z * sigmoid(z),
    "swish": lambda z: z * sigmoid(z),
    "softplus": lambda z: np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z))),
}

_PARAMETERISED = {
    "leaky_relu": (0.01, lambda s: lambda z: np.where(z >= 0, z, s * z)),
    "elu": (1.0, lambda a: lambda z: _elu(z, a)),
}


def activation(name):
    """The function `g` that an activation's name in a model file stands for: `relu`,
    `leaky_relu(0.2)`, `elu(1)`, … (nn's `Activation` Display form)."""
    if not isinstance(name, str):
        raise ModelError(f"an activation is a name, found {name!r}")
    text = name.strip().lower()
    if text in _ACTIVATIONS:
        return _ACTIVATIONS[text]
    base, _, rest = text.partition("(")
    if base in _PARAMETERISED:
        default, make = _PARAMETERISED[base]
        if not rest:
            return make(default)
        if not rest.endswith(")"):
            raise ModelError(f"activation {name!r}: expected {base}(number)")
        try:
            value = float(rest[:-1])
        except ValueError:
            raise ModelError(f"activation {name!r}: the parameter is not a number") from None
        if not (math.isfinite(value) and value >= 0):
            raise ModelError(f"activation {name!r}: the parameter must be finite and >= 0")
        return make(value)
    known = sorted(set(_ACTIVATIONS) | {f"{b}(x)" for b in _PARAMETERISED})
    raise ModelError(f"unknown activation {name!r} (this reader knows {', '.join(known)})")


# --- layers ----------------------------------------------------------------------------


def _pair(layer, i, key):
    v = layer.get(key)
    if not (isinstance(v, list) and len(v) == 2 and all(isinstance(k, int) and k >= 0 for k in v)):
        raise ModelError(f"layer {i} ({layer.get('type')}): {key} must be [height, width], found {v!r}")
    return v


def _windows(a, kernel, stride):
    """Every window of `a` (N x C x H x W): N x C x H_out x W_out x kh x kw, a view."""
    view = np.lib.stride_tricks.sliding_window_view(a, tuple(kernel), axis=(2, 3))
    return view[:, :, :: stride[0], :: stride[1]]


def _out_size(n, k, s, p, what):
    if k < 1 or s < 1 or n + 2 * p < k:
        raise ModelError(f"{what}: a {k} window with stride {s} and padding {p} does not fit {n} values")
    return (n + 2 * p - k) // s + 1


class Layer:
    """One layer as the model file describes it: `kind` (its `type`), `config` (its JSON),
    `input_shape` and `output_shape` of one example, and its parameters (float64)."""

    def __init__(self, index, config, input_shape, tensors, dtype):
        self.index = index
        self.config = config
        self.kind = config.get("type") if isinstance(config, dict) else None
        self.input_shape = input_shape
        self.weight = None
        self.bias = None
        self.g = None
        where = f"layer {index} ({self.kind})"
        if not isinstance(config, dict):
            raise ModelError(f"layer {index}: expected a JSON object, found {config!r}")
        n_in = int(np.prod(input_shape))
        if self.kind == "dense":
            units = config.get("units")
            if not (isinstance(units, int) and units >= 1):
                raise ModelError(f"{where}: units must be a positive integer, found {units!r}")
            self._params(tensors, dtype, (units, n_in), (units,))
            self.g = activation(config.get("activation"))
            self.output_shape = (units,)
        elif self.kind == "conv2d":
            c, h, w = self._image(input_shape, where)
            out = config.get("out_channels")
            if not (isinstance(out, int) and out >= 1):
                raise ModelError(f"{where}: out_channels must be a positive integer, found {out!r}")
            self.kernel = _pair(config, index, "kernel")
            self.stride = _pair(config, index, "stride")
            self.padding = _pair(config, index, "padding")
            ho = _out_size(h, self.kernel[0], self.stride[0], self.padding[0], f"{where}, height")
            wo = _out_size(w, self.kernel[1], self.stride[1], self.padding[1], f"{where}, width")
            self._params(tensors, dtype, (out, c, *self.kernel), (out,))
            self.g = activation(config.get("activation"))
            self.output_shape = (out, ho, wo)
        elif self.kind in ("max_pool2d", "avg_pool2d"):
            c, h, w = self._image(input_shape, where)
            self.kernel = _pair(config, index, "kernel")
            self.stride = _pair(config, index, "stride")
            ho = _out_size(h, self.kernel[0], self.stride[0], 0, f"{where}, height")
            wo = _out_size(w, self.kernel[1], self.stride[1], 0, f"{where}, width")
            self.output_shape = (c, ho, wo)
        elif self.kind == "flatten":
            self.output_shape = (n_in,)
        elif self.kind == "dropout":
            self.output_shape = input_shape
        else:
            raise ModelError(
                f"layer {index}: layer type {self.kind!r} is not supported by this reader "
                "(it reads dense, conv2d, max_pool2d, avg_pool2d, flatten and dropout)"
            )

    @staticmethod
    def _image(shape, where):
        if len(shape) != 3:
            raise ModelError(f"{where}: takes images (C x H x W), but its input is {shape[0]} flat values")
        return shape

    def _params(self, tensors, dtype, weight_shape, bias_shape):
        for name, shape in (("weight", weight_shape), ("bias", bias_shape)):
            key = f"layers.{self.index}.{name}"
            if key not in tensors:
                raise ModelError(f"no tensor {key!r}, which layer {self.index} ({self.kind}) needs")
            t = tensors[key]
            if tuple(t.shape) != tuple(shape):
                raise ModelError(
                    f"tensor {key!r} has shape {list(t.shape)}, but the architecture needs {list(shape)}"
                )
            if t.dtype != dtype:
                raise ModelError(f"tensor {key!r} is {t.dtype}, the architecture says {dtype}")
            if not np.all(np.isfinite(t)):
                raise ModelError(f"tensor {key!r} holds a value that is not finite")
            setattr(self, name, t.astype(np.float64))

    def pre_activation(self, a):
        """`z` of a dense or conv2d layer; the output itself of any other layer."""
        if self.kind == "dense":
            return a.reshape(a.shape[0], -1) @ self.weight.T + self.bias
        if self.kind == "conv2d":
            ph, pw = self.padding
            padded = np.pad(a, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
            cols = _windows(padded, self.kernel, self.stride)  # N, C, Ho, Wo, kh, kw
            z = np.tensordot(cols, self.weight, axes=([1, 4, 5], [1, 2, 3]))  # N, Ho, Wo, O
            return z.transpose(0, 3, 1, 2) + self.bias[None, :, None, None]
        if self.kind == "max_pool2d":
            return _windows(a, self.kernel, self.stride).max(axis=(4, 5))
        if self.kind == "avg_pool2d":
            return _windows(a, self.kernel, self.stride).mean(axis=(4, 5))
        if self.kind == "flatten":
            return a.reshape(a.shape[0], -1)
        return a  # dropout

    def forward(self, a):
        z = self.pre_activation(a)
        if self.g is None:
            return z
        with np.errstate(over="ignore", under="ignore"):
            return self.g(z)

    def __repr__(self):
        return f"Layer({self.index}, {self.kind}, {self.input_shape} -> {self.output_shape})"


# --- the encoder -----------------------------------------------------------------------


def _numbers(what, v, n=None):
    if not (isinstance(v, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)):
        raise ModelError(f"{what} must be an array of numbers")
    a = np.array(v, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ModelError(f"{what} holds a value that is not finite")
    if n is not None and a.size != n:
        raise ModelError(f"{what} has {a.size} numbers, expected {n}")
    return a


class Encoder:
    """The stored input encoder (`nn.encoder`): `kind`, `shift`, then `scale` (standardize,
    min_max: `x' = (x - shift) / scale`) or `matrix` (PCA/ZCA whitening:
    `x' = matrix (x - shift)`, on rows `(x - shift) @ matrix.T`), `epsilon`, and the
    `formula` in words (None in files written before it was stored)."""

    KINDS = ("standardize", "min_max", "pca_whitening", "zca_whitening")

    def __init__(self, form, n_features):
        if not isinstance(form, dict):
            raise ModelError("nn.encoder must be a JSON object")
        self.kind = form.get("kind")
        if self.kind not in self.KINDS:
            raise ModelError(f"nn.encoder: unknown kind {self.kind!r} (known: {', '.join(self.KINDS)})")
        self.formula = form.get("formula")
        self.epsilon = form.get("epsilon")
        self.shift = _numbers("nn.encoder shift", form.get("shift"))
        n = self.shift.size
        if n != n_features:
            raise ModelError(f"nn.encoder takes {n} features, but the network takes {n_features}")
        self.scale = self.matrix = self.inverse = None
        if self.kind in ("standardize", "min_max"):
            self.scale = _numbers("nn.encoder scale", form.get("scale"), n)
            if np.any(self.scale <= 0):
                raise ModelError("nn.encoder scale must be positive")
        else:
            self.matrix = _numbers("nn.encoder matrix", form.get("matrix"), n * n).reshape(n, n)
            self.inverse = _numbers("nn.encoder inverse", form.get("inverse"), n * n).reshape(n, n)

    def transform(self, x):
        """Encodes rows `x` (N x n_features), float64."""
        if self.scale is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                v = (x - self.shift) / self.scale
                # Where x - shift overflows (features near the float64 limit), as nn does.
                return np.where(np.isfinite(v), v, x / self.scale - self.shift / self.scale)
        return (x - self.shift) @ self.matrix.T

    def inverse_transform(self, z):
        """Decodes encoded rows back to the input space."""
        if self.scale is not None:
            return z * self.scale + self.shift
        return z @ self.inverse.T + self.shift

    def __repr__(self):
        return f"Encoder({self.kind}, {self.shift.size} features)"


# --- the pipeline ----------------------------------------------------------------------


class Pipeline:
    """The stored preprocessing pipeline (`nn.pipeline`): `columns` (name, kind, fill and
    shift/scale or categories), `missing` tokens, `inputs` (the network inputs' names),
    `target` (task, name, classes or shift/scale); `form` is the whole JSON, with the
    formula of every step."""

    def __init__(self, form, n_inputs):
        if not isinstance(form, dict):
            raise ModelError("nn.pipeline must be a JSON object")
        if form.get("version") != PIPELINE_VERSION:
            raise ModelError(f"nn.pipeline version {form.get('version')!r}: this reader reads {PIPELINE_VERSION}")
        self.form = form
        try:
            self.missing = set(form["missing"]) | {""}  # an empty cell is always missing
            self.columns = form["columns"]
            self.inputs = list(form["inputs"])
            self.target = form["target"]
            task = self.target["task"]
            self.label = self.target["name"]
        except (KeyError, TypeError) as e:
            raise ModelError(f"nn.pipeline lacks the field {e}") from None
        shift, scale = [], []
        for col in self.columns:
            kind = col.get("kind") if isinstance(col, dict) else None
            if kind == "numeric":
                for key in ("fill", "shift", "scale"):
                    if not isinstance(col.get(key), (int, float)) or not math.isfinite(col[key]):
                        raise ModelError(f"nn.pipeline column {col.get('name')!r}: {key} must be a finite number")
                if col["scale"] <= 0:
                    raise ModelError(f"nn.pipeline column {col.get('name')!r}: scale must be positive")
                shift.append(col["shift"])
                scale.append(col["scale"])
            elif kind == "categorical":
                k = len(col.get("categories") or [])
                shift.extend([0.0] * k)
                scale.extend([1.0] * k)
            else:
                raise ModelError(f"nn.pipeline column {col!r}: unknown kind {kind!r}")
        if len(shift) != n_inputs or len(self.inputs) != n_inputs:
            raise ModelError(
                f"nn.pipeline makes {len(shift)} inputs ({len(self.inputs)} named), but the network takes {n_inputs}"
            )
        self.shift = np.array(shift)
        self.scale = np.array(scale)
        if task == "classification":
            self.classes = list(self.target.get("classes") or [])
        elif task == "regression":
            self.classes = None
            for key in ("shift", "scale"):
                if not isinstance(self.target.get(key), (int, float)):
                    raise ModelError(f"nn.pipeline target: {key} must be a number")
        else:
            raise ModelError(f"nn.pipeline target: unknown task {task!r}")
        self.task = task

    @property
    def feature_names(self):
        return [c["name"] for c in self.columns]

    def vector(self, header, rows):
        """The input vector before scaling (imputed numbers, one-hot categories), N x inputs."""
        index = {name: i for i, name in enumerate(header)}
        blocks = []
        for col in self.columns:
            name = col["name"]
            if name not in index:
                raise ModelError(f"the data have no column {name!r} (a feature of the model)")
            cells = [row[index[name]] for row in rows]
            if col["kind"] == "numeric":
                # impute: x = fill where missing
                x = np.empty(len(rows))
                for j, c in enumerate(cells):
                    if c in self.missing:
                        x[j] = col["fill"]
                        continue
                    try:
                        x[j] = float(c)
                    except ValueError:
                        x[j] = math.nan
                    if not math.isfinite(x[j]) or "_" in c:
                        raise ModelError(
                            f"data row {j + 1}, column {name!r}: expected a number, found {c!r} "
                            "(the column is numeric in the model)"
                        )
                blocks.append(x[:, None])
            else:
                # one-hot: x_i = 1 if the (imputed) cell is categories[i]; unknown: all zeros
                categories = col.get("categories") or []
                position = {c: i for i, c in enumerate(categories)}
                block = np.zeros((len(rows), len(categories)))
                for j, c in enumerate(cells):
                    k = position.get(col["fill"] if c in self.missing else c)
                    if k is not None:
                        block[j, k] = 1.0
                blocks.append(block)
        return np.hstack(blocks) if blocks else np.zeros((len(rows), 0))

    def scale_inputs(self, v):
        """x' = (x - shift) / scale (shift 0, scale 1 for one-hot inputs)."""
        return (v - self.shift) / self.scale

    def unscale_target(self, y):
        """y = y' * scale + shift for regression; classification outputs unchanged."""
        if self.task == "regression":
            return y * self.target["scale"] + self.target["shift"]
        return y


# --- the model -------------------------------------------------------------------------


def _json(meta, key, default=None):
    if key not in meta:
        return default
    try:
        return json.loads(meta[key])
    except json.JSONDecodeError as e:
        raise ModelError(f"{key} is not JSON: {e}") from None


def _strings(meta, key, count=None):
    v = _json(meta, key)
    if v is None:
        return None
    if not (isinstance(v, list) and all(isinstance(s, str) for s in v)):
        raise ModelError(f"{key} must be an array of strings")
    if count is not None and len(v) != count[0]:
        raise ModelError(f"{key} has {len(v)} names, but {count[1]}")
    return v


class Model:
    """A loaded nn model file (see the module docs). Attributes: `path`, `dtype`
    (numpy's float32 or float64), `input_shape` ((n,) or (C, H, W)), `layers`
    ([Layer]), `architecture` (the JSON), `encoder` (Encoder or None), `pipeline`
    (Pipeline or None), `classes`, `features`, `label`, `input_names`, `metadata`."""

    def __init__(self, path, tensors, meta):
        self.path = str(path)
        self.metadata = meta
        if "nn.architecture" not in meta:
            raise ModelError("no nn.architecture in the metadata: not an nn model file")
        version = meta.get("nn.format_version")
        if version != FORMAT_VERSION:
            raise ModelError(f"nn.format_version {version!r}: this reader reads {FORMAT_VERSION!r}")
        kind = meta.get("nn.kind")
        if kind not in ("model", "checkpoint"):
            raise ModelError(f"nn.kind {kind!r}: expected \"model\" or \"checkpoint\"")
        arch = _json(meta, "nn.architecture")
        if not isinstance(arch, dict):
            raise ModelError("nn.architecture must be a JSON object")
        self.architecture = arch
        dtypes = {"f32": np.dtype(np.float32), "f64": np.dtype(np.float64)}
        if arch.get("dtype") not in dtypes:
            raise ModelError(f"nn.architecture dtype {arch.get('dtype')!r}: expected f32 or f64")
        self.dtype = dtypes[arch["dtype"]]
        shape = arch.get("input")
        if isinstance(shape, dict) and isinstance(shape.get("flat"), int) and shape["flat"] >= 1:
            self.input_shape = (shape["flat"],)
        elif (
            isinstance(shape, dict)
            and isinstance(shape.get("image"), list)
            and len(shape["image"]) == 3
            and all(isinstance(k, int) and k >= 1 for k in shape["image"])
        ):
            self.input_shape = tuple(shape["image"])
        else:
            raise ModelError(f"nn.architecture input {shape!r}: expected {{\"flat\": n}} or {{\"image\": [c, h, w]}}")
        configs = arch.get("layers")
        if not isinstance(configs, list) or not configs:
            raise ModelError("nn.architecture has no layers")
        self.layers = []
        current = self.input_shape
        for i, config in enumerate(configs):
            layer = Layer(i, config, current, tensors, self.dtype)
            self.layers.append(layer)
            current = layer.output_shape
        self.output_shape = current
        needed = {f"layers.{l.index}.{p}" for l in self.layers if l.weight is not None for p in ("weight", "bias")}
        extra = sorted(k for k in set(tensors) - needed if not (kind == "checkpoint" and k.startswith("optimizer.")))
        if extra:
            raise ModelError(f"tensors the architecture has no place for: {', '.join(extra)}")
        n_in = int(np.prod(self.input_shape))
        n_out = int(np.prod(self.output_shape))
        enc = _json(meta, "nn.encoder")
        self.encoder = None if enc is None else Encoder(enc, n_in)
        pipe = _json(meta, "nn.pipeline")
        self.pipeline = None if pipe is None else Pipeline(pipe, n_in)
        out_names = (n_out, f"the network has {n_out} outputs")
        if n_out == 1:
            out_names = None  # one sigmoid unit: two classes
        self.classes = _strings(meta, "nn.classes", out_names)
        if self.classes is not None and n_out == 1 and len(self.classes) != 2:
            raise ModelError(f"nn.classes has {len(self.classes)} names for one output unit (expected 2)")
        self.features = _strings(meta, "nn.features", (n_in, f"the network takes {n_in} inputs"))
        self.label = _json(meta, "nn.label")
        if self.label is not None and not isinstance(self.label, str):
            raise ModelError("nn.label must be a string")
        if self.pipeline is not None:
            if self.pipeline.classes is not None:
                if self.classes is not None and self.classes != self.pipeline.classes:
                    raise ModelError("nn.classes differ from the classes of nn.pipeline")
                self.classes = self.pipeline.classes
            if self.label is not None and self.label != self.pipeline.label:
                raise ModelError("nn.label differs from the label of nn.pipeline")
            self.label = self.pipeline.label
        self.input_names = self.pipeline.inputs if self.pipeline is not None else self.features

    # -- predicting ------------------------------------------------------------------

    def _rows(self, x):
        x = np.asarray(x)
        if x.dtype.kind not in "fiub":
            raise ModelError(f"inputs must be numbers, found an array of {x.dtype}")
        x = x.astype(np.float64)
        width = len(self.pipeline.inputs) if self.pipeline is not None else int(np.prod(self.input_shape))
        if x.ndim == 1 and x.size == width:
            x = x[None, :]
        if x.ndim < 2 or int(np.prod(x.shape[1:])) != width:
            expected = "x".join(map(str, self.input_shape)) if self.pipeline is None else str(width)
            raise ModelError(
                f"inputs of shape {list(x.shape)}: this model takes rows of {expected} values (N x {expected})"
            )
        if not np.all(np.isfinite(x)):
            raise ModelError("the inputs hold a value that is not finite")
        x = x.reshape(x.shape[0], -1)
        if self.pipeline is not None:
            x = self.pipeline.scale_inputs(x)
        if self.encoder is not None:
            x = self.encoder.transform(x)
        return x.reshape((x.shape[0],) + self.input_shape)

    def _run(self, x, layers):
        a = self._rows(x)
        for layer in layers:
            a = layer.forward(a)
        return a

    def predict(self, x):
        """The model's outputs for rows `x` (N x features, or N x C x H x W; one row may be
        given as a vector): probabilities for a classifier, values in the label's units for
        a regression pipeline; N x outputs, float64."""
        a = self._run(x, self.layers)
        a = a.reshape(a.shape[0], -1)
        if self.pipeline is not None:
            a = self.pipeline.unscale_target(a)
        return a

    def logits(self, x):
        """The last dense or conv2d layer's pre-activation (N x outputs), for a network
        that ends in one (followed only by dropout or flatten)."""
        last = max((l.index for l in self.layers if l.kind in ("dense", "conv2d")), default=None)
        if last is None or any(l.kind not in ("dropout", "flatten") for l in self.layers[last + 1 :]):
            raise ModelError("the network does not end in a dense or conv2d layer: it has no logits")
        a = self._run(x, self.layers[:last])
        z = self.layers[last].pre_activation(a)
        return z.reshape(z.shape[0], -1)

    def _table_inputs(self, table, delimiter=None):
        header, rows = read_table(table, delimiter) if isinstance(table, (str, bytes)) or hasattr(table, "__fspath__") else table
        header = list(header)
        if len(set(header)) != len(header):
            raise ModelError("the header names a column twice")
        for r, row in enumerate(rows):
            if len(row) != len(header):
                raise ModelError(f"data row {r + 1} has {len(row)} fields, the header {len(header)}")
        if self.pipeline is not None:
            return self.pipeline.vector(header, rows)
        # No pipeline: the feature columns by name (or every column but the label), numbers.
        names = self.features or [h for h in header if h != self.label]
        n = int(np.prod(self.input_shape))
        if len(names) != n:
            raise ModelError(f"the model takes {n} feature columns, the data have {len(names)} ({', '.join(names)})")
        x = np.empty((len(rows), n))
        for i, name in enumerate(names):
            if name not in header:
                raise ModelError(f"the data have no column {name!r} (a feature of the model)")
            k = header.index(name)
            for j, row in enumerate(rows):
                try:
                    x[j, i] = float(row[k])
                except ValueError:
                    raise ModelError(f"data row {j + 1}, column {name!r}: expected a number, found {row[k]!r}") from None
        return x

    def predict_table(self, table, delimiter=None):
        """Predictions for the rows of a table: a CSV file's path (plain or gzip; the
        delimiter detected from the header unless given) or (header, rows of strings).
        The columns are found by name, in any order; the pipeline (or, for a model
        without one, the feature columns as numbers) gives the inputs. N x outputs."""
        return self.predict(self._table_inputs(table, delimiter))

    def prediction_rows(self, table, delimiter=None):
        """(columns, rows) of `nn predict`'s CSV for a table: with class names, the
        predicted class under the label's name and `p_<class>` per class (one sigmoid
        output: the second class when its probability is at least 0.5, else the first
        of the largest); without, the label's name (or `<label>_<i>` per output)."""
        out = self.predict_table(table, delimiter)
        label = self.label or "prediction"
        if self.classes is None:
            columns = [label] if out.shape[1] == 1 else [f"{label}_{i}" for i in range(out.shape[1])]
            return columns, [[_number(v) for v in row] for row in out]
        if out.shape[1] == 1:
            best = (out[:, 0] >= 0.5).astype(int)
            out = np.hstack([1.0 - out, out])
        else:
            best = np.argmax(out, axis=1)  # the first of equal largest
        columns = [label] + [f"p_{c}" for c in self.classes]
        return columns, [[self.classes[k]] + [_number(v) for v in p] for k, p in zip(best, out)]

    def __repr__(self):
        layers = ", ".join(l.kind for l in self.layers)
        return f"Model({self.path!r}, {self.dtype}, input {self.input_shape}, layers [{layers}])"


def _number(v):
    return repr(float(v))


def load(path):
    """Reads the nn model file (or checkpoint) at `path`; raises ModelError, naming the
    problem, for a file this reader cannot use."""
    try:
        with safe_open(str(path), "np") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, TypeError) as e:
        raise ModelError(f"{path}: not a readable safetensors file: {e}") from None
    try:
        return Model(path, tensors, meta)
    except ModelError as e:
        raise ModelError(f"{path}: {e}") from None


# --- tables ----------------------------------------------------------------------------


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
    """(header, rows) of a CSV file (gzip too): every field stripped of surrounding ASCII
    whitespace (as nn-train's reader does), blank lines skipped."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ModelError(f"{path}: {e.strerror}") from None
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark is not part of the first name
    except UnicodeDecodeError as e:
        raise ModelError(f"{path}: not UTF-8 text: {e}") from None
    if delimiter is None:
        delimiter = detect_delimiter(text.split("\n", 1)[0])
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = [[field.strip(" \t\n\r\x0c") for field in row] for row in reader]
    except csv.Error as e:
        raise ModelError(f"{path}: {e}") from None
    rows = [r for r in rows if not (len(r) == 0 or (len(r) == 1 and r[0] == ""))]
    if not rows:
        raise ModelError(f"{path}: empty file, expected a header row")
    return rows[0], rows[1:]


# --- the command line ------------------------------------------------------------------


def main(argv=None, prog="nn_model.py"):
    """`nn predict` in Python: the model's predictions for a CSV file, as CSV."""
    parser = argparse.ArgumentParser(prog=prog, description="Predictions of an nn model file for a CSV table, as CSV (the columns of `nn predict`).")
    parser.add_argument("model", help="the model file (.safetensors) written by nn")
    parser.add_argument("data", help="the CSV table (plain or .gz); columns found by name")
    parser.add_argument("--out", help="CSV file to write (default: standard output)")
    parser.add_argument("--delimiter", help="field separator (default: detected from the header)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    delimiter = args.delimiter.replace("\\t", "\t") if args.delimiter else None
    try:
        columns, lines = load(args.model).prediction_rows(args.data, delimiter)
    except ModelError as e:
        print(f"{prog}: {e}", file=sys.stderr)
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
    sys.exit(main())
