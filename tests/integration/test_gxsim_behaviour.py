# -*- coding: utf-8 -*-
"""The simulator behaves like a GX (shared/facts/venus-os-mqtt.md), seen from a plain MQTT client."""

import json
import time

import pytest

from ansible_collections.ovr.fleet.plugins.module_utils import victron

pytestmark = pytest.mark.integration


def value_of(payload):
    return json.loads(payload)["value"]


def test_only_the_serial_until_a_keepalive(sim_factory, recorder_factory):
    portal = "simquiet0001"
    rec = recorder_factory(["N/%s/#" % portal])
    sim = sim_factory(portal_id=portal)
    time.sleep(0.8)  # several heartbeat/update intervals of the simulator
    topics = set(rec.topics())
    assert topics == {"N/%s/system/0/Serial" % portal, "N/%s/keepalive" % portal}
    assert rec.payloads("N/%s/keepalive" % portal) == [b"1"]
    assert value_of(rec.payloads("N/%s/system/0/Serial" % portal)[0]) == portal
    assert not sim.alive


def test_serial_is_retained(sim, recorder_factory):
    rec = recorder_factory([victron.SERIAL_SUBSCRIPTION])
    assert rec.wait_for(lambda r: r.payloads(victron.serial_topic(sim.portal_id)))
    retained = [m for m in rec.messages if m[1] == victron.serial_topic(sim.portal_id)]
    assert retained[0][3] is True


def test_suppressed_keepalive_heartbeat_no_republish_then_expiry(sim_factory, recorder_factory):
    sim = sim_factory(keepalive_window=1.0, heartbeat_interval=0.2)
    rec = recorder_factory(["N/%s/#" % sim.portal_id])
    rec.publish(victron.keepalive_topic(sim.portal_id), victron.keepalive_payload("suppress"))
    assert rec.wait_for(lambda r: len(r.payloads(victron.heartbeat_topic(sim.portal_id))) >= 3, 3)
    assert sim.stats["full_republishes"] == 0
    assert victron.full_publish_completed_topic(sim.portal_id) not in rec.topics()
    assert isinstance(value_of(rec.payloads(victron.heartbeat_topic(sim.portal_id))[0]), int)
    # values move while alive
    assert any(t.endswith("/Dc/Battery/Soc") or "/Ac/" in t for t in rec.topics())
    # the window runs out: silence
    time.sleep(1.2)
    quiet_since = time.monotonic()
    time.sleep(0.6)
    assert rec.topics(since=quiet_since) == []


def test_full_republish_with_echo_token(sim, recorder_factory):
    rec = recorder_factory(["N/%s/#" % sim.portal_id])
    rec.publish(victron.keepalive_topic(sim.portal_id), victron.keepalive_payload("full", echo="tok-1"))
    done = victron.full_publish_completed_topic(sim.portal_id)
    assert rec.wait_for(lambda r: r.payloads(done))
    doc = json.loads(rec.payloads(done)[0])
    assert doc[victron.ECHO_KEY] == "tok-1" and isinstance(doc["value"], int)
    topics = rec.topics()
    # every item came before the completion, including the list, the null and the setting
    before = topics[:topics.index(done)]
    for suffix in ("system/0/Batteries", "battery/512/TimeToGo", "vebus/276/Ac/ActiveIn/L2/P",
                   "settings/0/Settings/CGwacs/AcPowerSetPoint", "solarcharger/288/Yield/Power"):
        assert "N/%s/%s" % (sim.portal_id, suffix) in before
    setting = json.loads(rec.payloads("N/%s/settings/0/Settings/CGwacs/AcPowerSetPoint" % sim.portal_id)[0])
    assert set(setting) == {"max", "min", "value"}
    assert value_of(rec.payloads("N/%s/battery/512/TimeToGo" % sim.portal_id)[0]) is None
    assert isinstance(value_of(rec.payloads("N/%s/system/0/Batteries" % sim.portal_id)[0]), list)
    # a plain empty keepalive: completion without a token
    rec.clear()
    rec.publish(victron.keepalive_topic(sim.portal_id), b"")
    assert rec.wait_for(lambda r: r.payloads(done))
    assert victron.ECHO_KEY not in json.loads(rec.payloads(done)[0])


def test_full_republish_limit_is_three_per_second(sim, recorder_factory):
    rec = recorder_factory(["N/%s/full_publish_completed" % sim.portal_id])
    topic = victron.keepalive_topic(sim.portal_id)
    start = time.monotonic()
    for i in range(8):
        rec.client.publish(topic, victron.keepalive_payload("full", echo="storm-%d" % i), qos=1)
        # suppressed keepalives in between do not count against the limit
        rec.client.publish(topic, victron.keepalive_payload("suppress"), qos=1)
    rec.wait_for(lambda r: sim.stats["keepalives"] >= 16, 3)
    assert time.monotonic() - start < 0.9, "the storm must fit in one rate-limit window for this test"
    assert sim.stats["full_republishes"] == 3
    assert sim.stats["republish_dropped"] == 5
    assert rec.wait_for(lambda r: len(r.messages) == 3)
    echoes = [json.loads(p)[victron.ECHO_KEY] for p in rec.payloads(victron.full_publish_completed_topic(sim.portal_id))]
    assert echoes == ["storm-0", "storm-1", "storm-2"]
    # a second later the GX accepts full republishes again
    time.sleep(1.05)
    rec.publish(topic, b"")
    assert rec.wait_for(lambda r: len(r.messages) == 4)


def test_write_is_echoed_and_bad_writes_are_ignored(sim, recorder_factory):
    rec = recorder_factory(["N/%s/#" % sim.portal_id])
    rec.publish(victron.keepalive_topic(sim.portal_id), victron.keepalive_payload("suppress"))
    mode = "N/%s/vebus/276/Mode" % sim.portal_id
    rec.publish(victron.write_topic(sim.portal_id, "vebus", 276, "Mode"), json.dumps({"value": 4}))
    assert rec.wait_for(lambda r: r.payloads(mode))
    assert value_of(rec.payloads(mode)[-1]) == 4
    assert sim.value("vebus/276/Mode") == 4
    # no "value" key: an error, nothing changes, nothing echoed
    rec.clear()
    errors = sim.stats["write_errors"]
    rec.publish(victron.write_topic(sim.portal_id, "vebus", 276, "Mode"), json.dumps({"val": 1}))
    setpoint = "N/%s/settings/0/Settings/CGwacs/AcPowerSetPoint" % sim.portal_id
    rec.publish(setpoint.replace("N/", "W/", 1), json.dumps({"value": 99999}))  # out of range
    assert rec.wait_for(lambda r: sim.stats["write_errors"] == errors + 2)
    time.sleep(0.2)
    assert mode not in rec.topics() and setpoint not in rec.topics()
    assert sim.value("vebus/276/Mode") == 4
    # a setting in range echoes with its max/min keys
    rec.publish(setpoint.replace("N/", "W/", 1), json.dumps({"value": -200}))
    assert rec.wait_for(lambda r: r.payloads(setpoint))
    assert json.loads(rec.payloads(setpoint)[-1]) == {"max": 15000, "min": -15000, "value": -200}


def test_read_answers_every_leaf_below(sim, recorder_factory):
    rec = recorder_factory(["N/%s/#" % sim.portal_id])
    rec.publish(victron.keepalive_topic(sim.portal_id), victron.keepalive_payload("suppress"))
    rec.wait_for(lambda r: sim.alive)
    rec.publish(victron.read_topic(sim.portal_id, "vebus/276/Ac/ActiveIn"), b"")
    prefix = "N/%s/vebus/276/Ac/ActiveIn/" % sim.portal_id
    expected = {prefix + p for p in ("L1/P", "L2/P", "L3/P", "L1/V", "L2/V", "L3/V", "L1/F", "CurrentLimit")}
    assert rec.wait_for(lambda r: expected <= set(r.topics()))
    # static items outside the subtree are not sent (values that move are, while alive)
    time.sleep(0.1)
    for static in ("vebus/276/ProductName", "vebus/276/Mode", "solarcharger/288/ProductName"):
        assert "N/%s/%s" % (sim.portal_id, static) not in rec.topics()


def test_a_service_vanishes_and_comes_back(sim, recorder_factory):
    rec = recorder_factory(["N/%s/#" % sim.portal_id])
    rec.publish(victron.keepalive_topic(sim.portal_id), victron.keepalive_payload("suppress"))
    rec.wait_for(lambda r: sim.alive)
    rec.clear()
    sim.remove_service("solarcharger/288")
    gone = "N/%s/solarcharger/288/" % sim.portal_id
    items = [k for k in sim.items if k.startswith("solarcharger/288/")]
    assert len(items) == 9
    # every item of the service is withdrawn: its last message is an empty payload
    assert rec.wait_for(lambda r: all(r.payloads("N/%s/%s" % (sim.portal_id, k))[-1:] == [b""] for k in items))
    # a full republish no longer carries it
    rec.clear()
    rec.publish(victron.keepalive_topic(sim.portal_id), b"")
    assert rec.wait_for(lambda r: victron.full_publish_completed_topic(sim.portal_id) in r.topics())
    assert not any(t.startswith(gone) for t in rec.topics())
    # the control topic brings it back
    rec.clear()
    rec.publish("gxsim/%s/control" % sim.portal_id, json.dumps({"restore": "solarcharger/288"}))
    assert rec.wait_for(lambda r: r.payloads(gone + "Yield/Power"))
    assert value_of(rec.payloads(gone + "ProductName")[0]).startswith("SmartSolar")


def test_rate_mode_publishes_the_requested_rate(sim_factory, recorder_factory):
    sim = sim_factory(rate=2000, always_alive=True, heartbeat_interval=10)
    rec = recorder_factory(["N/%s/#" % sim.portal_id])
    start = time.monotonic()
    time.sleep(1.0)
    received = len(rec.topics(since=start))
    assert 1400 <= received <= 2600
