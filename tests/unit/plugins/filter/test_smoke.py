"""ovr.fleet smoke filters: which checks apply, and what failed with expected/seen."""
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ovr.fleet.plugins.filter.smoke import smoke_plan, smoke_results

UNITS = """Id=ovr-collector.service
LoadState=loaded
ActiveState=active
SubState=running

Id=ovr-refresh-gx-mqtt-sources.timer
LoadState=not-found
ActiveState=inactive
SubState=dead
"""


def container(project, service, status="running", health=None):
    state = {"Status": status, "ExitCode": 0}
    if health:
        state["Health"] = {"Status": health}
    return {"Config": {"Labels": {"com.docker.compose.project": project, "com.docker.compose.service": service}},
            "State": state}


def test_plan_skips_missing_units_and_rejects_bad_checks():
    plan = smoke_plan([
        {"name": "a", "type": "unit", "unit": "ovr-refresh-gx-mqtt-sources.timer", "optional": True},
        {"name": "b", "type": "http", "url": "http://x/healthz", "when_unit": "ovr-collector.service"},
        {"name": "c", "type": "port", "port": 1, "skip": True},
    ], UNITS)
    assert [p["skip_reason"] != "" for p in plan] == [True, False, True]
    with pytest.raises(AnsibleFilterError):
        smoke_plan([{"name": "x", "type": "nope"}])


def test_containers_running_healthy_and_missing():
    plan = smoke_plan([{"name": "stack", "type": "containers", "project": "ovr-cloud",
                        "services": ["victoriametrics", "caddy", "api"]}])
    docker = json.dumps([container("ovr-cloud", "victoriametrics", "exited"),
                         container("ovr-cloud", "caddy", health="unhealthy"),
                         container("other", "api")])
    (result,) = smoke_results(plan, docker)
    assert result["status"] == "fail"
    assert "victoriametrics: exited" in result["seen"] and "caddy: unhealthy" in result["seen"]
    assert "api: no container" in result["seen"]
    (none,) = smoke_results(smoke_plan([{"name": "s", "type": "containers", "project": "p"}]), "[]")
    assert none["status"] == "fail" and "no container" in none["seen"]
    (ok,) = smoke_results(smoke_plan([{"name": "s", "type": "containers", "project": "p"}]),
                          [container("p", "a", health="healthy"), container("p", "b")])
    assert ok["status"] == "pass"


def test_ports():
    ss = "LISTEN 0 4096 127.0.0.1:8428 0.0.0.0:*\nLISTEN 0 511 0.0.0.0:80 0.0.0.0:*\n"
    plan = smoke_plan([{"name": "vm", "type": "port", "port": 8428, "address": "127.0.0.1"},
                       {"name": "vm-any", "type": "port", "port": 8428, "address": "10.0.0.1"},
                       {"name": "nginx", "type": "port", "port": "80"},
                       {"name": "gone", "type": "port", "port": 9108}])
    assert [r["status"] for r in smoke_results(plan, [], ss)] == ["pass", "fail", "pass", "fail"]


def test_http_status_json_and_body():
    plan = smoke_plan([
        {"name": "q", "type": "http", "url": "u1", "json": {"status": "success"}},
        {"name": "peers", "type": "http", "url": "u2", "json_type": "list"},
        {"name": "health", "type": "http", "url": "u3", "json": {"status": None}},
        {"name": "w", "type": "http", "url": "u4", "status": 401},
        {"name": "vm", "type": "http", "url": "u5", "contains": "OK"},
    ])
    answers = [{"status": 200, "content": '{"status": "error"}'}, {"status": 200, "content": "{}"},
               {"status": 200, "content": '{"status": "ok"}'}, {"status": -1, "msg": "Connection refused"},
               {"status": 200, "content": "OK"}]
    http = [dict(a, item=p) for a, p in zip(answers, plan)]
    results = smoke_results(plan, [], "", "", http)
    assert [r["status"] for r in results] == ["fail", "fail", "pass", "fail", "pass"]
    assert results[0]["seen"] == 'JSON status="error"'
    assert "no HTTP answer (Connection refused)" in results[3]["seen"]


def test_units_and_commands():
    plan = smoke_plan([{"name": "collector", "type": "unit", "unit": "ovr-collector.service"},
                       {"name": "timer", "type": "unit", "unit": "ovr-refresh-gx-mqtt-sources.timer"},
                       {"name": "cmd", "type": "command", "cmd": "true", "stdout": "^ok"}], UNITS)
    commands = [{"item": plan[2], "rc": 0, "stdout": "nope"}]
    results = smoke_results(plan, [], "", UNITS, [], commands)
    assert [r["status"] for r in results] == ["pass", "fail", "fail"]
