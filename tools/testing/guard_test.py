"""Unit tests of the run-time guard's decisions (tools/testing/guard.py) on a fake runfiles tree.

The end-to-end cases (a real test that is refused) are in tools/importcheck/e2e_test.sh.
"""

import os

import pytest

from tools.testing import guard

WS = "ws"
TEST = "//modules/11_embeddings:x_test"
CORE = "//modules/11_embeddings:embedding_core"
TENSOR = "//modules/01_tensor:tensor"
ATTENTION = "//modules/12_attention:attention"
FILES = {
    TEST: ["modules/11_embeddings/tests/test_x.py"],
    CORE: ["modules/11_embeddings/tinytorch/text/embedding_core.py"],
    TENSOR: ["modules/01_tensor/tinytorch/core/tensor.py"],
    ATTENTION: ["modules/12_attention/tinytorch/core/attention.py"],
}
ENTRIES = [
    {"label": CORE, "modules": ["tinytorch.text.embedding_core"], "prefixes": []},
    {"label": TENSOR, "modules": ["tinytorch.core.tensor"], "prefixes": []},
    {"label": "@pypi//numpy", "modules": [], "prefixes": ["numpy"], "external": True},
    {"label": "@pypi//pytest", "modules": [], "prefixes": ["pytest", "_pytest"], "external": True},
]
INDEX = ENTRIES + [{"label": ATTENTION, "modules": ["tinytorch.core.attention"], "prefixes": []}]


@pytest.fixture
def tree(tmp_path):
    """A source tree, and a runfiles tree of symlinks into it, as Bazel lays them out."""
    source, runfiles = tmp_path / "src", tmp_path / "runfiles"
    for paths in list(FILES.values()) + [["tools/testing/pytest_runner.py", "modules/11_embeddings/tests/conftest.py"]]:
        for rel in paths:
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            (source / rel).write_text("X = 1\n")
    # Only what the test depends on is linked into its runfiles (12 is not), plus a conftest in data.
    linked = FILES[TEST] + FILES[CORE] + FILES[TENSOR] + ["tools/testing/pytest_runner.py",
                                                          "modules/11_embeddings/tests/conftest.py"]
    for rel in linked:
        (runfiles / WS / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(source / rel, runfiles / WS / rel)
    (runfiles / "pypi" / "numpy").mkdir(parents=True)
    (runfiles / "pypi" / "numpy" / "__init__.py").write_text("")
    manifest = {
        "label": TEST,
        "workspace": WS,
        "srcs": [WS + "/" + FILES[TEST][0]],
        "runner": WS + "/tools/testing/pytest_runner.py",
        "deps": [CORE, "@pypi//numpy", "@pypi//pytest"],
        "nodes": [
            {"label": CORE, "files": [WS + "/" + FILES[CORE][0]], "deps": [TENSOR, "@pypi//numpy"]},
            {"label": TENSOR, "files": [WS + "/" + FILES[TENSOR][0]], "deps": ["@pypi//numpy"]},
        ],
        "entries": ENTRIES,
    }
    policy = guard.Policy(manifest, str(runfiles), INDEX, wrapper=str(runfiles / "python_interpreter" / "python3"))
    return source, runfiles, policy


def test_direct_deps_and_stdlib_may_be_imported(tree):
    _, _, policy = tree
    for module in ["tinytorch.text.embedding_core", "json", "tinytorch", "tinytorch.text",
                   "__main__", "test.support"]:
        assert policy.check_import(module, TEST, "t.py:1") is None, module


def test_a_transitive_dep_is_refused_with_the_provider_and_the_fix(tree):
    _, _, policy = tree
    text = policy.check_import("tinytorch.core.tensor", TEST, "test_x.py:3")
    assert "test_x.py:3" in text and '"tinytorch.core.tensor"' in text
    assert "provided by: " + TENSOR in text
    assert 'add "%s" to deps of %s' % (TENSOR, TEST) in text


def test_a_library_may_import_its_own_direct_deps(tree):
    _, _, policy = tree
    assert policy.check_import("tinytorch.core.tensor", CORE, "core.py:1") is None


def test_a_later_module_is_refused_with_the_move_hint(tree):
    _, _, policy = tree
    text = policy.check_import("tinytorch.core.attention", TEST, "test_x.py:9")
    assert "provided by: " + ATTENTION in text
    assert "module 11 may not depend on module 12: move this test to modules/12_attention" in text


def test_third_party_modules_are_left_to_the_file_checks(tree):
    _, _, policy = tree
    assert policy.check_import("numpy._core._dtype", "//modules/10_tokenization:tokenization", "t") is None
    assert policy.check_import("pluggy", TEST, "runner") is None


def test_the_runner_and_the_srcs_belong_to_the_test(tree):
    _, runfiles, policy = tree
    assert policy.label_of_file(str(runfiles / WS / FILES[TEST][0])) == TEST
    assert policy.label_of_file(str(runfiles / WS / "tools/testing/pytest_runner.py")) == TEST
    assert policy.label_of_file(str(runfiles / WS / FILES[CORE][0])) == CORE
    assert policy.label_of_file("<string>") is None


def test_declared_files_may_be_opened_by_runfiles_path_or_real_path(tree):
    source, runfiles, policy = tree
    assert policy.check_open(str(runfiles / WS / FILES[CORE][0]), "w", True) is None
    assert policy.check_open(str(source / FILES[CORE][0]), "w", True) is None  # Path(__file__).resolve()


def test_a_source_file_reached_by_a_path_is_refused(tree):
    source, _, policy = tree
    text = policy.check_open(str(source / FILES[ATTENTION][0]), "test_x.py:5", False)
    assert '"modules/12_attention/tinytorch/core/attention.py"' in text
    assert "provided by: //modules/12_attention" in text
    assert "Path(__file__).resolve()" in text


def test_a_conftest_in_data_is_refused(tree):
    _, runfiles, policy = tree
    text = policy.check_open(str(runfiles / WS / "modules/11_embeddings/tests/conftest.py"), "pytest", True)
    assert "conftest.py" in text and "no import check ever read it" in text


def test_code_from_outside_the_runfiles_is_refused_only_when_imported(tree, tmp_path):
    _, runfiles, policy = tree
    copy = tmp_path / "elsewhere" / "attention.py"
    copy.parent.mkdir()
    copy.write_text("X = 1\n")
    assert policy.check_open(str(copy), "t", False) is None  # read as data
    text = policy.check_open(str(copy), "test_x.py:4", True)
    assert "outside both" in text and str(copy) in text
    assert policy.check_open(str(runfiles / "pypi" / "numpy" / "__init__.py"), "t", True) is None


def test_host_site_packages_are_not_the_standard_library(tree, tmp_path):
    _, _, policy = tree
    stdlib = tmp_path / "lib"
    (stdlib / "site-packages").mkdir(parents=True)
    policy.stdlib_dirs = (str(stdlib),)
    assert policy.check_open(str(stdlib / "json.py"), "t", True) is None
    assert "outside both" in policy.check_open(str(stdlib / "site-packages" / "numpy.py"), "t", True)


def test_bytecode_of_an_allowed_source_may_be_read_and_written(tree):
    _, runfiles, policy = tree
    cache = runfiles / WS / "modules/11_embeddings/tests/__pycache__"
    assert policy.check_open(str(cache / "test_x.cpython-311-pytest-8.3.5.pyc"), "pytest", True) is None
    assert policy.check_open(str(cache / "conftest.cpython-311.pyc"), "pytest", True) is not None


def test_data_files_are_not_judged(tree):
    source, _, policy = tree
    assert policy.check_open(str(source / "modules/12_attention/BUILD.bazel"), "t", True) is None


def test_only_the_guarded_interpreter_may_be_started(tree):
    _, runfiles, policy = tree
    assert policy.check_spawn([str(runfiles / "python_interpreter" / "python3"), "-c", "1"], "t") is None
    assert policy.check_spawn(["ls", "-l"], "t") is None
    for command in (["/usr/bin/python3", "x.py"], ["sh", "-c", "python3.11 x.py"], ["python", "-c", "1"]):
        text = policy.check_spawn(command, "test_x.py:7")
        assert "sys.executable" in text and "test_x.py:7" in text, command


def test_a_py_test_without_a_manifest_may_not_run(tmp_path, capsys):
    env = {"TEST_TARGET": "//modules/11_embeddings:plain_test", "TEST_SRCDIR": str(tmp_path), "TEST_WORKSPACE": WS}
    assert guard.main(["whatever.py"], env) == 1
    err = capsys.readouterr().err
    assert "//modules/11_embeddings:plain_test" in err and "tinytorch_test" in err
    assert "modules/11_embeddings/plain_test.import_check.guard.json" in err


def test_manifest_path_follows_the_test_target():
    root, path = guard.manifest_path({"TEST_TARGET": "//a/b:c_test", "TEST_SRCDIR": "/r", "TEST_WORKSPACE": "w"})
    assert (root, path) == ("/r", "/r/w/a/b/c_test.import_check.guard.json")


def test_interpreter_flags_before_the_program_are_dropped():
    assert guard.strip_flags(["-u", "-X", "dev", "-W", "error", "main.py", "-x"]) == ["main.py", "-x"]
    assert guard.strip_flags(["-c", "print(1)"]) == ["-c", "print(1)"]
    assert guard.strip_flags(["-B", "-m", "pytest", "-q"]) == ["-m", "pytest", "-q"]


def test_realpath_agrees_with_os_path_realpath(tmp_path):
    """The kernel-resolved realpath gives what os.path.realpath gives, links of every kind included."""
    (tmp_path / "real" / "pkg").mkdir(parents=True)
    (tmp_path / "real" / "pkg" / "m.py").write_text("X = 1\n")
    os.symlink(tmp_path / "real", tmp_path / "dir_link")                      # absolute, to a directory
    os.symlink("../real/pkg/m.py", tmp_path / "real" / "rel_link.py")          # relative, with ..
    os.symlink(tmp_path / "real" / "rel_link.py", tmp_path / "chain.py")       # a link to a link
    os.symlink(tmp_path / "missing.py", tmp_path / "dangling.py")
    cases = [
        tmp_path / "real" / "pkg" / "m.py",
        tmp_path / "dir_link" / "pkg" / "m.py",
        tmp_path / "dir_link" / "pkg" / ".." / "pkg" / "m.py",
        tmp_path / "real" / "rel_link.py",
        tmp_path / "chain.py",
        tmp_path / "dangling.py",
        tmp_path / "no" / "such" / "file.py",
    ]
    for path in cases:
        assert guard.realpath(str(path)) == os.path.realpath(path), path
    assert guard.realpath(str(tmp_path / "chain.py")) == str(tmp_path / "real" / "pkg" / "m.py")


def test_realpath_sees_a_link_as_it_is_now(tmp_path):
    """Nothing is cached: a link re-pointed after a first look resolves to its new target, so a test
    cannot have the guard approve a harmless target and then swap the link to the source tree."""
    (tmp_path / "a.py").write_text("")
    (tmp_path / "b.py").write_text("")
    link = tmp_path / "link.py"
    os.symlink(tmp_path / "a.py", link)
    assert guard.realpath(str(link)) == str(tmp_path / "a.py")
    link.unlink()
    os.symlink(tmp_path / "b.py", link)
    assert guard.realpath(str(link)) == str(tmp_path / "b.py")


def test_a_source_file_behind_a_relinked_path_is_refused(tree, tmp_path):
    """check_open judges the file a path reaches when it is opened: first a harmless file, then the
    same path re-pointed at an undeclared source file (module 12) is refused."""
    source, runfiles, policy = tree
    (tmp_path / "harmless.py").write_text("")
    link = tmp_path / "sneaky.py"
    os.symlink(tmp_path / "harmless.py", link)
    assert policy.check_open(str(link), "t.py:1", by_import_system=False) is None
    link.unlink()
    os.symlink(source / FILES[ATTENTION][0], link)
    text = policy.check_open(str(link), "t.py:2", by_import_system=True)
    assert text is not None and "modules/12_attention/tinytorch/core/attention.py" in text
    assert "//modules/12_attention" in text
