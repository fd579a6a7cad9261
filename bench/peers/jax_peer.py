"""JAX peer: the same MLP with `jax.jit` on the whole training step (forward, cost,
`jax.value_and_grad`, SGD update), examples as columns, float32; and the same CNN
(`lax.conv_general_dilated` on N×C×H×W images with OIHW weights, `lax.reduce_window` for
max-pooling, examples as rows). Measures training
throughput (samples/s of full epochs) and inference throughput (jitted forward passes on
1024-column batches) of nn's reference workloads, with nn's protocol.

The data live on the device once, examples as rows (so an example is contiguous, as in
nn's column-major storage); each epoch sends only the permutation, and each step gathers
its batch inside the jitted function and works on its transpose (examples as columns).
The thread count comes from the environment (XLA_FLAGS for one thread), set by xtask.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import common  # noqa: E402

ARGS = common.setup("jax")  # before the imports below: it pins the CPUs

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402


def make(spec):
    hidden = {"relu": jax.nn.relu, "tanh": jnp.tanh}[spec["hidden"]]
    sigmoid_out = spec["output"] == "sigmoid"
    lr = spec["lr"]

    def logits(params, x):
        a = x
        for w, b in params[:-1]:
            a = hidden(w @ a + b)
        w, b = params[-1]
        return w @ a + b

    def cost(params, x, y):
        z = logits(params, x)
        m = x.shape[1]
        if sigmoid_out:
            # BCE with logits, stable: max(z, 0) - z y + log(1 + e^-|z|)
            return jnp.sum(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z)))) / m
        return -jnp.sum(y * jax.nn.log_softmax(z, axis=0)) / m

    def step(params, x_rows, y_rows, perm, start, size):
        idx = lax.dynamic_slice_in_dim(perm, start, size)
        x = jnp.take(x_rows, idx, axis=0).T
        y = jnp.take(y_rows, idx, axis=0).T
        j, grads = jax.value_and_grad(cost)(params, x, y)
        params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
        return params, j

    def predict(params, x):
        z = logits(params, x)
        return jax.nn.sigmoid(z) if sigmoid_out else jax.nn.softmax(z, axis=0)

    train_step = jax.jit(step, static_argnums=(5,), donate_argnums=(0,))
    return train_step, jax.jit(predict)


def make_cnn(spec):
    """The CNN workload's jitted training step and prediction, examples as rows."""
    lr = spec["lr"]
    shapes = common.cnn_shapes(spec)
    image = tuple(spec["image"])

    def logits(params, x):
        a, i = x.reshape((-1,) + image), 0
        for n, (layer, _) in enumerate(shapes):
            if layer["type"] == "conv":
                w, b = params[i]
                i += 1
                p = layer["padding"]
                a = lax.conv_general_dilated(
                    a, w, (1, 1), [(p, p), (p, p)], dimension_numbers=("NCHW", "OIHW", "NCHW")
                )
                a = jax.nn.relu(a + b[None, :, None, None])
            elif layer["type"] == "max_pool":
                k = layer["kernel"]
                a = lax.reduce_window(a, -jnp.inf, lax.max, (1, 1, k, k), (1, 1, k, k), "VALID")
            else:
                w, b = params[i]
                i += 1
                a = a.reshape((a.shape[0], -1)) @ w.T + b
                if n < len(shapes) - 1:
                    a = jax.nn.relu(a)
        return a

    def cost(params, x, y):
        return -jnp.sum(y * jax.nn.log_softmax(logits(params, x), axis=1)) / x.shape[0]

    def step(params, x_rows, y_rows, perm, start, size):
        idx = lax.dynamic_slice_in_dim(perm, start, size)
        x = jnp.take(x_rows, idx, axis=0)
        y = jnp.take(y_rows, idx, axis=0)
        j, grads = jax.value_and_grad(cost)(params, x, y)
        params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
        return params, j

    def predict(params, x_rows):
        return jax.nn.softmax(logits(params, x_rows), axis=1)

    train_step = jax.jit(step, static_argnums=(5,), donate_argnums=(0,))
    return train_step, jax.jit(predict)


def main():
    args = ARGS
    report = common.Report("jax", args)
    report.info(
        jax.__version__,
        f"jax {jax.__version__} (jit, {jax.default_backend()}), {common.thread_env() or 'default threads'}",
    )
    for spec in common.workloads(args, ("mlp", "cnn")):
        x, y, _ = common.data(spec, np)
        cnn = spec["arch"] == "cnn"
        init = common.init_cnn_params if cnn else common.init_params
        params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in init(spec, np)]
        train_step, predict = (make_cnn if cnn else make)(spec)
        rng = np.random.default_rng(spec["seed"] + 2)
        m = spec["samples"]
        spans = common.batches(m, spec["batch"])
        state = {"params": params}

        x_rows = jnp.asarray(np.ascontiguousarray(x.T))
        y_rows = jnp.asarray(np.ascontiguousarray(y.T))

        def epoch():
            perm = jnp.asarray(rng.permutation(m).astype(np.int32))
            p = state["params"]
            for s, e in spans:
                p, _ = train_step(p, x_rows, y_rows, perm, s, e - s)
            jax.block_until_ready(p)
            state["params"] = p

        report.result(spec, "train", common.measure(spec, epoch))

        xb = jnp.asarray(x[:, : spec["infer_batch"]])
        if cnn:
            xb = jnp.asarray(np.ascontiguousarray(x[:, : spec["infer_batch"]].T))

        def infer():
            out = None
            for _ in range(spec["infer_reps"]):
                out = predict(state["params"], xb)
            jax.block_until_ready(out)

        report.result(spec, "infer", common.measure(spec, infer))
    report.write()


if __name__ == "__main__":
    main()
