# -*- coding: utf-8 -*-
"""Unit tests for plugins/module_utils/mesh.py and plugins/filter/mesh.py."""

import copy
import datetime
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ovr.fleet.plugins.filter import mesh as mesh_filter
from ansible_collections.ovr.fleet.plugins.module_utils import fleet_model as model
from ansible_collections.ovr.fleet.plugins.module_utils import mesh

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)


def inventory():
    """site_north (n1 lighthouse, n2, n3), site_south (s1), cloud-1; all in the mesh."""
    north = {"ovr_site_id": 1, "ovr_site_name": "North", "ovr_mesh_enabled": True}
    south = {"ovr_site_id": 2, "ovr_site_name": "South", "ovr_mesh_enabled": True}
    hostvars = {
        "edge-n1": dict(north, ovr_node_id=1, ansible_host="192.0.2.11", nebula_lighthouse=True),
        "edge-n2": dict(north, ovr_node_id=2, ansible_host="192.0.2.12"),
        "edge-n3": dict(north, ovr_node_id=3, babel_addresses=["10.98.1.3/32"], nebula_lighthouse=True),
        "edge-s1": dict(south, ovr_node_id=7, ansible_host="192.0.2.21"),
        "cloud-1": {"ansible_host": "fleet.example.net", "ovr_mesh_enabled": True},
    }
    groups = {
        "all": sorted(hostvars), "ungrouped": [],
        "edge": ["edge-n1", "edge-n2", "edge-n3", "edge-s1"],
        "site_north": ["edge-n1", "edge-n2", "edge-n3"],
        "site_south": ["edge-s1"],
        "cloud": ["cloud-1"],
    }
    return hostvars, groups


def errors(hostvars, groups):
    return model.validate_fleet(hostvars, groups).errors


def test_valid_mesh_has_no_errors():
    assert errors(*inventory()) == []


def test_overlay_addresses_come_from_the_model():
    hostvars, groups = inventory()
    nodes = model.validate_fleet(hostvars, groups).mesh
    assert nodes["edge-n2"]["overlay_ip"] == model.overlay_ip(1, 2) == "10.231.1.2"
    assert nodes["edge-s1"]["overlay_ip"] == "10.231.2.7"
    assert nodes["cloud-1"]["overlay_ip"] == "10.231.0.1"
    assert nodes["cloud-1"]["lighthouse"] is True and nodes["edge-n2"]["lighthouse"] is False


def test_edge_node_map_lists_cloud_and_own_site_lighthouses_only():
    hostvars, groups = inventory()
    node = mesh.nebula_node(hostvars, groups, "edge-n2")
    assert node["overlay_cidr"] == "10.231.1.2/16"
    assert node["groups"] == ["site_north", "edge"]
    assert node["am_lighthouse"] is False
    assert node["lighthouses"] == ["10.231.0.1", "10.231.1.1", "10.231.1.3"]
    assert node["static_host_map"] == {
        "10.231.0.1": ["fleet.example.net:4242"],
        "10.231.1.1": ["192.0.2.11:4242"],
        # babel_addresses[0] wins over the (absent) ansible_host: the address babeld announces.
        "10.231.1.3": ["10.98.1.3:4242"],
    }
    south = mesh.nebula_node(hostvars, groups, "edge-s1")
    assert south["lighthouses"] == ["10.231.0.1"]


def test_a_lighthouse_queries_no_lighthouse_but_maps_them():
    hostvars, groups = inventory()
    node = mesh.nebula_node(hostvars, groups, "edge-n1")
    assert node["am_lighthouse"] is True and node["lighthouses"] == []
    assert sorted(node["static_host_map"]) == ["10.231.0.1", "10.231.1.3"]


def test_underlay_address_and_port_overrides():
    hostvars, groups = inventory()
    hostvars["edge-n1"].update(nebula_underlay_address="2001:db8::11", nebula_listen_port=4343)
    node = mesh.nebula_node(hostvars, groups, "edge-n2")
    assert node["static_host_map"]["10.231.1.1"] == ["[2001:db8::11]:4343"]


def test_hosts_outside_the_mesh_are_neither_checked_nor_mapped():
    hostvars, groups = inventory()
    hostvars["edge-n1"]["ovr_mesh_enabled"] = False
    hostvars["edge-n1"]["ansible_host"] = "127.0.0.1"
    assert errors(hostvars, groups) == []
    assert "10.231.1.1" not in mesh.nebula_node(hostvars, groups, "edge-n2")["static_host_map"]
    with pytest.raises(ValueError, match="edge-n1: is not in the mesh"):
        mesh.nebula_node(hostvars, groups, "edge-n1")


@pytest.mark.parametrize("value, reason", [
    ("127.0.0.1", "is a loopback"),
    ("localhost", "own name"),
    ("10.231.1.9", "inside the overlay"),
    ("0.0.0.0", "unspecified"),
])
def test_lighthouse_with_an_unreachable_underlay(value, reason):
    hostvars, groups = inventory()
    hostvars["edge-n1"]["ansible_host"] = value
    found = errors(hostvars, groups)
    assert len(found) == 1, found
    assert found[0].startswith("edge-n1 (site_north): nebula_lighthouse is true and its underlay address %r "
                               "(from ansible_host)" % value)
    assert reason in found[0] and "set nebula_underlay_address" in found[0]


def test_lighthouse_without_any_underlay():
    hostvars, groups = inventory()
    del hostvars["cloud-1"]["ansible_host"]
    assert errors(hostvars, groups) == [
        "cloud-1: nebula_lighthouse is true but it has no underlay address: set nebula_underlay_address "
        "(or ansible_host) to where the other nodes reach it"]
    hostvars["cloud-1"]["nebula_lighthouse"] = False
    assert errors(hostvars, groups) == []


def test_lighthouse_with_a_bad_underlay_name():
    hostvars, groups = inventory()
    hostvars["edge-n1"]["nebula_underlay_address"] = "edge n1"
    assert errors(hostvars, groups) == [
        "edge-n1 (site_north): nebula_lighthouse is true and its underlay address 'edge n1' (from "
        "nebula_underlay_address) contains whitespace; set nebula_underlay_address"]


def test_site_that_requires_a_lighthouse():
    hostvars, groups = inventory()
    hostvars["edge-s1"]["nebula_require_site_lighthouse"] = True
    assert errors(hostvars, groups) == [
        "site_south: nebula_require_site_lighthouse is true but none of its hosts (edge-s1) has "
        "nebula_lighthouse: true; the site would lose its overlay without internet"]
    hostvars["edge-s1"]["nebula_lighthouse"] = True
    assert errors(hostvars, groups) == []


def test_cloud_overlay_clash_and_missing_ids():
    hostvars, groups = inventory()
    hostvars["cloud-2"] = {"ansible_host": "fleet2.example.net", "ovr_mesh_enabled": True}
    groups["cloud"].append("cloud-2")
    assert sorted(errors(hostvars, groups)) == [
        "cloud-1: ovr_node_id is not set; with 2 cloud nodes each needs one for its overlay address "
        "10.231.0.<ovr_node_id>",
        "cloud-2: ovr_node_id is not set; with 2 cloud nodes each needs one for its overlay address "
        "10.231.0.<ovr_node_id>"]
    hostvars["cloud-1"]["ovr_node_id"] = 1
    hostvars["cloud-2"]["ovr_node_id"] = 1
    assert errors(hostvars, groups) == [
        "cloud-2: overlay address 10.231.0.1 (from ovr_node_id) clashes with cloud-1's"]
    hostvars["cloud-2"]["ovr_node_id"] = 2
    assert errors(hostvars, groups) == []


@pytest.mark.parametrize("name, value, message", [
    ("nebula_lighthouse", "maybe", "edge-n2 (site_north): nebula_lighthouse must be true or false, got 'maybe'"),
    ("nebula_listen_port", 70000, "edge-n2 (site_north): nebula_listen_port must be a port 1-65535, got 70000"),
    ("nebula_listen_port", True, "edge-n2 (site_north): nebula_listen_port must be a port 1-65535, got True"),
])
def test_bad_mesh_values(name, value, message):
    hostvars, groups = inventory()
    hostvars["edge-n2"][name] = value
    assert errors(hostvars, groups) == [message]


def test_no_lighthouse_at_all_is_a_warning():
    hostvars, groups = inventory()
    for host in hostvars:
        hostvars[host]["nebula_lighthouse"] = False
    report = model.validate_fleet(hostvars, groups)
    assert report.errors == []
    assert any("no host is a Nebula lighthouse" in w for w in report.warnings)


def test_filter_wraps_errors():
    hostvars, groups = inventory()
    hostvars["edge-n1"]["ansible_host"] = "127.0.0.1"
    with pytest.raises(AnsibleFilterError, match="ovr.fleet.nebula_node: the inventory is invalid"):
        mesh_filter.nebula_node(hostvars, groups, "edge-n2")


# ---- certificates -------------------------------------------------------------------------------

PUB = "-----BEGIN NEBULA X25519 PUBLIC KEY-----\nmgDbu1REvhyeJu98ABpZtyGe+Tomzv9yGFeIu4OGPVk=\n-----END NEBULA X25519 PUBLIC KEY-----\n"
PUB_HEX = "9a00dbbb5444be1c9e26ef7c001a59b7219ef93a26ceff72185788bb83863d59"
CA_FP = "ef16c89465102f16bfec11025a8feeac96815833164371dac5fa91424f65a96a"


def printed(**details):
    base = {"groups": ["site_north", "edge"], "ips": ["10.231.1.2/16"], "isCa": False, "issuer": CA_FP,
            "name": "edge-n2", "notAfter": "2027-12-01T12:00:00Z", "notBefore": "2026-12-01T12:00:00Z",
            "publicKey": PUB_HEX, "subnets": []}
    base.update(details)
    return json.dumps({"details": base, "fingerprint": "f" * 64, "signature": "00"})


def check(text, **kwargs):
    args = dict(public_key_pem=PUB, ca_fingerprints=[CA_FP], renew_before_days=30, now=NOW)
    args.update(kwargs)
    return mesh.cert_check(text, "edge-n2", "10.231.1.2/16", ["edge", "site_north"], **args)


def test_public_key_hex_matches_nebula_cert_print():
    assert mesh.public_key_hex(PUB) == PUB_HEX


def test_a_good_cert_needs_nothing():
    assert check(printed()) == []


@pytest.mark.parametrize("details, reason", [
    ({"name": "edge-x"}, "name 'edge-x', want 'edge-n2'"),
    ({"ips": ["10.231.1.9/16"]}, "ips 10.231.1.9/16, want [10.231.1.2/16]"),
    ({"groups": ["site_south", "edge"]}, "groups edge,site_south, want edge,site_north"),
    ({"publicKey": "00" * 32}, "another key"),
    ({"issuer": "0" * 64}, "signed by another CA"),
    ({"notAfter": "2026-12-20T12:00:00Z"}, "within nebula_cert_renew_before (30 days)"),
    ({"notAfter": "2026-11-30T12:00:00+01:00"}, "within nebula_cert_renew_before"),
    ({"notAfter": "soon"}, "cannot be read"),
])
def test_each_mismatch_is_a_reason(details, reason):
    found = check(printed(**details))
    assert len(found) == 1 and reason in found[0], found


def test_no_cert_and_garbage():
    assert check("") == ["no certificate yet"]
    assert check("{not json") == ["the certificate cannot be read"]


def test_renew_window_boundary():
    assert check(printed(notAfter="2026-12-31T12:00:01Z")) == []
    assert check(printed(notAfter="2026-12-31T12:00:00.5Z"), renew_before_days=31) != []


def test_ca_status():
    ca = json.dumps({"details": {"isCa": True, "name": "ovr fleet", "notAfter": "2026-12-11T12:00:00Z"},
                     "fingerprint": CA_FP})
    status = mesh.ca_status(ca, 30, now=NOW)
    assert status["fingerprint"] == CA_FP and status["expiring"] is True and status["days_left"] == 10
    assert mesh.ca_status(ca, 5, now=NOW)["expiring"] is False
    with pytest.raises(ValueError, match="not a CA"):
        mesh.ca_status(printed(), 30, now=NOW)
    # A bundle prints one object per certificate: the first is the one in use.
    assert mesh.ca_status(ca + "\n" + ca, 30, now=NOW)["fingerprint"] == CA_FP


def test_example_inventory_stays_outside_the_mesh():
    """The fleet without ovr_mesh_enabled is the fleet of before: no mesh entries, no mesh errors."""
    hostvars, groups = inventory()
    plain = copy.deepcopy(hostvars)
    for host in plain:
        plain[host].pop("ovr_mesh_enabled")
        plain[host]["ansible_host"] = "127.0.0.1"
    report = model.validate_fleet(plain, groups)
    assert report.errors == [] and report.mesh == {}
