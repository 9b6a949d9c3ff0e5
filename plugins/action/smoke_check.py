# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin ovr.fleet.smoke_check: read-only smoke checks of a node.

An adapter: it gathers what the node shows with bundled modules run on the node
(community.general.systemd_info, community.general.listen_ports_facts,
community.docker.docker_host_info and docker_container_info, ansible.builtin.uri,
ansible.builtin.command); the checks' rules (validation, which apply, the judgement, the message)
are the engine's, plugins/module_utils/smoke.py. The documentation is plugins/modules/smoke_check.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import contextlib

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.ovr.fleet.plugins.module_utils import smoke


class ActionModule(ActionBase):
    """Gathers with bundled modules on the node, then judges; changes nothing."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("checks", "http_timeout"))
    _supports_check_mode = True
    _supports_async = False

    ARGUMENT_SPEC = {
        "checks": {"type": "list", "elements": "raw", "required": True},
        "http_timeout": {"type": "int", "default": 10},
    }

    @contextlib.contextmanager
    def _gathering(self):
        """Every module run here only reads, so it runs in check mode too (as check_mode: false on a
        task would): ansible.builtin.uri and command would otherwise skip themselves."""
        check_mode = self._task.check_mode
        self._task.check_mode = False
        try:
            yield
        finally:
            self._task.check_mode = check_mode

    def _module(self, name, args, task_vars):
        return self._execute_module(module_name=name, module_args=args, task_vars=task_vars)

    def _units(self, names, task_vars):
        if not names:
            return {}, ""
        return smoke.units_seen(self._module("community.general.systemd_info", {"unitname": names}, task_vars))

    def _ports(self, task_vars):
        return smoke.ports_seen(self._module("community.general.listen_ports_facts", {}, task_vars))

    def _containers(self, projects, task_vars):
        """{project: [docker inspect dict]}, or {project: None} and the error when docker cannot be asked."""
        found = {}
        for project in projects:
            res = self._module("community.docker.docker_host_info",
                               {"containers": True, "containers_all": True,
                                "containers_filters": {"label": "com.docker.compose.project=%s" % project}},
                               task_vars)
            if res.get("failed"):
                return (dict((p, None) for p in projects),
                        smoke.one_line(res.get("msg") or "community.docker.docker_host_info failed"))
            found[project] = []
            for listed in res.get("containers") or []:
                info = self._module("community.docker.docker_container_info", {"name": listed["Id"]}, task_vars)
                # A container removed between the two calls is gone: not counted.
                if not info.get("failed") and info.get("exists"):
                    found[project].append(info["container"])
        return found, ""

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        host = task_vars.get("inventory_hostname", "?")
        dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        checks = args["checks"]
        try:
            smoke.validate_checks(checks)
        except smoke.CheckError as exc:
            raise AnsibleActionFail("%s: %s" % (host, exc))

        try:
            with self._gathering():
                results = self._gather_and_judge(checks, args["http_timeout"], task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        result.update(changed=False, results=results, counts=smoke.count(results), msg=smoke.summary(host, results))
        return result

    def _gather_and_judge(self, checks, http_timeout, task_vars):
        """Asks the node only what the checks that apply need, then judges each check."""
        units, units_error = self._units(smoke.units_named(checks), task_vars)
        plan = smoke.applies(checks, units, units_error)
        ports, projects = smoke.needs(plan)
        seen = {"units": units, "units_error": units_error}
        if ports:
            seen["tcp_listen"], seen["ports_error"] = self._ports(task_vars)
        if projects:
            seen["containers"], seen["docker_error"] = self._containers(projects, task_vars)
        results = []
        for check, reason in plan:
            answer = None
            if not reason and check["type"] == "http":
                answer = self._module("ansible.builtin.uri", smoke.uri_args(check, http_timeout), task_vars)
            elif not reason and check["type"] == "command":
                answer = self._module("ansible.builtin.command", {"cmd": check["cmd"]}, task_vars)
            results.append(smoke.result(check, reason, dict(seen, answer=answer)))
        return results
