# -*- coding: utf-8 -*-
"""Benchmark: GX discovery of 100 targets (80 dead in mixed ways, 20 live simulators), timeout 2 s.

Compares, in the same run, ovr.fleet's concurrent discovery engine with sequential
references: the same engine one target at a time, and (when mosquitto_sub is
installed) a shell-style loop of ``getent hosts`` + ``mosquitto_sub -W``.
Prints figures; not a pass/fail test. Loopback only.

    PYTHONPATH=.collections .venv/bin/python bench/bench_discovery.py [--skip-shell] [--live 20] [--dead 80]
"""

import argparse
import collections
import getpass
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "support"))
from loopback import free_port, load_gxsim, stop_process, unresolvable, wait_port  # noqa: E402  pylint: disable=wrong-import-position

try:
    from ansible_collections.ovr.fleet.plugins.module_utils import gx
except ImportError:  # run without PYTHONPATH: use the repo's .collections link
    sys.path.insert(0, os.path.join(REPO, ".collections"))
    from ansible_collections.ovr.fleet.plugins.module_utils import gx


class Lab(object):
    """Mosquitto brokers, simulators and dead endpoints on loopback; close() undoes everything."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="ovr-bench-")
        self.procs, self.sims, self.sockets = [], [], []
        self.gxsim = load_gxsim()
        self.mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

    def broker(self):
        port = free_port()
        conf = os.path.join(self.tmp, "m%d.conf" % port)
        with open(conf, "w") as handle:
            handle.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nuser %s\n"
                         "max_queued_messages 100000\n" % (port, getpass.getuser()))
        self.procs.append(subprocess.Popen([self.mosquitto, "-c", conf], stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))
        if not wait_port(port):
            raise RuntimeError("mosquitto did not start on %d" % port)
        return port

    def sim(self, port, portal_id, **kwargs):
        sim = self.gxsim.GxSimulator(portal_id=portal_id, broker="127.0.0.1:%d" % port, **kwargs).start()
        self.sims.append(sim)
        return sim

    def silent(self):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self.sockets.append(sock)
        return sock.getsockname()[1]

    def close(self):
        for sim in self.sims:
            sim.stop()
        for sock in self.sockets:
            sock.close()
        for proc in self.procs:
            stop_process(proc)
        shutil.rmtree(self.tmp, ignore_errors=True)


def shell_loop(targets, timeout):
    """What a shell loop does: getent hosts, then mosquitto_sub -W <timeout> -C 1 per target."""
    found = 0
    for target in targets:
        host, port = gx.parse_target(target)
        try:
            socket.inet_aton(host)
            address = host
        except OSError:
            res = subprocess.run(["getent", "hosts", host], capture_output=True, text=True, timeout=30, check=False)
            if res.returncode != 0:
                continue
            address = res.stdout.split()[0]
        res = subprocess.run(["mosquitto_sub", "-h", address, "-p", str(port), "-t", "N/+/system/0/Serial",
                              "-C", "1", "-W", str(int(timeout)), "-v"], capture_output=True, text=True,
                             timeout=timeout + 30, check=False)
        found += res.returncode == 0 and "/system/0/Serial" in res.stdout
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--live", type=int, default=20)
    parser.add_argument("--dead", type=int, default=80)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--skip-shell", action="store_true", help="skip the getent + mosquitto_sub loop")
    parser.add_argument("--skip-sequential", action="store_true", help="skip every sequential reference")
    args = parser.parse_args()

    lab = Lab()
    try:
        t0 = time.monotonic()
        live = []
        for i in range(args.live):
            port = lab.broker()
            lab.sim(port, "benchgx%04d" % i)
            live.append("127.0.0.1:%d" % port)
        dead = []
        for i in range(args.dead):
            kind = i % 3
            if kind == 0:
                dead.append(unresolvable("gx-%d" % i))
            elif kind == 1:
                dead.append("127.0.0.1:%d" % free_port())       # closed port
            else:
                dead.append("127.0.0.1:%d" % lab.silent())      # accepts, says nothing
        targets = []
        for i in range(max(len(live), len(dead))):  # interleave live and dead
            targets.extend(dead[i * len(dead) // max(1, len(live)):(i + 1) * len(dead) // max(1, len(live))]
                           if live else dead[i:i + 1])
            if i < len(live):
                targets.append(live[i])
        print("lab: %d brokers + simulators, %d dead targets, set up in %.1f s"
              % (len(live), len(dead), time.monotonic() - t0))

        rows = []
        start = time.monotonic()
        devices, unreachable = gx.discover(targets, timeout=args.timeout)
        concurrent = time.monotonic() - start
        reasons = collections.Counter(u["reason"] for u in unreachable)
        rows.append(("ovr.fleet gx.discover (concurrent)", concurrent, len(devices), reasons))

        if not args.skip_sequential:
            start = time.monotonic()
            seq_devices, seq_unreachable = [], []
            for target in targets:
                d, u = gx.discover([target], timeout=args.timeout)
                seq_devices += d
                seq_unreachable += u
            rows.append(("same engine, one target at a time", time.monotonic() - start, len(seq_devices),
                         collections.Counter(u["reason"] for u in seq_unreachable)))
            if not args.skip_shell and shutil.which("mosquitto_sub") and shutil.which("getent"):
                start = time.monotonic()
                found = shell_loop(targets, args.timeout)
                rows.append(("shell loop: getent + mosquitto_sub -W", time.monotonic() - start, found, None))

        print()
        print("discovery of %d targets (%d live, %d dead), timeout %.1f s"
              % (len(targets), len(live), len(dead), args.timeout))
        print("%-40s %9s %8s %9s  %s" % ("method", "wall (s)", "devices", "speedup", "unreachable by reason"))
        for name, wall, found, why in rows:
            detail = ", ".join("%s=%d" % kv for kv in sorted(why.items())) if why is not None else "-"
            print("%-40s %9.2f %8d %8.1fx  %s" % (name, wall, found, wall / concurrent, detail))
        print()
        goal_time = concurrent <= 3.0
        goal_speed = len(rows) > 1 and min(r[1] for r in rows[1:]) / concurrent >= 10
        print("goal: concurrent <= 3 s: %s; >= 10x faster than sequential: %s"
              % ("met" if goal_time else "MISSED", ("met" if goal_speed else "MISSED") if len(rows) > 1 else "n/a"))
    finally:
        lab.close()


if __name__ == "__main__":
    main()
