"""Every playbook, module and role of the collection resolves by its FQCN from the collections
ansible sees (ANSIBLE_COLLECTIONS_PATH...): each playbook passes --syntax-check (which also
resolves the modules of statically imported tasks), each module and role has its documentation.
One ansible-playbook and two ansible-doc runs. Run from the collection root (the names are read
from the tree): python tests/packaging/resolve_by_fqcn.py INVENTORY"""
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def names(folder, pattern):
    return sorted("ovr.fleet." + p.stem for p in (ROOT / folder).glob(pattern))


def roles():
    return sorted("ovr.fleet." + p.parent.parent.name for p in ROOT.glob("roles/*/meta/main.yml"))


def documented(plugin_type, wanted):
    out = subprocess.run(["ansible-doc", "--json", "-t", plugin_type] + wanted, check=True,
                         capture_output=True, text=True).stdout
    missing = sorted(set(wanted) - set(json.loads(out or "{}")))
    for name in missing:
        print("%s %s does not resolve" % (plugin_type, name), file=sys.stderr)
    return not missing


def main():
    playbooks = names("playbooks", "*.yml")
    checked = subprocess.run(["ansible-playbook", "--syntax-check", "-i", sys.argv[1]] + playbooks,
                             stdout=subprocess.DEVNULL, check=False).returncode == 0
    modules = names("plugins/modules", "*.py")
    ok = [checked, documented("module", modules), documented("role", roles())]
    if not all(ok):
        return 1
    print("%d playbooks, %d modules and %d roles resolve by FQCN" % (len(playbooks), len(modules), len(roles())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
