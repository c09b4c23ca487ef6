#!/usr/bin/env bash
# Build benchmark: how long `bazel test //...` takes cold, warm, after an edit and in a second clone
# with the disk cache warm, next to plain pytest over the same test files. One run, one table:
#
#   benchmarks/build_bench.sh [--out DIR] [--src TREE]
#       DIR:  where build.md / build.json go (default <workspace>/out/benchmarks)
#       TREE: the source tree to measure (default this workspace; e.g. a clone of another commit,
#             to measure before and after a change with the same script)
#
#   1. cold         bazel test //...  in a fresh output base, remote cache off, an empty disk cache
#                   and an empty repository cache (no hit is possible; this run fills both for
#                   step 6). Includes starting Bazel and the @pypi fetch (every wheel downloaded).
#   2. warm         the same command again, nothing changed (every test "(cached)"), twice: right
#                   after cold and once more (the goal's figure)
#   3. incremental  after an edit of modules/12_attention (a comment appended to attention.py)
#   4. pytest-rerun python3 -m pytest over exactly the test files of the tests step 3 re-ran (each
#                   pytest row: the median of PYTEST_RUNS=3 runs)
#   5. pytest-all   python3 -m pytest over modules/*/tests/test_*.py, PYTHONPATH = every module root + @pypi
#   6. clone        a second copy at another path, a fresh output base (new server, new @pypi
#                   fetch), the disk and repository caches of step 1: what a second checkout or
#                   CI runner sees
# Ratios (the goals of issue 17): incremental / pytest-rerun <= 1.5, cold / pytest-all <= 6,
# clone / pytest-all <= 2, warm < 1 s. Bazel's --profile of steps 1, 3 and 6 is kept in DIR
# (`bazel analyze-profile DIR/incremental.profile`).
#
# It works on copies in a temporary folder, so the edit in step 3 never touches your checkout, and
# removes the copies and output bases at the end. Writes build.md and build.json and prints their
# paths. Needs Bazel (./bazelw) and python3 with numpy and pytest.
set -euo pipefail

workspace=$(cd "$(dirname "$0")/.." && pwd)
out="$workspace/out/benchmarks"
src=$workspace
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --src) src=$(cd "$2" && pwd); shift 2 ;;
    *) echo "usage: benchmarks/build_bench.sh [--out DIR] [--src TREE]" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)

scratch=$(mktemp -d "${TMPDIR:-/tmp}/tinytorch-build-bench.XXXXXX")
copy="$scratch/src"
output_base="$scratch/output_base"
clone="$scratch/elsewhere/clone"
clone_base="$scratch/elsewhere/output_base"
disk_cache="$scratch/disk_cache"
cleanup() {
  (cd "$copy" 2>/dev/null && ./bazelw --output_base="$output_base" shutdown >/dev/null 2>&1) || true
  (cd "$clone" 2>/dev/null && ./bazelw --output_base="$clone_base" shutdown >/dev/null 2>&1) || true
  chmod -R u+w "$scratch" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

copy_tree() {  # copy_tree DIR: everything but Bazel's convenience symlinks, benchmark output, git
  mkdir -p "$1"
  tar -C "$src" --exclude='./bazel-*' --exclude='./out' --exclude='./.git' -cf - . | tar -C "$1" -xf -
}
echo "build_bench: copying $src to $copy" >&2
copy_tree "$copy"
cd "$copy"

# No remote cache and only this run's disk and repository caches, whatever user.bazelrc says: the
# cold step downloads every @pypi wheel, the clone step finds them in the repository cache.
bazel_flags=(--disk_cache="$disk_cache" --repository_cache="$scratch/repository_cache" --remote_cache= --noshow_progress --curses=no)
now() { date +%s%N; }  # nanoseconds
results=()

run_bazel_step() {  # run_bazel_step NAME [OUTPUT_BASE]: times `bazel test //...` in the cwd
  local name=$1 base=${2:-$output_base} log="$scratch/$1.log" start end status=0 profile=()
  case $name in cold | incremental | clone) profile=(--profile="$out/$name.profile") ;; esac
  echo "build_bench: $name: bazel test //... ($PWD)" >&2
  start=$(now)
  ./bazelw --output_base="$base" test "${bazel_flags[@]}" "${profile[@]}" //... >"$log" 2>&1 || status=$?
  end=$(now)
  local executed total passed
  executed=$(sed -n 's/^Executed \([0-9]*\) out of \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  total=$(sed -n 's/^Executed \([0-9]*\) out of \([0-9]*\) test.*/\2/p' "$log" | tail -1)
  passed=$(grep -c ' PASSED in ' "$log" || true)
  if [ "$status" -ne 0 ]; then tail -30 "$log" >&2; fi
  results+=("$name|bazel test //...|$(( (end - start) / 1000000 ))|${executed:-?} run, $(( ${total:-0} - ${executed:-0} )) cached, $passed passed of ${total:-?}|$status")
}

run_bazel_step cold
# Right after the cold step Bazel is still deleting the cold step's sandboxes in the background
# (--experimental_sandbox_async_tree_delete_idle_threads): the first no-change run pays for that,
# the second is what an edit-free `bazel test //...` costs. Both are reported; the goal uses the second.
run_bazel_step warm
run_bazel_step warm-again
# A real edit (Bazel compares file contents, so `touch` alone would change nothing).
printf '\n# build_bench: an edit, so Bazel re-checks and re-runs what depends on this file\n' \
  >>modules/12_attention/tinytorch/core/attention.py
run_bazel_step incremental

torch_fetched=no
if [ -d "$output_base/external/pypi_torch" ]; then torch_fetched=yes; fi

# The tests step 3 re-ran (summary lines without "(cached)") and their test files.
rerun=$(grep -E '^//[^ ]+ +(PASSED|FAILED|FLAKY|TIMEOUT)' "$scratch/incremental.log" | awk '{print $1}' | sort)
rerun_files=()
if [ -n "$rerun" ]; then
  query="labels(srcs, set($(tr '\n' ' ' <<<"$rerun")))"
  while IFS= read -r label; do
    file=${label#//}; file=${file/://}
    case $file in */tests/test_*.py | */test_*.py) [ -f "$file" ] && rerun_files+=("$file") ;; esac
  done < <(./bazelw --output_base="$output_base" query --noshow_progress "$query" 2>/dev/null | sort -u)
fi

pythonpath=$(ls -d "$copy"/modules/*/ | tr '\n' ':')
# The same third-party packages as the Bazel tests (@pypi of the cold step: the lock's versions,
# matplotlib included), so both sides run the same code, whatever the host Python has installed.
site_dirs=$(ls -d "$output_base"/external/pypi/*/site 2>/dev/null | tr '\n' ':')
# One pytest run of the same files varied by 30% within minutes on this machine (8.8-12.1 s for
# pytest-all), more than a goal's margin: each pytest row is the median of PYTEST_RUNS runs, all listed.
PYTEST_RUNS=${PYTEST_RUNS:-3}
run_pytest() {  # run_pytest NAME FILES...: one pytest process over FILES, as a learner would run it
  local name=$1 start end status=0 run ms=() median runs; shift
  echo "build_bench: $name: pytest over $# files, $PYTEST_RUNS runs" >&2
  for ((run = 1; run <= PYTEST_RUNS; run++)); do
    start=$(now)
    PYTHONPATH="$pythonpath$copy:$site_dirs" python3 -m pytest -q -p no:cacheprovider --import-mode=importlib "$@" \
      >"$scratch/$name.log" 2>&1 || status=$?
    end=$(now)
    if [ "$status" -ne 0 ]; then tail -30 "$scratch/$name.log" >&2; break; fi
    ms+=($(( (end - start) / 1000000 )))
  done
  median=$(printf '%s\n' "${ms[@]:-0}" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
  runs=$(printf '%s\n' "${ms[@]:-0}" | awk '{printf "%s%.2f", (NR > 1 ? " / " : ""), $1 / 1000}')
  results+=("$name|python3 -m pytest ($# files)|$median|$(tail -1 "$scratch/$name.log"); median of $runs s|$status")
}
if [ ${#rerun_files[@]} -gt 0 ]; then run_pytest pytest-rerun "${rerun_files[@]}"; fi
test_files=(modules/*/tests/test_*.py)
run_pytest pytest-all "${test_files[@]}"

# A second checkout at another path: new server, new repository fetch, the caches of step 1.
echo "build_bench: copying $src to $clone" >&2
copy_tree "$clone"
cd "$clone"
run_bazel_step clone "$clone_base"

python3 - "$out" "$torch_fetched" "${#test_files[@]}" "$(tr '\n' ' ' <<<"$rerun")" "${results[@]}" <<'EOF'
import json, os, sys

out, torch_fetched, n_files, rerun, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(), sys.argv[5:]
records = []
for row in rows:
    step, command, seconds, tests, status = row.split("|")
    records.append({"step": step, "command": command, "seconds": round(int(seconds) / 1000, 2), "tests": tests, "exit_status": int(status)})
seconds = {r["step"]: r["seconds"] for r in records}

def ratio(a, b):
    return round(seconds[a] / seconds[b], 2) if a in seconds and seconds.get(b) else None

ratios = {
    "incremental / pytest-rerun": (ratio("incremental", "pytest-rerun"), 1.5),
    "cold / pytest-all": (ratio("cold", "pytest-all"), 6),
    "clone / pytest-all": (ratio("clone", "pytest-all"), 2),
    "warm (s)": (seconds.get("warm-again", seconds.get("warm")), 1),
}
lines = [
    "# Build benchmark: Bazel cold / warm / incremental / second clone vs plain pytest",
    "",
    f"Same run, one machine ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end). "
    "Bazel: fresh output base, remote cache off, a disk cache that starts empty in step cold "
    "(no hit possible) and serves step clone. "
    f"pytest: one process, PYTHONPATH = every module root and @pypi's packages; pytest-all = the {n_files} module test files, "
    f"pytest-rerun = the files of the {len(rerun)} tests the incremental step re-ran. "
    f"@pypi_torch fetched by `bazel test //...`: {torch_fetched}.",
    "",
    "| step | command | wall s | tests | exit |",
    "|---|---|---|---|---|",
]
lines += [f"| {r['step']} | `{r['command']}` | {r['seconds']:.2f} | {r['tests']} | {r['exit_status']} |" for r in records]
lines += ["", "| ratio | value | goal |", "|---|---|---|"]
lines += [f"| {name} | {value if value is not None else 'n/a'} | {'<' if name.startswith('warm') else '<='} {goal} |"
          for name, (value, goal) in ratios.items()]
lines += ["", "Re-run by the incremental step: " + (" ".join(rerun) or "(none)"), ""]
ratio = {name: value for name, (value, _) in ratios.items()}
text = "\n".join(lines)
with open(os.path.join(out, "build.md"), "w") as f:
    f.write(text)
with open(os.path.join(out, "build.json"), "w") as f:
    json.dump({"rows": records, "ratios": ratio, "rerun": rerun, "pypi_torch_fetched": torch_fetched == "yes"}, f, indent=1)
print(text)
print("build_bench: wrote " + os.path.join(out, "build.md"))
print("build_bench: wrote " + os.path.join(out, "build.json"))
EOF
