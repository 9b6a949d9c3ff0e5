# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smoke checks' engine: the check definitions validated, which checks apply on a node, what
must be gathered for them, each check judged from what was gathered, and the run's one message.

The action plugin ovr.fleet.smoke_check (plugins/action/smoke_check.py) gathers with bundled
modules run on the node (community.general.systemd_info, community.general.listen_ports_facts,
community.docker.docker_host_info and docker_container_info, ansible.builtin.uri,
ansible.builtin.command) and hands their answers here; nothing here talks to a host, so every rule
is tested without one (tests/unit/plugins/module_utils/test_smoke.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import re

from ansible.module_utils.parsing.convert_bool import boolean

TYPES = ("containers", "port", "http", "unit", "command")

# Keys every check may have, then the keys of each type: {key: required}.
COMMON_KEYS = {"name": True, "type": True, "when_unit": False, "skip": False}
TYPE_KEYS = {
    "containers": {"project": True, "services": False, "healthy": False},
    "port": {"port": True, "address": False},
    "http": {"url": True, "method": False, "headers": False, "body": False, "url_username": False,
             "url_password": False, "validate_certs": False, "status": False, "json": False,
             "json_type": False, "contains": False},
    "unit": {"unit": True, "state": False, "optional": False},
    "command": {"cmd": True, "rc": False, "stdout": False},
}
# The unit kinds community.general.systemd_info reports on.
UNIT_SUFFIXES = (".service", ".target", ".socket", ".mount", ".timer")
JSON_TYPES = {"object": dict, "list": list}
# Addresses a listener on every interface shows in listen_ports_facts (ss prints them as
# 0.0.0.0, [::] and *).
ANY_ADDRESS = frozenset(("*", "0.0.0.0", "::"))
EXCERPT = 160
# ansible.builtin.uri's message when no answer came lists every accepted status (100-599 here).
URI_STATUS_PREFIX = re.compile(r"^Status code was -?\d+ and not \[[^\]]*\]: ")


class CheckError(ValueError):
    """A check definition that cannot be run; the message names the check."""


# ---- validation and plan --------------------------------------------------------------------

def _label(index, check):
    name = check.get("name") if isinstance(check, dict) else None
    return "check %d (%s)" % (index + 1, name) if isinstance(name, str) and name else "check %d" % (index + 1)


def _is_int(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.strip().isdigit()


def _to_bool(value):
    """A boolean, also from a templated string ('true', 'False', 'yes'); ValueError when neither."""
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise ValueError(value)


def _unit_problem(unit):
    if not isinstance(unit, str) or not unit:
        return "must be a unit name"
    if any(c in unit for c in "*?["):
        return "must be one unit name, not a pattern: %s" % unit
    if not unit.endswith(UNIT_SUFFIXES):
        return "must name a unit of kind %s: %s" % (", ".join(s[1:] for s in UNIT_SUFFIXES), unit)
    return None


def _problems(check):
    """What is wrong with one check definition (empty when it can run)."""
    if not isinstance(check, dict):
        return ["must be a dict with name and type, got a %s" % type(check).__name__]
    problems = []
    if not isinstance(check.get("name"), str) or not check.get("name"):
        problems.append("needs a name")
    kind = check.get("type")
    if kind not in TYPES:
        problems.append("type must be one of %s, got %r" % (", ".join(TYPES), kind))
        return problems
    keys = dict(COMMON_KEYS, **TYPE_KEYS[kind])
    unknown = sorted(str(k) for k in check if k not in keys)
    if unknown:
        problems.append("unknown key(s) for a %s check: %s (known: %s)" % (kind, ", ".join(unknown), ", ".join(sorted(keys))))
    missing = [k for k, required in keys.items() if required and check.get(k) in (None, "")]
    if missing:
        problems.append("a %s check needs %s" % (kind, ", ".join(missing)))

    def flag(key):
        if key in check:
            try:
                _to_bool(check[key])
            except ValueError:
                problems.append("%s must be true or false, got %r" % (key, check[key]))

    def text(key):
        if check.get(key) is not None and not isinstance(check[key], str):
            problems.append("%s must be a string, got %r" % (key, check[key]))

    flag("skip")
    if check.get("when_unit") is not None and _unit_problem(check["when_unit"]):
        problems.append("when_unit %s" % _unit_problem(check["when_unit"]))
    if kind == "containers":
        text("project")
        services = check.get("services")
        if services is not None and (not isinstance(services, list)
                                     or not all(isinstance(s, str) and s for s in services)):
            problems.append("services must be a list of service names, got %r" % (services,))
        flag("healthy")
    elif kind == "port":
        if "port" in check and not (_is_int(check["port"]) and 0 < int(check["port"]) < 65536):
            problems.append("port must be a TCP port number (1-65535), got %r" % (check["port"],))
        text("address")
    elif kind == "http":
        for key in ("url", "method", "url_username", "contains"):
            text(key)
        # url_password is a secret: named, never shown.
        if check.get("url_password") is not None and not isinstance(check["url_password"], str):
            problems.append("url_password must be a string")
        if check.get("headers") is not None and not isinstance(check["headers"], dict):
            problems.append("headers must be a dict")
        flag("validate_certs")
        status = check.get("status", 200)
        statuses = status if isinstance(status, list) else [status]
        if not statuses or not all(_is_int(s) and 100 <= int(s) <= 599 for s in statuses):
            problems.append("status must be an HTTP status (100-599) or a list of them, got %r" % (status,))
        if check.get("json") is not None and not isinstance(check["json"], dict):
            problems.append("json must be a dict of {key: value} (null value: the key is present), got %r" % (check["json"],))
        if check.get("json_type") is not None and check["json_type"] not in JSON_TYPES:
            problems.append("json_type must be one of %s, got %r" % (", ".join(JSON_TYPES), check["json_type"]))
    elif kind == "unit":
        if "unit" in check and _unit_problem(check["unit"]):
            problems.append("unit %s" % _unit_problem(check["unit"]))
        text("state")
        flag("optional")
    elif kind == "command":
        text("cmd")
        if "rc" in check and not _is_int(check["rc"]):
            problems.append("rc must be an exit code, got %r" % (check["rc"],))
        text("stdout")
        if isinstance(check.get("stdout"), str):
            try:
                re.compile(check["stdout"])
            except re.error as exc:
                problems.append("stdout is not a valid regular expression: %s" % exc)
    return problems


def validate_checks(checks):
    """Raises CheckError naming every check that cannot run and why."""
    if not isinstance(checks, list):
        raise CheckError("checks must be a list of checks, got a %s" % type(checks).__name__)
    errors = []
    for index, check in enumerate(checks):
        errors.extend("%s: %s" % (_label(index, check), p) for p in _problems(check))
    if errors:
        raise CheckError("%d bad smoke check definition(s): %s" % (len(errors), "; ".join(errors)))


def units_named(checks):
    """The systemd units the checks need to know about (unit checks and when_unit), in order."""
    names = []
    for check in checks:
        for key in ("unit", "when_unit") if check["type"] == "unit" else ("when_unit",):
            if check.get(key) and check[key] not in names:
                names.append(check[key])
    return names


def _loaded(units, unit):
    return (units.get(unit) or {}).get("loadstate") == "loaded"


def skip_reason(check, units, units_error=""):
    """Why a valid check does not apply on this node ('' when it does)."""
    if _to_bool(check.get("skip", False)):
        return "skipped by its skip setting"
    why = " (systemd could not be asked)" if units_error else ""
    if check.get("when_unit") and not _loaded(units, check["when_unit"]):
        return "%s is not installed%s" % (check["when_unit"], why)
    if check["type"] == "unit" and _to_bool(check.get("optional", False)) and not _loaded(units, check["unit"]):
        return "%s is not installed%s" % (check["unit"], why)
    return ""


def applies(checks, units, units_error=""):
    """[(check, why it is skipped)] in the checks' order; an empty reason: the check applies."""
    return [(check, skip_reason(check, units, units_error)) for check in checks]


def needs(plan):
    """What the checks that apply need gathered, once each: (whether the TCP listeners are read,
    the Compose projects whose containers are inspected, in order)."""
    active = [check for check, reason in plan if not reason]
    projects = []
    for check in active:
        if check["type"] == "containers" and check["project"] not in projects:
            projects.append(check["project"])
    return any(c["type"] == "port" for c in active), projects


# ---- judging: (expected, problem); an empty problem is a pass ----------------------------------

def judge_containers(check, containers, error=""):
    """containers: docker inspect dicts (docker_container_info) of the project; None when docker could not be asked."""
    project = check["project"]
    healthy = _to_bool(check.get("healthy", True))
    by_service = {}
    for cont in containers or []:
        labels = (cont.get("Config") or {}).get("Labels") or {}
        if labels.get("com.docker.compose.project") == project:
            by_service.setdefault(labels.get("com.docker.compose.service", "?"), []).append(cont)
    wanted = list(check.get("services") or sorted(by_service))
    expected = "project %s: %s running%s" % (project, ", ".join(wanted) or "at least one container",
                                             " and healthy" if healthy else "")
    if containers is None:
        return expected, "docker could not be asked (is it installed and running?)%s" % (": %s" % error if error else "")
    if not wanted:
        return expected, "no container of project %s" % project
    bad = []
    for service in wanted:
        if service not in by_service:
            bad.append("%s: no container" % service)
            continue
        for cont in by_service[service]:
            state = cont.get("State") or {}
            health = (state.get("Health") or {}).get("Status")
            if state.get("Status") != "running":
                bad.append("%s: %s (exit %s)" % (service, state.get("Status"), state.get("ExitCode")))
            elif healthy and health and health != "healthy":
                bad.append("%s: %s" % (service, health))
    return expected, "; ".join(bad)


def one_line(text):
    """A module's message on one line (systemctl and docker errors come on several)."""
    return " ".join(str(text or "").split())


def _bare(address):
    return (address or "").strip("[]")


def judge_port(check, tcp_listen, error=""):
    """tcp_listen: ansible_facts.tcp_listen of community.general.listen_ports_facts; None when it failed."""
    port = int(check["port"])
    address = _bare(check.get("address"))
    expected = "a TCP listener on %s:%s" % (address or "*", port)
    if tcp_listen is None:
        return expected, "the listening ports could not be read%s" % (": %s" % error if error else "")
    listening = []
    for entry in tcp_listen:
        if int(entry.get("port", -1)) == port and _bare(entry.get("address")) not in listening:
            listening.append(_bare(entry.get("address")))
    if not listening:
        return expected, "nothing listens on port %s" % port
    if address and address not in listening and not ANY_ADDRESS & set(listening):
        return expected, "port %s listens on %s only" % (port, ", ".join(listening))
    return expected, ""


def http_statuses(check):
    status = check.get("status", 200)
    return [int(s) for s in (status if isinstance(status, list) else [status])]


def _json_body(result):
    if "json" in result:
        return True, result["json"]
    try:
        return True, json.loads(result.get("content") or "")
    except ValueError:
        return False, None


def judge_http(check, result):
    """result: what ansible.builtin.uri returned for the check (every status accepted); None when it did not run."""
    want_status = http_statuses(check)
    parts = ["HTTP %s" % "/".join(str(s) for s in want_status)]
    if check.get("json_type"):
        parts.append("a JSON %s" % check["json_type"])
    if check.get("json"):
        parts.append("JSON with %s" % json.dumps(check["json"], sort_keys=True))
    if check.get("contains"):
        parts.append("a body containing %r" % check["contains"])
    expected = "%s %s: %s" % (check.get("method", "GET"), check["url"], ", ".join(parts))
    if result is None:
        return expected, "no answer was gathered"
    status = result.get("status", -1)
    content = result.get("content") or ""
    if status not in want_status:
        seen = "HTTP %s" % status if status and status > 0 else \
            "no HTTP answer (%s)" % URI_STATUS_PREFIX.sub("", one_line(result.get("msg")))
        body = content.strip()
        return expected, seen + (": %s" % body[:EXCERPT] if body else "")
    if check.get("contains") and check["contains"] not in content:
        return expected, "body %r" % content[:EXCERPT]
    if check.get("json_type") or check.get("json"):
        ok, body = _json_body(result)
        if not ok:
            return expected, "not JSON: %r" % content[:EXCERPT]
        if check.get("json_type") and not isinstance(body, JSON_TYPES[check["json_type"]]):
            return expected, "JSON %s" % type(body).__name__
        for key, value in (check.get("json") or {}).items():
            if not isinstance(body, dict) or key not in body:
                return expected, "JSON without %r: %s" % (key, json.dumps(body)[:EXCERPT])
            if value is not None and body[key] != value:
                return expected, "JSON %s=%s" % (key, json.dumps(body[key])[:EXCERPT])
    return expected, ""


def judge_unit(check, units, error=""):
    """units: community.general.systemd_info's units ({name: {loadstate, activestate, substate}})."""
    unit = check["unit"]
    want = check.get("state", "active")
    expected = "%s %s" % (unit, want)
    if error:
        return expected, "systemd could not be asked: %s" % error
    info = units.get(unit) or {}
    if info.get("loadstate") != "loaded":
        return expected, "%s is %s" % (unit, info.get("loadstate") or "not loaded (not installed, or disabled and stopped)")
    if info.get("activestate") != want:
        return expected, "%s is %s (%s)" % (unit, info.get("activestate"), info.get("substate"))
    return expected, ""


def judge_command(check, result):
    """result: what ansible.builtin.command returned; None when it did not run."""
    want_rc = int(check.get("rc", 0))
    expected = "`%s` exits %d%s" % (check["cmd"], want_rc,
                                    " with output matching %r" % check["stdout"] if check.get("stdout") else "")
    if result is None:
        return expected, "the command did not run"
    if result.get("rc") != want_rc:
        said = one_line(result.get("stderr") or result.get("stdout") or result.get("msg"))
        return expected, "exit %s: %s" % (result.get("rc"), said[:EXCERPT])
    if check.get("stdout") and not re.search(check["stdout"], result.get("stdout") or ""):
        return expected, "output %r" % (result.get("stdout") or "")[:EXCERPT]
    return expected, ""


def judge(check, seen):
    """One result {name, type, status: pass|fail, expected, seen} from what was gathered.

    seen: {"units": dict, "units_error": str, "tcp_listen": list or None, "ports_error": str,
    "containers": {project: list or None}, "docker_error": str, "answer": uri or command result}.
    """
    kind = check["type"]
    if kind == "containers":
        expected, problem = judge_containers(check, seen.get("containers", {}).get(check["project"]),
                                             seen.get("docker_error", ""))
    elif kind == "port":
        expected, problem = judge_port(check, seen.get("tcp_listen"), seen.get("ports_error", ""))
    elif kind == "http":
        expected, problem = judge_http(check, seen.get("answer"))
    elif kind == "unit":
        expected, problem = judge_unit(check, seen.get("units") or {}, seen.get("units_error", ""))
    else:
        expected, problem = judge_command(check, seen.get("answer"))
    return {"name": check["name"], "type": kind, "status": "fail" if problem else "pass",
            "expected": expected, "seen": problem or "as expected"}


def skipped(check, reason):
    return {"name": check["name"], "type": check["type"], "status": "skip", "expected": "", "seen": reason}


def result(check, reason, seen):
    """The result of a check: skipped for its ``reason``, else judged from ``seen`` (see judge)."""
    return skipped(check, reason) if reason else judge(check, seen)


def units_seen(answer):
    """(units, error) from what community.general.systemd_info returned."""
    if answer.get("failed"):
        # systemd_info fails when none of the names is a unit systemd has loaded.
        if str(answer.get("msg", "")).startswith("No units match"):
            return {}, ""
        return {}, one_line(answer.get("msg") or "community.general.systemd_info failed")
    return answer.get("units") or {}, ""


def ports_seen(answer):
    """(tcp_listen or None, error) from what community.general.listen_ports_facts returned."""
    if answer.get("failed"):
        return None, one_line(answer.get("msg") or "community.general.listen_ports_facts failed")
    return (answer.get("ansible_facts") or {}).get("tcp_listen") or [], ""


def count(results):
    counts = {"pass": 0, "fail": 0, "skip": 0}
    for result in results:
        counts[result["status"]] += 1
    counts["total"] = len(results)
    return counts


def summary(host, results):
    """The one message of a run: every failed check with what was expected and seen, or the pass count."""
    counts = count(results)
    if counts["fail"]:
        return "%s: %d of %d smoke checks FAILED. %s" % (
            host, counts["fail"], counts["pass"] + counts["fail"],
            " ".join("[%s] expected %s; saw %s." % (r["name"], r["expected"], r["seen"])
                     for r in results if r["status"] == "fail"))
    return "%s: all %d smoke checks passed (%d skipped)." % (host, counts["pass"], counts["skip"])


def uri_args(check, timeout):
    """ansible.builtin.uri arguments of an http check: every status is an answer, judged afterwards."""
    args = {"url": check["url"], "method": check.get("method", "GET"), "headers": check.get("headers") or {},
            "validate_certs": _to_bool(check.get("validate_certs", True)), "follow_redirects": "none",
            "return_content": True, "timeout": int(timeout), "status_code": list(range(100, 600))}
    if check.get("body") is not None:
        args["body"] = check["body"]
    if check.get("url_username"):
        args.update(url_username=check["url_username"], url_password=check.get("url_password") or "",
                    force_basic_auth=True)
    return args
