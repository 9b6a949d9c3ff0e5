"""The on-node package ovr_node as the role ovr.fleet.node_runtime installs it, for the tests and
the benchmarks that import or run it from the checkout.

The package has one source and no copy in the repository: its programs are the role's files
(roles/node_runtime/files/ovr_node/*.py) and its engine is the collection's module_utils (the
modules named by ``__node_runtime_engine`` in roles/node_runtime/vars/main.yml). The role puts both
in one folder on the node; ``build`` does the same in a folder of the caller's choosing.
"""
import os
import shutil
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROGRAMS_DIR = os.path.join(ROOT, "roles", "node_runtime", "files", "ovr_node")
MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")
ROLE_VARS = os.path.join(ROOT, "roles", "node_runtime", "vars", "main.yml")


def engine():
    """The engine's module names (``__node_runtime_engine`` of the role's vars)."""
    with open(ROLE_VARS, encoding="utf-8") as handle:
        return list(yaml.safe_load(handle)["__node_runtime_engine"])


def sources():
    """{file name in the package: its source path}, as the role gathers them."""
    files = {name: os.path.join(PROGRAMS_DIR, name) for name in sorted(os.listdir(PROGRAMS_DIR))
             if name.endswith(".py")}
    for module in engine():
        name = module + ".py"
        if name in files:
            raise ValueError("%s is both a program of the role and an engine module" % name)
        files[name] = os.path.join(MODULE_UTILS, name)
    return files


def build(parent):
    """Write ``<parent>/ovr_node`` (copies of the sources); returns ``parent``, the folder to put on
    PYTHONPATH as the node's launchers do with node_runtime_lib_dir."""
    package = os.path.join(parent, "ovr_node")
    os.makedirs(package)
    for name, src in sources().items():
        shutil.copyfile(src, os.path.join(package, name))
    return parent


def build_temporary():
    """``build`` into a new temporary folder (the caller removes it; removed here if the build fails)."""
    parent = tempfile.mkdtemp(prefix="ovr-node-package-")
    try:
        return build(parent)
    except BaseException:
        shutil.rmtree(parent, ignore_errors=True)
        raise
