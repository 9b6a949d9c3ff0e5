# -*- coding: utf-8 -*-
"""ovr.fleet.diagnose on the running lab (after `./fleet lab`): each link of edge-a's chain is
broken in turn, for real, and the playbook must name exactly that link; the lab is put back
and the whole chain must be OK again before the next break.

Run by the lab cycle of the test command (tests/run.sh); needs inventories/lab and the lab's
containers (ovr-lab-*)."""

import os
import re
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INVENTORY = os.environ.get("OVR_LAB_INVENTORY") or os.path.join(REPO, "inventories", "lab")
LAB = os.environ.get("OVR_LAB_NAME", "ovr-lab")
NODE = "edge-a"
GX = "gx-1"  # edge-a's GX in the lab's default fleet (lab/fleet.yml)
EDGE_DIR = "/opt/ovr/edge"
VERDICT = re.compile(r"%s: (every link of the chain is OK|(?P<link>[^:]+?) is broken: )" % NODE)


def sh(*cmd, check=True):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=120, check=check)


def node(*cmd, check=True):
    return sh("docker", "exec", "%s-%s" % (LAB, NODE), *cmd, check=check)


def diagnose():
    """(verdict line's link name or 'OK', the whole output)."""
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", INVENTORY,
           os.path.join(REPO, "playbooks", "diagnose.yml"), "--limit", NODE,
           # the controller cannot resolve the lab cloud's name: ask from the node, with its CA copy
           "-e", "diagnose_cloud_query_host=%s" % NODE,
           "-e", "diagnose_cloud_ca_path=/etc/ovr/vmagent.d/cloud-ca.pem"]
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_NOCOLOR="1")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env, check=False)
    text = out.stdout + out.stderr
    match = VERDICT.search(text)
    assert match, "no verdict for %s in:\n%s" % (NODE, text[-3000:])
    return ("OK" if match.group(2) is None else match.group("link")), text


def wait_healthy(deadline=180):
    """Diagnose until the whole chain is OK (the lab settles after a repair), bounded in time."""
    end = time.monotonic() + deadline
    verdict, text = diagnose()
    while verdict != "OK" and time.monotonic() < end:
        time.sleep(5)
        verdict, text = diagnose()
    assert verdict == "OK", "the lab did not come back to a whole chain within %ss:\n%s" % (deadline, text[-3000:])


def edge_container(service):
    return node("docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=ovr-edge",
                "--filter", "label=com.docker.compose.service=%s" % service).stdout.split()[0]


@pytest.fixture(scope="module", autouse=True)
def healthy_lab():
    assert os.path.isdir(INVENTORY), "no lab inventory at %s: run ./fleet lab first" % INVENTORY
    wait_healthy()
    yield


def test_the_whole_chain_is_ok_and_every_link_is_listed():
    verdict, text = diagnose()
    assert verdict == "OK", text[-3000:]
    for name in ("GX allowlist resolves", "GX answers MQTT", "GX portal id seen", "collector running and connected",
                 "GX kept alive", "collector writing", "local VictoriaMetrics has fresh samples",
                 "vmagent queue to the cloud drains", "cloud holds fresh samples of this node"):
        assert re.search(r"OK +%s" % re.escape(name), text), "%s not reported OK:\n%s" % (name, text[-3000:])


def test_a_stopped_gx_is_named():
    sh("docker", "stop", "%s-%s" % (LAB, GX))
    try:
        verdict, text = diagnose()
        assert verdict == "GX allowlist resolves", text[-3000:]
        assert "NOT CHECKED collector running and connected" in text
    finally:
        sh("docker", "start", "%s-%s" % (LAB, GX))
    wait_healthy()


def test_a_stopped_collector_is_named():
    node("systemctl", "stop", "ovr-collector.service")
    try:
        verdict, text = diagnose()
        assert verdict == "collector running and connected", text[-3000:]
    finally:
        node("systemctl", "start", "ovr-collector.service")
    wait_healthy()


def test_a_stopped_victoriametrics_is_named():
    vm = edge_container("victoriametrics")
    node("docker", "stop", vm)
    try:
        verdict, text = diagnose()
        assert verdict == "local VictoriaMetrics has fresh samples", text[-3000:]
    finally:
        node("docker", "start", vm)
    wait_healthy()


def cloud(*cmd, check=True):
    return sh("docker", "exec", "%s-cloud-1" % LAB, *cmd, check=check)


def test_a_frozen_cloud_is_named():
    # Freeze the cloud's own containers (connections to it then hang, as on a dead uplink). Pausing
    # the cloud node's container alone would not do: the node's Docker engine runs its containers
    # in cgroups beside the node's (cgroupns=host), which a pause of the node leaves running.
    stack = cloud("docker", "ps", "-q", "--filter", "label=com.docker.compose.project=ovr-cloud").stdout.split()
    assert stack, "the cloud stack runs no container"
    cloud("docker", "pause", *stack)
    try:
        time.sleep(3)  # let vmagent's queue towards the cloud fill
        verdict, text = diagnose()
        assert verdict == "vmagent queue to the cloud drains", text[-3000:]
        assert "does not answer" in text
    finally:
        cloud("docker", "unpause", *stack)
    wait_healthy()


def wait_refused(deadline=90):
    """Wait (bounded) until the new vmagent has had a write refused by the cloud."""
    probe = ("import urllib.request; t = urllib.request.urlopen('http://127.0.0.1:8429/metrics', timeout=5)"
             ".read().decode(); print(any(l.startswith('vmagent_remotewrite_requests_total') and 'status_code=\"4'"
             " in l and not l.endswith(' 0') for l in t.splitlines()))")
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if node("python3", "-c", probe, check=False).stdout.strip() == "True":
            return
        time.sleep(2)
    raise AssertionError("vmagent made no refused write to the cloud within %ds" % deadline)


def test_a_wrong_cloud_token_is_named():
    env_file = "/etc/ovr/edge.env"
    original = node("cat", env_file).stdout
    assert "OVR_CLOUD_TOKEN=" in original
    wrong = re.sub(r"(?m)^OVR_CLOUD_TOKEN=.*$", "OVR_CLOUD_TOKEN='wrong-token-for-the-test'", original)
    recreate = ("cd %s && docker compose -p ovr-edge up -d --force-recreate vmagent" % EDGE_DIR)
    subprocess.run(["docker", "exec", "-i", "%s-%s" % (LAB, NODE), "sh", "-c", "cat > %s" % env_file],
                   input=wrong, text=True, timeout=30, check=True)
    try:
        node("sh", "-c", recreate)
        wait_refused()
        verdict, text = diagnose()
        assert verdict == "vmagent queue to the cloud drains", text[-3000:]
        assert "status 401" in text and "ovr_cloud_token" in text
    finally:
        subprocess.run(["docker", "exec", "-i", "%s-%s" % (LAB, NODE), "sh", "-c", "cat > %s" % env_file],
                       input=original, text=True, timeout=30, check=True)
        node("sh", "-c", recreate)
    wait_healthy()
