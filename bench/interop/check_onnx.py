"""Checks nn's ONNX exports with the real tools: for every `<name>.onnx` in the given
folder, `onnx.checker.check_model` (full check, with shape inference), then ONNX
Runtime (CPU) on the inputs saved beside it in `<name>.io.safetensors`, compared with
nn's own outputs saved there.

Double models run in ONNX Runtime too: the export lowers what its CPU provider has no
double kernel for (`Conv`, `AveragePool`, `Erf`) to operators it has.

The difference of an output is max |ort − nn| / max(|nn|, 1) over its entries: relative
for values of magnitude 1 and above, absolute below (probabilities, logits near 0). The
limit is 1e-5 for float models and 1e-12 for double ones. Prints the tool versions and
the worst difference per model; exits non-zero if any check fails.

    python check_onnx.py <folder>
"""

import pathlib
import sys

import numpy as np
import onnx
import onnxruntime as ort
from safetensors.numpy import load_file

LIMITS = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


def check(path):
    """The worst difference of the model at `path` and its limit; raises on a failure
    of the checker or of the run."""
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    io = load_file(str(path.with_suffix("")) + ".io.safetensors")
    x = io.pop("input")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    missing = sorted(set(io) - set(names))
    if missing:
        raise RuntimeError(f"outputs {missing} are not in the graph (it has {names})")
    results = dict(zip(names, session.run(names, {"input": x})))
    worst = 0.0
    for name, expected in io.items():
        found = results[name]
        if found.shape != expected.shape or found.dtype != expected.dtype:
            raise RuntimeError(
                f"{name}: {found.dtype}{list(found.shape)}, expected "
                f"{expected.dtype}{list(expected.shape)}"
            )
        e = expected.astype(np.float64)
        d = np.abs(found.astype(np.float64) - e) / np.maximum(np.abs(e), 1.0)
        worst = max(worst, float(d.max()))
    return worst, LIMITS[x.dtype]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_onnx.py <folder of .onnx files>")
    folder = pathlib.Path(sys.argv[1])
    print(
        f"onnx {onnx.__version__}, onnxruntime {ort.__version__}, numpy {np.__version__}, "
        f"python {sys.version.split()[0]}"
    )
    paths = sorted(folder.glob("*.onnx"))
    if not paths:
        sys.exit(f"no .onnx files in {folder}")
    failures = 0
    for path in paths:
        try:
            worst, limit = check(path)
        except Exception as e:  # report every model, then fail
            failures += 1
            print(f"FAIL  {path.stem:<40} {type(e).__name__}: {e}")
            continue
        ok = worst <= limit
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'}  {path.stem:<40} worst {worst:.2e}  (limit {limit:.0e})")
    print(f"{len(paths) - failures} of {len(paths)} models pass")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
