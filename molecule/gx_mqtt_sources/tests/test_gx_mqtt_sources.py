"""What an operator checks on an edge node running ovr.fleet.gx_mqtt_sources beside two GX
devices (testinfra). The tests run in order: the last ones take gxd-gx-2 away and back."""
import json
import shlex
import os
import time

import testinfra

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
testinfra_hosts = ["ansible://gxd-edge?ansible_inventory=" + INVENTORY]
GX1, GX2 = "c0619ab00001", "c0619ab00002"
REFRESH = "systemctl start ovr-refresh-gx-mqtt-sources.service"


def gx2():
    return testinfra.get_host("ansible://gxd-gx-2?ansible_inventory=" + INVENTORY)


def systems(host):
    return json.loads(host.file("/etc/ovr/gx_systems.json").content_string)["systems"]


def starts(host):
    return len(host.file("/var/lib/ovr-probe-starts").content_string.splitlines())


def last_summary(host):
    out = host.check_output("journalctl -u ovr-refresh-gx-mqtt-sources.service -o cat --no-pager | grep '^gx refresh' | tail -1")
    return out


def test_both_gx_found_and_the_dead_target_not(host):
    found = systems(host)
    assert [s["portal_id"] for s in found] == [GX1, GX2]
    assert {s["target"] for s in found} == {"gxd-gx-1", "gxd-gx-2:1883"}
    assert all(s["port"] == 1883 and s["address"] for s in found)
    assert "1884" not in host.file("/etc/ovr/gx_systems.json").content_string


def test_telegraf_sources_name_each_portal(host):
    conf = host.file("/etc/ovr/telegraf.d/gx_mqtt_sources.conf")
    assert conf.mode == 0o644
    text = conf.content_string
    assert 'topics = ["N/%s/#"]' % GX1 in text and 'topics = ["N/%s/#"]' % GX2 in text
    assert "N/#\"" not in text and "1884" not in text
    assert 'script = "/opt/ovr/edge/telegraf/processors/victron_mqtt.star"' in text
    # valid TOML, parsed on the node itself
    host.check_output("python3 -c 'import tomllib,sys; tomllib.load(open(sys.argv[1],\"rb\"))' %s" % conf.path)
    assert host.file("/opt/ovr/edge/telegraf/processors/victron_mqtt.star").contains("def apply")


def test_refresh_timer_runs_every_50s(host):
    assert host.service("ovr-refresh-gx-mqtt-sources.timer").is_running
    assert host.service("ovr-refresh-gx-mqtt-sources.timer").is_enabled
    assert "OnUnitActiveSec=50s" in host.file("/etc/systemd/system/ovr-refresh-gx-mqtt-sources.timer").content_string
    summary = last_summary(host)
    assert "gxd-gx-1:1884 (connect)" in summary


def test_the_refresh_runs_the_package_through_its_launcher(host):
    unit = host.file("/etc/systemd/system/ovr-refresh-gx-mqtt-sources.service").content_string
    assert "ExecStart=/usr/local/sbin/ovr-refresh-gx-mqtt-sources --config-dir /etc/ovr --state-dir /var/lib/ovr" in unit
    assert "OVR_GX_LIB" not in unit
    launcher = host.file("/usr/local/sbin/ovr-refresh-gx-mqtt-sources")
    assert launcher.mode == 0o755 and "-m ovr_node.refresh" in launcher.content_string
    assert host.file("/usr/local/lib/ovr/python/ovr_node/refresh.py").is_file
    assert not host.file("/usr/local/sbin/ovr-gx-refresh").exists


def test_gx_publish_because_they_are_kept_alive(host):
    """A GX publishes nothing but its serial without a keepalive: heartbeats prove the keepalive."""
    script = (
        "import sys, time, paho.mqtt.client as m\n"
        "got = set()\n"
        "def on_message(c, u, msg): got.add(msg.topic.split('/')[1])\n"
        "for host, pid in (('gxd-gx-1', '%s'), ('gxd-gx-2', '%s')):\n"
        "    c = m.Client(m.CallbackAPIVersion.VERSION2); c.on_message = on_message\n"
        "    c.connect(host, 1883); c.subscribe('N/%%s/heartbeat' %% pid); c.loop_start()\n"
        "end = time.time() + 10\n"
        "while time.time() < end and len(got) < 2: time.sleep(0.2)\n"
        "print(' '.join(sorted(got)))\n" % (GX1, GX2))
    out = host.check_output("python3 -c %s" % shlex.quote(script))
    assert out.split() == [GX1, GX2]


def test_nothing_rewritten_or_restarted_when_nothing_changed(host):
    before_starts = starts(host)
    before_mtime = host.file("/etc/ovr/gx_systems.json").mtime
    before_conf = host.file("/etc/ovr/telegraf.d/gx_mqtt_sources.conf").mtime
    host.check_output(REFRESH)
    host.check_output(REFRESH)
    assert starts(host) == before_starts
    assert host.file("/etc/ovr/gx_systems.json").mtime == before_mtime
    assert host.file("/etc/ovr/telegraf.d/gx_mqtt_sources.conf").mtime == before_conf
    assert "config: unchanged" in last_summary(host)
    assert "0 full, 2 suppress" in last_summary(host)


def test_a_gx_that_goes_away_leaves_the_config(host):
    before = starts(host)
    gx2().check_output("systemctl stop mosquitto")
    host.check_output(REFRESH)
    assert [s["portal_id"] for s in systems(host)] == [GX1]
    assert GX2 not in host.file("/etc/ovr/telegraf.d/gx_mqtt_sources.conf").content_string
    assert starts(host) == before + 1, "the consumer is restarted once when its config changes"
    assert "gxd-gx-2:1883 (connect)" in last_summary(host)


def test_a_gx_that_comes_back_gets_one_full_keepalive(host):
    gx2().check_output("systemctl start mosquitto gxsim")
    deadline = time.time() + 30
    while time.time() < deadline:
        host.check_output(REFRESH)
        if len(systems(host)) == 2:
            break
        time.sleep(1)
    assert [s["portal_id"] for s in systems(host)] == [GX1, GX2]
    assert "1 full, 1 suppress" in last_summary(host)


def test_discover_playbook_reports_from_the_node(host):
    """playbooks/discover.yml, read-only, names what answered and why the rest did not."""
    import subprocess
    project = os.environ["MOLECULE_PROJECT_DIRECTORY"]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(project, ".collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, os.path.join(project, "playbooks", "discover.yml")],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 0, out[-2000:]
    assert "gxd-edge: 2 GX found [%s, %s], 1 unreachable [gxd-gx-1:1884: connect]" % (GX1, GX2) in out
    assert "changed=0" in out
