# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""gxsim: the MQTT side of a Victron GX device (Venus OS, dbus-flashmq), simulated.

The simulator is an MQTT client of a Mosquitto broker that plays the GX's own
broker (port 1883). It behaves as shared/facts/venus-os-mqtt.md describes:

* ``N/<id>/system/0/Serial`` is retained and published whatever the keepalive
  state; ``N/<id>/keepalive`` = ``1`` at start;
* nothing else is published while no keepalive is alive (``keepalive_window``,
  60 s on a real GX);
* while alive: ``N/<id>/heartbeat`` every ``heartbeat_interval`` (3 s) and
  value changes every ``update_interval`` (or ``rate`` messages/s);
* ``R/<id>/keepalive``: empty payload = full republish ending with
  ``N/<id>/full_publish_completed``; ``{"keepalive-options":
  ["suppress-republish"]}`` = stay alive, no republish; ``{"keepalive-options":
  [{"full-publish-completed-echo": "<token>"}]}`` = the completion carries the
  token; full republishes are limited to ``republish_limit`` (3) per second,
  suppressed keepalives do not count;
* ``W/<id>/<service>/<instance>/<path>`` ``{"value": v}``: the new value comes
  back on ``N/``; no ``value`` key (or an out-of-range setting, or an unknown
  item) is an error and is ignored;
* ``R/<id>/<service>/<instance>[/<path>]``: every leaf below is published;
* a service can vanish (empty payload on each of its topics) and come back:
  :meth:`GxSimulator.remove_service` / :meth:`restore_service`, SIGUSR1 in the
  CLI (toggles ``--vanish``), or the control topic ``gxsim/<id>/control`` with
  ``{"remove": "solarcharger/288"}`` / ``{"restore": "solarcharger/288"}``.

Three ways to use it: import :class:`GxSimulator` (start()/stop(), runs in a
thread), run ``python3 lab/gxsim/gxsim.py --broker 127.0.0.1:1883`` (or
``python3 lab/gxsim``) as a service, or with ``--rate N --always-alive`` as a
load generator. Dependencies: paho-mqtt (2.x) and the standard library.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import math
import os
import queue
import random
import signal
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

LOG = logging.getLogger("gxsim")
ECHO_KEY = "full-publish-completed-echo"
DEFAULT_PORTAL_ID = "c0619ab1c2d3"


class Item:
    """One dbus item: ``key`` = ``<service>/<instance>/<path>``."""

    __slots__ = ("key", "value", "extra", "walk", "writable")

    def __init__(self, key, value, extra=None, walk=None, writable=False):
        self.key = key
        self.value = value
        self.extra = extra or {}
        self.walk = walk            # (step, low, high) for values that move
        self.writable = writable

    @property
    def service(self):
        return "/".join(self.key.split("/")[:2])

    def payload(self):
        doc = dict(self.extra)
        doc["value"] = self.value
        return json.dumps(doc, separators=(",", ":"), sort_keys=True)

    def move(self, rng):
        step, low, high = self.walk
        value = self.value + rng.uniform(-step, step)
        self.value = round(min(high, max(low, value)), 2)


def default_items(portal_id):
    """A realistic ESS install: system, a 3-phase MultiPlus (vebus), MPPT, BMS, settings."""
    items = [
        Item("system/0/Serial", portal_id),
        Item("system/0/ProductName", "Cerbo GX"),
        Item("system/0/SystemState/State", 9),
        Item("system/0/Dc/Battery/Soc", 78.5, walk=(0.3, 5, 100)),
        Item("system/0/Dc/Battery/Voltage", 52.8, walk=(0.05, 46, 58)),
        Item("system/0/Dc/Battery/Current", -3.2, walk=(1.0, -80, 80)),
        Item("system/0/Dc/Battery/Power", -169.0, walk=(40, -4000, 4000)),
        Item("system/0/Dc/Battery/TimeToGo", None),  # invalid -> null
        Item("system/0/Dc/Pv/Power", 640.0, walk=(25, 0, 2000)),
        Item("system/0/Ac/Consumption/L1/Power", 420.0, walk=(20, 0, 5000)),
        Item("system/0/Ac/Consumption/L2/Power", 310.0, walk=(20, 0, 5000)),
        Item("system/0/Ac/Consumption/L3/Power", 150.0, walk=(20, 0, 5000)),
        Item("system/0/Ac/Grid/L1/Power", 12.0, walk=(10, -3000, 3000)),
        Item("system/0/Ac/Grid/L2/Power", 8.0, walk=(10, -3000, 3000)),
        Item("system/0/Ac/Grid/L3/Power", -4.0, walk=(10, -3000, 3000)),
        Item("system/0/Batteries", [{
            "active_battery_service": True, "current": -3.2, "id": "com.victronenergy.battery.socketcan_can1",
            "instance": 512, "name": "Lynx Smart BMS 500", "power": -169.0, "soc": 78.5, "state": 2,
            "voltage": 52.8}]),
        Item("system/0/Relay/0/State", 0, writable=True),
        Item("vebus/276/ProductName", "MultiPlus-II 48/5000/70-50"),
        Item("vebus/276/Connected", 1),
        Item("vebus/276/Mode", 3, extra={}, writable=True),
        Item("vebus/276/State", 9),
        Item("vebus/276/Soc", 78.5, walk=(0.3, 5, 100)),
        Item("vebus/276/Dc/0/Voltage", 52.7, walk=(0.05, 46, 58)),
        Item("vebus/276/Dc/0/Current", -2.1, walk=(1.0, -100, 100)),
        Item("vebus/276/Ac/ActiveIn/L1/P", 230.5, walk=(15, -5000, 5000)),
        Item("vebus/276/Ac/ActiveIn/L2/P", 198.0, walk=(15, -5000, 5000)),
        Item("vebus/276/Ac/ActiveIn/L3/P", 87.0, walk=(15, -5000, 5000)),
        Item("vebus/276/Ac/ActiveIn/L1/V", 231.2, walk=(0.5, 207, 253)),
        Item("vebus/276/Ac/ActiveIn/L2/V", 229.8, walk=(0.5, 207, 253)),
        Item("vebus/276/Ac/ActiveIn/L3/V", 230.4, walk=(0.5, 207, 253)),
        Item("vebus/276/Ac/ActiveIn/L1/F", 50.01, walk=(0.02, 49.5, 50.5)),
        Item("vebus/276/Ac/Out/L1/P", 420.0, walk=(20, 0, 5000)),
        Item("vebus/276/Ac/Out/L2/P", 310.0, walk=(20, 0, 5000)),
        Item("vebus/276/Ac/Out/L3/P", 150.0, walk=(20, 0, 5000)),
        Item("vebus/276/Ac/ActiveIn/CurrentLimit", 16.0, writable=True),
        Item("vebus/276/Hub4/DisableCharge", False, writable=True),
        Item("solarcharger/288/ProductName", "SmartSolar MPPT 150/35"),
        Item("solarcharger/288/Mode", 1, writable=True),
        Item("solarcharger/288/State", 3),
        Item("solarcharger/288/ErrorCode", 0),
        Item("solarcharger/288/Pv/V", 98.2, walk=(1.0, 0, 150)),
        Item("solarcharger/288/Yield/Power", 640.0, walk=(25, 0, 2000)),
        Item("solarcharger/288/Yield/User", 1234.5),
        Item("solarcharger/288/Dc/0/Voltage", 52.9, walk=(0.05, 46, 58)),
        Item("solarcharger/288/Dc/0/Current", 12.1, walk=(0.5, 0, 35)),
        Item("battery/512/ProductName", "Lynx Smart BMS 500"),
        Item("battery/512/Soc", 78.5, walk=(0.3, 5, 100)),
        Item("battery/512/Dc/0/Voltage", 52.8, walk=(0.05, 46, 58)),
        Item("battery/512/Dc/0/Current", -3.2, walk=(1.0, -80, 80)),
        Item("battery/512/Dc/0/Power", -169.0, walk=(40, -4000, 4000)),
        Item("battery/512/Dc/0/Temperature", 21.5, walk=(0.1, -10, 50)),
        Item("battery/512/ConsumedAmphours", -42.0),
        Item("battery/512/TimeToGo", None),
        Item("battery/512/Io/AllowToCharge", True),
        Item("settings/0/Settings/CGwacs/AcPowerSetPoint", 50,
             extra={"max": 15000, "min": -15000}, writable=True),
        Item("settings/0/Settings/CGwacs/BatteryLife/State", 10, extra={"max": 12, "min": 0}, writable=True),
        Item("settings/0/Settings/SystemSetup/MaxChargeCurrent", -1,
             extra={"max": 400, "min": -1}, writable=True),
        Item("settings/0/Settings/Relay/Function", 1, extra={"max": 6, "min": 0}, writable=True),
    ]
    return items


def parse_broker(text, default_port=1883):
    text = text.strip()
    if text.startswith("["):
        host, dummy, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, default_port


class GxSimulator:
    """One simulated GX. ``start()`` connects and runs a worker thread; ``stop()`` ends both."""

    def __init__(self, portal_id=DEFAULT_PORTAL_ID, broker="127.0.0.1:1883", keepalive_window=60.0,
                 heartbeat_interval=3.0, update_interval=1.0, rate=0.0, republish_limit=3,
                 republish_period=1.0, username=None, password=None, always_alive=False,
                 clear_on_stop=True, seed=None, tick=0.01):
        self.portal_id = str(portal_id)
        self.host, self.port = parse_broker(broker) if isinstance(broker, str) else broker
        self.keepalive_window = float(keepalive_window)
        self.heartbeat_interval = float(heartbeat_interval)
        self.update_interval = float(update_interval)
        self.rate = float(rate)
        self.republish_limit = int(republish_limit)
        self.republish_period = float(republish_period)
        self.always_alive = bool(always_alive)
        self.clear_on_stop = clear_on_stop
        self.tick = float(tick)
        self._rng = random.Random(seed)
        self.items = collections.OrderedDict((i.key, i) for i in default_items(self.portal_id))
        self.removed = set()            # "service/instance" currently gone
        self.keepalive_until = 0.0
        self._republishes = collections.deque()
        self._events = queue.Queue()
        self._stop = threading.Event()
        self._thread = None
        self._ready = threading.Event()
        self._connect_rc = None
        self.lock = threading.Lock()
        self.stats = collections.Counter()
        self.completions = []           # (time, echo token or None) of each full republish
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                  client_id="gxsim-%s-%d" % (self.portal_id, os.getpid()),
                                  clean_session=True, protocol=mqtt.MQTTv311)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.max_queued_messages_set(0)
        self.client.max_inflight_messages_set(1000)
        # if the simulator dies, the retained serial goes with it
        self.client.will_set(self.t("system/0/Serial"), b"", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    # ---- helpers
    def t(self, suffix):
        return "N/%s/%s" % (self.portal_id, suffix)

    @property
    def alive(self):
        return self.always_alive or time.monotonic() < self.keepalive_until

    def _publish(self, topic, payload, retain=False, qos=0):
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        self.stats["published"] += 1
        return info

    def _present(self, item):
        return item.service not in self.removed

    # ---- paho callbacks (network thread): hand everything to the worker
    def _on_connect(self, client, _userdata, _flags, reason_code, _properties):
        self._connect_rc = reason_code
        if reason_code.is_failure:
            self._ready.set()
            return
        client.subscribe([("R/%s/#" % self.portal_id, 0), ("W/%s/#" % self.portal_id, 0),
                          ("gxsim/%s/control" % self.portal_id, 0)])

    def _on_subscribe(self, _client, _userdata, _mid, _codes, _properties):
        self._events.put(("online", None, None))

    def _on_message(self, _client, _userdata, message):
        self._events.put(("message", message.topic, bytes(message.payload)))

    # ---- lifecycle
    def start(self, timeout=5.0):
        """Connect, publish the retained serial and ``keepalive``=1; return when ready."""
        self._stop.clear()
        self._ready.clear()
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, name="gxsim-%s" % self.portal_id, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("gxsim %s: broker %s:%d did not accept us within %ss"
                               % (self.portal_id, self.host, self.port, timeout))
        if self._connect_rc is not None and self._connect_rc.is_failure:
            self.stop()
            raise RuntimeError("gxsim %s: broker refused the connection: %s" % (self.portal_id, self._connect_rc))
        return self

    def stop(self, timeout=5.0):
        """Withdraw the retained serial (unless clear_on_stop is false) and disconnect."""
        if self._thread is not None:
            self._events.put(("stop", None, None))
            self._thread.join(timeout)
            self._thread = None
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *_exc):
        self.stop()

    # ---- public controls (thread-safe: executed by the worker)
    def remove_service(self, service):
        """Make ``service`` (``"solarcharger/288"``) vanish: empty payload on each of its topics."""
        self._call("remove", service)

    def restore_service(self, service):
        self._call("restore", service)

    def set_value(self, key, value):
        """Change an item (``"vebus/276/Soc"``) as if the device did; published if alive."""
        self._call("set", (key, value))

    def _call(self, what, arg, timeout=5.0):
        reply = {"done": threading.Event(), "errors": []}
        self._events.put(("call", (what, arg), reply))
        if self._thread is not None and threading.current_thread() is not self._thread:
            reply["done"].wait(timeout)
            for error in reply["errors"]:
                raise ValueError("gxsim %s: %s %r failed: %s" % (self.portal_id, what, arg, error))

    def value(self, key):
        with self.lock:
            return self.items[key].value

    # ---- worker
    def _run(self):
        next_beat = next_update = time.monotonic()
        was_alive = False
        budget = 0.0
        last = time.monotonic()
        rate_keys = [k for k, i in self.items.items() if i.walk]
        rate_index = 0
        stopping = False
        while not stopping:
            try:
                kind, a, b = self._events.get(timeout=self.tick)
                while True:
                    if kind == "stop":
                        stopping = True
                        break
                    try:
                        self._handle(kind, a, b)
                    except Exception:  # keep simulating whatever one request did
                        LOG.exception("%s: error handling %s %s", self.portal_id, kind, a)
                    kind, a, b = self._events.get_nowait()
            except queue.Empty:
                pass
            now = time.monotonic()
            alive = self.alive
            if alive and not was_alive:
                next_beat = now
            was_alive = alive
            if alive and now >= next_beat:
                self._publish(self.t("heartbeat"), json.dumps({"value": int(time.time())}))
                self.stats["heartbeats"] += 1
                next_beat = now + self.heartbeat_interval
            if alive and self.rate > 0:
                budget = min(budget + (now - last) * self.rate, self.rate)  # at most 1 s of backlog
                with self.lock:
                    while budget >= 1.0 and rate_keys:
                        item = self.items[rate_keys[rate_index % len(rate_keys)]]
                        rate_index += 1
                        if not self._present(item):
                            budget -= 1.0
                            continue
                        item.move(self._rng)
                        self._publish(self.t(item.key), item.payload())
                        self.stats["updates"] += 1
                        budget -= 1.0
            elif alive and self.update_interval > 0 and now >= next_update:
                with self.lock:
                    for item in self.items.values():
                        if item.walk and self._present(item) and self._rng.random() < 0.5:
                            item.move(self._rng)
                            self._publish(self.t(item.key), item.payload())
                            self.stats["updates"] += 1
                next_update = now + self.update_interval
            last = now
        if self.clear_on_stop:
            info = self._publish(self.t("system/0/Serial"), b"", retain=True, qos=1)
            try:
                info.wait_for_publish(2.0)
            except (RuntimeError, ValueError):
                pass

    def _handle(self, kind, a, b):
        if kind == "online":
            if not self._ready.is_set():
                info = self._publish(self.t("system/0/Serial"), self.items["system/0/Serial"].payload(),
                                     retain=True, qos=1)
                self._publish(self.t("keepalive"), b"1")
                try:
                    info.wait_for_publish(2.0)
                except (RuntimeError, ValueError):
                    pass
                self._ready.set()
        elif kind == "message":
            self._on_request(a, b)
        elif kind == "call":
            what, arg = a
            try:
                if what == "remove":
                    self._remove(arg)
                elif what == "restore":
                    self._restore(arg)
                elif what == "set":
                    key, value = arg
                    with self.lock:
                        self.items[key].value = value
                        if self.alive and self._present(self.items[key]):
                            self._publish(self.t(key), self.items[key].payload())
            except (KeyError, ValueError) as exc:
                b["errors"].append(str(exc))
            finally:
                b["done"].set()

    def _on_request(self, topic, payload):
        parts = topic.split("/")
        if parts[0] == "gxsim":
            self._on_control(payload)
        elif parts[0] == "R" and parts[2:] == ["keepalive"]:
            self._on_keepalive(payload)
        elif parts[0] == "R":
            self._on_read("/".join(parts[2:]))
        elif parts[0] == "W":
            self._on_write("/".join(parts[2:]), payload)

    def _on_keepalive(self, payload):
        suppress, echo = False, None
        if payload:
            try:
                doc = json.loads(payload)
            except ValueError:
                doc = None
                self.stats["keepalive_errors"] += 1
            options = doc.get("keepalive-options", []) if isinstance(doc, dict) else []
            for option in options if isinstance(options, list) else []:
                if option == "suppress-republish":
                    suppress = True
                elif isinstance(option, dict) and ECHO_KEY in option:
                    echo = str(option[ECHO_KEY])
        self.keepalive_until = time.monotonic() + self.keepalive_window
        self.stats["keepalives"] += 1
        if suppress:
            self.stats["suppressed_keepalives"] += 1
            return
        now = time.monotonic()
        while self._republishes and now - self._republishes[0] >= self.republish_period:
            self._republishes.popleft()
        if len(self._republishes) >= self.republish_limit:
            self.stats["republish_dropped"] += 1
            LOG.info("%s: full republish rate limit reached, request dropped", self.portal_id)
            return
        self._republishes.append(now)
        self._full_republish(echo)

    def _full_republish(self, echo):
        with self.lock:
            for item in self.items.values():
                if self._present(item):
                    self._publish(self.t(item.key), item.payload(), retain=item.key == "system/0/Serial")
        doc = {"value": int(time.time())}
        if echo is not None:
            doc[ECHO_KEY] = echo
        self._publish(self.t("full_publish_completed"), json.dumps(doc, sort_keys=True))
        self.stats["full_republishes"] += 1
        self.completions.append((time.time(), echo))

    def _on_read(self, path):
        self.stats["reads"] += 1
        path = path.strip("/")
        if not path or "+" in path or "#" in path or not self.alive:
            return
        with self.lock:
            for key, item in self.items.items():
                if (key == path or key.startswith(path + "/")) and self._present(item):
                    self._publish(self.t(key), item.payload())

    def _on_write(self, key, payload):
        self.stats["writes"] += 1
        try:
            doc = json.loads(payload)
        except ValueError:
            doc = None
        with self.lock:
            item = self.items.get(key)
            error = None
            if not isinstance(doc, dict) or "value" not in doc:
                error = "no value key"
            elif item is None or not self._present(item):
                error = "no such item"
            elif not item.writable:
                error = "read-only item"
            elif "min" in item.extra and isinstance(doc["value"], (int, float)) and not (
                    item.extra["min"] <= doc["value"] <= item.extra["max"]):
                error = "out of range"
            if error:
                self.stats["write_errors"] += 1
                LOG.info("%s: write to %s rejected: %s", self.portal_id, key, error)
                return
            item.value = doc["value"]
            if self.alive:
                self._publish(self.t(key), item.payload())

    def _on_control(self, payload):
        try:
            doc = json.loads(payload)
        except ValueError:
            return
        if not isinstance(doc, dict):
            return
        if doc.get("remove"):
            self._remove(doc["remove"])
        if doc.get("restore"):
            self._restore(doc["restore"])

    def _remove(self, service):
        with self.lock:
            if service in self.removed:
                return
            keys = [k for k, i in self.items.items() if i.service == service]
            if not keys or service == "system/0":
                raise ValueError("cannot remove %r" % service)
            self.removed.add(service)
            if self.alive:
                for key in keys:
                    self._publish(self.t(key), b"")
        self.stats["removed_services"] += 1

    def _restore(self, service):
        with self.lock:
            if service not in self.removed:
                return
            self.removed.discard(service)
            if self.alive:
                for key, item in self.items.items():
                    if item.service == service:
                        self._publish(self.t(key), item.payload())


def main(argv=None):
    parser = argparse.ArgumentParser(prog="gxsim", description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--broker", default=os.environ.get("GXSIM_BROKER", "127.0.0.1:1883"),
                        help="MQTT broker host:port playing the GX's broker (default %(default)s)")
    parser.add_argument("--portal-id", action="append", dest="portal_ids",
                        help="portal id (repeat for several GX on one broker; default %s)" % DEFAULT_PORTAL_ID)
    parser.add_argument("--keepalive-window", type=float, default=60.0, help="seconds a keepalive lasts")
    parser.add_argument("--heartbeat-interval", type=float, default=3.0)
    parser.add_argument("--update-interval", type=float, default=1.0, help="seconds between value changes")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="publish this many value updates per second instead (load generator)")
    parser.add_argument("--republish-limit", type=int, default=3, help="full republishes per second")
    parser.add_argument("--always-alive", action="store_true", help="publish without waiting for a keepalive")
    parser.add_argument("--username", default=os.environ.get("GXSIM_USERNAME"))
    parser.add_argument("--password", default=os.environ.get("GXSIM_PASSWORD"),
                        help="broker password (better: GXSIM_PASSWORD in the environment)")
    parser.add_argument("--vanish", default="solarcharger/288",
                        help="service that SIGUSR1 removes/restores (default %(default)s)")
    parser.add_argument("--duration", type=float, default=0.0, help="exit after this many seconds (0: run until signalled)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s gxsim %(levelname)s %(message)s")

    sims = [GxSimulator(portal_id=pid, broker=args.broker, keepalive_window=args.keepalive_window,
                        heartbeat_interval=args.heartbeat_interval, update_interval=args.update_interval,
                        rate=args.rate, republish_limit=args.republish_limit, username=args.username,
                        password=args.password, always_alive=args.always_alive)
            for pid in (args.portal_ids or [DEFAULT_PORTAL_ID])]
    stop = threading.Event()

    def on_term(_signum, _frame):
        stop.set()

    def on_usr1(_signum, _frame):
        for sim in started:
            if args.vanish in sim.removed:
                LOG.info("%s: %s comes back", sim.portal_id, args.vanish)
                sim._call("restore", args.vanish)
            else:
                LOG.info("%s: %s vanishes", sim.portal_id, args.vanish)
                try:
                    sim._call("remove", args.vanish)
                except (KeyError, ValueError) as exc:
                    LOG.error("%s: cannot remove %s: %s", sim.portal_id, args.vanish, exc)

    started = []
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGUSR1, on_usr1)
    try:
        for sim in sims:
            sim.start()
            started.append(sim)
            LOG.info("GX %s online on %s:%d", sim.portal_id, sim.host, sim.port)
        end = time.monotonic() + args.duration if args.duration > 0 else math.inf
        while not stop.is_set() and time.monotonic() < end:
            stop.wait(min(1.0, max(0.0, end - time.monotonic())))
    except (OSError, RuntimeError) as exc:
        LOG.error("%s", exc)
        return 1
    finally:
        for sim in started:
            sim.stop()
            LOG.info("GX %s offline: %s", sim.portal_id, dict(sim.stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
