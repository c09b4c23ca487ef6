"""Runs pytest on the test files Bazel passes as arguments; the `main` of every tinytorch_test.

- JUnit XML goes to $XML_OUTPUT_FILE, so each test case shows up in Bazel's test.xml.
- The cache provider is off: runfiles are read-only and tests must not write beside their sources.
- `--import-mode=importlib` keeps pytest from putting test folders on sys.path (the interpreter's
  -P already keeps the script folder off it): a test imports only what its target declares.
- `bazel test --test_filter=EXPR` becomes `pytest -k EXPR`.
- Collecting no test at all is a failure, not a silent pass.
- `bazel coverage` (COVERAGE=1): coverage.py measures, with branches, the files Bazel lists in
  $COVERAGE_MANIFEST and writes their lcov to $COVERAGE_DIR/pytest_runner.dat, where Bazel's
  collect step (the lcov_merger of third_party/remote_coverage_tools) picks it up. `bazel test`
  never imports coverage.
- Start-up is most of a small test's time, so the runner does only what a test needs: no plugin
  autoload (PYTEST_DISABLE_PLUGIN_AUTOLOAD: no @pypi package is a pytest plugin, and the scan reads
  every distribution's metadata in every process), pytest imported only in main(). @pypi's
  bytecode comes from its py_bytecode targets (tools/build_defs/defs.bzl), compiled once.
"""

import os
import sys


def single_blas_thread(env):
    """One BLAS thread unless the environment says otherwise: the tests' matrices are tiny, and
    OpenBLAS starting a thread per core at numpy's import cost 0.12-0.27 s of CPU per test process
    (0.9 s for a small test), with two tests running at once on two cores. Results do not depend
    on it; `bazel test --test_env=OPENBLAS_NUM_THREADS=N` overrides."""
    env.setdefault("OPENBLAS_NUM_THREADS", "1")


single_blas_thread(os.environ)  # before anything imports numpy

NO_TESTS_COLLECTED = 5
LCOV_NAME = "pytest_runner.dat"


def pytest_args(files, env):
    args = ["-p", "no:cacheprovider", "--import-mode=importlib", "-q", "-ra"]
    if env.get("XML_OUTPUT_FILE"):
        args += ["--junitxml", env["XML_OUTPUT_FILE"], "-o", "junit_family=xunit2"]
    if env.get("TEST_TMPDIR"):
        args += ["--basetemp", os.path.join(env["TEST_TMPDIR"], "pytest")]
    if env.get("TESTBRIDGE_TEST_ONLY"):
        args += ["-k", env["TESTBRIDGE_TEST_ONLY"]]
    return args + list(files)


def manifest_sources(text):
    """The Python sources of Bazel's COVERAGE_MANIFEST (one workspace-relative path a line);
    another repository's files (external/...) are not ours to measure."""
    paths = [line.strip() for line in text.splitlines()]
    return [p for p in paths if p.endswith(".py") and not p.startswith(("external/", "../", "/"))]


def lcov_with_workspace_paths(lcov, names):
    """coverage.py names a file by its real path (the runfiles are symlinks into the checkout);
    Bazel's reports name it relative to the workspace: `SF:` lines through `names`."""
    lines = []
    for line in lcov.splitlines():
        if line.startswith("SF:"):
            line = "SF:" + names.get(line[3:], line[3:])
        lines.append(line)
    return "\n".join(lines) + "\n" if lines else ""


def start_coverage(env):
    """Under `bazel coverage`, starts coverage.py; returns the function that stops it and writes
    the lcov file, or None when Bazel asks for no coverage (or lists no Python file)."""
    if env.get("COVERAGE") != "1" or not env.get("COVERAGE_MANIFEST") or not env.get("COVERAGE_DIR"):
        return None
    root = os.path.join(env["TEST_SRCDIR"], env.get("TEST_WORKSPACE", "")) if env.get("TEST_SRCDIR") else os.getcwd()
    with open(env["COVERAGE_MANIFEST"], encoding="utf-8") as f:
        sources = [p for p in manifest_sources(f.read()) if os.path.isfile(os.path.join(root, p))]
    if not sources:
        return None
    real = {p: os.path.realpath(os.path.join(root, p)) for p in sources}
    names = {r: p for p, r in real.items()}
    cwd = os.path.realpath(os.getcwd()) + os.sep  # coverage.py shortens paths below the cwd
    names.update({r[len(cwd):]: p for p, r in real.items() if r.startswith(cwd)})

    import coverage  # only in a coverage run

    # Its data file goes to TEST_TMPDIR: never the source tree, the runfiles or HOME (unset in tests).
    scratch = env.get("TEST_TMPDIR") or env["COVERAGE_DIR"]
    measured = sorted(real.values())
    cov = coverage.Coverage(data_file=os.path.join(scratch, ".coverage"), branch=True, include=measured,
                            config_file=False)
    cov.start()

    def stop():
        cov.stop()
        cov.save()
        # Every listed file, imported or not: one that no test loads shows as 0%, not as absent.
        cov.lcov_report(morfs=measured, outfile=os.path.join(scratch, "coverage.lcov"))
        with open(os.path.join(scratch, "coverage.lcov"), encoding="utf-8") as f:
            lcov = lcov_with_workspace_paths(f.read(), names)
        with open(os.path.join(env["COVERAGE_DIR"], LCOV_NAME), "w", encoding="utf-8") as f:
            f.write(lcov)

    return stop


def main(argv):
    if not argv:
        print("pytest_runner: no test files given (tinytorch_test passes its srcs)", file=sys.stderr)
        return 2
    # Explicit plugins (`-p name`) still load; only the entry-point scan is skipped.
    os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    stop_coverage = start_coverage(os.environ)
    import pytest  # after the environment is set: pytest reads it at import and in main()

    code = pytest.main(pytest_args(argv, os.environ))
    if stop_coverage:
        stop_coverage()
    if code == NO_TESTS_COLLECTED:
        print("pytest_runner: no test was collected from %s" % " ".join(argv), file=sys.stderr)
        return 1
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
