"""Where benchmark results go and how they are written: Markdown tables and JSON.

Results are written under ``--out DIR`` if given, else ``$BUILD_WORKSPACE_DIRECTORY/out/benchmarks``
(set by ``bazel run``: the workspace, never the runfiles tree), else ``./out/benchmarks``.
"""

from __future__ import annotations

import json
import os

import numpy as np

from timing import median_ms


def output_dir(flag_value=None) -> str:
    if flag_value:
        path = flag_value
    elif os.environ.get("BUILD_WORKSPACE_DIRECTORY"):
        path = os.path.join(os.environ["BUILD_WORKSPACE_DIRECTORY"], "out", "benchmarks")
    else:
        path = os.path.join(os.getcwd(), "out", "benchmarks")
    os.makedirs(path, exist_ok=True)
    return os.path.abspath(path)


def markdown_table(rows: list, columns: list) -> str:
    """rows: dicts; columns: (header, key or callable(row) -> value). Floats get 3 significant
    decimals, None becomes an empty cell."""

    def cell(value):
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 100 else f"{value:.1f}"
        return str(value)

    header = "| " + " | ".join(h for h, _ in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = [
        "| " + " | ".join(cell(key(row) if callable(key) else row.get(key)) for _, key in columns) + " |"
        for row in rows
    ]
    return "\n".join([header, rule] + body)


def write_json(path: str, payload) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=1, sort_keys=False)
        f.write("\n")


def copy_bandwidth_gbps(mib: int = 256, repeats: int = 9) -> float:
    """Memory bandwidth as np.copyto of a ``mib`` MiB float32 array into a reused one (already
    paged in): bytes read + bytes written per second, in GB/s. The physical bound the kernels'
    bytes moved are compared with."""
    src = np.ones(mib * (1 << 20) // 4, dtype=np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in before timing
    ms = median_ms(lambda: np.copyto(dst, src), repeats=repeats)
    return 2 * src.nbytes / (ms * 1e-3) / 1e9
