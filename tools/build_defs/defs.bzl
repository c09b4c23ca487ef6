"""tinytorch's build macros: libraries and tests whose imports are checked at build time.

    tinytorch_library(name, srcs, deps)  py_library + strict import check, layered visibility
    tinytorch_test(name, srcs, deps)     py_test that runs pytest on srcs + strict import check

The check (tools/importcheck/check_imports.py) parses every source with `ast` and accepts an import
only if the target's own srcs, one of its DIRECT deps, or the standard library provides it; and it
accepts a direct dep only if some import needs it (RUNNER_DEPS of a test excepted). It runs as a
cached build action, so `bazel build` fails on an undeclared import or an unused dep, naming the
file, the import or dep, why, and the fix.
"""

load("//modules:modules.bzl", "module_number", "module_visibility")

PYTEST = "@pypi//pytest"

# What tools/testing/pytest_runner.py (the `main` of every test) imports: added to every test's deps
# and never reported as unused, though the test's own sources need not import it.
RUNNER_DEPS = [PYTEST]

ImportsInfo = provider(
    doc = "What a Python target provides to targets that depend on it.",
    fields = {
        "entry": "JSON string {label, modules, prefixes}: the modules this target provides itself",
        "transitive": "depset of `entry` strings of this target and all its deps",
        "checks": "depset of import-check stamp files of this target and all its deps",
    },
)

def _import_roots(label, imports):
    """Import roots as paths relative to the repository root ('modules/01_tensor')."""
    roots = []
    for imp in imports:
        parts = [p for p in (label.package + "/" + imp).split("/") if p and p != "."]
        roots.append("/".join(parts))
    return roots or [""]

def _module_name(path, roots):
    for root in sorted(roots, key = len, reverse = True):
        if root == "" or path.startswith(root + "/"):
            rel = path[len(root) + 1:] if root else path
            if rel.endswith(".py"):
                rel = rel[:-3]
            if rel.endswith("/__init__"):
                rel = rel[:-len("/__init__")]
            return rel.replace("/", ".")
    return None

def _repo_path(f):
    """Path of a file relative to its own repository root."""
    return f.short_path[3:].split("/", 1)[1] if f.short_path.startswith("../") else f.short_path

def _short(label):
    """'@pypi//numpy:numpy' -> '@pypi//numpy', as users write it."""
    text = str(label)
    if text.endswith(":" + label.name) and label.package.split("/")[-1] == label.name:
        return text[:-len(label.name) - 1]
    return text

def provided_entry(label, srcs, imports, tags):
    """JSON entry for what a target provides: module names, or top-level names for @pypi."""
    prefixes = [t[len("provides:"):] for t in tags if t.startswith("provides:")]
    roots = _import_roots(label, imports)
    modules = []
    for f in srcs:
        name = _module_name(_repo_path(f), roots)
        if name and name not in modules:
            modules.append(name)
    return json.encode(struct(label = _short(label), modules = modules, prefixes = prefixes))

def _run_check(ctx, label, srcs, deps, kind, stamp_name, imports, display = None, needed_without_import = []):
    """Registers the import-check action; returns its stamp file."""
    direct = [d[ImportsInfo] for d in deps if ImportsInfo in d]
    roots = _import_roots(label, imports)
    manifest = ctx.actions.declare_file(stamp_name + ".json")
    ctx.actions.write(manifest, json.encode(struct(
        label = display or str(label),
        kind = kind,
        build_file = ctx.build_file_path,
        needed_without_import = needed_without_import,
        module_number = module_number(label.package),
        srcs = [struct(path = f.path, module = _module_name(_repo_path(f), roots) or "") for f in srcs],
        own = provided_entry(label, srcs, imports, []),
        direct = [d.entry for d in direct],
        transitive = depset(transitive = [d.transitive for d in direct]).to_list(),
    )))
    stamp = ctx.actions.declare_file(stamp_name)
    ctx.actions.run(
        executable = ctx.executable._checker,
        arguments = [manifest.path, ctx.file._index.path, stamp.path],
        inputs = srcs + [manifest, ctx.file._index],
        outputs = [stamp],
        mnemonic = "ImportCheck",
        progress_message = "Checking the imports of %s" % (display or label),
    )
    return stamp

_CHECK_ATTRS = {
    "_checker": attr.label(default = "//tools/importcheck:check_imports", executable = True, cfg = "exec"),
    "_index": attr.label(default = "//modules:index", allow_single_file = True),
}

def _import_aspect_impl(target, ctx):
    rule = ctx.rule
    srcs = [f for f in getattr(rule.files, "srcs", []) if f.extension == "py"]
    deps = getattr(rule.attr, "deps", [])
    entry = provided_entry(target.label, srcs, getattr(rule.attr, "imports", []), rule.attr.tags)
    checks = []
    if srcs and target.label.workspace_name == "":
        checks.append(_run_check(ctx, target.label, srcs, deps, "library", target.label.name + ".imports.ok", getattr(rule.attr, "imports", [])))
    return [ImportsInfo(
        entry = entry,
        transitive = depset([entry], transitive = [d[ImportsInfo].transitive for d in deps if ImportsInfo in d]),
        checks = depset(checks, transitive = [d[ImportsInfo].checks for d in deps if ImportsInfo in d]),
    )]

import_aspect = aspect(
    implementation = _import_aspect_impl,
    attr_aspects = ["deps"],
    attrs = _CHECK_ATTRS,
    doc = "Checks the imports of every Python library it reaches and says what each provides.",
)

def _library_import_check_impl(ctx):
    info = ctx.attr.library[ImportsInfo]
    return [DefaultInfo(files = info.checks, runfiles = ctx.runfiles(transitive_files = info.checks))]

_library_import_check = rule(
    implementation = _library_import_check_impl,
    attrs = {"library": attr.label(aspects = [import_aspect], mandatory = True)},
    doc = "Builds the import check of a library (and of its deps): `bazel build //pkg/...` runs it.",
)

def _test_import_check_impl(ctx):
    test = "//%s:%s" % (ctx.label.package, ctx.label.name[:-len(".import_check")])
    stamp = _run_check(ctx, ctx.label, ctx.files.srcs, ctx.attr.deps, "test", ctx.label.name + ".ok", [], test, RUNNER_DEPS)
    checks = depset([stamp], transitive = [d[ImportsInfo].checks for d in ctx.attr.deps])
    return [DefaultInfo(files = depset([stamp]), runfiles = ctx.runfiles(transitive_files = checks))]

_test_import_check = rule(
    implementation = _test_import_check_impl,
    attrs = dict(_CHECK_ATTRS, **{
        "srcs": attr.label_list(allow_files = [".py"]),
        "deps": attr.label_list(aspects = [import_aspect]),
    }),
    doc = "Checks a test's own sources; its runfiles carry every check of its deps, gating the test.",
)

def _module_index_impl(ctx):
    entries = [lib[ImportsInfo].entry for lib in ctx.attr.libs]
    out = ctx.actions.declare_file(ctx.label.name + ".json")
    ctx.actions.write(out, "[\n" + ",\n".join(entries) + "\n]\n")
    return [DefaultInfo(files = depset([out]))]

def _provides_aspect_impl(target, ctx):
    entry = provided_entry(
        target.label,
        [f for f in getattr(ctx.rule.files, "srcs", []) if f.extension == "py"],
        getattr(ctx.rule.attr, "imports", []),
        ctx.rule.attr.tags,
    )
    return [ImportsInfo(entry = entry, transitive = depset([entry]), checks = depset())]

_provides_aspect = aspect(implementation = _provides_aspect_impl)

module_index = rule(
    implementation = _module_index_impl,
    attrs = {"libs": attr.label_list(aspects = [_provides_aspect])},
    doc = "JSON list of {label, modules, prefixes} for every registered library.",
)

def tinytorch_library(name, srcs, deps = [], visibility = None, **kwargs):
    """A py_library rooted at its package folder, with a build-time import check.

    In modules/NN_name, visibility is the module's layer (higher-numbered modules only); elsewhere
    it defaults to private.
    """
    if visibility == None and module_number(native.package_name()) != None:
        visibility = module_visibility(native.package_name())
    native.py_library(
        name = name,
        srcs = srcs,
        deps = deps,
        imports = ["."] if module_number(native.package_name()) != None else kwargs.pop("imports", []),
        visibility = visibility,
        srcs_version = "PY3",
        **kwargs
    )
    _library_import_check(
        name = name + ".import_check",
        library = ":" + name,
        testonly = kwargs.get("testonly", False),
    )

def tinytorch_test(name, srcs, deps = [], data = [], size = "small", args = [], **kwargs):
    """A py_test that runs pytest over `srcs` and writes JUnit XML for Bazel's test.xml.

    `deps` must list exactly what `srcs` import (RUNNER_DEPS, i.e. pytest, are added); the import
    check, and the checks of every library below, must pass before the test can run.
    """
    all_deps = deps + [d for d in RUNNER_DEPS if d not in deps]
    _test_import_check(
        name = name + ".import_check",
        srcs = srcs,
        deps = all_deps,
        testonly = True,
    )
    native.py_test(
        name = name,
        srcs = srcs + ["//tools/testing:pytest_runner.py"],
        main = "//tools/testing:pytest_runner.py",
        deps = all_deps,
        data = data + [":" + name + ".import_check"],
        args = args + ["$(rootpath %s)" % s for s in srcs],
        size = size,
        python_version = "PY3",
        srcs_version = "PY3",
        **kwargs
    )
