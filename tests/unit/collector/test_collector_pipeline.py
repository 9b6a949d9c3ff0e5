# -*- coding: utf-8 -*-
"""The collector (package ovr_node) without MQTT or VictoriaMetrics: batching, buffer bounds, spool replay
order, counters and configuration."""

import os
import time

import pytest

from ovr_node import broker, collector as daemon, config as options, pipeline, spool  # roles/node_runtime/files (pytest.ini)


class FakeVm(object):
    def __init__(self):
        self.bodies = []
        self.down = False

    def __call__(self, body):
        if self.down:
            raise IOError("connection refused")
        self.bodies.append(body.decode())

    def lines(self):
        return [line for body in self.bodies for line in body.splitlines()]


def make(tmp_path, spool_max=10 ** 9, **kwargs):
    options = dict(batch_lines=10, flush_interval=1.0, memory_max_lines=40, memory_max_bytes=10 ** 9)
    options.update(kwargs)
    return pipeline.Pipeline(spool.Spool(str(tmp_path / "spool"), spool_max), **options)


def feed(pipe, start, count, now=1000.0):
    for i in range(start, start + count):
        pipe.add("m %d" % i, now + i / 1000.0)


def drain(pipe, vm, limit=1000):
    for dummy in range(limit):
        if not pipe.write_once(vm):
            return


# ---- batching

def test_a_batch_is_sealed_by_size(tmp_path):
    pipe = make(tmp_path)
    feed(pipe, 0, 25)
    assert len(pipe.batches) == 2 and [len(b.lines) for b in pipe.batches] == [10, 10]
    assert len(pipe.pending) == 5
    assert pipe.wake.is_set()


def test_a_partial_batch_is_sealed_by_time(tmp_path):
    pipe = make(tmp_path)
    feed(pipe, 0, 3, now=1000.0)
    pipe.seal(1000.5)
    assert not pipe.batches, "younger than flush_interval"
    pipe.seal(1001.1)
    assert [len(b.lines) for b in pipe.batches] == [3] and not pipe.pending


def test_written_in_order_one_batch_per_post(tmp_path):
    pipe, vm = make(tmp_path), FakeVm()
    feed(pipe, 0, 25)
    pipe.seal(0, force=True)
    drain(pipe, vm)
    assert len(vm.bodies) == 3 and all(b.endswith("\n") for b in vm.bodies)
    assert vm.lines() == ["m %d" % i for i in range(25)]
    assert pipe.written == pipe.accepted == 25 and pipe.memory() == (0, 0)


def test_a_failed_write_keeps_the_batch(tmp_path):
    pipe, vm = make(tmp_path), FakeVm()
    feed(pipe, 0, 10)
    vm.down = True
    with pytest.raises(IOError):
        pipe.write_once(vm)
    assert pipe.memory()[0] == 10 and pipe.written == 0
    vm.down = False
    drain(pipe, vm)
    assert vm.lines() == ["m %d" % i for i in range(10)]


# ---- buffer bounds

def test_memory_bound_spills_the_oldest_batches_to_disk(tmp_path):
    pipe = make(tmp_path)
    feed(pipe, 0, 60)   # bound 40 lines
    assert pipe.over_memory()
    pipe.spill()
    assert pipe.memory()[0] <= 30, "spilled down to 3/4 of the bound"
    assert len(pipe.spool) >= 3 and pipe.spool.lines + pipe.memory()[0] == 60
    names = sorted(os.listdir(pipe.spool.directory))
    assert all(spool.SPOOL_NAME.match(n) for n in names)
    assert pipe.dropped == 0


def test_memory_bytes_bound_counts_too(tmp_path):
    pipe = make(tmp_path, memory_max_lines=10 ** 6, memory_max_bytes=200)
    feed(pipe, 0, 60)
    assert pipe.over_memory()
    pipe.spill()
    assert not pipe.over_memory(0.75) and pipe.spool.lines > 0


def test_spool_bound_reached_drops_new_messages_and_never_accepted_ones(tmp_path):
    pipe, vm = make(tmp_path, spool_max=60), FakeVm()   # room for about one 10-line batch on disk
    for start in range(0, 200, 10):
        feed(pipe, start, 10)
        pipe.spill()
    assert pipe.spool_full and pipe.dropped > 0
    assert pipe.accepted + pipe.dropped == 200
    # memory stays bounded while dropping
    assert pipe.memory()[0] <= 2 * pipe.memory_max_lines
    drain(pipe, vm)
    pipe.seal(0, force=True)
    drain(pipe, vm)
    lines = vm.lines()
    assert len(lines) == pipe.accepted == pipe.written
    assert lines == sorted(lines, key=lambda l: int(l.split()[1])), "in arrival order"
    assert not pipe.spool_full, "room again once written"


# ---- spool replay order

def test_spool_is_replayed_first_and_oldest_first(tmp_path):
    pipe, vm = make(tmp_path), FakeVm()
    feed(pipe, 0, 60)
    pipe.spill()
    feed(pipe, 60, 5)
    pipe.seal(0, force=True)
    drain(pipe, vm)
    assert vm.lines() == ["m %d" % i for i in range(65)]
    assert len(pipe.spool) == 0 and os.listdir(pipe.spool.directory) == []


def test_shutdown_spools_everything_and_a_restart_replays_it_in_order(tmp_path):
    pipe = make(tmp_path, spool_max=1)   # even a full spool takes the memory at shutdown
    feed(pipe, 0, 37)
    assert pipe.to_spool() == 37
    # an interrupted write left a temp file: it is removed, never replayed
    (tmp_path / "spool" / ".tmp-000000000099-1-1.prom").write_text("m junk\n")
    again, vm = make(tmp_path), FakeVm()
    assert again.spool.lines == 37 and not any(n.startswith(".tmp") for n in os.listdir(again.spool.directory))
    feed(again, 37, 3)
    again.seal(0, force=True)
    drain(again, vm)
    assert vm.lines() == ["m %d" % i for i in range(40)]
    # sequence numbers continue after the replayed files
    assert again.spool.seq >= 4


def test_lag_is_the_age_of_the_oldest_unwritten_sample(tmp_path):
    pipe, vm = make(tmp_path), FakeVm()
    assert pipe.lag(2000.0) == 0.0
    feed(pipe, 0, 5, now=1000.0)
    assert pipe.lag(1010.0) == pytest.approx(10.0)
    pipe.seal(0, force=True)
    pipe.spool.put(pipe._pop_batch())
    assert pipe.lag(1010.0) == pytest.approx(10.0, abs=0.01)
    drain(pipe, vm)
    assert pipe.lag(1010.0) == 0.0


# ---- the daemon's counters and configuration

def test_counters_as_prometheus_text(tmp_path):
    config = options.build_config(["--env-file", "", "--spool-dir", str(tmp_path / "spool"), "--labels", "site=a,node=n1",
                                   "--listen", ""])
    collector = daemon.Collector(config)
    line = collector._feed_line("N/abc/system/0/Dc/Battery/Soc", b'{"value": 80}', 1700000000000)
    assert line == ('victron_system_dc_battery_soc{portal_id="abc",service="system",instance="0",node="n1",site="a"}'
                    ' 80.0 1700000000000')
    collector.pipeline.add(line, 1000.0)
    collector.normaliser.feed("N/abc/system/0/Serial", b'{"value": "abc"}')
    text = collector.prometheus()
    assert 'ovr_collector_received_total{node="n1",site="a"} 2.0' in text
    assert 'ovr_collector_accepted_total{node="n1",site="a"} 1.0' in text
    assert 'ovr_collector_skipped_total{node="n1",site="a",reason="string"} 1.0' in text
    assert 'ovr_collector_buffered_lines{node="n1",site="a",where="memory"} 1.0' in text
    assert 'ovr_collector_dropped_total{node="n1",site="a"} 0.0' in text
    stamped = collector.prometheus(1700000000000)
    assert all(l.endswith(" 1700000000000") for l in stamped.splitlines())
    figures = collector.figures()
    assert figures["received"] == 2 and figures["skipped_total"] == 1 and figures["buffered_memory_lines"] == 1


def test_env_file_then_flags(tmp_path):
    env = tmp_path / "collector.env"
    env.write_text("# comment\nOVR_COLLECTOR_BATCH_LINES=100\nOVR_COLLECTOR_VM_URL='http://10.0.0.1:8428/'\n"
                   "OVR_COLLECTOR_MQTT_TLS=yes\n")
    config = options.build_config(["--env-file", str(env), "--batch-lines", "200"])
    assert config["batch_lines"] == 200 and config["vm_url"] == "http://10.0.0.1:8428" and config["mqtt_tls"] is True


@pytest.mark.parametrize("content, error", [
    ("OVR_COLLECTOR_NOPE=1\n", "unknown option"),
    ("BATCH_LINES=1\n", "expected OVR_COLLECTOR_"),
    ("OVR_COLLECTOR_BATCH_LINES=x\n", "not a valid int"),
    ("OVR_COLLECTOR_KEEPALIVE_INTERVAL=55\n", "keepalive_interval"),
    ("OVR_COLLECTOR_REFRESH_INTERVAL=-1\n", "refresh_interval"),
    ("OVR_COLLECTOR_LABELS=portal_id=x\n", "set by the collector"),
    ("OVR_COLLECTOR_MEMORY_MAX_LINES=10\n", "at least batch_lines"),
    ("OVR_COLLECTOR_VM_URL=ftp://x\n", "vm_url"),
])
def test_bad_config_is_refused(tmp_path, content, error, capsys):
    env = tmp_path / "collector.env"
    env.write_text(content)
    assert daemon.main(["--env-file", str(env), "--check-config"]) == 2
    assert error in capsys.readouterr().err


def test_systems_file_is_read_per_broker(tmp_path):
    path = tmp_path / "gx_systems.json"
    path.write_text('{"systems": [{"portal_id": "a1", "target": "gx1", "address": "10.0.0.5", "port": 1883},'
                    ' {"portal_id": "a2", "target": "gx1", "address": "10.0.0.5", "port": 1883},'
                    ' {"portal_id": "bad/id", "target": "gx2", "address": "10.0.0.6", "port": 1883}]}')
    assert broker.read_systems(str(path)) == {("10.0.0.5", 1883): {"a1", "a2"}}
    path.write_text("[]")
    with pytest.raises(ValueError):
        broker.read_systems(str(path))


# ---- refresh: unchanged values of a live GX are written again

class Message(object):
    def __init__(self, topic, payload):
        self.topic = topic
        self.payload = payload


def refresh_collector(tmp_path, interval="60"):
    config = options.build_config(["--env-file", "", "--spool-dir", str(tmp_path / "spool"), "--listen", "",
                                   "--refresh-interval", interval])
    collector = daemon.Collector(config)
    collector.portals = lambda: ["abc", "def"]
    return collector


def memory_lines(collector):
    pipe = collector.pipeline
    return list(pipe.pending) + [line for batch in pipe.batches for line in batch.lines]


def test_refresh_writes_again_only_unchanged_values_of_live_followed_gx(tmp_path, monkeypatch):
    collector = refresh_collector(tmp_path)
    clock = [1000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    collector.on_message(None, None, Message("N/abc/settings/0/Settings/Relay/Function", b'{"value": 1}'))
    collector.on_message(None, None, Message("N/abc/system/0/Dc/Battery/Soc", b'{"value": 80}'))
    collector.on_message(None, None, Message("N/def/system/0/Dc/Battery/Soc", b'{"value": 50}'))
    collector.on_message(None, None, Message("N/zzz/system/0/Dc/Battery/Soc", b'{"value": 10}'))  # not followed
    assert collector.refresh(1030.0) == 0          # nothing older than 60 s yet
    clock[0] = 1055.0                               # abc changes its SoC and heartbeats; def stays silent
    collector.on_message(None, None, Message("N/abc/system/0/Dc/Battery/Soc", b'{"value": 81}'))
    collector.on_message(None, None, Message("N/abc/heartbeat", b'{"value": 1055}'))
    before = len(memory_lines(collector))
    assert collector.refresh(1061.0) == 1          # only abc's unchanged setting: def is not alive (55 s silent)
    added = memory_lines(collector)[before:]
    assert added == ['victron_settings_settings_relay_function{portal_id="abc",service="settings",instance="0"}'
                     ' 1.0 1061000']
    assert collector.refresh(1062.0) == 0          # just written again: not before another 60 s
    assert "N/zzz/system/0/Dc/Battery/Soc" not in collector.latest   # an unfollowed portal is forgotten
    assert collector.figures()["refreshed"] == 1
    assert 'ovr_collector_refreshed_total 1.0' in collector.prometheus()


def test_an_item_the_gx_withdraws_is_not_refreshed(tmp_path, monkeypatch):
    collector = refresh_collector(tmp_path)
    monkeypatch.setattr(time, "time", lambda: 1000.0)
    collector.on_message(None, None, Message("N/abc/solarcharger/288/Yield/Power", b'{"value": 300}'))
    collector.on_message(None, None, Message("N/abc/solarcharger/288/Yield/Power", b""))   # went away
    collector.heard["abc"] = 1070.0
    assert collector.refresh(1070.0) == 0
    assert collector.latest == {}


def test_refresh_off_keeps_the_plain_hot_path(tmp_path):
    collector = refresh_collector(tmp_path, interval="0")
    collector.on_message(None, None, Message("N/abc/system/0/Dc/Battery/Soc", b'{"value": 80}'))
    assert collector.latest == {} and collector.pipeline.accepted == 1
