#!/usr/bin/env bash
# Standalone test of tools/cache/serve.sh: start nginx in a temp dir, PUT/GET blobs the way
# Bazel's HTTP cache does, check misses and refused methods, stop it, and check that the
# port is closed and the pid gone. Needs curl and nginx (serve.sh installs nginx when root).
#   bash tools/cache/serve_test.sh        (CACHE_TEST_PORT=N to pick the port)
# Prints one line per check and ends with 'N passed, N failed'; exits 0 only if all pass.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
SERVE=$HERE/serve.sh
PASSED=0
FAILED=0

check() {  # check NAME COMMAND...
  local name=$1; shift
  if "$@"; then
    echo "ok   - $name"; PASSED=$((PASSED + 1))
  else
    echo "FAIL - $name"; FAILED=$((FAILED + 1))
  fi
}

finish() {
  echo "$PASSED passed, $FAILED failed"
  [[ $FAILED -eq 0 ]]
}

command -v curl >/dev/null 2>&1 || { echo "FAIL - curl is needed"; FAILED=1; finish; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/serve_test.XXXXXX")
STORE=$TMP/store
LOGS=$TMP/logs
cleanup() {
  bash "$SERVE" stop "$STORE" >/dev/null 2>&1 || true
  rm -rf -- "$TMP"
}
trap cleanup EXIT

port_free() { ! curl -s -o /dev/null -m 1 "http://127.0.0.1:$1/" 2>/dev/null && ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [[ -n ${CACHE_TEST_PORT:-} ]]; then
  PORT=$CACHE_TEST_PORT
else
  for _ in $(seq 1 50); do
    PORT=$((20000 + RANDOM % 30000))
    port_free "$PORT" && break
  done
fi
BASE=http://127.0.0.1:$PORT

indent() { local l; while IFS= read -r l; do echo "     $l"; done <<<"$1"; }
code() { curl -s -o /dev/null -m 10 -w '%{http_code}' "$@"; }
get() { curl -s -o "$1" -m 10 -w '%{http_code}' "$2"; }  # get FILE URL: body to FILE, prints status
eq() { [[ $1 == "$2" ]] || { echo "     expected '$2', got '$1'" >&2; return 1; }; }

# pid_gone PID: not running, or only a zombie (PID 1 of a container may not reap it).
pid_gone() {
  ! kill -0 "$1" 2>/dev/null && return 0
  [[ -r /proc/$1/stat ]] && [[ $(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat") == Z ]]
}

# --- start -----------------------------------------------------------------------------
out=$(bash "$SERVE" start "$STORE" "$LOGS" "$PORT" 2>&1); rc=$?
indent "$out"
check "start exits 0" eq "$rc" 0
if [[ $rc -ne 0 ]]; then finish; exit 1; fi
PID=$(cat "$STORE/.serve/nginx.pid" 2>/dev/null || echo none)
check "pid file holds a live pid" kill -0 "$PID"
status_ok() { bash "$SERVE" status "$STORE" >/dev/null 2>&1; }
check "status exits 0 while running" status_ok
check "config lives under the runtime dir, not /etc/nginx" grep -q "^pid $STORE/.serve/nginx.pid;" "$STORE/.serve/nginx.conf"
check "listens on loopback only" grep -q "listen 127.0.0.1:$PORT;" "$STORE/.serve/nginx.conf"

# --- Bazel's protocol: PUT then GET of /cas/<sha256> and /ac/<sha256> ------------------
head -c 3000000 /dev/urandom >"$TMP/blob"   # > nginx's default 1 MiB body limit
SHA=$(sha256sum "$TMP/blob" | cut -d' ' -f1)
check "PUT /cas/<sha> of 3 MB answers 201" eq "$(code -X PUT --data-binary @"$TMP/blob" "$BASE/cas/$SHA")" 201
check "GET /cas/<sha> answers 200" eq "$(get "$TMP/got" "$BASE/cas/$SHA")" 200
check "GET returns the same bytes" cmp -s "$TMP/blob" "$TMP/got"
check "PUT of an existing key answers 204" eq "$(code -X PUT --data-binary @"$TMP/blob" "$BASE/cas/$SHA")" 204
printf 'action result' >"$TMP/ac"
AC=$(printf 'some action' | sha256sum | cut -d' ' -f1)
check "PUT /ac/<sha> answers 201" eq "$(code -X PUT --data-binary @"$TMP/ac" "$BASE/ac/$AC")" 201
check "GET /ac/<sha> returns the same bytes" eq "$(curl -s -m 10 "$BASE/ac/$AC")" "action result"
check "server speaks HTTP/1.1" eq "$(curl -s -o /dev/null -m 10 -w '%{http_version}' "$BASE/ac/$AC")" 1.1
MISSING=$(printf 'never stored' | sha256sum | cut -d' ' -f1)
check "GET of a missing key answers 404" eq "$(code "$BASE/cas/$MISSING")" 404
check "DELETE is refused (403)" eq "$(code -X DELETE "$BASE/cas/$SHA")" 403
check "blob still there after DELETE" cmp -s "$TMP/blob" "$STORE/cas/$SHA"
check "PUT outside /ac/ and /cas/ is refused" eq "$(code -X PUT --data-binary x "$BASE/other/abc")" 404
check "runtime dir is not served" eq "$(code "$BASE/.serve/nginx.conf")" 404
check "access log is written under LOG_DIR" grep -q "PUT /cas/$SHA" "$LOGS/access.log"

# --- start again is idempotent ----------------------------------------------------------
bash "$SERVE" start "$STORE" "$LOGS" "$PORT" >/dev/null 2>&1; rc=$?
check "second start exits 0" eq "$rc" 0
check "second start keeps the same pid" eq "$(cat "$STORE/.serve/nginx.pid" 2>/dev/null)" "$PID"

# --- stop -------------------------------------------------------------------------------
out=$(bash "$SERVE" stop "$STORE" 2>&1); rc=$?
indent "$out"
check "stop exits 0" eq "$rc" 0
check "pid $PID is gone" pid_gone "$PID"
check "port $PORT is closed" port_free "$PORT"
check "pid file removed" test ! -e "$STORE/.serve/nginx.pid"
bash "$SERVE" status "$STORE" >/dev/null 2>&1; rc=$?
check "status exits 3 when stopped" eq "$rc" 3
bash "$SERVE" stop "$STORE" >/dev/null 2>&1; rc=$?
check "second stop exits 0" eq "$rc" 0

finish
