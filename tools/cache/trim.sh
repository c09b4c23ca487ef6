#!/usr/bin/env bash
# Bound the size of a tools/cache/serve.sh storage dir: delete entries, least recently used first,
# until the entries under ac/ and cas/ add up to at most SIZE.
#
#   tools/cache/trim.sh --max-size SIZE [--dry-run] STORAGE_DIR      SIZE: bytes, or with K/M/G/T (1024s)
#
# "Recently used" is the file's access time, which nginx's reads update on a file system mounted
# with strictatime, and at most once a day under the usual relatime (enough for a cache trimmed
# daily; use --dry-run to see the order). Safe while nginx runs: a deleted entry is a miss, and Bazel
# runs the action itself. An action result whose blobs were trimmed is a miss for the same reason.
# Run it from cron or CI, e.g. `tools/cache/trim.sh --max-size 20G ~/.cache/tinytorch-bazel/store`.
# Prints what it did; exits 0 ok, 1 error, 2 usage.
set -euo pipefail

PROG=${0##*/}
die() { echo "$PROG: $*" >&2; exit 1; }
usage() { sed -n '5p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2; exit 2; }

max= dry=false dir=
while [[ $# -gt 0 ]]; do
  case $1 in
    --max-size) max=${2:-}; shift 2 || usage ;;
    --dry-run) dry=true; shift ;;
    -*) usage ;;
    *) [[ -z $dir ]] || usage; dir=$1; shift ;;
  esac
done
[[ -n $max && -n $dir ]] || usage

to_bytes() {
  local v=$1 n unit
  [[ $v =~ ^([0-9]+)([KMGT]?)i?B?$ ]] || die "bad --max-size $v: a whole number of bytes, optionally with K, M, G or T (e.g. 20G)"
  n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]}
  case $unit in
    K) n=$((n << 10)) ;; M) n=$((n << 20)) ;; G) n=$((n << 30)) ;; T) n=$((n << 40)) ;;
  esac
  echo "$n"
}
limit=$(to_bytes "$max")
[[ -d $dir/ac && -d $dir/cas ]] || die "$dir is not a cache storage dir (no ac/ and cas/): pass the STORAGE_DIR of tools/cache/serve.sh"

# atime (seconds), size, path of every entry: oldest first.
list=$(mktemp)
trap 'rm -f "$list"' EXIT
find "$dir/ac" "$dir/cas" -type f -printf '%A@ %s %p\n' | sort -n >"$list"
total=$(awk '{s += $2} END {print s + 0}' "$list")
count=$(wc -l <"$list")
if (( total <= limit )); then
  echo "$PROG: $count entries, $total bytes <= $limit: nothing to delete"
  exit 0
fi
deleted=0 freed=0
while read -r _ size path; do
  (( total - freed > limit )) || break
  if $dry; then echo "would delete $path ($size bytes)"; else rm -f -- "$path"; fi
  deleted=$((deleted + 1)) freed=$((freed + size))
done <"$list"
verb=deleted; $dry && verb="would delete"
echo "$PROG: $verb $deleted of $count entries ($freed bytes, least recently used first): $((total - freed)) bytes <= $limit"
