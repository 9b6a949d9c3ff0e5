# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters internal to role ovr.fleet.wifi: _wifi_networks, _wifi_csv, _wifi_keyfile_string,
_wifi_keyfile_ssid, _wifi_not_loaded.

Thin wrappers: the rules live in plugins/module_utils/wifi.py (also used by the fleet preflight
and, on the node, as the validator of the files the ovr.fleet.wifi role writes). Documentation
for each filter is in the sidecar plugins/filter/<name>.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

from ansible.errors import AnsibleFilterError

from ansible_collections.ovr.fleet.plugins.module_utils import wifi


def wifi_networks(site, node=None, csv_text=None, csv_name="the Wi-Fi CSV"):
    """``{networks, errors}``: the node's merged, checked networks (site list, CSV, node list)."""
    networks, errors = wifi.merge(site=site, node=node, csv_text=csv_text or None, csv_name=csv_name)
    return {"networks": networks if not errors else [], "errors": errors}


def wifi_csv(networks):
    """The text of /etc/ovr/wifi_networks.csv for these (checked) networks."""
    return wifi.to_csv(networks)


def wifi_keyfile_string(text):
    """A string value escaped the way a NetworkManager keyfile (GKeyFile) reads it."""
    return wifi.keyfile_string(str(text))


def wifi_keyfile_ssid(ssid):
    """The ``ssid=`` value: plain text when safe, else NetworkManager's byte list."""
    try:
        return wifi.keyfile_ssid(wifi.check_ssid(str(ssid)))
    except ValueError as exc:
        raise AnsibleFilterError("ovr.fleet._wifi_keyfile_ssid: %s" % exc)


def wifi_not_loaded(lines, networks, directory):
    """Messages for the profiles NetworkManager did not load as expected."""
    return wifi.loaded_errors(lines, networks, directory)


class FilterModule(object):
    """ovr.fleet Wi-Fi filters."""

    def filters(self):
        return {
            "_wifi_networks": wifi_networks,
            "_wifi_csv": wifi_csv,
            "_wifi_keyfile_string": wifi_keyfile_string,
            "_wifi_keyfile_ssid": wifi_keyfile_ssid,
            "_wifi_not_loaded": wifi_not_loaded,
        }
