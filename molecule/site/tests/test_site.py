"""The whole site, checked the way an operator would, in order (testinfra + ansible-playbook):
telemetry reaches the edge, the peer proxy, the cloud; a two-minute cloud outage loses no
sample; a further run of the site playbook changes and restarts nothing; smoke passes, and
fails clearly when a service is down."""
import json
import re
import os
import shlex
import subprocess
import time
import urllib.parse

import pytest
import testinfra

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PROJECT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
GX1, GX2 = "c0619ab5a001", "c0619ab5a002"
SOC = "victron_system_dc_battery_soc"
OUTAGE = int(os.environ.get("OVR_SITE_OUTAGE_SECONDS", "120"))


def node(name):
    return testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, INVENTORY))


EDGE_A, EDGE_B, CLOUD = node("site-edge-a"), node("site-edge-b"), node("site-cloud")

# Runs on a node: GET a URL (basic auth optional, TLS verified against a CA file optional),
# print the JSON body or "HTTP <code>".
FETCH = r"""
import base64, json, ssl, sys, urllib.error, urllib.request
url, user, password, cafile = sys.argv[1:5]
req = urllib.request.Request(url)
if user:
    req.add_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode())
ctx = ssl.create_default_context(cafile=cafile) if cafile else None
try:
    with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
        print(r.read().decode())
except urllib.error.HTTPError as e:
    print("HTTP %d" % e.code)
"""


def fetch(host, url, user="", password="", cafile=""):
    args = [FETCH, url, user, password, cafile]
    out = host.run("python3 -c " + " ".join(shlex.quote(a) for a in args))
    assert out.rc == 0, out.stderr
    return out.stdout.strip()


def urlquote(text):
    return urllib.parse.quote(text, safe="")


def query(host, promql, base="http://127.0.0.1/api/vm", at=None, **kw):
    """A PromQL instant query from a node; returns the result vector."""
    # nocache=1: VictoriaMetrics must count from its raw data, not from a response cached before
    # the late samples arrived.
    url = "%s/api/v1/query?nocache=1&query=%s" % (base, urlquote(promql)) + ("&time=%d" % at if at else "")
    body = fetch(host, url, **kw)
    data = json.loads(body)
    assert data["status"] == "success", body
    return data["data"]["result"]


def ca_on_cloud():
    """The site CA, put on the cloud node so its own client verifies the TLS front."""
    path = "/tmp/site-ca.pem"
    if not CLOUD.file(path).exists:
        with open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "pki", "ca.pem"), encoding="utf-8") as handle:
            CLOUD.check_output("cat > %s <<'EOF'\n%sEOF" % (path, handle.read()))
    return path


def cloud_query(promql, at=None):
    return query(CLOUD, promql, base="https://cloud:8443", at=at, user="ops", password="ops-not-secret",
                 cafile=ca_on_cloud())


def wait_for(what, check, timeout, interval=2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail("%s: not within %d s (last: %r)" % (what() if callable(what) else what, timeout, last))


def test_gx_values_reach_edge_a_within_30s():
    started = time.monotonic()
    result = wait_for("GX values in edge-a's VictoriaMetrics", lambda: query(EDGE_A, SOC), 30, 1)
    assert [r["metric"]["portal_id"] for r in result] == [GX1]
    labels = result[0]["metric"]
    assert labels["service"] == "system" and labels["instance"] == "0"
    assert 0 <= float(result[0]["value"][1]) <= 100
    print("first GX value visible on edge-a after %.1f s of waiting" % (time.monotonic() - started))


def test_edge_b_proxies_edge_a_and_lists_it():
    peers = json.loads(fetch(EDGE_B, "http://127.0.0.1/api/peers"))
    ids = [p["id"] for p in (peers["peers"] if isinstance(peers, dict) else peers)]
    assert ids == ["site-edge-a"]
    result = query(EDGE_B, SOC, base="http://127.0.0.1/api/peers/site-edge-a/vm")
    assert [r["metric"]["portal_id"] for r in result] == [GX1], "edge-b answered with edge-a's series"
    assert fetch(EDGE_B, "http://127.0.0.1/api/peers/nobody/vm/api/v1/query?query=up") == "HTTP 404"


def test_cloud_holds_both_edges_with_site_and_node_labels():
    def both():
        series = cloud_query("count by (site, node, portal_id) (%s)" % SOC)
        found = {(r["metric"].get("site"), r["metric"].get("node"), r["metric"].get("portal_id")) for r in series}
        return found if len(found) == 2 else None
    found = wait_for("both edges' series in the cloud", both, 90)
    assert found == {("alpha", "site-edge-a", GX1), ("alpha", "site-edge-b", GX2)}


def containers(host):
    """name and start time of every running container on a node."""
    return host.check_output("docker inspect --format '{{.Name}} {{.State.StartedAt}}' $(docker ps -q) | sort")


def run_playbook(playbook, *extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(PROJECT, ".collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, os.path.join(PROJECT, "playbooks", playbook)] + list(extra),
                          capture_output=True, text=True, env=env, timeout=900, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_another_site_run_changes_and_restarts_nothing():
    before = {name: containers(node(name)) for name in ("site-edge-a", "site-edge-b", "site-cloud")}
    services = {name: node(name).check_output("systemctl show -p ActiveEnterTimestamp ovr-collector.service")
                for name in ("site-edge-a", "site-edge-b")}
    rc, out = run_playbook("site.yml")
    assert rc == 0, out[-3000:]
    recap = [line for line in out.splitlines() if re.search(r"\s:\sok=\d+", line)]
    changed, task = [], ""
    for line in out.splitlines():
        if line.startswith("TASK ["):
            task = line
        elif line.startswith("changed:"):
            changed.append("%s %s" % (task, line))
    assert recap and all("changed=0" in line and "failed=0" in line for line in recap), "\n".join(recap + changed)
    assert {name: containers(node(name)) for name in before} == before, "no container was restarted"
    assert {name: node(name).check_output("systemctl show -p ActiveEnterTimestamp ovr-collector.service")
            for name in services} == services


def test_cloud_unreachable_for_two_minutes_loses_no_sample():
    # The cloud's containers frozen: connections to it hang, as on a dead uplink (its address
    # stays). Pausing the cloud node's container would not do: its Docker engine runs the stack in
    # cgroups beside the node's (cgroupns=host), which a pause of the node leaves running.
    stack = CLOUD.check_output("docker ps -q --filter label=com.docker.compose.project=ovr-cloud").split()
    assert stack, "the cloud stack runs no container"
    t0 = time.time()
    CLOUD.check_output("docker pause %s" % " ".join(stack))
    try:
        # the outage is real: edge-a's requests to the cloud now hang
        probe = EDGE_A.run("python3 -c %s" % shlex.quote(
            "import socket, ssl\n"
            "s = socket.create_connection(('cloud', 8443), timeout=5)\n"
            "ssl._create_unverified_context().wrap_socket(s, server_hostname='cloud')\n"))
        assert probe.rc != 0 and "timed out" in probe.stderr, "the cloud still answers: %s %s" % (probe.stdout, probe.stderr)
        time.sleep(max(0, OUTAGE - (time.time() - t0)))
    finally:
        CLOUD.check_output("docker unpause %s" % " ".join(stack))
    # Count edge-a's samples of one series over a window spanning the outage, at a fixed time,
    # on edge-a and in the cloud: the cloud must catch up to exactly the same count.
    time.sleep(15)
    at = int(time.time()) - 10  # every sample up to here has landed on edge-a (1 s batches)
    window = at - int(t0) + 60
    promql = 'sum(count_over_time(%s{portal_id="%s"}[%ds]))' % (SOC, GX1, window)
    seen = []

    def caught_up():
        edge = float(query(EDGE_A, promql, at=at)[0]["value"][1])
        result = cloud_query(promql, at=at)
        seen.append((edge, float(result[0]["value"][1]) if result else 0.0))
        return seen[-1][1] == edge
    wait_for(lambda: "the cloud holding every sample edge-a took in the outage window ((edge, cloud) counts: %s)" % seen,
             caught_up, 180, 3)
    assert seen[-1][0] >= OUTAGE / 5, "edge-a kept sampling during the outage (%s samples)" % seen[-1][0]


SMOKE_NODES = ("site-edge-a", "site-edge-b", "site-cloud")


def assert_smoke_passed_everywhere(rc, out):
    assert rc == 0, out[-3000:]
    for name in SMOKE_NODES:
        assert re.search(r"%s: all \d+ smoke checks passed" % name, out), out[-3000:]
    recap = [line for line in out.splitlines() if re.search(r"\s:\sok=\d+", line)]
    assert recap and all("changed=0" in line for line in recap), "smoke changes nothing:\n" + "\n".join(recap)


def test_smoke_passes_on_a_healthy_site():
    rc, out = run_playbook("smoke.yml")
    assert_smoke_passed_everywhere(rc, out)
    # every check is shown, with its status
    assert "PASS | edge containers running and healthy" in out and "PASS | authenticated query answers" in out


def test_smoke_passes_under_check_mode_too():
    # read-only, so it asks the node the same under --check (HTTP and commands included)
    assert_smoke_passed_everywhere(*run_playbook("smoke.yml", "--check"))


def test_smoke_fails_clearly_when_a_service_is_stopped():
    victoria = EDGE_A.check_output("docker ps --filter label=com.docker.compose.service=victoriametrics --format '{{.Names}}'")
    assert victoria
    EDGE_A.check_output("docker stop %s" % victoria)
    try:
        rc, out = run_playbook("smoke.yml", "--limit", "site-edge-a,localhost")
        assert rc != 0
        assert "site-edge-a" in out and "victoriametrics" in out, out[-3000:]
        # one message naming the node, the check and what was seen (the output folds long lines)
        flat = " ".join(out.split())
        assert re.search(r"site-edge-a: \d+ of \d+ smoke checks FAILED\. ", flat), out[-3000:]
        assert "[edge containers running and healthy] expected project ovr-edge: " in flat, out[-3000:]
        assert "victoriametrics: exited" in flat, out[-3000:]
    finally:
        EDGE_A.check_output("docker start %s" % victoria)
