# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall's model (role ovr.fleet.firewall): what a node lets in, its nft rendering, the
lock-out guard's question, the edge.env toggles and the checks of the role's variables.

One model of what the node lets in (a list of "allow" entries, built by ``rules``) is both what
the template renders (``nft``: the nft rule lines of the input chain and of the chain that
filters published container ports) and what the lock-out guard asks (``admits``: would a
connection from this address on this interface to this port be let in?), so the guard judges
exactly the rules that are loaded. The filters of plugins/filter/firewall.py are thin adapters
around it. Standard library only, no Ansible import; bad input raises ValueError, whose message
the filters prefix with their name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import fnmatch
import ipaddress
import re

from . import envfile

# An interface name as the kernel takes it (at most 15 characters), or a prefix ending in '*'
# (nft's wildcard): nothing that could end a quoted nft string.
IFACE_RE = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$|^[A-Za-z0-9_.:@-]{1,14}\*$")
PROTOS = ("tcp", "udp")
# The keys of a firewall_allowed item.
ALLOWED_KEYS = frozenset(("port", "ports", "proto", "interfaces", "sources", "comment"))
_COMMENT_RE = re.compile(r"^[A-Za-z0-9 _.,:/()+-]{0,100}$")


def _port(value, what):
    if isinstance(value, bool):
        raise ValueError("%s must be a port 1-65535, got %r" % (what, value))
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ValueError("%s must be a port 1-65535, got %r" % (what, value))
    if not 1 <= port <= 65535 or str(value).strip() != str(port):
        raise ValueError("%s must be a port 1-65535, got %r" % (what, value))
    return port


def _ifaces(value, what):
    """None stays None (any interface); a list is checked."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError("%s must be a list of interface names, got %r" % (what, value))
    bad = [i for i in value if not isinstance(i, str) or not IFACE_RE.match(i)]
    if bad:
        raise ValueError("%s must be interface names (at most 15 letters, digits, _ . : @ -; a trailing * "
                         "matches a prefix), got %r" % (what, bad))
    return sorted(set(value), key=list(value).index)


def _sources(value, what):
    """A list of addresses/CIDRs -> (IPv4 networks, IPv6 networks), as strings."""
    if value is None:
        return [], []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError("%s must be a list of addresses or CIDRs, got %r" % (what, value))
    v4, v6 = [], []
    for item in value:
        try:
            net = ipaddress.ip_network(str(item), strict=False)
        except ValueError:
            raise ValueError("%s must be addresses or CIDRs, got %r" % (what, item))
        (v4 if net.version == 4 else v6).append(str(net))
    return v4, v6


def _entry(name, proto, ports, interfaces=None, sources=None):
    v4, v6 = _sources(sources, name)
    return {"name": name, "proto": proto, "ports": sorted(set(ports)), "interfaces": interfaces,
            "sources4": v4, "sources6": v6}


def _allowed(items):
    entries = []
    if not isinstance(items, (list, tuple)):
        raise ValueError("firewall_allowed must be a list, got %r" % (items,))
    for number, item in enumerate(items, 1):
        what = "firewall_allowed item %d" % number
        if not isinstance(item, dict):
            raise ValueError("%s must be a dict {port, proto, interfaces, sources, comment}, got %r" % (what, item))
        unknown = sorted(set(item) - ALLOWED_KEYS)
        if unknown:
            raise ValueError("%s has unknown keys %s (known: %s)" % (what, unknown, sorted(ALLOWED_KEYS)))
        ports = item.get("ports", [item["port"]] if "port" in item else [])
        if isinstance(ports, (str, int)):
            ports = [ports]
        if not ports:
            raise ValueError("%s needs port or ports" % what)
        ports = [_port(p, what + " port") for p in ports]
        proto = item.get("proto", "tcp")
        if proto not in PROTOS:
            raise ValueError("%s proto must be tcp or udp, got %r" % (what, proto))
        comment = str(item.get("comment", "firewall_allowed %d" % number))
        if not _COMMENT_RE.match(comment):
            raise ValueError("%s comment must be at most 100 letters, digits, blanks and _ . , : / ( ) + -, got %r"
                             % (what, comment))
        entries.append(_entry(comment, proto, ports, _ifaces(item.get("interfaces"), what + " interfaces"),
                              item.get("sources")))
    return entries


def rules(cfg):
    """The allow entries of the node: [{name, proto, ports, interfaces, sources4, sources6}].

    ``interfaces`` None means any interface; empty ``sources4`` and ``sources6`` mean any source.
    An entry whose interface list came out empty (e.g. no Wi-Fi interface) is left out.
    """
    if not isinstance(cfg, dict):
        raise ValueError("expects a dict, got %s" % type(cfg).__name__)
    profile = cfg.get("profile", "edge")
    if profile not in ("edge", "cloud"):
        raise ValueError("firewall_profile must be edge or cloud, got %r" % (profile,))
    mgmt = _ifaces(cfg.get("mgmt_interfaces") or [], "firewall_mgmt_interfaces")
    wifi = _ifaces(cfg.get("wifi_interfaces") or [], "firewall_wifi_interfaces")
    mgmt_ports = [_port(p, "firewall_mgmt_ports") for p in cfg.get("mgmt_ports") or []]
    entries = []
    if mgmt and mgmt_ports:
        entries.append(_entry("management", "tcp", mgmt_ports, mgmt))
    if cfg.get("allow_wifi_mgmt") and wifi and mgmt_ports:
        entries.append(_entry("management on Wi-Fi (ALLOW_WIFI_MGMT)", "tcp", mgmt_ports, wifi))
    if cfg.get("allow_mdns") and mgmt:
        entries.append(_entry("mDNS (ALLOW_MDNS)", "udp", [5353], mgmt))
    if profile == "edge":
        http = _port(cfg.get("http_port", 80), "firewall_http_port")
        site_if = _ifaces(cfg.get("site_interfaces") or [], "firewall_site_interfaces")
        site_nets = cfg.get("site_networks") or []
        if site_if:
            entries.append(_entry("edge nginx (site interfaces)", "tcp", [http], site_if))
        if site_nets:
            entries.append(_entry("edge nginx (site networks)", "tcp", [http], None, site_nets))
    else:
        https = _port(cfg.get("https_port", 443), "firewall_https_port")
        entries.append(_entry("cloud TLS front", "tcp", [https]))
    for key, label in (("nebula", "Nebula"), ("babel", "Babel")):
        hook = cfg.get(key) or {}
        if hook.get("enabled"):
            port = _port(hook.get("port"), "firewall_%s_port" % key)
            ifaces = _ifaces(hook.get("interfaces") or None, "firewall_%s_interfaces" % key)
            entries.append(_entry(label, "udp", [port], ifaces))
    entries.extend(_allowed(cfg.get("allowed") or []))
    return entries


def _set(values):
    values = [str(v) for v in values]
    return values[0] if len(values) == 1 else "{ %s }" % ", ".join(values)


def nft(entries, chain="input"):
    """The nft rule lines of ``entries`` for the ``input`` chain (matching the destination port)
    or the ``published`` chain (DNAT'ed connections, matching the port before translation)."""
    if chain not in ("input", "published"):
        raise ValueError("chain must be input or published, got %r" % (chain,))
    lines = []
    for entry in entries:
        ports = _set(entry["ports"])
        if chain == "input":
            match = "%s dport %s" % (entry["proto"], ports)
        else:
            match = "meta l4proto %s ct original proto-dst %s" % (entry["proto"], ports)
        families = []
        if entry.get("sources4"):
            families.append("ip saddr %s " % _set(entry["sources4"]))
        if entry.get("sources6"):
            families.append("ip6 saddr %s " % _set(entry["sources6"]))
        for iface in (entry["interfaces"] if entry["interfaces"] is not None else [None]):
            iif = 'iifname "%s" ' % iface if iface else ""
            for saddr in families or [""]:
                lines.append('%s%s%s accept comment "%s"' % (iif, saddr, match, entry["name"]))
    return lines


def _iface_matches(pattern, iface):
    if pattern.endswith("*"):
        return iface.startswith(pattern[:-1])
    return fnmatch.fnmatchcase(iface, pattern) if "?" in pattern or "[" in pattern else iface == pattern


def admits(entries, proto, port, interface, source, trusted=None):
    """The name of the first entry that lets a new ``proto`` connection from ``source`` arriving
    on ``interface`` to ``port`` in, "loopback"/"trusted interface" for those, else ""."""
    port = int(port)
    addr = ipaddress.ip_address(str(source))
    if interface == "lo":
        return "loopback"
    if any(_iface_matches(t, interface) for t in trusted or []):
        return "trusted interface"
    for entry in entries:
        if entry["proto"] != proto or port not in entry["ports"]:
            continue
        if entry["interfaces"] is not None and not any(_iface_matches(i, interface) for i in entry["interfaces"]):
            continue
        nets = entry.get("sources4", []) + entry.get("sources6", [])
        if nets and not any(addr.version == ipaddress.ip_network(n).version and addr in ipaddress.ip_network(n)
                            for n in nets):
            continue
        return entry["name"]
    return ""


TOGGLES = {"ALLOW_WIFI_MGMT": "firewall_allow_wifi_mgmt", "ALLOW_MDNS": "firewall_allow_mdns"}
_PORT_VARS = ("firewall_ssh_port", "firewall_http_port", "firewall_https_port", "firewall_nebula_port",
              "firewall_babel_port")
_IFACE_VARS = ("firewall_mgmt_interfaces", "firewall_wifi_interfaces", "firewall_site_interfaces",
               "firewall_trusted_interfaces", "firewall_nebula_interfaces", "firewall_babel_interfaces")


def _is_list(value):
    return isinstance(value, (list, tuple))


def _bool(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _problems(raw):
    found = {}
    if raw.get("firewall_profile") not in ("edge", "cloud"):
        found["firewall_profile"] = "firewall_profile must be edge or cloud, got %r" % (raw.get("firewall_profile"),)
    bad_ports = {}
    for name in _PORT_VARS:
        try:
            _port(raw.get(name), name)
        except ValueError:
            bad_ports[name] = raw.get(name)
    for name, value in sorted(bad_ports.items()):
        found[name] = "%s must be a port 1-65535, got %r" % (name, value)
    ports = raw.get("firewall_mgmt_ports")
    try:
        if not _is_list(ports):
            raise ValueError
        ports = [_port(p, "firewall_mgmt_ports") for p in ports]
        if "firewall_ssh_port" not in bad_ports and _port(raw.get("firewall_ssh_port"), "") not in ports:
            raise ValueError
    except ValueError:
        found["firewall_mgmt_ports"] = ("firewall_mgmt_ports must be a list of ports 1-65535 that holds "
                                        "firewall_ssh_port (%s), got %r" % (raw.get("firewall_ssh_port"), ports))
    lists = {}
    for name in _IFACE_VARS:
        try:
            lists[name] = _ifaces(raw.get(name), name) or []
        except ValueError as exc:
            found[name] = str(exc)
    try:
        if not isinstance(raw.get("firewall_nebula_tun_dev"), str) or "*" in raw["firewall_nebula_tun_dev"]:
            raise ValueError("firewall_nebula_tun_dev must be one interface name, got %r"
                             % (raw.get("firewall_nebula_tun_dev"),))
        _ifaces([raw["firewall_nebula_tun_dev"]], "firewall_nebula_tun_dev")
    except ValueError as exc:
        found["firewall_nebula_tun_dev"] = str(exc)
    if "firewall_mgmt_interfaces" in lists and not lists["firewall_mgmt_interfaces"]:
        found["firewall_mgmt_interfaces"] = ("firewall_mgmt_interfaces must name at least one interface (SSH is "
                                             "open only there), got []")
    both = [i for i in lists.get("firewall_mgmt_interfaces", []) if i in lists.get("firewall_wifi_interfaces", [])]
    if both:
        found["firewall_wifi_interfaces"] = ("firewall_wifi_interfaces and firewall_mgmt_interfaces both hold %s: an "
                                             "interface is one or the other (ALLOW_WIFI_MGMT would mean nothing)" % both)
    try:
        _sources(raw.get("firewall_site_networks"), "firewall_site_networks")
    except ValueError:
        found["firewall_site_networks"] = ("firewall_site_networks must be a list of IPv4/IPv6 addresses or CIDRs, "
                                           "got %r" % (raw.get("firewall_site_networks"),))
    env = raw.get("layout_edge_env") or {}
    if not isinstance(env, dict):
        env = {}
    bad = dict((k, env[k]) for k in TOGGLES if k in env and str(env[k]) not in ("0", "1"))
    if bad:
        found["layout_edge_env"] = 'layout_edge_env toggles must be "1" (on) or "0" (off), got %s' % (
            ", ".join("%s=%r" % kv for kv in sorted(bad.items())))
    clash = ["%s (%s)" % (var, "true" if _bool(raw.get(var)) else "false") for key, var in sorted(TOGGLES.items())
             if key not in bad and _bool(raw.get(var)) != (str(env.get(key, "0")) == "1")]
    if clash:
        found["toggles"] = ("%s disagree(s) with layout_edge_env, which /etc/ovr/edge.env is written from: set each "
                            "toggle once, as layout_edge_env.ALLOW_WIFI_MGMT / ALLOW_MDNS" % " and ".join(clash))
    extra = raw.get("firewall_extra_rules")
    if not _is_list(extra) or [r for r in extra if not isinstance(r, str) or "\n" in r or "\r" in r or not r.strip()]:
        found["firewall_extra_rules"] = "firewall_extra_rules must be a list of one-line nft rules, got %r" % (extra,)
    try:
        _allowed(raw.get("firewall_allowed") if raw.get("firewall_allowed") is not None else [])
    except (ValueError, KeyError, TypeError) as exc:
        found["firewall_allowed"] = str(exc)
    return found


CHECKED = ("firewall_profile",) + _IFACE_VARS + ("firewall_nebula_tun_dev",) + _PORT_VARS + (
    "firewall_mgmt_ports", "firewall_site_networks", "layout_edge_env", "toggles", "firewall_extra_rules",
    "firewall_allowed")


def checks(raw):
    """The rules of the role's checks, one per variable, in a fixed order:
    [{var, ok, msg}]; ``raw`` maps variable names to their values."""
    if not isinstance(raw, dict):
        raise ValueError("expects a dict, got %s" % type(raw).__name__)
    found = _problems(raw)
    return [{"var": var, "ok": var not in found, "msg": found.get(var, "")} for var in CHECKED]


def env_toggles(text, keys=("ALLOW_WIFI_MGMT", "ALLOW_MDNS")):
    """The toggles an env file sets: {key: value} for each of ``keys`` present (values as text).
    A line outside the env file dialect raises envfile.EnvFileError (a ValueError)."""
    values = envfile.parse(text or "")
    return dict((k, values[k]) for k in keys if k in values)
