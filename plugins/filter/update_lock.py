# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check an update lock's duration and end on the controller (module_utils/update_lock.py): filter
_update_lock_errors, internal to role ovr.fleet.update_lock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ovr.fleet.plugins.module_utils import update_lock


def update_lock_errors(duration, expires=None):
    """The problems of update_lock_duration / update_lock_expires, one message each ([] if fine)."""
    return update_lock.errors(duration, expires)


class FilterModule(object):
    def filters(self):
        return {
            '_update_lock_errors': update_lock_errors,
        }
