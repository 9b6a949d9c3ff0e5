# -*- coding: utf-8 -*-
"""Unit tests for plugins/module_utils/gx.py: targets, the MQTT codec, and the session's
classification against scripted peers on loopback."""

import socket
import struct
import threading
import time

import pytest

from ansible_collections.ovr.fleet.plugins.module_utils import gx


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


def test_codec():
    connect = gx.encode_connect("cid", keepalive=10, username="u", password="p")
    assert connect[0] == 0x10
    assert b"\x00\x04MQTT\x04\xc2\x00\x0a" in connect  # level 4, user+pass+clean, keepalive 10
    assert connect.endswith(b"\x00\x03cid\x00\x01u\x00\x01p")
    assert gx.encode_connect("c")[9] == 0x02  # anonymous: clean session only
    assert gx.encode_subscribe(7, ["a/b"]) == b"\x82\x08\x00\x07\x00\x03a/b\x00"
    pub = gx.encode_publish("t", b"xy", qos=1, packet_id=5)
    assert pub == b"\x32\x07\x00\x01t\x00\x05xy"
    assert gx.decode_publish(pub[0], pub[2:]) == ("t", b"xy", False, 1, 5)
    retained = gx.encode_publish("t", b"", retain=True)
    assert gx.decode_publish(retained[0], retained[2:]) == ("t", b"", True, 0, None)
    assert gx._encode_length(127) == b"\x7f" and gx._encode_length(128) == b"\x80\x01"
    assert gx._encode_length(2097151) == b"\xff\xff\x7f"
    with pytest.raises(gx.GxError):
        gx.decode_publish(0x30, b"\x00")


class Scripted(object):
    """A loopback peer that, per connection, reads the CONNECT and answers with ``reply``."""

    def __init__(self, reply, read_first=True, hold=0.3):
        self.hold = hold
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
                time.sleep(self.hold)

    def close(self):
        self.sock.close()
        self.thread.join(3)


@pytest.mark.parametrize("reply, reason, text", [
    (b"\x20\x02\x00\x05", "auth", "not authorized"),
    (b"\x20\x02\x00\x04", "auth", "bad user name or password"),
    (b"\x20\x02\x00\x01", "protocol", "unacceptable protocol version"),
    (b"\x20\x02\x00\x09", "protocol", "return code 9"),
    (b"\x20\x03\x00\x00\x00", "protocol", "not an MQTT CONNACK"),
    (b"SSH-2.0-OpenSSH_9.2\r\n", "protocol", "not an MQTT CONNACK"),
    (b"\x20\xff\xff\xff\xff\x01", "protocol", "malformed remaining length"),
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
    peer = Scripted(b"\x20\x02\x00\x00" + b"\x90\x03\x00\x01\x80")
    try:
        result = gx.probe("127.0.0.1:%d" % peer.port, timeout=2)
    finally:
        peer.close()
    assert result["error"]["reason"] == "auth" and "refused the subscription" in result["error"]["msg"]


def test_probe_reads_serials_and_stops_at_the_barrier():
    serial = gx.encode_publish("N/abc/system/0/Serial", b'{"value":"abc"}', retain=True)
    other = gx.encode_publish("N/abc/system/0/Other", b'{"value":1}')
    peer = Scripted(b"\x20\x02\x00\x00" + b"\x90\x03\x00\x01\x00" + other + serial + b"\xd0\x00")
    start = time.monotonic()
    try:
        result = gx.probe("127.0.0.1:%d" % peer.port, timeout=3)
    finally:
        peer.close()
    assert time.monotonic() - start < 1.0
    assert result == {"devices": [{"target": "127.0.0.1:%d" % peer.port, "address": "127.0.0.1",
                                   "port": peer.port, "portal_id": "abc"}], "error": None}


def test_probe_without_suback_is_a_timeout():
    peer = Scripted(b"\x20\x02\x00\x00", hold=1.0)
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
                conn.sendall(b"\x20\x02\x00\x00")
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
