"""The `netdsl` command as a user meets it: tables, formats, options, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, run_cli

RESNET34 = "specs/resnet34.net"


def test_table_states_units_and_totals():
    result = run_cli("analyze", RESNET34)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for text in ("Params", "MACs", "Act. MiB", "Saved MiB", "RF size/stride", "21,797,672",
                 "3,663,761,408", "K/M/G = 10^3/10^6/10^9", "MiB = 2^20 B", "B = bytes",
                 "Inference peak", "Training peak", "899/32", "Estimated total size"):
        assert text in out, text


def test_depth_rolls_up_by_block():
    full = json.loads(run_cli("analyze", RESNET34, "-f", "json").stdout)["layers"]
    tops = list(dict.fromkeys(row["name"].split(".")[0] for row in full))
    out = run_cli("analyze", RESNET34, "--depth", "1").stdout.splitlines()
    assert [line.split()[0] for line in out[2:2 + len(tops)]] == tops and not out[2 + len(tops)]
    stages = next(line for line in out if line.startswith("resnet_stages0"))
    assert "21.28 M" in stages  # the params of every layer under the block


def test_json_has_the_documented_keys():
    result = run_cli("analyze", RESNET34, "--format", "json", "--batch", "2")
    d = json.loads(result.stdout)
    assert d["network"] == "resnet34" and d["batch"] == 2 and d["dtype"] == "float32"
    assert d["inputs"] == {"image": [3, 224, 224]}
    assert d["totals"]["params"] == 21_797_672 and d["totals"]["macs"] == 2 * 3_663_761_408
    assert len(d["layers"]) == 126
    pool = next(row for row in d["layers"] if row["op"] == "global_avgpool")
    last_stage = next(row for row in d["layers"] if row["name"] == pool["inputs"][0])
    assert last_stage["rf"] == {"size": [899, 899], "stride": [32, 32], "padding": [449, 449], "exact": True,
                                "global": False}
    source = last_stage["source"]
    assert source["file"].endswith(".net") and source["line"] >= 1 and source["column"] >= 1


def test_yaml_equals_json_and_csv_has_a_row_per_layer():
    j = json.loads(run_cli("analyze", RESNET34, "-f", "json").stdout)
    y = yaml.safe_load(run_cli("analyze", RESNET34, "-f", "yaml").stdout)
    assert y == j
    rows = list(csv.DictReader(io.StringIO(run_cli("analyze", RESNET34, "-f", "csv").stdout)))
    layers = [r for r in rows if r["kind"] == "layer"]
    assert len(layers) == len(j["layers"]) and [r["kind"] for r in rows[-1:]] == ["total"]
    assert sum(int(r["params"]) for r in layers) == 21_797_672 == int(rows[-1]["params"])
    assert {r["rf_exact"] for r in layers} == {"True"}


def test_ir_lists_one_line_per_node():
    out = run_cli("analyze", RESNET34, "--ir").stdout.splitlines()
    assert out[0].startswith("network resnet34") and out[-1].startswith("return %")
    assert len(out) == 126 + 2
    assert sum(" = add(" in line for line in out) == 16 and sum(" = conv(" in line for line in out) == 36


def test_set_params_file_and_input_overrides(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("classes: 10\n")
    d = json.loads(run_cli("analyze", RESNET34, "-f", "json", "--params", str(params),
                           "--input", "image=3x512x512").stdout)
    assert d["layers"][-1]["shape"] == [10] and d["inputs"]["image"] == [3, 512, 512]
    d = json.loads(run_cli("analyze", RESNET34, "-f", "json", "--set", "classes=7",
                           "--input", "3x64x64").stdout)
    assert d["layers"][-1]["shape"] == [7] and d["inputs"]["image"] == [3, 64, 64]


def test_bad_yaml_value_points_into_the_yaml_file(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("# overrides\nclasses: ten\n")
    result = run_cli("analyze", RESNET34, "--params", str(params))
    assert result.returncode == 2
    assert result.stderr.startswith(f"{params}:2:10: error: parameter 'classes' is an int")
    assert " 2 | classes: ten" in result.stderr


def test_an_error_deep_in_a_library_names_the_parameters_given(tmp_path):
    """`--set width=-3` fails at a conv of std/resnet.net, far from the value that caused
    it: the error ends with a note of the parameters this run gave, and where from."""
    result = run_cli("analyze", "specs/resnet50.net", "--set", "width=-3")
    assert result.returncode == 1
    assert result.stderr.startswith("std/resnet.net:12:10: error: conv(): argument "
                                    "'channels' must be a positive integer, got -3")
    assert result.stderr.rstrip().endswith(
        "note: parameters given to this run: width = -3 (from --set)")
    params = tmp_path / "p.yaml"
    params.write_text("classes: 10\nwidth: 0\n")
    result = run_cli("analyze", "specs/resnet50.net", "--params", str(params))
    assert result.stderr.rstrip().endswith(f"note: parameters given to this run: classes = 10 "
                                           f"(from {params}:1), width = 0 (from {params}:2)")
    bad = tmp_path / "bad.net"  # nothing given, no note
    bad.write_text("network n() {\n    input x: [3, 8, 8]\n    x -> conv(-3, 3)\n}\n")
    plain = run_cli("analyze", str(bad))
    assert plain.returncode == 1 and "parameters given" not in plain.stderr


def test_version_and_help():
    assert run_cli("--version").stdout.startswith("netdsl ")
    assert "analyze" in run_cli("--help").stdout


def test_analysis_never_imports_torch():
    code = textwrap.dedent(f"""
        import sys, netdsl
        from rich.console import Console
        from netdsl.report.table import render_report
        from netdsl.report.formats import FORMATTERS
        r = netdsl.load({str(ROOT / RESNET34)!r}).analyze(batch=4)
        Console(file=open("/dev/null", "w")).print(render_report(r))
        [f(r) for f in FORMATTERS.values()]
        assert "torch" not in sys.modules, sorted(m for m in sys.modules if "torch" in m)
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr


def test_several_specs_in_one_process(tmp_path):
    broken = tmp_path / "broken.net"
    broken.write_text("network b() {\n    input x: [3, 8, 8]\n    x -> rleu\n}\n")
    result = run_cli("analyze", "specs/lenet5.net", str(broken), "specs/alexnet.net")
    assert result.returncode == 1
    assert result.stdout.count("\nParameters") == 2  # the two good specs are reported
    assert f"{broken}:3:10: error: unknown name 'rleu'" in result.stderr
    reports = json.loads(run_cli("analyze", "specs/lenet5.net", "specs/alexnet.net",
                                 "-f", "json").stdout)
    assert [r["totals"]["params"] for r in reports] == [61_706, 61_100_840]
    text = run_cli("analyze", "specs/lenet5.net", "specs/alexnet.net", "-f", "csv").stdout
    assert text.count("name,op,block") == 1 and "specs/alexnet.net" in text
    rows = list(csv.DictReader(io.StringIO(text)))
    totals = {r["network"]: int(r["params"]) for r in rows if r["kind"] == "total"}
    assert totals == {"lenet5": 61_706, "alexnet": 61_100_840}
    assert {r["network"] for r in rows if r["kind"] == "layer"} == {"lenet5", "alexnet"}


def test_the_process_ends_quickly_with_all_its_output(tmp_path):
    """After `analyze` the process ends with os._exit (no teardown): every line written
    must still reach the pipe, and the exit code must be the command's."""
    steps = "".join("        -> relu\n" for _ in range(20_000))
    chain = tmp_path / "chain.net"
    chain.write_text(f"network chain() {{\n    input x: [2, 4, 4]\n    x\n{steps}}}\n")
    result = run_cli("analyze", str(chain))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum(1 for line in lines if line.split()[1:2] == ["relu"]) == 20_000
    assert lines[-1].startswith("Training peak")
    result = run_cli("analyze", str(chain), "-f", "json")
    assert len(json.loads(result.stdout)["layers"]) == 20_001  # and the input
    chain.write_text("network chain() {\n    input x: [2, 4, 4]\n    x -> rleu\n}\n")
    result = run_cli("analyze", str(chain), "specs/lenet5.net")
    assert result.returncode == 1 and "unknown name 'rleu'" in result.stderr
    assert result.stdout.count("\nParameters") == 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full (a full disk)")
@pytest.mark.parametrize("spec", ["specs/lenet5.net", "specs/resnet50.net"])
def test_a_full_disk_is_an_error_not_a_bug(spec):
    """Small output fails when the process flushes it at the end, large output while it is
    written: either way the user reads what went wrong, and the exit code is 1."""
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "netdsl", "analyze", spec], stdout=full,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr == "netdsl: error: could not write the output: No space left on device\n"


def test_verify_refuses_a_network_too_large_to_run_before_running_it(tmp_path):
    """32 MACs but an 80 GB output (a stride a long fuzz run drew): `verify` once died in
    PyTorch's allocator ("internal error"); now the limit is checked, and located."""
    spec = tmp_path / "huge.net"
    spec.write_text("network r() {\n    input x: [1, 2, 2]\n\n"
                    "    x -> conv_transpose(channels = 2, kernel = 2, stride = 99999)\n}\n")
    result = run_cli("verify", str(spec))
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"{spec}:4:10: error: verify would need about ")
    assert "past its limit of 8 GiB; the largest output is conv_transpose0's" in result.stderr
    assert "internal error" not in result.stderr and result.stdout == ""


def test_every_spec_analyses_in_one_command():
    specs = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "specs").glob("*.net"))
    result = run_cli("analyze", *specs)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\nParameters") == len(specs)


def test_the_analyze_command_never_imports_torch():
    code = textwrap.dedent(f"""
        import contextlib, io, sys
        from netdsl.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            for fmt in ("table", "json", "yaml", "csv"):
                assert main(["analyze", {str(ROOT / RESNET34)!r}, "-f", fmt]) == 0
        assert "torch" not in sys.modules
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr


def test_the_readme_params_example_is_shipped():
    d = json.loads(run_cli("analyze", "specs/resnet50.net", "--params", "examples/overrides.yaml",
                           "-f", "json").stdout)
    assert d["outputs"] == {"resnet_head0.linear0": [10]}
    assert d["totals"]["params"] < 25_557_032 / 2


def test_help_is_whole_and_every_option_says_what_it_does():
    main_help = run_cli("--help").stdout
    assert "lowers them to PyTorch." in main_help and "download.pytorch.org/whl/cpu" in main_help
    for command in ("analyze", "build", "verify"):
        text = run_cli(command, "--help").stdout
        options = [line.split()[0] for line in text.splitlines()
                   if line.startswith("  -") and len(line.split()) == 1]
        assert not options, f"{command}: options without help: {options}"
    assert "element type" in run_cli("analyze", "--help").stdout


def test_depth_applies_to_json_and_csv():
    d = json.loads(run_cli("analyze", RESNET34, "--depth", "1", "-f", "json").stdout)
    assert "layers" not in d and [b["name"] for b in d["blocks"]] == [
        "image", "resnet_stem0", "resnet_stages0", "resnet_head0"]
    rows = list(csv.DictReader(io.StringIO(
        run_cli("analyze", RESNET34, "--depth", "2", "-f", "csv").stdout)))
    assert {r["kind"] for r in rows} == {"block", "total"}
    assert sum(int(r["params"]) for r in rows if r["kind"] == "block") == 21_797_672


def test_options_that_would_do_nothing_are_refused(tmp_path):
    result = run_cli("analyze", RESNET34, "--ir", "--format", "json")
    assert result.returncode == 2 and "--ir prints the graph as text" in result.stderr
    result = run_cli("analyze", RESNET34, "--ir", "--depth", "1")
    assert result.returncode == 2 and "no --depth" in result.stderr
    result = run_cli("build", RESNET34, "--zero-init-residual")  # only source: no weights
    assert result.returncode == 2 and "--weights" in result.stderr and not result.stdout


def test_zero_init_residual_with_nothing_to_zero_is_refused(tmp_path):
    pytest.importorskip("torch")
    weights = tmp_path / "w.pt"
    result = run_cli("build", "specs/lenet5.net", "--zero-init-residual", "--weights", str(weights))
    assert result.returncode == 2 and "nothing to zero" in result.stderr
    assert not weights.exists()
    result = run_cli("build", "specs/resnet18.net", "--zero-init-residual", "--weights",
                     str(weights))
    assert result.returncode == 0 and weights.exists()


NO_TORCH = """
import contextlib, io, sys
sys.modules["torch"] = None  # `import torch` raises ImportError, as without torch
from netdsl.cli import main
err = io.StringIO()
with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(err):
    codes = [main(argv) for argv in {argvs!r}]
print(codes)
print(err.getvalue())
print(out.getvalue())
"""


def test_source_is_built_without_torch_and_the_rest_names_the_cpu_wheel(tmp_path):
    model = tmp_path / "model.py"
    spec = str(ROOT / "specs/lenet5.net")
    argvs = [["build", spec, "-o", str(model)], ["build", spec, "--print"],
             ["build", spec, "--weights", str(tmp_path / "w.pt")], ["verify", spec]]
    result = subprocess.run([sys.executable, "-c", NO_TORCH.format(argvs=argvs)],
                            capture_output=True, text=True, cwd=ROOT)
    codes, _, messages = result.stdout.partition("\n")
    assert codes == "[0, 0, 2, 2]", result.stderr
    assert f"wrote {model} (61,706 parameters)" in messages  # counted without torch
    compile(model.read_text(), str(model), "exec")
    cpu = "pip install torch --index-url https://download.pytorch.org/whl/cpu"
    assert messages.count(cpu) == 2 and "pip install torch\n" not in messages


def test_verify_shows_progress_on_request_and_keeps_pipes_clean():
    pytest.importorskip("torch")
    quiet = run_cli("verify", "specs/lenet5.net", "--no-fields")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert "checks pass" in quiet.stdout
    shown = run_cli("verify", "specs/lenet5.net", "--no-fields", "--progress")
    assert shown.returncode == 0 and shown.stdout == quiet.stdout
    steps = shown.stderr.splitlines()
    assert steps[0].startswith("netdsl verify: building the model (")
    assert any("counting MACs" in s for s in steps) and "\r" not in shown.stderr
