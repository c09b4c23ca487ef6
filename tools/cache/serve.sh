#!/usr/bin/env bash
# Run Debian's nginx as a shared HTTP cache for Bazel's --remote_cache.
#
#   tools/cache/serve.sh start  STORAGE_DIR LOG_DIR [PORT] [--listen ADDR] [--writers HTPASSWD]
#   tools/cache/serve.sh stop   STORAGE_DIR
#   tools/cache/serve.sh status STORAGE_DIR
#   tools/cache/serve.sh passwd HTPASSWD USER   (password on stdin; adds or replaces USER)
#
# PORT defaults to 9090, ADDR to 127.0.0.1. With --writers, anyone who reaches the port may GET,
# but a PUT needs HTTP basic auth from a user in HTPASSWD (Bazel: --remote_header=Authorization=...);
# without it, PUT is open, so any ADDR but a loopback one is refused unless --writers is given.
# The size bound is tools/cache/trim.sh --max-size (least recently used first).
#
# Layout (one server per STORAGE_DIR):
#   STORAGE_DIR/ac/<hash>, STORAGE_DIR/cas/<hash>   cache entries (Bazel's HTTP cache protocol)
#   STORAGE_DIR/.serve/                            runtime dir: nginx.conf, nginx.pid, port, tmp/
#   LOG_DIR/error.log, LOG_DIR/access.log           nginx logs
# The runtime dir sits beside the entries so that nginx's PUT temp files are renamed
# into place on the same file system. Only /ac/<hex> and /cas/<hex> are served; the
# server never reads or writes /etc/nginx or /var/log/nginx.
# Exit codes: 0 ok; 1 error; 2 usage; status exits 3 when not running.
set -euo pipefail

PROG=${0##*/}
DEFAULT_PORT=9090
START_TIMEOUT=${CACHE_START_TIMEOUT:-15}   # seconds to wait for the port to answer
STOP_TIMEOUT=${CACHE_STOP_TIMEOUT:-15}     # seconds to wait after QUIT before TERM

die() { echo "$PROG: $*" >&2; exit 1; }
usage() {
  cat >&2 <<USAGE
usage: $PROG start  STORAGE_DIR LOG_DIR [PORT] [--listen ADDR] [--writers HTPASSWD]
                (default port $DEFAULT_PORT, ADDR 127.0.0.1; --writers: PUT only with basic auth)
       $PROG stop   STORAGE_DIR
       $PROG status STORAGE_DIR
       $PROG passwd HTPASSWD USER   (reads the password from stdin)
USAGE
  exit 2
}

SRC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)

# abs_dir DIR [create]: physical absolute path of DIR.
abs_dir() {
  if [[ ${2:-} == create ]]; then mkdir -p -- "$1" || die "cannot create directory $1"; fi
  [[ -d $1 ]] || die "no such directory: $1"
  (cd -- "$1" && pwd -P)
}

refuse_source_tree() {  # refuse a dir inside this repository: Bazel and git would see it
  local what=$1 dir=$2
  if [[ -e $SRC_ROOT/WORKSPACE || -e $SRC_ROOT/.git ]] && [[ $dir == "$SRC_ROOT" || $dir == "$SRC_ROOT"/* ]]; then
    die "$what ($dir) is inside the source tree $SRC_ROOT; use a directory outside it, e.g. ~/.cache/tinytorch-bazel"
  fi
}

find_nginx() {
  local n
  n=$(command -v nginx 2>/dev/null || true)
  [[ -z $n && -x /usr/sbin/nginx ]] && n=/usr/sbin/nginx
  printf '%s' "$n"
}

ensure_nginx() {
  NGINX=$(find_nginx)
  [[ -n $NGINX ]] && return 0
  echo "$PROG: nginx not found; installing it with apt-get (its system service is not started)" >&2
  "$SRC_ROOT/tools/apt_install.sh" nginx || die "could not install nginx"
  NGINX=$(find_nginx)
  [[ -n $NGINX ]] || die "nginx still not found after installing it"
}

# Process state helpers. A zombie counts as gone (PID 1 in a container may not reap).
alive() {
  local pid=$1 state
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r /proc/$pid/stat ]]; then
    state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null || echo '?')
    [[ $state != Z ]] || return 1
  fi
  return 0
}

is_our_master() {  # pid is alive and is an nginx master started with our nginx.conf
  local pid=$1 cmd
  alive "$pid" || return 1
  if [[ -r /proc/$pid/cmdline ]]; then
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  else
    cmd=$(ps -p "$pid" -o command= 2>/dev/null || true)
  fi
  [[ $cmd == *nginx* && $cmd == *"$RUN_DIR/nginx.conf"* ]]
}

# Sets PID to the running master's pid, or returns 1 (a stale pid file is left alone).
running_pid() {
  PID=
  [[ -f $PID_FILE ]] || return 1
  PID=$(tr -dc '0-9' <"$PID_FILE")
  if [[ -n $PID ]] && is_our_master "$PID"; then return 0; fi
  PID=
  return 1
}

# http_code URL: prints the HTTP status (000 when nothing answers).
http_code() {
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
  else  # bash /dev/tcp fallback
    local hostport=${1#http://}; hostport=${hostport%%/*}
    local path=/${1#http://*/}
    ( exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}" &&
      printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$hostport" >&3 &&
      head -c 12 <&3 | cut -c10-12 ) 2>/dev/null || true
  fi
}

port_answers() {  # port_answers PORT [ADDR]
  local code
  code=$(http_code "http://${2:-127.0.0.1}:$1/")
  [[ -n $code && $code != 000 ]]
}

setup_paths() {  # STORAGE_DIR must already exist
  STORAGE_DIR=$(abs_dir "$1")
  RUN_DIR=$STORAGE_DIR/.serve
  PID_FILE=$RUN_DIR/nginx.pid
}

write_conf() {
  local user_line=""
  METHODS="            limit_except GET PUT { deny all; }"
  if [[ -n $WRITERS ]]; then
    # GET (and HEAD) stay anonymous; any other method needs a user of the htpasswd file, and then
    # dav_methods allows PUT only (anything else: 405).
    METHODS="            limit_except GET { auth_basic \"tinytorch cache writers\"; auth_basic_user_file $WRITERS; }"
  fi
  if [[ $(id -u) -eq 0 ]]; then
    # Workers write the cache; run them as the invoking user, not nginx's default 'nobody'.
    user_line="user $(id -un) $(id -gn);"
  fi
  mkdir -p "$RUN_DIR/tmp/client_body" "$RUN_DIR/tmp/proxy" "$RUN_DIR/tmp/fastcgi" \
           "$RUN_DIR/tmp/uwsgi" "$RUN_DIR/tmp/scgi"
  cat >"$RUN_DIR/nginx.conf.new" <<CONF
# Generated by tools/cache/serve.sh on every start; do not edit.
$user_line
daemon on;
master_process on;
worker_processes auto;
pid $PID_FILE;
error_log $LOG_DIR/error.log warn;

events {
    worker_connections 1024;
}

http {
    log_format cache '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent '
                     'req=\$request_length t=\$request_time';
    access_log $LOG_DIR/access.log cache;

    client_body_temp_path $RUN_DIR/tmp/client_body;
    proxy_temp_path       $RUN_DIR/tmp/proxy;
    fastcgi_temp_path     $RUN_DIR/tmp/fastcgi;
    uwsgi_temp_path       $RUN_DIR/tmp/uwsgi;
    scgi_temp_path        $RUN_DIR/tmp/scgi;

    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    server_tokens off;
    log_not_found off;               # cache misses are normal, not errors
    keepalive_timeout 75s;
    keepalive_requests 100000;
    client_max_body_size 0;          # no limit: CAS blobs can be large
    client_body_timeout 300s;
    send_timeout 300s;

    server {
        listen $LISTEN:$PORT;
        server_name _;
        root $STORAGE_DIR;

        # Bazel HTTP cache protocol: GET/PUT /ac/<hash> and /cas/<hash>.
        location ~ "^/ac/[0-9a-f]+\$" {
$METHODS
            dav_methods PUT;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }
        location ~ "^/cas/[0-9a-f]+\$" {
$METHODS
            dav_methods PUT;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }
        location / {
            return 404;
        }
    }
}
CONF
  mv -f "$RUN_DIR/nginx.conf.new" "$RUN_DIR/nginx.conf"
}

cmd_start() {
  local positional=()
  LISTEN=127.0.0.1 WRITERS=
  while [[ $# -gt 0 ]]; do
    case $1 in
      --listen) LISTEN=${2:?--listen needs an address}; shift 2 ;;
      --writers) WRITERS=${2:?--writers needs an htpasswd file}; shift 2 ;;
      -*) usage ;;
      *) positional+=("$1"); shift ;;
    esac
  done
  set -- "${positional[@]}"
  [[ $# -ge 2 && $# -le 3 ]] || usage
  PORT=${3:-$DEFAULT_PORT}
  if ! [[ $LISTEN =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; then die "bad --listen $LISTEN: an IPv4 address, e.g. 127.0.0.1"; fi
  if [[ -n $WRITERS ]]; then
    [[ -s $WRITERS ]] || die "--writers $WRITERS: no such htpasswd file (make one with: $PROG passwd FILE USER)"
    WRITERS=$(realpath -- "$WRITERS")
  elif [[ $LISTEN != 127.* ]]; then
    die "refusing to listen on $LISTEN without --writers: anyone reaching it could PUT (poison) entries. Hint: $PROG passwd FILE ci, then --writers FILE"
  fi
  if ! [[ $PORT =~ ^[1-9][0-9]{0,4}$ ]] || (( PORT > 65535 )); then die "bad port: $PORT"; fi
  refuse_source_tree STORAGE_DIR "$(realpath -m -- "$1")"
  refuse_source_tree LOG_DIR "$(realpath -m -- "$2")"
  ensure_nginx
  mkdir -p -- "$1" || die "cannot create directory $1"
  setup_paths "$1"
  LOG_DIR=$(abs_dir "$2" create)
  mkdir -p "$STORAGE_DIR/ac" "$STORAGE_DIR/cas" "$RUN_DIR"

  if running_pid; then
    local old_port
    old_port=$(cat "$RUN_DIR/port" 2>/dev/null || echo '?')
    [[ $old_port == "$PORT" && $(cat "$RUN_DIR/listen" 2>/dev/null || echo 127.0.0.1) == "$LISTEN" ]] ||
      die "already running for $STORAGE_DIR on port $old_port (pid $PID); stop it first"
    echo "already running: http://$LISTEN:$PORT (pid $PID, pid file $PID_FILE)"
    return 0
  fi
  if port_answers "$PORT" "$LISTEN"; then
    die "port $PORT on $LISTEN is already in use by another server"
  fi

  write_conf
  echo "$PORT" >"$RUN_DIR/port"
  echo "$LISTEN" >"$RUN_DIR/listen"
  local -a args=(-p "$RUN_DIR/" -c "$RUN_DIR/nginx.conf")
  # -e (nginx >= 1.19.5) keeps startup errors away from the compiled-in /var/log/nginx.
  if "$NGINX" -h 2>&1 | grep -q -- '-e filename'; then args+=(-e "$LOG_DIR/error.log"); fi
  if ! "$NGINX" "${args[@]}"; then
    echo "$PROG: nginx failed to start; tail of $LOG_DIR/error.log:" >&2
    tail -n 20 "$LOG_DIR/error.log" >&2 2>/dev/null || true
    exit 1
  fi

  local deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if running_pid && port_answers "$PORT" "$LISTEN"; then break; fi
    if (( SECONDS >= deadline )); then
      echo "$PROG: nginx did not answer on $LISTEN:$PORT within ${START_TIMEOUT}s; tail of $LOG_DIR/error.log:" >&2
      tail -n 20 "$LOG_DIR/error.log" >&2 2>/dev/null || true
      if running_pid; then kill -TERM "$PID" 2>/dev/null || true; fi
      exit 1
    fi
    sleep 0.1
  done
  echo "started: http://$LISTEN:$PORT serving $STORAGE_DIR (pid $PID, pid file $PID_FILE, logs in $LOG_DIR${WRITERS:+; PUT needs a user of $WRITERS})"
}

wait_gone() {  # wait_gone PID SECONDS
  local pid=$1 deadline=$((SECONDS + $2))
  while alive "$pid"; do
    (( SECONDS < deadline )) || return 1
    sleep 0.1
  done
}

cmd_stop() {
  [[ $# -eq 1 ]] || usage
  [[ -d $1 ]] || { echo "not running (no directory $1)"; return 0; }
  setup_paths "$1"
  if ! running_pid; then
    rm -f -- "$PID_FILE"
    echo "not running ($PID_FILE absent or stale)"
    return 0
  fi
  local pid=$PID port addr
  port=$(cat "$RUN_DIR/port" 2>/dev/null || echo '')
  addr=$(cat "$RUN_DIR/listen" 2>/dev/null || echo 127.0.0.1)
  kill -QUIT "$pid" 2>/dev/null || true          # graceful: finish in-flight requests
  if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
    echo "$PROG: pid $pid still running after QUIT; sending TERM" >&2
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || die "pid $pid did not exit after TERM"
  fi
  rm -f -- "$PID_FILE"
  if [[ -n $port ]] && port_answers "$port" "$addr"; then
    die "pid $pid exited but $addr:$port still answers (another server?)"
  fi
  echo "stopped (pid $pid${port:+, port $port closed})"
}

cmd_status() {
  [[ $# -eq 1 ]] || usage
  [[ -d $1 ]] || { echo "not running (no directory $1)"; exit 3; }
  setup_paths "$1"
  if running_pid; then
    local port addr
    port=$(cat "$RUN_DIR/port" 2>/dev/null || echo '?')
    addr=$(cat "$RUN_DIR/listen" 2>/dev/null || echo 127.0.0.1)
    if port_answers "$port" "$addr"; then
      echo "running: http://$addr:$port (pid $PID, pid file $PID_FILE)"
      return 0
    fi
    echo "running but not answering on $addr:$port (pid $PID)"
    exit 1
  fi
  echo "not running"
  exit 3
}

cmd_passwd() {  # passwd FILE USER: SHA-512 crypt (nginx checks it with the system's crypt())
  [[ $# -eq 2 ]] || usage
  local file=$1 user=$2 pass hash
  [[ $user =~ ^[A-Za-z0-9._-]+$ ]] || die "bad user name $user: letters, digits, '.', '_' or '-'"
  IFS= read -r pass || true
  [[ ${#pass} -ge 8 ]] || die "the password (read from stdin) must have at least 8 characters"
  hash=$(printf '%s\n' "$pass" | openssl passwd -6 -stdin) || die "openssl passwd failed"
  touch "$file" && chmod 0640 "$file"
  { grep -v "^$user:" "$file" || true; echo "$user:$hash"; } >"$file.new" && mv -f "$file.new" "$file"
  echo "$file: $user set"
}

[[ $# -ge 1 ]] || usage
cmd=$1; shift
case $cmd in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  passwd) cmd_passwd "$@" ;;
  -h|--help|help) usage ;;
  *) usage ;;
esac
