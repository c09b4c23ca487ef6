"""tools/coverage/lcov.py: parsing coverage.py's lcov, merging two tests' reports, genhtml's form."""

from tools.coverage import lcov

# What coverage.py 7.17 writes (branch=True) for a file run once with f(1).
TEST_A = """\
SF:modules/99_demo/tinytorch/core/demo.py
DA:1,1
DA:2,1
DA:3,1
DA:4,0
LF:4
LH:3
FN:1,4,f
FNDA:1,f
FN:6,7,C.g
FNDA:0,C.g
FNF:2
FNH:1
BRDA:2,0,jump to line 3,1
BRDA:2,0,jump to line 4,0
BRF:2
BRH:1
end_of_record
"""

# Another test of the same file, with f(-1) twice, and a second file.
TEST_B = """\
SF:modules/99_demo/tinytorch/core/demo.py
DA:1,1
DA:2,2
DA:3,0
DA:4,2
LF:4
LH:3
FN:1,4,f
FNDA:2,f
FN:6,7,C.g
FNDA:0,C.g
FNF:2
FNH:1
BRDA:2,0,jump to line 3,0
BRDA:2,0,jump to line 4,2
BRF:2
BRH:1
end_of_record
SF:modules/99_demo/tinytorch/core/other.py
DA:1,1
DA:2,-0
LF:2
LH:1
end_of_record
"""


def test_parse_reads_lines_functions_and_named_branches():
    record = lcov.parse(TEST_A)["modules/99_demo/tinytorch/core/demo.py"]
    assert record.lines == {1: 1, 2: 1, 3: 1, 4: 0}
    assert record.functions == {"f": [1, 4, 1], "C.g": [6, 7, 0]}
    assert record.branches == {(2, "0", "jump to line 3"): 1, (2, "0", "jump to line 4"): 0}
    assert (record.lines_hit, record.branches_hit) == (3, 1)


def test_merge_of_two_reports_sums_hits_per_file():
    merged = lcov.merge([TEST_A, TEST_B])
    assert sorted(merged) == ["modules/99_demo/tinytorch/core/demo.py", "modules/99_demo/tinytorch/core/other.py"]
    demo = merged["modules/99_demo/tinytorch/core/demo.py"]
    assert demo.lines == {1: 2, 2: 3, 3: 1, 4: 2}
    assert demo.functions == {"f": [1, 4, 3], "C.g": [6, 7, 0]}
    assert demo.branches == {(2, "0", "jump to line 3"): 1, (2, "0", "jump to line 4"): 2}
    assert (demo.lines_hit, demo.branches_hit) == (4, 2)  # each test ran half of the branch


def test_merged_report_is_one_record_per_file_with_recomputed_totals():
    text = lcov.render(lcov.merge([TEST_A, TEST_B]))
    assert text.count("SF:modules/99_demo/tinytorch/core/demo.py\n") == 1
    demo = text.split("end_of_record")[0]
    assert "LF:4\nLH:4\n" in demo and "BRF:2\nBRH:2\n" in demo and "FNF:2\nFNH:1\n" in demo
    assert "FN:1,4,f\n" in demo and "BRDA:2,0,jump to line 4,2\n" in demo  # coverage.py's own form kept
    assert lcov.parse(text)["modules/99_demo/tinytorch/core/demo.py"].lines == {1: 2, 2: 3, 3: 1, 4: 2}


def test_one_report_naming_a_file_twice_is_summed():
    assert lcov.parse(TEST_A + TEST_A)["modules/99_demo/tinytorch/core/demo.py"].lines == {1: 2, 2: 2, 3: 2, 4: 0}


def test_unreached_branch_dash_merges_with_counts():
    a = "SF:x.py\nDA:1,1\nBRDA:1,0,0,-\nBRDA:1,0,1,-\nend_of_record\n"
    b = "SF:x.py\nDA:1,1\nBRDA:1,0,0,3\nBRDA:1,0,1,-\nend_of_record\n"
    x = lcov.merge([a, b])["x.py"]
    assert x.branches == {(1, "0", "0"): 3, (1, "0", "1"): None}
    assert "BRDA:1,0,1,-\n" in lcov.render({"x.py": x})


def test_genhtml_form_drops_function_end_lines_and_numbers_branches():
    text = lcov.genhtml_form(TEST_A)
    assert "FN:1,f\n" in text and "FN:6,C.g\n" in text
    assert "FN:1,4,f" not in text
    assert "BRDA:2,0,0,1\nBRDA:2,0,1,0\n" in text  # named branches -> 0, 1 in their order
    assert "FNDA:1,f\n" in text and "FNF:2\nFNH:1\n" in text


def test_genhtml_form_is_stable_and_reads_back_the_same_hits():
    once = lcov.genhtml_form(TEST_A)
    assert lcov.genhtml_form(once) == once
    record = lcov.parse(once)["modules/99_demo/tinytorch/core/demo.py"]
    assert record.functions == {"f": [1, None, 1], "C.g": [6, None, 0]}
    assert (record.lines_hit, record.branches_hit) == (3, 1)


def test_empty_input_renders_nothing():
    assert lcov.render(lcov.merge(["", "TN:\n"])) == ""


def test_merge_command_writes_the_merged_file(tmp_path):
    (tmp_path / "a.dat").write_text(TEST_A)
    (tmp_path / "b.dat").write_text(TEST_B)
    out = tmp_path / "merged.dat"
    assert lcov.main(["merge", str(out), str(tmp_path / "a.dat"), str(tmp_path / "b.dat")]) == 0
    assert out.read_text() == lcov.render(lcov.merge([TEST_A, TEST_B]))
