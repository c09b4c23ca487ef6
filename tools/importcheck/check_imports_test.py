"""Unit tests of the strict-deps checker on fixture sources: every import form, every verdict."""

import json
import sys

import pytest

from tools.importcheck import check_imports as ci

TENSOR = {"label": "//modules/01_tensor:tensor", "modules": ["tinytorch.core.tensor"], "prefixes": []}
AUTOGRAD = {"label": "//modules/05_autograd:autograd", "modules": ["tinytorch.core.autograd"], "prefixes": []}
EMBED = {"label": "//modules/11_embeddings:embedding_core", "modules": ["tinytorch.text.embedding_core"],
         "prefixes": []}
ATTENTION = {"label": "//modules/12_attention:attention", "modules": ["tinytorch.core.attention"], "prefixes": []}
NUMPY = {"label": "@pypi//numpy", "modules": [], "prefixes": ["numpy"]}
PYTEST = {"label": "@pypi//pytest", "modules": [], "prefixes": ["pytest", "_pytest"]}
LAYERS = {"label": "//modules/03_layers:layers", "modules": ["tinytorch.core.layers"], "prefixes": []}
INDEX = [TENSOR, AUTOGRAD, EMBED, ATTENTION, NUMPY, PYTEST, LAYERS]
# What embedding_core defines, and what it only imports (the names JSON its own check writes).
EMBED_NAMES = {"tinytorch.text.embedding_core": {
    "names": ["Embedding", "validate_token_ids", "__all__"], "open": False,
    "imported": {"Module": "tinytorch.core.layers", "Tensor": "tinytorch.core.tensor", "np": "numpy"},
    "aliases": {"np": ""}}}
EMBED_WITH_NAMES = dict(EMBED, names=EMBED_NAMES)


def modules_of(source, module_name="pkg.mod", is_package=False):
    return [(i.line, i.module, i.names) for i in ci.collect_imports(source, module_name, is_package)]


# --- collecting imports -------------------------------------------------------------------------

def test_plain_and_dotted_imports():
    assert modules_of("import os\nimport numpy.linalg as la\n") == [(1, "os", ()), (2, "numpy.linalg", ())]


def test_from_import_keeps_names_they_may_be_submodules():
    assert modules_of("from tinytorch.core import tensor, autograd\n") == [
        (1, "tinytorch.core", ("tensor", "autograd"))]


def test_star_import_names_nothing():
    assert modules_of("from numpy import *\n") == [(1, "numpy", ())]


def test_imports_inside_functions_classes_and_try_blocks():
    source = (
        "def f():\n"
        "    import numpy\n"
        "class C:\n"
        "    def g(self):\n"
        "        from tinytorch.core.attention import MultiHeadAttention\n"
        "try:\n"
        "    import torch\n"
        "except ImportError:\n"
        "    torch = None\n"
    )
    assert [m for _, m, _ in modules_of(source)] == ["numpy", "tinytorch.core.attention", "torch"]


def test_relative_imports_resolve_against_the_module():
    src = "from . import sibling\nfrom .. import up\nfrom .sub.x import y\n"
    assert modules_of(src, "tinytorch.text.embeddings") == [
        (1, "tinytorch.text", ("sibling",)), (2, "tinytorch", ("up",)), (3, "tinytorch.text.sub.x", ("y",))]


def test_relative_import_inside_a_package_init():
    assert modules_of("from .core import x\n", "tinytorch", is_package=True) == [(1, "tinytorch.core", ("x",))]


def test_relative_import_beyond_top_level_is_refused_not_resolved():
    [imp] = ci.collect_imports("import os\nfrom ... import x\n", "a.b", False)[1:]
    assert (imp.line, imp.module, imp.names) == (2, "...", ("x",))
    assert "beyond top-level package" in imp.problem
    # `from .. import x` in the top-level package's __init__ climbs above it too.
    [imp] = ci.collect_imports("from .. import x\n", "tinytorch", True)
    assert "beyond top-level package" in imp.problem


def test_relative_import_in_a_file_without_package_is_refused():
    for module_name in ("", "modules.11_embeddings.tests.test_x"):  # not a valid package: no package
        [imp] = ci.collect_imports("from .helpers import h\n", module_name, False)
        assert (imp.line, imp.module, imp.names) == (1, ".helpers", ("h",))
        assert "no known parent package" in imp.problem


def test_importlib_and_dunder_import_with_literal_strings():
    source = (
        "import importlib\n"
        "from importlib import import_module\n"
        "a = importlib.import_module('tinytorch.core.attention')\n"
        "b = import_module('numpy')\n"
        "c = __import__('json')\n"
        "name = 'not_literal'\n"
        "d = importlib.import_module(name)\n"
    )
    assert [(l, m) for l, m, _ in modules_of(source)] == [
        (1, "importlib"), (2, "importlib", ), (3, "tinytorch.core.attention"), (4, "numpy"), (5, "json")]


def test_bare_import_module_is_only_counted_when_it_comes_from_importlib():
    assert modules_of("def import_module(x): pass\nimport_module('numpy')\n") == []


def test_renamed_importlib_and_import_module_are_still_dynamic_imports():
    source = (
        "import importlib as il\n"
        "from importlib import import_module as imp\n"
        "il.import_module('tinytorch.core.tensor')\n"
        "imp('numpy')\n"
        "import importlib.util\n"  # binds `importlib` too
        "importlib.import_module('json')\n"
    )
    assert [(l, m) for l, m, _ in modules_of(source) if l > 2] == [
        (3, "tinytorch.core.tensor"), (4, "numpy"), (5, "importlib.util"), (6, "json")]


def test_pytest_importorskip_is_an_import_however_pytest_is_named():
    source = (
        "import pytest\n"
        "import pytest as pt\n"
        "from pytest import importorskip, importorskip as skip_without\n"
        "pytest.importorskip('numpy')\n"
        "pt.importorskip('tinytorch.core.tensor', minversion='1.0')\n"
        "importorskip('json')\n"
        "skip_without('tinytorch.core.autograd')\n"
    )
    assert [(l, m) for l, m, _ in modules_of(source)[3:]] == [
        (4, "numpy"), (5, "tinytorch.core.tensor"), (6, "json"), (7, "tinytorch.core.autograd")]


def test_same_method_names_on_other_objects_are_not_imports():
    source = (
        "import importlib.util as u\n"
        "loader.import_module('numpy')\n"
        "u.import_module('numpy')\n"
        "plugin.importorskip('numpy')\n"
    )
    assert [m for _, m, _ in modules_of(source)] == ["importlib.util"]


def test_dynamic_imports_with_computed_names_are_ignored():
    source = (
        "import importlib, pytest\n"
        "name = 'numpy'\n"
        "importlib.import_module(name)\n"
        "importlib.import_module(f'tinytorch.core.{name}')\n"
        "importlib.import_module('tinytorch.' + name)\n"
        "pytest.importorskip(name)\n"
        "__import__(name)\n"
        "importlib.import_module()\n"
    )
    assert [m for _, m, _ in modules_of(source)] == ["importlib", "pytest"]


def test_relative_import_module_resolves_against_a_literal_package_or_the_files_own():
    source = (
        "import importlib\n"
        "importlib.import_module('.embeddings', 'tinytorch.text')\n"
        "importlib.import_module('..core.tensor', 'tinytorch.text')\n"
        "importlib.import_module('.embeddings', __package__)\n"  # the package of pkg.mod: pkg
        "importlib.import_module('...x', 'tinytorch.text')\n"
        "importlib.import_module('.tensor', package='tinytorch.core')\n"
        "importlib.import_module('.y', package_name)\n"
    )
    assert [(l, m) for l, m, _ in modules_of(source)[1:]] == [
        (2, "tinytorch.text.embeddings"), (3, "tinytorch.core.tensor"), (4, "pkg.embeddings"),
        (6, "tinytorch.core.tensor")]
    assert modules_of("import importlib\nimportlib.import_module('.x', __package__)\n", "")[1:] == []


# --- verdicts -----------------------------------------------------------------------------------

def manifest(source_by_path, direct=(), transitive=(), label="//modules/11_embeddings:t_test", kind="test",
             number=11, needed_without_import=()):
    return {
        "label": label,
        "kind": kind,
        "build_file": "modules/11_embeddings/BUILD.bazel",
        "needed_without_import": list(needed_without_import),
        "module_number": number,
        "srcs": [{"path": p, "module": ""} for p in source_by_path],
        "own": json.dumps({"label": label, "modules": [], "prefixes": []}),
        "direct": [json.dumps(d) for d in direct],
        "transitive": [json.dumps(d) for d in transitive],
    }


def run(sources, **kwargs):
    return ci.check(manifest(sources, **kwargs), INDEX, read=sources.__getitem__)


def test_direct_deps_and_stdlib_are_allowed():
    src = {"t.py": "import os, json\nimport numpy as np\nfrom tinytorch.core.tensor import Tensor\n"}
    assert run(src, direct=[NUMPY, TENSOR]) == []


def test_namespace_package_import_is_allowed_with_a_dep_below_it():
    assert run({"t.py": "import tinytorch.core\nfrom tinytorch.core import tensor\n"}, direct=[TENSOR]) == []


def test_transitive_only_dependency_is_refused_with_the_dep_to_add():
    src = {"t.py": "from tinytorch.text.embedding_core import Embedding\n\nfrom tinytorch.core.tensor import Tensor\n"}
    [v] = run(src, direct=[EMBED], transitive=[EMBED, TENSOR])
    assert (v.file, v.line, v.provider, v.dep_to_add) == ("t.py", 3, "//modules/01_tensor:tensor",
                                                          "//modules/01_tensor:tensor")
    assert "only a transitive dependency" in v.reason
    assert v.fix == 'add "//modules/01_tensor:tensor" to deps of //modules/11_embeddings:t_test'


def test_later_module_is_refused_with_a_move_hint_not_a_dep():
    [v] = run({"t.py": "from tinytorch.core.attention import MultiHeadAttention\n"})
    assert v.reason == "module 11 may not depend on module 12 (a later module)"
    assert v.fix == "module 11 may not depend on module 12: move this test to modules/12_attention"
    assert v.dep_to_add == ""


def test_repo_target_that_is_no_dependency_at_all():
    [v] = run({"t.py": "import tinytorch.core.autograd\n"})
    assert v.reason == "//modules/05_autograd:autograd is not a dependency of //modules/11_embeddings:t_test"


def test_pypi_package_not_declared():
    [v] = run({"t.py": "import numpy.linalg\n"})
    assert (v.provider, v.dep_to_add) == ("@pypi//numpy", "@pypi//numpy")


def test_unknown_module_host_site_package():
    [v] = run({"t.py": "import torch\n"})
    assert v.provider == "" and "no @pypi package" in v.reason and "requirements.in" in v.fix


def test_dynamic_import_is_checked_too():
    [v] = run({"t.py": "import importlib\nm = importlib.import_module('tinytorch.core.attention')\n"})
    assert v.line == 2 and v.module == "tinytorch.core.attention"


def test_importorskip_of_an_undeclared_module_is_refused():
    src = {"t.py": "import pytest\nnp = pytest.importorskip('numpy')\n"}
    [v] = run(src, direct=[PYTEST])
    assert (v.line, v.module, v.dep_to_add) == (2, "numpy", "@pypi//numpy")


def test_each_name_of_a_from_import_needs_its_own_provider():
    [v] = run({"t.py": "from tinytorch.core import tensor, autograd\n"}, direct=[TENSOR], transitive=[AUTOGRAD])
    assert (v.module, v.dep_to_add) == ("tinytorch.core (autograd)", "//modules/05_autograd:autograd")


def test_names_refused_for_the_same_reason_are_one_entry():
    [v] = run({"t.py": "from tinytorch.core.tensor import Tensor, zeros\n"})
    assert v.module == "tinytorch.core.tensor (Tensor, zeros)"


def test_from_import_of_a_namespace_package_is_allowed():
    assert run({"t.py": "from tinytorch import core\n"}, direct=[TENSOR]) == []
    # tinytorch.core exists, but only as a namespace: it has no name `nothing_here`.
    missing, unused = run({"t.py": "from tinytorch.core import nothing_here\n"}, direct=[TENSOR])
    assert missing.module == "tinytorch.core (nothing_here)" and missing.provider == ""
    assert unused.dep_to_remove == "//modules/01_tensor:tensor"


def test_all_violations_of_all_files_are_reported_at_once():
    sources = {"a.py": "import numpy\nimport torch\n", "b.py": "import tinytorch.core.attention\n"}
    assert [(v.file, v.line) for v in run(sources)] == [("a.py", 1), ("a.py", 2), ("b.py", 1)]


def test_unregistered_module_library_is_refused():
    [v] = run({"x.py": "import os\n"}, label="//modules/11_embeddings:new_lib", kind="library")
    assert v.fix == 'add "new_lib" to MODULES["11_embeddings"] in modules/modules.bzl'


def test_libraries_outside_modules_need_no_registration():
    assert run({"x.py": "import os\n"}, label="//tools/x:lib", kind="library", number=None) == []


# --- unused deps ----------------------------------------------------------------------------------

def test_unused_direct_dep_is_refused_with_the_dep_to_remove():
    [v] = run({"t.py": "from tinytorch.core.tensor import Tensor\n"}, direct=[TENSOR, AUTOGRAD])
    assert (v.file, v.line, v.provider, v.dep_to_remove, v.dep_to_add) == (
        "modules/11_embeddings/BUILD.bazel", 0, "//modules/05_autograd:autograd", "//modules/05_autograd:autograd", "")
    assert v.module == "tinytorch.core.autograd"
    assert v.reason == "no import of t.py needs it; deps list exactly what the sources import"
    assert v.fix == 'remove "//modules/05_autograd:autograd" from deps of //modules/11_embeddings:t_test'


def test_every_source_of_the_target_can_use_a_dep():
    sources = {"a.py": "import numpy\n", "b.py": "import tinytorch.core.tensor\n"}
    assert run(sources, direct=[NUMPY, TENSOR]) == []
    [v] = run({"a.py": "import os\n", "b.py": "import json\n"}, direct=[NUMPY])
    assert v.reason.startswith("no import of a.py, b.py needs it")


@pytest.mark.parametrize("source", [
    "import tinytorch.core.tensor\n",
    "from tinytorch.core.tensor import Tensor\n",
    "from tinytorch.core import tensor\n",
    "def f():\n    import tinytorch.core.tensor as t\n",
    "import importlib\nimportlib.import_module('tinytorch.core.tensor')\n",
    "tensor = __import__('tinytorch.core.tensor')\n",
])
def test_any_import_form_of_a_provided_module_uses_the_dep(source):
    [v] = run({"t.py": source}, direct=[TENSOR, AUTOGRAD])
    assert v.dep_to_remove == "//modules/05_autograd:autograd"


@pytest.mark.parametrize("source", ["import numpy.linalg\n", "from numpy import linalg\n",
                                    "from numpy.linalg import norm\n", "import pytest\npytest.importorskip('numpy')\n"])
def test_pypi_dep_is_used_by_any_module_below_its_package(source):
    [v] = run({"t.py": source}, direct=[NUMPY, PYTEST, TENSOR], needed_without_import=["@pypi//pytest"])
    assert v.dep_to_remove == "//modules/01_tensor:tensor"


def test_namespace_only_import_keeps_one_dep_below_it_not_every_one():
    assert run({"t.py": "import tinytorch.core\n"}, direct=[TENSOR]) == []
    src = {"t.py": "import tinytorch.core\nimport tinytorch.core.tensor\n"}
    assert [v.dep_to_remove for v in run(src, direct=[TENSOR, AUTOGRAD])] == ["//modules/05_autograd:autograd"]


def test_own_module_needs_no_dep():
    m = manifest({"x.py": "import tinytorch.text.mine\n"}, direct=[TENSOR], label="//tools/x:lib", kind="library",
                 number=None)
    m["own"] = json.dumps({"label": "//tools/x:lib", "modules": ["tinytorch.text.mine"], "prefixes": []})
    [v] = ci.check(m, INDEX, read={"x.py": "import tinytorch.text.mine\n"}.__getitem__)
    assert v.dep_to_remove == "//modules/01_tensor:tensor"


def test_a_dep_the_runner_needs_is_kept_without_an_import():
    assert run({"t.py": "import os\n"}, direct=[PYTEST], needed_without_import=["@pypi//pytest"]) == []
    [v] = run({"t.py": "import os\n"}, direct=[PYTEST])
    assert v.dep_to_remove == "@pypi//pytest" and v.module == "pytest, _pytest and their submodules"


def test_dep_without_python_modules_is_unused():
    aggregate = {"label": "//examples:everything", "modules": [], "prefixes": []}
    [v] = run({"t.py": "import os\n"}, direct=[aggregate])
    assert v.module == "no Python module" and v.reason.startswith("it provides no Python module")


def test_long_module_lists_are_shortened():
    tokenizers = {"label": "//m:tok", "modules": ["t.a", "t.b", "t.c", "t.d", "t.e"], "prefixes": []}
    [v] = run({"t.py": "import os\n"}, direct=[tokenizers])
    assert v.module == "t.a, t.b, t.c and 2 more"


def test_unused_deps_are_reported_after_undeclared_imports():
    violations = run({"t.py": "import numpy\n"}, direct=[TENSOR])
    assert [(v.dep_to_add, v.dep_to_remove) for v in violations] == [("@pypi//numpy", ""),
                                                                     ("", "//modules/01_tensor:tensor")]


def test_report_for_an_unused_dep_has_strict_deps_shape_and_buildozer_remove():
    label = "//modules/11_embeddings:t_test"
    report = ci.format_report(label, run({"t.py": "import numpy\n"}, direct=[NUMPY, AUTOGRAD]))
    assert report.splitlines() == [
        "[strict deps] //modules/11_embeddings:t_test declares 1 dep it does not import:",
        'modules/11_embeddings/BUILD.bazel: dep "//modules/05_autograd:autograd" of //modules/11_embeddings:t_test',
        "    provides:    tinytorch.core.autograd",
        "    not allowed: no import of t.py needs it; deps list exactly what the sources import",
        '    fix:         remove "//modules/05_autograd:autograd" from deps of //modules/11_embeddings:t_test',
        "** Please remove the following dependencies:",
        "  //modules/05_autograd:autograd from //modules/11_embeddings:t_test",
        "** You can use the following buildozer command:",
        "buildozer 'remove deps //modules/05_autograd:autograd' //modules/11_embeddings:t_test",
        "** Or fix every target at once: ./bazelw run //tools:fix_deps -- //modules/11_embeddings/...",
    ]


def test_report_with_missing_and_unused_deps_has_one_buildozer_command():
    report = ci.format_report("//m:t", run({"t.py": "import numpy\n"}, direct=[TENSOR, AUTOGRAD], label="//m:t"))
    assert "[strict deps] //m:t imports 1 module it does not declare:" in report
    assert "[strict deps] //m:t declares 2 deps it does not import:" in report
    assert report.splitlines()[-2] == (
        "buildozer 'add deps @pypi//numpy' 'remove deps //modules/01_tensor:tensor' "
        "'remove deps //modules/05_autograd:autograd' //m:t")


def test_report_has_strict_deps_shape_and_buildozer_command():
    sources = {"t.py": "import numpy\nfrom tinytorch.core.tensor import Tensor\nimport tinytorch.core.attention\n"}
    report = ci.format_report("//modules/11_embeddings:t_test", run(sources, transitive=[TENSOR]))
    assert report.splitlines()[0] == "[strict deps] //modules/11_embeddings:t_test imports 3 modules it does not declare:"
    assert 't.py:1: import of "numpy"' in report
    assert 't.py:2: import of "tinytorch.core.tensor (Tensor)"' in report
    assert "** Please add the following dependencies:" in report
    assert ("buildozer 'add deps //modules/01_tensor:tensor' 'add deps @pypi//numpy' "
            "//modules/11_embeddings:t_test") in report
    assert "move this test to modules/12_attention" in report


def test_main_writes_stamp_only_on_success(tmp_path):
    src = tmp_path / "t.py"
    src.write_text("import numpy\n")
    m = manifest({str(src): ""})
    (tmp_path / "m.json").write_text(json.dumps(m))
    (tmp_path / "i.json").write_text(json.dumps(INDEX))
    stamp = tmp_path / "ok"
    args = [str(tmp_path / "m.json"), str(tmp_path / "i.json"), str(stamp)]
    assert ci.main(args) == 1 and not stamp.exists()
    m["direct"] = [json.dumps(NUMPY)]
    (tmp_path / "m.json").write_text(json.dumps(m))
    assert ci.main(args) == 0
    assert stamp.read_text() == "//modules/11_embeddings:t_test: 1 source file(s), imports and deps OK\n"


def test_main_fails_on_an_unused_dep(tmp_path, capsys):
    src = tmp_path / "t.py"
    src.write_text("import os\n")
    (tmp_path / "m.json").write_text(json.dumps(manifest({str(src): ""}, direct=[NUMPY])))
    (tmp_path / "i.json").write_text(json.dumps(INDEX))
    assert ci.main([str(tmp_path / "m.json"), str(tmp_path / "i.json"), str(tmp_path / "ok")]) == 1
    assert "buildozer 'remove deps @pypi//numpy' //modules/11_embeddings:t_test" in capsys.readouterr().err
    assert not (tmp_path / "ok").exists()


def test_stdlib_comes_from_the_running_interpreter():
    assert ci.is_stdlib("os.path") and ci.is_stdlib("__future__") and ci.is_stdlib("importlib.util")
    assert not ci.is_stdlib("numpy")


# --- reading source bytes as Python does --------------------------------------------------------

def check_files(tmp_path, files, **kwargs):
    """ci.check with the default reader (bytes from disk) over files {name: bytes}."""
    paths = {}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths[str(tmp_path / name)] = ""
    return ci.check(manifest(paths, **kwargs), INDEX)


def test_a_utf7_coding_cookie_cannot_hide_an_import(tmp_path):
    # A UTF-8 reader sees one comment line; Python decodes +AAo- as a newline, then an import.
    data = b"# -*- coding: utf-7 -*-\n# nothing here +AAo-import tinytorch.core.attention\n"
    [v] = check_files(tmp_path, {"t.py": data})
    assert (v.line, v.module, v.provider) == (3, "tinytorch.core.attention", "//modules/12_attention:attention")
    assert "move this test to modules/12_attention" in v.fix


def test_collect_imports_takes_bytes_and_honours_the_cookie():
    data = "# coding: latin-1\nname = 'é'\nimport numpy\n".encode("latin-1")
    assert modules_of(data) == [(3, "numpy", ())]


@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbfimport numpy\n",  # UTF-8 BOM
    "# -*- coding: latin-1 -*-\nlabel = 'caf\xe9'\nimport numpy\n".encode("latin-1"),
    "# vim: set fileencoding=cp1252 :\nquote = '\u201cx\u201d'\nimport numpy\n".encode("cp1252"),
])
def test_encoded_sources_parse(tmp_path, data):
    assert check_files(tmp_path, {"t.py": data}, direct=[NUMPY]) == []


@pytest.mark.parametrize("data, line", [
    (b"import os\nx = '\xff'\n", 2),  # not UTF-8, no cookie
    (b"# coding: no-such-codec\nimport os\n", None),
    (b"import os\nx = 1\x00\n", 2),  # null byte
    (b"def f(:\n", 1),
])
def test_unparsable_source_is_a_clean_error_not_a_traceback(tmp_path, capsys, data, line):
    src = tmp_path / "t.py"
    src.write_bytes(data)
    (tmp_path / "m.json").write_text(json.dumps(manifest({str(src): ""})))
    (tmp_path / "i.json").write_text(json.dumps(INDEX))
    assert ci.main([str(tmp_path / "m.json"), str(tmp_path / "i.json"), str(tmp_path / "ok")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("[strict deps] //modules/11_embeddings:t_test: cannot parse %s:" % src)
    if line is not None:
        assert err.startswith("[strict deps] //modules/11_embeddings:t_test: cannot parse %s:%d: " % (src, line))
    assert "Traceback" not in err and not (tmp_path / "ok").exists()


# --- import forms: each is collected with its module, names and line ------------------------------

def imports_of(source, module_name="pkg.mod", is_package=False, known=None):
    return [(i.line, i.module, i.names) for i in ci.collect_imports(source, module_name, is_package, known_modules=known)
            if i.module.split(".")[0] not in ("importlib", "pytest", "builtins", "sys", "pkgutil", "runpy", "functools")]


def test_keyword_arguments_of_the_import_calls():
    source = (
        "import importlib, pytest\n"
        "importlib.import_module(name='a.b')\n"
        "importlib.import_module(name='.c', package='x.y')\n"
        "__import__(name='d')\n"
        "pytest.importorskip(modname='e', minversion='1')\n"
    )
    assert imports_of(source) == [(2, "a.b", ()), (3, "x.y.c", ()), (4, "d", ()), (5, "e", ())]


def test_every_spelling_of_dunder_import():
    source = (
        "import importlib, builtins\n"
        "importlib.__import__('a')\n"
        "builtins.__import__('b')\n"
        "import builtins as bi\n"
        "bi.__import__('c')\n"
        "from importlib import __import__ as f\n"
        "f('d')\n"
        "__builtins__.__import__('e')\n"
        "__builtins__['__import__']('f')\n"
        "from builtins import __import__ as g\n"
        "g('h')\n"
    )
    assert [(l, m) for l, m, _ in imports_of(source)] == [
        (2, "a"), (3, "b"), (5, "c"), (7, "d"), (8, "e"), (9, "f"), (11, "h")]


def test_dunder_import_fromlist_names_submodules_and_level_is_relative():
    source = "__import__('tinytorch.core', fromlist=['attention'])\n__import__('sib', globals(), None, [], 1)\n"
    assert imports_of(source, "tinytorch.text.mod") == [(1, "tinytorch.core", ("attention",)), (2, "tinytorch.text.sib", ())]


def test_import_functions_bound_to_other_names_and_chains_of_them():
    source = (
        "import importlib, pytest\n"
        "f = importlib.import_module\n"
        "f('a')\n"
        "imp = __import__\n"
        "imp('b')\n"
        "g = pytest.importorskip\n"
        "h = g\n"
        "k = h\n"
        "k('c')\n"
        "getattr(importlib, 'import_module')('d')\n"
        "m, n = importlib.import_module, __import__\n"
        "n('e')\n"
        "il = importlib\n"
        "il.import_module('f')\n"
        "vars(importlib)['import_module']('g')\n"
        "(w := importlib.import_module)('h')\n"
    )
    assert [(l, m) for l, m, _ in imports_of(source)] == [
        (3, "a"), (5, "b"), (9, "c"), (10, "d"), (12, "e"), (14, "f"), (15, "g"), (16, "h")]


def test_import_functions_held_by_classes_containers_partials_and_wrappers():
    source = (
        "import importlib, functools\n"
        "class C:\n"
        "    imp = importlib.import_module\n"
        "C.imp('a')\n"
        "obj.imp('b')\n"  # any attribute of that name: no scopes
        "table = {'load': importlib.import_module}\n"
        "table['load']('c')\n"
        "functools.partial(importlib.import_module, 'd')()\n"
        "p = functools.partial(importlib.import_module)\n"
        "p('e')\n"
        "def getter():\n"
        "    return importlib.import_module\n"
        "getter()('f')\n"
        "def with_default(loader=importlib.import_module):\n"
        "    return loader('g')\n"
        "list(map(importlib.import_module, ['h']))\n"
        "importlib.import_module.__call__('i')\n"
        "globals()['j'] = importlib.import_module\n"
        "j('k')\n"
        "__import__('importlib').import_module('l')\n"
    )
    assert [(l, m) for l, m, _ in imports_of(source)] == [
        (4, "a"), (5, "b"), (7, "c"), (8, "d"), (10, "e"), (13, "f"), (15, "g"), (16, "h"), (17, "i"),
        (19, "k"), (20, "l")]


def test_names_bound_only_to_literal_strings_count_as_literals():
    source = (
        "import importlib, pytest, sys\n"
        "for m in ['a', 'b']:\n"
        "    importlib.import_module(m)\n"
        "def load(name, package=None):\n"
        "    return importlib.import_module(name)\n"
        "load('c')\n"
        "load(name='d')\n"
        "@pytest.mark.parametrize('mod', ['e', pytest.param('f')])\n"
        "def test_it(mod):\n"
        "    importlib.import_module(mod)\n"
        "importlib.import_module(*['g'])\n"
        "importlib.import_module(**{'name': 'h'})\n"
        "importlib.import_module(f'i.j')\n"  # an f-string without fields is a literal
        "importlib.import_module('k' if sys.version_info >= (3,) else 'old')\n"
        "importlib.import_module('l' if flag else 'm')\n"
    )
    assert [(l, m) for l, m, _ in imports_of(source)] == [
        (3, "a"), (3, "b"), (5, "c"), (5, "d"), (10, "e"), (10, "f"), (11, "g"), (12, "h"), (13, "i.j"), (14, "k"),
        (15, "l"), (15, "m")]


def test_operations_on_literals_are_computed_and_left_to_the_run_time_guard():
    source = (
        "import importlib, sys\n"
        "name = 'tinytorch.core.attention'\n"
        "importlib.import_module(name)\n"  # a plainly assigned name
        "importlib.import_module('tinytorch.core.' + 'tensor')\n"
        "importlib.import_module(f'tinytorch.core.{name}')\n"
        "importlib.import_module('.'.join(['a', 'b']))\n"
        "importlib.import_module('%s.%s' % ('c', 'd'))\n"
        "importlib.import_module(' e '.strip())\n"
        "sys.modules['x.' + 'y']\n"
    )
    assert imports_of(source) == []


def test_pkgutil_resolve_name_and_runpy():
    source = (
        "import pkgutil, runpy\n"
        "pkgutil.resolve_name('pkg.mod:obj.attr')\n"
        "pkgutil.resolve_name('pkg.mod.obj')\n"
        "pkgutil.resolve_name('pkg.mod:')\n"
        "runpy.run_module('tool.main')\n"
        "runpy.run_module(mod_name='tool.other')\n"
    )
    assert imports_of(source) == [(2, "pkg.mod", ("obj",)), (3, "pkg.mod", ("obj",)), (4, "pkg.mod", ()),
                                  (5, "tool.main", ()), (6, "tool.other", ())]
    # With the modules targets provide, a dotted name splits at the longest one.
    known = {"tinytorch.core.tensor"}
    assert imports_of("import pkgutil\npkgutil.resolve_name('tinytorch.core.tensor.Tensor.zeros')\n", known=known) == [
        (2, "tinytorch.core.tensor", ("Tensor",))]
    assert imports_of("import pkgutil\npkgutil.resolve_name('tinytorch.core.tensor')\n", known=known) == [
        (2, "tinytorch.core.tensor", ())]


def test_find_spec_is_a_probe_unless_the_file_loads_the_spec():
    probe = "import importlib.util\nassert importlib.util.find_spec('tinytorch.core.attention') is None\n"
    assert imports_of(probe) == []
    load = probe + "m = importlib.util.module_from_spec(spec)\n"
    assert imports_of(load) == [(2, "tinytorch.core.attention", ())]


def test_sys_modules_reads_are_imports_stores_are_not():
    source = (
        "import sys\n"
        "sys.modules['a.b']\n"
        "sys.modules.get('c')\n"
        "sys.modules.pop('d', None)\n"
        "sys.modules.setdefault('e', None)\n"
        "del sys.modules['f']\n"
        "sys.modules['fake'] = object()\n"
        "from sys import modules as mods\n"
        "mods['g']\n"
        "sys.modules[name]\n"
    )
    assert [(l, m) for l, m, _ in imports_of(source)] == [(2, "a.b"), (3, "c"), (4, "d"), (5, "e"), (6, "f"), (9, "g")]


def test_mock_patch_string_targets_in_every_spelling():
    source = (
        "from unittest import mock\n"
        "from unittest.mock import patch\n"
        "import unittest.mock\n"
        "import mock as legacy\n"
        "@mock.patch('a.b.c')\n"
        "def f(): pass\n"
        "with patch('d.e.f', new=1): pass\n"
        "patch.dict('g.h.TABLE', {})\n"
        "patch.multiple('i.j', x=1)\n"
        "patch.object(thing, 'attr')\n"
        "unittest.mock.patch(target='k.l')\n"
        "legacy.patch('m.n.o')\n"
        "def test(mocker):\n"
        "    mocker.patch('p.q.r')\n"
        "patch('nodot')\n"
    )
    assert [x for x in imports_of(source) if x[1] not in ("unittest", "unittest.mock", "mock")] == [
        (5, "a.b", ("c",)), (7, "d.e", ("f",)), (8, "g.h", ("TABLE",)), (9, "i", ("j",)), (11, "k", ("l",)),
        (12, "m.n", ("o",)), (14, "p.q", ("r",))]


def test_patch_target_splits_at_the_longest_provided_module_and_names_need_only_exist():
    source = "from unittest import mock\nmock.patch('tinytorch.core.tensor.Tensor.zeros')\n"
    [_, imp] = ci.collect_imports(source, known_modules={"tinytorch.core.tensor"})
    assert (imp.line, imp.module, imp.names, imp.names_check) == (2, "tinytorch.core.tensor", ("Tensor",), "exists")
    [_, imp] = ci.collect_imports("from unittest import mock\nmock.patch('a.b.c', create=True)\n")
    assert imp.names_check == "none"


def test_monkeypatch_setattr_and_delattr_with_a_dotted_string_target():
    source = (
        "def test(monkeypatch):\n"
        "    monkeypatch.setattr('a.b.c', 1)\n"
        "    monkeypatch.delattr('d.e.f')\n"
        "    monkeypatch.setattr(obj, 'name', 1)\n"  # an object target: no module
        "    monkeypatch.setattr('x.y', 'value', 1)\n"  # three positional: setattr on a str, no import
        "    monkeypatch.delattr(obj, 'name')\n"
        "    monkeypatch.setattr('http://host.example', 1)\n"  # not a dotted name
        "    with pytest.MonkeyPatch.context() as mp:\n"
        "        mp.setattr('g.h', 1, raising=False)\n"
    )
    found = ci.collect_imports(source)
    assert [(i.line, i.module, i.names) for i in found] == [(2, "a.b", ("c",)), (3, "d.e", ("f",)), (9, "g", ("h",))]
    assert [i.names_check for i in found] == ["exists", "exists", "none"]


@pytest.mark.parametrize("source", [
    "pytest_plugins = ['plug.one', 'plug.two']\n",
    "pytest_plugins = ('plug.one', 'plug.two')\n",
    "pytest_plugins = ['plug.one']\npytest_plugins += ['plug.two']\n",
])
def test_pytest_plugins_at_module_level(source):
    assert sorted(m for _, m, _ in imports_of(source)) == ["plug.one", "plug.two"]
    assert imports_of("pytest_plugins = 'plug.one'\n") == [(1, "plug.one", ())]


def test_code_in_strings_run_by_exec_eval_compile_timeit_or_python_c():
    source = (
        "exec('import a')\n"
        "eval(\"__import__('b')\")\n"
        "compile('from c import d', 'f', 'exec')\n"
        "import timeit, subprocess, sys\n"
        "timeit.timeit('x', setup='import e')\n"
        "subprocess.run([sys.executable, '-c', 'import f'])\n"
        "subprocess.run([sys.executable, '-m', 'g.main'])\n"
        "exec(code)\n"
    )
    assert [x for x in imports_of(source) if x[1] not in ("timeit", "subprocess")] == [
        (1, "a", ()), (2, "b", ()), (3, "c", ("d",)), (5, "e", ()), (6, "f", ()), (7, "g.main", ())]


def test_attribute_chain_below_a_bare_import_is_an_import_of_the_longest_provided_module():
    known = {"tinytorch.core.tensor", "tinytorch.core.layers"}
    source = "import tinytorch.core.tensor\n\nx = tinytorch.core.layers.Module.forward\n"
    found = ci.collect_imports(source, known_modules=known)
    assert [(i.line, i.module, i.names) for i in found] == [(1, "tinytorch.core.tensor", ()),
                                                            (3, "tinytorch.core.layers", ("Module",))]
    # No target knows any prefix: the chain up to its last attribute is `from A import last`.
    assert imports_of("import tinytorch\ntinytorch.core.layers.Module\n") == [
        (1, "tinytorch", ()), (2, "tinytorch.core.layers", ("Module",))]


def test_attribute_chains_that_name_nothing_new_are_not_imports():
    known = {"tinytorch.core.tensor"}
    source = (
        "import os, numpy as np\n"
        "import tinytorch.core.tensor\n"
        "os.path.join('a')\n"  # stdlib
        "np.linalg.norm\n"  # an alias with no provided prefix
        "tinytorch.core.tensor.__file__\n"  # dunders stop a chain
        "tinytorch.core.tensor\n"  # what the import statement names
        "tinytorch.core.tensor.Tensor = None\n"  # a store adds no name to check
    )
    assert imports_of(source, known=known) == [(1, "numpy", ()), (1, "os", ()), (2, "tinytorch.core.tensor", ())]


def test_attribute_chains_from_other_module_bindings():
    known = {"tinytorch.core.attention", "tinytorch.core.tensor"}
    source = (
        "from tinytorch import core\n"
        "core.attention.MultiHeadAttention\n"
        "import tinytorch.core as tc\n"
        "tc.attention.scaled_dot_product_attention\n"
        "__import__('tinytorch.core.tensor').core.attention.X\n"
        "import sys\n"
        "sys.modules['tinytorch.core'].attention.Y\n"
    )
    chains = [(i.line, i.module, i.names) for i in ci.collect_imports(source, known_modules=known) if i.chain]
    assert chains == [(2, "tinytorch.core.attention", ("MultiHeadAttention",)),
                      (4, "tinytorch.core.attention", ("scaled_dot_product_attention",)),
                      (5, "tinytorch.core.attention", ("X",)), (7, "tinytorch.core.attention", ("Y",))]


def test_imports_in_a_try_that_catches_import_errors_are_optional():
    source = (
        "try:\n"
        "    import tomllib\n"
        "except ImportError:\n"
        "    import tomli as tomllib\n"
        "try:\n"
        "    import a\n"
        "except (ValueError, ModuleNotFoundError):\n"
        "    pass\n"
        "try:\n"
        "    import b\n"
        "except Exception:\n"
        "    pass\n"
        "try:\n"
        "    import c\n"
        "except:\n"
        "    pass\n"
        "try:\n"
        "    import d\n"
        "except KeyError:\n"
        "    pass\n"
        "try:\n"
        "    def later():\n"
        "        import e\n"  # runs when called, not under the try
        "except ImportError:\n"
        "    pass\n"
        "finally:\n"
        "    import f\n"
    )
    optional = {i.module: i.optional for i in ci.collect_imports(source)}
    assert optional == {"tomllib": True, "tomli": True, "a": True, "b": True, "c": True, "d": False, "e": False,
                        "f": False}


def test_version_guards_skip_the_branch_that_cannot_run_here():
    source = (
        "import sys\n"
        "if sys.version_info >= (3, 11):\n"
        "    import new_enough\n"
        "else:\n"
        "    import too_old\n"
        "if sys.version_info[:2] < (3, 8):\n"
        "    import old_a\n"
        "if sys.version_info[0] == 2 or sys.version_info.major < 3:\n"
        "    import py2\n"
        "if not sys.version_info >= (3, 0):\n"
        "    import py2_again\n"
        "if (3, 8) <= sys.version_info < (4, 0) and sys.version_info.minor >= 0:\n"
        "    import modern\n"
        "from sys import version_info as v\n"
        "OLD = v < (3, 9)\n"
        "if OLD:\n"
        "    import old_b\n"
        "if sys.platform == 'win32':\n"  # unknown here: both branches count
        "    import winreg\n"
        "else:\n"
        "    import posix\n"
        "if False:\n"
        "    import never\n"
        "x = __import__('also_old') if sys.version_info < (3, 0) else None\n"
    )
    assert [m for _, m, _ in imports_of(source)] == ["new_enough", "modern", "winreg", "posix"]


def test_version_guard_follows_this_interpreter():
    source = "import sys\nif sys.version_info >= (3, 12):\n    import a\nelse:\n    import b\n"
    assert [m for _, m, _ in imports_of(source)] == (["a"] if sys.version_info >= (3, 12) else ["b"])


# --- what each import form reaches, end to end -----------------------------------------------------

# Each source reaches tinytorch.core.attention (module 12) on the line given, without a plain import.
REACHES_12 = [
    ("import importlib\nimportlib.import_module(name='tinytorch.core.attention')\n", 2),
    ("__import__(name='tinytorch.core.attention')\n", 1),
    ("import pytest\npytest.importorskip(modname='tinytorch.core.attention')\n", 2),
    ("import importlib\nimportlib.__import__('tinytorch.core.attention')\n", 2),
    ("import builtins as b\nb.__import__('tinytorch.core.attention')\n", 2),
    ("from importlib import __import__ as f\nf('tinytorch.core.attention')\n", 2),
    ("import importlib\nf = importlib.import_module\ng = f\ng('tinytorch.core.attention')\n", 4),
    ("imp = __import__\nimp('tinytorch.core.attention')\n", 2),
    ("import pytest\nskip = pytest.importorskip\nskip('tinytorch.core.attention')\n", 3),
    ("import importlib\ngetattr(importlib, 'import_module')('tinytorch.core.attention')\n", 2),
    ("import pkgutil\npkgutil.resolve_name('tinytorch.core.attention:MultiHeadAttention')\n", 2),
    ("import pkgutil\npkgutil.resolve_name('tinytorch.core.attention.MultiHeadAttention')\n", 2),
    ("import runpy\nrunpy.run_module('tinytorch.core.attention')\n", 2),
    ("import sys\nsys.modules['tinytorch.core.attention']\n", 2),
    ("import sys\nsys.modules.get('tinytorch.core.attention')\n", 2),
    ("from unittest import mock\n@mock.patch('tinytorch.core.attention.MultiHeadAttention')\ndef test_x(m): pass\n", 2),
    ("from unittest.mock import patch\n\ndef test_x():\n    with patch('tinytorch.core.attention.softmax'):\n        pass\n", 4),
    ("def test_x(monkeypatch):\n    monkeypatch.setattr('tinytorch.core.attention.softmax', None)\n", 2),
    ("def test_x(monkeypatch):\n    monkeypatch.delattr('tinytorch.core.attention.softmax')\n", 2),
    ("pytest_plugins = ['tinytorch.core.attention']\n", 1),
    ("import tinytorch.core.tensor\nassert tinytorch.core.attention.MultiHeadAttention\n", 2),
    ("exec('import tinytorch.core.attention')\n", 1),
    ("import importlib\ndef load(name):\n    return importlib.import_module(name)\nload('tinytorch.core.attention')\n", 3),
    ("import importlib\nfor m in ('tinytorch.core.attention',):\n    importlib.import_module(m)\n", 3),
    ("try:\n    import tinytorch.core.attention\nexcept ImportError:\n    pass\n", 2),
]


@pytest.mark.parametrize("source, line", REACHES_12)
def test_every_import_form_is_judged_like_an_import_statement(source, line):
    found = [v for v in run({"t.py": source}, direct=[TENSOR]) if v.provider == "//modules/12_attention:attention"]
    assert len(found) == 1, source
    [v] = found
    assert (v.file, v.line) == ("t.py", line)
    assert v.module.startswith("tinytorch.core.attention")
    assert v.reason == "module 11 may not depend on module 12 (a later module)"
    assert v.fix == "module 11 may not depend on module 12: move this test to modules/12_attention"
    assert v.dep_to_add == ""


@pytest.mark.parametrize("source", [s.replace("attention", "tensor").replace("MultiHeadAttention", "Tensor")
                                    .replace("softmax", "Tensor") for s, _ in REACHES_12])
def test_every_import_form_uses_the_dep_that_provides_it(source):
    # The form reaches tinytorch.core.tensor, a direct dep: allowed, and the dep is used.
    violations = run({"t.py": source}, direct=[TENSOR, PYTEST], needed_without_import=["@pypi//pytest"])
    assert [v for v in violations if v.provider == "//modules/01_tensor:tensor"] == []


def test_a_transitive_module_reached_through_a_chain_needs_its_dep():
    src = {"t.py": "import tinytorch.text.embedding_core\n\nlayer = tinytorch.core.layers.Module\n"}
    [v] = run(src, direct=[EMBED], transitive=[EMBED, LAYERS])
    assert (v.line, v.module, v.provider, v.dep_to_add) == (
        3, "tinytorch.core.layers (Module)", "//modules/03_layers:layers", "//modules/03_layers:layers")
    assert "only a transitive dependency" in v.reason


def test_chains_below_a_refused_import_are_not_reported_again():
    src = {"t.py": "import numpy\nnumpy.linalg.norm\nnumpy.fft.fft\n"}
    [v] = run(src)
    assert (v.line, v.module) == (1, "numpy")


# --- names a dep does not own ---------------------------------------------------------------------

def test_module_names_lists_what_a_module_defines():
    source = (
        "import numpy as np\n"
        "import os.path\n"
        "from tinytorch.core.layers import Module, make_rng as rng\n"
        "def f(): global G; G = 1\n"
        "async def g(): pass\n"
        "class C: inner = 1\n"
        "A = B = 1\n"
        "(D, [E, *F]) = 1, [2, 3]\n"
        "H: int = 1\n"
        "I += 1\n"
        "if (J := 1):\n"
        "    for K in []: pass\n"
        "try:\n"
        "    with open('x') as L: pass\n"
        "except OSError as M:\n"
        "    pass\n"
        "__all__ = ['Module', 'N']\n"
        "__all__ += ['O']\n"
        "__all__.extend(['P'])\n"
        "def h():\n"
        "    local = 1\n"
    )
    info = ci.module_names(source, "pkg.mod")
    assert info["names"] == sorted(["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "Module", "N",
                                    "O", "P", "__all__", "f", "g", "h"])
    assert info["open"] is False
    assert info["imported"] == {"np": "numpy", "os": "os", "rng": "tinytorch.core.layers"}
    assert info["aliases"] == {"np": "", "os": "", "rng": "make_rng"}


@pytest.mark.parametrize("source", ["def __getattr__(name):\n    return 1\n", "from os.path import *\n",
                                    "globals()['x'] = 1\n"])
def test_module_names_is_open_when_any_name_may_exist(source):
    assert ci.module_names(source)["open"] is True


def test_a_reexport_module_that_takes_its_all_from_another_defines_what_it_imports_from_there():
    source = "from tinytorch.text.tokenization import CharTokenizer, PAD_ID\nfrom tinytorch.text.tokenization import __all__\n"
    assert ci.module_names(source)["names"] == ["CharTokenizer", "PAD_ID"]


def test_a_name_a_dep_only_imports_is_refused_with_where_it_is_defined():
    src = {"t.py": "from tinytorch.text.embedding_core import Embedding, Module\n"}
    [v] = run(src, direct=[EMBED_WITH_NAMES], transitive=[EMBED, LAYERS])
    assert (v.file, v.line, v.module, v.provider) == (
        "t.py", 1, "tinytorch.text.embedding_core (Module)", "//modules/11_embeddings:embedding_core")
    assert v.reason == ('"Module" is not defined in tinytorch.text.embedding_core (//modules/11_embeddings:embedding_core);'
                        " it only imports it from tinytorch.core.layers")
    assert v.fix == ('import it from where it is defined: from tinytorch.core.layers import Module '
                     '(add "//modules/03_layers:layers" to deps of //modules/11_embeddings:t_test)')
    assert v.dep_to_add == "//modules/03_layers:layers"
    report = ci.format_report("//modules/11_embeddings:t_test", [v])
    assert "buildozer 'add deps //modules/03_layers:layers' //modules/11_embeddings:t_test" in report


def test_a_name_imported_from_a_direct_dep_needs_no_dep_to_add():
    [v, unused] = run({"t.py": "from tinytorch.text.embedding_core import Tensor\n"}, direct=[EMBED_WITH_NAMES, TENSOR])
    assert unused.dep_to_remove == "//modules/01_tensor:tensor"  # Tensor is not taken from its own module
    assert v.dep_to_add == "" and v.fix == "import it from where it is defined: from tinytorch.core.tensor import Tensor"


def test_a_name_nobody_defines_is_refused():
    [v] = run({"t.py": "from tinytorch.text.embedding_core import Embeding\n"}, direct=[EMBED_WITH_NAMES])
    assert v.reason == '"Embeding" is not defined in tinytorch.text.embedding_core (//modules/11_embeddings:embedding_core)'
    assert v.dep_to_add == ""


def test_names_defined_submodules_open_modules_and_deps_without_names_are_allowed():
    assert run({"t.py": "from tinytorch.text.embedding_core import Embedding\n"}, direct=[EMBED_WITH_NAMES]) == []
    open_names = dict(EMBED, names={"tinytorch.text.embedding_core": {"names": [], "open": True}})
    assert run({"t.py": "from tinytorch.text.embedding_core import Module\n"}, direct=[open_names]) == []
    assert run({"t.py": "from tinytorch.text.embedding_core import Module\n"}, direct=[EMBED]) == []
    pkg = {"label": "//m:pkg", "modules": ["pkg", "pkg.sub"], "prefixes": [],
           "names": {"pkg": {"names": [], "open": False}}}
    assert run({"t.py": "from pkg import sub\n"}, direct=[pkg]) == []


def test_patching_a_name_where_it_is_looked_up_needs_it_only_to_exist():
    src = {"t.py": "from unittest import mock\nmock.patch('tinytorch.text.embedding_core.Module')\n"}
    assert run(src, direct=[EMBED_WITH_NAMES]) == []
    [v] = run({"t.py": "from unittest import mock\nmock.patch('tinytorch.text.embedding_core.Nothing')\n"},
              direct=[EMBED_WITH_NAMES])
    assert v.line == 2 and '"Nothing" is not defined' in v.reason


def test_an_attribute_chain_uses_names_too():
    src = {"t.py": "import tinytorch.text.embedding_core\n\nM = tinytorch.text.embedding_core.Module\n"}
    [v] = run(src, direct=[EMBED_WITH_NAMES], transitive=[LAYERS])
    assert (v.line, v.module, v.dep_to_add) == (3, "tinytorch.text.embedding_core (Module)", "//modules/03_layers:layers")


def test_an_optional_import_of_a_missing_name_is_fine_of_a_reexported_one_is_not():
    probe = "try:\n    from tinytorch.text.embedding_core import new_api\nexcept ImportError:\n    new_api = None\n"
    assert run({"t.py": probe}, direct=[EMBED_WITH_NAMES]) == []
    [v] = run({"t.py": probe.replace("new_api", "Module")}, direct=[EMBED_WITH_NAMES], transitive=[LAYERS])
    assert v.line == 2 and "it only imports it from tinytorch.core.layers" in v.reason


def test_names_of_own_srcs_come_from_the_srcs_themselves():
    sources = {"lib/a.py": "from tinytorch.core.tensor import Tensor\nA = 1\n",
               "lib/b.py": "from tinytorch.text.a import A\nfrom tinytorch.text.a import Tensor\n"}
    m = manifest(sources, direct=[TENSOR], label="//tools/x:lib", kind="library", number=None)
    m["srcs"] = [{"path": "lib/a.py", "module": "tinytorch.text.a"}, {"path": "lib/b.py", "module": "tinytorch.text.b"}]
    m["own"] = json.dumps({"label": "//tools/x:lib", "modules": ["tinytorch.text.a", "tinytorch.text.b"], "prefixes": []})
    sink = {}
    [v] = ci.check(m, INDEX, read=sources.__getitem__, names_sink=sink)
    assert (v.file, v.line, v.provider) == ("lib/b.py", 2, "//tools/x:lib")
    assert v.fix == "import it from where it is defined: from tinytorch.core.tensor import Tensor"
    assert sink["tinytorch.text.a"]["names"] == ["A"]
    assert sink["tinytorch.text.a"]["imported"] == {"Tensor": "tinytorch.core.tensor"}


def test_names_file_is_read_from_disk_and_a_missing_one_is_a_clean_error(tmp_path, capsys):
    names = tmp_path / "embed.names.json"
    names.write_text(json.dumps(EMBED_NAMES))
    dep = dict(EMBED, names_file=str(names))
    [v] = run({"t.py": "from tinytorch.text.embedding_core import Module\n"}, direct=[dep])
    assert "only imports it" in v.reason
    src = tmp_path / "t.py"
    src.write_text("from tinytorch.text.embedding_core import Embedding\n")
    m = manifest({str(src): ""}, direct=[dict(EMBED, names_file=str(tmp_path / "missing.json"))])
    (tmp_path / "m.json").write_text(json.dumps(m))
    (tmp_path / "i.json").write_text(json.dumps(INDEX))
    assert ci.main([str(tmp_path / "m.json"), str(tmp_path / "i.json"), str(tmp_path / "ok")]) == 1
    err = capsys.readouterr().err
    assert "cannot read the names file" in err and "missing.json" in err and "Traceback" not in err


def test_main_writes_names_out_with_the_stamp_only_on_success(tmp_path):
    src = tmp_path / "lib.py"
    src.write_text("import numpy as np\nfrom tinytorch.core.tensor import Tensor\nclass Layer: pass\n__all__ = ['Layer']\n")
    m = manifest({str(src): ""}, direct=[TENSOR], label="//tools/x:lib", kind="library", number=None)
    m["srcs"] = [{"path": str(src), "module": "tools.x.lib"}]
    m["names_out"] = str(tmp_path / "names.json")
    (tmp_path / "m.json").write_text(json.dumps(m))
    (tmp_path / "i.json").write_text(json.dumps(INDEX))
    args = [str(tmp_path / "m.json"), str(tmp_path / "i.json"), str(tmp_path / "ok")]
    assert ci.main(args) == 1  # numpy is not declared
    assert not (tmp_path / "names.json").exists() and not (tmp_path / "ok").exists()
    m["direct"].append(json.dumps(NUMPY))
    (tmp_path / "m.json").write_text(json.dumps(m))
    assert ci.main(args) == 0 and (tmp_path / "ok").exists()
    names = json.loads((tmp_path / "names.json").read_text())
    assert names == {"tools.x.lib": {"names": ["Layer", "__all__"], "open": False,
                                     "imported": {"Tensor": "tinytorch.core.tensor", "np": "numpy"},
                                     "aliases": {"np": ""}}}


# --- new manifest fields ----------------------------------------------------------------------------

def test_a_first_party_provides_tag_is_ignored_an_external_one_is_honoured():
    forged = {"label": "//modules/11_embeddings:forged", "modules": [], "prefixes": ["tinytorch"]}
    violations = run({"t.py": "import tinytorch.core.attention\n"}, direct=[forged])
    assert [v.provider for v in violations] == ["//modules/12_attention:attention", "//modules/11_embeddings:forged"]
    assert violations[0].fix.endswith("move this test to modules/12_attention")
    assert violations[1].dep_to_remove == "//modules/11_embeddings:forged"
    vendored = {"label": "//third_party:vendored", "modules": [], "prefixes": ["vendored"], "external": True}
    assert run({"t.py": "import vendored.sub\n"}, direct=[vendored]) == []
    explicit = {"label": "@pypi//numpy", "modules": [], "prefixes": ["numpy"], "external": False}
    assert run({"t.py": "import numpy\n"}, direct=[explicit])[0].dep_to_add == "@pypi//numpy"


def test_an_unused_alias_is_reported_and_removed_as_written_in_build():
    alias = dict(AUTOGRAD, written="//tests/aliases:autograd")
    [v] = run({"t.py": "import os\n"}, direct=[alias])
    assert (v.provider, v.dep_to_remove) == ("//tests/aliases:autograd", "//tests/aliases:autograd")
    assert v.fix == 'remove "//tests/aliases:autograd" from deps of //modules/11_embeddings:t_test'
    report = ci.format_report("//modules/11_embeddings:t_test", [v])
    assert "buildozer 'remove deps //tests/aliases:autograd' //modules/11_embeddings:t_test" in report
    assert run({"t.py": "import tinytorch.core.autograd\n"}, direct=[alias]) == []  # used under its real label
    assert run({"t.py": "import os\n"}, direct=[alias], needed_without_import=["//tests/aliases:autograd"]) == []


def test_a_filegroup_in_deps_is_one_clear_violation():
    files = {"label": "//modules/11_embeddings:files", "modules": [], "prefixes": [], "python": False,
             "kind": "filegroup", "written": ":files"}
    [v] = run({"t.py": "import os\n"}, direct=[files])
    assert (v.file, v.line, v.module, v.provider, v.dep_to_remove) == (
        "modules/11_embeddings/BUILD.bazel", 0, "no Python module", ":files", ":files")
    assert v.reason == (":files is a filegroup, not a Python library (no PyInfo): "
                        "deps take py_library / tinytorch_library targets")
    assert v.fix == "move it to data, or depend on the library that provides the modules"
    [v] = run({"t.py": "import os\n"}, direct=[{"label": "//x:gen", "modules": [], "prefixes": [], "python": False}])
    assert "is a filegroup or other non-Python target, not a Python library" in v.reason


def test_layering_is_judged_on_everything_the_target_reaches():
    helper = {"label": "//tests/helpers:lib", "modules": ["helpers.lib"], "prefixes": []}
    m = manifest({"t.py": "import helpers.lib\n"}, direct=[helper])
    m["reached"] = [json.dumps(e) for e in (helper, TENSOR, ATTENTION, ATTENTION)]
    [v] = ci.check(m, INDEX, read={"t.py": "import helpers.lib\n"}.__getitem__)
    assert (v.file, v.line, v.module, v.provider, v.section) == (
        "modules/11_embeddings/BUILD.bazel", 0, "//modules/12_attention:attention", "//modules/12_attention:attention",
        "reach")
    assert v.reason == ("module 11 may not depend on module 12 (a later module): //modules/11_embeddings:t_test "
                        "reaches //modules/12_attention:attention through its deps (visibility, aliases or "
                        "intermediate packages do not change layering)")
    assert v.fix == "module 11 may not depend on module 12: move this test to modules/12_attention"
    report = ci.format_report("//modules/11_embeddings:t_test", [v])
    assert "reaches 1 target of a later module" in report and "buildozer" not in report


def test_reach_defaults_to_transitive_and_names_the_path_when_known():
    [v] = run({"t.py": "import os\n"}, transitive=[dict(ATTENTION, via=["//tests/helpers:lib"])])
    assert v.section == "reach" and "through its deps: //modules/11_embeddings:t_test -> //tests/helpers:lib -> " \
        "//modules/12_attention:attention" in v.reason
    assert run({"t.py": "import os\n"}, transitive=[ATTENTION], number=None) == []
    assert run({"t.py": "import os\n"}, transitive=[TENSOR, EMBED]) == []


def test_a_py_file_in_data_is_refused():
    m = manifest({"t.py": "import os\n"})
    m["data_py"] = ["modules/11_embeddings/tests/conftest.py"]
    [v] = ci.check(m, INDEX, read={"t.py": "import os\n"}.__getitem__)
    assert (v.module, v.section) == ("modules/11_embeddings/tests/conftest.py", "data")
    assert v.reason == "a .py file in data is loaded by pytest (conftest.py) or by path, but never import-checked"
    assert v.fix == "put it in srcs of this test, or in a tinytorch_library in deps"
    assert "conftest.py" in ci.format_report("//modules/11_embeddings:t_test", [v])


def test_a_binary_gets_a_move_hint_for_a_binary():
    [v] = run({"b.py": "import tinytorch.core.attention\n"}, kind="binary")
    assert v.fix == "module 11 may not depend on module 12: move this binary to modules/12_attention"


def test_entries_may_be_json_strings_or_objects_and_new_fields_are_optional():
    m = manifest({"t.py": "from tinytorch.core.tensor import Tensor\n"})
    m["direct"] = [TENSOR]  # an object, as defs.bzl may write it
    del m["needed_without_import"], m["module_number"], m["build_file"]
    assert ci.check(m, INDEX, read={"t.py": "from tinytorch.core.tensor import Tensor\n"}.__getitem__) == []


# --- false positives --------------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "try:\n    import tomllib\nexcept ImportError:\n    import tomli as tomllib\n",
    "try:\n    import distutils_gone_in_312\nexcept ModuleNotFoundError:\n    distutils_gone_in_312 = None\n",
    "try:\n    from tinytorch.core import not_there\nexcept (ImportError, AttributeError):\n    pass\n",
    "try:\n    from . import local_helpers\nexcept ImportError:\n    import os as local_helpers\n",
    "import sys\nif sys.version_info >= (3, 11):\n    import tomllib\nelse:\n    import tomli as tomllib\n",
    "import sys\nif sys.version_info < (3, 11):\n    import tomli\n",
    "import __main__\nfrom test import support\nfrom __future__ import annotations\n",
    "import importlib.util\nassert importlib.util.find_spec('tinytorch.core.attention') is None\n",
])
def test_no_violation(source):
    assert run({"t.py": source}) == []


def test_an_optional_import_that_something_provides_gets_the_normal_verdicts():
    optional = "try:\n    import tinytorch.core.attention\nexcept ImportError:\n    pass\n"
    [v] = run({"t.py": optional})
    assert v.line == 2 and v.fix.endswith("move this test to modules/12_attention")
    [v] = run({"t.py": optional.replace("attention", "tensor")}, transitive=[TENSOR])
    assert "only a transitive dependency" in v.reason


@pytest.mark.parametrize("source, line, problem", [
    ("import os\nfrom . import helpers\n", 2, "no known parent package"),
    ("from ..x import y\n", 1, "no known parent package"),
])
def test_relative_import_in_a_test_file_is_refused_with_the_fix(source, line, problem):
    [v] = run({"t.py": source})
    assert (v.file, v.line, v.provider, v.dep_to_add) == ("t.py", line, "", "")
    assert v.reason.startswith("Python refuses it: ") and problem in v.reason
    assert v.fix == "use an absolute import"


def test_a_test_file_has_no_package_whatever_its_module_path():
    m = manifest({"tests/e2e/test_x.py": ""})
    m["srcs"] = [{"path": "tests/e2e/test_x.py", "module": "tests.e2e.test_x"}]
    [v] = ci.check(m, INDEX, read={"tests/e2e/test_x.py": "from . import sibling\n"}.__getitem__)
    assert (v.file, v.line, v.fix) == ("tests/e2e/test_x.py", 1, "use an absolute import")
    assert "no known parent package" in v.reason


def test_relative_import_beyond_the_top_level_package_is_refused_not_a_crash():
    sources = {"lib/x.py": "from ... import far\n"}
    m = manifest(sources, label="//tools/x:lib", kind="library", number=None)
    m["srcs"] = [{"path": "lib/x.py", "module": "tinytorch.x"}]
    [v] = ci.check(m, INDEX, read=sources.__getitem__)
    assert (v.line, v.module) == (1, "... (far)") and "beyond top-level package" in v.reason


@pytest.mark.parametrize("module", ["torch", "torch.nn.functional", "threadpoolctl"])
def test_pytorch_outside_benchmarks_points_at_the_benchmarks(module):
    [v] = run({"t.py": "import %s\n" % module})
    assert "PyTorch is benchmark-only" in v.fix and '"@pypi_torch//' in v.fix and "//benchmarks" in v.fix
    torch = {"label": "@pypi_torch//torch", "modules": [], "prefixes": ["torch"]}
    [v] = ci.check(manifest({"t.py": "import torch\n"}), INDEX + [torch], read={"t.py": "import torch\n"}.__getitem__)
    assert v.provider == "@pypi_torch//torch" and v.dep_to_add == "" and "benchmark-only" in v.fix


def test_a_first_party_module_named_like_the_stdlib_is_not_excused():
    shadow = {"label": "//modules/12_attention:shadow", "modules": ["test.attention_impl"], "prefixes": []}
    [v] = ci.check(manifest({"t.py": "from test import attention_impl\n"}), INDEX + [shadow],
                   read={"t.py": "from test import attention_impl\n"}.__getitem__)
    assert v.provider == "//modules/12_attention:shadow" and "move this test" in v.fix


def test_stdlib_includes_main_test_and_future():
    assert ci.is_stdlib("__main__") and ci.is_stdlib("test.support") and ci.is_stdlib("__future__")


def test_module_attributes_that_are_known_modules_are_those_modules():
    source = "import pkgutil, importlib\npkgutil.importlib.import_module('a')\nimportlib.sys.modules['b']\n"
    assert imports_of(source) == [(2, "a", ()), (3, "b", ())]
    source = "from importlib import *\nimport_module('c')\n"
    assert imports_of(source) == [(2, "c", ())]


@pytest.mark.parametrize("tamper", [
    "sys.version_info = (2, 7)\n",
    "setattr(sys, 'version_info', (2, 7))\n",
    "def f(monkeypatch):\n    monkeypatch.setattr(sys, 'version_info', (2, 7))\n",
    "sys = FakeSys()\n",
])
def test_a_version_guard_the_file_may_fake_counts_both_branches(tamper):
    source = "import sys\n" + tamper + "if sys.version_info < (3,):\n    import hidden\n"
    assert "hidden" in [m for _, m, _ in imports_of(source)]


def test_a_star_import_of_a_dep_without_all_gives_its_imported_names_only_by_name():
    no_all = {"tinytorch.text.embedding_core": dict(EMBED_NAMES["tinytorch.text.embedding_core"], names=["Embedding"])}
    dep = dict(EMBED, names=no_all)
    src = {"t.py": "from tinytorch.text.embedding_core import *\n\nclass Layer(Module):\n    table = Embedding\n"}
    [v] = run(src, direct=[dep], transitive=[LAYERS])
    assert (v.line, v.module, v.dep_to_add) == (1, "tinytorch.text.embedding_core (Module)", "//modules/03_layers:layers")
    assert "it only imports it from tinytorch.core.layers" in v.reason
    # With __all__, a star import gives only the listed names; a module-level Module is the file's own.
    assert run(src, direct=[EMBED_WITH_NAMES]) == []
    assert run({"t.py": src["t.py"] + "Module = object\n"}, direct=[dep]) == []


def test_a_dict_of_modules_is_not_a_module_its_methods_are_no_imported_names():
    src = {"t.py": (
        "import tinytorch.core.tensor as tensor\n"
        "sources = {'Tensor': tensor}\n"
        "for name, module in sources.items():\n"
        "    assert getattr(module, name)\n"
        "alias = tensor\n"
        "alias.keys\n"
    )}
    named = dict(TENSOR, names={"tinytorch.core.tensor": {"names": ["Tensor"], "open": False}})
    assert run(src, direct=[named]) == []
    # the same chain on the import's own name is still judged
    refused = run({"t.py": "import tinytorch.core.tensor as tensor\ntensor.items\n"}, direct=[named])
    assert [v.module for v in refused] == ["tinytorch.core.tensor (items)"]


# --- persistent worker ----------------------------------------------------------------------------

def _request(arguments, request_id=0):
    """A WorkRequest as Bazel writes it, inputs (field 2) included, which the worker skips."""
    body = b""
    for a in arguments:
        data = a.encode()
        body += ci._varint(1 << 3 | 2) + ci._varint(len(data)) + data
    digest = b"\x0a\x03a.py\x12\x02\xab\xcd"  # Input{path: "a.py", digest: ...}
    body += ci._varint(2 << 3 | 2) + ci._varint(len(digest)) + digest
    if request_id:
        body += ci._varint(3 << 3) + ci._varint(request_id)
    return ci._varint(len(body)) + body


def _responses(data):
    out, pos = [], 0
    while pos < len(data):
        size, pos = ci._read_varint(data, pos)
        body, pos = data[pos:pos + size], pos + size
        fields, p = {}, 0
        while p < len(body):
            key, p = ci._read_varint(body, p)
            if key & 7 == 0:
                fields[key >> 3], p = ci._read_varint(body, p)
            else:
                n, p = ci._read_varint(body, p)
                fields[key >> 3], p = body[p:p + n].decode(), p + n
        out.append(fields)
    return out


def test_varints_round_trip_including_negative_int32():
    for value in [0, 1, 127, 128, 300, 2**31 - 1, 2**40]:
        assert ci._read_varint(ci._varint(value), 0) == (value, len(ci._varint(value)))
    assert ci._varint(-1) == b"\xff" * 9 + b"\x01"  # protobuf's int32 -1


def test_a_request_parses_to_its_arguments_and_id():
    data = _request(["m.json", "i.json", "ok"], request_id=7)
    size, pos = ci._read_varint(data, 0)
    assert ci.parse_work_request(data[pos:pos + size]) == (["m.json", "i.json", "ok"], 7)


def test_the_worker_answers_each_request_as_a_process_would(tmp_path, monkeypatch):
    """Two requests on one worker: a failing check (exit 1, the report as output, no stamp), then
    a passing one (exit 0, its stamp); the flagfile form is expanded as Bazel passes it."""
    import io

    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.py").write_text("import numpy\n")
    (tmp_path / "good.py").write_text("import os\n")
    (tmp_path / "bad.json").write_text(json.dumps(manifest({"bad.py": ""})))
    (tmp_path / "good.json").write_text(json.dumps(manifest({"good.py": ""})))
    (tmp_path / "i.json").write_text(json.dumps(INDEX))
    (tmp_path / "good.params").write_text("good.json\ni.json\ngood.ok\n")
    stdin = io.BytesIO(_request(["bad.json", "i.json", "bad.ok"], 1) + _request(["@good.params"], 2))
    stdout = io.BytesIO()
    assert ci.serve(stdin, stdout) == 0
    bad, good = _responses(stdout.getvalue())
    assert bad[1] == 1 and bad[3] == 1 and 'import of "numpy"' in bad[2] and "buildozer 'add deps @pypi//numpy'" in bad[2]
    assert good.get(1, 0) == 0 and good[3] == 2
    assert not (tmp_path / "bad.ok").exists() and (tmp_path / "good.ok").read_text().endswith("imports and deps OK\n")


def test_a_checker_crash_fails_that_request_only(tmp_path, monkeypatch):
    import io

    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "i.json").write_text(json.dumps(INDEX))
    stdin = io.BytesIO(_request(["broken.json", "i.json", "x.ok"]) + _request(["only", "two"]))
    stdout = io.BytesIO()
    assert ci.serve(stdin, stdout) == 0
    crash, usage = _responses(stdout.getvalue())
    assert crash[1] == 1 and "JSONDecodeError" in crash[2]
    assert usage[1] == 2 and "usage: check_imports.py MANIFEST INDEX STAMP" in usage[2]
