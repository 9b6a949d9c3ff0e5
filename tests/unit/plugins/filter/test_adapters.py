# -*- coding: utf-8 -*-
"""The filters are thin adapters around plugins/module_utils (tested there): each passes its
arguments to the engine and turns the engine's refusal into an AnsibleFilterError naming the
filter."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ovr.fleet.plugins.filter import (babel, cloud_stack_compose, diagnose, edge_stack, firewall, rollout,
                                                          update_lock, wifi)

EDGE = {"project": "ovr-edge", "images": dict.fromkeys(("vm", "vmagent", "mosquitto", "nginx", "telegraf"), "i:1"),
        "flavor": {"vm_data_dir": "/d", "vmagent_data_dir": "/a", "mosquitto_data_dir": "/m"},
        "vm_retention": "90d", "vm_port": 8428, "vmagent_port": 8429, "remote_write_max_disk": "1GB",
        "http_port": 80, "dirs": {"config_dir": "/etc/ovr", "telegraf_dir": "/t"}}
CLOUD = {"project": "ovr-cloud", "images": {"vm": "vm:1", "caddy": "caddy:2"}, "vm_retention": "1y",
         "https_port": 443, "caddy_user": "0:0", "tls_dir": "/etc/ovr/secrets/cloud-tls"}


def registered(module):
    return module.FilterModule().filters()


@pytest.mark.parametrize("module, name, args, message", [
    (firewall, "firewall_rules", ({"profile": "router"},), "firewall_profile must be edge or cloud, got 'router'"),
    (firewall, "firewall_rules", ([],), "expects a dict, got list"),
    (firewall, "firewall_nft", ([], "output"), "chain must be input or published, got 'output'"),
    (firewall, "firewall_admits", ([], "tcp", 22, "eth0", "not-an-address"),
     "'not-an-address' does not appear to be an IPv4 or IPv6 address"),
    (firewall, "firewall_checks", ("x",), "expects a dict, got str"),
    (firewall, "firewall_env_toggles", ("not a line\n",), "line 1"),
    (edge_stack, "edge_stack_peers", ([{"id": "Edge-A", "address": "192.0.2.1"}],),
     "peer id 'Edge-A' is not a safe URL token"),
    (edge_stack, "edge_stack_vm_path_regex", ([],), "the list of VictoriaMetrics paths is empty"),
    (edge_stack, "edge_stack_nginx_patterns", (["/a.b"],), "path pattern '/a.b' may only hold"),
    # A builder's own refusal says what was wrong; a missing or malformed key comes with its type.
    (edge_stack, "edge_stack_compose", (dict(EDGE, ingest="fluentd"),), "ingest must be collector or telegraf"),
    (edge_stack, "edge_stack_compose", (dict(EDGE, images={}),), "KeyError: 'vm'"),
    (edge_stack, "edge_stack_compose", (dict(EDGE, project=""),), "ValueError: the Compose project has no name"),
    (cloud_stack_compose, "cloud_stack_compose", (dict(CLOUD, project=""),),
     "ValueError: the Compose project has no name"),
    (cloud_stack_compose, "cloud_stack_compose", (dict(CLOUD, https_port=0),), "ValueError: port 0 is out of range"),
    (cloud_stack_compose, "cloud_stack_compose", (dict(CLOUD, https_port="x"),), "ValueError: invalid literal"),
    (cloud_stack_compose, "cloud_stack_compose", (dict(CLOUD, images={"vm": "v"}),), "KeyError: 'caddy'"),
    (cloud_stack_compose, "cloud_stack_compose", (dict(CLOUD, apps=[{"name": "Map", "image": "x"}]),),
     "ValueError: app name 'Map' must be"),
    (babel, "babel_sysctls", ("10.98.9.2/32",), "babel_addresses must be a list, got '10.98.9.2/32'"),
    (babel, "babel_sysctl_fixes", ([], ["net.ipv4.ip_forward"]), "wanted must be a dict of sysctls"),
    (babel, "babel_forward_pairs", ([{"type": "wired"}],), "every babel interface needs a name"),
    (wifi, "wifi_keyfile_ssid", ("",), ""),
])
def test_a_filter_names_itself_in_the_engines_refusal(module, name, args, message):
    with pytest.raises(AnsibleFilterError) as caught:
        registered(module)[name](*args)
    assert str(caught.value).startswith("ovr.fleet.%s: %s" % (name, message)), str(caught.value)


def test_filters_return_what_the_engine_returns():
    cfg = {"profile": "edge", "mgmt_interfaces": ["eth0"], "mgmt_ports": [22]}
    entries = registered(firewall)["firewall_rules"](cfg)
    assert entries == firewall.firewall.rules(cfg)
    assert registered(firewall)["firewall_nft"](entries) == firewall.firewall.nft(entries)
    assert registered(firewall)["firewall_admits"](entries, "tcp", 22, "eth0", "192.0.2.1") == "management"
    assert registered(firewall)["firewall_env_toggles"]("ALLOW_MDNS=1\n") == {"ALLOW_MDNS": "1"}
    assert registered(edge_stack)["edge_stack_compose"](EDGE) == edge_stack.edge_stack.compose_project(EDGE)
    assert registered(cloud_stack_compose)["cloud_stack_compose"](CLOUD) == \
        cloud_stack_compose.cloud_stack.compose_project(CLOUD)
    assert registered(babel)["babel_forward_pairs"](["wlan1"]) == [["wlan1", "wlan1"]]
    assert registered(babel)["babel_sysctl_fixes"](["net.ipv4.ip_forward = 0"], {"net.ipv4.ip_forward": "1"}) == {
        "net.ipv4.ip_forward": "1", "net.ipv4.conf.all.rp_filter": "2"}
    peers = [{"id": "edge-a", "address": "192.0.2.1"}]
    assert registered(edge_stack)["edge_stack_peers"](peers, {}, 8080)[0]["upstream"] == "192.0.2.1:8080"


def test_filters_that_answer_with_messages_or_verdicts():
    assert registered(update_lock)["update_lock_errors"]("6 hours", "") == [
        "update_lock_duration: '6 hours' is not a duration like 90m, 6h, 2d or 1h30m"]
    assert registered(diagnose)["diagnose_cloud_link"]({"skipped": True}, "edge-a") is None
    link = registered(diagnose)["diagnose_cloud_link"]({"status": -1, "msg": "Connection refused"}, "edge-a")
    assert link["status"] == "fail" and "Connection refused" in link["figure"]
    assert registered(rollout)["rollout_plan_errors"](["a"], scope="region")[0].startswith("rollout_scope")
    with pytest.raises(AnsibleFilterError, match="^rollout_plan: rollout_scope"):
        registered(rollout)["rollout_plan"](["a"], scope="region")
    summary = registered(rollout)["rollout_summary"](rollout.rollout.plan(["a"]), None)
    assert summary["message"] == "" and summary["counts"]["untouched"] == 1
