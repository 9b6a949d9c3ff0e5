# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GX plane engine: discovery, keepalive and telemetry capture. One implementation.

Used by the ``gx_discover``, ``gx_keepalive`` and ``gx_telemetry`` modules and by
the on-node GX refresh tool. No Ansible import.

Discovery and keepalive are short request/response exchanges that must be
classified exactly (``resolve``, ``connect``, ``timeout``, ``protocol``,
``auth``, ``no_portal_id``) under one deadline per target, for many targets
at once. They use :class:`MqttSession`, a deliberately small MQTT 3.1.1
client on blocking sockets (standard library only, TLS via the context built
in ``mqtt.py``): every step (getaddrinfo, TCP connect, TLS, CONNECT/CONNACK,
SUBSCRIBE, waiting for the retained serial) is bounded by the same deadline,
and the first bytes a peer sends are checked to be a CONNACK. Long-lived
streaming (telemetry) uses paho-mqtt through ``mqtt.build_client``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import socket
import ssl
import struct
import threading
import time
import uuid

try:
    from ansible_collections.ovr.fleet.plugins.module_utils import victron
    from ansible_collections.ovr.fleet.plugins.module_utils import mqtt as mqtt_utils
except ImportError:  # pragma: no cover - on-node use with the files side by side
    import victron  # type: ignore[no-redef]
    import mqtt as mqtt_utils  # type: ignore[no-redef]

DEFAULT_PORT = 1883
REASONS = ("resolve", "connect", "timeout", "protocol", "auth", "no_portal_id")
MAX_PACKET = 1 << 20
CONNACK_MESSAGES = {
    1: "unacceptable protocol version",
    2: "client identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorized",
}


class GxError(Exception):
    """A failure with one of :data:`REASONS`."""

    def __init__(self, reason, msg):
        super(GxError, self).__init__(msg)
        self.reason = reason
        self.msg = msg


def parse_target(target, default_port=DEFAULT_PORT):
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 -> ``(host, port)``."""
    text = str(target).strip()
    if not text:
        raise ValueError("empty target")
    host, port = text, default_port
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError("unbalanced '[' in target %r" % text)
        host, rest = text[1:end], text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ValueError("unexpected %r after ']' in target %r" % (rest, text))
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    # more than one ':' without brackets: a bare IPv6 address, default port
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise ValueError("invalid port in target %r" % text)
    if not host or not 0 < port < 65536:
        raise ValueError("invalid target %r" % text)
    return host, port


def format_address(address, port):
    return "[%s]:%d" % (address, port) if ":" in address else "%s:%d" % (address, port)


# --- a minimal MQTT 3.1.1 session -------------------------------------------

def _encode_str(text):
    data = text.encode("utf-8") if not isinstance(text, bytes) else text
    return struct.pack("!H", len(data)) + data


def _encode_length(length):
    out = bytearray()
    while True:
        byte = length % 128
        length //= 128
        if length:
            byte |= 0x80
        out.append(byte)
        if not length:
            return bytes(out)


def encode_packet(header, body):
    return bytes(bytearray([header])) + _encode_length(len(body)) + body


def encode_connect(client_id, keepalive=30, username=None, password=None, clean=True):
    flags = 0x02 if clean else 0
    payload = _encode_str(client_id)
    if username is not None:
        flags |= 0x80
        payload += _encode_str(username)
        if password is not None:
            flags |= 0x40
            payload += _encode_str(password)
    body = _encode_str("MQTT") + bytes(bytearray([4, flags])) + struct.pack("!H", keepalive) + payload
    return encode_packet(0x10, body)


def encode_subscribe(packet_id, topics):
    body = struct.pack("!H", packet_id)
    for topic in topics:
        body += _encode_str(topic) + b"\x00"
    return encode_packet(0x82, body)


def encode_publish(topic, payload, qos=0, packet_id=None, retain=False):
    header = 0x30 | (qos << 1) | (1 if retain else 0)
    body = _encode_str(topic)
    if qos:
        body += struct.pack("!H", packet_id)
    return encode_packet(header, body + payload)


PINGREQ = b"\xc0\x00"
DISCONNECT = b"\xe0\x00"


def decode_publish(header, body):
    """``(topic, payload, retain, qos, packet_id)`` from a PUBLISH packet."""
    if len(body) < 2:
        raise GxError("protocol", "malformed PUBLISH")
    tlen = struct.unpack("!H", body[:2])[0]
    pos = 2 + tlen
    if len(body) < pos:
        raise GxError("protocol", "malformed PUBLISH topic")
    try:
        topic = body[2:pos].decode("utf-8")
    except UnicodeDecodeError:
        raise GxError("protocol", "PUBLISH topic is not UTF-8")
    qos = (header >> 1) & 3
    packet_id = None
    if qos:
        if len(body) < pos + 2:
            raise GxError("protocol", "malformed PUBLISH packet id")
        packet_id = struct.unpack("!H", body[pos:pos + 2])[0]
        pos += 2
    return topic, bytes(body[pos:]), bool(header & 1), qos, packet_id


class MqttSession(object):
    """One short MQTT 3.1.1 exchange with a broker, every step bounded by ``deadline``.

    ``stage`` tells how far it got (``resolve``, ``connect``, ``handshake``,
    ``connected``) so that a caller giving up on a stuck thread can report why.
    """

    def __init__(self, host, port, deadline, options=None, client_id_prefix="ovr-fleet"):
        self.host = host
        self.port = port
        self.deadline = deadline
        self.options = options or mqtt_utils.ConnectionOptions()
        self.client_id = "%s-%s" % (client_id_prefix, uuid.uuid4().hex[:12])
        self.sock = None
        self.address = None
        self.stage = "resolve"
        self._buf = bytearray()
        self._next_id = 0

    # time helpers
    def remaining(self):
        return self.deadline - time.monotonic()

    def _timeout(self):
        left = self.remaining()
        if left <= 0:
            raise socket.timeout("deadline reached")
        return left

    def open(self, addresses=None):
        """Resolve (unless ``addresses`` given), connect, TLS, CONNECT/CONNACK."""
        if addresses is None:
            addresses = self.resolve()
        self.stage = "connect"
        errors = []
        for family, address in addresses:
            try:
                sock = socket.socket(family, socket.SOCK_STREAM)
            except OSError as exc:
                errors.append("%s: %s" % (address, exc))
                continue
            try:
                sock.settimeout(self._timeout())
                sock.connect((address, self.port))
            except socket.timeout:
                sock.close()
                errors.append("%s: no answer to TCP connect" % format_address(address, self.port))
                break
            except OSError as exc:
                sock.close()
                errors.append("%s: %s" % (format_address(address, self.port), exc.strerror or exc))
                continue
            self.sock = sock
            self.address = address
            break
        if self.sock is None:
            raise GxError("connect", "cannot connect: %s" % "; ".join(errors or ["no address"]))
        self.stage = "handshake"
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            ctx = self.options.ssl_context()
            if ctx is not None:
                self.sock.settimeout(self._timeout())
                server_hostname = None if ctx.check_hostname is False else self.host
                self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)
            self.send(encode_connect(self.client_id, keepalive=max(5, int(self.remaining()) + 5),
                                     username=self.options.username, password=self.options.password))
            self._fill(1)
            if self._buf[0] != 0x20:
                raise GxError("protocol", "%s answered with something that is not an MQTT CONNACK "
                              "(first byte 0x%02x)" % (format_address(self.address, self.port), self._buf[0]))
            header, body = self.read_packet()
        except socket.timeout:
            raise GxError("timeout", "%s accepted the connection but did not complete the MQTT "
                          "handshake in time" % format_address(self.address, self.port))
        except ssl.SSLError as exc:
            raise GxError("protocol", "TLS handshake with %s failed: %s"
                          % (format_address(self.address, self.port), exc))
        if header != 0x20 or len(body) != 2:
            raise GxError("protocol", "%s answered with something that is not an MQTT CONNACK "
                          "(first byte 0x%02x)" % (format_address(self.address, self.port), header))
        code = bytearray(body)[1]
        if code in (4, 5):
            raise GxError("auth", "broker %s refused the connection: %s"
                          % (format_address(self.address, self.port), CONNACK_MESSAGES[code]))
        if code:
            raise GxError("protocol", "broker %s refused the connection: %s"
                          % (format_address(self.address, self.port),
                             CONNACK_MESSAGES.get(code, "return code %d" % code)))
        self.stage = "connected"
        return self

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

    def send(self, data):
        self.sock.settimeout(self._timeout())
        self.sock.sendall(data)

    def _fill(self, count):
        while len(self._buf) < count:
            self.sock.settimeout(self._timeout())
            try:
                chunk = self.sock.recv(65536)
            except ssl.SSLError:
                raise
            except socket.timeout:
                raise
            except OSError as exc:
                raise GxError("protocol", "connection to %s failed: %s"
                              % (format_address(self.address, self.port), exc.strerror or exc))
            if not chunk:
                raise GxError("protocol", "%s closed the connection" % format_address(self.address, self.port))
            self._buf += chunk

    def read_packet(self):
        """``(header byte, body bytes)``; raises socket.timeout at the deadline."""
        self._fill(2)
        header = self._buf[0]
        length, multiplier, pos = 0, 1, 1
        while True:
            self._fill(pos + 1)
            byte = self._buf[pos]
            length += (byte & 0x7F) * multiplier
            pos += 1
            if not byte & 0x80:
                break
            multiplier *= 128
            if pos > 4:
                raise GxError("protocol", "malformed remaining length")
        if length > MAX_PACKET:
            raise GxError("protocol", "packet of %d bytes is too large" % length)
        self._fill(pos + length)
        body = bytes(self._buf[pos:pos + length])
        del self._buf[:pos + length]
        return header, body

    def packet_id(self):
        self._next_id = self._next_id % 65535 + 1
        return self._next_id

    def subscribe(self, topics):
        pid = self.packet_id()
        self.send(encode_subscribe(pid, topics))
        return pid

    def publish(self, topic, payload, qos=0, retain=False):
        pid = self.packet_id() if qos else None
        self.send(encode_publish(topic, payload, qos=qos, packet_id=pid, retain=retain))
        return pid

    def close(self):
        if self.sock is None:
            return
        try:
            self.sock.settimeout(0.2)
            self.sock.sendall(DISCONNECT)
        except (OSError, ValueError):
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        self.sock = None


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
    session = MqttSession(host, tport, deadline, options, client_id_prefix="ovr-fleet-discover")
    if session_holder is not None:
        session_holder.append(session)
    try:
        session.open()
        session.subscribe([victron.SERIAL_SUBSCRIPTION])
        portal_ids = []
        barrier_sent = suback = barrier_seen = False
        # Retained serials arrive right after the SUBACK; a PINGREQ sent after the
        # SUBACK is answered after them, so PINGRESP closes the retained burst.
        # Without any serial by then keep waiting (a GX that just booted) until
        # the deadline.
        while True:
            if barrier_seen and portal_ids:
                break
            try:
                header, body = session.read_packet()
            except socket.timeout:
                break
            kind = header & 0xF0
            if kind == 0x90:
                suback = True
                if bytearray(body)[2:3] == bytearray(b"\x80"):
                    raise GxError("auth", "broker %s refused the subscription to %s"
                                  % (format_address(session.address, tport), victron.SERIAL_SUBSCRIPTION))
                if not barrier_sent:
                    session.send(PINGREQ)
                    barrier_sent = True
            elif kind == 0xD0:
                barrier_seen = True
            elif kind == 0x30:
                topic, payload, _retain, qos, pid = decode_publish(header, body)
                if qos == 1:
                    session.send(encode_packet(0x40, struct.pack("!H", pid)))
                portal_id = victron.parse_serial(topic, payload)
                if portal_id and portal_id not in portal_ids:
                    portal_ids.append(portal_id)
        if not portal_ids:
            if not suback:
                raise GxError("timeout", "broker %s did not acknowledge the subscription in time"
                              % format_address(session.address, tport))
            raise GxError("no_portal_id", "broker %s answers but publishes no %s (not a GX, or its "
                          "MQTT service is off)" % (format_address(session.address, tport),
                                                    victron.SERIAL_SUBSCRIPTION))
        return {"devices": [{"target": target, "address": session.address, "port": tport,
                             "portal_id": pid_} for pid_ in sorted(portal_ids)], "error": None}
    except GxError as exc:
        return {"devices": [], "error": {"target": target, "reason": exc.reason, "msg": exc.msg}}
    except (socket.timeout, ssl.SSLError, OSError) as exc:  # pragma: no cover - defensive
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

    Returns ``(devices, unreachable)``, both in target order.
    """
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
            unreachable.append({"target": target, "reason": reason, "msg": msg % (target, timeout)})
        elif result["error"]:
            unreachable.append(result["error"])
        else:
            devices.extend(result["devices"])
    return devices, unreachable


# --- keepalive ---------------------------------------------------------------

def _device_endpoint(device):
    """``(host, port)`` to reach a device: its resolved address, else its target."""
    port = int(device.get("port") or DEFAULT_PORT)
    if device.get("address"):
        return str(device["address"]), port
    return parse_target(device["target"], port)


def _send_keepalives(group, mode, deadline, options):
    """One connection per broker: publish (QoS 1) each device's keepalive and wait for PUBACKs."""
    host, port = _device_endpoint(group[0])
    payload = victron.keepalive_payload(mode)
    session = MqttSession(host, port, deadline, options, client_id_prefix="ovr-fleet-keepalive")
    sent, failed = [], []
    pending = {}
    try:
        session.open()
        for device in group:
            topic = victron.keepalive_topic(device["portal_id"])
            pid = session.publish(topic, payload, qos=1)
            pending[pid] = dict(device, topic=topic, mode=mode)
        while pending:
            try:
                header, body = session.read_packet()
            except socket.timeout:
                raise GxError("timeout", "broker %s did not acknowledge the keepalive in time"
                              % format_address(session.address, port))
            if header & 0xF0 == 0x40 and len(body) == 2:
                done = pending.pop(struct.unpack("!H", body)[0], None)
                if done is not None:
                    sent.append(done)
    except GxError as exc:
        sent_ids = set(d["portal_id"] for d in sent)
        failed = [dict(d, reason=exc.reason, msg=exc.msg) for d in group if d["portal_id"] not in sent_ids]
    except (socket.timeout, ssl.SSLError, OSError) as exc:  # pragma: no cover - defensive
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
    ``mode`` (sent) or ``reason`` and ``msg`` (failed).
    """
    devices = validate_devices(devices)
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
