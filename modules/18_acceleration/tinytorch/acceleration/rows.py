"""Row kernels of the embedding op, fast: a threaded gather and a scatter in rounds of unique ids.

Installed by ``tinytorch.core.acceleration.enable()`` under the kernel names "gather_rows" and
"scatter_add_rows" of module 05, whose reference kernels are ``table[ids]`` and ``np.add.at``.
Both give bitwise the reference's result. Their arguments are trusted (checked by the callers).
"""

from __future__ import annotations

import numpy as np

from tinytorch.core.parallel import run_in_chunks

__all__ = ["gather_rows", "scatter_add_rows"]


# Below this many bytes per thread, gathers and scatters stay on one thread: handing a chunk to
# another thread costs ~10-20 us, which copying less than ~256 KiB does not win back.
_PARALLEL_GRAIN_BYTES = 256 * 1024


def _rows_per_thread(out: np.ndarray) -> int:
    """The fewest rows of ``out`` worth handing to another thread (at least 1, even for huge rows)."""
    return max(1, _PARALLEL_GRAIN_BYTES // max(1, out[:1].nbytes))


def gather_rows(table: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """table (num_rows, *row_shape), ids int64 of any shape, every id in [0, num_rows)
    -> (*ids.shape, *row_shape), a new array with out[i] = table[ids[i]] (the inverse of
    ``scatter_add_rows``). The ids are trusted (the public entry points check them), as in the
    reference kernel ``tinytorch.core.autograd.gather_rows`` (``table[ids]``), which this equals.

    Why not ``table[ids]``: that copy runs on one thread, which reaches about half the memory
    bandwidth of this machine class; a large gather is split into row chunks over
    ``tinytorch.core.parallel`` threads (numpy releases the GIL while copying).
    ``mode="clip"`` skips numpy's second bounds check: with ``out=`` and the default "raise"
    mode, np.take gathers into a temporary first and is ~3x slower (benchmarks/scatter.py).
    """
    flat = ids.reshape(-1)
    out = np.empty((flat.size,) + table.shape[1:], dtype=table.dtype)

    def copy(start, stop):
        np.take(table, flat[start:stop], axis=0, out=out[start:stop], mode="clip")

    run_in_chunks(copy, flat.size, grain=_rows_per_thread(out))
    return out.reshape(ids.shape + table.shape[1:])


# Ids used more often than this are summed on their own (one np.add.reduce each) instead of in
# rounds, so a batch with a padding id used thousands of times still takes few rounds.
_HEAVY_REPEATS = 32


def scatter_add_rows(positions: np.ndarray, rows: np.ndarray, num_rows: int) -> np.ndarray:
    """Sums rows into a zero table by position, without a (rows, num_rows) one-hot matrix.

    positions (n,) int64 in [0, num_rows), rows (n, *row_shape) -> (num_rows, *row_shape) with
    out[i] = sum of rows[k] over every k with positions[k] == i, added in order of k (so the result
    is bitwise what ``np.add.at(out, positions, rows)`` gives, but for the sign of a zero: a
    position whose rows are all -0.0 gets -0.0 here and +0.0 there, because round 0 assigns instead
    of adding to +0.0; the two compare equal, and adding 0 to fix it cost 25% of the scatter), and
    zero rows where i never occurs.

    Why not np.add.at directly: on (n, d) rows it is ~4-10x slower than plain fancy indexing
    (benchmarks/scatter.py measures it and the other candidates). Instead rows are added in
    rounds: round r holds the r-th occurrence of every position that has one, so within a round
    the positions are unique and ``out[positions] += rows`` is exact. Round 0 (every position's
    first occurrence) is most of the work and is a plain assignment. Positions repeated more than
    _HEAVY_REPEATS times are summed separately by np.add.reduce along axis 0, which also adds the
    rows one after another.

    Threads (``tinytorch.core.parallel``) take disjoint row ranges of the table, with the entries
    that land there: most of the time of a large fresh table is the kernel zeroing its pages on
    first write, and that is then done by all threads at once.
    """
    out = np.zeros((num_rows,) + rows.shape[1:], dtype=rows.dtype)
    if positions.shape[0] == 0:
        return out
    order = np.argsort(positions, kind="stable")  # each position's occurrences, in order of k
    sorted_pos = positions[order]

    def add_range(first_row, end_row):
        begin, end = np.searchsorted(sorted_pos, (first_row, end_row))
        _add_sorted(out, sorted_pos[begin:end], order[begin:end], rows)

    run_in_chunks(add_range, num_rows, grain=_rows_per_thread(out))
    return out


def _add_sorted(out, sorted_pos, order, rows):
    """out[sorted_pos[j]] += rows[order[j]] for every j, in rounds (see scatter_add_rows);
    sorted_pos ascending, and order ascending among equal positions."""
    n = sorted_pos.shape[0]
    if n == 0:
        return
    starts_group = np.empty(n, dtype=bool)
    starts_group[0] = True
    np.not_equal(sorted_pos[1:], sorted_pos[:-1], out=starts_group[1:])
    group_start = np.flatnonzero(starts_group)
    counts = np.diff(np.append(group_start, n))
    heavy = counts > _HEAVY_REPEATS
    for start, count in zip(group_start[heavy], counts[heavy]):
        out[sorted_pos[start]] = np.add.reduce(rows[order[start : start + count]], axis=0)
    # Occurrence number of each sorted entry: its index minus the index where its group starts.
    occurrence = np.arange(n) - np.repeat(group_start, counts)
    light = np.flatnonzero(np.repeat(~heavy, counts))
    occurrence = occurrence[light]
    by_round = light[np.argsort(occurrence, kind="stable")]  # round 0 entries, then round 1, ...
    begin = 0
    for r, end in enumerate(np.cumsum(np.bincount(occurrence))):
        take = by_round[begin:end]
        if r == 0:
            out[sorted_pos[take]] = rows[order[take]]
        else:
            out[sorted_pos[take]] += rows[order[take]]
        begin = end
