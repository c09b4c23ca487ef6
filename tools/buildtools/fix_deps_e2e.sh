#!/usr/bin/env bash
# End-to-end proof of `./bazelw run //tools:fix_deps -- PATTERN...` (tools/buildtools/fix_deps.py), for CI.
#
# Works in a scratch copy of the workspace with its own --output_base (the real tree and its Bazel
# server are untouched); --config=ci shares the disk cache, so unchanged actions stay cached.
#   (a) `bazel build --nobuild //...` fetches none of the npm tools (nor the buildifier snapshot)
#   (b) a library and a test of 11, each with a needed dep removed and an unused one added: --dry_run
#       prints the fixes and changes nothing; the fixer then applies them (the library first, the
#       test in the next round, once the library's check passes), the build passes, and the deps
#       are exactly the original ones
#   (c) an 11 test importing 12: the fixer applies the legitimate fix, REFUSES the layering one with
#       the move hint, never adds a dep on 12, and exits 1
#   (d) a dep of 11 on 12 (an analysis-time visibility error): refused with the move hint, exit 1
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
ob="$scratch/ob"
trap 'bazel --output_base="$ob" shutdown >/dev/null 2>&1; rm -rf "$scratch"' EXIT
ws="$scratch/ws"
mkdir -p "$ws"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null) | tar -C "$ws" -xf -

passed=0 failed=0
in_ws() { (cd "$ws" && "$@"); }
bazel_ws() { in_ws bazel --output_base="$ob" "$@"; }
fix_deps() {  # fix_deps LOGFILE ARG...: `bazel run //tools:fix_deps -- ARG...` in the scratch workspace
  local log=$1; shift
  bazel_ws run --config=ci --curses=no //tools:fix_deps -- --config=ci "$@" >"$log" 2>&1
}
expect() {  # expect NAME CONDITION_EXIT_CODE LOG: records a verdict, shows the log on failure
  if [ "$2" -eq 0 ]; then
    echo "PASS $1"; passed=$((passed + 1))
  else
    echo "FAIL $1"; failed=$((failed + 1)); sed 's/^/    | /' "$3" | tail -60
  fi
}
has() { grep -qF -- "$2" "$1"; }
deps_of() {  # deps_of TARGET: its deps, sorted, one per line (buildozer print)
  in_ws "$ob/external/bazel_buildozer/bin/buildozer" 'print deps' "$1" 2>/dev/null | tr -d '[]' | tr ' ' '\n' | sed '/^$/d' | sort
}

# (a) analysing every non-manual target fetches no npm tool.
bazel_ws build --config=ci --curses=no --nobuild //... >"$scratch/a.log" 2>&1; a=$?
fetched=$(ls -d "$ob"/external/bazel_buildozer "$ob"/external/bazel_buildifier "$ob"/external/bazel_ibazel \
  "$ob"/external/tinytorch_starlark_sources 2>/dev/null | xargs -r -n1 basename | tr '\n' ' ')
echo "fetched by //...: ${fetched:-none of the npm tools}" >>"$scratch/a.log"
[ "$a" -eq 0 ] && [ -z "$fetched" ]
expect "(a) bazel build //... (analysis) fetches none of buildozer, buildifier, ibazel" $? "$scratch/a.log"

pkg="$ws/modules/11_embeddings"
build="$pkg/BUILD.bazel"
cp "$build" "$scratch/BUILD.orig"
lib=//modules/11_embeddings:embeddings
test=//modules/11_embeddings:embeddings_api_test

# (b) break a library and a test: swap a needed dep for an unused one in each.
bazel_ws build --config=ci --curses=no //tools:buildozer >"$scratch/b0.log" 2>&1  # fetches buildozer
deps_of "$lib" >"$scratch/lib.orig"
deps_of "$test" >"$scratch/test.orig"
in_ws "$ob/external/bazel_buildozer/bin/buildozer" \
  'remove deps //modules/03_layers:layers' 'add deps //modules/04_losses:losses' "$lib" >>"$scratch/b0.log" 2>&1
in_ws "$ob/external/bazel_buildozer/bin/buildozer" \
  'remove deps //modules/01_tensor:tensor' 'add deps //modules/06_optimizers:optimizers' "$test" >>"$scratch/b0.log" 2>&1
cp "$build" "$scratch/BUILD.broken"
fix_deps "$scratch/b1.log" --dry_run //modules/11_embeddings/...; b1=$?
[ "$b1" -eq 1 ] && cmp -s "$build" "$scratch/BUILD.broken" \
  && has "$scratch/b1.log" "fix_deps: would apply 1 buildozer command(s) to 1 target(s):" \
  && has "$scratch/b1.log" "buildozer 'add deps //modules/03_layers:layers' 'remove deps //modules/04_losses:losses' $lib"
expect "(b) --dry_run prints the library's fix and changes nothing" $? "$scratch/b1.log"

fix_deps "$scratch/b2.log" //modules/11_embeddings/...; b2=$?
deps_of "$lib" >"$scratch/lib.fixed"
deps_of "$test" >"$scratch/test.fixed"
bazel_ws build --config=ci --curses=no //modules/11_embeddings/... >"$scratch/b3.log" 2>&1; b3=$?
cat "$scratch/b3.log" >>"$scratch/b2.log"
[ "$b2" -eq 0 ] && [ "$b3" -eq 0 ] \
  && has "$scratch/b2.log" "fix_deps: applied 2 buildozer command(s) to 2 target(s):" \
  && has "$scratch/b2.log" "buildozer 'add deps //modules/03_layers:layers' 'remove deps //modules/04_losses:losses' $lib" \
  && has "$scratch/b2.log" "buildozer 'add deps //modules/01_tensor:tensor' 'remove deps //modules/06_optimizers:optimizers' $test" \
  && has "$scratch/b2.log" "fix_deps: the build passes" \
  && cmp -s "$scratch/lib.orig" "$scratch/lib.fixed" && cmp -s "$scratch/test.orig" "$scratch/test.fixed"
expect "(b) the fixer restores both targets' deps in two rounds and the build passes" $? "$scratch/b2.log"
cp "$scratch/BUILD.orig" "$build"

# (c) an 11 test that imports 12 (and Tensor without declaring it).
cat >"$pkg/tests/test_e2e_forward.py" <<'PY'
from tinytorch.core.attention import MultiHeadAttention
from tinytorch.core.tensor import Tensor


def test_forward():
    assert MultiHeadAttention and Tensor
PY
cat >>"$build" <<'BZL'

tinytorch_test(
    name = "e2e_forward_test",
    srcs = ["tests/test_e2e_forward.py"],
    deps = [":embedding_core"],
)
BZL
fix_deps "$scratch/c.log" //modules/11_embeddings/...; c=$?
[ "$c" -eq 1 ] \
  && has "$scratch/c.log" "fix_deps: REFUSED 1 fix(es) that layering forbids" \
  && has "$scratch/c.log" "//modules/11_embeddings:e2e_forward_test: module 11 may not depend on module 12: move this test to modules/12_attention" \
  && has "$scratch/c.log" "buildozer 'add deps //modules/01_tensor:tensor' 'remove deps //modules/11_embeddings:embedding_core' //modules/11_embeddings:e2e_forward_test" \
  && ! grep -qF '"//modules/12_attention:' "$build"
expect "(c) an 11 test importing 12: the fix is refused with the move hint, no dep on 12 is added" $? "$scratch/c.log"
rm "$pkg/tests/test_e2e_forward.py"; cp "$scratch/BUILD.orig" "$build"

# (d) 12 as a dep of an 11 library: Bazel's visibility refuses it at analysis time.
echo "X = 1" >"$pkg/tinytorch/text/e2e_forward_dep.py"
cat >>"$build" <<'BZL'

tinytorch_library(
    name = "e2e_forward_dep",
    srcs = ["tinytorch/text/e2e_forward_dep.py"],
    deps = ["//modules/12_attention:attention"],
)
BZL
fix_deps "$scratch/d.log" //modules/11_embeddings/...; d=$?
[ "$d" -eq 1 ] \
  && has "$scratch/d.log" "//modules/11_embeddings:e2e_forward_dep: module 11 may not depend on module 12: remove //modules/12_attention:attention from deps of //modules/11_embeddings:e2e_forward_dep and move the code that needs it to modules/12_attention"
expect "(d) a dep of 11 on 12 (visibility error): refused with the move hint" $? "$scratch/d.log"
rm "$pkg/tinytorch/text/e2e_forward_dep.py"; cp "$scratch/BUILD.orig" "$build"

echo "fix_deps_e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
