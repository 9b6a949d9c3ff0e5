"""mDNS between two nodes on one network (ovr.fleet.mdns on, allow-interfaces eth0, no IPv6):
each resolves the other's <name>.local with avahi-resolve and through nss-mdns (getent)."""
from conftest import host_object, other_host, variables

testinfra_hosts = ["wifi_nodes"]


def published_name(name):
    return (variables(name).get("mdns_host_name") or name) + ".local"


def other_address(name):
    other = other_host(name)
    return other, host_object(other).interface("eth0").addresses[0]


def test_avahi_runs_with_the_inventory_settings(host, name):
    assert host.service("avahi-daemon").is_running
    conf = host.file("/etc/avahi/avahi-daemon.conf").content_string
    assert "host-name=%s\n" % published_name(name)[:-len(".local")] in conf
    assert "allow-interfaces=%s\n" % ",".join(variables(name)["mdns_interfaces"]) in conf
    assert "use-ipv6=no\n" in conf


def test_nsswitch_asks_mdns_before_dns(host):
    hosts_line = [l for l in host.file("/etc/nsswitch.conf").content_string.splitlines() if l.startswith("hosts:")][0]
    assert "mdns4_minimal [NOTFOUND=return]" in hosts_line
    assert hosts_line.index("mdns4_minimal") < hosts_line.index(" dns")


def test_resolves_the_other_node_with_avahi(host, name):
    other, address = other_address(name)
    out = host.check_output("timeout 10 avahi-resolve -4 -n %s", published_name(other))
    assert out.split() == [published_name(other), address]


def test_resolves_the_other_node_through_nss(host, name):
    other, address = other_address(name)
    out = host.check_output("timeout 10 getent hosts %s", published_name(other))
    assert out.split()[0] == address


def test_listens_on_5353_only_over_ipv4(host):
    sockets = host.check_output("ss -Hlun 'sport = :5353'")
    assert "0.0.0.0:5353" in sockets
    assert "[::]:5353" not in sockets
