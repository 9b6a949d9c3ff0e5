# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live values for the UI: ``/api/realtime`` answered from the collector's memory.

The collector hands every MQTT message to :meth:`Realtime.feed` (the hot path: one dict lookup
for a topic that feeds no field). Which GX paths feed which field is data (``realtime_paths``,
``field=path+path,...``); a field fed by several paths is their sum (the three phases of a
power), over the paths the GX published. The document:

``{"systems": [{"system_id", "soc", "voltage", "pin", "pout", "mode", "ts", "stale"}], "ts"}``

``system_id`` is the GX portal id, ``ts`` the last time the GX was heard (anything, its 3 s
heartbeat included; null: never), ``stale`` true when that is longer ago than ``stale_after``
seconds (or never). A field is null until one of its paths carried a number. The top-level ``ts``
is when the document was assembled.

The document is serialised once per change and the same bytes serve every client
(:class:`LiveDocument`): the plain JSON answer of ``/api/realtime`` and the server-sent event of
``/api/realtime/stream``, which :class:`Hub` pushes to every subscriber when a value changes
(at most every ``REUSE`` s; what changes only the heard times or the stale flags, at most every
``HEARD_EVERY`` s), a slow subscriber skipping updates rather than holding memory or anyone else.
"""

import json
import re
import threading
import time

from . import victron

# The Venus OS system service (com.victronenergy.system, instance 0) sums up an install on these
# paths whatever devices it has: battery SoC and voltage, power in (PV + grid + generator, per
# phase), power out (AC consumption per phase) and the system state (SystemState/State:
# 0 off, 3 bulk, 4 absorption, 5 float, 9 inverting, ...).
DEFAULT_PATHS = (
    ("soc", ("system/0/Dc/Battery/Soc",)),
    ("voltage", ("system/0/Dc/Battery/Voltage",)),
    ("pin", ("system/0/Dc/Pv/Power", "system/0/Ac/Grid/L1/Power", "system/0/Ac/Grid/L2/Power",
             "system/0/Ac/Grid/L3/Power", "system/0/Ac/Genset/L1/Power", "system/0/Ac/Genset/L2/Power",
             "system/0/Ac/Genset/L3/Power")),
    ("pout", ("system/0/Ac/Consumption/L1/Power", "system/0/Ac/Consumption/L2/Power",
              "system/0/Ac/Consumption/L3/Power")),
    ("mode", ("system/0/SystemState/State",)),
)
FIELDS = tuple(name for name, _paths in DEFAULT_PATHS)
DEFAULT_STALE_AFTER = 15.0
# One document serves every request (and every subscriber) within this many seconds of its making.
REUSE = 0.05
# A change of the heard times or stale flags alone is pushed to subscribers at most this often.
HEARD_EVERY = 1.0
# A subscriber with more than this many bytes not yet taken by its socket skips updates...
SUBSCRIBER_MAX_BUFFER = 65536
# ... and is disconnected once it has skipped updates for this many seconds (its EventSource reconnects).
SUBSCRIBER_STALL = 30.0
# An event-stream comment this often keeps a quiet stream (and the proxies on its way) open.
STREAM_PING = 15.0
_PATH = re.compile(r"^[A-Za-z0-9_-]+/[0-9]+(/[A-Za-z0-9_-]+)+$")


def format_paths(paths):
    """{field: [path, ...]} -> the ``realtime_paths`` text."""
    return ",".join("%s=%s" % (name, "+".join(paths[name])) for name in FIELDS if name in paths)


DEFAULT_PATHS_TEXT = format_paths(dict(DEFAULT_PATHS))


def parse_paths(text):
    """The ``realtime_paths`` text -> {field: (path, ...)}; raises ValueError naming what is wrong.

    Every field must be given (an install without one maps it to a path it never publishes)."""
    paths = {}
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in FIELDS:
            raise ValueError("realtime_paths: %r is not <field>=<path>[+<path>...] with a field of %s"
                             % (part, ", ".join(FIELDS)))
        if name in paths:
            raise ValueError("realtime_paths: %s is given twice" % name)
        items = tuple(p.strip().strip("/") for p in value.split("+"))
        for item in items:
            if not _PATH.match(item):
                raise ValueError("realtime_paths: %s: %r is not a GX path <service>/<instance>/<path> "
                                 "(like system/0/Dc/Battery/Soc)" % (name, item))
        paths[name] = items
    missing = [name for name in FIELDS if name not in paths]
    if missing:
        raise ValueError("realtime_paths: no path for %s" % ", ".join(missing))
    return paths


class Realtime(object):
    """The latest value of each field per GX portal, and when each GX was last heard."""

    def __init__(self, paths=None, stale_after=DEFAULT_STALE_AFTER):
        paths = paths or dict(DEFAULT_PATHS)
        # "<service>/<instance>/<path>" (the topic after N/<portal>/) -> (field, index in the field)
        self.index = {}
        self.sizes = {}
        for name in FIELDS:
            self.sizes[name] = len(paths[name])
            for number, path in enumerate(paths[name]):
                self.index[path] = (name, number)
        self.stale_after = float(stale_after)
        self.lock = threading.Lock()
        self.heard = {}
        # portal -> {field: [value or None per path]}
        self.values = {}
        self.requests = 0
        # ``version``: bumped when a field's value changes; ``changes``: on every message (heard)
        self.version = 0
        self.changes = 0
        # called (from an MQTT thread) when a value changed and no wake-up is pending: the
        # stream's hub sets it and clears ``wake_pending`` when it has taken the change
        self.on_change = None
        self.wake_pending = False

    # ---- hot path (MQTT threads): ``rest`` is the topic after N/<portal>/
    def feed(self, portal, rest, payload, now):
        self.heard[portal] = now
        self.changes += 1
        slot = self.index.get(rest)
        if slot is None:
            return
        value, _reason = victron.parse_value(payload)   # empty, null, text: no value (None)
        with self.lock:
            fields = self.values.get(portal)
            if fields is None:
                fields = self.values[portal] = dict((n, [None] * s) for n, s in self.sizes.items())
            items = fields[slot[0]]
            if items[slot[1]] == value and value is not None:
                return
            items[slot[1]] = value
            self.version += 1
        if self.on_change is not None and not self.wake_pending:
            self.wake_pending = True
            self.on_change()

    def forget(self, portals):
        """Drop what is held for portals no longer followed."""
        with self.lock:
            for portal in list(self.values):
                if portal not in portals:
                    del self.values[portal]
            for portal in list(self.heard):
                if portal not in portals:
                    self.heard.pop(portal, None)
            self.version += 1

    # ---- the document
    def document(self, portals, now=None, count=True):
        """The /api/realtime document for the followed ``portals`` (``count``: as a request)."""
        now = time.time() if now is None else now
        systems = []
        with self.lock:
            for portal in sorted(portals):
                fields = self.values.get(portal, {})
                heard = self.heard.get(portal)
                entry = {"system_id": portal}
                for name in FIELDS:
                    present = [v for v in fields.get(name, ()) if v is not None]
                    entry[name] = round(sum(present), 3) if present else None
                if entry["mode"] is not None:
                    entry["mode"] = int(entry["mode"])
                entry["ts"] = round(heard, 3) if heard else None
                entry["stale"] = heard is None or now - heard > self.stale_after
                systems.append(entry)
        if count:
            self.requests += 1
        return {"systems": systems, "ts": round(now, 3)}

    def body(self, portals, now=None, count=True):
        return (json.dumps(self.document(portals, now, count), separators=(",", ":")) + "\n").encode()

    def stamp(self, portals, now):
        """What the document of ``portals`` at ``now`` depends on, beside the clock: equal stamps,
        equal documents. (values version, heard version, portals, the stale ones)."""
        heard = self.heard
        limit = now - self.stale_after
        stale = tuple(p for p in portals if (heard.get(p) or 0.0) < limit)
        return (self.version, self.changes, tuple(portals), stale)


class Snapshot(object):
    """One document, serialised once: the JSON body, the whole keep-alive HTTP answer, the event."""

    __slots__ = ("stamp", "made", "body", "response", "event")

    def __init__(self, stamp, made, body):
        self.stamp = stamp
        self.made = made
        self.body = body
        self.response = (("HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: %d\r\n"
                          "Content-Type: application/json\r\n\r\n") % len(body)).encode("latin-1") + body
        self.event = b"data: " + body.rstrip(b"\n") + b"\n\n"


class LiveDocument(object):
    """The current /api/realtime document of a :class:`Realtime`, rebuilt only when something in it
    changed and at most every ``reuse`` s; ``portals()`` gives the followed portals."""

    def __init__(self, realtime, portals, reuse=REUSE):
        self.realtime = realtime
        self.portals = portals
        self.reuse = reuse
        self.current = None
        self.encoded = 0   # how many times a document was serialised
        self.lock = threading.Lock()

    def get(self, now=None, count=True):
        """The :class:`Snapshot` for ``now`` (counted as a request unless ``count`` is false)."""
        now = time.time() if now is None else now
        rt = self.realtime
        with self.lock:
            snap = self.current
            if snap is None or not 0 <= now - snap.made < self.reuse:
                portals = sorted(self.portals())
                stamp = rt.stamp(portals, now)
                if snap is None or stamp != snap.stamp:
                    snap = self.current = Snapshot(stamp, now, rt.body(portals, now, count=False))
                    self.encoded += 1
        if count:
            rt.requests += 1
        return snap


class Hub(object):
    """The subscribers of /api/realtime/stream. A subscriber is transport-like: ``write(bytes)``,
    ``get_write_buffer_size()``, ``close()``. Runs in one thread (the HTTP server's loop), which
    calls :meth:`push` when woken by a new value (``Realtime.on_change``) and on a timer."""

    def __init__(self, live, max_buffer=SUBSCRIBER_MAX_BUFFER, stall=SUBSCRIBER_STALL, reuse=REUSE,
                 heard_every=HEARD_EVERY, ping=STREAM_PING):
        self.live = live
        self.max_buffer = max_buffer
        self.stall = stall
        self.reuse = reuse
        self.heard_every = heard_every
        self.ping = ping
        # subscriber -> [the snapshot it was last sent, when it began skipping updates (0: it is not),
        #                when it was last written to]
        self.subscribers = {}
        self.last_push = 0.0
        self.last_stamp = None
        self.pushed = 0       # documents pushed (each to every subscriber able to take it)
        self.skipped = 0      # updates a slow subscriber did not get
        self.dropped = 0      # subscribers disconnected for stalling

    def add(self, subscriber, now=None):
        """A new subscriber gets the current document at once."""
        now = time.time() if now is None else now
        snap = self.live.get(now, count=False)
        if self.last_stamp is None:
            self.last_stamp, self.last_push = snap.stamp, snap.made
        self.subscribers[subscriber] = [snap, 0.0, now]
        self.live.realtime.wake_pending = False   # (none was taken while nobody listened)
        subscriber.write(snap.event)

    def remove(self, subscriber):
        self.subscribers.pop(subscriber, None)

    def due(self, now):
        """Seconds until the next push may happen (0: now)."""
        return max(0.0, self.last_push + self.reuse - now)

    def push(self, now=None):
        """Send the current document to the subscribers if it changed: a new value within ``reuse``
        s of the last push, a change of the heard times or stale flags alone every ``heard_every``
        s; a subscriber that skipped the last one gets it once it has room. Returns True if a new
        document went out."""
        now = time.time() if now is None else now
        if now - self.last_push < self.reuse:
            return False   # the caller comes back at due()
        rt = self.live.realtime
        rt.wake_pending = False   # from here on, a new value wakes us again
        if not self.subscribers:
            return False
        stamp = rt.stamp(sorted(self.live.portals()), now)
        last = self.last_stamp
        if last is not None and (stamp == last or (
                stamp[0] == last[0] and stamp[2:] == last[2:] and now - self.last_push < self.heard_every)):
            self._catch_up(now)
            return False
        snap = self.live.get(now, count=False)
        self.last_stamp = snap.stamp
        self.last_push = now
        self.pushed += 1
        self._send(snap, now)
        return True

    def _catch_up(self, now):
        current = self.live.current
        behind = [s for s, state in self.subscribers.items() if state[0] is not current]
        if behind:
            self._send(current, now, behind)
        quiet = [s for s, state in self.subscribers.items() if now - state[2] >= self.ping]
        if quiet:
            self._send(None, now, quiet)

    def _send(self, snap, now, subscribers=None):
        """``snap``'s event (None: a ping) to each subscriber that has room."""
        data = b": ping\n\n" if snap is None else snap.event
        for subscriber in list(self.subscribers if subscribers is None else subscribers):
            state = self.subscribers.get(subscriber)
            if state is None:
                continue
            if subscriber.get_write_buffer_size() > self.max_buffer:
                self.skipped += snap is not None
                if not state[1]:
                    state[1] = now
                elif now - state[1] >= self.stall:
                    self.dropped += 1
                    self.remove(subscriber)
                    subscriber.close()
                continue
            state[1] = 0.0
            if snap is not None:
                if state[0] is snap:
                    continue   # it has this one (it subscribed after the document was made)
                state[0] = snap
            state[2] = now
            subscriber.write(data)
