# -*- coding: utf-8 -*-
"""The collector daemon (ovr_node.collector, run as its launcher runs it) for real: Mosquitto + the GX simulator + a real
VictoriaMetrics on loopback, the daemon as a subprocess driven by signals, as systemd does."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from ansible_collections.ovr.fleet.plugins.module_utils import victron

from conftest import free_port, stop_process

pytestmark = pytest.mark.integration

# The daemon runs as on a node: python3 -m ovr_node.collector with the package's folder on PYTHONPATH.
# (the on-node package as the role installs it, assembled for this session by tests/conftest.py)
RUNTIME = os.environ["OVR_NODE_PACKAGE_PATH"]
COLLECTOR = os.path.join(RUNTIME, "ovr_node", "collector.py")
VICTRON = 'victron_.*'


def wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    assert predicate(), "timed out after %ss waiting for %s" % (timeout, what)


class CollectorProcess(object):
    """ovr-collector with a gx_systems.json, spool and log in a temp dir; fast timers."""

    def __init__(self, workdir, broker, portals, vm_url, **options):
        self.workdir = str(workdir)
        self.broker = broker
        self.systems_file = os.path.join(self.workdir, "gx_systems.json")
        self.spool = os.path.join(self.workdir, "spool")
        self.port = free_port()
        self.log_path = os.path.join(self.workdir, "collector.log")
        self.write_systems(portals)
        settings = dict(vm_url=vm_url, systems_file=self.systems_file, spool_dir=self.spool,
                        listen="127.0.0.1:%d" % self.port, keepalive_interval=1, flush_interval=0.2,
                        poll_interval=0.5, summary_interval=1, self_metrics_interval=1, backoff_max=1,
                        write_timeout=2, labels="site=lab,node=n1")
        settings.update(options)
        cmd = [sys.executable, "-m", "ovr_node.collector", "--env-file", ""]
        for key, value in sorted(settings.items()):
            cmd += ["--" + key.replace("_", "-"), str(value)]
        env = dict(os.environ, PYTHONPATH=RUNTIME)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        wait(lambda: self.healthz() is not None, 10, "the collector's HTTP endpoint")

    def write_systems(self, portals):
        doc = {"systems": [{"portal_id": p, "target": self.broker.url, "address": self.broker.host,
                            "port": self.broker.port} for p in portals]}
        tmp = self.systems_file + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(doc, handle)
        os.replace(tmp, self.systems_file)

    def _get(self, path):
        if self.proc.poll() is not None:
            raise AssertionError("collector exited with %s:\n%s" % (self.proc.returncode, self.log_text()[-3000:]))
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=2) as response:
                return response.read().decode()
        except OSError:
            return None

    def healthz(self):
        text = self._get("/healthz")
        return json.loads(text) if text else None

    def metrics(self):
        out = {}
        for line in (self._get("/metrics") or "").splitlines():
            key, _sep, value = line.rpartition(" ")
            out[key] = float(value)
        return out

    def log_text(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def hup(self):
        self.proc.send_signal(signal.SIGHUP)

    def stop(self, timeout=20):
        code = stop_process(self.proc, grace=timeout)
        self.log.close()
        return code


@pytest.fixture
def collector_factory(tmp_path):
    procs = []

    def start(broker, portals, vm_url, name="c", **options):
        workdir = tmp_path / name
        workdir.mkdir(exist_ok=True)
        proc = CollectorProcess(workdir, broker, portals, vm_url, **options)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.stop()


def metric_count(recorder, portal_id):
    """Messages a subscriber saw that the one normalisation turns into samples."""
    prefix = "N/%s/" % portal_id
    with recorder.lock:
        messages = [(t, p) for dummy, t, p, dummy2 in recorder.messages if t.startswith(prefix)]
    return sum(1 for t, p in messages if victron.normalise(t, p)[0] is not None)


def settled(collector):
    h = collector.healthz()
    return h["buffered_memory_lines"] == 0 and h["buffered_disk_files"] == 0 and h["lag_seconds"] == 0


def test_values_reach_victoria_metrics_named_and_labelled(broker, sim_factory, vm_factory, collector_factory):
    vm = vm_factory()
    sim = sim_factory()
    col = collector_factory(broker, [sim.portal_id], vm.url)
    match = '{__name__=~"%s",portal_id="%s"}' % (VICTRON, sim.portal_id)
    wait(lambda: vm.count('victron_system_dc_battery_soc{portal_id="%s"}' % sim.portal_id) > 0, 15, "SoC in VM")
    series = vm.export(match)
    names = {s["metric"]["__name__"] for s in series}
    assert {"victron_system_dc_battery_soc", "victron_vebus_ac_activein_p", "victron_solarcharger_yield_power",
            "victron_settings_settings_cgwacs_acpowersetpoint"} <= names
    soc = [s["metric"] for s in series if s["metric"]["__name__"] == "victron_system_dc_battery_soc"][0]
    assert soc == {"__name__": "victron_system_dc_battery_soc", "portal_id": sim.portal_id, "service": "system",
                   "instance": "0", "site": "lab", "node": "n1"}
    phases = {s["metric"].get("phase") for s in series if s["metric"]["__name__"] == "victron_vebus_ac_activein_p"}
    assert phases == {"L1", "L2", "L3"}
    # receive-time timestamps in ms
    now_ms = time.time() * 1000
    assert all(now_ms - 60000 < ts <= now_ms + 1000 for s in series for ts in s["timestamps"])
    # one full keepalive when it subscribed, suppress-republish after: the GX stays alive, no storm
    time.sleep(3.5)   # longer than the simulator's 3 s keepalive window
    assert sim.alive
    assert sim.stats["full_republishes"] == 1
    assert sim.stats["suppressed_keepalives"] >= 2
    # its own counters, on /metrics, /healthz and in VM
    m = col.metrics()
    assert m['ovr_collector_received_total{node="n1",site="lab"}'] > 0
    assert m['ovr_collector_written_total{node="n1",site="lab"}'] > 0
    assert m['ovr_collector_dropped_total{node="n1",site="lab"}'] == 0
    assert m['ovr_collector_skipped_total{node="n1",site="lab",reason="string"}'] > 0
    assert 'ovr_collector_lag_seconds{node="n1",site="lab"}' in m
    h = col.healthz()
    assert h["status"] == "ok" and h["portals"] == [sim.portal_id] and h["brokers"] == {broker.url: True}
    wait(lambda: vm.query('ovr_collector_received_total{site="lab",node="n1"}'), 10, "own counters in VM")
    assert re.search(r"collector summary: received=\d+ written=\d+", col.log_text())
    assert col.stop() == 0


def test_victoria_metrics_outage_loses_nothing(broker, sim_factory, vm_factory, collector_factory,
                                               recorder_factory):
    vm = vm_factory()
    sim = sim_factory()
    rec = recorder_factory(["N/%s/#" % sim.portal_id])
    # small memory bound: the outage backlog has to go through the spool
    col = collector_factory(broker, [sim.portal_id], vm.url, batch_lines=100, memory_max_lines=400)
    wait(lambda: col.metrics().get('ovr_collector_written_total{node="n1",site="lab"}', 0) > 0, 15, "first writes")
    sim.rate = 300.0   # ~300 value updates per second from now on
    vm.stop()
    outage = time.monotonic()
    peak_disk = 0
    while time.monotonic() - outage < 6:
        peak_disk = max(peak_disk, col.healthz()["buffered_disk_lines"])
        time.sleep(0.2)
    h = col.healthz()
    assert h["status"] == "degraded" and h["last_write_error"] and h["lag_seconds"] > 3
    vm.start()
    time.sleep(2)
    sim.stop()
    time.sleep(0.5)
    wait(lambda: settled(col), 30, "the backlog to be written")
    expected = metric_count(rec, sim.portal_id)
    assert peak_disk > 0, "the backlog went through the spool"
    assert expected > 6 * 250
    match = '{__name__=~"%s",portal_id="%s"}' % (VICTRON, sim.portal_id)
    assert vm.wait_count(match, expected) == expected, col.healthz()
    h = col.healthz()
    assert h["dropped"] == 0 and h["written"] >= expected and h["status"] == "ok"
    assert "VictoriaMetrics is back" in col.log_text()


def test_reload_follows_the_systems_file_and_keeps_the_backlog(broker, sim_factory, vm_factory, collector_factory,
                                                               recorder_factory):
    vm = vm_factory()
    vm.stop()   # down from the start: everything below waits in the buffer across the reload
    sim_a, sim_b = sim_factory(), sim_factory()
    rec = recorder_factory(["N/%s/#" % sim_a.portal_id, "N/%s/#" % sim_b.portal_id])
    col = collector_factory(broker, [sim_a.portal_id], vm.url, poll_interval=60)
    wait(lambda: col.healthz()["accepted"] > 50, 15, "portal A data")
    assert sim_b.stats["full_republishes"] == 0 and not rec.payloads("N/%s/heartbeat" % sim_b.portal_id)
    sim_a.stop()
    time.sleep(0.5)
    col.write_systems([sim_b.portal_id])
    col.hup()
    wait(lambda: col.healthz()["portals"] == [sim_b.portal_id], 10, "the reload")
    wait(lambda: metric_count(rec, sim_b.portal_id) > 50, 15, "portal B data")
    # A is no longer subscribed: a value published for it now must never reach VM
    rec.publish("N/%s/system/0/Dc/Battery/Soc" % sim_a.portal_id, json.dumps({"value": 4242.5}))
    time.sleep(1)
    vm.start()
    sim_b.stop()
    time.sleep(0.5)
    wait(lambda: settled(col), 30, "the backlog to be written")
    log = col.log_text()
    assert "collector reload:" in log
    assert log.count("connected to %s" % broker.url) == 1, "the unchanged broker was not reconnected"
    expected_b = metric_count(rec, sim_b.portal_id)
    assert vm.wait_count('{__name__=~"%s",portal_id="%s"}' % (VICTRON, sim_b.portal_id), expected_b) == expected_b
    # A's buffered data survived the reload; the late value was not taken
    expected_a = metric_count(rec, sim_a.portal_id) - 1
    assert vm.wait_count('{__name__=~"%s",portal_id="%s"}' % (VICTRON, sim_a.portal_id), expected_a) == expected_a
    assert not vm.query('victron_system_dc_battery_soc{portal_id="%s"} == 4242.5' % sim_a.portal_id)
    assert sim_b.stats["full_republishes"] == 1
    assert col.healthz()["dropped"] == 0


def test_spool_bound_drops_then_sigterm_and_restart_lose_nothing_accepted(broker, sim_factory, vm_factory,
                                                                          collector_factory, tmp_path):
    vm = vm_factory()
    vm.stop()
    sim = sim_factory(rate=500.0)
    col = collector_factory(broker, [sim.portal_id], vm.url, name="first", batch_lines=50, memory_max_lines=200,
                            spool_max_bytes=30000)
    wait(lambda: col.healthz()["dropped"] > 0, 20, "the drop counter")
    m = col.metrics()
    assert m['ovr_collector_spool_full{node="n1",site="lab"}'] == 1
    assert m['ovr_collector_dropped_total{node="n1",site="lab"}'] > 0
    wait(lambda: "DROPPED" in col.log_text(), 5, "the drop log line")
    assert "is full" in col.log_text()
    sim.stop()
    time.sleep(0.5)
    final = col.healthz()
    assert col.stop() == 0
    accepted = final["accepted"]
    assert accepted == final["received"] - final["skipped_total"] - final["dropped"]
    spool_files = [f for f in os.listdir(col.spool) if f.endswith(".prom")]
    assert spool_files and not [f for f in os.listdir(col.spool) if f.startswith(".tmp")]
    spooled_lines = sum(int(f.split("-")[2].split(".")[0]) for f in spool_files)
    assert spooled_lines == accepted, "SIGTERM put memory into the spool"
    assert "stopped:" in col.log_text()
    # a new collector on the same spool replays it, oldest first, once VM is back
    vm.start()
    again = collector_factory(broker, [], vm.url, name="first")
    wait(lambda: settled(again), 30, "the spool replay")
    assert vm.wait_count('{__name__=~"%s",portal_id="%s"}' % (VICTRON, sim.portal_id), accepted) == accepted
    assert again.healthz()["written"] == accepted


def test_steady_values_are_written_again_while_the_gx_lives(broker, sim_factory, vm_factory, collector_factory,
                                                            recorder_factory):
    """A GX publishes a value only when it changes. The collector writes an unchanged value again every
    refresh_interval s, so it stays queryable; not once the GX withdrew the item, nor once the GX is gone."""
    alive_within = float(re.search(r"^ALIVE_WITHIN = ([0-9.]+)$", open(COLLECTOR).read(), re.M).group(1))
    vm = vm_factory()
    sim = sim_factory()
    setting_topic = "N/%s/settings/0/Settings/Relay/Function" % sim.portal_id
    rec = recorder_factory([setting_topic])
    col = collector_factory(broker, [sim.portal_id], vm.url, refresh_interval=1)
    setting = 'victron_settings_settings_relay_function{portal_id="%s"}' % sim.portal_id
    state = 'victron_solarcharger_state{portal_id="%s"}' % sim.portal_id
    wait(lambda: vm.count(setting) >= 4 and vm.count(state) >= 4, 20, "steady values written again")
    assert len(rec.payloads(setting_topic)) == 1, "the GX published the setting once (the full keepalive)"

    def timestamps(match):
        return [ts for series in vm.export(match) for ts in series["timestamps"]]

    # The GX withdraws its solar charger (empty payloads): its steady State is no longer written.
    sim.remove_service("solarcharger/288")
    removed_ms = time.time() * 1000
    time.sleep(3)
    assert max(timestamps(state)) <= removed_ms + 1000
    assert max(timestamps(setting)) > removed_ms + 1000, "the setting is still refreshed"
    # The GX goes away: nothing is written for it once it has been silent for ALIVE_WITHIN s.
    sim.stop()
    stopped_ms = time.time() * 1000
    time.sleep(alive_within + 3)
    assert max(timestamps(setting)) <= stopped_ms + (alive_within + 1.5) * 1000
    h = col.healthz()
    assert h["refreshed"] >= 6 and h["dropped"] == 0
    assert h["accepted"] == h["received"] - h["skipped_total"] + h["refreshed"]


def realtime_over_socket(path):
    """GET /api/realtime on the collector's Unix socket, as the node's nginx does."""
    import http.client
    import socket

    class UnixConnection(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(path)

    connection = UnixConnection("localhost", timeout=5)
    connection.request("GET", "/api/realtime")
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Content-Type") == "application/json"
    return json.loads(response.read())


def realtime_system(path, system_id):
    return [s for s in realtime_over_socket(path)["systems"] if s["system_id"] == system_id][0]


def test_realtime_live_values_from_memory_and_stale_when_the_gx_goes_silent(broker, sim_factory, vm_factory,
                                                                            collector_factory, recorder_factory):
    vm = vm_factory()
    sim = sim_factory()
    rec = recorder_factory(["N/%s/system/0/#" % sim.portal_id])
    sock = "/tmp/ovr-rt-%d.sock" % os.getpid()      # short: a Unix socket path has ~100 characters
    col = collector_factory(broker, [sim.portal_id, "c0ffee000000"], vm.url, realtime_socket=sock,
                            realtime_stale_after=2)
    try:
        def soc_seen():
            system = realtime_system(sock, sim.portal_id)
            return system["soc"] is not None and system["pout"] is not None
        wait(soc_seen, 15, "live values on /api/realtime")
        sim.rate = 50.0
        time.sleep(1.5)
        doc = realtime_over_socket(sock)
        assert abs(doc["ts"] - time.time()) < 2
        by_id = dict((s["system_id"], s) for s in doc["systems"])
        assert sorted(by_id) == sorted([sim.portal_id, "c0ffee000000"])
        mine = by_id[sim.portal_id]
        assert mine["stale"] is False and time.time() - mine["ts"] < 4     # heartbeat every 3 s, values more often

        def latest(path):
            payloads = rec.payloads("N/%s/%s" % (sim.portal_id, path))
            return json.loads(payloads[-1])["value"] if payloads else None
        # fresh: what the GX published last (a fast walk may move a value between the two reads)
        assert 0 <= mine["soc"] <= 100 and 46 <= mine["voltage"] <= 58
        assert mine["mode"] == latest("system/0/SystemState/State") == 9
        expected_pout = sum(latest("system/0/Ac/Consumption/L%d/Power" % n) for n in (1, 2, 3))
        assert abs(mine["pout"] - expected_pout) < 300
        # a followed portal nothing answers for: listed, empty, stale
        assert by_id["c0ffee000000"] == {"system_id": "c0ffee000000", "soc": None, "voltage": None, "pin": None,
                                         "pout": None, "mode": None, "ts": None, "stale": True}
        # the same document on the TCP address, straight from memory while VictoriaMetrics is down
        vm.stop()
        text = col._get("/api/realtime")
        socs = [s["soc"] for s in json.loads(text)["systems"] if s["system_id"] == sim.portal_id]
        assert len(socs) == 1 and 0 <= socs[0] <= 100
        vm.start()
        # the GX goes silent: its last values stay, marked stale past the bound
        sim.stop()
        wait(lambda: realtime_system(sock, sim.portal_id)["stale"], 6, "stale after 2 s of silence")
        silent = realtime_system(sock, sim.portal_id)
        assert silent["soc"] is not None and time.time() - silent["ts"] > 2
    finally:
        assert col.stop() == 0
        if os.path.exists(sock):  # the collector replaces a stale one at its start; the test leaves none
            os.unlink(sock)


def stream_over_socket(path):
    """A subscriber of /api/realtime/stream on the collector's Unix socket, as the node's nginx is."""
    import socket

    from sse import EventStream  # tests/support

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(path)
    return EventStream(sock)


def test_realtime_stream_pushes_each_change_to_every_subscriber(broker, sim_factory, vm_factory, collector_factory):
    vm = vm_factory()
    sim = sim_factory()
    sock = "/tmp/ovr-rts-%d.sock" % os.getpid()
    col = collector_factory(broker, [sim.portal_id], vm.url, realtime_socket=sock, realtime_stale_after=2)
    streams = []
    try:
        wait(lambda: (col.healthz() or {}).get("subscribed", {}).get(broker.url), 10, "the SUBACK")
        streams = [stream_over_socket(sock) for dummy in range(5)]
        assert b"Content-Type: text/event-stream" in streams[0].head and b"Content-Length" not in streams[0].head
        first = [s.next() for s in streams]
        assert all([x["system_id"] for x in doc["systems"]] == [sim.portal_id] for doc in first)
        assert col.healthz()["realtime_subscribers"] == 5
        sim.rate = 20.0
        # every subscriber sees the values move, each document once, in order
        seen = [[] for dummy in streams]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and min(len(s) for s in seen) < 5:
            for stream, docs in zip(streams, seen):
                docs.append(stream.next())
        for docs in seen:
            stamps = [d["ts"] for d in docs]
            assert len(docs) >= 5 and stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
            assert docs[-1]["systems"][0]["soc"] is not None and docs[-1]["systems"][0]["stale"] is False
        # polling alongside answers the same values
        polled = realtime_system(sock, sim.portal_id)
        assert polled["stale"] is False and 0 <= polled["soc"] <= 100
        # the GX goes silent: the stale flag is pushed without a message
        sim.stop()
        deadline = time.monotonic() + 8
        doc = streams[0].next()
        while not doc["systems"][0]["stale"] and time.monotonic() < deadline:
            doc = streams[0].next()
        assert doc["systems"][0]["stale"] is True
        # subscribers that leave are forgotten
        for stream in streams:
            stream.close()
        wait(lambda: col.healthz()["realtime_subscribers"] == 0, 5, "the subscribers to be dropped")
    finally:
        for stream in streams:
            stream.close()
        assert col.stop() == 0
        if os.path.exists(sock):
            os.unlink(sock)
