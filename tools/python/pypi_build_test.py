"""Tests of the @pypi generator on a fake pip --target folder (no network, no pip)."""

import os

from tools.python import pypi_build

LOCK = """\
alpha-pkg==1.0 \\
    --hash=sha256:111
    # via -r requirements.in
beta==2.0 \\
    --hash=sha256:222
    # via
    #   alpha-pkg
    #   -r requirements.in
"""


def make_site(root):
    site = root / "_site"
    (site / "alpha" / "sub").mkdir(parents=True)
    (site / "alpha" / "__init__.py").write_text("")
    (site / "alpha" / "sub" / "mod.py").write_text("")
    (site / "alpha" / "script (dev).tmpl").write_text("")
    (site / "alpha_pkg-1.0.dist-info").mkdir()
    (site / "alpha_pkg-1.0.dist-info" / "RECORD").write_text(
        "alpha/__init__.py,,\nalpha/sub/mod.py,,\nalpha/script (dev).tmpl,,\n"
        "alpha_pkg-1.0.dist-info/RECORD,,\n../../bin/alpha,sha256=abc,120\n")
    (site / "beta.py").write_text("")
    (site / "beta-2.0.dist-info").mkdir()
    (site / "beta-2.0.dist-info" / "RECORD").write_text("beta.py,,\nbeta-2.0.dist-info/RECORD,,\n")
    return site


def test_normalize():
    assert pypi_build.normalize("Pip-Tools") == "pip_tools"
    assert pypi_build.normalize("zope.interface") == "zope_interface"


def test_via_becomes_deps():
    pins = pypi_build.parse_lock(LOCK)
    assert pypi_build.deps_from_via(pins) == {"alpha_pkg": ["beta"], "beta": []}


def test_top_level_entries_skip_files_outside_site():
    record = "alpha/__init__.py,,\nalpha/x.py,,\nalpha_pkg-1.0.dist-info/RECORD,,\n../../bin/alpha,,\n"
    assert pypi_build.top_level_entries(record) == ["alpha", "alpha_pkg-1.0.dist-info"]


def test_provided_modules():
    entries = ["numpy", "numpy.libs", "numpy-2.4.6.dist-info", "py.py", "_pytest", "x.pth"]
    assert pypi_build.provided_modules(entries) == ["_pytest", "numpy", "py"]


def test_main_builds_one_package_per_distribution(tmp_path):
    site = make_site(tmp_path)
    lock = tmp_path / "lock.txt"
    lock.write_text(LOCK)
    out = tmp_path / "repo"
    pypi_build.main(str(lock), str(site), str(out))

    assert sorted(os.listdir(out)) == ["BUILD.bazel", "alpha_pkg", "beta", "packages.bzl"]
    assert (out / "alpha_pkg" / "site" / "alpha" / "sub" / "mod.py").exists()
    assert not (out / "alpha_pkg" / "site" / "alpha" / "script (dev).tmpl").exists()  # unsafe for runfiles
    assert (out / "beta" / "site" / "beta.py").exists()
    # The console script's row (its hash covers this machine's interpreter path) is dropped.
    record = (out / "alpha_pkg" / "site" / "alpha_pkg-1.0.dist-info" / "RECORD").read_text()
    assert record.splitlines() == ["alpha/__init__.py,,", "alpha/sub/mod.py,,", "alpha/script (dev).tmpl,,",
                                   "alpha_pkg-1.0.dist-info/RECORD,,"]
    assert not site.exists()

    build = (out / "alpha_pkg" / "BUILD.bazel").read_text()
    assert 'name = "alpha_pkg"' in build
    assert 'deps = ["//beta"]' in build
    assert '"provides:alpha"' in build
    packages = {}
    exec((out / "packages.bzl").read_text(), packages)
    assert packages["ALL_PACKAGES"] == ["@pypi//alpha_pkg", "@pypi//beta"]
    assert packages["PACKAGES"]["beta"] == {"version": "2.0", "provides": ["beta"], "deps": []}


def test_main_byte_compiles_with_the_interpreters_tag_and_leaves_out_test_suites(tmp_path):
    site = make_site(tmp_path)
    (site / "alpha" / "__pycache__").mkdir()
    (site / "alpha" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"shipped")
    lock = tmp_path / "lock.txt"
    lock.write_text(LOCK)
    out = tmp_path / "repo"
    pypi_build.main(str(lock), str(site), str(out), cache_tag="cpython-399")

    build = (out / "alpha_pkg" / "BUILD.bazel").read_text()
    assert 'py_bytecode(\n    name = "alpha_pkg.pyc"' in build
    assert 'cache_tag = "cpython-399"' in build
    assert '[":alpha_pkg.pyc"]' in build  # the library's data: its bytecode
    assert build.count('"site/*/**/tests/**"') == 3  # neither compiled nor in srcs or data
    # A wheel's own __pycache__ would collide with the outputs of py_bytecode.
    assert not (out / "alpha_pkg" / "site" / "alpha" / "__pycache__").exists()


# What pip 26 prints when the index cannot be reached (shortened from real runs).
REFUSED = """\
WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by \
'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new \
connection: [Errno 111] Connection refused')': /simple/numpy/
ERROR: Could not find a version that satisfies the requirement numpy==2.4.6 (from versions: none)
ERROR: No matching distribution found for numpy==2.4.6
"""
NO_DNS = """\
WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection broken by \
'NameResolutionError("<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>: Failed to resolve \
'pypi.example' ([Errno -3] Temporary failure in name resolution)")': /simple/numpy/
ERROR: Could not find a version that satisfies the requirement numpy==2.4.6 (from versions: none)
"""
TIMEOUT = """\
WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection broken by \
'ConnectTimeoutError(<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>, 'Connection to pypi.org timed \
out. (connect timeout=15)')': /simple/numpy/
ERROR: Could not fetch URL https://pypi.org/simple/numpy/: There was a problem confirming the ssl certificate: \
HTTPSConnectionPool(host='pypi.org', port=443): Max retries exceeded with url: /simple/numpy/
ERROR: No matching distribution found for numpy==2.4.6
"""
# With --retries 0, pip names no connection error at all (a real run against a closed loopback port).
QUIET = """\
Looking in indexes: http://127.0.0.1:9/simple
ERROR: Could not find a version that satisfies the requirement build==1.6.1 (from versions: none)
ERROR: No matching distribution found for build==1.6.1
"""
NOT_PINNED = """\
ERROR: In --require-hashes mode, all requirements must have their versions pinned with ==. These do not:
    numpy>=2 from -r lock.txt (line 3)
"""


def test_an_unreachable_index_is_reported_as_the_network_not_the_lock():
    for output in (REFUSED, NO_DNS, TIMEOUT):
        text = pypi_build.explain_pip_failure(output, "//:requirements_lock.txt")
        assert text.startswith("pip could not reach the package index to install //:requirements_lock.txt"), text
        assert "network" in text and "pip config list" in text
        assert "==version" not in text and "--hash" not in text  # the lock is not the cause
        assert text.endswith(output)  # pip's own words follow
    assert pypi_build.unreachable_indexes(TIMEOUT) == ["pypi.org:443"]
    assert pypi_build.unreachable_indexes(NO_DNS) == ["pypi.example"]
    assert pypi_build.unreachable_indexes(REFUSED) == ["(unnamed)"]


def test_no_version_from_any_index_points_at_the_index_too():
    text = pypi_build.explain_pip_failure(QUIET, "//:requirements_lock.txt")
    assert text.startswith("No package index offered build==1.6.1 (from versions: none)"), text
    assert "unreachable" in text and "pip config list" in text and "--hash" not in text


def test_other_pip_failures_keep_their_diagnosis():
    hashes = "THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE.\n    numpy==2.4.6 from file:///w.whl (from -r l):\n"
    assert pypi_build.explain_pip_failure(hashes, "L").startswith("Hash check failed for L")
    assert "package: numpy==2.4.6" in pypi_build.explain_pip_failure(hashes, "L")
    assert pypi_build.explain_pip_failure("/usr/bin/python3: No module named pip", "L").startswith(
        "The Python interpreter has no pip")
    text = pypi_build.explain_pip_failure(NOT_PINNED, "L")
    assert "==version and --hash=sha256" in text and "could not reach" not in text
    assert pypi_build.unreachable_indexes(NOT_PINNED) == []
