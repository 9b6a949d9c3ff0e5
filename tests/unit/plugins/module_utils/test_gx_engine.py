# -*- coding: utf-8 -*-
"""Unit tests for plugins/module_utils/gx.py: targets, and the paho-based session's
classification against scripted peers on loopback."""

import socket
import struct
import threading
import time

import pytest

from ansible_collections.ovr.fleet.plugins.module_utils import gx, mqtt

CONNACK_OK = b"\x20\x02\x00\x00"
SUBACK_OK = b"\x90\x03\x00\x01\x00"


def publish_packet(topic, payload, retain=False):
    """A QoS 0 PUBLISH as a broker sends it (what the scripted peers below replay)."""
    body = struct.pack("!H", len(topic)) + topic.encode() + payload
    assert len(body) < 128
    return bytes([0x30 | (1 if retain else 0), len(body)]) + body


@pytest.mark.parametrize("target, expected", [
    ("venus.local", ("venus.local", 1883)),
    ("venus.local:1884", ("venus.local", 1884)),
    ("192.0.2.1", ("192.0.2.1", 1883)),
    ("192.0.2.1:8883", ("192.0.2.1", 8883)),
    ("[fd00::1]:1884", ("fd00::1", 1884)),
    ("[fd00::1]", ("fd00::1", 1883)),
    ("fd00::1", ("fd00::1", 1883)),
    ("  venus  ", ("venus", 1883)),
])
def test_parse_target(target, expected):
    assert gx.parse_target(target) == expected


@pytest.mark.parametrize("target", ["", "host:", "host:x", "host:0", "host:70000", "[fd00::1", "[fd00::1]x", ":1883"])
def test_parse_target_rejects(target):
    with pytest.raises(ValueError):
        gx.parse_target(target)


def test_format_address():
    assert gx.format_address("fd00::1", 1883) == "[fd00::1]:1883"
    assert gx.format_address("192.0.2.1", 1883) == "192.0.2.1:1883"


class Scripted(object):
    """A loopback peer that, per connection, reads the CONNECT and answers with ``reply``."""

    def __init__(self, reply, read_first=True, hold=0.3, later=None, delay=0.0):
        self.hold = hold
        self.later = later  # sent ``delay`` seconds after ``reply``
        self.delay = delay
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.read_first = read_first
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(3)
        try:
            conn, dummy = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(2)
            if self.read_first:
                conn.recv(4096)
            if self.reply is not None:
                conn.sendall(self.reply)
                if self.later is not None:
                    time.sleep(self.delay)
                    conn.sendall(self.later)
                time.sleep(self.hold)

    def close(self):
        self.sock.close()
        self.thread.join(3)


@pytest.mark.parametrize("reply, reason, text", [
    (b"\x20\x02\x00\x05", "auth", "not authorized"),
    (b"\x20\x02\x00\x04", "auth", "bad user name or password"),
    (b"\x20\x02\x00\x03", "protocol", "refused the connection: server unavailable"),
    (b"\x20\x02\x00\x09", "protocol", "refused the connection: unspecified error"),
    # paho does not fall back to MQTT 3.1 (reconnect_on_failure=False): a refused version is a protocol error
    (b"\x20\x02\x00\x01", "protocol", "not an MQTT CONNACK"),
    (b"\x20\x03\x00\x00\x00", "protocol", "not an MQTT CONNACK"),
    (b"SSH-2.0-OpenSSH_9.2\r\n", "protocol", "without an MQTT CONNACK"),
    (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", "protocol",
     "without an MQTT CONNACK"),
    (b"\x20\xff\xff\xff\xff\x01", "protocol", "not an MQTT CONNACK"),
    (b"", "protocol", "closed the connection"),
])
def test_probe_classifies_handshake_answers(reply, reason, text):
    peer = Scripted(reply)
    try:
        result = gx.probe("127.0.0.1:%d" % peer.port, timeout=2)
    finally:
        peer.close()
    assert result["devices"] == []
    assert result["error"]["reason"] == reason and text in result["error"]["msg"]


def test_probe_suback_failure_is_auth():
    # CONNACK ok, then SUBACK with 0x80 (subscription refused by an ACL)
    peer = Scripted(CONNACK_OK + b"\x90\x03\x00\x01\x80")
    try:
        result = gx.probe("127.0.0.1:%d" % peer.port, timeout=2)
    finally:
        peer.close()
    assert result["error"]["reason"] == "auth" and "refused the subscription" in result["error"]["msg"]


def test_probe_reads_serials_and_returns_after_a_short_grace():
    serial = publish_packet("N/abc/system/0/Serial", b'{"value":"abc"}', retain=True)
    other = publish_packet("N/abc/system/0/Other", b'{"value":1}')
    serial2 = publish_packet("N/def/system/0/Serial", b'{"value":"def"}', retain=True)
    peer = Scripted(CONNACK_OK + SUBACK_OK + other + serial + b"\xd0\x00", later=serial2, delay=0.1, hold=0.8)
    start = time.monotonic()
    try:
        result = gx.probe("127.0.0.1:%d" % peer.port, timeout=3)
        elapsed = time.monotonic() - start
    finally:
        peer.close()
    assert elapsed < 1.0, "a live GX is answered at once, not at the deadline"
    target = "127.0.0.1:%d" % peer.port
    assert result == {"devices": [{"target": target, "address": "127.0.0.1", "port": peer.port, "portal_id": pid}
                                  for pid in ("abc", "def")], "error": None}


def test_probe_waits_for_a_late_serial():
    serial = publish_packet("N/late/system/0/Serial", b'{"value":"late"}', retain=True)
    peer = Scripted(CONNACK_OK + SUBACK_OK, later=serial, delay=0.4, hold=0.3)
    try:
        result = gx.probe("127.0.0.1:%d" % peer.port, timeout=2)
    finally:
        peer.close()
    assert [d["portal_id"] for d in result["devices"]] == ["late"]


def test_probe_broker_without_serial_is_no_portal_id():
    peer = Scripted(CONNACK_OK + SUBACK_OK + publish_packet("N/x/other", b"{}"), hold=0.8)
    start = time.monotonic()
    try:
        result = gx.probe("127.0.0.1:%d" % peer.port, timeout=0.6)
        elapsed = time.monotonic() - start
    finally:
        peer.close()
    assert result["error"]["reason"] == "no_portal_id" and "publishes no" in result["error"]["msg"]
    assert 0.5 <= elapsed < 1.0


def test_probe_connection_lost_after_suback_is_protocol():
    peer = Scripted(CONNACK_OK + SUBACK_OK, hold=0.1)
    try:
        result = gx.probe("127.0.0.1:%d" % peer.port, timeout=2)
    finally:
        peer.close()
    assert result["error"]["reason"] == "protocol" and "lost" in result["error"]["msg"]


def test_probe_silent_listener_is_a_timeout_and_closed_port_is_connect():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)  # the kernel accepts; nobody ever answers
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        start = time.monotonic()
        result = gx.probe("127.0.0.1:%d" % silent.getsockname()[1], timeout=0.5)
        assert 0.45 <= time.monotonic() - start < 1.0
        assert result["error"]["reason"] == "timeout" and "MQTT handshake" in result["error"]["msg"]
        result = gx.probe("127.0.0.1:%d" % closed_port, timeout=0.5)
        assert result["error"]["reason"] == "connect" and "cannot connect" in result["error"]["msg"]
    finally:
        silent.close()


def test_probe_tls_to_a_plain_peer_is_protocol_and_to_a_silent_one_a_timeout():
    options = mqtt.ConnectionOptions(tls_insecure=True)
    peer = Scripted(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    try:
        result = gx.probe("127.0.0.1:%d" % peer.port, timeout=2, options=options)
    finally:
        peer.close()
    assert result["error"]["reason"] == "protocol" and "TLS" in result["error"]["msg"]
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        start = time.monotonic()
        result = gx.probe("127.0.0.1:%d" % silent.getsockname()[1], timeout=0.5, options=options)
    finally:
        silent.close()
    assert result["error"]["reason"] == "timeout" and "TLS handshake" in result["error"]["msg"]
    assert time.monotonic() - start < 1.0


def test_probe_sends_credentials_through_paho():
    seen = []

    class Peer(Scripted):
        def serve(self):
            self.sock.settimeout(3)
            conn, dummy = self.sock.accept()
            with conn:
                conn.settimeout(2)
                seen.append(conn.recv(4096))
                conn.sendall(b"\x20\x02\x00\x04")
                time.sleep(0.3)

    peer = Peer(None)
    try:
        result = gx.probe("127.0.0.1:%d" % peer.port, timeout=2,
                          options=mqtt.ConnectionOptions(username="gx", password="s3cret"))
    finally:
        peer.close()
    assert result["error"]["reason"] == "auth"
    assert seen[0][0] == 0x10 and b"MQTT\x04" in seen[0] and seen[0].endswith(b"\x00\x02gx\x00\x06s3cret")


def test_probe_without_suback_is_a_timeout():
    peer = Scripted(CONNACK_OK, hold=1.0)
    try:
        result = gx.probe("127.0.0.1:%d" % peer.port, timeout=0.5)
    finally:
        peer.close()
    assert result["error"]["reason"] == "timeout"


def test_probe_malformed_target_is_resolve():
    assert gx.probe("host:notaport")["error"]["reason"] == "resolve"


def test_discover_reports_a_stuck_resolver_as_resolve(monkeypatch):
    real = socket.getaddrinfo

    def slow(host, *args, **kwargs):
        if host == "slow.example":
            time.sleep(1.5)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(gx.socket, "getaddrinfo", slow)
    start = time.monotonic()
    devices, unreachable = gx.discover(["slow.example"], timeout=0.3)
    assert time.monotonic() - start < 1.2, "a hung getaddrinfo does not hold the call past the deadline"
    assert devices == [] and unreachable[0]["reason"] == "resolve"
    assert "did not finish" in unreachable[0]["msg"]


def test_validate_devices_fills_the_port():
    out = gx.validate_devices([{"address": "192.0.2.1", "portal_id": "a"},
                               {"target": "venus:1884", "portal_id": "b"}])
    assert [d["port"] for d in out] == [1883, 1884]


def test_keepalive_publishes_qos1_and_waits_for_puback():
    received = []

    class Broker(Scripted):
        def serve(self):
            self.sock.settimeout(3)
            conn, dummy = self.sock.accept()
            with conn:
                conn.settimeout(2)
                conn.recv(4096)  # CONNECT
                conn.sendall(CONNACK_OK)
                data = b""
                while data.count(b"keepalive") < 2:
                    data += conn.recv(4096)
                received.append(data)
                # PUBACK only the first packet id
                conn.sendall(b"\x40\x02" + struct.pack("!H", 1))
                time.sleep(1.0)

    peer = Broker(None)
    devices = [{"address": "127.0.0.1", "port": peer.port, "portal_id": "a"},
               {"address": "127.0.0.1", "port": peer.port, "portal_id": "b"}]
    try:
        sent, failed = gx.keepalive(devices, mode="suppress", timeout=0.6)
    finally:
        peer.close()
    assert [s["portal_id"] for s in sent] == ["a"]
    assert [(f["portal_id"], f["reason"]) for f in failed] == [("b", "timeout")]
    assert b"R/a/keepalive" in received[0] and b"suppress-republish" in received[0]
    assert received[0][received[0].index(b"\x32"):][0] == 0x32  # QoS 1 PUBLISH


def test_keepalive_classifies_connect_and_auth_failures():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    peer = Scripted(b"\x20\x02\x00\x05")
    devices = [{"address": "127.0.0.1", "port": closed_port, "portal_id": "a"},
               {"address": "127.0.0.1", "port": peer.port, "portal_id": "b"},
               {"target": "gx.invalid", "portal_id": "c"}]
    try:
        sent, failed = gx.keepalive(devices, timeout=1)
    finally:
        peer.close()
    assert sent == []
    assert [(f["portal_id"], f["reason"]) for f in failed] == [("a", "connect"), ("b", "auth"), ("c", "resolve")]


def test_engine_without_paho_raises(monkeypatch):
    monkeypatch.setattr(mqtt, "HAS_PAHO", False)
    with pytest.raises(RuntimeError, match="paho-mqtt is required"):
        gx.discover(["127.0.0.1"], timeout=0.1)
    with pytest.raises(RuntimeError, match="paho-mqtt is required"):
        gx.keepalive([{"address": "127.0.0.1", "portal_id": "a"}], timeout=0.1)
