# -*- coding: utf-8 -*-
"""ovr.fleet.diagnose on the running lab (after `./fleet lab`): each link of edge-a's chain is
broken in turn, for real, and the playbook must name exactly that link; the lab is put back
and the whole chain must be OK again before the next break.

Run by the lab cycle of the test command (tests/run.sh); needs inventories/lab and the lab's
containers (ovr-lab-*)."""

import re
import time

import pytest

from fleetlab import (  # pylint: disable=import-error
    FrozenCloud, assert_lab_up, compose_containers, container, diagnose, on, sh, shell, wait_for, wait_healthy, write)

NODE = "edge-a"
GX = "gx-1"  # edge-a's GX in the lab's default fleet (lab/fleet.yml)
EDGE_DIR = "/opt/ovr/edge"


def node(*cmd, check=True):
    return on(NODE, *cmd, check=check)


@pytest.fixture(scope="module", autouse=True)
def healthy_lab():
    assert_lab_up()
    wait_healthy(NODE)
    yield


def test_the_whole_chain_is_ok_and_every_link_is_listed():
    verdict, text = diagnose(NODE)
    assert verdict == "OK", text[-3000:]
    for name in ("GX allowlist resolves", "GX answers MQTT", "GX portal id seen", "collector running and connected",
                 "GX kept alive", "collector writing", "local VictoriaMetrics has fresh samples",
                 "vmagent queue to the cloud drains", "cloud holds fresh samples of this node"):
        assert re.search(r"OK +%s" % re.escape(name), text), "%s not reported OK:\n%s" % (name, text[-3000:])


def test_a_stopped_gx_is_named():
    sh("docker", "stop", container(GX))
    try:
        verdict, text = diagnose(NODE)
        assert verdict == "GX allowlist resolves", text[-3000:]
        assert "NOT CHECKED collector running and connected" in text
    finally:
        sh("docker", "start", container(GX))
    wait_healthy(NODE)


def test_a_stopped_collector_is_named():
    node("systemctl", "stop", "ovr-collector.service")
    try:
        verdict, text = diagnose(NODE)
        assert verdict == "collector running and connected", text[-3000:]
    finally:
        node("systemctl", "start", "ovr-collector.service")
    wait_healthy(NODE)


def test_a_stopped_victoriametrics_is_named():
    vm = compose_containers(NODE, "ovr-edge", "victoriametrics")[0]
    node("docker", "stop", vm)
    try:
        verdict, text = diagnose(NODE)
        assert verdict == "local VictoriaMetrics has fresh samples", text[-3000:]
    finally:
        node("docker", "start", vm)
    wait_healthy(NODE)


def test_a_frozen_cloud_is_named():
    with FrozenCloud():
        time.sleep(3)  # let vmagent's queue towards the cloud fill
        verdict, text = diagnose(NODE)
        assert verdict == "vmagent queue to the cloud drains", text[-3000:]
        assert "does not answer" in text
    wait_healthy(NODE)


def wait_refused(deadline=90):
    """Wait (bounded) until the new vmagent has had a write refused by the cloud."""
    probe = ("import urllib.request; t = urllib.request.urlopen('http://127.0.0.1:8429/metrics', timeout=5)"
             ".read().decode(); print(any(l.startswith('vmagent_remotewrite_requests_total') and 'status_code=\"4'"
             " in l and not l.endswith(' 0') for l in t.splitlines()))")
    wait_for("a write of the new vmagent refused by the cloud",
             lambda: node("python3", "-c", probe, check=False).stdout.strip() == "True", deadline)


def test_a_wrong_cloud_token_is_named():
    env_file = "/etc/ovr/edge.env"
    original = node("cat", env_file).stdout
    assert "OVR_CLOUD_TOKEN=" in original
    wrong = re.sub(r"(?m)^OVR_CLOUD_TOKEN=.*$", "OVR_CLOUD_TOKEN='wrong-token-for-the-test'", original)
    recreate = ("cd %s && docker compose -p ovr-edge up -d --force-recreate vmagent" % EDGE_DIR)
    write(NODE, env_file, wrong)
    try:
        shell(NODE, recreate)
        wait_refused()
        verdict, text = diagnose(NODE)
        assert verdict == "vmagent queue to the cloud drains", text[-3000:]
        assert "status 401" in text and "ovr_cloud_token" in text
    finally:
        write(NODE, env_file, original)
        shell(NODE, recreate)
    wait_healthy(NODE)
