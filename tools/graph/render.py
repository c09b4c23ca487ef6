"""Draws the module graph with graphviz: `./bazelw run //tools/graph:render -- docs/module-graph.svg`.

Writes OUT.svg and OUT.png side by side (OUT may end in .svg, .png or nothing). A relative OUT
is resolved against the workspace root (BUILD_WORKSPACE_DIRECTORY, set by `bazel run`), not
against Bazel's runfiles folder. The graph is //tools/graph:module_graph, the same genquery
output //tools/graph:layering_test checks, so the picture always matches `bazel query`.
"""

import os
import shutil
import subprocess
import sys

from tools.graph import modgraph

GRAPH = "module_graph"  # genquery output, next to this script in the runfiles
INSTALL_HINT = "graphviz's `dot` is not installed. Install it with:  sudo apt-get install graphviz"


def output_stem(arg, workspace):
    """'docs/module-graph.svg' -> '<workspace>/docs/module-graph' (absolute, no extension)."""
    path = arg if os.path.isabs(arg) else os.path.join(workspace, arg)
    stem, ext = os.path.splitext(path)
    return stem if ext in (".svg", ".png") else path


def find_dot():
    return shutil.which("dot") or ("/usr/bin/dot" if os.access("/usr/bin/dot", os.X_OK) else None)


def main(argv):
    if len(argv) != 1 or argv[0].startswith("-"):
        print("usage: bazel run //tools/graph:render -- OUT.svg   (writes OUT.svg and OUT.png)", file=sys.stderr)
        return 2
    dot = find_dot()
    if not dot:
        print("render: " + INSTALL_HINT, file=sys.stderr)
        return 1
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), GRAPH), encoding="utf-8") as f:
        graph = modgraph.parse_dot(f.read())
    source = modgraph.to_dot(graph)
    stem = output_stem(argv[0], os.environ.get("BUILD_WORKSPACE_DIRECTORY") or os.getcwd())
    os.makedirs(os.path.dirname(stem) or ".", exist_ok=True)
    for fmt in ("svg", "png"):
        out = "%s.%s" % (stem, fmt)
        # dot writes no timestamps: re-rendering an unchanged graph gives the same bytes.
        subprocess.run([dot, "-T" + fmt, "-o", out], input=source.encode(), check=True)
        print("wrote " + out)
    mods = modgraph.module_graph(graph)
    external = sum(1 for n in mods.nodes if modgraph.module_number(n) is None)
    print("%d modules, %d external (@pypi) packages, %d edges" % (len(mods.nodes) - external, external, len(mods.edges)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
