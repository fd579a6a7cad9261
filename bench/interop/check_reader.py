"""Checks the Python reader `docs/python/nn_model.py` against nn itself, in two parts:

1. models: for every `<name>.model.safetensors` that nn-train's `onnx_models` example
   wrote into the given folder (one per layer kind, activation, encoder and pipeline
   task, in f32 and f64), the reader's `predict` and `logits` on the input rows saved
   beside it in `<name>.io.safetensors`, compared with nn's outputs saved there;
2. data sets: for each bundled data set, `nn train` then `nn predict` on the same CSV
   file, and the reader's command line on it; every column is compared (the header and
   the predicted classes equal, probabilities within the limit).

The reader computes in float64 whatever the model's type. The difference of a value is
|reader - nn| / max(|nn|, 1); the limit is 1e-5 for f32 models (nn's float32 rounding)
and 1e-12 for f64 ones. A predicted class may differ only where nn's two largest
probabilities are within the limit of each other (a tie at the model's precision); such
rows are counted and printed. Prints the versions and the worst difference per model;
exits non-zero if any check fails.

    python check_reader.py <models folder> --nn <nn binary> --data <folder of CSV files> --work <scratch folder>
"""

import argparse
import csv
import pathlib
import subprocess
import sys

import numpy as np
import safetensors
from safetensors.numpy import load_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "python"))

import nn_model  # noqa: E402

LIMITS = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}

# (file, nn train options): both precisions, two architectures per data set.
DATASETS = [
    ("breast_cancer.csv.gz", ["--dtype", "f32"]),
    ("breast_cancer.csv.gz", ["--dtype", "f64", "--layers", "32,16", "--activation", "tanh"]),
    ("digits.csv.gz", ["--dtype", "f32", "--epochs", "60"]),
    ("digits.csv.gz", ["--dtype", "f64", "--epochs", "60", "--layers", "64,32", "--activation", "gelu", "--dropout", "0.1"]),
]


def difference(found, expected):
    e = np.asarray(expected, dtype=np.float64)
    return float((np.abs(np.asarray(found, dtype=np.float64) - e) / np.maximum(np.abs(e), 1.0)).max())


def check_model(path):
    """The worst difference of the reader on the model at `path`, and its limit."""
    model = nn_model.load(path)
    io = load_file(str(path).replace(".model.safetensors", ".io.safetensors"))
    x = io.pop("input")
    if x.dtype != model.dtype:
        raise RuntimeError(f"the inputs are {x.dtype}, the model {model.dtype}")
    worst = 0.0
    for name, expected in io.items():
        found = model.logits(x) if name == "logits" else model.predict(x)
        if found.shape != expected.shape:
            raise RuntimeError(f"{name}: shape {list(found.shape)}, nn's {list(expected.shape)}")
        worst = max(worst, difference(found, expected))
    return worst, LIMITS[model.dtype]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def check_dataset(nn, data, options, work):
    """(worst difference, limit, near-tie rows, rows) for one data set and training."""
    tag = data.name.split(".")[0] + "_" + "_".join(o.strip("-").replace(",", "x") for o in options)
    model = work / f"{tag}.safetensors"
    train = subprocess.run(
        [str(nn), "train", "--data", str(data), "--label", "label", "--out", str(model), *options],
        capture_output=True,
        text=True,
    )
    if train.returncode != 0:
        raise RuntimeError(f"nn train failed: {train.stderr.strip()[-500:]}")
    ours = work / f"{tag}.nn.csv"
    subprocess.run([str(nn), "predict", "--model", str(model), "--data", str(data), "--out", str(ours)], check=True)
    theirs = work / f"{tag}.reader.csv"
    code = nn_model.main([str(model), str(data), "--out", str(theirs)])
    if code != 0:
        raise RuntimeError(f"the reader's command line exited with {code}")
    a, b = read_csv(ours), read_csv(theirs)
    if a[0] != b[0]:
        raise RuntimeError(f"headers differ: nn {a[0][:4]}…, reader {b[0][:4]}…")
    if len(a) != len(b):
        raise RuntimeError(f"nn wrote {len(a) - 1} rows, the reader {len(b) - 1}")
    limit = LIMITS[nn_model.load(model).dtype]
    p_nn = np.array([[float(v) for v in row[1:]] for row in a[1:]])
    p_reader = np.array([[float(v) for v in row[1:]] for row in b[1:]])
    worst = difference(p_reader, p_nn)
    ties = 0
    for j, (ra, rb) in enumerate(zip(a[1:], b[1:])):
        if ra[0] != rb[0]:
            top = np.sort(p_nn[j])[-2:]
            if top[1] - top[0] > limit:
                raise RuntimeError(f"row {j + 1}: nn predicts {ra[0]!r}, the reader {rb[0]!r}")
            ties += 1
    return worst, limit, ties, len(a) - 1, f"{data.name.split('.')[0]} {' '.join(options)}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models")
    parser.add_argument("--nn", required=True, type=pathlib.Path)
    parser.add_argument("--data", required=True, type=pathlib.Path)
    parser.add_argument("--work", required=True, type=pathlib.Path)
    args = parser.parse_args()
    version = subprocess.run([str(args.nn), "--version"], capture_output=True, text=True).stdout.strip()
    print(
        f"{version or 'nn'}, numpy {np.__version__}, safetensors {safetensors.__version__}, "
        f"python {sys.version.split()[0]}"
    )
    args.work.mkdir(parents=True, exist_ok=True)
    failures = checks = 0
    paths = sorted(pathlib.Path(args.models).glob("*.model.safetensors"))
    if not paths:
        sys.exit(f"no .model.safetensors files in {args.models}")
    for path in paths:
        checks += 1
        name = path.name[: -len(".model.safetensors")]
        try:
            worst, limit = check_model(path)
        except Exception as e:  # report every model, then fail
            failures += 1
            print(f"FAIL  {name:<40} {type(e).__name__}: {e}")
            continue
        ok = worst <= limit
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'}  {name:<40} worst {worst:.2e}  (limit {limit:.0e})")
    for file, options in DATASETS:
        checks += 1
        try:
            worst, limit, ties, rows, name = check_dataset(args.nn, args.data / file, options, args.work)
        except Exception as e:
            failures += 1
            print(f"FAIL  {file} {' '.join(options)}: {type(e).__name__}: {e}")
            continue
        ok = worst <= limit
        failures += not ok
        tie_note = f", {ties} near-tie classes" if ties else ""
        print(
            f"{'ok  ' if ok else 'FAIL'}  {name}: worst {worst:.2e}  (limit {limit:.0e}); "
            f"{rows} rows, classes equal{tie_note}"
        )
    print(f"{checks - failures} of {checks} reader checks pass")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
