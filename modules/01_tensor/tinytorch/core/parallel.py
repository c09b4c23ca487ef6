"""How many threads tinytorch's own kernels use, and a helper that splits a loop over them.

numpy's BLAS calls (matmul) are already multi-threaded; its copy kernels (``np.take``, fancy
indexing, ``np.copyto``) are not. For a large gather one thread reaches only about half the
machine's memory bandwidth, so the embedding lookup splits its rows over a few threads with
``run_in_chunks``. numpy releases the GIL inside those kernels, so Python threads run them in
parallel.

The thread count is, in order: ``set_num_threads(n)``; the environment variable
``TINYTORCH_NUM_THREADS``; ``OMP_NUM_THREADS`` (what BLAS and PyTorch read); the CPUs this
process may run on.
"""

from __future__ import annotations

import numbers
import os
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["get_num_threads", "set_num_threads", "run_in_chunks"]

_ENV_VARIABLES = ("TINYTORCH_NUM_THREADS", "OMP_NUM_THREADS")
_lock = threading.Lock()
_threads = None  # set by set_num_threads; None = read the environment
_pool = None  # (pid, executor, workers): a forked child must not reuse its parent's executor
_worker = threading.local()  # .busy is True on a pool thread while it runs a chunk


def _check_count(value, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{source} must be a positive int, got {type(value).__name__} {value!r}. Hint: e.g. 2.")
    if value < 1:
        raise ValueError(f"{source} must be a positive int (>= 1), got {value!r}. Hint: 1 turns threading off.")
    return int(value)


def set_num_threads(n) -> None:
    """Use ``n`` threads (>= 1) in tinytorch's own kernels from now on (like
    ``torch.set_num_threads``); ``None`` goes back to the environment's choice."""
    global _threads
    _threads = None if n is None else _check_count(n, "set_num_threads(n): n")


def get_num_threads() -> int:
    """The number of threads tinytorch's own kernels use (see the module docstring for the order)."""
    if _threads is not None:
        return _threads
    for name in _ENV_VARIABLES:
        raw = os.environ.get(name, "").strip()
        if raw:
            try:
                # OMP_NUM_THREADS may list one count per nesting level ("4,2"): the first is ours.
                value = int(raw.split(",")[0])
            except ValueError:
                raise ValueError(
                    f"environment variable {name}={raw!r} must be a positive int. Hint: e.g. {name}=2, or unset it."
                ) from None
            return _check_count(value, f"environment variable {name}")
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _submit_all(work, chunks) -> list:
    """Submits ``work(start, stop)`` for every chunk, growing or replacing the pool if needed.
    Under the lock, so no caller can submit to a pool another caller has just shut down."""
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid() or _pool[2] < len(chunks):
            if _pool is not None and _pool[0] == os.getpid():
                _pool[1].shutdown(wait=False)  # finishes its queued chunks, then its threads exit
            # A forked child's copy of the parent's executor has no threads behind it: replaced.
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=len(chunks), thread_name_prefix="tinytorch"), len(chunks))
        return [_pool[1].submit(_run_chunk, work, start, stop) for start, stop in chunks]


def run_in_chunks(work, n: int, grain: int) -> None:
    """Calls ``work(start, stop)`` on contiguous chunks that together cover ``range(n)``.

    At most ``get_num_threads()`` chunks, each at least ``grain`` items long (so small loops stay
    on the calling thread, where a thread hand-off would cost more than it saves). The calling
    thread runs the first chunk itself; the others run on a shared pool. ``work`` must write only
    its own chunk's part of the output; it gains only if it releases the GIL (numpy kernels do).
    The first exception raised by any chunk is re-raised here, after all chunks have finished.
    Called from inside a chunk, it runs on that thread alone (waiting on the pool from a pool
    thread could wait forever).
    """
    if not callable(work):
        raise TypeError(f"run_in_chunks(work, n, grain): work must be callable as work(start, stop), got {work!r}.")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"run_in_chunks: n must be an int >= 0 (the loop length), got {n!r}.")
    grain = _check_count(grain, "run_in_chunks: grain (the fewest items worth a thread)")
    chunks = max(1, min(get_num_threads(), n // grain))
    if chunks == 1 or getattr(_worker, "busy", False):
        work(0, n)
        return
    bounds = [n * i // chunks for i in range(chunks + 1)]
    futures = _submit_all(work, [(bounds[i], bounds[i + 1]) for i in range(1, chunks)])
    error = None
    try:
        work(bounds[0], bounds[1])
    except BaseException as exc:  # noqa: BLE001 - re-raised after the other chunks are done
        error = exc
    for future in futures:
        exc = future.exception()
        error = error or exc
    if error is not None:
        raise error


def _run_chunk(work, start, stop):
    _worker.busy = True
    try:
        work(start, stop)
    finally:
        _worker.busy = False
