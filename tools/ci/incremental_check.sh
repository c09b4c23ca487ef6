#!/usr/bin/env bash
# Incremental correctness: after an edit, `bazel test //modules/...` re-runs exactly the tests
# that depend on the edited file, no more and no fewer.
#
#   bash tools/ci/incremental_check.sh [--worktree]
#
# In a scratch clone of HEAD with its own --output_base, and with no disk or remote cache (so a
# test is either re-run or kept by Bazel's own incremental state, never served from a cache):
#   (0) warm up: bazel test //modules/... runs every test
#   (1) no edit: the next run executes 0 tests
#   (2) a comment appended to a source of //modules/12_attention:attention: Bazel re-runs exactly
#         bazel query --noimplicit_deps 'tests(rdeps(//modules/..., //modules/12_attention:attention))'
#   (3) then the same in //modules/01_tensor:tensor: exactly the tests that depend on 01
# "Exactly" compares the set of tests Bazel ran (summary lines without "(cached)") with the
# query's set, and `Executed N out of M` with its size. Steps 2 and 3 also check that
# tools/graph/affected_tests.sh (the recipe in docs/graph.md) names the same tests.
# Why tests(...) and --noimplicit_deps: see docs/graph.md ("Which tests does a change affect?").
# --worktree: also copy uncommitted and untracked (not ignored) files into the clone.
# Cleans up on exit: shuts down the scratch Bazel server and deletes the temp dir.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
worktree=false
case ${1:-} in
  --worktree) worktree=true ;;
  "") ;;
  *) echo "usage: bash tools/ci/incremental_check.sh [--worktree]" >&2; exit 2 ;;
esac

scratch=$(mktemp -d)
ws=$scratch/src
ob=$scratch/ob
cleanup() {
  if [ -d "$ws" ]; then (cd "$ws" && ./bazelw --output_base="$ob" shutdown) >/dev/null 2>&1; fi
  chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=tools/ci/verdicts.sh
source "$root/tools/ci/verdicts.sh"

bazel() { (cd "$ws" && ./bazelw --output_base="$ob" "$@"); }
query() { bazel query --noshow_progress "$@" 2>/dev/null | sort; }
run_tests() {  # run_tests LOG: bazel test //modules/..., no caches
  bazel test --disk_cache= --remote_cache= --color=no --curses=no //modules/... >"$1" 2>&1
}
ran() { grep -E '^//[^ ]+ +(PASSED|FAILED|FLAKY|TIMEOUT)' "$1" | awk '{print $1}' | sort; }
executed() { sed -nE 's/^Executed ([0-9]+) out of ([0-9]+) tests?.*/\1 \2/p' "$1" | tail -1; }
append_comment() {  # append_comment LIBRARY: edits the first source of LIBRARY; prints its path
  local src
  src=$(query "labels(srcs, $1)" | head -1)
  src=${src#//}; src=${src/://}
  echo "# incremental_check: an edit that changes no behaviour" >>"$ws/$src"
  echo "$src"
}

# step NAME LIBRARY: edits LIBRARY, re-runs the tests, compares with the query's prediction.
step() {
  local name=$1 lib=$2 log=$scratch/$1.log src expected actual n m predicted
  src=$(append_comment "$lib")
  expected=$(query --noimplicit_deps "tests(rdeps(//modules/..., $lib))")
  run_tests "$log"; local rc=$?
  actual=$(ran "$log")
  read -r n m <<<"$(executed "$log")"
  [ "$rc" -eq 0 ] && [ "$actual" = "$expected" ] && [ "${n:-x}" = "$(grep -c . <<<"$expected")" ]; ok=$?
  check "$name: edited $src; Bazel re-ran ${n:-?} of ${m:-?} tests, query predicted $(grep -c . <<<"$expected")" $ok "$log"
  if [ "$actual" != "$expected" ]; then
    diff <(echo "$expected") <(echo "$actual") | sed 's/^</    predicted only:/; s/^>/    re-ran only:/' | grep only
  fi
  # The docs' recipe, from changed files: `git diff` against HEAD when the clone was clean (step 3
  # then sees both edits; 12's tests depend on 01 anyway), else just the file edited now.
  if $worktree; then
    predicted=$(cd "$ws" && BAZEL="./bazelw --output_base=$ob" tools/graph/affected_tests.sh --files "$src")
  else
    predicted=$(cd "$ws" && BAZEL="./bazelw --output_base=$ob" tools/graph/affected_tests.sh HEAD)
  fi
  predicted=$(grep '^//modules/' <<<"$predicted")
  [ "$predicted" = "$expected" ]; ok=$?
  check "$name: tools/graph/affected_tests.sh names the same $(grep -c . <<<"$predicted") tests under //modules/" $ok
}

echo "incremental_check: scratch dir $scratch"
git clone -q "$root" "$ws" || { echo "incremental_check: git clone failed" >&2; exit 1; }
if $worktree; then
  (cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null) |
    tar -C "$ws" -xf -
fi

start=$SECONDS
run_tests "$scratch/warm.log"; rc=$?
read -r n m <<<"$(executed "$scratch/warm.log")"
[ "$rc" -eq 0 ] && [ "${m:-0}" -gt 0 ] && [ "$n" = "$m" ]; ok=$?
check "warm-up: bazel test //modules/... ran ${n:-?} of ${m:-?} tests in $((SECONDS - start)) s" $ok "$scratch/warm.log"

run_tests "$scratch/again.log"; rc=$?
read -r n m <<<"$(executed "$scratch/again.log")"
[ "$rc" -eq 0 ] && [ "$n" = 0 ]; ok=$?
check "no edit: the next run executed ${n:-?} of ${m:-?} tests" $ok "$scratch/again.log"

step "12_attention" //modules/12_attention:attention
step "01_tensor" //modules/01_tensor:tensor

echo
echo "incremental_check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
