# -*- coding: utf-8 -*-
"""Unit tests for plugins/filter/fleet.py (and module_utils/fleet_model.py)."""

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ovr.fleet.plugins.filter import fleet
from ansible_collections.ovr.fleet.plugins.module_utils import fleet_model as model


def inventory():
    """A valid fleet as (hostvars, groups): 2 sites, 5 edge nodes, 1 cloud."""
    north = {"ovr_site_id": 1, "ovr_site_name": "North field"}
    south = {"ovr_site_id": 2, "ovr_site_name": "South stage"}
    hostvars = {
        "edge-n1": dict(north, ovr_node_id=1, ansible_host="192.0.2.11", ovr_gx_targets=["venus-n1.local"]),
        "edge-n2": dict(north, ovr_node_id=2, ansible_host="192.0.2.12"),
        "edge-n3": dict(north, ovr_node_id=3, ovr_peer_address="edge-n3.example.net"),
        "edge-s1": dict(south, ovr_node_id=7),
        "edge-s2": dict(south, ovr_node_id=2, ansible_host="2001:db8::2"),
        "cloud-1": {"ansible_host": "fleet.example.net"},
    }
    groups = {
        "all": sorted(hostvars),
        "ungrouped": [],
        "edge": ["edge-n1", "edge-n2", "edge-n3", "edge-s1", "edge-s2"],
        "site_north": ["edge-n1", "edge-n2", "edge-n3"],
        "site_south": ["edge-s1", "edge-s2"],
        "cloud": ["cloud-1"],
    }
    return hostvars, groups


def errors_of(hostvars, groups, **kwargs):
    return fleet.fleet_errors(hostvars, groups, **kwargs)


def one_error(hostvars, groups):
    errors = errors_of(hostvars, groups)
    assert len(errors) == 1, errors
    return errors[0]


# --- FilterModule -----------------------------------------------------------

def test_filter_module_exposes_every_filter():
    assert set(fleet.FilterModule().filters()) == {
        "overlay_ip", "site_of", "site_peers", "fleet_errors", "fleet_warnings", "fleet_model"}


# --- overlay_ip -------------------------------------------------------------

@pytest.mark.parametrize("site, node, expected", [
    (1, 1, "10.231.1.1"),
    (1, 254, "10.231.1.254"),
    (254, 3, "10.231.254.3"),
    ("12", "34", "10.231.12.34"),  # INI inventories hand over strings
])
def test_overlay_ip(site, node, expected):
    assert fleet.overlay_ip(site, node) == expected


def test_overlay_ip_prefix():
    assert fleet.overlay_ip(2, 9, prefix=True) == "10.231.2.9/16"


@pytest.mark.parametrize("site, node", [
    (0, 1), (1, 0), (255, 1), (1, 255), (-1, 1),
    (True, 1), (1, False), (1.0, 1), ("01", 1), (" 1", 1), ("1.0", 1), (None, 1), ([1], 1),
])
def test_overlay_ip_rejects(site, node):
    with pytest.raises(AnsibleFilterError, match="ovr.fleet.overlay_ip"):
        fleet.overlay_ip(site, node)


def test_overlay_ip_is_inside_the_overlay_network():
    import ipaddress
    for site in (1, 128, 254):
        for node in (1, 100, 254):
            assert ipaddress.IPv4Address(fleet.overlay_ip(site, node)) in model.OVERLAY_NETWORK


# --- site_of ----------------------------------------------------------------

def test_site_of():
    groups = inventory()[1]
    assert fleet.site_of(groups, "edge-s2") == "site_south"


def test_site_of_no_site():
    groups = inventory()[1]
    with pytest.raises(AnsibleFilterError, match="cloud-1: is in no site"):
        fleet.site_of(groups, "cloud-1")


def test_site_of_two_sites():
    groups = inventory()[1]
    groups["site_south"].append("edge-n1")
    with pytest.raises(AnsibleFilterError, match="edge-n1: is in 2 site groups"):
        fleet.site_of(groups, "edge-n1")


# --- site_peers -------------------------------------------------------------

def test_site_peers_are_the_other_hosts_sorted_by_node_id():
    hostvars, groups = inventory()
    peers = fleet.site_peers(hostvars, groups, "edge-n2")
    assert peers == [
        {"id": "edge-n1", "node_id": 1, "address": "192.0.2.11", "overlay_ip": "10.231.1.1",
         "site_id": 1, "site_name": "North field"},
        {"id": "edge-n3", "node_id": 3, "address": "edge-n3.example.net", "overlay_ip": "10.231.1.3",
         "site_id": 1, "site_name": "North field"},
    ]


def test_site_peers_sorted_by_node_id_not_name():
    hostvars, groups = inventory()
    peers = fleet.site_peers(hostvars, groups, "edge-n1")
    assert [p["id"] for p in peers] == ["edge-n2", "edge-n3"]
    peers = fleet.site_peers(hostvars, groups, "edge-n3")
    assert [p["node_id"] for p in peers] == [1, 2]
    # edge-s1 has node id 7, edge-s2 node id 2: from a third node they'd be s2, s1.
    hostvars["edge-s3"] = dict(hostvars["edge-s1"], ovr_node_id=9)
    groups["edge"].append("edge-s3")
    groups["site_south"].append("edge-s3")
    assert [p["id"] for p in fleet.site_peers(hostvars, groups, "edge-s3")] == ["edge-s2", "edge-s1"]


def test_site_peers_address_defaults():
    hostvars, groups = inventory()
    by_id = {p["id"]: p for p in fleet.site_peers(hostvars, groups, "edge-s1")}
    assert by_id["edge-s2"]["address"] == "2001:db8::2"  # ansible_host
    by_id = {p["id"]: p for p in fleet.site_peers(hostvars, groups, "edge-s2")}
    assert by_id["edge-s1"]["address"] == "edge-s1"  # inventory hostname
    assert by_id["edge-s1"]["overlay_ip"] == "10.231.2.7"


def test_site_peers_single_node_site_has_no_peers():
    hostvars, groups = inventory()
    groups["site_solo"] = ["edge-s2"]
    groups["site_south"] = ["edge-s1"]
    hostvars["edge-s2"] = dict(hostvars["edge-s2"], ovr_site_id=3, ovr_site_name="Solo")
    assert fleet.site_peers(hostvars, groups, "edge-s2") == []


def test_site_peers_ini_strings_are_ints():
    hostvars, groups = inventory()
    for host in groups["site_north"]:
        hostvars[host]["ovr_site_id"] = "1"
        hostvars[host]["ovr_node_id"] = str(hostvars[host]["ovr_node_id"])
    peers = fleet.site_peers(hostvars, groups, "edge-n1")
    assert peers[0]["node_id"] == 2 and peers[0]["site_id"] == 1


def test_site_peers_refuses_an_invalid_inventory():
    hostvars, groups = inventory()
    hostvars["edge-s1"]["ovr_node_id"] = 2  # clashes with edge-s2, other site than edge-n1
    with pytest.raises(AnsibleFilterError, match="ovr_node_id 2 is already used by edge-s1"):
        fleet.site_peers(hostvars, groups, "edge-n1")


def test_site_peers_of_a_cloud_host():
    hostvars, groups = inventory()
    with pytest.raises(AnsibleFilterError, match="cloud-1: is in no site"):
        fleet.site_peers(hostvars, groups, "cloud-1")


# --- fleet_model / fleet_warnings --------------------------------------------

def test_fleet_model():
    hostvars, groups = inventory()
    result = fleet.fleet_model(hostvars, groups)
    assert result["errors"] == [] and result["warnings"] == []
    assert result["cloud"] == ["cloud-1"]
    assert [(s["group"], s["id"], s["name"]) for s in result["sites"]] == [
        ("site_north", 1, "North field"), ("site_south", 2, "South stage")]
    north = result["sites"][0]["nodes"]
    assert [n["overlay_ip"] for n in north] == ["10.231.1.1", "10.231.1.2", "10.231.1.3"]
    assert north[0]["gx_targets"] == ["venus-n1.local"]


def test_no_cloud_is_a_warning_by_default_and_an_error_on_request():
    hostvars, groups = inventory()
    del groups["cloud"]
    assert fleet.fleet_errors(hostvars, groups) == []
    assert any(w.startswith("cloud: no cloud node") for w in fleet.fleet_warnings(hostvars, groups))
    assert [e for e in fleet.fleet_errors(hostvars, groups, require_cloud=True)
            if e.startswith("cloud: no cloud node")]


def test_empty_inventory_is_valid():
    assert fleet.fleet_errors({}, {"all": [], "ungrouped": []}) == []
    assert fleet.fleet_warnings({}, {"all": []}) == []


def test_cloud_only_inventory_is_valid():
    assert fleet.fleet_errors({"c": {}}, {"all": ["c"], "cloud": ["c"]}) == []


def test_duplicate_peer_address_is_a_warning():
    hostvars, groups = inventory()
    hostvars["edge-n2"]["ansible_host"] = "192.0.2.11"
    assert fleet.fleet_errors(hostvars, groups) == []
    assert fleet.fleet_warnings(hostvars, groups) == [
        "edge-n2 (site_north): peer address 192.0.2.11 is also the address of edge-n1; "
        "set ovr_peer_address if its peers reach it elsewhere"]


# --- fleet_errors: one case per check -----------------------------------------

def test_valid_inventory_has_no_errors():
    hostvars, groups = inventory()
    assert fleet.fleet_errors(hostvars, groups) == []


def mutate(func):
    hostvars, groups = inventory()
    func(hostvars, groups)
    return hostvars, groups


ERROR_CASES = {
    "node_id_missing": (
        lambda hv, g: hv["edge-n1"].pop("ovr_node_id"),
        "edge-n1 (site_north): ovr_node_id is not set"),
    "node_id_string": (
        lambda hv, g: hv["edge-n1"].update(ovr_node_id="one"),
        "edge-n1 (site_north): ovr_node_id must be an integer 1-254, got the string 'one'"),
    "node_id_leading_zero": (
        lambda hv, g: hv["edge-n1"].update(ovr_node_id="01"),
        "edge-n1 (site_north): ovr_node_id must be an integer 1-254, got the string '01'"),
    "node_id_bool": (
        lambda hv, g: hv["edge-n1"].update(ovr_node_id=True),
        "edge-n1 (site_north): ovr_node_id must be an integer 1-254, got a boolean (True)"),
    "node_id_float": (
        lambda hv, g: hv["edge-n1"].update(ovr_node_id=1.0),
        "edge-n1 (site_north): ovr_node_id must be an integer 1-254, got a float (1.0)"),
    "node_id_null": (
        lambda hv, g: hv["edge-n1"].update(ovr_node_id=None),
        "edge-n1 (site_north): ovr_node_id must be an integer 1-254, got null (None)"),
    "node_id_zero": (
        lambda hv, g: hv["edge-n1"].update(ovr_node_id=0),
        "edge-n1 (site_north): ovr_node_id must be between 1 and 254, got 0"),
    "node_id_255": (
        lambda hv, g: hv["edge-n1"].update(ovr_node_id=255),
        "edge-n1 (site_north): ovr_node_id must be between 1 and 254, got 255"),
    "node_id_duplicate": (
        lambda hv, g: hv["edge-n3"].update(ovr_node_id=1),
        "edge-n3 (site_north): ovr_node_id 1 is already used by edge-n1"),
    "site_id_missing": (
        lambda hv, g: [hv[h].pop("ovr_site_id") for h in g["site_south"]],
        "site_south: ovr_site_id is not set (set it in group_vars/site_south)"),
    "site_id_out_of_range": (
        lambda hv, g: [hv[h].update(ovr_site_id=300) for h in g["site_south"]],
        "site_south: ovr_site_id must be between 1 and 254, got 300"),
    "site_id_bool": (
        lambda hv, g: [hv[h].update(ovr_site_id=False) for h in g["site_south"]],
        "site_south: ovr_site_id must be an integer 1-254, got a boolean (False)"),
    "site_id_duplicate": (
        lambda hv, g: [hv[h].update(ovr_site_id=1) for h in g["site_south"]],
        "site_south: ovr_site_id 1 is already used by site_north"),
    "site_id_differs_between_hosts": (
        lambda hv, g: hv["edge-s2"].update(ovr_site_id=9),
        "site_south: ovr_site_id differs between its hosts (edge-s1: 2, edge-s2: 9); "
        "set it once in group_vars/site_south"),
    "site_name_missing": (
        lambda hv, g: [hv[h].pop("ovr_site_name") for h in g["site_north"]],
        "site_north: ovr_site_name is not set (set it in group_vars/site_north)"),
    "site_name_empty": (
        lambda hv, g: [hv[h].update(ovr_site_name="  ") for h in g["site_north"]],
        "site_north: ovr_site_name must be a non-empty string, got a string ('  ')"),
    "site_name_multiline": (
        lambda hv, g: [hv[h].update(ovr_site_name="a\nb") for h in g["site_north"]],
        "site_north: ovr_site_name must be a single line without control characters, got 'a\\nb'"),
    "edge_host_without_site": (
        lambda hv, g: (g["edge"].append("edge-x"), hv.update({"edge-x": {"ovr_node_id": 5}})),
        "edge-x: edge host is in no site_<name> group (ovr_site_id comes from its site)"),
    "host_in_two_sites": (
        lambda hv, g: g["site_south"].append("edge-n1"),
        "edge-n1: is in 2 site groups (site_north, site_south) and so has an ambiguous ovr_site_id; "
        "a node belongs to exactly one site"),
    "site_group_not_under_edge": (
        lambda hv, g: (g.update(site_rogue=["rogue-1"]),
                       hv.update({"rogue-1": {"ovr_site_id": 9, "ovr_site_name": "R", "ovr_node_id": 1}})),
        "rogue-1 (site_rogue): site group site_rogue is not under group edge (make it a child of edge)"),
    "host_in_edge_and_cloud": (
        lambda hv, g: g["cloud"].append("edge-n1"),
        "edge-n1: is in both edge and cloud; a node is either an edge node or a cloud node"),
    "peer_id_uppercase": (
        lambda hv, g: (g["edge"].append("Edge-N4"), g["site_north"].append("Edge-N4"),
                       hv.update({"Edge-N4": dict(hv["edge-n1"], ovr_node_id=4, ansible_host="192.0.2.14")})),
        "Edge-N4 (site_north): inventory hostname 'Edge-N4' is not a valid peer id"),
    "peer_id_with_dot": (
        lambda hv, g: (g["edge"].append("n4.example.net"), g["site_north"].append("n4.example.net"),
                       hv.update({"n4.example.net": dict(hv["edge-n1"], ovr_node_id=4,
                                                         ansible_host="192.0.2.14")})),
        "n4.example.net (site_north): inventory hostname 'n4.example.net' is not a valid peer id"),
    "peer_address_bad": (
        lambda hv, g: hv["edge-n1"].update(ovr_peer_address="bad host"),
        "edge-n1 (site_north): peer address 'bad host' (from ovr_peer_address) contains whitespace"),
    "peer_address_bad_ansible_host": (
        lambda hv, g: hv["edge-n1"].update(ansible_host="10.0.0.300"),
        "edge-n1 (site_north): peer address '10.0.0.300' (from ansible_host) is not a valid IPv4 "
        "address; set ovr_peer_address"),
    "gx_not_a_list": (
        lambda hv, g: hv["edge-n1"].update(ovr_gx_targets="venus.local"),
        "edge-n1 (site_north): ovr_gx_targets must be a list of host, host:port or [IPv6]:port, "
        "got a string ('venus.local')"),
    "gx_bad_host": (
        lambda hv, g: hv["edge-n1"].update(ovr_gx_targets=["venus_.local", "-bad.local"]),
        "edge-n1 (site_north): ovr_gx_targets[1] '-bad.local' is not a valid host name (label '-bad')"),
    "gx_bad_port": (
        lambda hv, g: hv["edge-n1"].update(ovr_gx_targets=["venus.local:0"]),
        "edge-n1 (site_north): ovr_gx_targets[0] 'venus.local:0' port 0 is out of range 1-65535"),
    "gx_port_not_a_number": (
        lambda hv, g: hv["edge-n1"].update(ovr_gx_targets=["venus.local:mqtt"]),
        "edge-n1 (site_north): ovr_gx_targets[0] 'venus.local:mqtt' port 'mqtt' is not a number"),
    "gx_bad_ipv4": (
        lambda hv, g: hv["edge-n1"].update(ovr_gx_targets=["192.168.1.256"]),
        "edge-n1 (site_north): ovr_gx_targets[0] '192.168.1.256' is not a valid IPv4 address"),
    "gx_bad_ipv6": (
        lambda hv, g: hv["edge-n1"].update(ovr_gx_targets=["[2001:db8::zz]:1883"]),
        "edge-n1 (site_north): ovr_gx_targets[0] '[2001:db8::zz]:1883' has an invalid IPv6 address "
        "in brackets"),
    "gx_not_a_string": (
        lambda hv, g: hv["edge-n1"].update(ovr_gx_targets=[1883]),
        "edge-n1 (site_north): ovr_gx_targets[0] 1883 must be a string, got an integer"),
    "gx_duplicate_default_port": (
        lambda hv, g: hv["edge-n1"].update(ovr_gx_targets=["Venus.local", "venus.local:1883"]),
        "edge-n1 (site_north): ovr_gx_targets[1] 'venus.local:1883' duplicates ovr_gx_targets[0] "
        "'Venus.local' (MQTT port 1883 is the default)"),
    "gx_duplicate_ipv6_forms": (
        lambda hv, g: hv["edge-n1"].update(ovr_gx_targets=["2001:db8::1", "[2001:0db8:0::1]:1883"]),
        "edge-n1 (site_north): ovr_gx_targets[1] '[2001:0db8:0::1]:1883' duplicates ovr_gx_targets[0] "
        "'2001:db8::1' (MQTT port 1883 is the default)"),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_fleet_errors(case):
    func, expected = ERROR_CASES[case]
    hostvars, groups = mutate(func)
    error = one_error(hostvars, groups)
    assert error.startswith(expected), error
    assert "\n" not in error


def test_duplicate_node_ids_in_different_sites_are_fine():
    hostvars, groups = inventory()
    assert hostvars["edge-n2"]["ovr_node_id"] == hostvars["edge-s2"]["ovr_node_id"]
    assert fleet.fleet_errors(hostvars, groups) == []


def test_every_error_is_reported_at_once_sorted():
    hostvars, groups = inventory()
    hostvars["edge-n1"]["ovr_node_id"] = 0
    hostvars["edge-s2"]["ovr_node_id"] = 7
    hostvars["edge-n3"]["ovr_gx_targets"] = ["x:99999"]
    errors = fleet.fleet_errors(hostvars, groups)
    assert errors == sorted(errors)
    assert len(errors) == 3, errors


def test_ini_style_strings_are_accepted():
    hostvars, groups = inventory()
    for host in groups["edge"]:
        hostvars[host]["ovr_node_id"] = str(hostvars[host]["ovr_node_id"])
        hostvars[host]["ovr_site_id"] = str(hostvars[host]["ovr_site_id"])
    assert fleet.fleet_errors(hostvars, groups) == []


def test_ini_string_and_int_of_the_same_site_id_disagree_loudly():
    # "2" and 2 from different sources usually means a host_vars override: say so.
    hostvars, groups = inventory()
    hostvars["edge-s1"]["ovr_site_id"] = "2"
    assert one_error(hostvars, groups).startswith("site_south: ovr_site_id differs between its hosts")


@pytest.mark.parametrize("target, expected", [
    ("venus.local", ("venus.local", None)),
    ("VENUS.local.", ("venus.local", None)),
    ("venus:1884", ("venus", 1884)),
    ("192.0.2.1", ("192.0.2.1", None)),
    ("192.0.2.1:65535", ("192.0.2.1", 65535)),
    ("2001:db8::1", ("2001:db8::1", None)),
    ("[2001:db8::1]", ("2001:db8::1", None)),
    ("[2001:db8::1]:1", ("2001:db8::1", 1)),
    ("fe80::1%eth0", ("fe80::1%eth0", None)),
    ("gx_1.lan", ("gx_1.lan", None)),
])
def test_parse_endpoint_accepts(target, expected):
    assert model.parse_endpoint(target) == expected


@pytest.mark.parametrize("target", [
    "", " venus", "venus:", ":1883", "venus:65536", "venus:-1", "venus:1e3", "[2001:db8::1]:",
    "[192.0.2.1]:1883", "2001:db8::1::2", "a..b", "a" * 64, ".".join(["a" * 60] * 5),
    "1.2.3", "http://venus", "venus/x", "[::1]x",
])
def test_parse_endpoint_rejects(target):
    with pytest.raises(ValueError):
        model.parse_endpoint(target)


@pytest.mark.parametrize("peer_id, ok", [
    ("edge-a", True), ("a", True), ("0", True), ("a" * 63, True), ("a" * 64, False),
    ("edge-", False), ("-edge", False), ("edge_a", False), ("Edge", False), ("edge.a", False),
    ("edge/a", False), ("..", False), ("", False),
])
def test_peer_id_rule(peer_id, ok):
    assert bool(model.PEER_ID_RE.match(peer_id)) is ok


def test_inputs_are_not_mutated():
    hostvars, groups = inventory()
    before = copy.deepcopy((hostvars, groups))
    fleet.fleet_model(hostvars, groups)
    fleet.site_peers(hostvars, groups, "edge-n1")
    assert (hostvars, groups) == before


def test_undefined_variable_raising_on_access_is_reported():
    class Lazy(dict):
        def __getitem__(self, key):
            if key == "ovr_node_id":
                raise RuntimeError("'nope' is undefined")
            return dict.__getitem__(self, key)

    hostvars, groups = inventory()
    hostvars["edge-n1"] = Lazy(hostvars["edge-n1"])
    assert one_error(hostvars, groups) == (
        "edge-n1 (site_north): ovr_node_id could not be templated: 'nope' is undefined")


def test_ansible_template_markers_are_reported():
    class UndefinedMarker(object):  # duck-types ansible-core 2.19's Marker
        def _as_message(self):
            return "'nope' is undefined"

    hostvars, groups = inventory()
    hostvars["edge-n1"]["ovr_node_id"] = UndefinedMarker()
    hostvars["edge-n2"]["ovr_gx_targets"] = [UndefinedMarker()]
    assert fleet.fleet_errors(hostvars, groups) == [
        "edge-n1 (site_north): ovr_node_id could not be templated: 'nope' is undefined",
        "edge-n2 (site_north): ovr_gx_targets[0] could not be templated: 'nope' is undefined",
    ]
