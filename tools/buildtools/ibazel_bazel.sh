#!/bin/sh
# The Bazel that //tools:ibazel hands to ibazel (-bazel_path): the workspace's Bazel with the output
# base of the `bazel run` that started ibazel, on every command. ibazel forwards --output_base to
# its build/test/run commands only, not to its `info` and `query` calls, which would start a second
# server (on a second output base) for a scratch copy run with its own --output_base.
exec "$TINYTORCH_IBAZEL_BAZEL" --output_base="$TINYTORCH_IBAZEL_OUTPUT_BASE" "$@"
