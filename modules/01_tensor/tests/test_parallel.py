"""tinytorch.core.parallel: the thread-count policy and run_in_chunks (coverage, concurrency,
errors, fork safety)."""

import os
import signal
import threading
import time

import pytest

from tinytorch.core.parallel import get_num_threads, run_in_chunks, set_num_threads


@pytest.fixture(autouse=True)
def environment_choice(monkeypatch):
    """Every test starts from the environment's choice with no thread variables set."""
    monkeypatch.delenv("TINYTORCH_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    set_num_threads(None)
    yield
    set_num_threads(None)


def test_default_is_the_cpus_this_process_may_use():
    assert get_num_threads() == len(os.sched_getaffinity(0))


def test_precedence_set_then_tinytorch_variable_then_omp(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert get_num_threads() == 3
    monkeypatch.setenv("TINYTORCH_NUM_THREADS", "5")
    assert get_num_threads() == 5
    set_num_threads(7)
    assert get_num_threads() == 7
    set_num_threads(None)
    assert get_num_threads() == 5


@pytest.mark.parametrize("bad, error, text", [
    (0, ValueError, "got 0"),
    (-2, ValueError, "got -2"),
    (True, TypeError, "got bool True"),
    ("2", TypeError, "got str '2'"),
    (2.0, TypeError, "got float 2.0"),
])
def test_set_num_threads_rejects_non_positive_ints(bad, error, text):
    with pytest.raises(error, match=r"positive int") as info:
        set_num_threads(bad)
    assert text in str(info.value)
    assert get_num_threads() == len(os.sched_getaffinity(0))  # the bad call changed nothing


def test_omp_nested_list_uses_the_first_level(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "4,2")
    assert get_num_threads() == 4


@pytest.mark.parametrize("raw", ["two", "0", "-1", "1.5", ",2"])
def test_bad_environment_value_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("OMP_NUM_THREADS", raw)
    with pytest.raises(ValueError, match=r"OMP_NUM_THREADS") as info:
        get_num_threads()
    assert raw in str(info.value)


def record_chunks(n, grain, threads):
    set_num_threads(threads)
    seen, lock = [], threading.Lock()

    def work(start, stop):
        with lock:
            seen.append((start, stop, threading.get_ident()))

    run_in_chunks(work, n, grain)
    return sorted(seen)


@pytest.mark.parametrize("n, grain, threads, expected", [
    (10, 1, 3, [(0, 3), (3, 6), (6, 10)]),
    (10, 4, 3, [(0, 5), (5, 10)]),       # 10 // 4 = 2 chunks of at least 4
    (10, 11, 3, [(0, 10)]),              # smaller than one grain: no split
    (10, 1, 1, [(0, 10)]),               # one thread: no split
    (0, 1, 4, [(0, 0)]),                 # empty loop: one empty call
    (7, 1, 16, [(i, i + 1) for i in range(7)]),  # never more chunks than items
])
def test_chunks_are_contiguous_and_cover_the_range_once(n, grain, threads, expected):
    assert [(a, b) for a, b, _ in record_chunks(n, grain, threads)] == expected


def test_unsplit_loop_runs_on_the_calling_thread():
    [(_, _, ident)] = record_chunks(10, 100, 4)
    assert ident == threading.get_ident()


def test_chunks_run_at_the_same_time_on_different_threads():
    # Each chunk waits at a barrier for the other: run one after another, they would time out.
    set_num_threads(2)
    barrier = threading.Barrier(2, timeout=10)
    idents = {}

    def work(start, stop):
        barrier.wait()
        idents[start] = threading.get_ident()

    run_in_chunks(work, 2, 1)
    assert idents[0] == threading.get_ident()
    assert idents[1] != threading.get_ident()


def test_an_error_in_another_chunk_is_raised_after_all_chunks_finish():
    set_num_threads(3)
    finished = []

    def work(start, stop):
        if start == 1:
            raise KeyError(f"chunk {start}")
        time.sleep(0.05)
        finished.append(start)

    with pytest.raises(KeyError, match="chunk 1"):
        run_in_chunks(work, 3, 1)
    assert sorted(finished) == [0, 2]


def test_a_chunk_may_run_its_own_loop():
    # The barrier holds 512 outer chunks until all run at once, so all 511 pool threads are busy
    # (no other test asks for more than 400 threads: the pool has exactly 511 now). An inner
    # loop that then queued work for the pool would wait forever.
    set_num_threads(512)
    covered, lock = [], threading.Lock()
    all_busy = threading.Barrier(512, timeout=20)

    def outer(start, stop):
        all_busy.wait()

        def inner(a, b):
            with lock:
                covered.extend(range(start * 10 + a, start * 10 + b))

        run_in_chunks(inner, 10, 1)

    runner = threading.Thread(target=run_in_chunks, args=(outer, 512, 1), daemon=True)
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive(), "a loop inside a chunk waited on the busy pool"
    assert sorted(covered) == list(range(5120))


def test_concurrent_callers_while_the_pool_grows():
    # Each caller asks for more chunks than any before it, so callers keep replacing the pool
    # while others submit to it; a submit to a pool already shut down would raise RuntimeError.
    set_num_threads(400)
    errors, lock = [], threading.Lock()

    def caller(n):
        try:
            done = []
            run_in_chunks(lambda a, b: done.append((a, b)), n, 1)
            assert sorted(done) == [(i, i + 1) for i in range(n)]
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            with lock:
                errors.append(repr(exc))

    callers = [threading.Thread(target=caller, args=(n,)) for n in range(70, 400, 3)]
    for t in callers:
        t.start()
    for t in callers:
        t.join(timeout=30)
    assert errors == []


def test_a_forked_child_gets_working_threads():
    # The parent's pool exists before the fork; the child must not wait on its dead threads.
    set_num_threads(2)
    run_in_chunks(lambda a, b: None, 2, 1)
    pid = os.fork()
    if pid == 0:  # child: exit status 0 if two chunks ran, whatever happens
        code = 1
        try:
            done = []
            run_in_chunks(lambda a, b: done.append(a), 2, 1)
            code = 0 if sorted(done) == [0, 1] else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        waited, status = os.waitpid(pid, os.WNOHANG)
        if waited:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung in run_in_chunks (it reused the parent's thread pool)")


@pytest.mark.parametrize("args, error, text", [
    ((None, 4, 1), TypeError, "work must be callable"),
    ((print, -1, 1), ValueError, "n must be an int >= 0"),
    ((print, 2.5, 1), ValueError, "n must be an int >= 0"),
    ((print, 4, 0), ValueError, "grain"),
])
def test_run_in_chunks_rejects_bad_arguments(args, error, text):
    with pytest.raises(error, match=text):
        run_in_chunks(*args)
