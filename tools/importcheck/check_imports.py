"""Strict-deps check for Python targets, run as a Bazel build action.

    check_imports.py MANIFEST INDEX STAMP

MANIFEST (written by //tools/build_defs:defs.bzl) names the target, its sources, what its own
sources provide, what each DIRECT dep provides and what its transitive deps provide. INDEX lists
every registered library of the repo and of @pypi. Strict deps, both ways:

- an import is allowed only if it is provided by the target's own sources, a direct dep, or the
  standard library of this interpreter (`sys.stdlib_module_names`, plus `__future__`, `__main__`
  and `test`); a name imported from a dep must be defined there, not only imported by it;
- a direct dep is allowed only if some import of the sources needs it, or the manifest names it in
  `needed_without_import` (a test's pytest, which the runner imports); a dep that is no Python
  library (a filegroup) is refused;
- layering: a target of module N may not reach (through deps or data) a target of a later module;
- a test's `.py` files in `data` (a conftest.py) are refused: nothing would check them.

Every violation is reported (all at once, compiler style) and the action fails; on success STAMP
is written, and, if the manifest has `names_out`, the names JSON of the target's own modules.

Sources are read as bytes and parsed as Python does (PEP 263 coding cookie, UTF-8 BOM).

What counts as an import. Names and arguments must be literal strings (also as keyword arguments,
*[...] and **{...}): a string constant, a choice between literals (`"a" if c else "b"`), a name
bound only to literals (a loop variable over a literal list, a parameter of a local function
called with literals or with a literal default, a @pytest.mark.parametrize argument), or
__name__ / __package__. Any operation on strings ('a.' + 'b', an f-string field, .join, %) makes
it computed (see below). These count as imports:
- `import x`, `from x import y` (each name on its own), relative imports, imports inside functions,
  classes and `try`, and the imports of code strings run by exec / eval / compile / timeit or
  after "-c" in a literal argument list (and the module after "-m");
- calls of `importlib.import_module`, `__import__` (builtins, importlib; `fromlist`, `level`),
  `pytest.importorskip`, `pkgutil.resolve_name` ("pkg.mod:obj" and "pkg.mod.obj"),
  `runpy.run_module`, `pkgutil.get_data`, `importlib.resources.files` / `read_text` / ...; and
  `importlib.util.find_spec` / `pkgutil.get_loader` / `find_loader` in a file that loads a spec
  (module_from_spec, exec_module: else `find_spec("x") is None` is a probe, not an import). Those
  functions count however they are reached: imported, renamed, `from importlib import *`,
  assigned to other names (chains of them), `getattr(importlib, "import_module")`, `vars(m)[...]`,
  `__builtins__`, `pkgutil.importlib`, `functools.partial`, `map`, `globals()[...]`, default
  arguments, class attributes, containers or the return value of a local function;
- `sys.modules["x"]`, `sys.modules.get("x")` / `.pop` / `.setdefault` (a read, not a store);
- string targets of `unittest.mock.patch` / `mock.patch` / `mocker.patch` (also `.dict`,
  `.multiple`), and `monkeypatch.setattr("pkg.mod.name", value)` / `.delattr("pkg.mod.name")`:
  "a.b.c.name" is `from a.b.c import name` (the longest prefix some target provides as a module;
  the name need only exist there, and need not with create=True / raising=False);
- `pytest_plugins = ["x", ...]` (or a string, or `+=`) at module level;
- attribute chains below a module: after `import tinytorch.core.tensor`,
  `tinytorch.core.layers.Module` imports `tinytorch.core.layers` (name `Module`): the longest
  prefix some target provides as a module, or, below a bare `import X`, all but the last
  attribute. Also below `import a as b`, `from a import b`, `__import__(...)`, `sys.modules[...]`;
- after `from m import *` of a dep module without `__all__`, each name the file uses that m only
  imports is judged like `from m import name`.

Imports that cannot run are skipped: the branch a `sys.version_info` comparison rules out on this
interpreter (`[:2]`, `[0]`, `.major`, `not`, `and` / `or`, a name assigned such a comparison once;
unless the file may fake sys.version_info), and `if False:`. Imports in a `try` (and its except
clauses) that catches ImportError (or ModuleNotFoundError, Exception, BaseException, bare) are
optional: fine if nothing at all provides them, else judged as usual. A call whose name is
computed (`import_module(name)` with an assigned variable, 'a.' + b) is not followed here: its
import is not checked, and a dep reached only that way is reported unused (write the name as a
literal). At run time a test sees only its runfiles (and its guard refuses what its deps do not
declare), and layering is judged on everything a target reaches, imported or not.

Manifest fields (all but label and srcs are optional): label, kind ("library", "test" or
"binary"), build_file, module_number, needed_without_import, srcs [{path, module}], own, direct,
transitive, reached (default: transitive), data_py, names_out. Entries (own, direct, transitive,
reached, index) are {label, modules, prefixes, external, written, python, kind, names_file, names,
via}; `prefixes` count only for external (@repo) entries. A names JSON maps each module to
{"names": [...], "open": bool, "imported": {name: module}, "aliases": {name: original or ""}}.
"""

import ast
import builtins
import contextlib
import importlib.util
import io
import json
import re
import sys
import traceback
from collections import namedtuple
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Import:
    line: int
    module: str  # absolute dotted name, as Python would resolve it (as written if `problem`)
    names: tuple = ()  # for `from module import a, b`: ("a", "b"); they may be submodules
    optional: bool = False  # in a try whose except catches ImportError: fine if nothing provides it
    problem: str = ""  # why Python refuses the import itself (a relative import without package)
    names_check: str = "defined"  # each name must be "defined" in the module, or only "exists"
    names_only: bool = False  # an attribute chain inside an imported module: only its name is new
    chain: bool = False  # found as an attribute chain, not written as an import
    star: bool = False  # `from module import *`


class CheckError(Exception):
    """A problem that keeps the check from running (an unreadable input)."""


def is_external_label(label):
    """'@pypi//numpy' is external; '//modules/x:y', '@//x:y' and '@@//x:y' are of this repo."""
    return label.startswith("@") and not label.startswith(("@//", "@@//"))


@dataclass(frozen=True)
class Provider:
    label: str
    modules: tuple  # exact dotted modules, e.g. ("tinytorch.core.tensor",)
    prefixes: tuple  # top-level packages that own a whole subtree, e.g. ("numpy",); external only
    external: bool = None  # None: derived from the label
    written: str = ""  # the label as written in BUILD (an alias), if it differs
    python: bool = True  # False: no PyInfo (a filegroup in deps)
    kind: str = ""  # the rule kind, for messages
    names_file: str = ""  # names JSON of the modules it provides
    names: dict = field(default=None, compare=False, hash=False)  # the same, inline
    via: tuple = ()  # for a reached entry: the labels in between, if known

    @property
    def is_external(self):
        return is_external_label(self.label) if self.external is None else bool(self.external)

    @property
    def shown(self):
        return self.written or self.label

    def provides(self, module):
        if module in self.modules:
            return True
        # `prefixes` come from a `provides:` tag: honoured for @pypi packages only, so a
        # first-party target cannot claim a whole subtree.
        return self.is_external and any(module == p or module.startswith(p + ".") for p in self.prefixes)

    def owns_namespace(self, module):
        """A provider of `tinytorch.core.tensor` also makes the namespace `tinytorch.core` exist."""
        return any(m.startswith(module + ".") for m in self.modules)

    @staticmethod
    def from_entry(entry):
        data = json.loads(entry) if isinstance(entry, str) else entry
        label = data["label"]
        external = data.get("external")
        if external is None:
            external = is_external_label(label)
        via = data.get("via") or ()
        return Provider(
            label,
            tuple(data.get("modules") or ()),
            tuple(data.get("prefixes") or ()) if external else (),
            bool(external),
            data.get("written") or "",
            data.get("python", True) is not False,
            data.get("kind") or "",
            data.get("names_file") or "",
            data.get("names"),
            (via,) if isinstance(via, str) else tuple(via),
        )


def _package_of(module_name, is_package):
    return module_name if is_package else module_name.rpartition(".")[0]


def _is_dotted(name):
    return isinstance(name, str) and bool(name) and all(p.isidentifier() for p in name.split("."))


def _join(*parts):
    return ".".join(p for p in parts if p)


def is_stdlib(module):
    top = module.split(".")[0]
    return top in sys.stdlib_module_names or top in ("__future__", "__main__", "test")


# --- reading sources ----------------------------------------------------------------------------

def read_source(path):
    """The bytes of a source: ast.parse then decodes them as Python does (coding cookie, BOM)."""
    with open(path, "rb") as f:
        return f.read()


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _line_of(source, marker):
    if isinstance(source, bytes):
        marker = marker.encode()
    at = source.find(marker)
    return source.count(b"\n" if isinstance(source, bytes) else "\n", 0, at) + 1 if at >= 0 else 0


def parse_source(source, filename="<src>"):
    """ast.parse of str or bytes; any failure to decode or parse is a SyntaxError naming the file."""
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as e:
        if e.filename in (None, "<unknown>", "<string>"):
            e.filename = filename
        if not e.lineno and "null bytes" in str(e.msg):
            e.lineno = _line_of(source, "\0")
        raise
    except (ValueError, UnicodeError) as e:  # null bytes (some 3.11 builds), codecs that raise
        raise SyntaxError(str(e), (filename, _line_of(source, "\0"), None, None)) from None
    except (RecursionError, MemoryError):
        raise SyntaxError("too deeply nested to check", (filename, 0, None, None)) from None


# --- what reaches a module ----------------------------------------------------------------------

Ref = namedtuple("Ref", "qual fallback")  # a dotted name an expression may be; fallback: a module
_Ctx = namedtuple("_Ctx", "optional dead scope")
_CallSpec = namedtuple("_CallSpec", "how slots returns_module")  # slots: ((position, keywords), ...)

_NAME = ((0, ("name",)),)
_NAME_PACKAGE = ((0, ("name",)), (1, ("package",)))
_DUNDER = ((0, ("name",)), (3, ("fromlist",)), (4, ("level",)))
_PACKAGE = ((0, ("package", "anchor")),)
_CODE = ((0, ("source", "stmt", "code")), (1, ("setup",)))

# Calls that import (or reach) a module named by an argument, by qualified name.
IMPORT_CALLS = {
    "importlib.import_module": _CallSpec("module", _NAME_PACKAGE, True),
    "importlib._bootstrap._gcd_import": _CallSpec("module", _NAME_PACKAGE, True),
    "builtins.__import__": _CallSpec("dunder", _DUNDER, True),
    "importlib.__import__": _CallSpec("dunder", _DUNDER, True),
    "importlib._bootstrap.__import__": _CallSpec("dunder", _DUNDER, True),
    "pytest.importorskip": _CallSpec("module", ((0, ("modname",)),), True),
    "_pytest.outcomes.importorskip": _CallSpec("module", ((0, ("modname",)),), True),
    # Probes: `find_spec("x") is None` asks whether x is importable, which is no import; they
    # count only in a file that loads a spec (module_from_spec, exec_module, load_module).
    "importlib.util.find_spec": _CallSpec("probe", _NAME_PACKAGE, False),
    "importlib.machinery.PathFinder.find_spec": _CallSpec("probe", ((0, ("fullname",)),), False),
    "importlib.find_loader": _CallSpec("probe", _NAME, False),
    "pkgutil.find_loader": _CallSpec("probe", ((0, ("fullname",)),), False),
    "pkgutil.get_loader": _CallSpec("probe", ((0, ("module_or_name",)),), False),
    "pkgutil.get_data": _CallSpec("module", ((0, ("package",)),), False),
    "runpy.run_module": _CallSpec("module", ((0, ("mod_name",)),), False),
    "pkgutil.resolve_name": _CallSpec("resolve", _NAME, True),
    "sys.modules.get": _CallSpec("module", ((0, ("key",)),), True),
    "sys.modules.pop": _CallSpec("module", ((0, ("key",)),), True),
    "sys.modules.setdefault": _CallSpec("module", ((0, ("key",)),), True),
    "sys.modules.__getitem__": _CallSpec("module", ((0, ("key",)),), True),
    "sys.modules.__delitem__": _CallSpec("module", ((0, ("key",)),), False),
    "builtins.exec": _CallSpec("code", _CODE[:1], False),
    "builtins.eval": _CallSpec("code", _CODE[:1], False),
    "builtins.compile": _CallSpec("code", _CODE[:1], False),
    "timeit.timeit": _CallSpec("code", _CODE, False),
    "timeit.repeat": _CallSpec("code", _CODE, False),
    "timeit.Timer": _CallSpec("code", _CODE, False),
    "monkeypatch.setattr": _CallSpec("setattr", ((0, ("target",)),), False),
    "monkeypatch.delattr": _CallSpec("delattr", ((0, ("target",)),), False),
}
for _f in ("files", "read_text", "read_binary", "open_text", "open_binary", "path", "contents", "is_resource"):
    IMPORT_CALLS["importlib.resources." + _f] = _CallSpec("module", _PACKAGE, False)
for _mock in ("unittest.mock", "mock"):
    IMPORT_CALLS[_mock + ".patch"] = _CallSpec("patch", ((0, ("target",)),), False)
    IMPORT_CALLS[_mock + ".patch.dict"] = _CallSpec("patch", ((0, ("in_dict",)),), False)
    IMPORT_CALLS[_mock + ".patch.multiple"] = _CallSpec("resolve", ((0, ("target",)),), False)
# `mock.patch.object(obj, "attr")` takes an object: there is no module to add.

# What a bare name is without any import: builtins, and pytest-mock's `mocker` fixture.
BUILTIN_REFS = {
    "__import__": "builtins.__import__", "__builtins__": "builtins", "exec": "builtins.exec",
    "eval": "builtins.eval", "compile": "builtins.compile", "getattr": "builtins.getattr",
    "vars": "builtins.vars", "globals": "builtins.globals", "locals": "builtins.locals", "map": "builtins.map",
    "staticmethod": "builtins.staticmethod", "classmethod": "builtins.classmethod", "mocker": "unittest.mock",
}
# Qualified names that an attribute of another module stands for (`pkgutil.importlib` is importlib).
_KNOWN_QUALS = set(IMPORT_CALLS) | set(BUILTIN_REFS.values()) - {"unittest.mock"} | {
    "sys", "sys.modules", "sys.version_info", "sys.hexversion", "functools.partial", "importlib", "importlib.util",
    "builtins", "pkgutil", "runpy"}
_LONGEST_KNOWN = max(q.count(".") + 1 for q in _KNOWN_QUALS)
_MAX_PARTS = 32  # of a dotted name worth following: no module path is longer
# What `from M import *` may bind that matters here.
_STAR_TARGETS = tuple(IMPORT_CALLS) + ("sys.modules", "sys.version_info", "sys.hexversion", "functools.partial",
                                        "importlib.util", "unittest.mock")
_WRAPPERS = {"functools.partial", "builtins.staticmethod", "builtins.classmethod"}
_SPEC_LOADERS = {"module_from_spec", "exec_module", "load_module", "create_module", "spec_from_loader"}
_VERSION_NAMES = {"version_info", "hexversion"}
_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
_COMPARE = {
    ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b, ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
}
_MAX_VALUES = 32  # possible values of one string expression
def _canonical(qual):
    """A module's attribute that is a known module or function is that: `pkgutil.importlib` is
    importlib, `importlib.sys.modules` is sys.modules."""
    if qual in _KNOWN_QUALS or "." not in qual:
        return qual
    parts = qual.split(".")
    for i in range(max(1, len(parts) - _LONGEST_KNOWN), len(parts)):
        suffix = ".".join(parts[i:])
        if suffix in _KNOWN_QUALS:
            return suffix
    return qual


def _returns(function):
    return [n.value for n in ast.walk(function) if isinstance(n, ast.Return) and n.value is not None]


def _target_names(target):
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for e in target.elts for n in _target_names(e)]
    return []


def _catches_import_errors(handlers):
    for handler in handlers:
        if handler.type is None:
            return True
        types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        for t in types:
            name = t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else None
            if name in _IMPORT_ERRORS:
                return True
    return False


class _Collector:
    """Reads one parsed source: its name bindings (no scopes: a name bound anywhere counts
    everywhere, so a misread can only add an import), what each expression may refer to, and the
    imports it makes."""

    MAX_CODE_DEPTH = 3

    def __init__(self, tree, module_name="", is_package=False, filename="<src>", known=None, depth=0,
                 inherit=None, named=None, loads_specs=False):
        self.module_name = module_name if _is_dotted(module_name) else ""  # a test file: no package
        self.is_package = is_package
        self.package = _package_of(self.module_name, is_package) if self.module_name else ""
        self.filename = filename
        self.known = known or frozenset()
        self.named = self.known if named is None else named  # modules that may have a names entry
        self.depth = depth
        self.nodes = list(ast.walk(tree))
        self.loads_specs = loads_specs or any(
            (n.attr if isinstance(n, ast.Attribute) else n.id) in _SPEC_LOADERS
            for n in self.nodes if isinstance(n, (ast.Attribute, ast.Name)))
        self.bindings = {k: set(v) for k, v in (inherit or {}).items()}
        self.attrs, self.functions, self.flags = {}, {}, {}
        self.str_values, self.assigned = {}, set()  # literal strings a name is bound to; assigned names
        self.rebound = set()  # names stored, assigned or taken as parameters anywhere
        self.trust_guards = True  # False if the file may fake sys.version_info
        for n in self.nodes:
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
                self.rebound.add(n.id)
                self.trust_guards = self.trust_guards and n.id not in _VERSION_NAMES
            elif isinstance(n, ast.arg):
                self.rebound.add(n.arg)
            elif isinstance(n, (ast.Global, ast.Nonlocal)):
                self.rebound.update(n.names)
            elif isinstance(n, ast.Attribute) and not isinstance(n.ctx, ast.Load) and n.attr in _VERSION_NAMES:
                self.trust_guards = False
            elif isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.split(".")[-1] in _VERSION_NAMES:
                self.trust_guards = False  # setattr(sys, "version_info", ...), monkeypatch, __dict__
            elif isinstance(n, ast.keyword) and n.arg in _VERSION_NAMES:
                self.trust_guards = False
        self._memo = {}
        self._bind()
        self._bind_strings()
        if self.str_values:
            self._fixpoint()  # `mod = import_module(name)` for a name bound to literals
        self._memo = {}
        self.walked = self._walk(tree)

    # -- bindings --------------------------------------------------------------------------------

    def from_base(self, node):
        """(absolute module, "") of a from-import, or (None, why Python refuses it)."""
        if not node.level:
            return node.module or "", ""
        if not self.package:
            return None, "attempted relative import with no known parent package (this file is in no package)"
        bits = self.package.rsplit(".", node.level - 1)
        if len(bits) < node.level:
            return None, "attempted relative import beyond top-level package"
        return _join(bits[0], node.module), ""

    def _bind(self):
        pairs = []  # (target, value expression, also an attribute name)
        in_class = set()
        stores = {}
        for node in self.nodes:
            if isinstance(node, ast.ClassDef):
                in_class.update(id(s) for s in node.body)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                stores[node.id] = stores.get(node.id, 0) + 1
        for node in self.nodes:
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self._add(self.bindings, a.asname, {Ref(a.name, False)})
                    else:
                        top = a.name.split(".")[0]
                        self._add(self.bindings, top, {Ref(top, True)})
            elif isinstance(node, ast.ImportFrom):
                base, problem = self.from_base(node)
                if problem:
                    continue
                for a in node.names:
                    if a.name == "*":
                        for q in _STAR_TARGETS:
                            if q.rpartition(".")[0] == base:
                                self._add(self.bindings, q.rpartition(".")[2], {Ref(q, False)})
                    else:
                        self._add(self.bindings, a.asname or a.name, {Ref(_join(base, a.name), False)})
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    pairs += self._pairs(t, node.value, id(node) in in_class)
                if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and stores.get(node.targets[0].id) == 1:
                    self.flags[node.targets[0].id] = node.value
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                pairs += self._pairs(node.target, node.value, id(node) in in_class)
            elif isinstance(node, ast.NamedExpr):
                pairs += self._pairs(node.target, node.value, False)
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                if isinstance(node.iter, (ast.List, ast.Tuple, ast.Set)):
                    for e in node.iter.elts:
                        pairs += self._pairs(node.target, e, False)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                if not isinstance(node, ast.Lambda):
                    self.functions.setdefault(node.name, []).extend(_returns(node))
                args = node.args
                positional = args.posonlyargs + args.args
                for a, d in zip(positional[len(positional) - len(args.defaults):], args.defaults):
                    pairs.append((a.arg, d, False))
                for a, d in zip(args.kwonlyargs, args.kw_defaults):
                    if d is not None:
                        pairs.append((a.arg, d, False))
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr"
                  and len(node.args) == 3):
                for attr in self.strs(node.args[1]) or ():
                    pairs.append((("attr", attr), node.args[2], False))
                    pairs.append((attr, node.args[2], False))  # setattr(builtins, "f", ...) makes a name
        self._binding_pairs = pairs
        self._fixpoint()

    def _fixpoint(self):
        for _ in range(30):  # `f = importlib.import_module; g = f; ...`
            self._memo = {}
            changed = False
            for target, value, also_attr in self._binding_pairs:
                refs = self.resolve(value)
                if refs and self._bind_target(target, refs, also_attr):
                    changed = True
            if not changed:
                break
        self._memo = {}

    def _bind_strings(self):
        """Names bound only to literal strings: loop variables over literal lists, parameters of
        local functions (their defaults and the literal arguments of their calls) and
        @pytest.mark.parametrize arguments. A plainly assigned name stays computed."""
        for node in self.nodes:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) else []
            for t in targets:
                self.assigned.update(_target_names(t))
        params = {}  # function name -> [(parameter names, how many are positional, is a method)]
        for node in self.nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [a.arg for a in node.args.posonlyargs + node.args.args]
                params.setdefault(node.name, []).append((names + [a.arg for a in node.args.kwonlyargs],
                                                         len(node.args.posonlyargs + node.args.args),
                                                         bool(names) and names[0] in ("self", "cls")))
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
                a = node.value.args
                names = [x.arg for x in a.posonlyargs + a.args]
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        params.setdefault(t.id, []).append((names + [x.arg for x in a.kwonlyargs], len(names), False))
        for _ in range(5):
            before = sum(len(v) for v in self.str_values.values())
            for node in self.nodes:
                if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)) and isinstance(
                        node.iter, (ast.List, ast.Tuple, ast.Set)):
                    for e in node.iter.elts:
                        self._bind_strs(node.target, e)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    a = node.args
                    positional = a.posonlyargs + a.args
                    for arg, d in zip(positional[len(positional) - len(a.defaults):], a.defaults):
                        self._bind_strs(arg.arg, d)
                    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
                        if d is not None:
                            self._bind_strs(arg.arg, d)
                    for decorator in getattr(node, "decorator_list", ()):
                        self._parametrize(decorator)
                elif isinstance(node, ast.Call):
                    func = node.func
                    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
                    for names, n_positional, method in params.get(name, ()):
                        if method != isinstance(func, ast.Attribute):
                            continue  # obj.f(...) calls a method f(self, ...), f(...) a function
                        offset = 1 if method else 0
                        for i, arg in enumerate(node.args):
                            if isinstance(arg, ast.Starred):
                                break
                            if offset + i < n_positional:
                                self._bind_strs(names[offset + i], arg)
                        for k in node.keywords:
                            if k.arg in names:
                                self._bind_strs(k.arg, k.value)
            if sum(len(v) for v in self.str_values.values()) == before:
                break

    def _bind_strs(self, target, value):
        if isinstance(target, (ast.Tuple, ast.List)):
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
                for t, v in zip(target.elts, value.elts):
                    self._bind_strs(t, v)
            return
        name = target if isinstance(target, str) else target.id if isinstance(target, ast.Name) else None
        values = self.strs(value) if name else None
        if values:
            bound = self.str_values.setdefault(name, [])
            bound.extend(v for v in values if v not in bound)

    def _parametrize(self, decorator):
        """@pytest.mark.parametrize("mod", ["a", "b"]) / ("x, mod", [(1, "a")]) binds mod."""
        if not (isinstance(decorator, ast.Call) and len(decorator.args) >= 2):
            return
        if not any(r.qual.endswith("mark.parametrize") for r in self.resolve(decorator.func)):
            return
        argnames = self.strs(decorator.args[0])
        values = decorator.args[1]
        if not argnames or len(argnames) != 1 or not isinstance(values, (ast.List, ast.Tuple)):
            return
        names = [n.strip() for n in argnames[0].split(",") if n.strip()]
        for case in values.elts:
            if isinstance(case, ast.Call) and case.args:  # pytest.param(...)
                case = ast.Tuple(elts=case.args) if len(names) > 1 else case.args[0]
            if len(names) == 1:
                self._bind_strs(names[0], case)
            elif isinstance(case, (ast.Tuple, ast.List)):
                for n, v in zip(names, case.elts):
                    self._bind_strs(n, v)

    def _pairs(self, target, value, also_attr):
        if (isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List))
                and len(target.elts) == len(value.elts)
                and not any(isinstance(e, ast.Starred) for e in target.elts + value.elts)):
            return [p for t, v in zip(target.elts, value.elts) for p in self._pairs(t, v, also_attr)]
        if isinstance(value, ast.Lambda) and isinstance(target, ast.Name):
            self.functions.setdefault(target.id, []).append(value.body)
        return [(target, value, also_attr)]

    @staticmethod
    def _add(table, key, refs):
        before = len(table.setdefault(key, set()))
        table[key].update(refs)
        return len(table[key]) != before

    def _bind_target(self, target, refs, also_attr):
        if isinstance(target, str):
            return self._add(self.bindings, target, refs)
        if isinstance(target, tuple):
            return self._add(self.attrs, target[1], refs)
        if isinstance(target, ast.Name):
            changed = self._add(self.bindings, target.id, refs)
            return (self._add(self.attrs, target.id, refs) if also_attr else False) or changed
        if isinstance(target, ast.Attribute):
            return self._add(self.attrs, target.attr, refs)
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Call) and any(
                r.qual == "<globals>" for r in self.resolve(target.value)):
            return any([self._add(self.bindings, k, refs) for k in self.strs(target.slice) or ()])  # globals()["f"] = ...
        if isinstance(target, (ast.Subscript, ast.Starred)):
            return self._bind_target(target.value, refs, also_attr)  # the container holds it
        if isinstance(target, (ast.Tuple, ast.List)):
            return any([self._bind_target(e, refs, also_attr) for e in target.elts])
        return False

    # -- what an expression may be ------------------------------------------------------------

    def resolve(self, node):
        """The Refs (dotted names) an expression may evaluate to."""
        key = id(node)  # the memo holds the node too, so that its id is not reused
        if key not in self._memo:
            self._memo[key] = (node, frozenset())  # a cycle resolves to nothing more
            self._memo[key] = (node, frozenset(Ref(_canonical(r.qual), r.fallback) for r in self._resolve(node)))
        return self._memo[key][1]

    def _resolve(self, node):
        if isinstance(node, ast.Name):
            out = set(self.bindings.get(node.id, ()))
            if node.id in BUILTIN_REFS:
                out.add(Ref(BUILTIN_REFS[node.id], False))
            return out
        if isinstance(node, ast.Attribute):
            if node.attr == "__call__":
                return set(self.resolve(node.value))
            out = {Ref(r.qual + "." + node.attr, r.fallback) for r in self.resolve(node.value)
                   if not r.qual.startswith("<") and r.qual.count(".") < _MAX_PARTS}
            out |= self.attrs.get(node.attr, set())
            if node.attr in ("setattr", "delattr"):
                out.add(Ref("monkeypatch." + node.attr, False))
            return out
        if isinstance(node, ast.Subscript):
            keys = self.strs(node.slice) or []
            out = set()
            for r in self.resolve(node.value):
                if r.qual == "sys.modules":
                    out.update(Ref(k, True) for k in keys if _is_dotted(k))
                elif r.qual.endswith(".__dict__"):
                    out.update(Ref(r.qual[:-len(".__dict__")] + "." + k, r.fallback) for k in keys if k.isidentifier())
                elif r.qual == "builtins":
                    out.update(Ref("builtins." + k, False) for k in keys if k.isidentifier())
                elif r.qual == "<globals>":
                    for k in keys:
                        out |= self.bindings.get(k, set())
                        if k in BUILTIN_REFS:
                            out.add(Ref(BUILTIN_REFS[k], False))
                else:
                    out.add(r)  # an element of a container that holds it
            return out
        if isinstance(node, ast.Call):
            return self._call_result(node)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return {r for e in node.elts for r in self.resolve(e)}
        if isinstance(node, ast.Dict):
            return {r for v in node.values for r in self.resolve(v)}
        if isinstance(node, ast.IfExp):
            truth = self.truth(node.test)
            branches = [node.body] if truth is True else [node.orelse] if truth is False else [node.body, node.orelse]
            return {r for b in branches for r in self.resolve(b)}
        if isinstance(node, ast.BoolOp):
            return {r for v in node.values for r in self.resolve(v)}
        if isinstance(node, (ast.NamedExpr, ast.Starred, ast.Await)):
            return set(self.resolve(node.value))
        return set()

    def _call_result(self, call):
        out = set()
        for r in self.resolve(call.func):
            q = r.qual
            spec = IMPORT_CALLS.get(q)
            if spec and spec.returns_module:
                imports, results = self._imports_of_call(call, q)
                out.update(results)
            elif q == "builtins.getattr" and len(call.args) >= 2:
                for attr in self.strs(call.args[1]) or ():
                    out.update(Ref(b.qual + "." + attr, b.fallback) for b in self.resolve(call.args[0])
                               if not b.qual.startswith("<"))
                    out |= self.attrs.get(attr, set())
                if len(call.args) > 2:
                    out |= self.resolve(call.args[2])
            elif q == "builtins.vars":
                out.update({Ref(b.qual + ".__dict__", b.fallback) for b in self.resolve(call.args[0])}
                           if call.args else {Ref("<globals>", False)})
            elif q in ("builtins.globals", "builtins.locals"):
                out.add(Ref("<globals>", False))
            elif q in _WRAPPERS and len(call.args) == 1 and not call.keywords:
                out |= self.resolve(call.args[0])  # partial(f), staticmethod(f) are f
        func = call.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        for value in self.functions.get(name, ()):
            out |= self.resolve(value)
        return out

    def strs(self, node):
        """The possible values of a literal string expression, or None if it is computed. Literal:
        a string constant (an f-string without fields), a choice between literals (`"a" if c else
        "b"`), a name bound only to literals (a loop variable over a literal list, a parameter of
        a local function given literals, a @pytest.mark.parametrize argument), and __name__ /
        __package__ / __spec__.name / .parent. Any operation ('a.' + b, .join, %, .format, an
        f-string field) makes it computed: the run-time guard judges those."""
        if node is None:
            return None
        if isinstance(node, ast.Constant):
            return [node.value] if isinstance(node.value, str) else None
        if isinstance(node, ast.JoinedStr):
            if all(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in node.values):
                return ["".join(p.value for p in node.values)]
            return None
        if isinstance(node, ast.IfExp):
            truth = self.truth(node.test)
            if truth is not None:
                return self.strs(node.body if truth else node.orelse)
            a, b = self.strs(node.body), self.strs(node.orelse)
            return None if a is None or b is None else list(dict.fromkeys(a + b))[:_MAX_VALUES]
        if isinstance(node, ast.Name) and node.id in self.str_values and node.id not in self.assigned:
            return self.str_values[node.id][:_MAX_VALUES]
        if isinstance(node, ast.Name) and node.id in ("__name__", "__package__"):
            value = self.module_name if node.id == "__name__" else self.package
            return [value] if value else None
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "__spec__"
                and node.attr in ("name", "parent")):
            value = self.module_name if node.attr == "name" else self.package
            return [value] if value else None
        return None

    # -- version guards -----------------------------------------------------------------------

    def truth(self, node, seen=()):
        """True / False if the condition is known on this interpreter, else None."""
        if isinstance(node, ast.Constant):
            return bool(node.value) if isinstance(node.value, (bool, int, float, str, bytes, type(None))) else None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            value = self.truth(node.operand, seen)
            return None if value is None else not value
        if isinstance(node, ast.BoolOp):
            values = [self.truth(v, seen) for v in node.values]
            if isinstance(node.op, ast.And):
                return False if False in values else True if all(v is True for v in values) else None
            return True if True in values else False if all(v is False for v in values) else None
        if isinstance(node, ast.Compare):
            operands = [self.version(node.left)] + [self.version(c) for c in node.comparators]
            if (any(o is None for o in operands) or not any(isinstance(o, _VersionValue) for o in operands)
                    or not all(type(op) in _COMPARE for op in node.ops)):
                return None  # a comparison of literals alone is no version guard
            plain = [o.value if isinstance(o, _VersionValue) else o for o in operands]
            try:
                return all(_COMPARE[type(op)](a, b) for op, a, b in zip(node.ops, plain, plain[1:]))
            except TypeError:
                return None
        if isinstance(node, ast.Name) and node.id in self.flags and node.id not in seen:
            return self.truth(self.flags[node.id], seen + (node.id,))
        return None

    def version(self, node):
        """The value of a version expression (sys.version_info and literals), or None."""
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, str)) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Tuple):
            values = [self.version(e) for e in node.elts]
            return None if any(v is None or isinstance(v, _VersionValue) for v in values) else tuple(values)
        if isinstance(node, ast.Subscript):
            base = self.version(node.value)
            if not isinstance(base, _VersionValue) or not isinstance(base.value, tuple):
                return None
            s = node.slice
            if isinstance(s, ast.Constant) and isinstance(s.value, int):
                try:
                    return _VersionValue(base.value[s.value])
                except IndexError:
                    return None
            if isinstance(s, ast.Slice):
                bounds = [None if b is None else b.value if isinstance(b, ast.Constant) and isinstance(b.value, int)
                          else False for b in (s.lower, s.upper, s.step)]
                if False in bounds or bounds[2] == 0:
                    return None
                return _VersionValue(base.value[slice(*bounds)])
            return None
        if isinstance(node, (ast.Name, ast.Attribute)):
            root = node
            while isinstance(root, ast.Attribute):
                root = root.value
            if not self.trust_guards or not isinstance(root, ast.Name) or root.id in self.rebound:
                return None  # sys.version_info may be faked here: both branches count
            quals = {r.qual for r in self.resolve(node)}
            if len(quals) != 1:
                return None
            if "sys.version_info" in quals:
                return _VersionValue(tuple(sys.version_info))
            for i, attr in enumerate(("major", "minor", "micro")):
                if "sys.version_info." + attr in quals:
                    return _VersionValue(sys.version_info[i])
            if "sys.hexversion" in quals:
                return _VersionValue(sys.hexversion)
        return None

    # -- the contextual walk ------------------------------------------------------------------

    def _walk(self, tree):
        """(node, context) for every node: whether it is optional (try/except ImportError), dead
        (a branch that cannot run here), and its scope (module, class, function)."""
        out = []
        stack = [(tree, _Ctx(False, False, "module"))]
        while stack:
            node, ctx = stack.pop()
            out.append((node, ctx))
            if isinstance(node, (ast.If, ast.IfExp)):
                value = None if ctx.dead else self.truth(node.test)
                body = node.body if isinstance(node.body, list) else [node.body]
                orelse = node.orelse if isinstance(node.orelse, list) else [node.orelse]
                stack.append((node.test, ctx))
                stack.extend((c, ctx._replace(dead=ctx.dead or value is False)) for c in body)
                stack.extend((c, ctx._replace(dead=ctx.dead or value is True)) for c in orelse)
            elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
                inner = ctx._replace(optional=ctx.optional or _catches_import_errors(node.handlers))
                stack.extend((c, inner) for c in node.body + node.handlers)
                stack.extend((c, ctx) for c in node.orelse + node.finalbody)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                body = node.body if isinstance(node.body, list) else [node.body]
                outer = [n for n in [node.args, getattr(node, "returns", None)] + getattr(node, "decorator_list", [])
                         + getattr(node, "type_params", []) if n is not None]
                stack.extend((c, ctx) for c in outer)
                stack.extend((c, ctx._replace(optional=False, scope="function")) for c in body)
            elif isinstance(node, ast.ClassDef):
                outer = node.bases + node.keywords + node.decorator_list + getattr(node, "type_params", [])
                stack.extend((c, ctx) for c in outer)
                stack.extend((c, ctx._replace(scope="class")) for c in node.body)
            else:
                stack.extend((c, ctx) for c in ast.iter_child_nodes(node))
        return out

    # -- imports --------------------------------------------------------------------------------

    def imports(self):
        found, chains, inner = [], [], set()
        for node in self.nodes:
            if isinstance(node, ast.Attribute):
                inner.add(id(node.value))
            elif self._getattr_name(node):
                inner.add(id(node.args[0]))
        for node, ctx in self.walked:
            if ctx.dead:
                continue
            opt = ctx.optional
            if isinstance(node, ast.Import):
                found.extend(Import(node.lineno, a.name, optional=opt) for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                names = tuple(a.name for a in node.names if a.name != "*")
                base, problem = self.from_base(node)
                if not problem:
                    star = any(a.name == "*" for a in node.names)
                    found.append(Import(node.lineno, base, names, optional=opt, star=star))
                elif not opt:  # else the except clause handles Python's refusal
                    found.append(Import(node.lineno, "." * node.level + (node.module or ""), names, problem=problem))
            elif isinstance(node, ast.Call):
                found.extend(replace(i, optional=opt or i.optional) for i in self._call_imports(node))
                if self._getattr_name(node) and id(node) not in inner:
                    chains.append((node, ctx))
            elif isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Store):
                if any(r.qual == "sys.modules" for r in self.resolve(node.value)):
                    found.extend(Import(node.lineno, k, optional=opt) for k in self.strs(node.slice) or () if _is_dotted(k))
            elif isinstance(node, (ast.List, ast.Tuple)):
                found.extend(replace(i, optional=opt or i.optional) for i in self._command_line(node))
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and ctx.scope == "module":
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if node.value is not None and any(isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in targets):
                    found.extend(self._plugins(node.value, opt))
            if isinstance(node, ast.Attribute) and id(node) not in inner:
                chains.append((node, ctx))
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("append", "extend")
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "pytest_plugins" and node.args):
                found.extend(self._plugins(node.args[0], opt))
        imported = set()
        for imp in found:
            imported.add(imp.module)
            imported.update(imp.module + "." + n for n in imp.names)
        seen = set()
        for node, ctx in chains:
            for imp in self._chain_imports(node, ctx, imported):
                key = (imp.module, imp.names, imp.names_only, imp.names_check)
                if key not in seen:
                    seen.add(key)
                    found.append(imp)
        unique = list(dict.fromkeys(found))
        return sorted(unique, key=lambda i: (i.line, i.module))

    def free_names(self):
        """{name: first line} of the names this file reads but never binds (no scopes): what a
        star import must provide."""
        bound = set(self.rebound) | set(dir(builtins))
        for node in self.nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                bound.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bound.add(node.name)
            elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
                bound.add(node.name)
        free = {}
        for node in self.nodes:
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound:
                free[node.id] = min(free.get(node.id, node.lineno), node.lineno)
        return free

    def _plugins(self, value, optional):
        elts = value.elts if isinstance(value, (ast.List, ast.Tuple, ast.Set)) else [value]
        return [Import(e.lineno, s, optional=optional) for e in elts for s in self.strs(e) or () if _is_dotted(s)]

    def _command_line(self, node):
        """`[sys.executable, "-c", "import x"]` runs code, `[..., "-m", "x"]` runs a module (for
        a Python interpreter only: `pytest -m slow` selects a marker)."""
        out = []
        if not node.elts or not self._is_interpreter(node.elts[0]):
            return out
        for flag, value in zip(node.elts, node.elts[1:]):
            if isinstance(flag, ast.Constant) and flag.value == "-c":
                for s in self.strs(value) or ():
                    out.extend(self._code(s, node.lineno))
            elif isinstance(flag, ast.Constant) and flag.value == "-m":
                out.extend(Import(node.lineno, s) for s in self.strs(value) or () if _is_dotted(s))
        return out

    def _is_interpreter(self, node):
        if any(r.qual == "sys.executable" for r in self.resolve(node)):
            return True
        names = self.strs(node) or ()
        return any(re.fullmatch(r"python[0-9.]*(\.exe)?", n.replace("\\", "/").rsplit("/", 1)[-1]) for n in names)

    def _call_imports(self, call):
        out = []
        quals = {r.qual for r in self.resolve(call.func)}
        for q in sorted(quals & IMPORT_CALLS.keys()):
            out.extend(self._imports_of_call(call, q)[0])
        if "builtins.map" in quals and len(call.args) >= 2 and isinstance(call.args[1], (ast.List, ast.Tuple, ast.Set)):
            for q in sorted({r.qual for r in self.resolve(call.args[0])} & IMPORT_CALLS.keys()):
                for e in call.args[1].elts:  # map(importlib.import_module, ["x", "y"])
                    one = ast.copy_location(ast.Call(func=call.args[0], args=[e], keywords=[]), call)
                    out.extend(self._imports_of_call(one, q)[0])
        if "functools.partial" in quals and call.args:  # partial(import_module, "x")
            bound = ast.Call(func=call.args[0], args=call.args[1:], keywords=call.keywords)
            ast.copy_location(bound, call)
            for q in sorted({r.qual for r in self.resolve(call.args[0])} & IMPORT_CALLS.keys()):
                out.extend(self._imports_of_call(bound, q)[0])
        return out

    @staticmethod
    def _arg(call, position, keywords):
        """The argument at `position` or passed by one of `keywords` (also through *[...] and
        **{...} literals), or None."""
        args = []
        for a in call.args:
            if isinstance(a, ast.Starred):
                if isinstance(a.value, (ast.List, ast.Tuple)) and not any(isinstance(e, ast.Starred) for e in a.value.elts):
                    args.extend(a.value.elts)
                    continue
                break  # positions after *computed are unknown
            args.append(a)
        if position < len(args):
            return args[position]
        for k in call.keywords:
            if k.arg in keywords:
                return k.value
            if k.arg is None and isinstance(k.value, ast.Dict):
                for key, value in zip(k.value.keys, k.value.values):
                    if isinstance(key, ast.Constant) and key.value in keywords:
                        return value
        return None

    def _imports_of_call(self, call, qual):
        """(Imports of one import call, Refs of the modules it returns)."""
        spec = IMPORT_CALLS[qual]
        line = call.lineno
        first = self.strs(self._arg(call, *spec.slots[0])) or []
        imports, results = [], []
        if spec.how == "probe" and not self.loads_specs:
            return [], []
        if spec.how in ("module", "probe"):
            packages = self.strs(self._arg(call, *spec.slots[1])) if len(spec.slots) > 1 else None
            for name in first:
                for module in self._absolute(name, packages):
                    imports.append(Import(line, module))
                    results.append(Ref(module, True))
        elif spec.how == "dunder":
            level_node = self._arg(call, *spec.slots[2])
            level = level_node.value if isinstance(level_node, ast.Constant) and isinstance(level_node.value, int) else 0
            fromlist_node = self._arg(call, *spec.slots[1])
            fromlist = []
            if isinstance(fromlist_node, (ast.List, ast.Tuple, ast.Set)):
                fromlist = [s for e in fromlist_node.elts for s in self.strs(e) or ()]
            names = tuple(n for n in fromlist if n != "*" and n.isidentifier())
            for name in first:
                if level > 0:
                    if not self.package:
                        continue
                    bits = self.package.rsplit(".", level - 1)
                    if len(bits) < level:
                        continue
                    name = _join(bits[0], name)
                if _is_dotted(name):
                    imports.append(Import(line, name, names))
                    results.append(Ref(name if fromlist_node is not None and fromlist else name.split(".")[0], True))
        elif spec.how == "resolve":
            for name in first:
                imp = self._resolve_name(line, name)
                if imp:  # patch.multiple("pkg.mod", x=...) patches attributes that need only exist
                    imports.append(replace(imp, names_check="exists") if qual.endswith(".multiple") else imp)
                    results.append(Ref(name.replace(":", "."), True))
        elif spec.how in ("patch", "setattr", "delattr"):
            # monkeypatch.setattr("a.b.name", value) / delattr("a.b.name"): a string target only
            # with that arity (setattr(obj, "name", value) takes an object).
            if spec.how == "setattr" and (len(call.args) > 2 or any(k.arg == "value" for k in call.keywords)):
                return [], []
            if spec.how == "delattr" and (len(call.args) > 1 or any(k.arg == "name" for k in call.keywords)):
                return [], []
            lenient = any(k.arg in ("create", "raising") and isinstance(k.value, ast.Constant)
                          and k.value.value is (k.arg == "create") for k in call.keywords)
            for name in first:
                imp = self._attribute_target(line, name)
                if imp:  # create=True / raising=False: the attribute need not exist
                    imports.append(replace(imp, names_check="none") if lenient else imp)
        elif spec.how == "code":
            for slot in spec.slots:
                for source in self.strs(self._arg(call, *slot)) or ():
                    imports.extend(self._code(source, line))
        return imports, results

    def _absolute(self, name, packages):
        if not name.startswith("."):
            return [name] if _is_dotted(name) else []
        out = []
        for package in packages or ():
            try:
                module = importlib.util.resolve_name(name, package)
            except (ImportError, ValueError):
                continue
            if _is_dotted(module):
                out.append(module)
        return out

    def _longest_known(self, parts, at_most):
        for i in range(at_most, 0, -1):
            if ".".join(parts[:i]) in self.known:
                return i
        return 0

    def _resolve_name(self, line, name):
        """pkgutil.resolve_name: "pkg.mod:obj.attr" imports pkg.mod; "pkg.mod.obj" imports the
        longest importable prefix (the longest one some target provides, else all but the last)."""
        module, colon, obj = name.partition(":")
        if colon:
            if not _is_dotted(module) or (obj and not _is_dotted(obj)):
                return None
            return Import(line, module, (obj.split(".")[0],)) if obj else Import(line, module)
        if not _is_dotted(name):
            return None
        parts = name.split(".")
        i = self._longest_known(parts, len(parts))
        if i == len(parts) or len(parts) == 1:
            return Import(line, name)
        if i:
            return Import(line, ".".join(parts[:i]), (parts[i],))
        return Import(line, ".".join(parts[:-1]), (parts[-1],))

    def _attribute_target(self, line, target):
        """mock.patch("a.b.c.name"): `from a.b.c import name`, the module being the longest prefix
        some target provides; the name need only exist there (patch where it is looked up)."""
        if not _is_dotted(target) or "." not in target:
            return None
        parts = target.split(".")
        i = self._longest_known(parts, len(parts) - 1) or len(parts) - 1
        return Import(line, ".".join(parts[:i]), (parts[i],), names_check="exists")

    def _code(self, source, line):
        if self.depth >= self.MAX_CODE_DEPTH:
            return []
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return []
        nested = _Collector(tree, self.module_name, self.is_package, self.filename, self.known, self.depth + 1,
                            inherit=self.bindings, named=self.named, loads_specs=self.loads_specs)
        return [replace(i, line=line) for i in nested.imports()]

    def _getattr_name(self, node):
        """"attr" of `getattr(obj, "attr")`, else None."""
        if not (isinstance(node, ast.Call) and len(node.args) in (2, 3) and not node.keywords):
            return None
        if not (isinstance(node.func, ast.Name) and node.func.id == "getattr"):
            return None
        values = self.strs(node.args[1])
        return values[0] if values and len(values) == 1 and values[0].isidentifier() else None

    def _chain_imports(self, node, ctx, imported):
        """`import tinytorch.core.tensor` then `tinytorch.core.layers.Module`: an import of
        tinytorch.core.layers (the longest prefix some target provides as a module; for a name
        bound by a bare `import X`, else everything but the last attribute)."""
        attrs = []
        root = node
        while True:
            if isinstance(root, ast.Attribute):
                attrs.append(root.attr)
                root = root.value
            elif self._getattr_name(root):
                attrs.append(self._getattr_name(root))
                root = root.args[0]
            else:
                break
        attrs.reverse()
        attrs = attrs[:_MAX_PARTS]
        for k, a in enumerate(attrs):
            if a.startswith("__") and a.endswith("__"):
                attrs = attrs[:k]
                break
        if not attrs:
            return []
        store = isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del))
        # Only a name bound by an import statement alone is surely a module: through a container,
        # a call or an assignment, `x.items` may be a dict's method, so no name of it is judged.
        direct = isinstance(root, ast.Name) and root.id in self._import_only_names()
        out = []
        for r in self.resolve(root):
            if not _is_dotted(r.qual):
                continue
            parts = r.qual.split(".") + attrs
            i = self._longest_known(parts, len(parts) - 1)
            if not i and not r.fallback:
                continue
            i = i or len(parts) - 1
            module, name = ".".join(parts[:i]), parts[i]
            full = module + "." + name
            if r.qual == full or r.qual.startswith(full + "."):
                continue  # the binding itself names it: its import statement is checked
            if full in imported or any(m.startswith(full + ".") for m in imported):
                continue
            if module in imported:
                if store or not direct or module not in self.named:
                    continue  # nothing new but the name, and only repo modules have names
                out.append(Import(node.lineno, module, (name,), ctx.optional, names_only=True, chain=True))
            elif module in self.known or not is_stdlib(module):
                out.append(Import(node.lineno, module, (name,), ctx.optional,
                                  names_check="none" if store or not direct else "defined", chain=True))
        return out

    def _import_only_names(self):
        """Names bound by import statements and by nothing else in the file."""
        if getattr(self, "_import_only", None) is None:
            imported, other = set(), set()
            for node in self.nodes:
                if isinstance(node, ast.Import):
                    imported.update(a.asname or a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom):
                    imported.update(a.asname or a.name for a in node.names)
                elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                    other.add(node.id)
                elif isinstance(node, ast.arg):
                    other.add(node.arg)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    other.add(node.name)
            self._import_only = imported - other
        return self._import_only

    # -- names a module defines -----------------------------------------------------------------

    def names(self):
        """{"names", "open", "imported", "aliases"} of this module (see module_names)."""
        defined, listed, imported, aliases = set(), set(), {}, {}
        is_open = False
        all_sources, all_computed = set(), False  # `from m import __all__`, `__all__ = m.__all__`

        def add_all(value):
            nonlocal all_computed
            values, complete = self._all_values(value)
            listed.update(values)
            all_computed = all_computed or not complete

        for node, ctx in self.walked:
            if isinstance(node, ast.Global):
                defined.update(node.names)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "globals":
                is_open = True  # globals()[k] = v, globals().update(...)
            if ctx.scope != "module":
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    defined.update(_target_names(t))
                    if isinstance(t, ast.Name) and t.id == "__all__":
                        add_all(node.value)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                defined.update(_target_names(node.target))
                if isinstance(node.target, ast.Name) and node.target.id == "__all__" and node.value is not None:
                    add_all(node.value)
            elif isinstance(node, ast.NamedExpr):
                defined.update(_target_names(node.target))
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                defined.update(_target_names(node.target))
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                defined.update(_target_names(node.optional_vars))
            elif isinstance(node, ast.ExceptHandler) and node.name:
                defined.add(node.name)
            elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
                defined.add(node.name)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                defined.add(node.rest)
            elif type(node).__name__ == "TypeAlias":  # 3.12: `type X = ...`
                defined.update(_target_names(node.name))
            elif isinstance(node, ast.Import):
                for a in node.names:
                    local = a.asname or a.name.split(".")[0]
                    imported[local] = a.name if a.asname else local
                    aliases[local] = ""  # the name is the module itself
            elif isinstance(node, ast.ImportFrom):
                base, problem = self.from_base(node)
                for a in node.names:
                    if a.name == "*":
                        is_open = True
                    elif not problem:
                        local = a.asname or a.name
                        imported[local] = base
                        if local != a.name:
                            aliases[local] = a.name
                        if local == "__all__":
                            all_sources.add(base)  # a re-export module: `from m import __all__`
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in ("extend", "append") and isinstance(node.func.value, ast.Name)
                  and node.func.value.id == "__all__" and node.args):
                add_all(node.args[0] if node.func.attr == "extend" else ast.List(elts=[node.args[0]]))
        # A module that takes its __all__ from another (or computes it) re-exports what it imports
        # from there (or everything it imports): those names are its public names.
        listed.update(n for n, source in imported.items()
                      if n != "__all__" and (all_computed or source in all_sources))
        names = defined | listed
        return {
            "names": sorted(names),
            "open": is_open or "__getattr__" in names,
            "imported": {k: v for k, v in sorted(imported.items()) if k not in names},
            "aliases": {k: v for k, v in sorted(aliases.items()) if k not in names},
        }

    def _all_values(self, node):
        """(literal strings of an __all__ value, whether that is all of it)."""
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            values, complete = [], True
            for e in node.elts:
                strs = self.strs(e)
                if strs is None:
                    complete = False
                else:
                    values.extend(strs)
            return values, complete
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            a, b = self._all_values(node.left), self._all_values(node.right)
            return a[0] + b[0], a[1] and b[1]
        strs = self.strs(node)
        return (strs, True) if strs is not None else ([], False)


class _VersionValue:
    """A value read from sys.version_info (so a comparison of two literals is not a guard)."""

    def __init__(self, value):
        self.value = value


def collect_imports(source, module_name="", is_package=False, filename="<src>", known_modules=None):
    """Every import of `source` (str or bytes), as Imports sorted by line. `known_modules`: the
    modules targets provide, to split attribute chains and dotted strings at a module."""
    tree = parse_source(source, filename)
    return _Collector(tree, module_name, is_package, filename, frozenset(known_modules or ())).imports()


def module_names(source, module_name="", is_package=False, filename="<src>"):
    """What `from module import n` may take from this source: {"names": [defined at module level,
    and listed in __all__], "open": a module __getattr__, a star import or globals() make any name
    possible, "imported": {name bound only by an import: the module it comes from}, "aliases":
    {such a name: its original name, or "" if it is the module itself}}."""
    return _Collector(parse_source(source, filename), module_name, is_package, filename).names()


# --- verdicts -----------------------------------------------------------------------------------

@dataclass
class Violation:
    file: str  # the source with the import; for a dep or build problem, the BUILD file
    line: int  # 0 for a dep or build problem: the checker cannot see the BUILD file's lines
    module: str  # the import as written; for an unused dep, what the dep provides
    provider: str  # label of a target that provides it (the unused dep itself), or ""
    reason: str
    fix: str
    dep_to_add: str = ""
    dep_to_remove: str = ""
    section: str = ""  # "" (an import or a dep), "reach" (layering through deps), "data" (.py in data)


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
    return [replace(imp, names=(n,)) for n in imp.names] if imp.names else [imp]


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


BENCHMARK_ONLY = ("torch", "threadpoolctl")  # benchmarks/requirements_torch.in


def _benchmark_only_fix(package):
    fix = 'PyTorch is benchmark-only: depend on "@pypi_torch//torch" from //benchmarks (benchmarks/BUILD.bazel)'
    if package != "torch":
        fix += ' (for %s: "@pypi_torch//%s")' % (package, package)
    return fix + "; it is locked in benchmarks/requirements_torch.in, not in requirements.in"


class _Target:
    """The providers one target may use, and what its imports used."""

    def __init__(self, manifest, index, read_json):
        self.label = manifest["label"]
        self.kind = manifest.get("kind") or "library"
        own = manifest.get("own")
        self.own = Provider.from_entry(own) if own else Provider(self.label, (), ())
        self.direct_all = [Provider.from_entry(e) for e in manifest.get("direct") or ()]
        self.direct = [p for p in self.direct_all if p.python]
        self.transitive = [Provider.from_entry(e) for e in manifest.get("transitive") or ()]
        reached = manifest.get("reached")
        self.reached = self.transitive if reached is None else [Provider.from_entry(e) for e in reached]
        self.everyone = [Provider.from_entry(e) for e in index]
        self.my_number = manifest.get("module_number")
        self.read_json = read_json
        self.allowed = [self.own] + self.direct
        self.all = self.allowed + self.everyone + self.transitive + self.reached
        self.known = frozenset(m for p in self.all for m in p.modules)
        self.first_party = frozenset(m for p in self.all if not p.is_external for m in p.modules)
        self.own_names = {}
        self.used = set()
        self.namespace_owners = []
        self._names_cache = {}

    def names_info(self, module, providers):
        """(names entry of `module`, its provider) from own srcs or a direct dep, else (None, None)."""
        for p in providers:
            if p is self.own:
                if module in self.own_names:
                    return self.own_names[module], p
                continue
            table = p.names
            if table is None and p.names_file:
                if p.names_file not in self._names_cache:
                    try:
                        self._names_cache[p.names_file] = self.read_json(p.names_file)
                    except (OSError, ValueError) as e:
                        raise CheckError("cannot read the names file %s of %s: %s" % (p.names_file, p.label, e)) from None
                table = self._names_cache[p.names_file]
            if isinstance(table, dict) and isinstance(table.get(module), dict):
                return table[module], p
        return None, None

    def judge(self, one):
        """None if the import of one name is allowed, else (provider, reason, fix, dep_to_add)."""
        candidates = _candidates(one)
        if not any(c in self.first_party for c in candidates) and any(is_stdlib(c) for c in candidates):
            return None
        if one.optional and not any(p.provides(c) or p.owns_namespace(_namespace(one)) for p in self.all for c in candidates):
            return None  # try: import x / except ImportError: nothing here provides x
        name = one.names[0] if one.names else None
        sub = one.module + "." + name if name else None
        if name:
            sub_allowed = [p for p in self.allowed if p.provides(sub)]
            if sub_allowed:
                self.used.update(p.label for p in sub_allowed)
                return None
        mod_allowed = [p for p in self.allowed if p.provides(one.module)]
        if mod_allowed:
            self.used.update(p.label for p in mod_allowed)
            if not name or one.names_check == "none":
                return None
            info, owner = self.names_info(one.module, mod_allowed)
            submodule_elsewhere = any(sub in p.modules for p in self.all)
            if info is None:
                return self.verdict([sub]) if submodule_elsewhere else None
            if info.get("open") or name in (info.get("names") or ()):
                return None
            if submodule_elsewhere:
                return self.verdict([sub])  # `from pkg import sub` imports pkg.sub, another target's
            source = (info.get("imported") or {}).get(name)
            if source is not None and one.names_check == "exists":
                return None
            if source is None and one.optional:
                return None  # Python raises ImportError, which the except clause expects
            return self.name_verdict(one, name, info, owner)
        if one.names_only:
            return None
        owners = [p for p in self.allowed if p.owns_namespace(_namespace(one))]
        if owners:
            self.namespace_owners.append(owners)
            return None
        return self.verdict(candidates)

    def _later(self, label):
        theirs = module_number_of(label)
        return theirs if self.my_number is not None and theirs is not None and theirs > self.my_number else None

    def verdict(self, candidates):
        """(provider, reason, fix, dep_to_add) for an import that nothing allowed provides."""
        label, kind = self.label, self.kind
        provider = next((p for c in candidates for group in (self.everyone, self.transitive, self.reached)
                         for p in group if p.provides(c)), None)
        benchmarks = _folder_of(label).split("/")[0] == "benchmarks"
        top = candidates[0].split(".")[0]
        if provider is None:
            fix = ("fix the module name, or add the distribution to requirements.in, re-lock with "
                   "`./bazelw run //:requirements.update` and add \"@pypi//<name>\" to deps")
            if top in BENCHMARK_ONLY:
                fix = _benchmark_only_fix(top)
            return (
                "",
                "no target of this repo, no @pypi package of requirements_lock.txt and no standard-library "
                "module (Python %d.%d) provides it" % sys.version_info[:2],
                fix,
                "",
            )
        their_number = self._later(provider.label)
        if their_number is not None:
            return (
                provider.label,
                "module %02d may not depend on module %02d (a later module)" % (self.my_number, their_number),
                "module %02d may not depend on module %02d: move this %s to %s"
                % (self.my_number, their_number, kind, _folder_of(provider.label)),
                "",
            )
        if not benchmarks and (provider.label.startswith("@pypi_torch//") or top in BENCHMARK_ONLY):
            return (
                provider.label,
                "%s is benchmark-only: only //benchmarks may depend on it" % provider.label,
                _benchmark_only_fix(top if top in BENCHMARK_ONLY else provider.label.split("//")[-1]),
                "",
            )
        if provider.label == label:
            reason = "it is the target's own module, but that file is not in its srcs"
        elif any(p.label == provider.label for p in self.transitive):
            reason = "%s is only a transitive dependency; strict deps require declaring it" % provider.label
        else:
            reason = "%s is not a dependency of %s" % (provider.label, label)
        return provider.label, reason, 'add "%s" to deps of %s' % (provider.label, label), provider.label

    def name_verdict(self, one, name, info, owner):
        where = "%s (%s)" % (one.module, owner.label)
        source = (info.get("imported") or {}).get(name)
        if source is None:
            return (owner.label, '"%s" is not defined in %s' % (name, where),
                    "use a name that %s defines, or import %s from the module that defines it" % (one.module, name), "")
        original = (info.get("aliases") or {}).get(name, name)
        if original == "":
            reason = '"%s" is not defined in %s; it only imports the module %s' % (name, where, source)
            statement = "import %s" % source + ("" if source == name else " as %s" % name)
            candidates = [source]
        else:
            reason = '"%s" is not defined in %s; it only imports it from %s' % (name, where, source)
            statement = "from %s import %s" % (source, original) + ("" if original == name else " as %s" % name)
            candidates = [source + "." + original, source]
        fix = "import it from where it is defined: " + statement
        dep = ""
        if not any(p.provides(c) for p in self.allowed for c in candidates):
            provider = next((p for c in candidates for group in (self.everyone, self.transitive, self.reached)
                             for p in group if p.provides(c)), None)
            if provider is not None and self._later(provider.label) is None:
                dep = provider.label
                fix += ' (add "%s" to deps of %s)' % (dep, self.label)
        return owner.label, reason, fix, dep


def check(manifest, index, read=read_source, read_json=read_json, names_sink=None):
    """Returns the list of Violations of one target: undeclared imports, layering through deps,
    unchecked .py data, then deps that are no Python library or that no import needs. If
    `names_sink` is a dict, it receives the names entry of each module of the target's own srcs."""
    t = _Target(manifest, index, read_json)
    label = t.label
    build_file = manifest.get("build_file") or label
    violations = []

    if t.kind == "library" and t.my_number is not None and label not in {p.label for p in t.everyone}:
        violations.append(Violation(
            "modules/modules.bzl", 1, label, "", "this module library is not registered",
            'add "%s" to MODULES["%s"] in modules/modules.bzl' % (label.split(":")[-1], _folder_of(label).split("/")[-1]),
        ))

    collected = []
    paths = {src["path"] for src in manifest["srcs"]}
    for src in manifest["srcs"]:
        path = src["path"]
        module_name = src.get("module") or ""
        if t.kind == "test" and _join(path.rpartition("/")[0], "__init__.py") not in paths:
            # pytest imports a test file outside any package (no __init__.py is generated): a
            # relative import in it has no parent package, whatever its path looks like.
            module_name = ""
        try:
            source = read(path)
        except OSError as e:
            raise CheckError("cannot read %s: %s" % (path, e)) from None
        try:
            tree = parse_source(source, path)
            is_package = path.rsplit("/", 1)[-1] == "__init__.py"
            collector = _Collector(tree, module_name, is_package, path, t.known, named=t.first_party)
            if collector.module_name:
                t.own_names[collector.module_name] = collector.names()
        except RecursionError:
            raise SyntaxError("too deeply nested to check", (path, 0, None, None)) from None
        collected.append((path, collector))
    if names_sink is not None:
        names_sink.update(t.own_names)

    for path, collector in collected:
        try:
            imports = collector.imports()
        except RecursionError:
            raise SyntaxError("too deeply nested to check", (path, 0, None, None)) from None
        found, reported = [], set()
        for imp in sorted(imports, key=lambda i: i.chain):  # written imports first, then chains
            if imp.problem:
                found.append(Violation(path, imp.line, _shown(imp.module, imp.names), "",
                                       "Python refuses it: " + imp.problem, "use an absolute import"))
                continue
            refused = {}  # verdict -> the names of this import it refuses
            for one in _one_per_name(imp):
                verdict = t.judge(one)
                if verdict:
                    refused.setdefault(verdict, []).extend(one.names)
            if imp.star:
                for verdict, names in _star_names(t, imp, collector).items():
                    refused.setdefault(verdict, []).extend(names)
            for (provider, reason, fix, dep_to_add), names in refused.items():
                key = (provider, reason) if provider else (imp.module, reason)
                if imp.chain and key in reported:
                    continue  # a chain below an import that is refused already
                reported.add(key)
                found.append(Violation(path, imp.line, _shown(imp.module, names), provider, reason, fix, dep_to_add))
        violations.extend(sorted(found, key=lambda v: v.line))

    # `import tinytorch.core` needs some dep below tinytorch.core, not a particular one: it keeps
    # those deps only if no other import uses one of them (else it would excuse every such dep).
    for owners in t.namespace_owners:
        if not any(p is t.own or p.label in t.used for p in owners):
            t.used.update(p.label for p in owners)
    return violations + _reach(t, build_file) + _data_py(manifest, build_file) + _not_python(t, build_file) \
        + _unused_deps(manifest, t.direct, t.used)


def _star_names(t, imp, collector):
    """`from m import *` binds what m only imports when m has no __all__: a name the file then
    uses that way is judged like `from m import name`."""
    mod_allowed = [p for p in t.allowed if p.provides(imp.module)]
    info, _ = t.names_info(imp.module, mod_allowed)
    if info is None or info.get("open") or "__all__" in (info.get("names") or ()):
        return {}
    refused = {}
    free = collector.free_names()
    for name in sorted(info.get("imported") or ()):
        if not name.startswith("_") and name in free:
            verdict = t.judge(replace(imp, line=free[name], names=(name,), star=False))
            if verdict:
                refused.setdefault(verdict, []).append(name)
    return refused


def _reach(t, build_file):
    """Layering on everything the target reaches (deps and data, transitively), import or not."""
    if t.my_number is None:
        return []
    out, seen = [], set()
    for p in t.reached:
        theirs = t._later(p.label)
        if theirs is None or p.label in seen:
            continue
        seen.add(p.label)
        through = "through its deps" + (": " + " -> ".join((t.label,) + p.via + (p.label,)) if p.via else "")
        out.append(Violation(
            build_file, 0, p.label, p.label,
            "module %02d may not depend on module %02d (a later module): %s reaches %s %s (visibility, aliases "
            "or intermediate packages do not change layering)" % (t.my_number, theirs, t.label, p.label, through),
            "module %02d may not depend on module %02d: move this %s to %s"
            % (t.my_number, theirs, t.kind, _folder_of(p.label)),
            section="reach",
        ))
    return out


def _data_py(manifest, build_file):
    return [Violation(build_file, 0, path, "",
                      "a .py file in data is loaded by pytest (conftest.py) or by path, but never import-checked",
                      "put it in srcs of this test, or in a tinytorch_library in deps", section="data")
            for path in manifest.get("data_py") or ()]


def _not_python(t, build_file):
    out = []
    for p in t.direct_all:
        if p.python:
            continue
        word = p.kind or "filegroup or other non-Python target"
        out.append(Violation(
            build_file, 0, "no Python module", p.shown,
            "%s is %s %s, not a Python library (no PyInfo): deps take py_library / tinytorch_library targets"
            % (p.shown, "an" if word[0] in "aeiou" else "a", word),
            "move it to data, or depend on the library that provides the modules", dep_to_remove=p.shown,
        ))
    return out


def _unused_deps(manifest, direct, used):
    """A Violation for each direct dep that no import needs (and that is not needed_without_import)."""
    label = manifest["label"]
    exempt = set(manifest.get("needed_without_import") or ())
    files = ", ".join(src["path"] for src in manifest["srcs"])
    unused = []
    for dep in direct:
        if dep.label in used or dep.label in exempt or dep.shown in exempt:
            continue
        if dep.modules or dep.prefixes:
            reason = "no import of %s needs it; deps list exactly what the sources import" % files
        else:
            reason = "it provides no Python module, so no import can need it; depend on the targets whose modules the sources import"
        if dep.shown != dep.label:
            reason += " (%s is an alias of %s)" % (dep.shown, dep.label)
        unused.append(Violation(
            manifest.get("build_file") or label, 0, _provided(dep), dep.shown, reason,
            'remove "%s" from deps of %s' % (dep.shown, label), dep_to_remove=dep.shown,
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
    missing = [v for v in violations if not v.dep_to_remove and not v.section]
    reach = [v for v in violations if v.section == "reach"]
    data = [v for v in violations if v.section == "data"]
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
    if reach:
        out.append("[strict deps] %s reaches %s of a later module:" % (label, _plural(len(reach), "target")))
    for v in reach:
        out.append("%s: %s reaches \"%s\"" % (v.file, label, v.module))
        out.append("    not allowed: %s" % v.reason)
        out.append("    fix:         %s" % v.fix)
    if data:
        out.append("[strict deps] %s has %s in data that nothing checks:" % (label, _plural(len(data), ".py file")))
    for v in data:
        out.append("%s: data file \"%s\" of %s" % (v.file, v.module, label))
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
        package = label.split("//", 1)[-1].split(":", 1)[0]
        out.append("** Or fix every target at once: ./bazelw run //tools:fix_deps -- //%s..." % (package + "/" if package else ""))
    return "\n".join(out)


def main(argv):
    if len(argv) != 3:
        print("usage: check_imports.py MANIFEST INDEX STAMP", file=sys.stderr)
        return 2
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    manifest_path, index_path, stamp_path = argv
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    with open(index_path, encoding="utf-8") as f:
        index = json.load(f)
    names = {}
    try:
        violations = check(manifest, index, names_sink=names)
    except SyntaxError as e:
        print("[strict deps] %s: cannot parse %s:%s: %s" % (manifest["label"], e.filename, e.lineno or 0, e.msg),
              file=sys.stderr)
        return 1
    except CheckError as e:
        print("[strict deps] %s: %s" % (manifest["label"], e), file=sys.stderr)
        return 1
    if violations:
        print(format_report(manifest["label"], violations), file=sys.stderr)
        return 1
    if manifest.get("names_out"):
        with open(manifest["names_out"], "w", encoding="utf-8") as f:
            json.dump(names, f, indent=1, sort_keys=True)
            f.write("\n")
    with open(stamp_path, "w", encoding="utf-8") as f:
        f.write("%s: %d source file(s), imports and deps OK\n" % (manifest["label"], len(manifest["srcs"])))
    return 0


# --- Bazel persistent worker -------------------------------------------------------------------
# A cold build runs one check per Python target (112 of them); started as a process each, a check
# spent most of its time starting the interpreter and loading this file. As a persistent worker
# (`supports-workers` on the action, Bazel's protobuf protocol: varint-length-delimited WorkRequest
# in, WorkResponse out) one process serves many checks. Each request reads only the files its
# arguments name, all of them declared inputs, and keeps nothing from one check to the next; with
# --worker_sandboxing (.bazelrc) it runs in a directory holding only those inputs.


def _read_varint(data, pos):
    """(value, next position) of the protobuf varint at data[pos]."""
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _varint(value):
    out = bytearray()
    value &= (1 << 64) - 1  # negative int32 values are sent as 10-byte two's complement
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def parse_work_request(data):
    """WorkRequest bytes -> (arguments, request_id). Fields other than 1 (arguments) and 3
    (request_id) are skipped: inputs (2), cancel (4), verbosity (5), sandbox_dir (6)."""
    arguments, request_id, pos = [], 0, 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
            if field == 3:
                request_id = value
        elif wire == 2:
            size, pos = _read_varint(data, pos)
            if field == 1:
                arguments.append(data[pos:pos + size].decode("utf-8"))
            pos += size
        elif wire == 5:
            pos += 4
        elif wire == 1:
            pos += 8
        else:
            raise ValueError("unsupported protobuf wire type %d" % wire)
    return arguments, request_id


def encode_work_response(exit_code, output, request_id=0):
    """WorkResponse bytes: exit_code (1), output (2), request_id (3), without its length prefix."""
    text = output.encode("utf-8")
    out = _varint(1 << 3) + _varint(exit_code) + _varint(2 << 3 | 2) + _varint(len(text)) + text
    if request_id:
        out += _varint(3 << 3) + _varint(request_id)
    return out


def expand_flagfiles(argv):
    """`@FILE` arguments replaced by FILE's lines: how the action passes its arguments, so that a
    check runs the same way as a worker request and as a plain process."""
    out = []
    for arg in argv:
        if arg.startswith("@") and not arg.startswith("@@"):
            with open(arg[1:], encoding="utf-8") as f:
                out.extend(line for line in f.read().splitlines() if line)
        else:
            out.append(arg)
    return out


def run_request(arguments):
    """(exit code, everything the check printed) for one request."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        try:
            code = main(expand_flagfiles(arguments))
        except Exception:  # a bug in the checker fails this check, not the worker
            traceback.print_exc()
            code = 1
    return code, buffer.getvalue()


def _read_length(stream):
    """The varint length prefix at the stream's position; None at the end of input."""
    value = shift = 0
    while byte := stream.read(1):
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7
    return None


def serve(stdin, stdout):
    """The worker loop: one WorkRequest at a time from stdin until it closes."""
    while (size := _read_length(stdin)) is not None:
        arguments, request_id = parse_work_request(stdin.read(size))
        code, output = run_request(arguments)
        response = encode_work_response(code, output, request_id)
        stdout.write(_varint(len(response)) + response)
        stdout.flush()
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--persistent_worker"]:
        sys.exit(serve(sys.stdin.buffer, sys.stdout.buffer))
    sys.exit(main(expand_flagfiles(sys.argv[1:])))
