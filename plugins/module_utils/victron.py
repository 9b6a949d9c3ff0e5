# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Victron GX (Venus OS) MQTT topics -> metrics: the one implementation.

Used by the ``gx_*`` modules on the controller, shipped to edge nodes for the
collector daemon and the GX refresh tool, and mirrored by the Telegraf
Starlark processor ``roles/gx_mqtt_sources/files/victron_mqtt.star`` (a parity test keeps the two
identical). Standard library only, no Ansible imports.

Naming rule::

    N/<portal_id>/<service>/<instance>/<path...>   (at least one path segment)
    -> victron_<service>_<path segments joined by "_">

lower-cased (ASCII ``A-Z`` -> ``a-z``), every character outside ``[a-z0-9_]``
replaced by ``_``, runs of ``_`` collapsed into one. The first path segment
that is exactly ``L1``, ``L2`` or ``L3`` is removed from the name and becomes
the label ``phase``. Labels: ``portal_id``, ``service``, ``instance`` (the raw
topic segments) and ``phase`` when present.

Values: the payload must be a JSON object with a ``value`` key; a number
becomes a float, a bool 1.0/0.0. Anything else is skipped with a reason (see
``SKIP_*``): an empty payload means the item went away, ``null`` means the
value is invalid, strings/lists/objects are not metrics.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import json.scanner
import math
import re

METRIC_PREFIX = "victron_"
PHASES = frozenset(("L1", "L2", "L3"))
LABEL_ORDER = ("portal_id", "service", "instance", "phase")

# Reasons a message is not a metric (the values are stable: they are counted
# per reason by the collector and returned by gx_telemetry).
SKIP_TOPIC = "topic"          # not N/<portal>/<service>/<instance>/<path...>
SKIP_EMPTY = "empty"          # empty payload: the item or device went away
SKIP_JSON = "json"            # payload is not JSON
SKIP_NO_VALUE = "no_value"    # JSON, but not an object with a "value" key
SKIP_NULL = "null"            # {"value": null}: value invalid on the GX
SKIP_STRING = "string"        # {"value": "..."}
SKIP_LIST = "list"            # {"value": [...]}, e.g. system/0/Batteries
SKIP_OBJECT = "object"        # {"value": {...}}
SKIP_NON_FINITE = "non_finite"  # NaN or +-Infinity
SKIP_REASONS = (SKIP_TOPIC, SKIP_EMPTY, SKIP_JSON, SKIP_NO_VALUE, SKIP_NULL,
                SKIP_STRING, SKIP_LIST, SKIP_OBJECT, SKIP_NON_FINITE)

SERIAL_SUBSCRIPTION = "N/+/system/0/Serial"
KEEPALIVE_SUPPRESS = {"keepalive-options": ["suppress-republish"]}
ECHO_KEY = "full-publish-completed-echo"

_INVALID_RUN = re.compile(r"[^a-z0-9_]+")
_UNDERSCORES = re.compile(r"_{2,}")
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}

DEFAULT_CACHE_SIZE = 65536


class Metric(object):
    """One sample: ``name``, ``labels`` (dict, treat as read-only), ``value``."""

    __slots__ = ("name", "labels", "value")

    def __init__(self, name, labels, value):
        self.name = name
        self.labels = labels
        self.value = value

    def as_dict(self):
        return {"name": self.name, "labels": dict(self.labels), "value": self.value}

    def series_key(self):
        return (self.name,) + tuple(sorted(self.labels.items()))

    def __eq__(self, other):
        return (isinstance(other, Metric) and self.name == other.name
                and self.labels == other.labels and self.value == other.value)

    def __ne__(self, other):
        return not self == other

    __hash__ = None

    def __repr__(self):
        return "Metric(%r, %r, %r)" % (self.name, self.labels, self.value)


def sanitize_name(text):
    """ASCII-lower-case ``text``, map chars outside [a-z0-9_] to ``_``, collapse ``_`` runs."""
    text = text.translate(_ASCII_LOWER)
    text = _INVALID_RUN.sub("_", text)
    return _UNDERSCORES.sub("_", text)


def parse_topic(topic):
    """Split an ``N/`` value topic: ``(name, labels)`` or ``None`` if it is not a metric topic.

    Uncached; use :func:`topic_info` (cached) on hot paths.
    """
    parts = topic.split("/")
    if len(parts) < 5 or parts[0] != "N":
        return None
    portal_id, service, instance = parts[1], parts[2], parts[3]
    path = parts[4:]
    if not portal_id or not service or not instance or not any(path):
        return None
    labels = {"portal_id": portal_id, "service": service, "instance": instance}
    for index, segment in enumerate(path):
        if segment in PHASES:
            labels["phase"] = segment
            path = path[:index] + path[index + 1:]
            break
    name = sanitize_name(METRIC_PREFIX + service + "_" + "_".join(path))
    return name, labels


class TopicCache(object):
    """Bounded topic -> (name, labels, prometheus prefix) cache (FIFO eviction).

    ``extra_labels`` (e.g. ``{"site": "a", "node": "1"}``) are added to every entry's labels
    and prefix; they must not redefine the topic labels.
    """

    def __init__(self, maxsize=DEFAULT_CACHE_SIZE, extra_labels=None):
        self.maxsize = max(1, int(maxsize))
        self.extra_labels = dict(extra_labels or {})
        clash = set(self.extra_labels) & set(LABEL_ORDER)
        if clash:
            raise ValueError("extra labels may not redefine %s" % ", ".join(sorted(clash)))
        self._data = {}

    def __len__(self):
        return len(self._data)

    def clear(self):
        self._data.clear()

    def get(self, topic):
        try:
            return self._data[topic]
        except KeyError:
            pass
        parsed = parse_topic(topic)
        if parsed is None:
            entry = None
        else:
            name, labels = parsed
            if self.extra_labels:
                labels.update(self.extra_labels)
            entry = (name, labels, prometheus_prefix(name, labels))
        if len(self._data) >= self.maxsize:
            # drop the oldest entry: dicts keep insertion order
            del self._data[next(iter(self._data))]
        self._data[topic] = entry
        return entry


_DEFAULT_CACHE = TopicCache()


def topic_info(topic):
    """Cached :func:`parse_topic` plus the Prometheus line prefix: ``(name, labels, prefix)`` or None."""
    return _DEFAULT_CACHE.get(topic)


# json.loads without its Python layers, for the common payload: UTF-8 bytes starting with "{"
# (json.loads would detect UTF-8 for them too: no BOM, no NUL second byte). Same parser, same
# result, same errors (the C scanner of the json module; whitespace after the value as json allows).
_SCAN = json.scanner.make_scanner(json.JSONDecoder())
_JSON_SPACE = " \t\n\r"


def _loads(payload):
    if isinstance(payload, bytes) and payload[:1] == b"{" and payload[1:2] != b"\x00":
        text = payload.decode("utf-8")
        try:
            doc, end = _SCAN(text, 0)
        except StopIteration:
            raise ValueError("no JSON value")
        if end != len(text) and text[end:].strip(_JSON_SPACE):
            raise ValueError("extra data")
        return doc
    return json.loads(payload)


def parse_value(payload):
    """Payload (bytes or str) -> ``(float, None)`` or ``(None, reason)``."""
    if not payload:
        return None, SKIP_EMPTY
    try:
        doc = _loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None, SKIP_JSON
    if not isinstance(doc, dict) or "value" not in doc:
        return None, SKIP_NO_VALUE
    value = doc["value"]
    # bool before int/float: bool is an int in Python
    if value is True:
        return 1.0, None
    if value is False:
        return 0.0, None
    if isinstance(value, (int, float)):
        try:
            value = float(value)
        except OverflowError:  # an integer beyond float range
            return None, SKIP_NON_FINITE
        if math.isinf(value) or math.isnan(value):
            return None, SKIP_NON_FINITE
        return value, None
    if value is None:
        return None, SKIP_NULL
    if isinstance(value, list):
        return None, SKIP_LIST
    if isinstance(value, dict):
        return None, SKIP_OBJECT
    return None, SKIP_STRING


def normalise(topic, payload, cache=None):
    """One MQTT message -> ``(Metric, None)`` or ``(None, reason)``."""
    entry = (cache or _DEFAULT_CACHE).get(topic)
    if entry is None:
        return None, SKIP_TOPIC
    value, reason = parse_value(payload)
    if reason is not None:
        return None, reason
    return Metric(entry[0], entry[1], value), None


# normalize for the other spelling
normalize = normalise


class Normaliser(object):
    """Stateful normaliser with counters, for collectors and the telemetry module.

    ``feed(topic, payload)`` returns a :class:`Metric` or None and counts
    messages, metrics and skipped messages per reason. ``latest`` keeps the
    latest sample per series when ``keep_latest`` is true.
    """

    def __init__(self, cache_size=DEFAULT_CACHE_SIZE, keep_latest=False, extra_labels=None):
        self.cache = TopicCache(cache_size, extra_labels)
        self.keep_latest = keep_latest
        self.messages = 0
        self.metrics = 0
        self.skipped = dict((reason, 0) for reason in SKIP_REASONS)
        self.latest = {}

    def feed(self, topic, payload):
        self.messages += 1
        entry = self.cache.get(topic)
        if entry is None:
            self.skipped[SKIP_TOPIC] += 1
            return None
        value, reason = parse_value(payload)
        if reason is not None:
            self.skipped[reason] += 1
            if reason == SKIP_EMPTY and self.keep_latest:
                # the item went away: forget its last sample
                self.latest.pop(topic, None)
            return None
        self.metrics += 1
        metric = Metric(entry[0], entry[1], value)
        if self.keep_latest:
            self.latest[topic] = metric
        return metric

    def feed_line(self, topic, payload, timestamp_ms=None):
        """Like :meth:`feed` but returns a Prometheus exposition line (or None)."""
        self.messages += 1
        entry = self.cache.get(topic)
        if entry is None:
            self.skipped[SKIP_TOPIC] += 1
            return None
        value, reason = parse_value(payload)
        if reason is not None:
            self.skipped[reason] += 1
            return None
        self.metrics += 1
        # parse_value gives finite floats only: their text is repr (format_value's last case)
        if timestamp_ms is None:
            return entry[2] + " " + repr(value)
        return entry[2] + " " + repr(value) + " " + str(int(timestamp_ms))

    @property
    def skipped_total(self):
        return sum(self.skipped.values())


# --- Prometheus text exposition ------------------------------------------

def escape_label_value(value):
    """Escape a label value for the Prometheus text format (``\\``, ``"``, newline)."""
    value = str(value)
    if "\\" in value or '"' in value or "\n" in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def format_value(value):
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if value == float("inf"):
        return "+Inf"
    if value == float("-inf"):
        return "-Inf"
    return repr(value)


def prometheus_prefix(name, labels):
    """``name{l1="v1",...}`` with the well-known labels first, the rest sorted."""
    keys = [k for k in LABEL_ORDER if k in labels]
    keys.extend(sorted(k for k in labels if k not in LABEL_ORDER))
    if not keys:
        return name
    return name + "{" + ",".join(
        '%s="%s"' % (k, escape_label_value(labels[k])) for k in keys) + "}"


def format_metric(metric, timestamp_ms=None):
    """One Prometheus text exposition line (no trailing newline) for a :class:`Metric`."""
    line = prometheus_prefix(metric.name, metric.labels) + " " + format_value(metric.value)
    if timestamp_ms is not None:
        line += " " + str(int(timestamp_ms))
    return line


# --- topics and payloads any GX client needs -------------------------------

def _check_portal_id(portal_id):
    portal_id = str(portal_id)
    if not portal_id or any(c in portal_id for c in "/+#\x00"):
        raise ValueError("invalid portal id %r" % portal_id)
    return portal_id


def serial_topic(portal_id="+"):
    """Topic of the retained serial; ``+`` (default) to discover every portal id."""
    if portal_id == "+":
        return SERIAL_SUBSCRIPTION
    return "N/%s/system/0/Serial" % _check_portal_id(portal_id)


def keepalive_topic(portal_id):
    return "R/%s/keepalive" % _check_portal_id(portal_id)


def subscription(portal_id):
    """Subscription for every value of one GX (never ``N/#``)."""
    return "N/%s/#" % _check_portal_id(portal_id)


def full_publish_completed_topic(portal_id):
    return "N/%s/full_publish_completed" % _check_portal_id(portal_id)


def heartbeat_topic(portal_id):
    return "N/%s/heartbeat" % _check_portal_id(portal_id)


def write_topic(portal_id, service, instance, path):
    return "W/%s/%s/%s/%s" % (_check_portal_id(portal_id), service, instance, path.strip("/"))


def read_topic(portal_id, path):
    return "R/%s/%s" % (_check_portal_id(portal_id), path.strip("/"))


def keepalive_payload(mode="suppress", echo=None):
    """Payload for ``R/<portal_id>/keepalive``.

    * ``suppress``: stay alive, no republish;
    * ``full``: full republish (empty payload), or with ``echo`` a full
      republish whose completion message carries ``echo`` back.
    """
    if mode == "suppress":
        if echo is not None:
            raise ValueError("an echo token needs a full republish")
        return json.dumps(KEEPALIVE_SUPPRESS, separators=(",", ":")).encode()
    if mode == "full":
        if echo is None:
            return b""
        doc = {"keepalive-options": [{ECHO_KEY: str(echo)}]}
        return json.dumps(doc, separators=(",", ":")).encode()
    raise ValueError("unknown keepalive mode %r" % (mode,))


def parse_serial(topic, payload):
    """Portal id from a ``N/<id>/system/0/Serial`` message, or None.

    The portal id is taken from the topic (that is what every other topic
    carries); an empty payload (serial withdrawn) yields None.
    """
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != "N" or parts[2:] != ["system", "0", "Serial"]:
        return None
    if not payload or not parts[1]:
        return None
    return parts[1]


def parse_completion(payload):
    """``(timestamp, echo token or None)`` from a full_publish_completed payload, or None."""
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError, TypeError):
        return None
    if not isinstance(doc, dict):
        return None
    return doc.get("value"), doc.get(ECHO_KEY)
