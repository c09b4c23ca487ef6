"""The module registry: which modules exist, which libraries each provides, and who may see them.

A module may depend only on modules with a lower number. Bazel enforces that with `visibility`:
each library is visible to its own package and to higher-numbered modules (plus the consumer
packages below), so a forward dependency (11 -> 12) fails at analysis time.
"""

# Folder under modules/ -> library targets it provides. Register every new library here: the
# import checker refuses a module library that is missing, and the index built from this list is
# how its error messages name the target that provides an import.
MODULES = {
    "01_tensor": ["tensor", "parallel"],
    "02_activations": ["activations"],
    "03_layers": ["layers"],
    "04_losses": ["losses"],
    "05_autograd": ["autograd"],
    "06_optimizers": ["optimizers"],
    "08_dataloader": ["dataloader"],
    "10_tokenization": ["tokenization"],
    "11_embeddings": ["embedding_core", "embeddings"],
    "12_attention": ["attention"],
    "13_transformers": ["transformer", "nn"],
    "18_acceleration": ["acceleration"],
}

# Packages outside modules/ that may use every module (they sit above the whole stack).
CONSUMERS = [
    "//benchmarks/...",
    "//examples/...",
    "//tests/...",
    "//tools/graph/...",
]

def module_number(package):
    """The module number of a package: 'modules/11_embeddings' (and any package below it) -> 11.

    Args:
      package: a package path, as native.package_name() gives it.

    Returns:
      The module's number, or None for packages outside modules/.
    """
    parts = package.split("/")
    if len(parts) < 2 or parts[0] != "modules" or not parts[1][:2].isdigit():
        return None
    return int(parts[1][:2])

def module_libraries():
    return ["//modules/%s:%s" % (folder, lib) for folder in MODULES for lib in MODULES[folder]]

def module_visibility(package):
    """Visibility for a library in `package`: the package group of its layer."""
    if module_number(package) == None:
        fail("module_visibility() is for packages under modules/, got " + package)
    return ["//modules:above_" + package.split("/")[1]]

def module_package_groups(name = "above"):
    """One package group per module: the packages allowed to depend on it.

    Args:
      name: prefix of the package groups' names ("above_11_embeddings").
    """
    for folder in MODULES:
        number = module_number("modules/" + folder)
        higher = ["//modules/%s/..." % f for f in MODULES if module_number("modules/" + f) > number]
        native.package_group(
            name = name + "_" + folder,
            packages = ["//modules"] + higher + CONSUMERS,
        )
