# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every filter of the collection does around its engine (plugins/module_utils): call it,
and turn its refusal into one AnsibleFilterError that names the filter."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

from ansible.errors import AnsibleFilterError

from ansible_collections.ovr.fleet.plugins.module_utils.fleet_model import FleetError


def fail(name, msg):
    """Raise the filter ``name``'s error: ``ovr.fleet.<name>: <msg>``."""
    raise AnsibleFilterError("ovr.fleet.%s: %s" % (name, msg))


def call(name, func, *args, **kwargs):
    """``func(*args, **kwargs)``; an invalid inventory (FleetError) or a ValueError becomes the
    filter's error."""
    try:
        return func(*args, **kwargs)
    except FleetError as exc:
        fail(name, "the inventory is invalid (run playbooks/preflight.yml): %s" % "; ".join(exc.errors))
    except ValueError as exc:
        fail(name, exc)


def build(name, func, cfg, refusal=()):
    """``func(cfg)`` for a builder of a whole document (a Compose project): its own ``refusal``
    says what was wrong; any other KeyError, TypeError or ValueError (a missing or malformed key of
    ``cfg``) is reported with its type."""
    try:
        return func(cfg)
    except refusal as exc:
        fail(name, exc)
    except (KeyError, TypeError, ValueError) as exc:
        fail(name, "%s: %s" % (type(exc).__name__, exc))
