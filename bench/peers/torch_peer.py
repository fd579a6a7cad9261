"""PyTorch peer: the same MLP as `torch.nn.Sequential` of `Linear` layers, and the same
CNN as a `Sequential` of `Conv2d`, `ReLU`, `MaxPool2d`, `Flatten` and `Linear`, trained in
eager mode (`loss.backward()`, `torch.optim.SGD`), float32; images as N×C×H×W. PyTorch's natural layout is
examples as rows, so the data are transposed once up front. Measures training throughput
(samples/s of full epochs) and inference throughput (forward passes on 1024-example
batches under `torch.inference_mode`) of nn's reference workloads, with nn's protocol,
and the latency of one prediction of 1 and of 16 examples (eager, `inference_mode`).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

ARGS = common.setup("torch")  # before the imports below: it pins the CPUs

import numpy as np  # noqa: E402
import torch  # noqa: E402


def model(spec):
    if spec["arch"] == "cnn":
        return cnn(spec)
    sizes = spec["sizes"]
    hidden = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[spec["hidden"]]
    layers = []
    for l in range(1, len(sizes)):
        layers.append(torch.nn.Linear(sizes[l - 1], sizes[l]))
        if l < len(sizes) - 1:
            layers.append(hidden())
    net = torch.nn.Sequential(*layers)
    with torch.no_grad():
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        for lin, (w, b) in zip(linears, common.init_params(spec, np)):
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b.ravel()))
    return net


def cnn(spec):
    """The CNN of the spec: ReLU after every convolution and hidden dense layer."""
    layers, flat = [], False
    shapes = common.cnn_shapes(spec)
    for i, (layer, (c, h, w)) in enumerate(shapes):
        if layer["type"] == "conv":
            layers += [
                torch.nn.Conv2d(c, layer["out"], layer["kernel"], padding=layer["padding"]),
                torch.nn.ReLU(),
            ]
        elif layer["type"] == "max_pool":
            layers.append(torch.nn.MaxPool2d(layer["kernel"]))
        else:
            if not flat:
                layers.append(torch.nn.Flatten())
                flat = True
            layers.append(torch.nn.Linear(c * h * w, layer["units"]))
            if i < len(shapes) - 1:
                layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    with torch.no_grad():
        weighted = [m for m in net if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
        for mod, (w, b) in zip(weighted, common.init_cnn_params(spec, np)):
            mod.weight.copy_(torch.from_numpy(w))
            mod.bias.copy_(torch.from_numpy(b))
    return net


def main():
    args = ARGS
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    report = common.Report("torch", args)
    report.info(
        torch.__version__,
        f"torch {torch.__version__} eager, {torch.get_num_threads()} thread(s)",
    )
    for spec in common.workloads(args, ("mlp", "cnn")):
        x, y, labels = common.data(spec, np)
        xr = torch.from_numpy(np.ascontiguousarray(x.T))
        if spec["arch"] == "cnn":
            xr = xr.reshape(-1, *spec["image"])
        if spec["output"] == "sigmoid":
            target = torch.from_numpy(np.ascontiguousarray(y.T))
            loss_fn = torch.nn.BCEWithLogitsLoss()
        else:
            target = torch.from_numpy(labels.astype(np.int64))
            loss_fn = torch.nn.CrossEntropyLoss()
        net = model(spec)
        opt = torch.optim.SGD(net.parameters(), lr=spec["lr"])
        gen = torch.Generator().manual_seed(spec["seed"] + 2)
        m = spec["samples"]
        spans = common.batches(m, spec["batch"])

        def epoch():
            perm = torch.randperm(m, generator=gen)
            for s, e in spans:
                idx = perm[s:e]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(net(xr[idx]), target[idx])
                loss.backward()
                opt.step()

        report.result(spec, "train", common.measure(spec, epoch))

        xb = xr[: spec["infer_batch"]].contiguous()

        def infer():
            with torch.inference_mode():
                for _ in range(spec["infer_reps"]):
                    torch.softmax(net(xb), dim=1) if spec["output"] == "softmax" else torch.sigmoid(net(xb))

        report.result(spec, "infer", common.measure(spec, infer))

        if spec["id"] in common.LATENCY_WORKLOADS:
            out = torch.softmax if spec["output"] == "softmax" else None
            for width in common.LATENCY_BATCHES:
                xq = xr[:width].contiguous()

                def serve():
                    with torch.inference_mode():
                        z = net(xq)
                        return torch.softmax(z, dim=1) if out else torch.sigmoid(z)

                report.latency(spec, width, common.latencies(serve))
    report.write()


if __name__ == "__main__":
    main()
