# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load, once in the controller's main process, the plugins every task's worker loads again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: preload
type: aggregate
short_description: Load the plugins the tasks use once, before the first task, instead of once per task and host
version_added: "0.1.0"
description:
  - Ansible runs each task for each host in a worker process forked from its main process. A worker
    loads the plugins the task needs (the connection, the shell, become, the lookups, filters and
    tests its templates use) when the main process has not loaded them yet, and that work is lost
    when the worker ends. Loading a connection plugin parses its documentation (its options); the
    first filter of a collection loads every filter module of that collection.
  - This callback loads them in the main process when the playbook starts, so that every worker
    inherits them. On a re-run of C(ovr.fleet.site) that is about a fifth of the controller's CPU
    (the figures are in C(bench/README.md)).
  - It changes nothing else. A plugin that is not installed is left out; without this callback the
    same run is slower, not different.
  - Enable it in C(ansible.cfg) (C(callbacks_enabled = ovr.fleet.preload)); the collection's checkout,
    its AWX project and its Molecule scenarios do.
options:
  plugins:
    description:
      - More plugins to load, each as C(type:name), e.g. C(connection:community.general.lxd) or
        C(filter:ansible.utils.ipaddr) (one filter or test name loads every module of its collection).
        The types are C(connection), C(shell), C(become), C(lookup), C(filter) and C(test).
    type: list
    elements: str
    default: []
    env:
      - name: OVR_PRELOAD_PLUGINS
    ini:
      - section: ovr_preload
        key: plugins
"""

from ansible.plugins.callback import CallbackBase

# What the collection's roles and playbooks use: the connections of the field (SSH), the lab
# (community.docker.docker) and the controller (local); sh and sudo; the lookups the roles call;
# one filter or test name per collection whose filters or tests the templates use.
PLUGINS = (
    "connection:ansible.builtin.ssh",
    "connection:community.docker.docker",
    "connection:ansible.builtin.local",
    "shell:ansible.builtin.sh",
    "become:ansible.builtin.sudo",
    "lookup:ansible.builtin.file",
    "lookup:ansible.builtin.fileglob",
    "lookup:ansible.builtin.env",
    "lookup:ansible.builtin.varnames",
    "lookup:ovr.fleet._template",
    "lookup:ovr.fleet._ui_archive",
    "filter:ansible.builtin.combine",
    "filter:ovr.fleet.site_peers",
    "filter:community.general.dict_kv",
    "test:ansible.builtin.match",
)


def loaders():
    """The plugin loaders by type (imported late: the callback itself must load without them)."""
    from ansible.plugins import loader

    return {
        "connection": loader.connection_loader,
        "shell": loader.shell_loader,
        "become": loader.become_loader,
        "lookup": loader.lookup_loader,
        "filter": loader.filter_loader,
        "test": loader.test_loader,
    }


def preload(specs, by_type):
    """Load each ``type:name`` plugin; the ones that could not be loaded, with why."""
    missed = []
    for spec in specs:
        kind, dummy, name = str(spec).partition(":")
        loader = by_type.get(kind)
        if loader is None or not name:
            missed.append((spec, "not type:name with a type of %s" % ", ".join(sorted(by_type))))
            continue
        try:
            found = loader.get(name, class_only=True) if kind not in ("filter", "test") else loader.get(name)
        except Exception as err:  # pylint: disable=broad-exception-caught
            missed.append((spec, str(err)))
            continue
        if found is None:
            missed.append((spec, "not installed"))
    return missed


class CallbackModule(CallbackBase):
    """Loads the plugins when the playbook starts (in the main process, before any worker forks)."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "ovr.fleet.preload"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook):
        extra = self.get_option("plugins") or []
        for spec, why in preload(list(PLUGINS) + list(extra), loaders()):
            if spec in extra:
                self._display.warning("ovr.fleet.preload: %s was not loaded: %s" % (spec, why))
            else:
                self._display.vvv("ovr.fleet.preload: %s was not loaded: %s" % (spec, why))
