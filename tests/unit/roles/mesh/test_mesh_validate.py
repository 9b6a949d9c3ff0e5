# -*- coding: utf-8 -*-
"""The checks of roles nebula and babel (tasks/validate.yml), run by ansible-playbook on local
hosts: one message per broken rule, each naming the host, the variable and what it got."""
import pytest

SITE = {"edge": {"children": {"site_t": {
    "vars": {"ovr_site_id": 4, "ovr_site_name": "t"},
    "hosts": {"nebula-good": None, "nebula-bad": None, "nebula-out": None}}}}}

NEBULA_GOOD = {"nebula-good": {"ovr_node_id": 1, "ovr_mesh_enabled": True, "nebula_lighthouse": True,
                               "nebula_underlay_address": "192.0.2.1"}}
NEBULA_BAD = {
    "nebula-bad": {
        "ovr_node_id": 2, "ovr_mesh_enabled": True,
        "nebula_name": "Ovr Mesh",
        "nebula_pki_dir": "relative/pki",
        "nebula_cert_duration_days": 20,
        "nebula_cert_renew_before": 30,
        "nebula_ca_duration_days": 10,
        "nebula_mtu": 100,
        "nebula_tun_dev": "nebula-overlay-zero",
        "nebula_peer_port": "http",
        "nebula_cloud_write_port": 0,
        "nebula_advertise_cidrs": ["10.98.0.0", "10.99.0.0/16"],
        "nebula_firewall_inbound_extra": [{"port": 22}],
        "nebula_log_level": "loud",
    },
}
NEBULA_OUT = {"nebula-out": {"ovr_node_id": 3}}

BABEL_GOOD = {"babel-good": {"babel_interfaces": [{"name": "wlan1", "type": "wireless"},
                                                  {"name": "eth1", "type": "wired", "rxcost": 400, "hello_interval": 1}],
                             "babel_addresses": ["10.98.1.3/32", "fd00::3/128"], "babel_announce": ["192.168.10.0/24"]}}
BABEL_BAD = {
    "babel-empty": {},
    "babel-bad": {
        "babel_interfaces": [{"name": "eth1", "type": "wired"}, {"name": "eth1", "type": "radio"},
                             {"name": "a-very-long-interface-name", "type": "wired", "rxcost": 0}],
        "babel_addresses": ["10.98.1.3/24", "10.98.1.4"],
        "babel_announce": ["0.0.0.0/0", "192.168.10.0/24"],
        "babel_local_port": 70000,
        "babel_hello_interval": "fast",
    },
}

VALIDATE_RUNS = {
    "nebula_good": {"role": "nebula", "hosts": NEBULA_GOOD, "groups": {"edge": {"children": {"site_t": {
        "vars": {"ovr_site_id": 4, "ovr_site_name": "t"}, "hosts": {"nebula-good": None}}}}}},
    "nebula_bad": {"role": "nebula", "hosts": dict(NEBULA_BAD, **NEBULA_OUT), "groups": {"edge": {"children": {
        "site_t": {"vars": {"ovr_site_id": 4, "ovr_site_name": "t"}, "hosts": {"nebula-bad": None, "nebula-out": None}}}}}},
    "babel": {"role": "babel", "hosts": dict(BABEL_GOOD, **BABEL_BAD)},
}


def test_nebula_good_settings_pass(validated):
    assert validated("nebula_good")["nebula-good"] == []


@pytest.mark.parametrize("message", [
    "nebula_name must be 1-32 lower-case letters, digits, '_' or '-', got Ovr Mesh",
    "nebula_pki_dir must be an absolute path on the controller, got relative/pki",
    "nebula_ca_duration_days must be a number of days longer than nebula_cert_duration_days (20), got 10",
    "nebula_cert_duration_days must be a number of days longer than nebula_cert_renew_before (30), got 20",
    "nebula_mtu must be 1280-9000, got 100",
    "nebula_tun_dev must be an interface name (lower-case letter first, at most 15), got nebula-overlay-zero",
    "nebula_peer_port must be a port 1-65535, got http",
    "nebula_cloud_write_port must be a port 1-65535, got 0",
    'nebula_advertise_cidrs must be a list of prefixes like 10.98.0.0/16, got ["10.98.0.0", "10.99.0.0/16"]',
    'every nebula_firewall_inbound_extra rule needs port and proto, got [{"port": 22}]',
    "nebula_log_level must be one of panic, fatal, error, warning, info, debug, got loud",
])
def test_nebula_each_bad_setting_gets_its_own_message(validated, message):
    assert "nebula-bad: %s. Nothing was changed." % message in validated("nebula_bad")["nebula-bad"]


def test_nebula_host_outside_the_mesh_is_refused(validated):
    assert validated("nebula_bad")["nebula-out"] == [
        "nebula-out: ovr_mesh_enabled must be true on a host of the Nebula overlay, got not set. Nothing was changed."]


def test_babel_good_settings_pass(validated):
    assert validated("babel")["babel-good"] == []


def test_babel_needs_an_interface(validated):
    assert validated("babel")["babel-empty"] == [
        "babel-empty: babel_interfaces must list at least one mesh interface ({name, type}), got []. Nothing was changed."]


@pytest.mark.parametrize("message", [
    'every babel_interfaces name must be an interface name (at most 15 of a-z A-Z 0-9 . _ -), got ["a-very-long-interface-name"]',
    'babel_interfaces names an interface twice: ["eth1", "eth1", "a-very-long-interface-name"]',
    'every babel_interfaces type must be wired, wireless or tunnel, got ["radio"]',
    'babel_interfaces rxcost must be 1-65535 and hello_interval 1-600 (seconds), got [{"name": "a-very-long-interface-name", "rxcost": 0, "type": "wired"}]',
    'babel_addresses must be host prefixes (a.b.c.d/32 or an IPv6 /128), got ["10.98.1.3/24", "10.98.1.4"]',
    'babel_announce must be prefixes like 192.168.10.0/24 (not a default route: babel_announce_default), got ["0.0.0.0/0"]',
    "babel_local_port must be 0 (off) or a port 1-65535, got 70000",
    'babel_hello_interval must be a number of seconds, more than 0 and at most 600, got "fast"',
])
def test_babel_each_bad_setting_gets_its_own_message(validated, message):
    assert "babel-bad: %s. Nothing was changed." % message in validated("babel")["babel-bad"]
