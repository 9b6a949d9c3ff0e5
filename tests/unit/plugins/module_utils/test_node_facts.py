"""The node reader behind ovr.fleet.node_facts: each part from the text a node gives, and a part
that cannot be read left empty and named, never a failure."""
from ansible_collections.ovr.fleet.plugins.module_utils import node_facts

# dpkg-query's Status-Abbrev and Package: the abbreviation is three characters, then a blank.
DPKG = """ii  docker.io
rc  avahi-daemon
ii  libc6:amd64
iU  half-installed
ii  nftables
"""

ROUTE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
wlan0\t00000000\t0100A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
eth0\t00000000\t010012AC\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
"""


def test_installed_packages_are_the_ii_lines_without_architecture():
    assert node_facts.installed_packages(DPKG) == ["docker.io", "libc6", "nftables"]
    assert node_facts.installed_packages("") == []


def test_passwd_keeps_whole_lines_only():
    text = "root:x:0:0:root:/root:/bin/bash\ngarbage\novr-collector:x:998:998::/var/lib/ovr:/usr/sbin/nologin\n"
    assert node_facts.passwd_lines(text) == ["root:x:0:0:root:/root:/bin/bash",
                                             "ovr-collector:x:998:998::/var/lib/ovr:/usr/sbin/nologin"]


def test_default_interface_is_the_default_route_with_the_lowest_metric():
    assert node_facts.default_interface(ROUTE) == "eth0"


def test_no_default_route_means_no_interface():
    header = ROUTE.splitlines()[0]
    assert node_facts.default_interface(header + "\n" + ROUTE.splitlines()[3]) is None
    assert node_facts.default_interface(None) is None
    down = header + "\neth0\t00000000\t010012AC\t0002\t0\t0\t0\t00000000\t0\t0\t0\n"
    assert node_facts.default_interface(down) is None


def test_ssh_connection_and_the_interface_it_arrives_on():
    assert node_facts.ssh_connection("192.0.2.10 51234 192.0.2.20 22") == {
        "client": "192.0.2.10", "client_port": 51234, "server": "192.0.2.20", "port": 22}
    for bad in (None, "", "192.0.2.10 51234 192.0.2.20", "a b c d"):
        assert node_facts.ssh_connection(bad) is None
    assert node_facts.route_device("192.0.2.10 dev eth1 src 192.0.2.20 uid 0 \\    cache") == "eth1"
    assert node_facts.route_device("local 192.0.2.20 dev lo table local src 192.0.2.20") == "lo"
    assert node_facts.route_device("local 127.0.0.1 table local src 127.0.0.1") == "lo"


def never(dummy_path):
    return False


def test_container_kind_from_systemd_or_the_engines_marker_files():
    assert node_facts.container_kind(0, "docker\n", never) == "docker"
    assert node_facts.container_kind(1, "none\n", never) == "none"
    assert node_facts.container_kind(127, "", lambda p: p == "/.dockerenv") == "docker"
    assert node_facts.container_kind(127, "", lambda p: p == "/run/.containerenv") == "podman"
    assert node_facts.container_kind(127, "", never) == "none"


class Node(object):
    """A node's answers by command (argv[0]) and file."""

    def __init__(self, answers, files, interfaces=("eth0", "lo")):
        self.answers, self.files, self.interfaces, self.ran = answers, files, interfaces, []

    def run(self, argv):
        self.ran.append(argv)
        return self.answers.get(argv[0], (127, ""))

    def listdir(self, path):
        assert path == "/sys/class/net"
        if self.interfaces is None:
            raise OSError("no sysfs")
        return list(self.interfaces)


def test_read_over_ssh_resolves_the_interface_of_the_connection():
    node = Node({"dpkg-query": (0, DPKG), "getent": (0, "root:x:0:0:root:/root:/bin/bash\n"),
                 "systemd-detect-virt": (1, "none\n"), "ip": (0, "192.0.2.10 dev eth0 src 192.0.2.20\n")},
                {"/proc/net/route": ROUTE})
    got = node_facts.read(node.run, node.files.get, {"SSH_CONNECTION": "192.0.2.10 5 192.0.2.20 22"},
                          listdir=node.listdir, exists=never)
    assert got == {"packages": ["docker.io", "libc6", "nftables"], "passwd": ["root:x:0:0:root:/root:/bin/bash"],
                   "interfaces": ["eth0", "lo"], "default_interface": "eth0", "container": "none",
                   "ssh": {"client": "192.0.2.10", "client_port": 5, "server": "192.0.2.20", "port": 22,
                           "interface": "eth0"},
                   "problems": []}
    assert ["ip", "-o", "route", "get", "192.0.2.10"] in node.ran


def test_read_without_ssh_asks_no_route_and_names_what_it_could_not_read():
    node = Node({"dpkg-query": (2, "dpkg: error"), "getent": (0, "")}, {}, interfaces=None)
    got = node_facts.read(node.run, node.files.get, {}, listdir=node.listdir, exists=lambda p: p == "/.dockerenv")
    assert got["packages"] == [] and got["interfaces"] == [] and got["default_interface"] is None
    assert got["ssh"] is None and got["container"] == "docker"
    assert [argv[0] for argv in node.ran] == ["dpkg-query", "getent", "systemd-detect-virt"]
    assert len(got["problems"]) == 2 and "dpkg-query failed" in got["problems"][0]
    assert "/sys/class/net" in got["problems"][1]


def test_an_unknown_route_to_the_client_is_a_problem_not_a_guess():
    node = Node({"dpkg-query": (0, ""), "getent": (0, ""), "ip": (2, "")}, {})
    got = node_facts.read(node.run, node.files.get, {"SSH_CONNECTION": "192.0.2.10 5 192.0.2.20 22"},
                          listdir=node.listdir, exists=never)
    assert got["ssh"]["interface"] is None
    assert any("ip route get 192.0.2.10" in p for p in got["problems"])
