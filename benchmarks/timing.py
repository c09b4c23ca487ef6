"""The one timing helper of the benchmarks: medians of repeated runs, measured side by side.

    cases = {"ours": Case(run=lambda: f(x)), "torch": Case(run=lambda: g(y), setup=...)}
    stats = side_by_side(cases, repeats=15)      # {"ours": Stats(median_ms, ...), "torch": ...}

Each round runs every case once, alternating which goes first, so background load and CPU
frequency changes hit all cases alike; the median of the rounds is the result. ``setup`` runs
before each timed call and is not timed (e.g. building the graph a backward needs). The garbage
collector is off while timing, so a collection started by one case is not billed to another.
"""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Optional


@dataclass
class Case:
    run: Callable[[], object]
    setup: Optional[Callable[[], object]] = None


@dataclass
class Stats:
    median_ms: float
    min_ms: float
    max_ms: float
    repeats: int


def side_by_side(cases: dict, repeats: int = 15, warmup: int = 2) -> dict:
    """Times every case ``repeats`` times, interleaved; returns {name: Stats}."""
    names = list(cases)
    samples = {name: [] for name in names}
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for round_index in range(warmup + repeats):
            order = names if round_index % 2 == 0 else names[::-1]
            for name in order:
                case = cases[name]
                if case.setup is not None:
                    case.setup()
                start = time.perf_counter()
                case.run()
                elapsed = time.perf_counter() - start
                if round_index >= warmup:
                    samples[name].append(elapsed * 1e3)
    finally:
        if was_enabled:
            gc.enable()
    return {
        name: Stats(statistics.median(s), min(s), max(s), len(s)) for name, s in samples.items()
    }


def median_ms(run: Callable[[], object], setup: Optional[Callable[[], object]] = None, repeats: int = 15, warmup: int = 2) -> float:
    """Median wall time of ``run`` in milliseconds (a single case of ``side_by_side``)."""
    return side_by_side({"run": Case(run, setup)}, repeats, warmup)["run"].median_ms
