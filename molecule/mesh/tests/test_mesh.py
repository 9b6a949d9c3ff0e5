"""The mesh on a multi-hop site (see ../molecule.yml): babeld routes across hops, Nebula tunnels
over them with the inventory's addresses, Nebula's firewall lets a site's nodes reach each other's
peer proxy port and nothing else, one node's certificate is re-signed when it nears its expiry
(and nothing else changes), and the overlay survives the loss of the A-B link without any
playbook run. Figures are printed (the verifier runs with -s)."""
import json
import os
import pathlib
import re
import subprocess
import time

import pytest

ROOT = pathlib.Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", pathlib.Path(__file__).resolve().parents[3]))
PKI = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "nebula-pki"
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
OVERLAY = {"mesh-a": "10.231.9.1", "mesh-b": "10.231.9.2", "mesh-c": "10.231.9.3", "mesh-d": "10.231.9.4",
           "mesh-cloud": "10.231.0.1"}
UNDERLAY = {"mesh-a": "10.98.9.1", "mesh-b": "10.98.9.2", "mesh-c": "10.98.9.3", "mesh-d": "10.98.9.4",
            "mesh-cloud": "10.98.0.1"}
# Each babel_interfaces name of molecule.yml and the network it must be on.
LINKS = {"mesh-a": {"eth0": "ab", "eth1": "ad", "eth2": "wan"}, "mesh-b": {"eth0": "ab", "eth1": "bc"},
         "mesh-c": {"eth0": "bc", "eth1": "dc"}, "mesh-d": {"eth0": "ad", "eth1": "dc"},
         "mesh-cloud": {"eth0": "wan"}}
PEER_PORT = 8080
RECAP_RE = re.compile(r"^(\S+)\s*: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def sh(node, script, check=True, timeout=60):
    proc = subprocess.run(["docker", "exec", node, "sh", "-c", script], capture_output=True, text=True,
                          timeout=timeout, check=False)
    if check:
        assert proc.returncode == 0, "%s: %s\n%s%s" % (node, script, proc.stdout, proc.stderr)
    return proc


def ip_on(node, network):
    out = subprocess.run(["docker", "inspect", node, "--format",
                          '{{ (index .NetworkSettings.Networks "ovr-mol-mesh-%s").IPAddress }}' % network],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def pings(node, target, count=1, wait=1):
    return sh(node, "ping -n -q -c %d -W %d %s" % (count, wait, target), check=False).returncode == 0


def wait_until(func, seconds, step=0.5):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if func():
            return True
        time.sleep(step)
    return func()


@pytest.mark.parametrize("node", sorted(LINKS))
def test_babel_interfaces_are_the_intended_links(node):
    for dev, network in LINKS[node].items():
        out = sh(node, "ip -4 -o addr show dev %s" % dev).stdout
        assert " %s/" % ip_on(node, network) in out, (node, dev, network, out)


def test_babel_routes_a_to_c_through_b():
    route = sh("mesh-a", "ip -4 route show %s proto babel" % UNDERLAY["mesh-c"]).stdout
    assert "via %s dev eth0" % ip_on("mesh-b", "ab") in route, route
    assert "src %s" % UNDERLAY["mesh-a"] in route, route
    # Nothing but the nodes' own addresses is announced: no link subnet, no default route.
    for node in LINKS:
        routes = sh(node, "ip -4 route show proto babel").stdout
        prefixes = {line.split()[0] for line in routes.splitlines() if line.strip()}
        assert prefixes <= set(UNDERLAY.values()) - {UNDERLAY[node]}, (node, routes)
        assert "default" not in routes


@pytest.mark.parametrize("node", sorted(OVERLAY))
def test_overlay_address_and_certificate_come_from_the_inventory(node):
    assert "inet %s/16" % OVERLAY[node] in sh(node, "ip -4 addr show dev nebula1").stdout
    cert = json.loads(sh(node, "nebula-cert print -json -path /etc/nebula/ovr/host.crt").stdout)["details"]
    assert cert["name"] == node and cert["ips"] == [OVERLAY[node] + "/16"]
    assert sorted(cert["groups"]) == (["cloud"] if node == "mesh-cloud" else ["edge", "site_mesh"])
    mode = sh(node, "stat -c %a /etc/nebula/ovr/host.key").stdout.strip()
    assert mode == "600"
    # The CA key never reaches a node.
    assert sh(node, "grep -rl 'NEBULA ED25519 PRIVATE KEY' /etc/nebula", check=False).stdout == ""


def test_ca_key_is_private_on_the_controller():
    assert oct((PKI / "ca.key").stat().st_mode & 0o777) == "0o600"
    assert oct(PKI.stat().st_mode & 0o777) == "0o700"


def test_a_reaches_c_over_the_overlay_across_two_hops():
    assert wait_until(lambda: pings("mesh-a", OVERLAY["mesh-c"], 1, 2), 30), "A cannot ping C's overlay address"
    assert pings("mesh-a", OVERLAY["mesh-c"], 5, 2)


def test_cloud_reaches_every_edge_over_the_overlay():
    for node in ("mesh-a", "mesh-b", "mesh-c", "mesh-d"):
        assert wait_until(lambda: pings("mesh-cloud", OVERLAY[node], 1, 2), 30), node


@pytest.fixture(scope="module")
def proxy_on_c():
    """A stand-in for C's peer proxy: an HTTP server on C's overlay address and peer port, and one on
    a port Nebula's firewall does not open."""
    for port in (PEER_PORT, 9099):
        sh("mesh-c", "mkdir -p /srv/probe && echo mesh-c > /srv/probe/id && (systemctl is-active -q mesh-probe-%d || "
                     "systemd-run --unit=mesh-probe-%d python3 -m http.server %d --bind %s --directory /srv/probe)"
           % (port, port, port, OVERLAY["mesh-c"]))
    time.sleep(1)
    yield
    for port in (PEER_PORT, 9099):
        sh("mesh-c", "systemctl stop mesh-probe-%d" % port, check=False)


def fetch(node, port, timeout=4):
    script = ("python3 -c \"import urllib.request,sys; "
              "print(urllib.request.urlopen('http://%s:%d/id', timeout=%d).read().decode().strip())\""
              % (OVERLAY["mesh-c"], port, timeout))
    return sh(node, script, check=False, timeout=timeout + 20)


def test_nebula_firewall_site_peer_reaches_the_peer_proxy_port(proxy_on_c):
    result = fetch("mesh-a", PEER_PORT)
    assert result.returncode == 0 and result.stdout.strip() == "mesh-c", result


def test_nebula_firewall_closes_everything_else(proxy_on_c):
    # C itself answers on 9099 (the server is up)...
    assert sh("mesh-c", "python3 -c \"import urllib.request; urllib.request.urlopen('http://%s:9099/id', timeout=3)\""
              % OVERLAY["mesh-c"], check=False).returncode == 0
    # ...but not to A (another port than the peer proxy's), nor to the cloud (not of the site).
    assert fetch("mesh-a", 9099).returncode != 0
    assert fetch("mesh-cloud", PEER_PORT).returncode != 0


def converge():
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, str(ROOT / "molecule" / "mesh" / "converge.yml")],
                          capture_output=True, text=True, timeout=900, cwd=str(ROOT), check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))
    recap = {m.group(1): (int(m.group(2)), int(m.group(3)), int(m.group(4))) for m in RECAP_RE.finditer(proc.stdout)}
    return proc, recap


def cert_of(node):
    return json.loads(sh(node, "nebula-cert print -json -path /etc/nebula/ovr/host.crt").stdout)


def test_a_cert_near_its_expiry_is_re_signed_alone_and_the_overlay_comes_back(tmp_path):
    """Shorten C's certificate to 10 days (inside nebula_cert_renew_before, 30): the next run
    re-signs exactly C's and changes nothing else; A's pings to C (every 0.2 s) answer again soon
    after the SIGHUP reload, without any restart. The figure says how many were lost."""
    pub = tmp_path / "host.pub"
    pub.write_text(sh("mesh-c", "cat /etc/nebula/ovr/host.pub").stdout)
    subprocess.run(["nebula-cert", "sign", "-ca-crt", str(PKI / "ca.crt"), "-ca-key", str(PKI / "ca.key"),
                    "-name", "mesh-c", "-ip", OVERLAY["mesh-c"] + "/16", "-groups", "site_mesh,edge",
                    "-in-pub", str(pub), "-out-crt", str(tmp_path / "host.crt"), "-duration", "240h"], check=True)
    subprocess.run(["docker", "cp", str(tmp_path / "host.crt"), "mesh-c:/etc/nebula/ovr/host.crt"], check=True)
    sh("mesh-c", "chown root:root /etc/nebula/ovr/host.crt && chmod 0644 /etc/nebula/ovr/host.crt "
                 "&& systemctl reload nebula@ovr")
    short = cert_of("mesh-c")
    before = {node: cert_of(node)["fingerprint"] for node in OVERLAY}
    # A pings C once every 0.2 s during the whole run.
    # (in the node: docker exec does not pass a signal on, and ping prints its count only on SIGINT)
    sh("mesh-a", "ping -n -i 0.2 -W 1 %s >/tmp/renew-ping.log 2>&1 & echo $! >/tmp/renew-ping.pid" % OVERLAY["mesh-c"])
    started = time.monotonic()
    proc, recap = converge()
    took = time.monotonic() - started
    recovered = wait_until(lambda: pings("mesh-a", OVERLAY["mesh-c"], 1, 1), 60)
    back_after = time.monotonic() - started - took
    sh("mesh-a", "kill -INT $(cat /tmp/renew-ping.pid)")
    time.sleep(1)
    ping_out = sh("mesh-a", "cat /tmp/renew-ping.log").stdout
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    after = {node: cert_of(node)["fingerprint"] for node in OVERLAY}
    assert [n for n in OVERLAY if before[n] != after[n]] == ["mesh-c"]
    renewed = cert_of("mesh-c")["details"]
    assert renewed["notAfter"] > short["details"]["notAfter"]
    signed = re.search(r"TASK \[ovr\.fleet\.nebula : Sign[^\n]*\n(.*?)\n(?:TASK|RUNNING HANDLER)", proc.stdout, re.S)
    assert signed, proc.stdout[-4000:]
    assert re.findall(r"changed: \[(mesh-[a-z]+)", signed.group(1)) == ["mesh-c"], signed.group(1)
    # Exactly C changed: its certificate (the signing on the controller, the copy, the reload).
    assert recap["mesh-c"][0] > 0, recap
    assert all(recap[n][0] == 0 for n in recap if n != "mesh-c"), recap
    stats = re.search(r"(\d+) packets transmitted, (\d+) received", ping_out)
    assert stats, ping_out[-2000:]
    sent, got = int(stats.group(1)), int(stats.group(2))
    print("\nFIGURE cert renewal: one run re-signed mesh-c only (changed: %s) in %.0f s; A->C overlay pings during "
          "the run and until A reaches C again (%.1f s after the run): %d sent, %d lost; C's cert now expires %s" % (
              ", ".join("%s=%d" % (n, recap[n][0]) for n in sorted(recap)), took, back_after, sent, sent - got,
              renewed["notAfter"]))
    assert recovered, "A never reached C again after C's certificate was renewed"


def test_failover_when_the_a_b_link_dies_without_any_playbook_run():
    """Cut B off the A-B network (the preferred path A-B-C): A reaches C again over A-D-C."""
    assert wait_until(lambda: pings("mesh-a", OVERLAY["mesh-c"], 1, 1), 20)
    subprocess.run(["docker", "network", "disconnect", "ovr-mol-mesh-ab", "mesh-b"], check=True)
    cut = time.monotonic()
    try:
        back = wait_until(lambda: pings("mesh-a", OVERLAY["mesh-c"], 1, 1), 120, step=0.2)
        took = time.monotonic() - cut
        route = sh("mesh-a", "ip -4 route show %s proto babel" % UNDERLAY["mesh-c"]).stdout
        print("\nFIGURE failover: A-B link cut; A's overlay ping to C answered again after %.1f s, "
              "route now: %s" % (took, route.strip()))
        assert back, "A never reached C again after the A-B link was cut"
        assert "dev eth1" in route, route  # through D
    finally:
        subprocess.run(["docker", "network", "connect", "ovr-mol-mesh-ab", "mesh-b"], check=False)
