"""Repository rules: the host Python interpreter and the hash-locked @pypi packages.

Both run in Bazel's loading phase, on the machine that runs `bazel`. Nothing is downloaded
except the wheels named (with hashes) in requirements_lock.txt: by Bazel's downloader from the URLs of
requirements_lock.wheels.json (cached in the repository cache), or else through the machine's pip.
"""

_SUPPORTED = ((3, 11), (3, 12))

_TOOLCHAIN_BUILD = """\
load("@bazel_tools//tools/python:toolchain.bzl", "py_runtime_pair")

exports_files(["python3", "python3.real", "guard.py", "identity.txt", "interpreter_path.txt"])

# Tests see only their runfiles: -S (no site-packages), -s (no user site), -P (no script folder
# on sys.path). -I would also drop PYTHONPATH, which Bazel's stub uses for the runfiles.
# No absolute path of this machine reaches an action key: the wrapper runs the interpreter through
# the symlink python3.real next to it (digested by content), and the stub that launches it is any
# python3 on PATH. So machines with the same Python at different paths share cache hits.
# identity.txt (tools/python/interpreter_identity.py) is what the interpreter really is: version,
# build, and the digests of the executable and of the libpython it loads, which python3.real's
# bytes alone do not cover (a pyenv launcher); it is in every Python action's inputs.
py_runtime(
    name = "runtime",
    interpreter = ":python3",
    # guard.py is tools/testing/guard.py: in a test, the wrapper runs every program under it.
    files = [
        ":guard.py",
        ":identity.txt",
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
    res = rctx.execute([executable, "-S", str(rctx.path(rctx.attr._identity))])
    if res.return_code != 0:
        fail("Could not read the identity of the interpreter %s (tools/python/interpreter_identity.py): %s" % (executable, res.stderr))
    rctx.file("identity.txt", res.stdout)
    rctx.file("BUILD.bazel", _TOOLCHAIN_BUILD)
    rctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % rctx.name)

python_interpreter = repository_rule(
    implementation = _python_interpreter_impl,
    attrs = {
        "_guard": attr.label(default = "//tools/testing:guard.py", allow_single_file = True),
        "_identity": attr.label(default = "//tools/python:interpreter_identity.py", allow_single_file = True),
    },
    environ = ["TINYTORCH_PYTHON", "PATH"],
    local = True,
    doc = "Registers the host CPython 3.11/3.12, wrapped as `python -S -s -P`, as the Python toolchain.",
)

def _warn(message):
    # A repository rule has no other way to warn (Bazel shows it as DEBUG: ...).
    # buildifier: disable=print
    print(message)

def _pip_install(rctx, python, lock, generator):
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
        # The diagnosis (no pip, a hash mismatch, an unreachable index, ...) lives in pypi_build.py,
        # where its unit tests (tools/python/pypi_build_test.py) can feed it pip's real messages.
        rctx.file("_pip_failure.log", res.stdout + res.stderr)
        why = rctx.execute([python, "-S", str(generator), "--explain-pip-failure", str(rctx.attr.lock), "_pip_failure.log"], quiet = True)
        fail(why.stdout if why.return_code == 0 else "pip install -r %s failed:\n%s" % (rctx.attr.lock, res.stdout + res.stderr))

def _wheels_plan(rctx, python, lock, generator):
    """The wheels to download (a list of dicts: pin, url, sha256), or None with a warning: use pip.

    A missing or stale wheels file (it does not match the lock, or was made for another kind of
    interpreter) falls back to pip rather than failing: the fix, `bazel run //:requirements.update`,
    itself needs @pypi (pip-tools), so a failing fetch would lock one out of the repair; and
    requirements_test fails on a stale committed file, so CI still catches it.
    """
    name = rctx.attr.lock.name
    wheels_name = (name[:-len(".txt")] if name.endswith(".txt") else name) + ".wheels.json"
    wheels_label = rctx.attr.lock.relative(":" + wheels_name)

    # Bazel 4.2.3 cannot watch a file that does not exist: one added later is seen at the next
    # change of the lock, or at once with `bazel sync --only=NAME`.
    if not lock.dirname.get_child(wheels_name).exists:
        _warn(("@%s: %s does not exist: installing %s with pip, which asks the index for every package and " +
               "is not cached across output bases. Fix: ./bazelw run //:requirements.update writes it.") %
              (rctx.name, wheels_label, rctx.attr.lock))
        return None, wheels_label

    # Through its label, so that Bazel re-runs this rule when the file changes.
    wheels = rctx.path(wheels_label)
    res = rctx.execute([python, "-S", str(generator), "--plan-wheels", str(lock), str(rctx.attr.lock), str(wheels), str(wheels_label)], quiet = True)
    if res.return_code != 0:
        fail("Reading %s failed:\n%s" % (wheels_label, res.stderr))
    plan = json.decode(res.stdout)
    if "stale" in plan:
        _warn("@%s: %s\nInstalling with pip instead (slower, not cached across output bases)." % (rctx.name, plan["stale"]))
        return None, wheels_label
    return plan["wheels"], wheels_label

def _download_wheels(rctx, python, generator, wheels, wheels_label):
    """Unpacks every wheel into _site; returns None, or why a wheel could not be fetched (use pip).

    With sha256, Bazel's downloader looks in the repository cache first and checks what it
    downloads. A wheel is a zip, unpacked as pip would, but for what pypi_build.py finishes:
    NAME.data/ folders, RECORD, and pip's bookkeeping files (see spread_data_dirs there). pip's
    console scripts are not made: no package here ever had them (they lie outside the site folder).
    """
    for i, wheel in enumerate(wheels):
        rctx.report_progress("%s (%d of %d wheels)" % (wheel["pin"], i + 1, len(wheels)))
        got = rctx.download_and_extract(wheel["url"], output = "_site", sha256 = wheel["sha256"], type = "zip", allow_fail = True)
        if got.success:
            continue

        # A wrong hash and an unreachable URL both fail the same way: fetch again, without a hash,
        # to tell them apart. That file is unpacked only if it has the pinned hash after all (the
        # first attempt broke off on the way).
        check = rctx.download(wheel["url"], output = "_hash_check.zip", allow_fail = True)
        if check.success and check.sha256 == wheel["sha256"]:
            rctx.extract("_hash_check.zip", output = "_site")
            rctx.delete("_hash_check.zip")
            continue
        rctx.delete("_hash_check.zip")
        if check.success:
            why = rctx.execute([python, "-S", str(generator), "--explain-wheel-mismatch", str(rctx.attr.lock), str(wheels_label), wheel["pin"], wheel["url"], wheel["sha256"], check.sha256], quiet = True)
            fail(why.stdout if why.return_code == 0 else "Hash check failed for %s: %s" % (wheel["pin"], wheel["url"]))

        # Another machine may not reach this URL (the mirror of the machine that locked is a
        # file:// folder), but its pip may reach the same files through its own index.
        return "%s: could not download %s (see the warning above)" % (wheel["pin"], wheel["url"])
    return None

def _install_from_wheels(rctx, python, lock, generator):
    """True if every wheel of the lock's wheels file is unpacked in _site; False (after a warning): use pip."""
    wheels, wheels_label = _wheels_plan(rctx, python, lock, generator)
    if wheels == None:
        return False
    unreachable = _download_wheels(rctx, python, generator, wheels, wheels_label)
    if unreachable:
        _warn("@%s: %s. Installing %s with pip instead." % (rctx.name, unreachable, rctx.attr.lock))
        rctx.delete("_site")
        return False
    return True

def _pypi_install_impl(rctx):
    python = rctx.read(Label("@python_interpreter//:interpreter_path.txt")).strip()

    # Read (so tracked): another interpreter at the same path re-fetches, as its bytecode differs.
    rctx.read(Label("@python_interpreter//:identity.txt"))
    lock = rctx.path(rctx.attr.lock)
    generator = rctx.path(rctx.attr._generator)
    if not _install_from_wheels(rctx, python, lock, generator):
        _pip_install(rctx, python, lock, generator)
    res = rctx.execute([python, "-S", str(generator), str(lock), "_site", "."], quiet = True)
    if res.return_code != 0:
        fail("Generating @%s from %s failed:\n%s" % (rctx.name, rctx.attr.lock, res.stderr))
    rctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % rctx.name)

pypi_install = repository_rule(
    implementation = _pypi_install_impl,
    attrs = {
        "lock": attr.label(mandatory = True, allow_single_file = True),
        "_generator": attr.label(default = "//tools/python:pypi_build.py", allow_single_file = True),
    },
    doc = """One py_library per distribution of a hash-locked pip-tools lock.

The wheels come from LOCK.wheels.json (written with the lock by `bazel run //:requirements.update`)
through Bazel's downloader, so the repository cache serves them to every output base; without that
file, or when it does not match the lock or this interpreter, `pip install --require-hashes`.""",
)
