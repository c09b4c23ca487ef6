from tools.importcheck import check_imports


def test_smoke():
    assert check_imports.is_stdlib("os.path")
