# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collector's buffer: accepted lines -> batches in memory -> the spool -> VictoriaMetrics."""

import collections
import logging
import threading

from .spool import Batch

LOG = logging.getLogger("ovr-collector")


class Pipeline(object):
    """Accepted lines -> batches in memory -> spool -> VictoriaMetrics, in arrival order.

    The hot path is :meth:`add` (MQTT threads); the writer thread calls :meth:`seal`,
    :meth:`spill` and :meth:`write_once`. Everything in the spool is older than everything
    in memory, so replaying the spool first keeps the order.
    """

    def __init__(self, spool, batch_lines=5000, flush_interval=1.0, memory_max_lines=200000,
                 memory_max_bytes=32 * 1024 * 1024):
        self.spool = spool
        self.batch_lines = batch_lines
        self.flush_interval = flush_interval
        self.memory_max_lines = memory_max_lines
        self.memory_max_bytes = memory_max_bytes
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.pending = []
        self.pending_bytes = 0
        self.pending_first = 0.0
        self.batches = collections.deque()
        self.batch_bytes = 0
        self.batch_lines_total = 0
        self.accepted = 0
        self.dropped = 0
        self.written = 0
        self.write_errors = 0
        self.last_write_error = ""
        self.last_write_error_ts = 0.0
        self.last_write_ok_ts = 0.0
        self.spool_full = False
        self.spool_errors = 0
        self._drop_logged = 0

    # ---- hot path
    def add(self, line, now):
        with self.lock:
            if (self.batch_lines_total + len(self.pending) >= self.memory_max_lines
                    or self.batch_bytes + self.pending_bytes >= self.memory_max_bytes):
                self.wake.set()
                # the writer spills to disk; once the disk bound is reached too, or the writer
                # lags a full memory bound behind, the message is dropped instead of accepted
                if self.spool_full or self.batch_lines_total >= 2 * self.memory_max_lines \
                        or self.batch_bytes >= 2 * self.memory_max_bytes:
                    self.dropped += 1
                    return False
            pending = self.pending
            if not pending:
                self.pending_first = now
            pending.append(line)
            self.pending_bytes += len(line) + 1
            self.accepted += 1
            if len(pending) >= self.batch_lines:
                self._seal_locked()
                self.wake.set()
        return True

    def _seal_locked(self):
        if self.pending:
            self.batches.append(Batch(self.pending, self.pending_first, self.pending_bytes))
            self.batch_bytes += self.pending_bytes
            self.batch_lines_total += len(self.pending)
            self.pending = []
            self.pending_bytes = 0

    # ---- writer side
    def seal(self, now, force=False):
        with self.lock:
            if self.pending and (force or now - self.pending_first >= self.flush_interval):
                self._seal_locked()

    def _pop_batch(self):
        with self.lock:
            batch = self.batches.popleft()
            self.batch_bytes -= batch.nbytes
            self.batch_lines_total -= len(batch.lines)
            return batch

    def _push_back(self, batch):
        with self.lock:
            self.batches.appendleft(batch)
            self.batch_bytes += batch.nbytes
            self.batch_lines_total += len(batch.lines)

    def over_memory(self, fraction=1.0):
        return (self.batch_lines_total + len(self.pending) > self.memory_max_lines * fraction
                or self.batch_bytes + self.pending_bytes > self.memory_max_bytes * fraction)

    def spill(self):
        """Move the oldest memory batches to the spool until memory is under 3/4 of its bound."""
        moved = 0
        self._spool_room()
        if not self.over_memory():
            return moved
        while self.over_memory(0.75):
            with self.lock:
                if not self.batches:
                    self._seal_locked()
                    if not self.batches:
                        break
            batch = self._pop_batch()
            try:
                ok = self.spool.put(batch)
            except OSError as exc:
                self.spool_errors += 1
                LOG.error("cannot write to the spool %s: %s", self.spool.directory, exc)
                ok = False
            if not ok:
                self._push_back(batch)
                if not self.spool_full:
                    LOG.warning("spool %s is full (%d bytes, bound %d): new messages are dropped until "
                                "VictoriaMetrics takes the backlog", self.spool.directory, self.spool.nbytes,
                                self.spool.max_bytes)
                self.spool_full = True
                break
            moved += 1
        return moved

    def _spool_room(self):
        """A full spool takes batches again once written down to 3/4 of its bound."""
        if self.spool_full and self.spool.nbytes <= self.spool.max_bytes * 0.75:
            self.spool_full = False

    def write_once(self, post):
        """Write the oldest unwritten batch (spool first). True: wrote one; False: nothing to do.

        ``post(body)`` raises on failure (the batch stays where it was).
        """
        entry = self.spool.oldest()
        if entry is not None:
            body = self.spool.read(entry)
            post(body)
            self.spool.remove(entry)
            self.written += entry[2]
            self._spool_room()
            return True
        with self.lock:
            if not self.batches:
                return False
            batch = self.batches[0]
        post(batch.body())
        self._pop_batch()
        self.written += len(batch.lines)
        return True

    def to_spool(self):
        """Shutdown: everything in memory goes to the spool, whatever its bound (nothing accepted is lost)."""
        self.seal(0, force=True)
        count = 0
        while True:
            with self.lock:
                if not self.batches:
                    break
            batch = self._pop_batch()
            self.spool.put(batch, force=True)
            count += len(batch.lines)
        return count

    # ---- figures
    def memory(self):
        with self.lock:
            return self.batch_lines_total + len(self.pending), self.batch_bytes + self.pending_bytes

    def oldest_unwritten(self):
        entry = self.spool.oldest()
        if entry is not None:
            return entry[1]
        with self.lock:
            if self.batches:
                return self.batches[0].first_ts
            if self.pending:
                return self.pending_first
        return None

    def lag(self, now):
        oldest = self.oldest_unwritten()
        return max(0.0, now - oldest) if oldest is not None else 0.0

    def backoff_active(self):
        """The last write failed (VictoriaMetrics is down, as far as we know)."""
        return bool(self.last_write_error_ts and self.last_write_error_ts > self.last_write_ok_ts)
