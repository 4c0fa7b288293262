"""The Python API as a notebook user meets it: printing, lookups, exports, names."""

from __future__ import annotations

import ast
import csv
import inspect
import io
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

import netdsl
from netdsl.report.table import DROP_ORDER, layout, tree_rows
from tests.conftest import ROOT, SPECS


@pytest.fixture(scope="module")
def resnet18() -> netdsl.Report:
    return netdsl.load(SPECS / "resnet18.net").analyze()


def test_print_shows_the_table_and_repr_is_one_line(resnet18, capsys):
    print(resnet18)
    out = capsys.readouterr().out
    assert out.startswith("resnet18 — ") and "Estimated total size" in out
    assert out == resnet18.table() + "\n"
    assert "\n" not in repr(resnet18) and "11,689,512 params" in repr(resnet18)


def test_an_unknown_layer_is_a_key_error_with_suggestions(resnet18):
    with pytest.raises(KeyError) as info:
        resnet18.layer("resnet_stem0.conv_bn0.conv")
    assert isinstance(info.value, netdsl.UnknownLayerError)
    assert "did you mean 'resnet_stem0.conv_bn0.conv0'" in str(info.value)
    with pytest.raises(netdsl.UnknownLayerError, match="did you mean 'resnet_head0.linear0'"):
        resnet18.layer("linear0")  # a leaf name: the layers it ends
    assert resnet18.layer("resnet_head0.linear0").params == 513_000


def test_exports(resnet18):
    assert json.loads(resnet18.to_json()) == resnet18.to_dict()
    assert yaml.safe_load(resnet18.to_yaml()) == resnet18.to_dict()
    rows = list(csv.DictReader(io.StringIO(resnet18.to_csv())))
    assert len(rows) == len(resnet18.layers) + 1 and rows[-1]["kind"] == "total"
    blocks = resnet18.to_dict(depth=1)["blocks"]
    assert [b["name"] for b in blocks] == ["image", "resnet_stem0", "resnet_stages0",
                                           "resnet_head0"]
    assert sum(b["params"] for b in blocks) == resnet18.totals.params


def test_dataframe(resnet18):
    pd = pytest.importorskip("pandas", reason="to_dataframe needs pandas (pip install pandas)")
    frame = resnet18.to_dataframe()
    assert isinstance(frame, pd.DataFrame) and len(frame) == len(resnet18.layers) + 1
    layers = frame[frame["kind"] == "layer"]
    assert int(layers["params"].sum()) == resnet18.totals.params
    assert int(layers["macs"].max()) == max(r.macs for r in resnet18.layers)
    assert list(resnet18.to_dataframe(depth=1)["name"][:-1]) == [
        "image", "resnet_stem0", "resnet_stages0", "resnet_head0"]


def test_public_names_and_signatures():
    assert all(not name.startswith("_") or name == "__version__" for name in dir(netdsl))
    assert {"Any", "annotations", "api", "errors"}.isdisjoint(dir(netdsl))
    for name in netdsl.__all__:
        assert getattr(netdsl, name) is not None
    keywords = inspect.signature(netdsl.build).parameters
    assert {"source", "network", "inputs", "params", "init", "zero_init_residual"} <= set(keywords)


def test_totals_add_up(resnet18):
    t = resnet18.totals
    assert t.estimated_total_bytes == t.input_bytes + t.param_bytes + t.activation_bytes
    assert t.input_bytes == 3 * 224 * 224 * 4
    assert t.activation_bytes == sum(r.activation_bytes for r in resnet18.layers)
    assert "trainable_params" not in resnet18.to_dict()["totals"]  # always params: dropped


# ------------------------------------------------------------------- the table
def _row(name: str, params: int = 1) -> SimpleNamespace:
    field = SimpleNamespace(size=(1, 1), stride=(1, 1), padding=(0, 0), is_global=False,
                            exact=True)
    return SimpleNamespace(name=name, op="conv", shape=(4, 8, 8), params=params, macs=params,
                           activation_bytes=4, saved_for_backward_bytes=4, rf=field)


def test_tree_rows_indent_blocks_total_them_and_mark_a_block_met_again():
    report = SimpleNamespace(layers=[_row("a.x", 1), _row("b.y", 2), _row("a.z", 4)],
                             totals=SimpleNamespace(params=7, macs=7))
    rows = tree_rows(report)
    assert [(r.depth, r.name, r.op, r.params, r.more) for r in rows] == [
        (0, "a", "", 5, False), (1, "x", "conv", 1, False), (0, "b", "", 2, False),
        (1, "y", "conv", 2, False), (0, "a", "", 5, True), (1, "z", "conv", 4, False)]
    text = layout(report).lines
    assert text[5].startswith("a (cont.)") and text[5].split() == ["a", "(cont.)"]
    assert [(r.name, r.params) for r in tree_rows(report, depth=1)] == [("a", 5), ("b", 2)]


def test_columns_give_way_in_the_stated_order(resnet18):
    full = layout(resnet18)
    assert not full.dropped
    previous: list[str] = []
    for width in range(max(map(len, full.lines)), 50, -1):
        fitted = layout(resnet18, width=width)
        assert fitted.dropped[:len(previous)] == previous  # only ever more, in order
        previous = fitted.dropped
        assert max(map(len, fitted.lines)) <= width or len(fitted.dropped) == len(DROP_ORDER)
    assert previous == ["Saved MiB", "% params", "RF", "Act. MiB", "Op", "% MACs"][:len(previous)]
    header = layout(resnet18, width=60).lines[0].split()
    assert header[:2] == ["Layer", "Output"] and {"Params", "MACs"} <= set(header)


def test_build_without_torch_names_the_cpu_wheel():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import netdsl\n"
            "try:\n    netdsl.build('specs/lenet5.net')\n"
            "except ModuleNotFoundError as e:\n    print(e.name, '|', e)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.stdout.startswith("torch | netdsl.build needs PyTorch"), result.stderr
    assert "--index-url https://download.pytorch.org/whl/cpu" in result.stdout


def _runtime_imports(path: Path) -> set[str]:
    """The modules a file imports at run time (anywhere but under `if TYPE_CHECKING:`)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            return
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def test_rendering_and_lowering_do_not_import_upwards():
    """`netdsl.report` renders without importing the analysis (which imports it), and the
    lowering turns paths into graphs with the language, not the Python API."""
    for path in sorted((ROOT / "netdsl" / "report").glob("*.py")):
        upward = {m for m in _runtime_imports(path) if m.startswith("netdsl.")
                  and not m.startswith("netdsl.report")}
        assert not upward, f"{path.name} imports {upward}"
    lowering = set().union(*map(_runtime_imports, (ROOT / "netdsl" / "lowering").glob("*.py")))
    assert "netdsl.api" not in lowering and "netdsl" not in lowering


def test_an_error_names_the_parameters_the_api_gave() -> None:
    """Only the first of several errors carries the note (it would repeat on each)."""
    spec = netdsl.loads("network n(c = 4) {\n    input x: [3, 8, 8]\n    a = x -> conv(c, 3)\n"
                        "    b = x -> conv(c, 5)\n    a\n}\n", "n.net")
    with pytest.raises(netdsl.NetdslError) as info:
        spec.analyze(c=-1)
    errors = getattr(info.value, "errors", [info.value])
    assert len(errors) == 2
    assert errors[0].notes[-1].message == "parameters given to this run: c = -1 (from the API)"
    assert not any("parameters given" in n.message for n in errors[1].notes)
