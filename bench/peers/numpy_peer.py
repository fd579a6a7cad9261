"""numpy peer: a from-scratch MLP in the tutorial's equations, examples as columns,
float32 (stored column-major, like nn's matrices), plain SGD. Measures training throughput (samples/s of full epochs: shuffle,
gather, forward, cost, backward, update) and inference throughput (forward passes on
1024-column batches) of nn's reference workloads, with nn's protocol.

    Z[l] = W[l] A[l-1] + b[l]          A[l] = g(Z[l])
    dZ[L] = A[L] - Y                   (sigmoid + BCE, softmax + CE)
    dW[l] = (1/m) dZ[l] A[l-1]^T       db[l] = (1/m) sum_columns dZ[l]
    dA[l-1] = W[l]^T dZ[l]             dZ[l-1] = dA[l-1] * g'(Z[l-1])
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

ARGS = common.setup("numpy")  # before the imports below: it pins the CPUs

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402


def hidden_fns(name):
    """g and g' (from the output A where that is cheaper, else from Z)."""
    if name == "relu":
        return (lambda z: np.maximum(z, 0, out=z)), (lambda z, a: (z > 0).astype(np.float32))
    if name == "tanh":
        return np.tanh, (lambda z, a: 1 - a * a)
    raise ValueError(f"hidden activation {name!r} not supported by the numpy peer")


def output_fn(name, z):
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def cost(name, a, y):
    m = y.shape[1]
    eps = np.float32(1e-7)
    if name == "sigmoid":
        return -float(np.sum(y * np.log(a + eps) + (1 - y) * np.log(1 - a + eps))) / m
    return -float(np.sum(y * np.log(a + eps))) / m


class Mlp:
    def __init__(self, spec):
        self.params = [[w, b] for w, b in common.init_params(spec, np)]
        self.g, self.g_prime = hidden_fns(spec["hidden"])
        self.output = spec["output"]
        self.lr = np.float32(spec["lr"])

    def forward(self, x, keep):
        a, caches = x, []
        last = len(self.params) - 1
        for l, (w, b) in enumerate(self.params):
            z = w @ a + b
            a_prev = a
            a = output_fn(self.output, z) if l == last else self.g(z.copy() if keep else z)
            if keep:
                caches.append((a_prev, z, a))
        return a, caches

    def step(self, x, y):
        a, caches = self.forward(x, keep=True)
        j = cost(self.output, a, y)
        m = x.shape[1]
        dz = a - y
        for l in range(len(self.params) - 1, -1, -1):
            w, b = self.params[l]
            a_prev = caches[l][0]
            dw = (1 / m) * (dz @ a_prev.T)
            db = (1 / m) * dz.sum(axis=1, keepdims=True)
            if l > 0:
                _, z_prev, a_prev_out = caches[l - 1]
                dz = (w.T @ dz) * self.g_prime(z_prev, a_prev_out)
            w -= self.lr * dw
            b -= self.lr * db
        return j


def main():
    args = ARGS
    report = common.Report("numpy", args)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        report.info(np.__version__, f"numpy {np.__version__}, {common.blas_detail()}")
        for spec in common.workloads(args):
            x, y, _ = common.data(spec, np)
            # Column-major, as nn stores matrices: an example (a column) is contiguous, so
            # gathering a batch's columns copies whole runs instead of strided scalars.
            x, y = np.asfortranarray(x), np.asfortranarray(y)
            net = Mlp(spec)
            rng = np.random.default_rng(spec["seed"] + 2)
            m = spec["samples"]
            spans = common.batches(m, spec["batch"])

            def epoch():
                perm = rng.permutation(m)
                for s, e in spans:
                    idx = perm[s:e]
                    net.step(x[:, idx], y[:, idx])

            report.result(spec, "train", common.measure(spec, epoch))

            xb = np.ascontiguousarray(x[:, : spec["infer_batch"]])

            def infer():
                for _ in range(spec["infer_reps"]):
                    net.forward(xb, keep=False)

            report.result(spec, "infer", common.measure(spec, infer))
    report.write()


if __name__ == "__main__":
    main()
