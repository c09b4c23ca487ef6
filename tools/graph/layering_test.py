"""The module graph, as `bazel query` reports it, is layered: 01 -> 05 -> 10 -> 11 -> 12.

Reads genquery outputs (no nested Bazel):
  module_graph          kind(py_library, deps(<every library of module_libraries()>)), --output=graph
  embedding_core_deps   deps(//modules/11_embeddings:embedding_core), --output=label
  module_libraries.txt  module_libraries() from modules/modules.bzl, one label a line
The synthetic-graph tests at the bottom show that each check can fail.
"""

import os

import pytest

from tools.graph import modgraph

HERE = os.path.dirname(os.path.abspath(__file__))

# The layers, bottom to top: the spine 01 -> 05 -> 10 -> 11 -> 12 with the helper modules
# (02-04 between tensor and autograd, 06 between autograd and tokenization) in between.
SPINE = ["01_tensor", "05_autograd", "10_tokenization", "11_embeddings", "12_attention", "13_transformers", "18_acceleration"]
LAYERS = ["01_tensor", "02_activations", "03_layers", "04_losses", "05_autograd",
          "06_optimizers", "08_dataloader", "10_tokenization", "11_embeddings", "12_attention",
          "13_transformers", "18_acceleration"]


def read(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return f.read()


@pytest.fixture(scope="module")
def graph():
    return modgraph.parse_dot(read("module_graph"))


@pytest.fixture(scope="module")
def libraries():
    return modgraph.parse_labels(read("module_libraries.txt"))


def describe(edges):
    return "\n".join("  %s -> %s" % edge for edge in edges)


# --- the real graph ---------------------------------------------------------------------------

def test_every_registered_library_is_in_the_graph(graph, libraries):
    missing = sorted(set(libraries) - graph.nodes)
    assert not missing, "libraries of module_libraries() missing from the query: %s" % missing


def test_the_layers_are_the_chain_with_helpers_in_between(graph, libraries):
    folders = sorted({modgraph.module_folder(label) for label in libraries}, key=modgraph.module_number)
    assert folders == LAYERS
    assert [f for f in folders if f in SPINE] == SPINE
    graph_folders = {modgraph.module_folder(n) for n in graph.nodes} - {None}
    assert graph_folders == set(LAYERS)


def test_no_library_depends_on_a_higher_numbered_module(graph):
    bad = modgraph.layering_violations(graph)
    assert not bad, "dependencies from a lower to a higher module number:\n" + describe(bad)


def test_every_module_edge_points_down(graph):
    mods = modgraph.module_graph(graph)
    module_edges = [(s, d) for s, d in mods.edges if modgraph.module_number(d) is not None]
    assert module_edges, "the query found no dependency between modules at all"
    up = [(s, d) for s, d in module_edges if modgraph.module_number(s) <= modgraph.module_number(d)]
    assert not up, "module edges that do not point to a lower number:\n" + describe(up)


def test_the_graph_is_acyclic(graph):
    assert modgraph.find_cycle(graph) is None


def test_the_spine_sits_on_autograd_and_tensor(graph):
    # The libraries of 11 and 12 build on autograd (05) and through it on tensor (01); 11 and 12
    # meet (today) only in a test, //modules/12_attention:embedding_attention_contract_test, and
    # tokenization (10) is stdlib-only, so neither 11 -> 10 nor 12 -> 11 is a library edge.
    mods = modgraph.module_graph(graph)
    assert "01_tensor" in modgraph.reachable(mods, "05_autograd")
    for folder in ["11_embeddings", "12_attention"]:
        assert {"01_tensor", "05_autograd"} <= modgraph.reachable(mods, folder), folder
    assert modgraph.reachable(mods, "10_tokenization") == {"10_tokenization"}


def test_external_packages_are_pypi_only(graph):
    external = {modgraph.module_node(n) for n in graph.nodes if modgraph.module_number(n) is None}
    assert "@pypi//numpy" in external
    assert all(n.startswith("@pypi//") for n in external), external


def test_embedding_core_needs_neither_tokenization_nor_attention():
    deps = modgraph.parse_labels(read("embedding_core_deps"))
    assert "//modules/11_embeddings:embedding_core" in deps
    assert "//modules/01_tensor:tensor" in deps
    leaked = [d for d in deps if modgraph.module_number(d) in (10, 12)]
    assert not leaked, "deps(//modules/11_embeddings:embedding_core) reaches %s" % leaked


# --- the checks themselves, on synthetic graphs -----------------------------------------------

SYNTHETIC = """\
digraph mygraph {
  node [shape=box];
  "//modules/12_attention:attention"
  "//modules/12_attention:attention" -> "//modules/11_embeddings:embeddings"
  "//modules/11_embeddings:embeddings" -> "//modules/11_embeddings:embedding_core"
  "//modules/11_embeddings:embedding_core" -> "//modules/01_tensor:tensor"
  "//modules/01_tensor:tensor" -> "@pypi//numpy:numpy"
  "@pypi//numpy:numpy"
}
"""
FORWARD = '  "//modules/11_embeddings:embedding_core" -> "//modules/12_attention:attention"\n}\n'


def test_parse_reads_nodes_and_edges():
    graph = modgraph.parse_dot(SYNTHETIC)
    assert len(graph.nodes) == 5
    assert ("//modules/01_tensor:tensor", "@pypi//numpy:numpy") in graph.edges
    assert len(graph.edges) == 4


def test_a_clean_synthetic_graph_passes():
    graph = modgraph.parse_dot(SYNTHETIC)
    assert modgraph.layering_violations(graph) == []
    assert modgraph.find_cycle(graph) is None


def test_a_forward_edge_is_detected():
    graph = modgraph.parse_dot(SYNTHETIC.replace("}\n", FORWARD))
    assert modgraph.layering_violations(graph) == [
        ("//modules/11_embeddings:embedding_core", "//modules/12_attention:attention")]
    assert modgraph.find_cycle(graph) == [
        "//modules/11_embeddings:embedding_core", "//modules/12_attention:attention",
        "//modules/11_embeddings:embeddings", "//modules/11_embeddings:embedding_core"]
    with pytest.raises(AssertionError, match="11_embeddings:embedding_core -> //modules/12_attention"):
        test_no_library_depends_on_a_higher_numbered_module(graph)


def test_an_edge_within_one_module_is_allowed():
    graph = modgraph.parse_dot(SYNTHETIC)
    assert ("11_embeddings", "11_embeddings") not in modgraph.module_graph(graph).edges
    assert modgraph.layering_violations(graph) == []


def test_factored_output_is_refused():
    factored = 'digraph mygraph {\n  "//modules/01_tensor:tensor\\n//modules/03_layers:layers"\n}\n'
    with pytest.raises(ValueError, match="nograph:factored"):
        modgraph.parse_dot(factored)


def test_garbage_is_refused_with_its_line_number():
    with pytest.raises(ValueError, match="line 2 .*'oops'"):
        modgraph.parse_dot("digraph g {\noops\n}\n")


def test_labels_and_module_numbers():
    assert modgraph.short_label("@pypi//numpy:numpy") == "@pypi//numpy"
    assert modgraph.short_label("//modules/01_tensor:tensor") == "//modules/01_tensor:tensor"
    assert modgraph.module_folder("//modules/11_embeddings:embedding_core") == "11_embeddings"
    assert modgraph.module_number("//modules/11_embeddings:embedding_core") == 11
    assert modgraph.module_number("12_attention") == 12
    assert modgraph.module_number("@pypi//numpy:numpy") is None
    assert modgraph.module_number("//tools/graph:modgraph") is None


def test_dot_draws_modules_solid_and_pypi_dashed():
    source = modgraph.to_dot(modgraph.parse_dot(SYNTHETIC))
    assert '"11_embeddings" [label="11_embeddings\\n:embedding_core, :embeddings"];' in source
    assert '"@pypi//numpy" [style=dashed' in source
    assert '"01_tensor" -> "@pypi//numpy" [style=dashed' in source
    assert '"12_attention" -> "11_embeddings";' in source
    assert '"11_embeddings" -> "11_embeddings"' not in source
    alone = modgraph.to_dot(modgraph.Graph({"//modules/10_tokenization:tokenization"}, set()))
    assert '"10_tokenization" [label="10_tokenization\\n:tokenization\\n(no deps)"];' in alone
