# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The edge stack's model (role ovr.fleet.edge_stack): the peers with their nginx upstreams, the
regexes the nginx routes are made of, and the Compose project of an edge node.

Pure functions of their input, standard library only, no Ansible import; the filters of
plugins/filter/edge_stack.py are thin adapters around them. What the edge's Compose project
shares with the cloud's (health probe, ports, project document) is in compose.py; the peer-id
rule is the fleet model's. A refusal raises EdgeStackError (a ValueError), which the filters turn
into a message naming the filter.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import re

from . import compose
# What a peer id may look like in /api/peers/<id>/vm/: the fleet model's rule (lower-case
# letters, digits and '-', no dots, so never a host name or address).
from .fleet_model import PEER_ID_PATTERN, PEER_ID_RE


class EdgeStackError(ValueError):
    """Input the edge stack refuses; the message says which value and why."""


# A peer address as the fleet model accepts it: an IPv4/IPv6 address or a DNS name. Checked again
# here because it is written into nginx config: nothing that could end a token or open a path.
_ADDRESS_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|[0-9A-Fa-f:.]+)$")
# A VictoriaMetrics API path the proxy lets through: literal segments and a few character
# classes only, never '%', '.' at a segment start, '@', ':', '?' or an empty segment.
_VM_PATH_RE = re.compile(r"^/(?:[A-Za-z0-9_-]+|\[[A-Za-z0-9_-]+\][+*](?:\{[0-9,]+\})?|[()|+*/])+$")
# Service names the stack uses itself; applications may not take them.
CORE_SERVICES = ("victoriametrics", "vmagent", "mosquitto", "nginx", "telegraf")
_APP_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_APP_KEYS = frozenset(("name", "image", "ports", "env", "volumes", "network_mode", "command"))


def _first_address(getent_text):
    """The address to use from ``getent ahosts`` output: the first IPv4 one, else the first."""
    found = [line.split()[0] for line in (getent_text or "").splitlines() if line.split()]
    found = [a for a in found if compose.is_ip(a)]
    v4 = [a for a in found if ":" not in a]
    return (v4 or found or [None])[0]


TRANSPORTS = ("lan", "overlay")


def upstreams(peers, hostvars=None, default_port=80, resolved=None, transport="lan"):
    """The peers of the fleet model's ``site_peers`` with their nginx ``http_port`` and ``upstream``.

    A peer's port is its own ``edge_stack_http_port`` (from ``hostvars``), else ``default_port``.
    A peer address that is a name is replaced in ``upstream`` by what the node resolved it to
    (``resolved``: name -> ``getent ahosts`` output), since a container resolves neither the
    host's /etc/hosts, mDNS nor a loopback resolver; ``resolved_address`` tells which.
    Every id and address is checked again, since both end up in nginx config.
    With ``transport="overlay"`` the upstream is the peer's Nebula address (``overlay_ip``) instead:
    ``id`` and ``address`` (what peers.json shows) stay the same.
    """
    if transport not in TRANSPORTS:
        raise EdgeStackError("transport %r is not one of %s" % (transport, ", ".join(TRANSPORTS)))
    resolved = resolved or {}
    hostvars = hostvars or {}
    out = []
    seen = set()
    for peer in peers or []:
        pid = str(peer.get("id", ""))
        if not PEER_ID_RE.match(pid):
            raise EdgeStackError("peer id %r is not a safe URL token (lower-case letters, digits, '-')" % pid)
        if pid in seen:
            raise EdgeStackError("peer id %r appears twice" % pid)
        seen.add(pid)
        address = str(peer.get("address") or "")
        if not _ADDRESS_RE.match(address) or ".." in address:
            raise EdgeStackError("peer %s: address %r is not an IP address or host name" % (pid, address))
        port = (hostvars.get(pid) or {}).get("edge_stack_http_port", default_port)
        try:
            port = int(port)
        except (TypeError, ValueError):
            raise EdgeStackError("peer %s: edge_stack_http_port %r is not a port" % (pid, port))
        if not 1 <= port <= 65535:
            raise EdgeStackError("peer %s: edge_stack_http_port %d is out of range" % (pid, port))
        if transport == "overlay":
            target = str(peer.get("overlay_ip") or "")
            if not compose.is_ip(target) or ":" in target:
                raise EdgeStackError("peer %s: overlay_ip %r is not an IPv4 address (transport overlay)"
                      % (pid, target))
        else:
            target = address if compose.is_ip(address) else (_first_address(resolved.get(address)) or address)
        host = "[%s]" % target if ":" in target else target
        item = dict(peer)
        item.update({"id": pid, "address": address, "http_port": port, "upstream": "%s:%d" % (host, port),
                     "resolved_address": target if compose.is_ip(target) else None})
        out.append(item)
    return out


def vm_path_regex(paths):
    """One regex alternative of the VictoriaMetrics API paths the proxy serves (read-only API)."""
    if not paths:
        raise EdgeStackError("the list of VictoriaMetrics paths is empty")
    for path in paths:
        if not isinstance(path, str) or not _VM_PATH_RE.match(path) or "//" in path:
            raise EdgeStackError("path pattern %r may only hold '/', letters, digits, '_', '-', character classes "
                  "like [a-z_]+ and groups; never '.', '%%', '?', '@' or '//'" % (path,))
    return "(?:%s)" % "|".join(paths)


def nginx_patterns(paths):
    """The two regexes the nginx routes are made of: the VictoriaMetrics paths let through
    (``vm_path_regex``) and the fleet model's peer-id rule (unanchored)."""
    return {"vm_paths": vm_path_regex(paths), "peer_id": PEER_ID_PATTERN}


def _healthcheck(port, path):
    """The edge stack's health check of a service: HTTP 200 on its own port inside the container."""
    return compose.healthcheck(port, path, interval="15s", timeout="5s", retries=3, start_period="60s",
                               start_interval="2s")


def _labels(hashes, name):
    value = (hashes or {}).get(name)
    return {"ovr.fleet.config-hash": str(value)} if value else {}


def _app_service(app, cfg):
    name = app.get("name", "")
    unknown = sorted(set(app) - _APP_KEYS)
    if unknown:
        raise EdgeStackError("app %r: unknown key(s) %s" % (name, ", ".join(unknown)))
    if not _APP_NAME_RE.match(str(name)) or name in CORE_SERVICES:
        raise EdgeStackError("app name %r must be a service name ([a-z0-9_-]) and not one of %s"
              % (name, ", ".join(CORE_SERVICES)))
    if not app.get("image"):
        raise EdgeStackError("app %r has no image" % name)
    service = {"image": str(app["image"]), "restart": cfg.get("restart", "unless-stopped")}
    if app.get("command"):
        service["command"] = [str(c) for c in app["command"]]
    if app.get("env"):
        service["environment"] = dict((str(k), str(v)) for k, v in sorted(app["env"].items()))
    if app.get("volumes"):
        service["volumes"] = [str(v) for v in app["volumes"]]
    if app.get("network_mode"):
        service["network_mode"] = str(app["network_mode"])
        if app.get("ports"):
            raise EdgeStackError("app %r: ports and network_mode exclude each other" % name)
    elif app.get("ports"):
        service["ports"] = [str(p) for p in app["ports"]]
    return service


def compose_project(cfg):
    """The Compose project of an edge node, as a dict (the role writes it as YAML).

    ``cfg`` keys: images (vm, vmagent, mosquitto, nginx, telegraf), flavor (paths and entrypoints
    of the image family: vm_data_dir, vmagent_data_dir, vmagent_entrypoint, mosquitto_data_dir),
    vm_retention, vm_port, vm_extra_args, vmagent_port, vmagent_extra_args, remote_write_max_disk,
    cloud_remote_write, cloud_write_path, cloud_ca (bool), http_port, http_bind, ingest,
    apps, extra_hosts ({name: ip} for vmagent, nginx, telegraf), healthchecks (false: none, not
    even the images' own), hashes ({service: hash}), dirs (config_dir, telegraf_dir, and optionally
    ui_dir: the UI bundle, realtime_socket_dir: the collector's socket folder, both for nginx), project
    (the Compose project name).
    """
    images = cfg["images"]
    flavor = cfg["flavor"]
    dirs = cfg["dirs"]
    hashes = cfg.get("hashes") or {}
    restart = cfg.get("restart", "unless-stopped")
    ingest = cfg.get("ingest", "collector")
    if ingest not in ("collector", "telegraf"):
        raise EdgeStackError("ingest must be collector or telegraf, got %r" % (ingest,))
    config_dir = dirs["config_dir"]

    vm_dir = flavor["vm_data_dir"]
    services = {}
    services["victoriametrics"] = {
        "image": images["vm"],
        "restart": restart,
        "command": ["-storageDataPath=%s" % vm_dir, "-httpListenAddr=:8428",
                    "-retentionPeriod=%s" % cfg["vm_retention"]] + [str(a) for a in cfg.get("vm_extra_args") or []],
        "volumes": ["vm-data:%s" % vm_dir],
        "ports": [compose.published_port(cfg["vm_port"], 8428, "127.0.0.1")],
        "healthcheck": _healthcheck(8428, "/health"),
    }

    agent_dir = flavor["vmagent_data_dir"]
    urls = []
    agent_args = ["-httpListenAddr=:8429",
                  "-remoteWrite.tmpDataPath=%s/vmagent-remotewrite-data" % agent_dir,
                  "-remoteWrite.maxDiskUsagePerURL=%s" % cfg["remote_write_max_disk"],
                  "-remoteWrite.label=site=${OVR_SITE_NAME}",
                  "-remoteWrite.label=node=${OVR_NODE_NAME}",
                  "-influxSkipSingleField"]
    environment = {}
    volumes = ["vmagent-data:%s" % agent_dir]
    if compose.as_bool(cfg.get("cloud_remote_write", True)):
        # The cloud is URL number 1: the token (read from the environment, never a command-line
        # argument that `ps` shows) and the CA apply to it alone.
        urls.append("${OVR_CLOUD_URL}%s" % cfg.get("cloud_write_path", "/api/v1/write"))
        agent_args += ["-envflag.enable", "-envflag.prefix=VMAGENT_"]
        environment["VMAGENT_remoteWrite_bearerToken"] = "${OVR_CLOUD_TOKEN}"
        if compose.as_bool(cfg.get("cloud_ca")):
            agent_args.append("-remoteWrite.tlsCAFile=/etc/ovr-vmagent/cloud-ca.pem")
            volumes.append("%s/vmagent.d:/etc/ovr-vmagent:ro" % config_dir)
    urls.append("http://victoriametrics:8428/api/v1/write")
    agent_args += ["-remoteWrite.url=%s" % u for u in urls]
    agent_args += [str(a) for a in cfg.get("vmagent_extra_args") or []]
    vmagent = {
        "image": images["vmagent"],
        "restart": restart,
        "command": agent_args,
        "volumes": volumes,
        "ports": [compose.published_port(cfg["vmagent_port"], 8429, "127.0.0.1")],
        "depends_on": ["victoriametrics"],
        "healthcheck": _healthcheck(8429, "/health"),
    }
    if flavor.get("vmagent_entrypoint"):
        vmagent["entrypoint"] = list(flavor["vmagent_entrypoint"])
    if environment:
        vmagent["environment"] = environment
    labels = _labels(hashes, "vmagent")
    if labels:
        vmagent["labels"] = labels
    services["vmagent"] = vmagent

    services["mosquitto"] = {
        "image": images["mosquitto"],
        "restart": restart,
        "entrypoint": ["/usr/sbin/mosquitto", "-c", "/etc/ovr-mosquitto/mosquitto.conf"],
        "volumes": ["mosquitto-data:%s" % flavor["mosquitto_data_dir"],
                    "%s/mosquitto.d:/etc/ovr-mosquitto:ro" % config_dir],
        "labels": _labels(hashes, "mosquitto"),
    }

    services["nginx"] = {
        "image": images["nginx"],
        "restart": restart,
        "entrypoint": ["/usr/sbin/nginx", "-c", "/etc/ovr-nginx/nginx.conf", "-g", "daemon off;"],
        "ports": [compose.published_port(cfg["http_port"], 80, cfg.get("http_bind") or "")],
        "volumes": ["%s/nginx.d:/etc/ovr-nginx:ro" % config_dir,
                    "%s/peers.json:/srv/ovr/peers.json:ro" % config_dir]
        # the UI bundle, and the folder of the collector's /api/realtime socket
        + (["%s:/srv/ovr/ui:ro" % dirs["ui_dir"]] if dirs.get("ui_dir") else [])
        + (["%s:/run/ovr-realtime:ro" % dirs["realtime_socket_dir"]] if dirs.get("realtime_socket_dir") else []),
        "depends_on": ["victoriametrics"],
        "labels": _labels(hashes, "nginx"),
        "healthcheck": _healthcheck(80, "/api/health"),
    }

    if ingest == "telegraf":
        services["telegraf"] = {
            "image": images["telegraf"],
            "restart": restart,
            "command": ["telegraf", "--config", "/etc/ovr-telegraf/telegraf.conf",
                        "--config-directory", "/etc/telegraf/telegraf.d", "--watch-config", "poll"],
            "volumes": ["%s/telegraf:/etc/ovr-telegraf:ro" % config_dir,
                        "%s/telegraf.d:/etc/telegraf/telegraf.d:ro" % config_dir,
                        "%s:%s:ro" % (dirs["telegraf_dir"], dirs["telegraf_dir"])],
            "depends_on": ["vmagent"],
            "labels": _labels(hashes, "telegraf"),
        }

    for app in cfg.get("apps") or []:
        if app.get("name") in services:
            raise EdgeStackError("app name %r is used twice" % app.get("name"))
        services[app["name"]] = _app_service(app, cfg)

    extra_hosts = cfg.get("extra_hosts") or {}
    for name, address in sorted(extra_hosts.items()):
        if not _ADDRESS_RE.match(str(name)) or not compose.is_ip(str(address)):
            raise EdgeStackError("extra_hosts: %r -> %r must be a host name -> an IP address" % (name, address))
    if extra_hosts:
        entries = ["%s:%s" % (name, address) for name, address in sorted(extra_hosts.items())]
        for name in ("vmagent", "nginx", "telegraf"):
            if name in services:
                services[name]["extra_hosts"] = list(entries)
    if not compose.as_bool(cfg.get("healthchecks", True)):
        for name in CORE_SERVICES:
            if name in services:
                services[name]["healthcheck"] = {"disable": True}
    for service in services.values():
        if "labels" in service and not service["labels"]:
            del service["labels"]
    return compose.project(cfg.get("project"), services, ("vm-data", "vmagent-data", "mosquitto-data"))
