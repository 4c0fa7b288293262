"""The PyTorch lowering: `build`, the generated source, ONNX export, name safety."""

from __future__ import annotations

import ast
import importlib.util
import io
import shutil
import subprocess
import sys
import weakref
from pathlib import Path

import networkx as nx
import pytest

torch = pytest.importorskip("torch")

import netdsl  # noqa: E402
from netdsl.lowering.codegen import generate_source  # noqa: E402
from netdsl.lowering.module import Network, build, residual_batchnorms  # noqa: E402
from netdsl.oracle.measure import example_inputs, training_forward  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESNET34 = ROOT / "specs" / "resnet34.net"

# Branches, a residual, a concat, "same" padding at stride 2, pools, upsampling, dropout.
TINY = """
network tiny(classes = 5) {
    input image: [3, 16, 15]

    x = image -> conv(8, 3, stride = 2, padding = "same") -> batchnorm -> relu
    y = add(x -> conv(8, 3, padding = 1, bias = false) -> batchnorm, x) -> relu
    z = concat(y -> maxpool(3, stride = 2, padding = "same") -> conv(4, 1) -> sigmoid,
               y -> avgpool(2, stride = 2, ceil_mode = true) -> conv(4, 1))
    z -> upsample(scale = 2, mode = "bilinear") -> dropout(0.2) -> global_avgpool -> flatten
      -> linear(classes)
}
"""

# The lowerings that need more than one torch.nn module, each feeding a saving layer.
EDGE = """
network edge() {
    input x: [4, 16, 15]

    s = x -> conv(4, 1)  # so that every branch needs gradients (the input does not)
    a = s -> conv(6, 3, stride = 2, padding = "same") -> relu
    b = a -> conv_transpose(4, 3, stride = 2, padding = [[0, 1], [1, 1]]) -> conv(4, 3, padding = 1)
    c = s -> avgpool(2, stride = 1, padding = "same") -> conv(4, 1)
    d = s -> maxpool(2, stride = 1, padding = "same") -> lrn(3)
    e = mul(b, c, d) -> dropout(0.3) -> conv(4, 1)
    f = e -> center_crop([10, 9]) -> conv(8, 3)
    concat(f -> spp([1, 2]), f -> adaptive_avgpool(1) -> flatten) -> linear(3)
}
"""

# Names that are Python keywords, builtins, nn.Module attributes and the generated file's
# own names, as block names, named values and the input.
HOSTILE = """
block class(c) {
    conv(c, 3, padding = 1) -> relu
}
block lambda(c) {
    forward = class(c)
    self = conv(c, 1)
    add(self, forward)
}
block to(c) {
    train = conv(c, 1)
    eval = train -> relu
    concat(train, eval)
}
network __import__() {
    input self: [2, 6, 6]

    torch = lambda(4)
    nn = class(4)
    F = to(4)
    return = concat(torch, nn, F)
    return -> global_avgpool -> flatten -> linear(2)
}
"""


def load_generated(path: Path, source: str, class_name: str):
    """Write generated source, import it as a fresh module, return its class."""
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, class_name)


def ruff(*paths: Path) -> subprocess.CompletedProcess:
    """`ruff check` with the project's rule set, ignoring any configuration file."""
    exe = shutil.which("ruff")
    cmd = [exe] if exe else [sys.executable, "-m", "ruff"]
    return subprocess.run([*cmd, "check", "--isolated", "--select", "E,F,W,I,B,UP",
                           "--ignore", "E501", "--target-version", "py310", *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


def same_outputs(a: torch.nn.Module, b: torch.nn.Module, *xs: torch.Tensor) -> bool:
    a.eval()
    b.eval()
    with torch.no_grad():
        return torch.allclose(a(*xs), b(*xs), atol=1e-6, rtol=1e-5)


# -------------------------------------------------------------------- build
@pytest.fixture(scope="module")
def resnet34() -> Network:
    torch.manual_seed(0)
    return build(RESNET34)


def test_resnet34_parameter_count(resnet34: Network) -> None:
    assert sum(p.numel() for p in resnet34.parameters()) == 21_797_672


def test_state_dict_keys_are_node_names(resnet34: Network) -> None:
    graph = netdsl.load(RESNET34).graph()
    keys = list(resnet34.state_dict())
    owners = {key.rsplit(".", 1)[0] for key in keys}
    assert owners <= set(graph.nodes)
    for node, layer in graph.nodes(data="layer"):
        if layer.params():
            assert f"{node}.weight" in keys
    # in graph order
    order = {node: i for i, node in enumerate(graph)}
    positions = [order[key.rsplit(".", 1)[0]] for key in keys]
    assert positions == sorted(positions)


def assert_matches_analysis(spec: netdsl.Spec, batch: int = 1) -> None:
    """Parameters, MACs, output shape and saved-for-backward bytes of the lowered module
    (train mode, float32; measured by `netdsl.oracle.measure.training_forward`) equal the
    static analysis."""
    graph = spec.graph()
    totals = spec.analyze(batch=batch).totals
    torch.manual_seed(0)
    model = build(graph)
    assert sum(p.numel() for p in model.parameters()) == totals.params
    measured = training_forward(model, example_inputs(graph, batch))
    out = measured.output
    first = next(iter(out.values())) if isinstance(out, dict) else out  # outputs in order
    assert tuple(first.shape[1:]) == graph.nodes[graph.graph["outputs"][0]]["layer"].out_shape
    assert measured.macs == totals.macs  # for the whole batch
    assert measured.saved_bytes == totals.saved_for_backward_bytes


#: Specs whose training pass needs a batch above 1: a batch norm on a 1x1 map (Inception
#: v3's auxiliary head) has a single value per channel at batch 1, which PyTorch refuses.
TRAIN_BATCH = {"inception_v3": 2}


def _spec_params() -> list:
    """Every spec; those over 5 GMACs at their published size (seconds of CPU and up to
    GBs of saved tensors each) only under `-m exhaustive`, which .ci/run runs."""
    out = []
    for path in sorted((ROOT / "specs").glob("*.net")):
        heavy = netdsl.load(path).analyze().totals.macs > 5e9
        out.append(pytest.param(path, id=path.stem, marks=[pytest.mark.exhaustive] * heavy))
    return out


@pytest.mark.parametrize("path", _spec_params())
def test_every_spec_lowers_and_matches_its_analysis(path: Path) -> None:
    assert_matches_analysis(netdsl.load(path), batch=TRAIN_BATCH.get(path.stem, 1))


def test_unusual_lowerings_match_the_analysis() -> None:
    """Explicit padding, cropped transposed convs, valid-part averages, native dropout, a
    three-way mul, LRN, SPP and a mean-based adaptive pool, feeding layers that save
    their input: no hidden larger storage is kept alive."""
    assert_matches_analysis(netdsl.loads(EDGE), batch=2)


def test_build_accepts_paths_specs_text_and_graphs() -> None:
    spec = netdsl.loads(TINY)
    graph = spec.graph(classes=3)
    for source, kwargs in ((TINY, {"classes": 3}), (spec, {"params": {"classes": 3}}),
                           (graph, {})):
        model = build(source, **kwargs)
        assert model(torch.randn(2, 3, 16, 15)).shape == (2, 3)
    assert netdsl.build(RESNET34, classes=10).resnet_head0.linear0.out_features == 10
    with pytest.raises(TypeError, match="takes 1 input"):
        build(graph)(torch.randn(1, 3, 16, 15), torch.randn(1, 3, 16, 15))


def test_replaced_submodules_are_used() -> None:
    model = build(TINY)
    model.linear0 = torch.nn.Linear(8, 2)  # a new head for another task
    assert model(torch.randn(2, 3, 16, 15)).shape == (2, 2)


def test_state_dict_round_trip() -> None:
    torch.manual_seed(1)
    a = build(TINY)
    a(torch.randn(4, 3, 16, 15))  # move the batch-norm statistics off their start
    buffer = io.BytesIO()
    torch.save(a.state_dict(), buffer)
    buffer.seek(0)
    b = build(TINY)
    b.load_state_dict(torch.load(buffer, weights_only=True))
    x = torch.randn(2, 3, 16, 15)
    assert same_outputs(a, b, x)


def test_forward_frees_each_tensor_after_its_last_consumer() -> None:
    graph = netdsl.loads(TINY).graph()
    model = build(graph).eval()
    order = [n for n in graph if graph.nodes[n]["layer"].op != "input"]
    last = {}
    for step, node in enumerate(order):
        for producer in graph.nodes[node]["inputs"]:
            last[producer] = step
    alive: dict[str, weakref.ref] = {}
    observed = []

    def before(name: str):
        def hook(module, args):
            observed.append((name, {n for n, r in alive.items() if r() is not None}))
        return hook

    def after(name: str):
        def hook(module, args, out):
            alive[name] = weakref.ref(out)
        return hook

    for node in order:  # TINY's names are all valid attribute names
        module = model.get_submodule(node)
        module.register_forward_pre_hook(before(node))
        module.register_forward_hook(after(node))
    with torch.no_grad():
        model(torch.randn(1, 3, 16, 15))
    for node in order:  # a view keeps the tensor it views alive; eval dropout is its input
        if graph.nodes[node]["layer"].is_view or graph.nodes[node]["layer"].op == "dropout":
            base = graph.nodes[node]["inputs"][0]
            last[base] = max(last.get(base, -1), last.get(node, -1))
    for step, (node, live) in enumerate(observed):
        expected = {n for n in order[:step] if last.get(n, -1) >= step}
        assert live == expected, node


def test_kaiming_init_and_zero_init_residual() -> None:
    torch.manual_seed(0)
    model = build(TINY, init="kaiming", zero_init_residual=True)
    graph = netdsl.loads(TINY).graph()
    zeroed = residual_batchnorms(graph)
    assert zeroed == ["batchnorm1"]
    for node, layer in graph.nodes(data="layer"):
        if layer.op == "batchnorm":
            bn = model.get_submodule(node)
            assert torch.all(bn.bias == 0)
            assert torch.all(bn.weight == (0 if node in zeroed else 1))
    conv = model.get_submodule("conv1")
    fan_out = conv.out_channels * 9
    assert abs(conv.weight.std().item() - (2 / fan_out) ** 0.5) < 0.05
    with pytest.raises(ValueError, match="init"):
        build(TINY, init="xavier")


def test_zero_init_residual_spares_projection_shortcuts() -> None:
    graph = netdsl.load(ROOT / "specs" / "resnet18.net").graph()
    chosen = residual_batchnorms(graph)
    adds = [n for n, layer in graph.nodes(data="layer") if layer.op == "add"]
    assert len(chosen) == len(adds) == 8  # one per unit: its residual branch's last
    assert all(n.endswith("conv_bn1.batchnorm0") and "shortcut" not in n for n in chosen)


def test_channels_last_and_autocast() -> None:
    torch.manual_seed(0)
    model = build(TINY).eval()
    x = torch.randn(2, 3, 16, 15)
    with torch.no_grad():
        reference = model(x)
        fast = model.to(memory_format=torch.channels_last)(x.to(memory_format=torch.channels_last))
        assert torch.allclose(reference, fast, atol=1e-5)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(x)
    assert low.dtype == torch.bfloat16
    assert torch.allclose(reference, low.float(), atol=0.1)
    model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model(x).float().sum().backward()


def test_torch_compile() -> None:
    torch.manual_seed(0)
    model = build(TINY).eval()
    x = torch.randn(2, 3, 16, 15)
    compiled = torch.compile(model, fullgraph=True)  # no graph breaks
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), atol=1e-5)


# ------------------------------------------------------------------ codegen
def test_generated_resnet34_matches_build(tmp_path: Path, resnet34: Network) -> None:
    source = generate_source(netdsl.load(RESNET34).graph())
    path = tmp_path / "resnet34_model.py"
    cls = load_generated(path, source, "Resnet34")
    result = ruff(path)
    assert result.returncode == 0, result.stdout + result.stderr
    model = cls()
    ours = resnet34.state_dict()
    theirs = model.state_dict()
    assert list(ours) == list(theirs)
    assert all(ours[k].shape == theirs[k].shape for k in ours)
    model.load_state_dict(ours)
    assert same_outputs(resnet34, model, torch.randn(1, 3, 96, 96))
    assert "# spec line" in source


def test_generated_tiny_matches_build(tmp_path: Path) -> None:
    torch.manual_seed(0)
    built = build(TINY)
    source = generate_source(TINY, class_name="TinyNet")
    path = tmp_path / "tiny_model.py"
    model = load_generated(path, source, "TinyNet")()
    assert ruff(path).returncode == 0
    assert list(model.state_dict()) == list(built.state_dict())
    model.load_state_dict(built.state_dict())
    assert same_outputs(built, model, torch.randn(2, 3, 16, 15))
    for helper in ("class Add(", "class PaddedConv2d(", "class PadBefore", "class Concat("):
        assert helper in source
    assert "class SpatialPyramidPool" not in source  # only the helpers it uses


def test_generated_source_for_every_spec(tmp_path: Path) -> None:
    """Every spec's generated file passes ruff, imports, and has `build`'s parameter and
    buffer names and shapes (checked on the meta device: no weights are made)."""
    files = [ROOT / "netdsl" / "lowering" / "ops.py"]  # copied from: all must pass alone
    for path in sorted((ROOT / "specs").glob("*.net")):
        graph = netdsl.load(path).graph()
        target = tmp_path / f"{path.stem}_model.py"
        cls = load_generated(target, generate_source(graph, class_name="Model"), "Model")
        files.append(target)
        with torch.device("meta"):
            ours, theirs = build(graph).state_dict(), cls().state_dict()
        assert [(k, v.shape) for k, v in ours.items()] == \
            [(k, v.shape) for k, v in theirs.items()], path.stem
    result = ruff(*files)
    assert result.returncode == 0, result.stdout


def test_hostile_names_make_safe_code(tmp_path: Path) -> None:
    graph = netdsl.loads(HOSTILE).graph()
    assert {"self", "torch.self", "return", "F.train"} <= set(graph.nodes)
    source = generate_source(graph)
    path = tmp_path / "hostile_model.py"
    model = load_generated(path, source, "Import")()
    assert ruff(path).returncode == 0, ruff(path).stdout
    built = build(graph)
    assert list(model.state_dict()) == list(built.state_dict())
    keys = list(built.state_dict())
    assert "torch.forward_.conv0.weight" in keys
    assert "F.train_.weight" in keys
    model.load_state_dict(built.state_dict())
    assert same_outputs(built, model, torch.randn(2, 2, 6, 6))
    with pytest.raises(ValueError):
        generate_source(graph, class_name="A; import os")


def test_injected_node_and_network_names_stay_inert(tmp_path: Path) -> None:
    graph = netdsl.loads(TINY).graph()
    evil = 'x"""\nimport os\nos.system("echo pwned")\n#'
    graph = nx.relabel_nodes(graph, {"conv1": evil, "relu0": "a.b\nraise SystemExit"})
    renames = {"conv1": evil, "relu0": "a.b\nraise SystemExit"}
    for _, data in graph.nodes(data=True):
        data["inputs"] = tuple(renames.get(p, p) for p in data["inputs"])
    graph.graph["network"] = 'net"""\nimport os #'
    graph.graph["source"] = 'C:\\evil\n"""'
    source = generate_source(graph)
    tree = ast.parse(source)
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert {a.name for n in imports for a in n.names} <= {"annotations", "torch",
                                                         "torch.nn.functional", "nn"}
    assert not any(isinstance(n, ast.Name) and n.id == "os" for n in ast.walk(tree))
    assert not any(isinstance(n, ast.Raise) for n in ast.walk(tree))
    path = tmp_path / "evil_model.py"
    model = load_generated(path, source, "NetImportOs")()
    assert ruff(path).returncode == 0
    assert list(model.state_dict()) == list(build(graph).state_dict())


def test_codegen_and_analysis_do_not_import_torch() -> None:
    code = ("import sys, netdsl; from netdsl.lowering.codegen import generate_source; "
            f"spec = netdsl.load({str(RESNET34)!r}); spec.analyze(); generate_source(spec); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------- onnx
def test_onnx_export(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    from onnx.reference import ReferenceEvaluator

    from netdsl.lowering.onnx_export import export_onnx

    torch.manual_seed(0)
    model = build(TINY).eval()
    path = export_onnx(model, TINY, tmp_path / "tiny.onnx")
    x = torch.randn(3, 3, 16, 15)  # another batch size: the batch axis is dynamic
    (got,) = ReferenceEvaluator(str(path)).run(None, {"image": x.numpy()})
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(got), model(x), atol=1e-5)


# ------------------------------------------------------------- memory of the oracle
def _rss_bytes() -> int:
    """The process's resident memory now (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


def _live_tensors() -> int:
    """Tensors the collector knows of, after a collection (by exact type: `isinstance` on
    every object would touch lazy module attributes)."""
    import gc

    gc.collect()
    kinds = (torch.Tensor, torch.nn.Parameter)
    return sum(type(o) in kinds for o in gc.get_objects())


def test_repeated_verify_frees_its_tensors_and_memory() -> None:
    """`verify` keeps nothing: no tensor outlives it (a saved-tensor hook that returned
    the tensor itself made output -> grad_fn -> saved tensor a cycle the collector cannot
    free, pytorch#115255), and resident memory stops growing after a first call."""
    from netdsl.oracle import verify

    graph = netdsl.load(ROOT / "specs" / "resnet18.net").graph(inputs={"image": (3, 64, 64)})
    verify(graph, fields=False)
    tensors, first = _live_tensors(), _rss_bytes()
    for _ in range(2):
        verify(graph, fields=False)
    assert _live_tensors() == tensors
    # each leaking call kept ~50 MB here (the activations of its forward passes)
    assert _rss_bytes() - first < 30 * 2**20
