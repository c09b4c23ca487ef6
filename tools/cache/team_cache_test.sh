#!/usr/bin/env bash
# The team cache across hosts: tools/cache/serve.sh --listen/--writers and tools/cache/trim.sh.
#
#   bash tools/cache/team_cache_test.sh [--bazel]     (root: it creates network namespaces)
#
# Two "hosts" are network namespaces made here, joined by a veth pair whose addresses
# (198.18.77.1 and .2, the RFC 2544 benchmarking range) exist only on those namespaces; nothing
# else is contacted. nginx runs in the server namespace with --writers; from the client namespace:
# anonymous reads hit, an anonymous or wrongly authenticated PUT is refused and changes nothing, an
# authenticated upload lands. Then trim.sh --max-size deletes least recently used entries first.
# --bazel adds two Bazel runs against a loopback instance: an authenticated upload through
# --remote_header and an anonymous reader whose actions are all remote cache hits.
# Everything is removed at the end (nginx stopped by PID, namespaces and veth deleted).
# Prints one line per check and ends with 'N passed, N failed'.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
SERVE=$HERE/serve.sh
with_bazel=false
[[ ${1:-} == --bazel ]] && with_bazel=true

PASSED=0 FAILED=0
check() {  # check NAME COMMAND...
  local name=$1; shift
  if "$@"; then echo "ok   - $name"; PASSED=$((PASSED + 1)); else echo "FAIL - $name"; FAILED=$((FAILED + 1)); fi
}
finish() { echo "$PASSED passed, $FAILED failed"; [[ $FAILED -eq 0 ]]; }
eq() { [[ $1 == "$2" ]] || { echo "     expected '$2', got '$1'" >&2; return 1; }; }

[[ $(id -u) -eq 0 ]] || { echo "FAIL - needs root (network namespaces)"; FAILED=1; finish; exit 1; }
command -v ip >/dev/null && command -v curl >/dev/null || { echo "FAIL - needs ip (iproute2) and curl"; FAILED=1; finish; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/team_cache_test.XXXXXX")
chmod 0755 "$TMP"
SRV_NS=ttc-srv-$$ CLI_NS=ttc-cli-$$ VETH=ttcs$$ PEER=ttcc$$
SRV_IP=198.18.77.1 CLI_IP=198.18.77.2 PORT=9090
STORE=$TMP/store LOGS=$TMP/logs WRITERS=$TMP/writers
LSTORE=$TMP/lstore OB=$TMP/ob
cleanup() {
  bash "$SERVE" stop "$STORE" >/dev/null 2>&1
  bash "$SERVE" stop "$LSTORE" >/dev/null 2>&1
  [[ -d $OB ]] && (cd "$ROOT" && ./bazelw --output_base="$OB" shutdown) >/dev/null 2>&1
  ip netns del "$SRV_NS" 2>/dev/null  # deleting a namespace deletes the veth end in it, and so its peer
  ip netns del "$CLI_NS" 2>/dev/null
  ip link del "$VETH" 2>/dev/null
  rm -rf -- "$TMP"
}
trap cleanup EXIT

# --- two hosts --------------------------------------------------------------------------
ip netns add "$SRV_NS" && ip netns add "$CLI_NS" &&
  ip link add "$VETH" type veth peer name "$PEER" &&
  ip link set "$VETH" netns "$SRV_NS" && ip link set "$PEER" netns "$CLI_NS" &&
  ip -n "$SRV_NS" addr add "$SRV_IP/30" dev "$VETH" && ip -n "$CLI_NS" addr add "$CLI_IP/30" dev "$PEER" &&
  ip -n "$SRV_NS" link set "$VETH" up && ip -n "$CLI_NS" link set "$PEER" up &&
  ip -n "$SRV_NS" link set lo up && ip -n "$CLI_NS" link set lo up
check "two network namespaces joined by a veth pair ($SRV_IP <-> $CLI_IP)" [ $? -eq 0 ]

in_cli() { ip netns exec "$CLI_NS" "$@"; }
code() { in_cli curl -s -o /dev/null -m 10 -w '%{http_code}' "$@"; }
BASE=http://$SRV_IP:$PORT

out=$(bash "$SERVE" start "$STORE" "$LOGS" "$PORT" --listen "$SRV_IP" 2>&1); rc=$?
check "refuses a non-loopback address without --writers (exit $rc)" eq "$rc $(grep -c 'without --writers' <<<"$out")" "1 1"

printf 'not-the-password\n' | bash "$SERVE" passwd "$WRITERS" ci >/dev/null 2>&1
printf 'ci-secret-1234\n' | bash "$SERVE" passwd "$WRITERS" ci >/dev/null
check "passwd writes one SHA-512 crypt line for the user" eq "$(grep -c '^ci:\$6\$' "$WRITERS") $(wc -l <"$WRITERS")" "1 1"

out=$(ip netns exec "$SRV_NS" bash "$SERVE" start "$STORE" "$LOGS" "$PORT" --listen "$SRV_IP" --writers "$WRITERS" 2>&1); rc=$?
echo "     $out"
check "nginx starts in the server namespace on $SRV_IP:$PORT with --writers" eq "$rc" 0
check "generated config listens on $SRV_IP and guards PUT with basic auth" \
  grep -q "listen $SRV_IP:$PORT;" "$STORE/.serve/nginx.conf"
check "the port is not reachable from the root namespace's loopback" \
  eq "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$PORT/cas/x" 2>/dev/null || true)" 000

head -c 200000 /dev/urandom >"$TMP/blob"
SHA=$(sha256sum "$TMP/blob" | cut -d' ' -f1)
AUTH=(-u ci:ci-secret-1234)
check "authenticated PUT /cas/<sha> from the client host lands (201)" \
  eq "$(code "${AUTH[@]}" -X PUT --data-binary @"$TMP/blob" "$BASE/cas/$SHA")" 201
check "the uploaded blob is on the server's disk, byte for byte" cmp -s "$TMP/blob" "$STORE/cas/$SHA"
check "anonymous GET from the client host hits (200)" eq "$(code "$BASE/cas/$SHA")" 200
in_cli curl -s -m 10 -o "$TMP/got" "$BASE/cas/$SHA"
check "anonymous GET returns the uploaded bytes" cmp -s "$TMP/blob" "$TMP/got"

before=$(cd "$STORE" && find ac cas -type f -exec sha256sum {} + | sort)
head -c 1000 /dev/urandom >"$TMP/evil"
EVIL=$(sha256sum "$TMP/evil" | cut -d' ' -f1)
check "anonymous PUT of a new entry is refused (401)" eq "$(code -X PUT --data-binary @"$TMP/evil" "$BASE/cas/$EVIL")" 401
check "anonymous PUT over an existing entry is refused (401)" eq "$(code -X PUT --data-binary @"$TMP/evil" "$BASE/cas/$SHA")" 401
check "PUT with a wrong password is refused (401)" \
  eq "$(code -u ci:wrong -X PUT --data-binary @"$TMP/evil" "$BASE/ac/$EVIL")" 401
after=$(cd "$STORE" && find ac cas -type f -exec sha256sum {} + | sort)
check "refused PUTs changed nothing on the server's disk" eq "$after" "$before"
printf 'result' >"$TMP/ac"
check "authenticated PUT /ac/<key> lands (201)" eq "$(code "${AUTH[@]}" -X PUT --data-binary @"$TMP/ac" "$BASE/ac/$EVIL")" 201
check "DELETE is refused: 401 anonymous, 405 with credentials" \
  eq "$(code -X DELETE "$BASE/cas/$SHA") $(code "${AUTH[@]}" -X DELETE "$BASE/cas/$SHA")" "401 405"
check "the blob is still there after the DELETEs" cmp -s "$TMP/blob" "$STORE/cas/$SHA"

# --- trim.sh: least recently used first ----------------------------------------------------
for i in 1 2 3 4; do head -c 100000 /dev/urandom >"$STORE/cas/$(printf '%064d' "$i")"; done
for i in 1 2 3 4; do touch -a -d "@$((1700000000 + i * 1000))" "$STORE/cas/$(printf '%064d' "$i")"; done
touch -a -d "@1700009000" "$STORE/cas/$SHA" "$STORE/ac/$EVIL"   # the entries just used: newest
total=$(find "$STORE/ac" "$STORE/cas" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
limit=$((total - 150000))
out=$(bash "$HERE/trim.sh" --max-size "$limit" "$STORE"); echo "     $out"
left=$(cd "$STORE/cas" && ls | sort | tr '\n' ' ')
check "trim.sh --max-size deleted the two least recently used entries only" \
  eq "$left" "$(printf '%064d' 3) $(printf '%064d' 4) $SHA "
check "trim.sh: what is left fits the bound" \
  [ "$(find "$STORE/ac" "$STORE/cas" -type f -printf '%s\n' | awk '{s += $1} END {print s}')" -le "$limit" ]
check "trim.sh refuses a bad size" eval '! bash "$HERE/trim.sh" --max-size 12X "$STORE" 2>/dev/null'

bash "$SERVE" stop "$STORE" >/dev/null 2>&1
check "stopped by PID: nothing answers on $SRV_IP:$PORT" eq "$(code -m 2 "$BASE/cas/$SHA" 2>/dev/null || true)" 000

# --- Bazel: --remote_header for writers, anonymous readers hit -----------------------------
if $with_bazel; then
  lport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  bash "$SERVE" start "$LSTORE" "$TMP/llogs" "$lport" --writers "$WRITERS" >/dev/null
  url=http://127.0.0.1:$lport target=//modules/01_tensor:parallel_test
  hdr="--remote_header=Authorization=Basic $(printf 'ci:ci-secret-1234' | base64)"
  run() { (cd "$ROOT" && ./bazelw --output_base="$OB" test --config=remote-cache --remote_cache="$url" --disk_cache= \
      --color=no --curses=no "$@" "$target") >"$TMP/bazel.log" 2>&1; }
  clean() { (cd "$ROOT" && ./bazelw --output_base="$OB" clean) >/dev/null 2>&1; }  # drops the local action cache
  run --noremote_accept_cached; rc=$?
  puts=$(grep -cE '"PUT /(ac|cas)/[0-9a-f]+ HTTP/1.1" 401' "$TMP/llogs/access.log" || true)
  ac=$(find "$LSTORE/ac" -type f | wc -l)
  check "Bazel without credentials: build passes (exit $rc), its $puts PUTs refused, $ac action results stored" \
    eq "$rc $ac" "0 0"
  clean
  run --noremote_accept_cached "$hdr"; rc=$?
  ac=$(find "$LSTORE/ac" -type f | wc -l)
  check "Bazel with --remote_header=Authorization=Basic ...: uploads land ($ac action results)" eval '[ $rc -eq 0 ] && [ $ac -gt 0 ]'
  clean
  run --noremote_upload_local_results; rc=$?
  line=$(grep -E '^INFO: [0-9]+ processes' "$TMP/bazel.log" | tail -1)
  echo "     anonymous reader: $line"
  check "anonymous reader: every action a remote cache hit" eval '[ $rc -eq 0 ] && [[ $line =~ remote\ cache\ hit ]] && ! [[ $line =~ (linux-sandbox|local|processwrapper) ]]'
fi

finish
