# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the roles need to know about a node, read in one pass: its installed Debian packages, its
users, its network interfaces and default route, whether it is a container, and the SSH connection
Ansible arrived on.

The engine behind ``ovr.fleet.node_facts``; it replaces fact gathering (seconds per node) and the
roles' own probes (one module run each). Each reader takes the text a node gives and returns plain
values, so the unit tests feed it text; ``read`` runs them against the node through two callables
(``run(argv) -> (rc, stdout)`` and ``read_file(path) -> text or None``). Nothing here imports
Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

DPKG_QUERY = ["dpkg-query", "--show", "--showformat", "${db:Status-Abbrev} ${Package}\\n"]


def installed_packages(text):
    """The names of the installed packages in dpkg-query's "Status-Abbrev Package" lines ("ii ...")."""
    names = []
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "ii":
            names.append(parts[1].split(":", 1)[0])
    return sorted(set(names))


def passwd_lines(text):
    """The passwd lines (name:x:uid:gid:gecos:home:shell) of ``getent passwd``, in its order."""
    return [line for line in (text or "").splitlines() if line.count(":") >= 6]


def default_interface(route_text):
    """The interface of the IPv4 default route in /proc/net/route (the lowest metric wins), or None."""
    best = None
    for line in (route_text or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        iface, destination, flags, metric, mask = fields[0], fields[1], fields[3], fields[6], fields[7]
        try:
            up = int(flags, 16) & 0x1
            metric = int(metric)
        except ValueError:
            continue
        if destination == "00000000" and mask == "00000000" and up and (best is None or metric < best[0]):
            best = (metric, iface)
    return best[1] if best else None


def ssh_connection(value):
    """SSH_CONNECTION ("client client-port server server-port") as a dict, or None when it is not one."""
    parts = (value or "").split()
    if len(parts) != 4 or not parts[1].isdigit() or not parts[3].isdigit():
        return None
    return {"client": parts[0], "client_port": int(parts[1]), "server": parts[2], "port": int(parts[3])}


def route_device(ip_route_get):
    """The interface in ``ip -o route get ADDRESS``'s answer ("... dev eth0 ..."); "lo" for a local one."""
    found = re.search(r"\bdev (\S+)", ip_route_get or "")
    return found.group(1) if found else "lo"


def container_kind(detect_rc, detect_out, exists):
    """What kind of container the node is ("docker", "lxc", ...) or "none": systemd-detect-virt's
    answer when it ran (rc 0 or 1), else the marker files container engines leave."""
    if detect_rc in (0, 1):
        answer = (detect_out or "").strip()
        return answer if detect_rc == 0 and answer else "none"
    if exists("/.dockerenv"):
        return "docker"
    if exists("/run/.containerenv"):
        return "podman"
    return "none"


def read(run, read_file, environ=None, listdir=os.listdir, exists=os.path.exists):
    """Read the node; each part fails alone (its value empty, the reason in ``problems``)."""
    environ = os.environ if environ is None else environ
    problems = []
    rc, out = run(DPKG_QUERY)
    if rc != 0:
        problems.append("dpkg-query failed (rc %s): the installed packages are unknown" % rc)
    packages = installed_packages(out if rc == 0 else "")
    rc, out = run(["getent", "passwd"])
    users = passwd_lines(out if rc == 0 else "")
    if rc != 0:
        problems.append("getent passwd failed (rc %s): the users are unknown" % rc)
    try:
        interfaces = sorted(listdir("/sys/class/net"))
    except OSError as err:
        interfaces = []
        problems.append("cannot list /sys/class/net: %s" % err)
    rc, out = run(["systemd-detect-virt", "--container"])
    container = container_kind(rc, out, exists)
    ssh = ssh_connection(environ.get("SSH_CONNECTION"))
    if ssh:
        rc, out = run(["ip", "-o", "route", "get", ssh["client"]])
        ssh["interface"] = route_device(out) if rc == 0 else None
        if rc != 0:
            problems.append("ip route get %s failed (rc %s): the SSH connection's interface is unknown" % (ssh["client"], rc))
    return {
        "packages": packages,
        "passwd": users,
        "interfaces": interfaces,
        "default_interface": default_interface(read_file("/proc/net/route")),
        "container": container,
        "ssh": ssh,
        "problems": problems,
    }
