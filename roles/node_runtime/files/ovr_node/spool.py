# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collector's disk buffer: batches as files, written atomically, replayed oldest first."""

import collections
import os
import re

SPOOL_NAME = re.compile(r"^(\d{12})-(\d+)-(\d+)\.prom$")


class Batch(object):
    __slots__ = ("lines", "first_ts", "nbytes")

    def __init__(self, lines, first_ts, nbytes):
        self.lines = lines
        self.first_ts = first_ts
        self.nbytes = nbytes

    def body(self):
        return ("\n".join(self.lines) + "\n").encode("utf-8")


class Spool(object):
    """Batches on disk, one file each (``<seq>-<first ts ms>-<lines>.prom``), oldest first."""

    def __init__(self, directory, max_bytes):
        self.directory = directory
        self.max_bytes = max_bytes
        self.entries = collections.deque()   # (seq, first_ts, lines, nbytes, path)
        self.nbytes = 0
        self.lines = 0
        self.seq = 0
        os.makedirs(directory, mode=0o750, exist_ok=True)
        found = []
        for name in os.listdir(directory):
            path = os.path.join(directory, name)
            match = SPOOL_NAME.match(name)
            if match is None:
                if name.startswith(".tmp-"):
                    os.unlink(path)  # an interrupted write: never renamed, never accepted twice
                continue
            size = os.path.getsize(path)
            found.append((int(match.group(1)), int(match.group(2)) / 1000.0, int(match.group(3)), size, path))
        for entry in sorted(found):
            self._add(entry)
        self.seq = found and max(e[0] for e in found) or 0

    def _add(self, entry):
        self.entries.append(entry)
        self.nbytes += entry[3]
        self.lines += entry[2]

    def __len__(self):
        return len(self.entries)

    def has_room(self, nbytes):
        return self.nbytes + nbytes <= self.max_bytes

    def put(self, batch, force=False):
        """Write a batch atomically; False (nothing written) when it would exceed the bound."""
        body = batch.body()
        if not force and not self.has_room(len(body)):
            return False
        self.seq += 1
        name = "%012d-%d-%d.prom" % (self.seq, int(batch.first_ts * 1000), len(batch.lines))
        path = os.path.join(self.directory, name)
        tmp = os.path.join(self.directory, ".tmp-" + name)
        with open(tmp, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        self._add((self.seq, batch.first_ts, len(batch.lines), len(body), path))
        return True

    def oldest(self):
        return self.entries[0] if self.entries else None

    def read(self, entry):
        with open(entry[4], "rb") as handle:
            return handle.read()

    def remove(self, entry):
        os.unlink(entry[4])
        self.entries.popleft()
        self.nbytes -= entry[3]
        self.lines -= entry[2]
