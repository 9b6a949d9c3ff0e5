# -*- coding: utf-8 -*-
"""How plugins/module_utils imports itself: no cycle (fleet_model and mesh used to import each other,
one of the two lazily), and an import inside a function only for what a node may lack (paho-mqtt,
Ansible), never for a sibling module."""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[4]
MODULE_UTILS = ROOT / "plugins" / "module_utils"
PACKAGE = "ansible_collections.ovr.fleet.plugins.module_utils"
# What a node may lack: imported lazily, or guarded where it is first needed.
OPTIONAL_ON_A_NODE = ("ansible", "paho")


def modules():
    return {p.stem: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(MODULE_UTILS.glob("*.py"))}


def siblings(node):
    """Sibling modules an import node names."""
    if isinstance(node, ast.ImportFrom) and node.level == 1:
        return [node.module.split(".")[0]] if node.module else [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
        rest = node.module[len(PACKAGE):].lstrip(".")
        return [rest.split(".")[0]] if rest else [a.name for a in node.names]
    if isinstance(node, ast.Import):
        return [a.name[len(PACKAGE) + 1:].split(".")[0] for a in node.names if a.name.startswith(PACKAGE + ".")]
    return []


def test_no_import_cycle():
    graph = {name: set() for name in modules()}
    for name, tree in modules().items():
        for node in ast.walk(tree):
            graph[name].update(s for s in siblings(node) if s in graph)
    done, path = set(), []

    def visit(name):
        if name in path:
            raise AssertionError("import cycle: %s" % " -> ".join(path[path.index(name):] + [name]))
        if name in done:
            return
        path.append(name)
        for other in sorted(graph[name]):
            visit(other)
        path.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_lazy_imports_only_for_what_a_node_may_lack():
    for name, tree in modules().items():
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                assert not siblings(node), "%s.%s imports a sibling lazily (line %d)" % (name, func.name, node.lineno)
                targets = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                for target in targets:
                    assert target.split(".")[0] in OPTIONAL_ON_A_NODE, \
                        "%s.%s imports %s lazily (line %d): only what a node may lack is" % (name, func.name, target, node.lineno)
