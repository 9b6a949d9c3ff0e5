# -*- coding: utf-8 -*-
"""Benchmark: the mesh transport on the multi-hop scenario (molecule/mesh), in one run.

Needs the scenario's nodes up and converged (`molecule converge -s mesh`). Measured:

* HTTP request latency from A to a stand-in peer proxy on C (python http.server on C's peer port,
  8080), A-B-C over two babeld hops: over the underlay (C's announced 10.98.9.3) and over Nebula
  (C's 10.231.9.3), alternating, the same number of requests each; median, p90, max;
* babeld convergence after the A-B link is cut (B disconnected from that network): how long until
  A's route to C moves to the backup A-D-C path, until C answers on the underlay, and until it
  answers over Nebula; then the link is restored and the time until the route is back through B.

This is not the nginx peer path (/api/peers/<id>/vm/...): the scenario runs no edge_stack. Prints
figures; not a pass/fail test.

    .venv/bin/python bench/bench_mesh.py [--requests 200]
"""

import argparse
import json
import statistics
import subprocess
import time

C_UNDERLAY, C_OVERLAY, PORT = "10.98.9.3", "10.231.9.3", 8080

CLIENT = r"""
import json, sys, time, urllib.request
targets, n = sys.argv[1].split(","), int(sys.argv[2])
out = {t: [] for t in targets}
for i in range(n):
    for t in (targets if i % 2 == 0 else targets[::-1]):
        t0 = time.perf_counter()
        urllib.request.urlopen("http://%s/id" % t, timeout=5).read()
        out[t].append((time.perf_counter() - t0) * 1000)
print(json.dumps(out))
"""


def sh(node, script, check=True, timeout=300):
    proc = subprocess.run(["docker", "exec", node, "sh", "-c", script], capture_output=True, text=True,
                          timeout=timeout, check=False)
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


def latency(requests):
    sh("mesh-c", "mkdir -p /srv/bench && echo mesh-c > /srv/bench/id && (systemctl is-active -q mesh-bench-http || "
                 "systemd-run --unit=mesh-bench-http python3 -m http.server %d --bind 0.0.0.0 --directory /srv/bench)"
                 % PORT)
    time.sleep(1)
    try:
        targets = "%s:%d,%s:%d" % (C_UNDERLAY, PORT, C_OVERLAY, PORT)
        sh("mesh-a", "python3 -c '%s' %s 5" % (CLIENT.replace("'", '"'), targets))  # warm-up: tunnel up, ARP
        out = json.loads(sh("mesh-a", "python3 -c '%s' %s %d" % (CLIENT.replace("'", '"'), targets, requests)).stdout)
    finally:
        sh("mesh-c", "systemctl stop mesh-bench-http", check=False)
    print("HTTP GET A -> C (2 babeld hops), %d requests each, alternating:" % requests)
    for name, target in (("underlay", C_UNDERLAY), ("nebula", C_OVERLAY)):
        times = sorted(out["%s:%d" % (target, PORT)])
        print("  %-9s median %6.2f ms  p90 %6.2f ms  max %6.2f ms" % (
            name, statistics.median(times), times[int(len(times) * 0.9) - 1], times[-1]))


def fmt(value):
    return "never" if value is None else "%.1f s" % value


def convergence():
    if route_dev("mesh-a", C_UNDERLAY) != "eth0":
        raise SystemExit("A's route to C is not through B (eth0): is the A-B link up and converged?")
    subprocess.run(["docker", "network", "disconnect", "ovr-mol-mesh-ab", "mesh-b"], check=True)
    t0 = time.monotonic()
    try:
        moved = wait(lambda: route_dev("mesh-a", C_UNDERLAY) == "eth1")
        underlay = wait(lambda: pings("mesh-a", C_UNDERLAY))
        overlay = wait(lambda: pings("mesh-a", C_OVERLAY))
        total = time.monotonic() - t0
    finally:
        subprocess.run(["docker", "network", "connect", "ovr-mol-mesh-ab", "mesh-b"], check=True)
    back = wait(lambda: route_dev("mesh-a", C_UNDERLAY) == "eth0", 180)
    print("babeld convergence after the A-B link is cut (default hello interval 4 s):")
    print("  A's route to C through D after %s; C answers on the underlay after %s (cumulative), over "
          "Nebula after %s; all within %.1f s" % (fmt(moved), fmt(underlay), fmt(overlay), total))
    print("  link restored: the route is back through B after %s" % fmt(back))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    latency(args.requests)
    convergence()


if __name__ == "__main__":
    main()
