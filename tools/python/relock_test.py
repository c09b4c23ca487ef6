"""Tests of relock's wheel recording against a fake interpreter that plays pip (no network, no pip)."""

import json
import os

import pytest

from tools.python import relock

SHA = "e" * 64
LOCK = "iniconfig==2.3.1 \\\n    --hash=sha256:%s\n    # via pytest\n" % SHA
URL = "https://files.pythonhosted.org/packages/56/43/iniconfig-2.3.1-py3-none-any.whl"


def fake_interpreter(tmp_path, report, code=0):
    """A shell script standing in for `python`: saves its arguments and environment, writes `report`.

    Not named python*: the test guard refuses to start an interpreter other than sys.executable.
    """
    (tmp_path / "canned.json").write_text(json.dumps(report))
    script = tmp_path / "fake-interpreter.sh"
    script.write_text(
        "#!/bin/sh\n"
        'printf "%%s\\n" "$@" > "%(d)s/args.txt"\n'
        'env > "%(d)s/env.txt"\n'
        'while [ $# -gt 0 ]; do [ "$1" = --report ] && cp "%(d)s/canned.json" "$2"; shift; done\n'
        'echo "ERROR: pip says no" >&2\n'
        "exit %(code)d\n" % {"d": tmp_path, "code": code})
    script.chmod(0o755)
    return str(script)


def pip_report(sha=SHA):
    return {"version": "1", "install": [{
        "metadata": {"name": "iniconfig", "version": "2.3.1"},
        "download_info": {"url": URL, "archive_info": {"hashes": {"sha256": sha}}}}]}


def test_record_writes_the_wheels_file_beside_the_lock(tmp_path, monkeypatch):
    lock = tmp_path / "requirements_lock.txt"
    lock.write_text(LOCK)
    monkeypatch.setenv("PYTHONPATH", "/bazel/runfiles/pypi/pip/site")
    out, count = relock.record(str(lock), fake_interpreter(tmp_path, pip_report()))

    assert (out, count) == (str(tmp_path / "requirements_lock.wheels.json"), 1)
    document = json.loads((tmp_path / "requirements_lock.wheels.json").read_text())
    assert document["wheels"] == {"iniconfig": {"name": "iniconfig", "version": "2.3.1", "url": URL, "sha256": SHA}}
    assert document["lock"] == "requirements_lock.txt"
    args = (tmp_path / "args.txt").read_text().splitlines()
    assert args[:2] == ["-m", "pip"] and args[-2:] == ["-r", str(lock)]
    for option in ("--dry-run", "--ignore-installed", "--no-deps", "--only-binary=:all:", "--require-hashes"):
        assert option in args
    # @pypi's folders on PYTHONPATH would make the report come from @pypi's pip, not the interpreter's.
    assert "PYTHONPATH=" not in (tmp_path / "env.txt").read_text()


def test_record_reports_pips_failure_with_its_output(tmp_path):
    lock = tmp_path / "requirements_lock.txt"
    lock.write_text(LOCK)
    with pytest.raises(ValueError, match=r"pip could not resolve the wheels of .*requirements_lock.txt \(exit 3\):\n"
                                         r"ERROR: pip says no"):
        relock.record(str(lock), fake_interpreter(tmp_path, pip_report(), code=3))
    assert not os.path.exists(tmp_path / "requirements_lock.wheels.json")


def test_record_refuses_a_wheel_whose_hash_is_not_in_the_lock(tmp_path):
    lock = tmp_path / "requirements_lock.txt"
    lock.write_text(LOCK)
    with pytest.raises(ValueError, match="  - iniconfig==2.3.1: the recorded wheel's sha256 f{64} is none of the lock's"):
        relock.record(str(lock), fake_interpreter(tmp_path, pip_report(sha="f" * 64)))
    assert not os.path.exists(tmp_path / "requirements_lock.wheels.json")


def test_the_report_command_is_pips_dry_run_of_the_lock():
    assert relock.report_command("/opt/cpython/bin/interp", "l.txt", "r.json") == [
        "/opt/cpython/bin/interp", "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps",
        "--only-binary=:all:", "--require-hashes", "--disable-pip-version-check", "--quiet",
        "--report", "r.json", "-r", "l.txt"]
