"""Machine-readable reports: JSON, YAML and CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netdsl.analysis.report import Report

CSV_COLUMNS = ("name", "op", "block", "inputs", "shape", "params", "buffers", "macs", "flops",
               "other_ops", "activation_bytes", "saved_for_backward_bytes", "rf_size",
               "rf_stride", "rf_padding", "rf_global", "file", "line", "column")


def to_json(report: Report) -> str:
    """The report as JSON (the documented keys, indented)."""
    return json.dumps(report.to_dict(), indent=2)


def to_yaml(report: Report) -> str:
    """The report as YAML (the same keys as JSON)."""
    import yaml

    return yaml.safe_dump(report.to_dict(), sort_keys=False)


def to_csv(report: Report) -> str:
    """One CSV row per layer; list values joined with 'x' (shape) or ' ' (inputs)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.layers:
        rf = row.rf
        writer.writerow([
            row.name, row.op, row.block, " ".join(row.inputs), "x".join(map(str, row.shape)),
            row.params, row.buffers, row.macs, row.flops, row.other_ops, row.activation_bytes,
            row.saved_for_backward_bytes, "x".join(map(str, rf.size)),
            "x".join(map(str, rf.stride)), "x".join(map(str, rf.padding)), rf.is_global,
            row.source.file, row.source.line, row.source.column,
        ])
    return out.getvalue()


FORMATTERS = {"json": to_json, "yaml": to_yaml, "csv": to_csv}
