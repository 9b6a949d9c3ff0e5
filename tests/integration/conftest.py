# -*- coding: utf-8 -*-
"""Fixtures for the GX plane integration tests: real Mosquitto brokers on free loopback
ports, the GX simulator (lab/gxsim) in-process, and dead endpoints of every kind."""

import base64
import getpass
import hashlib
import json
import os
import shutil
import socket
import sys
import subprocess
import threading
import time
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "support"))
from loopback import free_port, load_gxsim, stop_process, unresolvable, wait_port  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

gxsim = load_gxsim()


def mosquitto_binary():
    return shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)


def password_line(user, password):
    """A mosquitto password-file line ($6$: sha512(password + salt)), no mosquitto_passwd needed."""
    salt = os.urandom(12)
    digest = hashlib.sha512(password.encode() + salt).digest()
    return "%s:$6$%s$%s\n" % (user, base64.b64encode(salt).decode(), base64.b64encode(digest).decode())


class Broker(object):
    """A mosquitto process on 127.0.0.1:<free port>."""

    def __init__(self, workdir, users=None):
        self.host = "127.0.0.1"
        self.port = free_port()
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        conf = ["listener %d 127.0.0.1" % self.port, "persistence false", "log_dest stderr",
                "log_type error", "log_type warning", "max_queued_messages 100000",
                # as root mosquitto would switch to user "mosquitto", who cannot read our tmp dir
                "user %s" % getpass.getuser()]
        if users:
            pw_file = os.path.join(workdir, "passwd")
            with open(pw_file, "w") as handle:
                for user, password in users.items():
                    handle.write(password_line(user, password))
            os.chmod(pw_file, 0o600)
            conf += ["allow_anonymous false", "password_file %s" % pw_file]
        else:
            conf += ["allow_anonymous true"]
        self.conf = os.path.join(workdir, "mosquitto.conf")
        with open(self.conf, "w") as handle:
            handle.write("\n".join(conf) + "\n")
        self.log = open(os.path.join(workdir, "mosquitto.log"), "wb")
        self.proc = subprocess.Popen([mosquitto_binary(), "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if not wait_port(self.port):
            self.stop()
            raise RuntimeError("mosquitto did not start on port %d" % self.port)

    @property
    def url(self):
        return "%s:%d" % (self.host, self.port)

    def stop(self):
        stop_process(self.proc)
        self.log.close()


@pytest.fixture(scope="session")
def mosquitto_factory(tmp_path_factory):
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    brokers = []

    def start(users=None):
        broker = Broker(str(tmp_path_factory.mktemp("mosquitto")), users=users)
        brokers.append(broker)
        return broker

    yield start
    for broker in brokers:
        broker.stop()


@pytest.fixture(scope="session")
def broker(mosquitto_factory):
    """The GX's broker, shared by the session (tests use unique portal ids)."""
    return mosquitto_factory()


@pytest.fixture(scope="session")
def empty_broker(mosquitto_factory):
    """A plain broker on which no simulator ever runs (no_portal_id)."""
    return mosquitto_factory()


@pytest.fixture(scope="session")
def auth_broker(mosquitto_factory):
    return mosquitto_factory(users={"gx": "s3cret"})


def new_portal_id():
    return "sim" + uuid.uuid4().hex[:9]


@pytest.fixture
def sim_factory(broker):
    """Start simulators (fast windows by default); all stopped at the end of the test."""
    sims = []

    def start(portal_id=None, on=None, **kwargs):
        options = dict(keepalive_window=3.0, heartbeat_interval=0.2, update_interval=0.2)
        options.update(kwargs)
        sim = gxsim.GxSimulator(portal_id=portal_id or new_portal_id(), broker=(on or broker).url, **options)
        sim.start()
        sims.append(sim)
        return sim

    yield start
    for sim in sims:
        sim.stop()


@pytest.fixture
def sim(sim_factory):
    return sim_factory()


class Recorder(object):
    """A plain MQTT client recording every message on the given subscriptions."""

    def __init__(self, broker, topics, username=None, password=None):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages = []
        self.lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                  client_id="recorder-" + uuid.uuid4().hex[:8])
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe([(t, 0) for t in topics])
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(5):
            raise RuntimeError("recorder could not subscribe")

    def _on_message(self, _client, _userdata, message):
        with self.lock:
            self.messages.append((time.monotonic(), message.topic, bytes(message.payload), message.retain))

    def publish(self, topic, payload, qos=1):
        self.client.publish(topic, payload, qos=qos).wait_for_publish(5)

    def topics(self, since=0.0):
        with self.lock:
            return [m[1] for m in self.messages if m[0] >= since]

    def payloads(self, topic, since=0.0):
        with self.lock:
            return [m[2] for m in self.messages if m[1] == topic and m[0] >= since]

    def wait_for(self, predicate, timeout=5.0):
        """Wait (bounded) until predicate(self) is true; return whether it became true."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.02)
        return predicate(self)

    def clear(self):
        with self.lock:
            del self.messages[:]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def recorder_factory(broker):
    recorders = []

    def start(topics, on=None, **kwargs):
        rec = Recorder(on or broker, topics, **kwargs)
        recorders.append(rec)
        return rec

    yield start
    for rec in recorders:
        rec.close()


class DeadEndpoints(object):
    """Loopback endpoints that fail in each way discovery must tell apart."""

    def __init__(self):
        self._sockets = []
        self._stop = threading.Event()
        self._threads = []
        # connect: a port nobody listens on
        self.closed_port = free_port()
        # timeout: a listener that never accepts (the kernel completes the TCP
        # handshake) and never answers
        self.silent_port = self._listen().getsockname()[1]
        # protocol: a listener that answers the MQTT CONNECT with an HTTP error
        garbage = self._listen()
        self.garbage_port = garbage.getsockname()[1]
        thread = threading.Thread(target=self._serve_garbage, args=(garbage,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def _listen(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(256)
        self._sockets.append(sock)
        return sock

    def _serve_garbage(self, listener):
        listener.settimeout(0.1)
        deadline = time.monotonic() + 600  # bounded, whatever happens
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                conn, dummy = listener.accept()
            except (socket.timeout, OSError):
                continue
            try:
                conn.settimeout(1.0)
                try:
                    conn.recv(1024)
                except OSError:
                    pass
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            finally:
                conn.close()

    def close(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(2)
        for sock in self._sockets:
            sock.close()


@pytest.fixture(scope="session")
def dead():
    endpoints = DeadEndpoints()
    yield endpoints
    endpoints.close()


def collection_root():
    """The directory holding ansible_collections/ovr/fleet (from the import path in use)."""
    import ansible_collections

    for path in ansible_collections.__path__:
        if os.path.isdir(os.path.join(path, "ovr", "fleet")):
            return os.path.dirname(path)
    raise RuntimeError("ansible_collections/ovr/fleet not found on the import path")


@pytest.fixture(scope="session")
def ansible_runner(tmp_path_factory):
    """Run ``ansible localhost -m <module> -a <json>`` for real; returns (rc, result dict, output)."""
    import sys

    exe = os.path.join(os.path.dirname(sys.executable), "ansible")
    if not os.path.exists(exe):
        exe = shutil.which("ansible")
    if exe is None:
        pytest.skip("ansible CLI not found")
    home = str(tmp_path_factory.mktemp("ansible-home"))
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": collection_root(),
        "ANSIBLE_HOME": home,
        "ANSIBLE_LOCAL_TEMP": os.path.join(home, "tmp"),
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "true",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_CONFIG": os.path.join(home, "ansible.cfg"),
    })
    with open(env["ANSIBLE_CONFIG"], "w") as handle:
        handle.write("[defaults]\n")

    def run(module, args, check=False, timeout=60):
        cmd = [exe, "localhost", "-m", "ovr.fleet.%s" % module, "-a", json.dumps(args)]
        if check:
            cmd.append("--check")
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=home, check=False)
        try:
            doc = json.loads(proc.stdout)
            result = doc["plays"][0]["tasks"][0]["hosts"]["localhost"]
        except (ValueError, KeyError, IndexError):
            result = None
        return proc.returncode, result, proc.stdout + proc.stderr

    return run


# ---- VictoriaMetrics (Debian's victoria-metrics binary) for the telemetry tests ------------

def victoria_metrics_binary():
    return shutil.which("victoria-metrics") or (
        "/usr/bin/victoria-metrics" if os.path.exists("/usr/bin/victoria-metrics") else None)


class VictoriaMetrics(object):
    """A victoria-metrics process on 127.0.0.1:<free port> with its own storage directory;
    stop() and start() again keep the port and the data (a restart, as after an outage)."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.storage = os.path.join(workdir, "storage")
        self.port = free_port()
        self.proc = None
        self.log = open(os.path.join(workdir, "victoria-metrics.log"), "ab")
        self.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self, timeout=20.0):
        self.proc = subprocess.Popen(
            [victoria_metrics_binary(), "-httpListenAddr=127.0.0.1:%d" % self.port,
             "-storageDataPath=%s" % self.storage, "-retentionPeriod=1y", "-search.latencyOffset=0s", "-search.disableCache",
             "-loggerLevel=WARN"], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("victoria-metrics exited with %s (log: %s)" % (self.proc.returncode, self.workdir))
            try:
                if self.get("/health") == b"OK":
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("victoria-metrics did not answer on port %d" % self.port)

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, grace=20)

    def close(self):
        self.stop()
        self.log.close()

    def get(self, path, params=None, timeout=10.0):
        import urllib.parse
        import urllib.request

        url = self.url + path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()

    def flush(self):
        """Make everything ingested so far searchable."""
        self.get("/internal/force_flush")

    def export(self, match):
        """Raw samples of the series matching ``match``: [{"metric": {...}, "values": [...], "timestamps": [...]}]."""
        self.flush()
        text = self.get("/api/v1/export", {"match[]": match}).decode()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def count(self, match):
        """Number of raw samples of the series matching ``match``."""
        return sum(len(series["values"]) for series in self.export(match))

    def wait_count(self, match, expected, timeout=20.0):
        """count(match), polled until it equals ``expected`` or ``timeout`` passes: freshly
        ingested series take a moment to become searchable. Returns the last count."""
        deadline = time.monotonic() + timeout
        got = self.count(match)
        while got != expected and time.monotonic() < deadline:
            time.sleep(0.5)
            got = self.count(match)
        return got

    def query(self, expr):
        self.flush()
        return json.loads(self.get("/api/v1/query", {"query": expr}).decode())["data"]["result"]


@pytest.fixture
def vm_factory(tmp_path_factory):
    """Start VictoriaMetrics instances (each with its own storage); all stopped at the end of the test."""
    if victoria_metrics_binary() is None:
        pytest.skip("victoria-metrics is not installed (apt-get install victoria-metrics)")
    instances = []

    def start():
        vm = VictoriaMetrics(str(tmp_path_factory.mktemp("vm")))
        instances.append(vm)
        return vm

    yield start
    for vm in instances:
        vm.close()
