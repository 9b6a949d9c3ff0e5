# -*- coding: utf-8 -*-
"""Benchmark: keepalive to 100 GX devices (simulators on 20 loopback brokers).

Measures ovr.fleet's concurrent keepalive (one connection per broker, QoS 1, waits for every
PUBACK), the time until every simulator has seen its keepalive, and, in the same run, a
sequential reference (one device after another, one connection each). Prints figures; not
a pass/fail test. Loopback only.

    PYTHONPATH=.collections .venv/bin/python bench/bench_keepalive.py [--devices 100] [--brokers 20]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_discovery import Lab, gx  # noqa: E402  pylint: disable=wrong-import-position


def wait_all(sims, key, count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(s.stats[key] >= count for s in sims):
            return time.monotonic()
        time.sleep(0.002)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--brokers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    lab = Lab()
    try:
        t0 = time.monotonic()
        ports = [lab.broker() for dummy in range(args.brokers)]
        devices = []
        for i in range(args.devices):
            port = ports[i % len(ports)]
            sim = lab.sim(port, "kagx%04d" % i, keepalive_window=60, heartbeat_interval=30, update_interval=30)
            devices.append({"target": "127.0.0.1:%d" % port, "address": "127.0.0.1", "port": port,
                            "portal_id": sim.portal_id})
        print("lab: %d simulators on %d brokers, set up in %.1f s"
              % (args.devices, args.brokers, time.monotonic() - t0))
        rows = []
        expected = 0
        for rnd in range(args.rounds):
            expected += 1
            start = time.monotonic()
            sent, failed = gx.keepalive(devices, mode="suppress", timeout=5)
            acked = time.monotonic() - start
            seen = wait_all(lab.sims, "keepalives", expected)
            rows.append(("concurrent, round %d" % (rnd + 1), acked, (seen - start) if seen else None,
                         len(sent), len(failed)))
        expected += 1
        start = time.monotonic()
        sent_total, failed_total = 0, 0
        for device in devices:
            sent, failed = gx.keepalive([device], mode="suppress", timeout=5)
            sent_total += len(sent)
            failed_total += len(failed)
        acked = time.monotonic() - start
        seen = wait_all(lab.sims, "keepalives", expected)
        rows.append(("sequential (one connection per device)", acked, (seen - start) if seen else None,
                     sent_total, failed_total))

        print()
        print("suppress-republish keepalive to %d devices on %d brokers" % (args.devices, args.brokers))
        print("%-40s %12s %14s %6s %7s" % ("method", "acked (s)", "all seen (s)", "sent", "failed"))
        for name, acked, seen, sent, failed in rows:
            seen_text = "%.3f" % seen if seen is not None else "timeout"
            print("%-40s %12.3f %14s %6d %7d" % (name, acked, seen_text, sent, failed))
        best = min(r[1] for r in rows[:-1])
        print()
        print("goal: 100 devices <= 1 s: %s (best concurrent %.3f s, %.1fx faster than sequential)"
              % ("met" if best <= 1.0 else "MISSED", best, rows[-1][1] / best))
        print("full republishes triggered: %d (suppress mode must trigger none)"
              % sum(s.stats["full_republishes"] for s in lab.sims))
    finally:
        lab.close()


if __name__ == "__main__":
    main()
