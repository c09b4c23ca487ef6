"""The module graph from `bazel query --output=graph`: parsed, checked for layering, drawn as dot.

Shared by //tools/graph:layering_test and //tools/graph:render. Both read the same `genquery`
output (//tools/graph:module_graph), so the test and the picture describe exactly what
`bazel query` reports. Stdlib only.

Terms:
  target graph  one node per Bazel target ('//modules/11_embeddings:embeddings', '@pypi//numpy:numpy')
  module graph  one node per module folder ('11_embeddings') or external package ('@pypi//numpy')
"""

import re
from collections import namedtuple

Graph = namedtuple("Graph", ["nodes", "edges"])  # nodes: set of str; edges: set of (src, dst)

_NODE = re.compile(r'^"([^"]+)"$')
_EDGE = re.compile(r'^"([^"]+)"\s*->\s*"([^"]+)"$')
_MODULE = re.compile(r"^//modules/(\d+)_[A-Za-z0-9_]+:")
_SKIPPED = ("digraph ", "node [", "}")


def parse_dot(text):
    """Target graph from `bazel query --output=graph --nograph:factored` text.

    Raises ValueError on a line it does not understand (e.g. the default factored output, whose
    nodes join several labels with newlines): a silently half-read graph would hide edges.
    """
    nodes, edges = set(), set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip().rstrip(";")
        if not line or line.startswith(_SKIPPED):
            continue
        edge = _EDGE.match(line)
        node = _NODE.match(line)
        if edge:
            src, dst = edge.groups()
            edges.add((src, dst))
            nodes.update((src, dst))
        elif node:
            nodes.add(node.group(1))
        else:
            raise ValueError(
                "line %d of the query output is not a node or an edge: %r. "
                "Hint: query with --output=graph --nograph:factored" % (number, raw))
    for label in nodes:
        if "\\n" in label:
            raise ValueError("node %r joins several labels; query with --nograph:factored" % label)
    return Graph(nodes, edges)


def parse_labels(text):
    """Labels from `bazel query --output=label`, one per line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def short_label(label):
    """'@pypi//numpy:numpy' -> '@pypi//numpy' (the form users write); other labels unchanged."""
    package, _, name = label.partition(":")
    return package if name and package.rsplit("/", 1)[-1] == name else label


def module_folder(label):
    """'//modules/11_embeddings:embeddings' -> '11_embeddings'; None outside modules/."""
    if not _MODULE.match(label):
        return None
    return label[len("//modules/"):].split(":", 1)[0]


def module_number(label_or_folder):
    """'//modules/11_embeddings:x' or '11_embeddings' -> 11; None outside modules/."""
    folder = label_or_folder if ":" not in label_or_folder else module_folder(label_or_folder)
    if folder is None or not re.match(r"^\d+_", folder):
        return None
    return int(folder.split("_", 1)[0])


def module_node(label):
    """The module-graph node of a target: its module folder, or its short external label."""
    return module_folder(label) or short_label(label)


def layering_violations(graph):
    """Edges from a module to a HIGHER-numbered module (the forbidden direction), sorted.

    An edge src -> dst means "src depends on dst"; a module may only depend on lower numbers
    (or on itself). Edges touching targets outside modules/ are not layering questions.
    """
    bad = []
    for src, dst in graph.edges:
        low, high = module_number(src), module_number(dst)
        if low is not None and high is not None and low < high:
            bad.append((src, dst))
    return sorted(bad)


def module_graph(graph):
    """Collapses a target graph to modules: edges inside one module disappear."""
    nodes = {module_node(label) for label in graph.nodes}
    edges = {(module_node(s), module_node(d)) for s, d in graph.edges}
    return Graph(nodes, {(s, d) for s, d in edges if s != d})


def libraries_by_module(graph):
    """{'11_embeddings': ['embedding_core', 'embeddings'], ...} for the module targets in graph."""
    result = {}
    for label in graph.nodes:
        folder = module_folder(label)
        if folder:
            result.setdefault(folder, []).append(label.split(":", 1)[1])
    return {folder: sorted(names) for folder, names in result.items()}


def reachable(graph, start):
    """Every node reachable from start along edges (start included)."""
    successors = {}
    for src, dst in graph.edges:
        successors.setdefault(src, set()).add(dst)
    seen, todo = {start}, [start]
    while todo:
        for nxt in successors.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def find_cycle(graph):
    """One dependency cycle as a list of nodes [a, b, ..., a], or None if the graph is acyclic."""
    successors = {}
    for src, dst in sorted(graph.edges):
        successors.setdefault(src, []).append(dst)
    state = {}  # node -> 1 on the current path, 2 done

    def visit(node, path):
        state[node] = 1
        path.append(node)
        for nxt in successors.get(node, ()):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt, path)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph.nodes):
        if node not in state:
            cycle = visit(node, [])
            if cycle:
                return cycle
    return None


def _quote(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(graph, title="tinytorch module graph"):
    """Graphviz source of the module graph of a target graph.

    Modules are solid boxes labelled with their libraries, each above what it depends on;
    external packages (@pypi//...) are dashed grey boxes on the bottom row, reached by dashed edges.
    """
    mods = module_graph(graph)
    libs = libraries_by_module(graph)
    modules = sorted((n for n in mods.nodes if module_number(n) is not None), key=module_number)
    external = sorted(n for n in mods.nodes if module_number(n) is None)
    lines = [
        "digraph modules {",
        "  graph [rankdir=TB, label=%s, labelloc=t, fontname=Helvetica, nodesep=0.4, ranksep=0.5];" % _quote(title),
        "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#e8f0fe\", fontname=Helvetica];",
        "  edge [color=\"#555555\", arrowsize=0.7];",
    ]
    has_deps = {src for src, _ in mods.edges}
    for folder in modules:
        label = folder + "\\n" + ", ".join(":" + name for name in libs.get(folder, []))
        if folder not in has_deps:
            label += "\\n(no deps)"
        lines.append("  %s [label=\"%s\"];" % (_quote(folder), label.replace('"', '\\"')))
    if external:
        lines.append("  subgraph external {")
        lines.append("    rank=max;")
        for name in external:
            lines.append("    %s [style=dashed, color=\"#888888\", fontcolor=\"#555555\", fillcolor=white];" % _quote(name))
        lines.append("  }")
    for src, dst in sorted(mods.edges):
        style = " [style=dashed, color=\"#999999\"]" if module_number(dst) is None else ""
        lines.append("  %s -> %s%s;" % (_quote(src), _quote(dst), style))
    lines.append("}")
    return "\n".join(lines) + "\n"
