# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collector's HTTP endpoint: ``/metrics`` (Prometheus text), ``/healthz`` (JSON) and
``/api/realtime`` (the live values, see ``realtime``), on a TCP address and/or a Unix socket."""

import http.server
import json
import os
import socketserver
import threading


def health(figures):
    """The /healthz document: the figures and a status, "ok" unless writes fail or the spool is full."""
    healthy = not figures["last_write_error_time"] or figures["last_write_ok_time"] >= figures["last_write_error_time"]
    figures["status"] = "ok" if healthy and not figures["spool_full"] else "degraded"
    return figures


def handler(collector):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (http.server API)
            path = self.path.split("?")[0]
            headers = {}
            if path == "/api/realtime":
                body, ctype, code = collector.realtime_body(), "application/json", 200
                headers["Cache-Control"] = "no-store"
            elif path == "/metrics":
                body, ctype, code = collector.prometheus().encode(), "text/plain; version=0.0.4", 200
            elif path == "/healthz":
                doc = health(collector.figures())
                body, ctype, code = (json.dumps(doc, sort_keys=True) + "\n").encode(), "application/json", 200
            else:
                body, ctype, code = b"not found\n", "text/plain", 404
            # status line, headers and body in one write: two small writes on a keep-alive
            # connection would wait for the client's delayed ACK (Nagle), ~40 ms an answer
            headers.update({"Content-Type": ctype, "Content-Length": str(len(body))})
            if self.close_connection:
                headers["Connection"] = "close"
            head = "%s %d %s\r\n" % (self.protocol_version, code, self.responses[code][0])
            head += "".join("%s: %s\r\n" % item for item in sorted(headers.items())) + "\r\n"
            self.wfile.write(head.encode("latin-1") + body)

        def address_string(self):
            # a Unix socket peer has no (host, port)
            return self.client_address[0] if isinstance(self.client_address, tuple) else "unix"

        def log_message(self, *_args):  # pylint: disable=arguments-differ
            pass

    return Handler


# A hundred clients connecting at once must not overflow the listen backlog (the default is 5).
BACKLOG = 128


class _TcpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = BACKLOG


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = BACKLOG

    def get_request(self):
        request, _address = super().get_request()
        return request, ("unix", 0)


def _start(server):
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server


def serve(collector, host, port):
    """Serve the collector's endpoints on host:port from a daemon thread; returns the server."""
    return _start(_TcpServer((host, port), handler(collector)))


def serve_unix(collector, path):
    """The same on a Unix socket (mode 0666: nginx in its container connects as its own user; the
    socket's folder decides who can reach it); a stale socket file is replaced."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    server = _UnixServer(path, handler(collector))
    os.chmod(path, 0o666)
    return _start(server)
