#!/usr/bin/env bash
# Run a remote-execution engine on loopback: PostgreSQL, BuildGrid 0.4.4 and N workers.
#
#   tools/remote/serve.sh start  STATE_DIR [--workers N] [--port PORT] [--venv DIR]   (N=2, PORT=50051)
#   tools/remote/serve.sh stop   STATE_DIR
#   tools/remote/serve.sh status STATE_DIR
#   tools/remote/serve.sh kill-worker STATE_DIR I    (SIGKILL worker I: for fault tests)
#
# Then: ./bazelw test --config=buildgrid //...   (tools/remote/buildgrid.bazelrc; another port:
# add --remote_executor=grpc://127.0.0.1:PORT).
#
# STATE_DIR (outside the source tree) holds everything:
#   venv/            BuildGrid from tools/remote/requirements_lock.txt (pip --require-hashes), made once
#                    (--venv DIR: elsewhere, e.g. kept between CI runs; a venv cannot be moved)
#   pg/, pgsock/     PostgreSQL 15 data dir and its unix socket (no TCP port), run as user postgres
#   cas/             BuildGrid's CAS (disk storage); buildgrid.yml, generated from buildgrid.yml.in
#   workers/wI/      each worker's blob cache and per-action dirs
#   pids/            bgd.pid, worker-I.pid; logs/: postgres.log, bgd.log, worker-I.log
# Exit codes: 0 ok; 1 error; 2 usage; status exits 3 when not running.
set -euo pipefail

PROG=${0##*/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
SRC_ROOT=$(cd "$HERE/../.." && pwd -P)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PLATFORM_PROPS=(OSFamily=Linux container-image=debian-bookworm-python3.11)  # = tools/remote/BUILD.bazel
INSTANCE=main
START_TIMEOUT=${REMOTE_START_TIMEOUT:-90}
STOP_TIMEOUT=${REMOTE_STOP_TIMEOUT:-20}

die() { echo "$PROG: $*" >&2; exit 1; }
usage() {
  sed -n '4,7p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2
  exit 2
}

refuse_source_tree() {
  local dir=$1
  if [[ $dir == "$SRC_ROOT" || $dir == "$SRC_ROOT"/* ]]; then
    die "STATE_DIR ($dir) is inside the source tree $SRC_ROOT; use a directory outside it, e.g. ~/.cache/tinytorch-remote"
  fi
}

setup_paths() {
  STATE=$(realpath -m -- "$1")
  refuse_source_tree "$STATE"
  VENV=${VENV_OPT:-$STATE/venv} PIDS=$STATE/pids LOGS=$STATE/logs PGDATA=$STATE/pg PGSOCK=$STATE/pgsock
}

alive() {  # a zombie counts as gone
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 1
  [[ $(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null || echo '?') != Z ]]
}

# pid_of NAME: the pid in pids/NAME.pid if that process is alive and its command line names STATE.
pid_of() {
  local f=$PIDS/$1.pid pid
  [[ -f $f ]] || return 1
  pid=$(tr -dc '0-9' <"$f")
  [[ -n $pid ]] && alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$STATE" || return 1
  echo "$pid"
}

wait_gone() {  # wait_gone PID SECONDS
  local deadline=$((SECONDS + $2))
  while alive "$1"; do (( SECONDS < deadline )) || return 1; sleep 0.2; done
}

stop_pid() {  # stop_pid NAME: TERM, then KILL after STOP_TIMEOUT
  local pid
  pid=$(pid_of "$1") || { rm -f "$PIDS/$1.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
    echo "$PROG: $1 (pid $pid) still running after TERM; sending KILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || die "$1 (pid $pid) did not exit"
  fi
  rm -f "$PIDS/$1.pid"
  echo "stopped $1 (pid $pid)"
}

as_postgres() {  # PostgreSQL refuses to run as root
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_packages() {
  local missing=()
  [[ -x $PG_BIN/postgres ]] || missing+=(postgresql-15)
  /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  command -v unshare >/dev/null && command -v setpriv >/dev/null || missing+=(util-linux)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "$PROG: installing ${missing[*]} with apt-get (their system services are not started)" >&2
  "$SRC_ROOT/tools/apt_install.sh" "${missing[@]}" ||
    die "could not install ${missing[*]}"
}

ensure_venv() {  # BuildGrid from the hash-checked lock; redone when the lock changes
  local stamp=$VENV/.lock.sha256 want
  want=$(sha256sum "$HERE/requirements_lock.txt" | cut -d' ' -f1)
  [[ -f $stamp && $(cat "$stamp") == "$want" ]] && return 0
  echo "$PROG: installing BuildGrid into $VENV (pip --require-hashes, tools/remote/requirements_lock.txt)" >&2
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --require-hashes --no-deps --only-binary=:all: \
    -r "$HERE/requirements_lock.txt" >"$LOGS/pip.log" 2>&1 || { tail -20 "$LOGS/pip.log" >&2; die "pip install failed"; }
  echo "$want" >"$stamp"
}

start_postgres() {
  if [[ ! -f $PGDATA/PG_VERSION ]]; then
    mkdir -p "$PGDATA"
    [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$PGDATA"
    as_postgres "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 >"$LOGS/initdb.log" 2>&1 ||
      { cat "$LOGS/initdb.log" >&2; die "initdb failed"; }
  fi
  if ! as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    # No TCP at all: the only way in is the unix socket in STATE_DIR/pgsock.
    as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$LOGS/postgres.log" -w -t 60 \
      -o "-c listen_addresses='' -c unix_socket_directories=$PGSOCK -c max_connections=300" start >/dev/null ||
      { tail -20 "$LOGS/postgres.log" >&2; die "PostgreSQL did not start"; }
  fi
  head -1 "$PGDATA/postmaster.pid" >"$PIDS/postgres.pid"
  as_postgres "$PG_BIN/psql" -h "$PGSOCK" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='bgd'" | grep -q 1 ||
    as_postgres "$PG_BIN/psql" -h "$PGSOCK" -U postgres -qc "CREATE DATABASE bgd"
  "$VENV/bin/bgd" migrate apply "$(db_url)" >"$LOGS/migrate.log" 2>&1 || { cat "$LOGS/migrate.log" >&2; die "bgd migrate apply failed"; }
}

db_url() { echo "postgresql+psycopg2:///bgd?host=$PGSOCK&user=postgres"; }

port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() {
  if pid_of bgd >/dev/null; then return 0; fi
  port_answers "$PORT" && die "port $PORT on 127.0.0.1 is already in use by another server"
  sed -e "s|@PORT@|$PORT|g; s|@PGSOCKET@|$PGSOCK|g; s|@CASDIR@|$STATE/cas|g; s|@INSTANCE@|$INSTANCE|g" \
    "$HERE/buildgrid.yml.in" >"$STATE/buildgrid.yml"
  mkdir -p "$STATE/cas"
  setsid "$VENV/bin/bgd" server start "$STATE/buildgrid.yml" >"$LOGS/bgd.log" 2>&1 </dev/null &
  echo $! >"$PIDS/bgd.pid"
  echo "$PORT" >"$STATE/port"
  local deadline=$((SECONDS + START_TIMEOUT))
  until port_answers "$PORT"; do
    pid_of bgd >/dev/null || { tail -20 "$LOGS/bgd.log" >&2; die "BuildGrid exited during start"; }
    (( SECONDS < deadline )) || { tail -20 "$LOGS/bgd.log" >&2; die "BuildGrid did not listen on 127.0.0.1:$PORT within ${START_TIMEOUT}s"; }
    sleep 0.5
  done
}

start_worker() {  # start_worker I
  local i=$1 props=()
  pid_of "worker-$i" >/dev/null && return 0
  for p in "${PLATFORM_PROPS[@]}"; do props+=(--property "$p"); done
  mkdir -p "$STATE/workers/w$i"
  # The worker needs only the venv's grpc/protos and its own two files, copied out of the tree so
  # that a running worker does not depend on the checkout (which its sandbox hides).
  mkdir -p "$STATE/worker-bin"
  cp "$HERE/worker/worker.py" "$HERE/worker/worker_core.py" "$STATE/worker-bin/"
  setsid "$VENV/bin/python" -s "$STATE/worker-bin/worker.py" --server "127.0.0.1:$PORT" --instance "$INSTANCE" \
    --work-dir "$STATE/workers/w$i" --bot-id "$(hostname)-w$i" "${props[@]}" --hide "$SRC_ROOT" \
    >"$LOGS/worker-$i.log" 2>&1 </dev/null &
  echo $! >"$PIDS/worker-$i.pid"
}

cmd_start() {
  [[ $# -ge 1 ]] || usage
  local dir=$1; shift
  WORKERS=2 PORT=50051 VENV_OPT=
  while [[ $# -gt 0 ]]; do
    case $1 in
      --workers) WORKERS=${2:?}; shift 2 ;;
      --port) PORT=${2:?}; shift 2 ;;
      --venv) VENV_OPT=$(realpath -m -- "${2:?}"); refuse_source_tree "$VENV_OPT"; shift 2 ;;
      *) usage ;;
    esac
  done
  [[ $WORKERS =~ ^[1-9][0-9]?$ ]] || die "bad --workers $WORKERS: a number from 1 to 99"
  [[ $PORT =~ ^[1-9][0-9]{0,4}$ ]] && (( PORT <= 65535 )) || die "bad --port $PORT: 1-65535"
  setup_paths "$dir"
  ensure_packages
  mkdir -p "$STATE" "$PIDS" "$LOGS"
  # postgres must reach its data dir and socket dir under STATE_DIR (mktemp -d makes it 0700).
  [[ $(id -u) -eq 0 ]] && chmod 0755 "$STATE" && mkdir -p "$PGSOCK" && chown postgres:postgres "$PGSOCK" "$LOGS"
  mkdir -p "$PGSOCK"
  if [[ $(id -u) -eq 0 ]] && ! runuser -u postgres -- test -x "$STATE"; then
    die "user postgres cannot reach $STATE (a parent directory is not searchable, e.g. mktemp -d's 0700); chmod o+x it or pick another STATE_DIR"
  fi
  ensure_venv
  start_postgres
  start_server
  local i
  for ((i = 1; i <= WORKERS; i++)); do start_worker "$i"; done
  echo "$WORKERS" >"$STATE/workers.count"
  echo "started: grpc://127.0.0.1:$PORT instance $INSTANCE, $WORKERS worker(s), PostgreSQL on $PGSOCK (logs in $LOGS)"
}

cmd_stop() {
  [[ $# -eq 1 ]] || usage
  setup_paths "$1"
  [[ -d $STATE ]] || { echo "not running (no directory $STATE)"; return 0; }
  local f name
  for f in "$PIDS"/worker-*.pid; do  # workers first: each hands its lease back (SIGTERM)
    [[ -e $f ]] || continue
    name=$(basename "$f" .pid)
    stop_pid "$name" &
  done
  wait
  stop_pid bgd
  if [[ -f $PGDATA/PG_VERSION ]] && as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null && echo "stopped postgres"
  fi
  rm -f "$PIDS/postgres.pid"
}

cmd_status() {
  [[ $# -eq 1 ]] || usage
  setup_paths "$1"
  local up=0 down=0 f name pid
  for name in postgres bgd; do
    if pid=$(pid_of "$name" 2>/dev/null) || { [[ $name == postgres ]] && [[ -f $PGDATA/PG_VERSION ]] &&
         as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1 && pid=$(head -1 "$PGDATA/postmaster.pid"); }; then
      echo "running: $name (pid $pid)"; up=$((up + 1))
    else
      echo "stopped: $name"; down=$((down + 1))
    fi
  done
  for f in "$PIDS"/worker-*.pid; do
    [[ -e $f ]] || continue
    name=$(basename "$f" .pid)
    if pid=$(pid_of "$name"); then echo "running: $name (pid $pid)"; up=$((up + 1)); else echo "stopped: $name"; down=$((down + 1)); fi
  done
  [[ $up -gt 0 ]] || exit 3
  [[ $down -eq 0 ]] || exit 1
  echo "grpc://127.0.0.1:$(cat "$STATE/port" 2>/dev/null || echo '?')"
}

cmd_kill_worker() {
  [[ $# -eq 2 ]] || usage
  setup_paths "$1"
  local pid
  pid=$(pid_of "worker-$2") || die "worker $2 is not running"
  kill -KILL "$pid"
  wait_gone "$pid" 5 || true
  echo "killed worker-$2 (pid $pid)"
}

[[ $# -ge 1 ]] || usage
cmd=$1; shift
case $cmd in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  kill-worker) cmd_kill_worker "$@" ;;
  *) usage ;;
esac
