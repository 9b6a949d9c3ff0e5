# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the two Compose projects of the collection share: the edge stack's
(edge_stack.py) and the cloud stack's (cloud_stack.py) are both built as a dict
by these helpers, and each role writes that dict as YAML.

Pure functions of their arguments, standard library only; a bad argument raises
ValueError, which the filters turn into a message naming the filter.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import ipaddress
import re

_PATH_RE = re.compile(r"^/[A-Za-z0-9/_-]*$")
_HOST_HEADER_RE = re.compile(r"^[A-Za-z0-9.-]+(?::[0-9]+)?$")


def as_bool(value):
    """A boolean from what a template hands over ("True", "false", "yes", 1, ...)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def is_ip(text):
    """Whether ``text`` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def healthcheck(port, path, host=None, interval="15s", timeout="5s", retries=3, start_period="60s",
                start_interval=None):
    """A Compose health check: ``GET http://127.0.0.1:<port><path>`` inside the container answers 200.

    One probe for every image the stacks run: busybox ``wget`` (the upstream Alpine images),
    ``curl`` (the upstream Debian ones), else bash's ``/dev/tcp`` (the images built from Debian
    packages, which have neither). ``host`` sets the Host header, for a server that answers only
    its own name (Caddy's admin API). The probe holds no ``$``, which Compose would interpolate.
    """
    port = int(port)
    if not 1 <= port <= 65535 or not _PATH_RE.match(path) or (host and not _HOST_HEADER_RE.match(host)):
        raise ValueError("health probe of 127.0.0.1:%s%s (Host %r) is not a plain local URL" % (port, path, host))
    url = "http://127.0.0.1:%d%s" % (port, path)
    wget, curl, header = "", "", ""
    if host:
        wget, curl, header = " --header 'Host: %s'" % host, " -H 'Host: %s'" % host, "Host: %s\\r\\n" % host
    bash = ("exec 3<>/dev/tcp/127.0.0.1/%d && printf 'GET %s HTTP/1.0\\r\\n%s\\r\\n' >&3 "
            "&& head -1 <&3 | grep -q ' 200 '" % (port, path, header))
    check = {
        "test": ["CMD-SHELL",
                 "wget -q -O /dev/null%s %s 2>/dev/null || curl -fsS -o /dev/null%s %s 2>/dev/null || bash -c \"%s\""
                 % (wget, url, curl, url, bash)],
        "interval": interval,
        "timeout": timeout,
        "retries": int(retries),
        "start_period": start_period,
    }
    if start_interval:
        check["start_interval"] = start_interval
    return check


def published_port(host_port, container_port, bind=""):
    """A Compose short-syntax port: ``[bind:]host_port:container_port``."""
    host_port = int(host_port)
    if not 1 <= host_port <= 65535:
        raise ValueError("port %d is out of range" % host_port)
    return "%s%d:%d" % ("%s:" % bind if bind else "", host_port, int(container_port))


def project(name, services, volumes=()):
    """The Compose project document: its name, services and named volumes."""
    if not name:
        raise ValueError("the Compose project has no name")
    return {"name": str(name), "services": services, "volumes": dict((v, {}) for v in volumes)}
