# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A staged rollout's plan and summary on the controller (module_utils/rollout.py): rollout_plan
(public: a rollout's batches, to preview one), and _rollout_plan_errors, _rollout_summary (internal
to role ovr.fleet.rollout)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.ovr.fleet.plugins.module_utils import rollout


def rollout_plan(hosts, sites=None, batches=None, canary=None, scope="fleet", locked=None):
    """The batches of a rollout (see module_utils/rollout.py)."""
    try:
        return rollout.plan(hosts, sites, batches, canary, scope, locked)
    except rollout.PlanError as error:
        raise AnsibleFilterError("rollout_plan: %s" % error)


def rollout_plan_errors(hosts, sites=None, batches=None, canary=None, scope="fleet", locked=None):
    """[] when the rollout's input makes a plan, else one message naming the variable."""
    return rollout.plan_errors(hosts, sites, batches, canary, scope, locked)


def rollout_summary(plan, records):
    """The end-of-rollout table, timings and failures."""
    return rollout.summary(plan, records or {})


class FilterModule(object):
    def filters(self):
        return {
            'rollout_plan': rollout_plan,
            '_rollout_plan_errors': rollout_plan_errors,
            '_rollout_summary': rollout_summary,
        }
