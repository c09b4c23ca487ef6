"""What the toolchain's interpreter really is, as a text file among the runtime's files.

    python3 -S interpreter_identity.py        prints the identity of the interpreter running it

The toolchain's `python3.real` is a symlink to the host's python3, and Bazel digests the file it
points to. On pyenv (or any --enable-shared build) that file is a 17 KB launcher that loads
libpython by absolute path: another CPython behind the same launcher bytes (another machine, a
reinstall) would run under the same action keys. So the repository rule writes this identity,
digested by content with every Python action's inputs: version and build string, implementation,
ABI, and the sha256 of both the executable and the libpython it has mapped. No path is in it, so
the same interpreter reached through another path (a symlink, another $HOME) keeps its cache hits.
Stdlib only; runs under `-S` before any package exists.
"""

import hashlib
import os
import sys
import sysconfig


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def libpython_from_maps(maps_text):
    """The libpython files a process has mapped, from /proc/<pid>/maps text (sorted, unique)."""
    found = set()
    for line in maps_text.splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and os.path.basename(parts[5]).startswith("libpython"):
            found.add(parts[5].strip())
    return sorted(found)


def loaded_libpython():
    """Paths of the libpython this process runs on: [] for a static build (Debian's python3)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            return libpython_from_maps(f.read())
    except OSError:  # no procfs: fall back to what the build says it links
        if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
            return []
        path = os.path.join(sysconfig.get_config_var("LIBDIR") or "", sysconfig.get_config_var("LDLIBRARY") or "")
        return [path] if os.path.isfile(path) else []


def executable():
    """The interpreter binary: in a test, sys.executable is the toolchain's wrapper script (the guard
    points it there for child processes); _base_executable stays what the process started as."""
    return getattr(sys, "_base_executable", None) or sys.executable


def facts():
    """The running interpreter's identity facts: name -> value (values never hold a path)."""
    impl = sys.implementation
    return {
        "implementation": impl.name,
        "version": "%d.%d.%d-%s-%d" % tuple(sys.version_info),
        "hexversion": "%x" % sys.hexversion,
        "build": sys.version.replace("\n", " "),
        "cache_tag": impl.cache_tag or "",
        "soabi": sysconfig.get_config_var("SOABI") or "",
        "abiflags": getattr(sys, "abiflags", ""),
        "machine": os.uname().machine,
        "executable_sha256": sha256_of(os.path.realpath(executable())),
        "libpython_sha256": ",".join(sha256_of(p) for p in loaded_libpython()) or "(static: none loaded)",
    }


def identity_text(values):
    """The identity file's text: one `name: value` line per fact, in name order."""
    lines = ["# The toolchain interpreter's identity (tools/python/interpreter_identity.py); digested into every Python action key."]
    lines += ["%s: %s" % (name, values[name]) for name in sorted(values)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(identity_text(facts()))
