# -*- coding: utf-8 -*-
"""Unit tests of the firewall's model (plugins/module_utils/firewall.py): what the rules let in,
the nft lines rendered from it, the lock-out guard's decision and the edge.env toggles."""
import pytest

from ansible_collections.ovr.fleet.plugins.module_utils import firewall as fw

EDGE = {"profile": "edge", "mgmt_interfaces": ["eth0"], "wifi_interfaces": ["wlan0"], "mgmt_ports": [22, 80],
        "http_port": 80, "https_port": 443, "site_interfaces": ["eth0"], "site_networks": [],
        "allow_wifi_mgmt": False, "allow_mdns": False,
        "nebula": {"enabled": False, "port": 4242, "interfaces": []},
        "babel": {"enabled": False, "port": 6696, "interfaces": ["eth0"]}, "allowed": []}


def cfg(**over):
    out = dict(EDGE)
    out.update(over)
    return out


def admits(conf, proto, port, iface, src, trusted=("docker0", "br-*")):
    return fw.admits(fw.rules(conf), proto, port, iface, src, list(trusted))


def test_edge_default_opens_ssh_and_nginx_on_the_management_interface_only():
    assert admits(cfg(), "tcp", 22, "eth0", "192.0.2.7") == "management"
    assert admits(cfg(), "tcp", 80, "eth0", "192.0.2.7")
    for port in (23, 443, 8081, 9100):
        assert admits(cfg(), "tcp", port, "eth0", "192.0.2.7") == ""
    assert admits(cfg(), "tcp", 22, "wlan0", "192.0.2.7") == ""
    assert admits(cfg(), "tcp", 80, "wlan0", "192.0.2.7") == ""
    for port in (5353, 4242, 6696):
        assert admits(cfg(), "udp", port, "eth0", "192.0.2.7") == ""


def test_wifi_toggle_opens_the_management_ports_on_wifi_and_nothing_else():
    on = cfg(allow_wifi_mgmt=True)
    assert admits(on, "tcp", 22, "wlan0", "192.0.2.7") == "management on Wi-Fi (ALLOW_WIFI_MGMT)"
    assert admits(on, "tcp", 80, "wlan0", "192.0.2.7")
    assert admits(on, "udp", 5353, "wlan0", "192.0.2.7") == ""
    assert admits(on, "tcp", 8081, "wlan0", "192.0.2.7") == ""
    # No Wi-Fi interface: the toggle opens nothing (never "every interface").
    assert [e for e in fw.rules(cfg(allow_wifi_mgmt=True, wifi_interfaces=[])) if "Wi-Fi" in e["name"]] == []


def test_mdns_toggle_opens_udp_5353_on_the_management_interfaces_only():
    on = cfg(allow_mdns=True)
    assert admits(on, "udp", 5353, "eth0", "192.0.2.7") == "mDNS (ALLOW_MDNS)"
    assert admits(on, "udp", 5353, "wlan0", "192.0.2.7") == ""
    assert admits(on, "tcp", 5353, "eth0", "192.0.2.7") == ""


def test_site_networks_open_nginx_from_those_sources_on_any_interface():
    conf = cfg(site_networks=["10.231.9.0/24", "2001:db8::/64"])
    assert admits(conf, "tcp", 80, "nebula1", "10.231.9.2")
    assert admits(conf, "tcp", 80, "nebula1", "2001:db8::5")
    assert admits(conf, "tcp", 80, "nebula1", "10.231.8.2") == ""
    assert admits(conf, "tcp", 22, "nebula1", "10.231.9.2") == ""


def test_cloud_profile_opens_ssh_and_the_tls_front():
    cloud = cfg(profile="cloud", mgmt_ports=[22], https_port=8443)
    assert admits(cloud, "tcp", 8443, "ens3", "198.51.100.1") == "cloud TLS front"
    assert admits(cloud, "tcp", 22, "eth0", "198.51.100.1") == "management"
    assert admits(cloud, "tcp", 80, "eth0", "198.51.100.1") == ""


def test_mesh_hooks_are_closed_until_enabled():
    conf = cfg(nebula={"enabled": True, "port": 4242, "interfaces": []},
               babel={"enabled": True, "port": 6696, "interfaces": ["eth0"]})
    assert admits(cfg(), "udp", 4242, "eth0", "192.0.2.7") == ""
    assert admits(conf, "udp", 4242, "wlan0", "192.0.2.7") == "Nebula"
    assert admits(conf, "udp", 6696, "eth0", "fe80::1") == "Babel"
    assert admits(conf, "udp", 6696, "wlan0", "fe80::1") == ""


def test_allowed_items_with_interfaces_sources_and_wildcards():
    conf = cfg(allowed=[{"port": 1883, "proto": "tcp", "interfaces": ["enx*"], "sources": ["192.168.1.0/24"],
                         "comment": "GX bridge"}, {"ports": [161, 162], "proto": "udp"}])
    assert admits(conf, "tcp", 1883, "enx001122", "192.168.1.9") == "GX bridge"
    assert admits(conf, "tcp", 1883, "eth0", "192.168.1.9") == ""
    assert admits(conf, "tcp", 1883, "enx001122", "192.168.2.9") == ""
    assert admits(conf, "udp", 162, "anything", "203.0.113.1") == "firewall_allowed 2"


def test_loopback_and_container_interfaces_are_trusted():
    assert admits(cfg(), "tcp", 2222, "lo", "127.0.0.1") == "loopback"
    assert admits(cfg(), "tcp", 2222, "br-0f1e2d", "172.18.0.2") == "trusted interface"
    assert admits(cfg(), "tcp", 2222, "docker0", "172.17.0.2") == "trusted interface"


def test_guard_refuses_when_ssh_arrives_on_an_interface_that_is_not_management():
    # Ansible over the LAN (eth0) while the new rules keep SSH on eth1 only.
    assert admits(cfg(mgmt_interfaces=["eth1"], wifi_interfaces=[], site_interfaces=["eth1"]),
                  "tcp", 22, "eth0", "172.30.0.1") == ""
    # ... or on another SSH port than the one that stays open.
    assert admits(cfg(mgmt_ports=[2222, 80]), "tcp", 22, "eth0", "172.30.0.1") == ""


def test_nft_lines_for_input_and_published_ports():
    conf = cfg(allow_mdns=True, site_networks=["10.231.9.0/24", "2001:db8::/64"])
    entries = fw.rules(conf)
    assert fw.nft(entries, "input") == [
        'iifname "eth0" tcp dport { 22, 80 } accept comment "management"',
        'iifname "eth0" udp dport 5353 accept comment "mDNS (ALLOW_MDNS)"',
        'iifname "eth0" tcp dport 80 accept comment "edge nginx (site interfaces)"',
        'ip saddr 10.231.9.0/24 tcp dport 80 accept comment "edge nginx (site networks)"',
        'ip6 saddr 2001:db8::/64 tcp dport 80 accept comment "edge nginx (site networks)"',
    ]
    assert fw.nft(entries, "published")[0] == (
        'iifname "eth0" meta l4proto tcp ct original proto-dst { 22, 80 } accept comment "management"')


@pytest.mark.parametrize("bad, message", [
    ({"profile": "router"}, "firewall_profile must be edge or cloud"),
    ({"mgmt_interfaces": ["eth0; drop"]}, "firewall_mgmt_interfaces must be interface names"),
    ({"http_port": 70000}, "firewall_http_port must be a port 1-65535"),
    ({"allowed": [{"port": 22, "proto": "icmp"}]}, "firewall_allowed item 1 proto must be tcp or udp"),
    ({"allowed": [{"port": 22, "to": "x"}]}, "firewall_allowed item 1 has unknown keys ['to']"),
    ({"allowed": [{"port": 22, "sources": ["10.0.0.0/33"]}]}, "must be addresses or CIDRs"),
    ({"allowed": [{"port": 22, "comment": 'a"b'}]}, "comment must be"),
])
def test_bad_model_input_is_refused(bad, message):
    with pytest.raises(ValueError, match=message.replace("[", "\\[").replace("]", "\\]")):
        fw.rules(cfg(**bad))


RAW = {"firewall_profile": "edge", "firewall_mgmt_interfaces": ["eth0"], "firewall_wifi_interfaces": ["wlan0"],
       "firewall_site_interfaces": ["eth0"], "firewall_trusted_interfaces": ["docker0", "br-*"],
       "firewall_nebula_interfaces": [], "firewall_babel_interfaces": ["eth0"], "firewall_nebula_tun_dev": "nebula1",
       "firewall_ssh_port": 22,
       "firewall_http_port": 80, "firewall_https_port": 443, "firewall_nebula_port": 4242,
       "firewall_babel_port": 6696, "firewall_mgmt_ports": [22, 80], "firewall_site_networks": [],
       "firewall_allow_wifi_mgmt": False, "firewall_allow_mdns": False, "layout_edge_env": {},
       "firewall_extra_rules": [], "firewall_allowed": []}


def failed(**over):
    raw = dict(RAW)
    raw.update(over)
    return dict((c["var"], c["msg"]) for c in fw.checks(raw) if not c["ok"])


def test_checks_pass_on_good_input():
    assert failed() == {}
    assert failed(layout_edge_env={"ALLOW_WIFI_MGMT": "1"}, firewall_allow_wifi_mgmt=True) == {}


def test_checks_name_a_bad_nebula_device():
    assert set(failed(firewall_nebula_tun_dev="nebula*")) == {"firewall_nebula_tun_dev"}
    assert set(failed(firewall_nebula_tun_dev=["nebula1"])) == {"firewall_nebula_tun_dev"}


def test_checks_name_the_toggle_that_disagrees_with_layout_edge_env():
    assert failed(firewall_allow_mdns=True) == {"toggles": (
        "firewall_allow_mdns (true) disagree(s) with layout_edge_env, which /etc/ovr/edge.env is written "
        "from: set each toggle once, as layout_edge_env.ALLOW_WIFI_MGMT / ALLOW_MDNS")}
    assert failed(layout_edge_env={"ALLOW_MDNS": "yes"}) == {
        "layout_edge_env": "layout_edge_env toggles must be \"1\" (on) or \"0\" (off), got ALLOW_MDNS='yes'"}


def test_env_toggles_are_read_from_the_env_file_dialect():
    text = "# Managed\nOVR_CLOUD_TOKEN='secret'\nALLOW_MDNS='1'\nALLOW_WIFI_MGMT=0\n"
    assert fw.env_toggles(text) == {"ALLOW_MDNS": "1", "ALLOW_WIFI_MGMT": "0"}
    assert fw.env_toggles("OVR_SITE_ID='3'\n") == {}
    with pytest.raises(ValueError):
        fw.env_toggles("not a line\n")
