# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ovr-collector: GX MQTT telemetry -> the node's VictoriaMetrics, losing nothing it accepted.

Run as ``python3 -m ovr_node.collector`` by the launcher /usr/local/sbin/ovr-collector
(ovr.fleet.node_runtime) in ovr-collector.service (ovr.fleet.collector). The parts: ``config``
(options), ``broker`` (MQTT links, the systems file), ``pipeline`` and ``spool`` (buffering),
``writer`` (VictoriaMetrics), ``http`` (counters); this module is the daemon that ties them.

* follows <config-dir>/gx_systems.json (written by ovr-refresh-gx-mqtt-sources): one MQTT connection per
  GX broker, subscribed to N/<portal_id>/# per portal (never N/#); the file is polled
  (mtime/size, every --poll-interval s) and re-read on SIGHUP; unchanged brokers keep their
  connection, buffered data is never touched by a reload;
* keeps each subscribed GX alive: one full keepalive when it first subscribes to a portal,
  suppress-republish every --keepalive-interval s (<= 50);
* normalises every message with victron.py (one implementation) into a Prometheus text line
  with the receive time in ms, and writes batches (--batch-lines or --flush-interval) to
  <vm-url>/api/v1/import/prometheus;
* a GX publishes a value only when it changes (suppress-republish), so a steady value (a setting,
  a full battery's SoC) would fall out of VictoriaMetrics' 5-minute lookback and vanish from
  queries: every --refresh-interval s the latest value of each series not published since is
  written again with the current time, only while its GX is alive (a message within the last
  ALIVE_WITHIN s; a GX heartbeats every 3 s) and until the GX withdraws the item (empty payload);
* VictoriaMetrics down: batches wait in memory (bounded by --memory-max-lines/--memory-max-bytes),
  the oldest are spilled to the spool directory (bounded by --spool-max-bytes; one file per batch,
  written atomically) and replayed oldest first when VictoriaMetrics is back, with backoff. A
  message is accepted or counted as dropped (both bounds reached) when it arrives; nothing
  accepted is lost, SIGTERM included (memory goes to the spool);
* counters as Prometheus text on http://<listen>/metrics (and written into VictoriaMetrics),
  /healthz as JSON, a one-line summary every --summary-interval s and on reload;
* live values for the UI on /api/realtime (``realtime``: the latest value of the GX paths of
  --realtime-paths per followed GX, stale after --realtime-stale-after s of silence), serialised
  once per change for every client, and pushed as server-sent events on /api/realtime/stream, on
  the listen address and on the Unix socket --realtime-socket (the node's nginx proxies to it).

Options come from the command line, else from the env file (--env-file, OVR_COLLECTOR_<OPTION>),
else the defaults. --check-config validates an env file and exits (0 ok, 2 bad).
"""

import collections
import json
import logging
import os
import signal
import sys
import threading
import time

from . import http
from . import mqtt as mqtt_utils
from . import realtime
from . import victron
from .broker import BrokerLink, read_systems
from .config import ConfigError, build_config, split_hostport
from .pipeline import Pipeline
from .spool import Spool
from .writer import VmWriter, WriterThread

LOG = logging.getLogger("ovr-collector")
# A followed GX counts as alive while it sent anything (its heartbeat: every 3 s) this recently.
ALIVE_WITHIN = 10.0


class Collector(object):
    def __init__(self, config):
        self.config = config
        self.normaliser = victron.Normaliser(extra_labels=config["extra_labels"])
        self.mqtt_options = mqtt_utils.ConnectionOptions(
            username=config["mqtt_username"] or None, password=config["mqtt_password"] or None,
            tls=config["mqtt_tls"], ca_cert=config["mqtt_ca_cert"] or None)
        self.pipeline = Pipeline(Spool(config["spool_dir"], config["spool_max_bytes"]),
                                 batch_lines=config["batch_lines"], flush_interval=config["flush_interval"],
                                 memory_max_lines=config["memory_max_lines"],
                                 memory_max_bytes=config["memory_max_bytes"])
        self.writer = WriterThread(self.pipeline, VmWriter(config["vm_url"], config["write_timeout"]),
                                   config["backoff_max"])
        self.links = {}
        self.full_sent = set()
        self.keepalives = collections.Counter()
        self.reloads = 0
        self.started = time.time()
        self.systems_stat = None
        self.systems_error = None
        self.http = None
        self.http_socket = None
        self.realtime = realtime.Realtime(config["realtime_fields"], config["realtime_stale_after"])
        self._realtime_feed = self.realtime.feed
        # the document, serialised once per change for every client (realtime.LiveDocument)
        self.live = realtime.LiveDocument(self.realtime, self._followed)
        self.realtime.on_change = self._wake_streams
        self._reload = threading.Event()
        self._stop = threading.Event()
        self.self_errors = 0
        self._feed_line = self.normaliser.feed_line
        self._add = self.pipeline.add
        # refresh: topic -> [line without timestamp, time last written]; portal -> time last heard
        self.latest = {}
        self.heard = {}
        self.refreshed = 0
        if config["refresh_interval"] > 0:
            self.on_message = self.on_message_tracked
        self._self_prefix_labels = victron.prometheus_prefix("x", config["extra_labels"])[1:]

    # ---- hot path (MQTT network threads)
    def on_message(self, _client, _userdata, message):
        now = time.time()
        topic = message.topic
        parts = topic.split("/", 2)
        if len(parts) > 2:
            self._realtime_feed(parts[1], parts[2], message.payload, now)
        line = self._feed_line(topic, message.payload, int(now * 1000))
        if line is not None:
            self._add(line, now)

    def on_message_tracked(self, _client, _userdata, message):
        """on_message, also keeping each series' latest value and each GX's last message for refresh()."""
        now = time.time()
        topic = message.topic
        parts = topic.split("/", 2)
        if len(parts) > 2:
            self.heard[parts[1]] = now
            self._realtime_feed(parts[1], parts[2], message.payload, now)
        text = self._feed_line(topic, message.payload)
        if text is not None:
            self.latest[topic] = (text, now)
            self._add(text + " " + str(int(now * 1000)), now)
        elif not message.payload:
            self.latest.pop(topic, None)   # the GX withdrew the item: no more refreshes

    # ---- refresh of unchanged values
    def refresh(self, now=None):
        """Write again, with the time ``now``, the latest value of every series of a followed, live GX
        that was not written for refresh_interval s. Returns the number of lines."""
        now = time.time() if now is None else now
        stale = now - self.config["refresh_interval"]
        followed = set(self.portals())
        alive = set(p for p, heard in list(self.heard.items()) if heard >= now - ALIVE_WITHIN and p in followed)
        stamp = " " + str(int(now * 1000))
        count = 0
        for topic, entry in self.latest.copy().items():
            portal = topic.split("/", 2)[1]
            if portal not in followed:
                self.latest.pop(topic, None)
            elif entry[1] <= stale and portal in alive:
                if self.latest.get(topic) is entry:   # (not replaced by a message meanwhile)
                    self.latest[topic] = (entry[0], now)
                if self._add(entry[0] + stamp, now):
                    count += 1
        self.refreshed += count
        return count

    # ---- keepalives
    def keepalive_first(self, link, portal):
        """On (re)subscribing: a full keepalive the first time this process sees the portal, else suppress."""
        mode = "suppress" if portal in self.full_sent else "full"
        self.full_sent.add(portal)
        link.client.publish(victron.keepalive_topic(portal), victron.keepalive_payload(mode), qos=0)
        self.keepalives[mode] += 1
        if mode == "full":
            LOG.info("subscribed %s on %s: full keepalive sent", portal, link.name)

    def keepalive_all(self):
        for link in list(self.links.values()):
            self.keepalives["suppress"] += link.keepalive("suppress")

    # ---- following gx_systems.json
    def check_systems(self, force=False):
        path = self.config["systems_file"]
        try:
            st = os.stat(path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        if not force and stamp == self.systems_stat:
            return False
        self.systems_stat = stamp
        if stamp is None:
            wanted = {}
            if self.systems_error != "missing":
                LOG.warning("%s does not exist (yet): no GX to follow", path)
            self.systems_error = "missing"
        else:
            try:
                wanted = read_systems(path)
                self.systems_error = None
            except (OSError, ValueError) as exc:
                LOG.error("cannot read %s, keeping the current subscriptions: %s", path, exc)
                self.systems_error = str(exc)
                return False
        self.apply(wanted)
        return True

    def apply(self, wanted):
        self.realtime.forget(set(p for portals in wanted.values() for p in portals))
        for key in sorted(set(self.links) - set(wanted)):
            link = self.links.pop(key)
            LOG.info("no longer following %s (%s)", link.name, ", ".join(sorted(link.portals)))
            link.stop()
        for key in sorted(wanted):
            link = self.links.get(key)
            if link is None:
                link = self.links[key] = BrokerLink(self, key[0], key[1])
                link.set_portals(wanted[key])
                LOG.info("following %s: %s", link.name, ", ".join(sorted(wanted[key])))
                link.start()
                continue
            added, removed = link.set_portals(wanted[key])
            if added or removed:
                LOG.info("%s: subscribed %s, unsubscribed %s", link.name, ", ".join(added) or "none",
                         ", ".join(removed) or "none")

    # ---- figures
    def portals(self):
        return sorted(p for link in list(self.links.values()) for p in link.portals)

    def figures(self):
        pipe = self.pipeline
        now = time.time()
        mem_lines, mem_bytes = pipe.memory()
        norm = self.normaliser
        return {
            "received": norm.messages,
            "accepted": pipe.accepted,
            "written": pipe.written,
            "skipped": dict(norm.skipped),
            "skipped_total": norm.skipped_total,
            "dropped": pipe.dropped,
            "buffered_memory_lines": mem_lines,
            "buffered_memory_bytes": mem_bytes,
            "buffered_disk_files": len(pipe.spool),
            "buffered_disk_lines": pipe.spool.lines,
            "buffered_disk_bytes": pipe.spool.nbytes,
            "spool_full": pipe.spool_full,
            "lag_seconds": round(pipe.lag(now), 3),
            "write_errors": pipe.write_errors,
            "last_write_error": pipe.last_write_error,
            "last_write_error_time": pipe.last_write_error_ts,
            "last_write_ok_time": pipe.last_write_ok_ts,
            "refreshed": self.refreshed,
            "series_tracked": len(self.latest),
            "realtime_requests": self.realtime.requests,
            "realtime_encoded": self.live.encoded,
            "realtime_subscribers": sum(len(s.hub.subscribers) for s in (self.http, self.http_socket) if s),
            "keepalives_full": self.keepalives["full"],
            "keepalives_suppress": self.keepalives["suppress"],
            "reloads": self.reloads,
            "brokers": dict((l.name, l.connected) for l in list(self.links.values())),
            "subscribed": dict((l.name, l.subscribed) for l in list(self.links.values())),
            "portals": self.portals(),
            "uptime_seconds": round(now - self.started, 1),
        }

    def prometheus(self, timestamp_ms=None):
        f = self.figures()
        labels = self._self_prefix_labels
        suffix = "" if timestamp_ms is None else " %d" % timestamp_ms
        out = []

        def add(name, value, extra=""):
            if extra and labels:
                lab = labels[:-1] + "," + extra + "}"
            elif extra:
                lab = "{" + extra + "}"
            else:
                lab = labels
            out.append("ovr_collector_%s%s %s%s" % (name, lab, victron.format_value(value), suffix))

        for name in ("received", "accepted", "refreshed", "written", "dropped", "write_errors", "reloads"):
            add(name + "_total", f[name])
        for reason, count in sorted(f["skipped"].items()):
            add("skipped_total", count, 'reason="%s"' % reason)
        add("keepalives_total", f["keepalives_full"], 'mode="full"')
        add("keepalives_total", f["keepalives_suppress"], 'mode="suppress"')
        add("buffered_lines", f["buffered_memory_lines"], 'where="memory"')
        add("buffered_lines", f["buffered_disk_lines"], 'where="disk"')
        add("buffered_bytes", f["buffered_memory_bytes"], 'where="memory"')
        add("buffered_bytes", f["buffered_disk_bytes"], 'where="disk"')
        add("spool_files", f["buffered_disk_files"])
        add("spool_full", int(f["spool_full"]))
        add("lag_seconds", f["lag_seconds"])
        add("last_write_error_timestamp_seconds", f["last_write_error_time"])
        add("last_write_ok_timestamp_seconds", f["last_write_ok_time"])
        add("subscribed_portals", len(f["portals"]))
        add("series_tracked", f["series_tracked"])
        for name, up in sorted(f["brokers"].items()):
            add("broker_connected", int(up), 'broker="%s"' % victron.escape_label_value(name))
        for name, ok in sorted(f["subscribed"].items()):
            add("broker_subscribed", int(ok), 'broker="%s"' % victron.escape_label_value(name))
        add("uptime_seconds", f["uptime_seconds"])
        return "\n".join(out) + "\n"

    def summary(self, why="summary"):
        f = self.figures()
        LOG.info("collector %s: received=%d written=%d skipped=%d dropped=%d refreshed=%d buffered memory=%d lines/%d B "
                 "disk=%d files/%d lines/%d B lag=%.1fs brokers=%s portals=%s keepalives full=%d suppress=%d "
                 "last_write_error=%s", why, f["received"], f["written"], f["skipped_total"], f["dropped"],
                 f["refreshed"],
                 f["buffered_memory_lines"], f["buffered_memory_bytes"], f["buffered_disk_files"],
                 f["buffered_disk_lines"], f["buffered_disk_bytes"], f["lag_seconds"],
                 ",".join("%s(%s)" % (n, "up" if u else "down") for n, u in sorted(f["brokers"].items())) or "none",
                 ",".join(f["portals"]) or "none", f["keepalives_full"], f["keepalives_suppress"],
                 json.dumps(f["last_write_error"]) if f["last_write_error"] else "none")
        if f["dropped"] > self.pipeline._drop_logged:
            LOG.error("DROPPED %d messages so far (%d since the last summary): memory and spool bounds reached "
                      "while VictoriaMetrics is unreachable", f["dropped"], f["dropped"] - self.pipeline._drop_logged)
            self.pipeline._drop_logged = f["dropped"]

    def write_self_metrics(self):
        if not self.pipeline.last_write_ok_ts or self.pipeline.backoff_active():
            return
        try:
            self.writer.post(self.prometheus(int(time.time() * 1000)).encode())
        except (IOError, OSError):
            self.self_errors += 1

    def _followed(self):
        return self.portals()   # (looked up at each call: tests replace portals)

    def realtime_snapshot(self, now=None):
        """The /api/realtime document of the GX systems followed now (a realtime.Snapshot: its body,
        whole HTTP answer and event), serialised again only when something in it changed, and then
        at most every realtime.REUSE s: a hundred clients asking at once share one."""
        return self.live.get(now)

    def realtime_body(self, now=None):
        return self.live.get(now).body

    def _wake_streams(self):
        for server in (self.http, self.http_socket):
            if server is not None:
                server.wake()

    # ---- HTTP: /metrics, /healthz and /api/realtime
    def serve_http(self):
        if self.config["listen"]:
            host, port = split_hostport(self.config["listen"])
            self.http = http.serve(self, host, port)
            LOG.info("counters on http://%s:%d/metrics and /healthz, live values on /api/realtime", host, port)
        if self.config["realtime_socket"]:
            self.http_socket = http.serve_unix(self, self.config["realtime_socket"])
            LOG.info("live values on %s (/api/realtime)", self.config["realtime_socket"])

    # ---- lifecycle
    def request_reload(self, *_args):
        self._reload.set()

    def request_stop(self, *_args):
        self._stop.set()

    def run(self):
        cfg = self.config
        LOG.info("ovr-collector starting: VictoriaMetrics %s, systems %s, spool %s (%d files waiting), labels %s",
                 cfg["vm_url"], cfg["systems_file"], cfg["spool_dir"], len(self.pipeline.spool),
                 cfg["labels"] or "none")
        self.serve_http()
        self.writer.start()
        self.check_systems(force=True)
        now = time.monotonic()
        next_poll = now + cfg["poll_interval"]
        next_keepalive = now + cfg["keepalive_interval"]
        next_summary = now + cfg["summary_interval"]
        next_self = now + min(cfg["self_metrics_interval"], 2.0)
        refresh_every = max(1.0, cfg["refresh_interval"] / 4.0)
        next_refresh = now + refresh_every
        while not self._stop.wait(0.2):
            now = time.monotonic()
            if self._reload.is_set():
                self._reload.clear()
                self.reloads += 1
                self.check_systems(force=True)
                self.summary("reload")
                next_poll = now + cfg["poll_interval"]
            elif now >= next_poll:
                self.check_systems()
                next_poll = now + cfg["poll_interval"]
            if now >= next_keepalive:
                self.keepalive_all()
                next_keepalive = now + cfg["keepalive_interval"]
            if now >= next_summary:
                self.summary()
                next_summary = now + cfg["summary_interval"]
            if now >= next_self:
                self.write_self_metrics()
                next_self = now + cfg["self_metrics_interval"]
            if cfg["refresh_interval"] > 0 and now >= next_refresh:
                self.refresh()
                next_refresh = now + refresh_every
        self.shutdown()

    def shutdown(self):
        LOG.info("stopping: disconnecting from %d broker(s)", len(self.links))
        for link in list(self.links.values()):
            link.stop()
        self.writer.stopping.set()
        self.pipeline.wake.set()
        self.writer.join(self.config["write_timeout"] + 5)
        spooled = self.pipeline.to_spool()
        for server in (self.http, self.http_socket):
            if server is not None:
                server.shutdown()
        self.summary("exit")
        LOG.info("stopped: %d lines from memory written to the spool, %d lines wait there in %d files",
                 spooled, self.pipeline.spool.lines, len(self.pipeline.spool))


def main(argv=None):
    try:
        config = build_config(argv, description=__doc__.split("\n\n", maxsplit=1)[0])
    except (ConfigError, OSError) as exc:
        print("ovr-collector: bad configuration: %s" % exc, file=sys.stderr)
        return 2
    if config["check_config"]:
        shown = dict((k, ("***" if "password" in k and v else v)) for k, v in config.items())
        print(json.dumps(shown, sort_keys=True))
        return 0
    logging.basicConfig(level=config["log_level"].upper(), stream=sys.stderr,
                        format="%(levelname)s %(message)s" if os.environ.get("JOURNAL_STREAM")
                        else "%(asctime)s %(levelname)s %(message)s")
    if not mqtt_utils.HAS_PAHO:
        LOG.error("paho-mqtt is required (apt-get install python3-paho-mqtt): %s", mqtt_utils.PAHO_IMPORT_ERROR)
        return 1
    try:
        collector = Collector(config)
    except OSError as exc:
        LOG.error("cannot start: %s", exc)
        return 1
    signal.signal(signal.SIGHUP, collector.request_reload)
    signal.signal(signal.SIGTERM, collector.request_stop)
    signal.signal(signal.SIGINT, collector.request_stop)
    collector.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
