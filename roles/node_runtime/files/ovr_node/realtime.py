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
seconds (or never). A field is null until one of its paths carried a number.
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

    # ---- hot path (MQTT threads): ``rest`` is the topic after N/<portal>/
    def feed(self, portal, rest, payload, now):
        self.heard[portal] = now
        slot = self.index.get(rest)
        if slot is None:
            return
        value, _reason = victron.parse_value(payload)   # empty, null, text: no value (None)
        with self.lock:
            fields = self.values.get(portal)
            if fields is None:
                fields = self.values[portal] = dict((n, [None] * s) for n, s in self.sizes.items())
            fields[slot[0]][slot[1]] = value

    def forget(self, portals):
        """Drop what is held for portals no longer followed."""
        with self.lock:
            for portal in list(self.values):
                if portal not in portals:
                    del self.values[portal]
            for portal in list(self.heard):
                if portal not in portals:
                    self.heard.pop(portal, None)

    # ---- the document
    def document(self, portals, now=None):
        """The /api/realtime document for the followed ``portals``."""
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
        self.requests += 1
        return {"systems": systems, "ts": round(now, 3)}

    def body(self, portals, now=None):
        return (json.dumps(self.document(portals, now), separators=(",", ":")) + "\n").encode()
