# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing to VictoriaMetrics: the HTTP POST and the writer thread with its backoff."""

import logging
import threading
import time
import urllib.error
import urllib.request

LOG = logging.getLogger("ovr-collector")


class VmWriter(object):
    """POSTs Prometheus text to <vm_url>/api/v1/import/prometheus."""

    def __init__(self, vm_url, timeout=10.0):
        self.url = vm_url + "/api/v1/import/prometheus"
        self.timeout = timeout

    def __call__(self, body):
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "text/plain"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
                if response.status not in (200, 204):
                    raise IOError("HTTP %d" % response.status)
        except urllib.error.HTTPError as exc:
            raise IOError("HTTP %d: %s" % (exc.code, exc.read(200).decode("utf-8", "replace").strip()))
        except (urllib.error.URLError, OSError) as exc:
            raise IOError(str(getattr(exc, "reason", exc)))


class WriterThread(threading.Thread):
    """Seals, spills and writes, retrying with exponential backoff while VictoriaMetrics is down."""

    def __init__(self, pipeline, post, backoff_max=30.0):
        super(WriterThread, self).__init__(name="writer", daemon=True)
        self.pipeline = pipeline
        self.post = post
        self.backoff_max = backoff_max
        self.backoff = 0.0
        self.next_try = 0.0
        self.stopping = threading.Event()

    def run(self):
        pipe = self.pipeline
        while not self.stopping.is_set():
            pipe.wake.wait(min(pipe.flush_interval / 2.0, 0.5))
            pipe.wake.clear()
            now = time.monotonic()
            pipe.seal(time.time())
            try:
                pipe.spill()
            except Exception:  # keep collecting whatever the disk does
                LOG.exception("spill failed")
            if now < self.next_try:
                continue
            for _attempt in range(1000):   # bounded: at most 1000 batches before seal/spill run again
                if self.stopping.is_set():
                    break
                try:
                    if not pipe.write_once(self.post):
                        break
                except (IOError, OSError) as exc:
                    self.failed(str(exc))
                    break
                if self.backoff:
                    LOG.info("VictoriaMetrics is back: writing the backlog (%d lines on disk)", pipe.spool.lines)
                self.backoff = 0.0
                pipe.last_write_ok_ts = time.time()
                if pipe.over_memory():
                    pipe.spill()

    def failed(self, error):
        pipe = self.pipeline
        pipe.write_errors += 1
        if not self.backoff or error != pipe.last_write_error:
            LOG.warning("write to VictoriaMetrics failed: %s (buffering, retrying with backoff)", error)
        pipe.last_write_error = error
        pipe.last_write_error_ts = time.time()
        self.backoff = min(self.backoff_max, max(0.5, self.backoff * 2))
        self.next_try = time.monotonic() + self.backoff
