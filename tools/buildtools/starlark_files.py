"""The workspace's Starlark files (BUILD, WORKSPACE, .bzl), for buildifier: the formatter and its check.

    ./bazelw run //:buildifier                           format every file in place (and rewrite the list)
    ./bazelw run //:buildifier -- --check                report what it would change; change nothing
    ./bazelw test //:buildifier_check                    the hermetic check (fails on unformatted / lint)
    python3 tools/buildtools/starlark_files.py --check   CI: the check's list names every file
    python3 tools/buildtools/starlark_files.py --write   rewrite the list only

Why a list: a test sees only the files its `data` names, and `glob` stops at package boundaries, so
the root package cannot glob `**/BUILD.bazel`. Nor can the check take the files' own labels: a .bzl
or WORKSPACE file is a target only if its package exports it, and a BUILD file is visible only as
far as its package's default_visibility says. So tools/buildtools/starlark_files.bzl maps each
file's workspace path to its label (`//modules/01_tensor:BUILD.bazel`, `//tools/build_defs:defs.bzl`,
in a nested repository `@rules_cc//cc:defs.bzl`), the repository @tinytorch_starlark_sources
(tools/buildtools/repositories.bzl) copies each file by that label, and Bazel re-fetches it when one
of them changes (a repository rule's `read` of a label is tracked). The check is hermetic and cached:
it re-runs exactly when a listed file changes. Nothing in Bazel 4.2.3 can list a new package's files
for it, so this script writes the list from `git ls-files` (tracked and untracked, not ignored: what
CI's copies see), the formatter rewrites it whenever it runs, and CI fails when it is stale.
"""

import argparse
import os
import re
import subprocess
import sys

LIST = "tools/buildtools/starlark_files.bzl"
BUILD_NAMES = ("BUILD.bazel", "BUILD")
WORKSPACE_NAMES = ("WORKSPACE", "WORKSPACE.bazel")
LOCAL_REPOSITORY = re.compile(r"local_repository\((.*?)\)", re.S)
ATTR = re.compile(r'(\w+)\s*=\s*"([^"]*)"')


def is_starlark(path):
    base = path.rsplit("/", 1)[-1]
    return base in BUILD_NAMES or base in WORKSPACE_NAMES or base.endswith(".bzl")


def workspace_files(root):
    """Files of the workspace, relative, '/'-separated: git's view (tracked + untracked, not ignored)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                             check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        files = [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: walk it (no bazel-* links, no .git)
        files = []
        for d, dirs, names in os.walk(root):
            dirs[:] = [x for x in dirs if not (x.startswith("bazel-") or x == ".git")]
            rel = os.path.relpath(d, root)
            files += [n if rel == "." else rel.replace(os.sep, "/") + "/" + n for n in names]
    return sorted(p for p in set(files) if os.path.isfile(os.path.join(root, p)))


def local_repositories(workspace_text):
    """{relative path: repository name} of the WORKSPACE's local_repository rules inside the workspace."""
    repos = {}
    for m in LOCAL_REPOSITORY.finditer(workspace_text):
        attrs = dict(ATTR.findall(m.group(1)))
        path = attrs.get("path", "")
        if "name" in attrs and path and not os.path.isabs(path) and not path.startswith(".."):
            repos[os.path.normpath(path).replace(os.sep, "/")] = attrs["name"]
    return repos


def _dir(path):
    return path.rsplit("/", 1)[0] if "/" in path else ""


def labels(files, repos):
    """([(path, label)] of the Starlark files, problems): each file as a label of the package that holds it.

    `files` are all files of the workspace (to find packages and nested repositories); `repos` maps
    a nested repository's folder to its name (local_repository in WORKSPACE).
    """
    present = set(files)
    nested = {_dir(p) for p in files if p.rsplit("/", 1)[-1] in WORKSPACE_NAMES and "/" in p}
    out, problems = [], []
    for path in files:
        if not is_starlark(path):
            continue
        repo_root = max((n for n in nested if path.startswith(n + "/")), key=len, default="")
        if repo_root and repo_root not in repos:
            problems.append("%s: %s has a WORKSPACE but no local_repository in WORKSPACE names it, so no label "
                            "reaches its files" % (path, repo_root))
            continue
        rel = path[len(repo_root) + 1:] if repo_root else path
        prefix = "@%s//" % repos[repo_root] if repo_root else "//"
        d = _dir(rel)
        while True:
            base = (repo_root + "/" if repo_root else "") + (d + "/" if d else "")
            if any(base + b in present for b in BUILD_NAMES):
                break
            if not d:
                d = None
                break
            d = _dir(d)
        if d is None:
            problems.append("%s: no BUILD file above it, so it is in no package" % path)
            continue
        name = rel[len(d) + 1:] if d else rel
        out.append((path, "%s%s:%s" % (prefix, d, name)))
    return out, problems


def render(pairs):
    """tools/buildtools/starlark_files.bzl, formatted as buildifier formats it."""
    lines = [
        '"""Every Starlark file of the workspace: its path and its label. Data of //tools/buildtools:buildifier_check.',
        "",
        "Generated by tools/buildtools/starlark_files.py (`./bazelw run //:buildifier` rewrites it; CI checks",
        "it with `python3 tools/buildtools/starlark_files.py --check`). Do not edit by hand.",
        '"""',
        "",
        "STARLARK_FILES = {",
    ]
    lines += ['    "%s": "%s",' % pair for pair in pairs]
    lines += ["}", ""]
    return "\n".join(lines)


def starlark_paths(files):
    return [p for p in files if is_starlark(p)]


def expected(root):
    """(all files, the labels the list must hold, problems); the list counts itself before its first write."""
    files = sorted(set(workspace_files(root)) | {LIST})
    with open(os.path.join(root, "WORKSPACE"), encoding="utf-8") as f:
        repos = local_repositories(f.read())
    found, problems = labels(files, repos)
    return files, found, problems


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def write_list(root, found):
    """Rewrites the list if it changed; True if it did."""
    text = render(found)
    path = os.path.join(root, LIST)
    if read(path) == text:
        return False
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return True


def run_buildifier(root, buildifier, flags, paths, check):
    argv = [buildifier, "--mode=check" if check else "--mode=fix", "-v"] + flags + paths
    res = subprocess.run(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    out = res.stdout
    changed = sorted({line.split(" # reformat")[0] for line in out.splitlines() if line.endswith(" # reformat")} |
                     {line[len("fixed "):] for line in out.splitlines() if line.startswith("fixed ")})
    warnings = [line for line in out.splitlines() if re.match(r"^\S+:\d+: [a-z-]+: ", line)]
    return res.returncode, out, changed, warnings


def main(argv):
    parser = argparse.ArgumentParser(prog="starlark_files", description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--write", action="store_true", help="rewrite %s" % LIST)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the list is stale (with --buildifier: also report what formatting would change)")
    parser.add_argument("--buildifier", help="format (or with --check, check) every Starlark file with this buildifier")
    parser.add_argument("--root", default=os.environ.get("BUILD_WORKSPACE_DIRECTORY")
                        or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    opts, flags = parser.parse_known_args(argv)
    unknown = [f for f in flags if not f.startswith("--")]
    if unknown:
        parser.error("unrecognized arguments: %s" % " ".join(unknown))
    root = opts.root
    files, found, problems = expected(root)
    for p in problems:
        print("starlark_files: %s" % p, file=sys.stderr)
    status = 0
    stale = read(os.path.join(root, LIST)) != render(found)
    if opts.check:
        if stale:
            print("starlark_files: %s is stale (a Starlark file was added, moved or removed); fix: "
                  "./bazelw run //:buildifier  (or python3 %s --write)" % (LIST, "tools/buildtools/starlark_files.py"),
                  file=sys.stderr)
            status = 1
        else:
            print("starlark_files: %s lists all %d Starlark files" % (LIST, len(found)), file=sys.stderr)
    elif opts.write or opts.buildifier:
        if write_list(root, found):
            print("starlark_files: rewrote %s (%d files)" % (LIST, len(found)), file=sys.stderr)
    if opts.buildifier:
        paths = starlark_paths(files)
        code, out, changed, warnings = run_buildifier(root, os.path.abspath(opts.buildifier), flags, paths, opts.check)
        sys.stderr.write(out)
        verb = "would reformat" if opts.check else "reformatted"
        print("buildifier: %s %d of %d files%s; %d lint warning(s)"
              % (verb, len(changed), len(paths), (": " + ", ".join(changed)) if changed else "", len(warnings)),
              file=sys.stderr)
        if code not in (0, 4):
            status = code
        elif opts.check and code == 4:
            status = 4
        elif warnings:
            print("buildifier: the lint warnings need a hand fix (//:buildifier_check fails on them)", file=sys.stderr)
            status = 4
    if not (opts.check or opts.write or opts.buildifier):
        sys.stdout.write(render(found))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
