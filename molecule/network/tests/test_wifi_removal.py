"""A network removed from the inventory: its profile is gone after a re-run, nothing else changes.
Bad input: refused naming host, network and field, with nothing changed. Runs the real role again
on the first node that has networks of its own (wifi_networks)."""
from conftest import KEYFILES, RUNNER, converge, expected_networks, variables

testinfra_hosts = [h for h in RUNNER.get_hosts("wifi_nodes") if variables(h).get("wifi_networks")][:1]
SECRET = "Zq7!kw"


def state(host):
    return host.check_output("cd %s && sha256sum * && sha256sum /etc/ovr/wifi_networks.csv" % KEYFILES)


def node_only(name):
    """The node's own networks, and one of them that the site does not list (removing it removes a profile)."""
    site = set(n["ssid"] for n in variables(name).get("wifi_site_networks") or [])
    own = list(variables(name)["wifi_networks"])
    removed = [n for n in own if n["ssid"] not in site][0]
    return [n for n in own if n is not removed], removed


def test_bad_network_is_refused_and_nothing_changes(host, name):
    before = state(host)
    rc, out = converge(name, role="wifi", extra_vars={"wifi_networks": [{"ssid": "ovr-bad", "psk": SECRET}]})
    assert rc != 0
    assert ("%s: wifi_networks[0] network 'ovr-bad': psk must be 8 to 63 characters (or 64 hex digits), "
            "got 6 characters" % name) in out
    assert SECRET not in out
    assert "changed=0" in out
    assert state(host) == before


def test_removed_network_is_gone_and_operator_profiles_stay(host, name):
    keep, removed = node_only(name)
    profile = "ovr-wifi-" + removed["ssid"]
    others = ["ovr-wifi-" + ssid for ssid in expected_networks(name) if ssid != removed["ssid"]]
    operator = host.check_output("sha256sum %s/operator-*.nmconnection" % KEYFILES)
    try:
        rc, out = converge(name, role="wifi", extra_vars={"wifi_networks": keep})
        assert rc == 0, out
        names = host.check_output("LC_ALL=C.UTF-8 nmcli -g NAME connection show").splitlines()
        assert profile not in names
        assert set(others) <= set(names)
        assert not [f for f in host.check_output("ls %s" % KEYFILES).split()
                    if f.startswith("ovr-wifi-") and removed["ssid"] in f]
        assert removed["ssid"] not in host.file("/etc/ovr/wifi_networks.csv").content_string
        assert host.check_output("sha256sum %s/operator-*.nmconnection" % KEYFILES) == operator
        assert {"Operator HQ", "Operator wired"} <= set(names)
    finally:
        rc, out = converge(name, role="wifi")
        assert rc == 0, out
    assert profile in host.check_output("LC_ALL=C.UTF-8 nmcli -g NAME connection show").splitlines()
