#!/usr/bin/env bash
# Proof that a tampered hash in requirements_lock.txt fails the @pypi fetch, naming the package, on
# both of pypi_install's paths:
#   1. the lock alone is tampered: requirements_lock.wheels.json no longer matches it, so the rule
#      warns (naming the stale file, the pin and the fix) and installs with pip, whose hash check fails;
#   2. the lock and the wheels file are tampered alike: the rule downloads the wheel itself, and
#      Bazel's hash check of the download fails.
# Works in a scratch copy of the workspace with its own --output_base; run by .ci/run.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
trap 'bazel --output_base="$scratch/ob" shutdown >/dev/null 2>&1; rm -rf "$scratch"' EXIT
mkdir -p "$scratch/ws"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null) | tar -C "$scratch/ws" -xf -
cp "$scratch/ws/requirements_lock.txt" "$scratch/lock.orig"
cp "$scratch/ws/requirements_lock.wheels.json" "$scratch/wheels.orig"

version=$(grep -o '^numpy==[^ ]*' "$root/requirements_lock.txt")
passed=0 failed=0

fetch() {  # fetch LOG: builds @pypi//numpy in the scratch copy; its exit code
  (cd "$scratch/ws" && bazel --output_base="$scratch/ob" build --curses=no @pypi//numpy) >"$1" 2>&1
}

check() {  # check NAME LOG CODE PATTERN...: PASS if the fetch failed and LOG has every fixed-string PATTERN
  local name=$1 log=$2 code=$3 missing=""
  shift 3
  for pattern in "$@"; do
    grep -qF -- "$pattern" "$log" || missing+="    missing: $pattern"$'\n'
  done
  if [ "$code" -ne 0 ] && [ -z "$missing" ]; then
    echo "PASS $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name (exit $code):"
    printf '%s' "$missing"
    sed 's/^/    | /' "$log" | tail -30
    failed=$((failed + 1))
  fi
}

# 1. Flip the first hex digit of every numpy hash of the lock: any wheel pip picks now mismatches.
python3 - "$scratch/ws/requirements_lock.txt" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
start = text.index("numpy==")
end = text.index("# via", start)
flip = lambda m: "sha256:" + ("1" if m.group(1) == "0" else "0")
open(path, "w").write(text[:start] + re.sub(r"sha256:([0-9a-f])", flip, text[start:end]) + text[end:])
PY
fetch "$scratch/log1"
code=$?
check "lock tampered alone: stale wheels file warned about, pip's hash check fails and names $version" \
  "$scratch/log1" $code \
  "//:requirements_lock.wheels.json is stale: it does not match //:requirements_lock.txt." \
  "  - $version: the recorded wheel's sha256" \
  "Fix: ./bazelw run //:requirements.update" \
  "Hash check failed for //:requirements_lock.txt" \
  "package: $version"

# 2. Replace the recorded numpy hash by another one, in the lock and in the wheels file alike: the
#    files agree, so the rule downloads the wheel, and Bazel's check of its bytes must refuse it.
cp "$scratch/lock.orig" "$scratch/ws/requirements_lock.txt"
real=$(python3 - "$scratch/ws/requirements_lock.txt" "$scratch/ws/requirements_lock.wheels.json" <<'PY'
import json, sys
lock_path, wheels_path = sys.argv[1:]
wheels = json.load(open(wheels_path))
real = wheels["wheels"]["numpy"]["sha256"]
fake = ("1" if real[0] == "0" else "0") + real[1:]
wheels["wheels"]["numpy"]["sha256"] = fake
json.dump(wheels, open(wheels_path, "w"), indent=2, sort_keys=True)
lock = open(lock_path).read()
assert lock.count("sha256:" + real) == 1, "the recorded numpy hash is not in the lock"
open(lock_path, "w").write(lock.replace("sha256:" + real, "sha256:" + fake))
print(real)
PY
)
fetch "$scratch/log2"
code=$?
check "lock and wheels file tampered alike: Bazel's download check fails and names $version" \
  "$scratch/log2" $code \
  "Hash check failed for //:requirements_lock.txt" \
  "package: $version" \
  "sha256 downloaded: $real"
if grep -qF -e "Installing with pip instead" -e "pip said" "$scratch/log2"; then
  echo "FAIL the tampered download fell back to pip instead of failing"
  failed=$((failed + 1))
fi

echo "tampered-lock check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
