#!/usr/bin/env bash
# Build benchmark: how long `bazel test //...` takes cold, warm and after an edit, next to plain
# pytest over the same module test files. One run, one table:
#
#   benchmarks/build_bench.sh [--out DIR]      (default DIR: <workspace>/out/benchmarks)
#
#   1. cold         bazel test //...  in a fresh output base, disk and remote cache off
#                   (includes starting Bazel and the @pypi fetch: pip installs the lock)
#   2. warm         the same command again, nothing changed (every test "(cached)")
#   3. incremental  after an edit of modules/12_attention (a comment appended to attention.py)
#   4. pytest       python3 -m pytest over modules/*/tests/test_*.py, PYTHONPATH = every module root
#
# It works on a copy of the working tree in a temporary folder, so the edit in step 3 never
# touches your checkout, and removes the copy and its output base at the end. Writes build.md and
# build.json and prints their paths. Needs Bazel (./bazelw) and python3 with numpy and pytest.
set -euo pipefail

workspace=$(cd "$(dirname "$0")/.." && pwd)
out="$workspace/out/benchmarks"
if [ "${1:-}" = "--out" ]; then out=$2; fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

scratch=$(mktemp -d "${TMPDIR:-/tmp}/tinytorch-build-bench.XXXXXX")
copy="$scratch/src"
output_base="$scratch/output_base"
cleanup() {
  (cd "$copy" 2>/dev/null && ./bazelw --output_base="$output_base" shutdown >/dev/null 2>&1) || true
  chmod -R u+w "$scratch" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

echo "build_bench: copying the working tree to $copy" >&2
mkdir -p "$copy"
# Everything but Bazel's convenience symlinks, benchmark output and git metadata.
tar -C "$workspace" --exclude='./bazel-*' --exclude='./out' --exclude='./.git' -cf - . | tar -C "$copy" -xf -
cd "$copy"

# No disk or remote cache, whatever user.bazelrc says.
bazel_flags=(--disk_cache= --remote_cache= --noshow_progress --curses=no)
now() { date +%s%N; }  # nanoseconds
results=()

run_bazel_step() {  # run_bazel_step NAME: times `bazel test //...`, records executed/cached counts
  local name=$1 log="$scratch/$1.log" start end status=0
  echo "build_bench: $name: bazel test //..." >&2
  start=$(now)
  ./bazelw --output_base="$output_base" test "${bazel_flags[@]}" //... >"$log" 2>&1 || status=$?
  end=$(now)
  local executed total passed
  executed=$(sed -n 's/^Executed \([0-9]*\) out of \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  total=$(sed -n 's/^Executed \([0-9]*\) out of \([0-9]*\) test.*/\2/p' "$log" | tail -1)
  passed=$(grep -c ' PASSED in ' "$log" || true)
  if [ "$status" -ne 0 ]; then tail -30 "$log" >&2; fi
  results+=("$name|bazel test //...|$(( (end - start) / 1000000 ))|${executed:-?} run, $(( ${total:-0} - ${executed:-0} )) cached, $passed passed of ${total:-?}|$status")
}

run_bazel_step cold
run_bazel_step warm
# A real edit (Bazel compares file contents, so `touch` alone would change nothing).
printf '\n# build_bench: an edit, so Bazel re-checks and re-runs what depends on this file\n' \
  >>modules/12_attention/tinytorch/core/attention.py
run_bazel_step incremental

torch_fetched=no
if [ -d "$output_base/external/pypi_torch" ]; then torch_fetched=yes; fi

echo "build_bench: pytest over modules/*/tests/test_*.py" >&2
pythonpath=$(ls -d "$copy"/modules/*/ | tr '\n' ':')
test_files=(modules/*/tests/test_*.py)
start=$(now)
status=0
PYTHONPATH="$pythonpath" python3 -m pytest -q -p no:cacheprovider --import-mode=importlib "${test_files[@]}" \
  >"$scratch/pytest.log" 2>&1 || status=$?
end=$(now)
summary=$(tail -1 "$scratch/pytest.log")
if [ "$status" -ne 0 ]; then tail -30 "$scratch/pytest.log" >&2; fi
results+=("pytest|python3 -m pytest (${#test_files[@]} files)|$(( (end - start) / 1000000 ))|$summary|$status")

python3 - "$out" "$torch_fetched" "${#test_files[@]}" "${results[@]}" <<'EOF'
import json, os, sys

out, torch_fetched, n_files, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
records = []
for row in rows:
    step, command, seconds, tests, status = row.split("|")
    records.append({"step": step, "command": command, "seconds": round(int(seconds) / 1000, 2), "tests": tests, "exit_status": int(status)})
warm = next(r["seconds"] for r in records if r["step"] == "warm")
pytest = next(r["seconds"] for r in records if r["step"] == "pytest")
ratio = round(pytest / warm, 2)
lines = [
    "# Build benchmark: Bazel cold / warm / incremental vs plain pytest",
    "",
    f"Same run, one machine ({os.cpu_count()} CPUs). Bazel: fresh output base, disk and remote cache off. "
    f"pytest: {n_files} module test files in one process, PYTHONPATH = every module root. "
    f"@pypi_torch fetched by `bazel test //...`: {torch_fetched}.",
    "",
    "| step | command | wall s | tests | exit |",
    "|---|---|---|---|---|",
]
lines += [f"| {r['step']} | `{r['command']}` | {r['seconds']:.2f} | {r['tests']} | {r['exit_status']} |" for r in records]
lines += ["", f"pytest / warm Bazel re-run: **{ratio}** (above 1: the no-change Bazel run is faster)", ""]
text = "\n".join(lines)
with open(os.path.join(out, "build.md"), "w") as f:
    f.write(text)
with open(os.path.join(out, "build.json"), "w") as f:
    json.dump({"rows": records, "pytest_over_warm_bazel": ratio, "pypi_torch_fetched": torch_fetched == "yes"}, f, indent=1)
print(text)
print("build_bench: wrote " + os.path.join(out, "build.md"))
print("build_bench: wrote " + os.path.join(out, "build.json"))
EOF
