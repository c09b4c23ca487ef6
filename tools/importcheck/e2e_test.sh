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
#   (h)-(n) issue 12's classes: layering on reach (re-exporting library, alias), a provides: tag,
#       mock.patch strings, names a dep does not own, conftest.py in data, a plain py_test, a utf-7
#       cookie, relative imports above the top, a filegroup dep, an alias named as written, visibility
#   (o)-(q) the run-time guard: path tricks and computed imports fail the test (also without a
#       sandbox), a plain py_test is refused, legitimate fallbacks / BOM / latin-1 pass
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

# --- Hardening (issue 12): each class of hole, in scratch packages built with --keep_going ---------
# One package per class whose BUILD must fail to load; the rest share //tests/e2e_bad, one target per
# case, so a single build reports every verdict.
bad="$ws/tests/e2e_bad"
mkdir -p "$bad"
py() { cat > "$bad/$1"; }
py test_reach.py <<'PY'
from tinytorch.text.embedding_core import Embedding


def test_reach():
    assert Embedding
PY
py reexport.py <<'PY'
from tinytorch.core.attention import MultiHeadAttention  # noqa: F401
PY
py test_poison.py <<'PY'
from tinytorch.core.attention import MultiHeadAttention


def test_poison():
    assert MultiHeadAttention
PY
py test_mock.py <<'PY'
from unittest import mock

from tinytorch.text.embedding_core import Embedding


@mock.patch("tinytorch.core.attention.MultiHeadAttention")
def test_mock(attention):
    assert Embedding and attention
PY
py test_not_owned.py <<'PY'
from tinytorch.text.embedding_core import Module


def test_not_owned():
    assert Module
PY
printf '# -*- coding: utf-7 -*-\n+AGYAcgBvAG0- tinytorch.core.attention +AGkAbQBwAG8AcgB0- MultiHeadAttention\n\n\ndef test_smuggled():\n    assert MultiHeadAttention\n' > "$bad/test_utf7.py"
py test_relative.py <<'PY'
from . import sibling


def test_relative():
    assert sibling
PY
py test_plain_bad.py <<'PY'
from tinytorch.core.attention import MultiHeadAttention


def test_plain():
    assert MultiHeadAttention
PY
py conftest.py <<'PY'
import tinytorch.core.attention  # noqa: F401
PY
py test_with_conftest.py <<'PY'
def test_nothing():
    assert True
PY
cat > "$bad/BUILD.bazel" <<'BZL'
load("//tools/build_defs:defs.bzl", "tinytorch_library", "tinytorch_test")

# class 1: a re-exporting library outside modules/ (public), and an alias, both pointing at 12
tinytorch_library(
    name = "reexport",
    srcs = ["reexport.py"],
    visibility = ["//visibility:public"],
    deps = ["//modules/12_attention:attention"],
)

alias(
    name = "attention_alias",
    actual = "//modules/12_attention:attention",
    visibility = ["//visibility:public"],
)

# class 2: a first-party provides: tag
py_library(
    name = "poison",
    tags = ["provides:tinytorch"],
    visibility = ["//visibility:public"],
)

tinytorch_test(
    name = "poison_test",
    srcs = ["test_poison.py"],
    deps = [":poison"],
)

# class 3: a mock.patch string target; a name the dep only imports
tinytorch_test(
    name = "mock_test",
    srcs = ["test_mock.py"],
    deps = ["//modules/11_embeddings:embedding_core"],
)

tinytorch_test(
    name = "not_owned_test",
    srcs = ["test_not_owned.py"],
    deps = ["//modules/11_embeddings:embedding_core"],
)

# class 4: a conftest.py in data; a plain py_test (manual, so only an explicit build reaches it)
tinytorch_test(
    name = "with_conftest_test",
    srcs = ["test_with_conftest.py"],
    data = ["conftest.py"],
)

py_test(
    name = "plain_bad_test",
    srcs = ["test_plain_bad.py"],
    main = "test_plain_bad.py",
    tags = ["manual"],
)

# class 5: an import smuggled in with a utf-7 coding cookie
tinytorch_test(
    name = "utf7_test",
    srcs = ["test_utf7.py"],
)

# class 8: a relative import above the top-level package; a filegroup in deps; an unused alias
tinytorch_test(
    name = "relative_test",
    srcs = ["test_relative.py"],
)

filegroup(
    name = "files",
    srcs = ["reexport.py"],
)

tinytorch_test(
    name = "filegroup_test",
    srcs = ["test_with_conftest.py"],
    deps = [":files"],
)

alias(
    name = "tensor_alias",
    actual = "//modules/01_tensor:tensor",
)

tinytorch_test(
    name = "unused_alias_test",
    srcs = ["test_with_conftest.py"],
    deps = [":tensor_alias"],
)
BZL
cat >> "$pkg/BUILD.bazel" <<'BZL'

tinytorch_test(
    name = "e2e_reach_test",
    srcs = ["tests/test_e2e_reach.py"],
    deps = [
        ":embedding_core",
        "//tests/e2e_bad:reexport",
    ],
)

tinytorch_test(
    name = "e2e_alias_test",
    srcs = ["tests/test_e2e_reach.py"],
    deps = [
        ":embedding_core",
        "//tests/e2e_bad:attention_alias",
    ],
)
BZL
cp "$bad/test_reach.py" "$pkg/tests/test_e2e_reach.py"
bazel_build "$scratch/h.log" --keep_going //tests/e2e_bad:all //tests/e2e_bad:plain_bad_test \
  //modules/11_embeddings:e2e_reach_test //modules/11_embeddings:e2e_alias_test; h=$?
log="$scratch/h.log"
case_of() {  # case_of NAME FACT...: every FACT is in the log of the --keep_going build
  local name=$1; shift
  local ok=0
  for fact in "$@"; do has "$log" "$fact" || { echo "    missing: $fact"; ok=1; }; done
  [ "$h" -ne 0 ]; expect "$name" $((ok || $?)) "$log"
}
case_of "(h) an 11 test reaching 12 through a re-exporting library elsewhere fails on layering" \
  "//modules/11_embeddings:e2e_reach_test reaches //modules/12_attention:attention" \
  "module 11 may not depend on module 12: move this test to modules/12_attention"
case_of "(h) ... and through an alias" \
  "//modules/11_embeddings:e2e_alias_test reaches //modules/12_attention:attention"
case_of "(i) a provides: tag on a first-party target makes nothing pass" \
  'tests/e2e_bad/test_poison.py:1: import of "tinytorch.core.attention (MultiHeadAttention)"'
case_of "(j) a mock.patch string target is an import" \
  'tests/e2e_bad/test_mock.py:6: import of "tinytorch.core.attention' "provided by: //modules/12_attention:attention"
case_of "(j) a from-import of a name the dep only re-imports is refused" \
  'tests/e2e_bad/test_not_owned.py:1: import of "tinytorch.text.embedding_core (Module)"' \
  "//modules/03_layers:layers"
case_of "(k) a conftest.py in data fails the build" "tests/e2e_bad/conftest.py" "never import-checked"
case_of "(k) a plain py_test is import-checked all the same" \
  "[strict deps] //tests/e2e_bad:plain_bad_test imports 1 module it does not declare:"
case_of "(l) a utf-7 coding cookie does not hide an import" \
  'tests/e2e_bad/test_utf7.py:2: import of "tinytorch.core.attention (MultiHeadAttention)"'
case_of "(m) a relative import above the top-level package is an error" \
  "tests/e2e_bad/test_relative.py:1:" "use an absolute import"
case_of "(m) a filegroup in deps gets one clear error" "//tests/e2e_bad:files is a filegroup"
case_of "(m) an unused alias is named as written, so buildozer matches BUILD" \
  "buildozer 'remove deps //tests/e2e_bad:tensor_alias' //tests/e2e_bad:unused_alias_test"
rm -rf "$bad" "$pkg/tests/test_e2e_reach.py"; cp "$scratch/BUILD.orig" "$pkg/BUILD.bazel"

# (n) the naive fix for (b): visibility on a module library is refused by the macro itself.
att="$ws/modules/12_attention/BUILD.bazel"
cp "$att" "$scratch/att.BUILD.orig"
sed -i '0,/name = "attention",/s//name = "attention",\n    visibility = ["\/\/visibility:public"],/' "$att"
bazel_build "$scratch/n.log" //modules/12_attention:attention; n=$?
[ "$n" -ne 0 ] && has "$scratch/n.log" "do not set \`visibility\` on a module library" \
  && has "$scratch/n.log" "move the test up to this module"
expect "(n) visibility on a module library is refused with the layering explanation" $? "$scratch/n.log"
cp "$scratch/att.BUILD.orig" "$att"

# (r) the other refusals of the macros and the aspect: `imports=` in a module folder, `main=` on a
# tinytorch_test, and a hand-made target named like a test's import check.
for p in e2e_imports e2e_main e2e_forged; do mkdir -p "$ws/modules/11_embeddings/$p"; done
echo "X = 1" > "$ws/modules/11_embeddings/e2e_imports/x.py"
cat > "$ws/modules/11_embeddings/e2e_imports/BUILD.bazel" <<'BZL'
load("//tools/build_defs:defs.bzl", "tinytorch_library")

tinytorch_library(
    name = "x",
    srcs = ["x.py"],
    imports = ["."],
)
BZL
echo "def test_x(): pass" > "$ws/modules/11_embeddings/e2e_main/test_x.py"
cat > "$ws/modules/11_embeddings/e2e_main/BUILD.bazel" <<'BZL'
load("//tools/build_defs:defs.bzl", "tinytorch_test")

tinytorch_test(
    name = "x_test",
    srcs = ["test_x.py"],
    main = "test_x.py",
)
BZL
echo "def test_x(): pass" > "$ws/modules/11_embeddings/e2e_forged/test_x.py"
echo "{}" > "$ws/modules/11_embeddings/e2e_forged/fake.json"
cat > "$ws/modules/11_embeddings/e2e_forged/BUILD.bazel" <<'BZL'
filegroup(
    name = "x_test.import_check",
    srcs = ["fake.json"],
)

py_test(
    name = "x_test",
    srcs = ["test_x.py"],
    data = [":x_test.import_check"],
    main = "test_x.py",
)
BZL
bazel_build "$scratch/r.log" --keep_going //modules/11_embeddings/e2e_imports:all \
  //modules/11_embeddings/e2e_main:all //modules/11_embeddings/e2e_forged:all; r=$?
[ "$r" -ne 0 ] && has "$scratch/r.log" "do not set \`imports\`" \
  && has "$scratch/r.log" "\`main\` is the pytest runner" \
  && has "$scratch/r.log" "is not an import check made by tinytorch_test"
expect "(r) imports= in a module, main= on a test and a forged NAME.import_check are refused" $? "$scratch/r.log"
rm -rf "$ws/modules/11_embeddings/e2e_imports" "$ws/modules/11_embeddings/e2e_main" "$ws/modules/11_embeddings/e2e_forged"

# (o) run time: what no static check can see fails the test, with the guard's message.
mkdir -p "$ws/tests/e2e_run"
cat > "$ws/tests/e2e_run/test_tricks.py" <<'PY'
import importlib
import importlib.util
import sys
from pathlib import Path

from tinytorch.text.embeddings import EmbeddingLayer


def test_path_trick():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "modules" / "12_attention"))
    name = "tinytorch.core." + "attention"
    assert importlib.import_module(name).MultiHeadAttention


def test_computed_import_of_a_transitive_module():
    assert importlib.import_module("tinytorch.core." + "tensor").Tensor and EmbeddingLayer


def test_spec_from_file_location():
    path = Path(__file__).resolve().parents[2] / "modules/12_attention/tinytorch/core/attention.py"
    spec = importlib.util.spec_from_file_location("attention12", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
PY
cat > "$ws/tests/e2e_run/test_ok.py" <<'PY'
import sys

try:
    import tomllib
except ImportError:
    import tomli as tomllib

if sys.version_info >= (3, 99):
    import distutils  # noqa: F401

import __main__  # noqa: F401


def test_fallbacks():
    assert tomllib.loads("a = 1") == {"a": 1}
PY
printf '\xef\xbb\xbfimport json\n\n\ndef test_bom():\n    assert json.loads("1") == 1\n' > "$ws/tests/e2e_run/test_bom.py"
printf '# -*- coding: latin-1 -*-\nimport json\n\n\ndef test_latin1():\n    assert json.loads("1") == 1 and "\xe9"\n' > "$ws/tests/e2e_run/test_latin1.py"
cat > "$ws/tests/e2e_run/test_plain.py" <<'PY'
def test_nothing():
    assert True
PY
cat > "$ws/tests/e2e_run/BUILD.bazel" <<'BZL'
load("//tools/build_defs:defs.bzl", "tinytorch_test")

tinytorch_test(
    name = "tricks_test",
    srcs = ["test_tricks.py"],
    deps = ["//modules/11_embeddings:embeddings"],
)

tinytorch_test(
    name = "ok_test",
    srcs = [
        "test_bom.py",
        "test_latin1.py",
        "test_ok.py",
    ],
)

py_test(
    name = "plain_test",
    srcs = ["test_plain.py"],
    main = "test_plain.py",
)
BZL
(cd "$ws" && bazel --output_base="$scratch/ob" test --config=ci --curses=no --keep_going //tests/e2e_run:all) >"$scratch/o.log" 2>&1
tricks="$ws/bazel-testlogs/tests/e2e_run/tricks_test/test.log"
plain="$ws/bazel-testlogs/tests/e2e_run/plain_test/test.log"
cat "$tricks" "$plain" >>"$scratch/o.log" 2>/dev/null
has "$scratch/o.log" "//tests/e2e_run:tricks_test" && grep -q "FAILED" "$scratch/o.log" \
  && has "$tricks" "3 refusal(s)" \
  && has "$tricks" 'load of "modules/12_attention/tinytorch/core/' \
  && has "$tricks" 'import of "tinytorch.core.tensor"' \
  && has "$tricks" 'add "//modules/01_tensor:tensor" to deps of //tests/e2e_run:tricks_test'
expect "(o) path tricks, spec_from_file_location and computed imports fail the test at run time" $? "$scratch/o.log"
has "$plain" "//tests/e2e_run:plain_test has no import manifest" && has "$plain" "use tinytorch_test"
expect "(o) a plain py_test is refused at run time" $? "$scratch/o.log"
grep -q "//tests/e2e_run:ok_test .*PASSED" "$scratch/o.log"
expect "(p) fallback and version-guarded imports, __main__, a BOM and a latin-1 cookie build and pass" $? "$scratch/o.log"
# (q) the guard does not rest on linux-sandbox: the same refusals without any sandbox.
(cd "$ws" && bazel --output_base="$scratch/ob" test --config=ci --curses=no --strategy=TestRunner=processwrapper-sandbox \
  //tests/e2e_run:tricks_test) >"$scratch/q.log" 2>&1
cat "$tricks" >>"$scratch/q.log" 2>/dev/null
grep -q "processwrapper-sandbox" "$scratch/q.log" && has "$tricks" "3 refusal(s)" \
  && has "$tricks" 'import of "tinytorch.core.tensor"'
expect "(q) under processwrapper-sandbox the run-time guard refuses the same tricks" $? "$scratch/q.log"
rm -rf "$ws/tests/e2e_run"

echo "strict-deps e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
