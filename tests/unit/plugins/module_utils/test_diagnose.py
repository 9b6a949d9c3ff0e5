# -*- coding: utf-8 -*-
"""plugins/module_utils/diagnose.py: each link's verdict from the figures, and the walk that stops
at the first broken link."""

import json

from ansible_collections.ovr.fleet.plugins.module_utils import diagnose as dg

TARGETS = ["gx-1", "gx-2"]
DEVICES = [{"target": "gx-1", "address": "10.0.0.5", "port": 1883, "portal_id": "c0619ab1e001"},
           {"target": "gx-2", "address": "10.0.0.6", "port": 1883, "portal_id": "c0619ab1e002"}]


def collector(written, errors=0, received=None, connected=1):
    received = written if received is None else received
    return "\n".join([
        "# HELP x", 'ovr_collector_received_total{node="a"} %d' % received,
        'ovr_collector_written_total{node="a"} %d' % written,
        'ovr_collector_write_errors_total{node="a"} %d' % errors,
        'ovr_collector_buffered_lines{node="a",where="memory"} 0',
        'ovr_collector_lag_seconds{node="a"} 0.5',
        'ovr_collector_subscribed_portals{node="a"} 2',
        'ovr_collector_broker_connected{node="a",broker="gx-1:1883"} %d' % connected,
        'ovr_collector_broker_connected{node="a",broker="gx-2:1883"} 1'])


def vmagent(ok, pending, refused=None, errors=0):
    lines = ['vmagent_remotewrite_requests_total{url="1:secret-url", status_code="2XX"} %d' % ok,
             'vmagent_remotewrite_errors_total{url="1:secret-url"} %d' % errors,
             'vmagent_remotewrite_pending_data_bytes{url="1:secret-url", hash="AB"} %d' % pending,
             'vmagent_remotewrite_requests_total{url="2:secret-url", status_code="2XX"} 500',
             'vmagent_remotewrite_pending_data_bytes{url="2:secret-url", hash="CD"} 0']
    for code, count in (refused or {}).items():
        lines.append('vmagent_remotewrite_requests_total{url="1:secret-url", status_code="%s"} %d' % (code, count))
    return "\n".join(lines)


def test_metrics_are_parsed_with_labels():
    samples = dg.parse_metrics(collector(7))
    assert dg.metric(samples, "ovr_collector_written_total") == 7
    assert dg.metric(samples, "ovr_collector_broker_connected", broker="gx-2:1883") == 1
    assert dg.metric(samples, "nope") is None


def test_gx_links():
    assert dg.judge_resolves(TARGETS, DEVICES, [])["status"] == "ok"
    empty = dg.judge_resolves([], [], [])
    assert empty["status"] == "fail" and "ovr_gx_targets is empty" in empty["figure"]
    unresolved = [{"target": "gx-2", "reason": "resolve", "msg": "gx-2 does not resolve"}]
    bad = dg.judge_resolves(TARGETS, DEVICES[:1], unresolved)
    assert bad["status"] == "fail" and "gx-2" in bad["figure"] and "mdns" in bad["fix"]
    refused = [{"target": "gx-2", "reason": "connect", "msg": "connection refused"}]
    assert dg.judge_resolves(TARGETS, DEVICES[:1], refused)["status"] == "ok"
    assert dg.judge_mqtt(TARGETS, DEVICES[:1], refused)["status"] == "fail"
    silent = [{"target": "gx-2", "reason": "no_portal_id", "msg": "publishes no serial"}]
    assert dg.judge_mqtt(TARGETS, DEVICES[:1], silent)["status"] == "ok"
    assert dg.judge_portal_id(TARGETS, DEVICES[:1], silent)["status"] == "fail"
    assert dg.judge_portal_id(TARGETS, DEVICES, [])["figure"] == "gx-1: c0619ab1e001, gx-2: c0619ab1e002"


def test_collector_running():
    assert dg.judge_collector_running(collector(1), None, [])["status"] == "ok"
    down = dg.judge_collector_running(None, "connection refused", [])
    assert down["status"] == "fail" and "ovr-collector" in down["fix"]
    disconnected = dg.judge_collector_running(collector(1, connected=0), None, [])
    assert disconnected["status"] == "fail" and "gx-1:1883" in disconnected["figure"]
    assert dg.judge_collector_running("", None, [])["status"] == "fail"


def test_keepalive():
    assert dg.judge_keepalive({"a": 1.2, "b": 0.4}, 6)["status"] == "ok"
    silent = dg.judge_keepalive({"a": 1.2, "b": None}, 6)
    assert silent["status"] == "fail" and "no heartbeat from b in 6s" in silent["figure"]


def test_collector_writing():
    assert dg.judge_collector_writing(collector(10), collector(40), 6, 120)["status"] == "ok"
    refused = dg.judge_collector_writing(collector(10, errors=1), collector(10, errors=5), 6, 120)
    assert refused["status"] == "fail" and "4 write errors" in refused["figure"] and "vmagent" in refused["fix"]
    idle = dg.judge_collector_writing(collector(10), collector(10), 6, 120)
    assert idle["status"] == "fail" and "0 received" in idle["figure"]


def test_local_vm():
    ids = ["a", "b"]
    assert dg.judge_local_vm({"a": 3, "b": 10}, None, ids, 120)["status"] == "ok"
    stale = dg.judge_local_vm({"a": 3, "b": 400}, None, ids, 120)
    assert stale["status"] == "fail" and "b: newest 400 s old" in stale["figure"]
    missing = dg.judge_local_vm({"a": 3}, None, ids, 120)
    assert "b: no sample" in missing["figure"]
    down = dg.judge_local_vm({}, "connection refused", ids, 120)
    assert down["status"] == "fail" and "VictoriaMetrics" in down["fix"]


def test_vmagent_towards_the_cloud():
    assert dg.judge_vmagent(vmagent(10, 0), vmagent(15, 0), None, 6)["status"] == "ok"
    assert dg.judge_vmagent(vmagent(10, 0), vmagent(10, 0), None, 6)["status"] == "ok"  # nothing to send
    frozen = dg.judge_vmagent(vmagent(10, 2000, errors=1), vmagent(10, 9000, errors=4), None, 6)
    assert frozen["status"] == "fail" and "3 failed requests" in frozen["figure"] and "does not answer" in frozen["fix"]
    token = dg.judge_vmagent(vmagent(10, 2000, {"401": 2}), vmagent(10, 5000, {"401": 6}), None, 6)
    assert token["status"] == "fail" and "status 401: 4" in token["figure"] and "ovr_cloud_token" in token["fix"]
    # vmagent backing off: no request in the window, but its refusals since it started say why
    backoff = dg.judge_vmagent(vmagent(0, 5000, {"401": 2}), vmagent(0, 5000, {"401": 2}), None, 6)
    assert backoff["status"] == "fail" and "refused since vmagent started: status 401: 2" in backoff["figure"]
    assert "ovr_cloud_token" in backoff["fix"]
    assert dg.judge_vmagent(None, None, "connection refused", 6)["status"] == "fail"
    # no cloud URL at all: the link does not apply
    assert dg.judge_vmagent("", "", None, 6, cloud_index=3) is None


def test_walk_stops_at_the_first_broken_link():
    calls = []

    def judge(link_id, ok):
        def run():
            calls.append(link_id)
            return dg.link(link_id, ok, "figure of %s" % link_id, "fix %s" % link_id)
        return (link_id, run)

    links, failure = dg.walk([judge("gx_resolves", True), ("gx_mqtt", lambda: None),
                              judge("gx_portal_id", False), judge("collector_running", True)])
    assert calls == ["gx_resolves", "gx_portal_id"]
    assert [(item["id"], item["status"]) for item in links] == [
        ("gx_resolves", "ok"), ("gx_portal_id", "fail"), ("collector_running", "not checked")]
    assert failure["id"] == "gx_portal_id"
    assert failure["line"] == "FAIL        GX portal id seen: figure of gx_portal_id -> fix gx_portal_id"


def test_cloud_link_from_the_controllers_query():
    now = 1000000.0
    answer = {"status": 200, "content": json.dumps({"data": {"result": [{"metric": {}, "value": [now, str(now - 12)]}]}})}
    assert dg.cloud_link(answer, "edge-a", 120, now)["status"] == "ok"
    old = {"status": 200, "content": json.dumps({"data": {"result": [{"metric": {}, "value": [now, str(now - 600)]}]}})}
    assert "600 s old" in dg.cloud_link(old, "edge-a", 120, now)["figure"]
    none = {"status": 200, "content": json.dumps({"data": {"result": []}})}
    assert "no sample with node=edge-a" in dg.cloud_link(none, "edge-a", 120, now)["figure"]
    refused = dg.cloud_link({"status": 401, "content": ""}, "edge-a", 120, now)
    assert refused["status"] == "fail" and "read credentials are refused" in refused["figure"]
    unreachable = dg.cloud_link({"status": -1, "msg": "Connection refused"}, "edge-a", 120, now)
    assert unreachable["status"] == "fail" and "Connection refused" in unreachable["figure"]
    assert dg.cloud_link({"skipped": True}, "edge-a", 120, now) is None


def test_walk_only_judges_the_links_asked_for_each_on_its_own():
    """The rollout's gate asks for local_vm_fresh and vmagent_drains even when the GX links fail."""
    judges = [
        ("gx_mqtt", lambda: dg.link("gx_mqtt", False, "gx-1:1884: refused", "fix")),
        ("local_vm_fresh", lambda: dg.link("local_vm_fresh", True, "newest 1 s old")),
        ("vmagent_drains", lambda: dg.link("vmagent_drains", True, "12 accepted")),
    ]
    links, failure = dg.walk(judges, only=["local_vm_fresh", "vmagent_drains"])
    assert [item["id"] for item in links] == ["local_vm_fresh", "vmagent_drains"] and failure is None
    links, failure = dg.walk(judges)
    assert failure["id"] == "gx_mqtt" and links[1]["status"] == "not checked"
