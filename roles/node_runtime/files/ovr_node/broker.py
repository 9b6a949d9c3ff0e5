# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The GX side of the collector: one MQTT link per GX broker, and the systems file it follows."""

import json
import logging
import threading

from . import mqtt as mqtt_utils
from . import mqttread
from . import victron

# paho's client with buffered reads (``mqttread``), built once
CLIENT_CLASS = mqttread.client_class()

LOG = logging.getLogger("ovr-collector")


class BrokerLink(object):
    """One GX broker: subscribed to N/<portal>/# for each of its portals, keeping them alive."""

    def __init__(self, collector, address, port):
        self.collector = collector
        self.address = address
        self.port = port
        self.portals = set()
        self.connected = False
        # every subscription of the current connection acknowledged (SUBACK): messages flow
        self.subscribed = False
        self._pending_mids = set()
        self.lock = threading.Lock()
        self.client = mqtt_utils.build_client(collector.mqtt_options, client_id_prefix=collector.config["client_prefix"],
                                              client_class=CLIENT_CLASS)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = collector.on_message
        self.client.reconnect_delay_set(1, 30)
        self.client.max_queued_messages_set(1000)

    @property
    def name(self):
        return "%s:%d" % (self.address if ":" not in self.address else "[%s]" % self.address, self.port)

    def start(self):
        self.client.connect_async(self.address, self.port, keepalive=30)
        self.client.loop_start()

    def stop(self):
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties):
        if reason_code.is_failure:
            LOG.warning("%s refused the connection: %s", self.name, reason_code)
            return
        self.connected = True
        with self.lock:
            portals = sorted(self.portals)
        LOG.info("connected to %s: subscribing %s", self.name, ", ".join(portals) or "nothing")
        self.subscribed = not portals
        if portals:
            self._subscribe(client, portals)
            for portal in portals:
                self.collector.keepalive_first(self, portal)

    def _subscribe(self, client, portals):
        with self.lock:
            _rc, mid = client.subscribe([(victron.subscription(p), 0) for p in portals])
            if mid is not None:
                self._pending_mids.add(mid)
                self.subscribed = False

    def _on_subscribe(self, _client, _userdata, mid, reason_codes, _properties):
        refused = [code for code in reason_codes if code.is_failure]
        if refused:
            LOG.warning("%s refused a subscription: %s", self.name, ", ".join(str(c) for c in refused))
        with self.lock:
            self._pending_mids.discard(mid)
            self.subscribed = self.connected and not self._pending_mids and not refused

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties):
        if self.connected:
            LOG.warning("lost %s (%s): reconnecting", self.name, reason_code)
        self.connected = False
        with self.lock:
            self.subscribed = False
            self._pending_mids.clear()

    def set_portals(self, portals):
        with self.lock:
            added = sorted(set(portals) - self.portals)
            removed = sorted(self.portals - set(portals))
            self.portals = set(portals)
        if self.connected:
            if removed:
                self.client.unsubscribe([victron.subscription(p) for p in removed])
            if added:
                self._subscribe(self.client, added)
                for portal in added:
                    self.collector.keepalive_first(self, portal)
        return added, removed

    def keepalive(self, mode):
        if not self.connected:
            return 0
        with self.lock:
            portals = sorted(self.portals)
        payload = victron.keepalive_payload(mode)
        for portal in portals:
            self.client.publish(victron.keepalive_topic(portal), payload, qos=0)
        return len(portals)


def read_systems(path):
    """gx_systems.json -> {(address, port): set(portal ids)}; raises ValueError on a bad file."""
    with open(path, encoding="utf-8") as handle:
        doc = json.load(handle)
    if not isinstance(doc, dict) or not isinstance(doc.get("systems"), list):
        raise ValueError("%s: expected {\"systems\": [...]}" % path)
    wanted = {}
    for system in doc["systems"]:
        try:
            portal = str(system["portal_id"])
            victron.subscription(portal)
            address = str(system.get("address") or system["target"])
            port = int(system.get("port") or 1883)
        except (KeyError, TypeError, ValueError) as exc:
            LOG.warning("%s: ignoring entry %r (%s)", path, system, exc)
            continue
        wanted.setdefault((address, port), set()).add(portal)
    return wanted
