#!/usr/bin/env bash
# Proof that `bazel test --config=buildgrid //...` runs every test on BuildGrid workers.
#
#   bash tools/ci/remote_execution_proof.sh [--overlay PATH]...
#
# In a fresh clone of HEAD (with --overlay, PATH files of the worktree copied over it), with its own
# output bases under a temp dir:
#   1. tools/remote/serve.sh start: PostgreSQL, BuildGrid and 2 workers on loopback;
#   2. the workers' sandbox hides the source tree and host homes (one command run through it);
#   3. a local, uncached `bazel test //...` with the same interpreter: wall time and JUnit cases;
#   4. `bazel test --config=buildgrid --noremote_accept_cached //...`: passes, the processes line has
#      only `remote` and `internal` spawns, every TestRunner spawn of the execution log ran remotely,
#      and the JUnit case count equals the local one;
#   5. fault: SIGKILL worker 1 while it runs an action; the build still completes (BuildGrid retries
#      the lease on worker 2 once worker 1's session expires);
#   6. fault: stop the server; Bazel fails with an error naming the executor; with
#      --remote_local_fallback, 4.2.3 warns and runs the action locally instead;
#   7. everything stopped by PID (serve.sh stop, bazel shutdown), temp dir removed.
# Prints one line per check and "remote_execution_proof: N passed, N failed".
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
overlays=()
while [ $# -gt 0 ]; do
  case $1 in
    --overlay) overlays+=("${2:?}"); shift 2 ;;
    *) echo "usage: bash tools/ci/remote_execution_proof.sh [--overlay PATH]..." >&2; exit 2 ;;
  esac
done

# shellcheck source=tools/ci/verdicts.sh
source "$root/tools/ci/verdicts.sh"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/remote_proof.XXXXXX")
chmod 0755 "$scratch"  # PostgreSQL runs as its own user and must reach its data dir inside
src=$scratch/src engine=$scratch/engine
# BuildGrid's venv outlives the run (it takes a minute or two to install); serve.sh reinstalls it
# when tools/remote/requirements_lock.txt changes.
venv_keep=${TINYTORCH_REMOTE_VENV_CACHE:-${HOME:-/root}/.cache/tinytorch/buildgrid-venv}
cleanup() {
  if [ -x "$src/tools/remote/serve.sh" ]; then "$src/tools/remote/serve.sh" stop "$engine" >/dev/null 2>&1; fi
  for ob in "$scratch"/ob-*; do
    [ -d "$ob" ] && (cd "$src" && ./bazelw --output_base="$ob" shutdown) >/dev/null 2>&1
  done
  chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

processes_line() { grep -E '^INFO: [0-9]+ processes' "$1" | tail -1; }
cases() { python3 "$src/tools/ci/summarize_tests.py" "$1"; }  # "tests: N passed, N failed"
testlogs=execroot/tinytorch_workspace/bazel-out/k8-fastbuild/testlogs

echo "remote_execution_proof: scratch dir $scratch"
git clone -q "$root" "$src" || { echo "git clone failed" >&2; exit 1; }
for p in "${overlays[@]}"; do (cd "$root" && tar -cf - "$p") | tar -C "$src" -xf -; done
# --config=buildgrid builds @pypi with Debian's /usr/bin/python3: ./bazelw installs its pip if missing.
(cd "$src" && TINYTORCH_PYTHON=/usr/bin/python3 ./bazelw --version) >/dev/null ||
  { echo "remote_execution_proof: ./bazelw could not set up /usr/bin/python3 (python3-pip)" >&2; exit 1; }

# 1. The engine.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$engine"
start=$SECONDS
"$src/tools/remote/serve.sh" start "$engine" --workers 2 --port "$port" --venv "$venv_keep" >"$scratch/serve.log" 2>&1
rc=$?
sed 's/^/     /' "$scratch/serve.log"
check "engine started on 127.0.0.1:$port with 2 workers in $((SECONDS - start)) s" $rc "$engine/logs/bgd.log"
[ $rc -eq 0 ] || { echo "remote_execution_proof: $passed passed, $failed failed"; exit 1; }
# --symlink_prefix=/: no bazel-* links in the clone. A link made by one output base is not skipped by
# another output base's `//...`, which then loads packages under bazel-src/external.
remote=(--config=buildgrid "--remote_executor=grpc://127.0.0.1:$port" --color=no --curses=no --symlink_prefix=/)

# 2. The sandbox: what an action sees of the host.
probe=$("$venv_keep/bin/python" -s - "$src" <<'PY'
import os, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(sys.argv[1], "tools/remote/worker"))
import worker_core
d = tempfile.mkdtemp()
argv = worker_core.sandbox_argv(["/bin/sh", "-c", 'id -u; pwd; ls -A "$1" | wc -l; ls -A /root | wc -l; ls /tmp; '
                                 'ps -e --no-headers | wc -l', "sh", sys.argv[1]], d, "", 65534,
                                list(worker_core.DEFAULT_HIDDEN) + [sys.argv[1]])
print(subprocess.run(argv, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True).stdout.split())
PY
)
echo "     sandbox sees: uid, cwd, entries in the clone, in /root, /tmp, processes = $probe"
[ "$probe" = "['65534', '/tmp/execroot', '0', '0', 'execroot', '3']" ]; ok=$?
check "worker sandbox: runs as nobody in /tmp/execroot, the source tree and /root empty, own PID namespace" $ok

# 3. Local reference run, uncached and with the remote runs' interpreter: the same work, here.
start=$SECONDS
(cd "$src" && ./bazelw --output_base="$scratch/ob-local" test --config=ci --disk_cache= \
   --repo_env=TINYTORCH_PYTHON=/usr/bin/python3 --color=no --curses=no --symlink_prefix=/ //...) >"$scratch/local.log" 2>&1
rc=$?
local_time=$((SECONDS - start))
local_cases=$(cases "$scratch/ob-local/$testlogs")
echo "     local: $(processes_line "$scratch/local.log"); $local_cases"
check "local bazel test //... passed in $local_time s ($local_cases)" $rc "$scratch/local.log"

# 4. Everything remote.
start=$SECONDS
(cd "$src" && ./bazelw --output_base="$scratch/ob-remote" test "${remote[@]}" --noremote_accept_cached \
   --execution_log_json_file="$scratch/exec.json" //...) >"$scratch/remote.log" 2>&1
rc=$?
remote_time=$((SECONDS - start))
line=$(processes_line "$scratch/remote.log")
remote_cases=$(cases "$scratch/ob-remote/$testlogs")
echo "     remote: $line"
grep -E '^Executed|^INFO: Elapsed' "$scratch/remote.log" | sed 's/^/     /'
echo "     remote: $remote_cases"
for i in 1 2; do echo "     worker $i ran $(grep -c ': exit ' "$engine/logs/worker-$i.log") actions"; done
check "remote bazel test --config=buildgrid --noremote_accept_cached //... passed in $remote_time s (local: $local_time s)" $rc "$scratch/remote.log"
others=$(sed -E 's/^INFO: [0-9]+ processes(: )?//; s/\.$//' <<<"$line" | tr ',' '\n' | grep -vE ' (remote|internal)$|^ *$' || true)
[ -n "$line" ] && [ -z "$others" ] && grep -qE '[0-9]+ remote' <<<"$line"; ok=$?
check "processes line has only remote and internal spawns (${others:-none other})" $ok
runners=$(python3 - "$scratch/exec.json" <<'PY'
import json, sys
text, dec, i, seen = open(sys.argv[1]).read(), json.JSONDecoder(), 0, {}
while True:
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    s, i = dec.raw_decode(text, i)
    if s.get("mnemonic") == "TestRunner":
        seen[s.get("runner", "?")] = seen.get(s.get("runner", "?"), 0) + 1
print(" ".join("%s=%d" % kv for kv in sorted(seen.items())))
PY
)
[[ $runners =~ ^remote=[0-9]+$ ]]; ok=$?
check "every TestRunner spawn ran remotely (execution log: $runners)" $ok
[ "$remote_cases" = "$local_cases" ] && [[ $remote_cases == *" 0 failed" ]]; ok=$?
check "JUnit cases: remote ($remote_cases) = local ($local_cases)" $ok

# 5. Fault: a worker dies in the middle of an action.
fault_targets=(//modules/01_tensor/... //modules/02_activations/... //modules/03_layers/... //modules/05_autograd/...)
(cd "$src" && ./bazelw --output_base="$scratch/ob-remote" test "${remote[@]}" --nocache_test_results \
   "${fault_targets[@]}") >"$scratch/fault-worker.log" 2>&1 &
bazel_pid=$!
killed=
for _ in $(seq 1 600); do  # up to 120 s for worker 1 to start an action
  if compgen -G "$engine/workers/w1/actions/*/root" >/dev/null; then
    killed=$("$src/tools/remote/serve.sh" kill-worker "$engine" 1 2>&1); break
  fi
  kill -0 "$bazel_pid" 2>/dev/null || break
  sleep 0.2
done
start=$SECONDS
wait "$bazel_pid"; rc=$?
echo "     ${killed:-worker 1 never got an action}; $(processes_line "$scratch/fault-worker.log")"
grep -E '^Executed' "$scratch/fault-worker.log" | sed 's/^/     /'
[ -n "$killed" ] && [ $rc -eq 0 ]; ok=$?
check "worker 1 killed (SIGKILL) mid-action: the build still completed ($((SECONDS - start)) s after the kill)" $ok "$scratch/fault-worker.log"

# 6. Fault: the server is down.
"$src/tools/remote/serve.sh" stop "$engine" >"$scratch/stop.log" 2>&1
sed 's/^/     /' "$scratch/stop.log"
(cd "$src" && ./bazelw --output_base="$scratch/ob-remote" test "${remote[@]}" --nocache_test_results \
   //modules/01_tensor:tensor_test) >"$scratch/fault-server.log" 2>&1
rc=$?
err=$(grep -m1 -E '^ERROR' "$scratch/fault-server.log")
echo "     exit $rc: ${err:0:300}"
[ $rc -ne 0 ] && grep -qiE "remote execution|UNAVAILABLE|Connection refused" <<<"$err"; ok=$?
check "server stopped: bazel fails (exit $rc) and says the executor is unreachable" $ok "$scratch/fault-server.log"
(cd "$src" && ./bazelw --output_base="$scratch/ob-remote" test "${remote[@]}" --remote_local_fallback \
   --nocache_test_results //modules/01_tensor:tensor_test) >"$scratch/fault-fallback.log" 2>&1
rc=$?
echo "     with --remote_local_fallback: exit $rc: $(grep -m1 -E '^ERROR|^INFO: [0-9]+ processes' "$scratch/fault-fallback.log" | cut -c1-300)"
fallback_line=$(processes_line "$scratch/fault-fallback.log")
[ $rc -eq 0 ] && grep -q 'WARNING: Failed to query remote execution capabilities' "$scratch/fault-fallback.log" &&
  ! grep -qE '[0-9]+ remote' <<<"$fallback_line"; ok=$?
check "with --remote_local_fallback, Bazel 4.2.3 only warns and runs the test locally: exit $rc, $fallback_line" $ok "$scratch/fault-fallback.log"

echo "     wall time: local //... $local_time s, remote //... $remote_time s"
echo
echo "remote_execution_proof: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
