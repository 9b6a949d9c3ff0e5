"""The site playbook as AWX runs it, in slices: each slice a separate ansible-runner job in the
execution environment (process isolation with docker), no fact cache, on a provisioned lab.

    python3 tests/ee/slices.py [--slices 2] [--image 127.0.0.1:5000/ovr/ee:lab]

Run after `./fleet lab` (inventories/lab). Each job gets a private data dir laid out as AWX lays
it out (project/, inventory/, env/extravars, env/settings, env/envvars) under
.cache/ee/runner/slice-<n>, and is limited to its slice of the hosts site.yml targets (the edge
and cloud groups), cut the way AWX cuts an inventory into slices: hosts by name, slice n takes
every count-th host from the n-th on. The lab was provisioned by one ansible-playbook run, so the
slices must change nothing: the test passes when

  - every slice job succeeds and its recap names exactly its slice's hosts (plus localhost, the
    preflight), with changed=0, failed=0, unreachable=0 on each;
  - on every node, the generated and installed files (/etc/ovr, /etc/nebula, /opt/ovr with the
    Compose projects and the UI bundle, /usr/local/libexec/ovr: content and modification time;
    peers.json, the nginx peer map and the Nebula configs in full, printed on a difference), the Compose
    projects' containers (by name, image and start time) and the fleet's services (by their
    start time) are the same after the slices as after the one run before them.

Exit status 0 when it passes; the figures (hosts and duration of each slice) are printed.
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
STATE = pathlib.Path(os.environ.get("OVR_STATE", ROOT / ".cache"))
LAB_INVENTORY = ROOT / "inventories" / "lab"
# Read in full and shown on a difference: what peers and slicing decide.
KEY_FILES = ("/etc/ovr/peers.json", "/etc/ovr/nginx.d/peers.map", "/etc/ovr/nginx.d/health.json")
NODE_SNAPSHOT = r"""
set -u
for d in /etc/ovr /etc/nebula /opt/ovr /usr/local/libexec/ovr; do
  [ -d "$d" ] || continue
  find "$d" -xdev -type f -print0 | sort -z | xargs -0 -r sha256sum | sed 's/^/file /'
  find "$d" -xdev -type f -printf 'mtime %p %T@\n' | sort
done
for f in "$@" /etc/nebula/*.yml; do
  [ -f "$f" ] && { echo "content $f"; base64 -w0 "$f"; echo; }
done
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  for c in $(docker ps -aq); do
    docker inspect --format 'container {{ .Name }} {{ .Config.Image }} {{ .State.Status }} {{ .State.StartedAt }}' "$c"
  done | sort
fi
for u in $(systemctl list-units --type=service --no-legend --plain 'ovr-*' 'nebula@*' 'babeld*' \
             docker.service nftables.service | awk '{print $1}'); do
  # a oneshot (the GX refresh its timer starts) comes and goes on its own
  [ "$(systemctl show -p Type --value "$u")" = oneshot ] && continue
  echo "service $u $(systemctl show -p ActiveEnterTimestampMonotonic --value "$u")"
done
"""


def run(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def lab_hosts():
    """{inventory_hostname: container name} of the hosts site.yml targets, and the whole inventory."""
    inv = json.loads(run("ansible-inventory", "-i", str(LAB_INVENTORY), "--list", "--export"))

    def members(group):
        out = list(inv.get(group, {}).get("hosts", []))
        for child in inv.get(group, {}).get("children", []):
            out += members(child)
        return out

    targets = sorted(set(members("edge") + members("cloud")))
    hostvars = inv["_meta"]["hostvars"]
    return {h: hostvars[h].get("ansible_host", h) for h in targets}


def awx_slices(hosts, count):
    """AWX's cut (Inventory.get_script_data): hosts ordered by name, slice n = hosts[n-1::count]."""
    ordered = sorted(hosts)
    return [ordered[offset::count] for offset in range(count)]


def snapshot(containers):
    snap = {}
    for host, container in sorted(containers.items()):
        out = run("docker", "exec", container, "bash", "-c", NODE_SNAPSHOT, "snapshot", *KEY_FILES)
        snap[host] = out.splitlines()
    return snap


def private_data_dir(slice_no, image, connection):
    """A private data dir as AWX writes one for a job (the project, the inventory, env/)."""
    pdd = STATE / "ee" / "runner" / ("slice-%d" % slice_no)
    shutil.rmtree(pdd, ignore_errors=True)
    (pdd / "env").mkdir(parents=True)
    # The project: the playbooks the job templates run (awx/project imports ovr.fleet's, which
    # the EE carries). The inventory: the lab's, as an inventory source synced from a project.
    shutil.copytree(ROOT / "awx" / "project", pdd / "project")
    shutil.copytree(LAB_INVENTORY, pdd / "inventory")
    # The lab reaches its nodes through the Docker engine (the inventory's connection is
    # community.docker.docker, which runs the docker CLI). The EE carries no docker CLI (it is no
    # dependency of the collection: in the field AWX reaches the nodes over SSH): the job gets the
    # host's CLI and the engine's socket mounted. --connection docker_api instead switches the
    # job's inventory to the Engine API (no CLI needed; see docs/awx.md for why it is not the default).
    ee_vars = pdd / "inventory" / "group_vars" / "all" / "ee.yml"
    ee_vars.write_text("---\n# Written by tests/ee/slices.py for the runner jobs.\n")
    if connection == "docker_api":
        # A group_vars file beats the inventory file's `all: vars:` (the localhost of delegate_to
        # keeps its implicit local connection).
        ee_vars.open("a").write("ansible_connection: community.docker.docker_api\n")
    private = (ROOT / ".cache" / "lab").resolve()
    mounts = ["/var/run/docker.sock:/var/run/docker.sock",
              "%s:/usr/local/bin/docker:ro" % shutil.which("docker"),
              # The lab's secrets and PKI, read by the lab inventory's lookups (in AWX these come
              # from credentials): the same path as on the host, read-only.
              "%s:%s:ro" % (private, private)]
    # The nebula role's CA on the controller must persist across jobs (in AWX: a volume of the
    # container group), writable (certificates are signed there): the lab inventory's
    # nebula_pki_dir (the lab keeps it beside its PKI), else the role's default in the home.
    lab_vars = LAB_INVENTORY / "group_vars" / "all" / "lab.yml"
    named = re.search(r"^nebula_pki_dir: *(\S+) *$", lab_vars.read_text(), re.M) if lab_vars.exists() else None
    pki = pathlib.Path(named.group(1)) if named else pathlib.Path.home() / ".ovr" / "nebula-pki"
    if pki.is_dir():
        mounts.append("%s:%s" % (pki, pki))
        if not named:
            ee_vars.open("a").write("nebula_pki_dir: %s\n" % pki)
    (pdd / "env" / "settings").write_text(json.dumps({
        "process_isolation": True,
        "process_isolation_executable": "docker",
        "container_image": image,
        "container_volume_mounts": mounts,
        # AWX's default for a job; each slice job has its own events and artifacts.
        "suppress_ansible_output": True,
    }, indent=2) + "\n")
    # What AWX puts in a job's extra vars (its own meta vars; the site template has no survey).
    (pdd / "env" / "extravars").write_text(json.dumps({
        "awx_job_id": 1000 + slice_no, "awx_job_template_name": "ovr.fleet site",
        "awx_inventory_name": "ovr-lab",
    }, indent=2) + "\n")
    # No fact cache: each job gathers what it needs (AWX without "use fact storage").
    (pdd / "env" / "envvars").write_text(json.dumps({"ANSIBLE_CACHE_PLUGIN": "memory"}) + "\n")
    return pdd


def job_stats(pdd, ident):
    events = sorted((pdd / "artifacts" / ident / "job_events").glob("*.json"),
                    key=lambda p: int(p.name.split("-", 1)[0]))
    for path in reversed(events):
        event = json.loads(path.read_text())
        if event.get("event") == "playbook_on_stats":
            return event["event_data"]
    return None


def changed_tasks(pdd, ident):
    out = []
    for path in (pdd / "artifacts" / ident / "job_events").glob("*.json"):
        event = json.loads(path.read_text())
        data = event.get("event_data", {})
        if event.get("event") == "runner_on_ok" and data.get("res", {}).get("changed"):
            out.append("%s: %s" % (data.get("host"), data.get("task")))
    return sorted(out)


def diff_snapshots(before, after):
    problems = []
    for host in sorted(before):
        b, a = set(before[host]), set(after.get(host, []))
        for line in sorted(b - a):
            kind, rest = line.split(" ", 1)
            problems.append("%s: before: %s %s" % (host, kind, rest[:200]))
        for line in sorted(a - b):
            kind, rest = line.split(" ", 1)
            problems.append("%s: after:  %s %s" % (host, kind, rest[:200]))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--slices", type=int, default=2)
    parser.add_argument("--connection", choices=["docker", "docker_api"], default="docker",
                        help="how the EE reaches the lab nodes: the host's docker CLI mounted (default) or the Engine API")
    parser.add_argument("--serial", action="store_true", help="one slice after the other (AWX runs them at once)")
    parser.add_argument("--image", default=os.environ.get("OVR_EE_REF", "127.0.0.1:5000/ovr/ee:lab"))
    args = parser.parse_args()

    containers = lab_hosts()
    slices = awx_slices(containers, args.slices)
    if any(not s for s in slices):
        sys.exit("an empty slice (%d slices, %d hosts): AWX fails the whole workflow then" % (args.slices, len(containers)))
    before = snapshot(containers)
    edges_with_peers = [h for h in before if any(line.startswith("content /etc/ovr/peers.json") for line in before[h])]
    print("hosts: %s; peers.json on %s" % (", ".join(containers), ", ".join(edges_with_peers) or "none"))

    # AWX starts a sliced job's slices at once (as capacity allows): so does this, unless --serial.
    jobs = [{"no": no, "hosts": hosts, "ident": "slice-%d" % no, "pdd": private_data_dir(no, args.image, args.connection)}
            for no, hosts in enumerate(slices, 1)]

    def run_job(job):
        t0 = time.monotonic()
        job["proc"] = subprocess.run(["ansible-runner", "run", str(job["pdd"]), "-p", "site.yml", "--ident", job["ident"],
                                      "--limit", ",".join(job["hosts"])], capture_output=True, text=True, check=False)
        job["took"] = time.monotonic() - t0

    t_all = time.monotonic()
    if args.serial:
        for job in jobs:
            run_job(job)
    else:
        threads = [threading.Thread(target=run_job, args=(job,)) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    failures = []
    for job in jobs:
        no, hosts, pdd, ident, proc, took = (job[k] for k in ("no", "hosts", "pdd", "ident", "proc", "took"))
        stats = job_stats(pdd, ident) or {}
        ran = sorted(stats.get("processed", {}))
        changed = {h: n for h, n in stats.get("changed", {}).items() if n}
        failed = {h: n for h, n in list(stats.get("failures", {}).items()) + list(stats.get("dark", {}).items()) if n}
        print("TIMING %-28s %4ds  hosts %s; ran on %s; changed %s; failed %s; rc %s" % (
            "ee slice %d/%d" % (no, args.slices), took, ",".join(hosts), ",".join(ran),
            changed or 0, failed or 0, proc.returncode))
        if proc.returncode != 0 or not stats:
            failures.append("slice %d: ansible-runner exited %s (%s)" % (no, proc.returncode, (proc.stderr or proc.stdout)[-2000:]))
            stdout = pdd / "artifacts" / ident / "stdout"
            if stdout.exists():
                print("---- last lines of %s ----\n%s" % (stdout, "\n".join(stdout.read_text().splitlines()[-60:])))
        if sorted(set(ran) - {"localhost"}) != sorted(hosts):
            failures.append("slice %d ran on %s, its slice is %s" % (no, ran, hosts))
        if changed:
            failures.append("slice %d changed: %s" % (no, "; ".join(changed_tasks(pdd, ident))))
        if failed:
            failures.append("slice %d failed on %s" % (no, failed))

    print("TIMING %-28s %4ds  %s" % ("ee slices (all)", time.monotonic() - t_all, "serial" if args.serial else "in parallel"))
    after = snapshot(containers)
    diffs = diff_snapshots(before, after)
    if diffs:
        failures.append("the nodes differ after the slices:\n  " + "\n  ".join(diffs))
    else:
        counts = {h: sum(1 for line in before[h] if line.startswith("file ")) for h in before}
        print("identical after %d slices: %s (files compared per node), the key files, "
              "the containers and the services" % (args.slices, counts))
    if failures:
        print("FAILED:\n- " + "\n- ".join(failures))
        return 1
    print("ok: %d slice jobs in the EE changed nothing and left every node as one run left it" % args.slices)
    return 0


if __name__ == "__main__":
    sys.exit(main())
