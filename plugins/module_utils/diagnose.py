# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
""""Why no data?": the chain from a GX device to the cloud, judged link by link.

The gathering is done elsewhere (the ``edge_diagnose`` module on the node, the playbook on the
controller for the cloud); this module turns figures into verdicts, so the same rules are used
everywhere and can be tested without a fleet. Standard library only, no Ansible import.

The links, in the order data flows (a link is judged only when every link before it is OK)::

    gx_resolves        the GX allowlist names resolve
    gx_mqtt            the GX answers MQTT
    gx_portal_id       the GX publishes its portal id (the retained serial)
    collector_running  the collector runs and is connected to the GX
    gx_keepalive       the GX is kept alive (its heartbeat is fresh)
    collector_writing  the collector writes to the ingest point without errors
    local_vm_fresh     the node's VictoriaMetrics holds fresh samples of every GX
    vmagent_drains     vmagent's queue towards the cloud drains
    cloud_fresh        the cloud holds fresh samples of this node

"collector running" comes before the keepalive because the collector is what keeps the GX
alive: without it the heartbeat stops within 60 s, and the collector is the thing to fix.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import re

LINKS = (
    ("gx_resolves", "GX allowlist resolves"),
    ("gx_mqtt", "GX answers MQTT"),
    ("gx_portal_id", "GX portal id seen"),
    ("collector_running", "collector running and connected"),
    ("gx_keepalive", "GX kept alive (fresh heartbeat)"),
    ("collector_writing", "collector writing"),
    ("local_vm_fresh", "local VictoriaMetrics has fresh samples"),
    ("vmagent_drains", "vmagent queue to the cloud drains"),
    ("cloud_fresh", "cloud holds fresh samples of this node"),
)
LINK_NAMES = dict(LINKS)

_SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text exposition -> list of (name, {label: value}, float); comments skipped."""
    samples = []
    for line in (text or "").splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE_RE.match(line)
        if not match:
            continue
        try:
            value = float(match.group(4))
        except ValueError:
            continue
        labels = dict((k, v.replace('\\"', '"').replace("\\\\", "\\")) for k, v in _LABEL_RE.findall(match.group(3) or ""))
        samples.append((match.group(1), labels, value))
    return samples


def metric(samples, name, **labels):
    """Sum of the samples called ``name`` whose labels include ``labels`` (None if there is none)."""
    found = [v for n, l, v in samples if n == name and all(l.get(k) == w for k, w in labels.items())]
    return sum(found) if found else None


def link(link_id, ok, figure, fix=""):
    item = {"id": link_id, "name": LINK_NAMES[link_id], "status": "ok" if ok else "fail",
            "figure": figure, "fix": "" if ok else fix}
    item["line"] = line(item)
    return item


def walk(judges, only=None):
    """Run ``judges`` — (link_id, callable returning a link dict or None) in chain order — until
    the first failure. None means "not applicable on this node" (the link is left out).

    ``only``: judge just these link ids, each on its own figures, whatever the links before it
    show (a rollout's health gate asks for the links it needs); the others are left out.

    Returns (links, first_failure): every judged link, then each later one as ``not checked``.
    """
    if only is not None:
        judges = [(link_id, judge) for link_id, judge in judges if link_id in only]
    links, failure = [], None
    for link_id, judge in judges:
        if failure is not None:
            item = {"id": link_id, "name": LINK_NAMES[link_id], "status": "not checked",
                    "figure": "an earlier link is broken", "fix": ""}
            item["line"] = line(item)
            links.append(item)
            continue
        result = judge()
        if result is None:
            continue
        links.append(result)
        if result["status"] == "fail":
            failure = result
    return links, failure


def line(item):
    """One report line: ``OK   collector writing: 12 writes in 5 s``."""
    text = "%-11s %s: %s" % (item["status"].upper(), item["name"], item["figure"])
    if item.get("fix"):
        text += " -> %s" % item["fix"]
    return text


# ---- the judges' rules, one per link ------------------------------------------------------

def _failed(unreachable, reasons):
    return [u for u in unreachable if u.get("reason") in reasons]


def judge_resolves(targets, devices, unreachable):
    """targets: the allowlist; devices, unreachable: what gx.discover returned for it."""
    if not targets:
        return link("gx_resolves", False, "the node has no GX allowlist (ovr_gx_targets is empty)",
                    "list the node's GX devices in ovr_gx_targets")
    bad = _failed(unreachable, ("resolve",))
    if bad:
        return link("gx_resolves", False, "; ".join("%s: %s" % (u["target"], u["msg"]) for u in bad),
                    "check the name in ovr_gx_targets; a .local name needs mDNS on the node "
                    "(ovr.fleet.mdns) and the GX's Avahi host-name set")
    return link("gx_resolves", True, ", ".join(
        "%s -> %s" % (d["target"], d["address"]) for d in devices) or "%d name(s) resolve" % len(targets))


def judge_mqtt(targets, devices, unreachable):
    bad = _failed(unreachable, ("connect", "timeout", "auth", "protocol"))
    if bad:
        return link("gx_mqtt", False, "; ".join("%s: %s" % (u["target"], u["msg"]) for u in bad),
                    "is the GX on and reachable from the node? On the GX, Settings > Services > MQTT on LAN "
                    "(plain, port 1883) must be on")
    return link("gx_mqtt", True, "%d of %d answer" % (len(targets), len(targets)))


def judge_portal_id(targets, devices, unreachable):
    bad = _failed(unreachable, ("no_portal_id",))
    if bad:
        return link("gx_portal_id", False, "; ".join("%s: %s" % (u["target"], u["msg"]) for u in bad),
                    "the broker answers but publishes no N/+/system/0/Serial: not a GX, or its MQTT service is off")
    return link("gx_portal_id", True, ", ".join("%s: %s" % (d["target"], d["portal_id"]) for d in devices))


def judge_collector_running(metrics_text, error, portal_ids):
    if error:
        return link("collector_running", False, "its counters do not answer (%s)" % error,
                    "systemctl status ovr-collector; journalctl -u ovr-collector")
    samples = parse_metrics(metrics_text)
    brokers = [(l.get("broker", "?"), v) for n, l, v in samples if n == "ovr_collector_broker_connected"]
    down = [b for b, v in brokers if v < 1]
    if not brokers:
        return link("collector_running", False, "it follows no GX broker",
                    "the collector's MQTT sources are empty: run ovr.fleet.site (gx_mqtt_sources) "
                    "or check /etc/ovr/targets_gx.txt")
    if down:
        return link("collector_running", False, "not connected to %s" % ", ".join(down),
                    "journalctl -u ovr-collector shows why the MQTT connection fails")
    followed = metric(samples, "ovr_collector_subscribed_portals") or 0
    return link("collector_running", True, "connected to %s, %d portal(s) followed" % (
        ", ".join(b for b, v in brokers), followed))


def judge_keepalive(heartbeats, window):
    """heartbeats: {portal_id: seconds since the last heartbeat seen, or None}."""
    silent = sorted(p for p, age in heartbeats.items() if age is None)
    if silent:
        return link("gx_keepalive", False, "no heartbeat from %s in %ss" % (", ".join(silent), window),
                    "the GX publishes only while kept alive: the collector sends the keepalives "
                    "(ovr_collector_keepalives_total); check its log for the GX")
    return link("gx_keepalive", True, ", ".join("%s: heartbeat %.0f s ago" % (p, a) for p, a in sorted(heartbeats.items())))


def judge_collector_writing(before_text, after_text, window, max_lag):
    before, after = parse_metrics(before_text), parse_metrics(after_text)
    written = (metric(after, "ovr_collector_written_total") or 0) - (metric(before, "ovr_collector_written_total") or 0)
    errors = (metric(after, "ovr_collector_write_errors_total") or 0) - (metric(before, "ovr_collector_write_errors_total") or 0)
    received = (metric(after, "ovr_collector_received_total") or 0) - (metric(before, "ovr_collector_received_total") or 0)
    buffered = metric(after, "ovr_collector_buffered_lines") or 0
    lag = metric(after, "ovr_collector_lag_seconds") or 0
    figure = "%d received, %d written, %d write errors in %ss; %d lines buffered, lag %.0f s" % (
        received, written, errors, window, buffered, lag)
    if errors > 0 and written == 0:
        return link("collector_writing", False, figure,
                    "the ingest point (vmagent, 127.0.0.1:8429) refuses or does not answer: "
                    "docker compose ps in the edge stack; journalctl -u ovr-collector")
    if received == 0:
        return link("collector_writing", False, figure,
                    "nothing arrives from the GX although it is kept alive: check the collector's "
                    "subscriptions (journalctl -u ovr-collector)")
    if written == 0 and lag > max_lag:
        return link("collector_writing", False, figure, "the collector is behind; journalctl -u ovr-collector")
    return link("collector_writing", True, figure)


def judge_local_vm(ages, error, portal_ids, fresh_within):
    """ages: {portal_id: seconds since its newest sample in the local VictoriaMetrics}."""
    if error:
        return link("local_vm_fresh", False, "the query failed (%s)" % error,
                    "VictoriaMetrics (127.0.0.1:8428) is down: docker compose ps / logs victoriametrics "
                    "in the edge stack")
    stale = ["%s: %s" % (p, "no sample" if ages.get(p) is None else "newest %.0f s old" % ages[p])
             for p in portal_ids if ages.get(p) is None or ages[p] > fresh_within]
    if stale:
        return link("local_vm_fresh", False, "; ".join(stale) + " (fresh: within %s s)" % fresh_within,
                    "vmagent does not write to the local VictoriaMetrics: docker compose logs vmagent")
    return link("local_vm_fresh", True, ", ".join("%s: newest %.0f s old" % (p, ages[p]) for p in portal_ids))


def _cloud_url(labels, index):
    url = labels.get("url", "")
    return url.startswith("%d:" % index) or url.endswith("-%d" % index)


def judge_vmagent(before_text, after_text, error, window, cloud_index=1):
    """Two scrapes of vmagent's /metrics ``window`` seconds apart; the cloud is remote-write URL ``cloud_index``."""
    if error:
        return link("vmagent_drains", False, "vmagent's counters do not answer (%s)" % error,
                    "docker compose ps / logs vmagent in the edge stack")

    def figures(text):
        samples = [(n, l, v) for n, l, v in parse_metrics(text) if _cloud_url(l, cloud_index)]
        ok = sum(v for n, l, v in samples if n == "vmagent_remotewrite_requests_total" and l.get("status_code") == "2XX")
        refused = {}
        for n, l, v in samples:
            if n == "vmagent_remotewrite_requests_total" and l.get("status_code") not in (None, "2XX"):
                refused[l["status_code"]] = refused.get(l["status_code"], 0) + v
        errors = sum(v for n, l, v in samples if n == "vmagent_remotewrite_errors_total")
        pending = sum(v for n, l, v in samples if n == "vmagent_remotewrite_pending_data_bytes")
        known = any(n == "vmagent_remotewrite_pending_data_bytes" for n, l, v in samples)
        return ok, refused, errors, pending, known

    ok1, refused1, err1, pending1, known1 = figures(before_text)
    ok2, refused2, err2, pending2, known2 = figures(after_text)
    if not (known1 or known2):
        return None  # this node does not write to the cloud (edge_stack_cloud_remote_write off)
    accepted = ok2 - ok1
    refused = dict((code, refused2.get(code, 0) - refused1.get(code, 0)) for code in refused2)
    refused = dict((code, n) for code, n in refused.items() if n > 0)
    failed = err2 - err1
    # vmagent backs off between retries, so a window may see no request at all: the refusals since
    # vmagent started (its counters restart with it, e.g. after a token change) tell why then.
    since_start = dict((code, n) for code, n in refused2.items() if n > 0)
    figure = "%d accepted, %d refused%s, %d failed requests in %ss; %d bytes pending (was %d)%s" % (
        accepted, sum(refused.values()),
        " (%s)" % ", ".join("status %s: %d" % (c, n) for c, n in sorted(refused.items())) if refused else "",
        failed, window, pending2, pending1,
        "; refused since vmagent started: %s" % ", ".join("status %s: %d" % (c, n) for c, n in sorted(since_start.items()))
        if since_start and not refused else "")
    if accepted > 0 or (pending2 == 0 and not refused and failed == 0):
        return link("vmagent_drains", True, figure)
    if not refused and not failed:
        refused = since_start
    if any(code in ("401", "403") for code in refused):
        fix = "the cloud refuses the node's token: ovr_cloud_token must match cloud_stack_token; re-run ovr.fleet.site"
    elif refused:
        fix = "the cloud refuses the writes: see its Caddy and VictoriaMetrics logs"
    else:
        fix = ("the cloud does not answer (down, frozen, or unreachable from the node): check the cloud node, "
               "DNS of ovr_cloud_url and the route; the queue keeps the data until it drains")
    return link("vmagent_drains", False, figure, fix)


def judge_cloud(age, error, fresh_within, node):
    if error:
        return link("cloud_fresh", False, "the cloud query failed (%s)" % error,
                    "check ovr_cloud_url and the read credentials (diagnose_cloud_user) from the controller")
    if age is None:
        return link("cloud_fresh", False, "the cloud holds no sample with node=%s" % node,
                    "the node's vmagent labels its data node=<inventory name>: has the edge stack been applied?")
    if age > fresh_within:
        return link("cloud_fresh", False, "the newest sample of node=%s is %.0f s old (fresh: within %s s)" % (node, age, fresh_within),
                    "vmagent's queue drains but the cloud does not show new data: check the cloud's VictoriaMetrics")
    return link("cloud_fresh", True, "the newest sample of node=%s is %.0f s old" % (node, age))


def cloud_answer_age(status, content, now):
    """(age of the newest sample or None, error or None) from a VictoriaMetrics query answer."""
    if status != 200:
        return None, "HTTP %s%s" % (status, " (the read credentials are refused)" if status in (401, 403) else "")
    try:
        series = json.loads(content)["data"]["result"]
    except (ValueError, KeyError, TypeError):
        return None, "not a VictoriaMetrics answer: %s" % (content or "")[:200]
    if not series:
        return None, None
    return max(0.0, now - max(float(s["value"][1]) for s in series)), None


def cloud_link(answer, node, fresh_within, now):
    """An ansible.builtin.uri result of the cloud query (``status`` -1: no answer) -> the
    cloud_fresh link; None when the query was skipped."""
    answer = answer or {}
    if answer.get("skipped"):
        return None
    status = answer.get("status", -1)
    if status == -1:
        age, error = None, answer.get("msg") or "no answer"
    else:
        age, error = cloud_answer_age(status, answer.get("content", ""), now)
    return judge_cloud(age, error, fresh_within, node)
