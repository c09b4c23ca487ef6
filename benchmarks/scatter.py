"""Which scatter should the embedding backward use?  ./bazelw run //benchmarks:scatter
(Also: how close the forward gather gets to the copy bandwidth, and its alternatives.)

The dense embedding gradient is a (vocab, dim) zero table into which the upstream gradient of
every token (tokens, dim) is added at its id's row (repeated ids add up). This times the
candidates on the kernel benchmark's workloads, writes a Markdown table and JSON (path printed
at the end) and checks each result against np.add.at (the definition). The library uses the
winner, ``scatter_add_rows`` of module 18 (tinytorch.acceleration.rows, installed by acceleration.enable()).

Every candidate allocates its own zero table, as the backward must: above ~32 MiB a fresh table
costs page faults, so the "zero table" row (np.zeros plus one write per 4 KiB page) is the floor
any candidate pays. numpy runs all of these on one thread; the library's scatter_add_rows is
also timed with 2 threads, each of which takes a row range of the table (and its page faults).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from report import copy_bandwidth_gbps, markdown_table, output_dir, write_json
from tinytorch.acceleration.rows import gather_rows, scatter_add_rows
from tinytorch.core.parallel import set_num_threads
from timing import Case, side_by_side

WORKLOADS = {  # name: (vocab, dim, tokens, id distribution)
    "small": (1_000, 64, 8 * 32, "uniform"),
    "medium": (32_000, 512, 32 * 128, "uniform"),
    "large": (50_257, 768, 16 * 512, "uniform"),
    "large-zipf": (50_257, 768, 16 * 512, "zipf"),  # text-like: a few ids repeat hundreds of times
}

# One-hot matmul needs a (tokens, vocab) float32 matrix; run it only below this size.
ONE_HOT_LIMIT_BYTES = 64 << 20


def add_at_rows(ids, rows, vocab):
    """np.add.at on 2-D rows: the definition, and the slow baseline."""
    out = np.zeros((vocab, rows.shape[1]), rows.dtype)
    np.add.at(out, ids, rows)
    return out


def add_at_flat(ids, rows, vocab):
    """np.add.at on a flat index (id * dim + column): numpy's fast 1-D add.at path."""
    dim = rows.shape[1]
    out = np.zeros(vocab * dim, rows.dtype)
    np.add.at(out, (ids[:, None] * dim + np.arange(dim)).reshape(-1), rows.reshape(-1))
    return out.reshape(vocab, dim)


def sort_reduceat(ids, rows, vocab):
    """Sort by id, sum each run of equal ids with np.add.reduceat (segment sum), assign."""
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    out = np.zeros((vocab, rows.shape[1]), rows.dtype)
    out[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return out


def bincount_columns(ids, rows, vocab):
    """One np.bincount(ids, weights=column) per column (float64 sums, cast back)."""
    out = np.empty((vocab, rows.shape[1]), rows.dtype)
    for j in range(rows.shape[1]):
        out[:, j] = np.bincount(ids, weights=rows[:, j], minlength=vocab)
    return out


def bincount_flat(ids, rows, vocab):
    """One np.bincount over the flat index (vocab * dim float64 bins, cast back)."""
    dim = rows.shape[1]
    flat = (ids[:, None] * dim + np.arange(dim)).reshape(-1)
    return np.bincount(flat, weights=rows.reshape(-1), minlength=vocab * dim).astype(rows.dtype).reshape(vocab, dim)


def one_hot_matmul(ids, rows, vocab):
    """one_hot(ids).T @ rows with a (tokens, vocab) matrix: what the backward must never do."""
    one_hot = np.zeros((ids.size, vocab), rows.dtype)
    one_hot[np.arange(ids.size), ids] = 1
    return one_hot.T @ rows


def _on_threads(library_fn, threads, name, doc):
    """``library_fn`` run with tinytorch.core.parallel set to ``threads`` threads, as a named candidate."""

    def candidate(*args):
        set_num_threads(threads)
        return library_fn(*args)

    candidate.__name__, candidate.__doc__ = name, doc
    return candidate


_SCATTER_DOC = ("tinytorch's scatter_add_rows: rounds of unique ids (plain fancy-index assignment and +=), "
                "heavy repeats through np.add.reduce; with threads, each takes a row range of the table.")


def _library_scatter(threads):
    name = "unique_rounds" if threads == 1 else f"unique_rounds_{threads}_threads"
    return _on_threads(scatter_add_rows, threads, name, _SCATTER_DOC)


unique_rounds = _library_scatter(1)


class ReusedTable:
    """Not a candidate the library can use: sums each id's rows compactly (scatter_add_rows over
    np.unique's slots), then writes them into ONE table kept across calls, after zeroing the rows
    the previous call wrote. No fresh table, so no page faults; but the backward hands its table
    out as weight.grad, so reusing it is only safe when nobody holds the previous one. Shown to
    measure what the fresh table costs."""

    __name__ = "reused_table"

    def __init__(self):
        self.table, self.previous = None, None

    def __call__(self, ids, rows, vocab):
        if self.table is None or self.table.shape != (vocab, rows.shape[1]):
            self.table, self.previous = np.zeros((vocab, rows.shape[1]), rows.dtype), None
        if self.previous is not None:
            self.table[self.previous] = 0.0
        unique, slot = np.unique(ids, return_inverse=True)
        self.table[unique] = scatter_add_rows(slot.reshape(-1), rows, unique.size)
        self.previous = unique
        return self.table


CANDIDATES = [add_at_rows, add_at_flat, sort_reduceat, bincount_columns, bincount_flat, one_hot_matmul, unique_rounds,
              _library_scatter(2)]


def zero_table(ids, rows, vocab):
    """The floor: a fresh zero table with every 4 KiB page written once."""
    out = np.zeros((vocab, rows.shape[1]), rows.dtype)
    out.reshape(-1)[:: 1024] = 0.0
    return out


def make_ids(vocab, tokens, distribution, rng):
    if distribution == "zipf":
        return (rng.zipf(1.2, size=tokens) - 1) % vocab
    return rng.integers(0, vocab, size=tokens)


def run_workload(name, repeats, bandwidth):
    vocab, dim, tokens, distribution = WORKLOADS[name]
    rng = np.random.default_rng(0)
    ids = make_ids(vocab, tokens, distribution, rng).astype(np.int64)
    rows = rng.standard_normal((tokens, dim), dtype=np.float32)
    reference = add_at_rows(ids, rows, vocab)
    exact64 = np.zeros((vocab, dim))
    np.add.at(exact64, ids, rows.astype(np.float64))

    candidates = [zero_table] + [
        c for c in CANDIDATES if c is not one_hot_matmul or tokens * vocab * 4 <= ONE_HOT_LIMIT_BYTES
    ] + [ReusedTable()]
    stats = side_by_side({c.__name__: Case(lambda c=c: c(ids, rows, vocab)) for c in candidates}, repeats=repeats, warmup=1)
    # Bytes any scatter must move: write the whole table once, read every upstream row.
    bound_ms = (vocab * dim * 4 + rows.nbytes) / (bandwidth * 1e9) * 1e3
    records = []
    for c in CANDIDATES + [candidates[-1]]:
        record = {"workload": name, "method": c.__name__, "vocab": vocab, "dim": dim, "tokens": tokens,
                  "distribution": distribution, "max_repeat": int(np.bincount(ids).max())}
        if c.__name__ not in stats:
            one_hot_gb = tokens * vocab * 4 / 1e9
            record.update(ms=None, note=f"not run: the one-hot matrix would be {one_hot_gb:.2f} GB")
        else:
            out = c(ids, rows, vocab)
            record.update(
                ms=stats[c.__name__].median_ms,
                zero_table_ms=stats["zero_table"].median_ms,
                bound_ms=bound_ms,
                x_bound=stats[c.__name__].median_ms / bound_ms,
                vs_add_at_rows=stats[c.__name__].median_ms / stats["add_at_rows"].median_ms,
                note="reuses one table (not safe for a returned gradient)" if c.__name__ == "reused_table" else None,
                bitwise_equal_add_at=bool(np.array_equal(out, reference)),
                max_abs_diff_float64=float(np.max(np.abs(out - exact64))),
            )
        records.append(record)
    return records


# --- the forward gather: weight[ids] ------------------------------------------------------------
def gather_take(table, ids):
    """np.take along axis 0 (one thread)."""
    return np.take(table, ids, axis=0)


def gather_fancy(table, ids):
    return table[ids]


def gather_take_raise_out(table, ids):
    """np.take into a given output with the default mode='raise': numpy gathers into a temporary
    and copies it over, so the output is written twice."""
    out = np.empty(ids.shape + table.shape[1:], table.dtype)
    return np.take(table, ids, axis=0, out=out)


def gather_take_clip_out(table, ids):
    """np.take into a given output; mode='clip' avoids the buffered copy numpy makes for
    mode='raise' with out= (ids are validated first, so clipping never changes one)."""
    out = np.empty(ids.shape + table.shape[1:], table.dtype)
    return np.take(table, ids, axis=0, out=out, mode="clip")


def _library_gather(threads):
    return _on_threads(gather_rows, threads, f"gather_rows_{threads}_thread{'s' if threads > 1 else ''}",
                       "What the library uses: take(out=, mode='clip') split into row chunks over threads.")


GATHERS = [gather_take, gather_fancy, gather_take_raise_out, gather_take_clip_out, _library_gather(1), _library_gather(2)]


def run_gathers(repeats, bandwidth):
    records = []
    for name in ("medium", "large"):
        vocab, dim, tokens, _ = WORKLOADS[name]
        rng = np.random.default_rng(0)
        table = rng.standard_normal((vocab, dim), dtype=np.float32)
        ids = rng.integers(0, vocab, size=tokens)
        want = table[ids]
        stats = side_by_side({g.__name__: Case(lambda g=g: g(table, ids)) for g in GATHERS}, repeats=repeats, warmup=1)
        moved = 2 * tokens * dim * 4 + ids.nbytes  # read the rows, write the output
        bound_ms = moved / (bandwidth * 1e9) * 1e3
        for g in GATHERS:
            ms = stats[g.__name__].median_ms
            records.append({"workload": name, "method": g.__name__, "ms": ms, "gb_per_s": moved / ms / 1e6,
                            "bound_ms": bound_ms, "x_bound": ms / bound_ms,
                            "equal": bool(np.array_equal(g(table, ids), want))})
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="output folder (default: <workspace>/out/benchmarks)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset of " + ",".join(WORKLOADS))
    args = parser.parse_args(argv)

    bandwidth = copy_bandwidth_gbps()
    records = []
    for name in args.workloads.split(","):
        print(f"scatter: {name} ...", file=sys.stderr, flush=True)
        records.extend(run_workload(name, args.repeats, bandwidth))

    table = markdown_table(records, [
        ("workload", "workload"), ("method", "method"), ("max repeat", "max_repeat"), ("ms (median)", "ms"),
        ("zero table ms", "zero_table_ms"), ("x bandwidth bound", "x_bound"), ("vs add.at rows", "vs_add_at_rows"),
        ("bitwise = add.at", "bitwise_equal_add_at"), ("max abs diff vs float64", "max_abs_diff_float64"),
        ("note", "note"),
    ])
    gathers = run_gathers(args.repeats, bandwidth)
    gather_table = markdown_table(gathers, [
        ("workload", "workload"), ("method", "method"), ("ms (median)", "ms"), ("GB/s", "gb_per_s"),
        ("bound ms", "bound_ms"), ("x bandwidth bound", "x_bound"), ("same values", "equal"),
    ])
    text = (
        "# Embedding backward scatter candidates\n\n"
        f"Copy bandwidth (np.copyto, 256 MiB): {bandwidth:.1f} GB/s. Bound = (table bytes + upstream bytes) / bandwidth.\n"
        f"Median of {args.repeats} interleaved runs; each includes allocating the (vocab, dim) zero table.\n\n"
        + table + "\n\n"
        "# Forward gather (weight[ids]) candidates\n\n"
        "Bound = (rows read + output written) / copy bandwidth (one thread's np.copyto). A gather's stores\n"
        "also read each output line first (no non-temporal stores), so one thread stays near 1.5-1.9x of\n"
        "this bound; the library's gather_rows splits the rows over tinytorch.core.parallel threads.\n\n"
        + gather_table + "\n"
    )
    out = output_dir(args.out)
    md_path, json_path = os.path.join(out, "scatter.md"), os.path.join(out, "scatter.json")
    with open(md_path, "w", encoding="utf-8") as f:
        f.write(text)
    write_json(json_path, {"copy_bandwidth_gbps": bandwidth, "rows": records, "gather": gathers})
    print(text)
    print(f"scatter: wrote {md_path} and {json_path}")


if __name__ == "__main__":
    main()
