#!/usr/bin/env bash
# Which tests does my change affect?  Prints their labels, one a line (docs/graph.md).
#
#   tools/graph/affected_tests.sh [BASE]           BASE defaults to main
#   tools/graph/affected_tests.sh --files PATH...  the same for these files (relative to the repo root)
#   ./bazelw test $(tools/graph/affected_tests.sh)
#
# Changed files = everything that differs from the merge base with BASE: commits on this branch,
# staged and unstaged edits, and untracked files (not ignored). Each file becomes a label:
#   modules/12_attention/tinytorch/core/attention.py -> //modules/12_attention:tinytorch/core/attention.py
#   pkg/BUILD.bazel                                  -> //pkg:all (every target of the package)
#   WORKSPACE, *.bzl, .bazelrc, bazelw, the lock     -> tests(//...): they can change any action
# Files no target owns (README.md, docs/) affect no test. Then
#   tests(rdeps(UNIVERSE, LABELS)), test_suites left out (see below)
# where UNIVERSE is //... without targets tagged manual, as for `bazel test //...` (the manual
# //benchmarks:kernels would otherwise make the query fetch @pypi_torch). One twist: for labels under modules/ the query uses --noimplicit_deps (as .bazelrc does for
# every query). Every test's import check has an implicit dep on //modules:index, which lists every
# module library, so with implicit deps a change to any module would "affect" every test. The
# index is built from labels and file names only, so a content change never reaches it; a BUILD
# change is covered by //pkg:all. Labels outside modules/ are queried with --implicit_deps:
# tools/importcheck, for one, reaches every test only through implicit attributes.
#
# BAZEL overrides the command (default ./bazelw), e.g. BAZEL="bazel --output_base=/tmp/ob".
set -euo pipefail

cd "$(dirname "$0")/../.."
read -r -a bazel <<<"${BAZEL:-./bazelw}"
universe='//... except attr(tags, "\bmanual\b", //...)'

query() {  # query [OPTIONS...] EXPR: labels, one a line; unresolvable files are skipped
  "${bazel[@]}" query --keep_going --noshow_progress --order_output=no "$@" 2>/dev/null || [ $? -eq 3 ]
}

if [ "${1:-}" = --files ]; then
  shift
  changed=("$@")
else
  merge_base=$(git merge-base "${1:-main}" HEAD)
  mapfile -t changed < <({ git diff --name-only "$merge_base"; git ls-files --others --exclude-standard; } | sort -u)
fi

modules=() others=()
for path in "${changed[@]}"; do
  case $path in
    WORKSPACE | *.bzl | .bazelrc | bazelw | requirements_lock.txt | third_party/*)
      echo "affected_tests: $path can change any action; every test is affected" >&2
      query "tests($universe)" | sort
      exit 0 ;;
    */BUILD | */BUILD.bazel) label="//${path%/*}:all" ;;
    BUILD | BUILD.bazel) label="//:all" ;;
    *) [ -e "$path" ] || continue; label=$path ;;   # deleted: its BUILD file changed too
  esac
  case $path in
    modules/*) modules+=("$label") ;;
    *) others+=("$label") ;;
  esac
done

{
  # test_suite targets are left out before tests() expands them: a suite that holds one affected
  # test would otherwise name all of its tests (//tests/audit:module11_integration holds 11's).
  if [ ${#modules[@]} -gt 0 ]; then
    query --noimplicit_deps "let r = rdeps($universe, set(${modules[*]})) in tests(\$r except kind(test_suite, \$r))"
  fi
  if [ ${#others[@]} -gt 0 ]; then
    query --implicit_deps "let r = rdeps($universe, set(${others[*]})) in tests(\$r except kind(test_suite, \$r))"
  fi
} | sort -u
