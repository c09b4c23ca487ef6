"""Strict-deps check for Python targets, run as a Bazel build action.

    check_imports.py MANIFEST INDEX STAMP

MANIFEST (written by //tools/build_defs:defs.bzl) names the target, its sources, what its own
sources provide, what each DIRECT dep provides and what its transitive deps provide. INDEX lists
every registered library of the repo and of @pypi. An import is allowed only if it is provided by
the target's own sources, a direct dep, or the standard library of this interpreter. Anything else
is reported (all at once, compiler style) and the action fails; on success STAMP is written.
"""

import ast
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


def collect_imports(source, module_name="", is_package=False, filename="<src>"):
    """Every import in `source`: top level, in functions, in try blocks, relative ones, and
    importlib.import_module("x") / __import__("x") with a literal string."""
    tree = ast.parse(source, filename=filename)
    found = []
    import_module_aliases = {"import_module"} if _imports_name(tree, "importlib", "import_module") else set()
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
        elif isinstance(node, ast.Call) and node.args and _is_literal_str(node.args[0]):
            func = node.func
            dynamic = (
                (isinstance(func, ast.Name) and (func.id == "__import__" or func.id in import_module_aliases))
                or (isinstance(func, ast.Attribute) and func.attr == "import_module"
                    and isinstance(func.value, ast.Name) and func.value.id == "importlib")
            )
            if dynamic:
                found.append(Import(node.lineno, node.args[0].value))
    return sorted(found, key=lambda i: (i.line, i.module))


def _is_literal_str(node):
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _imports_name(tree, module, name):
    return any(
        isinstance(n, ast.ImportFrom) and n.module == module and any(a.name == name for a in n.names)
        for n in ast.walk(tree)
    )


def is_stdlib(module):
    top = module.split(".")[0]
    return top in sys.stdlib_module_names or top == "__future__"


@dataclass
class Violation:
    file: str
    line: int
    module: str
    provider: str  # label of a target that provides it, or ""
    reason: str
    fix: str
    dep_to_add: str = ""


def module_number_of(label):
    """'//modules/12_attention:attention' -> 12; None outside modules/."""
    package = label.lstrip("@").split("//", 1)[-1].split(":")[0]
    parts = package.split("/")
    if len(parts) == 2 and parts[0] == "modules" and parts[1][:2].isdigit():
        return int(parts[1][:2])
    return None


def _folder_of(label):
    return label.split("//", 1)[-1].split(":")[0]


def _candidates(imp):
    """Modules that satisfy an import: `from a.b import c` is fine if a.b.c or a.b is provided."""
    return [imp.module + "." + n for n in imp.names] + [imp.module] if imp.names else [imp.module]


def _find(providers, module):
    for p in providers:
        if p.provides(module):
            return p
    return None


def check(manifest, index, read=lambda path: open(path, encoding="utf-8").read()):
    """Returns the list of Violations of one target."""
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

    for src in manifest["srcs"]:
        path, module_name = src["path"], src["module"]
        is_package = path.endswith("/__init__.py")
        for imp in collect_imports(read(path), module_name, is_package, path):
            candidates = _candidates(imp)
            if any(is_stdlib(c) for c in candidates):
                continue
            allowed = [own] + direct
            if any(_find(allowed, c) for c in candidates):
                continue
            if not imp.names and any(p.owns_namespace(imp.module) for p in allowed):
                continue  # `import tinytorch.core` with a tinytorch dep: a namespace package
            violations.append(_explain(path, imp, candidates, label, manifest["kind"], my_number, everyone, transitive))
    return violations


def _explain(path, imp, candidates, label, kind, my_number, everyone, transitive):
    shown = imp.module if not imp.names else "%s (%s)" % (imp.module, ", ".join(imp.names))
    provider = next((p for c in candidates for p in everyone if p.provides(c)), None)
    if provider is None:
        provider = next((p for c in candidates for p in transitive if p.provides(c)), None)
    if provider is None:
        return Violation(
            path, imp.line, shown, "",
            "no target of this repo, no @pypi package of requirements_lock.txt and no standard-library "
            "module (Python %d.%d) provides it" % sys.version_info[:2],
            "fix the module name, or add the distribution to requirements.in, re-lock with "
            "`./bazelw run //:requirements.update` and add \"@pypi//<name>\" to deps",
        )
    their_number = module_number_of(provider.label)
    if my_number is not None and their_number is not None and their_number > my_number:
        return Violation(
            path, imp.line, shown, provider.label,
            "module %02d may not depend on module %02d (a later module)" % (my_number, their_number),
            "module %02d may not depend on module %02d: move this %s to %s"
            % (my_number, their_number, kind, _folder_of(provider.label)),
        )
    if provider.label == label:
        reason = "it is the target's own module, but that file is not in its srcs"
    elif any(p.label == provider.label for p in transitive):
        reason = "%s is only a transitive dependency; strict deps require declaring it" % provider.label
    else:
        reason = "%s is not a dependency of %s" % (provider.label, label)
    return Violation(
        path, imp.line, shown, provider.label, reason,
        'add "%s" to deps of %s' % (provider.label, label), dep_to_add=provider.label,
    )


def format_report(label, violations):
    out = ["[strict deps] %s imports %d module%s it does not declare:" % (
        label, len(violations), "" if len(violations) == 1 else "s")]
    for v in violations:
        out.append("%s:%d: import of \"%s\"" % (v.file, v.line, v.module))
        if v.provider:
            out.append("    provided by: %s" % v.provider)
        out.append("    not allowed: %s" % v.reason)
        out.append("    fix:         %s" % v.fix)
    to_add = sorted({v.dep_to_add for v in violations if v.dep_to_add})
    if to_add:
        out.append("** Please add the following dependencies:")
        out.extend("  %s to %s" % (dep, label) for dep in to_add)
        out.append("** You can use the following buildozer command:")
        out.append("buildozer %s %s" % (" ".join("'add deps %s'" % d for d in to_add), label))
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
        f.write("%s: %d source file(s), imports OK\n" % (manifest["label"], len(manifest["srcs"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
