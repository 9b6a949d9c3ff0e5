# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters internal to role ovr.fleet.babel: _babel_sysctls, _babel_sysctl_fixes, _babel_forward_pairs.

Thin adapters: the rules live in plugins/module_utils/babel.py. Documentation for each filter is
in the sidecar plugins/filter/<name>.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

from ansible_collections.ovr.fleet.plugins.module_utils import babel
from ansible_collections.ovr.fleet.plugins.plugin_utils.adapter import call


def babel_sysctls(addresses, announce=None, announce_default=False):
    """The sysctls of a mesh relay, in file order: {key: value}."""
    return call("_babel_sysctls", babel.sysctls, addresses, announce, announce_default)


def babel_sysctl_fixes(lines, wanted, interfaces=None):
    """The sysctls to write now, judged from the live values: {key: value}."""
    return call("_babel_sysctl_fixes", babel.sysctl_fixes, lines, wanted, interfaces)


def babel_forward_pairs(interfaces):
    """Every ordered (in, out) pair of the babel interfaces: [[in, out], ...]."""
    return call("_babel_forward_pairs", babel.forward_pairs, interfaces)


class FilterModule(object):
    """ovr.fleet babel filters."""

    def filters(self):
        return {
            "_babel_sysctls": babel_sysctls,
            "_babel_sysctl_fixes": babel_sysctl_fixes,
            "_babel_forward_pairs": babel_forward_pairs,
        }
