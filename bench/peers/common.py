"""Shared plumbing of the peer benchmarks: the workload specifications that nn's bench
wrote, the synthetic data, and the measurement protocol (median of timed runs after a
warm-up), so that every peer measures exactly what nn's `workloads` bench measures.

A peer script is run by `cargo xtask bench --compare` as

    python bench/peers/<peer>.py --spec target/nn-bench/nn-1t.jsonl --threads T --out FILE

and writes JSON lines to FILE: one `info` line (versions, kernels, threads), one
`result` line per workload and phase (`train`: samples/s of full epochs; `infer`:
samples/s of forward passes on 1024-column batches) and, for the peers that serve, one
`latency` line per workload and batch width (`LATENCY_WORKLOADS`, `LATENCY_BATCHES`: p50
and p99 of `LATENCY_CALLS` single predictions after as many untimed ones).
"""

import argparse
import json
import math
import os
import sys
import time


def setup(peer):
    """Parses the arguments and confines the process to `--threads` CPUs. Call it before
    importing numpy, JAX or PyTorch: XLA sizes its thread pools from the CPUs it may run
    on, and its flags alone do not keep it to one thread."""
    args = parse_args(peer)
    allowed = sorted(os.sched_getaffinity(0))
    if args.threads < len(allowed):
        os.sched_setaffinity(0, allowed[: args.threads])
    return args


def parse_args(peer):
    parser = argparse.ArgumentParser(description=f"{peer} peer of nn's workload bench")
    parser.add_argument("--spec", required=True, help="JSON lines written by nn's bench")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--out", required=True, help="JSON-lines file to write")
    parser.add_argument("--only", default="", help="comma-separated workload ids")
    return parser.parse_args()


def workloads(args, kinds=("mlp",)):
    """The workloads of the spec file whose `arch` is one of `kinds` ("mlp", "cnn")."""
    only = {w for w in args.only.split(",") if w}
    specs = []
    with open(args.spec, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            record = json.loads(line)
            if record.get("kind") != "workload" or record.get("arch") not in kinds:
                continue
            if only and record["id"] not in only:
                continue
            specs.append(record)
    return specs


def data(spec, np):
    """X: (inputs, samples) N(0, 1) float32; labels: uniform ints; Y: 0/1 row for one
    output, one-hot columns otherwise. Seeded (numpy's PCG64, not nn's ChaCha20: the
    values differ, the shapes and distributions do not)."""
    rng = np.random.default_rng(spec["seed"])
    sizes = spec["sizes"]
    m = spec["samples"]
    x = rng.standard_normal((sizes[0], m), dtype=np.float32)
    classes = sizes[-1]
    if classes == 1:
        labels = rng.integers(0, 2, m)
        y = labels.astype(np.float32).reshape(1, m)
    else:
        labels = rng.integers(0, classes, m)
        y = np.zeros((classes, m), dtype=np.float32)
        y[labels, np.arange(m)] = 1.0
    return x, y, labels


def init_params(spec, np):
    """He normal for ReLU layers, Xavier normal otherwise (as nn's recommended
    initializers); zero biases. Shapes in the column convention: W (n_l, n_{l-1})."""
    rng = np.random.default_rng(spec["seed"] + 1)
    sizes = spec["sizes"]
    params = []
    for l in range(1, len(sizes)):
        fan_in, fan_out = sizes[l - 1], sizes[l]
        hidden = l < len(sizes) - 1
        if hidden and spec["hidden"] == "relu":
            std = math.sqrt(2.0 / fan_in)
        else:
            std = math.sqrt(2.0 / (fan_in + fan_out))
        w = (rng.standard_normal((fan_out, fan_in)) * std).astype(np.float32)
        b = np.zeros((fan_out, 1), dtype=np.float32)
        params.append((w, b))
    return params


def cnn_shapes(spec):
    """Per layer of a CNN spec (`image`, `layers` of conv / max_pool / dense stages), the
    layer and the shape `(c, h, w)` it reads; a dense layer reads the flattened input."""
    c, h, w = spec["image"]
    shapes = []
    for layer in spec["layers"]:
        shapes.append((layer, (c, h, w)))
        if layer["type"] == "conv":
            k, p = layer["kernel"], layer["padding"]
            c, h, w = layer["out"], h + 2 * p - k + 1, w + 2 * p - k + 1
        elif layer["type"] == "max_pool":
            h, w = h // layer["kernel"], w // layer["kernel"]
        else:
            c, h, w = layer["units"], 1, 1
    return shapes


def init_cnn_params(spec, np):
    """He normal for the ReLU layers, Xavier normal for the output layer; zero biases.
    A convolution's W is (out, in, k, k), a dense layer's (out, in), as in PyTorch."""
    rng = np.random.default_rng(spec["seed"] + 1)
    shapes = [(l, s) for l, s in cnn_shapes(spec) if l["type"] != "max_pool"]
    params = []
    for i, (layer, (c, h, w)) in enumerate(shapes):
        if layer["type"] == "conv":
            k = layer["kernel"]
            shape, fan_in, fan_out = (layer["out"], c, k, k), c * k * k, layer["out"] * k * k
        else:
            shape, fan_in, fan_out = (layer["units"], c * h * w), c * h * w, layer["units"]
        last = i == len(shapes) - 1
        std = math.sqrt(2.0 / (fan_in + fan_out)) if last else math.sqrt(2.0 / fan_in)
        params.append(
            (
                (rng.standard_normal(shape) * std).astype(np.float32),
                np.zeros(shape[0], dtype=np.float32),
            )
        )
    return params


def batches(m, batch):
    """(start, stop) of each mini-batch of an epoch; the last may be smaller."""
    return [(s, min(s + batch, m)) for s in range(0, m, batch)]


def measure(spec, run):
    """Times `run()` with nn's protocol: `warmup` runs, the last one estimating how many
    measured runs fill `target_s` (clamped to min_runs..=max_runs); returns durations."""
    last = 0.0
    for _ in range(spec["warmup"]):
        start = time.perf_counter()
        run()
        last = time.perf_counter() - start
    n = math.ceil(spec["target_s"] / max(last, 1e-9))
    n = min(max(n, spec["min_runs"]), spec["max_runs"])
    durations = []
    for _ in range(n):
        start = time.perf_counter()
        run()
        durations.append(time.perf_counter() - start)
    return durations


# The serving measurement, as nn's bench makes it.
LATENCY_WORKLOADS = ("W3", "W4")
LATENCY_BATCHES = (1, 16)
LATENCY_CALLS = 10_000


def latencies(predict):
    """Sorted durations (s) of LATENCY_CALLS calls of `predict()`, after as many untimed."""
    for _ in range(LATENCY_CALLS):
        predict()
    calls = []
    for _ in range(LATENCY_CALLS):
        start = time.perf_counter()
        predict()
        calls.append(time.perf_counter() - start)
    calls.sort()
    return calls


def median(values):
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


class Report:
    """Collects the JSON lines of one peer run and writes them to --out."""

    def __init__(self, peer, args):
        self.peer = peer
        self.args = args
        self.lines = []

    def info(self, version, detail):
        self.lines.append(
            {
                "kind": "info",
                "impl": self.peer,
                "threads": self.args.threads,
                "version": version,
                "detail": detail,
            }
        )

    def result(self, spec, phase, durations):
        samples = spec["samples"] if phase == "train" else spec["infer_reps"] * spec["infer_batch"]
        med = median(durations)
        self.lines.append(
            {
                "kind": "result",
                "impl": self.peer,
                "workload": spec["id"],
                "threads": self.args.threads,
                "phase": phase,
                "runs": len(durations),
                "samples": samples,
                "median_s": med,
                "min_s": min(durations),
                "max_s": max(durations),
                "samples_per_s": samples / med,
            }
        )
        print(
            f"{self.peer} {self.args.threads}t {spec['id']} {phase}: "
            f"{samples / med:,.0f} samples/s",
            file=sys.stderr,
        )

    def latency(self, spec, batch, calls):
        """A `latency` line from sorted call durations in seconds."""
        at = lambda q: calls[min(max(math.ceil(len(calls) * q), 1), len(calls)) - 1] * 1e6
        self.lines.append(
            {
                "kind": "latency",
                "impl": self.peer,
                "workload": spec["id"],
                "threads": self.args.threads,
                "batch": batch,
                "calls": len(calls),
                "p50_us": round(at(0.50), 2),
                "p99_us": round(at(0.99), 2),
            }
        )
        print(
            f"{self.peer} {self.args.threads}t {spec['id']} batch {batch}: "
            f"p50 {at(0.5):.1f} µs, p99 {at(0.99):.1f} µs",
            file=sys.stderr,
        )

    def write(self):
        with open(self.args.out, "w", encoding="utf-8") as f:
            for line in self.lines:
                f.write(json.dumps(line, separators=(",", ":")) + "\n")


def blas_detail():
    """Which BLAS numpy calls, its kernel and thread count (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS unknown (threadpoolctl missing)"
    parts = []
    for pool in threadpool_info():
        if pool.get("user_api") != "blas":
            continue
        parts.append(
            f"{pool.get('internal_api')} {pool.get('version')} "
            f"kernel {pool.get('architecture')}, {pool.get('num_threads')} thread(s)"
        )
    return "; ".join(parts) or "no BLAS found"


def thread_env():
    keys = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS")
    env = [f"{k}={os.environ[k]}" for k in keys if k in os.environ]
    return ", ".join(env + [f"on {len(os.sched_getaffinity(0))} CPU(s)"])
