# -*- coding: utf-8 -*-
"""The identity checks of the fleet preflight (plugins/module_utils/identity.py) through REAL
ansible-playbook runs of playbooks/preflight.yml, with the harness of test_preflight.py: a revoked
node still listed in edge or cloud, a certificate name claimed by two hosts, a malformed or not
fleet-wide ovr_identity_revoked. Every message names the host (or the list entry) and the variable,
and no host is contacted."""

import re

import pytest

import test_preflight as harness


def _cloud(inv):
    hosts = inv["all"]["children"]["cloud"]["hosts"]
    if hosts.get("cloud-1") is None:
        hosts["cloud-1"] = {}
    return hosts["cloud-1"]


def _revoked(inv, value):
    inv["all"]["vars"]["ovr_identity_revoked"] = value


BAD = {
    "revoked_still_in_edge": (
        lambda i: _revoked(i, [{"name": "edge-b", "reason": "key_compromise", "note": "stolen"}]),
        ["edge-b (site_north): is revoked by ovr_identity_revoked[0] (key_compromise) but is still in group edge: "
         "remove it from the inventory's edge group"]),
    "revoked_still_in_cloud": (
        lambda i: _revoked(i, [{"name": "cloud-1", "reason": "cessation_of_operation"}]),
        ["cloud-1: is revoked by ovr_identity_revoked[0] (cessation_of_operation) but is still in group cloud"]),
    "subject_claimed_twice": (
        lambda i: _cloud(i).update(identity_cert_sans=["edge-c"]),
        ["edge-c (site_south): certificate name 'edge-c' (from its inventory hostname) is also cloud-1's "
         "(from its identity_cert_sans): a certificate subject names one node only"]),
    "bad_reason": (
        lambda i: _revoked(i, [{"name": "edge-z", "reason": "stolen"}]),
        ["ovr_identity_revoked[0] (edge-z) reason must be one of unspecified, key_compromise"]),
    "not_fleet_wide": (
        lambda i: _cloud(i).update(ovr_identity_revoked=[{"name": "edge-z", "reason": "key_compromise"}]),
        ["ovr_identity_revoked differs between hosts (", "set it once, in group_vars/all"]),
}
GOOD = {
    # a stolen node taken out of the inventory; one certificate of a node that stays
    "revoked_and_gone": lambda i: (
        harness._sites(i)["site_north"]["hosts"].pop("edge-b"),
        _revoked(i, [{"name": "edge-b", "reason": "key_compromise"},
                     {"name": "edge-a", "reason": "key_compromise", "fingerprint": "AB:" * 31 + "AB"}])),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    cases = dict((name, func) for name, (func, dummy) in BAD.items())
    cases.update(GOOD)
    return harness.run_preflight_cases(tmp_path_factory.mktemp("preflight-identity"), cases, harness.base, workers=3)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_a_valid_revocation_passes(runs, name):
    result = runs[name]
    assert result.rc == 0, result
    assert "Fleet preflight passed" in result.out, result


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_identity_fails_the_preflight(runs, name):
    result = runs[name]
    assert result.rc != 0, result
    assert list(result.recap) == ["localhost"], result
    assert re.search(r"Fleet preflight: 1 inventory error\(s\)", result.out), result
    for expected in BAD[name][1]:
        assert expected in result.out, result
