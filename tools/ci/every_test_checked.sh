#!/usr/bin/env bash
# Every Python test of //... runs the strict import check; a plain py_test would skip it silently.
#
#   bash tools/ci/every_test_checked.sh [BAZEL_STARTUP_OPTION...]     e.g. --output_base=/tmp/ob
#
# tinytorch_test (//tools/build_defs:defs.bzl) puts NAME.import_check, the check of the test's own
# sources (and, through its runfiles, of every library below), in the data of py_test NAME, so the
# test cannot run before its imports pass. A py_test written by hand has no such target. One
# `bazel query` over //... minus manual targets (so the PyTorch benchmark's @pypi_torch is never
# fetched) lists the rules, and each is judged:
#   py_test    FAIL unless its data holds NAME.import_check, a check of all its srcs (the runner's aside)
#   py_binary  ok if its data holds an import check of a library with all its srcs (tinytorch_library
#              + data, or benchmark_binary); ok if those srcs are checked by a library without gating
#              the binary (the checker's own binary cannot depend on its check); else FAIL
#   sh_test    listed: no Python source, nothing to check
# Exit code 1 names the failing tests and the fix; 0 otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."

universe='//... except attr(tags, manual, //...)'
xml=$(mktemp)
trap 'rm -f "$xml" "$xml.log"' EXIT
if ! ./bazelw "$@" query --output=xml "kind(rule, $universe)" >"$xml" 2>"$xml.log"; then
  cat "$xml.log" >&2
  echo "every_test_checked: bazel query failed" >&2
  exit 2
fi

python3 - "$xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

RUNNER = "//tools/testing:pytest_runner.py"
CHECKS = {"_test_import_check", "library_import_check"}
FIX = 'use tinytorch_test from //tools/build_defs:defs.bzl (load("//tools/build_defs:defs.bzl", "tinytorch_test"))'

rules = {}
for r in ET.parse(sys.argv[1]).getroot().iter("rule"):
    attrs = {a.get("name"): [v.get("value") for v in a.iter("label")] for a in r if a.tag in ("list", "label")}
    rules[r.get("name")] = (r.get("class"), attrs)


def checked_srcs(check):
    """The source files an import-check rule checks (a test check's srcs, or its library's)."""
    kind, attrs = rules.get(check, ("", {}))
    if kind == "_test_import_check":
        return set(attrs.get("srcs", []))
    if kind in CHECKS:
        return set(rules.get(attrs["library"][0], ("", {}))[1].get("srcs", []))
    return set()


failed = []
by_kind = {"py_test": 0, "py_binary": 0, "sh_test": 0}
for name, (kind, attrs) in sorted(rules.items()):
    if kind not in by_kind:
        continue
    by_kind[kind] += 1
    srcs = set(attrs.get("srcs", [])) - {RUNNER}
    data = attrs.get("data", [])
    if kind == "py_test":
        own_check = name + ".import_check"
        if own_check not in data:
            failed.append("%s: a py_test without %s in its data, so its imports are never checked" % (name, own_check))
        elif not srcs <= checked_srcs(own_check):
            failed.append("%s: %s does not check %s" % (name, own_check, ", ".join(sorted(srcs - checked_srcs(own_check)))))
    elif kind == "py_binary":
        gating = [d for d in data if srcs <= checked_srcs(d)]
        elsewhere = [c for c in rules if srcs <= checked_srcs(c)]
        if gating:
            print("ok      %s (py_binary): checked by %s before it runs" % (name, gating[0]))
        elif elsewhere:
            print("ok      %s (py_binary): its srcs are checked by %s (not in its data)" % (name, elsewhere[0]))
        else:
            failed.append("%s (py_binary): its imports are never checked; build it from a tinytorch_library "
                          "and put LIB.import_check in its data (as //examples:tiny_lm does)" % name)
    else:
        print("ok      %s (sh_test): no Python sources to check" % name)

print("every_test_checked: %d py_test, %d py_binary, %d sh_test in //... (without manual targets)"
      % (by_kind["py_test"], by_kind["py_binary"], by_kind["sh_test"]))
if failed:
    print("every_test_checked: %d target(s) skip the strict import check:" % len(failed), file=sys.stderr)
    for line in failed:
        print("  " + line, file=sys.stderr)
    print("fix: %s" % FIX, file=sys.stderr)
    sys.exit(1)
print("every_test_checked: every py_test and py_binary runs its import check")
PY
