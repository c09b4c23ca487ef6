"""benchmark_binary: a py_binary whose imports get tinytorch's strict-deps check.

tinytorch_library's check target carries no tags, so a library depending on the benchmark-only
@pypi_torch would make `bazel build //...` fetch PyTorch. Here the library, its check and the
binary all take the same `tags`: with tags = ["manual"] none of them is part of //..., and
`bazel run //benchmarks:NAME` builds the check before running.
"""

load("//tools/build_defs:defs.bzl", "ImportsInfo", "import_aspect")

def _imports_checked_impl(ctx):
    checks = ctx.attr.library[ImportsInfo].checks
    return [DefaultInfo(files = checks, runfiles = ctx.runfiles(transitive_files = checks))]

_imports_checked = rule(
    implementation = _imports_checked_impl,
    attrs = {"library": attr.label(aspects = [import_aspect], mandatory = True)},
    doc = "Runs the strict import check of a library and of everything it depends on.",
)

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
    _imports_checked(
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
