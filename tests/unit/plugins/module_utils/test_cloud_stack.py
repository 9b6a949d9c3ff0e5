# -*- coding: utf-8 -*-
"""Unit tests of the cloud stack's Compose project (plugins/module_utils/cloud_stack.py) and of
the health probe both stacks share (plugins/module_utils/compose.py), run in a real shell against
a real HTTP server, through each of its three ways (wget, curl, bash)."""

import http.server
import os
import pathlib
import shutil
import subprocess
import threading

import pytest
import yaml

from ansible_collections.ovr.fleet.plugins.module_utils import cloud_stack as cs
from ansible_collections.ovr.fleet.plugins.module_utils import compose
from ansible_collections.ovr.fleet.plugins.module_utils import edge_stack as es

ROOT = pathlib.Path(__file__).resolve().parents[4]
ROLE = ROOT / "roles" / "cloud_stack"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
VARS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())


def cfg(**over):
    out = {
        "project": "ovr-cloud",
        "images": {"vm": "vm:1", "caddy": "caddy:2"},
        "vm_retention": DEFAULTS["cloud_stack_vm_retention"],
        "vm_dedup_interval": DEFAULTS["cloud_stack_vm_dedup_interval"],
        "vm_extra_args": [],
        "https_port": 443,
        "bind_address": "",
        "caddy_user": "0:0",
        "tls_dir": "/etc/ovr/secrets/cloud-tls",
        "apps": [],
        "ui": True,
    }
    out.update(over)
    return out


# ---- the project ------------------------------------------------------------------------------
def test_caddy_mounts_the_ui_bundle_and_its_documents():
    volumes = cs.compose_project(cfg())["services"]["caddy"]["volumes"]
    assert "./ui:/srv/ovr/ui:ro" in volumes and "./ui-meta:/srv/ovr/ui-meta:ro" in volumes
    volumes = cs.compose_project(cfg(ui=False))["services"]["caddy"]["volumes"]
    assert not [v for v in volumes if "/srv/ovr" in v]


def test_the_role_feeds_every_key_the_model_reads():
    assert sorted(VARS["__cloud_stack_compose_input"]) == sorted(cfg())
    assert VARS["__cloud_stack_compose_input"]["project"] == "{{ __cloud_stack_project }}"
    assert VARS["__cloud_stack_project"] == "{{ __ovr_compose_projects.cloud }}"


def test_default_project():
    doc = cs.compose_project(cfg())
    assert doc["name"] == "ovr-cloud"
    assert list(doc["services"]) == ["victoriametrics", "caddy"]
    assert doc["volumes"] == {"vmdata": {}}
    vm, caddy = doc["services"]["victoriametrics"], doc["services"]["caddy"]
    assert vm["image"] == "vm:1" and vm["restart"] == "unless-stopped"
    assert vm["command"] == ["-storageDataPath=/var/lib/victoria-metrics", "-httpListenAddr=:8428",
                             "-retentionPeriod=1y", "-dedup.minScrapeInterval=1ms"]
    assert vm["volumes"] == ["vmdata:/var/lib/victoria-metrics"]
    assert "ports" not in vm  # VictoriaMetrics is never published on the host
    assert caddy["ports"] == ["443:443"]
    assert caddy["user"] == "0:0"
    assert caddy["volumes"] == ["./caddy:/etc/caddy:ro", "/etc/ovr/secrets/cloud-tls:/etc/caddy-tls:ro",
                                "./ui:/srv/ovr/ui:ro", "./ui-meta:/srv/ovr/ui-meta:ro"]
    assert caddy["depends_on"] == {"victoriametrics": {"condition": "service_healthy"}}


def test_dedup_off_and_extra_args_last():
    vm = cs.compose_project(cfg(vm_dedup_interval="", vm_extra_args=["-search.maxUniqueTimeseries=1000"]))
    command = vm["services"]["victoriametrics"]["command"]
    assert not any(a.startswith("-dedup") for a in command)
    assert command[-1] == "-search.maxUniqueTimeseries=1000"


def test_bound_port():
    caddy = cs.compose_project(cfg(https_port="8443", bind_address="10.0.0.5"))["services"]["caddy"]
    assert caddy["ports"] == ["10.0.0.5:8443:443"]


def test_apps_are_routed_never_published():
    apps = [{"name": "map", "image": "m:1", "port": 80, "path": "/map", "environment": {"A": 1}, "command": ["serve"]},
            {"name": "fleet-api", "image": "a:1", "port": 8080, "path": "/fleet"}]
    services = cs.compose_project(cfg(apps=apps))["services"]
    assert services["map"] == {"image": "m:1", "restart": "unless-stopped", "environment": {"A": 1},
                               "command": ["serve"]}
    assert services["fleet-api"] == {"image": "a:1", "restart": "unless-stopped", "environment": {}}


@pytest.mark.parametrize("apps", [
    [{"name": "caddy", "image": "x"}],
    [{"name": "victoriametrics", "image": "x"}],
    [{"name": "Map", "image": "x"}],
    [{"name": "map"}],
    [{"name": "map", "image": "x"}, {"name": "map", "image": "y"}],
])
def test_bad_apps_fail(apps):
    with pytest.raises(ValueError, match="app"):
        cs.compose_project(cfg(apps=apps))


@pytest.mark.parametrize("over", [{"project": ""}, {"https_port": 0}, {"https_port": "x"}, {"images": {"vm": "v"}}])
def test_bad_input_fails(over):
    with pytest.raises((KeyError, ValueError)):
        cs.compose_project(cfg(**over))


def test_the_file_is_valid_compose_yaml():
    """What the role writes: the project as YAML, read back unchanged."""
    doc = cs.compose_project(cfg())
    assert yaml.safe_load(yaml.safe_dump(doc)) == doc


# ---- the shared health probe -------------------------------------------------------------------
def test_both_stacks_use_the_one_probe():
    vm = cs.compose_project(cfg())["services"]["victoriametrics"]["healthcheck"]
    assert vm == compose.healthcheck(8428, "/health", host="localhost", interval="10s", timeout="3s", retries=6,
                                     start_period="20s")
    caddy = cs.compose_project(cfg())["services"]["caddy"]["healthcheck"]
    assert "--header 'Host: localhost:2019' http://127.0.0.1:2019/config/" in caddy["test"][1]
    edge = es.compose_project({
        "project": "ovr-edge", "images": dict.fromkeys(("vm", "vmagent", "mosquitto", "nginx", "telegraf"), "i:1"),
        "flavor": {"vm_data_dir": "/d", "vmagent_data_dir": "/a", "mosquitto_data_dir": "/m"},
        "vm_retention": "90d", "vm_port": 8428, "vmagent_port": 8429, "remote_write_max_disk": "1GB",
        "http_port": 80, "dirs": {"config_dir": "/etc/ovr", "telegraf_dir": "/t"}})["services"]
    assert edge["victoriametrics"]["healthcheck"] == compose.healthcheck(8428, "/health", start_interval="2s")
    for check in (vm, caddy, edge["vmagent"]["healthcheck"], edge["nginx"]["healthcheck"]):
        assert check["test"][0] == "CMD-SHELL"
        assert "$" not in check["test"][1]  # Compose would interpolate it


@pytest.mark.parametrize("args", [(0, "/health"), (8428, "health"), (8428, "/a b"), (8428, "/x", "evil'host")])
def test_probe_refuses_what_is_not_a_plain_local_url(args):
    with pytest.raises(ValueError):
        compose.healthcheck(*args)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.seen.append((self.path, self.headers.get("Host")))
        wanted_host = self.server.wanted_host
        ok = self.path == "/health" and (wanted_host is None or self.headers.get("Host") == wanted_host)
        self.send_response(200 if ok else 403)
        self.end_headers()
        self.wfile.write(b"OK\n" if ok else b"no\n")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    httpd.seen, httpd.wanted_host = [], None
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _toolbox(tmp_path, tools):
    """A PATH holding only ``tools`` (and what a shell needs), so the probe must take one way."""
    box = tmp_path / "bin"
    box.mkdir()
    for tool in ("sh", "head", "grep") + tuple(tools):
        found = shutil.which(tool)
        if not found:
            pytest.skip("%s is not installed here" % tool)
        os.symlink(found, str(box / tool))
    return str(box)


@pytest.mark.parametrize("tools", [("wget",), ("curl",), ("bash",)], ids=["wget", "curl", "bash"])
@pytest.mark.parametrize("host", [None, "localhost:2019"], ids=["no-host", "host-header"])
def test_probe_passes_on_200_and_fails_otherwise(server, tmp_path, tools, host):
    server.wanted_host = host
    path = _toolbox(tmp_path, tools)
    port = server.server_address[1]

    def probe(url_path):
        shell = compose.healthcheck(port, url_path, host=host)["test"][1]
        return subprocess.run(["sh", "-c", shell], env={"PATH": path}, timeout=10, check=False).returncode

    assert probe("/health") == 0
    assert probe("/other") != 0
    if host:
        assert all(seen_host == host for dummy, seen_host in server.seen)
    server.shutdown()
    server.server_close()
    assert probe("/health") != 0  # nothing listening any more
