#!/usr/bin/env bash
# in_workspace.sh TOOL [ARG...]: runs TOOL (a runfiles path) in the workspace root, as `bazel run` targets
# that edit sources must (buildozer resolves labels from there).
set -euo pipefail
tool=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
if [ -z "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then
  echo "$(basename "$tool"): run me with bazel run (BUILD_WORKSPACE_DIRECTORY is unset)" >&2
  exit 2
fi
cd "$BUILD_WORKSPACE_DIRECTORY"
exec "$tool" "$@"
