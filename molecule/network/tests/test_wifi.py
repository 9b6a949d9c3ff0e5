"""What an operator checks on a node after ovr.fleet.wifi ran (testinfra). There is no radio here:
the profiles are loaded by a running NetworkManager, short of association."""
import re
import time

from conftest import KEYFILES, expected_networks, nmcli_terse

testinfra_hosts = ["wifi_nodes"]


def loaded(host):
    """{NAME: (priority, filename)} of every profile NetworkManager loaded."""
    out = host.check_output("LC_ALL=C.UTF-8 nmcli -g NAME,AUTOCONNECT-PRIORITY,FILENAME connection show")
    profiles = {}
    for line in out.splitlines():
        name, prio, filename = [nmcli_terse(f) for f in re.split(r"(?<!\\):", line)[:3]]
        profiles[name] = (int(prio), filename)
    return profiles


def test_networkmanager_runs(host):
    assert host.service("NetworkManager").is_running
    assert host.service("NetworkManager").is_enabled


def test_every_network_is_loaded_with_its_priority(host, name):
    profiles = loaded(host)
    want = expected_networks(name)
    assert want, "the inventory gives this node no network"
    ours = {n: p for n, (p, f) in profiles.items() if n.startswith("ovr-wifi-")}
    assert ours == {"ovr-wifi-" + ssid: int(net.get("priority") or 0) for ssid, net in want.items()}
    for profile, (dummy, filename) in profiles.items():
        if profile.startswith("ovr-wifi-"):
            assert filename.startswith(KEYFILES + "/ovr-wifi-") and filename.endswith(".nmconnection")


def show_with_secret(host, profile, fields):
    """nmcli's values of a profile's fields, the first one its secret (nmcli -s). NetworkManager
    hands a secret out on request: once, in a CI run under load, it answered an empty one (rc 0)
    for a profile whose keyfile held it. So it is asked again while empty, 5 times 1 s apart; a
    secret really lost stays empty and the caller's assertion fails."""
    for attempt in range(5):
        cmd = host.run("LC_ALL=C.UTF-8 nmcli -s -g %s connection show %s", ",".join(fields), profile)
        assert cmd.rc == 0, cmd.stderr
        values = [nmcli_terse(v) for v in cmd.stdout.splitlines()]
        if values and values[0]:
            break
        if attempt < 4:
            time.sleep(1)
    return values


def test_secret_ssid_and_settings_are_what_the_inventory_says(host, name):
    for ssid, net in expected_networks(name).items():
        profile = "ovr-wifi-" + ssid
        psk, got_ssid, hidden, band, iface, autoconnect = show_with_secret(host, profile, [
            "802-11-wireless-security.psk", "802-11-wireless.ssid", "802-11-wireless.hidden", "802-11-wireless.band",
            "connection.interface-name", "connection.autoconnect"])
        assert psk == net["psk"]
        assert got_ssid == ssid
        assert hidden == ("yes" if str(net.get("hidden", False)).lower() in ("true", "yes") else "no")
        assert band == (net.get("band") or "")
        assert iface == (net.get("interface") or "")
        assert autoconnect == "yes"


def test_keyfiles_are_root_0600(host):
    files = host.check_output("ls %s" % KEYFILES).split()
    ours = [f for f in files if f.startswith("ovr-wifi-")]
    assert ours
    for f in ours:
        keyfile = host.file("%s/%s" % (KEYFILES, f))
        assert keyfile.user == "root" and keyfile.group == "root" and keyfile.mode == 0o600


def test_csv_lists_every_network_and_is_root_0600(host, name):
    csv_file = host.file("/etc/ovr/wifi_networks.csv")
    assert csv_file.user == "root" and csv_file.mode == 0o600
    lines = csv_file.content_string.splitlines()
    assert lines[0] == "ssid,psk,priority,hidden,band,interface"
    assert len(lines) - 1 == len(expected_networks(name))


def test_operator_profiles_are_untouched(host):
    for f, name in (("operator-hq.nmconnection", "Operator HQ"), ("operator-wired.nmconnection", "Operator wired")):
        keyfile = host.file("%s/%s" % (KEYFILES, f))
        assert keyfile.exists and keyfile.mode == 0o600
        assert "id=%s\n" % name in keyfile.content_string
    profiles = loaded(host)
    assert profiles["Operator HQ"][0] == 50
    assert "Operator wired" in profiles
    assert show_with_secret(host, "Operator HQ", ["802-11-wireless-security.psk"]) == ["operator-secret"]


def test_wired_link_is_left_alone(host):
    """NetworkManager makes no automatic wired profile: eth0 keeps the address it had."""
    assert "Wired connection 1" not in loaded(host)
    assert host.interface("eth0").addresses
