"""Machine-readable reports: JSON, YAML, CSV and a pandas DataFrame.

The CSV (and the DataFrame, which has the same columns) holds one row per layer, or per
block with a depth, then one `total` row per network; several reports share one header
and are told apart by the `network` column. List values are joined: a shape or a field's
size with 'x' (`3x224x224`), a node's inputs with spaces.

Like the rest of `netdsl.report`, this module imports nothing of `netdsl.analysis` at run
time: it renders whatever report it is given.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netdsl.analysis.report import Report

CSV_COLUMNS = ("network", "kind", "name", "op", "block", "layers", "inputs", "shape", "params",
               "buffers", "macs", "flops", "other_ops", "activation_bytes",
               "saved_for_backward_bytes", "rf_size", "rf_stride", "rf_padding", "rf_global",
               "rf_exact", "file", "line", "column")


def to_json(report: Report, depth: int | None = None) -> str:
    """The report as JSON (the documented keys, indented)."""
    return json.dumps(report.to_dict(depth), indent=2)


def to_yaml(report: Report, depth: int | None = None) -> str:
    """The report as YAML (the same keys as JSON)."""
    import yaml

    return yaml.safe_dump(report.to_dict(depth), sort_keys=False)


def records(reports: Sequence[Report], depth: int | None = None) -> Iterator[dict[str, Any]]:
    """The CSV's rows as dicts keyed by `CSV_COLUMNS` (None where a kind of row has no
    value: a total has no shape, a block no op)."""
    for report in reports:
        if depth is None:
            for row in report.layers:
                yield {"network": report.network, "kind": "layer", "name": row.name,
                       "op": row.op, "block": row.block, "layers": 1,
                       "inputs": " ".join(row.inputs), "shape": _x(row.shape),
                       "params": row.params, "buffers": row.buffers, "macs": row.macs,
                       "flops": row.flops, "other_ops": row.other_ops,
                       "activation_bytes": row.activation_bytes,
                       "saved_for_backward_bytes": row.saved_for_backward_bytes,
                       **_rf(row.rf), "file": row.source.file, "line": row.source.line,
                       "column": row.source.column}
        else:
            for block in report.rollup(depth):
                yield {**dict.fromkeys(CSV_COLUMNS), "network": report.network, "kind": "block",
                       "name": block.name, "layers": block.layers, "shape": _x(block.shape),
                       "params": block.params, "macs": block.macs, "flops": 2 * block.macs,
                       "activation_bytes": block.activation_bytes,
                       "saved_for_backward_bytes": block.saved_for_backward_bytes,
                       **_rf(block.rf)}
        t = report.totals
        yield {**dict.fromkeys(CSV_COLUMNS), "network": report.network, "kind": "total",
               "layers": len(report.layers), "params": t.params, "buffers": t.buffers,
               "macs": t.macs, "flops": t.flops, "other_ops": t.other_ops,
               "activation_bytes": t.activation_bytes,
               "saved_for_backward_bytes": t.saved_for_backward_bytes, "file": report.source}


def to_csv(reports: Report | Sequence[Report], depth: int | None = None) -> str:
    """One header, then the rows of each report (see the module docstring)."""
    if not isinstance(reports, Sequence):
        reports = [reports]
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records(reports, depth))
    return out.getvalue()


def to_dataframe(reports: Report | Sequence[Report], depth: int | None = None) -> Any:
    """The CSV's rows as a `pandas.DataFrame` (numbers as numbers); needs pandas."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("to_dataframe needs pandas: pip install pandas") from None
    if not isinstance(reports, Sequence):
        reports = [reports]
    return pd.DataFrame.from_records(list(records(reports, depth)), columns=list(CSV_COLUMNS))


def _x(values: Sequence[Any]) -> str:
    return "x".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def _rf(rf: Any) -> dict[str, Any]:
    return {"rf_size": _x(rf.size), "rf_stride": _x([_number(s) for s in rf.stride]),
            "rf_padding": _x([_number(p) for p in rf.padding]), "rf_global": rf.is_global,
            "rf_exact": rf.exact}


def _number(value: Any) -> int | float:
    """A field's stride or padding (a Fraction after up-sampling) as a plain number."""
    return value if isinstance(value, int) else float(value)


FORMATTERS = {"json": to_json, "yaml": to_yaml, "csv": to_csv}
