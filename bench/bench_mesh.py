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

Prints figures; not a pass/fail test.

    .venv/bin/python bench/bench_mesh.py [--requests 200]
"""

import argparse
import json
import statistics
import subprocess
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
    print("babeld convergence after the A-B link is cut (default hello interval 4 s), times since the cut:")
    print("  A's route to C through D after %s; then C answers a ping on the underlay at %s, over Nebula at %s; "
          "A's peer query to C through A's nginx answers at %s" % (fmt(moved), fmt(underlay), fmt(overlay), fmt(query)))
    print("  link restored: the route is back through B after %s" % fmt(back))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    ensure_series()
    latency(args.requests)
    convergence()


if __name__ == "__main__":
    main()
