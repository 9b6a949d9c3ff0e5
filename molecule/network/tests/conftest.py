"""What the Wi-Fi and mDNS tests of this scenario share (the nodes of group wifi_nodes): the
inventory's expectations per host and a way to run
the scenario's converge again with extra vars (self-contained; reads only the inventory)."""
import csv
import json
import os
import subprocess
import tempfile

import pytest
import testinfra
import testinfra.utils.ansible_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
CONVERGE = os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml")
KEYFILES = "/etc/NetworkManager/system-connections"


def variables(name):
    return RUNNER.get_variables(name)


def expected_networks(name):
    """{ssid: network} as the inventory says: site list, then the CSV's rows, then the node's list."""
    hostvars = variables(name)
    merged = {}
    for net in hostvars.get("wifi_site_networks") or []:
        merged[net["ssid"]] = net
    path = hostvars.get("wifi_networks_csv") or ""
    if path:
        with open(path, encoding="utf-8") as handle:
            for row in csv.reader(handle):
                if not row or row[0].startswith("#") or row[0] == "ssid":
                    continue
                merged[row[0]] = dict(zip(("ssid", "psk", "priority", "hidden", "band", "interface"), row))
    for net in hostvars.get("wifi_networks") or []:
        merged[net["ssid"]] = net
    return merged


def other_host(name, group="wifi_nodes"):
    others = [h for h in RUNNER.get_hosts(group) if h != name]
    return others[0]


def host_object(name):
    return testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, INVENTORY))


ROLE_PLAY = """---
- name: Run ovr.fleet.{role} again
  hosts: all
  become: true
  gather_facts: false
  roles:
    - role: ovr.fleet.{role}
"""


def converge(limit, extra_vars=None, role=None):
    """Run the real role (or the scenario's whole converge) on one host; returns (rc, output)."""
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], ".collections")
    env["ANSIBLE_NOCOLOR"] = "1"
    with tempfile.TemporaryDirectory(prefix="ovr-wifi-mdns-") as tmp:
        playbook = CONVERGE
        if role:
            playbook = os.path.join(tmp, "play.yml")
            with open(playbook, "w", encoding="utf-8") as handle:
                handle.write(ROLE_PLAY.format(role=role))
        cmd = ["ansible-playbook", "-i", INVENTORY, "--limit", limit, playbook]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def nmcli_terse(text):
    """nmcli -g escapes ':' and '\\' in values."""
    return text.replace("\\:", ":").replace("\\\\", "\\")


@pytest.fixture
def name(host):
    return host.backend.get_hostname()
