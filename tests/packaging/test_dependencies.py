"""galaxy.yml's dependencies are exactly the collections the code a user gets uses, each from the
lowest release that has every plugin and option used (by the plugins' own version_added
documentation, read from the installed collections)."""
import collections
import json
import re
import subprocess

import pytest
import yaml

from ansible.galaxy.dependency_resolution.versioning import meets_requirements

from collection_tree import collection_of, galaxy, installed_collection, uses

# A floor above what version_added says, where a later release added or fixed behaviour the
# collection relies on: {collection: (version, reason)}.
BUGFIX_FLOORS = {
    # systemd_info exists since 10.4.0 but reports timer units (the GX refresh timer the edge
    # smoke checks name) only since 10.5.0.
    "community.general": ("10.5.0", "community.general.systemd_info with timer units (plugins/action/smoke_check.py)"),
    # x509_crl's option mode sets the CRL file's mode only since 2.13.0 (it was the CRL's
    # generate/update mode before, now crl_mode): the identity role sets the file's mode.
    "community.crypto": ("2.13.0", "community.crypto.x509_crl's mode as the file's mode (roles/identity/tasks/publish.yml)"),
}

# The plugin types to ask ansible-doc for, per kind of use, in order.
DOC_TYPES = {
    "module": ("module",),
    "filter": ("filter",),
    "test": ("test",),
    None: ("filter", "test", "module", "lookup", "connection", "become", "callback", "inventory"),
}

USES = uses()
DECLARED = galaxy()["dependencies"]


def version(text):
    """'3.8.0' -> (3, 8, 0); None for what is not a version ('historical', missing)."""
    match = re.match(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?", str(text or ""))
    return tuple(int(g or 0) for g in match.groups()) if match else None


def floor(spec):
    """The lowest version a galaxy.yml requirement ('>=3.8.0', '>=1.0.0,<5.0.0', '*') admits."""
    low = (0, 0, 0)
    for part in str(spec).split(","):
        match = re.match(r"^\s*(>=|==|>)?\s*(\d[\w.]*)\s*$", part)
        if match and match.group(1) in (">=", "==", ">"):
            low = max(low, version(match.group(2)))
    return low


_DOCS = {}


def documentation(fqcn, kind):
    """The documentation of plugin FQCN as ansible-doc gives it (doc fragments and redirects
    applied), from the collections installed here."""
    for plugin_type in DOC_TYPES.get(kind, DOC_TYPES[None]):
        if (plugin_type, fqcn) not in _DOCS:
            wanted = sorted({u.fqcn for u in USES if plugin_type in DOC_TYPES.get(u.kind, DOC_TYPES[None])})
            out = subprocess.run(["ansible-doc", "--json", "-t", plugin_type] + wanted, check=False,
                                 capture_output=True, text=True).stdout
            found = json.loads(out or "{}")
            for name in wanted:
                _DOCS[(plugin_type, name)] = (found.get(name) or {}).get("doc")
        if _DOCS[(plugin_type, fqcn)]:
            return _DOCS[(plugin_type, fqcn)]
    raise AssertionError("ansible-doc finds no documentation of %s (%s)" % (fqcn, kind))


def needed_versions(use):
    """[(version, what)] the use needs: the plugin's version_added and each option's."""
    doc = documentation(use.fqcn, use.kind)
    needs = [(version(doc.get("version_added")), use.fqcn)]
    options = doc.get("options") or {}
    aliases = {alias: name for name, spec in options.items() for alias in (spec or {}).get("aliases", [])}
    for option in use.options:
        spec = options.get(aliases.get(option, option))
        assert spec is not None, "%s (%s) has no option %s" % (use.fqcn, use.where, option)
        needs.append((version(spec.get("version_added")), "%s option %s" % (use.fqcn, option)))
    return [(v, what) for v, what in needs if v is not None]


def test_the_code_uses_other_collections():
    assert USES, "no use of another collection found: is the scanner broken?"


def test_every_collection_used_is_declared():
    missing = collections.defaultdict(set)
    for use in USES:
        if collection_of(use.fqcn) not in DECLARED:
            missing[collection_of(use.fqcn)].add("%s in %s" % (use.fqcn, use.where))
    assert dict(missing) == {}, "add these to galaxy.yml's dependencies"


def test_every_dependency_is_used():
    used = {collection_of(use.fqcn) for use in USES}
    assert set(DECLARED) - used == set(), "galaxy.yml declares collections nothing uses"


@pytest.mark.parametrize("coll", sorted(DECLARED))
def test_the_installed_dependency_meets_the_requirement(coll):
    """The tests run against a release that galaxy.yml admits."""
    path = installed_collection(coll)
    assert path is not None, "%s is not installed" % coll
    manifest = path / "MANIFEST.json"
    installed = yaml.safe_load(manifest.read_text(encoding="utf-8"))["collection_info"]["version"]
    assert meets_requirements(installed, DECLARED[coll]), \
        "%s %s does not meet %s" % (coll, installed, DECLARED[coll])


@pytest.mark.parametrize("coll", sorted(DECLARED))
def test_each_dependency_from_its_lowest_working_release(coll):
    needs = [(v, "%s (%s)" % (what, use.where)) for use in USES if collection_of(use.fqcn) == coll
             for v, what in needs_cached(use)]
    lowest, why = max(needs) if needs else ((0, 0, 0), "nothing")
    if coll in BUGFIX_FLOORS and version(BUGFIX_FLOORS[coll][0]) > lowest:
        lowest, why = version(BUGFIX_FLOORS[coll][0]), BUGFIX_FLOORS[coll][1]
    declared = floor(DECLARED[coll])
    assert declared >= lowest, "%s: %s needs %s, galaxy.yml admits %s" % (
        coll, why, ".".join(map(str, lowest)), DECLARED[coll])
    assert declared == lowest, "%s: galaxy.yml asks for %s; the newest feature used (%s) is in %s" % (
        coll, DECLARED[coll], why, ".".join(map(str, lowest)))


_NEEDS = {}


def needs_cached(use):
    if use not in _NEEDS:
        _NEEDS[use] = needed_versions(use)
    return _NEEDS[use]
