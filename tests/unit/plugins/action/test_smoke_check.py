"""ovr.fleet.smoke_check, the action: which bundled module is asked what, and the result, with the
modules' answers canned. The checks' rules are the engine's (tests/unit/plugins/module_utils/test_smoke.py)."""
import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task

from ansible_collections.ovr.fleet.plugins.action import smoke_check as sc

COLLECTOR = {"name": "ovr-collector.service", "loadstate": "loaded", "activestate": "active", "substate": "running"}


def inspected(service, health):
    """A running container of ovr-edge as community.docker.docker_container_info returns it."""
    labels = {"com.docker.compose.project": "ovr-edge", "com.docker.compose.service": service}
    return {"Config": {"Labels": labels}, "State": {"Status": "running", "ExitCode": 0, "Health": {"Status": health}}}


# ---- the action's wiring: which module is asked what, and the result --------------------------

class FakeShell(object):
    tmpdir = None


class FakeConnection(object):
    _shell = FakeShell()
    become = None


def action(checks, answers, check_mode=False):
    task = Task()
    task.args = {"checks": checks}
    task.check_mode = check_mode
    plugin = sc.ActionModule(task, FakeConnection(), PlayContext(), loader=None, templar=None, shared_loader_obj=None)
    asked = []

    def execute(module_name=None, module_args=None, task_vars=None, **kwargs):
        asked.append((module_name, module_args, plugin._task.check_mode))
        return answers[module_name](module_args) if callable(answers[module_name]) else answers[module_name]
    plugin._execute_module = execute
    plugin._remove_tmp_path = lambda path: None
    return plugin, asked


EDGE = [
    {"name": "stack", "type": "containers", "project": "ovr-edge"},
    {"name": "vm port", "type": "port", "port": 8428, "address": "127.0.0.1"},
    {"name": "health", "type": "http", "url": "http://127.0.0.1/api/health", "json": {"status": None}},
    {"name": "collector health", "type": "http", "url": "http://127.0.0.1:9108/healthz", "when_unit": "ovr-collector.service"},
    {"name": "timer", "type": "unit", "unit": "ovr-refresh-gx-mqtt-sources.timer", "optional": True},
    {"name": "uptime", "type": "command", "cmd": "cat /proc/uptime", "stdout": "^[0-9]"},
]
ANSWERS = {
    "community.general.systemd_info": {"units": {"ovr-collector.service": COLLECTOR}},
    "community.general.listen_ports_facts": {"ansible_facts": {"tcp_listen": [{"address": "127.0.0.1", "port": 8428}]}},
    "community.docker.docker_host_info": {"containers": [{"Id": "c1"}, {"Id": "c2"}]},
    "community.docker.docker_container_info": lambda args: {
        "exists": True, "container": inspected("vm", "healthy") if args["name"] == "c1" else inspected("nginx", "unhealthy")},
    "ansible.builtin.uri": lambda args: {"status": 200, "content": '{"status": "ok"}'},
    "ansible.builtin.command": {"rc": 0, "stdout": "123.4 56.7"},
}


def test_the_action_asks_the_bundled_modules_and_judges_every_check():
    plugin, asked = action(EDGE, ANSWERS, check_mode=True)
    result = plugin.run(task_vars={"inventory_hostname": "edge-1"})
    modules = [name for name, args, check_mode in asked]
    assert modules[0] == "community.general.systemd_info"
    assert asked[0][1] == {"unitname": ["ovr-collector.service", "ovr-refresh-gx-mqtt-sources.timer"]}
    assert modules.count("community.general.listen_ports_facts") == 1
    assert ("community.docker.docker_host_info",
            {"containers": True, "containers_all": True,
             "containers_filters": {"label": "com.docker.compose.project=ovr-edge"}}, False) in asked
    assert modules.count("community.docker.docker_container_info") == 2
    assert modules.count("ansible.builtin.uri") == 2 and modules.count("ansible.builtin.command") == 1
    # read-only: the modules run even in check mode, and check mode is back afterwards
    assert all(not check_mode for name, args, check_mode in asked) and plugin._task.check_mode is True
    assert [r["status"] for r in result["results"]] == ["fail", "pass", "pass", "pass", "skip", "pass"]
    assert "nginx: unhealthy" in result["results"][0]["seen"]
    assert result["counts"] == {"pass": 4, "fail": 1, "skip": 1, "total": 6}
    assert result["changed"] is False and not result.get("failed")
    assert result["msg"].startswith("edge-1: 1 of 5 smoke checks FAILED. [stack] expected project ovr-edge")


def test_the_action_asks_nothing_for_skipped_checks_and_survives_missing_tools():
    answers = dict(ANSWERS, **{
        "community.general.systemd_info": {"failed": True, "msg": "No units match any of the provided patterns: x.service"},
        "community.docker.docker_host_info": {"failed": True, "msg": "Error connecting: Error while fetching server API version"},
    })
    checks = [{"name": "stack", "type": "containers", "project": "ovr-edge"},
              {"name": "health", "type": "http", "url": "u", "when_unit": "x.service"},
              {"name": "off", "type": "port", "port": 1, "skip": True}]
    plugin, asked = action(checks, answers)
    result = plugin.run(task_vars={"inventory_hostname": "edge-1"})
    assert [name for name, args, check_mode in asked] == ["community.general.systemd_info", "community.docker.docker_host_info"]
    assert [r["status"] for r in result["results"]] == ["fail", "skip", "skip"]
    assert "Error while fetching server API version" in result["results"][0]["seen"]
    assert result["results"][1]["seen"] == "x.service is not installed"


def test_the_action_fails_on_a_bad_definition_naming_host_and_check_before_asking():
    plugin, asked = action([{"name": "peer list", "type": "http"}], ANSWERS)
    with pytest.raises(AnsibleActionFail) as err:
        plugin.run(task_vars={"inventory_hostname": "edge-1"})
    assert "edge-1: 1 bad smoke check definition(s): check 1 (peer list): a http check needs url" in str(err.value)
    assert asked == []
