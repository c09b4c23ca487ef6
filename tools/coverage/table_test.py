"""tools/coverage/table.py: per-module line and branch coverage from a combined lcov report."""

from tools.coverage import lcov, table

REPORT = """\
SF:modules/01_tensor/tinytorch/core/tensor.py
DA:1,1
DA:2,1
DA:3,0
BRDA:2,0,jump to line 3,0
BRDA:2,0,jump to line 4,5
end_of_record
SF:modules/01_tensor/tinytorch/core/parallel.py
DA:1,4
end_of_record
SF:modules/11_embeddings/tinytorch/text/embeddings.py
DA:1,1
DA:2,1
BRDA:1,0,jump to line 2,1
BRDA:1,0,exit the module,1
end_of_record
SF:tools/coverage/lcov.py
DA:1,0
end_of_record
"""


def test_module_of_a_path():
    assert table.module_of("modules/11_embeddings/tinytorch/text/embeddings.py") == "11_embeddings"
    assert table.module_of("tools/coverage/lcov.py") == "tools"
    assert table.module_of("setup.py") == "."


def test_rows_sum_files_lines_and_branches_per_module():
    rows = table.rows(lcov.parse(REPORT))
    assert rows == [
        ("01_tensor", 2, 3, 4, 1, 2),
        ("11_embeddings", 1, 2, 2, 2, 2),
        ("tools", 1, 0, 1, 0, 0),
        ("total", 4, 5, 7, 3, 4),
    ]


def test_percent_is_cut_not_rounded():
    assert table.percent(1, 3) == "33.3%"
    assert table.percent(2, 3) == "66.6%"
    assert table.percent(9999, 10000) == "99.9%"  # never 100% unless every line ran
    assert table.percent(5, 5) == "100%"
    assert table.percent(0, 5) == "0.0%"
    assert table.percent(0, 0) == "n/a"


def test_markdown_table():
    text = table.markdown(lcov.parse(REPORT))
    lines = text.splitlines()
    assert lines[0] == "| module | files | lines | line coverage | branches | branch coverage |"
    assert "| 01_tensor | 2 | 3 / 4 | 75.0% | 1 / 2 | 50.0% |" in lines
    assert "| 11_embeddings | 1 | 2 / 2 | 100% | 2 / 2 | 100% |" in lines
    assert "| tools | 1 | 0 / 1 | 0.0% | 0 / 0 | n/a |" in lines
    assert lines[-1] == "| **total** | 4 | 5 / 7 | 71.4% | 3 / 4 | 75.0% |"


def test_main_prints_the_table_and_refuses_an_empty_report(tmp_path, capsys):
    report = tmp_path / "report.dat"
    report.write_text(REPORT)
    assert table.main([str(report)]) == 0
    assert capsys.readouterr().out == table.markdown(lcov.parse(REPORT))
    report.write_text("")
    assert table.main([str(report)]) == 1
