"""Strict-deps check for Python targets, run as a Bazel build action.

    check_imports.py MANIFEST INDEX STAMP

MANIFEST (written by //tools/build_defs:defs.bzl) names the target, its sources, what its own
sources provide, what each DIRECT dep provides and what its transitive deps provide. INDEX lists
every registered library of the repo and of @pypi. Strict deps, both ways:

- an import is allowed only if it is provided by the target's own sources, a direct dep, or the
  standard library of this interpreter;
- a direct dep is allowed only if some import of the sources needs it, or the manifest names it in
  `needed_without_import` (a test's pytest, which the runner imports).

Every violation is reported (all at once, compiler style) and the action fails; on success STAMP
is written.

What counts as an import: `import x`, `from x import y`, relative imports, imports inside functions
and `try`, and three calls with a literal string: `importlib.import_module("x")` (however importlib
or import_module was imported or renamed), `__import__("x")` and `pytest.importorskip("x")`. A call
whose name is computed (`import_module(name)`, an f-string) is ignored: its import is not checked,
and a dep reached only that way is reported unused. Write the name as a literal.
"""

import ast
import importlib.util
import json
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Import:
    line: int
    module: str  # absolute dotted name, as Python would resolve it
    names: tuple = ()  # for `from module import a, b`: ("a", "b"); they may be submodules


@dataclass(frozen=True)
class Provider:
    label: str
    modules: tuple  # exact dotted modules, e.g. ("tinytorch.core.tensor",)
    prefixes: tuple  # top-level packages that own a whole subtree, e.g. ("numpy",)

    def provides(self, module):
        if module in self.modules:
            return True
        if any(module == p or module.startswith(p + ".") for p in self.prefixes):
            return True
        # `import a.b.c.Name` never happens, but `from a.b import c` may name a submodule c.
        return False

    def owns_namespace(self, module):
        """A provider of `tinytorch.core.tensor` also makes the namespace `tinytorch.core` exist."""
        return any(m.startswith(module + ".") for m in self.modules)

    @staticmethod
    def from_entry(entry):
        data = json.loads(entry) if isinstance(entry, str) else entry
        return Provider(data["label"], tuple(data["modules"]), tuple(data["prefixes"]))


def _package_of(module_name, is_package):
    return module_name if is_package else module_name.rpartition(".")[0]


# Calls that import the module named by their first argument: (module, function).
DYNAMIC_IMPORTERS = {("importlib", "import_module"), ("pytest", "importorskip")}


def collect_imports(source, module_name="", is_package=False, filename="<src>"):
    """Every import in `source`: top level, in functions, in try blocks, relative ones, and the
    DYNAMIC_IMPORTERS and __import__ called with a literal string."""
    tree = ast.parse(source, filename=filename)
    module_aliases, function_aliases = _importer_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(node.lineno, alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _package_of(module_name, is_package)
                parts = package.split(".") if package else []
                if node.level - 1 > len(parts):
                    raise SyntaxError("%s:%d: relative import beyond the top-level package" % (filename, node.lineno))
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            names = tuple(a.name for a in node.names if a.name != "*")
            found.append(Import(node.lineno, base, names))
        elif isinstance(node, ast.Call) and _is_importer(node.func, module_aliases, function_aliases):
            module = _literal_module(node)
            if module:
                found.append(Import(node.lineno, module))
    return sorted(found, key=lambda i: (i.line, i.module))


def _importer_names(tree):
    """Local names of the modules and functions of DYNAMIC_IMPORTERS in this file:
    `import importlib as il` -> {"il": "importlib"}; `from importlib import import_module as imp`
    -> {"imp"}. A name bound anywhere in the file counts everywhere in it (no scopes): simple, and
    a misread call could only add an import, never hide one."""
    modules, functions = {}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    modules[a.asname] = a.name  # `import a.b as x` binds x to a.b
                else:
                    top = a.name.split(".")[0]
                    modules[top] = top  # `import a.b` binds a
        elif isinstance(node, ast.ImportFrom) and not node.level:
            for a in node.names:
                if (node.module, a.name) in DYNAMIC_IMPORTERS:
                    functions.add(a.asname or a.name)
    return modules, functions


def _is_importer(func, module_aliases, function_aliases):
    if isinstance(func, ast.Name):
        return func.id == "__import__" or func.id in function_aliases
    return (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            and (module_aliases.get(func.value.id), func.attr) in DYNAMIC_IMPORTERS)


def _literal_module(call):
    """The module a dynamic import call names, or None if it is not a literal string.
    `import_module(".sib", "pkg")` is relative to its literal package argument."""
    if not call.args or not _is_literal_str(call.args[0]):
        return None
    name = call.args[0].value
    if not name.startswith("."):
        return name
    package = [k.value for k in call.keywords if k.arg == "package"]
    anchor = call.args[1] if len(call.args) > 1 else (package[0] if package else None)
    if not _is_literal_str(anchor):
        return None
    try:
        return importlib.util.resolve_name(name, anchor.value)
    except ImportError:
        return None


def _is_literal_str(node):
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def is_stdlib(module):
    top = module.split(".")[0]
    return top in sys.stdlib_module_names or top == "__future__"


@dataclass
class Violation:
    file: str  # the source with the import; for an unused dep, the BUILD file
    line: int  # 0 for an unused dep: the checker cannot see the BUILD file's lines
    module: str  # the import as written; for an unused dep, what the dep provides
    provider: str  # label of a target that provides it (the unused dep itself), or ""
    reason: str
    fix: str
    dep_to_add: str = ""
    dep_to_remove: str = ""


def module_number_of(label):
    """'//modules/12_attention:attention' -> 12; None outside modules/."""
    package = label.lstrip("@").split("//", 1)[-1].split(":")[0]
    parts = package.split("/")
    if len(parts) == 2 and parts[0] == "modules" and parts[1][:2].isdigit():
        return int(parts[1][:2])
    return None


def _folder_of(label):
    return label.split("//", 1)[-1].split(":")[0]


def _one_per_name(imp):
    """`from m import a, b` is two imports: each name must be provided on its own."""
    return [Import(imp.line, imp.module, (n,)) for n in imp.names] if imp.names else [imp]


def _candidates(imp):
    """Modules that satisfy an import of one name: `from a.b import c` is fine if a.b.c or a.b is
    provided (c is then a submodule, or a name defined in a.b)."""
    return [imp.module + "." + imp.names[0], imp.module] if imp.names else [imp.module]


def _namespace(imp):
    """The module that must exist as a namespace package if nothing provides the import:
    `import tinytorch.core` -> tinytorch.core; `from tinytorch import core` -> tinytorch.core."""
    return imp.module + "." + imp.names[0] if imp.names else imp.module


def _shown(module, names):
    return "%s (%s)" % (module, ", ".join(names)) if names else module


def check(manifest, index, read=lambda path: open(path, encoding="utf-8").read()):
    """Returns the list of Violations of one target: undeclared imports, then unused deps."""
    label = manifest["label"]
    own = Provider.from_entry(manifest["own"])
    direct = [Provider.from_entry(e) for e in manifest["direct"]]
    transitive = [Provider.from_entry(e) for e in manifest["transitive"]]
    everyone = [Provider.from_entry(e) for e in index]
    my_number = manifest.get("module_number")
    violations = []

    if manifest["kind"] == "library" and my_number is not None and label not in {p.label for p in everyone}:
        violations.append(Violation(
            "modules/modules.bzl", 1, label, "", "this module library is not registered",
            'add "%s" to MODULES["%s"] in modules/modules.bzl' % (label.split(":")[-1], _folder_of(label).split("/")[-1]),
        ))

    used = set()  # labels of the direct deps that some import needs
    namespace_owners = []  # per namespace-only import: the targets whose modules sit below it
    for src in manifest["srcs"]:
        path, module_name = src["path"], src["module"]
        is_package = path.endswith("/__init__.py")
        for imp in collect_imports(read(path), module_name, is_package, path):
            refused = {}  # verdict -> the names of this import it refuses
            for one in _one_per_name(imp):
                candidates = _candidates(one)
                if any(is_stdlib(c) for c in candidates):
                    continue
                providers = [p for p in direct if any(p.provides(c) for c in candidates)]
                used.update(p.label for p in providers)
                if providers or any(own.provides(c) for c in candidates):
                    continue
                owners = [p for p in [own] + direct if p.owns_namespace(_namespace(one))]
                if owners:
                    namespace_owners.append(owners)
                    continue
                verdict = _verdict(candidates, label, manifest["kind"], my_number, everyone, transitive)
                refused.setdefault(verdict, []).extend(one.names)
            for (provider, reason, fix, dep_to_add), names in refused.items():
                violations.append(Violation(path, imp.line, _shown(imp.module, names), provider, reason, fix, dep_to_add))

    # `import tinytorch.core` needs some dep below tinytorch.core, not a particular one: it keeps
    # those deps only if no other import uses one of them (else it would excuse every such dep).
    for owners in namespace_owners:
        if not any(p is own or p.label in used for p in owners):
            used.update(p.label for p in owners)
    return violations + _unused_deps(manifest, direct, used)


def _verdict(candidates, label, kind, my_number, everyone, transitive):
    """(provider, reason, fix, dep_to_add) for an import that nothing allowed provides."""
    provider = next((p for c in candidates for p in everyone if p.provides(c)), None)
    if provider is None:
        provider = next((p for c in candidates for p in transitive if p.provides(c)), None)
    if provider is None:
        return (
            "",
            "no target of this repo, no @pypi package of requirements_lock.txt and no standard-library "
            "module (Python %d.%d) provides it" % sys.version_info[:2],
            "fix the module name, or add the distribution to requirements.in, re-lock with "
            "`./bazelw run //:requirements.update` and add \"@pypi//<name>\" to deps",
            "",
        )
    their_number = module_number_of(provider.label)
    if my_number is not None and their_number is not None and their_number > my_number:
        return (
            provider.label,
            "module %02d may not depend on module %02d (a later module)" % (my_number, their_number),
            "module %02d may not depend on module %02d: move this %s to %s"
            % (my_number, their_number, kind, _folder_of(provider.label)),
            "",
        )
    if provider.label == label:
        reason = "it is the target's own module, but that file is not in its srcs"
    elif any(p.label == provider.label for p in transitive):
        reason = "%s is only a transitive dependency; strict deps require declaring it" % provider.label
    else:
        reason = "%s is not a dependency of %s" % (provider.label, label)
    return provider.label, reason, 'add "%s" to deps of %s' % (provider.label, label), provider.label


def _unused_deps(manifest, direct, used):
    """A Violation for each direct dep that no import needs (and that is not needed_without_import)."""
    label = manifest["label"]
    exempt = set(manifest.get("needed_without_import", []))
    files = ", ".join(src["path"] for src in manifest["srcs"])
    unused = []
    for dep in direct:
        if dep.label in used or dep.label in exempt:
            continue
        if dep.modules or dep.prefixes:
            reason = "no import of %s needs it; deps list exactly what the sources import" % files
        else:
            reason = "it provides no Python module, so no import can need it; depend on the targets whose modules the sources import"
        unused.append(Violation(
            manifest.get("build_file") or label, 0, _provided(dep), dep.label, reason,
            'remove "%s" from deps of %s' % (dep.label, label), dep_to_remove=dep.label,
        ))
    return unused


def _provided(dep, at_most=3):
    """What a dep provides, briefly: 'numpy and its submodules', 'a.b, a.c'."""
    if dep.prefixes:
        return ", ".join(dep.prefixes) + " and " + ("its" if len(dep.prefixes) == 1 else "their") + " submodules"
    if not dep.modules:
        return "no Python module"
    more = len(dep.modules) - at_most
    return ", ".join(dep.modules[:at_most]) + (" and %d more" % more if more > 0 else "")


def _plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def format_report(label, violations):
    missing = [v for v in violations if not v.dep_to_remove]
    unused = [v for v in violations if v.dep_to_remove]
    out = []
    if missing:
        out.append("[strict deps] %s imports %s it does not declare:" % (label, _plural(len(missing), "module")))
    for v in missing:
        out.append("%s:%d: import of \"%s\"" % (v.file, v.line, v.module))
        if v.provider:
            out.append("    provided by: %s" % v.provider)
        out.append("    not allowed: %s" % v.reason)
        out.append("    fix:         %s" % v.fix)
    if unused:
        out.append("[strict deps] %s declares %s it does not import:" % (label, _plural(len(unused), "dep")))
    for v in unused:
        out.append("%s: dep \"%s\" of %s" % (v.file, v.provider, label))
        out.append("    provides:    %s" % v.module)
        out.append("    not allowed: %s" % v.reason)
        out.append("    fix:         %s" % v.fix)
    to_add = sorted({v.dep_to_add for v in missing if v.dep_to_add})
    to_remove = [v.dep_to_remove for v in unused]
    if to_add:
        out.append("** Please add the following dependencies:")
        out.extend("  %s to %s" % (dep, label) for dep in to_add)
    if to_remove:
        out.append("** Please remove the following dependencies:")
        out.extend("  %s from %s" % (dep, label) for dep in to_remove)
    if to_add or to_remove:
        commands = ["'add deps %s'" % d for d in to_add] + ["'remove deps %s'" % d for d in to_remove]
        out.append("** You can use the following buildozer command:")
        out.append("buildozer %s %s" % (" ".join(commands), label))
    return "\n".join(out)


def main(argv):
    if len(argv) != 3:
        print("usage: check_imports.py MANIFEST INDEX STAMP", file=sys.stderr)
        return 2
    manifest_path, index_path, stamp_path = argv
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    with open(index_path, encoding="utf-8") as f:
        index = json.load(f)
    try:
        violations = check(manifest, index)
    except SyntaxError as e:
        print("[strict deps] %s: cannot parse %s:%s: %s" % (manifest["label"], e.filename, e.lineno, e.msg), file=sys.stderr)
        return 1
    if violations:
        print(format_report(manifest["label"], violations), file=sys.stderr)
        return 1
    with open(stamp_path, "w", encoding="utf-8") as f:
        f.write("%s: %d source file(s), imports and deps OK\n" % (manifest["label"], len(manifest["srcs"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
