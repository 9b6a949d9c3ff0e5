# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet model filters: overlay_ip, site_of, site_peers, fleet_errors,
fleet_warnings, fleet_model.

Thin wrappers: the model lives in plugins/module_utils/fleet_model.py; the preflight's filters
(fleet_errors, fleet_warnings, fleet_model) add the identity checks of identity.py.
Documentation for each filter is in the sidecar plugins/filter/<name>.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

from ansible_collections.ovr.fleet.plugins.module_utils import fleet_model as model
from ansible_collections.ovr.fleet.plugins.module_utils import identity
from ansible_collections.ovr.fleet.plugins.plugin_utils.adapter import call


def overlay_ip(site_id, node_id, prefix=False):
    """``10.231.<site>.<node>``; ``prefix=true`` appends ``/16``."""
    return call("overlay_ip", model.overlay_ip, site_id, node_id, prefix=prefix)


def site_of(groups, host):
    """The site group (``site_<name>``) of ``host``."""
    return call("site_of", model.site_of, groups, host)


def site_peers(hostvars, groups, host):
    """The other edge nodes of ``host``'s site, sorted by node id."""
    return call("site_peers", model.site_peers, hostvars, groups, host)


def fleet_errors(hostvars, groups, require_cloud=False):
    """Every inventory error, one line each, naming the host or group and the variable."""
    return call("fleet_errors", lambda: identity.validate_fleet(hostvars, groups, require_cloud=require_cloud).errors)


def fleet_warnings(hostvars, groups):
    """Things that are legal but probably not what was meant."""
    return call("fleet_warnings", lambda: identity.validate_fleet(hostvars, groups).warnings)


def fleet_model(hostvars, groups, require_cloud=False):
    """The derived model: sites with their nodes, cloud nodes, errors, warnings."""
    return call("fleet_model", identity.fleet_model, hostvars, groups, require_cloud=require_cloud)


class FilterModule(object):
    """ovr.fleet inventory model filters."""

    def filters(self):
        return {
            "overlay_ip": overlay_ip,
            "site_of": site_of,
            "site_peers": site_peers,
            "fleet_errors": fleet_errors,
            "fleet_warnings": fleet_warnings,
            "fleet_model": fleet_model,
        }
