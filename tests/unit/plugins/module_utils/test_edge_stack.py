# -*- coding: utf-8 -*-
"""Unit tests of the edge stack's model (plugins/module_utils/edge_stack.py): the peers' nginx
upstreams, the nginx routing regexes and the Compose project. The role's templates are tested in
tests/unit/roles/edge_stack."""

import pathlib
import re

import pytest
import yaml

from ansible_collections.ovr.fleet.plugins.module_utils import edge_stack as es
from ansible_collections.ovr.fleet.plugins.module_utils import fleet_model

ROOT = pathlib.Path(__file__).resolve().parents[4]
ROLE = ROOT / "roles" / "edge_stack"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
VARS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())

PEERS = [
    {"id": "edge-a", "node_id": 1, "address": "192.0.2.11", "overlay_ip": "10.231.5.1", "site_id": 5, "site_name": "es"},
    {"id": "edge-c", "node_id": 3, "address": "edge-c.example.net", "overlay_ip": "10.231.5.3", "site_id": 5,
     "site_name": "es"},
    {"id": "edge-d", "node_id": 4, "address": "2001:db8::4", "overlay_ip": "10.231.5.4", "site_id": 5, "site_name": "es"},
]


def compose_cfg(**over):
    cfg = {
        "images": {"vm": "vm:1", "vmagent": "vmagent:1", "mosquitto": "mq:1", "nginx": "nginx:1", "telegraf": "telegraf:1.32"},
        "flavor": VARS["__edge_stack_flavors"]["upstream"],
        "vm_retention": "90d", "vm_port": 8428, "vmagent_port": 8429, "remote_write_max_disk": "1GB",
        "cloud_remote_write": True, "cloud_write_path": "/api/v1/write", "cloud_ca": False,
        "http_port": 80, "http_bind": "", "ingest": "collector", "apps": [],
        "hashes": {"nginx": "n1", "mosquitto": "m1", "vmagent": "", "telegraf": "t1"},
        "dirs": {"config_dir": "/etc/ovr", "telegraf_dir": "/opt/ovr/edge/telegraf"},
        "project": "ovr-edge",
    }
    cfg.update(over)
    return cfg


# ---- peers ------------------------------------------------------------------------------------
def test_peers_get_their_own_port_and_a_bracketed_ipv6_upstream():
    out = es.upstreams(PEERS, {"edge-c": {"edge_stack_http_port": "8080"}}, 80)
    assert [(p["id"], p["http_port"], p["upstream"]) for p in out] == [
        ("edge-a", 80, "192.0.2.11:80"), ("edge-c", 8080, "edge-c.example.net:8080"), ("edge-d", 80, "[2001:db8::4]:80")]
    assert out[0]["overlay_ip"] == "10.231.5.1"


@pytest.mark.parametrize("peer", [
    {"id": "Edge-A", "address": "192.0.2.1"},
    {"id": "edge.a", "address": "192.0.2.1"},
    {"id": "edge-a", "address": "192.0.2.1/x"},
    {"id": "edge-a", "address": "a b"},
    {"id": "edge-a", "address": "evil\";"},
    {"id": "edge-a", "address": "host..name"},
    {"id": "edge-a", "address": ""},
])
def test_bad_peer_ids_and_addresses_fail(peer):
    with pytest.raises(ValueError):
        es.upstreams([peer])


def test_bad_peer_port_fails():
    with pytest.raises(ValueError):
        es.upstreams(PEERS[:1], {"edge-a": {"edge_stack_http_port": 70000}})


# ---- nginx routing ----------------------------------------------------------------------------
PATHS_RE = es.vm_path_regex(DEFAULTS["edge_stack_vm_paths"])
PATTERNS = es.nginx_patterns(DEFAULTS["edge_stack_vm_paths"])
PEER_RE = re.compile(r"^/api/peers/(?P<pi>%s)/vm(?P<pp>%s)(?:\?.*)?$" % (PATTERNS["peer_id"], PATTERNS["vm_paths"]))
LOCAL_RE = re.compile(r"^/api/vm(?P<vp>%s)(?:\?.*)?$" % PATHS_RE)

TRICKS = [
    "/api/peers/EDGE-A/vm/api/v1/query?query=up",
    "/api/peers/edge-a/vm/../../api/vm/api/v1/query",
    "/api/peers/edge-a/vm/api/v1/../v1/query",
    "/api/peers/edge-a/vm/%2e%2e/%2e%2e/api/v1/query",
    "/api/peers/edge-a%2F..%2Fedge-b/vm/api/v1/query",
    "/api/peers/edge-a%2fvm/api/v1/query",
    "/api/peers/edge-a/vm/api%2Fv1%2Fquery",
    "/api/peers/edge-a@127.0.0.1/vm/api/v1/query",
    "/api/peers/edge-a:8428/vm/api/v1/query",
    "/api/peers/edge-a.evil.example/vm/api/v1/query",
    "/api/peers/127.0.0.1/vm/api/v1/query",
    "/api/peers/127.0.0.1:8428/vm/api/v1/query",
    "/api/peers//edge-a/vm/api/v1/query",
    "/api/peers/edge-a//vm/api/v1/query",
    "/api/peers/edge-a/vm//api/v1/query",
    "/api/peers/http://edge-a/vm/api/v1/query",
    "/api/peers/edge-a/vm/http://127.0.0.1:8428/api/v1/query",
    "/api/peers/http:%2F%2F127.0.0.1:8428/vm/api/v1/query",
    "/api/peers/edge-a/vm/@127.0.0.1/api/v1/query",
    "/api/peers/edge-a/vm/api/v1/admin/tsdb/delete_series?match[]=up",
    "/api/peers/edge-a/vm/api/v1/import/prometheus",
    "/api/peers/edge-a/vm",
    "/api/peers/edge-a/vm/",
    "/api/peers/edge-a/vm/api/v1/query/",
    "/api/peers/edge-a/vm/api/v1/query%3Fx=1",
    "/api/peers/edge-a/vm/api/v1/query;x=1",
    "/api/peers/edge-a/vm/api/v1/label/a.b/values",
    "/api/peers/edge-a/vm/api/v1/label/%2e%2e/values",
    "/api/peers/-edge/vm/api/v1/query",
]


@pytest.mark.parametrize("uri", TRICKS)
def test_peer_route_rejects_path_tricks(uri):
    assert not PEER_RE.match(uri)


@pytest.mark.parametrize("uri,peer,path", [
    ("/api/peers/edge-a/vm/api/v1/query?query=up", "edge-a", "/api/v1/query"),
    ("/api/peers/edge-a/vm/api/v1/query_range?query=up&start=-1h&step=60", "edge-a", "/api/v1/query_range"),
    ("/api/peers/e1/vm/api/v1/label/__name__/values", "e1", "/api/v1/label/__name__/values"),
    ("/api/peers/edge-a/vm/health", "edge-a", "/health"),
    # A query string is passed on as it is: it only ever reaches the whitelisted peer's own VM.
    ("/api/peers/edge-a/vm/api/v1/query?query=a%2F..%2F@x//", "edge-a", "/api/v1/query"),
])
def test_peer_route_accepts_the_read_api(uri, peer, path):
    match = PEER_RE.match(uri)
    assert match and match.group("pi") == peer and match.group("pp") == path


@pytest.mark.parametrize("uri", [
    "/api/vm/../api/peers/edge-a/vm/api/v1/query",
    "/api/vm/%2e%2e/api/v1/query",
    "/api/vm//api/v1/query",
    "/api/vm/api/v1/admin/tsdb/delete_series",
    "/api/vm/api/v1/import/prometheus",
    "/api/vm/api/v1/write",
    "/api/vm/http://127.0.0.1:8429/api/v1/query",
])
def test_local_route_rejects_tricks_and_writes(uri):
    assert not LOCAL_RE.match(uri)


def test_local_route_accepts_query():
    assert LOCAL_RE.match("/api/vm/api/v1/query?query=vector(1)").group("vp") == "/api/v1/query"


def test_nginx_patterns_take_the_peer_id_rule_from_the_fleet_model():
    """One peer-id rule: the nginx routes and the inventory check agree on every id."""
    assert PATTERNS["peer_id"] == fleet_model.PEER_ID_PATTERN
    assert PATTERNS["vm_paths"] == PATHS_RE
    assert es.PEER_ID_RE is fleet_model.PEER_ID_RE
    for peer_id in ("edge-a", "e1", "a" * 63, "Edge-A", "edge.a", "-edge", "edge-", "a" * 64):
        assert bool(re.match(r"^(?:%s)$" % PATTERNS["peer_id"], peer_id)) is bool(fleet_model.PEER_ID_RE.match(peer_id))
    # The role does not retype the rule.
    assert "[a-z0-9](?:" not in (ROLE / "vars" / "main.yml").read_text()


@pytest.mark.parametrize("paths", [[], ["/api/v1/../x"], ["/api/v1/query%2f"], ["//x"], ["/a?b"], ["/a@b"], ["/a.b"]])
def test_vm_path_patterns_are_restricted(paths):
    with pytest.raises(ValueError):
        es.vm_path_regex(paths)


# ---- compose ----------------------------------------------------------------------------------
def test_compose_collector_ingest_default():
    doc = es.compose_project(compose_cfg())
    services = doc["services"]
    assert sorted(services) == ["mosquitto", "nginx", "victoriametrics", "vmagent"]
    assert services["victoriametrics"]["ports"] == ["127.0.0.1:8428:8428"]
    assert "-retentionPeriod=90d" in services["victoriametrics"]["command"]
    assert services["vmagent"]["ports"] == ["127.0.0.1:8429:8429"]
    assert "ports" not in services["mosquitto"]
    assert services["nginx"]["ports"] == ["80:80"]
    assert set(doc["volumes"]) == {"vm-data", "vmagent-data", "mosquitto-data"}
    assert services["victoriametrics"]["volumes"] == ["vm-data:/victoria-metrics-data"]


def test_compose_vmagent_writes_cloud_first_then_local_with_token_in_env():
    agent = es.compose_project(compose_cfg())["services"]["vmagent"]
    urls = [a.split("=", 1)[1] for a in agent["command"] if a.startswith("-remoteWrite.url=")]
    assert urls == ["${OVR_CLOUD_URL}/api/v1/write", "http://victoriametrics:8428/api/v1/write"]
    assert "-remoteWrite.maxDiskUsagePerURL=1GB" in agent["command"]
    assert "-remoteWrite.label=site=${OVR_SITE_NAME}" in agent["command"]
    assert "-remoteWrite.label=node=${OVR_NODE_NAME}" in agent["command"]
    assert agent["environment"] == {"VMAGENT_remoteWrite_bearerToken": "${OVR_CLOUD_TOKEN}"}
    assert not any("TOKEN" in a for a in agent["command"])
    assert "entrypoint" not in agent  # upstream vmagent image
    assert not any("tlsCAFile" in a for a in agent["command"])


def test_compose_debian_flavor_and_cloud_ca():
    cfg = compose_cfg(flavor=VARS["__edge_stack_flavors"]["debian"], cloud_ca="True", hashes={"vmagent": "c1"})
    agent = es.compose_project(cfg)["services"]["vmagent"]
    assert agent["entrypoint"] == ["/usr/bin/vmagent"]
    assert "-remoteWrite.tlsCAFile=/etc/ovr-vmagent/cloud-ca.pem" in agent["command"]
    assert "/etc/ovr/vmagent.d:/etc/ovr-vmagent:ro" in agent["volumes"]
    assert agent["labels"] == {"ovr.fleet.config-hash": "c1"}


def test_compose_without_cloud():
    agent = es.compose_project(compose_cfg(cloud_remote_write=False))["services"]["vmagent"]
    assert [a for a in agent["command"] if a.startswith("-remoteWrite.url=")] == [
        "-remoteWrite.url=http://victoriametrics:8428/api/v1/write"]
    assert "environment" not in agent


def test_compose_hashes_are_per_service():
    """A changed nginx map or peers.json changes the nginx definition alone."""
    one = es.compose_project(compose_cfg())["services"]
    two = es.compose_project(compose_cfg(hashes={"nginx": "n2", "mosquitto": "m1", "vmagent": "", "telegraf": "t1"}))["services"]
    assert [name for name in one if one[name] != two[name]] == ["nginx"]


def test_compose_telegraf_ingest():
    services = es.compose_project(compose_cfg(ingest="telegraf"))["services"]
    tele = services["telegraf"]
    assert tele["image"] == "telegraf:1.32"
    assert all(v.endswith(":ro") for v in tele["volumes"])
    assert "/etc/ovr/telegraf.d:/etc/telegraf/telegraf.d:ro" in tele["volumes"]
    assert "/opt/ovr/edge/telegraf:/opt/ovr/edge/telegraf:ro" in tele["volumes"]
    assert tele["command"][:3] == ["telegraf", "--config", "/etc/ovr-telegraf/telegraf.conf"]
    assert "--watch-config" in tele["command"]


def test_compose_http_bind_and_apps():
    apps = [{"name": "events-api", "image": "ovr/events:1", "ports": ["127.0.0.1:3000:3000"], "env": {"A": 1}},
            {"name": "dash", "image": "ovr/dash:1", "network_mode": "host"}]
    services = es.compose_project(compose_cfg(http_bind="10.231.5.2", http_port=8080, apps=apps))["services"]
    assert services["nginx"]["ports"] == ["10.231.5.2:8080:80"]
    assert services["events-api"] == {"image": "ovr/events:1", "restart": "unless-stopped",
                                      "ports": ["127.0.0.1:3000:3000"], "environment": {"A": "1"}}
    assert services["dash"]["network_mode"] == "host"


@pytest.mark.parametrize("apps", [
    [{"name": "nginx", "image": "x"}],
    [{"name": "Bad Name", "image": "x"}],
    [{"name": "a"}],
    [{"name": "a", "image": "x", "privileged": True}],
    [{"name": "a", "image": "x", "ports": ["1:1"], "network_mode": "host"}],
    [{"name": "a", "image": "x"}, {"name": "a", "image": "y"}],
])
def test_compose_bad_apps_fail(apps):
    with pytest.raises(ValueError):
        es.compose_project(compose_cfg(apps=apps))


def test_compose_bad_ingest_fails():
    with pytest.raises(ValueError):
        es.compose_project(compose_cfg(ingest="fluentd"))


def test_healthchecks_work_without_shell_variables():
    """Compose would interpolate '$': the health checks hold none."""
    doc = es.compose_project(compose_cfg())
    for service in doc["services"].values():
        if "healthcheck" in service:
            assert "$" not in " ".join(service["healthcheck"]["test"])


def test_healthchecks_can_be_disabled_for_every_core_service():
    services = es.compose_project(compose_cfg(healthchecks=False, ingest="telegraf"))["services"]
    for name in es.CORE_SERVICES:
        assert services[name]["healthcheck"] == {"disable": True}


def test_peer_names_use_what_the_node_resolved():
    resolved = {"edge-c.example.net": "fd00::3  STREAM edge-c.example.net\n192.0.2.13  STREAM \n192.0.2.13  DGRAM \n"}
    out = {p["id"]: p for p in es.upstreams(PEERS, {}, 80, resolved)}
    assert out["edge-c"]["upstream"] == "192.0.2.13:80" and out["edge-c"]["resolved_address"] == "192.0.2.13"
    assert out["edge-c"]["address"] == "edge-c.example.net"
    assert out["edge-a"]["upstream"] == "192.0.2.11:80"


def test_unresolved_peer_names_stay_names():
    out = {p["id"]: p for p in es.upstreams(PEERS, {}, 80, {"edge-c.example.net": ""})}
    assert out["edge-c"]["upstream"] == "edge-c.example.net:80" and out["edge-c"]["resolved_address"] is None


def test_extra_hosts_go_to_the_containers_that_dial_out():
    services = es.compose_project(compose_cfg(extra_hosts={"cloud.example": "192.0.2.50"}, ingest="telegraf"))["services"]
    for name in ("vmagent", "nginx", "telegraf"):
        assert services[name]["extra_hosts"] == ["cloud.example:192.0.2.50"]
    assert "extra_hosts" not in services["victoriametrics"]
    with pytest.raises(ValueError):
        es.compose_project(compose_cfg(extra_hosts={"cloud.example": "not-an-ip"}))


def test_compose_project_name_is_given():
    assert es.compose_project(compose_cfg())["name"] == "ovr-edge"
    with pytest.raises(ValueError, match="the Compose project has no name"):
        es.compose_project(compose_cfg(project=""))


def test_health_probe_is_unchanged_for_running_nodes():
    """The probe moved to module_utils/compose.py word for word: no edge service is recreated by it."""
    check = es.compose_project(compose_cfg())["services"]["victoriametrics"]["healthcheck"]
    assert check == {
        "test": ["CMD-SHELL",
                 "wget -q -O /dev/null http://127.0.0.1:8428/health 2>/dev/null || curl -fsS -o /dev/null "
                 "http://127.0.0.1:8428/health 2>/dev/null || bash -c \"exec 3<>/dev/tcp/127.0.0.1/8428 && printf "
                 "'GET /health HTTP/1.0\\r\\n\\r\\n' >&3 && head -1 <&3 | grep -q ' 200 '\""],
        "interval": "15s", "timeout": "5s", "retries": 3, "start_period": "60s", "start_interval": "2s"}


def test_compose_mounts_the_bundle_and_the_socket_folder_into_nginx():
    cfg = compose_cfg()
    cfg["dirs"] = dict(cfg["dirs"], ui_dir="/opt/ovr/edge/ui", realtime_socket_dir="/run/ovr-collector")
    volumes = es.compose_project(cfg)["services"]["nginx"]["volumes"]
    assert "/opt/ovr/edge/ui:/srv/ovr/ui:ro" in volumes and "/run/ovr-collector:/run/ovr-realtime:ro" in volumes
    assert all("/srv/ovr/ui" not in v for v in es.compose_project(compose_cfg())["services"]["nginx"]["volumes"])


# ---- peer transport ------------------------------------------------------------------------------
def test_overlay_transport_changes_the_upstream_only():
    lan = {p["id"]: p for p in es.upstreams(PEERS, {"edge-c": {"edge_stack_http_port": 8080}}, 80)}
    overlay = {p["id"]: p for p in es.upstreams(PEERS, {"edge-c": {"edge_stack_http_port": 8080}}, 80,
                                                transport="overlay")}
    assert overlay["edge-a"]["upstream"] == "10.231.5.1:80"
    assert overlay["edge-c"]["upstream"] == "10.231.5.3:8080"
    assert overlay["edge-d"]["upstream"] == "10.231.5.4:80"
    assert lan["edge-d"]["upstream"] == "[2001:db8::4]:80"
    for pid in lan:
        # What peers.json and the URLs carry stays the same.
        for key in ("id", "address", "node_id", "overlay_ip", "http_port", "site_id", "site_name"):
            assert overlay[pid][key] == lan[pid][key]


def test_overlay_transport_needs_an_overlay_address_and_a_known_transport():
    with pytest.raises(ValueError, match="peer edge-a: overlay_ip '' is not an IPv4 address"):
        es.upstreams([dict(PEERS[0], overlay_ip=None)], transport="overlay")
    with pytest.raises(ValueError, match="transport 'nebula' is not one of lan, overlay"):
        es.upstreams(PEERS, transport="nebula")
