"""Every role's meta/argument_specs.yml is complete and agrees with its defaults (the
prometheus.prometheus convention): each default is documented with the same value, and every
documented option is either a default, a derived value, or an inventory variable.

Defaults live once: no variable is a default of two roles, a setting other roles read too is
defined in ovr.fleet._common (every role depends on it) and documented there and in its own role
with the same type and value, and no role falls back (``| default(...)``) on a variable some
role's defaults define: it is always defined, and a fallback would retype its default."""
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent for p in ROOT.glob("roles/*/meta/main.yml"))
COMMON = ROOT / "roles" / "_common"


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def test_there_are_roles():
    assert ROLES, "no role found under roles/"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_argument_specs_exist_with_main(role):
    specs = role / "meta" / "argument_specs.yml"
    assert specs.is_file(), "%s has no meta/argument_specs.yml" % role.name
    main = load(specs)["argument_specs"]["main"]
    assert main.get("short_description") and main.get("options")


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_every_default_is_documented_with_its_value(role):
    defaults = load(role / "defaults" / "main.yml") if (role / "defaults" / "main.yml").exists() else {}
    options = load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    for name, value in defaults.items():
        assert name in options, "%s: default %s is not in argument_specs" % (role.name, name)
        assert options[name].get("description"), "%s: %s has no description" % (role.name, name)
        templated = isinstance(value, str) and "{{" in value
        if templated:
            assert "default" not in options[name], "%s: %s is derived; document, don't duplicate" % (role.name, name)
        else:
            assert options[name].get("default") == value, "%s: %s default differs from defaults/main.yml" % (role.name, name)


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_prefixed_options_are_defaults(role):
    """A role-prefixed option documented but absent from defaults (its own or _common's) is a stale spec."""
    defaults = dict(load(COMMON / "defaults" / "main.yml"))
    if (role / "defaults" / "main.yml").exists():
        defaults.update(load(role / "defaults" / "main.yml"))
    options = load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    prefix = role.name + "_"
    stale = [o for o in options if o.startswith(prefix) and o not in defaults]
    assert not stale, "%s: documented but not in defaults: %s" % (role.name, stale)


def defaults_by_role():
    return {role.name: load(role / "defaults" / "main.yml") for role in ROLES if (role / "defaults" / "main.yml").exists()}


def test_no_default_is_defined_in_two_roles():
    """A variable has one default: in its own role's defaults/main.yml, or in _common's when other
    roles read it too. Two definitions drift apart, and which one wins depends on the play."""
    owners = {}
    for role, defaults in defaults_by_role().items():
        for name in defaults:
            owners.setdefault(name, []).append(role)
    twice = {name: roles for name, roles in owners.items() if len(roles) > 1}
    assert not twice, "defined in the defaults of more than one role (keep one, in _common if shared): %s" % twice


@pytest.mark.parametrize("name", sorted(load(COMMON / "defaults" / "main.yml")))
def test_a_shared_setting_is_documented_alike_in_its_own_role(name):
    """_common defines a setting of edge_stack, nebula... once; the role it belongs to documents it
    with the same default as _common's argument_specs."""
    common = load(COMMON / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"][name]
    value = load(COMMON / "defaults" / "main.yml")[name]
    if name.startswith("ovr_"):
        return  # fleet-wide: _common's own
    owner = next((r for r in ROLES if name.startswith(r.name + "_") and r != COMMON), None)
    assert owner is not None, "%s: no role of that name owns it" % name
    spec = load(owner / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert name in spec, "%s: %s does not document it" % (owner.name, name)
    assert spec[name].get("default") == value == common.get("default"), name
    # _common takes any value: the role it belongs to checks it (its spec, its validate.yml), with
    # its own messages, which a stricter type here would pre-empt in every role.
    assert common["type"] == "raw", name


ROLE_FILES = ("tasks", "templates", "defaults", "vars", "handlers")
FALLBACK = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\)?\s*\|\s*default\(")


def fallbacks_on_role_defaults(root):
    """(file:line, variable) of every ``<variable> | default(...)`` in the roles' tasks, templates,
    defaults, vars and handlers where some role's defaults/main.yml define the variable."""
    defined = {}
    for path in sorted(root.glob("roles/*/defaults/main.yml")):
        for name in load(path):
            defined[name] = path.parent.parent.name
    found = []
    for path in sorted(root.glob("roles/*/*/**/*")):
        rel = path.relative_to(root)
        if not path.is_file() or rel.parts[2] not in ROLE_FILES:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            for match in FALLBACK.finditer(line):
                if match.group(1) in defined:
                    found.append(("%s:%d" % (rel, number), match.group(1)))
    return found


def test_no_role_falls_back_on_a_defined_default():
    found = fallbacks_on_role_defaults(ROOT)
    assert not found, ("these fall back on a variable some role's defaults define (always defined: "
                       "drop the fallback; another role's: define it in _common): %s" % found)
