"""Byte-compiles sources for the `py_bytecode` rule (tools/build_defs/defs.bzl).

    python3 compile_pyc.py @PARAMS     PARAMS: lines SOURCE, OUTPUT, NAME (three per source)

Hash-checked .pyc (PEP 552): the header holds a hash of the source, not its mtime, so the output
depends only on the source's bytes and the interpreter, and a stale .pyc is never used (Python
compares the hash and falls back to the source). NAME, the file's path in the runfiles, goes into
the code objects instead of the sandbox path, so no path of this machine reaches a cached output.
A source this interpreter cannot compile (a template, another Python's syntax) gets an empty file,
which Python rejects as a .pyc and so reads the source, as it would without one.
"""

import py_compile
import sys


def compile_all(triples):
    failed = []
    for source, output, name in triples:
        try:
            py_compile.compile(source, cfile=output, dfile=name, doraise=True,
                               invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
        except py_compile.PyCompileError:
            failed.append(name)
            with open(output, "wb"):
                pass
    return failed


def main(argv):
    if len(argv) != 1 or not argv[0].startswith("@"):
        print("usage: compile_pyc.py @PARAMS", file=sys.stderr)
        return 2
    with open(argv[0][1:], encoding="utf-8") as f:
        words = f.read().splitlines()
    if len(words) % 3:
        print("compile_pyc.py: %s does not hold SOURCE, OUTPUT, NAME triples" % argv[0][1:], file=sys.stderr)
        return 2
    compile_all([words[i:i + 3] for i in range(0, len(words), 3)])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
