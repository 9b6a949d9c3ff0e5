# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collector's HTTP endpoint: ``/metrics`` (Prometheus text), ``/healthz`` (JSON),
``/api/realtime`` (the live values, see ``realtime``) and ``/api/realtime/stream`` (the same as
server-sent events), on a TCP address and/or a Unix socket.

One thread runs an asyncio loop for all connections (HTTP/1.1 keep-alive, GET and HEAD only): a
hundred clients asking at once then compete with the MQTT threads as one thread, not a hundred
(with a thread per connection, Python's GIL would hand the MQTT thread a hundredth of the time and
ingest would fall behind). Connections are asyncio protocols (no coroutine per request), and
``/api/realtime`` is answered with the bytes of the whole response prepared once per document
(``realtime.LiveDocument``). The stream's subscribers are kept by a ``realtime.Hub``, woken by a
new value and by a timer; a subscriber's answer has no length (``Connection: close``), its events
follow as the values change.
"""

import asyncio
import json
import os
import threading
import time

from . import realtime as realtime_mod

# A hundred clients connecting at once must not overflow the listen backlog.
BACKLOG = 128
# An idle keep-alive connection is closed after this many seconds.
IDLE_TIMEOUT = 30.0
MAX_HEAD = 16384
# The stream's timer: heard times, stale flags, pings, slow subscribers catching up.
STREAM_TICK = 0.25
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
STREAM_HEAD = ("HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nConnection: close\r\n"
               "Content-Type: text/event-stream\r\nX-Accel-Buffering: no\r\n\r\n"
               # the browser's EventSource reconnects after this many ms
               "retry: 2000\n\n").encode("latin-1")


def health(figures):
    """The /healthz document: the figures and a status, "ok" unless writes fail or the spool is full."""
    healthy = not figures["last_write_error_time"] or figures["last_write_ok_time"] >= figures["last_write_error_time"]
    figures["status"] = "ok" if healthy and not figures["spool_full"] else "degraded"
    return figures


def route(collector, method, target):
    """(status, content type, body, extra headers) for one request."""
    if method not in ("GET", "HEAD"):
        return 405, "text/plain", b"method not allowed\n", {"Allow": "GET, HEAD"}
    path = target.split("?", 1)[0]
    if path == "/api/realtime":
        return 200, "application/json", collector.realtime_body(), {"Cache-Control": "no-store"}
    if path == "/metrics":
        return 200, "text/plain; version=0.0.4", collector.prometheus().encode(), {}
    if path == "/healthz":
        doc = health(collector.figures())
        return 200, "application/json", (json.dumps(doc, sort_keys=True) + "\n").encode(), {}
    return 404, "text/plain", b"not found\n", {}


def response(code, ctype, body, extra, close, head_only=False):
    headers = dict(extra, **{"Content-Type": ctype, "Content-Length": str(len(body))})
    if close:
        headers["Connection"] = "close"
    text = "HTTP/1.1 %d %s\r\n" % (code, REASONS.get(code, "")) + "".join(
        "%s: %s\r\n" % item for item in sorted(headers.items())) + "\r\n"
    # status line, headers and body in one write (two small writes would wait on delayed ACKs)
    return text.encode("latin-1") + (b"" if head_only else body)


def parse_head(head):
    """The bytes before the blank line -> (method, target, version, {lower-case name: value}) or None."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return parts[0], parts[1], parts[2], headers


class Connection(asyncio.Protocol):
    """One client connection: requests answered in order; or, after a stream request, a subscriber."""

    def __init__(self, server):
        self.server = server
        self.transport = None
        self.data = b""
        self.streaming = False
        self.active = time.monotonic()

    def connection_made(self, transport):
        self.transport = transport
        self.server.connections.add(self)

    def connection_lost(self, exc):
        self.server.connections.discard(self)
        if self.streaming:
            self.server.hub.remove(self)

    # the Hub's subscriber interface
    def write(self, data):
        self.transport.write(data)

    def get_write_buffer_size(self):
        return self.transport.get_write_buffer_size()

    def close(self):
        self.transport.close()

    def data_received(self, data):
        if self.streaming:
            return   # nothing is read from a subscriber
        self.active = time.monotonic()
        self.data = self.data + data if self.data else data
        while self.data and not self.transport.is_closing():
            end = self.data.find(b"\r\n\r\n")
            if end < 0:
                if len(self.data) > MAX_HEAD:
                    self.fail()
                return
            request = parse_head(self.data[:end])
            if request is None:
                self.fail()
                return
            method, target, version, headers = request
            length = headers.get("content-length", "0")
            if not length.isdigit() or int(length) > MAX_HEAD:
                self.fail()
                return
            if len(self.data) < end + 4 + int(length):
                return   # the body is still coming (nothing takes one: it is read past)
            self.data = self.data[end + 4 + int(length):]
            self.answer(method, target, version, headers)

    def fail(self):
        self.transport.write(response(400, "text/plain", b"bad request\n", {}, True))
        self.transport.close()

    def answer(self, method, target, version, headers):
        connection = headers.get("connection", "").lower()
        close = connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive")
        path = target.split("?", 1)[0]
        collector = self.server.collector
        if method == "GET" and path == "/api/realtime/stream":
            self.streaming = True
            self.data = b""
            self.transport.write(STREAM_HEAD)
            self.server.hub.add(self)
            return
        if method == "GET" and path == "/api/realtime" and not close:
            self.transport.write(collector.realtime_snapshot().response)
            return
        code, ctype, body, extra = route(collector, method, target)
        self.transport.write(response(code, ctype, body, extra, close, head_only=method == "HEAD"))
        if close:
            self.transport.close()


class Server(object):
    """An asyncio HTTP server in a thread of its own; ``path`` for a Unix socket, else host:port."""

    def __init__(self, collector, host=None, port=None, path=None):
        self.collector = collector
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.server_address = None
        self.connections = set()
        self.hub = realtime_mod.Hub(collector.live)
        self._push_handle = None
        self._error = None
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)

            def factory():
                return Connection(self)

            try:
                if path:
                    start = self.loop.create_unix_server(factory, path=path, backlog=BACKLOG)
                else:
                    start = self.loop.create_server(factory, host, port, backlog=BACKLOG, reuse_address=True)
                self.server = self.loop.run_until_complete(start)
                self.server_address = self.server.sockets[0].getsockname()
            except OSError as exc:
                self._error = exc
                return
            finally:
                ready.set()
            self.loop.call_later(STREAM_TICK, self._tick)
            self.loop.run_forever()
            self.server.close()
            for conn in list(self.connections):
                conn.transport.close()
            self.loop.run_until_complete(self.server.wait_closed())
            self.loop.close()

        self.thread = threading.Thread(target=run, name="http", daemon=True)
        self.thread.start()
        ready.wait()
        if self._error is not None:
            raise self._error

    def wake(self):
        """A new value (called from an MQTT thread): push it to the subscribers soon."""
        if self.hub.subscribers and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self._schedule_push)
            except RuntimeError:   # the loop closed meanwhile
                pass

    def _schedule_push(self):
        if self._push_handle is None:
            self._push_handle = self.loop.call_later(self.hub.due(time.time()), self._push)

    def _push(self):
        self._push_handle = None
        self.hub.push(time.time())

    def _tick(self):
        self.loop.call_later(STREAM_TICK, self._tick)
        if self.hub.subscribers:
            self.hub.push(time.time())
        idle = time.monotonic() - IDLE_TIMEOUT
        for conn in list(self.connections):
            if not conn.streaming and conn.active < idle:
                conn.transport.close()

    def shutdown(self):
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def serve(collector, host, port):
    """Serve the collector's endpoints on host:port; returns the server (``shutdown()``)."""
    return Server(collector, host=host, port=port)


def serve_unix(collector, path):
    """The same on a Unix socket (mode 0666: nginx in its container connects as its own user; the
    socket's folder decides who can reach it); a stale socket file is replaced."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    server = Server(collector, path=path)
    os.chmod(path, 0o666)
    return server
