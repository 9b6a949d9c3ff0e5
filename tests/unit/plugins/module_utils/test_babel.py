# -*- coding: utf-8 -*-
"""Unit tests for plugins/module_utils/babel.py: the sysctls of a mesh relay, the ones to write now
judged from the live values, and the DOCKER-USER interface pairs."""

import pytest

from ansible_collections.ovr.fleet.plugins.module_utils import babel

GOOD_LIVE = ["net.ipv4.ip_forward = 1", "net.ipv4.conf.all.rp_filter = 0", "net.ipv4.conf.default.rp_filter = 0",
             "net.ipv4.conf.eth0.rp_filter = 0", "net.ipv4.conf.eth1.rp_filter = 2"]
IFACES = [{"name": "eth0", "type": "wireless"}, {"name": "eth1", "type": "wired", "rxcost": 1024}]


def test_an_ipv4_mesh_forwards_ipv4_only_with_a_loose_rp_filter():
    assert babel.sysctls(["10.98.9.2/32"], []) == {
        "net.ipv4.ip_forward": "1", "net.ipv4.conf.all.rp_filter": "2", "net.ipv4.conf.default.rp_filter": "2"}
    assert list(babel.sysctls(["10.98.9.2/32"]))[0] == "net.ipv4.ip_forward"


@pytest.mark.parametrize("addresses, announce, default", [
    (["10.98.9.2/32", "fd00:98::2/128"], [], False),
    (["10.98.9.2/32"], ["fd00:10::/64"], False),
    (["10.98.9.2/32"], [], True),
])
def test_ipv6_forwarding_only_where_the_node_routes_ipv6(addresses, announce, default):
    assert babel.sysctls(addresses, announce, default)["net.ipv6.conf.all.forwarding"] == "1"


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="babel_addresses must be a list"):
        babel.sysctls("10.98.9.2/32")
    with pytest.raises(ValueError, match="wanted must be a dict"):
        babel.sysctl_fixes(GOOD_LIVE, ["net.ipv4.ip_forward"])
    with pytest.raises(ValueError, match="needs a name"):
        babel.forward_pairs([{"type": "wired"}])


def test_nothing_is_written_where_the_live_values_are_good():
    """A container node: /proc/sys is read-only and set at its start (rp_filter 0 is good too)."""
    wanted = babel.sysctls(["10.98.9.2/32"])
    assert babel.sysctl_fixes(GOOD_LIVE, wanted, IFACES) == {}
    assert babel.sysctl_fixes("\n".join(GOOD_LIVE), wanted, ["eth0", "eth1"]) == {}


def test_forwarding_off_at_boot_is_switched_on():
    wanted = babel.sysctls(["10.98.9.2/32", "fd00:98::2/128"])
    live = ["net.ipv4.ip_forward = 0", "net.ipv6.conf.all.forwarding = 0", "net.ipv4.conf.all.rp_filter = 2"]
    assert babel.sysctl_fixes(live, wanted, IFACES) == {"net.ipv4.ip_forward": "1",
                                                        "net.ipv6.conf.all.forwarding": "1"}


@pytest.mark.parametrize("strict_key", ["net.ipv4.conf.all.rp_filter", "net.ipv4.conf.eth1.rp_filter"])
def test_a_strict_rp_filter_on_all_or_a_babel_interface_makes_all_loose(strict_key):
    wanted = babel.sysctls(["10.98.9.2/32"])
    live = [line if not line.startswith(strict_key) else "%s = 1" % strict_key for line in GOOD_LIVE]
    assert babel.sysctl_fixes(live, wanted, IFACES) == {"net.ipv4.conf.all.rp_filter": "2"}


def test_a_strict_interface_that_is_no_babel_interface_is_left_alone():
    wanted = babel.sysctls(["10.98.9.2/32"])
    assert babel.sysctl_fixes(GOOD_LIVE + ["net.ipv4.conf.wlan9.rp_filter = 1"], wanted, IFACES) == {}


def test_a_key_the_kernel_did_not_report_is_written_and_fails_there():
    wanted = babel.sysctls(["10.98.9.2/32"])
    assert babel.sysctl_fixes([], wanted, IFACES) == {"net.ipv4.ip_forward": "1",
                                                      "net.ipv4.conf.all.rp_filter": "2"}


def test_forward_pairs_are_every_direction_and_the_same_link_twice():
    assert babel.forward_pairs(IFACES) == [["eth0", "eth0"], ["eth0", "eth1"], ["eth1", "eth0"], ["eth1", "eth1"]]
    assert babel.forward_pairs(["wlan1"]) == [["wlan1", "wlan1"]]
    assert babel.forward_pairs([]) == []
