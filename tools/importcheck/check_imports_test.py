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
PYTEST = {"label": "@pypi//pytest", "modules": [], "prefixes": ["pytest", "_pytest"]}
INDEX = [TENSOR, AUTOGRAD, EMBED, ATTENTION, NUMPY, PYTEST]


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


def test_relative_import_module_resolves_against_a_literal_package_only():
    source = (
        "import importlib\n"
        "importlib.import_module('.embeddings', 'tinytorch.text')\n"
        "importlib.import_module('..core.tensor', 'tinytorch.text')\n"
        "importlib.import_module('.embeddings', __package__)\n"
        "importlib.import_module('...x', 'tinytorch.text')\n"
        "importlib.import_module('.tensor', package='tinytorch.core')\n"
    )
    assert [(l, m) for l, m, _ in modules_of(source)[1:]] == [
        (2, "tinytorch.text.embeddings"), (3, "tinytorch.core.tensor"), (6, "tinytorch.core.tensor")]


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
    ]


def test_report_with_missing_and_unused_deps_has_one_buildozer_command():
    report = ci.format_report("//m:t", run({"t.py": "import numpy\n"}, direct=[TENSOR, AUTOGRAD], label="//m:t"))
    assert "[strict deps] //m:t imports 1 module it does not declare:" in report
    assert "[strict deps] //m:t declares 2 deps it does not import:" in report
    assert report.splitlines()[-1] == (
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
