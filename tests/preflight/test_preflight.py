# -*- coding: utf-8 -*-
"""playbooks/preflight.yml through REAL ansible-playbook runs.

Every bad inventory is run twice:

* through playbooks/preflight.yml alone;
* through a playbook shaped like playbooks/site.yml (the preflight imported
  first, then a play on ``hosts: all`` with a task).

Every host in these inventories is unreachable on contact (ssh to a closed
port on 127.0.0.1), so a host that is contacted shows up in the PLAY RECAP.
For a bad inventory the recap must list localhost only (failed), the exit
code must be non-zero and the message must name the host (or group) and the
variable. The good inventories prove the harness: their site-shaped run does
reach the hosts (unreachable), after the preflight passed.

All ansible-playbook runs are started together in a thread pool once per
module; the tests then only read the results.
"""

import concurrent.futures
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PREFLIGHT = os.path.join(REPO, "playbooks", "preflight.yml")
EXAMPLE = os.path.join(REPO, "inventories", "example")
FIXTURES = os.path.join(HERE, "inventories")

# Unreachable on contact, loopback only: nothing listens on port 1.
UNREACHABLE = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1}

RECAP_RE = re.compile(
    r"^(?P<host>\S+)\s*: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)", re.M)


def base():
    """A valid fleet: site_north (edge-a, edge-b), site_south (edge-c), cloud-1."""
    return {
        "all": {
            "vars": dict(UNREACHABLE),
            "children": {
                "edge": {"children": {
                    "site_north": {
                        "vars": {"ovr_site_id": 1, "ovr_site_name": "North"},
                        "hosts": {
                            "edge-a": {"ovr_node_id": 1, "ovr_gx_targets": ["venus.local"]},
                            "edge-b": {"ovr_node_id": 2},
                        },
                    },
                    "site_south": {
                        "vars": {"ovr_site_id": 2, "ovr_site_name": "South"},
                        "hosts": {"edge-c": {"ovr_node_id": 1}},
                    },
                }},
                "cloud": {"hosts": {"cloud-1": None}},
            },
        }
    }


def _sites(inv):
    return inv["all"]["children"]["edge"]["children"]


def _host(inv, site, host):
    hosts = _sites(inv)[site]["hosts"]
    if hosts.get(host) is None:
        hosts[host] = {}
    return hosts[host]


def case(func):
    inv = base()
    func(inv)
    return inv


WIFI_SECRET = "Zq7!kw"
WIFI_CSV = os.path.join(FIXTURES, "bad_wifi.csv")

# name -> (inventory mutation, extra args, strings the output must contain)
BAD = {
    "node_id_missing": (
        lambda i: _host(i, "site_north", "edge-b").pop("ovr_node_id"), [],
        ["edge-b (site_north): ovr_node_id is not set"]),
    "node_id_string": (
        lambda i: _host(i, "site_north", "edge-b").update(ovr_node_id="two"), [],
        ["edge-b (site_north): ovr_node_id must be an integer 1-254"]),
    "node_id_bool": (
        lambda i: _host(i, "site_north", "edge-b").update(ovr_node_id=True), [],
        ["edge-b (site_north): ovr_node_id must be an integer 1-254, got a boolean"]),
    "node_id_out_of_range": (
        lambda i: _host(i, "site_north", "edge-b").update(ovr_node_id=255), [],
        ["edge-b (site_north): ovr_node_id must be between 1 and 254, got 255"]),
    "node_id_duplicate": (
        lambda i: _host(i, "site_north", "edge-b").update(ovr_node_id=1), [],
        ["edge-b (site_north): ovr_node_id 1 is already used by edge-a"]),
    "site_id_missing": (
        lambda i: _sites(i)["site_south"]["vars"].pop("ovr_site_id"), [],
        ["site_south: ovr_site_id is not set"]),
    "site_id_out_of_range": (
        lambda i: _sites(i)["site_south"]["vars"].update(ovr_site_id=0), [],
        ["site_south: ovr_site_id must be between 1 and 254, got 0"]),
    "site_id_float": (
        lambda i: _sites(i)["site_south"]["vars"].update(ovr_site_id=1.5), [],
        ["site_south: ovr_site_id must be an integer 1-254, got a float"]),
    "site_id_duplicate": (
        lambda i: _sites(i)["site_south"]["vars"].update(ovr_site_id=1), [],
        ["site_south: ovr_site_id 1 is already used by site_north"]),
    "site_id_overridden_on_a_host": (
        lambda i: _host(i, "site_north", "edge-b").update(ovr_site_id=5), [],
        ["site_north: ovr_site_id differs between its hosts (edge-a: 1, edge-b: 5)"]),
    "site_name_missing": (
        lambda i: _sites(i)["site_south"]["vars"].pop("ovr_site_name"), [],
        ["site_south: ovr_site_name is not set"]),
    "edge_host_in_no_site": (
        lambda i: i["all"]["children"]["edge"].update(hosts={"edge-z": {"ovr_node_id": 9}}), [],
        ["edge-z: edge host is in no site_<name> group"]),
    "host_in_two_sites": (
        lambda i: _sites(i)["site_south"]["hosts"].update({"edge-a": None}), [],
        ["edge-a: is in 2 site groups (site_north, site_south)", "ovr_site_id"]),
    "site_group_not_under_edge": (
        lambda i: i["all"]["children"].update(site_rogue={
            "vars": {"ovr_site_id": 9, "ovr_site_name": "Rogue"},
            "hosts": {"rogue-1": {"ovr_node_id": 1}}}), [],
        ["rogue-1 (site_rogue): site group site_rogue is not under group edge"]),
    "host_in_edge_and_cloud": (
        lambda i: i["all"]["children"]["cloud"]["hosts"].update({"edge-c": None}), [],
        ["edge-c: is in both edge and cloud"]),
    "gx_targets_not_a_list": (
        lambda i: _host(i, "site_north", "edge-a").update(ovr_gx_targets="venus.local"), [],
        ["edge-a (site_north): ovr_gx_targets must be a list"]),
    "gx_target_bad_host": (
        lambda i: _host(i, "site_north", "edge-a").update(ovr_gx_targets=["venus..local"]), [],
        ["edge-a (site_north): ovr_gx_targets[0] 'venus..local' is not a valid host name"]),
    "gx_target_bad_port": (
        lambda i: _host(i, "site_north", "edge-a").update(ovr_gx_targets=["venus.local:70000"]), [],
        ["edge-a (site_north): ovr_gx_targets[0] 'venus.local:70000' port 70000 is out of range"]),
    "gx_target_bad_ipv6": (
        lambda i: _host(i, "site_north", "edge-a").update(ovr_gx_targets=["[2001:db8::zz]:1883"]), [],
        ["edge-a (site_north): ovr_gx_targets[0] '[2001:db8::zz]:1883' has an invalid IPv6"]),
    "gx_target_duplicate": (
        lambda i: _host(i, "site_north", "edge-a").update(
            ovr_gx_targets=["venus.local", "192.0.2.7", "venus.local:1883"]), [],
        ["edge-a (site_north): ovr_gx_targets[2] 'venus.local:1883' duplicates ovr_gx_targets[0]"]),
    "peer_id_unsafe": (
        lambda i: _sites(i)["site_north"]["hosts"].update({"Edge_D": {"ovr_node_id": 4}}), [],
        ["Edge_D (site_north): inventory hostname 'Edge_D' is not a valid peer id"]),
    "peer_address_bad": (
        lambda i: _host(i, "site_north", "edge-b").update(ovr_peer_address="edge b.lan"), [],
        ["edge-b (site_north): peer address 'edge b.lan' (from ovr_peer_address)"]),
    "no_cloud_when_required": (
        lambda i: i["all"]["children"].pop("cloud"), ["-e", "ovr_preflight_require_cloud=true"],
        ["cloud: no cloud node in the inventory"]),
    "undefined_templates": (
        lambda i: (_host(i, "site_north", "edge-b").update(ovr_node_id="{{ nope }}"),
                   _host(i, "site_north", "edge-a").update(ovr_gx_targets=["{{ nope2 }}"])), [],
        ["edge-b (site_north): ovr_node_id could not be templated: 'nope' is undefined",
         "edge-a (site_north): ovr_gx_targets could not be templated: 'nope2' is undefined"]),
    # Wi-Fi networks (plugins/module_utils/wifi.py, the same rules as the ovr.fleet.wifi role).
    "wifi_psk_too_short": (
        lambda i: _host(i, "site_north", "edge-a").update(wifi_networks=[{"ssid": "HQ", "psk": WIFI_SECRET}]), [],
        ["edge-a (site_north): wifi_networks[0] network 'HQ': psk must be 8 to 63 characters (or 64 hex "
         "digits), got 6 characters"]),
    "wifi_ssid_too_long": (
        lambda i: _host(i, "site_north", "edge-a").update(wifi_networks=[{"ssid": "é" * 17, "psk": "12345678"}]), [],
        ["edge-a (site_north): wifi_networks[0] network '%s': ssid is 34 bytes long (UTF-8); at most 32" % ("é" * 17)]),
    "wifi_site_duplicate_ssid": (
        lambda i: _sites(i)["site_north"]["vars"].update(wifi_site_networks=[
            {"ssid": "HQ", "psk": "12345678"}, {"ssid": "HQ", "psk": "87654321", "priority": 2}]), [],
        ["edge-a (site_north): wifi_site_networks[1] network 'HQ': duplicate ssid (also wifi_site_networks[0])",
         "edge-b (site_north): wifi_site_networks[1] network 'HQ': duplicate ssid (also wifi_site_networks[0])"]),
    "wifi_priority_and_hidden": (
        lambda i: _host(i, "site_south", "edge-c").update(wifi_networks=[
            {"ssid": "Crew", "psk": "12345678", "priority": "high", "hidden": "maybe", "band": "n"}]), [],
        ["edge-c (site_south): wifi_networks[0] network 'Crew': priority must be an integer -999..999, got a "
         "string 'high'",
         "edge-c (site_south): wifi_networks[0] network 'Crew': hidden must be a boolean (true or false)",
         "edge-c (site_south): wifi_networks[0] network 'Crew': band must be a (5 GHz), bg (2.4 GHz) or empty"]),
    "wifi_csv_bad_row": (
        lambda i: _host(i, "site_south", "edge-c").update(wifi_networks_csv=WIFI_CSV), [],
        ["edge-c (site_south): %s line 3: expected 6 fields (ssid,psk,priority,hidden,band,interface), got 4"
         % WIFI_CSV]),
    "several_errors_at_once": (
        lambda i: (_host(i, "site_north", "edge-b").update(ovr_node_id=1),
                   _sites(i)["site_south"]["vars"].update(ovr_site_id=300),
                   _host(i, "site_south", "edge-c").update(ovr_gx_targets=["gx:0"])), [],
        ["Fleet preflight: 3 inventory error(s)",
         "edge-b (site_north): ovr_node_id 1 is already used by edge-a",
         "site_south: ovr_site_id must be between 1 and 254, got 300",
         "edge-c (site_south): ovr_gx_targets[0] 'gx:0' port 0 is out of range"]),
    "ini_inventory": (
        os.path.join(FIXTURES, "bad.ini"), [],
        ["Fleet preflight: 3 inventory error(s)",
         "edge-b (site_north): ovr_node_id must be an integer 1-254, got the string '07'",
         "edge-c: edge host is in no site_<name> group",
         "edge-d (site_south): site group site_south is not under group edge"]),
}

GOOD = {
    "example": EXAMPLE,
    "minimal": os.path.join(FIXTURES, "good_minimal.yml"),
    "ini": os.path.join(FIXTURES, "good.ini"),
}

SITE_SHAPED = """---
- name: Preflight, as playbooks/site.yml imports it
  ansible.builtin.import_playbook: {preflight}

- name: A play that contacts every host
  hosts: all
  gather_facts: false
  tasks:
    - name: Contact the host
      ansible.builtin.ping:
"""


def _collections_path():
    if os.environ.get("ANSIBLE_COLLECTIONS_PATH"):
        return os.environ["ANSIBLE_COLLECTIONS_PATH"]
    for entry in sys.path:
        if os.path.isdir(os.path.join(entry or ".", "ansible_collections", "ovr", "fleet")):
            return os.path.abspath(entry)
    pytest.skip("no ansible_collections/ovr/fleet on sys.path or ANSIBLE_COLLECTIONS_PATH")
    return None  # pragma: no cover


def _ansible_playbook():
    candidate = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which("ansible-playbook")
    if not found:
        pytest.skip("ansible-playbook not found")
    return found


class Run(object):
    def __init__(self, argv, proc):
        self.argv = argv
        self.rc = proc.returncode
        self.out = proc.stdout + proc.stderr
        self.recap = {m.group("host"): {k: int(v) for k, v in m.groupdict().items() if k != "host"}
                      for m in RECAP_RE.finditer(proc.stdout)}

    def __repr__(self):
        return "rc=%s argv=%s\n%s" % (self.rc, " ".join(self.argv), self.out)


def _no_host_contacted(inv):
    """Guard the harness: only loopback, unreachable-on-contact hosts."""
    def walk(group):
        for hostvars in (group.get("hosts") or {}).values():
            for key in ("ansible_host", "ansible_connection", "ansible_port"):
                assert key not in (hostvars or {}), "fixtures must not override %s" % key
        for child in (group.get("children") or {}).values():
            walk(child or {})
    walk(inv["all"])
    assert {k: inv["all"]["vars"][k] for k in UNREACHABLE} == UNREACHABLE


def run_preflight_cases(work, cases, make_base, workers):
    """Each case (name: a function that breaks or changes the inventory make_base() gives) written
    as an inventory and run through playbooks/preflight.yml by a real ansible-playbook, ``workers``
    at a time; {name: Run}. The other preflight test modules use this harness."""
    cfg = work / "ansible.cfg"
    cfg.write_text("[defaults]\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(cfg), ANSIBLE_COLLECTIONS_PATH=_collections_path(),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="False",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_LOCAL_TEMP=str(work / "tmp"),
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False")
    binary = _ansible_playbook()
    jobs = {}
    for name, func in cases.items():
        inv = make_base()
        func(inv)
        _no_host_contacted(inv)
        path = work / ("%s.yml" % name)
        path.write_text(yaml.safe_dump(inv, sort_keys=False))
        jobs[name] = [binary, "-i", str(path), PREFLIGHT]

    def run(argv):
        proc = subprocess.run(argv, cwd=str(work), env=env, capture_output=True, text=True, timeout=120, check=False)
        return Run(argv, proc)

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {key: pool.submit(run, argv) for key, argv in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("preflight")
    cfg = work / "ansible.cfg"
    cfg.write_text("[defaults]\n")
    site = work / "site.yml"
    site.write_text(SITE_SHAPED.format(preflight=PREFLIGHT))
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": str(cfg),
        "ANSIBLE_COLLECTIONS_PATH": _collections_path(),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
        "ANSIBLE_LOCAL_TEMP": str(work / "tmp"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(work / "cp"),
        "ANSIBLE_TIMEOUT": "5",
        # Only ansible.builtin and ovr.fleet are needed; not scanning the
        # bundled collections saves ~0.3 s per run.
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
    })
    binary = _ansible_playbook()

    jobs = {}
    for name, (spec, extra, dummy) in BAD.items():
        if callable(spec):
            inv = case(spec)
            _no_host_contacted(inv)
            path = work / ("%s.yml" % name)
            path.write_text(yaml.safe_dump(inv, sort_keys=False))
            spec = str(path)
        jobs[("bad", name, "preflight")] = [binary, "-i", spec, PREFLIGHT] + extra
        jobs[("bad", name, "site")] = [binary, "-i", spec, str(site)] + extra
    for name, path in GOOD.items():
        jobs[("good", name, "preflight")] = [binary, "-i", path, PREFLIGHT]
    for name in ("minimal", "ini"):  # loopback-only inventories may be contacted
        jobs[("good", name, "site")] = [binary, "-i", GOOD[name], str(site)]
    # --limit without localhost: the preflight must run in the limited play.
    bad_path = str(work / "node_id_duplicate.yml")
    jobs[("limit", "bad", "site")] = [binary, "-i", bad_path, str(site), "--limit", "edge-a"]
    jobs[("limit", "good", "site")] = [binary, "-i", GOOD["minimal"], str(site), "--limit", "edge-a"]
    # The collection's own provisioning playbooks, each with a bad inventory, and edge.yml under --limit.
    for playbook in ("site", "edge", "cloud"):
        jobs[("real", playbook)] = [binary, "-i", bad_path, os.path.join(REPO, "playbooks", playbook + ".yml")]
    jobs[("real", "edge --limit")] = [binary, "-i", bad_path, os.path.join(REPO, "playbooks", "edge.yml"),
                                      "--limit", "edge-b"]

    # The real playbooks' roles use community.* modules: those runs scan the bundled collections.
    env_real = dict(env, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="True")

    def run(argv, run_env):
        proc = subprocess.run(argv, cwd=str(work), env=run_env, capture_output=True, text=True,
                              timeout=120, check=False)
        return Run(argv, proc)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, (os.cpu_count() or 2) * 2)) as pool:
        futures = {key: pool.submit(run, argv, env_real if key[0] == "real" else env) for key, argv in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


def test_enough_bad_inventories():
    assert len(BAD) >= 20


@pytest.mark.parametrize("playbook", ["preflight", "site"])
@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_inventory_fails_before_any_host_is_contacted(runs, name, playbook):
    result = runs[("bad", name, playbook)]
    assert result.rc != 0, result
    # Only the controller-side preflight ran: no edge/cloud host in the recap.
    assert list(result.recap) == ["localhost"], result
    assert result.recap["localhost"]["failed"] == 1, result
    assert "UNREACHABLE" not in result.out, result
    assert "TASK [Contact the host]" not in result.out, result
    assert re.search(r"Fleet preflight: \d+ inventory error\(s\)", result.out), result
    for expected in BAD[name][2]:
        assert expected in result.out, result


@pytest.mark.parametrize("playbook", ["preflight", "site"])
def test_wifi_messages_never_show_the_psk(runs, playbook):
    result = runs[("bad", "wifi_psk_too_short", playbook)]
    assert "network 'HQ': psk must be" in result.out, result
    assert WIFI_SECRET not in result.out, result


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_inventory_passes(runs, name):
    result = runs[("good", name, "preflight")]
    assert result.rc == 0, result
    assert "Fleet preflight passed" in result.out, result
    # The guard play's one task is skipped (run_once) on the first host: no contact.
    for host, counts in result.recap.items():
        if host != "localhost":
            assert counts["ok"] == counts["unreachable"] == counts["failed"] == 0, result


def test_example_inventory_summary(runs):
    result = runs[("good", "example", "preflight")]
    assert ("Fleet preflight passed: 2 site(s) [site_north, site_south], 5 edge node(s), "
            "1 cloud node(s) [cloud-1]") in result.out, result
    # No fleet warnings (the warnings task is skipped) and no Ansible warnings.
    assert not re.search(r"TASK \[Report inventory warnings\][^\n]*\nok:", result.out), result
    assert "[WARNING]" not in result.out, result


@pytest.mark.parametrize("name", ["minimal", "ini"])
def test_harness_detects_contact(runs, name):
    """Control: after a passing preflight the next play does reach the hosts."""
    result = runs[("good", name, "site")]
    assert result.rc != 0, result
    contacted = {h for h, r in result.recap.items() if h != "localhost"}
    assert contacted, result
    assert all(result.recap[h]["unreachable"] == 1 for h in contacted), result
    assert result.recap["localhost"]["failed"] == 0, result


def test_limit_without_localhost_still_validates(runs):
    """--limit edge-a leaves localhost out: the preflight then runs in the limited play, once, on
    the controller. A bad inventory still stops before any host is contacted..."""
    result = runs[("limit", "bad", "site")]
    assert result.rc != 0, result
    assert re.search(r"Fleet preflight: \d+ inventory error\(s\)", result.out), result
    assert "TASK [Contact the host]" not in result.out, result
    assert all(r["unreachable"] == 0 for r in result.recap.values()), result
    # ...and a good one passes the preflight, then the limited run goes on to its host.
    result = runs[("limit", "good", "site")]
    assert "Fleet preflight passed" in result.out, result
    assert "TASK [Contact the host]" in result.out, result
    assert result.recap["edge-a"]["unreachable"] == 1, result


@pytest.mark.parametrize("playbook", ["site", "edge", "cloud", "edge --limit"])
def test_provisioning_playbooks_stop_at_the_preflight(runs, playbook):
    """playbooks/site.yml, edge.yml and cloud.yml themselves: a bad inventory stops the run with the
    preflight's message, before any role starts and before any host is contacted."""
    result = runs[("real", playbook)]
    assert result.rc != 0, result
    assert re.search(r"Fleet preflight: \d+ inventory error\(s\)", result.out), result
    assert "edge-b (site_north): ovr_node_id 1 is already used by edge-a" in result.out, result
    assert "ovr.fleet." not in "".join(re.findall(r"^TASK \[.*$", result.out, re.M)), result
    # Under --limit the preflight's tasks run delegated to the controller and count on the limited host.
    assert all(r["unreachable"] == 0 for r in result.recap.values()), result
