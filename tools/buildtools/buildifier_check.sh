#!/usr/bin/env bash
# buildifier_check.sh BUILDIFIER FLAG... -- PATH=RUNFILE...: fails if a Starlark file needs formatting
# or has a lint warning. Each file (the test's data, tools/buildtools/starlark_files.bzl) is copied to
# its workspace PATH under a scratch root first, so buildifier sees the same paths, packages and
# nested WORKSPACE files as `./bazelw run //:buildifier` does in the real tree, and names files as
# they are named there.
set -uo pipefail
buildifier=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
flags=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  flags+=("$1")
  shift
done
shift
ws=${TEST_TMPDIR:-$(mktemp -d)}/ws
paths=()
for pair in "$@"; do
  path=${pair%%=*}
  mkdir -p "$ws/$(dirname "$path")"
  cp "${pair#*=}" "$ws/$path"
  paths+=("$path")
done
cd "$ws"
"$buildifier" --mode=check "${flags[@]}" "${paths[@]}"
code=$?
case $code in
  0) echo "buildifier_check: ${#paths[@]} files formatted, no lint warnings" ;;
  4) echo "buildifier_check: FAILED: the files above need formatting ('# reformat') or have lint warnings." \
       "Fix: ./bazelw run //:buildifier (formats; a lint warning needs a hand edit, or a" \
       "'# buildifier: disable=CATEGORY' comment saying why)" ;;
  *) echo "buildifier_check: buildifier failed (exit $code)" ;;
esac
exit "$code"
