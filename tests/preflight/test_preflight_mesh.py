# -*- coding: utf-8 -*-
"""The mesh checks of the fleet preflight (plugins/module_utils/mesh.py) through REAL
ansible-playbook runs of playbooks/preflight.yml, with the harness of test_preflight.py.

Every host is unreachable on contact (ssh to 127.0.0.1:1); ansible_host 127.0.0.1 is a loopback
address, so the lighthouses get a reachable nebula_underlay_address unless a case removes it.
"""

import re

import pytest

import test_preflight as harness


def mesh_base():
    inv = harness.base()
    inv["all"]["vars"]["ovr_mesh_enabled"] = True
    harness._host(inv, "site_north", "edge-a").update(nebula_lighthouse=True, nebula_underlay_address="192.0.2.11")
    inv["all"]["children"]["cloud"]["hosts"]["cloud-1"] = {"nebula_underlay_address": "fleet.example.net"}
    return inv


def _cloud(inv):
    return inv["all"]["children"]["cloud"]["hosts"]["cloud-1"]


BAD = {
    "lighthouse_loopback": (
        lambda i: harness._host(i, "site_north", "edge-a").pop("nebula_underlay_address"),
        ["edge-a (site_north): nebula_lighthouse is true and its underlay address '127.0.0.1' (from ansible_host) "
         "is a loopback, unspecified or multicast address: other nodes cannot reach it; set nebula_underlay_address"]),
    "lighthouse_bad_underlay": (
        lambda i: _cloud(i).update(nebula_underlay_address="fleet..example.net"),
        ["cloud-1: nebula_lighthouse is true and its underlay address 'fleet..example.net' (from "
         "nebula_underlay_address) is not a valid host name"]),
    "site_requires_lighthouse": (
        lambda i: harness._sites(i)["site_south"]["vars"].update(nebula_require_site_lighthouse=True),
        ["site_south: nebula_require_site_lighthouse is true but none of its hosts (edge-c) has "
         "nebula_lighthouse: true"]),
    "cloud_overlay_clash": (
        lambda i: (_cloud(i).update(ovr_node_id=3),
                   i["all"]["children"]["cloud"]["hosts"].update(
                       {"cloud-2": {"ovr_node_id": 3, "nebula_lighthouse": False}})),
        ["cloud-2: overlay address 10.231.0.3 (from ovr_node_id) clashes with cloud-1's"]),
    "bad_lighthouse_flag": (
        lambda i: harness._host(i, "site_south", "edge-c").update(nebula_lighthouse="sometimes"),
        ["edge-c (site_south): nebula_lighthouse must be true or false, got 'sometimes'"]),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    cases = dict((name, func) for name, (func, dummy) in BAD.items())
    cases["good"] = lambda i: None
    return harness.run_preflight_cases(tmp_path_factory.mktemp("preflight-mesh"), cases, mesh_base, workers=4)


def test_a_valid_mesh_passes(runs):
    result = runs["good"]
    assert result.rc == 0, result
    assert "Fleet preflight passed" in result.out, result
    assert "Nebula lighthouse" not in result.out, result


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_mesh_fails_the_preflight(runs, name):
    result = runs[name]
    assert result.rc != 0, result
    assert list(result.recap) == ["localhost"], result
    assert re.search(r"Fleet preflight: 1 inventory error\(s\)", result.out), result
    for expected in BAD[name][1]:
        assert expected in result.out, result
