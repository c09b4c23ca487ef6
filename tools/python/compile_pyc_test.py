"""compile_pyc.py, which writes @pypi's bytecode (the py_bytecode rule of tools/build_defs/defs.bzl)."""

import importlib.util
import marshal

from tools.python import compile_pyc


def test_pyc_is_hash_checked_names_the_runfiles_path_and_is_reproducible(tmp_path):
    source = tmp_path / "mod.src"  # not .py: the guard judges code files opened in a test
    source.write_text("def f():\n    return 41 + 1\n")
    first, second = tmp_path / "a.out", tmp_path / "b.out"
    assert compile_pyc.compile_all([(str(source), str(first), "pypi/x/site/mod.src")]) == []
    assert compile_pyc.compile_all([(str(source), str(second), "pypi/x/site/mod.src")]) == []
    data = first.read_bytes()
    assert data == second.read_bytes()  # same source, same interpreter: same bytes (cacheable)
    assert data[:4] == importlib.util.MAGIC_NUMBER
    flags = int.from_bytes(data[4:8], "little")
    assert flags == 0b11  # hash-based and checked: no mtime, and never used for another source
    assert data[8:16] == importlib.util.source_hash(source.read_bytes())
    code = marshal.loads(data[16:])
    assert code.co_filename == "pypi/x/site/mod.src"  # no path of the machine that compiled it
    assert str(tmp_path) not in data.decode("latin-1")
    namespace = {}
    exec(code, namespace)
    assert namespace["f"]() == 42


def test_uncompilable_source_gets_an_empty_pyc_so_python_reads_the_source(tmp_path):
    bad = tmp_path / "template.src"
    bad.write_text("def broken(:\n")
    out = tmp_path / "template.out"
    assert compile_pyc.compile_all([(str(bad), str(out), "pypi/x/site/template.src")]) == ["pypi/x/site/template.src"]
    assert out.read_bytes() == b""


def test_params_file_must_hold_triples(tmp_path, capsys):
    params = tmp_path / "p"
    params.write_text("a.py\na.pyc\n")
    assert compile_pyc.main(["@" + str(params)]) == 2
    assert "SOURCE, OUTPUT, NAME" in capsys.readouterr().err
    assert compile_pyc.main(["no-at-sign"]) == 2
