"""A small, repeatable mutation tester for tinytorch libraries (stdlib only; pytest in the runs).

    tools/mutation/run.sh //modules/11_embeddings:embeddings [--functions f,C.m] [--lines 10-80] ...

For every source file of the library, each mutant is one small edit of the source text, found by
walking the file's `ast` (operators swapped, constants moved by one, a check deleted, a condition
negated, a return value dropped, a slice bound moved or dropped; see OPERATORS). Edits keep every
line where it was, so tracebacks and the line coverage below stay valid for the mutant.

How a run goes:
1. The workspace's modules/ and tests/ are copied into a temporary directory per job; mutants are
   written there, never into the source tree. No bytecode is written (a mutant of the same size
   and mtime as the original would otherwise be served from a stale .pyc).
2. A traced baseline run of the library's tests (targets.toml, or the tests of its own package
   that depend on it) records which test runs which line; it must pass.
3. Each mutant runs only the tests that execute one of its lines (all of them if the line runs at
   import time), with pytest -x, in a child forked from this process (numpy and pytest are
   imported once), with a timeout. A failing test, an import error or a timeout kills it; a line
   that no test executes survives without a run ("not run by any test").
4. Mutants listed in equivalent/<module>.txt (by id, with a reason) are left out of the score.

Mutant ids hash the file, the enclosing function, the operator and the edited text (not the line
number), so an equivalents entry survives edits elsewhere in the file.
"""

import argparse
import ast
import bisect
import hashlib
import io
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import tokenize
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_WORKSPACE = os.path.dirname(os.path.dirname(HERE))
COPIED_DIRS = ("modules", "tests", "examples")

# Operator names, as printed in reports and used in mutant ids.
OPERATORS = {
    "arith": "arithmetic operator swapped (+ -, * /, // /, % *, ** *, @ *, & |, ^ |, << >>)",
    "augassign": "augmented assignment operator swapped (+= -=, *= /=, ...)",
    "compare": "comparison moved (< <=, > >=, == !=, is / is not, in / not in)",
    "boolop": "and <-> or",
    "not": "`not` removed",
    "unary": "unary minus / invert removed",
    "const": "number +1 / -1, True <-> False",
    "string": "string constant emptied (or '' -> 'X')",
    "delete": "statement replaced by pass (raise, if, assert, call, assignment, loop, break/continue)",
    "negate": "condition of if / while / ternary / assert negated",
    "return": "return value replaced by None",
    "slice": "slice bound moved by one or dropped",
    "call": "min <-> max, any <-> all",
}

_BINOP_SWAP = {
    ast.Add: "-", ast.Sub: "+", ast.Mult: "/", ast.Div: "*", ast.FloorDiv: "/", ast.Mod: "*",
    ast.Pow: "*", ast.MatMult: "*", ast.BitAnd: "|", ast.BitOr: "&", ast.BitXor: "|",
    ast.LShift: ">>", ast.RShift: "<<",
}
_BINOP_TEXT = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
    ast.Pow: "**", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
    ast.LShift: "<<", ast.RShift: ">>",
}
_CMP_SWAP = {
    ast.Lt: "<=", ast.LtE: "<", ast.Gt: ">=", ast.GtE: ">", ast.Eq: "!=", ast.NotEq: "==",
    ast.Is: "is not", ast.IsNot: "is", ast.In: "not in", ast.NotIn: "in",
}
_CMP_TEXT = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}
_CALL_SWAP = {"min": "max", "max": "min", "any": "all", "all": "any"}
_DELETABLE = (ast.Raise, ast.If, ast.Assert, ast.Expr, ast.AugAssign, ast.Assign, ast.AnnAssign,
              ast.For, ast.While, ast.Break, ast.Continue, ast.Delete, ast.With, ast.Try)


@dataclass
class Mutant:
    path: str  # workspace-relative
    line: int
    end_line: int
    col: int
    op: str
    qualname: str
    start: int  # character offsets of the edit in the original source
    end: int
    replacement: str
    original_text: str
    source_line: str  # the original first line of the edit, stripped
    mutated_line: str  # the same line after the edit, stripped
    covered_lines: tuple = (0, 0)  # a test must run one of these lines to be able to kill it
    id: str = ""
    status: str = ""  # killed, timeout, survived, uncovered, equivalent, error
    detail: str = ""
    check: str = ""  # with --check-equivalents: what the run of an equivalent gave

    def apply(self, source: str) -> str:
        return source[: self.start] + self.replacement + source[self.end :]


# ------------------------------------------------------------------------------------------
# mutant generation
# ------------------------------------------------------------------------------------------

class _Source:
    """Character offsets of ast positions (whose columns count UTF-8 bytes) and of tokens."""

    def __init__(self, text: str):
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))
        self.tokens = []  # (start offset, end offset, type, string)
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.OP, tokenize.NAME):
                self.tokens.append((self.offset_chars(*tok.start), self.offset_chars(*tok.end), tok.type, tok.string))
        self.token_starts = [t[0] for t in self.tokens]

    def offset_chars(self, lineno: int, col_chars: int) -> int:
        return self.starts[lineno - 1] + col_chars

    def offset(self, lineno: int, col_bytes: int) -> int:
        line = self.lines[lineno - 1]
        return self.starts[lineno - 1] + len(line.encode("utf-8")[:col_bytes].decode("utf-8", "replace"))

    def span(self, node) -> tuple:
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def tokens_between(self, start: int, end: int) -> list:
        i = bisect.bisect_left(self.token_starts, start)
        out = []
        while i < len(self.tokens) and self.tokens[i][1] <= end:
            out.append(self.tokens[i])
            i += 1
        return out

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)


def _is_docstring(node, parent) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            and parent is not None and getattr(parent, "body", None) and parent.body[0] is node)


class _Walker:
    def __init__(self, src: _Source, path: str):
        self.src = src
        self.path = path
        self.edits = []  # (op, start, end, replacement, qualname, (first, last) lines a test must run)
        self.qual = ["<module>"]
        self.lines = (1, 1)
        self.bound = [set()]  # names bound so far in each enclosing scope

    # -- helpers ----------------------------------------------------------------------------
    def add(self, op, start, end, replacement, lines=None):
        self.edits.append((op, start, end, replacement, self.qual[-1], lines or self.lines))

    def add_node(self, node, op, replacement, keep_lines=True, lines=None):
        start, end = self.src.span(node)
        if keep_lines:
            replacement += "\n" * (node.end_lineno - node.lineno)
        self.add(op, start, end, replacement, lines)

    def text(self, node) -> str:
        start, end = self.src.span(node)
        return self.src.text[start:end]

    def operator_token(self, left, right, spelling):
        """(start, end) of the operator between two nodes (parentheses skipped), if it is `spelling`."""
        lo, hi = self.src.span(left)[1], self.src.span(right)[0]
        toks = [t for t in self.src.tokens_between(lo, hi) if t[3] not in ("(", ")")]
        if not toks or " ".join(t[3] for t in toks) != spelling:
            return None
        return toks[0][0], toks[-1][1]

    # -- statements -------------------------------------------------------------------------
    def run(self, tree):
        self.visit_body(tree, tree.body, module_level=True)

    def visit_body(self, parent, body, module_level=False):
        for stmt in body:
            if _is_docstring(stmt, parent):
                continue
            pushed = False
            if module_level and isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                if "__all__" in names:
                    continue  # the public names: checked by the import checker, not behaviour
                if names:
                    self.qual.append(names[0])
                    pushed = True
            saved = self.lines
            # Coverage unit: a simple statement's lines, or a compound statement's header (a
            # mutant of an expression on a line without bytecode still maps to a traced line).
            inner = getattr(stmt, "body", None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                self.lines = (stmt.lineno, max(stmt.lineno, inner[0].lineno - 1))
            else:
                self.lines = (stmt.lineno, stmt.end_lineno)
            self.visit_stmt(stmt, (stmt.lineno, stmt.end_lineno), parent)
            self.bound[-1].update(_bound_names(stmt))
            self.lines = saved
            if pushed:
                self.qual.pop()

    def deletable(self, stmt, parent) -> bool:
        if not isinstance(stmt, _DELETABLE):
            return False
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            # A first binding of a name, deleted, is a NameError every test sees: no information.
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if all(isinstance(t, ast.Name) and t.id not in self.bound[-1] for t in targets):
                return False
        if isinstance(stmt, ast.Raise) and isinstance(parent, ast.If) and parent.body == [stmt]:
            return False  # the same mutant as deleting the `if`
        return True

    def visit_stmt(self, stmt, full_lines, parent=None):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            prefix = "" if self.qual[-1] == "<module>" else self.qual[-1] + "."
            self.qual.append(prefix + stmt.name)
            for dec in stmt.decorator_list:
                self.visit_expr(dec)
            if isinstance(stmt, ast.ClassDef):
                for base in stmt.bases:
                    self.visit_expr(base)
            else:
                for default in stmt.args.defaults + [d for d in stmt.args.kw_defaults if d is not None]:
                    self.visit_expr(default)
            args = [] if isinstance(stmt, ast.ClassDef) else (
                stmt.args.posonlyargs + stmt.args.args + stmt.args.kwonlyargs
                + [a for a in (stmt.args.vararg, stmt.args.kwarg) if a is not None])
            self.bound.append({a.arg for a in args})
            self.visit_body(stmt, stmt.body)
            self.bound.pop()
            self.qual.pop()
            return
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.Pass)):
            return
        if self.deletable(stmt, parent):
            self.add_node(stmt, "delete", "pass", lines=full_lines)
        if isinstance(stmt, ast.Raise):
            return  # the message is not behaviour; deleting the raise is the mutant
        if isinstance(stmt, (ast.If, ast.While, ast.Assert)):
            self.negate(stmt.test)
        if isinstance(stmt, ast.Return) and stmt.value is not None and not (
                isinstance(stmt.value, ast.Constant) and stmt.value.value is None):
            self.add_node(stmt.value, "return", "None")
        if isinstance(stmt, ast.AugAssign) and type(stmt.op) in _BINOP_SWAP:
            tok = self.operator_token(stmt.target, stmt.value, _BINOP_TEXT[type(stmt.op)] + "=")
            if tok:
                self.add("augassign", tok[0], tok[1], _BINOP_SWAP[type(stmt.op)] + "=")
        for name, value in ast.iter_fields(stmt):
            if name in ("annotation", "returns", "type_comment"):
                continue
            if isinstance(value, list):
                if value and isinstance(value[0], ast.stmt):
                    self.visit_body(stmt, value)
                    continue
                for item in value:
                    if isinstance(item, ast.ExceptHandler):
                        if item.type is not None:
                            self.visit_expr(item.type)
                        self.visit_body(item, item.body)
                    elif isinstance(item, ast.withitem):
                        self.visit_expr(item.context_expr)
                    elif isinstance(item, ast.AST):
                        self.visit_expr(item)
            elif isinstance(value, ast.AST):
                self.visit_expr(value)

    def negate(self, test):
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return  # removing the `not` is the same mutant
        self.add_node(test, "negate", "not (" + self.text(test) + ")", keep_lines=False)

    # -- expressions ------------------------------------------------------------------------
    def visit_expr(self, node):
        if isinstance(node, ast.JoinedStr):
            return  # f-strings are messages
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAP:
            tok = self.operator_token(node.left, node.right, _BINOP_TEXT[type(node.op)])
            if tok:
                self.add("arith", tok[0], tok[1], _BINOP_SWAP[type(node.op)])
        elif isinstance(node, ast.Compare):
            left = node.left
            for op, right in zip(node.ops, node.comparators):
                tok = self.operator_token(left, right, _CMP_TEXT[type(op)])
                if tok:
                    self.add("compare", tok[0], tok[1], _CMP_SWAP[type(op)])
                left = right
        elif isinstance(node, ast.BoolOp):
            word = "and" if isinstance(node.op, ast.And) else "or"
            for left, right in zip(node.values, node.values[1:]):
                tok = self.operator_token(left, right, word)
                if tok:
                    self.add("boolop", tok[0], tok[1], "or" if word == "and" else "and")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub, ast.Invert)):
            toks = self.src.tokens_between(self.src.span(node)[0], self.src.span(node.operand)[0])
            if toks and toks[0][3] in ("not", "-", "~"):
                self.add("not" if isinstance(node.op, ast.Not) else "unary", toks[0][0], toks[0][1], "")
        elif isinstance(node, ast.IfExp):
            self.negate(node.test)
        elif isinstance(node, ast.Constant):
            self.constant(node)
        elif isinstance(node, ast.Slice):
            for bound in (node.lower, node.upper):
                if bound is None:
                    continue
                self.add_node(bound, "slice", "")
                if not isinstance(bound, ast.Constant):
                    body = self.text(bound)
                    self.add_node(bound, "slice", "(" + body + ") + 1", keep_lines=False)
                    self.add_node(bound, "slice", "(" + body + ") - 1", keep_lines=False)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CALL_SWAP:
            self.add_node(node.func, "call", _CALL_SWAP[node.func.id])
        for name, value in ast.iter_fields(node):
            if name == "ctx":
                continue
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, ast.comprehension):
                    self.visit_expr(item.iter)
                    for cond in item.ifs:
                        self.negate(cond)
                        self.visit_expr(cond)
                elif isinstance(item, ast.keyword):
                    self.visit_expr(item.value)
                elif isinstance(item, ast.arguments):
                    for default in item.defaults + [d for d in item.kw_defaults if d is not None]:
                        self.visit_expr(default)
                elif isinstance(item, ast.expr):
                    self.visit_expr(item)

    def constant(self, node):
        value = node.value
        if isinstance(value, bool):
            self.add_node(node, "const", "False" if value else "True")
        elif isinstance(value, (int, float)):
            if "\n" in self.text(node):
                return
            for delta in (1, -1):
                new = value + delta
                self.add_node(node, "const", repr(new) if new >= 0 else "(" + repr(new) + ")")
        elif isinstance(value, str):
            self.add_node(node, "string", '""' if value else '"X"')
        elif isinstance(value, bytes):
            self.add_node(node, "string", 'b""' if value else 'b"X"')


def _bound_names(stmt) -> set:
    """Names a statement binds in its scope (assignment targets, loop and with variables, defs)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    targets = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign, ast.For)):
        targets = [stmt.target]
    elif isinstance(stmt, ast.With):
        targets = [i.optional_vars for i in stmt.items if i.optional_vars is not None]
    out = set()
    for t in targets:
        out.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
    return out


def _norm(text: str) -> str:
    return " ".join(text.split())


def generate_mutants(source: str, path: str) -> list:
    """Every valid mutant of `source` (workspace-relative `path`), in source order, with ids."""
    tree = ast.parse(source)
    src = _Source(source)
    walker = _Walker(src, path)
    walker.run(tree)
    reference = ast.dump(tree)
    n_lines = source.count("\n")
    mutants, seen = [], {}
    for op, start, end, replacement, qual, lines in sorted(walker.edits, key=lambda e: (e[1], e[2], e[0], e[3])):
        mutated = source[:start] + replacement + source[end:]
        if mutated.count("\n") != n_lines:
            continue
        try:
            if ast.dump(ast.parse(mutated)) == reference:
                continue  # the same program (e.g. a sign inside a constant the parser folds)
        except SyntaxError:
            continue
        line = src.line_of(start)
        m = Mutant(path=path, line=line, end_line=src.line_of(max(start, end - 1)), col=start - src.starts[line - 1],
                   op=op, qualname=qual, start=start, end=end, replacement=replacement,
                   original_text=source[start:end], source_line=src.lines[line - 1].strip(),
                   mutated_line=mutated.splitlines()[line - 1].strip(), covered_lines=lines)
        key = "|".join((path, qual, op, _norm(m.original_text), _norm(replacement), m.source_line))
        count = seen.get(key, 0)
        seen[key] = count + 1
        m.id = hashlib.sha1(f"{key}|{count}".encode("utf-8")).hexdigest()[:10]
        mutants.append(m)
    return mutants


# ------------------------------------------------------------------------------------------
# targets: labels, sources, tests
# ------------------------------------------------------------------------------------------

def _build_calls(build_text: str) -> list:
    """(function name, {keyword: literal}) of each top-level call in a BUILD file."""
    out = []
    for stmt in ast.parse(build_text).body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Name):
            kwargs = {}
            for kw in stmt.value.keywords:
                try:
                    kwargs[kw.arg] = ast.literal_eval(kw.value)
                except ValueError:
                    kwargs[kw.arg] = None
            out.append((stmt.value.func.id, kwargs))
    return out


def parse_label(label: str) -> tuple:
    """'//modules/11_embeddings:embeddings' -> ('modules/11_embeddings', 'embeddings');
    'modules/11_embeddings' or '//modules/11_embeddings' -> (package, None) (every library)."""
    text = label.strip()
    if text.startswith("//"):
        text = text[2:]
    text = text.rstrip("/")
    if text.endswith("/..."):
        text = text[:-4]
    if ":" in text:
        package, name = text.split(":", 1)
        return package, name
    return text, None


def libraries(workspace: str, package: str, name=None) -> list:
    """[(label, [workspace-relative srcs])] of the tinytorch_library targets named (or all)."""
    build = os.path.join(workspace, package, "BUILD.bazel")
    if not os.path.exists(build):
        raise SystemExit(f"no BUILD.bazel in {package!r} (from the label); hint: e.g. //modules/11_embeddings:embeddings")
    with open(build, encoding="utf-8") as f:
        calls = _build_calls(f.read())
    found = []
    for func, kwargs in calls:
        if func == "tinytorch_library" and (name is None or kwargs.get("name") == name):
            srcs = [os.path.join(package, s) for s in kwargs.get("srcs") or [] if not s.startswith(("//", ":"))]
            found.append((f"//{package}:{kwargs['name']}", srcs))
    if not found:
        names = [k.get("name") for f, k in calls if f == "tinytorch_library"]
        raise SystemExit(f"//{package}:{name} is not a tinytorch_library; libraries there: {names}")
    return found


def package_tests(workspace: str, package: str, label: str) -> list:
    """Test files of the tinytorch_test targets of `package` that depend on `label`."""
    with open(os.path.join(workspace, package, "BUILD.bazel"), encoding="utf-8") as f:
        calls = _build_calls(f.read())
    short = ":" + label.split(":", 1)[1]
    out = []
    for func, kwargs in calls:
        deps = kwargs.get("deps") or []
        if func == "tinytorch_test" and (short in deps or label in deps):
            out += [os.path.join(package, s) for s in kwargs.get("srcs") or []]
    return out


def load_config(path: str) -> dict:
    """targets.toml: {label: {tests = [globs], scopes = {name = [functions]}}}."""
    if not os.path.exists(path):
        return {}
    import tomllib

    with open(path, "rb") as f:
        return tomllib.load(f)


def expand_tests(workspace: str, patterns: list) -> list:
    out = []
    for pattern in patterns:
        matches = sorted(p for p in _glob(workspace, pattern))
        if not matches:
            raise SystemExit(f"test pattern {pattern!r} matches no file under {workspace}")
        out += [m for m in matches if m not in out]
    return out


def _glob(workspace, pattern):
    import glob

    for p in glob.glob(os.path.join(workspace, pattern)):
        yield os.path.relpath(p, workspace)


def parse_lines(spec: str) -> list:
    """'10-20,33' -> [(10, 20), (33, 33)]."""
    ranges = []
    for part in spec.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not m:
            raise SystemExit(f"--lines {spec!r}: expected ranges like 10-20,33")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise SystemExit(f"--lines {spec!r}: range {lo}-{hi} is empty (the end must be >= the start)")
        ranges.append((lo, hi))
    return ranges


def select(mutants: list, functions=None, lines=None) -> list:
    """Mutants inside one of `functions` (qualname or a prefix: 'C' takes C.m) and `lines`."""
    out = []
    for m in mutants:
        if functions and not any(m.qualname == f or m.qualname.startswith(f + ".") for f in functions):
            continue
        if lines and not any(lo <= m.line <= hi for lo, hi in lines):
            continue
        out.append(m)
    return out


def load_equivalents(path: str) -> dict:
    """id -> reason, from lines 'ID  file:line  op  reason' ('#' starts a comment line)."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 3)
            if len(parts) < 4 or not re.fullmatch(r"[0-9a-f]{10}", parts[0]):
                raise SystemExit(f"{path}:{n}: expected 'ID FILE:LINE OP REASON' (ID = 10 hex digits), got {line!r}")
            out[parts[0]] = parts[3]
    return out


def equivalents_path(package: str) -> str:
    return os.path.join(HERE, "equivalent", os.path.basename(package.rstrip("/")) + ".txt")


# ------------------------------------------------------------------------------------------
# running tests: a pytest plugin (hooks are found by name: no pytest import needed here)
# ------------------------------------------------------------------------------------------

class TracePlugin:
    """Records, per test id, the lines of `files` it executes; lines run outside any test
    (imports, collection) go to "<import>". Threads are traced too (tinytorch.core.parallel)."""

    IMPORT = "<import>"

    def __init__(self, files):
        self.files = set(files)
        self.current = self.IMPORT
        self.lines = {self.IMPORT: set()}
        self.durations = {}
        self.order = []
        self.failed = []

    def _local(self, frame, event, arg):
        if event == "line":
            self.lines[self.current].add((frame.f_code.co_filename, frame.f_lineno))
        return self._local

    def _global(self, frame, event, arg):
        if frame.f_code.co_filename in self.files:
            self.lines[self.current].add((frame.f_code.co_filename, frame.f_lineno))
            return self._local
        return None

    def start(self):
        import threading

        threading.settrace(self._global)
        sys.settrace(self._global)

    def stop(self):
        import threading

        sys.settrace(None)
        threading.settrace(None)

    def pytest_runtest_logstart(self, nodeid, location):
        self.current = nodeid
        self.lines.setdefault(nodeid, set())
        self.order.append(nodeid)

    def pytest_runtest_logreport(self, report):
        self.durations[report.nodeid] = self.durations.get(report.nodeid, 0.0) + report.duration
        if report.failed:
            self.failed.append(report.nodeid)

    def pytest_runtest_logfinish(self, nodeid, location):
        self.current = self.IMPORT


class SelectPlugin:
    """Keeps only the given test ids (in collection order)."""

    def __init__(self, nodeids):
        self.nodeids = set(nodeids)

    def pytest_collection_modifyitems(self, session, config, items):
        keep = [i for i in items if i.nodeid in self.nodeids]
        drop = [i for i in items if i.nodeid not in self.nodeids]
        items[:] = keep
        config.hook.pytest_deselected(items=drop)


def tests_for(mutant: Mutant, coverage: dict, abs_path: str) -> object:
    """'all' if the mutant's lines run at import, else the ids of the tests running them."""
    lo = min(mutant.line, mutant.covered_lines[0])
    hi = max(mutant.end_line, mutant.covered_lines[1])
    lines = {(abs_path, n) for n in range(lo, hi + 1)}
    if lines & coverage[TracePlugin.IMPORT]:
        return "all"
    return [t for t, seen in coverage.items() if t != TracePlugin.IMPORT and lines & seen]


def timeout_for(tests, durations: dict, minimum: float) -> float:
    chosen = durations.values() if tests == "all" else [durations.get(t, 1.0) for t in tests]
    return max(minimum, 2.0 * sum(chosen) + 5.0)


def _child(root: str, test_files: list, plugin, log_path: str, memory_limit: int) -> None:
    """In a forked child: run pytest in `root` with the module roots of the copy first on the path."""
    try:
        os.setsid()
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        if memory_limit:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        roots = sorted(os.path.join(root, "modules", d) for d in os.listdir(os.path.join(root, "modules"))
                       if os.path.isdir(os.path.join(root, "modules", d)))
        sys.path[:0] = roots + [root]
        os.environ["PYTHONPATH"] = os.pathsep.join(roots + [root])
        os.chdir(root)
        import pytest

        args = ["-q", "-x", "-p", "no:cacheprovider", "--rootdir", root] + test_files
        if isinstance(plugin, TracePlugin):
            args.remove("-x")
            plugin.start()
        code = pytest.main(args, plugins=[plugin])
        if isinstance(plugin, TracePlugin):
            plugin.stop()
            with open(log_path + ".json", "w", encoding="utf-8") as f:
                json.dump({"lines": {k: sorted(v) for k, v in plugin.lines.items()}, "durations": plugin.durations,
                           "failed": plugin.failed, "order": plugin.order}, f)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(code))
    except BaseException:  # noqa: BLE001 - any failure of the child is the mutant's result
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        os._exit(3)


def _fork(root, test_files, plugin, log_path, memory_limit):
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _child(root, test_files, plugin, log_path, memory_limit)
    return pid


def _kill(pid):
    try:
        os.killpg(pid, signal.SIGKILL)  # the child made itself a group leader (setsid)
    except ProcessLookupError:
        pass


def classify(exit_status: int) -> str:
    """os.waitpid status of a pytest child -> killed / survived / error."""
    if os.WIFSIGNALED(exit_status):
        return "killed"  # a crash (segfault, MemoryError abort) is a detected mutant
    code = os.WEXITSTATUS(exit_status)
    if code == 0:
        return "survived"
    if code in (1, 2):  # tests failed; interrupted (e.g. the mutant breaks an import)
        return "killed"
    return "error"


# ------------------------------------------------------------------------------------------
# the run
# ------------------------------------------------------------------------------------------

def make_copy(workspace: str, dest: str) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "bazel-*")
    for d in COPIED_DIRS:
        if os.path.isdir(os.path.join(workspace, d)):
            shutil.copytree(os.path.join(workspace, d), os.path.join(dest, d), ignore=ignore)


def run(args) -> int:
    workspace = os.path.abspath(args.workspace)
    config = load_config(args.config)
    package, name = parse_label(args.target)
    if package.endswith(".py"):  # a source file: the library of its package that has it
        path = os.path.normpath(package)
        package = path.split("/tinytorch/")[0]
        sources = [(label, [path]) for label, srcs in libraries(workspace, package) if path in srcs]
        if not sources:
            raise SystemExit(f"{path} is not a source of a tinytorch_library in //{package}")
    else:
        sources = libraries(workspace, package, name)
    functions = [f.strip() for f in args.functions.split(",") if f.strip()] if args.functions else []
    for label, _ in sources:
        scope = config.get(label, {}).get("scopes", {})
        if args.scope:
            if args.scope not in scope:
                raise SystemExit(f"--scope {args.scope!r}: {label} has scopes {sorted(scope)} in {args.config}")
            functions += scope[args.scope]
    lines = parse_lines(args.lines) if args.lines else None
    skip = {op.strip() for op in (args.skip or "").split(",") if op.strip()}
    unknown = sorted(skip - set(OPERATORS))
    if unknown:
        raise SystemExit(f"--skip {','.join(unknown)}: not an operator; operators: {', '.join(OPERATORS)}")

    if args.tests:
        tests = expand_tests(workspace, args.tests.split(","))
    else:
        tests = []
        for label, _ in sources:
            patterns = config.get(label, {}).get("tests")
            found = expand_tests(workspace, patterns) if patterns else package_tests(workspace, package, label)
            tests += [t for t in found if t not in tests]
    if not tests:
        raise SystemExit(f"no tests found for {args.target}; hint: add it to {args.config} or pass --tests")

    all_mutants = []
    files = []
    for _, srcs in sources:
        for path in srcs:
            with open(os.path.join(workspace, path), encoding="utf-8") as f:
                text = f.read()
            files.append((path, text))
            all_mutants += [m for m in select(generate_mutants(text, path), functions, lines) if m.op not in skip]
    equivalents = load_equivalents(args.equivalents or equivalents_path(package))

    if args.list:
        for m in all_mutants:
            print(f"{m.id}  {m.path}:{m.line}  {m.op:9} {m.qualname:30} {m.mutated_line}")
        print(f"{len(all_mutants)} mutants")
        return 0

    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="tinytorch-mutation-")
    try:
        return _run_mutants(args, workspace, tmp, files, tests, all_mutants, equivalents, started)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run_mutants(args, workspace, tmp, files, tests, mutants, equivalents, started):
    jobs = max(1, args.jobs)
    slots = []
    for j in range(jobs):
        root = os.path.join(tmp, f"ws{j}")
        make_copy(workspace, root)
        slots.append(root)
    originals = dict(files)
    print(f"mutation: {len(mutants)} mutants of {len(files)} file(s); tests: {' '.join(tests)}", flush=True)

    # Baseline, traced, in slot 0: must pass; gives per-test lines and durations.
    log = os.path.join(tmp, "baseline.log")
    plugin = TracePlugin([os.path.join(slots[0], p) for p, _ in files])
    pid = _fork(slots[0], tests, plugin, log, args.memory_limit)
    _, status = os.waitpid(pid, 0)
    if classify(status) != "survived" or not os.path.exists(log + ".json"):
        with open(log, encoding="utf-8", errors="replace") as f:
            sys.stdout.write(f.read()[-4000:])
        print("mutation: the tests fail on the unmutated sources; fix them first", flush=True)
        return 2
    with open(log + ".json", encoding="utf-8") as f:
        traced = json.load(f)
    base = slots[0]
    coverage = {t: {(p, n) for p, n in seen} for t, seen in traced["lines"].items()}
    durations = traced["durations"]
    print(f"mutation: baseline {len(traced['order'])} tests passed ({time.monotonic() - started:.1f} s)", flush=True)

    queue = []
    for m in mutants:
        if m.id in equivalents:
            m.status, m.detail = "equivalent", equivalents[m.id]
            if not args.check_equivalents:
                continue
        chosen = tests_for(m, coverage, os.path.join(base, m.path))
        if chosen != "all" and not chosen:
            if m.status != "equivalent":
                m.status, m.detail = "uncovered", "not run by any test"
            continue
        queue.append((m, chosen))

    running = {}  # pid -> (slot, mutant, deadline)
    free = list(range(jobs))
    done = 0
    total = len(queue)
    while queue or running:
        while queue and free:
            slot = free.pop(0)
            m, chosen = queue.pop(0)
            root = slots[slot]
            with open(os.path.join(root, m.path), "w", encoding="utf-8") as f:
                f.write(m.apply(originals[m.path]))
            if chosen == "all":
                plugin, files_run = _NoPlugin(), tests
            else:  # only the files of the chosen tests are collected
                plugin = SelectPlugin(chosen)
                files_run = [t for t in tests if any(c.split("::")[0] == t for c in chosen)]
            pid = _fork(root, files_run, plugin, os.path.join(tmp, f"slot{slot}.log"), args.memory_limit)
            limit = args.timeout or timeout_for(chosen, durations, args.min_timeout)
            running[pid] = (slot, m, time.monotonic() + limit)
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            now = time.monotonic()
            for p, (slot, m, deadline) in list(running.items()):
                if now > deadline:
                    _kill(p)
                    os.waitpid(p, 0)
                    _finish(running.pop(p), slots, originals, free, "timeout")
                    done += 1
            time.sleep(0.02)
            continue
        if pid in running:
            entry = running.pop(pid)
            _kill(pid)  # threads or processes the test left behind in its group
            _finish(entry, slots, originals, free, classify(status), tmp)
            done += 1
            if args.verbose:
                m = entry[1]
                print(f"  [{done}/{total}] {m.status:8} {m.path}:{m.line} {m.op} {m.mutated_line}", flush=True)
            elif done % 25 == 0:
                print(f"  {done}/{total} mutants run ({time.monotonic() - started:.0f} s)", flush=True)

    elapsed = time.monotonic() - started
    results = report(mutants, files, equivalents, args.check_equivalents)
    print(f"mutation: wall time {elapsed:.0f} s with {jobs} job(s)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"target": args.target, "tests": tests, "wall_seconds": round(elapsed, 1), "files": results,
                       "mutants": [{k: getattr(m, k) for k in ("id", "path", "line", "op", "qualname", "status",
                                                              "detail", "source_line", "mutated_line")}
                                   for m in mutants]}, f, indent=1)
    errors = [m for m in mutants if m.status == "error"]
    return 1 if errors else 0


class _NoPlugin:
    pass


def _finish(entry, slots, originals, free, status, tmp=None):
    slot, m, _ = entry
    if m.status == "equivalent":
        m.check = status
    else:
        m.status = status
        if status == "timeout":
            m.detail = "timed out"
        if status == "error" and tmp:
            with open(os.path.join(tmp, f"slot{slot}.log"), encoding="utf-8", errors="replace") as f:
                m.detail = f.read()[-300:].replace("\n", " | ")
    with open(os.path.join(slots[slot], m.path), "w", encoding="utf-8") as f:
        f.write(originals[m.path])
    free.append(slot)
    free.sort()


def score(mutants: list) -> dict:
    """{path: (killed, total)}: total leaves equivalents out, killed counts timeouts."""
    out = {}
    for m in mutants:
        killed, total = out.get(m.path, (0, 0))
        if m.status == "equivalent":
            out[m.path] = (killed, total)
            continue
        out[m.path] = (killed + (m.status in ("killed", "timeout")), total + 1)
    return out


def report(mutants, files, equivalents, check_equivalents=False, out=None) -> dict:
    out = out or sys.stdout
    scores = score(mutants)
    results = {}
    out.write("\nfile                                                       killed/total   score  (equivalent)\n")
    for path, _ in files:
        killed, total = scores.get(path, (0, 0))
        eq = sum(1 for m in mutants if m.path == path and m.status == "equivalent")
        pct = 100.0 * killed / total if total else 100.0
        results[path] = {"killed": killed, "total": total, "equivalent": eq, "score": round(pct, 1)}
        out.write(f"{path:58} {killed:5}/{total:<5}  {pct:6.1f}%  ({eq})\n")
    killed = sum(k for k, _ in scores.values())
    total = sum(t for _, t in scores.values())
    out.write(f"{'all':58} {killed:5}/{total:<5}  {100.0 * killed / total if total else 100.0:6.1f}%\n")
    survivors = [m for m in mutants if m.status in ("survived", "uncovered", "error")]
    if survivors:
        out.write(f"\nsurvivors ({len(survivors)}): id  file:line  operator  [function]  mutated line\n")
        for m in survivors:
            note = "" if m.status == "survived" else f"   <- {m.status}: {m.detail}"
            out.write(f"  {m.id}  {m.path}:{m.line}  {m.op}  [{m.qualname}]  {m.mutated_line}{note}\n")
    else:
        out.write("\nno survivors\n")
    known = {m.id for m in mutants}
    stale = [i for i in equivalents if i not in known]
    if stale and mutants:
        out.write(f"\nequivalents not found among these mutants (stale, or outside --functions/--lines): {' '.join(stale)}\n")
    if check_equivalents:
        for m in mutants:
            if m.status == "equivalent" and m.check not in ("", "survived"):
                out.write(f"listed as equivalent but {m.check}: {m.id} {m.path}:{m.line} {m.mutated_line}\n")
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="tools/mutation/run.sh",
        description="Mutation score of a tinytorch library: killed/total per file, and the survivors.")
    parser.add_argument("target", help="a tinytorch_library label (//modules/10_tokenization:tokenization), a "
                        "package (modules/10_tokenization: every library there) or a source file")
    parser.add_argument("--functions", help="only these functions/classes (qualnames, comma separated; a class "
                        "takes its methods; a module-level NAME its assignment)")
    parser.add_argument("--scope", help="a named function list of the target in targets.toml (e.g. embedding)")
    parser.add_argument("--lines", help="only mutants starting in these lines, e.g. 440-700,1021-1044")
    parser.add_argument("--skip", help="operators to leave out, comma separated (e.g. string: strings that "
                        "only feed error messages); see OPERATORS in mutate.py")
    parser.add_argument("--tests", help="test files or globs (workspace-relative, comma separated) instead of "
                        "targets.toml / the package's tests")
    parser.add_argument("--equivalents", help="equivalents file (default tools/mutation/equivalent/<module>.txt)")
    parser.add_argument("--check-equivalents", action="store_true",
                        help="run the listed equivalents too and report any that a test kills")
    parser.add_argument("-j", "--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="mutants run at once (default: 2, or 1 on one CPU)")
    parser.add_argument("--timeout", type=float, default=0.0,
                        help="seconds per mutant (default: 2 x the traced time of its tests + 5, at least --min-timeout)")
    parser.add_argument("--min-timeout", type=float, default=10.0)
    parser.add_argument("--memory-limit", type=int, default=6 << 30, help="address-space limit per run, bytes")
    parser.add_argument("--workspace", default=os.environ.get("BUILD_WORKSPACE_DIRECTORY", DEFAULT_WORKSPACE))
    parser.add_argument("--config", default=os.path.join(HERE, "targets.toml"))
    parser.add_argument("--json", help="write the results (scores, every mutant) to this file")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per mutant run")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs={args.jobs} must be >= 1")
    if os.environ.get("PYTHONHASHSEED") != "0" or os.environ.get("PYTHONDONTWRITEBYTECODE") != "1":
        # Same set order in every run (determinism), and no .pyc next to a mutant.
        env = dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + list(argv or sys.argv[1:]), env)
    sys.dont_write_bytecode = True
    # Installed pytest plugins stay out (same runs on every machine, and faster children).
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if not args.list:
        # Imported once here, so every forked run starts with them loaded (not tinytorch: each
        # child must import its own mutant).
        import numpy  # noqa: F401
        import pytest  # noqa: F401
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
