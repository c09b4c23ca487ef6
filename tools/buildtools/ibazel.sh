#!/usr/bin/env bash
# ibazel.sh IBAZEL BUILDOZER BAZEL_WRAPPER [IBAZEL_ARG...]: ibazel in the workspace root, for
# `bazel run //tools:ibazel`.
#
#   ./bazelw run //tools:ibazel -- test //modules/11_embeddings/...
#
# Re-runs the command on every source change. With the pinned buildozer first on PATH, the rule of
# .bazel_fix_commands.json (a regex for the strict-deps checker's `buildozer '...' //target` lines)
# makes ibazel apply each fix itself; the edited BUILD file then triggers the next build. Pass
# -run_output_interactive=true to be asked before each command. ibazel drives the same Bazel server
# (output base) as the `bazel run` that started it, through ./bazelw when the workspace has one.
set -euo pipefail
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
ibazel=$(abs "$1")
buildozer_dir=$(dirname "$(abs "$2")")
bazel_wrapper=$(abs "$3")
shift 3
if [ -z "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then
  echo "ibazel: run me with bazel run //tools:ibazel -- test //pkg/... (BUILD_WORKSPACE_DIRECTORY is unset)" >&2
  exit 2
fi
here=$(pwd)  # OUTPUT_BASE/execroot/WORKSPACE/bazel-out/.../ibazel.runfiles/WORKSPACE
cd "$BUILD_WORKSPACE_DIRECTORY"
bazel=$(command -v bazel || true)
[ -x ./bazelw ] && bazel=$PWD/bazelw
case "$here" in
  */execroot/*)
    export TINYTORCH_IBAZEL_BAZEL=$bazel TINYTORCH_IBAZEL_OUTPUT_BASE=${here%%/execroot/*}
    bazel=$bazel_wrapper
    ;;
esac
export PATH="$buildozer_dir:$PATH"
# ibazel's own flags (single dash) come before the command.
ibazel_flags=(-bazel_path="$bazel" -run_output=true -run_output_interactive=false)
while [ $# -gt 0 ] && [[ "$1" == -[a-z]* ]]; do
  ibazel_flags+=("$1")
  shift
done
if [ $# -eq 0 ]; then
  echo "usage: ./bazelw run //tools:ibazel -- [IBAZEL_FLAG...] build|test|run TARGET..." >&2
  exit 2
fi
exec "$ibazel" "${ibazel_flags[@]}" "$@"
