"""Every role's meta/argument_specs.yml is complete and agrees with its defaults (the
prometheus.prometheus convention): each default is documented with the same value, and every
documented option is either a default, a derived value, or an inventory variable."""
import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent for p in ROOT.glob("roles/*/meta/main.yml"))


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
    """A role-prefixed option documented but absent from defaults is a stale spec."""
    defaults = load(role / "defaults" / "main.yml") if (role / "defaults" / "main.yml").exists() else {}
    options = load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    prefix = role.name + "_"
    stale = [o for o in options if o.startswith(prefix) and o not in defaults]
    assert not stale, "%s: documented but not in defaults: %s" % (role.name, stale)
