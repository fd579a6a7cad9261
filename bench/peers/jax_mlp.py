"""JAX peer: the same MLP with `jax.jit` on the whole training step (forward, cost,
`jax.value_and_grad`, SGD update), examples as columns, float32. Measures training
throughput (samples/s of full epochs) and inference throughput (jitted forward passes on
1024-column batches) of nn's reference workloads, with nn's protocol.

Each epoch moves the shuffled data to the device once; each step slices its batch inside
the jitted function (`lax.dynamic_slice_in_dim`), so no per-step host copies are timed.
The thread count comes from the environment (XLA_FLAGS for one thread), set by xtask.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import common  # noqa: E402
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

    def step(params, x_all, y_all, start, size):
        x = lax.dynamic_slice_in_dim(x_all, start, size, axis=1)
        y = lax.dynamic_slice_in_dim(y_all, start, size, axis=1)
        j, grads = jax.value_and_grad(cost)(params, x, y)
        params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
        return params, j

    def predict(params, x):
        z = logits(params, x)
        return jax.nn.sigmoid(z) if sigmoid_out else jax.nn.softmax(z, axis=0)

    train_step = jax.jit(step, static_argnums=(4,), donate_argnums=(0,))
    return train_step, jax.jit(predict)


def main():
    args = common.parse_args("jax")
    report = common.Report("jax", args)
    report.info(
        jax.__version__,
        f"jax {jax.__version__} (jit, {jax.default_backend()}), {common.thread_env() or 'default threads'}",
    )
    for spec in common.workloads(args):
        x, y, _ = common.data(spec, np)
        params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in common.init_params(spec, np)]
        train_step, predict = make(spec)
        rng = np.random.default_rng(spec["seed"] + 2)
        m = spec["samples"]
        spans = common.batches(m, spec["batch"])
        state = {"params": params}

        def epoch():
            perm = rng.permutation(m)
            xp = jnp.asarray(x[:, perm])
            yp = jnp.asarray(y[:, perm])
            p = state["params"]
            for s, e in spans:
                p, _ = train_step(p, xp, yp, s, e - s)
            jax.block_until_ready(p)
            state["params"] = p

        report.result(spec, "train", common.measure(spec, epoch))

        xb = jnp.asarray(x[:, : spec["infer_batch"]])

        def infer():
            out = None
            for _ in range(spec["infer_reps"]):
                out = predict(state["params"], xb)
            jax.block_until_ready(out)

        report.result(spec, "infer", common.measure(spec, infer))
    report.write()


if __name__ == "__main__":
    main()
