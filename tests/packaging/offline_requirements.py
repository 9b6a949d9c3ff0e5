"""Print an ansible-galaxy requirements file that installs the built tarball (argv[1]) with the
dependencies galaxy.yml declares, and theirs, taken from the collections installed in this Python
(the ansible package bundles them): ansible-galaxy then resolves galaxy.yml's version ranges
against those releases, offline (no Galaxy server is reachable from here)."""
import json
import pathlib
import sys

from collection_tree import galaxy, installed_collection


def closure(names):
    seen, todo = {}, list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = installed_collection(name)
        if path is None:
            sys.exit("%s is not installed here: cannot offer it to ansible-galaxy" % name)
        seen[name] = path
        info = json.loads((path / "MANIFEST.json").read_text(encoding="utf-8"))["collection_info"]
        todo += list(info.get("dependencies") or {})
    return seen


def main():
    entries = [{"name": str(pathlib.Path(sys.argv[1]).resolve()), "type": "file"}]
    for name, path in sorted(closure(galaxy()["dependencies"]).items()):
        entries.append({"name": str(path), "type": "dir"})
    json.dump({"collections": entries}, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
