"""Unit tests of fix_deps' reading of the strict-deps checker's reports (pure functions, no Bazel)."""

import pytest

from tools.buildtools import fix_deps as fd

ERROR = ("ERROR: /work/main/modules/11_embeddings/BUILD.bazel:40:15: Checking the imports of {0} failed: "
         "(Exit 1): check_imports failed: error executing command bazel-out/host/bin/tools/importcheck/check_imports "
         "bazel-out/k8-fastbuild/bin/modules/11_embeddings/x.json ...")

MISSING = """\
[strict deps] //modules/11_embeddings:e2e_strict_test imports 1 module it does not declare:
modules/11_embeddings/tests/test_e2e_strict.py:1: import of "tinytorch.core.tensor (Tensor)"
    provided by: //modules/01_tensor:tensor
    not allowed: //modules/01_tensor:tensor is only a transitive dependency; strict deps require declaring it
    fix:         add "//modules/01_tensor:tensor" to deps of //modules/11_embeddings:e2e_strict_test
** Please add the following dependencies:
  //modules/01_tensor:tensor to //modules/11_embeddings:e2e_strict_test
** You can use the following buildozer command:
buildozer 'add deps //modules/01_tensor:tensor' //modules/11_embeddings:e2e_strict_test
"""

BOTH = """\
[strict deps] //modules/11_embeddings:embeddings imports 1 module it does not declare:
modules/11_embeddings/tinytorch/text/embeddings.py:3: import of "numpy"
    provided by: @pypi//numpy
    not allowed: @pypi//numpy is not a dependency of //modules/11_embeddings:embeddings
    fix:         add "@pypi//numpy" to deps of //modules/11_embeddings:embeddings
[strict deps] //modules/11_embeddings:embeddings declares 1 dep it does not import:
modules/11_embeddings/BUILD.bazel: dep "//modules/05_autograd:autograd" of //modules/11_embeddings:embeddings
    provides:    tinytorch.core.autograd
    not allowed: no import of modules/11_embeddings/tinytorch/text/embeddings.py needs it; deps list exactly what the sources import
    fix:         remove "//modules/05_autograd:autograd" from deps of //modules/11_embeddings:embeddings
** Please add the following dependencies:
  @pypi//numpy to //modules/11_embeddings:embeddings
** Please remove the following dependencies:
  //modules/05_autograd:autograd from //modules/11_embeddings:embeddings
** You can use the following buildozer command:
buildozer 'add deps @pypi//numpy' 'remove deps //modules/05_autograd:autograd' //modules/11_embeddings:embeddings
** Or fix every target at once: ./bazelw run //tools:fix_deps -- //modules/11_embeddings/...
"""

LAYERING = """\
[strict deps] //modules/11_embeddings:e2e_forward_test imports 1 module it does not declare:
modules/11_embeddings/tests/test_e2e_forward.py:1: import of "tinytorch.core.attention (MultiHeadAttention)"
    provided by: //modules/12_attention:attention
    not allowed: module 11 may not depend on module 12 (a later module)
    fix:         module 11 may not depend on module 12: move this test to modules/12_attention
"""

REACH = """\
[strict deps] //modules/11_embeddings:reexport_test reaches 1 target of a later module:
modules/11_embeddings/BUILD.bazel: //modules/11_embeddings:reexport_test reaches "//modules/12_attention:attention"
    not allowed: module 11 may not depend on module 12 (a later module): //modules/11_embeddings:reexport_test reaches //modules/12_attention:attention through its deps (visibility, aliases or intermediate packages do not change layering)
    fix:         module 11 may not depend on module 12: move this test to modules/12_attention
"""

NAMES = """\
[strict deps] //modules/11_embeddings:names_test imports 1 module it does not declare:
modules/11_embeddings/tests/test_names.py:1: import of "tinytorch.text.embedding_core (Module)"
    provided by: //modules/11_embeddings:embedding_core
    not allowed: "Module" is not defined in tinytorch.text.embedding_core (//modules/11_embeddings:embedding_core); it only imports it from tinytorch.core.layers
    fix:         import it from where it is defined: from tinytorch.core.layers import Module (add "//modules/03_layers:layers" to deps of //modules/11_embeddings:names_test)
** Please add the following dependencies:
  //modules/03_layers:layers to //modules/11_embeddings:names_test
** You can use the following buildozer command:
buildozer 'add deps //modules/03_layers:layers' //modules/11_embeddings:names_test
"""


def bazel_output(*reports):
    """Reports as Bazel prints them: each after its action's ERROR line, among progress lines."""
    out = ["INFO: Analyzed 12 targets (0 packages loaded, 0 targets configured).", "INFO: Found 12 targets..."]
    for report in reports:
        label = report.split()[2]
        out.append(ERROR.format(label))
        out.append(report.rstrip("\n"))
    out += ["INFO: Elapsed time: 3.1s, Critical Path: 2.2s", "FAILED: Build did NOT complete successfully"]
    return "\n".join(out) + "\n"


def test_add_line():
    report = fd.parse_report(bazel_output(MISSING))
    assert report.fixes == [fd.Fix("//modules/11_embeddings:e2e_strict_test",
                                   (fd.Edit("add", "deps", "//modules/01_tensor:tensor"),))]
    assert report.problems == []


def test_add_and_remove_in_one_line_and_the_fix_deps_hint_is_ignored():
    report = fd.parse_report(bazel_output(BOTH))
    (fix,) = report.fixes
    assert fix.target == "//modules/11_embeddings:embeddings"
    assert [e.command() for e in fix.edits] == ["add deps @pypi//numpy", "remove deps //modules/05_autograd:autograd"]
    assert fix.argv("/bin/buildozer") == ["/bin/buildozer", "add deps @pypi//numpy",
                                          "remove deps //modules/05_autograd:autograd",
                                          "//modules/11_embeddings:embeddings"]
    assert fix.shell() == ("buildozer 'add deps @pypi//numpy' 'remove deps //modules/05_autograd:autograd' "
                           "//modules/11_embeddings:embeddings")
    assert report.problems == []


def test_several_targets_keep_their_order_and_duplicates_are_dropped():
    report = fd.parse_report(bazel_output(MISSING, BOTH, MISSING))
    assert [f.target for f in report.fixes] == ["//modules/11_embeddings:e2e_strict_test",
                                                "//modules/11_embeddings:embeddings"]


def test_layering_verdict_is_a_move_problem_not_a_fix():
    report = fd.parse_report(bazel_output(LAYERING, MISSING))
    assert [f.target for f in report.fixes] == ["//modules/11_embeddings:e2e_strict_test"]
    assert report.problems == [fd.Problem(
        "//modules/11_embeddings:e2e_forward_test",
        "module 11 may not depend on module 12: move this test to modules/12_attention", move=True)]


def test_reach_verdict_is_a_move_problem():
    (problem,) = fd.parse_report(REACH).problems
    assert problem.move and problem.target == "//modules/11_embeddings:reexport_test"
    assert "move this test to modules/12_attention" in problem.text


def test_a_name_verdict_needs_a_hand_edit_besides_its_dep():
    report = fd.parse_report(NAMES)
    assert [e.value for f in report.fixes for e in f.edits] == ["//modules/03_layers:layers"]
    (problem,) = report.problems
    assert not problem.move
    assert problem.text.startswith("import it from where it is defined: from tinytorch.core.layers import Module")


def test_checker_errors_without_a_section_are_hand_problems():
    text = ("[strict deps] //modules/11_embeddings:broken_test: cannot parse modules/11_embeddings/tests/t.py:3: "
            "invalid syntax\n")
    (problem,) = fd.parse_report(text).problems
    assert problem == fd.Problem("//modules/11_embeddings:broken_test",
                                 "cannot parse modules/11_embeddings/tests/t.py:3: invalid syntax")


def test_unknown_buildozer_commands_are_not_applied():
    report = fd.parse_report("buildozer 'set testonly True' 'add deps :x' //examples:thing\n")
    assert report.fixes == [fd.Fix("//examples:thing", (fd.Edit("add", "deps", ":x"),))]
    assert report.problems == [fd.Problem("//examples:thing", "buildozer 'set testonly True' is not a deps edit: "
                                          "apply it by hand")]


def test_lines_that_only_look_alike_are_ignored():
    text = "\n".join([
        "  buildozer 'add deps //a:b' //c:d",  # indented: not the checker's line
        "buildozer add deps //a:b //c:d",  # unquoted
        "# buildozer 'add deps //a:b' //c:d",
        "INFO: buildozer 'add deps //a:b'",  # no target
    ])
    assert fd.parse_report(text).fixes == []


def test_plan_refuses_a_dep_on_a_later_module_and_keeps_the_rest():
    text = "buildozer 'add deps //modules/12_attention:attention' 'add deps //modules/01_tensor:tensor' " \
           "'remove deps //modules/13_transformers:nn' //modules/11_embeddings:x_test\n"
    fixes, refused = fd.plan(fd.parse_report(text))
    assert fixes == [fd.Fix("//modules/11_embeddings:x_test", (
        fd.Edit("add", "deps", "//modules/01_tensor:tensor"),
        fd.Edit("remove", "deps", "//modules/13_transformers:nn")))]
    (problem,) = refused
    assert problem.move and problem.target == "//modules/11_embeddings:x_test"
    assert problem.text.startswith("module 11 may not depend on module 12: not adding //modules/12_attention:attention")
    assert "move the code that needs it to modules/12_attention" in problem.text


def test_plan_drops_a_fix_whose_only_edit_is_refused():
    fixes, refused = fd.plan(fd.parse_report(
        "buildozer 'add deps //modules/13_transformers:nn' //modules/12_attention:attention_test\n"))
    assert fixes == [] and len(refused) == 1


def test_visibility_error_on_a_later_module_is_a_move_problem():
    text = ("ERROR: /w/modules/11_embeddings/BUILD.bazel:50:18: in py_library rule //modules/11_embeddings:dep: "
            "target '//modules/12_attention:attention' is not visible from target '//modules/11_embeddings:dep'. "
            "Check the visibility declaration of the former target if you think the dependency is legitimate\n")
    (problem,) = fd.parse_report(text).problems
    assert problem == fd.Problem("//modules/11_embeddings:dep", (
        "module 11 may not depend on module 12: remove //modules/12_attention:attention from deps of "
        "//modules/11_embeddings:dep and move the code that needs it to modules/12_attention "
        "(or what it needs down to module 11 or below)"), move=True)


def test_other_visibility_errors_are_hand_problems():
    text = "ERROR: ... target '//tools/python:relock' is not visible from target '//examples:x'. Check ...\n"
    (problem,) = fd.parse_report(text).problems
    assert not problem.move and problem.text.startswith("//tools/python:relock is not visible from //examples:x")


@pytest.mark.parametrize("target,dep,refused", [
    ("//modules/11_embeddings:t", "//modules/12_attention:attention", True),
    ("//modules/11_embeddings:t", "//modules/11_embeddings:embedding_core", False),
    ("//modules/11_embeddings:t", ":embedding_core", False),
    ("//modules/11_embeddings:t", "//modules/01_tensor:tensor", False),
    ("//modules/11_embeddings/sub:t", "//modules/13_transformers:nn", True),
    ("//modules/11_embeddings:t", "@pypi//numpy", False),
    ("//examples:tiny_lm", "//modules/13_transformers:nn", False),  # consumers sit above every module
    ("@//modules/10_tokenization:t", "@//modules/11_embeddings:embeddings", True),
])
def test_layering_refusal(target, dep, refused):
    assert (fd.layering_refusal(target, dep) is not None) == refused


def test_module_number():
    assert fd.module_number("//modules/01_tensor:tensor") == 1
    assert fd.module_number("//modules/13_transformers/sub:x") == 13
    assert fd.module_number("@pypi//numpy") is None
    assert fd.module_number("//modules:index") is None
    assert fd.module_number("//tools/buildtools:fix_deps") is None


def test_output_base_of():
    path = "/root/.cache/bazel/_bazel_root/abc/execroot/tinytorch_workspace/bazel-out/k8-fastbuild/bin/" \
           "tools/buildtools/fix_deps.runfiles/tinytorch_workspace/tools/buildtools/fix_deps.py"
    assert fd.output_base_of(path) == "/root/.cache/bazel/_bazel_root/abc"
    assert fd.output_base_of("/work/main/tools/buildtools/fix_deps.py") is None


def test_split_args():
    opts, flags = fd.split_args(["--config=ci", "//modules/11_embeddings/...", "--dry_run", "-//modules/11_embeddings:x",
                                 "--bazel", "/usr/bin/bazel"])
    assert opts.patterns == ["//modules/11_embeddings/...", "-//modules/11_embeddings:x"]
    assert flags == ["--config=ci"]
    assert opts.dry_run and opts.bazel == "/usr/bin/bazel"


def test_split_args_needs_a_pattern():
    with pytest.raises(SystemExit):
        fd.split_args(["--config=ci"])


def test_clean_env_drops_the_stub_variables():
    env = fd.clean_env({"PATH": "/usr/bin", "PYTHONPATH": "/r", "RUNFILES_DIR": "/r", "HOME": "/root"})
    assert env == {"PATH": "/usr/bin", "HOME": "/root"}


def test_summary_names_refusals_and_hand_fixes():
    fix = fd.Fix("//a:b", (fd.Edit("add", "deps", "//c:d"),))
    text = fd.summary([fix], [fd.Problem("//m:t", "module 11 may not depend on module 12: move this test", True),
                              fd.Problem("//m:u", "import it from where it is defined")], False, False)
    assert "applied 1 buildozer command(s) to 1 target(s)" in text
    assert "REFUSED 1 fix(es) that layering forbids" in text and "//m:t: module 11 may not depend" in text
    assert "1 problem(s) need a hand edit" in text
    assert text.endswith("fix_deps: the build still fails")
