# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A staged rollout's plan and its summary: the one implementation (the ``rollout_*`` filters
and ``playbooks/rollout.yml`` use it). Standard library only, no Ansible import.

The plan: the target edge hosts (in inventory order) are cut into batches. Each scope (the
whole fleet, or each site one after another) starts with a canary batch (the hosts named in
``rollout_canary`` that are in the scope, else the scope's first host that is not locked), then
the batches of ``rollout_batches`` over the rest, as Ansible's ``serial`` reads it: an int is a
number of hosts, ``"N%"`` a share of the scope's hosts after the canary (rounded up, at least
one); the last size repeats until every host has a batch. A locked host keeps its place in a
batch (the summary shows it there, skipped), but is never chosen as the canary.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import math
import re

SCOPES = ("fleet", "site")
RESULTS = ("updated", "rolled back", "skipped-locked", "untouched", "failed")
_PERCENT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


class PlanError(ValueError):
    """Bad rollout input; the message names the variable."""


def parse_batches(batches):
    """rollout_batches -> list of ("count", n) / ("percent", p). Raises PlanError."""
    if isinstance(batches, str):
        # an AWX survey answer or -e rollout_batches=1,25%: one item per comma, space or line
        batches = [b for b in re.split(r"[\s,]+", batches.strip().strip("[]")) if b.strip("'\"")]
        batches = [b.strip("'\"") for b in batches]
    elif isinstance(batches, int) and not isinstance(batches, bool):
        batches = [batches]
    if not isinstance(batches, (list, tuple)) or not batches:
        raise PlanError("rollout_batches must be a non-empty list of host counts (1) and shares ('25%%'), got %r"
                        % (batches,))
    parsed = []
    for item in batches:
        if isinstance(item, bool):
            raise PlanError("rollout_batches: %r is neither a host count nor a share like '25%%'" % (item,))
        if isinstance(item, int) or (isinstance(item, str) and item.strip().isdigit()):
            count = int(item)
            if count < 1:
                raise PlanError("rollout_batches: a host count must be at least 1, got %r" % (item,))
            parsed.append(("count", count))
            continue
        match = _PERCENT_RE.match(item) if isinstance(item, str) else None
        if not match or not 0 < float(match.group(1)) <= 100:
            raise PlanError("rollout_batches: %r is neither a host count (>= 1) nor a share between '1%%' and '100%%'"
                            % (item,))
        parsed.append(("percent", float(match.group(1))))
    return parsed


def batch_sizes(batches, total):
    """Sizes of the batches over ``total`` hosts (serial semantics: the last size repeats)."""
    parsed = parse_batches(batches)
    sizes, left, i = [], total, 0
    while left > 0:
        kind, value = parsed[min(i, len(parsed) - 1)]
        size = value if kind == "count" else int(math.ceil(total * value / 100.0))
        size = max(1, min(size, left))
        sizes.append(size)
        left -= size
        i += 1
    return sizes


def _as_list(value, name):
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[\s,]+", value.strip()) if v]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise PlanError("%s must be a list of host names (or a comma-separated string), got %r" % (name, value))


def plan(hosts, sites=None, batches=None, canary=None, scope="fleet", locked=None):
    """The batches of a rollout.

    hosts: the target edge hosts, in inventory order. sites: {host: site name}. canary: the
    hosts named by rollout_canary. locked: the hosts holding an update lock (never a canary).

    Returns {"batches": [{"name", "index", "site", "canary", "hosts"}], "order": [host...],
    "sizes": [int...], "batch_of": {host: batch name}}. Raises PlanError naming the variable.
    """
    if batches is None:
        batches = [1, "25%", "100%"]
    parse_batches(batches)
    if scope not in SCOPES:
        raise PlanError("rollout_scope must be one of %s, got %r" % (", ".join(SCOPES), scope))
    hosts = list(hosts or [])
    sites = dict(sites or {})
    locked = set(locked or [])
    canary = _as_list(canary, "rollout_canary")
    unknown = [h for h in canary if h not in hosts]
    if unknown:
        raise PlanError("rollout_canary names %s, not among the rollout's edge hosts (%s)"
                        % (", ".join(unknown), ", ".join(hosts) or "none"))
    locked_canary = [h for h in canary if h in locked]
    if locked_canary:
        raise PlanError("rollout_canary names %s, which holds an update lock: pick another canary, "
                        "clear the lock (ovr.fleet.unlock) or set rollout_force" % ", ".join(locked_canary))
    if scope == "site":
        groups = []
        for host in hosts:
            site = sites.get(host, "")
            for group in groups:
                if group[0] == site:
                    group[1].append(host)
                    break
            else:
                groups.append((site, [host]))
    else:
        groups = [("", hosts)]
    result = []
    for site, members in groups:
        named = [h for h in canary if h in members]
        if named:
            first = named
        else:
            free = [h for h in members if h not in locked]
            first = free[:1] or members[:1]
        rest = [h for h in members if h not in first]
        prefix = "%s " % site if site else ""
        result.append({"name": prefix + "canary", "site": site, "canary": True, "hosts": first})
        start = 0
        for number, size in enumerate(batch_sizes(batches, len(rest)), 1):
            result.append({"name": "%sbatch %d" % (prefix, number), "site": site, "canary": False,
                           "hosts": rest[start:start + size]})
            start += size
    for index, batch in enumerate(result, 1):
        batch["index"] = index
    return {
        "batches": result,
        "order": [h for b in result for h in b["hosts"]],
        "sizes": [len(b["hosts"]) for b in result],
        "batch_of": dict((h, b["name"]) for b in result for h in b["hosts"]),
    }


def plan_errors(hosts, sites=None, batches=None, canary=None, scope="fleet", locked=None):
    """[] when the input makes a plan, else one message naming the variable."""
    try:
        plan(hosts, sites, batches, canary, scope, locked)
    except PlanError as error:
        return [str(error)]
    return []


def _duration(seconds):
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    return "%dm%02ds" % (seconds // 60, seconds % 60) if seconds >= 60 else "%ds" % seconds


def summary(the_plan, records):
    """The end-of-rollout report.

    records: {host: {"result", "started", "ended", "check", "rolled_back", "note", "rollback_seconds"}}
    as each node left them (a host with none is "untouched").

    Returns {"lines": [table rows], "timings": [lines], "failed": [record + host], "counts": {result: n},
    "message": the failure message, empty when no node failed}.
    """
    rows = []
    for batch in the_plan.get("batches", []):
        for host in batch["hosts"]:
            record = dict(records.get(host) or {})
            result = record.get("result") or "untouched"
            started, ended = record.get("started"), record.get("ended")
            duration = (ended - started) if started is not None and ended is not None else None
            detail = record.get("note") or ""
            if record.get("check"):
                detail = "%s%s" % ("%s; " % detail if detail else "", record["check"])
            rows.append({"node": host, "batch": batch["name"], "result": result, "duration": _duration(duration),
                         "detail": detail, "record": record})
    header = ("NODE", "BATCH", "RESULT", "DURATION", "DETAIL")
    cells = [header] + [(r["node"], r["batch"], r["result"], r["duration"], r["detail"]) for r in rows]
    widths = [max(len(str(c[i])) for c in cells) for i in range(4)]
    lines = []
    for cell in cells:
        lines.append(("  ".join(str(v).ljust(w) for v, w in zip(cell[:4], widths)) + "  " + str(cell[4])).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    timings = []
    for batch in the_plan.get("batches", []):
        recs = [records.get(h) or {} for h in batch["hosts"]]
        starts = [r["started"] for r in recs if r.get("started") is not None and r.get("result") != "skipped-locked"]
        ends = [r["ended"] for r in recs if r.get("ended") is not None and r.get("result") != "skipped-locked"]
        if starts and ends:
            line = "%s: %s (%s)" % (batch["name"], _duration(max(ends) - min(starts)), ", ".join(batch["hosts"]))
            rollbacks = ["%s %s" % (h, _duration(r["rollback_seconds"])) for h, r in zip(batch["hosts"], recs)
                         if r.get("rollback_seconds") is not None]
            if rollbacks:
                line += "; rollback and second gate: %s" % ", ".join(rollbacks)
            timings.append(line)
        else:
            results = sorted(set((r.get("result") or "untouched") for r in recs))
            timings.append("%s: not run (%s)" % (batch["name"], ", ".join(results) or "no host"))
    counts = dict((name, 0) for name in RESULTS)
    for row in rows:
        counts[row["result"]] = counts.get(row["result"], 0) + 1
    failed = [dict(r["record"], node=r["node"], batch=r["batch"]) for r in rows if r["result"] in ("rolled back", "failed")]
    return {"lines": lines, "timings": timings, "failed": failed, "counts": counts,
            "message": failure_message(failed) if failed else ""}


def failure_message(failed):
    """One sentence per node whose gate failed: node, check, what was rolled back."""
    parts = []
    for item in failed:
        rolled = item.get("rolled_back") or []
        what = ("rolled back to last-good: %s" % ", ".join(rolled)) if rolled else "rolled back to last-good (no file differed)"
        if item.get("result") == "failed":
            what += "; the gate still FAILS after the rollback (%s)" % (item.get("regate") or "see above")
        parts.append("%s (%s) failed its gate: %s; %s" % (item["node"], item["batch"], item.get("check") or "?", what))
    return "rollout stopped: " + " | ".join(parts) + "; later batches untouched"
