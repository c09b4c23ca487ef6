#!/usr/bin/env bash
# Mutation score of a tinytorch library: tools/mutation/run.sh //modules/10_tokenization:tokenization
# (--help for the options). Runs on TINYTORCH_PYTHON, else python3 if it has numpy and pytest, else
# on the interpreter with the hash-locked @pypi packages that `./bazelw build` fetched.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
workspace="$(cd "$here/../.." && pwd)"
python="${TINYTORCH_PYTHON:-python3}"
export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
if ! "$python" -c 'import numpy, pytest' 2>/dev/null; then
  # The lock's packages, as Bazel installed them: @pypi//<name>/site.
  (cd "$workspace" && ./bazelw build @pypi//numpy @pypi//pytest >&2)
  external="$(cd "$workspace" && ./bazelw info output_base 2>/dev/null)/external/pypi"
  PYTHONPATH="$(ls -d "$external"/*/site | tr '\n' ':')${PYTHONPATH:-}"
  export PYTHONPATH
fi
exec "$python" "$here/mutate.py" "$@"
