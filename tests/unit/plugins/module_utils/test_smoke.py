"""The smoke checks' engine (plugins/module_utils/smoke.py): which checks apply, what must be
gathered, what failed with expected/seen, bad definitions named, the run's message."""
import pytest

from ansible_collections.ovr.fleet.plugins.module_utils import smoke as sc

# What community.general.systemd_info returns for these units.
UNITS = {
    "ovr-collector.service": {"name": "ovr-collector.service", "loadstate": "loaded", "activestate": "active",
                              "substate": "running"},
    "ovr-refresh-gx-mqtt-sources.timer": {"name": "ovr-refresh-gx-mqtt-sources.timer", "loadstate": "not-found",
                                          "activestate": "inactive", "substate": "dead"},
}


def container(project, service, status="running", health=None):
    """A container as community.docker.docker_container_info returns it (docker inspect)."""
    state = {"Status": status, "ExitCode": 0}
    if health:
        state["Health"] = {"Status": health}
    return {"Config": {"Labels": {"com.docker.compose.project": project, "com.docker.compose.service": service}},
            "State": state}


def plan(checks, units=None):
    """The checks that apply and why the others do not, as the action decides them."""
    sc.validate_checks(checks)
    return sc.applies(checks, units or {})


def run(checks, units=None, **seen):
    return [sc.result(check, reason, dict(seen, units=units or {}, answer=seen.get("answers", {}).get(check["name"])))
            for check, reason in plan(checks, units)]


def test_plan_skips_missing_units_and_rejects_bad_checks():
    checks = [
        {"name": "a", "type": "unit", "unit": "ovr-refresh-gx-mqtt-sources.timer", "optional": True},
        {"name": "b", "type": "http", "url": "http://x/healthz", "when_unit": "ovr-collector.service"},
        {"name": "c", "type": "port", "port": 1, "skip": True},
        {"name": "d", "type": "port", "port": 2, "skip": "False"},
    ]
    assert [reason != "" for check, reason in plan(checks, UNITS)] == [True, False, True, False]
    assert sc.units_named(checks) == ["ovr-refresh-gx-mqtt-sources.timer", "ovr-collector.service"]
    assert sc.skip_reason(checks[1], {}, "Failed to connect to bus") == \
        "ovr-collector.service is not installed (systemd could not be asked)"
    with pytest.raises(sc.CheckError):
        sc.validate_checks([{"name": "x", "type": "nope"}])


def test_only_what_the_checks_that_apply_need_is_gathered():
    checks = [{"name": "a", "type": "containers", "project": "p"},
              {"name": "b", "type": "containers", "project": "q", "skip": True},
              {"name": "c", "type": "containers", "project": "p", "services": ["vm"]},
              {"name": "d", "type": "port", "port": 1, "when_unit": "ovr-collector.service"}]
    assert sc.needs(plan(checks, UNITS)) == (True, ["p"])
    assert sc.needs(plan(checks)) == (False, ["p"])
    assert sc.needs([]) == (False, [])


@pytest.mark.parametrize("check, words", [
    ({"name": "x", "type": "nope"}, ["check 1 (x)", "type must be one of containers, port, http, unit, command"]),
    ({"type": "port", "port": 80}, ["check 1:", "needs a name"]),
    ({"name": "vm", "type": "port"}, ["check 1 (vm)", "needs port"]),
    ({"name": "vm", "type": "port", "port": "eighty"}, ["check 1 (vm)", "port must be a TCP port number"]),
    ({"name": "q", "type": "http", "url": "u", "jsno": {}}, ["check 1 (q)", "unknown key(s) for a http check: jsno"]),
    ({"name": "q", "type": "http", "url": "u", "status": "ok"}, ["check 1 (q)", "status must be an HTTP status"]),
    ({"name": "q", "type": "http", "url": "u", "json_type": "dict"}, ["check 1 (q)", "json_type must be one of"]),
    ({"name": "q", "type": "http", "url": "u", "json": ["status"]}, ["check 1 (q)", "json must be a dict"]),
    ({"name": "s", "type": "containers"}, ["check 1 (s)", "a containers check needs project"]),
    ({"name": "s", "type": "containers", "project": "p", "services": "vm"}, ["services must be a list"]),
    ({"name": "u", "type": "unit", "unit": "ovr-*.service"}, ["check 1 (u)", "not a pattern"]),
    ({"name": "u", "type": "unit", "unit": "dev-sda.device"}, ["check 1 (u)", "must name a unit of kind"]),
    ({"name": "c", "type": "command", "cmd": "true", "stdout": "("}, ["check 1 (c)", "not a valid regular expression"]),
    ({"name": "c", "type": "command", "cmd": "true", "skip": "maybe"}, ["check 1 (c)", "skip must be true or false"]),
    ("just text", ["check 1:", "must be a dict"]),
])
def test_bad_definitions_name_the_check_and_the_problem(check, words):
    with pytest.raises(sc.CheckError) as err:
        sc.validate_checks([check])
    for word in words:
        assert word in str(err.value)


def test_every_bad_check_is_named_at_once_and_no_password_is_shown():
    with pytest.raises(sc.CheckError) as err:
        sc.validate_checks([{"name": "ok", "type": "port", "port": 80},
                            {"name": "q", "type": "http", "url": "u", "url_password": ["s3cret"]},
                            {"name": "vm", "type": "port"}])
    text = str(err.value)
    assert text.startswith("2 bad smoke check definition(s)")
    assert "check 2 (q): url_password must be a string" in text and "check 3 (vm)" in text
    assert "s3cret" not in text and "check 1" not in text


def test_containers_running_healthy_and_missing():
    checks = [{"name": "stack", "type": "containers", "project": "ovr-cloud",
               "services": ["victoriametrics", "caddy", "api"]}]
    (result,) = run(checks, containers={"ovr-cloud": [container("ovr-cloud", "victoriametrics", "exited"),
                                                      container("ovr-cloud", "caddy", health="unhealthy"),
                                                      container("other", "api")]})
    assert result["status"] == "fail"
    assert "victoriametrics: exited" in result["seen"] and "caddy: unhealthy" in result["seen"]
    assert "api: no container" in result["seen"]
    any_of_p = [{"name": "s", "type": "containers", "project": "p"}]
    (none,) = run(any_of_p, containers={"p": []})
    assert none["status"] == "fail" and "no container" in none["seen"]
    (ok,) = run(any_of_p, containers={"p": [container("p", "a", health="healthy"), container("p", "b")]})
    assert ok["status"] == "pass"
    (starting,) = run([dict(any_of_p[0], healthy=False)], containers={"p": [container("p", "a", health="starting")]})
    assert starting["status"] == "pass"
    (nodocker,) = run(any_of_p, containers={"p": None}, docker_error="Error connecting: socket missing")
    assert nodocker["status"] == "fail" and "docker could not be asked" in nodocker["seen"]
    assert "socket missing" in nodocker["seen"]


def test_ports():
    # community.general.listen_ports_facts' tcp_listen for 127.0.0.1:8428 and 0.0.0.0:80
    tcp_listen = [{"address": "127.0.0.1", "port": 8428, "protocol": "tcp", "name": "victoria-metrics", "pid": 7},
                  {"address": "0.0.0.0", "port": 80, "protocol": "tcp", "name": "nginx", "pid": 8},
                  {"address": "::", "port": 80, "protocol": "tcp", "name": "nginx", "pid": 8}]
    checks = [{"name": "vm", "type": "port", "port": 8428, "address": "127.0.0.1"},
              {"name": "vm-any", "type": "port", "port": 8428, "address": "10.0.0.1"},
              {"name": "nginx", "type": "port", "port": "80"},
              {"name": "gone", "type": "port", "port": 9108},
              {"name": "nginx-v6", "type": "port", "port": 80, "address": "[::1]"}]
    results = run(checks, tcp_listen=tcp_listen)
    assert [r["status"] for r in results] == ["pass", "fail", "pass", "fail", "pass"]
    assert results[1]["seen"] == "port 8428 listens on 127.0.0.1 only"
    assert results[3]["seen"] == "nothing listens on port 9108"
    (unread,) = run(checks[:1], tcp_listen=None, ports_error="Unable to find any of the supported commands")
    assert unread["status"] == "fail" and "supported commands" in unread["seen"]


def test_http_status_json_and_body():
    checks = [
        {"name": "q", "type": "http", "url": "u1", "json": {"status": "success"}},
        {"name": "peers", "type": "http", "url": "u2", "json_type": "list"},
        {"name": "health", "type": "http", "url": "u3", "json": {"status": None}},
        {"name": "w", "type": "http", "url": "u4", "status": 401},
        {"name": "vm", "type": "http", "url": "u5", "contains": "OK"},
    ]
    answers = [{"status": 200, "content": '{"status": "error"}'}, {"status": 200, "content": "{}"},
               {"status": 200, "content": '{"status": "ok"}'}, {"status": -1, "msg": "Connection refused"},
               {"status": 200, "content": "OK"}]
    results = run(checks, answers=dict((c["name"], a) for c, a in zip(checks, answers)))
    assert [r["status"] for r in results] == ["fail", "fail", "pass", "fail", "pass"]
    assert results[0]["seen"] == 'JSON status="error"'
    assert "no HTTP answer (Connection refused)" in results[3]["seen"]
    # uri's own message lists every status it accepted (all of them): left out, on one line
    uri_msg = "Status code was -1 and not [100, 101, 599]: Request failed: <urlopen error [Errno 111]\n Connection refused>"
    (refused,) = run(checks[3:4], answers={"w": {"status": -1, "msg": uri_msg}})
    assert refused["seen"] == "no HTTP answer (Request failed: <urlopen error [Errno 111] Connection refused>)"
    assert results[3]["expected"] == "GET u4: HTTP 401"


def test_units_and_commands():
    checks = [{"name": "collector", "type": "unit", "unit": "ovr-collector.service"},
              {"name": "timer", "type": "unit", "unit": "ovr-refresh-gx-mqtt-sources.timer"},
              {"name": "cmd", "type": "command", "cmd": "true", "stdout": "^ok"},
              {"name": "absent", "type": "unit", "unit": "nothing.service"}]
    results = run(checks, UNITS, answers={"cmd": {"rc": 0, "stdout": "nope"}})
    assert [r["status"] for r in results] == ["pass", "fail", "fail", "fail"]
    assert results[1]["seen"] == "ovr-refresh-gx-mqtt-sources.timer is not-found"
    assert "not loaded" in results[3]["seen"]
    (missing,) = run([{"name": "cmd", "type": "command", "cmd": "nosuch"}],
                     answers={"cmd": {"rc": 2, "failed": True, "msg": "[Errno 2] No such file or directory"}})
    assert missing["status"] == "fail" and missing["seen"].startswith("exit 2: [Errno 2]")


def test_summary_names_the_node_and_every_failed_check():
    results = [{"name": "a", "type": "port", "status": "pass", "expected": "x", "seen": "as expected"},
               {"name": "b", "type": "port", "status": "fail", "expected": "a TCP listener on *:1", "seen": "nothing listens on port 1"},
               {"name": "c", "type": "unit", "status": "skip", "expected": "", "seen": "u is not installed"},
               {"name": "d", "type": "http", "status": "fail", "expected": "GET u: HTTP 200", "seen": "HTTP 502"}]
    assert sc.count(results) == {"pass": 1, "fail": 2, "skip": 1, "total": 4}
    assert sc.summary("cloud-stack", results) == (
        "cloud-stack: 2 of 3 smoke checks FAILED. [b] expected a TCP listener on *:1; saw nothing listens on port 1. "
        "[d] expected GET u: HTTP 200; saw HTTP 502.")
    assert sc.summary("edge-1", [results[0], results[2]]) == "edge-1: all 1 smoke checks passed (1 skipped)."


def test_uri_arguments_accept_every_status_and_send_credentials_only_with_a_user():
    args = sc.uri_args({"name": "q", "type": "http", "url": "https://x/q", "validate_certs": "false",
                        "url_username": "ops", "url_password": "pw"}, 10)
    assert args["status_code"] == list(range(100, 600)) and args["follow_redirects"] == "none"
    assert args["force_basic_auth"] is True and args["validate_certs"] is False and args["timeout"] == 10
    anonymous = sc.uri_args({"name": "w", "type": "http", "url": "u", "url_username": "", "url_password": ""}, 3)
    assert "url_username" not in anonymous and "force_basic_auth" not in anonymous


def test_the_modules_answers_are_read_with_their_errors_on_one_line():
    assert sc.units_seen({"units": UNITS}) == (UNITS, "")
    # systemd_info fails when none of the names is a loaded unit: nothing is installed
    assert sc.units_seen({"failed": True, "msg": "No units match any of the provided patterns: x.service"}) == ({}, "")
    assert sc.units_seen({"failed": True, "msg": "Failed to connect\n to bus"}) == ({}, "Failed to connect to bus")
    assert sc.units_seen({"failed": True}) == ({}, "community.general.systemd_info failed")
    listen = [{"address": "127.0.0.1", "port": 8428}]
    assert sc.ports_seen({"ansible_facts": {"tcp_listen": listen}}) == (listen, "")
    assert sc.ports_seen({"ansible_facts": {}}) == ([], "")
    assert sc.ports_seen({"failed": True, "msg": "Unable to find\nss"}) == (None, "Unable to find ss")
