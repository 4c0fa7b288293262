"""Train a spec from specs/ on scikit-learn's bundled handwritten digits (no download).

The 1,797 8x8 digits are scaled to [0, 1], upsampled (bilinear) to the network's input
size (32x32 for LeNet-5), standardised, and split 75/25 (stratified, fixed seed) into
training and test sets. The network is built with `netdsl.build` or, with `--from-model`,
is the class of a standalone model.py emitted by `netdsl build SPEC -o model.py`. Both
have the same `state_dict()` keys, so the checkpoint loads into either.

    python examples/train_digits.py                       # LeNet-5, about 10 s on 2 cores
    netdsl build specs/lenet5.net -o model.py
    python examples/train_digits.py --from-model model.py
    python examples/train_digits.py --quick               # fewer epochs (a few seconds)

The checkpoint (`--checkpoint`, default digits.pt) holds the state_dict, the spec path,
the parameters it was built with, and how to read the data: load it with
`torch.load(path, weights_only=True)`.

Needs PyTorch and scikit-learn (`pip install scikit-learn`, part of the test extra).
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import re
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from torch import nn

import netdsl

EPOCHS, QUICK_EPOCHS = 12, 4


def load_model_file(path: str, class_name: str | None = None) -> tuple[type[nn.Module], str]:
    """The network class of a generated model.py (by default the file's last class)."""
    text = Path(path).read_text(encoding="utf-8")
    if class_name is None:
        classes = [n.name for n in ast.parse(text).body if isinstance(n, ast.ClassDef)]
        if not classes:
            raise SystemExit(f"{path}: no class in it")
        class_name = classes[-1]  # netdsl writes the helper classes first, the network last
    spec = importlib.util.spec_from_file_location(f"_digits_model_{Path(path).stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise SystemExit(f"{path}: no nn.Module class {class_name!r}")
    return cls, class_name


def model_file_input(path: str) -> tuple[int, ...] | None:
    """The input shape a generated model.py documents ("Inputs (batch excluded): x: [...]")."""
    doc = ast.get_docstring(ast.parse(Path(path).read_text(encoding="utf-8"))) or ""
    shapes = re.findall(r"\w+: \[([\d, ]+)\]", doc.partition("Inputs (batch excluded):")[2])
    return tuple(int(d) for d in shapes[0].split(",")) if len(shapes) == 1 else None


def digits(size: int, seed: int) -> dict[str, Any]:
    """Train and test tensors [N, 1, size, size] (standardised with the training mean/std)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    images = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16.0
    if size != 8:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    labels = torch.tensor(data.target, dtype=torch.long)
    train, test = train_test_split(range(len(labels)), test_size=0.25, random_state=seed,
                                   stratify=data.target)
    train, test = torch.tensor(train), torch.tensor(test)
    mean, std = images[train].mean().item(), images[train].std().item()
    images = (images - mean) / std
    return {"x_train": images[train], "y_train": labels[train], "x_test": images[test],
            "y_test": labels[test], "mean": mean, "std": std}


def log_probabilities(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Log-probabilities, whether the network ends in logits or in a softmax."""
    out = model(x)
    if isinstance(list(model.modules())[-1], nn.Softmax):
        return out.clamp_min(1e-12).log()
    return F.log_softmax(out, dim=1)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", default="specs/lenet5.net", help="spec to build")
    parser.add_argument("--network", help="network of the spec (if it has several)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                        help="set a network parameter (classes is 10)")
    parser.add_argument("--from-model", metavar="model.py",
                        help="train the class of this generated file instead of netdsl.build")
    parser.add_argument("--class-name", help="class to take from --from-model (default: last)")
    parser.add_argument("--init", default="default", choices=["default", "kaiming"],
                        help="initialisation for netdsl.build")
    parser.add_argument("--epochs", type=int, help=f"default {EPOCHS} ({QUICK_EPOCHS} with --quick)")
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint", default="digits.pt", help="where to save the result")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.from_model and (args.sets or args.network or args.init != "default"):
        parser.error("--set, --network and --init apply to netdsl.build, not to --from-model")
    if args.epochs is None:
        args.epochs = QUICK_EPOCHS if args.quick else EPOCHS
    return args


def main(argv: list[str] | None = None) -> float:
    args = parse_args(argv)
    console = Console()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()

    params = {}
    for item in args.sets:
        name, _, value = item.partition("=")
        params[name.strip()] = yaml.safe_load(value)
    params.setdefault("classes", 10)
    if args.from_model:
        cls, class_name = load_model_file(args.from_model, args.class_name)
        model = cls()
        shape = model_file_input(args.from_model)
        origin = f"{args.from_model} (class {class_name})"
    else:
        graph = netdsl.load(args.spec).graph(args.network, params=params)
        model = netdsl.build(graph, init=args.init)
        (node,) = graph.graph["inputs"].values()
        shape = tuple(graph.nodes[node]["layer"].out_shape)
        origin = f"netdsl.build({args.spec!r})"
    if shape is None or len(shape) != 3 or shape[0] != 1 or shape[1] != shape[2]:
        raise SystemExit(f"{origin}: needs one input of shape [1, S, S], not {shape}")
    size = shape[1]
    data = digits(size, args.seed)
    n_params = sum(p.numel() for p in model.parameters())
    console.print(f"[bold]{origin}[/]: {n_params:,} parameters, digits upsampled 8x8 -> "
                  f"{size}x{size}, {len(data['y_train'])} train / {len(data['y_test'])} test")

    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps = -(-len(data["y_train"]) // args.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr,
                                                   total_steps=args.epochs * steps)
    columns = (TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"), BarColumn(),
               MofNCompleteColumn(), TextColumn("loss {task.fields[loss]:.3f}"),
               TextColumn("test acc {task.fields[acc]}"), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, disable=args.no_progress) as progress:
        task = progress.add_task("train", total=args.epochs * steps, epoch=0,
                                 epochs=args.epochs, loss=float("nan"), acc="-")
        for epoch in range(1, args.epochs + 1):
            model.train()
            order = torch.randperm(len(data["y_train"]))
            for first in range(0, len(order), args.batch_size):
                batch = order[first:first + args.batch_size]
                loss = F.nll_loss(log_probabilities(model, data["x_train"][batch]),
                                  data["y_train"][batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                progress.update(task, advance=1, epoch=epoch, loss=loss.item())
            accuracy = evaluate(model, data["x_test"], data["y_test"])
            progress.update(task, acc=f"{accuracy:.2%}")

    elapsed = time.perf_counter() - start
    checkpoint = {
        "state_dict": model.state_dict(),
        "spec": args.spec,
        "network": args.network,
        "params": params,
        "model_file": args.from_model,
        "class_name": class_name if args.from_model else None,
        "input_size": size,
        "normalization": {"mean": data["mean"], "std": data["std"]},
        "epochs": args.epochs,
        "test_accuracy": accuracy,
    }
    torch.save(checkpoint, args.checkpoint)
    console.print(f"test accuracy {accuracy:.2%} ({len(data['y_test'])} images) after "
                  f"{args.epochs} epochs in {elapsed:.1f} s; checkpoint saved to {args.checkpoint}")
    return accuracy


if __name__ == "__main__":
    main()
