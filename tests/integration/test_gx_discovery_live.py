# -*- coding: utf-8 -*-
"""Discovery against real sockets on loopback: every unreachable reason, and the simulator."""

import time

import pytest
from loopback import unresolvable  # tests/support, put on sys.path by conftest.py

from ansible_collections.ovr.fleet.plugins.module_utils import gx
from ansible_collections.ovr.fleet.plugins.module_utils.mqtt import ConnectionOptions

pytestmark = pytest.mark.integration


def by_target(entries):
    return dict((e["target"], e) for e in entries)


def test_each_reason_is_reported_and_all_targets_share_one_deadline(sim, broker, empty_broker, auth_broker, dead):
    targets = [
        unresolvable("gx-1"),                         # resolve
        "127.0.0.1:%d" % dead.closed_port,            # connect
        "127.0.0.1:%d" % dead.silent_port,            # timeout
        "127.0.0.1:%d" % dead.garbage_port,           # protocol
        "127.0.0.1:%d" % auth_broker.port,            # auth (anonymous refused)
        "127.0.0.1:%d" % empty_broker.port,           # no_portal_id
        broker.url,                                   # the simulator
    ]
    timeout = 1.5
    start = time.monotonic()
    devices, unreachable = gx.discover(targets, timeout=timeout)
    elapsed = time.monotonic() - start

    reasons = dict((e["target"], e["reason"]) for e in unreachable)
    assert reasons == {
        unresolvable("gx-1"): "resolve",
        targets[1]: "connect",
        targets[2]: "timeout",
        targets[3]: "protocol",
        targets[4]: "auth",
        targets[5]: "no_portal_id",
    }
    assert [e["target"] for e in unreachable] == targets[:6], "target order is kept"
    assert all(e["msg"] for e in unreachable)
    mine = [d for d in devices if d["portal_id"] == sim.portal_id]
    assert mine == [{"target": broker.url, "address": "127.0.0.1", "port": broker.port, "portal_id": sim.portal_id}]
    # concurrent: two targets wait out the whole deadline, the call still takes about one timeout
    assert timeout - 0.1 <= elapsed < timeout + 1.0


def test_live_device_returns_before_the_deadline(sim, broker):
    start = time.monotonic()
    devices, unreachable = gx.discover([broker.url], timeout=5)
    assert time.monotonic() - start < 1.5, "a live GX answers at once; no waiting for the deadline"
    assert unreachable == []
    assert sim.portal_id in [d["portal_id"] for d in devices]


def test_default_port_and_duplicates(sim, broker):
    devices, unreachable = gx.discover(["127.0.0.1", "127.0.0.1"], port=broker.port, timeout=2)
    assert unreachable == []
    assert sim.portal_id in [d["portal_id"] for d in devices]
    assert all(d["target"] == "127.0.0.1" and d["port"] == broker.port for d in devices)
    assert len([d for d in devices if d["portal_id"] == sim.portal_id]) == 1


def test_several_portal_ids_on_one_broker(sim_factory, mosquitto_factory):
    lab = mosquitto_factory()
    a = sim_factory(on=lab)
    b = sim_factory(on=lab)
    devices, unreachable = gx.discover([lab.url], timeout=2)
    assert unreachable == []
    assert sorted(d["portal_id"] for d in devices) == sorted([a.portal_id, b.portal_id])


def test_stopped_simulator_withdraws_its_serial(sim_factory, mosquitto_factory):
    lab = mosquitto_factory()
    s = sim_factory(on=lab)
    assert [d["portal_id"] for d in gx.discover([lab.url], timeout=2)[0]] == [s.portal_id]
    s.stop()
    devices, unreachable = gx.discover([lab.url], timeout=0.8)
    assert devices == []
    assert unreachable[0]["reason"] == "no_portal_id"


def test_auth_with_credentials(auth_broker, sim_factory):
    s = sim_factory(on=auth_broker, username="gx", password="s3cret")
    wrong = gx.discover([auth_broker.url], timeout=2, options=ConnectionOptions(username="gx", password="nope"))
    assert wrong[0] == [] and wrong[1][0]["reason"] == "auth"
    right = gx.discover([auth_broker.url], timeout=2, options=ConnectionOptions(username="gx", password="s3cret"))
    assert right[1] == []
    assert [d["portal_id"] for d in right[0]] == [s.portal_id]
