# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mesh filters: nebula_node (public: the overlay part of the inventory model), and
_nebula_cert_check, _nebula_ca_status (internal to role ovr.fleet.nebula).

Thin wrappers: the model lives in plugins/module_utils/mesh.py (and
fleet_model.py). Documentation for each filter is in the sidecar
plugins/filter/<name>.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

from ansible_collections.ovr.fleet.plugins.plugin_utils.adapter import call
from ansible_collections.ovr.fleet.plugins.module_utils import mesh


def nebula_node(hostvars, groups, host):
    """Overlay address, groups, lighthouses and static_host_map of ``host``."""
    return call("nebula_node", mesh.nebula_node, hostvars, groups, host)


def nebula_cert_check(printed, name, overlay_cidr, groups, public_key_pem="", ca_fingerprints=None,
                      renew_before_days=30):
    """Why the host certificate printed by ``nebula-cert print -json`` must be re-signed (empty: it is good)."""
    return call("_nebula_cert_check", mesh.cert_check, printed, name, overlay_cidr, groups,
                public_key_pem=public_key_pem, ca_fingerprints=ca_fingerprints, renew_before_days=renew_before_days)


def nebula_ca_status(printed, renew_before_days=30):
    """Fingerprint, expiry and days left of the CA printed by ``nebula-cert print -json``."""
    return call("_nebula_ca_status", mesh.ca_status, printed, renew_before_days=renew_before_days)


class FilterModule(object):
    """ovr.fleet mesh filters."""

    def filters(self):
        return {
            "nebula_node": nebula_node,
            "_nebula_cert_check": nebula_cert_check,
            "_nebula_ca_status": nebula_ca_status,
        }
