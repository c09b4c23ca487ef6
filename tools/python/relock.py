"""`./bazelw run //:requirements.update`: re-lock requirements.in into requirements_lock.txt.

Runs pip-compile (from the lock itself, @pypi//pip_tools) with hashes, in the workspace folder, then
records the wheel pip installs for every pin of the lock in requirements_lock.wheels.json, which
pypi_install (tools/python/repositories.bzl) downloads through Bazel's repository cache.

    ./bazelw run //:requirements.update [-- PIP_COMPILE_ARGS...]    re-lock, then record the wheels
    ./bazelw run //:requirements.update -- --wheels-only [LOCK...]  only record the wheels of LOCKs
                                                                    (default: every lock of pypi_build.LOCKS)
"""

import os
import subprocess
import sys
import tempfile

from piptools.scripts.compile import cli

from tools.python import pypi_build

ARGS = [
    "--generate-hashes",
    "--allow-unsafe",  # pin pip and setuptools too: pip-tools needs them, and the lock is all we install
    "--strip-extras",
    "--no-emit-index-url",
    "--no-emit-find-links",
    "--output-file=requirements_lock.txt",
    "requirements.in",
]


def report_command(python, lock, report):
    """The pip run that says which wheel `pip install -r LOCK` takes for each pin, downloading to check hashes.

    The same interpreter and pip as pypi_install's pip path (the interpreter's own pip, not
    @pypi's), with the same wheel-only, no-deps, hash-checked options; --ignore-installed, so a
    package already in that interpreter is still reported.
    """
    return [python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps",
            "--only-binary=:all:", "--require-hashes", "--disable-pip-version-check", "--quiet",
            "--report", report, "-r", lock]


def record(lock, python):
    """Writes LOCK's wheels file (pypi_build.wheels_file_name) from pip's report; raises ValueError on a disagreement."""
    with tempfile.TemporaryDirectory() as scratch:
        report = os.path.join(scratch, "report.json")
        # Bazel's stub put @pypi's folders on PYTHONPATH: they would shadow the interpreter's own pip.
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
        done = subprocess.run(report_command(python, lock, report), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, check=False)
        if done.returncode != 0:
            raise ValueError("pip could not resolve the wheels of %s (exit %d):\n%s" % (lock, done.returncode, done.stdout))
        with open(report, encoding="utf-8") as f:
            report_text = f.read()
    with open(lock, encoding="utf-8") as f:
        lock_text = f.read()
    document = pypi_build.record_wheels(lock_text, os.path.basename(lock), report_text,
                                        pypi_build.current_environment())
    out = pypi_build.wheels_file_name(lock)
    with open(out, "w", encoding="utf-8") as f:
        f.write(pypi_build.dump_wheels(document))
    return out, len(document["wheels"])


def main(argv):
    workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
    if not workspace:
        print("relock: run me with `./bazelw run //:requirements.update`", file=sys.stderr)
        return 2
    os.chdir(workspace)
    if argv[:1] == ["--wheels-only"]:
        locks = argv[1:] or list(pypi_build.LOCKS)
    else:
        # pip-compile writes its own command line into the lock header; keep it the documented one.
        sys.argv = ["pip-compile"] + ARGS + list(argv)
        code = cli.main(args=ARGS + list(argv), prog_name="pip-compile", standalone_mode=False) or 0
        if code:
            return code
        locks = [pypi_build.LOCKS[0]]
    # The interpreter itself (Bazel runs it through a symlink), without -S: its own site-packages and pip.
    python = os.path.realpath(sys.executable)
    for lock in locks:
        try:
            out, count = record(lock, python)
        except (ValueError, OSError) as error:
            print("relock: %s" % error, file=sys.stderr)
            return 1
        print("relock: %s: the wheels of %d pins of %s" % (out, count, lock), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
