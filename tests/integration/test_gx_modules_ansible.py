# -*- coding: utf-8 -*-
"""The three modules run the way Ansible runs them: ``ansible localhost -m ovr.fleet.<module>``."""

import time

import pytest
from loopback import unresolvable  # tests/support, put on sys.path by conftest.py

pytestmark = pytest.mark.integration


def test_gx_discover_through_ansible(ansible_runner, sim, broker, dead):
    rc, result, output = ansible_runner("gx_discover", {
        "targets": [broker.url, unresolvable("nothing-here"), "127.0.0.1:%d" % dead.closed_port],
        "timeout": 2,
    })
    assert rc == 0, output
    assert result["changed"] is False
    assert {"target": broker.url, "address": "127.0.0.1", "port": broker.port,
            "portal_id": sim.portal_id} in result["devices"]
    assert [(u["target"], u["reason"]) for u in result["unreachable_targets"]] == [
        (unresolvable("nothing-here"), "resolve"), ("127.0.0.1:%d" % dead.closed_port, "connect")]
    # The allowlist-name report: the name next to its portal id; an IP address never warns.
    named = [n for n in result["names"] if n["target"] == broker.url]
    assert [(n["name"], n["portal_id"], n["mdns"], n["warning"]) for n in named] == [
        ("127.0.0.1", sim.portal_id, False, "")]


def test_gx_discover_password_is_not_logged(ansible_runner, auth_broker):
    rc, result, output = ansible_runner("gx_discover", {
        "targets": [auth_broker.url], "timeout": 2, "username": "gx", "password": "wrong-pass-123"})
    assert rc == 0, output
    assert result["unreachable_targets"][0]["reason"] == "auth"
    assert "wrong-pass-123" not in output


def test_gx_keepalive_through_ansible_and_check_mode(ansible_runner, sim, broker):
    device = {"target": broker.url, "address": "127.0.0.1", "port": broker.port, "portal_id": sim.portal_id}
    rc, result, output = ansible_runner("gx_keepalive", {"devices": [device], "mode": "full"}, check=True)
    assert rc == 0, output
    assert result["changed"] is True and result["sent"] == [] and result["planned"][0]["mode"] == "full"
    time.sleep(0.3)
    assert not sim.alive and sim.stats["keepalives"] == 0, "check mode published nothing"

    rc, result, output = ansible_runner("gx_keepalive", {"devices": [device], "mode": "full"})
    assert rc == 0, output
    assert result["changed"] is True
    assert [s["portal_id"] for s in result["sent"]] == [sim.portal_id]
    assert result["failed_devices"] == []
    deadline = time.monotonic() + 3
    while sim.stats["full_republishes"] < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sim.alive and sim.stats["full_republishes"] == 1


def test_gx_keepalive_nothing_sent_is_not_a_change(ansible_runner, dead):
    device = {"target": "x", "address": "127.0.0.1", "port": dead.closed_port, "portal_id": "ghost02"}
    rc, result, output = ansible_runner("gx_keepalive", {"devices": [device], "timeout": 1})
    assert rc == 0, output
    assert result["changed"] is False
    assert result["failed_devices"][0]["reason"] == "connect"
    assert "ghost02" in " ".join(result.get("warnings", []))


def test_gx_telemetry_through_ansible_in_check_mode(ansible_runner, sim_factory, mosquitto_factory):
    lab = mosquitto_factory()
    s = sim_factory(on=lab)
    rc, result, output = ansible_runner("gx_telemetry", {"address": "127.0.0.1", "port": lab.port,
                                                         "duration": 0.3, "timeout": 5}, check=True)
    assert rc == 0, output
    assert result["changed"] is False
    assert result["portal_id"] == s.portal_id, "discovered when omitted"
    names = set(m["name"] for m in result["metrics"])
    assert {"victron_system_dc_battery_soc", "victron_vebus_ac_activein_p", "victron_solarcharger_yield_power",
            "victron_battery_dc_0_voltage", "victron_settings_settings_cgwacs_acpowersetpoint"} <= names
    phases = sorted(m["labels"]["phase"] for m in result["metrics"] if m["name"] == "victron_vebus_ac_activein_p")
    assert phases == ["L1", "L2", "L3"]
    assert result["skipped_messages"]["null"] >= 2 and result["messages"] > len(result["metrics"])


def test_gx_telemetry_fails_cleanly(ansible_runner, empty_broker):
    rc, result, output = ansible_runner("gx_telemetry", {"address": "127.0.0.1", "port": empty_broker.port,
                                                         "timeout": 1})
    assert rc != 0
    assert result["failed"] is True and "no_portal_id" in result["msg"]
