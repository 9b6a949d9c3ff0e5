# -*- coding: utf-8 -*-
"""Keepalive and telemetry engines against Mosquitto and the simulator."""

import time

import pytest

from ansible_collections.ovr.fleet.plugins.module_utils import gx, victron

pytestmark = pytest.mark.integration


def test_keepalive_wakes_the_gx(sim, broker, recorder_factory, dead):
    rec = recorder_factory(["N/%s/#" % sim.portal_id])
    devices, dummy = gx.discover([broker.url], timeout=2)
    mine = [d for d in devices if d["portal_id"] == sim.portal_id]
    ghost = {"target": "ghost", "address": "127.0.0.1", "port": dead.closed_port, "portal_id": "ghost01"}
    assert rec.wait_for(lambda r: r.topics())  # the retained serial
    time.sleep(0.3)
    assert not sim.alive and set(rec.topics()) == {victron.serial_topic(sim.portal_id)}, "only the serial"
    sent, failed = gx.keepalive(mine + [ghost], mode="suppress", timeout=2)
    assert [s["portal_id"] for s in sent] == [sim.portal_id]
    assert sent[0]["topic"] == "R/%s/keepalive" % sim.portal_id and sent[0]["mode"] == "suppress"
    assert [(f["portal_id"], f["reason"]) for f in failed] == [("ghost01", "connect")]
    assert rec.wait_for(lambda r: victron.heartbeat_topic(sim.portal_id) in r.topics())
    assert sim.alive
    assert sim.stats["suppressed_keepalives"] == 1 and sim.stats["full_republishes"] == 0
    gx.keepalive(mine, mode="full", timeout=2)
    assert rec.wait_for(lambda r: victron.full_publish_completed_topic(sim.portal_id) in r.topics())
    assert sim.stats["full_republishes"] == 1


def test_keepalive_one_connection_per_broker_for_many_devices(sim_factory, broker):
    sims = [sim_factory() for dummy in range(4)]
    devices = [{"target": broker.url, "address": "127.0.0.1", "port": broker.port, "portal_id": s.portal_id}
               for s in sims]
    sent, failed = gx.keepalive(devices, mode="suppress", timeout=2)
    assert failed == [] and sorted(d["portal_id"] for d in sent) == sorted(s.portal_id for s in sims)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not all(s.alive for s in sims):
        time.sleep(0.02)
    assert all(s.alive for s in sims)


def test_telemetry_capture_names_labels_and_skips(sim, broker):
    result = gx.capture(broker.host, broker.port, sim.portal_id, duration=0.3, timeout=5)
    norm = result["normaliser"]
    assert result["completed_at"] is not None and result["requests"] == 1
    metrics = dict(((m.name, m.labels.get("phase")), m) for m in norm.latest.values())
    soc = metrics[("victron_system_dc_battery_soc", None)]
    assert soc.labels == {"portal_id": sim.portal_id, "service": "system", "instance": "0"}
    assert 5 <= soc.value <= 100
    for phase in ("L1", "L2", "L3"):
        m = metrics[("victron_vebus_ac_activein_p", phase)]
        assert m.labels == {"portal_id": sim.portal_id, "service": "vebus", "instance": "276", "phase": phase}
    assert metrics[("victron_vebus_hub4_disablecharge", None)].value == 0.0
    assert metrics[("victron_battery_io_allowtocharge", None)].value == 1.0
    assert metrics[("victron_settings_settings_cgwacs_acpowersetpoint", None)].value == 50.0
    assert ("victron_system_batteries", None) not in metrics
    assert ("victron_battery_timetogo", None) not in metrics
    assert norm.skipped["list"] >= 1 and norm.skipped["null"] >= 2 and norm.skipped["string"] >= 4
    assert norm.skipped["topic"] >= 1  # full_publish_completed and heartbeats are not metrics


def test_telemetry_repeats_a_request_the_gx_dropped(sim_factory, broker, recorder_factory):
    sim = sim_factory()
    rec = recorder_factory([victron.full_publish_completed_topic(sim.portal_id)])
    # use up the 3 full republishes of this second
    for dummy in range(3):
        rec.client.publish(victron.keepalive_topic(sim.portal_id), b"", qos=1)
    deadline = time.monotonic() + 2
    while sim.stats["full_republishes"] < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    result = gx.capture(broker.host, broker.port, sim.portal_id, duration=0, timeout=5, resend_after=0.4)
    assert result["completed_at"] is not None
    assert result["requests"] == 2 and sim.stats["republish_dropped"] == 1
    assert result["normaliser"].metrics > 30


def test_telemetry_fails_when_no_full_publish_completes(sim_factory, broker):
    sim = sim_factory(republish_limit=0, update_interval=30)  # a GX that never republishes
    start = time.monotonic()
    with pytest.raises(gx.TelemetryError, match="did not complete a full publish"):
        gx.capture(broker.host, broker.port, sim.portal_id, duration=0, timeout=1.5, resend_after=0.3,
                   min_resend_interval=0.5)
    assert time.monotonic() - start < 2.5
    assert sim.stats["republish_dropped"] == 3  # first request + at most two repeats, never a storm


def test_vanished_service_leaves_the_snapshot(sim, broker):
    sim.remove_service("solarcharger/288")
    result = gx.capture(broker.host, broker.port, sim.portal_id, duration=0, timeout=5)
    services = set(m.labels["service"] for m in result["normaliser"].latest.values())
    assert services == {"system", "vebus", "battery", "settings"}
