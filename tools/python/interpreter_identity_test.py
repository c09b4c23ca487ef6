"""The toolchain interpreter's identity file (tools/python/interpreter_identity.py): what it tells apart."""

import os
import sys

from tools.python import interpreter_identity as identity

# Two real interpreters of this machine, as their facts read: Debian's static 3.11.2 and pyenv's
# 3.11.7, a launcher loading libpython. Same major.minor, same cache tag and SOABI.
DEBIAN = {
    "implementation": "cpython", "version": "3.11.2-final-0", "hexversion": "30b02f0",
    "build": "3.11.2 (main, Apr 28 2025, 14:11:48) [GCC 12.2.0]", "cache_tag": "cpython-311",
    "soabi": "cpython-311-x86_64-linux-gnu", "abiflags": "", "machine": "x86_64",
    "executable_sha256": "a" * 64, "libpython_sha256": "(static: none loaded)",
}
PYENV = dict(DEBIAN, version="3.11.7-final-0", hexversion="30b07f0", build="3.11.7 (main, May  9 2026, 07:35:25) [GCC 12.2.0]",
             executable_sha256="b" * 64, libpython_sha256="c" * 64)


def test_interpreters_of_different_versions_have_different_identities():
    assert identity.identity_text(DEBIAN) != identity.identity_text(PYENV)
    # Even if the launcher bytes were the same (one pyenv launcher, two libpythons behind it) ...
    same_launcher = dict(PYENV, executable_sha256=DEBIAN["executable_sha256"])
    assert identity.identity_text(same_launcher) != identity.identity_text(DEBIAN)
    # ... and only the library differs: another CPython build behind the same launcher.
    other_lib = dict(PYENV, libpython_sha256="d" * 64)
    assert identity.identity_text(other_lib) != identity.identity_text(PYENV)
    # Every fact is in the text, so none can change unseen.
    for name, value in PYENV.items():
        assert "%s: %s\n" % (name, value) in identity.identity_text(PYENV)


def test_libpython_is_found_in_the_process_maps():
    maps = (
        "55d0-55d1 r--p 00000000 fe:01 123 /opt/py/bin/python3.11\n"
        "7f00-7f10 r-xp 00001000 fe:01 456 /home/u/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0\n"
        "7f10-7f20 r--p 00011000 fe:01 456 /home/u/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0\n"
        "7f20-7f30 r-xp 00000000 fe:01 789 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
        "7ffc-7ffd rw-p 00000000 00:00 0 [stack]\n"
    )
    assert identity.libpython_from_maps(maps) == ["/home/u/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"]
    assert identity.libpython_from_maps("7f20-7f30 r-xp 00000000 fe:01 789 /usr/lib/libc.so.6\n") == []


def test_the_running_interpreter_is_described_without_any_path():
    facts = identity.facts()
    text = identity.identity_text(facts)
    assert facts["version"].startswith("%d.%d.%d" % sys.version_info[:3])
    assert facts["cache_tag"] == sys.implementation.cache_tag
    assert len(facts["executable_sha256"]) == 64
    real = os.path.realpath(sys.executable)
    for path in (sys.executable, real, os.path.dirname(real), sys.prefix):
        assert path not in text  # the same Python at another path keeps its cache hits
    for lib in identity.loaded_libpython():
        assert lib not in text and identity.sha256_of(lib) in facts["libpython_sha256"]


def test_the_toolchain_identity_is_this_interpreter():
    """identity.txt of @python_interpreter, which every Python action has among its inputs,
    describes the interpreter the tests run on (the guard started this process through it)."""
    root = os.environ["TEST_SRCDIR"]
    with open(os.path.join(root, "python_interpreter", "identity.txt"), encoding="utf-8") as f:
        assert f.read() == identity.identity_text(identity.facts())
