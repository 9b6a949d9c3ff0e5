# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collector's HTTP endpoint: ``/metrics`` (Prometheus text) and ``/healthz`` (JSON)."""

import http.server
import json
import threading


def health(figures):
    """The /healthz document: the figures and a status, "ok" unless writes fail or the spool is full."""
    healthy = not figures["last_write_error_time"] or figures["last_write_ok_time"] >= figures["last_write_error_time"]
    figures["status"] = "ok" if healthy and not figures["spool_full"] else "degraded"
    return figures


def serve(collector, host, port):
    """Serve the collector's counters on host:port from a daemon thread; returns the server."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server API)
            if self.path.split("?")[0] == "/metrics":
                body, ctype, code = collector.prometheus().encode(), "text/plain; version=0.0.4", 200
            elif self.path.split("?")[0] == "/healthz":
                doc = health(collector.figures())
                body, ctype, code = (json.dumps(doc, sort_keys=True) + "\n").encode(), "application/json", 200
            else:
                body, ctype, code = b"not found\n", "text/plain", 404
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):  # pylint: disable=arguments-differ
            pass

    server = http.server.ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
