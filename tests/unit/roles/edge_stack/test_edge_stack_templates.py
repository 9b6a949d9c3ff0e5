# -*- coding: utf-8 -*-
"""Unit tests of the edge stack role's templates (nginx routing, peer map, Mosquitto, Telegraf,
the UI plane) and of what the role hands the model (plugins/module_utils/edge_stack.py, tested in
tests/unit/plugins/module_utils/test_edge_stack.py)."""

import pathlib
import re
import tomllib

import jinja2
import yaml

from ansible_collections.ovr.fleet.plugins.module_utils import edge_stack as es

ROOT = pathlib.Path(__file__).resolve().parents[4]
ROLE = ROOT / "roles" / "edge_stack"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
VARS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
COMMON = yaml.safe_load((ROOT / "roles" / "_common" / "defaults" / "main.yml").read_text())

PEERS = [
    {"id": "edge-a", "node_id": 1, "address": "192.0.2.11", "overlay_ip": "10.231.5.1", "site_id": 5, "site_name": "es"},
    {"id": "edge-c", "node_id": 3, "address": "edge-c.example.net", "overlay_ip": "10.231.5.3", "site_id": 5,
     "site_name": "es"},
    {"id": "edge-d", "node_id": 4, "address": "2001:db8::4", "overlay_ip": "10.231.5.4", "site_id": 5, "site_name": "es"},
]


PATHS_RE = es.vm_path_regex(DEFAULTS["edge_stack_vm_paths"])
PATTERNS = es.nginx_patterns(DEFAULTS["edge_stack_vm_paths"])


# ---- templates --------------------------------------------------------------------------------
def render(name, **variables):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROLE / "templates")), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    env.filters["basename"] = lambda path: path.rsplit("/", 1)[-1]
    base = dict(COMMON, **DEFAULTS)
    base.update(ansible_managed="managed", inventory_hostname="edge-b", ovr_site_name="es",
                __edge_stack_flavors=VARS["__edge_stack_flavors"], __edge_stack_nginx_patterns=PATTERNS)
    base.update(variables)
    return env.get_template(name).render(**base)


def test_peers_map_is_the_whitelist():
    text = render("peers.map.j2", __edge_stack_peer_list=es.upstreams(PEERS))
    entries = re.findall(r'^\s+"([^"]+)" "([^"]+)";$', text, re.M)
    assert entries == [("edge-a", "192.0.2.11:80"), ("edge-c", "edge-c.example.net:80"), ("edge-d", "[2001:db8::4]:80")]
    assert 'default "";' in text


def test_peers_map_empty_site():
    text = render("peers.map.j2", __edge_stack_peer_list=[])
    assert re.findall(r'^\s+"', text, re.M) == []


def test_nginx_conf_routes_on_the_raw_uri():
    text = render("nginx.conf.j2")
    assert "map $request_uri $ovr_peer_id" in text and "map $request_uri $ovr_vm_path" in text
    assert "proxy_pass http://$ovr_peer_upstream/api/vm$ovr_peer_path$is_args$args;" in text
    assert "proxy_pass http://$ovr_vm_upstream$ovr_vm_path$is_args$args;" in text
    assert PATHS_RE in text
    # nginx would read $name inside a regex as a variable: none but the end anchor.
    for regex in re.findall(r'"~(\^[^"]*)"', text):
        assert re.findall(r"\$[A-Za-z_{]", regex) == []
        re.compile(regex.replace("(?<", "(?P<"))


def test_mosquitto_conf_flavor_paths():
    assert "persistence_location /mosquitto/data/" in render("mosquitto.conf.j2")
    assert "persistence_location /var/lib/mosquitto/" in render("mosquitto.conf.j2", edge_stack_image_flavor="debian")
    assert "listener 1883\n" in render("mosquitto.conf.j2")


def test_telegraf_conf_writes_to_vmagent():
    conf = tomllib.loads(render("telegraf.conf.j2"))
    assert conf["agent"]["omit_hostname"] is True
    (out,) = conf["outputs"]["http"]
    assert out["url"] == "http://vmagent:8429/write" and out["data_format"] == "influx"
    assert "inputs" not in conf  # inputs come from gx_mqtt_sources' telegraf.d


def test_compose_project_name_is_the_fleet_wide_one():
    common_vars = yaml.safe_load((ROOT / "roles" / "_common" / "vars" / "main.yml").read_text())
    assert VARS["__edge_stack_project"] == "{{ __ovr_compose_projects.edge }}"
    assert VARS["__edge_stack_compose_input"]["project"] == "{{ __edge_stack_project }}"
    assert common_vars["__ovr_compose_projects"]["edge"] == "ovr-edge"


# ---- the UI plane: /api/realtime, /api/capabilities and the UI routes of ui.conf

def ui_conf(legacy="", cutover=False):
    root = "legacy" if legacy and not cutover else "unified"
    return render("ui.conf.j2", edge_stack_ui_legacy_upstream=legacy, __edge_stack_ui_cutover=cutover,
                  __edge_stack_ui_root=root)


def locations(text):
    return re.findall(r"^location (= )?(\S+) \{", text, re.M)


def test_realtime_goes_to_the_collector_socket_or_the_field_app():
    text = render("nginx.conf.j2")
    assert "proxy_pass http://unix:/run/ovr-realtime/realtime.sock:/api/realtime;" in text
    assert "include /etc/ovr-nginx/ui.conf;" in text and "alias /etc/ovr-nginx/capabilities.json;" in text
    app = render("nginx.conf.j2", edge_stack_realtime_upstream="fieldapp:8080")
    assert 'set $ovr_realtime_upstream "fieldapp:8080";' in app and "unix:" not in app
    off = render("nginx.conf.j2", edge_stack_realtime_socket="")
    block = off.split("location = /api/realtime {")[1].split("\n        }")[0]
    assert "return 404;" in block and "proxy_pass" not in block


def test_the_realtime_stream_is_passed_through_unbuffered_and_kept_open():
    text = render("nginx.conf.j2")
    block = text.split("location = /api/realtime/stream {")[1].split("\n        }")[0]
    assert "proxy_pass http://unix:/run/ovr-realtime/realtime.sock:/api/realtime/stream;" in block
    assert "proxy_buffering off;" in block and "proxy_cache off;" in block
    assert "proxy_read_timeout 1h;" in block and "limit_except GET { deny all; }" in block
    # the polling route is unchanged for existing clients
    polling = text.split("location = /api/realtime {")[1].split("\n        }")[0]
    assert "proxy_read_timeout 5s;" in polling and "proxy_buffering" not in polling
    app = render("nginx.conf.j2", edge_stack_realtime_upstream="fieldapp:8080")
    stream = app.split("location = /api/realtime/stream {")[1].split("\n        }")[0]
    assert 'set $ovr_realtime_upstream "fieldapp:8080";' in stream and "unix:" not in stream
    off = render("nginx.conf.j2", edge_stack_realtime_socket="")
    block = off.split("location = /api/realtime/stream {")[1].split("\n        }")[0]
    assert "return 404;" in block and "proxy_pass" not in block


def test_hashed_assets_are_cached_for_a_year_and_nothing_else():
    text = render("nginx.conf.j2")
    regex = re.search(r'"~(/assets/[^"]*)" "public, max-age=31536000, immutable";', text).group(1)
    assert re.search(regex, "/beta/assets/uPlot.19c8d4c6ad88.min.js") and re.search(regex, "/assets/app.db683a5b5436.js")
    for uri in ("/beta/sw.js", "/beta/index.html", "/beta/manifest.webmanifest", "/beta/assets/app.js",
                "/beta/assets/app.1234.js", "/sw.js"):
        assert not re.search(regex, uri), uri


def test_without_a_legacy_ui_root_and_beta_serve_the_console():
    text = ui_conf()
    assert locations(text) == [("= ", "/beta"), ("", "/beta/"), ("", "/")]
    assert "Service-Worker-Allowed /beta/" in text and "Service-Worker-Allowed / always" in text
    assert "proxy_pass" not in text


def test_legacy_at_root_until_the_cutover_then_at_legacy():
    before = ui_conf(legacy="legacy:80")
    assert locations(before) == [("= ", "/beta"), ("", "/beta/"), ("", "/")]
    assert 'set $ovr_legacy_upstream "legacy:80";' in before and "/legacy/" not in before.split("# / serves")[1]
    after = ui_conf(legacy="legacy:80", cutover=True)
    assert locations(after) == [("= ", "/beta"), ("", "/beta/"), ("", "/"), ("= ", "/legacy"), ("", "/legacy/")]
    root = after.split("location / {")[1].split("\n}")[0]
    assert "root /srv/ovr/ui;" in root and "proxy_pass" not in root
    assert "rewrite ^/legacy(/.*)$ $1 break;" in after
    # cutover without a legacy UI: nothing to keep at /legacy/
    assert "/legacy" not in ui_conf(cutover=True).split("# / serves")[1]


def test_peer_transport_default_is_lan():
    assert DEFAULTS["edge_stack_peer_transport"] == "lan"
    assert "transport=edge_stack_peer_transport" in (ROLE / "tasks" / "render.yml").read_text()
