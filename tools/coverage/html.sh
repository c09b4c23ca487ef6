#!/usr/bin/env bash
# HTML coverage report and per-module table from `bazel coverage --combined_report=lcov`:
#
#   ./bazelw coverage --combined_report=lcov //modules/... && tools/coverage/html.sh
#   tools/coverage/html.sh [REPORT [OUT]]   (defaults: bazel-out/_coverage/_coverage_report.dat, out/coverage)
#
# Writes OUT/lcov.info (the report in the form Debian's lcov 1.16 reads: tools/coverage/lcov.py),
# OUT/html/index.html (genhtml, with branches) and OUT/table.md (tools/coverage/table.py), and
# prints the table. Needs genhtml (Debian's lcov; ./bazelw installs it) and python3 (stdlib only).
set -euo pipefail
cd "$(dirname "$0")/../.."
report=${1:-bazel-out/_coverage/_coverage_report.dat}
out=${2:-out/coverage}
python=${TINYTORCH_PYTHON:-python3}

if [ ! -s "$report" ]; then
  echo "html.sh: $report is missing or empty. Run first: ./bazelw coverage --combined_report=lcov //modules/..." >&2
  exit 1
fi
command -v genhtml >/dev/null || { echo "html.sh: genhtml not found; apt-get install lcov" >&2; exit 1; }
mkdir -p "$out"
# -S: no site-packages, so ./tools is the only `tools` package on the path (-m puts the cwd first).
"$python" -S -m tools.coverage.lcov genhtml "$report" "$out/lcov.info"
rm -rf "$out/html"
genhtml --quiet --branch-coverage --title "tinytorch coverage" --output-directory "$out/html" "$out/lcov.info"
"$python" -S -m tools.coverage.table "$out/lcov.info" > "$out/table.md"
cat "$out/table.md"
echo "html.sh: $out/html/index.html"
