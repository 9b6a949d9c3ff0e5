"""What an operator checks on an edge node running ovr.fleet.collector beside a GX (testinfra)."""
import hashlib
import json
import os
import shlex
import time

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
testinfra_hosts = ["ansible://col-edge?ansible_inventory=" + INVENTORY]
PORTAL = "c0619ab00c01"


def fetch(host, url):
    script = "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"
    return host.check_output("python3 -c %s %s" % (shlex.quote(script), shlex.quote(url)))


def query(host, expr):
    url = "http://127.0.0.1:8428/api/v1/query?query=" + expr.replace("{", "%7B").replace("}", "%7D").replace('"', "%22")
    return json.loads(fetch(host, url))["data"]["result"]


def test_service_runs_hardened_as_its_own_user(host):
    service = host.service("ovr-collector.service")
    assert service.is_running and service.is_enabled
    pid = host.check_output("systemctl show -p MainPID --value ovr-collector.service")
    assert host.check_output("ps -o user= -p %s" % pid) == "ovr-collector"
    unit = host.file("/etc/systemd/system/ovr-collector.service").content_string
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit and "Restart=on-failure" in unit
    assert host.file("/var/lib/ovr/collector/spool").is_directory


def test_config_is_rendered_and_private(host):
    env = host.file("/etc/ovr/collector.env")
    assert env.mode == 0o640 and env.user == "root" and env.group == "ovr-collector"
    # rendered with ovr.fleet.to_env_file: one KEY='value' line per option
    assert "OVR_COLLECTOR_LABELS='node=col-edge,site=col'" in env.content_string.splitlines()
    assert "OVR_COLLECTOR_KEEPALIVE_INTERVAL='20'" in env.content_string.splitlines()
    # the engine is the collection's own module_utils, in the one on-node package (node_runtime)
    project = os.environ["MOLECULE_PROJECT_DIRECTORY"]
    for name in ("victron.py", "mqtt.py", "gx.py"):
        installed = host.file("/usr/local/lib/ovr/python/ovr_node/" + name)
        assert installed.is_file and not installed.is_symlink
        with open(os.path.join(project, "plugins", "module_utils", name), "rb") as handle:
            assert installed.sha256sum == hashlib.sha256(handle.read()).hexdigest()
    assert not host.file("/usr/local/lib/ovr/gx").exists


def test_service_runs_the_package_through_its_launcher(host):
    unit = host.file("/etc/systemd/system/ovr-collector.service").content_string
    assert "ExecStart=/usr/local/sbin/ovr-collector --env-file /etc/ovr/collector.env" in unit
    assert "OVR_GX_LIB" not in unit
    pid = host.check_output("systemctl show -p MainPID --value ovr-collector.service")
    assert "-m ovr_node.collector" in host.check_output("ps -o args= -p %s" % pid)
    out = host.check_output("/usr/local/sbin/ovr-collector --check-config --env-file /etc/ovr/collector.env")
    assert json.loads(out)["extra_labels"] == {"node": "col-edge", "site": "col"}


def test_victron_series_reach_the_nodes_victoria_metrics(host):
    deadline = time.time() + 30
    result = []
    while time.time() < deadline and not result:
        result = query(host, 'victron_system_dc_battery_soc{portal_id="%s"}' % PORTAL)
        if not result:
            time.sleep(1)
    assert result, "no victron_system_dc_battery_soc in VictoriaMetrics within 30 s"
    labels = result[0]["metric"]
    assert labels["service"] == "system" and labels["instance"] == "0"
    assert labels["site"] == "col" and labels["node"] == "col-edge"
    phases = query(host, 'victron_vebus_ac_activein_p{portal_id="%s"}' % PORTAL)
    assert {r["metric"]["phase"] for r in phases} == {"L1", "L2", "L3"}


def test_counters_endpoint_and_health(host):
    metrics = fetch(host, "http://127.0.0.1:9108/metrics")
    assert 'ovr_collector_received_total{node="col-edge",site="col"}' in metrics
    assert 'ovr_collector_dropped_total{node="col-edge",site="col"} 0.0' in metrics
    health = json.loads(fetch(host, "http://127.0.0.1:9108/healthz"))
    assert health["status"] == "ok" and health["portals"] == [PORTAL]
    assert health["received"] > 0 and health["written"] > 0
    assert list(health["brokers"].values()) == [True]


def test_reload_keeps_the_process_and_logs_a_summary(host):
    before = host.check_output("systemctl show -p MainPID --value ovr-collector.service")
    host.check_output("systemctl reload ovr-collector.service")
    deadline = time.time() + 10
    log = ""
    while time.time() < deadline and "collector reload:" not in log:
        time.sleep(0.5)
        log = host.check_output("journalctl -u ovr-collector.service -o cat --no-pager | tail -20")
    assert "collector reload:" in log
    assert host.check_output("systemctl show -p MainPID --value ovr-collector.service") == before
