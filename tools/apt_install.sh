#!/usr/bin/env bash
# tools/apt_install.sh PKG...: installs Debian packages (no recommends) without starting services.
#
# Debian's nginx and postgresql packages start a system server on install (nginx on port 80,
# PostgreSQL on 5432). tools/cache/serve.sh and tools/remote/serve.sh run their own, on loopback,
# so a policy-rc.d that answers 101 ("action not allowed") holds every service back during the
# install; it is removed afterwards (an existing policy-rc.d is left alone).
set -euo pipefail
[[ $# -gt 0 ]] || { echo "usage: $0 PKG..." >&2; exit 2; }
if [[ $(id -u) -ne 0 ]]; then
  echo "$0: installing $* needs root. Run (as root, or with sudo where it exists):" >&2
  echo "  apt-get install -y --no-install-recommends $*" >&2
  exit 1
fi
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends "$@" >&2 ||
  { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "$@" >&2; }
