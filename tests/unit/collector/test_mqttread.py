# -*- coding: utf-8 -*-
"""Buffered MQTT reads (ovr_node.mqttread): paho's client, fed from a buffer filled a chunk at a
time, delivers every message in order, whole, whatever the chunk boundaries, and returns to
select only with nothing left in its buffer."""

import json
import socket

import pytest

from ovr_node import mqttread  # roles/node_runtime/files

paho_client = pytest.importorskip("paho.mqtt.client")
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402


def publish_packet(topic, payload):
    body = len(topic.encode()).to_bytes(2, "big") + topic.encode() + payload
    length, encoded = len(body), bytearray()
    while True:
        byte, length = length % 128, length // 128
        encoded.append(byte | (0x80 if length else 0))
        if not length:
            return bytes([0x30]) + bytes(encoded) + body


def client_on(sock):
    """A buffered client reading ``sock`` as if connected (paho's CONNACK handling skipped)."""
    client = mqttread.client_class()(callback_api_version=CallbackAPIVersion.VERSION2, client_id="t")
    got = []
    client.on_message = lambda c, u, m: got.append((m.topic, m.payload))
    sock.setblocking(False)
    client._sock = sock
    return client, got


def messages(count, big_every=0):
    out = []
    for i in range(count):
        payload = json.dumps({"value": i}).encode()
        if big_every and i % big_every == 0:
            payload += b" " * 300   # a remaining length of two bytes
        out.append(("N/abc/system/0/Dc/Battery/Soc/%d" % (i % 7), payload))
    return out


def test_the_buffered_client_is_used_with_this_paho():
    assert mqttread.supported()
    assert issubclass(mqttread.client_class(), paho_client.Client)
    assert mqttread.client_class().__mro__[1] is mqttread.BufferedReads


@pytest.mark.parametrize("chunk, refills", [(65536, 16), (7, 16), (7, 1), (1, 3), (300, 2)])
def test_every_message_in_order_whatever_the_chunks(monkeypatch, chunk, refills):
    monkeypatch.setattr(mqttread, "CHUNK", chunk)
    monkeypatch.setattr(mqttread, "REFILLS", refills)
    ours, theirs = socket.socketpair()
    try:
        client, got = client_on(ours)
        sent = messages(500, big_every=37)
        theirs.sendall(b"".join(publish_packet(t, p) for t, p in sent))
        for dummy in range(100000):
            if len(got) == len(sent):
                break
            assert client.loop_read() == 0
            assert client.buffered() == 0   # back to select only with an empty buffer
        assert got == sent
    finally:
        ours.close()
        theirs.close()


def test_one_call_reads_what_the_socket_holds_not_one_packet(monkeypatch):
    ours, theirs = socket.socketpair()
    try:
        client, got = client_on(ours)
        calls = []
        real = paho_client.Client._sock_recv
        monkeypatch.setattr(paho_client.Client, "_sock_recv", lambda self, n: calls.append(n) or real(self, n))
        theirs.sendall(b"".join(publish_packet(t, p) for t, p in messages(1000)))
        assert client.loop_read() == 0
        assert len(got) == 1000
        assert len(calls) <= 4   # a few 64 KiB reads and the one that finds the socket empty (stock: 3000+)
    finally:
        ours.close()
        theirs.close()


def test_a_closed_connection_is_reported_and_the_buffer_dropped():
    ours, theirs = socket.socketpair()
    try:
        client, got = client_on(ours)
        theirs.sendall(publish_packet("N/abc/x/0/Y", b'{"value": 1}') + b"\x30")   # a packet, then half of one
        theirs.close()
        rc = client.loop_read()
        assert got == [("N/abc/x/0/Y", b'{"value": 1}')]
        assert rc != 0 and client.buffered() == 0
    finally:
        ours.close()
