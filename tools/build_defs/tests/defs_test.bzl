"""Analysis tests and unit tests of //tools/build_defs:defs.bzl (bazel-skylib's unittest.bzl).

What is tested here, on the fixtures of BUILD.bazel (and on the real //modules:index):
  tinytorch_library  a py_library (imports ["."] in a module, none elsewhere; tags forwarded) and
                     NAME.import_check, whose files and runfiles are the check stamps of the
                     library and of every library below it
  tinytorch_test     a py_test whose main is the pytest runner, NAME.import_check in its data,
                     pytest added once however it is spelled; the check's manifest
  tinytorch_binary   NAME_lib + a py_binary gated by NAME_lib.import_check (no second check)
  import_aspect      the ImportsInfo entry (modules; `provides:` prefixes only for @pypi), reached
                     includes data, a plain py_test gets its own check
  //modules:index    every registered library, then every @pypi package (7c: built in two parts)
  layering           a module library is not visible outside the consumers of modules.bzl

Not here, and why:
  - what the macros refuse while a BUILD file is loaded (`visibility` or `imports` on a module
    library, `main` on tinytorch_test): fail() in the loading phase stops the whole package before
    any analysis test runs. tools/importcheck/e2e_test.sh proves them in a scratch workspace
    (case (n): visibility).
  - the aspect's refusal of a hand-written NAME.import_check in a plain py_test's data: a fail() in
    an aspect under analysistest's expect_failure (--allow_analysis_failures) crashes Bazel 4.2.3
    (NullPointerException in AspectFunction.createAspect), so it too is for a scratch build.
  - the checker's verdicts on what these manifests hold: tools/importcheck/check_imports_test.py.
"""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts", "unittest")
load("@pypi//:packages.bzl", "ALL_PACKAGES")
load("//modules:modules.bzl", "MODULES", "module_libraries", "module_number", "module_visibility")
load("//tools/build_defs:defs.bzl", "ImportsInfo", "PYTEST", "RUNNER", "RUNNER_DEPS", "import_aspect", "provided_entry")

PKG = "//tools/build_defs/tests:"
FIXTURES = "tools/build_defs/tests/fixtures/"

# --- A probe: what a target is, as the rule that made it and as import_aspect sees it ---------------

_FactsInfo = provider(
    doc = "A target's rule attributes, as an aspect reads them (ctx.rule).",
    fields = ["label", "kind", "tags", "imports", "srcs", "deps", "data", "main", "args", "py_imports", "libs"],
)

def _facts_aspect_impl(target, ctx):
    rule = ctx.rule
    main = getattr(rule.attr, "main", None)
    return [_FactsInfo(
        label = str(target.label),
        kind = rule.kind,
        tags = rule.attr.tags,
        imports = getattr(rule.attr, "imports", []),
        srcs = [f.short_path for f in getattr(rule.files, "srcs", [])],
        deps = [str(d.label) for d in getattr(rule.attr, "deps", [])],
        data = [str(d.label) for d in getattr(rule.attr, "data", [])],
        main = str(main.label) if main else None,
        args = getattr(rule.attr, "args", []),
        py_imports = target[PyInfo].imports.to_list() if PyInfo in target else [],
        libs = [lib[_FactsInfo] for lib in getattr(rule.attr, "libs", [])],
    )]

# Along `libs` too: applied to the public //modules:index, it reaches every registered module
# library, which this package may not depend on directly (layering).
_facts_aspect = aspect(implementation = _facts_aspect_impl, attr_aspects = ["libs"])

_ProbeInfo = provider(
    doc = "label -> struct(facts, imports (ImportsInfo or None), files, runfiles) of each probed target.",
    fields = ["targets"],
)

def _probe_impl(ctx):
    targets = {}
    for t in ctx.attr.targets:
        targets[str(t.label)] = struct(
            facts = t[_FactsInfo],
            imports = t[ImportsInfo] if ImportsInfo in t else None,
            files = [f.path for f in t[DefaultInfo].files.to_list()],
            runfiles = [f.path for f in t[DefaultInfo].default_runfiles.files.to_list()],
        )
    return [_ProbeInfo(targets = targets)]

_probe = rule(
    implementation = _probe_impl,
    attrs = {"targets": attr.label_list(aspects = [import_aspect, _facts_aspect])},
    doc = "Applies import_aspect (as .bazelrc does to every top-level target) and reads the result.",
)

def _probed(env, label):
    return analysistest.target_under_test(env)[_ProbeInfo].targets[label]

def _entry(info):
    return json.decode(info.entry)

def _labels(entries):
    return sorted([json.decode(e)["label"] for e in entries.to_list()])

def _basenames(files):
    return sorted([f.basename for f in files.to_list()])

def _written(env, basename):
    """The JSON written by the target under test to the file named `basename`."""
    for action in analysistest.target_actions(env):
        if action.mnemonic == "FileWrite" and [o.basename for o in action.outputs.to_list()] == [basename]:
            return json.decode(action.content)
    analysistest.fail(env, "the target under test writes no file named " + basename)
    return None

# --- tinytorch_library -------------------------------------------------------------------------------

def _library_test_impl(ctx):
    env = analysistest.begin(ctx)
    lib = _probed(env, PKG + "lib")
    asserts.equals(env, "py_library", lib.facts.kind)
    asserts.equals(env, [], lib.facts.imports, "outside modules/ a library gets no import root")
    asserts.equals(env, [FIXTURES + "lib.py"], lib.facts.srcs)
    asserts.equals(env, [PKG + "base"], lib.facts.deps)
    entry = _entry(lib.imports)
    asserts.equals(env, PKG + "lib", entry["label"])
    asserts.equals(env, ["tools.build_defs.tests.fixtures.lib"], entry["modules"])
    asserts.equals(env, False, entry["external"])
    asserts.equals(env, [PKG + "base", PKG + "lib"], _labels(lib.imports.transitive))
    asserts.equals(env, ["base.imports.ok", "lib.imports.ok"], _basenames(lib.imports.checks))

    # NAME.import_check: its files and runfiles are exactly those check stamps.
    check = _probed(env, PKG + "lib.import_check")
    asserts.equals(env, "library_import_check", check.facts.kind)
    stamps = sorted([f.path for f in lib.imports.checks.to_list()])
    asserts.equals(env, stamps, sorted(check.files))
    asserts.equals(env, stamps, sorted(check.runfiles))
    return analysistest.end(env)

library_test = analysistest.make(_library_test_impl)

def _module_library_test_impl(ctx):
    env = analysistest.begin(ctx)
    index = _probed(env, "//modules:index")
    libs = {f.label: f for f in index.facts.libs}
    asserts.equals(env, module_libraries(), [f.label for f in index.facts.libs])
    for label, facts in libs.items():
        folder = Label(label).package.split("/")[1]
        asserts.equals(env, "py_library", facts.kind, label)
        asserts.equals(env, ["."], facts.imports, label + ": every module folder is an import root")
        asserts.true(
            env,
            "tinytorch_workspace/modules/" + folder in facts.py_imports,
            "%s: PyInfo.imports %s lacks the module folder" % (label, facts.py_imports),
        )
    return analysistest.end(env)

module_library_test = analysistest.make(_module_library_test_impl)

def _tags_test_impl(ctx):
    """Item 7b: tags reach the py_library / py_test / py_binary and their check targets."""
    env = analysistest.begin(ctx)
    for name in ["base", "base.import_check", "sample_test", "sample_test.import_check", "tool", "tool_lib", "tool_lib.import_check"]:
        tags = _probed(env, PKG + name).facts.tags
        asserts.true(env, "defs_test_tag" in tags and "manual" in tags, "%s has tags %s" % (name, tags))
    return analysistest.end(env)

tags_test = analysistest.make(_tags_test_impl)

# --- tinytorch_test ----------------------------------------------------------------------------------

def _test_macro_test_impl(ctx):
    env = analysistest.begin(ctx)
    pytest = str(Label(PYTEST))
    runner = str(Label(RUNNER))
    runner_deps = [str(Label(d)) for d in RUNNER_DEPS]
    sample = _probed(env, PKG + "sample_test").facts
    asserts.equals(env, "py_test", sample.kind)
    asserts.equals(env, runner, sample.main, "the main of every test is the pytest runner")
    asserts.equals(env, [FIXTURES + "sample.py", Label(RUNNER).package + "/" + Label(RUNNER).name], sample.srcs)
    asserts.equals(env, [PKG + "lib"] + runner_deps, sample.deps, "@pypi//pytest:pytest is not added twice")
    asserts.equals(env, 1, len([d for d in sample.deps if d == pytest]))
    asserts.equals(env, [PKG + "notes", PKG + "sample_test.import_check"], sample.data)
    asserts.equals(env, ["$(rootpath fixtures/sample.py)"], sample.args)
    short = _probed(env, PKG + "short_test").facts
    asserts.equals(env, runner_deps, short.deps, "the runner's deps are added when the test does not list them")
    asserts.equals(env, 1, len([d for d in short.deps if d == pytest]))
    asserts.equals(env, runner, short.main)
    return analysistest.end(env)

test_macro_test = analysistest.make(_test_macro_test_impl)

def _test_check_manifest_test_impl(ctx):
    """What the checker of sample_test.import_check is given (its verdicts: check_imports_test.py)."""
    env = analysistest.begin(ctx)
    manifest = _written(env, "sample_test.import_check.ok.json")
    asserts.equals(env, PKG + "sample_test", manifest["label"])
    asserts.equals(env, "test", manifest["kind"])
    asserts.equals(env, None, manifest["module_number"])
    asserts.equals(env, RUNNER_DEPS, manifest["needed_without_import"])
    asserts.true(env, PYTEST in RUNNER_DEPS, "the runner is pytest")
    asserts.equals(env, [PKG + "lib"] + RUNNER_DEPS, [e["label"] for e in manifest["direct"]])
    asserts.equals(env, [FIXTURES + "sample.py"], [s["path"] for s in manifest["srcs"]])
    transitive = [json.decode(e)["label"] for e in manifest["transitive"]]
    reached = [json.decode(e)["label"] for e in manifest["reached"]]
    asserts.true(env, PKG + "base" in transitive and PKG + "notes" not in transitive, str(transitive))
    asserts.true(env, PKG + "base" in reached and PKG + "notes" in reached, "data is reached: %s" % reached)
    guard = _written(env, "sample_test.import_check.guard.json")
    asserts.equals(env, PKG + "sample_test", guard["label"])
    asserts.equals(env, "tinytorch_workspace/tools/testing/pytest_runner.py", guard["runner"])
    asserts.equals(env, "tinytorch_workspace/modules/index.json", guard["index"])
    checks = [a for a in analysistest.target_actions(env) if a.mnemonic == "ImportCheck"]
    asserts.equals(env, 1, len(checks))
    inputs = [f.short_path for f in checks[0].inputs.to_list()]
    asserts.true(env, "modules/index.json" in inputs, "the check reads //modules:index: %s" % inputs)

    # The names a first-party dep defines (for "is not defined in") come from its own check.
    lib = manifest["direct"][0]
    asserts.true(env, lib["names_file"].endswith("/tools/build_defs/tests/lib.imports.ok.names.json"), lib["names_file"])
    asserts.true(env, "tools/build_defs/tests/lib.imports.ok.names.json" in inputs, "the names file is an input")
    asserts.equals(env, [None] * len(RUNNER_DEPS), [e["names_file"] for e in manifest["direct"][1:]])
    return analysistest.end(env)

test_check_manifest_test = analysistest.make(_test_check_manifest_test_impl)

def _alias_written_test_impl(ctx):
    env = analysistest.begin(ctx)
    direct = _written(env, "alias_test.import_check.ok.json")["direct"]
    asserts.equals(env, PKG + "lib", direct[0]["label"])
    asserts.equals(env, PKG + "lib_alias", direct[0]["written"], "an alias is reported as written in BUILD")
    return analysistest.end(env)

alias_written_test = analysistest.make(_alias_written_test_impl)

def _filegroup_dep_test_impl(ctx):
    env = analysistest.begin(ctx)
    direct = [e for e in _written(env, "filegroup_test.import_check.ok.json")["direct"] if e["label"] == PKG + "files"]
    asserts.equals(env, 1, len(direct))
    asserts.equals(env, False, direct[0]["python"], "a filegroup is no Python library")
    asserts.equals(env, "filegroup", direct[0]["kind"])
    return analysistest.end(env)

filegroup_dep_test = analysistest.make(_filegroup_dep_test_impl)

def _data_py_manifest_test_impl(ctx):
    env = analysistest.begin(ctx)
    manifest = _written(env, "data_py_test.import_check.ok.json")
    asserts.equals(env, [FIXTURES + "data_file.py"], manifest["data_py"], "a .py file in data goes to the checker")
    return analysistest.end(env)

data_py_manifest_test = analysistest.make(_data_py_manifest_test_impl)

# --- tinytorch_binary --------------------------------------------------------------------------------

def _binary_test_impl(ctx):
    env = analysistest.begin(ctx)
    tool = _probed(env, PKG + "tool")
    lib = _probed(env, PKG + "tool_lib")
    asserts.equals(env, "py_binary", tool.facts.kind)
    asserts.equals(env, [FIXTURES + "tool.py"], tool.facts.srcs)
    asserts.equals(env, PKG + "fixtures/tool.py", tool.facts.main)
    asserts.equals(env, [PKG + "tool_lib"], tool.facts.deps)
    asserts.equals(env, [PKG + "data_lib", PKG + "tool_lib.import_check"], tool.facts.data)
    asserts.equals(env, "py_library", lib.facts.kind)
    asserts.equals(env, [FIXTURES + "tool.py"], lib.facts.srcs)
    asserts.equals(env, [PKG + "lib"], lib.facts.deps)

    # The binary is gated by tool_lib's check, so the aspect adds no check of its own.
    stamps = _basenames(tool.imports.checks)
    asserts.true(env, "tool_lib.imports.ok" in stamps and "lib.imports.ok" in stamps, str(stamps))
    asserts.false(env, "tool.toplevel.imports.ok" in stamps, str(stamps))
    return analysistest.end(env)

binary_test = analysistest.make(_binary_test_impl)

# --- import_aspect -----------------------------------------------------------------------------------

def _entry_prefixes_test_impl(ctx):
    env = analysistest.begin(ctx)
    numpy = _entry(_probed(env, "@pypi//numpy:numpy").imports)
    asserts.equals(env, "@pypi//numpy", numpy["label"])
    asserts.equals(env, True, numpy["external"])
    asserts.equals(env, ["numpy"], numpy["prefixes"], "an @pypi target declares its package with provides:")
    claims = _entry(_probed(env, PKG + "claims").imports)
    asserts.equals(env, False, claims["external"])
    asserts.equals(env, [], claims["prefixes"], "a first-party provides: tag is ignored")
    return analysistest.end(env)

entry_prefixes_test = analysistest.make(_entry_prefixes_test_impl)

def _reached_test_impl(ctx):
    env = analysistest.begin(ctx)
    info = _probed(env, PKG + "with_data").imports
    asserts.equals(env, [PKG + "base", PKG + "with_data"], _labels(info.transitive))
    asserts.equals(env, [PKG + "base", PKG + "data_lib", PKG + "with_data"], _labels(info.reached))
    return analysistest.end(env)

reached_test = analysistest.make(_reached_test_impl)

def _plain_py_test_checked_test_impl(ctx):
    env = analysistest.begin(ctx)
    stamps = _basenames(_probed(env, PKG + "plain_test").imports.checks)
    asserts.equals(env, ["plain_test.toplevel.imports.ok"], stamps, "a plain py_test is checked by the aspect")
    return analysistest.end(env)

plain_py_test_checked_test = analysistest.make(_plain_py_test_checked_test_impl)

# --- layering and the index --------------------------------------------------------------------------

def _module_not_visible_test_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, "target '//modules/12_attention:attention' is not visible from target '%sreaches_module'" % PKG)
    return analysistest.end(env)

module_not_visible_test = analysistest.make(_module_not_visible_test_impl, expect_failure = True)

def _index_test_impl(ctx):
    """//modules:index: every registered library, then every @pypi package, as before item 7c."""
    env = analysistest.begin(ctx)
    entries = _written(env, "index.json")
    asserts.equals(env, module_libraries() + ALL_PACKAGES, [e["label"] for e in entries])
    for e in entries:
        if e["external"]:
            asserts.true(env, e["prefixes"], "%s provides no top-level names" % e["label"])
        else:
            asserts.true(env, [m for m in e["modules"] if m.startswith("tinytorch.")], "%s: %s" % (e["label"], e["modules"]))
    return analysistest.end(env)

index_test = analysistest.make(_index_test_impl)

# --- plain functions ---------------------------------------------------------------------------------

def _provided_entry_test_impl(ctx):
    env = unittest.begin(ctx)
    pypi = json.decode(provided_entry(Label("@pypi//numpy:numpy"), [], ["site"], ["pypi", "provides:numpy"]))
    asserts.equals(env, struct(label = "@pypi//numpy", prefixes = ["numpy"], external = True), struct(label = pypi["label"], prefixes = pypi["prefixes"], external = pypi["external"]))
    own = json.decode(provided_entry(Label("//modules/01_tensor:tensor"), [], ["."], ["provides:tinytorch"]))
    asserts.equals(env, struct(label = "//modules/01_tensor:tensor", prefixes = [], external = False), struct(label = own["label"], prefixes = own["prefixes"], external = own["external"]))
    return unittest.end(env)

provided_entry_test = unittest.make(_provided_entry_test_impl)

def _registry_test_impl(ctx):
    env = unittest.begin(ctx)
    asserts.equals(env, 11, module_number("modules/11_embeddings"))
    asserts.equals(env, 11, module_number("modules/11_embeddings/tests"))
    asserts.equals(env, None, module_number("modules"))
    asserts.equals(env, None, module_number("tools/build_defs/tests"))
    asserts.equals(env, ["//modules:above_12_attention"], module_visibility("modules/12_attention"))
    asserts.equals(env, len([lib for libs in MODULES.values() for lib in libs]), len(module_libraries()))
    return unittest.end(env)

registry_test = unittest.make(_registry_test_impl)

def defs_test_suite(name):
    """The test targets, and a test_suite of them all.

    Args:
      name: the name of the test_suite.
    """
    probes = {
        "library": [":lib", ":lib.import_check"],
        "module_library": ["//modules:index"],
        "tags": [":base", ":base.import_check", ":sample_test", ":sample_test.import_check", ":tool", ":tool_lib", ":tool_lib.import_check"],
        "test_macro": [":sample_test", ":short_test"],
        "binary": [":tool", ":tool_lib"],
        "entry_prefixes": ["@pypi//numpy", ":claims"],
        "reached": [":with_data"],
        "plain_py_test_checked": [":plain_test"],
    }
    for probe, targets in probes.items():
        _probe(name = probe + "_probe", targets = targets, testonly = True, tags = ["manual"])
    tests = [
        (library_test, "library", ":library_probe"),
        (module_library_test, "module_library", ":module_library_probe"),
        (tags_test, "tags", ":tags_probe"),
        (test_macro_test, "test_macro", ":test_macro_probe"),
        (test_check_manifest_test, "test_check_manifest", ":sample_test.import_check"),
        (alias_written_test, "alias_written", ":alias_test.import_check"),
        (filegroup_dep_test, "filegroup_dep", ":filegroup_test.import_check"),
        (data_py_manifest_test, "data_py_manifest", ":data_py_test.import_check"),
        (binary_test, "binary", ":binary_probe"),
        (entry_prefixes_test, "entry_prefixes", ":entry_prefixes_probe"),
        (reached_test, "reached", ":reached_probe"),
        (plain_py_test_checked_test, "plain_py_test_checked", ":plain_py_test_checked_probe"),
        (module_not_visible_test, "module_not_visible", ":reaches_module"),
        (index_test, "index", "//modules:index"),
    ]
    for rule, test, target in tests:
        rule(name = test + "_test", target_under_test = target, size = "small")
    provided_entry_test(name = "provided_entry_test", size = "small")
    registry_test(name = "registry_test", size = "small")
    native.test_suite(
        name = name,
        tests = [":%s_test" % t for _, t, _ in tests] + [":provided_entry_test", ":registry_test"],
    )
