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
