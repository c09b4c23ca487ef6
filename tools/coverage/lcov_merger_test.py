"""The stand-in lcov_merger (third_party/remote_coverage_tools/lcov_merger.sh), run as Bazel's
collect_coverage.sh runs it: every *.dat the test wrote into --coverage_dir, into --output_file."""

import os
import subprocess

MERGER = os.path.join(os.environ["TEST_SRCDIR"], "remote_coverage_tools", "lcov_merger.sh")

A = "SF:modules/01_tensor/tinytorch/core/tensor.py\nDA:1,1\nend_of_record\n"
B = "SF:modules/11_embeddings/tinytorch/text/embeddings.py\nDA:1,0\nend_of_record\n"


def run(*args):
    return subprocess.run(["sh", MERGER, *args], capture_output=True, text=True)


def test_merges_two_dat_files_into_the_output(tmp_path):
    cov = tmp_path / "coverage"
    (cov / "sub").mkdir(parents=True)
    (cov / "pytest_runner.dat").write_text(A)
    (cov / "sub" / "other.dat").write_text(B)
    (cov / "ignored.profraw").write_text("not lcov")
    out = tmp_path / "testlogs" / "coverage.dat"
    out.parent.mkdir()
    result = run("--coverage_dir=%s" % cov, "--output_file=%s" % out, "--filter_sources=.*external/.+",
                 "--source_file_manifest=/nonexistent")
    assert result.returncode == 0, result.stderr
    assert out.read_text() == A + B  # sorted by path: pytest_runner.dat, sub/other.dat


def test_no_dat_file_gives_an_empty_report(tmp_path):
    out = tmp_path / "coverage.dat"
    assert run("--coverage_dir=%s" % tmp_path, "--output_file=%s" % out).returncode == 0
    assert out.read_text() == ""


def test_output_inside_the_coverage_dir_is_not_read_back(tmp_path):
    (tmp_path / "a.dat").write_text(A)
    out = tmp_path / "_coverage.dat"  # collect_coverage.sh's default COVERAGE_OUTPUT_FILE
    out.write_text(B)  # stale
    assert run("--coverage_dir=%s" % tmp_path, "--output_file=%s" % out).returncode == 0
    assert out.read_text() == A


def test_missing_flags_are_a_usage_error(tmp_path):
    result = run("--coverage_dir=%s" % tmp_path)
    assert result.returncode == 2 and "usage" in result.stderr
