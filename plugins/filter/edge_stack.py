# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters internal to role ovr.fleet.edge_stack: _edge_stack_peers, _edge_stack_nginx_patterns,
_edge_stack_compose.

Thin adapters: the model lives in plugins/module_utils/edge_stack.py. Documentation for each
filter is in the sidecar plugins/filter/<name>.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

from ansible_collections.ovr.fleet.plugins.module_utils import edge_stack
from ansible_collections.ovr.fleet.plugins.plugin_utils.adapter import build, call


def edge_stack_peers(peers, hostvars=None, default_port=80, resolved=None, transport="lan"):
    """The peers of ``ovr.fleet.site_peers`` with their nginx ``http_port`` and ``upstream``."""
    return call("_edge_stack_peers", edge_stack.upstreams, peers, hostvars, default_port, resolved, transport)


def edge_stack_nginx_patterns(paths):
    """The two regexes the nginx routes are made of: ``vm_paths`` and ``peer_id``."""
    return call("_edge_stack_nginx_patterns", edge_stack.nginx_patterns, paths)


def edge_stack_compose(cfg):
    """The Compose project of an edge node, as a dict (the role renders it with to_nice_yaml)."""
    return build("_edge_stack_compose", edge_stack.compose_project, cfg, edge_stack.EdgeStackError)


class FilterModule(object):
    """ovr.fleet edge stack filters."""

    def filters(self):
        return {
            "_edge_stack_peers": edge_stack_peers,
            "_edge_stack_nginx_patterns": edge_stack_nginx_patterns,
            "_edge_stack_compose": edge_stack_compose,
        }
