# -*- coding: utf-8 -*-
"""roles/mdns/files/ovr_avahi_check.py, the validator of avahi-daemon.conf: the file the role
renders passes; what avahi-daemon would refuse (or the role relies on) is reported by line."""
import importlib.util
import pathlib
import subprocess
import sys

import jinja2

ROLE = pathlib.Path(__file__).resolve().parents[4] / "roles" / "mdns"
SPEC = importlib.util.spec_from_file_location("ovr_avahi_check", ROLE / "files" / "ovr_avahi_check.py")
check = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(check)


def rendered(**variables):
    env = jinja2.Environment(keep_trailing_newline=True)
    env.filters["bool"] = bool
    values = dict(ansible_managed="Managed", __mdns_host_name="edge-a", mdns_use_ipv6=False, mdns_interfaces=["eth0"])
    values.update(variables)
    return env.from_string((ROLE / "templates" / "avahi-daemon.conf.j2").read_text()).render(**values)


def test_the_rendered_file_passes():
    text = rendered(mdns_interfaces=["eth0", "wlan0"])
    assert check.check(text) == []
    assert "allow-interfaces=eth0,wlan0\n" in text and "use-ipv6=no\n" in text and "host-name=edge-a\n" in text


def test_what_avahi_refuses_is_reported():
    text = rendered().replace("use-ipv4=yes", "use-ipv4=maybe").replace("[rlimits]", "[rlimits]\nrlimit-bogus=1")
    text += "[nonsense]\n"
    assert check.check(text) == [
        "line 5: use-ipv4 must be yes or no, got 'maybe'",
        "line 25: avahi-daemon knows no key rlimit-bogus in [rlimits]",
        "line 26: unknown group [nonsense]",
    ]


def test_what_the_role_relies_on_is_reported():
    assert check.check(rendered(mdns_interfaces=[], __mdns_host_name="gx.local")) == [
        "host-name 'gx.local' is not one DNS label (letters, digits, '-')",
        "allow-interfaces is missing or empty (ovr.fleet.mdns publishes on listed interfaces only)",
    ]


def test_runs_on_its_own(tmp_path):
    bad = tmp_path / "avahi-daemon.conf"
    bad.write_text("[server]\nfoo=1\n")
    proc = subprocess.run([sys.executable, str(ROLE / "files" / "ovr_avahi_check.py"), str(bad)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "knows no key foo in [server]" in proc.stderr
