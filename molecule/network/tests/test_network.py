"""The firewall of two edge nodes, checked by real probes from a third container (the prober),
in order: the default state, each toggle flipped and restored, a broken rule set, a reload and a
restart of the rules, and the lock-out guard over a real SSH connection (testinfra + nmap +
ansible-playbook). Docker's own tables and the published ports are checked along the way."""
import json
import os
import subprocess
import xml.etree.ElementTree as ET

import pytest
import testinfra

SCENARIO = os.environ["MOLECULE_SCENARIO_DIRECTORY"]
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
KEY = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "net-ssh-key")
NODES = ("net-edge-a", "net-edge-b")
HTTP_PORT = {"net-edge-a": 80, "net-edge-b": 8080}
LAN, WIFI = "ovr-mol-net-lan", "ovr-mol-net-wifi"
IMAGE = "ovr-registry:5000/ovr/nginx:lab"
# Docker's tables, as converge recorded them (iptables-nft: the nft tables ip filter and ip nat).
DOCKER_TABLES = "iptables-save | grep -v '^#' | sed -E 's/\\[[0-9]+:[0-9]+\\]//' | sha256sum | cut -d' ' -f1"
OUR_TABLE = "nft -s list table inet ovr_firewall | sha256sum | cut -d' ' -f1"


def node(name):
    return testinfra.get_host("docker://" + name)


PROBER = node("net-prober")


def address(name, network):
    out = subprocess.run(["docker", "inspect", name, "--format", "{{json .NetworkSettings.Networks}}"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)[network]["IPAddress"]


ADDR = dict(((n, net), address(n, net)) for n in NODES for net in (LAN, WIFI))


def scan(targets):
    """Every TCP and UDP port of each target, probed once from the prober: {address: {(proto, port):
    state}} for the ports nmap did not find filtered (i.e. that the firewall let through)."""
    cmd = ("nmap -n -Pn -sS -sU -p T:1-65535,U:1-65535 --min-rate 12000 --max-retries 0 -oX - %s 2>&1"
           % " ".join(targets))
    out = PROBER.check_output(cmd)
    # A probe the prober itself could not send would look like a filtered port.
    assert "Operation not permitted" not in out and "sendto in send_ip_packet" not in out, out[-2000:]
    found = dict((t, {}) for t in targets)
    doc = ET.fromstring(out[out.index("<?xml"):])
    for host_el in doc.iter("host"):
        addr = host_el.find("address").get("addr")
        for port in host_el.iter("port"):
            state = port.find("state").get("state")
            if state not in ("filtered", "open|filtered"):
                found[addr][(port.get("protocol"), int(port.get("portid")))] = state
    return found


def answers_tcp(addr, port, timeout=3):
    return PROBER.run("nc -z -w %d %s %d" % (timeout, addr, port)).rc == 0


def answers_udp(addr, port):
    out = PROBER.run("echo probe | timeout 3 nc -u -w 2 %s %d" % (addr, port)).stdout
    return out.strip() == "udp-%d" % port


def apply(extra_vars=None, limit="net-edge-a", with_layout=True, ssh=False):
    """Run molecule/network/apply.yml (layout + firewall) again: over Docker, or over SSH from this
    machine into the node's LAN address (the lock-out guard then has a session to protect)."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], ".collections"))
    extra = dict(extra_vars or {}, net_with_layout=with_layout, net_hosts=limit)
    if ssh:
        extra.update(ansible_connection="ssh", ansible_host=ADDR[(limit, LAN)], ansible_user="root",
                     ansible_ssh_private_key_file=KEY,
                     ansible_ssh_common_args="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null")
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, "--limit", limit, "-e", json.dumps(extra),
                           os.path.join(SCENARIO, "apply.yml")],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def expected(name, lan=(), wifi=()):
    a, w = ADDR[(name, LAN)], ADDR[(name, WIFI)]
    return {a: dict((p, "open") for p in lan), w: dict((p, "open") for p in wifi)}


def check_scan(found, want):
    """What the scan let through is exactly ``want``; a lost probe (no retries) to a port that
    should answer is asked once more, by hand."""
    for addr, ports in want.items():
        for key in [k for k in ports if k not in found[addr] and k[0] == "tcp"]:
            if answers_tcp(addr, key[1]):
                found[addr][key] = "open"
        for key in [k for k in ports if k not in found[addr] and k[0] == "udp"]:
            if answers_udp(addr, key[1]):
                found[addr][key] = "open"
        assert found[addr] == ports, "%s: let through %s, expected %s" % (addr, found[addr], ports)


def default_ports(name):
    return [("tcp", 22), ("tcp", HTTP_PORT[name])]


@pytest.fixture(scope="module")
def tables_before():
    return dict((n, node(n).check_output(OUR_TABLE)) for n in NODES)


def test_lan_is_eth0_and_wifi_is_eth1():
    for name in NODES:
        lines = [l.split() for l in node(name).check_output("ip -o -4 addr show").splitlines()]
        addrs = dict((f[1], f[3].split("/")[0]) for f in lines)
        assert (addrs["eth0"], addrs["eth1"]) == (ADDR[(name, LAN)], ADDR[(name, WIFI)])


def test_the_listeners_behind_the_closed_ports_are_there():
    """Closed must mean dropped: on the node itself everything answers, the published 0.0.0.0:8081 too."""
    for name in NODES:
        host = node(name)
        for port in (22, HTTP_PORT[name], 8081, 9100):
            assert host.run("timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d'" % port).rc == 0, (name, port)
        assert "0.0.0.0:8081->80/tcp" in host.check_output("docker ps --format '{{.Ports}}'")
        for port in (5353, 4242, 6696, 9999):
            out = host.check_output(
                "python3 -c \"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); "
                "s.sendto(b'x', ('127.0.0.1', %d)); print(s.recv(64).decode())\"" % port)
            assert out.strip() == "udp-%d" % port


def test_default_only_ssh_and_the_edge_nginx_on_the_lan(tables_before):
    targets = [ADDR[(n, net)] for n in NODES for net in (LAN, WIFI)]
    found = scan(targets)
    for name in NODES:
        check_scan(found, expected(name, lan=default_ports(name)))


def test_allowed_ports_answer_for_real():
    for name in NODES:
        lan = ADDR[(name, LAN)]
        assert PROBER.check_output("timeout 5 nc -w 3 %s 22 </dev/null | head -c 8" % lan) == "SSH-2.0-"
        assert PROBER.check_output("curl -s -m 5 -o /dev/null -w '%%{http_code}' http://%s:%d/" % (lan, HTTP_PORT[name])) == "200"
        # The container published on every address, and the node's own listener: dropped.
        assert PROBER.run("curl -s -m 3 http://%s:8081/" % lan).rc == 28
        assert not answers_tcp(lan, 9100)
        assert not answers_tcp(ADDR[(name, WIFI)], HTTP_PORT[name])


def test_peer_proxy_path_node_and_container_to_the_peer_nginx():
    a_lan = ADDR[("net-edge-a", LAN)]
    edge_b = node("net-edge-b")
    assert edge_b.check_output("python3 -c \"import urllib.request as u; "
                               "print(u.urlopen('http://%s/', timeout=5).status)\"" % a_lan) == "200"
    # As the edge's nginx does it: a container of edge-b, out through Docker's NAT, to edge-a.
    assert "HTTP/1.1 200" in edge_b.check_output(perl_get(a_lan, 80))


def perl_get(addr, port):
    return ("docker run --rm --entrypoint perl %s -MIO::Socket::INET -e '$s = IO::Socket::INET->new("
            "PeerAddr => \"%s:%d\", Timeout => 5) or die \"connect: $!\"; print $s \"GET / HTTP/1.0\\r\\n\\r\\n\"; "
            "print scalar <$s>;'" % (IMAGE, addr, port))


def test_outbound_from_the_node_and_its_containers_still_works():
    """The cloud's remote write, apt: the prober stands in for the cloud (HTTP on 18080)."""
    cloud = address("net-prober", LAN)
    for name in NODES:
        host = node(name)
        assert host.check_output("python3 -c \"import urllib.request as u; "
                                 "print(u.urlopen('http://%s:18080/', timeout=5).status)\"" % cloud) == "200"
        assert "HTTP/1.0 200" in host.check_output(perl_get(cloud, 18080))


def test_docker_tables_intact_after_apply_and_reapply():
    for name in NODES:
        host = node(name)
        runs = host.check_output("cat /var/tmp/net-docker-tables").splitlines()
        # converge and the idempotence run: before and after the firewall, each time.
        assert len(runs) >= 4
        hashes = set(line.split()[0] for line in runs)
        assert hashes == {host.check_output(DOCKER_TABLES)}, runs
        tables = host.check_output("nft list tables")
        assert {"table ip filter", "table ip nat", "table inet ovr_firewall"} <= set(tables.splitlines())
        dnat = host.check_output("iptables -t nat -S DOCKER")
        assert "--dport %d -j DNAT" % HTTP_PORT[name] in dnat and "--dport 8081 -j DNAT" in dnat


def test_nftables_service_cannot_flush_and_ours_loads_at_boot():
    for name in NODES:
        host = node(name)
        assert host.check_output("systemctl is-enabled nftables.service || true") == "masked"
        assert host.check_output("systemctl is-enabled ovr-firewall.service") == "enabled"
        assert host.check_output("systemctl is-active ovr-firewall.service") == "active"


def test_wifi_toggle_opens_the_management_ports_on_wifi_only(tables_before):
    rc, out = apply({"layout_edge_env": {"ALLOW_WIFI_MGMT": "1"}})
    assert rc == 0, out[-3000:]
    assert "ALLOW_WIFI_MGMT='1'" in node("net-edge-a").check_output("cat /etc/ovr/edge.env")
    found = scan([ADDR[("net-edge-a", LAN)], ADDR[("net-edge-a", WIFI)]])
    check_scan(found, expected("net-edge-a", lan=default_ports("net-edge-a"), wifi=default_ports("net-edge-a")))
    # The other node was not touched.
    assert not answers_tcp(ADDR[("net-edge-b", WIFI)], 22)


def test_mdns_toggle_opens_udp_5353_on_the_lan_only():
    rc, out = apply({"layout_edge_env": {"ALLOW_MDNS": "1"}})
    assert rc == 0, out[-3000:]
    found = scan([ADDR[("net-edge-a", LAN)], ADDR[("net-edge-a", WIFI)]])
    check_scan(found, expected("net-edge-a", lan=default_ports("net-edge-a") + [("udp", 5353)]))
    assert answers_udp(ADDR[("net-edge-a", LAN)], 5353)
    assert not answers_udp(ADDR[("net-edge-a", WIFI)], 5353)


def test_a_toggle_set_beside_edge_env_is_refused():
    """The node's edge.env (ALLOW_MDNS='1' now) and the rules may not disagree."""
    before = node("net-edge-a").check_output(OUR_TABLE)
    rc, out = apply({"layout_edge_env": {"ALLOW_MDNS": "1"}, "firewall_allow_mdns": False}, with_layout=False)
    assert rc != 0
    assert "firewall_allow_mdns (false) disagree(s) with layout_edge_env" in out
    assert node("net-edge-a").check_output(OUR_TABLE) == before


def test_broken_rules_are_refused_and_the_loaded_rules_stay():
    host = node("net-edge-a")
    before = (host.check_output(OUR_TABLE), host.check_output("sha256sum /etc/ovr/firewall.nft"))
    rc, out = apply({"layout_edge_env": {"ALLOW_MDNS": "1"}, "firewall_extra_rules": ["tcp dport 70000 accept"]},
                    with_layout=False)
    assert rc != 0
    assert "/etc/ovr/firewall.nft: the new content failed validation" in out, out[-3000:]
    assert "/etc/ovr/firewall.nft (new)" in out and "Service out of range" in out, out[-3000:]
    assert (host.check_output(OUR_TABLE), host.check_output("sha256sum /etc/ovr/firewall.nft")) == before
    assert answers_udp(ADDR[("net-edge-a", LAN)], 5353)


def test_a_failed_load_leaves_the_previous_rules():
    """nft -f is one transaction: a file that deletes our table and then fails changes nothing."""
    host = node("net-edge-a")
    before = host.check_output(OUR_TABLE)
    host.check_output("printf '%s\\n' 'delete table inet ovr_firewall' 'table inet ovr_firewall {' "
                      "'chain input { type filter hook input priority filter; policy accept; }' "
                      "'}' 'add rule inet ovr_firewall input tcp dport 99999 accept' > /var/tmp/net-bad.nft")
    assert host.run("nft -f /var/tmp/net-bad.nft").rc != 0
    assert host.check_output(OUR_TABLE) == before
    assert not answers_tcp(ADDR[("net-edge-a", LAN)], 9100)


def test_reload_and_restart_of_the_rules_keep_docker_and_the_published_ports():
    for name in NODES:
        host = node(name)
        docker_before, ours = host.check_output(DOCKER_TABLES), host.check_output(OUR_TABLE)
        host.check_output("systemctl reload ovr-firewall.service")
        assert (host.check_output(DOCKER_TABLES), host.check_output(OUR_TABLE)) == (docker_before, ours)
        # Stop deletes our table only; start loads it again (what a reboot does).
        host.check_output("systemctl stop ovr-firewall.service")
        assert "table inet ovr_firewall" not in host.check_output("nft list tables")
        assert host.check_output(DOCKER_TABLES) == docker_before
        host.check_output("systemctl start ovr-firewall.service")
        assert (host.check_output(DOCKER_TABLES), host.check_output(OUR_TABLE)) == (docker_before, ours)
        lan = ADDR[(name, LAN)]
        assert PROBER.check_output("curl -s -m 5 -o /dev/null -w '%%{http_code}' http://%s:%d/" % (lan, HTTP_PORT[name])) == "200"
        assert PROBER.run("curl -s -m 3 http://%s:8081/" % lan).rc == 28


def test_lockout_guard_refuses_rules_that_would_drop_ansibles_ssh():
    """Over SSH from this machine to edge-a's LAN address (eth0): rules keeping SSH on eth1 only."""
    host = node("net-edge-a")
    before = host.check_output(OUR_TABLE)
    rc, out = apply({"layout_edge_env": {"ALLOW_MDNS": "1"}, "firewall_mgmt_interfaces": ["eth1"],
                     "firewall_wifi_interfaces": []}, with_layout=False, ssh=True)
    assert rc != 0, out[-3000:]
    assert "net-edge-a: the new firewall rules would lock Ansible out: its SSH connection from" in out
    assert "arrives on eth0" in out and "Add eth0 to firewall_mgmt_interfaces" in out
    assert host.check_output(OUR_TABLE) == before


def test_restore_over_ssh_back_to_the_default(tables_before):
    rc, out = apply(ssh=True)
    assert rc == 0, out[-3000:]
    assert "stays allowed (management)" in out
    host = node("net-edge-a")
    assert host.check_output(OUR_TABLE) == tables_before["net-edge-a"]
    assert "ALLOW_MDNS" not in host.check_output("cat /etc/ovr/edge.env")
    a_lan, a_wifi = ADDR[("net-edge-a", LAN)], ADDR[("net-edge-a", WIFI)]
    assert not answers_udp(a_lan, 5353)
    assert not answers_tcp(a_wifi, 22)
    assert answers_tcp(a_lan, 22) and answers_tcp(a_lan, 80)
