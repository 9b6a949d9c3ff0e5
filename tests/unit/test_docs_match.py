# -*- coding: utf-8 -*-
"""The docs name what the code has. README.md and docs/architecture.md name every role, playbook,
module, public filter and node program; architecture.md also every module_utils file, and its
data-flow picture shows the firewall, the mesh, the UI, the rollout and the update lock. A role,
playbook, module, filter or program added without its line in the docs fails here, and so does a
line for one that is gone.

Public filters are the ones documented by a plugins/filter/<name>.yml whose name does not start
with '_' (a filter used by one role only is private to it and named with a leading underscore)."""
import json
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
OPERATING = ROOT / "docs" / "operating.md"


def text(path):
    return path.read_text(encoding="utf-8")


def section(doc, heading):
    """The text under a markdown heading, up to the next heading of the same or a higher level."""
    match = re.search(r"^(#+) %s\s*$" % re.escape(heading), doc, re.M)
    assert match, "no heading %r" % heading
    level = len(match.group(1))
    rest = doc[match.end():]
    end = re.search(r"^#{1,%d} " % level, rest, re.M)
    return rest[:end.start()] if end else rest


def roles():
    return sorted(p.parent.parent.name for p in ROOT.glob("roles/*/meta/main.yml"))


def playbooks():
    return sorted(p.stem for p in ROOT.glob("playbooks/*.yml"))


def modules():
    return sorted(p.stem for p in ROOT.glob("plugins/modules/*.py") if p.stem != "__init__")


def module_utils():
    return sorted(p.name for p in ROOT.glob("plugins/module_utils/*.py") if p.stem != "__init__")


def public_filters():
    return sorted(p.stem for p in ROOT.glob("plugins/filter/*.yml") if not p.stem.startswith("_"))


def node_programs():
    """What the roles install on a node to run: the node runtime's launchers and the helpers the
    roles put in ovr_libexec_dir."""
    runtime = yaml.safe_load(text(ROOT / "roles" / "node_runtime" / "vars" / "main.yml"))
    found = {l["path"].rsplit("/", 1)[1] for l in runtime["__node_runtime_launchers"]}
    for path in ROOT.glob("roles/*/*/*.yml"):
        if path.parent.name in ("vars", "tasks", "defaults"):
            found.update(re.findall(r"\{\{ ovr_libexec_dir \}\}/([A-Za-z0-9_.-]+)", text(path)))
    retired = {p.rsplit("/", 1)[1] for p in runtime["__node_runtime_retired"]}  # what upgrades remove
    return sorted(found - retired)


def named(doc, name):
    """``name`` appears in backticks, alone, by FQCN or at the end of a path."""
    return re.search(r"`(?:[^`\s]*[/.])?%s`" % re.escape(name), doc) is not None


def test_the_sources_of_truth_are_found():
    assert len(roles()) >= 18 and "_common" in roles()
    assert "site" in playbooks() and "gx_discover" in modules() and "fleet_model.py" in module_utils()
    assert "overlay_ip" in public_filters() and {"ovr-collector", "ovr-check-env"} <= set(node_programs())


# ---- README

def readme_section():
    return section(text(README), "Roles, modules and filters")


def test_readme_roles_table_lists_every_role_and_no_other():
    listed = re.findall(r"^\| \[`ovr\.fleet\.(\w+)`\]\(roles/(\w+)/README\.md\)", readme_section(), re.M)
    assert [a for a, b in listed if a != b] == [], "a row links another role's README"
    assert sorted(a for a, _b in listed) == roles()


def test_readme_playbook_table_lists_every_playbook_and_no_other():
    listed = re.findall(r"^\| `ovr\.fleet\.(\w+)` \|", section(text(README), "Using the collection"), re.M)
    assert sorted(listed) == playbooks()


@pytest.mark.parametrize("kind,names", [("module", modules()), ("public filter", public_filters()),
                                        ("node program", node_programs())])
def test_readme_names_every(kind, names):
    missing = [n for n in names if not named(readme_section(), n)]
    assert missing == [], "README's 'Roles, modules and filters' does not name the %s(s) %s" % (kind, missing)


# ---- docs/architecture.md

def test_architecture_roles_table_lists_every_role_and_no_other():
    rows = re.findall(r"^\| `(\w+)`", section(text(ARCHITECTURE), "The roles and what each owns"), re.M)
    assert sorted(rows) == roles()


@pytest.mark.parametrize("kind,names", [("role", roles()), ("playbook", playbooks()), ("module", modules()),
                                        ("module_utils file", module_utils()), ("public filter", public_filters()),
                                        ("node program", node_programs())])
def test_architecture_names_every(kind, names):
    missing = [n for n in names if not named(text(ARCHITECTURE), n)]
    assert missing == [], "docs/architecture.md does not name the %s(s) %s" % (kind, missing)


@pytest.mark.parametrize("part", ["firewall", "nebula", "babel", "ui", "rollout", "update_lock"])
def test_architecture_data_flow_picture_shows(part):
    picture = re.search(r"```\n(.*?)```", section(text(ARCHITECTURE), "Data flow"), re.S)
    assert picture and re.search(r"\b%s\b" % part, picture.group(1)), \
        "the data-flow picture of docs/architecture.md lacks %s" % part


def test_architecture_where_things_live_names_each_top_level_part():
    table = section(text(ARCHITECTURE), "Where things live in the repository")
    for part in ("roles/", "plugins/modules/", "plugins/module_utils/", "plugins/filter/", "plugins/action/",
                 "plugins/callback/", "playbooks/", "awx/", "inventories/example/", "docs/", "meta/", "changelogs/"):
        assert "`%s" % part in table, part


# ---- the other pages, where they list what the code has

def test_operating_awx_section_names_every_job_template_and_project_playbook():
    awx = section(text(OPERATING), "From AWX")
    assets = json.loads(text(ROOT / "awx" / "assets.json"))
    templates = sorted(j["playbook"] for j in assets["job_templates"])
    project = sorted(p.name for p in (ROOT / "awx" / "project").glob("*.yml"))
    assert templates == project
    missing = [p for p in project if not named(awx, p) and not named(awx, p[:-4])]
    assert missing == [], "operating.md's AWX section does not name %s" % missing


def test_the_ansible_core_range_and_the_collections_are_stated_as_declared():
    runtime = yaml.safe_load(text(ROOT / "meta" / "runtime.yml"))["requires_ansible"]
    galaxy = yaml.safe_load(text(ROOT / "galaxy.yml"))
    words = {2: "two", 3: "three", 4: "four", 5: "five"}
    for path in (README, OPERATING, ROOT / "docs" / "awx.md"):
        doc = text(path)
        assert not re.search(r"ansible-core 2\.\d+ or later", doc), "%s: the range is %s" % (path.name, runtime)
        for count in re.findall(r"\bthe (two|three|four|five) collections\b", doc):
            assert count == words[len(galaxy["dependencies"])], "%s: the %s collections" % (path.name, count)
    assert runtime in text(README) and runtime in section(text(OPERATING), "From AWX")


def docs_and_readmes():
    return [README] + sorted(ROOT.glob("docs/*.md")) + sorted(ROOT.glob("roles/*/README.md"))


@pytest.mark.parametrize("path", docs_and_readmes(), ids=lambda p: str(p.relative_to(ROOT)))
def test_cited_molecule_scenarios_exist(path):
    cited = set(re.findall(r"`molecule/(\w+)`", text(path)))
    missing = sorted(s for s in cited if not (ROOT / "molecule" / s / "molecule.yml").is_file())
    assert missing == [], "%s cites Molecule scenarios that do not exist: %s" % (path.name, missing)


def test_node_runtime_readme_names_every_file_of_the_package():
    doc = text(ROOT / "roles" / "node_runtime" / "README.md")
    engine = yaml.safe_load(text(ROOT / "roles" / "node_runtime" / "vars" / "main.yml"))["__node_runtime_engine"]
    programs = [p.stem for p in (ROOT / "roles" / "node_runtime" / "files" / "ovr_node").glob("*.py")
                if p.stem != "__init__"]
    missing = [n for n in sorted(programs + engine) if not (named(doc, n) or named(doc, n + ".py"))]
    assert missing == []


def test_roles_claim_the_platforms_the_docs_support():
    """Debian 13 (trixie) only, as the README's requirements say."""
    for path in ROOT.glob("roles/*/meta/main.yml"):
        platforms = yaml.safe_load(text(path))["galaxy_info"]["platforms"]
        assert platforms == [{"name": "Debian", "versions": ["trixie"]}], path


def test_awx_doc_names_every_lab_edge_in_the_slices():
    fleet = yaml.safe_load(text(ROOT / "lab" / "fleet.yml"))
    edges = [n["name"] for n in fleet["lab_edges"]]
    assert edges, "no edge in lab/fleet.yml"
    slicing = section(text(ROOT / "docs" / "awx.md"), "Slicing")
    assert [e for e in edges if e not in slicing] == []
