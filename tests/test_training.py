"""Built networks train: a small CNN learns oriented bars, optimizer steps move every weight,
and `init="kaiming", zero_init_residual=True` starts residual units as the identity.

The data is generated here (no download): 1x16x16 images of one bar each, horizontal,
vertical or on either diagonal (4 classes, chance is 25%), of random length, position and
brightness, in Gaussian noise. Everything is seeded and runs on one thread, so each test
is deterministic and takes a few seconds at most.
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

import netdsl  # noqa: E402

# Two conv stages with batch norm, global pooling and a linear head: 1,364 parameters.
EDGES = """
network edges(classes = 4) {
    input image: [1, 16, 16]

    image
        -> conv(8, 3, padding = same) -> batchnorm -> relu -> maxpool(2)
        -> conv(16, 3, padding = same) -> batchnorm -> relu
        -> global_avgpool -> flatten -> linear(classes)
}
"""

# torchvision's BasicBlock layout: basic0 has an identity shortcut, basic1 a projection
# (1x1 conv + batch norm) shortcut, because it halves the size and doubles the channels.
TINY_RESNET = """
block conv_bn(channels, kernel, stride = 1) {
    conv(channels, kernel, stride = stride, padding = kernel // 2, bias = false) -> batchnorm
}

block basic(channels, stride = 1) {
    add(
        conv_bn(channels, 3, stride) -> relu -> conv_bn(channels, 3),
        if stride == 1 and in.channels == channels { identity } else { conv_bn(channels, 1, stride) }
    ) -> relu
}

network tiny_resnet(classes = 4, second = 16, stride = 2) {
    input image: [1, 16, 16]

    image -> conv_bn(8, 3) -> relu -> basic(8) -> basic(second, stride = stride)
        -> global_avgpool -> flatten -> linear(classes)
}
"""

ANGLES = (0.0, 90.0, 45.0, 135.0)  # class k is a bar at ANGLES[k] degrees


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def oriented_bars(n: int, generator: torch.Generator, size: int = 16,
                  noise: float = 0.35) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` images [n, 1, size, size] of one bar each, and their class labels [n]."""
    labels = torch.randint(0, len(ANGLES), (n,), generator=generator)
    theta = (torch.tensor(ANGLES)[labels] * math.pi / 180).view(n, 1, 1)
    half_length = torch.empty(n, 1, 1).uniform_(3.0, 6.0, generator=generator)
    cy = torch.empty(n, 1, 1).uniform_(4.0, size - 5.0, generator=generator)
    cx = torch.empty(n, 1, 1).uniform_(4.0, size - 5.0, generator=generator)
    grid = torch.arange(size, dtype=torch.float32)
    dy, dx = grid.view(1, -1, 1) - cy, grid.view(1, 1, -1) - cx
    along = dx * torch.cos(theta) - dy * torch.sin(theta)
    across = dx * torch.sin(theta) + dy * torch.cos(theta)
    bar = ((across.abs() <= 0.6) & (along.abs() <= half_length)).float()
    brightness = torch.empty(n, 1, 1).uniform_(0.7, 1.3, generator=generator)
    images = bar * brightness + noise * torch.randn(n, size, size, generator=generator)
    return images.unsqueeze(1), labels


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def test_oriented_bars_are_what_they_say() -> None:
    x, y = oriented_bars(32, torch.Generator().manual_seed(1), noise=0.0)
    assert x.shape == (32, 1, 16, 16) and y.shape == (32,)
    assert set(y.tolist()) == {0, 1, 2, 3}
    for image, label in zip(x[:, 0], y):
        rows, cols = torch.nonzero(image, as_tuple=True)
        # 1 or 2 pixels thick across the bar, 5 or more along it (half-length 3 to 6)
        across = [rows, cols, cols + rows, cols - rows][label]  # image rows grow down
        along = [cols, rows, cols, cols][label]
        assert across.max() - across.min() <= 1, label
        assert along.max() - along.min() >= 4, label


def test_small_cnn_learns_oriented_bars() -> None:
    generator = torch.Generator().manual_seed(0)
    x_train, y_train = oriented_bars(2048, generator)
    x_test, y_test = oriented_bars(512, generator)  # held out
    torch.manual_seed(0)
    model = netdsl.build(EDGES)
    assert sum(p.numel() for p in model.parameters()) == 1364
    before = accuracy(model, x_test, y_test)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(6):
        model.train()
        order = torch.randperm(len(x_train))
        for start in range(0, len(x_train), 64):
            batch = order[start:start + 64]
            loss = F.cross_entropy(model(x_train[batch]), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    after = accuracy(model, x_test, y_test)
    assert before < 0.5  # untrained: near chance (25%)
    assert after >= 0.9, f"held-out accuracy {after:.3f} after training (chance 0.25)"


def test_optimizer_step_changes_weights_and_loss_decreases() -> None:
    x, y = oriented_bars(64, torch.Generator().manual_seed(2))
    torch.manual_seed(0)
    model = netdsl.build(EDGES).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    params = {name: p.detach().clone() for name, p in model.named_parameters()}
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}

    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    optimizer.step()
    for name, p in model.named_parameters():
        assert not torch.equal(p, params[name]), f"{name} did not change"
    for name, b in model.named_buffers():  # batch norm statistics moved in train mode
        assert not torch.equal(b, buffers[name]), f"{name} did not change"

    losses = [loss.item()]
    for _ in range(30):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0], losses  # measured: 1.41 -> 0.61
    assert sum(b < a for a, b in zip(losses, losses[1:])) >= 0.9 * (len(losses) - 1), losses


def _batchnorm_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {key.removesuffix(".weight"): value for key, value in model.state_dict().items()
            if key.endswith("batchnorm0.weight")}


def test_zero_init_residual_zeroes_the_last_batchnorm_of_each_residual_branch() -> None:
    torch.manual_seed(0)
    model = netdsl.build(TINY_RESNET, init="kaiming", zero_init_residual=True)
    state = model.state_dict()
    weights = _batchnorm_weights(model)
    # the second conv_bn of each basic unit ends its residual branch (torchvision's bn2)
    last_of_branch = {"basic0.conv_bn1.batchnorm0", "basic1.conv_bn1.batchnorm0"}
    for name in last_of_branch:
        assert torch.all(weights[name] == 0), name
    for name in ("conv_bn0.batchnorm0", "basic0.conv_bn0.batchnorm0",
                 "basic1.conv_bn0.batchnorm0"):
        assert torch.all(weights[name] == 1), name
    for name in weights:
        assert torch.all(state[f"{name}.bias"] == 0), name
    # kaiming-normal, fan_out: std sqrt(2 / (out_channels * k * k))
    conv = state["basic1.conv_bn0.conv0.weight"]
    assert abs(conv.std().item() - math.sqrt(2 / (16 * 9))) < 0.1 * math.sqrt(2 / (16 * 9))
    # without the flag nothing is zeroed
    plain = netdsl.build(TINY_RESNET, init="kaiming")
    assert all(torch.all(w == 1) for w in _batchnorm_weights(plain).values())


def test_zero_init_residual_units_start_as_identity_and_train() -> None:
    """With identity shortcuts only, each unit starts as relu(x) = x and still learns."""
    torch.manual_seed(0)
    model = netdsl.build(TINY_RESNET, init="kaiming", zero_init_residual=True,
                         second=8, stride=1).eval()
    x, y = oriented_bars(16, torch.Generator().manual_seed(3))
    stem = model.get_submodule("relu0")
    seen = {}
    stem.register_forward_hook(lambda module, args, out: seen.update(stem=out))
    model.get_submodule("basic1.relu1").register_forward_hook(
        lambda module, args, out: seen.update(last=out))
    model(x)
    assert torch.allclose(seen["stem"], seen["last"])  # both units are the identity
    model.train()
    F.cross_entropy(model(x), y).backward()
    for name in ("basic0.conv_bn1.batchnorm0", "basic1.conv_bn1.batchnorm0"):
        assert model.get_submodule(name).weight.grad.abs().sum() > 0, name


def test_zero_init_residual_keeps_projection_shortcuts() -> None:
    """A projection shortcut's batch norm feeds the add too, but is not the residual branch:
    zeroing it as well would make the unit output relu(0) and stop every gradient."""
    torch.manual_seed(0)
    model = netdsl.build(TINY_RESNET, init="kaiming", zero_init_residual=True)
    x, y = oriented_bars(16, torch.Generator().manual_seed(3))
    F.cross_entropy(model(x), y).backward()
    stem = model.get_submodule("conv_bn0.conv0").weight.grad
    assert stem.abs().sum() > 0, "no gradient reaches the stem"
    # torchvision leaves downsample[1] at weight 1
    assert torch.all(_batchnorm_weights(model)["basic1.conv_bn2.batchnorm0"] == 1)


def test_zero_init_residual_matches_torchvision_resnet18() -> None:
    """The zeroed batch norms are torchvision's: bn2 of every BasicBlock, never downsample.1
    (keys matched by order with the hand-written torchvision-layout model)."""
    import importlib.util
    import sys

    from tests.conftest import ROOT

    name = "netdsl_bench_reference_models"  # as tests/test_reference_models.py imports it
    reference = sys.modules.get(name)
    if reference is None:
        spec = importlib.util.spec_from_file_location(
            name, ROOT / "benchmarks" / "reference_models.py")
        assert spec is not None and spec.loader is not None
        reference = importlib.util.module_from_spec(spec)
        sys.modules[name] = reference  # dataclasses resolve annotations via sys.modules
        spec.loader.exec_module(reference)

    model = netdsl.build(ROOT / "specs" / "resnet18.net", init="kaiming",
                         zero_init_residual=True)
    ours, theirs = model.state_dict(), reference.resnet18().state_dict()
    assert [v.shape for v in ours.values()] == [v.shape for v in theirs.values()]
    zeroed = {name for (key, value), name in zip(ours.items(), theirs)
              if key.endswith(".weight") and value.dim() == 1 and not value.any()}
    expected = {f"layer{i}.{j}.bn2.weight" for i in range(1, 5) for j in range(2)}
    assert zeroed == expected
