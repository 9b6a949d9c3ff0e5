# -*- coding: utf-8 -*-
"""The filters are thin adapters around plugins/module_utils (tested there): each passes its
arguments to the engine and turns the engine's refusal into an AnsibleFilterError naming the
filter. Which filters are the collection's API, and which belong to one role."""
import importlib
import pathlib

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.ovr.fleet.plugins.filter import (babel, cloud_stack_compose, diagnose, edge_stack, firewall, rollout,
                                                          update_lock, wifi)

EDGE = {"project": "ovr-edge", "images": dict.fromkeys(("vm", "vmagent", "mosquitto", "nginx", "telegraf"), "i:1"),
        "flavor": {"vm_data_dir": "/d", "vmagent_data_dir": "/a", "mosquitto_data_dir": "/m"},
        "vm_retention": "90d", "vm_port": 8428, "vmagent_port": 8429, "remote_write_max_disk": "1GB",
        "http_port": 80, "dirs": {"config_dir": "/etc/ovr", "telegraf_dir": "/t"}}
CLOUD = {"project": "ovr-cloud", "images": {"vm": "vm:1", "caddy": "caddy:2"}, "vm_retention": "1y",
         "https_port": 443, "caddy_user": "0:0", "tls_dir": "/etc/ovr/secrets/cloud-tls"}


FILTERS = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "filter"
# What a user calls: the inventory model, the env-file dialect, a rollout's batches.
PUBLIC = {"overlay_ip", "site_of", "site_peers", "nebula_node", "fleet_model", "fleet_errors", "fleet_warnings",
          "to_env_file", "rollout_plan"}


def registered(module):
    return module.FilterModule().filters()


def every_filter():
    found = {}
    for path in sorted(FILTERS.glob("*.py")):
        module = importlib.import_module("ansible_collections.ovr.fleet.plugins.filter." + path.stem)
        found.update(registered(module))
    return found


def test_only_what_a_user_calls_is_public_the_rest_is_named_and_documented_internal():
    names = set(every_filter())
    assert set(n for n in names if not n.startswith("_")) == PUBLIC
    docs = dict((path.stem, yaml.safe_load(path.read_text())["DOCUMENTATION"]) for path in FILTERS.glob("*.yml"))
    assert set(docs) == names  # one documentation file per filter, named after it
    for name, doc in docs.items():
        assert doc["name"] == name
        internal = doc["short_description"].startswith("Internal to role ovr.fleet.")
        assert internal == name.startswith("_"), name


@pytest.mark.parametrize("module, name, args, message", [
    (firewall, "_firewall_rules", ({"profile": "router"},), "firewall_profile must be edge or cloud, got 'router'"),
    (firewall, "_firewall_rules", ([],), "expects a dict, got list"),
    (firewall, "_firewall_nft", ([], "output"), "chain must be input or published, got 'output'"),
    (firewall, "_firewall_admits", ([], "tcp", 22, "eth0", "not-an-address"),
     "'not-an-address' does not appear to be an IPv4 or IPv6 address"),
    (firewall, "_firewall_checks", ("x",), "expects a dict, got str"),
    (firewall, "_firewall_env_toggles", ("not a line\n",), "line 1"),
    (edge_stack, "_edge_stack_peers", ([{"id": "Edge-A", "address": "192.0.2.1"}],),
     "peer id 'Edge-A' is not a safe URL token"),
    (edge_stack, "_edge_stack_nginx_patterns", ([],), "the list of VictoriaMetrics paths is empty"),
    (edge_stack, "_edge_stack_nginx_patterns", (["/a.b"],), "path pattern '/a.b' may only hold"),
    # A builder's own refusal says what was wrong; a missing or malformed key comes with its type.
    (edge_stack, "_edge_stack_compose", (dict(EDGE, ingest="fluentd"),), "ingest must be collector or telegraf"),
    (edge_stack, "_edge_stack_compose", (dict(EDGE, images={}),), "KeyError: 'vm'"),
    (edge_stack, "_edge_stack_compose", (dict(EDGE, project=""),), "ValueError: the Compose project has no name"),
    (cloud_stack_compose, "_cloud_stack_compose", (dict(CLOUD, project=""),),
     "ValueError: the Compose project has no name"),
    (cloud_stack_compose, "_cloud_stack_compose", (dict(CLOUD, https_port=0),), "ValueError: port 0 is out of range"),
    (cloud_stack_compose, "_cloud_stack_compose", (dict(CLOUD, https_port="x"),), "ValueError: invalid literal"),
    (cloud_stack_compose, "_cloud_stack_compose", (dict(CLOUD, images={"vm": "v"}),), "KeyError: 'caddy'"),
    (cloud_stack_compose, "_cloud_stack_compose", (dict(CLOUD, apps=[{"name": "Map", "image": "x"}]),),
     "ValueError: app name 'Map' must be"),
    (babel, "_babel_sysctls", ("10.98.9.2/32",), "babel_addresses must be a list, got '10.98.9.2/32'"),
    (babel, "_babel_sysctl_fixes", ([], ["net.ipv4.ip_forward"]), "wanted must be a dict of sysctls"),
    (babel, "_babel_forward_pairs", ([{"type": "wired"}],), "every babel interface needs a name"),
    (wifi, "_wifi_keyfile_ssid", ("",), ""),
])
def test_a_filter_names_itself_in_the_engines_refusal(module, name, args, message):
    with pytest.raises(AnsibleFilterError) as caught:
        registered(module)[name](*args)
    assert str(caught.value).startswith("ovr.fleet.%s: %s" % (name, message)), str(caught.value)


def test_filters_return_what_the_engine_returns():
    cfg = {"profile": "edge", "mgmt_interfaces": ["eth0"], "mgmt_ports": [22]}
    entries = registered(firewall)["_firewall_rules"](cfg)
    assert entries == firewall.firewall.rules(cfg)
    assert registered(firewall)["_firewall_nft"](entries) == firewall.firewall.nft(entries)
    assert registered(firewall)["_firewall_admits"](entries, "tcp", 22, "eth0", "192.0.2.1") == "management"
    assert registered(firewall)["_firewall_env_toggles"]("ALLOW_MDNS=1\n") == {"ALLOW_MDNS": "1"}
    assert registered(edge_stack)["_edge_stack_compose"](EDGE) == edge_stack.edge_stack.compose_project(EDGE)
    assert registered(cloud_stack_compose)["_cloud_stack_compose"](CLOUD) == \
        cloud_stack_compose.cloud_stack.compose_project(CLOUD)
    assert registered(babel)["_babel_forward_pairs"](["wlan1"]) == [["wlan1", "wlan1"]]
    assert registered(babel)["_babel_sysctl_fixes"](["net.ipv4.ip_forward = 0"], {"net.ipv4.ip_forward": "1"}) == {
        "net.ipv4.ip_forward": "1", "net.ipv4.conf.all.rp_filter": "2"}
    peers = [{"id": "edge-a", "address": "192.0.2.1"}]
    assert registered(edge_stack)["_edge_stack_peers"](peers, {}, 8080)[0]["upstream"] == "192.0.2.1:8080"


def test_filters_that_answer_with_messages_or_verdicts():
    assert registered(update_lock)["_update_lock_errors"]("6 hours", "") == [
        "update_lock_duration: '6 hours' is not a duration like 90m, 6h, 2d or 1h30m"]
    assert registered(diagnose)["_diagnose_cloud_link"]({"skipped": True}, "edge-a") is None
    link = registered(diagnose)["_diagnose_cloud_link"]({"status": -1, "msg": "Connection refused"}, "edge-a")
    assert link["status"] == "fail" and "Connection refused" in link["figure"]
    assert registered(rollout)["_rollout_plan_errors"](["a"], scope="region")[0].startswith("rollout_scope")
    with pytest.raises(AnsibleFilterError, match="^rollout_plan: rollout_scope"):
        registered(rollout)["rollout_plan"](["a"], scope="region")
    summary = registered(rollout)["_rollout_summary"](rollout.rollout.plan(["a"]), None)
    assert summary["message"] == "" and summary["counts"]["untouched"] == 1
