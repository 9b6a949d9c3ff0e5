# -*- coding: utf-8 -*-
"""Benchmark: the telemetry collector (ovr_node.collector), Mosquitto -> VictoriaMetrics.

A raw-socket publisher (pre-encoded MQTT 3.1.1 PUBLISH packets) blasts N value messages
over 2,000 GX topics into a loopback Mosquitto. Measured, one after the other in the same run,
each receiver pinned to the same single CPU:

* a bare paho subscriber (on_message counts, nothing else): its receive rate is the reference;
* ovr-collector: messages per second from the first publish until all N are written to a real
  VictoriaMetrics, the count found in VictoriaMetrics (none lost?), its peak RSS (VmHWM).

Prints figures; not a pass/fail test. Loopback only. Goal: >= 20,000 msg/s, >= 50% of the bare
subscriber, <= 80 MB.

    PYTHONPATH=.collections .venv/bin/python bench/bench_collector.py [--messages 200000]
"""

import argparse
import atexit
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the folder holding ovr_node (--package: another copy, e.g. an earlier commit's, for a before/after);
# by default this checkout's package, assembled as the role installs it
PACKAGE = None
if os.path.join(REPO, ".collections") not in sys.path:
    sys.path.insert(0, os.path.join(REPO, ".collections"))


def load_conftest():
    spec = importlib.util.spec_from_file_location("it_conftest", os.path.join(REPO, "tests", "integration", "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lab = load_conftest()
import node_package  # noqa: E402  tests/support, on sys.path through the integration conftest


def node_package_path(workdir):
    """The on-node package ovr_node assembled in ``workdir`` as the role installs it (the folder to
    put on PYTHONPATH)."""
    return node_package.build(os.path.join(workdir, "python"))


PORTAL = "bench0c011ec7"
SERVICES = (("system", "0"), ("vebus", "276"), ("solarcharger", "288"), ("battery", "512"))
PATHS = ("Dc/Battery/Soc", "Dc/Battery/Voltage", "Dc/0/Current", "Ac/ActiveIn/L1/P", "Ac/ActiveIn/L2/P",
         "Ac/ActiveIn/L3/V", "Ac/Out/L1/P", "Yield/Power", "Pv/V", "Dc/0/Temperature")

BARE = r"""
import sys, time, paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
port, topic, want = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
state = {"n": 0, "first": None, "last": None}
def on_message(c, u, m):
    if state["first"] is None:
        state["first"] = time.monotonic()
    state["n"] += 1
    state["last"] = time.monotonic()
c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bare-bench")
c.on_message = on_message
c.on_connect = lambda c, *a: c.subscribe(topic)
c.on_subscribe = lambda *a: print("ready", flush=True)
c.connect("127.0.0.1", port, 30)
deadline = time.monotonic() + 300
while state["n"] < want and time.monotonic() < deadline:
    c.loop(0.5)
    if state["last"] and time.monotonic() - state["last"] > 5:
        break
print("%d %.6f" % (state["n"], (state["last"] or 0) - (state["first"] or 0)), flush=True)
"""


def topics():
    out = []
    for service, instance in SERVICES:
        for inst in range(50):
            for path in PATHS:
                out.append("N/%s/%s/%d/%s" % (PORTAL, service, int(instance) + inst, path))
    return out


def _mqtt_string(text):
    data = text.encode("utf-8")
    return len(data).to_bytes(2, "big") + data


def _mqtt_packet(header, body):
    length, encoded = len(body), bytearray()
    while True:
        byte, length = length % 128, length // 128
        encoded.append(byte | (0x80 if length else 0))
        if not length:
            return bytes([header]) + bytes(encoded) + body


def encode_publish(topic, payload):
    """MQTT 3.1.1 PUBLISH, QoS 0."""
    return _mqtt_packet(0x30, _mqtt_string(topic) + payload)


def encode_connect(client_id, keepalive=60):
    return _mqtt_packet(0x10, _mqtt_string("MQTT") + bytes([4, 0x02]) + keepalive.to_bytes(2, "big")
                        + _mqtt_string(client_id))


def packets(count):
    names = topics()
    chunk = []
    for i in range(count):
        payload = json.dumps({"value": round(((i * 7919) % 100000) / 100.0, 2)}).encode()
        chunk.append(encode_publish(names[i % len(names)], payload))
    return chunk


def publish(port, data, chunk=500):
    """Send pre-encoded PUBLISH packets on one raw MQTT connection, as fast as the socket takes them."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(encode_connect("bench-pub", keepalive=60))
    sock.recv(4)   # CONNACK
    start = time.monotonic()
    for i in range(0, len(data), chunk):
        sock.sendall(b"".join(data[i:i + chunk]))
    sock.sendall(b"\xe0\x00")   # DISCONNECT
    sock.close()
    return time.monotonic() - start


def pin(cpu):
    return ["taskset", "-c", str(cpu)] if cpu is not None and os.path.exists("/usr/bin/taskset") else []


def bare_subscriber(port, data, cpu):
    proc = subprocess.Popen(pin(cpu) + [sys.executable, "-c", BARE, str(port), "N/%s/#" % PORTAL, str(len(data))],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    publish(port, data)
    out, dummy = proc.communicate(timeout=320)
    got, elapsed = out.split()
    return int(got), float(elapsed)


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def wait_subscribed(health, port, timeout=20.0):
    """Until the collector's subscription is acknowledged (/healthz "subscribed", its SUBACK); a
    collector without that figure: connected, then half a second."""
    name = "127.0.0.1:%d" % port
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            h = get_json(health)
        except OSError:
            time.sleep(0.05)
            continue
        if "subscribed" in h:
            if h["subscribed"].get(name):
                return
        elif h["brokers"].get(name):
            time.sleep(0.5)
            return
        time.sleep(0.02)
    raise RuntimeError("the collector did not subscribe within %.0f s" % timeout)


def collector_run(port, vm, data, cpu, workdir, package=PACKAGE):
    systems = os.path.join(workdir, "gx_systems.json")
    with open(systems, "w") as handle:
        json.dump({"systems": [{"portal_id": PORTAL, "target": "bench", "address": "127.0.0.1", "port": port}]},
                  handle)
    http_port = lab.free_port()
    log = open(os.path.join(workdir, "collector.log"), "wb")
    # as the node's launcher runs it: python3 -m ovr_node.collector, the package's folder on PYTHONPATH
    env = dict(os.environ, PYTHONPATH=package or node_package_path(workdir))
    proc = subprocess.Popen(pin(cpu) + [
        sys.executable, "-m", "ovr_node.collector", "--env-file", "", "--vm-url", vm.url,
        "--systems-file", systems, "--spool-dir", os.path.join(workdir, "spool"),
        "--listen", "127.0.0.1:%d" % http_port, "--labels", "site=bench,node=n1"], stdout=log, stderr=log, env=env)
    health = "http://127.0.0.1:%d/healthz" % http_port
    try:
        wait_subscribed(health, port)
        start = time.monotonic()
        pub_time = publish(port, data)
        done = None
        progress = (-1, start)   # (written, when it last grew)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            h = get_json(health)
            now = time.monotonic()
            if h["written"] >= len(data) and h["buffered_memory_lines"] == 0:
                done = now
                break
            if h["written"] != progress[0]:
                progress = (h["written"], now)
            elif h["buffered_memory_lines"] == 0 and now - progress[1] > 5:
                # messages lost before the collector: the run ended when the last of them was written
                done = progress[1]
                break
            time.sleep(0.02)
        h = get_json(health)
        with open("/proc/%d/status" % proc.pid) as handle:
            rss = [int(l.split()[1]) for l in handle if l.startswith("VmHWM")][0] / 1024.0
        stored = vm.wait_count('{__name__=~"victron_.*",portal_id="%s"}' % PORTAL, len(data), timeout=30)
        return {"elapsed": (done or time.monotonic()) - start, "publish": pub_time, "received": h["received"],
                "written": h["written"], "dropped": h["dropped"], "stored": stored, "rss_mb": rss}
    finally:
        stop_collector(proc, log)


def stop_collector(proc, log):
    """SIGTERM the collector we started, kill it after 20 s, close its log."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--messages", type=int, default=200000)
    parser.add_argument("--package", default=PACKAGE,
                        help="a folder holding the ovr_node to measure (default: this checkout's, assembled)")
    parser.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1,
                        help="the one CPU the receivers run on (-1: no pinning)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, the broker's and VictoriaMetrics' data)")
    args = parser.parse_args()
    cpu = None if args.cpu < 0 else args.cpu
    workdir = tempfile.mkdtemp(prefix="ovr-bench-collector-")
    if args.keep:
        print("work folder (kept): %s" % workdir)
    else:  # removed at exit, after the finally blocks have stopped what runs in it
        atexit.register(shutil.rmtree, workdir, True)
    data = packets(args.messages)
    broker = lab.Broker(os.path.join(workdir, "mosquitto"))
    os.makedirs(os.path.join(workdir, "vm"))
    vm = lab.VictoriaMetrics(os.path.join(workdir, "vm"))
    try:
        got, elapsed = bare_subscriber(broker.port, data, cpu)
        bare_rate = got / elapsed if elapsed else float("nan")
        result = collector_run(broker.port, vm, data, cpu, workdir, args.package)
        rate = result["received"] / result["elapsed"]
        print("collector benchmark: %d messages, %d topics, receivers pinned to CPU %s" % (
            len(data), len(topics()), cpu if cpu is not None else "any"))
        print("| receiver | msg/s | received | in VictoriaMetrics | lost | peak RSS |")
        print("| --- | --- | --- | --- | --- | --- |")
        print("| bare paho subscriber (reference) | %.0f | %d | - | %d | - |" % (bare_rate, got, len(data) - got))
        print("| ovr-collector, MQTT -> VictoriaMetrics | %.0f (%.0f%% of bare) | %d | %d | %d | %.1f MB |" % (
            rate, 100.0 * rate / bare_rate, result["received"], result["stored"], len(data) - result["stored"],
            result["rss_mb"]))
        print("publisher: %.2f s for %d messages; collector: first publish to all written %.2f s, dropped %d, "
              "not received (lost at the broker) %d" % (result["publish"], len(data), result["elapsed"],
                                                        result["dropped"], len(data) - result["received"]))
    finally:
        vm.close()
        broker.stop()


if __name__ == "__main__":
    main()
