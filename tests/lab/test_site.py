# -*- coding: utf-8 -*-
"""The whole site on the running lab (after `./fleet lab`), checked the way an operator would:
telemetry reaches each edge, the peer proxy answers with a peer's series, the cloud holds every
edge's series with its site and node labels, a two-minute cloud outage loses no sample, smoke
passes (also under --check) and fails clearly when a service is down.

What else a whole-site run must prove is proven by the same lab cycle (tests/run.sh):
`site.yml --check` on the fresh nodes before the first run, and a further run of `site.yml`
(as two AWX-like runner slices, tests/ee/slices.py) that changes nothing and restarts nothing.
Runs before tests/lab/test_diagnose.py and leaves the lab healthy."""

import json
import os
import re
import time

import pytest

from fleetlab import CLOUD, REPO, FrozenCloud, compose_containers, fetch, on, playbook, query, wait_for  # pylint: disable=import-error

EDGES = ("edge-a", "edge-b", "edge-c")
# the lab's default fleet (lab/fleet.yml): each edge's own GX
PORTAL = {"edge-a": "c0619ab1e001", "edge-b": "c0619ab1e002", "edge-c": "c0619ab1e003"}
SITE = "lab"
CLOUD_URL = "https://%s:8443" % CLOUD
CLOUD_CA = "/etc/ovr/vmagent.d/cloud-ca.pem"  # the edges' copy of the lab CA (edge_stack_cloud_ca_pem)
SOC = "victron_system_dc_battery_soc"
OUTAGE = int(os.environ.get("OVR_SITE_OUTAGE_SECONDS", "120"))


def ops_password():
    with open(os.path.join(REPO, ".cache", "lab", "secrets", "lab_ops_password"), encoding="utf-8") as handle:
        return handle.read().strip()


def cloud_query(promql, at=None):
    """Asked from edge-a (the controller cannot resolve the lab cloud's name), TLS verified."""
    return query("edge-a", promql, base=CLOUD_URL, at=at, user="ops", password=ops_password(), cafile=CLOUD_CA)


@pytest.mark.parametrize("edge", EDGES)
def test_each_edge_holds_its_own_gx_values(edge):
    result = wait_for("GX values in %s's VictoriaMetrics" % edge, lambda: query(edge, SOC), 30, 1)
    assert [r["metric"]["portal_id"] for r in result] == [PORTAL[edge]]
    labels = result[0]["metric"]
    assert labels["service"] == "system" and labels["instance"] == "0"
    assert 0 <= float(result[0]["value"][1]) <= 100


def test_edge_b_lists_its_peers_and_proxies_edge_a():
    peers = json.loads(fetch("edge-b", "http://127.0.0.1/api/peers"))
    ids = sorted(p["id"] for p in (peers["peers"] if isinstance(peers, dict) else peers))
    assert ids == ["edge-a", "edge-c"]
    result = query("edge-b", SOC, base="http://127.0.0.1/api/peers/edge-a/vm")
    assert [r["metric"]["portal_id"] for r in result] == [PORTAL["edge-a"]], "edge-b answered with edge-a's series"
    assert fetch("edge-b", "http://127.0.0.1/api/peers/nobody/vm/api/v1/query?query=up") == "HTTP 404"


def test_the_cloud_holds_every_edge_with_site_and_node_labels():
    def every():
        series = cloud_query("count by (site, node, portal_id) (%s)" % SOC)
        found = {(r["metric"].get("site"), r["metric"].get("node"), r["metric"].get("portal_id")) for r in series}
        return found if len(found) == len(EDGES) else None
    found = wait_for("every edge's series in the cloud", every, 90)
    assert found == {(SITE, edge, PORTAL[edge]) for edge in EDGES}


def test_the_cloud_unreachable_for_two_minutes_loses_no_sample():
    t0 = time.time()
    with FrozenCloud():
        # the outage is real: edge-a's requests to the cloud now hang
        probe = on("edge-a", "python3", "-c",
                   "import socket, ssl\n"
                   "s = socket.create_connection(('%s', 8443), timeout=5)\n"
                   "ssl._create_unverified_context().wrap_socket(s, server_hostname='%s')\n" % (CLOUD, CLOUD), check=False)
        assert probe.returncode != 0 and "timed out" in probe.stderr, "the cloud still answers: %s %s" % (
            probe.stdout, probe.stderr)
        time.sleep(max(0, OUTAGE - (time.time() - t0)))
    # Count edge-a's samples of one series over a window spanning the outage, at a fixed time,
    # on edge-a and in the cloud: the cloud must catch up to exactly the same count.
    time.sleep(15)
    at = int(time.time()) - 10  # every sample up to here has landed on edge-a (1 s batches)
    window = at - int(t0) + 60
    promql = 'sum(count_over_time(%s{portal_id="%s"}[%ds]))' % (SOC, PORTAL["edge-a"], window)
    seen = []

    def caught_up():
        edge = float(query("edge-a", promql, at=at)[0]["value"][1])
        result = cloud_query(promql, at=at)
        seen.append((edge, float(result[0]["value"][1]) if result else 0.0))
        return seen[-1][1] == edge
    wait_for(lambda: "the cloud holding every sample edge-a took in the outage window ((edge, cloud) counts: %s)" % seen,
             caught_up, 180, 3)
    assert seen[-1][0] >= OUTAGE / 5, "edge-a kept sampling during the outage (%s samples)" % seen[-1][0]


SMOKE_NODES = EDGES + (CLOUD,)


def test_the_controller_keeps_no_packed_ui_bundle():
    # ovr.fleet.ui packs a bundle folder into ovr-ui-<digest>.tar in the run's own temporary folder
    # (under ANSIBLE_LOCAL_TEMP) for the copy: the site run (and the UI cutover's runs) must have
    # left none behind, there or in TMPDIR (where earlier versions packed it).
    tmp = os.environ.get("TMPDIR") or "/tmp"
    local = os.environ.get("ANSIBLE_LOCAL_TEMP") or os.path.expanduser("~/.ansible/tmp")
    found = [os.path.join(tmp, name) for name in os.listdir(tmp)]
    found += [os.path.join(top, name) for top, dummy, names in os.walk(local) for name in names]
    left = sorted(path for path in found if re.match(r"ovr-ui-.*\.tar$", os.path.basename(path)))
    assert not left, "left behind: %s" % ", ".join(left)


def assert_smoke_passed_everywhere(rc, out):
    assert rc == 0, out[-3000:]
    for name in SMOKE_NODES:
        assert re.search(r"%s: all \d+ smoke checks passed" % name, out), out[-3000:]
    recap = [line for line in out.splitlines() if re.search(r"\s:\sok=\d+", line)]
    assert recap and all("changed=0" in line for line in recap), "smoke changes nothing:\n" + "\n".join(recap)


def test_smoke_passes_on_a_healthy_site():
    rc, out, dummy = playbook("smoke.yml")
    assert_smoke_passed_everywhere(rc, out)
    # every check is shown, with its status
    assert "PASS | edge containers running and healthy" in out and "PASS | authenticated query answers" in out


def test_smoke_passes_under_check_mode_too():
    # read-only, so it asks the node the same under --check (HTTP and commands included)
    rc, out, dummy = playbook("smoke.yml", "--check")
    assert_smoke_passed_everywhere(rc, out)


def test_smoke_fails_clearly_when_a_service_is_stopped():
    victoria = compose_containers("edge-a", "ovr-edge", "victoriametrics")
    assert victoria
    on("edge-a", "docker", "stop", *victoria)
    try:
        rc, out, dummy = playbook("smoke.yml", "--limit", "edge-a,localhost")
        assert rc != 0
        assert "edge-a" in out and "victoriametrics" in out, out[-3000:]
        # one message naming the node, the check and what was seen (the output folds long lines)
        flat = " ".join(out.split())
        assert re.search(r"edge-a: \d+ of \d+ smoke checks FAILED\. ", flat), out[-3000:]
        assert "[edge containers running and healthy] expected project ovr-edge: " in flat, out[-3000:]
        assert "victoriametrics: exited" in flat, out[-3000:]
    finally:
        on("edge-a", "docker", "start", *victoria)
