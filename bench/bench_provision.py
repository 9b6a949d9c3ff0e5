"""Provisioning benchmark: the lab site from scratch, then again (prints figures, not pass/fail).

    python3 bench/bench_provision.py            # tears the lab down first: ~10 min in all

Runs `./fleet lab down`, then `./fleet lab` twice, and prints for each run the wall time of the
whole command, of its site playbook stage, and the changed count per node from the site
playbook's PLAY RECAP. Goals (issue 4): from scratch <= 6 min; again <= 60 s with 0 changed.
"""
import os
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMING = re.compile(r"^TIMING (?P<stage>.+?)\s+(?P<secs>\d+)s\s+(?P<state>.+)$")
RECAP = re.compile(r"^(?P<host>\S+)\s+: ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)")


def run_lab(*args):
    started = time.monotonic()
    proc = subprocess.run([os.path.join(REPO, "fleet"), "lab"] + list(args), cwd=REPO, capture_output=True,
                          text=True, timeout=3600, check=False)
    wall = time.monotonic() - started
    stages = {m.group("stage").strip(): int(m.group("secs")) for m in map(TIMING.match, proc.stderr.splitlines()) if m}
    recap = {}
    log = os.path.join(REPO, ".cache", "site-playbook.log")
    if os.path.exists(log):
        with open(log, encoding="utf-8") as handle:
            for line in handle:
                match = RECAP.match(line)
                if match:
                    recap[match.group("host")] = int(match.group("changed"))
    return proc.returncode, wall, stages, recap, proc.stdout[-3000:] + proc.stderr[-3000:]


def main():
    down = subprocess.run([os.path.join(REPO, "fleet"), "lab", "down"], cwd=REPO, capture_output=True, text=True,
                          timeout=600, check=False)
    if down.returncode != 0:
        print(down.stdout[-2000:], down.stderr[-2000:])
        return 1
    rows = []
    for name, goal in (("from scratch", 360), ("again", 60)):
        rc, wall, stages, recap, tail = run_lab()
        if rc != 0:
            print("lab run %r failed:\n%s" % (name, tail))
            return 1
        site = stages.get("site playbook", 0)
        nodes = {h: c for h, c in recap.items() if h != "localhost"}
        rows.append((name, wall, site, sum(nodes.values()), nodes, goal))
    print("\nprovisioning the lab site (%s)" % ", ".join(sorted(rows[0][4])))
    print("%-14s %10s %15s %9s  %s" % ("run", "wall (s)", "site play (s)", "changed", "goal"))
    for name, wall, site, changed, nodes, goal in rows:
        print("%-14s %10.0f %15d %9d  site play <= %d s%s: %s" % (
            name, wall, site, changed, goal, " and 0 changed" if name == "again" else "",
            "met" if site <= goal and (name != "again" or changed == 0) else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
