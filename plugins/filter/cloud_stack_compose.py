# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter internal to role ovr.fleet.cloud_stack: _cloud_stack_compose.

A thin adapter: the model lives in plugins/module_utils/cloud_stack.py. Documentation is in the
sidecar plugins/filter/_cloud_stack_compose.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

from ansible_collections.ovr.fleet.plugins.module_utils import cloud_stack
from ansible_collections.ovr.fleet.plugins.plugin_utils.adapter import build


def cloud_stack_compose(cfg):
    """The Compose project of the cloud node, as a dict (the role renders it with to_nice_yaml)."""
    return build("_cloud_stack_compose", cloud_stack.compose_project, cfg)


class FilterModule(object):
    """ovr.fleet cloud stack filters."""

    def filters(self):
        return {"_cloud_stack_compose": cloud_stack_compose}
