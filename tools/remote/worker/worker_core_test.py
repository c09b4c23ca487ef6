"""Unit tests of the worker's standard-library core (tools/remote/worker/worker_core.py)."""

import hashlib
import os
import stat
import sys
import tempfile
import time

import pytest

from tools.remote.worker import worker_core


@pytest.fixture
def tmp():
    with tempfile.TemporaryDirectory() as d:
        yield d


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "x\0y"])
def test_check_name_refuses_what_could_leave_the_directory(bad):
    with pytest.raises(ValueError, match="unsafe directory entry name"):
        worker_core.check_name(bad)


def test_check_name_keeps_plain_names():
    assert worker_core.check_name("test.xml") == "test.xml"
    with pytest.raises(TypeError):
        worker_core.check_name(b"bytes")


@pytest.mark.parametrize("bad", ["/etc/passwd", "a/../b", "a//b", "./a", "a/"])
def test_check_relative_refuses_escapes(bad):
    with pytest.raises(ValueError, match=r"path '.*'"):
        worker_core.check_relative(bad)


def test_check_relative_keeps_nested_paths():
    assert worker_core.check_relative("bazel-out/k8/testlogs/x/test.xml") == "bazel-out/k8/testlogs/x/test.xml"
    assert worker_core.check_relative("") == ""


def test_action_env_is_exactly_the_pairs():
    assert worker_core.action_env([("PATH", "/bin"), ("A", "")]) == {"PATH": "/bin", "A": ""}
    with pytest.raises(ValueError, match="set twice"):
        worker_core.action_env([("A", "1"), ("A", "2")])
    with pytest.raises(ValueError, match="bad environment variable"):
        worker_core.action_env([("A=B", "1")])


def test_run_command_sees_only_the_given_environment(tmp):
    out, err = os.path.join(tmp, "out"), os.path.join(tmp, "err")
    # env(1) prints its environment as it got it: nothing of the worker's own environment is passed.
    r = worker_core.run_command(["/usr/bin/env"], tmp, {"ONLY": "this", "X": "a b"}, None, out, err)
    assert r.exit_code == 0 and not r.timed_out
    assert open(out).read().splitlines() == ["ONLY=this", "X=a b"]


def test_run_command_reports_exit_code_and_stderr(tmp):
    out, err = os.path.join(tmp, "out"), os.path.join(tmp, "err")
    r = worker_core.run_command([sys.executable, "-S", "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"],
                                tmp, {}, 10, out, err)
    assert r.exit_code == 3 and not r.timed_out
    assert open(err).read() == "boom"


def _alive(pid):
    """A process that exists and is not a zombie (a killed child waits as one until reaped)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_run_command_kills_the_whole_group_on_timeout(tmp):
    out, err = os.path.join(tmp, "out"), os.path.join(tmp, "err")
    pid_file, marker = os.path.join(tmp, "child.pid"), os.path.join(tmp, "child-survived")
    # The command's child writes its PID, then the marker 3 s later unless killing the group stops
    # it too. The command waits for the PID file, so the child exists when the timeout strikes.
    child = "import os, time; open(%r, 'w').write(str(os.getpid())); time.sleep(3); open(%r, 'w').write('x')" % (
        pid_file, marker)
    code = ("import os, subprocess, sys, time\n"
            "subprocess.Popen([sys.executable, '-S', '-c', %r])\n"
            "give_up = time.monotonic() + 5\n"
            "while not os.path.exists(%r) and time.monotonic() < give_up:\n"
            "    time.sleep(0.01)\n"
            "time.sleep(30)\n" % (child, pid_file))
    start = time.monotonic()
    r = worker_core.run_command([sys.executable, "-S", "-c", code], tmp, {}, 1.0, out, err)
    assert r.timed_out
    assert r.exit_code == -9
    assert time.monotonic() - start < 10
    child_pid = int(open(pid_file).read())
    deadline = time.monotonic() + 5
    while _alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _alive(child_pid), "the command's child %d outlived the group kill" % child_pid
    assert not os.path.exists(marker)


def test_run_command_stops_when_asked(tmp):
    out, err = os.path.join(tmp, "out"), os.path.join(tmp, "err")
    deadline = time.monotonic() + 0.5
    r = worker_core.run_command([sys.executable, "-S", "-c", "import time; time.sleep(30)"], tmp, {}, None, out, err,
                                should_stop=lambda: time.monotonic() > deadline)
    assert r.error == "stopped" and not r.timed_out and r.exit_code == -9


def test_run_command_that_cannot_start(tmp):
    out, err = os.path.join(tmp, "out"), os.path.join(tmp, "err")
    r = worker_core.run_command([os.path.join(tmp, "missing")], tmp, {}, None, out, err)
    assert r.exit_code == 127 and "cannot start" in open(err).read()


def test_sandbox_argv_shape():
    argv = worker_core.sandbox_argv(["python3", "-c", "pass"], "/w/a/root", "sub", uid=65534, hidden=["/work", "/x"])
    assert argv[:2] == ["/usr/bin/unshare", "--mount"] and "--pid" in argv
    i = argv.index("sandbox")
    assert argv[i + 1:i + 4] == ["/w/a/root", "65534", "sub"]
    assert argv[i + 4:i + 7] == ["/work", "/x", "--"]
    assert argv[-3:] == ["python3", "-c", "pass"]
    with pytest.raises(ValueError, match="non-empty argv"):
        worker_core.sandbox_argv([], "/w")
    with pytest.raises(ValueError):
        worker_core.sandbox_argv(["x"], "/w", "../up")


def test_blob_cache_checks_content_and_keeps_modes(tmp):
    cache = worker_core.BlobCache(os.path.join(tmp, "blobs"))
    data = b"hello"
    h = hashlib.sha256(data).hexdigest()
    with pytest.raises(ValueError, match="expected"):
        cache.put(h, b"other")
    cache.put(h, data)
    assert cache.has(h) and not cache.has(h, True)
    cache.link(h, True, os.path.join(tmp, "exe"))
    cache.link(h, False, os.path.join(tmp, "plain"))
    assert open(os.path.join(tmp, "exe"), "rb").read() == data
    assert os.stat(os.path.join(tmp, "exe")).st_mode & 0o777 == 0o555
    assert os.stat(os.path.join(tmp, "plain")).st_mode & 0o777 == 0o444
    assert os.stat(os.path.join(tmp, "plain")).st_ino == os.stat(cache.path(h, False)).st_ino
    with pytest.raises(ValueError, match="sha256 hex"):
        cache.path("../../etc", False)


def test_walk_outputs_lists_files_and_trees(tmp):
    os.makedirs(os.path.join(tmp, "out/d/e"))
    open(os.path.join(tmp, "out/f.txt"), "w").write("f")
    open(os.path.join(tmp, "out/d/e/g"), "w").write("g")
    os.chmod(os.path.join(tmp, "out/d/e/g"), 0o755)
    files, dirs = worker_core.walk_outputs(tmp, ["out/f.txt", "out/missing"], ["out/d"])
    assert [(p, x) for p, _, x in files] == [("out/f.txt", False)]
    (path, tree), = dirs
    assert path == "out/d"
    assert list(tree["dirs"]) == ["e"]
    assert [(n, x) for n, _, x in tree["dirs"]["e"]["files"]] == [("g", True)]
    with pytest.raises(ValueError, match="is a directory"):
        worker_core.walk_outputs(tmp, ["out/d"], [])
    with pytest.raises(ValueError, match="is a file"):
        worker_core.walk_outputs(tmp, [], ["out/f.txt"])


def test_parents_to_create():
    assert worker_core.parents_to_create(["a/b/c.txt", "top"], ["a/d"]) == ["a", "a/b"]


def test_sha256_file(tmp):
    p = os.path.join(tmp, "x")
    open(p, "wb").write(b"abc" * 1000)
    assert worker_core.sha256_file(p, chunk=7) == (hashlib.sha256(b"abc" * 1000).hexdigest(), 3000)
    assert stat.S_ISREG(os.stat(p).st_mode)
