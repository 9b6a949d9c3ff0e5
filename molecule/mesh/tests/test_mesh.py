"""The mesh on a multi-hop site (see ../molecule.yml): babeld routes across hops, Nebula tunnels
over them with the inventory's addresses, and A's nginx answers /api/peers/mesh-c/vm/... with the
series of C's VictoriaMetrics over the overlay (upstream C's 10.231.9.3). Nebula's firewall lets a
site's nodes reach each other's peer port and nothing else; the host firewall (ovr.fleet.firewall)
lets babeld and Nebula through and keeps nginx closed on the backhaul links; one node's certificate
is re-signed when it nears its expiry (and nothing else changes); the peer query survives the loss
of the A-B link without any playbook run. Everything is probed from the outside (connections and
requests), never read back from rules. Figures are printed (the verifier runs with -s)."""
import json
import os
import pathlib
import re
import socket
import subprocess
import time
import uuid

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
PEER_PORT = 8080  # edge_stack_http_port: the edges' nginx, the peer proxy
OTHER_PORT = 9099  # a port no rule opens
# The series verify writes into C's VictoriaMetrics (and nowhere else).
PROBE = "ovr_mesh_probe"
# step=1h: VictoriaMetrics looks back that far for the latest sample (the sample is written once
# and the tests after it, the certificate renewal's run included, take minutes).
PEER_QUERY = "/api/peers/mesh-c/vm/api/v1/query?query=%s&step=1h" % PROBE
RECAP_RE = re.compile(r"^(\S+)\s*: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
# What a node runs to make one HTTP request: prints "<status> <body>" (status 0: no answer).
HTTP_CLIENT = r"""
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
except Exception as e:
    print(0, type(e).__name__, e)
"""


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


def http(node, url, timeout=5):
    """(status, body) of one GET made on ``node`` (status 0: no HTTP answer)."""
    proc = subprocess.run(["docker", "exec", "-i", node, "python3", "-", url, str(timeout)], input=HTTP_CLIENT,
                          capture_output=True, text=True, timeout=timeout + 20, check=False)
    status, dummy, body = proc.stdout.strip().partition(" ")
    return int(status or 0), body


def probe_series(body):
    """The probe series in a VictoriaMetrics query answer: [(labels, value)]."""
    try:
        result = json.loads(body)["data"]["result"]
    except (ValueError, KeyError, TypeError):
        return []
    return [(r["metric"], r["value"][1]) for r in result]


def peer_query_answers(node="mesh-a", token="", timeout=5):
    status, body = http(node, "http://127.0.0.1:%d%s%s" % (PEER_PORT, PEER_QUERY, token), timeout)
    return status == 200 and probe_series(body) == [({"__name__": PROBE, "node": "mesh-c"}, "42")]


def nginx_log(node):
    return sh(node, "docker logs $(docker ps -q --filter label=com.docker.compose.project=ovr-edge "
                    "--filter label=com.docker.compose.service=nginx) 2>/dev/null").stdout


def tcp_open(address, port, timeout=2.0):
    """A connection from the controller (the host is on every scenario network)."""
    try:
        socket.create_connection((address, port), timeout).close()
        return True
    except OSError:
        return False


def a_b_link(state):
    """B's end of the A-B link (its eth0) goes down or up: to A it looks like a radio that dies (A's
    side keeps its carrier; only B's hellos stop). Not a `docker network disconnect`: Docker would
    connect B back on a new interface (eth2), which babeld is not configured for."""
    sh("mesh-b", "ip link set eth0 %s" % state)


@pytest.mark.parametrize("node", sorted(LINKS))
def test_babel_interfaces_are_the_intended_links(node):
    for dev, network in LINKS[node].items():
        out = sh(node, "ip -4 -o addr show dev %s" % dev).stdout
        assert " %s/" % ip_on(node, network) in out, (node, dev, network, out)


def test_babel_routes_a_to_c_through_b():
    route = sh("mesh-a", "ip -4 route show %s proto babel" % UNDERLAY["mesh-c"]).stdout
    assert "via %s dev eth0" % ip_on("mesh-b", "ab") in route, route
    assert "src %s" % UNDERLAY["mesh-a"] in route, route
    # Nothing but the nodes' own addresses is announced: no link subnet, no default route, and
    # none of the subnets of the nodes' own Docker.
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
    # The cloud's underlay path to B, C and D is routed by A, which runs Docker: Docker left the
    # FORWARD policy alone (forwarding was on before it started), so A still routes.
    for node in ("mesh-a", "mesh-b", "mesh-c", "mesh-d"):
        assert wait_until(lambda: pings("mesh-cloud", OVERLAY[node], 1, 2), 30), node


@pytest.fixture(scope="module")
def series_on_c():
    """One sample of ovr_mesh_probe{node="mesh-c"} = 42, a minute old, written into C's own
    VictoriaMetrics (published on C's 127.0.0.1:8428 only), and readable through C's own nginx."""
    line = json.dumps({"metric": {"__name__": PROBE, "node": "mesh-c"}, "values": [42],
                       "timestamps": [int(time.time() * 1000) - 60000]})
    sh("mesh-c", "python3 -c \"import sys, urllib.request; urllib.request.urlopen(urllib.request.Request("
                 "'http://127.0.0.1:8428/api/v1/import', data=sys.argv[1].encode()), timeout=10); "
                 "urllib.request.urlopen('http://127.0.0.1:8428/internal/force_flush', timeout=10)\" '%s'" % line)

    def local():
        status, body = http("mesh-c", "http://127.0.0.1:%d/api/vm/api/v1/query?query=%s&step=1h" % (PEER_PORT, PROBE))
        return status == 200 and len(probe_series(body)) == 1
    assert wait_until(local, 60, 1), "C's own nginx does not show the series written into C's VictoriaMetrics"
    yield


def test_a_nginx_answers_the_peer_query_with_c_series_over_the_overlay(series_on_c):
    token = "&probe=%s" % uuid.uuid4().hex
    assert wait_until(lambda: peer_query_answers(token=token), 30, 1), http(
        "mesh-a", "http://127.0.0.1:%d%s" % (PEER_PORT, PEER_QUERY))
    # A's nginx proxied it to C's overlay address (its access log names the upstream)...
    mine = [line for line in nginx_log("mesh-a").splitlines() if token[1:] in line]
    assert mine and all('200' in line.split('"')[2] for line in mine[-1:]), mine
    assert '"%s:%d"' % (OVERLAY["mesh-c"], PEER_PORT) in mine[-1], mine
    # ...and C's nginx saw it come from A's overlay address, on the peer's /api/vm/ route.
    theirs = [line for line in nginx_log("mesh-c").splitlines() if token[1:] in line]
    assert theirs and theirs[-1].startswith(OVERLAY["mesh-a"] + " "), theirs
    assert '"GET /api/vm/api/v1/query?query=%s' % PROBE in theirs[-1], theirs
    # The peer list and URLs are the LAN ones; only the upstream (peers.map) is the overlay address.
    peers = json.loads(http("mesh-a", "http://127.0.0.1:%d/api/peers" % PEER_PORT)[1])
    assert "mesh-c" in json.dumps(peers)
    assert '"mesh-c" "%s:%d";' % (OVERLAY["mesh-c"], PEER_PORT) in sh("mesh-a", "cat /etc/ovr/nginx.d/peers.map").stdout


def test_a_peer_without_a_stack_fails_fast(series_on_c):
    # B relays the mesh and runs no edge stack here: its entry in A's peer list answers 502 at once
    # (nothing listens behind its open port), not after the connect timeout.
    started = time.monotonic()
    status, dummy = http("mesh-a", "http://127.0.0.1:%d/api/peers/mesh-b/vm/api/v1/query?query=up" % PEER_PORT)
    assert status == 502 and time.monotonic() - started < 2.5, status
    # An id that is not a peer is not proxied anywhere.
    assert http("mesh-a", "http://127.0.0.1:%d/api/peers/mesh-x/vm/api/v1/query?query=up" % PEER_PORT)[0] == 404


@pytest.fixture(scope="module")
def other_port_servers():
    """Something listening on a port no rule opens: on C's overlay address, and on every address of A."""
    for node, bind in (("mesh-c", OVERLAY["mesh-c"]), ("mesh-a", "0.0.0.0")):
        sh(node, "mkdir -p /srv/probe && echo %s > /srv/probe/id && (systemctl is-active -q mesh-probe || "
                 "systemd-run --unit=mesh-probe python3 -m http.server %d --bind %s --directory /srv/probe)"
           % (node, OTHER_PORT, bind))
    time.sleep(1)
    yield
    for node in ("mesh-c", "mesh-a"):
        sh(node, "systemctl stop mesh-probe", check=False)


def test_nebula_firewall_closes_everything_else(series_on_c, other_port_servers):
    # C itself answers on 9099 (the server is up)...
    assert http("mesh-c", "http://%s:%d/id" % (OVERLAY["mesh-c"], OTHER_PORT))[0] == 200
    # ...but not to A (another port than the peer port: Nebula's firewall and the host's close it),
    assert http("mesh-a", "http://%s:%d/id" % (OVERLAY["mesh-c"], OTHER_PORT), 3)[0] == 0
    # and C's nginx on the peer port answers A (a site peer) but not the cloud (not of the site):
    # the host firewall opens the port on nebula1 to anyone, Nebula's firewall only to the site.
    assert http("mesh-a", "http://%s:%d/api/health" % (OVERLAY["mesh-c"], PEER_PORT))[0] == 200
    assert http("mesh-cloud", "http://%s:%d/api/health" % (OVERLAY["mesh-c"], PEER_PORT), 3)[0] == 0


def test_host_firewall_keeps_nginx_to_the_site_lan_and_the_overlay(series_on_c, other_port_servers):
    """From the controller (on every scenario network) and from D: the edge's nginx answers on a
    node's eth0 (its stand-in site LAN) and over Nebula, and nowhere else; a port no rule opens is
    closed on the site LAN too, though something listens there."""
    a_lan, a_backup, a_wan = ip_on("mesh-a", "ab"), ip_on("mesh-a", "ad"), ip_on("mesh-a", "wan")
    c_lan, c_backup = ip_on("mesh-c", "bc"), ip_on("mesh-c", "dc")
    seen = {addr: tcp_open(addr, PEER_PORT) for addr in (a_lan, a_backup, a_wan, c_lan, c_backup)}
    assert seen == {a_lan: True, a_backup: False, a_wan: False, c_lan: True, c_backup: False}, seen
    assert not tcp_open(a_lan, OTHER_PORT), "A's 9099 is open on its site LAN"
    assert http("mesh-a", "http://127.0.0.1:%d/id" % OTHER_PORT)[0] == 200  # it is listening
    # D, A's neighbour on the A-D backhaul: A's underlay address is closed to it (the packet comes in
    # on A's eth1), A's overlay address is open (nebula1; D is of the site).
    assert "dev eth0" in sh("mesh-d", "ip -4 route get %s" % UNDERLAY["mesh-a"]).stdout
    assert http("mesh-d", "http://%s:%d/api/health" % (UNDERLAY["mesh-a"], PEER_PORT), 3)[0] == 0
    assert http("mesh-d", "http://%s:%d/api/health" % (OVERLAY["mesh-a"], PEER_PORT))[0] == 200


def playbook(path):
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, str(path)],
                          capture_output=True, text=True, timeout=900, cwd=str(ROOT), check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))
    recap = {m.group(1): (int(m.group(2)), int(m.group(3)), int(m.group(4))) for m in RECAP_RE.finditer(proc.stdout)}
    return proc, recap


def converge():
    return playbook(ROOT / "molecule" / "mesh" / "converge.yml")


def a_reaches_c_through_b():
    """A pings C's underlay address (10.98.9.3) and C's overlay address; both go through B."""
    return pings("mesh-a", UNDERLAY["mesh-c"], 1, 1) and pings("mesh-a", OVERLAY["mesh-c"], 1, 1)


def test_a_relay_whose_docker_set_the_forward_policy_to_drop_forwards_again_after_the_babel_role(series_on_c, tmp_path):
    """The field bug: a relay's Docker started while forwarding was off and set the iptables FORWARD
    policy to DROP. Done here to B exactly as dockerd does it (`iptables -P FORWARD DROP`): A's
    traffic to C through B dies (babel still routes it through B: its hellos are not forwarded).
    The babel role run again on B accepts forwarding between B's babel interfaces in DOCKER-USER:
    A reaches C through B again, the policy still DROP; a second run changes nothing; and the rules
    come back by themselves when Docker restarts (ovr-babel-docker-user.service)."""
    via_b = "via %s dev eth0" % ip_on("mesh-b", "ab")

    def route_to_c():
        return sh("mesh-a", "ip -4 route show %s proto babel" % UNDERLAY["mesh-c"]).stdout

    assert wait_until(a_reaches_c_through_b, 30) and via_b in route_to_c(), route_to_c()
    book = tmp_path / "babel-on-b.yml"
    book.write_text("- name: The babel role again on B\n  hosts: mesh-b\n  become: true\n  gather_facts: false\n"
                    "  roles:\n    - role: ovr.fleet.babel\n")
    docker_user = "/usr/local/libexec/ovr/babel-docker-user"
    sh("mesh-b", "iptables -P FORWARD DROP")
    try:
        broken = {"underlay": pings("mesh-a", UNDERLAY["mesh-c"], 3, 1), "overlay": pings("mesh-a", OVERLAY["mesh-c"], 3, 1),
                  "peer query": peer_query_answers(timeout=3)}
        assert broken == {"underlay": False, "overlay": False, "peer query": False}, broken
        assert via_b in route_to_c(), route_to_c()
        started = time.monotonic()
        proc, recap = playbook(book)
        took = time.monotonic() - started
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        fixed = re.search(r"TASK \[ovr\.fleet\.babel : Accept forwarding between the babel interfaces[^\n]*\n(.*?)\n(?:TASK|PLAY)",
                          proc.stdout, re.S)
        assert fixed and "changed: [mesh-b]" in fixed.group(1), proc.stdout[-4000:]
        assert wait_until(a_reaches_c_through_b, 60), "A does not reach C through B after the babel role's run"
        assert wait_until(peer_query_answers, 60, 1), "A's peer query to C does not answer after the babel role's run"
        assert via_b in route_to_c(), route_to_c()
        rules = sh("mesh-b", "iptables -S FORWARD; iptables -S DOCKER-USER").stdout
        assert "-P FORWARD DROP" in rules, rules  # Docker's policy is left as it was
        for pair in ("-i eth0 -o eth1", "-i eth1 -o eth0"):
            assert pair in rules, rules
        again, recap_again = playbook(book)
        assert again.returncode == 0 and recap_again["mesh-b"][0] == 0, again.stdout[-4000:]
        # A Docker restart: the rules taken away first (the relay drops again), the unit puts them back.
        sh("mesh-b", "%s remove" % docker_user)
        assert not pings("mesh-a", UNDERLAY["mesh-c"], 2, 1), "B relays without the DOCKER-USER rules"
        sh("mesh-b", "systemctl restart docker.service")
        assert wait_until(a_reaches_c_through_b, 60), "the DOCKER-USER rules did not come back with Docker's restart"
        print("\nFIGURE forward policy DROP on relay B: A->C underlay, overlay and peer query all failed (%s); the "
              "babel role's run on B (%.0f s, changed=%d) made them work again through B with the policy still DROP; "
              "a second run changed %d; after a Docker restart the unit restored the rules" % (
                  broken, took, recap["mesh-b"][0], recap_again["mesh-b"][0]))
    finally:
        sh("mesh-b", "iptables -P FORWARD ACCEPT; %s remove" % docker_user, check=False)
    assert wait_until(a_reaches_c_through_b, 60)


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
    signed = re.search(r"TASK \[ovr\.fleet\.nebula : Sign \([^\n]*\n(.*?)\n(?:TASK|RUNNING HANDLER)", proc.stdout, re.S)
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


def test_failover_of_the_peer_query_when_the_a_b_link_dies_without_any_playbook_run(series_on_c):
    """Cut the A-B link (the preferred path A-B-C): A's peer query to C through A's nginx
    answers again over A-D-C (babeld reroutes the underlay, Nebula's tunnel rides on it), with the
    host firewalls on (babeld's hellos on the backup links and Nebula's UDP pass)."""
    assert wait_until(peer_query_answers, 30, 0.5)
    a_b_link("down")
    cut = time.monotonic()
    try:
        tries = []

        def answers():
            tries.append(time.monotonic())
            return peer_query_answers(timeout=5)
        back = wait_until(answers, 120, step=0.2)
        took = time.monotonic() - cut
        route = sh("mesh-a", "ip -4 route show %s proto babel" % UNDERLAY["mesh-c"]).stdout
        print("\nFIGURE failover: A-B link cut; A's peer query to C through A's nginx "
              "(/api/peers/mesh-c/vm/api/v1/query) answered with C's series again after %.1f s (%d requests), "
              "no playbook run; A's route to C now: %s" % (took, len(tries), route.strip()))
        assert back, "A's peer query to C never answered again after the A-B link was cut"
        assert "dev eth1" in route, route  # through D
    finally:
        a_b_link("up")
    assert wait_until(lambda: "dev eth0" in sh("mesh-a", "ip -4 route show %s proto babel" % UNDERLAY["mesh-c"]).stdout,
                      120, 1), "A's route to C did not come back through B once the A-B link was back"
