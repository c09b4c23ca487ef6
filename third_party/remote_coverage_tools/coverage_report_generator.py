"""coverage_report_generator of `bazel coverage --combined_report=lcov`: Bazel runs it once, after
the tests, from the execution root:

    coverage_report_generator --reports_file=bazel-out/_coverage/lcov_files.tmp
                              --output_file=bazel-out/_coverage/_coverage_report.dat

The reports file lists every test's coverage.dat (and baseline_coverage.dat); the output is one
lcov record per source file with the hits of all tests summed (tools/coverage/lcov.py).
"""

import sys

from tools.coverage import lcov


def main(argv):
    flags = dict(arg[2:].split("=", 1) for arg in argv if arg.startswith("--") and "=" in arg)
    if "reports_file" not in flags or "output_file" not in flags:
        print("coverage_report_generator: usage: --reports_file=FILE --output_file=FILE", file=sys.stderr)
        return 2
    with open(flags["reports_file"], encoding="utf-8") as f:
        reports = [line.strip() for line in f if line.strip()]
    text = lcov.merge_files(reports)
    with open(flags["output_file"], "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
