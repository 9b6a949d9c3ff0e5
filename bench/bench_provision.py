"""Provisioning benchmark: re-runs of the site playbook on 1, 2, 4, 8 lab nodes (figures, not pass/fail).

    ./fleet lab                                   # the lab up and provisioned first (3 edges + cloud)
    python3 bench/bench_provision.py              # re-runs on 1, 2 and 4 nodes (~5 min)
    ./fleet lab -e @bench/lab-8.yml               # a lab of 7 edges + cloud, for the 8-node point
    python3 bench/bench_provision.py --nodes 1,2,4,8
    python3 bench/bench_provision.py --scratch    # also: the lab torn down and provisioned from scratch
    python3 bench/bench_provision.py --connection ssh   # over SSH (ControlPersist), as a field run
    python3 bench/bench_provision.py --mitogen    # the same with Mitogen's strategy, beside the plain runs
    python3 bench/bench_provision.py --versus e0f8d2a --rounds 3   # this checkout against an earlier commit, paired

For each node count N, `playbooks/site.yml --limit <the first N fleet nodes>` runs against the running
lab (cloud first, then the edges), which it already provisioned: every run must change nothing. It
prints the wall time, the controller's CPU time (ansible-playbook and every process it started: the
connection's `docker exec` clients included), per node, and the changed count. The reference,
measured in the same run on the same nodes: `ansible -m ansible.builtin.ping`, one module round trip
to every node, so the site run also reads as "so many round trips per node".

First, the reference the site run is made of: on one edge node, what a skipped task, a task on the
controller only (set_fact) and a module run on the node (stat) each cost, from playbooks of 40 such
tasks less one without tasks (the start-up).
A straight line through the points (least squares) gives the per-node cost; the projection for a
fleet of 200 nodes assumes that the controller's CPU is what grows with the fleet (each node's own
work runs on the node, in parallel), on a 16-core controller and on an AWX job sliced over 4
execution nodes of 4 cores, and never less than one node's own run (the chain of its tasks) once
per group of --forks nodes (a task runs on at most that many hosts at once).
With --connection ssh the same runs go over SSH instead of `docker exec`, as from a laptop in the
field: the bench installs Debian's openssh-server in each lab node (once), authorises a key of its
own (in .cache/bench-ssh/) and writes an inventory beside the lab's that reaches each node at its
address on the network of its default route (ansible_ssh_host; ansible_host, which the roles read, stays the
lab's), with Ansible's default ControlPersist.
With --mitogen each node count runs twice, plain and with Mitogen's strategy (PyPI `mitogen`, pinned
below, installed by the bench into .cache/bench-mitogen, never into the collection's environment:
an optional accelerator, measured, not depended on), over the same connection (Mitogen's own
docker and SSH connections).
With --versus REF each site run is followed by the same run from a checkout of the commit REF (a
git worktree in .cache/bench-versus, removed afterwards) on the same nodes, --rounds times: the
ratio of each pair (this checkout / REF) is taken pair by pair and its median printed, so that a
machine whose speed drifts during the bench still compares the two codes fairly. Both must change
nothing on the lab as it is.
Goals (issue 19): a re-run <= 30 s wall with 0 changed and <= 2 s of controller CPU per node on the
lab; 200 nodes within 5 minutes.
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MITOGEN = "mitogen==0.3.54"
INVENTORY = os.path.join(REPO, "inventories", "lab")
RECAP = re.compile(r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                   r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)")


def env(mitogen=None, root=REPO):
    venv = os.path.join(REPO, ".venv", "bin")
    extra = {}
    if mitogen:
        extra = dict(ANSIBLE_STRATEGY_PLUGINS=os.path.join(mitogen, "ansible_mitogen", "plugins", "strategy"),
                     ANSIBLE_STRATEGY="mitogen_linear",
                     PYTHONPATH=mitogen + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return dict(os.environ, PATH=venv + os.pathsep + os.environ.get("PATH", ""),
                ANSIBLE_CONFIG=os.path.join(root, "ansible.cfg"),
                ANSIBLE_COLLECTIONS_PATH=os.path.join(root, ".collections"),
                ANSIBLE_LOCAL_TEMP=os.path.join(REPO, ".cache", "ansible-tmp"),
                ANSIBLE_HOME=os.path.join(REPO, ".cache", "ansible-home"),
                ANSIBLE_NOCOLOR="1", **extra)


def mitogen_install():
    """Mitogen, pinned, in a folder of the bench's own (pip --target), once."""
    target = os.path.join(REPO, ".cache", "bench-mitogen")
    if not os.path.isdir(os.path.join(target, "ansible_mitogen")):
        subprocess.run([os.path.join(REPO, ".venv", "bin", "pip"), "install", "-q", "--target", target, MITOGEN],
                       check=True, timeout=600)
    return target


def mitogen_inventory(inventory):
    """A copy of ``inventory`` whose docker connection is Mitogen's (its strategy takes ssh and local
    over by itself, but only the short name docker)."""
    import shutil
    copy = os.path.join(REPO, ".cache", "bench-mitogen-inventory")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(inventory, copy)
    hosts = os.path.join(copy, "hosts.yml")
    with open(hosts) as handle:
        text = handle.read()
    with open(hosts, "w") as handle:
        handle.write(text.replace("ansible_connection: community.docker.docker", "ansible_connection: mitogen_docker"))
    return copy


def ssh_inventory(nodes, containers):
    """Sshd and a key in each lab node, and an inventory that reaches them over SSH (see --connection)."""
    import shutil
    top = os.path.join(REPO, ".cache", "bench-ssh")
    key = os.path.join(top, "id_ed25519")
    inventory = os.path.join(top, "inventory")
    os.makedirs(top, exist_ok=True)
    if not os.path.exists(key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ovr-bench", "-f", key], check=True)
    with open(key + ".pub") as handle:
        public = handle.read().strip()
    shutil.rmtree(inventory, ignore_errors=True)
    shutil.copytree(INVENTORY, inventory)
    os.makedirs(os.path.join(inventory, "host_vars"), exist_ok=True)
    for node in nodes:
        container = containers[node]
        setup = ("command -v sshd >/dev/null || (DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server"
                 " >/dev/null) && mkdir -p -m 0700 /root/.ssh && grep -qxF '%s' /root/.ssh/authorized_keys 2>/dev/null"
                 " || echo '%s' >>/root/.ssh/authorized_keys; systemctl start ssh" % (public, public))
        subprocess.run(["docker", "exec", container, "sh", "-c", setup], check=True, timeout=600)
        route = subprocess.run(["docker", "exec", container, "ip", "-4", "-o", "route", "get", "192.0.2.1"],
                               capture_output=True, text=True, check=True).stdout.split()
        address = route[route.index("src") + 1]
        with open(os.path.join(inventory, "host_vars", node + ".yml"), "w") as handle:
            # ansible_ssh_host, not ansible_host: the roles read ansible_host (a peer's address, the
            # lighthouse's), which must stay what the lab's own inventory gives, or the run changes them.
            handle.write("ansible_connection: ssh\nansible_ssh_host: %s\nansible_user: root\n"
                         "ansible_ssh_private_key_file: %s\nansible_ssh_common_args: -o StrictHostKeyChecking=no"
                         " -o UserKnownHostsFile=/dev/null\n" % (address, key))
    return inventory


def timed(cmd, mitogen=None, root=REPO):
    """Wall time, the CPU time of the command and its children, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=root, env=env(mitogen, root), capture_output=True, text=True, timeout=3600, check=False)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc, wall, cpu


def fleet_nodes():
    """The lab's fleet nodes, the cloud first, and their containers (ansible-inventory --list)."""
    out = subprocess.run(["ansible-inventory", "-i", INVENTORY, "--list"], cwd=REPO, env=env(), capture_output=True,
                         text=True, check=True).stdout
    doc = json.loads(out)

    def hosts(group):
        found = list(doc.get(group, {}).get("hosts", []))
        for child in doc.get(group, {}).get("children", []):
            found += hosts(child)
        return found
    nodes = hosts("cloud") + sorted(hosts("edge"))
    hostvars = doc.get("_meta", {}).get("hostvars", {})
    return nodes, {node: hostvars.get(node, {}).get("ansible_host", node) for node in nodes}


def fit(points):
    """Least squares a + b*n through [(n, y)]."""
    n = len(points)
    if n < 2:
        return points[0][1], 0.0
    sx = sum(p[0] for p in points)
    sy = sum(p[1] for p in points)
    sxx = sum(p[0] * p[0] for p in points)
    sxy = sum(p[0] * p[1] for p in points)
    slope = (n * sxy - sx * sy) / float(n * sxx - sx * sx)
    return (sy - slope * sx) / n, slope


def failed(proc):
    """True (the end of its output printed) when a command failed."""
    if proc.returncode != 0:
        print(proc.stdout[-4000:], proc.stderr[-2000:])
    return proc.returncode != 0


def versus_checkout(ref):
    """A worktree of the commit ``ref`` (with its .collections link), for --versus."""
    sha = subprocess.run(["git", "rev-parse", "--verify", ref + "^{commit}"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout.strip()
    root = os.path.join(REPO, ".cache", "bench-versus", sha[:12])
    if not os.path.isdir(root):
        subprocess.run(["git", "worktree", "add", "--detach", root, sha], cwd=REPO, check=True, capture_output=True)
    link = os.path.join(root, ".collections", "ansible_collections", "ovr")
    os.makedirs(link, exist_ok=True)
    if not os.path.lexists(os.path.join(link, "fleet")):
        os.symlink("../../..", os.path.join(link, "fleet"))
    return sha, root


def median(values):
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2.0


def medians(rows):
    """One row per node count: the median of each figure over that count's rounds."""
    return [dict(n=n, **{key: median([r[key] for r in rows if r["n"] == n]) for key in rows[0] if key != "n"})
            for n in sorted(set(r["n"] for r in rows))]


def run_once(count, limit, inventory, mitogen, nodes, root=REPO):
    """One ping (the reference) and one site run on the first ``count`` nodes; their figures."""
    ping, ping_wall, ping_cpu = timed(["ansible", "-i", inventory, limit, "-m", "ansible.builtin.ping", "-o"], mitogen)
    if failed(ping):
        return None
    site, wall, cpu = timed(["ansible-playbook", "-i", inventory, "playbooks/site.yml", "--limit", limit], mitogen, root)
    recap = {m.group("host"): m for m in map(RECAP.match, site.stdout.splitlines()) if m}
    if failed(site):
        return None
    changed = sum(int(m.group("changed")) for h, m in recap.items() if h in nodes)
    tasks = max(int(m.group("ok")) + int(m.group("skipped")) for h, m in recap.items() if h in nodes)
    return dict(n=count, wall=wall, cpu=cpu, changed=changed, tasks=tasks, ping_wall=ping_wall, ping_cpu=ping_cpu)


MODEL_TASKS = 40
MODEL_KINDS = (
    ("no task (start-up, inventory, one play)", None),
    ("a skipped task", "ansible.builtin.ping:\n      when: false"),
    ("a task on the controller only (set_fact)", "ansible.builtin.set_fact:\n        __bench: '{{ inventory_hostname }}'"),
    ("a module run on the node (stat)", "ansible.builtin.stat:\n        path: /etc/hostname"),
)


def cost_model(node, inventory):
    """What one task costs the controller on ``node``, by kind: playbooks of MODEL_TASKS tasks of one
    kind each, less the empty playbook; printed as the reference the site run is made of."""
    import tempfile
    results = []
    with tempfile.TemporaryDirectory(prefix="ovr-bench-model-") as top:
        for label, task in MODEL_KINDS:
            path = os.path.join(top, "model.yml")
            with open(path, "w") as handle:
                handle.write("- hosts: %s\n  gather_facts: false\n  tasks:\n" % node)
                handle.write("    - {name: nothing, ansible.builtin.meta: noop}\n" if task is None else "")
                for index in range(MODEL_TASKS if task else 0):
                    handle.write("    - name: t%d\n      %s\n" % (index, task))
            proc, wall, cpu = timed(["ansible-playbook", "-i", inventory, path])
            if failed(proc):
                return None
            results.append((label, wall, cpu))
    base = results[0]
    print("\nreference: what one task costs on %s (%d tasks of a kind, less the playbook without tasks)" % (node, MODEL_TASKS))
    print("  %-44s %6.2f s wall, %6.2f s CPU" % (base[0], base[1], base[2]))
    for label, wall, cpu in results[1:]:
        print("  %-44s %6.0f ms wall, %6.0f ms CPU" % (
            label, (wall - base[1]) * 1000 / MODEL_TASKS, (cpu - base[2]) * 1000 / MODEL_TASKS))
    return results


def print_rows(rows):
    header = ("nodes", "wall (s)", "CPU (s)", "CPU/node (s)", "changed", "tasks", "reference: ping all (wall / CPU)")
    print("%5s %9s %9s %12s %8s %7s   %s" % header)
    for row in rows:
        print("%5d %9.1f %9.1f %12.2f %8d %7d   %.1f s / %.1f s: the site run = %.0f pings of wall" % (
            row["n"], row["wall"], row["cpu"], row["cpu"] / row["n"], row["changed"], row["tasks"],
            row["ping_wall"], row["ping_cpu"], row["wall"] / max(row["ping_wall"], 0.01)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--nodes", default="1,2,4,8", help="node counts (those beyond the lab's size are skipped)")
    parser.add_argument("--scratch", action="store_true", help="also time `./fleet lab` from scratch first")
    parser.add_argument("--forks", type=int, default=20, help="forks of the projected runs (ansible.cfg: 20)")
    parser.add_argument("--connection", choices=["docker", "ssh"], default="docker",
                        help="the lab's docker exec (default) or SSH with ControlPersist")
    parser.add_argument("--mitogen", action="store_true",
                        help="each node count also with Mitogen's strategy (%s, installed for the bench only)" % MITOGEN)
    parser.add_argument("--versus", metavar="REF", help="each run paired with the same run from a checkout of commit REF")
    parser.add_argument("--rounds", type=int, default=None, help="runs of each node count (default 1; 3 with --versus)")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.versus else 1)
    if args.versus and args.mitogen:
        parser.error("--versus and --mitogen: one comparison at a time")
    if args.scratch:
        subprocess.run([os.path.join(REPO, "fleet"), "lab", "down"], cwd=REPO, check=True, capture_output=True)
        started = time.monotonic()
        subprocess.run([os.path.join(REPO, "fleet"), "lab"], cwd=REPO, check=True, capture_output=True)
        print("./fleet lab from scratch: %.0f s" % (time.monotonic() - started))
    if not os.path.isdir(INVENTORY):
        print("no lab inventory: run ./fleet lab first")
        return 1
    nodes, containers = fleet_nodes()
    inventory = ssh_inventory(nodes, containers) if args.connection == "ssh" else INVENTORY
    if cost_model(nodes[-1], inventory) is None:
        return 1
    counts = [int(c) for c in args.nodes.split(",")]
    variants = [("plain", None, inventory, REPO)]
    if args.mitogen:
        mitogen = mitogen_install()
        variants.append(("mitogen", mitogen, mitogen_inventory(inventory) if args.connection == "docker" else inventory,
                         REPO))
    versus = versus_checkout(args.versus) if args.versus else None
    if versus:
        variants.append(("versus", None, inventory, versus[1]))
    rows, extra, pairs = [], [], []
    try:
        for count in counts:
            if count > len(nodes):
                print("%d nodes: skipped, the lab has %d (./fleet lab -e @bench/lab-8.yml brings up 8)" % (count, len(nodes)))
                continue
            limit = ",".join(nodes[:count])
            for dummy in range(rounds):
                got = {}
                for variant, mitogen, variant_inventory, root in variants:
                    row = run_once(count, limit, variant_inventory, mitogen, nodes, root)
                    if row is None:
                        return 1
                    got[variant] = row
                    (rows if variant == "plain" else extra).append(row)
                if versus:
                    pairs.append((count, got["plain"], got["versus"]))
    finally:
        if versus:
            subprocess.run(["git", "worktree", "remove", "--force", versus[1]], cwd=REPO, check=False, capture_output=True)
    if not rows:
        return 1
    if rounds > 1:
        rows = medians(rows)
    print("\nre-run of ovr.fleet.site on the running lab over %s (nodes: %s)" % (
        "docker exec" if args.connection == "docker" else "SSH", ", ".join(nodes[:rows[-1]["n"]])))
    print_rows(rows)
    if extra and not versus:
        print("\nthe same runs with Mitogen's strategy (%s), each right after its plain run:" % MITOGEN)
        print_rows(extra)
    if versus:
        print("\nthe same runs from a checkout of %s, each right after the one above (medians of %d rounds):" % (
            versus[0][:12], rounds))
        print_rows(medians([p[2] for p in pairs]))
        print("\nthis checkout / %s, pair by pair (median, min-max of %d pairs):" % (versus[0][:12], rounds))
        for n in sorted(set(p[0] for p in pairs)):
            for key in ("cpu", "wall"):
                ratios = [p[1][key] / max(p[2][key], 0.01) for p in pairs if p[0] == n]
                print("  %d nodes, %-4s %.2f (%.2f-%.2f)" % (n, key, median(ratios), min(ratios), max(ratios)))
    wall_a, wall_b = fit([(r["n"], r["wall"]) for r in rows])
    cpu_a, cpu_b = fit([(r["n"], r["cpu"]) for r in rows])
    chain = rows[0]["wall"] if rows[0]["n"] == 1 else wall_a
    print("\nfit: wall = %.1f s + %.2f s/node; controller CPU = %.1f s + %.2f s/node" % (wall_a, wall_b, cpu_a, cpu_b))
    # A task runs on at most `forks` hosts at once: a node's chain of tasks repeats once per group of
    # forks; and the controller's CPU is shared by its cores.
    for label, cores, nodes_each in (("one controller, 16 cores", 16, 200), ("AWX, 4 slices of 4 cores", 4, 50)):
        projected = max(chain * -(-nodes_each // args.forks), (cpu_a + cpu_b * nodes_each) / cores)
        print("200 nodes, %s, forks %d: about %.0f s (%s 5 min)" % (
            label, args.forks, projected, "within" if projected <= 300 else "over"))
    last = rows[-1]
    print("\ngoals on the lab: re-run <= 30 s with 0 changed: %.0f s, %d changed (%s); <= 2 s CPU/node: %.2f s (%s)" % (
        last["wall"], last["changed"], "met" if last["wall"] <= 30 and last["changed"] == 0 else "NOT met",
        last["cpu"] / last["n"], "met" if last["cpu"] / last["n"] <= 2 else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
