#!/usr/bin/env bash
# CI: `bazel coverage` works end to end. Runs module 11's tests under coverage with the combined
# report, then checks that the report exists and that every source file of module 11 is in it with
# lines hit, and that tools/coverage/html.sh renders it. Extra arguments go to `bazel coverage`
# (e.g. --config=ci).
set -euo pipefail
cd "$(dirname "$0")/../.."
report=bazel-out/_coverage/_coverage_report.dat

./bazelw coverage "$@" --combined_report=lcov //modules/11_embeddings/...
[ -s "$report" ] || { echo "coverage_proof: FAIL: no combined report $report" >&2; exit 1; }

fail=0
for src in $(find modules/11_embeddings/tinytorch -name '*.py' | LC_ALL=C sort); do
  hit=$(awk -v sf="SF:$src" '
    $0 == sf { on = 1; next }
    $0 == "end_of_record" { on = 0 }
    on && /^DA:/ { split(substr($0, 4), f, ","); if (f[2] > 0) n++ }
    END { print n + 0 }' "$report")
  if [ "$hit" -gt 0 ]; then
    echo "coverage_proof: $src: $hit lines hit"
  else
    echo "coverage_proof: FAIL: $src has no hit line in $report" >&2
    fail=1
  fi
done
tools/coverage/html.sh "$report" out/coverage/proof >/dev/null
[ -s out/coverage/proof/html/index.html ] || { echo "coverage_proof: FAIL: html.sh wrote no index.html" >&2; fail=1; }
[ "$fail" -eq 0 ] && echo "coverage_proof: ok (combined report, module 11 measured, HTML rendered)"
exit "$fail"
