"""The run-time guard of every tinytorch test: what a test may load, enforced while it runs.

    python3.real -S -s -P guard.py MAIN [ARGS...]      (the toolchain's `python3` does this in tests)

The build's import check reads the sources; it cannot see a computed import
(`import_module("tinytorch.core." + name)`), a path built from `Path(__file__).resolve()`, or a
conftest.py that pytest finds in `data`. Under Bazel (TEST_TARGET set) this guard loads the test's
manifest, `NAME.import_check.guard.json`, written by tinytorch_test from the same dependency graph
the build checked, and then:

- refuses an import of a tinytorch (first-party) module that the importing file's own target does
  not provide or declare as a DIRECT dep; and from a first-party file, any other module no direct
  dep (or the standard library) provides;
- refuses to open a Python file (.py, .pyc, .so) of the source tree that is not a source of the
  test or of a library it depends on (path tricks, conftest.py in data), and to load code through
  the import system from anywhere but the runfiles and the interpreter's standard library;
- refuses to start another Python interpreter except through `sys.executable` (this same guard);
- refuses to run a py_test that has no manifest: it was not made by tinytorch_test.

Python's audit hooks (PEP 578) cannot be removed once added, so a test cannot switch the hook off;
the `__import__`/`import_module` wrappers add what the hook cannot see (an import of a module that
is already loaded). A refusal raises UndeclaredDependencyError (an ImportError) with the file, the
import, the providing target and the fix, and fails the test process even if the test catches it.
"""

import builtins
import importlib
import importlib.util
import json
import os
import runpy
import sys

CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyw", ".so", ".pyd")
SPAWN_EVENTS = {"subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.system", "pty.spawn"}
NATIVE_SPAWNERS = {"execv", "execve", "execl", "execle", "execlp", "execvp", "execvpe", "fexecve", "posix_spawn",
                   "posix_spawnp", "system", "popen", "fork", "vfork", "clone", "clone3"}
EXTRA_STDLIB = {"__main__", "__future__", "test", "_distutils_hack"}


class UndeclaredDependencyError(ImportError):
    """A test reached code its target does not declare."""


_O_PATH = getattr(os, "O_PATH", 0)


def realpath(path):
    """os.path.realpath(path), resolved by the kernel where it can be.

    os.path.realpath walks every component of the path with lstat in Python: about 0.3 ms for a
    runfiles path, and the guard resolves every allowed file at start and every code file a test
    opens, which made it most of a small test's run time. Opening the path with O_PATH and reading
    /proc/self/fd back gives the kernel's own resolution (the file the open would really reach) in
    three system calls. Nothing is cached: a symlink a test rewrites is seen as it is now.
    Falls back to os.path.realpath where there is no O_PATH or /proc, or the path does not exist."""
    if _O_PATH:
        try:
            fd = os.open(path, _O_PATH | os.O_CLOEXEC)
        except (OSError, TypeError, ValueError):
            fd = None
        if fd is not None:
            try:
                real = os.readlink("/proc/self/fd/%d" % fd)
            except OSError:
                real = None
            finally:
                os.close(fd)
            # A file unlinked meanwhile reads as "... (deleted)": let the slow path decide.
            if real and real.startswith("/") and not real.endswith(" (deleted)"):
                return real
    return os.path.realpath(path)


def _is_stdlib(module):
    top = module.split(".")[0]
    return top in sys.stdlib_module_names or top in sys.builtin_module_names or top in EXTRA_STDLIB


def _module_number(label):
    package = label.split("//", 1)[-1].split(":")[0]
    parts = package.split("/")
    if len(parts) >= 2 and parts[0] == "modules" and parts[1][:2].isdigit():
        return int(parts[1][:2])
    return None


class Entry:
    def __init__(self, data):
        self.label = data["label"]
        self.modules = set(data.get("modules", ()))
        self.external = data.get("external", self.label.startswith("@"))
        self.prefixes = tuple(data.get("prefixes", ())) if self.external else ()
        # Every package above a module ("a", "a.b" for "a.b.c"): a namespace package below is
        # provided too. A set, because provides() runs for every import statement a test executes.
        self.packages = {".".join(m.split(".")[:i]) for m in self.modules for i in range(1, m.count(".") + 1)}

    def provides(self, module):
        if module in self.modules or module in self.packages:
            return True
        return any(module == p or module.startswith(p + ".") for p in self.prefixes)


class Policy:
    """Decisions only (no hooks): who may import what, which files may be opened."""

    def __init__(self, manifest, runfiles, index=(), stdlib_dirs=None, wrapper=None):
        self.label = manifest["label"]
        self.runfiles = os.path.abspath(runfiles)
        self.workspace_dir = os.path.join(self.runfiles, manifest["workspace"])
        self.entries = {}
        for data in list(index) + list(manifest.get("entries", ())):
            self.entries[data["label"]] = Entry(data)
        self.deps = {self.label: list(manifest.get("deps", ()))}
        self.files = {}  # absolute or real path of an allowed first-party file -> its target's label
        own = list(manifest.get("srcs", ())) + [manifest["runner"]]
        self._allow_files(self.label, own)
        self.entries.setdefault(self.label, Entry({"label": self.label}))
        for node in manifest.get("nodes", ()):
            self.deps[node["label"]] = list(node.get("deps", ()))
            self._allow_files(node["label"], node.get("files", ()))
        first = os.path.join(self.runfiles, manifest["srcs"][0]) if manifest.get("srcs") else None
        self.source_root = self._source_root(first, manifest["srcs"][0]) if first else None
        if stdlib_dirs is None:
            stdlib_dirs = {realpath(os.path.dirname(os.__file__))}
        self.stdlib_dirs = tuple(stdlib_dirs)
        self.wrapper = realpath(wrapper) if wrapper else None
        self._label_cache = {}
        # Decisions depend only on (module, requester) and the manifest, which never changes once
        # loaded; numpy and pytest execute thousands of import statements, so each is asked once.
        # What first-party targets provide (they have no `prefixes`: only @pypi may claim a subtree).
        self._first_party_names = set()
        for e in self.entries.values():
            if not e.external:
                self._first_party_names |= e.modules | e.packages
        self._provider_cache = {}
        self._allowed_cache = set()

    def _allow_files(self, label, paths):
        for rel in paths:
            path = os.path.join(self.runfiles, rel)
            self.files[os.path.abspath(path)] = label
            self.files[realpath(path)] = label

    @staticmethod
    def _source_root(path, rel):
        real = realpath(path)
        inside = rel.split("/", 1)[1] if "/" in rel else rel
        if real.endswith("/" + inside):
            return real[: -len(inside) - 1]
        return None

    # --- who is asking ------------------------------------------------------------------------

    def label_of_file(self, filename):
        """The first-party target a code file belongs to, or None (stdlib, third party, <string>)."""
        if filename in self._label_cache:
            return self._label_cache[filename]
        label = None
        if filename and not filename.startswith("<"):
            label = self.files.get(os.path.abspath(filename)) or self.files.get(realpath(filename))
        self._label_cache[filename] = label
        return label

    def shown(self, filename):
        """A runfiles path as the repository names it: 'modules/11_embeddings/tests/test_x.py'."""
        absolute = os.path.abspath(filename)
        if absolute.startswith(self.workspace_dir + os.sep):
            return absolute[len(self.workspace_dir) + 1:]
        return filename

    # --- imports ------------------------------------------------------------------------------

    def first_party(self, module):
        """Is `module` tinytorch's own code (any first-party target provides it, or its namespace)?"""
        if module == "tinytorch" or module.startswith("tinytorch."):
            return True
        return module in self._first_party_names

    def provider_of(self, module):
        if module not in self._provider_cache:
            self._provider_cache[module] = next((e.label for e in self.entries.values() if module in e.modules), None) or next(
                (e.label for e in self.entries.values() if e.provides(module)), None)
        return self._provider_cache[module]

    def check_import(self, module, requester, where):
        """None if `requester` (a label) may import tinytorch's `module`, else the refusal's text.
        Third-party names are not judged: numpy's C code imports its own submodules with whatever
        Python frame happens to be on the stack; their files are judged by check_open instead."""
        if (module, requester) in self._allowed_cache or _is_stdlib(module) or not self.first_party(module):
            return None
        allowed = [requester] + self.deps.get(requester, [])
        if any(l in self.entries and self.entries[l].provides(module) for l in allowed):
            self._allowed_cache.add((module, requester))  # refusals are not cached: each is reported
            return None
        provider = self.provider_of(module)
        mine, theirs = _module_number(requester), _module_number(provider or "")
        if provider is None:
            why = "no direct dependency of %s provides it (nor does any target this test depends on)" % requester
            fix = "fix the module name, or depend on the target that provides it"
        elif mine is not None and theirs is not None and theirs > mine:
            why = "module %02d may not depend on module %02d (a later module)" % (mine, theirs)
            fix = "module %02d may not depend on module %02d: move this test to %s" % (
                mine, theirs, provider.split("//", 1)[-1].split(":")[0])
        else:
            why = ("%s is not a direct dependency of %s; an import the build could not see (computed, or "
                   "through a helper) is checked here, at run time" % (provider, requester))
            fix = 'add "%s" to deps of %s and import it by name' % (provider, requester)
        return self._report("import of \"%s\"" % module, where, provider, why, fix)

    # --- files --------------------------------------------------------------------------------

    def check_open(self, path, where, by_import_system):
        """None if the file may be opened, else the refusal's text. Only code files are judged."""
        if not path.endswith(CODE_SUFFIXES):
            return None
        absolute = os.path.abspath(path)
        if absolute in self.files:
            return None
        real = realpath(path)  # only when needed: this runs for every code file a test opens
        if real in self.files:
            return None
        if real.endswith((".pyc", ".pyo")) and os.path.basename(os.path.dirname(real)) == "__pycache__":
            # x.cpython-311.pyc (Python) or x.cpython-311-pytest-8.3.pyc (pytest's rewrite) of an allowed x.py
            stem = os.path.basename(real).split(".")[0]
            for base in (os.path.dirname(os.path.dirname(absolute)), os.path.dirname(os.path.dirname(real))):
                source = os.path.join(base, stem + ".py")
                if source in self.files or realpath(source) in self.files:
                    return None
        in_source = self.source_root and real.startswith(self.source_root + os.sep)
        in_workspace = absolute.startswith(self.workspace_dir + os.sep)
        if in_source or in_workspace:
            rel = os.path.relpath(real if in_source else absolute, self.source_root if in_source else self.workspace_dir)
            package = self._package_of(rel)
            return self._report(
                "load of \"%s\"" % rel, where, package,
                "%s is in the source tree of this repository but is neither a src of %s nor of a library it "
                "depends on (reached by a path: Path(__file__).resolve(), sys.path, spec_from_file_location, "
                "or a conftest.py / .py file in data), so no import check ever read it" % (rel, self.label),
                "import it by module name from a declared dep%s; a conftest.py belongs in srcs" % (
                    " (%s)" % package if package else ""),
            )
        if absolute.startswith(self.runfiles + os.sep):
            return None  # third-party code of another repository in the runfiles (@pypi)
        if any(real.startswith(d + os.sep) for d in self.stdlib_dirs) and not any(
                part in ("site-packages", "dist-packages") for part in real.split(os.sep)):
            return None
        if not by_import_system:
            return None  # reading a file as data (a fixture in TEST_TMPDIR) is fine
        return self._report(
            "load of \"%s\"" % path, where, None,
            "code is loaded only from the test's runfiles and the interpreter's standard library; %s is "
            "outside both (a copy, a sys.path entry, or host site-packages)" % real,
            "depend on the target or @pypi package that provides the module",
        )

    def _package_of(self, rel):
        parts = rel.split(os.sep)
        if len(parts) >= 2 and parts[0] == "modules":
            return "//modules/%s" % parts[1]
        return None

    # --- processes ----------------------------------------------------------------------------

    def check_spawn(self, words, where):
        """None unless a word of the command is a Python interpreter other than the guarded one."""
        for word in words:
            if not isinstance(word, (str, bytes, os.PathLike)):
                continue
            word = os.fsdecode(word)
            for token in word.split():
                base = os.path.basename(token)
                if not base.startswith("python"):
                    continue
                real = realpath(token) if os.sep in token else token
                if self.wrapper and real == self.wrapper:
                    continue
                return self._report(
                    "start of \"%s\"" % token, where, None,
                    "a Python started by another path than sys.executable runs without this guard",
                    "start Python as [sys.executable, ...], which keeps the test's declared dependencies",
                )
        return None

    def _report(self, what, where, provider, why, fix):
        lines = ["[run-time guard] %s loaded something it does not declare:" % self.label,
                 "%s: %s" % (where, what)]
        if provider:
            lines.append("    provided by: %s" % provider)
        lines.append("    not allowed: %s" % why)
        lines.append("    fix:         %s" % fix)
        return "\n".join(lines)


def _importer_frames(frame):
    """Frames from the innermost outward, skipping the import system and this guard."""
    here = os.path.abspath(__file__)
    importlib_dir = os.path.dirname(importlib.__file__)
    while frame is not None:
        name = frame.f_code.co_filename
        if not (name.startswith("<frozen importlib") or name == here or name.startswith(importlib_dir + os.sep)):
            yield frame
        frame = frame.f_back


class Guard:
    """Installs the Policy into the running interpreter."""

    def __init__(self, policy):
        self.policy = policy
        self.refusals = []
        self._busy = False

    def _where(self, frame):
        return "%s:%d" % (self.policy.shown(frame.f_code.co_filename), frame.f_lineno) if frame else "<unknown>"

    def _refuse(self, text):
        self.refusals.append(text)
        raise UndeclaredDependencyError(text)

    def judge_import(self, module, frame):
        """Checks a first-party `module` against the nearest first-party code on the stack (a helper
        such as pytest.importorskip or runpy asks on behalf of its caller)."""
        if not self.policy.first_party(module):
            return
        for f in _importer_frames(frame):
            label = self.policy.label_of_file(f.f_code.co_filename)
            if label is not None:
                text = self.policy.check_import(module, label, self._where(f))
                if text:
                    self._refuse(text)
                return

    def audit(self, event, args):
        if self._busy:
            return
        self._busy = True
        try:
            if event == "import":
                self.judge_import(args[0], sys._getframe(1))
            elif event == "open" and isinstance(args[0], (str, bytes)) and os.fsdecode(args[0]).endswith(CODE_SUFFIXES):
                frame = sys._getframe(1)
                by_import = any(f.f_code.co_filename.startswith("<frozen importlib") for f in _walk(frame))
                text = self.policy.check_open(os.fsdecode(args[0]), self._where(next(_importer_frames(frame), None)), by_import)
                if text:
                    self._refuse(text)
            elif event in SPAWN_EVENTS:
                words = [a for a in args if isinstance(a, (str, bytes, os.PathLike))]
                for a in args:
                    if isinstance(a, (list, tuple)):
                        words.extend(a)
                text = self.policy.check_spawn(words, self._where(next(_importer_frames(sys._getframe(1)), None)))
                if text:
                    self._refuse(text)
            elif event == "ctypes.dlsym" and isinstance(args[1], str) and args[1] in NATIVE_SPAWNERS:
                self._refuse(self.policy._report(
                    "ctypes lookup of \"%s\"" % args[1], self._where(next(_importer_frames(sys._getframe(1)), None)),
                    None, "starting processes through native calls bypasses the guard",
                    "use subprocess with [sys.executable, ...]"))
        finally:
            self._busy = False

    def install(self):
        sys.addaudithook(self.audit)
        original_import = builtins.__import__
        original_import_module = importlib.import_module
        guard = self

        def __import__(name, globals=None, locals=None, fromlist=(), level=0):
            if level and globals:
                package = globals.get("__package__") or globals.get("__name__", "").rpartition(".")[0]
                try:
                    absolute = importlib.util.resolve_name("." * level + name, package)
                except (ImportError, ValueError):
                    absolute = None
            else:
                absolute = name
            if absolute:  # the audit hook sees only first loads, and import_module not at all
                frame = sys._getframe(1)
                guard.judge_import(absolute, frame)
                for item in fromlist or ():
                    if isinstance(item, str) and item != "*" and guard.policy.first_party(absolute + "." + item) \
                            and guard.policy.provider_of(absolute + "." + item):
                        guard.judge_import(absolute + "." + item, frame)
            return original_import(name, globals, locals, fromlist, level)

        def import_module(name, package=None):
            try:
                absolute = importlib.util.resolve_name(name, package) if name.startswith(".") else name
            except (ImportError, ValueError, TypeError, AttributeError):
                absolute = None
            if absolute:
                guard.judge_import(absolute, sys._getframe(1))
            return original_import_module(name, package)

        builtins.__import__ = __import__
        importlib.import_module = import_module


def _walk(frame):
    while frame is not None:
        yield frame
        frame = frame.f_back


def strip_flags(argv):
    """`-u -X dev main.py a` -> `main.py a`: interpreter flags before the program."""
    argv = list(argv)
    while argv and argv[0].startswith("-") and argv[0] not in ("-c", "-m", "-"):
        flag = argv.pop(0)
        if flag in ("-W", "-X") and argv:
            argv.pop(0)
    return argv


def _run(argv):
    """Runs what `python ARGV` would: a script, `-c CODE` or `-m MODULE` (other flags are dropped:
    the wrapper already set -S -s -P)."""
    argv = strip_flags(argv)
    if not argv:
        raise SystemExit("guard.py: nothing to run")
    if argv[0] == "-c":
        sys.argv = ["-c"] + argv[2:]
        main_module = type(sys)("__main__")
        sys.modules["__main__"] = main_module
        exec(compile(argv[1], "<string>", "exec"), main_module.__dict__)
    elif argv[0] == "-m":
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = argv
        runpy.run_path(argv[0], run_name="__main__")


def manifest_path(env):
    """Where tinytorch_test put this test's manifest, from Bazel's test environment."""
    target = env["TEST_TARGET"]
    package, _, name = target.lstrip("@").split("//", 1)[-1].partition(":")
    root = env.get("TEST_SRCDIR") or env.get("RUNFILES_DIR", "")
    return root, os.path.join(root, env.get("TEST_WORKSPACE", ""), package, name + ".import_check.guard.json")


def main(argv, env=os.environ):
    if not argv:
        print("guard.py: usage: guard.py MAIN [ARGS...]", file=sys.stderr)
        return 2
    guard = None
    if env.get("TEST_TARGET"):
        runfiles, path = manifest_path(env)
        if not os.path.exists(path):
            print("[run-time guard] %s has no import manifest (%s).\n"
                  "    not allowed: a py_test not made by tinytorch_test runs code no import check read\n"
                  "    fix:         use tinytorch_test from //tools/build_defs:defs.bzl "
                  "(load(\"//tools/build_defs:defs.bzl\", \"tinytorch_test\"))"
                  % (env["TEST_TARGET"], os.path.relpath(path, runfiles) if runfiles else path), file=sys.stderr)
            return 1
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
        index_path = os.path.join(runfiles, manifest["index"])
        index = []
        if os.path.exists(index_path):
            with open(index_path, encoding="utf-8") as f:
                index = json.load(f)
        wrapper = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python3")
        guard = Guard(Policy(manifest, runfiles, index, wrapper=wrapper))
        if os.path.exists(wrapper):
            sys.executable = wrapper  # a child Python runs under this guard too
        guard.install()
    code = 0
    try:
        _run(list(argv))
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    if guard and guard.refusals:
        print("\n[run-time guard] %d refusal(s); the test fails even where it caught the error:" % len(guard.refusals),
              file=sys.stderr)
        for text in guard.refusals:
            print(text, file=sys.stderr)
        code = code or 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
