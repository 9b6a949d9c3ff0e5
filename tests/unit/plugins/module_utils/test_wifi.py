# -*- coding: utf-8 -*-
"""plugins/module_utils/wifi.py: the rules of a node's known Wi-Fi networks, the merge of site
list, CSV and node list, the keyfile encoding (read back by the same parser the validator uses)
and the check of what NetworkManager loaded."""
import subprocess
import sys

import pytest

from ansible_collections.ovr.fleet.plugins.filter import wifi as wifi_filter
from ansible_collections.ovr.fleet.plugins.module_utils import wifi

PSK = "correct-horse-9"
HEX = "0123456789abcdef" * 4


def net(ssid, **kw):
    return dict({"ssid": ssid, "psk": PSK}, **kw)


def errors_of(**kw):
    return wifi.merge(**kw)[1]


@pytest.mark.parametrize("entry, message", [
    (net(""), "wifi_networks[0] network with ssid '': ssid is empty"),
    (net("x" * 33), "ssid is 33 bytes long (UTF-8); at most 32"),
    # 11 characters but 33 bytes: the limit is bytes.
    (net("ééééééééééé" + "x" * 11), "ssid is 33 bytes long (UTF-8); at most 32"),
    (net("tab\there"), "ssid contains a control character"),
    (net("A", psk="1234567"), "psk must be 8 to 63 characters (or 64 hex digits), got 7 characters"),
    (net("A", psk="x" * 64), "psk must be 8 to 63 characters (or 64 hex digits), got 64 characters"),
    (net("A", psk="pässwörd1"), "psk must be printable ASCII"),
    (net("A", psk=12345678), "psk must be a string, got an integer"),
    (net("A", priority="high"), "priority must be an integer -999..999, got a string 'high'"),
    (net("A", priority=1.5), "priority must be an integer -999..999, got a float 1.5"),
    (net("A", priority=True), "priority must be an integer -999..999, got a boolean"),
    (net("A", priority=1000), "priority must be within -999..999 (NetworkManager's range), got 1000"),
    (net("A", hidden="yes"), "hidden must be a boolean (true or false), got a string 'yes'"),
    (net("A", band="n"), "band must be a (5 GHz), bg (2.4 GHz) or empty (any), got 'n'"),
    (net("A", interface="wlan 0"), "interface must be an interface name"),
    (net("A", prio=1), "unknown field(s) prio"),
    ({"ssid": "A"}, "wifi_networks[0] network 'A': psk is not set"),
    ("A", "wifi_networks[0] must be a mapping"),
])
def test_each_bad_field_gets_a_message_naming_network_and_field(entry, message):
    errors = errors_of(node=[entry])
    assert len(errors) == 1 and message in errors[0], errors


def test_a_message_never_carries_the_psk():
    secret = "Zq7!kw"
    errors = errors_of(node=[net("A", psk=secret), net("B", psk=secret + "x" * 60)])
    assert len(errors) == 2 and not any(secret in e for e in errors)


def test_good_values():
    networks, errors = wifi.merge(node=[net("A"), net("B", psk=HEX, priority="-999", hidden=True, band="BG",
                                                      interface="wlan0")])
    assert errors == []
    assert [n["ssid"] for n in networks] == ["A", "B"]
    assert networks[1]["priority"] == -999 and networks[1]["band"] == "bg" and networks[1]["hidden"] is True


def test_node_entries_replace_site_entries_of_the_same_ssid_and_csv_sits_between():
    site = [net("HQ", priority=10), net("Guest", priority=1)]
    node = [net("HQ", psk="node-pass-1", priority=20)]
    csv_text = "Guest,csv-pass-12,3,no,,\nCrew,crew-pass-1,5,,,\n"
    networks, errors = wifi.merge(site=site, node=node, csv_text=csv_text)
    assert errors == []
    by_ssid = dict((n["ssid"], n) for n in networks)
    assert by_ssid["HQ"]["psk"] == "node-pass-1" and by_ssid["HQ"]["priority"] == 20
    assert by_ssid["Guest"]["psk"] == "csv-pass-12" and by_ssid["Guest"]["priority"] == 3
    # Highest priority first.
    assert [n["ssid"] for n in networks] == ["HQ", "Crew", "Guest"]


def test_duplicate_ssid_in_one_source_is_an_error():
    errors = errors_of(site=[net("HQ"), net("HQ")])
    assert errors == ["wifi_site_networks[1] network 'HQ': duplicate ssid (also wifi_site_networks[0])"]
    errors = errors_of(csv_text="HQ,%s,1,,,\nHQ,%s,2,,,\n" % (PSK, PSK), csv_name="/srv/wifi.csv")
    assert errors == ["/srv/wifi.csv line 2 network 'HQ': duplicate ssid (also /srv/wifi.csv line 1)"]


def test_csv_rows_with_the_wrong_number_of_fields_name_file_and_line():
    text = "ssid,psk,priority,hidden,band,interface\n# a comment\n\nHQ,%s,1\nOK,%s,1,,,\nX,%s,1,,,,extra\n" % (
        PSK, PSK, PSK)
    errors = errors_of(csv_text=text, csv_name="/srv/wifi.csv")
    assert errors == [
        "/srv/wifi.csv line 4: expected 6 fields (ssid,psk,priority,hidden,band,interface), got 3",
        "/srv/wifi.csv line 6: expected 6 fields (ssid,psk,priority,hidden,band,interface), got 7",
    ]


def test_csv_fields_are_checked_like_the_inventory():
    errors = errors_of(csv_text='"Crew, North",short,x,maybe,n,\n', csv_name="w.csv")
    assert len(errors) == 4
    assert all(e.startswith("w.csv line 1 network 'Crew, North': ") for e in errors)


def test_lists_must_be_lists():
    assert errors_of(node={"ssid": "A"}) == ["wifi_networks must be a list of networks {ssid, psk, ...}, got a mapping"]


def test_profile_is_stable_and_recognisable():
    one = wifi.profile(wifi.normalise(net("Café / Guest"), "x"))
    two = wifi.profile(wifi.normalise(net("Café / Guest", priority=5), "x"))
    assert one["uuid"] == two["uuid"] == "%s" % wifi.uuid.uuid5(wifi.UUID_NAMESPACE, "Café / Guest")
    assert one["filename"] == two["filename"] == "ovr-wifi-Caf_Guest-%s.nmconnection" % one["uuid"][:8]
    assert one["id"] == "ovr-wifi-Café / Guest"
    assert wifi.profile(wifi.normalise(net("HQ"), "x"))["uuid"] != one["uuid"]


@pytest.mark.parametrize("ssid", ["HQ", "Café Guest", "a;b", "back\\slash", " lead", "trail ", "ends;", "1;2;"])
def test_keyfile_ssid_reads_back_exactly(ssid):
    assert wifi.keyfile_decoded_ssid(wifi.keyfile_ssid(ssid)) == ssid


def test_keyfile_ssid_is_plain_text_when_it_can_be():
    assert wifi.keyfile_ssid("Festival Ops") == "Festival Ops"
    assert wifi.keyfile_ssid("a;b") == "97;59;98;"


@pytest.mark.parametrize("text", ["plain", " leading", "back\\slash", "tab\tnew\nline"])
def test_keyfile_string_reads_back(text):
    assert wifi._unescape(wifi.keyfile_string(text)) == text


def keyfile(**over):
    fields = {"id": "ovr-wifi-HQ", "uuid": "bee6f3d7-b7ea-500d-9af2-a572afbda41e", "priority": "5",
              "ssid": "HQ", "psk": PSK, "band": "bg", "hidden": "false", "key": "wpa-psk"}
    fields.update(over)
    return ("[connection]\nid={id}\nuuid={uuid}\ntype=wifi\nautoconnect=true\nautoconnect-priority={priority}\n\n"
            "[wifi]\nmode=infrastructure\nssid={ssid}\nhidden={hidden}\nband={band}\n\n"
            "[wifi-security]\nkey-mgmt={key}\npsk={psk}\n").format(**fields)


def test_check_keyfile_accepts_a_good_one():
    assert wifi.check_keyfile(keyfile()) == []
    assert wifi.check_keyfile(keyfile(ssid="97;59;98;", psk=HEX)) == []


@pytest.mark.parametrize("over, message", [
    ({"psk": "1234"}, "[wifi-security] psk must be 8 to 63 characters"),
    ({"priority": "5000"}, "[connection] autoconnect-priority must be within -999..999"),
    ({"ssid": ""}, "[wifi] ssid is empty"),
    ({"ssid": "x" * 33}, "[wifi] ssid is 33 bytes long"),
    ({"band": "n"}, "[wifi] band must be a or bg"),
    ({"hidden": "maybe"}, "[wifi] hidden must be true or false"),
    ({"uuid": "nope"}, "[connection] uuid is not a UUID"),
    ({"id": "HQ"}, "[connection] id must start with ovr-wifi-"),
    ({"key": "none"}, "[wifi-security] key-mgmt must be wpa-psk"),
])
def test_check_keyfile_refuses_bad_fields_without_the_psk(over, message):
    errors = wifi.check_keyfile(keyfile(**over))
    assert len(errors) == 1 and errors[0].startswith(message), errors
    assert PSK not in errors[0]


def test_check_keyfile_refuses_what_is_no_keyfile():
    assert wifi.check_keyfile("[connection]\nthis is not a pair\n") == ["not a keyfile: line 2 is not a group, "
                                                                        "a key=value pair or a comment"]


def test_the_validator_runs_on_its_own_with_python(tmp_path):
    """The role copies this very file to the node and runs it as the CSV validator."""
    good = tmp_path / "good.csv"
    good.write_text(wifi.to_csv(wifi.merge(node=[net("HQ"), net("Crew, North", hidden=True)])[0]))
    bad = tmp_path / "bad.csv"
    bad.write_text("HQ,%s\n" % PSK)

    def run(path):
        return subprocess.run([sys.executable, wifi.__file__, "csv", str(path)], capture_output=True, text=True,
                              check=False)

    assert run(good).returncode == 0
    result = run(bad)
    assert result.returncode == 1
    assert "line 1: expected 6 fields" in result.stderr and PSK not in result.stderr


def test_csv_round_trip():
    networks = wifi.merge(node=[net("Crew, North", priority=3, hidden=True, band="a", interface="wlan1"),
                                net('Quote"d', psk=HEX)])[0]
    text = wifi.to_csv(networks)
    assert text.splitlines()[0] == "ssid,psk,priority,hidden,band,interface"
    assert wifi.merge(csv_text=text)[0] == networks


def test_loaded_errors():
    networks = wifi.merge(node=[net("HQ", priority=5), net("Crew:1")])[0]
    d = "/etc/NetworkManager/system-connections"
    hq, crew = ["%s/%s" % (d, n["filename"]) for n in networks]
    good = ["ovr-wifi-HQ:5:%s" % hq, "ovr-wifi-Crew\\:1:0:%s" % crew, "Operator HQ:50:%s/op.nmconnection" % d]
    assert wifi.loaded_errors(good, networks, d) == []
    errors = wifi.loaded_errors(["ovr-wifi-HQ:4:%s" % hq, "ovr-wifi-Gone:0:%s/ovr-wifi-Gone-1234.nmconnection" % d],
                                networks, d)
    assert errors == [
        "%s (network 'HQ') loaded as 'ovr-wifi-HQ' with priority 4, expected 'ovr-wifi-HQ' with priority 5" % hq,
        "%s (network 'Crew:1') was not loaded by NetworkManager (see journalctl -u NetworkManager)" % crew,
        "%s/ovr-wifi-Gone-1234.nmconnection is still loaded although its network is no longer listed" % d,
    ]


def test_inventory_errors_reads_the_csv_on_the_controller(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("HQ,%s,1,,,\nHQ,%s,1\n" % (PSK, PSK))
    assert wifi.inventory_errors(None, None, str(path)) == [
        "%s line 2: expected 6 fields (ssid,psk,priority,hidden,band,interface), got 3" % path]
    assert wifi.inventory_errors(None, None, "relative.csv") == [
        "wifi_networks_csv must be an absolute path on the controller or empty, got 'relative.csv'"]
    assert wifi.inventory_errors(None, None, str(tmp_path / "none.csv"))[0].endswith("cannot be read: No such file or directory")
    assert wifi.inventory_errors(None, None, None) == []


def test_filter_returns_no_network_when_any_is_bad():
    result = wifi_filter.wifi_networks([net("A")], [net("B", psk="x")])
    assert result["networks"] == [] and len(result["errors"]) == 1
    assert wifi_filter.wifi_networks([net("A")])["networks"][0]["ssid"] == "A"
