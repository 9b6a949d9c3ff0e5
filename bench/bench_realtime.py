# -*- coding: utf-8 -*-
"""Benchmark: /api/realtime and /api/realtime/stream (the collector's live values, ovr_node.realtime)
under load, while the collector ingests at the rate of 10 GX devices.

A raw-socket publisher sends value messages for 10 GX portals into a loopback Mosquitto at a paced
rate (--rate, default 10 x 100 msg/s: a busy GX with suppress-republish publishes well under 100
changed values a second), the system service paths /api/realtime reads among them. The collector
writes to a real VictoriaMetrics. Measured in the same run, one phase after the other:

* reference: ingest alone for --seconds; the collector's receive rate; /api/realtime latency of
  one client asking in a loop (sequential);
* loaded: the same ingest, and 100 concurrent clients asking /api/realtime in a loop (keep-alive
  connections, each waiting for its answer before the next request) for --seconds: latency
  percentiles, answers per second, and the collector's receive rate beside the reference's;
* stream: one subscriber of /api/realtime/stream (the reference), then 100: a marker GX (not part
  of the paced load) publishes a new SoC every 0.5 s; the delay from its publish until each
  subscriber has the event carrying it, and whether every subscriber got every marker.

The clients are one selector loop each phase (non-blocking sockets, no thread per client), so what
is measured is the server, not a hundred client threads taking turns at the bench's own GIL. At
the end the collector must have received every message sent (none dropped at ingest), and its
CPU time per phase is shown.

The collector runs on one CPU, the publisher and the HTTP clients on the other (2 cores here).
Prints figures; not a pass/fail test (goals: p99 <= 50 ms at 100 clients, the receive rate drops by
no more than 10 %, nothing dropped at ingest).

    PYTHONPATH=.collections .venv/bin/python bench/bench_realtime.py [--rate 1000] [--seconds 15]
"""

import argparse
import atexit
import http.client
import json
import os
import shutil
import selectors
import socket
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


MARKER = "benchrtmarker"


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


class Markers(object):
    """A GX of its own (not in the paced load): SoC 1000 + k, k = 1, 2, ... every ``every`` s."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(base.encode_connect("bench-rt-marker", keepalive=60))
        self.sock.recv(4)
        self.sent = {}   # k -> time.monotonic() of its publish

    def send(self, k):
        packet = base.encode_publish("N/%s/system/0/Dc/Battery/Soc" % MARKER, json.dumps({"value": 1000 + k}).encode())
        self.sent[k] = time.monotonic()
        self.sock.sendall(packet)

    def close(self):
        self.sock.sendall(b"\xe0\x00")
        self.sock.close()


def poll_clients(port, count, seconds):
    """``count`` keep-alive connections asking /api/realtime in a loop for ``seconds``, driven by
    one selector loop: latencies (s) and errors."""
    request = b"GET /api/realtime HTTP/1.1\r\nHost: bench\r\n\r\n"
    sel = selectors.DefaultSelector()
    latencies, errors = [], 0
    states = []
    for dummy in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        states.append({"sock": sock, "buf": b"", "t0": 0.0})
    stop_at = time.monotonic() + seconds
    for state in states:
        state["t0"] = time.perf_counter()
        state["sock"].send(request)
        sel.register(state["sock"], selectors.EVENT_READ, state)
    while time.monotonic() < stop_at:
        for key, dummy in sel.select(0.5):
            state = key.data
            try:
                data = state["sock"].recv(65536)
            except BlockingIOError:
                continue
            if not data:
                errors += 1
                sel.unregister(state["sock"])
                continue
            buf = state["buf"] + data
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                state["buf"] = buf
                continue
            head = buf[:end]
            length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            if len(buf) < end + 4 + length:
                state["buf"] = buf
                continue
            now = time.perf_counter()
            if head.startswith(b"HTTP/1.1 200") and buf[end + 4:end + 15] == b'{"systems":':
                latencies.append(now - state["t0"])
            else:
                errors += 1
            state["buf"] = buf[end + 4 + length:]
            state["t0"] = now
            state["sock"].send(request)
    for state in states:
        state["sock"].close()
    sel.close()
    return latencies, errors


def stream_clients(port, count, seconds, markers, every=0.5):
    """``count`` subscribers of /api/realtime/stream in one selector loop for ``seconds``, a marker
    published every ``every`` s: the delays (s) from each marker's publish to each subscriber's
    event carrying it, the markers a subscriber never got, and the events received."""
    sel = selectors.DefaultSelector()
    subs = []
    for dummy in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET /api/realtime/stream HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
        sock.setblocking(False)
        sub = {"sock": sock, "tail": b"", "seen": {}, "events": 0}
        subs.append(sub)
        sel.register(sock, selectors.EVENT_READ, sub)
    time.sleep(0.5)   # every subscriber connected and sent the current document
    first = max(markers.sent or {0: 0}) + 1
    k = first
    next_marker = time.monotonic()
    stop_at = time.monotonic() + seconds
    last = None
    while time.monotonic() < stop_at + 1.0:   # a second more for the last marker to arrive
        now = time.monotonic()
        if now >= next_marker and now < stop_at:
            markers.send(k)
            last = k
            k += 1
            next_marker += every
        for key, dummy in sel.select(0.01):
            sub = key.data
            try:
                data = sub["sock"].recv(262144)
            except BlockingIOError:
                continue
            seen_at = time.monotonic()
            if not data:
                sel.unregister(sub["sock"])
                continue
            text = sub["tail"] + data
            sub["events"] += data.count(b"\n\ndata: ") + data.startswith(b"data: ")
            for m in range(max(first, (last or first) - 3), (last or first - 1) + 1):
                if m not in sub["seen"] and (b'"soc":%d.0' % (1000 + m)) in text:
                    sub["seen"][m] = seen_at
            sub["tail"] = text[-64:]
    for sub in subs:
        sub["sock"].close()
    sel.close()
    delays, missing = [], 0
    for m in range(first, (last or first - 1) + 1):
        for sub in subs:
            if m in sub["seen"]:
                delays.append(sub["seen"][m] - markers.sent[m])
            else:
                missing += 1
    return delays, missing, sum(s["events"] for s in subs), (last or first - 1) - first + 1


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def clients(port, count, seconds):
    """``count`` threads asking /api/realtime in a loop for ``seconds`` (http.client, a thread per
    client; --client-threads): latencies (s) and errors."""
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
    parser.add_argument("--package", default=base.PACKAGE,
                        help="the folder holding the ovr_node to measure (default: this checkout's)")
    parser.add_argument("--client-threads", action="store_true",
                        help="poll with a thread per client (http.client), as this benchmark did before")
    parser.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1,
                        help="the CPU the collector runs on (-1: no pinning); the load runs on the others")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, the broker's and VictoriaMetrics' data)")
    args = parser.parse_args()
    cpu = None if args.cpu < 0 else args.cpu
    if cpu is not None and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, set(range(os.cpu_count())) - {cpu})
    workdir = tempfile.mkdtemp(prefix="ovr-bench-realtime-")
    if args.keep:
        print("work folder (kept): %s" % workdir)
    else:  # removed at exit, after the finally blocks have stopped what runs in it
        atexit.register(shutil.rmtree, workdir, True)
    broker = lab.Broker(os.path.join(workdir, "mosquitto"))
    os.makedirs(os.path.join(workdir, "vm"))
    vm = lab.VictoriaMetrics(os.path.join(workdir, "vm"))
    systems = os.path.join(workdir, "gx_systems.json")
    with open(systems, "w") as handle:
        json.dump({"systems": [{"portal_id": p, "target": "bench", "address": "127.0.0.1", "port": broker.port}
                               for p in portals() + [MARKER]]}, handle)
    http_port = lab.free_port()
    env = dict(os.environ, PYTHONPATH=args.package or base.node_package_path(workdir))
    log = open(os.path.join(workdir, "collector.log"), "wb")
    proc = subprocess.Popen(base.pin(cpu) + [
        sys.executable, "-m", "ovr_node.collector", "--env-file", "", "--vm-url", vm.url, "--systems-file", systems,
        "--spool-dir", os.path.join(workdir, "spool"), "--listen", "127.0.0.1:%d" % http_port,
        "--labels", "site=bench,node=n1"], stdout=log, stderr=log, env=env)
    health = "http://127.0.0.1:%d/healthz" % http_port
    publisher = None
    try:
        base.wait_subscribed(health, broker.port)
        markers = Markers(broker.port)
        publisher = PacedPublisher(broker.port, args.rate)
        publisher.start()
        time.sleep(2.0)   # warm up: every series seen once
        rows = []

        def phase(name, clients_n, run):
            n0, s0, c0, t0 = received(health), publisher.sent, cpu_seconds(proc.pid), time.monotonic()
            result = run()
            n1, s1, c1, t1 = received(health), publisher.sent, cpu_seconds(proc.pid), time.monotonic()
            rows.append((name, clients_n, result, (n1 - n0) / (t1 - t0), (s1 - s0) / (t1 - t0),
                         100.0 * (c1 - c0) / (t1 - t0)))
            return result

        poll = clients if args.client_threads else poll_clients
        phase("reference (ingest alone, one client)", 1, lambda: poll(http_port, 1, args.seconds))
        phase("loaded", args.clients, lambda: poll(http_port, args.clients, args.seconds))
        phase("stream, one subscriber (reference)", 1, lambda: stream_clients(http_port, 1, args.seconds, markers))
        phase("stream", args.clients, lambda: stream_clients(http_port, args.clients, args.seconds, markers))
        publisher.stopping.set()
        publisher.join(5)
        markers.close()
        sent = publisher.sent + len(markers.sent)
        deadline = time.monotonic() + 10
        while received(health) < sent and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        h = get_json(health)
        doc = get_json("http://127.0.0.1:%d/api/realtime" % http_port)
        live = sum(1 for s in doc["systems"] if s["soc"] is not None)

        print("realtime benchmark: %d GX, %d msg/s offered, %.0f s per phase, collector on CPU %s" % (
            GX, args.rate, args.seconds, cpu if cpu is not None else "any"))
        print("| phase | clients | answers/s | p50 ms | p95 ms | p99 ms | max ms | errors "
              "| collector receive rate (msg/s) | offered (msg/s) | collector CPU |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for name, clients_n, result, got, offered, cpu_pct in rows[:2]:
            values, errors = result
            print("| %s | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %d | %.0f | %.0f | %.0f %% |" % (
                name, clients_n, len(values) / args.seconds, pct(values, 0.5), pct(values, 0.95), pct(values, 0.99),
                max(values) * 1000.0 if values else float("nan"), errors, got, offered, cpu_pct))
        print("")
        print("| phase | subscribers | events/s (all) | markers | delivery p50 ms | p95 ms | p99 ms | max ms "
              "| missed | collector receive rate (msg/s) | offered (msg/s) | collector CPU |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for name, clients_n, result, got, offered, cpu_pct in rows[2:]:
            delays, missing, events, count = result
            print("| %s | %d | %.0f | %d | %.2f | %.2f | %.2f | %.2f | %d | %.0f | %.0f | %.0f %% |" % (
                name, clients_n, events / args.seconds, count, pct(delays, 0.5), pct(delays, 0.95), pct(delays, 0.99),
                max(delays) * 1000.0 if delays else float("nan"), missing, got, offered, cpu_pct))
        ref_rate = rows[0][3]
        for name, dummy, dummy2, rate, dummy3, dummy4 in rows[1:]:
            drop = 100.0 * (1 - rate / ref_rate) if ref_rate else float("nan")
            print("collector receive rate, %s: %.1f %% %s the reference (goal: a drop of at most 10 %%)" % (
                name, abs(drop), "below" if drop > 0 else "above"))
        print("ingest: %d messages sent, %d received: %d dropped (%.2f %%)" % (
            sent, h["received"], sent - h["received"], 100.0 * (sent - h["received"]) / sent))
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
