"""Unit tests of the strict-deps checker on fixture sources: every import form, every verdict."""

import json

import pytest

from tools.importcheck import check_imports as ci

TENSOR = {"label": "//modules/01_tensor:tensor", "modules": ["tinytorch.core.tensor"], "prefixes": []}
AUTOGRAD = {"label": "//modules/05_autograd:autograd", "modules": ["tinytorch.core.autograd"], "prefixes": []}
EMBED = {"label": "//modules/11_embeddings:embedding_core", "modules": ["tinytorch.text.embedding_core"],
         "prefixes": []}
ATTENTION = {"label": "//modules/12_attention:attention", "modules": ["tinytorch.core.attention"], "prefixes": []}
NUMPY = {"label": "@pypi//numpy", "modules": [], "prefixes": ["numpy"]}
INDEX = [TENSOR, AUTOGRAD, EMBED, ATTENTION, NUMPY]


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


def test_relative_import_beyond_top_level_is_an_error():
    with pytest.raises(SyntaxError, match="beyond the top-level package"):
        ci.collect_imports("from ... import x\n", "a.b", False)


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


# --- verdicts -----------------------------------------------------------------------------------

def manifest(source_by_path, direct=(), transitive=(), label="//modules/11_embeddings:t_test", kind="test",
             number=11):
    return {
        "label": label,
        "kind": kind,
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
    [v] = run({"t.py": "\n\nfrom tinytorch.core.tensor import Tensor\n"}, direct=[EMBED], transitive=[EMBED, TENSOR])
    assert (v.file, v.line, v.provider, v.dep_to_add) == ("t.py", 3, "//modules/01_tensor:tensor",
                                                          "//modules/01_tensor:tensor")
    assert "only a transitive dependency" in v.reason
    assert v.fix == 'add "//modules/01_tensor:tensor" to deps of //modules/11_embeddings:t_test'


def test_later_module_is_refused_with_a_move_hint_not_a_dep():
    [v] = run({"t.py": "from tinytorch.core.attention import MultiHeadAttention\n"}, direct=[TENSOR])
    assert v.reason == "module 11 may not depend on module 12 (a later module)"
    assert v.fix == "module 11 may not depend on module 12: move this test to modules/12_attention"
    assert v.dep_to_add == ""


def test_repo_target_that_is_no_dependency_at_all():
    [v] = run({"t.py": "import tinytorch.core.autograd\n"}, direct=[TENSOR])
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


def test_all_violations_of_all_files_are_reported_at_once():
    sources = {"a.py": "import numpy\nimport torch\n", "b.py": "import tinytorch.core.attention\n"}
    assert [(v.file, v.line) for v in run(sources)] == [("a.py", 1), ("a.py", 2), ("b.py", 1)]


def test_unregistered_module_library_is_refused():
    [v] = run({"x.py": "import os\n"}, label="//modules/11_embeddings:new_lib", kind="library")
    assert v.fix == 'add "new_lib" to MODULES["11_embeddings"] in modules/modules.bzl'


def test_libraries_outside_modules_need_no_registration():
    assert run({"x.py": "import os\n"}, label="//tools/x:lib", kind="library", number=None) == []


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
    assert stamp.read_text() == "//modules/11_embeddings:t_test: 1 source file(s), imports OK\n"


def test_stdlib_comes_from_the_running_interpreter():
    assert ci.is_stdlib("os.path") and ci.is_stdlib("__future__") and ci.is_stdlib("importlib.util")
    assert not ci.is_stdlib("numpy")
