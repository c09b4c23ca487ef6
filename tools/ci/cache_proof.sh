#!/usr/bin/env bash
# Proof that the HTTP cache (tools/cache/serve.sh) is shared across machines.
#
#   bash tools/ci/cache_proof.sh [--worktree] [--python-elsewhere]
#
# Two "machines": two fresh clones of HEAD at different absolute paths, each with its own Bazel
# output base (own server, own @python_interpreter and @pypi, fetched separately). Both run
#   bazel test --config=ci --config=remote-cache --remote_cache=http://127.0.0.1:PORT --disk_cache= //...
# against one nginx cache started for this run (--disk_cache= turns off the disk cache that
# --config=ci adds, so a hit can only come from the server). Clone A fills the cache. Clone B
# must then run nothing: every test "(cached)", "Executed 0 out of N", and a processes line with
# only "remote cache hit" and "internal". If B misses, the script compares the two execution
# logs and names the inputs whose digests differ (the usual cause: an absolute path in a file).
# --worktree: also copy uncommitted and untracked (not ignored) files into both clones.
# --python-elsewhere: machine B reaches the same interpreter through another path (a symlink,
#   as with pyenv under another $HOME), via --repo_env=TINYTORCH_PYTHON. This shows whether the
#   interpreter's *path* leaks into action keys.
# Cleans up on exit: stops nginx by its pid, shuts down both Bazel servers, deletes the temp dir.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
worktree=false python_elsewhere=false
for arg in "$@"; do
  case $arg in
    --worktree) worktree=true ;;
    --python-elsewhere) python_elsewhere=true ;;
    *) echo "usage: bash tools/ci/cache_proof.sh [--worktree] [--python-elsewhere]" >&2; exit 2 ;;
  esac
done

scratch=$(mktemp -d)
store=$scratch/cache
nginx_pid=
clones=()
cleanup() {
  "$root/tools/cache/serve.sh" stop "$store" >/dev/null 2>&1
  if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then kill "$nginx_pid"; fi
  for c in "${clones[@]}"; do
    (cd "$c/src" && ./bazelw --output_base="$c/ob" shutdown) >/dev/null 2>&1
  done
  chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=tools/ci/verdicts.sh
source "$root/tools/ci/verdicts.sh"

make_clone() {  # make_clone DIR: a fresh clone of HEAD at DIR/src (+ the worktree's edits)
  git clone -q "$root" "$1/src" || return 1
  if $worktree; then
    (cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null) |
      tar -C "$1/src" -xf -
  fi
  clones+=("$1")
}

run_tests() {  # run_tests DIR [FLAGS...]: bazel test //... in DIR/src, output base DIR/ob; log DIR/test.log
  local dir=$1; shift
  (cd "$dir/src" && ./bazelw --output_base="$dir/ob" test --config=ci --config=remote-cache \
     --remote_cache="http://127.0.0.1:$port" --disk_cache= --color=no --curses=no \
     --execution_log_json_file="$dir/exec.json" "$@" //...) >"$dir/test.log" 2>&1
}

# Numbers from Bazel's summary in a log.
processes_line() { grep -E '^INFO: [0-9]+ processes' "$1" | tail -1; }
count() { grep -cE "$2" "$1" || true; }                       # count LOG REGEX
tests_total() { count "$1" '^//[^ ]+ +(\(cached\) )?(PASSED|FAILED|FLAKY|TIMEOUT|NO STATUS)'; }
tests_cached() { count "$1" '^//[^ ]+ +\(cached\) PASSED'; }
executed() { sed -nE 's/^Executed ([0-9]+) out of ([0-9]+) tests?.*/\1 \2/p' "$1" | tail -1; }
# Spawns that ran on this machine: the processes line minus "remote cache hit" and "internal".
local_spawns() {
  processes_line "$1" | sed -E 's/^INFO: [0-9]+ processes(: )?//; s/\.$//' | tr ',' '\n' |
    grep -vE 'remote cache hit|internal|^ *$' | awk '{n += $1} END {print n + 0}'
}

# When machine B missed: which actions ran, and which of their inputs differ from machine A's.
explain_misses() {  # explain_misses EXEC_LOG_A EXEC_LOG_B
  python3 - "$1" "$2" <<'PY'
import json, sys

def spawns(path):
    text, dec, i, out = open(path).read(), json.JSONDecoder(), 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)

a = {tuple(s.get("listedOutputs", [])): s for s in spawns(sys.argv[1])}
misses = [s for s in spawns(sys.argv[2]) if not s.get("remoteCacheHit")]
print("    machine B ran %d action(s) itself, e.g.:" % len(misses))
culprits, unmatched, same, shown = {}, 0, 0, 0
for s in misses:
    other = a.get(tuple(s.get("listedOutputs", [])))
    if other is None:  # e.g. a target that only B's tree has
        unmatched += 1
        continue
    ina = {f["path"]: f.get("digest", {}).get("hash") for f in other.get("inputs", [])}
    inb = {f["path"]: f.get("digest", {}).get("hash") for f in s.get("inputs", [])}
    diff = sorted(p for p in set(ina) | set(inb) if ina.get(p) != inb.get(p))
    if other.get("commandArgs") != s.get("commandArgs"):
        diff.append("(the command line)")
    if other.get("environmentVariables") != s.get("environmentVariables"):
        diff.append("(the environment)")
    if not diff:
        same += 1
    for p in diff:
        culprits[p] = culprits.get(p, 0) + 1
    if diff and shown < 3:
        shown += 1
        print("    - %s [%s]: %d input(s) differ from A's" % (s.get("progressMessage", "?"), s.get("mnemonic", "?"), len(diff)))
if unmatched:
    print("    %d of them have no counterpart in A (the trees differ?)" % unmatched)
if same:
    print("    %d of them have A's exact inputs and command (A's result was not uploaded?)" % same)
if culprits:
    print("    inputs that differ from A's, by number of actions they sent to run:")
    for p, n in sorted(culprits.items(), key=lambda kv: (-kv[1], kv[0]))[:12]:
        print("      %4d  %s" % (n, p))
PY
}

echo "cache_proof: scratch dir $scratch"

# 1. An empty cache server on a free port.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$root/tools/cache/serve.sh" start "$store" "$scratch/cache-logs" "$port" >"$scratch/serve.log" 2>&1
serve_rc=$?
nginx_pid=$(cat "$store/.serve/nginx.pid" 2>/dev/null || true)
check "cache server on 127.0.0.1:$port (nginx pid ${nginx_pid:-none})" "$serve_rc" "$scratch/serve.log"
[ "$serve_rc" -eq 0 ] || { echo "cache_proof: $passed passed, $failed failed"; exit 1; }

# 2. Machine A fills the cache.
a=$scratch/machine-a
make_clone "$a" || { echo "cache_proof: git clone failed" >&2; exit 1; }
start=$SECONDS
run_tests "$a"; rc_a=$?
read -r exec_a total_a <<<"$(executed "$a/test.log")"
cas=$(find "$store/cas" -type f | wc -l) ac=$(find "$store/ac" -type f | wc -l)
echo "     A: $(processes_line "$a/test.log")"
[ "$rc_a" -eq 0 ] && [ "${total_a:-0}" -gt 0 ] && [ "$ac" -gt 0 ]; ok=$?
check "machine A ($a/src): bazel test //... passed, executed ${exec_a:-?} of ${total_a:-?} tests in $((SECONDS - start)) s; uploaded $ac action results, $cas blobs" $ok "$a/test.log"

# 3. Machine B: another path, another output base, the same cache.
b=$scratch/elsewhere/machine-b
mkdir -p "$scratch/elsewhere"
make_clone "$b" || { echo "cache_proof: git clone failed" >&2; exit 1; }
b_flags=()
if $python_elsewhere; then
  ln -s "$(cat "$a/ob/external/python_interpreter/interpreter_path.txt")" "$scratch/elsewhere/python3"
  b_flags=(--repo_env=TINYTORCH_PYTHON="$scratch/elsewhere/python3")
  echo "     B uses the interpreter through $scratch/elsewhere/python3"
fi
log_lines=$(wc -l <"$scratch/cache-logs/access.log")
start=$SECONDS
run_tests "$b" "${b_flags[@]}"; rc_b=$?
# Action-cache hits that nginx itself served to B: proof the hits did not come from a local cache.
served=$(tail -n +"$((log_lines + 1))" "$scratch/cache-logs/access.log" | grep -cE '"GET /ac/[0-9a-f]+ HTTP/[0-9.]+" 200 ' || true)
read -r exec_b total_b <<<"$(executed "$b/test.log")"
echo "     B: $(processes_line "$b/test.log")"
check "machine B ($b/src): bazel test //... passed in $((SECONDS - start)) s" "$rc_b" "$b/test.log"

cached=$(tests_cached "$b/test.log") listed=$(tests_total "$b/test.log")
[ "$listed" -gt 0 ] && [ "$cached" -eq "$listed" ] && [ "${total_b:-x}" = "${total_a:-y}" ] && [ "${exec_b:-x}" = 0 ]; ok=$?
check "machine B: every test (cached): $cached of $listed; Executed ${exec_b:-?} out of ${total_b:-?}" $ok "$b/test.log"

hits=$(processes_line "$b/test.log" | sed -nE 's/.* ([0-9]+) remote cache hit.*/\1/p')
ran=$(local_spawns "$b/test.log")
[ "${hits:-0}" -gt 0 ] && [ "$ran" -eq 0 ] && [ "$served" -ge "$hits" ]; ok=$?
what="the clone's path"; $python_elsewhere && what="the clone's or the interpreter's path"
check "machine B: $ran actions executed locally, ${hits:-0} remote cache hits, $served served by nginx (action keys do not depend on $what)" $ok
if [ $ok -ne 0 ] && [ -s "$b/exec.json" ]; then explain_misses "$a/exec.json" "$b/exec.json"; fi

# 4. The repositories that are not in git match byte for byte: no absolute path leaked into them.
#    (interpreter_path.txt names the interpreter by design; only the repository rules read it.)
hashes() {  # hashes DIR REPO: "sha256  ./path" of every file of external REPO in DIR's output base
  (cd "$1/ob/external/$2" && find . -type f ! -name interpreter_path.txt -exec sha256sum {} + | sort -k2)
}
repo_diff=$(for r in python_interpreter pypi; do
  diff <(hashes "$a" $r) <(hashes "$b" $r) | sed -nE "s|^[<>] [0-9a-f]+  \./|@$r//|p" | sort -u
done)
[ -z "$repo_diff" ]; ok=$?
check "@python_interpreter and @pypi are identical in both output bases ($(grep -c . <<<"$repo_diff") files differ)" $ok
[ -z "$repo_diff" ] || echo "$repo_diff" | head -20 | sed 's/^/    differs: /'

echo
echo "cache_proof: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
