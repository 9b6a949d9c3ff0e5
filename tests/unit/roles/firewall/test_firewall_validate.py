# -*- coding: utf-8 -*-
"""The firewall role's checks (roles/firewall/tasks/validate.yml), run by ansible-playbook on
local hosts: one message per broken rule, each naming the host, the variable and what it got."""
import pytest

GOOD = {"firewall_mgmt_interfaces": ["eth0"], "firewall_wifi_interfaces": ["wlan0"]}
HOSTS = {
    "fw-good": dict(GOOD),
    "fw-good-toggle": dict(GOOD, layout_edge_env={"ALLOW_WIFI_MGMT": "1", "ALLOW_MDNS": "0"}),
    "fw-cloud": {"firewall_mgmt_interfaces": ["ens3"], "cloud_stack_https_port": 8443},
    "fw-bad": {
        "firewall_profile": "router",
        "firewall_mgmt_interfaces": [],
        "firewall_wifi_interfaces": ["wlan0", "way-too-long-interface"],
        "firewall_ssh_port": 0,
        "edge_stack_http_port": "http",
        "firewall_site_networks": ["10.0.0.0/8", "lan"],
        "layout_edge_env": {"ALLOW_MDNS": "yes"},
        "firewall_extra_rules": ["tcp dport 1 accept\ntcp dport 2 accept"],
        "firewall_allowed": [{"port": 22, "proto": "sctp"}],
    },
    "fw-clash": dict(GOOD, firewall_wifi_interfaces=["eth0"], firewall_allow_wifi_mgmt=True),
}

VALIDATE_RUNS = {"main": {"role": "firewall", "hosts": HOSTS}}


@pytest.fixture(scope="module")
def checked(validated):
    return validated("main")


@pytest.mark.parametrize("host", ["fw-good", "fw-good-toggle", "fw-cloud"])
def test_good_settings_pass(checked, host):
    assert checked[host] == []


@pytest.mark.parametrize("message", [
    "firewall_profile must be edge or cloud, got 'router'",
    "firewall_mgmt_interfaces must name at least one interface (SSH is open only there), got []",
    "firewall_wifi_interfaces must be interface names (at most 15 letters, digits, _ . : @ -; a trailing * "
    "matches a prefix), got ['way-too-long-interface']",
    "firewall_ssh_port must be a port 1-65535, got 0",
    "firewall_http_port must be a port 1-65535, got 'http'",
    "firewall_site_networks must be a list of IPv4/IPv6 addresses or CIDRs, got ['10.0.0.0/8', 'lan']",
    "layout_edge_env toggles must be \"1\" (on) or \"0\" (off), got ALLOW_MDNS='yes'",
    "firewall_extra_rules must be a list of one-line nft rules, got ['tcp dport 1 accept\\ntcp dport 2 accept']",
    "firewall_allowed item 1 proto must be tcp or udp, got 'sctp'",
])
def test_each_bad_setting_gets_its_own_message(checked, message):
    assert "fw-bad: %s. Nothing was changed." % message in checked["fw-bad"]


def test_one_message_per_broken_rule(checked):
    # The nine above, and firewall_mgmt_ports (it holds the bad ports of ssh and http).
    assert len(checked["fw-bad"]) == 10, checked["fw-bad"]


def test_an_interface_cannot_be_management_and_wifi_and_a_toggle_must_come_from_layout_edge_env(checked):
    assert checked["fw-clash"] == [
        "fw-clash: firewall_wifi_interfaces and firewall_mgmt_interfaces both hold ['eth0']: an interface is one "
        "or the other (ALLOW_WIFI_MGMT would mean nothing). Nothing was changed.",
        "fw-clash: firewall_allow_wifi_mgmt (true) disagree(s) with layout_edge_env, which /etc/ovr/edge.env is "
        "written from: set each toggle once, as layout_edge_env.ALLOW_WIFI_MGMT / ALLOW_MDNS. Nothing was changed.",
    ]
