"""Checks nn's PyTorch state_dicts with PyTorch itself, both ways, on the folder
`torch_models export` wrote (`cargo xtask interop --with-torch` runs it):

1. nn → torch: for every `<name>.state_dict.safetensors`, the module is built from its
   metadata's `nn.torch_sequential` (eval with `torch` in scope), the state_dict loaded
   with `load_state_dict(strict=True)`, and the module in eval mode run on the rows
   `input` of `<name>.io.safetensors`; its outputs must be nn's (`output`).
2. torch → nn → torch: a freshly initialised module of the same source (seeded) is saved
   with `safetensors.torch.save_file(model.state_dict())` beside its architecture (the
   input and layers of the file's `nn.architecture`, as a user writes it) and its own
   outputs on the same rows; `torch_models import` reads it into nn, which predicts and
   exports it back. nn's outputs must be PyTorch's, and the tensors exported back the
   ones PyTorch saved, bit for bit.

The difference of an output is max |a − b| / max(|b|, 1) over its entries; the limit is
1e-5 for float32 models and 1e-12 for float64 ones. Prints the versions and the worst
difference per model and direction; exits non-zero if any check fails.

    python check_torch.py <folder> <torch_models example binary>
"""

import json
import pathlib
import subprocess
import sys

import numpy as np
import safetensors
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

LIMITS = {torch.float32: 1e-5, torch.float64: 1e-12}


def difference(found, expected):
    e = expected.to(torch.float64)
    d = (found.to(torch.float64) - e).abs() / e.abs().clamp(min=1.0)
    return float(d.max())


def module_of(path):
    """The module of the state_dict at `path`, built from its own metadata, and the
    metadata."""
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    return eval(meta["nn.torch_sequential"], {"torch": torch}), meta


def nn_to_torch(folder, name):
    """nn's state_dict loaded into PyTorch: the worst difference of the outputs."""
    model, _ = module_of(folder / f"{name}.state_dict.safetensors")
    state = load_file(str(folder / f"{name}.state_dict.safetensors"))
    model.load_state_dict(state, strict=True)
    model.eval()
    io = load_file(str(folder / f"{name}.io.safetensors"))
    with torch.no_grad():
        out = model(io["input"])
    if out.shape != io["output"].shape or out.dtype != io["output"].dtype:
        raise RuntimeError(f"torch gives {out.dtype}{list(out.shape)}, nn {io['output'].dtype}{list(io['output'].shape)}")
    return difference(out, io["output"]), io["input"].dtype


def write_torch_model(folder, back, name, seed):
    """A seeded, freshly initialised module of `name`'s architecture, saved as PyTorch
    users save one, with its outputs on the same inputs."""
    model, meta = module_of(folder / f"{name}.state_dict.safetensors")
    torch.manual_seed(seed)
    for m in model.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    model.eval()
    arch = json.loads(meta["nn.architecture"])
    arch = {"input": arch["input"], "layers": arch["layers"]}
    (back / f"{name}.arch.json").write_text(json.dumps(arch, indent=1))
    io = load_file(str(folder / f"{name}.io.safetensors"))
    with torch.no_grad():
        out = model(io["input"])
    save_file(model.state_dict(), str(back / f"{name}.state_dict.safetensors"))
    save_file({"input": io["input"], "output": out}, str(back / f"{name}.io.safetensors"))


def torch_to_nn(back, name):
    """nn's outputs against PyTorch's, and whether the tensors exported back are PyTorch's."""
    expected = load_file(str(back / f"{name}.io.safetensors"))["output"]
    found = load_file(str(back / f"{name}.nn.safetensors"))["output"]
    if found.shape != expected.shape or found.dtype != expected.dtype:
        raise RuntimeError(f"nn gives {found.dtype}{list(found.shape)}, torch {expected.dtype}{list(expected.shape)}")
    saved = load_file(str(back / f"{name}.state_dict.safetensors"))
    exported = load_file(str(back / f"{name}.back.safetensors"))
    if sorted(saved) != sorted(exported):
        raise RuntimeError(f"exported back {sorted(exported)}, saved {sorted(saved)}")
    for key, t in saved.items():
        if exported[key].dtype != t.dtype or not torch.equal(exported[key], t):
            raise RuntimeError(f"tensor {key} exported back differs")
    return difference(found, expected)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check_torch.py <folder> <torch_models example binary>")
    folder = pathlib.Path(sys.argv[1])
    example = sys.argv[2]
    print(
        f"torch {torch.__version__}, safetensors {safetensors.__version__}, "
        f"numpy {np.__version__}, python {sys.version.split()[0]}"
    )
    names = sorted(p.name.removesuffix(".state_dict.safetensors") for p in folder.glob("*.state_dict.safetensors"))
    if not names:
        sys.exit(f"no state_dicts in {folder}")
    back = folder / "from_torch"
    back.mkdir(exist_ok=True)
    failures = 0
    results = {}
    for seed, name in enumerate(names):
        try:
            results[name] = nn_to_torch(folder, name)
            write_torch_model(folder, back, name, seed)
        except Exception as e:  # report every model, then fail
            failures += 1
            results[name] = e
    subprocess.run([example, "import", str(back)], check=True)
    print(f"{'':6}{'model':<28}{'nn → torch':>14}{'torch → nn':>14}  tensors back   limit")
    for name in names:
        r = results[name]
        if isinstance(r, Exception):
            print(f"FAIL  {name:<28} {type(r).__name__}: {r}")
            continue
        there, dtype = r
        limit = LIMITS[dtype]
        try:
            again = torch_to_nn(back, name)
            same = "identical"
        except Exception as e:
            failures += 1
            print(f"FAIL  {name:<28} {type(e).__name__}: {e}")
            continue
        ok = there <= limit and again <= limit
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'}  {name:<28}{there:>14.2e}{again:>14.2e}  {same:<13}{limit:>7.0e}")
    print(f"{len(names) - failures} of {len(names)} models pass both ways")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
