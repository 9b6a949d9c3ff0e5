# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters internal to role ovr.fleet.firewall: _firewall_rules, _firewall_nft, _firewall_admits,
_firewall_env_toggles, _firewall_checks.

Thin adapters: the model lives in plugins/module_utils/firewall.py. Documentation for each
filter is in the sidecar plugins/filter/<name>.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

from ansible_collections.ovr.fleet.plugins.plugin_utils.adapter import call
from ansible_collections.ovr.fleet.plugins.module_utils import firewall


def firewall_rules(cfg):
    """The allow entries of the node: [{name, proto, ports, interfaces, sources4, sources6}]."""
    return call("_firewall_rules", firewall.rules, cfg)


def firewall_nft(entries, chain="input"):
    """The nft rule lines of ``entries`` for the ``input`` or the ``published`` chain."""
    return call("_firewall_nft", firewall.nft, entries, chain)


def firewall_admits(entries, proto, port, interface, source, trusted=None):
    """The name of the first entry that lets the connection in, "loopback"/"trusted interface", else ""."""
    return call("_firewall_admits", firewall.admits, entries, proto, port, interface, source, trusted)


def firewall_checks(raw):
    """The role's checks, one per variable: [{var, ok, msg}]."""
    return call("_firewall_checks", firewall.checks, raw)


def firewall_env_toggles(text, keys=("ALLOW_WIFI_MGMT", "ALLOW_MDNS")):
    """The toggles an env file sets: {key: value} for each of ``keys`` present."""
    return call("_firewall_env_toggles", firewall.env_toggles, text, keys)


class FilterModule(object):
    def filters(self):
        return {
            "_firewall_rules": firewall_rules,
            "_firewall_nft": firewall_nft,
            "_firewall_admits": firewall_admits,
            "_firewall_env_toggles": firewall_env_toggles,
            "_firewall_checks": firewall_checks,
        }
