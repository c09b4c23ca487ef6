"""Repository rules: the host Python interpreter and the hash-locked @pypi packages.

Both run in Bazel's loading phase, on the machine that runs `bazel`. Nothing is downloaded
except the wheels named (with hashes) in requirements_lock.txt, through the machine's pip.
"""

_SUPPORTED = ((3, 11), (3, 12))

_TOOLCHAIN_BUILD = """\
load("@bazel_tools//tools/python:toolchain.bzl", "py_runtime_pair")

exports_files(["python3", "python3.real", "guard.py", "interpreter_path.txt"])

# Tests see only their runfiles: -S (no site-packages), -s (no user site), -P (no script folder
# on sys.path). -I would also drop PYTHONPATH, which Bazel's stub uses for the runfiles.
# No absolute path of this machine reaches an action key: the wrapper runs the interpreter through
# the symlink python3.real next to it (digested by content), and the stub that launches it is any
# python3 on PATH. So machines with the same Python at different paths share cache hits.
py_runtime(
    name = "runtime",
    interpreter = ":python3",
    # guard.py is tools/testing/guard.py: in a test, the wrapper runs every program under it.
    files = [
        ":guard.py",
        ":python3.real",
    ],
    python_version = "PY3",
    stub_shebang = "#!/usr/bin/env python3",
)

py_runtime_pair(
    name = "runtime_pair",
    py3_runtime = ":runtime",
)

toolchain(
    name = "toolchain",
    toolchain = ":runtime_pair",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
)
"""

# In a Bazel test (TEST_TARGET is set by the test runner) every Python program, a plain py_test
# included, runs under tools/testing/guard.py, which enforces the test's declared dependencies.
_WRAPPER = """#!/bin/sh
here=$(dirname "$0")
if [ -n "${TEST_TARGET:-}" ]; then
  exec "$here/python3.real" -S -s -P "$here/guard.py" "$@"
fi
exec "$here/python3.real" -S -s -P "$@"
"""

def _find_python(rctx):
    override = rctx.os.environ.get("TINYTORCH_PYTHON", "")
    candidate = override or rctx.which("python3")
    if not candidate:
        fail("tinytorch needs CPython 3.11 or 3.12 on PATH as `python3` (or set TINYTORCH_PYTHON=/path/to/python3). " +
             "On Debian: apt-get install python3")
    res = rctx.execute([candidate, "-S", "-c", "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])"])
    if res.return_code != 0:
        fail("Could not run the interpreter %s: %s" % (candidate, res.stderr))
    executable, version = res.stdout.strip().split("\n")
    major, minor = [int(p) for p in version.split(".")]
    if (major, minor) not in _SUPPORTED:
        fail(("tinytorch needs CPython 3.11 or 3.12, but %s is %s. Why: tests run under `python -P` " +
              "(3.11+) and the lock pins cp311/cp312 wheels. Set TINYTORCH_PYTHON to a supported interpreter.") %
             (executable, version))
    return executable, version

def _python_interpreter_impl(rctx):
    executable, version = _find_python(rctx)
    rctx.symlink(executable, "python3.real")
    rctx.file("python3", _WRAPPER, executable = True)
    rctx.template("guard.py", rctx.attr._guard)
    rctx.file("interpreter_path.txt", executable + "\n")
    rctx.file("version.txt", version + "\n")
    rctx.file("BUILD.bazel", _TOOLCHAIN_BUILD)
    rctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % rctx.name)

python_interpreter = repository_rule(
    implementation = _python_interpreter_impl,
    attrs = {"_guard": attr.label(default = "//tools/testing:guard.py", allow_single_file = True)},
    environ = ["TINYTORCH_PYTHON", "PATH"],
    local = True,
    doc = "Registers the host CPython 3.11/3.12, wrapped as `python -S -s -P`, as the Python toolchain.",
)

def _pypi_install_impl(rctx):
    python = rctx.read(Label("@python_interpreter//:interpreter_path.txt")).strip()
    lock = rctx.path(rctx.attr.lock)
    generator = rctx.path(rctx.attr._generator)
    rctx.report_progress("pip install --require-hashes -r %s" % rctx.attr.lock.name)
    res = rctx.execute(
        [
            python,
            "-m",
            "pip",
            "install",
            "--require-hashes",
            "--no-deps",
            "--only-binary=:all:",
            "--no-compile",
            "--disable-pip-version-check",
            "--no-warn-script-location",
            "--target",
            "_site",
            "-r",
            str(lock),
        ],
        timeout = 1200,
        quiet = True,
    )
    if res.return_code != 0:
        fail(_explain_pip_failure(res.stdout + res.stderr, rctx.attr.lock))
    res = rctx.execute([python, "-S", str(generator), str(lock), "_site", "."], quiet = True)
    if res.return_code != 0:
        fail("Generating @%s from %s failed:\n%s" % (rctx.name, rctx.attr.lock, res.stderr))
    rctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % rctx.name)

def _explain_pip_failure(output, lock):
    lines = output.split("\n")
    if "No module named pip" in output:
        return ("The Python interpreter has no pip, which installs %s.\n" % lock +
                "Fix: apt-get install python3-pip (Debian's python3; ./bazelw does this as root), " +
                "or `python3 -m ensurepip`, or point TINYTORCH_PYTHON at a CPython 3.11/3.12 with pip.\n\n" +
                "pip said:\n" + output)
    if "DO NOT MATCH THE HASHES" in output:
        # pip lists each offender as "    numpy==2.4.6 from file:///...whl#sha256=... (from -r ...):"
        mismatched = [line.strip().split(" from ")[0] for line in lines if line.startswith("    ") and "==" in line and line.endswith(":")]
        return ("Hash check failed for %s: a downloaded wheel does not match the hash pinned in the lock.\n" % lock +
                "  package: %s\n" % ", ".join(mismatched or ["(see pip output below)"]) +
                "If the lock was edited by hand, restore it or re-lock: bazel run //:requirements.update\n\n" +
                "pip said:\n" + output)
    return "pip install -r %s failed:\n%s\nHint: the lock must pin every package with ==version and --hash=sha256:..." % (lock, output)

pypi_install = repository_rule(
    implementation = _pypi_install_impl,
    attrs = {
        "lock": attr.label(mandatory = True, allow_single_file = True),
        "_generator": attr.label(default = "//tools/python:pypi_build.py", allow_single_file = True),
    },
    doc = "pip-installs a pip-tools lock with --require-hashes and makes one py_library per distribution.",
)
