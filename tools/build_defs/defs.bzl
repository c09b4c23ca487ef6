"""tinytorch's build macros: libraries and tests whose imports are checked at build time.

    tinytorch_library(name, srcs, deps)  py_library + strict import check, layered visibility
    tinytorch_test(name, srcs, deps)     py_test that runs pytest on srcs + strict import check
    tinytorch_binary(name, srcs, deps)   py_binary gated by the import check of its library NAME_lib

The check (tools/importcheck/check_imports.py) parses every source with `ast` and accepts an import
only if the target's own srcs, one of its DIRECT deps, or the standard library provides it; and it
accepts a direct dep only if some import needs it (RUNNER_DEPS of a test excepted). Layering is
judged on what a target REACHES (deps and data, transitively, through aliases and any package), not
on what `visibility` allows. It runs as a cached build action, so `bazel build` fails on an
undeclared import or an unused dep, naming the file, the import or dep, why, and the fix.

`import_aspect` is also applied to every top-level target from .bazelrc (`--aspects`): a plain
`py_test`, `py_binary` or `py_library` written without these macros is checked all the same, and a
test's run-time guard (tools/testing/guard.py) refuses to run a py_test that has no manifest.
"""

load("//modules:modules.bzl", "module_number", "module_visibility")

PYTEST = "@pypi//pytest"

# What tools/testing/pytest_runner.py (the `main` of every test) imports: added to every test's deps
# and never reported as unused, though the test's own sources need not import it.
RUNNER_DEPS = [PYTEST, "@pypi//coverage"]

RUNNER = "//tools/testing:pytest_runner.py"

ImportsInfo = provider(
    doc = "What a Python target provides to targets that depend on it.",
    fields = {
        "entry": "JSON string {label, modules, prefixes, external, python, kind}: what this target provides itself",
        "transitive": "depset of `entry` strings of this target and all its deps",
        "reached": "depset of `entry` strings of everything reached through deps and data (layering)",
        "checks": "depset of import-check stamp files of this target and all its deps",
        "names": "list of the names JSON files of this target's own check (empty: not checked / external)",
        "nodes": "depset of JSON strings {label, files, deps} for the run-time guard",
    },
)

# Private on purpose: a provider whose name starts with `_` cannot be loaded from another .bzl file,
# so no rule but the ones below can claim that a target's sources were checked.
_CheckedInfo = provider(
    doc = "Returned only by this file's check rules: the source files they checked.",
    fields = {"srcs": "list of File"},
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

def _runfiles_path(ctx, f):
    """Path of a file under the runfiles root ('tinytorch_workspace/modules/...', 'pypi/...')."""
    return f.short_path[3:] if f.short_path.startswith("../") else ctx.workspace_name + "/" + f.short_path

def _short(label):
    """'@pypi//numpy:numpy' -> '@pypi//numpy', as users write it."""
    text = str(label)
    if text.endswith(":" + label.name) and label.package.split("/")[-1] == label.name:
        return text[:-len(label.name) - 1]
    return text

def provided_entry(label, srcs, imports, tags, python = True, kind = ""):
    """JSON entry for what a target provides: module names, or top-level names for @pypi.

    Only a third-party target (another repository, i.e. @pypi) may declare whole subtrees with a
    `provides:` tag; on a first-party target the tag is ignored, so it cannot make imports pass.

    Args:
      label: the target's Label.
      srcs: its .py Files.
      imports: its `imports` attribute (import roots relative to its package).
      tags: its tags (`provides:NAME` counts for external targets only).
      python: whether it is a Python target (False: a filegroup or other rule in deps).
      kind: its rule class, for messages.

    Returns:
      The entry as a JSON string {label, modules, prefixes, external, python, kind}.
    """
    external = label.workspace_name != ""
    prefixes = [t[len("provides:"):] for t in tags if t.startswith("provides:")] if external else []
    roots = _import_roots(label, imports)
    modules = []
    for f in srcs:
        name = _module_name(_repo_path(f), roots)
        if name and name not in modules:
            modules.append(name)
    return json.encode(struct(
        label = _short(label),
        modules = modules,
        prefixes = prefixes,
        external = external,
        python = python,
        kind = kind,
    ))

def _direct_entries(label, deps, written):
    """Entries of the direct deps, each under the label written in BUILD.

    `written` (same order as deps) names each dep as BUILD spells it, so an `alias` is reported
    (and fixed by buildozer) under the label the user wrote.
    """
    entries = []
    for i, d in enumerate(deps):
        if ImportsInfo not in d:
            continue
        e = json.decode(d[ImportsInfo].entry)
        if i < len(written):
            as_written = _short(label.relative(written[i]))
            if as_written != e["label"]:
                e["written"] = as_written
        names = d[ImportsInfo].names
        e["names_file"] = names[0].path if names else None
        entries.append(e)
    return entries

def _run_check(ctx, label, srcs, deps, kind, stamp_name, imports, display = None, needed_without_import = [], data = [], written = [], data_py = []):
    """Registers the import-check action; returns (stamp, names file)."""
    direct = [d[ImportsInfo] for d in deps if ImportsInfo in d]
    reached = [d[ImportsInfo] for d in deps + data if ImportsInfo in d]
    roots = _import_roots(label, imports)
    manifest = ctx.actions.declare_file(stamp_name + ".json")
    names = ctx.actions.declare_file(stamp_name + ".names.json")
    ctx.actions.write(manifest, json.encode(struct(
        label = display or str(label),
        kind = kind,
        build_file = ctx.build_file_path if hasattr(ctx, "build_file_path") else label.package + "/BUILD.bazel",
        needed_without_import = needed_without_import,
        module_number = module_number(label.package) if label.workspace_name == "" else None,
        srcs = [struct(path = f.path, module = _module_name(_repo_path(f), roots) or "") for f in srcs],
        own = provided_entry(label, srcs, imports, []),
        direct = _direct_entries(label, deps, written),
        transitive = depset(transitive = [d.transitive for d in direct]).to_list(),
        reached = depset(transitive = [d.reached for d in reached]).to_list(),
        data_py = [f.path for f in data_py],
        names_out = names.path,
    )))
    stamp = ctx.actions.declare_file(stamp_name)
    checker = ctx.attr._checker[_CompiledScriptInfo]

    # The check's own arguments go in a params file: as a persistent worker the checker gets them
    # as one request; without a worker (remote execution, --strategy=ImportCheck=...) it reads the file.
    args = ctx.actions.args()
    args.add_all([manifest, ctx.file._index, stamp])
    args.use_param_file("@%s", use_always = True)
    args.set_param_file_format("multiline")
    ctx.actions.run(
        executable = checker.interpreter,
        tools = depset([checker.pyc], transitive = [checker.runtime_files]),
        arguments = [checker.pyc.path, args],
        execution_requirements = {"supports-workers": "1"},
        inputs = depset(srcs + data_py + [manifest, ctx.file._index], transitive = [depset(d.names) for d in direct]),
        outputs = [stamp, names],
        mnemonic = "ImportCheck",
        progress_message = "Checking the imports of %s" % (display or label),
    )
    return stamp, names

_CompiledScriptInfo = provider(
    doc = "A stdlib-only Python script compiled once, and the interpreter that runs it (py_compiled_script).",
    fields = {
        "pyc": "File: the script's bytecode, runnable as `interpreter pyc ARGS`",
        "interpreter": "File: the toolchain's interpreter (the -S -s -P wrapper)",
        "runtime_files": "depset of the interpreter's files",
    },
)

def _byte_compile(ctx, runtime, pairs, progress_message):
    """One action: the toolchain's interpreter runs tools/python/compile_pyc.py on (source, .pyc) pairs."""
    params = []
    for src, out in pairs:
        params += [src.path, out.path, _runfiles_path(ctx, src)]
    params_file = ctx.actions.declare_file(ctx.label.name + ".params")
    ctx.actions.write(params_file, "\n".join(params) + "\n")
    ctx.actions.run(
        executable = runtime.interpreter,
        tools = runtime.files,
        arguments = [ctx.file._compiler.path, "@" + params_file.path],
        inputs = [src for src, _ in pairs] + [ctx.file._compiler, params_file],
        outputs = [out for _, out in pairs],
        mnemonic = "PyBytecode",
        progress_message = progress_message,
    )

def _py_compiled_script_impl(ctx):
    runtime = ctx.toolchains["@bazel_tools//tools/python:toolchain_type"].py3_runtime
    pyc = ctx.actions.declare_file(ctx.label.name + ".pyc")
    _byte_compile(ctx, runtime, [(ctx.file.src, pyc)], "Byte-compiling %s" % ctx.label)
    return [
        DefaultInfo(files = depset([pyc])),
        _CompiledScriptInfo(pyc = pyc, interpreter = runtime.interpreter, runtime_files = runtime.files),
    ]

py_compiled_script = rule(
    implementation = _py_compiled_script_impl,
    attrs = {
        "src": attr.label(allow_single_file = [".py"], mandatory = True),
        "_compiler": attr.label(default = Label("//tools/python:compile_pyc.py"), allow_single_file = True),
    },
    toolchains = ["@bazel_tools//tools/python:toolchain_type"],
    doc = """A stdlib-only script as bytecode plus the interpreter to run it, for build actions that run
it many times. The import check runs once per target: as a py_binary each run started two
interpreters (Bazel's launcher stub, then the script) and compiled 1,700 lines again (runfiles are
read-only, so no .pyc is ever kept): 0.27 s a check, 111 checks in a cold build. Run as
`python3 -S -s -P check_imports.pyc`, the launcher and the compile are gone.""",
)

_CHECK_ATTRS = {
    "_checker": attr.label(default = "//tools/importcheck:check_imports_compiled", cfg = "exec", providers = [_CompiledScriptInfo]),
    "_index": attr.label(default = "//modules:index", allow_single_file = True),
}

_PY_KINDS = ["py_library", "py_test", "py_binary"]

def _checked_by(data, srcs):
    """For a py_test/py_binary: does one of its data targets (a check rule of this file) check srcs?"""
    wanted = sorted([f.path for f in srcs])
    for d in data:
        if _CheckedInfo in d:
            checked = [f.path for f in d[_CheckedInfo].srcs]
            if not [p for p in wanted if p not in checked]:
                return True
    return False

def _import_aspect_impl(target, ctx):
    rule = ctx.rule
    first_party = target.label.workspace_name == ""
    python = PyInfo in target or rule.kind in _PY_KINDS
    srcs = [f for f in getattr(rule.files, "srcs", []) if f.extension == "py"] if python else []
    deps = getattr(rule.attr, "deps", [])
    data = getattr(rule.attr, "data", [])
    imports = getattr(rule.attr, "imports", [])
    entry = provided_entry(target.label, srcs, imports, rule.attr.tags, python = python, kind = rule.kind)
    dep_infos = [d[ImportsInfo] for d in deps if ImportsInfo in d]
    data_infos = [d[ImportsInfo] for d in data if ImportsInfo in d]
    checks = []
    names = []
    if first_party and python and rule.kind not in ("py_test", "py_binary"):
        stamp, names_file = _run_check(ctx, target.label, srcs, deps, "library", target.label.name + ".imports.ok", imports, data = data)
        checks.append(stamp)
        names.append(names_file)
    elif first_party and rule.kind in ("py_test", "py_binary"):
        # A test or binary not made by tinytorch_test / tinytorch_library: check it here (top level).
        runner = [f for f in srcs if str(f.owner) == str(Label(RUNNER))]
        own = [f for f in srcs if f not in runner]
        for d in data:
            if d.label.name == target.label.name + ".import_check" and _CheckedInfo not in d:
                fail("%s: %s is not an import check made by tinytorch_test (//tools/build_defs:defs.bzl); " % (target.label, d.label) +
                     "a hand-written target of that name would let the test skip the strict-deps check. " +
                     "Fix: use tinytorch_test.")
        if not _checked_by(data, own):
            kind = "test" if rule.kind == "py_test" else "binary"
            stamp, _ = _run_check(
                ctx,
                target.label,
                own,
                deps,
                kind,
                target.label.name + ".toplevel.imports.ok",
                [],
                needed_without_import = RUNNER_DEPS if runner else [],
                data = data,
            )
            checks.append(stamp)
    node = json.encode(struct(
        label = _short(target.label),
        files = [_runfiles_path(ctx, f) for f in srcs],
        deps = [json.decode(d.entry)["label"] for d in dep_infos],
    ))
    all_checks = depset(checks, transitive = [i.checks for i in dep_infos + data_infos])
    return [
        ImportsInfo(
            entry = entry,
            transitive = depset([entry], transitive = [i.transitive for i in dep_infos]),
            reached = depset([entry], transitive = [i.reached for i in dep_infos + data_infos]),
            checks = all_checks,
            names = names,
            nodes = depset([node], transitive = [i.nodes for i in dep_infos]),
        ),
        OutputGroupInfo(import_checks = all_checks),
    ]

import_aspect = aspect(
    implementation = _import_aspect_impl,
    attr_aspects = ["deps", "data"],
    attrs = _CHECK_ATTRS,
    doc = "Checks the imports of every Python target it reaches and says what each provides.",
)

def _library_import_check_impl(ctx):
    info = ctx.attr.library[ImportsInfo]
    srcs = [f for f in ctx.attr.library[DefaultInfo].files.to_list() if f.extension == "py"]
    return [
        DefaultInfo(files = info.checks, runfiles = ctx.runfiles(transitive_files = info.checks)),
        _CheckedInfo(srcs = srcs),
    ]

library_import_check = rule(
    implementation = _library_import_check_impl,
    attrs = {"library": attr.label(aspects = [import_aspect], mandatory = True)},
    doc = "Builds the import check of a library (and of its deps); a binary puts it in `data` to be gated by it.",
)

def _test_import_check_impl(ctx):
    test = "//%s:%s" % (ctx.label.package, ctx.label.name[:-len(".import_check")])
    data_py = [f for f in ctx.files.data if f.extension == "py"]
    stamp, _ = _run_check(
        ctx,
        ctx.label,
        ctx.files.srcs,
        ctx.attr.deps,
        "test",
        ctx.label.name + ".ok",
        [],
        test,
        RUNNER_DEPS,
        data = ctx.attr.data,
        written = ctx.attr.written_deps,
        data_py = data_py,
    )
    infos = [d[ImportsInfo] for d in ctx.attr.deps if ImportsInfo in d]
    data_infos = [d[ImportsInfo] for d in ctx.attr.data if ImportsInfo in d]
    checks = depset([stamp], transitive = [i.checks for i in infos + data_infos])

    # What the run-time guard of this test allows (tools/testing/guard.py): the files and modules
    # of the test and of everything below it, and who may import whom.
    guard = ctx.actions.declare_file(ctx.label.name + ".guard.json")
    ctx.actions.write(guard, json.encode(struct(
        label = test,
        workspace = ctx.workspace_name,
        srcs = [_runfiles_path(ctx, f) for f in ctx.files.srcs],
        runner = _runfiles_path(ctx, ctx.file._runner),
        deps = [json.decode(i.entry)["label"] for i in infos],
        nodes = [json.decode(n) for n in depset(transitive = [i.nodes for i in infos]).to_list()],
        entries = [json.decode(e) for e in depset(transitive = [i.transitive for i in infos]).to_list()],
        index = _runfiles_path(ctx, ctx.file._index),
    )))
    return [
        DefaultInfo(files = depset([stamp]), runfiles = ctx.runfiles(files = [guard, ctx.file._index], transitive_files = checks)),
        _CheckedInfo(srcs = ctx.files.srcs),
    ]

_test_import_check = rule(
    implementation = _test_import_check_impl,
    attrs = dict(_CHECK_ATTRS, **{
        "srcs": attr.label_list(allow_files = [".py"]),
        "deps": attr.label_list(aspects = [import_aspect]),
        "data": attr.label_list(aspects = [import_aspect], allow_files = True),
        "written_deps": attr.string_list(doc = "deps as written in BUILD, to name an alias as the user wrote it"),
        "_runner": attr.label(default = RUNNER, allow_single_file = True),
    }),
    doc = "Checks a test's own sources; its runfiles carry every check of its deps and the run-time guard's manifest.",
)

_IndexInfo = provider(
    doc = "The entries of a module_index, for another module_index that includes it (`parts`).",
    fields = {"entries": "list of `entry` JSON strings, in order"},
)

def _module_index_impl(ctx):
    entries = [lib[ImportsInfo].entry for lib in ctx.attr.libs]
    for part in ctx.attr.parts:
        entries += part[_IndexInfo].entries
    out = ctx.actions.declare_file(ctx.label.name + ".json")
    ctx.actions.write(out, "[\n" + ",\n".join(entries) + "\n]\n")
    return [DefaultInfo(files = depset([out])), _IndexInfo(entries = entries)]

def _provides_aspect_impl(target, ctx):
    entry = provided_entry(
        target.label,
        [f for f in getattr(ctx.rule.files, "srcs", []) if f.extension == "py"],
        getattr(ctx.rule.attr, "imports", []),
        ctx.rule.attr.tags,
        kind = ctx.rule.kind,
    )
    return [ImportsInfo(entry = entry, transitive = depset([entry]), reached = depset([entry]), checks = depset(), names = [], nodes = depset())]

_provides_aspect = aspect(implementation = _provides_aspect_impl)

module_index = rule(
    implementation = _module_index_impl,
    attrs = {
        "libs": attr.label_list(aspects = [_provides_aspect]),
        "parts": attr.label_list(
            providers = [_IndexInfo],
            doc = "other module_index targets whose entries follow those of `libs` (the @pypi part, " +
                  "//tools/build_defs:pypi_index, lives in another package so that loading //modules " +
                  "needs no @pypi)",
        ),
    },
    doc = "JSON list of {label, modules, prefixes} for every registered library (and those of `parts`).",
)

def _normalize(dep):
    """'@pypi//pytest:pytest' and '@pypi//pytest' are the same target: compare them as one."""
    if ":" in dep:
        package, name = dep.rsplit(":", 1)
        if package.split("/")[-1] == name:
            return package
    return dep

def tinytorch_library(name, srcs, deps = [], visibility = None, **kwargs):
    """A py_library rooted at its package folder, with a build-time import check.

    In modules/NN_name, visibility is the module's layer (higher-numbered modules only) and cannot
    be set; elsewhere it defaults to private.

    Args:
      name: the library's name; its check is NAME.import_check.
      srcs: the library's .py files.
      deps: exactly what srcs import (strict deps, both ways).
      visibility: only outside modules/ (a module library's visibility is its layer).
      **kwargs: passed to py_library (testonly, tags, data, imports outside modules/).
    """
    in_module = module_number(native.package_name()) != None
    if in_module and visibility != None:
        fail(("tinytorch_library(name = \"%s\") in %s: do not set `visibility` on a module library. " +
              "Layering decides who may use it: only higher-numbered modules (and //examples, //benchmarks, " +
              "//tests) may depend on module %02d, and a target that reaches a later module fails the build " +
              "whatever visibility says. If a lower module needs this code, the code belongs in that lower " +
              "module; if a test of a lower module needs it, move the test up to this module.") %
             (name, native.package_name(), module_number(native.package_name())))
    if in_module and "imports" in kwargs:
        fail(("tinytorch_library(name = \"%s\") in %s: do not set `imports`. Every module folder is an import " +
              "root of the `tinytorch` namespace package already (imports = [\".\"] is set for you): put the " +
              "file under %s/tinytorch/<core|text|...>/ instead.") % (name, native.package_name(), native.package_name()))
    if in_module:
        visibility = module_visibility(native.package_name())
    native.py_library(
        name = name,
        srcs = srcs,
        deps = deps,
        imports = ["."] if in_module else kwargs.pop("imports", []),
        visibility = visibility,
        srcs_version = "PY3",
        **kwargs
    )
    library_import_check(
        name = name + ".import_check",
        library = ":" + name,
        testonly = kwargs.get("testonly", False),
        tags = kwargs.get("tags", []),
    )

def tinytorch_test(name, srcs, deps = [], data = [], size = "small", args = [], **kwargs):
    """A py_test that runs pytest over `srcs` and writes JUnit XML for Bazel's test.xml.

    `deps` must list exactly what `srcs` import (RUNNER_DEPS, i.e. pytest, are added); the import
    check, and the checks of every library below, must pass before the test can run. At run time
    the interpreter's guard (tools/testing/guard.py) refuses what the build could not see.

    Args:
      name: the test's name; its check is NAME.import_check.
      srcs: the test files pytest runs.
      deps: exactly what srcs import (pytest and the runner's deps are added).
      data: files the test reads (a .py file here is refused: it would never be checked).
      size: Bazel's test size.
      args: extra arguments for pytest, before the test files.
      **kwargs: passed to py_test (env, tags, visibility, ...); `main` is refused.
    """
    if "main" in kwargs:
        fail("tinytorch_test(name = \"%s\"): `main` is the pytest runner (%s); list test files in srcs." % (name, RUNNER))
    normalized = [_normalize(d) for d in deps]
    all_deps = deps + [d for d in RUNNER_DEPS if d not in normalized]
    _test_import_check(
        name = name + ".import_check",
        srcs = srcs,
        deps = all_deps,
        data = data,
        written_deps = [_normalize(d) for d in all_deps],
        testonly = True,
        tags = kwargs.get("tags", []),
    )
    native.py_test(
        name = name,
        srcs = srcs + [RUNNER],
        main = RUNNER,
        deps = all_deps,
        data = data + [":" + name + ".import_check"],
        args = args + ["$(rootpath %s)" % s for s in srcs],
        size = size,
        python_version = "PY3",
        srcs_version = "PY3",
        **kwargs
    )

def tinytorch_binary(name, srcs, deps = [], main = None, data = [], **kwargs):
    """A py_binary whose sources are the tinytorch_library NAME_lib, gated by its import check.

    The binary cannot run before the imports of NAME_lib and of every library below it pass.
    Tests of the binary's code depend on NAME_lib.

    Args:
      name: the py_binary; its library is NAME_lib, the check NAME_lib.import_check.
      srcs: the sources, of the library (checked) and of the binary.
      deps: what srcs import (strict deps, as for tinytorch_library).
      main: as for py_binary (NAME.py in srcs unless given).
      data: data of the binary; NAME_lib.import_check is added.
      **kwargs: to the py_binary (visibility, args, env, ...); testonly and tags also to NAME_lib
        and its check, imports only to NAME_lib.
    """
    lib = name + "_lib"
    library_kwargs = {k: kwargs[k] for k in ("testonly", "tags") if k in kwargs}
    if "imports" in kwargs:
        library_kwargs["imports"] = kwargs.pop("imports")
    tinytorch_library(
        name = lib,
        srcs = srcs,
        deps = deps,
        **library_kwargs
    )
    native.py_binary(
        name = name,
        srcs = srcs,
        main = main,
        deps = [":" + lib],
        data = data + [":" + lib + ".import_check"],
        python_version = "PY3",
        srcs_version = "PY3",
        **kwargs
    )

def _py_bytecode_impl(ctx):
    runtime = ctx.toolchains["@bazel_tools//tools/python:toolchain_type"].py3_runtime
    pairs = []
    prefix = ctx.label.package + "/" if ctx.label.package else ""
    for f in ctx.files.srcs:
        rel = _repo_path(f)[len(prefix):]
        folder, _, base = rel.rpartition("/")
        out = ctx.actions.declare_file((folder + "/" if folder else "") + "__pycache__/" + base[:-len(".py")] + "." + ctx.attr.cache_tag + ".pyc")
        pairs.append((f, out))
    if not pairs:
        return [DefaultInfo()]
    _byte_compile(ctx, runtime, pairs, "Byte-compiling %d files of %s" % (len(pairs), ctx.label))
    outs = [out for _, out in pairs]
    return [DefaultInfo(files = depset(outs), runfiles = ctx.runfiles(files = outs))]

py_bytecode = rule(
    implementation = _py_bytecode_impl,
    attrs = {
        "srcs": attr.label_list(allow_files = [".py"]),
        "cache_tag": attr.string(mandatory = True, doc = "sys.implementation.cache_tag of the toolchain's interpreter"),
        "_compiler": attr.label(default = Label("//tools/python:compile_pyc.py"), allow_single_file = True),
    },
    toolchains = ["@bazel_tools//tools/python:toolchain_type"],
    doc = """The .pyc files of `srcs` (`__pycache__/NAME.CACHE_TAG.pyc` beside each source), compiled
once by the toolchain's interpreter as a cached action. Used by @pypi (tools/python/pypi_build.py):
runfiles are read-only, so a test process can never write the .pyc it compiles, and without these
every test would compile numpy, pytest and pygments again, in every run.""",
)
