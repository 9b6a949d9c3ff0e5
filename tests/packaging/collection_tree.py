"""What the packaging tests read from the source tree: galaxy.yml, and every use of a plugin of
another collection (by FQCN) in the roles, playbooks, plugins and the example inventory."""
import ast
import collections
import os
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]

# The collection's own plugins and ansible-core's need no dependency.
BUILTIN = {"ansible.builtin", "ansible.legacy", "ovr.fleet"}
# Where a user's collection code lives (what the tarball ships besides docs).
SCANNED = ("roles", "playbooks", "plugins", "inventories/example", "meta")
# Namespaces of well-known collections: a name in one of them counts even when that collection
# is not installed here (it would then be missing for the user, too). (Not "ansible": its
# collections count when installed, and "ansible.module_utils.x" is a Python module.)
KNOWN_NAMESPACES = {"community", "containers", "kubernetes", "amazon", "azure", "google", "cisco",
                    "netbox", "prometheus", "grafana", "devsec", "redhat"}

NAME = r"[a-z_][a-z0-9_]*"
FQCN = r"%s\.%s\.%s(?:\.%s)*" % (NAME, NAME, NAME, NAME)
FQCN_FULL = re.compile(r"^\s*(%s)\s*$" % FQCN)
# In Jinja and in templates: 'ns.coll.name' as a string (map('ns.coll.f'), lookup('ns.coll.l')),
# a filter (| ns.coll.f) or a test (is ns.coll.t).
IN_TEXT = [
    (re.compile(r"""(['"])(%s)\1""" % FQCN), 2, None),
    (re.compile(r"\|\s*(%s)\b" % FQCN), 1, "filter"),
    (re.compile(r"\bis\s+(?:not\s+)?(%s)\b" % FQCN), 1, "test"),
    (re.compile(r"\bgroup/(%s)\b" % FQCN), 1, "action_group"),
]

Use = collections.namedtuple("Use", "fqcn kind options where")


def galaxy():
    with open(ROOT / "galaxy.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def collection_paths():
    """Where ansible looks for collections, in its order: ANSIBLE_COLLECTIONS_PATH, then sys.path."""
    paths = [p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p]
    if os.environ.get("ANSIBLE_COLLECTIONS_SCAN_SYS_PATH", "true").lower() not in ("0", "false", "no"):
        paths += sys.path
    return paths


def installed_collection(name):
    """The folder of the installed collection NAME (ns.coll), or None."""
    namespace, coll = name.split(".")
    for base in collection_paths():
        path = pathlib.Path(base) / "ansible_collections" / namespace / coll
        if (path / "MANIFEST.json").is_file() or (path / "galaxy.yml").is_file():
            return path
    return None


def collection_of(fqcn):
    return ".".join(fqcn.split(".")[:2])


def counts(fqcn):
    coll = collection_of(fqcn)
    if coll in BUILTIN:
        return False
    return fqcn.split(".")[0] in KNOWN_NAMESPACES or installed_collection(coll) is not None


def source_files():
    for top in SCANNED:
        for dirpath, dirnames, filenames in os.walk(ROOT / top):
            dirnames[:] = [d for d in dirnames if d not in ("__pycache__", ".pytest_cache")]
            for filename in filenames:
                yield pathlib.Path(dirpath) / filename


def uses_in_text(text, where):
    for pattern, group, kind in IN_TEXT:
        for match in pattern.finditer(text):
            yield Use(match.group(group), kind, (), where)


def uses_in_yaml(data, where):
    if isinstance(data, dict):
        is_task = any(k in data for k in ("name", "when", "register", "loop", "notify")) or len(data) == 1
        for key, value in data.items():
            key = str(key)
            if FQCN_FULL.match(key):
                # a task's action (its options are the keys of its value), or module_defaults
                options = tuple(sorted(value)) if is_task and isinstance(value, dict) else ()
                yield Use(key.strip(), "module" if is_task else None, options, where)
            elif key.startswith("group/"):
                # module_defaults for an action group
                yield from uses_in_text(key, where)
            elif key in ("action", "local_action") and isinstance(value, str) and value.strip():
                yield Use(value.split()[0], "module", (), where)
            elif key == "collections" and isinstance(value, list):
                for coll in value:
                    yield Use(str(coll) + ".*", "collections keyword", (), where)
            yield from uses_in_yaml(value, where)
    elif isinstance(data, list):
        for item in data:
            yield from uses_in_yaml(item, where)
    elif isinstance(data, str):
        whole = FQCN_FULL.match(data)
        if whole:
            yield Use(whole.group(1), None, (), where)
        else:
            yield from uses_in_text(data, where)


DOC_NAMES = {"DOCUMENTATION", "EXAMPLES", "RETURN"}


def uses_in_python(text, where):
    tree = ast.parse(text)
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) in DOC_NAMES for t in node.targets):
            docs.add(id(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            whole = FQCN_FULL.match(node.value)
            if whole:
                yield Use(whole.group(1), "module", (), where)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "ansible_collections" and len(parts) >= 3:
                    yield Use(".".join(parts[1:3]) + ".*", "import", (), where)


def uses():
    """Every use of a plugin of another collection in the code a user gets."""
    found = []
    for path in source_files():
        where = str(path.relative_to(ROOT))
        if path.is_symlink() and not path.exists():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if path.suffix == ".py":
            found += uses_in_python(text, where)
        elif path.suffix in (".yml", ".yaml") and not where.startswith("plugins/"):
            # (plugins/**/*.yml are the filters' documentation, not code)
            found += uses_in_yaml(yaml.safe_load(text), where)
        elif path.suffix == ".j2":
            found += uses_in_text(text, where)
    return [u for u in found if u.fqcn.endswith(".*") and collection_of(u.fqcn) not in BUILTIN
            or not u.fqcn.endswith(".*") and counts(u.fqcn)]
