"""Bad input to ovr.fleet.layout: one clear message naming host and variable, nothing changed.

Runs the real role again (ansible-playbook on the scenario's own nodes) with broken variables.
"""
import json
import os
import subprocess

import testinfra.utils.ansible_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
testinfra_hosts = ["layout-edge"]
CONVERGE = os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml")


def run_role(extra_vars, limit="layout-edge"):
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], ".collections")
    env["ANSIBLE_NOCOLOR"] = "1"
    proc = subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, "--limit", limit, "-e", json.dumps(extra_vars), CONVERGE],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def env_state(host):
    return host.check_output("sha256sum /etc/ovr/edge.env; ls -A /etc/ovr | sort | tr '\\n' ' '")


def test_missing_required_key_names_host_and_key(host):
    before = env_state(host)
    rc, out = run_role({"ovr_cloud_token": ""})
    assert rc != 0
    assert "layout-edge: /etc/ovr/edge.env would lack required key(s): OVR_CLOUD_TOKEN (set ovr_cloud_token" in out
    assert "changed=0" in out
    assert env_state(host) == before


def test_value_with_line_break_is_refused(host):
    before = env_state(host)
    rc, out = run_role({"layout_edge_env": {"OVR_BANNER": "two\nlines"}})
    assert rc != 0
    assert "OVR_BANNER: an env value may not contain a line break" in out
    assert env_state(host) == before


def test_conflicting_legacy_file_stops_and_names_both(host):
    host.check_output("mkdir -p /srv/legacy && echo old > /srv/legacy/conflict.txt && echo keep > /srv/legacy/other.txt"
                      " && echo new > /etc/ovr/conflict.txt")
    try:
        rc, out = run_role({"layout_legacy_dirs": ["/srv/legacy"]})
        assert rc != 0
        assert "/srv/legacy/conflict.txt and /etc/ovr/conflict.txt differ" in out
        assert "nothing was changed" in out
        # nothing moved, nothing lost
        assert host.file("/srv/legacy/conflict.txt").content_string == "old\n"
        assert host.file("/srv/legacy/other.txt").content_string == "keep\n"
        assert host.file("/etc/ovr/conflict.txt").content_string == "new\n"
        assert not host.file("/etc/ovr/other.txt").exists
    finally:
        host.check_output("rm -rf /srv/legacy /etc/ovr/conflict.txt")


def test_resolved_conflict_then_merges(host):
    """After the operator keeps one version, the run moves the rest and links the folder."""
    host.check_output("mkdir -p /srv/legacy && echo same > /srv/legacy/same.txt && echo keep > /srv/legacy/other.txt"
                      " && echo same > /etc/ovr/same.txt")
    try:
        rc, out = run_role({"layout_legacy_dirs": ["/srv/legacy"]})
        assert rc == 0, out
        assert host.file("/srv/legacy").linked_to == "/etc/ovr"
        assert host.file("/etc/ovr/other.txt").content_string == "keep\n"
        assert host.file("/etc/ovr/same.txt").content_string == "same\n"
        assert "moved ['/srv/legacy/other.txt']" in out
    finally:
        host.check_output("rm -f /srv/legacy /etc/ovr/same.txt /etc/ovr/other.txt")
