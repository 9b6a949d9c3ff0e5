# -*- coding: utf-8 -*-
"""A subscriber of the collector's /api/realtime/stream (server-sent events) on a connected socket,
for the unit tests (TCP) and the integration tests (the collector's Unix socket)."""

import json


class EventStream(object):
    """Sends the request on ``sock`` and reads its ``data:`` events, one document at a time."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.sendall(b"GET /api/realtime/stream HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            assert chunk, "the stream ended before its headers"
            data += chunk
        self.head, self.rest = data.split(b"\r\n\r\n", 1)

    def next(self):
        """The next ``data:`` event (a document)."""
        while True:
            while b"\n\n" in self.rest:
                event, self.rest = self.rest.split(b"\n\n", 1)
                for line in event.split(b"\n"):
                    if line.startswith(b"data: "):
                        return json.loads(line[len(b"data: "):])
            chunk = self.sock.recv(65536)
            assert chunk, "the stream ended"
            self.rest += chunk

    def close(self):
        self.sock.close()
