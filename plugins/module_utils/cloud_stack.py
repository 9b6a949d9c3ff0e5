# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cloud stack's model (role ovr.fleet.cloud_stack): the Compose project of the cloud node.

A pure function of its input, standard library only, no Ansible import; the filter
``ovr.fleet._cloud_stack_compose`` (plugins/filter/cloud_stack_compose.py) is a thin adapter around it. Built like the edge's project
(edge_stack.py), from the same helpers (compose.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import re

from . import compose

#: Service names the stack uses itself; applications may not take them.
CORE_SERVICES = ("victoriametrics", "caddy")
_APP_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")
#: Where VictoriaMetrics keeps its data (the same path in the upstream and the Debian image).
VM_DATA_DIR = "/var/lib/victoria-metrics"
RESTART = "unless-stopped"


def _healthcheck(port, path, host):
    """The cloud stack's health check of a service: HTTP 200 on its own port inside the container."""
    return compose.healthcheck(port, path, host=host, interval="10s", timeout="3s", retries=6, start_period="20s")


def _app_service(app):
    name = app.get("name", "")
    if not _APP_NAME_RE.match(str(name)) or name in CORE_SERVICES:
        raise ValueError("app name %r must be lower-case letters, digits and '-' and not one of %s"
                         % (name, ", ".join(CORE_SERVICES)))
    if not app.get("image"):
        raise ValueError("app %r has no image" % name)
    service = {"image": str(app["image"]), "restart": RESTART, "environment": dict(app.get("environment") or {})}
    if app.get("command"):
        service["command"] = [str(c) for c in app["command"]]
    return service


def compose_project(cfg):
    """The Compose project of the cloud node, as a dict (the role writes it as YAML).

    ``cfg`` keys: project (the Compose project name), images (vm, caddy), vm_retention,
    vm_dedup_interval (empty: no deduplication), vm_extra_args, https_port, bind_address,
    caddy_user, tls_dir (mounted read-only into the front), apps. A bad app raises ValueError, a
    missing key KeyError.
    """
    images = cfg["images"]
    command = ["-storageDataPath=%s" % VM_DATA_DIR, "-httpListenAddr=:8428",
               "-retentionPeriod=%s" % cfg["vm_retention"]]
    if cfg.get("vm_dedup_interval"):
        command.append("-dedup.minScrapeInterval=%s" % cfg["vm_dedup_interval"])
    command += [str(a) for a in cfg.get("vm_extra_args") or []]
    services = {
        "victoriametrics": {
            "image": str(images["vm"]),
            "restart": RESTART,
            "command": command,
            "volumes": ["vmdata:%s" % VM_DATA_DIR],
            "healthcheck": _healthcheck(8428, "/health", "localhost"),
        },
        "caddy": {
            "image": str(images["caddy"]),
            "restart": RESTART,
            "user": str(cfg["caddy_user"]),
            "ports": [compose.published_port(cfg["https_port"], 443, cfg.get("bind_address") or "")],
            "volumes": ["./caddy:/etc/caddy:ro", "%s:/etc/caddy-tls:ro" % cfg["tls_dir"]]
            # the UI bundle (ovr.fleet.ui) and the UI's documents (capabilities.json, nodes.json)
            + (["./ui:/srv/ovr/ui:ro", "./ui-meta:/srv/ovr/ui-meta:ro"] if cfg.get("ui") else []),
            "depends_on": {"victoriametrics": {"condition": "service_healthy"}},
            # Caddy's admin API answers only its own name (admin localhost:2019 in the Caddyfile).
            "healthcheck": _healthcheck(2019, "/config/", "localhost:2019"),
        },
    }
    for app in cfg.get("apps") or []:
        if app.get("name") in services:
            raise ValueError("app name %r is used twice" % app.get("name"))
        services[app["name"]] = _app_service(app)
    return compose.project(cfg.get("project"), services, ("vmdata",))
