# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Smoke check filters: smoke_plan, smoke_results (used by the ovr.fleet.smoke role).

The role gathers, read-only, what a node shows (docker inspect, ss -ltnH, systemctl show, HTTP
answers, commands); these pure functions decide which checks apply and what failed, with what
was expected and what was seen. Documentation for each filter is in plugins/filter/<name>.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import re

from ansible.errors import AnsibleFilterError

TYPES = ("containers", "port", "http", "unit", "command")


def _units(systemctl_show):
    """Parses `systemctl show -p Id,LoadState,ActiveState,SubState u1 u2...` into {id: props}."""
    units = {}
    for block in re.split(r"\n\s*\n", systemctl_show or ""):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if props.get("Id"):
            units[props["Id"]] = props
    return units


def smoke_plan(checks, systemctl_show=""):
    """Validates the checks and marks those that do not apply (``skip`` set, or ``when_unit`` not installed)."""
    units = _units(systemctl_show)
    plan = []
    for index, check in enumerate(checks or []):
        if not isinstance(check, dict) or not check.get("name") or check.get("type") not in TYPES:
            raise AnsibleFilterError("ovr.fleet.smoke_plan: check %d needs a name and a type among %s: %r"
                                     % (index, ", ".join(TYPES), check))
        item = dict(check, id=index, skip_reason="")
        if check.get("skip") in (True, "true", "True"):
            item["skip_reason"] = "skipped by its skip setting"
        elif check.get("when_unit") and units.get(check["when_unit"], {}).get("LoadState") != "loaded":
            item["skip_reason"] = "%s is not installed" % check["when_unit"]
        elif check["type"] == "unit" and check.get("optional") and \
                units.get(check.get("unit"), {}).get("LoadState") != "loaded":
            item["skip_reason"] = "%s is not installed" % check.get("unit")
        plan.append(item)
    return plan


def _check_containers(check, containers):
    if containers is None:
        return "containers of project %s" % check.get("project"), "docker could not be asked (is it installed?)"
    project = check.get("project")
    mine = [c for c in containers
            if (c.get("Config", {}).get("Labels") or {}).get("com.docker.compose.project") == project]
    by_service = {}
    for cont in mine:
        by_service.setdefault(cont["Config"]["Labels"].get("com.docker.compose.service", "?"), []).append(cont)
    wanted = check.get("services") or sorted(by_service)
    expected = "project %s: %s running%s" % (project, ", ".join(wanted) or "at least one container",
                                             " and healthy" if check.get("healthy", True) else "")
    if not wanted:
        return expected, "no container of project %s" % project
    bad = []
    for service in wanted:
        if service not in by_service:
            bad.append("%s: no container" % service)
            continue
        for cont in by_service[service]:
            state = cont.get("State", {})
            health = (state.get("Health") or {}).get("Status")
            if state.get("Status") != "running":
                bad.append("%s: %s (exit %s)" % (service, state.get("Status"), state.get("ExitCode")))
            elif check.get("healthy", True) and health and health != "healthy":
                bad.append("%s: %s" % (service, health))
    return expected, "; ".join(bad)


def _check_port(check, ss_output):
    port = str(check.get("port"))
    address = check.get("address")
    listening = []
    for line in (ss_output or "").splitlines():
        fields = line.split()
        local = fields[3] if len(fields) >= 4 and fields[0] == "LISTEN" else (fields[0] if len(fields) == 1 else None)
        if local and local.rpartition(":")[2] == port:
            listening.append(local.rpartition(":")[0])
    expected = "a TCP listener on %s:%s" % (address or "*", port)
    if not listening:
        return expected, "nothing listens on port %s" % port
    if address and address not in listening and not {"*", "0.0.0.0", "[::]"} & set(listening):
        return expected, "port %s listens on %s only" % (port, ", ".join(listening))
    return expected, ""


def _json_body(result):
    if "json" in result:
        return True, result["json"]
    try:
        return True, json.loads(result.get("content") or "")
    except ValueError:
        return False, None


def _check_http(check, result):
    want_status = check.get("status", 200)
    want_status = [int(s) for s in (want_status if isinstance(want_status, list) else [want_status])]
    parts = ["HTTP %s" % "/".join(str(s) for s in want_status)]
    if check.get("json_type"):
        parts.append("a JSON %s" % check["json_type"])
    if check.get("json"):
        parts.append("JSON with %s" % json.dumps(check["json"], sort_keys=True))
    if check.get("contains"):
        parts.append("a body containing %r" % check["contains"])
    expected = "%s %s: %s" % (check.get("method", "GET"), check.get("url"), ", ".join(parts))
    if result is None:
        return expected, "no answer was gathered"
    status = result.get("status", -1)
    if status not in want_status:
        seen = "HTTP %s" % status if status and status > 0 else "no HTTP answer (%s)" % result.get("msg", "")
        body = (result.get("content") or "").strip()
        return expected, seen + (": %s" % body[:160] if body else "")
    if check.get("contains") and check["contains"] not in (result.get("content") or ""):
        return expected, "body %r" % (result.get("content") or "")[:160]
    if check.get("json_type") or check.get("json"):
        ok, body = _json_body(result)
        if not ok:
            return expected, "not JSON: %r" % (result.get("content") or "")[:160]
        kinds = {"object": dict, "list": list}
        if check.get("json_type") and not isinstance(body, kinds.get(check["json_type"], object)):
            return expected, "JSON %s" % type(body).__name__
        for key, value in (check.get("json") or {}).items():
            if not isinstance(body, dict) or key not in body:
                return expected, "JSON without %r: %s" % (key, json.dumps(body)[:160])
            if value is not None and body[key] != value:
                return expected, "JSON %s=%s" % (key, json.dumps(body[key])[:160])
    return expected, ""


def _check_unit(check, units):
    unit = check.get("unit")
    want = check.get("state", "active")
    props = units.get(unit, {})
    expected = "%s %s" % (unit, want)
    if props.get("LoadState") != "loaded":
        return expected, "%s is %s" % (unit, props.get("LoadState", "unknown"))
    if props.get("ActiveState") != want:
        return expected, "%s is %s (%s)" % (unit, props.get("ActiveState"), props.get("SubState"))
    return expected, ""


def _check_command(check, result):
    want_rc = int(check.get("rc", 0))
    expected = "`%s` exits %d%s" % (check.get("cmd"), want_rc,
                                    " with output matching %r" % check["stdout"] if check.get("stdout") else "")
    if result is None:
        return expected, "the command did not run"
    if result.get("rc") != want_rc:
        return expected, "exit %s: %s" % (result.get("rc"), (result.get("stderr") or result.get("stdout") or "")[:160])
    if check.get("stdout") and not re.search(check["stdout"], result.get("stdout") or ""):
        return expected, "output %r" % (result.get("stdout") or "")[:160]
    return expected, ""


def smoke_results(plan, containers=None, ss_output="", systemctl_show="", http=None, commands=None):
    """One result per check: {name, type, status: pass|fail|skip, expected, seen}."""
    units = _units(systemctl_show)
    http = {r["item"]["id"]: r for r in (http or []) if isinstance(r, dict) and "item" in r and not r.get("skipped")}
    commands = {r["item"]["id"]: r for r in (commands or []) if isinstance(r, dict) and "item" in r and not r.get("skipped")}
    if isinstance(containers, str):
        try:
            containers = json.loads(containers) if containers.strip() else []
        except ValueError:
            containers = None
    results = []
    for check in plan:
        if check.get("skip_reason"):
            results.append({"name": check["name"], "type": check["type"], "status": "skip",
                            "expected": "", "seen": check["skip_reason"]})
            continue
        kind = check["type"]
        if kind == "containers":
            expected, problem = _check_containers(check, containers)
        elif kind == "port":
            expected, problem = _check_port(check, ss_output)
        elif kind == "http":
            expected, problem = _check_http(check, http.get(check["id"]))
        elif kind == "unit":
            expected, problem = _check_unit(check, units)
        else:
            expected, problem = _check_command(check, commands.get(check["id"]))
        results.append({"name": check["name"], "type": kind, "status": "fail" if problem else "pass",
                        "expected": expected, "seen": problem or "as expected"})
    return results


class FilterModule(object):
    """Smoke check filters."""

    def filters(self):
        return {"smoke_plan": smoke_plan, "smoke_results": smoke_results}
