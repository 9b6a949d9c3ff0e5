# -*- coding: utf-8 -*-
"""Benchmark: the mesh transport on the multi-hop scenario (molecule/mesh), in one run.

Needs the scenario's nodes up and converged (`molecule converge -s mesh`): A and C run the edge
stack with edge_stack_peer_transport: overlay, every node the host firewall. Measured:

* the peer query path: latency of GET /api/peers/<C>/vm/api/v1/query?query=ovr_mesh_probe, made on
  A against A's own nginx, which proxies it to C's nginx and C's VictoriaMetrics, A-B-C over two
  babeld hops, over the LAN (underlay) and over Nebula, alternating request by request, the same
  number each; median, p90, max. The Nebula leg is the peer as the role rendered it (upstream C's
  10.231.9.3:8080). For the LAN leg the bench adds, for the length of the run, a second entry to
  A's peers.map, "mesh-c-lan" -> C's underlay 10.98.9.3:8080 (what edge_stack_peer_transport: lan
  renders for a peer whose ovr_peer_address is that address), reloads A's nginx (SIGHUP), and puts
  the file back as it was afterwards (byte for byte; nginx reloaded again). Same nginx, same URL
  shape, only the upstream differs. C's eth0, where that request arrives, is its site interface:
  the firewall lets it in.
* babeld convergence after the A-B link is cut (B's end of it goes down): how long until
  A's route to C moves to the backup A-D-C path, until C answers a ping on the underlay and over
  Nebula, and until A's peer query to C through A's nginx answers again; then the link is restored
  and the time until the route is back through B.

With --failover, instead: the failover as a live view on the site sees it. A 10 Hz probe stream
from A to C (ICMP echo with sequence numbers, every 100 ms, C's kernel echoing), over Nebula (C's
10.231.9.3) and on the underlay (10.98.9.3) at once, runs inside A while the A-B link is cut and
restored, --trials times (default 5). The figure is the longest gap between consecutive answers of
the stream, per trial, across the cut and across the restore; p50 and max over the trials. Beside
it, measured in the same run: the longest gap of the same stream over a window as long as that
trial's cut window with no cut (the noise floor). With --hello-before S, the same trials again with
babeld's hello interval S seconds on every mesh interface of the four site nodes (babeld's own
default is 4): each node's /etc/babeld.conf rewritten and babeld restarted for the duration, then
the files put back byte for byte and babeld restarted again.

Prints figures; not a pass/fail test.

    .venv/bin/python bench/bench_mesh.py [--requests 200]
    .venv/bin/python bench/bench_mesh.py --failover [--trials 5] [--hello-before 4]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import threading
import time

C_UNDERLAY, C_OVERLAY, PORT = "10.98.9.3", "10.231.9.3", 8080
PROBE = "ovr_mesh_probe"
PEERS_MAP = "/etc/ovr/nginx.d/peers.map"
SNAT = "iptables -t nat %%s POSTROUTING -d %s/32 -p tcp --dport %d -j SNAT --to-source 10.98.9.1" % (C_UNDERLAY, PORT)
LEGS = (("LAN (underlay 10.98.9.3)", "mesh-c-lan"), ("Nebula (10.231.9.3)", "mesh-c"))

CLIENT = r"""
import json, sys, time, urllib.request
peers, n = sys.argv[1].split(","), int(sys.argv[2])
out = {p: [] for p in peers}
for i in range(n):
    for p in (peers if i % 2 == 0 else peers[::-1]):
        url = "http://127.0.0.1:%s/api/peers/%s/vm/api/v1/query?query=%s&step=1h" % (sys.argv[3], p, sys.argv[4])
        t0 = time.perf_counter()
        body = urllib.request.urlopen(url, timeout=5).read()
        out[p].append((time.perf_counter() - t0) * 1000)
        assert b'"node":"mesh-c"' in body, body
print(json.dumps(out))
"""
ONE_QUERY = ("python3 -c \"import urllib.request; b = urllib.request.urlopen("
             "'http://127.0.0.1:%d/api/peers/mesh-c/vm/api/v1/query?query=%s&step=1h', timeout=4)"
             ".read(); assert b'mesh-c' in b\"" % (PORT, PROBE))


def sh(node, script, check=True, timeout=300, stdin=None):
    proc = subprocess.run(["docker", "exec", "-i", node, "sh", "-c", script], capture_output=True, text=True,
                          timeout=timeout, check=False, input=stdin)
    if check and proc.returncode:
        raise SystemExit("%s: %s failed: %s%s" % (node, script, proc.stdout, proc.stderr))
    return proc


def wait(func, seconds=120, step=0.1):
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        if func():
            return time.monotonic() - t0
        time.sleep(step)
    return None


def route_dev(node, target):
    out = sh(node, "ip -4 route show %s proto babel" % target, check=False).stdout.split()
    return out[out.index("dev") + 1] if "dev" in out else None


def pings(node, target):
    return sh(node, "ping -n -q -c 1 -W 1 %s" % target, check=False).returncode == 0


def peer_query():
    return sh("mesh-a", ONE_QUERY, check=False, timeout=30).returncode == 0


def reload_nginx(node):
    sh(node, "docker kill -s HUP $(docker ps -q --filter label=com.docker.compose.project=ovr-edge "
             "--filter label=com.docker.compose.service=nginx) >/dev/null")
    time.sleep(1)


def ensure_series():
    """C's VictoriaMetrics holds ovr_mesh_probe{node="mesh-c"} (verify writes it; write it if absent)."""
    if peer_query():
        return
    line = json.dumps({"metric": {"__name__": PROBE, "node": "mesh-c"}, "values": [42],
                       "timestamps": [int(time.time() * 1000) - 60000]})
    sh("mesh-c", "python3 -c \"import sys, urllib.request; urllib.request.urlopen(urllib.request.Request("
                 "'http://127.0.0.1:8428/api/v1/import', data=sys.argv[1].encode()), timeout=10); "
                 "urllib.request.urlopen('http://127.0.0.1:8428/internal/force_flush', timeout=10)\" '%s'" % line)
    if wait(peer_query, 60, 1) is None:
        raise SystemExit("A's peer query to C does not answer with C's series: is the scenario converged?")


def latency(requests):
    if route_dev("mesh-a", C_UNDERLAY) != "eth0":
        raise SystemExit("A's route to C is not through B (eth0): is the A-B link up and converged?")
    original = sh("mesh-a", "cat %s" % PEERS_MAP).stdout
    if '"mesh-c" "%s:%d";' % (C_OVERLAY, PORT) not in original:
        raise SystemExit("A's peers.map does not send mesh-c to %s:%d (edge_stack_peer_transport: overlay?)"
                         % (C_OVERLAY, PORT))
    lan = original.replace("    default \"\";\n", "    default \"\";\n    \"mesh-c-lan\" \"%s:%d\";\n"
                           % (C_UNDERLAY, PORT), 1)
    sh("mesh-a", "cat > %s" % PEERS_MAP, stdin=lan)
    # The LAN leg needs a source C can answer: Docker masquerades the nginx container's request to the
    # address of A's egress link (172.x of the A-B network), which babeld does not announce (only the
    # nodes' own /32s), so C's answer would never find its way back. For the length of the run, A
    # takes its own announced address 10.98.9.1 as the source towards C's underlay address.
    sh("mesh-a", SNAT % "-I")
    try:
        reload_nginx("mesh-a")
        peers = ",".join(leg[1] for leg in LEGS)
        sh("mesh-a", "python3 - %s 5 %d %s" % (peers, PORT, PROBE), stdin=CLIENT)  # warm-up: tunnel, ARP
        out = json.loads(sh("mesh-a", "python3 - %s %d %d %s" % (peers, requests, PORT, PROBE), stdin=CLIENT).stdout)
    finally:
        sh("mesh-a", "cat > %s" % PEERS_MAP, stdin=original)
        reload_nginx("mesh-a")
        sh("mesh-a", SNAT % "-D")
    assert sh("mesh-a", "cat %s" % PEERS_MAP).stdout == original
    print("GET /api/peers/<C>/vm/api/v1/query on A's nginx -> C's nginx -> C's VictoriaMetrics, A-B-C "
          "(2 babeld hops), %d requests each, alternating:" % requests)
    medians = {}
    for name, peer in LEGS:
        times = sorted(out[peer])
        medians[peer] = statistics.median(times)
        print("  %-26s median %6.2f ms  p90 %6.2f ms  max %6.2f ms" % (
            name, medians[peer], times[int(len(times) * 0.9) - 1], times[-1]))
    print("  Nebula's cost on the peer query: %+.2f ms at the median" % (medians["mesh-c"] - medians["mesh-c-lan"]))


def fmt(value):
    return "never" if value is None else "%.1f s" % value


def a_b_link(state):
    """B's end of the A-B link (its eth0) down or up: to A, a radio that dies (A keeps its carrier,
    B's hellos stop). Not `docker network disconnect`: Docker would connect B back on a new
    interface (eth2), which babeld is not configured for."""
    sh("mesh-b", "ip link set eth0 %s" % state)


def convergence():
    if route_dev("mesh-a", C_UNDERLAY) != "eth0":
        raise SystemExit("A's route to C is not through B (eth0): is the A-B link up and converged?")
    a_b_link("down")
    t0 = time.monotonic()

    def since_cut(func):
        return None if wait(func) is None else time.monotonic() - t0
    try:
        moved = since_cut(lambda: route_dev("mesh-a", C_UNDERLAY) == "eth1")
        underlay = since_cut(lambda: pings("mesh-a", C_UNDERLAY))
        overlay = since_cut(lambda: pings("mesh-a", C_OVERLAY))
        query = since_cut(peer_query)
    finally:
        a_b_link("up")
    back = wait(lambda: route_dev("mesh-a", C_UNDERLAY) == "eth0", 180)
    print("babeld convergence after the A-B link is cut (hello interval on A's links: %s s), times since the cut:"
          % "/".join(babel_hellos("mesh-a")))
    print("  A's route to C through D after %s; then C answers a ping on the underlay at %s, over Nebula at %s; "
          "A's peer query to C through A's nginx answers at %s" % (fmt(moved), fmt(underlay), fmt(overlay), fmt(query)))
    print("  link restored: the route is back through B after %s" % fmt(back))


# ---- --failover: a 10 Hz probe stream across link cuts ------------------------------------------
A_UNDERLAY = "10.98.9.1"
SITE_NODES = ("mesh-a", "mesh-b", "mesh-c", "mesh-d")
STREAMS = (("Nebula", C_OVERLAY), ("underlay", C_UNDERLAY))
INTERVAL = 0.1    # the probe stream: one echo request per target every 100 ms
HOLD = 2.0        # a stream has recovered when it has answered without a break for this long
SETTLE = 3.0      # after the route is back through B, how long the restore window goes on
CUT_BOUND, RESTORE_BOUND = 90, 150  # seconds: a phase that takes longer is reported as never
# Runs inside A: ICMP echo requests to each target every INTERVAL seconds (same identifier, the
# sequence number counting the ticks), C's kernel answering. Prints each answer as it arrives
# ("R <from> <seq> <CLOCK_MONOTONIC>"; containers share the host's monotonic clock). Stops when its
# stdin closes, or after the time limit given.
PROBER = r"""
import os, select, socket, struct, sys, threading, time
targets, interval, limit = sys.argv[1].split(","), float(sys.argv[2]), float(sys.argv[3])
ident = os.getpid() & 0xFFFF
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()

def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF

def request(seq):
    body = struct.pack("!d", time.monotonic())
    return struct.pack("!BBHHH", 8, 0, checksum(struct.pack("!BBHHH", 8, 0, 0, ident, seq) + body), ident, seq) + body

t0, seq = time.monotonic(), 0
print("START %.6f" % t0, flush=True)
while not done.is_set() and time.monotonic() - t0 < limit:
    due = t0 + seq * interval
    while True:
        wait = due - time.monotonic()
        if wait <= 0:
            break
        if select.select([sock], [], [], wait)[0]:
            data, (addr, _) = sock.recvfrom(2048)
            now, ihl = time.monotonic(), (data[0] & 0x0F) * 4
            kind, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if kind == 0 and rid == ident and addr in targets:
                print("R %s %d %.6f" % (addr, rseq, now), flush=True)
    for target in targets:
        try:
            sock.sendto(request(seq & 0xFFFF), (target, 0))
        except OSError as exc:  # no route for a moment: the tick is lost, the stream goes on
            print("X %s %d %s" % (target, seq, exc.errno), flush=True)
    seq += 1
print("END %d" % seq, flush=True)
"""


class Stream:
    """The probe stream running in A; its answers are collected (monotonic times) as they arrive."""

    def __init__(self, limit):
        self.answers = {target: [] for dummy, target in STREAMS}
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            ["docker", "exec", "-i", "mesh-a", "python3", "-c", PROBER, ",".join(self.answers), str(INTERVAL),
             str(limit)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            parts = line.split()
            if parts and parts[0] == "R" and parts[1] in self.answers:
                with self.lock:
                    self.answers[parts[1]].append(float(parts[3]))

    def times(self, target, start, end):
        with self.lock:
            return [t for t in self.answers[target] if start <= t <= end]

    def steady(self, now=None):
        """Every target answered without a break for the last HOLD seconds."""
        now = time.monotonic() if now is None else now
        for target in self.answers:
            times = self.times(target, now - HOLD - 0.3, now + 1)
            if not times or times[-1] < now - 0.5 or times[0] > now - HOLD + 0.2:
                return False
            if any(b - a > 0.5 for a, b in zip(times, times[1:])):
                return False
        return True

    def longest_gap(self, target, start, end):
        """The longest time in [start, end] without an answer from target."""
        times = [start] + self.times(target, start, end) + [end]
        return max(b - a for a, b in zip(times, times[1:]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.reader.join(5)


def routed_through_b():
    return route_dev("mesh-a", C_UNDERLAY) == "eth0" and route_dev("mesh-c", A_UNDERLAY) == "eth0"


def one_trial(number):
    """Cut the A-B link under the running stream, wait until the stream is steady again over A-D-C,
    restore it, wait until the route is back through B and the stream steady; then a window as
    long as the cut window with no cut, the noise floor. The longest gap of each window."""
    if wait(routed_through_b, 120, 1) is None:
        raise SystemExit("A's route to C (and C's to A) is not through B after 120 s: is the A-B link up?")
    stream = Stream(CUT_BOUND + RESTORE_BOUND + CUT_BOUND + 120)
    out = {"trial": number}
    try:
        if wait(stream.steady, 60, 0.2) is None:
            raise SystemExit("the probe stream from A to C does not answer steadily: is the scenario converged?")
        cut = time.monotonic()
        a_b_link("down")
        try:
            moved = wait(lambda: route_dev("mesh-a", C_UNDERLAY) == "eth1", CUT_BOUND, 0.2)
            steady = moved is not None and wait(stream.steady, CUT_BOUND - (time.monotonic() - cut), 0.2) is not None
            cut_end = time.monotonic()
        finally:
            restore = time.monotonic()
            a_b_link("up")
        out["moved"] = moved
        out["cut"] = {t: (stream.longest_gap(t, cut - 0.5, cut_end) if steady else None) for dummy, t in STREAMS}
        back = wait(routed_through_b, RESTORE_BOUND, 0.2)
        if back is None:
            raise SystemExit("the route did not come back through B within %d s of the restore" % RESTORE_BOUND)
        time.sleep(SETTLE)
        steady = wait(stream.steady, 60, 0.2) is not None
        restore_end = time.monotonic()
        out["back"] = back
        out["restore"] = {t: (stream.longest_gap(t, restore - 0.5, restore_end) if steady else None)
                          for dummy, t in STREAMS}
        # The reference: the same stream, a window as long as this trial's cut window, no cut.
        length = cut_end - cut + 0.5
        quiet = time.monotonic()
        time.sleep(length)
        out["window"] = length
        out["reference"] = {t: stream.longest_gap(t, quiet, quiet + length) for dummy, t in STREAMS}
    finally:
        stream.stop()
    print("  trial %d: route via D after %s; longest gap at the cut: Nebula %s, underlay %s | restore: route back "
          "after %s, gap Nebula %s, underlay %s | no-cut reference (%.1f s window): Nebula %s, underlay %s" % (
              number, fmt(out["moved"]), gap(out["cut"][C_OVERLAY]), gap(out["cut"][C_UNDERLAY]), fmt(out["back"]),
              gap(out["restore"][C_OVERLAY]), gap(out["restore"][C_UNDERLAY]), out["window"],
              gap(out["reference"][C_OVERLAY]), gap(out["reference"][C_UNDERLAY])), flush=True)
    return out


def gap(seconds):
    return "never" if seconds is None else "%.2f s" % seconds


def summary(results):
    def stats(phase, target):
        values = [r[phase][target] for r in results]
        if any(v is None for v in values):
            return "never steady in %d of %d" % (sum(v is None for v in values), len(values))
        return "p50 %5.2f s  max %5.2f s" % (statistics.median(values), max(values))
    for phase, label in (("cut", "cut (A-B down)"), ("restore", "restore (A-B up)"), ("reference", "no-cut reference")):
        print("  %-18s " % label + "   ".join("%s: %s" % (name, stats(phase, target)) for name, target in STREAMS))


def babel_hellos(node):
    return sorted(set(re.findall(r"hello-interval (\S+)", sh(node, "cat /etc/babeld.conf").stdout)))


def failover(trials, label):
    print("Failover, %s: a 10 Hz ICMP echo stream A -> C over Nebula (%s) and the underlay (%s), the A-B link cut "
          "and restored %d times (load average %s):" % (label, C_OVERLAY, C_UNDERLAY, trials, "%.2f %.2f %.2f" % os.getloadavg()), flush=True)
    results = [one_trial(n + 1) for n in range(trials)]
    print("Over %d trials (load average now %s):" % (trials, "%.2f %.2f %.2f" % os.getloadavg()))
    summary(results)
    return results


def with_hello_interval(seconds, trials):
    """The same trials with babeld's hello interval `seconds` on every mesh interface of the site's
    nodes: /etc/babeld.conf rewritten and babeld restarted on each, then put back byte for byte."""
    originals = {node: sh(node, "cat /etc/babeld.conf").stdout for node in SITE_NODES}
    try:
        for node, text in originals.items():
            sh(node, "cat > /etc/babeld.conf", stdin=re.sub(r"hello-interval \S+", "hello-interval %g" % seconds, text))
        for node in SITE_NODES:
            sh(node, "systemctl restart babeld")
        failover(trials, "babeld hello interval %g s on every mesh link (put back afterwards)" % seconds)
    finally:
        for node, text in originals.items():
            sh(node, "cat > /etc/babeld.conf", stdin=text)
        for node in SITE_NODES:
            sh(node, "systemctl restart babeld")
        for node, text in originals.items():
            if sh(node, "cat /etc/babeld.conf").stdout != text:
                raise SystemExit("%s: /etc/babeld.conf was not put back as it was" % node)
        if wait(routed_through_b, 120, 1) is None:
            raise SystemExit("after babeld's config was put back, the route A-C is not through B within 120 s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--failover", action="store_true",
                        help="only the failover: a 10 Hz probe stream across --trials cuts of the A-B link")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--hello-before", type=float, default=None, metavar="S",
                        help="with --failover: the same trials again with babeld's hello interval S s (babeld's "
                             "default: 4), every site node's babeld.conf put back afterwards")
    args = parser.parse_args()
    if args.hello_before is not None and not (args.failover and 0 < args.hello_before <= 600):
        parser.error("--hello-before goes with --failover and takes 0 < S <= 600 seconds")
    if args.trials < 1:
        parser.error("--trials must be 1 or more")
    if args.failover:
        print("babeld's hello interval on the mesh links as converged: %s" % ", ".join(
            "%s %s" % (node, "/".join(babel_hellos(node))) for node in SITE_NODES))
        failover(args.trials, "as converged")
        if args.hello_before:
            with_hello_interval(args.hello_before, args.trials)
        return
    ensure_series()
    latency(args.requests)
    convergence()


if __name__ == "__main__":
    main()
