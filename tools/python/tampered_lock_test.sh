#!/usr/bin/env bash
# Proof that a tampered hash in requirements_lock.txt fails the @pypi fetch, naming the package.
# Works in a scratch copy of the workspace with its own --output_base; run by .ci/run.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
trap 'bazel --output_base="$scratch/ob" shutdown >/dev/null 2>&1; rm -rf "$scratch"' EXIT
mkdir -p "$scratch/ws"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null) | tar -C "$scratch/ws" -xf -

# Flip the first hex digit of every numpy hash: any wheel pip picks now mismatches.
python3 - "$scratch/ws/requirements_lock.txt" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
start = text.index("numpy==")
end = text.index("# via", start)
flip = lambda m: "sha256:" + ("1" if m.group(1) == "0" else "0")
open(path, "w").write(text[:start] + re.sub(r"sha256:([0-9a-f])", flip, text[start:end]) + text[end:])
PY

(cd "$scratch/ws" && bazel --output_base="$scratch/ob" build --curses=no @pypi//numpy) >"$scratch/log" 2>&1
code=$?
version=$(grep -o '^numpy==[^ ]*' "$root/requirements_lock.txt")
if [ "$code" -ne 0 ] && grep -qF "Hash check failed for //:requirements_lock.txt" "$scratch/log" \
   && grep -qF "package: $version" "$scratch/log"; then
  echo "PASS tampered numpy hash fails the fetch and names $version"
  echo "tampered-lock check: 1 passed, 0 failed"
else
  echo "FAIL tampered hash was not reported as expected (exit $code):"
  sed 's/^/    | /' "$scratch/log" | tail -30
  echo "tampered-lock check: 0 passed, 1 failed"
  exit 1
fi
