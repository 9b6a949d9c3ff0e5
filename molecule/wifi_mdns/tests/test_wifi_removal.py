"""A network removed from the inventory: its profile is gone after a re-run, nothing else changes.
Bad input: refused naming host, network and field, nothing changed. Runs the real role again."""
from conftest import KEYFILES, converge, expected_networks

testinfra_hosts = ["wifi-node-1"]


def state(host):
    return host.check_output("cd %s && sha256sum * && sha256sum /etc/ovr/wifi_networks.csv" % KEYFILES)


def test_bad_network_is_refused_and_nothing_changes(host, name):
    before = state(host)
    rc, out = converge(name, {"wifi_networks": [{"ssid": "ovr-site", "psk": "Zq7!kw", "priority": 1}]})
    assert rc != 0
    assert "%s: wifi_networks[0] network 'ovr-site': psk must be 8 to 63 characters" % name in out
    assert "Zq7!kw" not in out
    assert "changed=0" in out
    assert state(host) == before


def test_removed_network_is_gone_and_operator_profiles_stay(host, name):
    keep = [n for n in expected_networks(name).values() if n["ssid"] != "Backstage"]
    assert len(keep) < len(expected_networks(name))
    operator = host.check_output("sha256sum %s/operator-*.nmconnection" % KEYFILES)
    site_only = [n for n in keep if n["ssid"] != "ovr-site"]
    try:
        rc, out = converge(name, {"wifi_networks": [{"ssid": "ovr-site", "psk": "node-one-override", "priority": 20}]})
        assert rc == 0, out
        names = host.check_output("nmcli -g NAME connection show").splitlines()
        assert "ovr-wifi-Backstage" not in names
        assert "ovr-wifi-ovr-site" in names and all("ovr-wifi-" + n["ssid"] in names for n in site_only)
        assert not [f for f in host.check_output("ls %s" % KEYFILES).split() if "Backstage" in f]
        assert "Backstage" not in host.file("/etc/ovr/wifi_networks.csv").content_string
        assert host.check_output("sha256sum %s/operator-*.nmconnection" % KEYFILES) == operator
        assert {"Operator HQ", "Operator wired"} <= set(names)
    finally:
        rc, out = converge(name)
        assert rc == 0, out
    assert "ovr-wifi-Backstage" in host.check_output("nmcli -g NAME connection show").splitlines()
