"""The built tarball holds what a user of the collection needs and none of the dev tooling.

A user (Galaxy, AWX, ansible-galaxy on a laptop) gets the roles, plugins, playbooks, meta, docs,
the example inventory, the changelog, README and LICENSE. The lab, benchmarks, tests, Molecule,
the fleet script and the linters' and CI's configuration are how the collection is developed and
stay out (galaxy.yml's build_ignore).
"""
import json
import os
import subprocess
import tarfile
import urllib.parse

import pytest

from collection_tree import ROOT, galaxy

# Top-level entries of the tarball: the user's part of the tree, and the two files
# ansible-galaxy writes.
USER_ENTRIES = {"roles", "plugins", "playbooks", "meta", "docs", "inventories", "changelogs", "awx",
                "README.md", "LICENSE", "CHANGELOG.md", "MANIFEST.json", "FILES.json"}
# Paths (relative to the root) a user gets in full.
USER_PATHS = ("roles/", "plugins/", "playbooks/", "meta/", "docs/", "inventories/example/", "awx/",
              "changelogs/", "README.md", "LICENSE", "CHANGELOG.md")
# Dev tooling, by top-level entry.
DEV_ENTRIES = {"lab", "bench", "tests", "molecule", "fleet", ".ci", ".config", "pytest.ini",
               "requirements.txt", ".yamllint", ".ansible-lint", ".ansible-lint-ignore", ".gitignore",
               "ansible.cfg", ".venv", ".collections", ".cache", ".git", "build"}
# Caches and build output, anywhere.
CACHE_PARTS = {"__pycache__", ".pytest_cache", ".molecule", ".plugin-cache.yaml"}


def members(path):
    with tarfile.open(path) as tar:
        return {m.name.rstrip("/"): m for m in tar.getmembers() if m.name not in (".", "")}


def dev_reason(name):
    """Why NAME (a path in the tarball) is dev tooling, or None."""
    parts = name.split("/")
    if parts[0] in DEV_ENTRIES:
        return "dev tooling (%s)" % parts[0]
    if parts[0].startswith("requirements") and parts[0].endswith(".txt"):
        return "Python requirements of the dev environment"
    if parts[0] == "inventories" and len(parts) > 1 and parts[1] != "example":
        return "an inventory other than inventories/example"
    if CACHE_PARTS.intersection(parts) or name.endswith((".pyc", ".tar.gz")):
        return "a cache or build output"
    return None


def user_files():
    """The files (and symlinks) of the user's part of the source tree, as git sees them."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    return sorted(p for p in listed
                  if p and p.startswith(USER_PATHS) and os.path.lexists(ROOT / p) and not dev_reason(p))


def symlinks():
    """Every symlink in the user's part of the tree."""
    return [p for p in user_files() if os.path.islink(ROOT / p)]


def roles_reach_out_of_their_folder():
    """True while a role reads files/ at the collection root (role_path | dirname | dirname)."""
    return any("role_path | dirname | dirname" in p.read_text(encoding="utf-8")
               for p in ROOT.glob("roles/*/*/*.yml"))


def test_only_the_users_part_at_the_top(tarball):
    allowed = set(USER_ENTRIES)
    if roles_reach_out_of_their_folder():
        allowed.add("files")  # read by roles through role_path | dirname | dirname
    top = {name.split("/")[0] for name in members(tarball)}
    assert top - allowed == set(), "unexpected top-level entries in %s" % tarball.name


def test_no_dev_tooling(tarball):
    found = {name: dev_reason(name) for name in members(tarball) if dev_reason(name)}
    assert found == {}


@pytest.mark.parametrize("must", ["README.md", "LICENSE", "meta/runtime.yml", "changelogs/changelog.yaml",
                                  "changelogs/config.yaml", "changelogs/fragments", "playbooks/site.yml",
                                  "playbooks/preflight.yml", "inventories/example"])
def test_holds_what_a_user_starts_with(tarball, must):
    assert must in members(tarball)


def test_holds_every_file_of_the_users_part(tarball):
    names = members(tarball)
    missing = [p for p in user_files() if p not in names]
    assert missing == []


def test_holds_every_role(tarball):
    names = members(tarball)
    roles = sorted(p.parent.parent.name for p in ROOT.glob("roles/*/meta/main.yml"))
    assert roles
    assert [r for r in roles if "roles/%s/meta/main.yml" % r not in names] == []


def test_license_is_the_gpl3_text(tarball):
    with tarfile.open(tarball) as tar:
        text = tar.extractfile("LICENSE").read().decode()
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 3, 29 June 2007" in text
    assert galaxy()["license"] == ["GPL-3.0-or-later"]


def test_manifest_declares_the_dependencies_and_no_placeholder_urls(tarball):
    with tarfile.open(tarball) as tar:
        info = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
    assert info["dependencies"] == galaxy()["dependencies"]
    assert info["dependencies"], "galaxy.yml declares no dependency"
    for key in ("repository", "documentation", "issues", "homepage"):
        url = info.get(key)
        if url:
            host = urllib.parse.urlparse(url).hostname or ""
            assert not (host.endswith((".invalid", ".example", ".test", "localhost"))
                        or host.startswith("example.") or ".example." in host), "%s: placeholder %s" % (key, url)


def test_no_symlink_in_the_tree_or_the_tarball(tarball):
    """Each file has one source: the node runtime's engine and the Wi-Fi validator are read by their
    roles from plugins/module_utils, not linked (a link survives ansible-galaxy's build and install,
    but it makes a second path to one file, and a tarball's links are easily lost on the way)."""
    assert symlinks() == []
    assert [n for n, m in members(tarball).items() if m.issym() or m.islnk()] == []


def test_installed_collection_has_every_role_and_plugin(installed):
    for part in ("roles", "plugins", "playbooks"):
        want = sorted(str(p.relative_to(ROOT)) for p in (ROOT / part).rglob("*")
                      if p.is_file() and not dev_reason(str(p.relative_to(ROOT))))
        have = sorted(str(p.relative_to(installed)) for p in (installed / part).rglob("*")
                      if p.is_file() and not dev_reason(str(p.relative_to(installed))))
        assert want == have
