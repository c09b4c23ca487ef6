#!/bin/sh
# lcov_merger of `bazel coverage`: Bazel's collect_coverage.sh runs it inside the test action, after
# the test, from the execution root and without runfiles:
#   lcov_merger --coverage_dir=DIR --output_file=FILE [--filter_sources=RE ...] [--source_file_manifest=F]
# It concatenates the lcov files (*.dat) the test wrote into DIR (tools/testing/pytest_runner.py
# writes one, already limited to the manifest's files) into FILE, the test's coverage.dat. The
# merge across tests (one record per file, hits summed) is coverage_report_generator's job.
set -eu
dir= out=
for arg in "$@"; do
  case $arg in
    --coverage_dir=*) dir=${arg#*=} ;;
    --output_file=*) out=${arg#*=} ;;
  esac
done
if [ -z "$dir" ] || [ -z "$out" ]; then
  echo "lcov_merger: usage: lcov_merger --coverage_dir=DIR --output_file=FILE" >&2
  exit 2
fi
tmp=$out.tmp.$$
find "$dir" -type f -name '*.dat' | LC_ALL=C sort | while IFS= read -r f; do
  [ "$f" = "$out" ] || cat "$f"
done > "$tmp"
mv -f "$tmp" "$out"
