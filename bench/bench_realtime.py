# -*- coding: utf-8 -*-
"""Benchmark: /api/realtime (the collector's live values, ovr_node.realtime) under load, while the
collector ingests at the rate of 10 GX devices.

A raw-socket publisher sends value messages for 10 GX portals into a loopback Mosquitto at a paced
rate (--rate, default 10 x 100 msg/s: a busy GX with suppress-republish publishes well under 100
changed values a second), the system service paths /api/realtime reads among them. The collector
writes to a real VictoriaMetrics. Measured in the same run, one phase after the other:

* reference: ingest alone for --seconds; the collector's receive rate; /api/realtime latency of
  one client asking in a loop (sequential);
* loaded: the same ingest, and 100 concurrent clients asking /api/realtime in a loop (keep-alive
  connections, each waiting for its answer before the next request) for --seconds: latency
  percentiles, answers per second, and the collector's receive rate beside the reference's.

The collector runs on one CPU, the publisher and the HTTP clients on the other (2 cores here).
Prints figures; not a pass/fail test (the goal: the receive rate drops by no more than 10 %).

    PYTHONPATH=.collections .venv/bin/python bench/bench_realtime.py [--rate 1000] [--seconds 15]
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_collector as base  # noqa: E402 (the MQTT encoder, the broker and VictoriaMetrics helpers)

lab = base.lab
GX = 10
PATHS = ("system/0/Dc/Battery/Soc", "system/0/Dc/Battery/Voltage", "system/0/Dc/Pv/Power",
         "system/0/Ac/Grid/L1/Power", "system/0/Ac/Consumption/L1/Power", "system/0/Ac/Consumption/L2/Power",
         "system/0/SystemState/State", "vebus/276/Ac/ActiveIn/L1/P", "vebus/276/Ac/Out/L1/P",
         "solarcharger/288/Yield/Power", "battery/512/Dc/0/Current", "battery/512/Dc/0/Temperature")


def portals():
    return ["benchrt%05d" % i for i in range(GX)]


def packet_stream(count):
    names = ["N/%s/%s" % (p, path) for p in portals() for path in PATHS]
    for i in range(count):
        payload = json.dumps({"value": round(((i * 7919) % 10000) / 100.0, 2)}).encode()
        yield base.encode_publish(names[i % len(names)], payload)


class PacedPublisher(threading.Thread):
    """Publish at ``rate`` messages/s in 10 ms slices on one raw MQTT connection until stopped."""

    def __init__(self, port, rate):
        super().__init__(daemon=True)
        self.port, self.rate = port, rate
        self.sent = 0
        self.stopping = threading.Event()

    def run(self):
        sock = base.socket.create_connection(("127.0.0.1", self.port))
        sock.sendall(base.encode_connect("bench-rt-pub", keepalive=60))
        sock.recv(4)
        stream = packet_stream(10 ** 9)
        start = time.monotonic()
        while not self.stopping.is_set():
            due = int((time.monotonic() - start) * self.rate) - self.sent
            if due > 0:
                sock.sendall(b"".join(next(stream) for dummy in range(due)))
                self.sent += due
            time.sleep(0.01)
        sock.sendall(b"\xe0\x00")
        sock.close()


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def clients(port, count, seconds):
    """``count`` threads asking /api/realtime in a loop for ``seconds``: latencies (s) and errors."""
    latencies, errors = [], [0]
    lock = threading.Lock()
    start_gate = threading.Event()
    stop_at = [0.0]

    def worker():
        mine = []
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start_gate.wait()
        while time.monotonic() < stop_at[0]:
            t0 = time.perf_counter()
            try:
                conn.request("GET", "/api/realtime")
                response = conn.getresponse()
                body = response.read()
                if response.status != 200 or not body.startswith(b'{"systems":'):
                    raise IOError("bad answer %d" % response.status)
                mine.append(time.perf_counter() - t0)
            except (IOError, OSError, http.client.HTTPException):
                with lock:
                    errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, daemon=True) for dummy in range(count)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + seconds
    start_gate.set()
    for thread in threads:
        thread.join(seconds + 30)
    return latencies, errors[0]


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000.0


def received(health_url):
    return get_json(health_url)["received"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--rate", type=int, default=GX * 100, help="messages per second from the 10 GX together")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1,
                        help="the CPU the collector runs on (-1: no pinning); the load runs on the others")
    args = parser.parse_args()
    cpu = None if args.cpu < 0 else args.cpu
    if cpu is not None and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, set(range(os.cpu_count())) - {cpu})
    workdir = tempfile.mkdtemp(prefix="ovr-bench-realtime-")
    broker = lab.Broker(os.path.join(workdir, "mosquitto"))
    os.makedirs(os.path.join(workdir, "vm"))
    vm = lab.VictoriaMetrics(os.path.join(workdir, "vm"))
    systems = os.path.join(workdir, "gx_systems.json")
    with open(systems, "w") as handle:
        json.dump({"systems": [{"portal_id": p, "target": "bench", "address": "127.0.0.1", "port": broker.port}
                               for p in portals()]}, handle)
    http_port = lab.free_port()
    env = dict(os.environ, PYTHONPATH=base.node_package_path(workdir))
    log = open(os.path.join(workdir, "collector.log"), "wb")
    proc = subprocess.Popen(base.pin(cpu) + [
        sys.executable, "-m", "ovr_node.collector", "--env-file", "", "--vm-url", vm.url, "--systems-file", systems,
        "--spool-dir", os.path.join(workdir, "spool"), "--listen", "127.0.0.1:%d" % http_port,
        "--labels", "site=bench,node=n1"], stdout=log, stderr=log, env=env)
    health = "http://127.0.0.1:%d/healthz" % http_port
    publisher = None
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if get_json(health)["brokers"].get("127.0.0.1:%d" % broker.port):
                    break
            except OSError:
                pass
            time.sleep(0.1)
        time.sleep(0.5)
        publisher = PacedPublisher(broker.port, args.rate)
        publisher.start()
        time.sleep(2.0)   # warm up: every series seen once

        # reference: ingest alone, one sequential client
        n0, s0, t0 = received(health), publisher.sent, time.monotonic()
        ref_lat, ref_err = clients(http_port, 1, args.seconds)
        n1, s1, t1 = received(health), publisher.sent, time.monotonic()
        ref_rate, ref_offered = (n1 - n0) / (t1 - t0), (s1 - s0) / (t1 - t0)

        # loaded: 100 concurrent clients
        n2, s2, t2 = received(health), publisher.sent, time.monotonic()
        lat, err = clients(http_port, args.clients, args.seconds)
        n3, s3, t3 = received(health), publisher.sent, time.monotonic()
        rate, offered = (n3 - n2) / (t3 - t2), (s3 - s2) / (t3 - t2)
        publisher.stopping.set()
        publisher.join(5)
        time.sleep(2)
        h = get_json(health)
        doc = get_json("http://127.0.0.1:%d/api/realtime" % http_port)
        live = sum(1 for s in doc["systems"] if s["soc"] is not None)

        print("realtime benchmark: %d GX, %d msg/s offered, %.0f s per phase, collector on CPU %s" % (
            GX, args.rate, args.seconds, cpu if cpu is not None else "any"))
        print("| phase | /api/realtime clients | answers/s | p50 ms | p95 ms | p99 ms | max ms | errors "
              "| collector receive rate (msg/s) | offered (msg/s) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for name, clients_n, values, errors, got, sent in (
                ("reference (ingest alone, one client)", 1, ref_lat, ref_err, ref_rate, ref_offered),
                ("loaded", args.clients, lat, err, rate, offered)):
            print("| %s | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %d | %.0f | %.0f |" % (
                name, clients_n, len(values) / args.seconds, pct(values, 0.5), pct(values, 0.95), pct(values, 0.99),
                max(values) * 1000.0 if values else float("nan"), errors, got, sent))
        drop = 100.0 * (1 - rate / ref_rate) if ref_rate else float("nan")
        print("collector receive rate under load: %.1f %% %s the reference (goal: a drop of at most 10 %%)" % (
            abs(drop), "below" if drop > 0 else "above"))
        print("collector after the run: received=%d written=%d dropped=%d lag=%.2fs; %d of %d GX with live values"
              % (h["received"], h["written"], h["dropped"], h["lag_seconds"], live, len(doc["systems"])))
    finally:
        if publisher is not None:
            publisher.stopping.set()
        base.stop_collector(proc, log)
        vm.close()
        broker.stop()


if __name__ == "__main__":
    main()
