# -*- coding: utf-8 -*-
"""The running lab (after `./fleet lab`) as the tests under tests/lab see it: its inventory, its
node containers (ovr-lab-<host>, or $OVR_LAB_NAME-<host>), commands on a node, the collection's
playbooks run against it, bounded waits. One place for what every lab test needs."""

import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.parse

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INVENTORY = os.environ.get("OVR_LAB_INVENTORY") or os.path.join(REPO, "inventories", "lab")
LAB = os.environ.get("OVR_LAB_NAME", "ovr-lab")
LOGS = os.path.join(os.environ.get("OVR_STATE") or os.path.join(REPO, ".cache"), "logs")
CLOUD = "cloud-1"  # the lab's cloud node (lab/fleet.yml)


def assert_lab_up():
    assert os.path.isdir(INVENTORY), "no lab inventory at %s: run ./fleet lab first" % INVENTORY


def sh(*cmd, check=True, timeout=120):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, check=check)


def container(host):
    return "%s-%s" % (LAB, host)


def on(host, *argv, check=True):
    """A command (argv) on a lab node."""
    return sh("docker", "exec", container(host), *argv, check=check)


def shell(host, command, check=True):
    """A shell command line on a lab node."""
    return on(host, "sh", "-c", command, check=check)


def write(host, path, text):
    """Replace a file on a lab node with text."""
    subprocess.run(["docker", "exec", "-i", container(host), "sh", "-c", "cat > %s" % shlex.quote(path)],
                   input=text, text=True, timeout=30, check=True)


def playbook(name, *args, log=None, json_results=False, timeout=900):
    """One of the collection's playbooks against the lab inventory, as an operator runs it:
    (return code, the whole output, seconds). log: also kept as LOGS/<log>. json_results: task
    results as JSON, so that long lines (summary tables) come out one per line, never folded."""
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", INVENTORY,
           os.path.join(REPO, "playbooks", name)] + list(args)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    if json_results:
        env["ANSIBLE_CALLBACK_RESULT_FORMAT"] = "json"
    started = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    text = out.stdout + out.stderr
    if log:
        os.makedirs(LOGS, exist_ok=True)
        with open(os.path.join(LOGS, log), "w", encoding="utf-8") as handle:
            handle.write(text)
    return out.returncode, text, time.monotonic() - started


def wait_for(what, check, timeout, interval=2):
    """check() until it returns something true (returned), at most timeout seconds; else the test
    fails naming what did not happen (what: a text, or a callable giving one) and the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    return pytest.fail("%s: not within %d s (last: %r)" % (what() if callable(what) else what, timeout, last))


def diagnose(node="edge-a"):
    """ovr.fleet.diagnose on one node: (the broken link its verdict names, or "OK"; the output)."""
    # the controller cannot resolve the lab cloud's name: ask from the node, with its CA copy
    dummy, text, dummy = playbook("diagnose.yml", "--limit", node, "-e", "diagnose_cloud_query_host=%s" % node,
                                  "-e", "diagnose_cloud_ca_path=/etc/ovr/vmagent.d/cloud-ca.pem", timeout=180)
    match = re.search(r"%s: (every link of the chain is OK|(?P<link>[^:]+?) is broken: )" % re.escape(node), text)
    assert match, "no verdict for %s in:\n%s" % (node, text[-3000:])
    return ("OK" if match.group(2) is None else match.group("link")), text


def wait_healthy(node="edge-a", deadline=180):
    """Diagnose until the node's whole chain is OK (the lab settles after a repair), bounded."""
    last = []

    def whole():
        last[:] = diagnose(node)
        return last[0] == "OK"
    wait_for(lambda: "the lab did not come back to a whole chain (verdict: %s):\n%s" % (last[0], last[1][-3000:]),
             whole, deadline, 5)


# Runs on a node: GET a URL (basic auth optional, TLS verified against a CA file optional),
# print the body or "HTTP <code>".
FETCH = r"""
import base64, ssl, sys, urllib.error, urllib.request
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
    """GET a URL from a node: the body, or "HTTP <code>" for an HTTP error."""
    return on(host, "python3", "-c", FETCH, url, user, password, cafile).stdout.strip()


def query(host, promql, base="http://127.0.0.1/api/vm", at=None, **kw):
    """A PromQL instant query from a node; returns the result vector."""
    # nocache=1: VictoriaMetrics must count from its raw data, not from a response cached before
    # the late samples arrived.
    url = "%s/api/v1/query?nocache=1&query=%s" % (base, urllib.parse.quote(promql, safe="")) + (
        "&time=%d" % at if at else "")
    body = fetch(host, url, **kw)
    data = json.loads(body)
    assert data["status"] == "success", body
    return data["data"]["result"]


def compose_containers(host, project, service=None):
    """The ids of a Compose project's running containers on a node (one service's only, if
    named)."""
    cmd = ["docker", "ps", "-q", "--filter", "label=com.docker.compose.project=%s" % project]
    if service:
        cmd += ["--filter", "label=com.docker.compose.service=%s" % service]
    return on(host, *cmd).stdout.split()


class FrozenCloud:
    """The cloud's stack frozen (docker pause inside the cloud node): connections to it hang, as
    on a dead uplink, while its address stays. Pausing the cloud node's own container would not
    do: the node's Docker engine runs the stack in cgroups beside the node's (cgroupns=host),
    which a pause of the node leaves running."""

    def __init__(self):
        self.stack = compose_containers(CLOUD, "ovr-cloud")
        assert self.stack, "the cloud stack runs no container"

    def __enter__(self):
        on(CLOUD, "docker", "pause", *self.stack)
        return self

    def __exit__(self, *exc):
        on(CLOUD, "docker", "unpause", *self.stack)
        return False
