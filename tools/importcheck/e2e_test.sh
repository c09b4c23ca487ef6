#!/usr/bin/env bash
# End-to-end proof that layering and strict deps fail `bazel build`, run by .ci/run.
#
# Works in a scratch copy of the workspace with its own --output_base (the real tree and its
# Bazel server are untouched); the shared disk cache keeps unchanged actions cached.
#   (a) a test in 11 importing tinytorch.core.attention      -> build fails, "move this test" hint
#   (b) 12 added as a dep of an 11 target                     -> analysis fails on visibility
#   (c) the 01 dep removed from an 11 test importing Tensor   -> strict-deps failure + buildozer fix
#   (d) the unmodified tree                                   -> builds clean; a re-build runs no check
#   (e) an 11 test, then a library, with a dep they never import -> unused-dep failure + buildozer fix
#   (f) an 11 test calling pytest.importorskip("tinytorch.core.attention") -> fails like an import
#   (g) tools/ci/every_test_checked.sh passes on the tree, fails once a plain py_test is added
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
trap 'bazel --output_base="$scratch/ob" shutdown >/dev/null 2>&1; rm -rf "$scratch"' EXIT
ws="$scratch/ws"
mkdir -p "$ws"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null) | tar -C "$ws" -xf -

passed=0 failed=0
bazel_build() {  # bazel_build LOGFILE TARGETS...: runs `bazel build` in the scratch workspace
  local log=$1; shift
  (cd "$ws" && bazel --output_base="$scratch/ob" build --config=ci --curses=no "$@") >"$log" 2>&1
}
expect() {  # expect NAME CONDITION_EXIT_CODE LOG: records a verdict, shows the log on failure
  if [ "$2" -eq 0 ]; then
    echo "PASS $1"; passed=$((passed + 1))
  else
    echo "FAIL $1"; failed=$((failed + 1)); sed 's/^/    | /' "$3" | tail -40
  fi
}
has() { grep -qF -- "$2" "$1"; }

# (d) first: the clean tree builds, and a second build executes no import-check action.
count_checks() { grep -c '"mnemonic": "ImportCheck"' "$1" 2>/dev/null || true; }
bazel_build "$scratch/d1.log" //... --execution_log_json_file="$scratch/d1.exec.json"; d1=$?
bazel_build "$scratch/d2.log" //... --execution_log_json_file="$scratch/d2.exec.json"; d2=$?
checks_first=$(count_checks "$scratch/d1.exec.json")
checks_rerun=$(count_checks "$scratch/d2.exec.json")
[ "$d1" -eq 0 ] && [ "$d2" -eq 0 ] && [ "${checks_first:-0}" -gt 0 ] && [ "${checks_rerun:-0}" -eq 0 ]
expect "(d) unmodified tree builds clean (${checks_first:-0} import checks); a re-build runs ${checks_rerun:-0}" $? "$scratch/d1.log"

pkg="$ws/modules/11_embeddings"
cp "$pkg/BUILD.bazel" "$scratch/BUILD.orig"

# (a) a Module 11 test that imports Module 12.
cat > "$pkg/tests/test_e2e_forward.py" <<'PY'
from tinytorch.core.attention import MultiHeadAttention


def test_forward():
    assert MultiHeadAttention
PY
cat >> "$pkg/BUILD.bazel" <<'BZL'

tinytorch_test(
    name = "e2e_forward_test",
    srcs = ["tests/test_e2e_forward.py"],
    deps = [":embedding_core"],
)
BZL
bazel_build "$scratch/a.log" //modules/11_embeddings/...; a=$?
[ "$a" -ne 0 ] && has "$scratch/a.log" "[strict deps] //modules/11_embeddings:e2e_forward_test imports 1 module it does not declare:" \
  && has "$scratch/a.log" 'modules/11_embeddings/tests/test_e2e_forward.py:1: import of "tinytorch.core.attention (MultiHeadAttention)"' \
  && has "$scratch/a.log" "provided by: //modules/12_attention:attention" \
  && has "$scratch/a.log" "module 11 may not depend on module 12: move this test to modules/12_attention"
expect "(a) 11 test importing 12 fails the build with a move hint" $? "$scratch/a.log"
rm "$pkg/tests/test_e2e_forward.py"; cp "$scratch/BUILD.orig" "$pkg/BUILD.bazel"

# (b) Module 12 as a dependency of a Module 11 target.
cat >> "$pkg/BUILD.bazel" <<'BZL'

tinytorch_library(
    name = "e2e_forward_dep",
    srcs = ["tinytorch/text/e2e_forward_dep.py"],
    deps = ["//modules/12_attention:attention"],
)
BZL
echo "X = 1" > "$pkg/tinytorch/text/e2e_forward_dep.py"
bazel_build "$scratch/b.log" //modules/11_embeddings/...; b=$?
[ "$b" -ne 0 ] && has "$scratch/b.log" "target '//modules/12_attention:attention' is not visible from target '//modules/11_embeddings:e2e_forward_dep'"
expect "(b) 11 -> 12 dependency fails analysis on visibility" $? "$scratch/b.log"
rm "$pkg/tinytorch/text/e2e_forward_dep.py"; cp "$scratch/BUILD.orig" "$pkg/BUILD.bazel"

# (c) an 11 test that imports Tensor, first with the 01 dep (builds), then without it (fails).
cat > "$pkg/tests/test_e2e_strict.py" <<'PY'
from tinytorch.core.tensor import Tensor
from tinytorch.text.embedding_core import Embedding


def test_strict():
    assert Embedding(3, 2)(Tensor([[0, 2]])).shape == (1, 2, 2)
PY
cat >> "$pkg/BUILD.bazel" <<'BZL'

tinytorch_test(
    name = "e2e_strict_test",
    srcs = ["tests/test_e2e_strict.py"],
    deps = [
        ":embedding_core",
        "//modules/01_tensor:tensor",
    ],
)
BZL
bazel_build "$scratch/c1.log" //modules/11_embeddings:e2e_strict_test; c1=$?
sed -i '/e2e_strict_test/,$ {/"\/\/modules\/01_tensor:tensor",/d}' "$pkg/BUILD.bazel"
bazel_build "$scratch/c2.log" //modules/11_embeddings:e2e_strict_test; c2=$?
[ "$c1" -eq 0 ] && [ "$c2" -ne 0 ] \
  && has "$scratch/c2.log" 'modules/11_embeddings/tests/test_e2e_strict.py:1: import of "tinytorch.core.tensor (Tensor)"' \
  && has "$scratch/c2.log" "//modules/01_tensor:tensor is only a transitive dependency" \
  && has "$scratch/c2.log" "buildozer 'add deps //modules/01_tensor:tensor' //modules/11_embeddings:e2e_strict_test"
expect "(c) removing the 01 dep of an 11 test that imports Tensor fails strict deps" $? "$scratch/c2.log"

# (e) the test of (c) with a dep it never imports; then a library with one (outside modules/, so it
# needs no registration).
cp "$scratch/BUILD.orig" "$pkg/BUILD.bazel"
cat >> "$pkg/BUILD.bazel" <<'BZL'

tinytorch_test(
    name = "e2e_strict_test",
    srcs = ["tests/test_e2e_strict.py"],
    deps = [
        ":embedding_core",
        "//modules/01_tensor:tensor",
        "//modules/05_autograd:autograd",
    ],
)
BZL
bazel_build "$scratch/e1.log" //modules/11_embeddings:e2e_strict_test; e1=$?
[ "$e1" -ne 0 ] && has "$scratch/e1.log" "[strict deps] //modules/11_embeddings:e2e_strict_test declares 1 dep it does not import:" \
  && has "$scratch/e1.log" 'modules/11_embeddings/BUILD.bazel: dep "//modules/05_autograd:autograd" of //modules/11_embeddings:e2e_strict_test' \
  && has "$scratch/e1.log" "not allowed: no import of modules/11_embeddings/tests/test_e2e_strict.py needs it" \
  && has "$scratch/e1.log" "buildozer 'remove deps //modules/05_autograd:autograd' //modules/11_embeddings:e2e_strict_test"
expect "(e) a test with a dep it never imports fails strict deps with a remove fix" $? "$scratch/e1.log"
rm "$pkg/tests/test_e2e_strict.py"; cp "$scratch/BUILD.orig" "$pkg/BUILD.bazel"

cp "$ws/examples/BUILD.bazel" "$scratch/examples.BUILD.orig"
echo "import numpy" > "$ws/examples/e2e_unused.py"
cat >> "$ws/examples/BUILD.bazel" <<'BZL'

tinytorch_library(
    name = "e2e_unused",
    srcs = ["e2e_unused.py"],
    deps = ["//modules/01_tensor:tensor", "@pypi//numpy"],
)
BZL
bazel_build "$scratch/e2.log" //examples/...; e2=$?
[ "$e2" -ne 0 ] && has "$scratch/e2.log" "[strict deps] //examples:e2e_unused declares 1 dep it does not import:" \
  && has "$scratch/e2.log" "buildozer 'remove deps //modules/01_tensor:tensor' //examples:e2e_unused"
expect "(e) a library with a dep it never imports fails strict deps with a remove fix" $? "$scratch/e2.log"
rm "$ws/examples/e2e_unused.py"; cp "$scratch/examples.BUILD.orig" "$ws/examples/BUILD.bazel"

# (f) a dynamic import is checked like an import statement.
cat > "$pkg/tests/test_e2e_dynamic.py" <<'PY'
import pytest

attention = pytest.importorskip("tinytorch.core.attention")


def test_forward():
    assert attention.MultiHeadAttention
PY
cat >> "$pkg/BUILD.bazel" <<'BZL'

tinytorch_test(
    name = "e2e_dynamic_test",
    srcs = ["tests/test_e2e_dynamic.py"],
)
BZL
bazel_build "$scratch/f.log" //modules/11_embeddings:e2e_dynamic_test; f=$?
[ "$f" -ne 0 ] && has "$scratch/f.log" 'modules/11_embeddings/tests/test_e2e_dynamic.py:3: import of "tinytorch.core.attention"' \
  && has "$scratch/f.log" "module 11 may not depend on module 12: move this test to modules/12_attention"
expect "(f) pytest.importorskip of a later module fails like an import" $? "$scratch/f.log"
rm "$pkg/tests/test_e2e_dynamic.py"; cp "$scratch/BUILD.orig" "$pkg/BUILD.bazel"

# (g) a plain py_test skips the import check: tools/ci/every_test_checked.sh catches it.
every_test_checked() { (cd "$ws" && bash tools/ci/every_test_checked.sh --output_base="$scratch/ob") >"$1" 2>&1; }
every_test_checked "$scratch/g1.log"; g1=$?
echo "def test_nothing(): pass" > "$pkg/tests/test_e2e_plain.py"
cat >> "$pkg/BUILD.bazel" <<'BZL'

py_test(
    name = "e2e_plain_test",
    srcs = ["tests/test_e2e_plain.py"],
    main = "tests/test_e2e_plain.py",
)
BZL
every_test_checked "$scratch/g2.log"; g2=$?
cat "$scratch/g1.log" >>"$scratch/g2.log"
[ "$g1" -eq 0 ] && [ "$g2" -eq 1 ] && has "$scratch/g1.log" "every_test_checked: every py_test and py_binary runs its import check" \
  && has "$scratch/g2.log" "//modules/11_embeddings:e2e_plain_test: a py_test without //modules/11_embeddings:e2e_plain_test.import_check in its data" \
  && has "$scratch/g2.log" "fix: use tinytorch_test from //tools/build_defs:defs.bzl"
expect "(g) every_test_checked.sh passes on the tree and names a plain py_test" $? "$scratch/g2.log"
rm "$pkg/tests/test_e2e_plain.py"; cp "$scratch/BUILD.orig" "$pkg/BUILD.bazel"

echo "strict-deps e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
