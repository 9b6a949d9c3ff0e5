# -*- coding: utf-8 -*-
"""The wifi role's checks (roles/wifi/tasks/validate.yml), run by ansible-playbook on local hosts:
one message per network and field, naming the host and the SSID, never the PSK; the site list
(group) and the node list (host) are merged, node entries winning."""
import pathlib

import pytest

PSK = "site-pass-123"
SECRET = "Zq7!kw"
CSV = pathlib.Path(__file__).resolve().parent / "bad_wifi.csv"

SITE = [{"ssid": "HQ", "psk": PSK, "priority": 10}, {"ssid": "Guest", "psk": PSK}]
HOSTS = {
    "wifi-good": {"wifi_networks": [{"ssid": "HQ", "psk": "node-pass-1", "priority": 20}]},
    "wifi-bad": {"wifi_networks": [
        {"ssid": "", "psk": PSK},
        {"ssid": "x" * 33, "psk": PSK},
        {"ssid": "Short", "psk": SECRET},
        {"ssid": "Long", "psk": SECRET * 11},
        {"ssid": "Prio", "psk": PSK, "priority": "high"},
        {"ssid": "Range", "psk": PSK, "priority": 1000},
        {"ssid": "Hide", "psk": PSK, "hidden": "sometimes"},
        {"ssid": "Band", "psk": PSK, "band": "n"},
        {"ssid": "Twice", "psk": PSK},
        {"ssid": "Twice", "psk": PSK},
    ]},
    "wifi-csv": {"wifi_networks_csv": str(CSV)},
    "wifi-csv-missing": {"wifi_networks_csv": "/nonexistent/ovr-wifi.csv"},
}

VALIDATE_RUNS = {"main": {"role": "wifi", "hosts": HOSTS, "group_vars": {"wifi_site_networks": SITE}}}


@pytest.fixture(scope="module")
def checked(validated):
    return validated("main")


def test_good_settings_pass(checked):
    assert checked["wifi-good"] == []


@pytest.mark.parametrize("message", [
    "wifi_networks[0] network with ssid '': ssid is empty",
    "wifi_networks[1] network '%s': ssid is 33 bytes long (UTF-8); at most 32" % ("x" * 33),
    "wifi_networks[2] network 'Short': psk must be 8 to 63 characters (or 64 hex digits), got 6 characters",
    "wifi_networks[3] network 'Long': psk must be 8 to 63 characters (or 64 hex digits), got 66 characters",
    "wifi_networks[4] network 'Prio': priority must be an integer -999..999, got a string 'high'",
    "wifi_networks[5] network 'Range': priority must be within -999..999 (NetworkManager's range), got 1000",
    "wifi_networks[6] network 'Hide': hidden must be a boolean (true or false), got a string 'sometimes'",
    "wifi_networks[7] network 'Band': band must be a (5 GHz), bg (2.4 GHz) or empty (any), got 'n'",
    "wifi_networks[9] network 'Twice': duplicate ssid (also wifi_networks[8])",
])
def test_each_bad_network_gets_its_own_message(checked, message):
    assert "wifi-bad: %s. Nothing was changed." % message in checked["wifi-bad"]


def test_one_message_per_broken_rule_and_no_psk(checked):
    assert len(checked["wifi-bad"]) == 9
    assert not any(SECRET in m or PSK in m for m in checked["wifi-bad"])


def test_csv_row_with_wrong_field_count_names_file_and_line(checked):
    assert checked["wifi-csv"] == [
        "wifi-csv: %s line 3: expected 6 fields (ssid,psk,priority,hidden,band,interface), got 4. "
        "Nothing was changed." % CSV,
        "wifi-csv: %s line 4 network 'Crew': priority must be an integer -999..999, got a string 'top'. "
        "Nothing was changed." % CSV,
    ]


def test_missing_csv_is_named(checked):
    assert checked["wifi-csv-missing"] == [
        "wifi-csv-missing: wifi_networks_csv /nonexistent/ovr-wifi.csv is not a file on the controller. "
        "Nothing was changed."]
