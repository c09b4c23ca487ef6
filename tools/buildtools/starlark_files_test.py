"""Unit tests of the Starlark file list behind //tools/buildtools:buildifier_check (pure functions)."""

from tools.buildtools import starlark_files as sf

WORKSPACE = '''workspace(name = "w")

local_repository(
    name = "rules_cc",
    path = "third_party/rules_cc",
)

local_repository(name = "outside", path = "/usr/share/bazel/rules/java")
'''

FILES = [
    "BUILD.bazel",
    "WORKSPACE",
    "README.md",
    "modules/11_embeddings/BUILD.bazel",
    "modules/11_embeddings/tinytorch/text/embeddings.py",
    "modules/modules.bzl",
    "modules/BUILD.bazel",
    "tools/build_defs/defs.bzl",
    "tools/build_defs/BUILD.bazel",
    "tools/lonely/helpers.bzl",  # no BUILD in tools/lonely or tools: the root package holds it
    "third_party/rules_cc/WORKSPACE",
    "third_party/rules_cc/BUILD.bazel",
    "third_party/rules_cc/cc/BUILD.bazel",
    "third_party/rules_cc/cc/defs.bzl",
    "third_party/other/WORKSPACE",
    "third_party/other/BUILD",
]


def test_local_repositories_inside_the_workspace_only():
    assert sf.local_repositories(WORKSPACE) == {"third_party/rules_cc": "rules_cc"}


def test_labels():
    found, problems = sf.labels(sorted(FILES), sf.local_repositories(WORKSPACE))
    assert found == [
        ("BUILD.bazel", "//:BUILD.bazel"),
        ("WORKSPACE", "//:WORKSPACE"),
        ("modules/11_embeddings/BUILD.bazel", "//modules/11_embeddings:BUILD.bazel"),
        ("modules/BUILD.bazel", "//modules:BUILD.bazel"),
        ("modules/modules.bzl", "//modules:modules.bzl"),
        ("third_party/rules_cc/BUILD.bazel", "@rules_cc//:BUILD.bazel"),
        ("third_party/rules_cc/WORKSPACE", "@rules_cc//:WORKSPACE"),
        ("third_party/rules_cc/cc/BUILD.bazel", "@rules_cc//cc:BUILD.bazel"),
        ("third_party/rules_cc/cc/defs.bzl", "@rules_cc//cc:defs.bzl"),
        ("tools/build_defs/BUILD.bazel", "//tools/build_defs:BUILD.bazel"),
        ("tools/build_defs/defs.bzl", "//tools/build_defs:defs.bzl"),
        ("tools/lonely/helpers.bzl", "//:tools/lonely/helpers.bzl"),
    ]
    assert len(problems) == 2 and all(p.startswith("third_party/other/") for p in problems)
    assert "no local_repository in WORKSPACE names it" in problems[0]


def test_is_starlark():
    assert sf.is_starlark("BUILD") and sf.is_starlark("a/BUILD.bazel") and sf.is_starlark("a/b.bzl")
    assert sf.is_starlark("WORKSPACE") and sf.is_starlark("x/WORKSPACE.bazel")
    assert not sf.is_starlark("a/BUILD.md") and not sf.is_starlark("a/b.py") and not sf.is_starlark("bzl")


def test_render_is_a_buildifier_formatted_dict():
    text = sf.render([("BUILD.bazel", "//:BUILD.bazel"), ("third_party/rules_cc/cc/defs.bzl", "@rules_cc//cc:defs.bzl")])
    assert text.startswith('"""Every Starlark file')
    assert ('STARLARK_FILES = {\n    "BUILD.bazel": "//:BUILD.bazel",\n'
            '    "third_party/rules_cc/cc/defs.bzl": "@rules_cc//cc:defs.bzl",\n}\n') in text
    assert text.endswith("}\n")
