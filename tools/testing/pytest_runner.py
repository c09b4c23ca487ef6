"""Runs pytest on the test files Bazel passes as arguments; the `main` of every tinytorch_test.

- JUnit XML goes to $XML_OUTPUT_FILE, so each test case shows up in Bazel's test.xml.
- The cache provider is off: runfiles are read-only and tests must not write beside their sources.
- `--import-mode=importlib` keeps pytest from putting test folders on sys.path (the interpreter's
  -P already keeps the script folder off it): a test imports only what its target declares.
- `bazel test --test_filter=EXPR` becomes `pytest -k EXPR`.
- Collecting no test at all is a failure, not a silent pass.
"""

import os
import sys

import pytest

NO_TESTS_COLLECTED = 5


def pytest_args(files, env):
    args = ["-p", "no:cacheprovider", "--import-mode=importlib", "-q", "-ra"]
    if env.get("XML_OUTPUT_FILE"):
        args += ["--junitxml", env["XML_OUTPUT_FILE"], "-o", "junit_family=xunit2"]
    if env.get("TEST_TMPDIR"):
        args += ["--basetemp", os.path.join(env["TEST_TMPDIR"], "pytest")]
    if env.get("TESTBRIDGE_TEST_ONLY"):
        args += ["-k", env["TESTBRIDGE_TEST_ONLY"]]
    return args + list(files)


def main(argv):
    if not argv:
        print("pytest_runner: no test files given (tinytorch_test passes its srcs)", file=sys.stderr)
        return 2
    code = pytest.main(pytest_args(argv, os.environ))
    if code == NO_TESTS_COLLECTED:
        print("pytest_runner: no test was collected from %s" % " ".join(argv), file=sys.stderr)
        return 1
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
