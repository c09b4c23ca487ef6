"""Unit tests of the mutation tool: which mutants it makes, their ids, targets, equivalents, scores.

The runs themselves (forked pytest children) are exercised by tools/mutation/run.sh; here every
piece that decides what is run and what is reported is checked on fixture sources.
"""

import ast
import io
import os

import pytest

from tools.mutation import mutate

SOURCE = '''"""Module docstring: never mutated."""

__all__ = ["clip", "LIMIT"]

LIMIT = 3


def clip(values, low=0):
    """Docstring: never mutated."""
    if not isinstance(values, list):
        raise TypeError(f"values must be a list, got {type(values).__name__}")
    out = []
    for v in values:
        if v < low or v > LIMIT:
            continue
        out.append(v * 2)
    out = out[1:len(out)]
    return out
'''


def mutants_of(source=SOURCE, path="pkg/mod.py"):
    return mutate.generate_mutants(source, path)


def by_op(mutants, op):
    return [m for m in mutants if m.op == op]


def test_every_mutant_parses_keeps_the_line_count_and_changes_the_program():
    reference = ast.dump(ast.parse(SOURCE))
    ms = mutants_of()
    assert len(ms) > 20
    for m in ms:
        mutated = m.apply(SOURCE)
        assert mutated.count("\n") == SOURCE.count("\n"), m
        assert ast.dump(ast.parse(mutated)) != reference, m
        assert mutated.splitlines()[m.line - 1].strip() == m.mutated_line


def test_docstrings_all_and_fstring_messages_are_not_mutated():
    ms = mutants_of()
    assert not [m for m in ms if "docstring" in m.original_text.lower()]
    assert not [m for m in ms if m.line == 3]  # __all__
    assert not [m for m in ms if m.line == 11 and m.op != "delete"]  # the raise's message
    # The raise alone in its `if` is covered by deleting the `if`: no duplicate mutant.
    assert [m.line for m in by_op(ms, "delete") if m.original_text.startswith("raise")] == []


def test_operator_swaps_are_the_expected_edits():
    ms = mutants_of()
    lines = {(m.op, m.mutated_line) for m in ms}
    assert ("compare", "if v <= low or v > LIMIT:") in lines
    assert ("compare", "if v < low or v >= LIMIT:") in lines
    assert ("boolop", "if v < low and v > LIMIT:") in lines
    assert ("arith", "out.append(v / 2)") in lines
    assert ("not", "if  isinstance(values, list):") in lines
    assert ("negate", "if not (v < low or v > LIMIT):") in lines
    assert ("const", "LIMIT = 4") in lines and ("const", "LIMIT = 2") in lines
    assert ("const", "def clip(values, low=(-1)):") in lines
    assert ("return", "return None") in lines
    assert ("delete", "pass") in lines  # `continue`, the append, the `if`s, the loop
    assert ("slice", "out = out[:len(out)]") in lines
    assert ("slice", "out = out[1:(len(out)) - 1]") in lines
    assert ("slice", "out = out[1:]") in lines


def test_a_negated_not_is_left_to_the_not_removal():
    # `if not x` negated would be `if not (not x)`: the same program as removing the `not`.
    assert not [m for m in by_op(mutants_of(), "negate") if "not (not" in m.mutated_line]


def test_first_bindings_are_not_deleted_but_rebindings_are():
    deleted = [m.original_text for m in by_op(mutants_of(), "delete")]
    assert "out = []" not in deleted  # would only be a NameError
    assert "out = out[1:len(out)]" in deleted
    assert "LIMIT = 3" not in deleted


def test_qualnames_name_the_enclosing_function_or_module_assignment():
    ms = mutants_of()
    assert {m.qualname for m in ms} == {"LIMIT", "clip"}
    src = "class A:\n    def f(self, x):\n        return x + 1\n\n    def g(self):\n        def h():\n            return 2\n        return h\n"
    assert {m.qualname for m in mutants_of(src)} == {"A.f", "A.g", "A.g.h"}


def test_ids_are_stable_across_edits_elsewhere_and_distinct():
    ms = mutants_of()
    assert len({m.id for m in ms}) == len(ms)
    shifted = SOURCE.replace("LIMIT = 3\n", "LIMIT = 3\n\n# a new comment\nOTHER = 1\n")
    after = mutants_of(shifted)
    assert len(after) == len(ms) + 2  # OTHER = 1: 2 and 0 (deleting a first binding is no mutant)
    moved = {m.id: m for m in after}
    for m in ms:
        twin = moved[m.id]
        assert (twin.op, twin.mutated_line) == (m.op, m.mutated_line)
        assert twin.line == (m.line + 3 if m.qualname == "clip" else m.line)
    # The same edit in another file is another mutant.
    assert {m.id for m in mutants_of(path="pkg/other.py")}.isdisjoint({m.id for m in ms})


def test_repeated_identical_edits_get_distinct_ids():
    src = "def f(a):\n    a = a + 1\n    a = a + 1\n    return a\n"
    arith = by_op(mutants_of(src), "arith")
    assert len(arith) == 2 and arith[0].id != arith[1].id


def test_columns_count_characters_not_utf8_bytes():
    src = 'def f(x):\n    s = "\u00e9\u00e9"; return x < 1\n'
    (m,) = by_op(mutants_of(src), "compare")
    assert m.mutated_line == 's = "\u00e9\u00e9"; return x <= 1'


def test_multiline_statements_keep_following_lines_in_place():
    src = "def f(x):\n    if x:\n        x = g(\n            x,\n            1)\n    return x\n"
    deleted = [m for m in by_op(mutants_of(src), "delete") if m.original_text.startswith("x = g(")]
    (m,) = deleted
    assert m.apply(src).splitlines()[2:6] == ["        pass", "", "", "    return x"]
    assert (m.line, m.end_line) == (3, 5)


def test_coverage_lines_of_a_compound_statement_are_its_header():
    src = "def f(x):\n    for i in range(\n            x):\n        x -= i\n    return x\n"
    ms = mutants_of(src)
    (const,) = [m for m in ms if m.op == "const"] or [None]
    rng = [m for m in ms if m.op == "call"] + [m for m in ms if m.op == "negate"]
    assert rng == []
    loop = [m for m in by_op(ms, "delete") if m.original_text.startswith("for")][0]
    assert loop.covered_lines == (2, 5 - 1)
    aug = by_op(ms, "augassign")[0]
    assert aug.covered_lines == (4, 4)


def test_select_by_function_prefix_and_lines():
    ms = mutants_of("class A:\n    def f(self):\n        return 1\n\n\ndef g():\n    return 2\n")
    assert {m.qualname for m in mutate.select(ms, functions=["A"])} == {"A.f"}
    assert {m.qualname for m in mutate.select(ms, functions=["g"])} == {"g"}
    assert {m.line for m in mutate.select(ms, lines=[(7, 7)])} == {7}
    assert mutate.select(ms, functions=["A.f.x"]) == []


def test_parse_lines_accepts_ranges_and_refuses_nonsense():
    assert mutate.parse_lines("10-20, 33") == [(10, 20), (33, 33)]
    with pytest.raises(SystemExit, match="range 20-10 is empty"):
        mutate.parse_lines("20-10")
    with pytest.raises(SystemExit, match="expected ranges"):
        mutate.parse_lines("a-b")


def test_labels():
    assert mutate.parse_label("//modules/11_embeddings:embeddings") == ("modules/11_embeddings", "embeddings")
    assert mutate.parse_label("modules/11_embeddings/") == ("modules/11_embeddings", None)
    assert mutate.parse_label("//modules/11_embeddings/...") == ("modules/11_embeddings", None)


BUILD = '''load("//tools/build_defs:defs.bzl", "tinytorch_library", "tinytorch_test")

tinytorch_library(
    name = "core",
    srcs = ["tinytorch/text/core.py"],
    deps = ["@pypi//numpy"],
)

tinytorch_library(
    name = "extra",
    srcs = ["tinytorch/text/extra.py", "tinytorch/core/extra.py"],
    deps = [":core"],
)

tinytorch_test(
    name = "core_test",
    srcs = ["tests/test_core.py"],
    deps = [":core"],
)

tinytorch_test(
    name = "extra_test",
    srcs = ["tests/test_extra.py"],
    deps = ["//modules/07_x:extra"],
)
'''


@pytest.fixture
def workspace(tmp_path):
    package = tmp_path / "modules" / "07_x"
    (package / "tests").mkdir(parents=True)
    (package / "BUILD.bazel").write_text(BUILD)
    for name in ("test_core.py", "test_extra.py"):
        (package / "tests" / name).write_text("")
    return str(tmp_path)


def test_libraries_and_their_package_tests_come_from_the_build_file(workspace):
    assert mutate.libraries(workspace, "modules/07_x", "extra") == [
        ("//modules/07_x:extra", ["modules/07_x/tinytorch/text/extra.py", "modules/07_x/tinytorch/core/extra.py"])]
    assert [label for label, _ in mutate.libraries(workspace, "modules/07_x")] == [
        "//modules/07_x:core", "//modules/07_x:extra"]
    assert mutate.package_tests(workspace, "modules/07_x", "//modules/07_x:core") == ["modules/07_x/tests/test_core.py"]
    assert mutate.package_tests(workspace, "modules/07_x", "//modules/07_x:extra") == ["modules/07_x/tests/test_extra.py"]
    with pytest.raises(SystemExit, match=r"not a tinytorch_library; libraries there: \['core', 'extra'\]"):
        mutate.libraries(workspace, "modules/07_x", "nope")
    with pytest.raises(SystemExit, match="no BUILD.bazel"):
        mutate.libraries(workspace, "modules/08_y", None)


def test_test_globs_expand_sorted_and_an_empty_glob_is_an_error(workspace):
    assert mutate.expand_tests(workspace, ["modules/07_x/tests/test_*.py"]) == [
        "modules/07_x/tests/test_core.py", "modules/07_x/tests/test_extra.py"]
    with pytest.raises(SystemExit, match="matches no file"):
        mutate.expand_tests(workspace, ["modules/07_x/tests/nothing_*.py"])


def test_the_repository_config_names_existing_scopes():
    config = mutate.load_config(os.path.join(os.path.dirname(mutate.__file__), "targets.toml"))
    assert "embedding" in config["//modules/05_autograd:autograd"]["scopes"]
    assert config["//modules/10_tokenization:tokenization"]["tests"] == ["modules/10_tokenization/tests/test_*.py"]


def test_equivalents_file(tmp_path):
    path = tmp_path / "eq.txt"
    path.write_text("# comment\n\n0123456789  a.py:3  const  the bound is never reached\n")
    assert mutate.load_equivalents(str(path)) == {"0123456789": "the bound is never reached"}
    path.write_text("0123  a.py:3  const  too short an id\n")
    with pytest.raises(SystemExit, match="eq.txt:1: expected 'ID FILE:LINE OP REASON'"):
        mutate.load_equivalents(str(path))
    assert mutate.load_equivalents(str(tmp_path / "missing.txt")) == {}


def test_every_listed_equivalent_has_a_reason_and_a_well_formed_id():
    folder = os.path.join(os.path.dirname(mutate.__file__), "equivalent")
    for name in sorted(os.listdir(folder)):
        for reason in mutate.load_equivalents(os.path.join(folder, name)).values():
            assert len(reason.split()) >= 3, (name, reason)


def fake_mutant(path, line, status, end_line=None, covered=None):
    m = mutate.Mutant(path=path, line=line, end_line=end_line or line, col=0, op="const", qualname="f", start=0,
                      end=1, replacement="", original_text="1", source_line="x = 1", mutated_line="x = 2",
                      covered_lines=covered or (line, line))
    m.id, m.status = f"{line:010d}", status
    return m


def test_score_leaves_equivalents_out_and_counts_timeouts_as_killed():
    ms = [fake_mutant("a.py", 1, "killed"), fake_mutant("a.py", 2, "timeout"), fake_mutant("a.py", 3, "survived"),
          fake_mutant("a.py", 4, "equivalent"), fake_mutant("b.py", 1, "uncovered")]
    assert mutate.score(ms) == {"a.py": (2, 3), "b.py": (0, 1)}
    out = io.StringIO()
    results = mutate.report(ms, [("a.py", ""), ("b.py", "")], {"0000000004": "why", "9999999999": "gone"}, out=out)
    assert results["a.py"] == {"killed": 2, "total": 3, "equivalent": 1, "score": 66.7}
    text = out.getvalue()
    assert "survivors (2)" in text
    assert "0000000003  a.py:3  const  [f]  x = 2" in text
    assert "uncovered: " in text
    assert "stale, or outside --functions/--lines): 9999999999" in text


def test_tests_for_a_mutant_come_from_the_traced_lines():
    coverage = {mutate.TracePlugin.IMPORT: {("/w/a.py", 1)}, "t1": {("/w/a.py", 5)}, "t2": {("/w/a.py", 7)},
                "t3": set()}
    assert mutate.tests_for(fake_mutant("a.py", 5, ""), coverage, "/w/a.py") == ["t1"]
    assert mutate.tests_for(fake_mutant("a.py", 5, "", end_line=7), coverage, "/w/a.py") == ["t1", "t2"]
    # A mutant of an expression on a continuation line counts its statement's first line.
    assert mutate.tests_for(fake_mutant("a.py", 8, "", covered=(7, 8)), coverage, "/w/a.py") == ["t2"]
    assert mutate.tests_for(fake_mutant("a.py", 1, ""), coverage, "/w/a.py") == "all"
    assert mutate.tests_for(fake_mutant("a.py", 9, ""), coverage, "/w/a.py") == []


def test_timeouts_scale_with_the_chosen_tests():
    durations = {"t1": 1.0, "t2": 10.0}
    assert mutate.timeout_for(["t1"], durations, minimum=10.0) == 10.0
    assert mutate.timeout_for(["t2"], durations, minimum=10.0) == 25.0
    assert mutate.timeout_for("all", durations, minimum=10.0) == 27.0


@pytest.mark.parametrize("code, verdict", [(0, "survived"), (1, "killed"), (2, "killed"), (3, "error"), (5, "error")])
def test_exit_codes(code, verdict):
    assert mutate.classify(code << 8) == verdict


def test_a_child_killed_by_a_signal_counts_as_killed():
    assert mutate.classify(9) == "killed"  # raw wait status of SIGKILL


class _Item:
    def __init__(self, nodeid):
        self.nodeid = nodeid


class _Hook:
    def __init__(self):
        self.deselected = []

    def pytest_deselected(self, items):
        self.deselected += [i.nodeid for i in items]


class _Config:
    def __init__(self):
        self.hook = _Hook()


def test_select_plugin_keeps_the_chosen_tests_in_collection_order():
    items = [_Item(n) for n in ("a::1", "a::2", "b::1")]
    config = _Config()
    mutate.SelectPlugin(["b::1", "a::1"]).pytest_collection_modifyitems(None, config, items)
    assert [i.nodeid for i in items] == ["a::1", "b::1"]
    assert config.hook.deselected == ["a::2"]


def test_trace_plugin_attributes_lines_to_the_running_test():
    here = os.path.abspath(__file__)
    plugin = mutate.TracePlugin([here])

    def probe():
        return 1

    first_line = probe.__code__.co_firstlineno
    plugin.pytest_runtest_logstart("t::probe", None)
    plugin.start()
    try:
        probe()
    finally:
        plugin.stop()
    plugin.pytest_runtest_logfinish("t::probe", None)
    assert (here, first_line + 1) in plugin.lines["t::probe"]
    assert plugin.current == mutate.TracePlugin.IMPORT and plugin.order == ["t::probe"]
