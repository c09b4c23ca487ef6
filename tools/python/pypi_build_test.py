"""Tests of the @pypi generator on a fake pip --target folder (no network, no pip)."""

import os

import pytest

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
    # The console script's row (its hash covers this machine's interpreter path) is dropped; sorted.
    record = (out / "alpha_pkg" / "site" / "alpha_pkg-1.0.dist-info" / "RECORD").read_text()
    assert record.splitlines() == ["alpha/__init__.py,,", "alpha/script (dev).tmpl,,", "alpha/sub/mod.py,,",
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


GAMMA_LOCK = """\
gamma==3.0 \\
    --hash=sha256:333
    # via -r requirements.in
"""
GAMMA_FILES = {
    "gamma/__init__.py": "x = 1\n",
    "gamma/_speedups.py": "y = 2\n",
    "gamma-3.0.dist-info/METADATA": "Name: gamma\n",
    "gamma-3.0.dist-info/entry_points.txt": "[console_scripts]\ngamma = gamma:main\n",
}


def write_files(root, files):
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def record_rows(paths):
    return "".join("%s,sha256=h%d,%d\n" % (p, i, i) for i, p in enumerate(paths))


def unpacked_wheel(root):
    """gamma's wheel as a plain unzip leaves it: platlib and a man page under .data/, RECORD unsorted."""
    site = root / "wheel_site"
    files = dict(GAMMA_FILES)
    files["gamma-3.0.data/platlib/gamma/_speedups.py"] = files.pop("gamma/_speedups.py")
    files["gamma-3.0.data/data/share/man/man1/gamma.1"] = ".TH gamma\n"
    files["gamma-3.0.data/scripts/gamma-tool"] = "#!python\n"
    write_files(site, files)
    (site / "gamma-3.0.dist-info" / "RECORD").write_text(
        record_rows(["gamma-3.0.dist-info/METADATA", "gamma/__init__.py", "gamma-3.0.data/platlib/gamma/_speedups.py",
                     "gamma-3.0.data/data/share/man/man1/gamma.1", "gamma-3.0.data/scripts/gamma-tool",
                     "gamma-3.0.dist-info/entry_points.txt"]) + "gamma-3.0.dist-info/RECORD,,\n")
    return site


def pip_target_site(root):
    """The same wheel after `pip install --target`: .data/ spread, bookkeeping added, scripts outside."""
    site = root / "pip_site"
    write_files(site, GAMMA_FILES)
    write_files(site, {"gamma-3.0.dist-info/INSTALLER": "pip\n", "gamma-3.0.dist-info/REQUESTED": "",
                       "bin/gamma": "#!/usr/bin/python3\n", "share/man/man1/gamma.1": ".TH gamma\n"})
    (site / "gamma-3.0.dist-info" / "RECORD").write_text(
        "../../bin/gamma,sha256=s,20\n../../bin/gamma-tool,sha256=t,20\n../../share/man/man1/gamma.1,sha256=h3,3\n" +
        record_rows(["gamma-3.0.dist-info/METADATA", "gamma/__init__.py", "gamma/_speedups.py"]) +
        "gamma-3.0.dist-info/INSTALLER,sha256=i,4\ngamma-3.0.dist-info/RECORD,,\ngamma-3.0.dist-info/REQUESTED,sha256=r,0\n"
        "gamma-3.0.dist-info/entry_points.txt,sha256=h5,5\n")
    return site


def tree(root):
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def modes(root):
    return {str(p.relative_to(root)): oct(p.stat().st_mode & 0o777) for p in sorted(root.rglob("*"))}


def test_an_unpacked_wheel_becomes_the_same_package_as_pips_install(tmp_path):
    lock = tmp_path / "lock.txt"
    lock.write_text(GAMMA_LOCK)
    wheel_site = unpacked_wheel(tmp_path)
    # An unzip keeps the modes the wheel's builder had; pip gives rw-r--r-- (rwxr-xr-x if executable).
    (wheel_site / "gamma-3.0.dist-info" / "METADATA").chmod(0o600)
    (wheel_site / "gamma" / "__init__.py").chmod(0o664)
    (wheel_site / "gamma-3.0.data" / "platlib" / "gamma" / "_speedups.py").chmod(0o775)
    (wheel_site / "gamma").chmod(0o775)
    pip_site = pip_target_site(tmp_path)
    (pip_site / "gamma" / "_speedups.py").chmod(0o755)
    pypi_build.main(str(lock), str(wheel_site), str(tmp_path / "from_wheel"))
    pypi_build.main(str(lock), str(pip_site), str(tmp_path / "from_pip"))

    from_wheel = tree(tmp_path / "from_wheel")
    assert from_wheel == tree(tmp_path / "from_pip")
    assert modes(tmp_path / "from_wheel" / "gamma" / "site") == modes(tmp_path / "from_pip" / "gamma" / "site")
    assert modes(tmp_path / "from_wheel" / "gamma" / "site")["gamma-3.0.dist-info/METADATA"] == "0o644"
    assert modes(tmp_path / "from_wheel" / "gamma" / "site")["gamma/_speedups.py"] == "0o755"
    assert modes(tmp_path / "from_wheel" / "gamma" / "site")["gamma"] == "0o755"
    # platlib/ moved to the site root with its RECORD row; data/ and scripts/ (outside the site
    # folder under pip --target too) and pip's INSTALLER/REQUESTED are gone, rows included.
    assert from_wheel["gamma/site/gamma/_speedups.py"] == "y = 2\n"
    assert not any(".data" in path or "INSTALLER" in path or "REQUESTED" in path for path in from_wheel)
    assert from_wheel["gamma/site/gamma-3.0.dist-info/RECORD"].splitlines() == [
        "gamma-3.0.dist-info/METADATA,sha256=h0,0",
        "gamma-3.0.dist-info/RECORD,,",
        "gamma-3.0.dist-info/entry_points.txt,sha256=h5,5",
        "gamma/__init__.py,sha256=h1,1",
        "gamma/_speedups.py,sha256=h2,2",
    ]
    assert "provides:gamma" in from_wheel["gamma/BUILD.bazel"]


def test_relocate_data_rows_keeps_other_rows_and_drops_non_library_schemes():
    rows = [["g-1.data/purelib/g/a.py", "sha256=a", "1"], ["g-1.data/headers/g.h", "sha256=b", "2"],
            ["g/b.py", "sha256=c", "3"], ["g-1.data/purelib/", "", ""]]
    assert pypi_build.relocate_data_rows(rows, "g-1.data") == [["g/a.py", "sha256=a", "1"], ["g/b.py", "sha256=c", "3"]]


def test_a_data_folder_without_its_dist_info_is_refused(tmp_path):
    write_files(tmp_path, {"orphan-1.0.data/purelib/orphan.py": ""})
    with pytest.raises(SystemExit, match="orphan-1.0.data has no matching orphan-1.0.dist-info"):
        pypi_build.spread_data_dirs(str(tmp_path))


def test_merge_tree_merges_into_existing_folders(tmp_path):
    write_files(tmp_path, {"src/pkg/new.py": "new", "src/top.py": "top", "dst/pkg/old.py": "old"})
    pypi_build.merge_tree(str(tmp_path / "src"), str(tmp_path / "dst"))
    assert tree(tmp_path / "dst") == {"pkg/new.py": "new", "pkg/old.py": "old", "top.py": "top"}


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
