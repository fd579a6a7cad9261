"""Writes the PyTorch fixtures of `crates/nn-train/tests/torch.rs`: tiny seeded
`torch.nn.Sequential` models, each saved as

- `<name>.state_dict.safetensors`: `safetensors.torch.save_file(model.state_dict(), …)`,
  as a PyTorch user saves one;
- `<name>.arch.json`: the same architecture as nn's layer list (`{"input": …, "layers":
  […]}`, the form of a model file's `nn.architecture` with the optional fields left out),
  made from the modules by `nn_layers` below;
- `<name>.io.safetensors`: seeded inputs as rows (`input`, `N × features` or
  `N × C × H × W`) and the model's outputs for them in eval mode (`output`, `N × k`).

The models: an MLP through several activations in float32 and the same MLP in float64,
and a small CNN (conv2d, max pool, avg pool, flatten, dropout, linear) in both.

    python make_fixtures.py [<output folder>, default: this script's folder]
"""

import json
import pathlib
import sys

import torch
from safetensors.torch import save_file

nn = torch.nn


def activation(module):
    """nn's name of a torch activation module, or None if it is not one."""
    simple = {
        nn.Sigmoid: "sigmoid",
        nn.Tanh: "tanh",
        nn.ReLU: "relu",
        nn.SELU: "selu",
        nn.SiLU: "silu",
    }
    for kind, name in simple.items():
        if type(module) is kind:
            return name
    if isinstance(module, nn.Softplus):
        assert module.beta == 1, "nn's softplus is ln(1 + e^z), beta 1"
        return "softplus"
    if isinstance(module, nn.LeakyReLU):
        return f"leaky_relu({module.negative_slope!r})"
    if isinstance(module, nn.ELU):
        return f"elu({module.alpha!r})"
    if isinstance(module, nn.GELU):
        return "gelu_tanh" if module.approximate == "tanh" else "gelu"
    if isinstance(module, nn.Softmax):
        assert module.dim == 1, "nn's softmax is over the features (dim=1)"
        return "softmax"
    return None


def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


def nn_layers(model):
    """The Sequential's modules as nn's layers: a Linear or Conv2d takes the activation
    module after it, if there is one."""
    modules = list(model)
    layers = []
    i = 0
    while i < len(modules):
        m = modules[i]
        following = activation(modules[i + 1]) if i + 1 < len(modules) else None
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            act = following or "identity"
            i += 2 if following else 1
            if isinstance(m, nn.Linear):
                layers.append({"type": "dense", "units": m.out_features, "activation": act})
            else:
                layers.append(
                    {
                        "type": "conv2d",
                        "out_channels": m.out_channels,
                        "kernel": pair(m.kernel_size),
                        "stride": pair(m.stride),
                        "padding": pair(m.padding),
                        "activation": act,
                    }
                )
            continue
        if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            kind = "max_pool2d" if isinstance(m, nn.MaxPool2d) else "avg_pool2d"
            layers.append({"type": kind, "kernel": pair(m.kernel_size), "stride": pair(m.stride)})
        elif isinstance(m, nn.Flatten):
            layers.append({"type": "flatten"})
        elif isinstance(m, nn.Dropout):
            layers.append({"type": "dropout", "rate": m.p})
        else:
            raise ValueError(f"module {i} ({m}) has no nn layer")
        i += 1
    return layers


def mlp():
    return nn.Sequential(
        nn.Linear(4, 6),
        nn.Tanh(),
        nn.Linear(6, 5),
        nn.LeakyReLU(0.1),
        nn.Linear(5, 5),
        nn.ELU(0.7),
        nn.Linear(5, 5),
        nn.GELU(),
        nn.Linear(5, 4),
        nn.SiLU(),
        nn.Linear(4, 4),
        nn.Softplus(),
        nn.Dropout(0.2),
        nn.Linear(4, 4),
        nn.GELU(approximate="tanh"),
        nn.Linear(4, 4),
        nn.SELU(),
        nn.Linear(4, 4),
        nn.ReLU(),
        nn.Linear(4, 4),
        nn.Sigmoid(),
        nn.Linear(4, 3),
        nn.Softmax(dim=1),
    )


def cnn():
    return nn.Sequential(
        nn.Conv2d(2, 3, kernel_size=(3, 2), stride=(1, 2), padding=(1, 0)),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=(2, 1), stride=(1, 1)),
        nn.Conv2d(3, 4, kernel_size=(2, 2), stride=(2, 1), padding=(0, 1)),
        nn.Tanh(),
        nn.AvgPool2d(kernel_size=(2, 2), stride=(2, 2)),
        nn.Flatten(),
        nn.Dropout(0.25),
        nn.Linear(8, 3),
        nn.Softmax(dim=1),
    )


def write(folder, name, make, input_shape, dtype, seed):
    torch.manual_seed(seed)
    model = make().to(dtype).eval()
    x = torch.randn(7, *input_shape, dtype=dtype)
    with torch.no_grad():
        y = model(x)
    if len(input_shape) == 1:
        arch_input = {"flat": input_shape[0]}
    else:
        arch_input = {"image": list(input_shape)}
    arch = {"input": arch_input, "layers": nn_layers(model)}
    save_file(model.state_dict(), str(folder / f"{name}.state_dict.safetensors"))
    (folder / f"{name}.arch.json").write_text(json.dumps(arch, indent=1) + "\n")
    save_file(
        {"input": x.contiguous(), "output": y.contiguous()},
        str(folder / f"{name}.io.safetensors"),
    )


def main():
    folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent)
    folder.mkdir(parents=True, exist_ok=True)
    write(folder, "mlp_f32", mlp, (4,), torch.float32, 1)
    write(folder, "mlp_f64", mlp, (4,), torch.float64, 2)
    write(folder, "cnn_f32", cnn, (2, 5, 6), torch.float32, 3)
    write(folder, "cnn_f64", cnn, (2, 5, 6), torch.float64, 4)
    print(f"torch {torch.__version__}: wrote 4 fixtures to {folder}")


if __name__ == "__main__":
    main()
