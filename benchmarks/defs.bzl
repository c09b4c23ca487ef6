"""benchmark_binary: a py_binary whose imports get tinytorch's strict-deps check.

A library depending on the benchmark-only @pypi_torch would make `bazel build //...` fetch PyTorch.
Here the library, its check and the binary all take the same `tags`: with tags = ["manual"] none
of them is part of //..., and `bazel run //benchmarks:NAME` builds the check before running.
"""

load("//tools/build_defs:defs.bzl", "library_import_check")

def benchmark_binary(name, srcs, deps, tags = [], **kwargs):
    """py_binary `name` running srcs[0]; its sources are checked like a tinytorch_library."""
    native.py_library(
        name = name + "_lib",
        srcs = srcs,
        deps = deps,
        imports = ["."],
        srcs_version = "PY3",
        tags = tags,
    )
    library_import_check(
        name = name + ".import_check",
        library = ":" + name + "_lib",
        tags = tags,
    )
    native.py_binary(
        name = name,
        srcs = srcs,
        main = srcs[0],
        deps = [":" + name + "_lib"],
        data = [":" + name + ".import_check"],
        python_version = "PY3",
        srcs_version = "PY3",
        tags = tags,
        **kwargs
    )
