# -*- coding: utf-8 -*-
"""The live values serialised once per change (ovr_node.realtime.LiveDocument), pushed to the
subscribers of /api/realtime/stream (realtime.Hub) and served by the collector's HTTP side."""

import http.client
import json
import socket
import time

from live_helpers import make_collector, send
from sse import EventStream  # tests/support  # tests/unit/collector: a collector fed by hand
from ovr_node import http as http_side, realtime  # roles/node_runtime/files

SOC = "system/0/Dc/Battery/Soc"


class FakeSubscriber(object):
    """A transport: what was written, and a socket buffer that takes ``drain`` bytes per flush."""

    def __init__(self, drain=None):
        self.events = []
        self.pending = 0
        self.drain = drain
        self.closed = False

    def write(self, data):
        self.events.append(data)
        self.pending += len(data)

    def get_write_buffer_size(self):
        return self.pending

    def flush(self):
        self.pending = 0 if self.drain is None else max(0, self.pending - self.drain)

    def close(self):
        self.closed = True

    def documents(self):
        return [json.loads(e[len(b"data: "):]) for e in self.events if e.startswith(b"data: ")]


# ---- one serialisation per change

def test_the_body_is_encoded_again_only_when_something_in_it_changed(tmp_path):
    collector = make_collector(tmp_path)
    live = collector.live
    send(collector, "abc", SOC, 80)
    first = collector.realtime_snapshot(1000.0)
    assert live.encoded == 1
    assert collector.realtime_snapshot(1000.01) is first           # within REUSE: the same bytes
    assert collector.realtime_snapshot(1005.0) is first            # later, nothing changed: still the same
    assert live.encoded == 1 and collector.figures()["realtime_encoded"] == 1
    send(collector, "abc", SOC, 80)                                # the same value again: heard moved
    heard = collector.realtime_snapshot(1005.1)
    assert heard is not first and json.loads(heard.body)["systems"][0]["soc"] == 80
    send(collector, "abc", SOC, 81)
    assert collector.realtime_snapshot(1005.12) is heard           # a new value waits out REUSE...
    changed = collector.realtime_snapshot(1005.2)                  # ...then shows
    assert json.loads(changed.body)["systems"][0]["soc"] == 81 and live.encoded == 3
    assert collector.figures()["realtime_requests"] == 6


def test_a_gx_turning_stale_changes_the_document_without_a_message(tmp_path, monkeypatch):
    collector = make_collector(tmp_path, "--realtime-stale-after", "15")
    monkeypatch.setattr(time, "time", lambda: 1000.0)
    send(collector, "abc", SOC, 80)
    fresh = collector.realtime_snapshot(1010.0)
    assert json.loads(fresh.body)["systems"][0]["stale"] is False
    assert collector.realtime_snapshot(1014.0) is fresh
    stale = collector.realtime_snapshot(1016.0)
    assert stale is not fresh and json.loads(stale.body)["systems"][0]["stale"] is True


def test_the_snapshot_holds_the_whole_answer_and_the_event():
    snap = realtime.Snapshot((1, 1, (), ()), 1000.0, b'{"systems":[],"ts":1000.0}\n')
    head, body = snap.response.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Content-Length: %d" % len(body) in head
    assert b"Cache-Control: no-store" in head and b"Content-Type: application/json" in head
    assert body == snap.body
    assert snap.event == b'data: {"systems":[],"ts":1000.0}\n\n'


def test_a_value_change_wakes_the_stream_once_until_taken(tmp_path):
    collector = make_collector(tmp_path)
    woken = []
    collector.realtime.on_change = lambda: woken.append(1)
    send(collector, "abc", SOC, 80)
    send(collector, "abc", SOC, 81)
    send(collector, "abc", "heartbeat", 1)          # not a field: no wake-up
    assert woken == [1]
    collector.realtime.wake_pending = False         # the hub took it (Hub.push)
    send(collector, "abc", SOC, 81)                 # unchanged value: no wake-up
    send(collector, "abc", SOC, 82)
    assert woken == [1, 1]


# ---- the hub: each update once, slow subscribers skip

def hub_for(collector, **kwargs):
    return realtime.Hub(collector.live, **kwargs)


def test_a_subscriber_gets_the_current_document_then_each_update_once(tmp_path):
    collector = make_collector(tmp_path)
    hub = hub_for(collector, heard_every=1000.0, ping=1000.0)
    send(collector, "abc", SOC, 80)
    sub = FakeSubscriber()
    hub.add(sub, now=1000.0)
    assert [d["systems"][0]["soc"] for d in sub.documents()] == [80]
    assert hub.push(now=1000.2) is False            # nothing changed: nothing sent
    send(collector, "abc", SOC, 81)
    assert hub.push(now=1000.3) is True
    assert hub.push(now=1000.4) is False            # the same update is not sent twice
    send(collector, "abc", SOC, 82)
    assert hub.push(now=1000.32) is False           # within REUSE of the last push: later
    assert hub.push(now=1000.5) is True
    assert [d["systems"][0]["soc"] for d in sub.documents()] == [80, 81, 82]
    assert hub.pushed == 2


def test_heard_times_alone_are_pushed_at_most_every_heard_every(tmp_path):
    collector = make_collector(tmp_path)
    hub = hub_for(collector, heard_every=1.0, ping=1000.0)
    send(collector, "abc", SOC, 80)
    sub = FakeSubscriber()
    hub.add(sub, now=1000.0)
    hub.push(now=1000.0)
    send(collector, "abc", "heartbeat", 1)
    assert hub.push(now=1000.5) is False
    assert hub.push(now=1001.1) is True
    assert len(sub.documents()) == 2


def test_a_quiet_stream_gets_a_comment_to_stay_open(tmp_path):
    collector = make_collector(tmp_path)
    hub = hub_for(collector, ping=15.0)
    sub = FakeSubscriber()
    hub.add(sub, now=1000.0)
    hub.push(now=1000.0)
    hub.push(now=1010.0)
    assert sub.events[-1].startswith(b"data: ")
    hub.push(now=1016.0)
    assert sub.events[-1] == b": ping\n\n"


def test_a_slow_subscriber_skips_updates_holds_bounded_memory_and_blocks_nobody(tmp_path):
    collector = make_collector(tmp_path)
    hub = hub_for(collector, max_buffer=1000, stall=30.0, heard_every=1000.0, ping=1000.0)
    fast, slow = FakeSubscriber(), FakeSubscriber(drain=0)
    hub.add(fast, now=1000.0)
    hub.add(slow, now=1000.0)
    now = 1000.0
    for value in range(100):
        now += 0.1
        send(collector, "abc", SOC, value)
        assert hub.push(now=now) is True
        fast.flush()
        # never more than the bound plus one event waits for the slow one
        assert slow.get_write_buffer_size() <= 1000 + len(collector.live.current.event)
    assert [d["systems"][0]["soc"] for d in fast.documents()] == [None] + list(range(100))
    assert 1 < len(slow.documents()) < 20 and hub.skipped > 80
    # it catches up with the latest document once it has room, without a new change
    slow.pending = 0
    hub.push(now=now + 0.1)
    assert slow.documents()[-1]["systems"][0]["soc"] == 99
    assert len(fast.documents()) == 101


def test_a_subscriber_stalled_longer_than_the_bound_is_disconnected(tmp_path):
    collector = make_collector(tmp_path)
    hub = hub_for(collector, max_buffer=10, stall=30.0, heard_every=1000.0, ping=1000.0)
    stuck = FakeSubscriber(drain=0)
    hub.add(stuck, now=1000.0)
    send(collector, "abc", SOC, 1)
    hub.push(now=1001.0)          # over the bound: skipping since 1001
    send(collector, "abc", SOC, 2)
    hub.push(now=1020.0)
    assert not stuck.closed
    send(collector, "abc", SOC, 3)
    hub.push(now=1031.5)
    assert stuck.closed and stuck not in hub.subscribers and hub.dropped == 1


# ---- over HTTP

def stream_on(port):
    """A subscriber of /api/realtime/stream on a plain socket."""
    return EventStream(socket.create_connection(("127.0.0.1", port), timeout=5))


def test_the_stream_over_http_pushes_updates_and_polling_is_unchanged(tmp_path):
    collector = make_collector(tmp_path)
    send(collector, "abc", SOC, 70)
    server = http_side.serve(collector, "127.0.0.1", 0)
    collector.http = server
    port = server.server_address[1]
    try:
        stream = stream_on(port)
        assert stream.head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"Content-Type: text/event-stream" in stream.head and b"Cache-Control: no-store" in stream.head
        assert b"Content-Length" not in stream.head and b"X-Accel-Buffering: no" in stream.head
        assert stream.next()["systems"][0]["soc"] == 70
        started = time.monotonic()
        send(collector, "abc", SOC, 71)            # an MQTT thread's message wakes the server's loop
        assert stream.next()["systems"][0]["soc"] == 71
        assert time.monotonic() - started < 1.0
        assert collector.figures()["realtime_subscribers"] == 1
        # polling, keep-alive, alongside: the same document
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for dummy in range(3):
            conn.request("GET", "/api/realtime")
            response = conn.getresponse()
            assert response.status == 200 and response.getheader("Cache-Control") == "no-store"
            assert json.loads(response.read())["systems"][0]["soc"] == 71
        conn.request("HEAD", "/api/realtime")
        response = conn.getresponse()
        assert response.status == 200 and response.read() == b""
        conn.request("POST", "/api/realtime", body=b"x")
        response = conn.getresponse()
        assert response.status == 405 and response.read()
        conn.request("GET", "/healthz")
        assert json.loads(conn.getresponse().read())["realtime_subscribers"] == 1
        stream.sock.close()
        deadline = time.monotonic() + 5
        while collector.figures()["realtime_subscribers"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert collector.figures()["realtime_subscribers"] == 0
    finally:
        server.shutdown()


def test_requests_in_one_packet_are_answered_in_order_and_garbage_gets_400(tmp_path):
    collector = make_collector(tmp_path)
    server = http_side.serve(collector, "127.0.0.1", 0)
    try:
        sock = socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=5)
        sock.sendall(b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\nGET /api/realtime HTTP/1.1\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        assert data.startswith(b"HTTP/1.1 404 Not Found\r\n")
        second = data.split(b"HTTP/1.1 200 OK\r\n", 1)[1]
        assert b"Connection: close" in second and b'{"systems":' in second
        bad = socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=5)
        bad.sendall(b"NONSENSE\r\n\r\n")
        assert bad.recv(100).startswith(b"HTTP/1.1 400 Bad Request")
    finally:
        server.shutdown()
