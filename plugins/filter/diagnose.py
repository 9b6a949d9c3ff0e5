# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cloud link of "why no data?", judged on the controller (module_utils/diagnose.py): filter
_diagnose_cloud_link, internal to role ovr.fleet.diagnose."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.ovr.fleet.plugins.module_utils import diagnose


def diagnose_cloud_link(answer, node, fresh_within=120, now=None):
    """An ansible.builtin.uri result of the cloud query -> the cloud_fresh link."""
    return diagnose.cloud_link(answer, node, fresh_within, now or time.time())


class FilterModule(object):
    def filters(self):
        return {
            '_diagnose_cloud_link': diagnose_cloud_link,
        }
