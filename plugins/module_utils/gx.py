# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GX plane engine: discovery, keepalive and telemetry capture. One implementation.

Used by the ``gx_discover``, ``gx_keepalive`` and ``gx_telemetry`` modules and by
the on-node tools (package ``ovr_node``: the collector and ``ovr_node.refresh``). No Ansible
import.

Every MQTT exchange goes through paho-mqtt (client built by ``mqtt.build_client``,
whose import guard is the only one). Discovery and keepalive are short exchanges
that must be classified exactly (``resolve``, ``connect``, ``timeout``,
``protocol``, ``auth``, ``no_portal_id``) under one deadline per target, for many
targets at once: each target gets a worker thread that resolves the name itself
(``socket.getaddrinfo``), connects a paho client to the resolved address and
drives it with ``client.loop()`` until the deadline. Long-lived streaming
(telemetry) uses paho's own network thread.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import ipaddress
import socket
import ssl
import threading
import time
import uuid

# Relative imports: the same files are the collection's module_utils on the controller and
# modules of the ovr_node package on a node (ovr.fleet.node_runtime).
from . import fleet_model
from . import mqtt as mqtt_utils
from . import victron

DEFAULT_PORT = 1883
REASONS = ("resolve", "connect", "timeout", "protocol", "auth", "no_portal_id")
# After the first retained serial, keep listening this long for more portal ids on the
# same broker (a lab serving several GX): the broker sends them all right after SUBACK.
SERIAL_GRACE = 0.25
# CONNACK reason codes (as paho reports them) that mean our credentials were refused
AUTH_REASON_CODES = (134, 135)  # bad user name or password, not authorized


class GxError(Exception):
    """A failure with one of :data:`REASONS`."""

    def __init__(self, reason, msg):
        super(GxError, self).__init__(msg)
        self.reason = reason
        self.msg = msg


def parse_target(target, default_port=DEFAULT_PORT):
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 -> ``(host, port)``.

    The grammar is the inventory's (:func:`fleet_model.parse_endpoint`, which the fleet
    preflight checks ``ovr_gx_targets`` with); surrounding blanks are ignored and
    ``default_port`` fills in a missing port. Raises ValueError naming the target.
    """
    text = str(target).strip()
    try:
        host, port = fleet_model.parse_endpoint(text)
    except ValueError as exc:
        raise ValueError("invalid target %r: %s" % (text, exc))
    return host, default_port if port is None else port


def format_address(address, port):
    return "[%s]:%d" % (address, port) if ":" in address else "%s:%d" % (address, port)


def _is_ip_literal(host):
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _is_handshake_timeout(exc):
    """Whether a timeout raised by paho's connect() came from the TLS handshake (TCP was accepted)."""
    if "handshake" in str(exc).lower():
        return True
    trace = exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_name in ("do_handshake", "_ssl_wrap_socket"):
            return True
        trace = trace.tb_next
    return False


def _require_paho():
    if not mqtt_utils.HAS_PAHO:
        raise RuntimeError("paho-mqtt is required: %s" % (mqtt_utils.PAHO_IMPORT_ERROR or "not installed"))


# --- one short paho exchange ---------------------------------------------------

class Session(object):
    """One short MQTT exchange with a broker through a paho client, bounded by ``deadline``.

    The caller's thread drives the client (``client.loop()``) until a condition
    holds or the deadline passes. ``stage`` tells how far it got (``resolve``,
    ``connect``, ``handshake``, ``connected``) so that a caller giving up on a
    stuck thread can report why. Failures raise :class:`GxError`.
    """

    def __init__(self, host, port, deadline, options=None, client_id_prefix="ovr-fleet", max_inflight=20):
        self.max_inflight = max_inflight
        self.host = host
        self.port = port
        self.deadline = deadline
        self.options = options or mqtt_utils.ConnectionOptions()
        self.client_id_prefix = client_id_prefix
        self.client = None
        self.address = None
        self.stage = "resolve"
        self.connack = None  # paho ReasonCode of the CONNACK
        self.lost = None  # paho error code of a lost connection

    def remaining(self):
        return self.deadline - time.monotonic()

    def endpoint(self):
        return format_address(self.address or self.host, self.port)

    def resolve(self):
        """getaddrinfo -> [(family, address)], IPv4 and IPv6, de-duplicated, in resolver order."""
        self.stage = "resolve"
        try:
            infos = socket.getaddrinfo(self.host, self.port, 0, socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise GxError("resolve", "cannot resolve %r: %s" % (self.host, getattr(exc, "strerror", None) or exc))
        seen, out = set(), []
        for family, _type, _proto, _canon, sockaddr in infos:
            if family not in (socket.AF_INET, socket.AF_INET6) or sockaddr[0] in seen:
                continue
            seen.add(sockaddr[0])
            out.append((family, sockaddr[0]))
        if not out:
            raise GxError("resolve", "%r resolved to no IPv4/IPv6 address" % self.host)
        return out

    def _on_connect(self, _client, _userdata, _flags, reason_code, _properties):
        self.connack = reason_code

    def open(self, addresses=None):
        """Resolve (unless ``addresses`` given), connect (TCP, TLS, CONNECT) and wait for the CONNACK."""
        if addresses is None:
            addresses = self.resolve()
        self.stage = "connect"
        ctx = self.options.ssl_context()
        if ctx is not None and ctx.check_hostname and not _is_ip_literal(self.host):
            # the certificate names the host, not its address: paho must connect (and send SNI) by name
            candidates = [self.host]
        else:
            candidates = [address for _family, address in addresses]
        errors = []
        for candidate in candidates:
            left = self.remaining()
            if left <= 0:
                errors.append("%s: deadline reached" % format_address(candidate, self.port))
                break
            client = mqtt_utils.build_client(self.options, client_id_prefix=self.client_id_prefix,
                                             reconnect_on_failure=False)
            client.on_connect = self._on_connect
            client.max_inflight_messages_set(self.max_inflight)
            client.connect_timeout = left
            try:
                client.connect(candidate, self.port, keepalive=max(5, int(left) + 5))
            except ssl.SSLError as exc:  # includes certificate verification errors
                raise GxError("protocol", "TLS handshake with %s failed: %s"
                              % (format_address(candidate, self.port), exc))
            except socket.timeout as exc:
                if _is_handshake_timeout(exc):
                    raise GxError("timeout", "%s accepted the connection but did not complete the TLS "
                                  "handshake in time" % format_address(candidate, self.port))
                errors.append("%s: no answer to TCP connect" % format_address(candidate, self.port))
                break
            except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as exc:
                if ctx is not None:  # TCP was accepted, then the peer dropped the TLS handshake
                    raise GxError("protocol", "%s closed the connection during the TLS handshake: %s"
                                  % (format_address(candidate, self.port), exc.strerror or exc))
                errors.append("%s: %s" % (format_address(candidate, self.port), exc.strerror or exc))
                continue
            except OSError as exc:
                errors.append("%s: %s" % (format_address(candidate, self.port), exc.strerror or exc))
                continue
            self.client = client
            try:
                self.address = client.socket().getpeername()[0]
            except (AttributeError, OSError):
                self.address = candidate
            break
        if self.client is None:
            raise GxError("connect", "cannot connect: %s" % "; ".join(errors or ["no address"]))
        self.stage = "handshake"
        self.pump(lambda: self.connack is not None)
        if self.connack is None:
            if self.lost == mqtt_utils.paho_client.MQTT_ERR_CONN_LOST:
                raise GxError("protocol", "%s closed the connection without an MQTT CONNACK (not an MQTT broker?)"
                              % self.endpoint())
            if self.lost is not None:
                raise GxError("protocol", "%s answered with something that is not an MQTT CONNACK (%s)"
                              % (self.endpoint(), self.lost_text()))
            raise GxError("timeout", "%s accepted the connection but did not complete the MQTT "
                          "handshake in time" % self.endpoint())
        if self.connack.is_failure:
            reason = "auth" if self.connack.value in AUTH_REASON_CODES else "protocol"
            raise GxError(reason, "broker %s refused the connection: %s (reason code %d)"
                          % (self.endpoint(), str(self.connack).lower(), self.connack.value))
        self.stage = "connected"
        return self

    def lost_text(self):
        if self.lost is None:
            return "connected"
        if self.lost == mqtt_utils.paho_client.MQTT_ERR_CONN_LOST:
            return "the peer closed the connection"
        return mqtt_utils.paho_client.error_string(self.lost).rstrip(".").lower()

    def pump(self, done, until=None):
        """Drive the client until ``done()``, the deadline (or ``until``) or a lost connection."""
        end = self.deadline if until is None else min(until, self.deadline)
        while self.lost is None and not done():
            left = end - time.monotonic()
            if left <= 0:
                return
            rc = self.client.loop(timeout=min(left, 1.0))
            if rc > 0:
                self.lost = rc

    def close(self):
        if self.client is None:
            return
        try:
            self.client.disconnect()  # sends DISCONNECT and closes the socket when connected
        except (OSError, ValueError):  # pragma: no cover - defensive
            pass
        self.client = None


# --- discovery ---------------------------------------------------------------

def probe(target, port=DEFAULT_PORT, timeout=5.0, options=None, deadline=None, session_holder=None):
    """Discover the portal id(s) behind one target.

    Returns ``{"devices": [{target, address, port, portal_id}], "error": None}``
    or ``{"devices": [], "error": {target, reason, msg}}``. Never raises for
    network problems.
    """
    if deadline is None:
        deadline = time.monotonic() + timeout
    try:
        host, tport = parse_target(target, port)
    except ValueError as exc:
        return {"devices": [], "error": {"target": target, "reason": "resolve", "msg": str(exc)}}
    session = Session(host, tport, deadline, options, client_id_prefix="ovr-fleet-discover")
    if session_holder is not None:
        session_holder.append(session)
    portal_ids = []
    state = {"suback": None, "first_serial": None}

    def on_subscribe(_client, _userdata, _mid, reason_codes, _properties):
        state["suback"] = list(reason_codes)

    def on_message(_client, _userdata, message):
        portal_id = victron.parse_serial(message.topic, message.payload)
        if portal_id and portal_id not in portal_ids:
            portal_ids.append(portal_id)
            if state["first_serial"] is None:
                state["first_serial"] = time.monotonic()

    def refused():
        return state["suback"] is not None and any(code.is_failure for code in state["suback"])

    try:
        session.open()
        session.client.on_subscribe = on_subscribe
        session.client.on_message = on_message
        session.client.subscribe(victron.SERIAL_SUBSCRIPTION, qos=0)
        # Retained serials arrive right after the SUBACK; without any by then keep waiting
        # (a GX that just booted) until the deadline. After the first one, a short grace
        # collects the other portal ids a broker may serve.
        session.pump(lambda: refused() or bool(portal_ids))
        if refused():
            raise GxError("auth", "broker %s refused the subscription to %s"
                          % (session.endpoint(), victron.SERIAL_SUBSCRIPTION))
        if portal_ids:
            session.pump(lambda: False, until=state["first_serial"] + SERIAL_GRACE)
        else:
            if session.lost is not None:
                raise GxError("protocol", "connection to %s lost: %s" % (session.endpoint(), session.lost_text()))
            if state["suback"] is None:
                raise GxError("timeout", "broker %s did not acknowledge the subscription in time"
                              % session.endpoint())
            raise GxError("no_portal_id", "broker %s answers but publishes no %s (not a GX, or its "
                          "MQTT service is off)" % (session.endpoint(), victron.SERIAL_SUBSCRIPTION))
        return {"devices": [{"target": target, "address": session.address, "port": tport,
                             "portal_id": pid_} for pid_ in sorted(portal_ids)], "error": None}
    except GxError as exc:
        return {"devices": [], "error": {"target": target, "reason": exc.reason, "msg": exc.msg}}
    except (socket.timeout, ssl.SSLError, OSError, ValueError) as exc:  # pragma: no cover - defensive
        return {"devices": [], "error": {"target": target, "reason": "protocol", "msg": str(exc)}}
    finally:
        session.close()


_STAGE_REASON = {
    "resolve": ("resolve", "name resolution of %r did not finish within %ss"),
    "connect": ("connect", "TCP connect to %r did not finish within %ss"),
    "handshake": ("timeout", "%r did not complete the MQTT handshake within %ss"),
    "connected": ("no_portal_id", "%r published no serial within %ss"),
}


def _run_concurrently(items, worker, deadline, grace=0.15):
    """Run ``worker(item, holder)`` for every item in its own daemon thread.

    Returns a list of results (None for threads still stuck after ``deadline +
    grace``, e.g. in getaddrinfo, which cannot be interrupted) and the holders.
    """
    results = [None] * len(items)
    holders = [[] for dummy in items]
    threads = []

    def run(index):
        results[index] = worker(items[index], holders[index])

    for index in range(len(items)):
        thread = threading.Thread(target=run, args=(index,), name="ovr-gx-%d" % index)
        thread.daemon = True
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(max(0.0, deadline + grace - time.monotonic()))
    return results, holders


def discover(targets, port=DEFAULT_PORT, timeout=5.0, options=None):
    """Probe every target concurrently, each under ``timeout`` seconds.

    Returns ``(devices, unreachable)``, both in target order. Raises
    RuntimeError when paho-mqtt is not installed.
    """
    _require_paho()
    targets = list(dict.fromkeys(str(t) for t in targets))  # de-duplicate, keep order
    deadline = time.monotonic() + float(timeout)

    def worker(target, holder):
        return probe(target, port, timeout, options, deadline=deadline, session_holder=holder)

    results, holders = _run_concurrently(targets, worker, deadline)
    devices, unreachable = [], []
    for target, result, holder in zip(targets, results, holders):
        if result is None:
            stage = holder[0].stage if holder else "resolve"
            reason, msg = _STAGE_REASON[stage]
            if stage == "connect" and holder[0].options.tls:
                # paho's connect() does TCP connect and TLS handshake in one call
                msg = "TCP connect or TLS handshake with %r did not finish within %ss"
            unreachable.append({"target": target, "reason": reason, "msg": msg % (target, timeout)})
        elif result["error"]:
            unreachable.append(result["error"])
        else:
            devices.extend(result["devices"])
    return devices, unreachable


def name_report(devices):
    """For each found GX (a device of :func:`discover`): its allowlist name next to its portal
    id, and a warning where a ``.local`` (mDNS) name does not carry the portal id.

    "Carries" is a case-insensitive substring test (``venus-c0619ab1c2d3.local`` carries
    ``c0619ab1c2d3``). IP addresses and other names get no warning: only mDNS names are chosen
    on the GX itself. Read-only; returns a list of ``{target, name, portal_id, address, mdns,
    carries_portal_id, warning}`` in device order.
    """
    report = []
    for device in devices:
        target = str(device.get("target", ""))
        portal_id = str(device.get("portal_id", ""))
        try:
            name = parse_target(target)[0]
        except ValueError:
            name = target
        mdns = name.lower().endswith(".local")
        carries = bool(portal_id) and portal_id.lower() in name.lower()
        warning = ""
        if mdns and not carries:
            warning = ("%s answers with portal id %s, which its name does not carry: set the GX's Avahi "
                       "host-name to one with the portal id (roles/mdns/README.md) and list that name in "
                       "ovr_gx_targets" % (name, portal_id))
        report.append({"target": target, "name": name, "portal_id": portal_id,
                       "address": device.get("address"), "mdns": mdns, "carries_portal_id": carries,
                       "warning": warning})
    return report


# --- keepalive ---------------------------------------------------------------

def _device_endpoint(device):
    """``(host, port)`` to reach a device: its resolved address, else its target."""
    port = int(device.get("port") or DEFAULT_PORT)
    if device.get("address"):
        return str(device["address"]), port
    return parse_target(device["target"], port)


def _is_published(info):
    try:
        return info.is_published()
    except (ValueError, RuntimeError):  # not queued / publish failed: never acknowledged
        return False


def _send_keepalives(group, mode, deadline, options):
    """One connection per broker: publish (QoS 1) each device's keepalive and wait for PUBACKs."""
    host, port = _device_endpoint(group[0])
    payload = victron.keepalive_payload(mode)
    session = Session(host, port, deadline, options, client_id_prefix="ovr-fleet-keepalive",
                      max_inflight=max(20, len(group)))
    sent, failed = [], []
    try:
        session.open()
        pending = []
        for device in group:
            topic = victron.keepalive_topic(device["portal_id"])
            info = session.client.publish(topic, payload, qos=1)
            pending.append((info, dict(device, topic=topic, mode=mode)))
        session.pump(lambda: all(_is_published(info) for info, _entry in pending))
        sent = [entry for info, entry in pending if _is_published(info)]
        if len(sent) < len(pending):
            if session.lost is not None:
                raise GxError("protocol", "connection to %s lost before the keepalive was acknowledged: %s"
                              % (session.endpoint(), session.lost_text()))
            raise GxError("timeout", "broker %s did not acknowledge the keepalive in time" % session.endpoint())
    except GxError as exc:
        sent_ids = set(d["portal_id"] for d in sent)
        failed = [dict(d, reason=exc.reason, msg=exc.msg) for d in group if d["portal_id"] not in sent_ids]
    except (socket.timeout, ssl.SSLError, OSError, ValueError) as exc:  # pragma: no cover - defensive
        sent_ids = set(d["portal_id"] for d in sent)
        failed = [dict(d, reason="protocol", msg=str(exc)) for d in group if d["portal_id"] not in sent_ids]
    finally:
        session.close()
    return sent, failed


def validate_devices(devices):
    """Check the shape of a ``devices`` list (what :func:`discover` returns); raise ValueError."""
    out = []
    for index, device in enumerate(devices):
        if not isinstance(device, dict):
            raise ValueError("devices[%d] is not a dict" % index)
        if not device.get("portal_id"):
            raise ValueError("devices[%d] has no portal_id" % index)
        if not (device.get("address") or device.get("target")):
            raise ValueError("devices[%d] has neither address nor target" % index)
        victron.keepalive_topic(device["portal_id"])  # raises on a bad portal id
        clean = dict(device)
        clean["port"] = _device_endpoint(device)[1]
        out.append(clean)
    return out


def keepalive(devices, mode="suppress", timeout=5.0, options=None):
    """Send one keepalive per device, concurrently (one connection per broker).

    Returns ``(sent, failed)``; each entry is the device dict plus ``topic`` and
    ``mode`` (sent) or ``reason`` and ``msg`` (failed). Raises RuntimeError when
    paho-mqtt is not installed.
    """
    devices = validate_devices(devices)
    _require_paho()
    groups = {}
    for device in devices:
        groups.setdefault(_device_endpoint(device), []).append(device)
    group_list = list(groups.values())
    deadline = time.monotonic() + float(timeout)

    def worker(group, _holder):
        return _send_keepalives(group, mode, deadline, options)

    results, _holders = _run_concurrently(group_list, worker, deadline)
    sent, failed = [], []
    for group, result in zip(group_list, results):
        if result is None:
            for device in group:
                failed.append(dict(device, reason="timeout", msg="no answer within %ss" % timeout))
            continue
        sent.extend(result[0])
        failed.extend(result[1])
    return sent, failed


# --- telemetry (paho) ----------------------------------------------------------

class TelemetryError(Exception):
    pass


def capture(address, port, portal_id, duration=2.0, timeout=10.0, options=None, resend_after=1.0,
            min_resend_interval=1.05):
    """Ask one GX for a full publish tagged with our own echo token and capture it.

    Subscribes to ``N/<portal_id>/#``, sends ``R/<portal_id>/keepalive`` with a
    ``full-publish-completed-echo`` token, waits (up to ``timeout``) for the
    matching ``full_publish_completed``, then listens ``duration`` more seconds.

    A full publish sends every item, so while one is under way new topics keep
    arriving; value updates of an already alive GX only repeat known topics.
    When no new topic arrived for ``resend_after`` seconds and the completion
    is still missing, the request was lost (or dropped by the GX's limit of 3
    full republishes per second) and is repeated, at most twice and never
    sooner than ``min_resend_interval`` after the previous one (the GX's limit
    counts over one second).

    Returns a dict with ``normaliser`` (a victron.Normaliser holding the latest
    sample per series), ``completed_at``, ``requests`` and ``token``.
    """
    client = mqtt_utils.build_client(options, client_id_prefix="ovr-fleet-telemetry")
    token = "ovr-%s" % uuid.uuid4().hex
    done = threading.Event()
    connected = threading.Event()
    subscribed = threading.Event()
    lock = threading.Lock()
    state = {"rc": None, "last_new_topic": 0.0, "completed_at": None}
    seen = set()
    norm = victron.Normaliser(keep_latest=True)
    completed_topic = victron.full_publish_completed_topic(portal_id)
    heartbeat_topic = victron.heartbeat_topic(portal_id)

    def on_connect(_client, _userdata, _flags, reason_code, _properties):
        state["rc"] = reason_code
        if not reason_code.is_failure:
            _client.subscribe(victron.subscription(portal_id), qos=0)
        connected.set()

    def on_subscribe(_client, _userdata, _mid, _codes, _properties):
        subscribed.set()

    def on_message(_client, _userdata, message):
        now = time.monotonic()
        with lock:
            if message.topic not in seen and message.topic != heartbeat_topic:
                seen.add(message.topic)
                state["last_new_topic"] = now
            if message.topic == completed_topic:
                parsed = victron.parse_completion(message.payload)
                if parsed is not None and parsed[1] == token and state["completed_at"] is None:
                    state["completed_at"] = now
                    done.set()
            norm.feed(message.topic, message.payload)

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    endpoint = format_address(address, int(port))
    deadline = time.monotonic() + float(timeout)
    client.connect_timeout = max(0.5, float(timeout))
    try:
        client.connect(address, int(port), keepalive=max(10, int(timeout + duration) + 5))
    except (OSError, ValueError) as exc:
        raise TelemetryError("cannot connect to %s: %s" % (endpoint, exc))
    client.loop_start()
    requests = 0
    try:
        if not connected.wait(max(0.0, deadline - time.monotonic())):
            raise TelemetryError("no MQTT handshake with %s within %ss" % (endpoint, timeout))
        if state["rc"].is_failure:
            raise TelemetryError("broker %s refused the connection: %s" % (endpoint, state["rc"]))
        if not subscribed.wait(max(0.0, deadline - time.monotonic())):
            raise TelemetryError("broker %s did not acknowledge the subscription within %ss" % (endpoint, timeout))
        payload = victron.keepalive_payload("full", echo=token)
        topic = victron.keepalive_topic(portal_id)
        last_request = 0.0
        while not done.is_set():
            now = time.monotonic()
            if now >= deadline:
                break
            with lock:
                quiet_since = max(state["last_new_topic"], last_request)
            if requests == 0 or (requests < 3 and now - quiet_since >= resend_after
                                 and now - last_request >= min_resend_interval):
                client.publish(topic, payload, qos=1)
                requests += 1
                last_request = time.monotonic()
            done.wait(min(0.05, max(0.0, deadline - now)))
        if not done.is_set():
            raise TelemetryError(
                "portal %s did not complete a full publish within %ss (%d request(s) sent, %d message(s) "
                "received)" % (portal_id, timeout, requests, norm.messages))
        end = time.monotonic() + float(duration)
        while time.monotonic() < end:
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))
    finally:
        client.disconnect()
        client.loop_stop()
    with lock:
        return {"normaliser": norm, "requests": requests, "token": token,
                "completed_at": state["completed_at"]}
