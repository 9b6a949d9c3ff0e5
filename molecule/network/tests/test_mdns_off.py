"""With mdns_enabled false (the default), nothing listens on UDP 5353, and a lookup does not
wake Avahi up again; turned on again, it publishes as before. Runs the real role on one node."""
import time

from conftest import RUNNER, converge, other_host, variables

testinfra_hosts = [h for h in RUNNER.get_hosts("wifi_nodes") if variables(h).get("mdns_enabled")][:1]


def listening_5353(host):
    return host.check_output("ss -Hlun 'sport = :5353'").strip()


def test_off_means_nothing_on_5353_then_on_again(host, name):
    other = other_host(name)
    try:
        rc, out = converge(name, role="mdns", extra_vars={"mdns_enabled": False})
        assert rc == 0, out
        assert listening_5353(host) == ""
        assert host.check_output("systemctl is-enabled avahi-daemon.service avahi-daemon.socket || true").split() == \
            ["masked", "masked"]
        # A .local lookup goes to nss-mdns, which talks to avahi's socket: it must not start it.
        host.run("timeout 5 getent hosts %s.local", other)
        time.sleep(1)
        assert listening_5353(host) == ""
    finally:
        rc, out = converge(name, role="mdns")
        assert rc == 0, out
    assert "0.0.0.0:5353" in listening_5353(host)
    assert host.run("timeout 10 avahi-resolve -4 -n %s.local", other).rc == 0
