# -*- coding: utf-8 -*-
"""The mdns role's checks (roles/mdns/tasks/validate.yml), run by ansible-playbook on local hosts."""
import pytest

HOSTS = {
    "mdns-off": {},
    "mdns-on": {"mdns_enabled": True, "mdns_interfaces": ["eth0", "wlan0"]},
    "mdns-no-interfaces": {"mdns_enabled": True},
    "mdns-bad": {"mdns_enabled": True, "mdns_interfaces": ["eth0", "bad name"], "mdns_host_name": "gx.local"},
    "Bad_Host": {"mdns_enabled": True, "mdns_interfaces": "eth0"},
}

VALIDATE_RUNS = {"main": {"role": "mdns", "hosts": HOSTS}}


@pytest.fixture(scope="module")
def checked(validated):
    return validated("main")


def test_good_settings_pass(checked):
    assert checked["mdns-off"] == [] and checked["mdns-on"] == []


def test_enabled_needs_interfaces(checked):
    assert checked["mdns-no-interfaces"] == [
        "mdns-no-interfaces: mdns_interfaces must list at least one interface when mdns_enabled is true "
        "(avahi publishes on those only), got []. Nothing was changed."]


def test_bad_interface_and_host_name(checked):
    assert checked["mdns-bad"] == [
        'mdns-bad: every mdns_interfaces entry must be an interface name (1-15 letters, digits, _.:@-), '
        'got ["eth0", "bad name"]. Nothing was changed.',
        "mdns-bad: the published name must be one DNS label (letters, digits and '-', at most 63), "
        'got "gx.local". Nothing was changed.',
    ]


def test_inventory_hostname_that_is_no_label_asks_for_mdns_host_name(checked):
    messages = checked["Bad_Host"]
    assert 'Bad_Host: mdns_interfaces must be a list of interface names, got "eth0". Nothing was changed.' in messages
    assert ("Bad_Host: the published name must be one DNS label (letters, digits and '-', at most 63), got "
            '"Bad_Host" (the inventory hostname; set mdns_host_name). Nothing was changed.') in messages
