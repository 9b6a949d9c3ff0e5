# -*- coding: utf-8 -*-
"""The filters are thin adapters around plugins/module_utils (tested there): each passes its
arguments to the engine and turns the engine's refusal into an AnsibleFilterError naming the
filter."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ovr.fleet.plugins.filter import firewall


def registered(module):
    return module.FilterModule().filters()


@pytest.mark.parametrize("name, args, message", [
    ("firewall_rules", ({"profile": "router"},), "firewall_profile must be edge or cloud, got 'router'"),
    ("firewall_rules", ([],), "expects a dict, got list"),
    ("firewall_nft", ([], "output"), "chain must be input or published, got 'output'"),
    ("firewall_admits", ([], "tcp", 22, "eth0", "not-an-address"), "does not appear to be an IPv4 or IPv6 address"),
    ("firewall_checks", ("x",), "expects a dict, got str"),
    ("firewall_env_toggles", ("not a line\n",), "line 1"),
])
def test_firewall_filters_name_themselves_in_the_engines_refusal(name, args, message):
    with pytest.raises(AnsibleFilterError) as caught:
        registered(firewall)[name](*args)
    assert str(caught.value).startswith("ovr.fleet.%s: " % name)
    assert message in str(caught.value)


def test_firewall_filters_return_what_the_engine_returns():
    cfg = {"profile": "edge", "mgmt_interfaces": ["eth0"], "mgmt_ports": [22]}
    entries = registered(firewall)["firewall_rules"](cfg)
    assert entries == firewall.firewall.rules(cfg)
    assert registered(firewall)["firewall_nft"](entries) == firewall.firewall.nft(entries)
    assert registered(firewall)["firewall_admits"](entries, "tcp", 22, "eth0", "192.0.2.1") == "management"
    assert registered(firewall)["firewall_env_toggles"]("ALLOW_MDNS=1\n") == {"ALLOW_MDNS": "1"}
