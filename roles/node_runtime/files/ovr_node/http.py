# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collector's HTTP endpoint: ``/metrics`` (Prometheus text), ``/healthz`` (JSON) and
``/api/realtime`` (the live values, see ``realtime``), on a TCP address and/or a Unix socket.

One thread runs an asyncio loop for all connections (HTTP/1.1 keep-alive, GET only): a hundred
clients asking at once then compete with the MQTT threads as one thread, not a hundred (with a
thread per connection, Python's GIL would hand the MQTT thread a hundredth of the time and
ingest would fall behind).
"""

import asyncio
import json
import os
import threading

# A hundred clients connecting at once must not overflow the listen backlog.
BACKLOG = 128
# An idle keep-alive connection is closed after this many seconds.
IDLE_TIMEOUT = 30.0
MAX_HEAD = 16384
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}


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


class Server(object):
    """An asyncio HTTP server in a thread of its own; ``path`` for a Unix socket, else host:port."""

    def __init__(self, collector, host=None, port=None, path=None):
        self.collector = collector
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.server_address = None
        self._error = None
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            try:
                if path:
                    start = asyncio.start_unix_server(self._handle, path=path, backlog=BACKLOG, limit=MAX_HEAD)
                else:
                    start = asyncio.start_server(self._handle, host, port, backlog=BACKLOG, limit=MAX_HEAD,
                                                 reuse_address=True)
                self.server = self.loop.run_until_complete(start)
                self.server_address = self.server.sockets[0].getsockname()
            except OSError as exc:
                self._error = exc
                return
            finally:
                ready.set()
            self.loop.run_forever()
            self.server.close()
            self.loop.run_until_complete(self.server.wait_closed())
            self.loop.close()

        self.thread = threading.Thread(target=run, name="http", daemon=True)
        self.thread.start()
        ready.wait()
        if self._error is not None:
            raise self._error

    async def _handle(self, reader, writer):
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, OSError):
                    break
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split()
                if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                    writer.write(response(400, "text/plain", b"bad request\n", {}, True))
                    break
                method, target, version = parts
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                connection = headers.get("connection", "").lower()
                close = connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive")
                length = headers.get("content-length", "0")
                if not length.isdigit() or int(length) > MAX_HEAD:
                    writer.write(response(400, "text/plain", b"bad request\n", {}, True))
                    break
                if int(length):
                    await reader.readexactly(int(length))   # nothing takes a body: read past it
                code, ctype, body, extra = route(self.collector, method, target)
                writer.write(response(code, ctype, body, extra, close, head_only=method == "HEAD"))
                await writer.drain()
                if close:
                    break
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

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
