# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ovr.fleet inventory model: one implementation, everything derived from it.

The inventory holds only a few typed facts (see docs/inventory.md):

* group ``edge`` with one child group ``site_<name>`` per site, carrying
  ``ovr_site_id`` (1-254) and ``ovr_site_name``;
* per edge host ``ovr_node_id`` (1-254, unique in its site), optional
  ``ovr_gx_targets`` and optional ``ovr_peer_address``;
* group ``cloud`` with the cloud node(s).

Everything else (peers of a node, overlay IPs, the mesh's lighthouses,
peers.json, nginx peer routes) is derived here; the Wi-Fi networks are checked
with the rules of wifi.py. The filter plugin
``plugins/filter/fleet.py`` is a thin wrapper around this file; it lives in
module_utils so that modules and tests can import the very same code.

Only the Python standard library is used, so this file works on the
controller and on managed nodes alike.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import ipaddress
import re

from . import wifi

EDGE_GROUP = "edge"
CLOUD_GROUP = "cloud"
SITE_GROUP_PREFIX = "site_"

#: The Nebula overlay: 10.231.<site id>.<node id>.
OVERLAY_NETWORK = ipaddress.IPv4Network(u"10.231.0.0/16")
ID_MIN = 1
ID_MAX = 254

#: GX devices speak MQTT on 1883; "gx" and "gx:1883" are the same target.
GX_DEFAULT_PORT = 1883

#: Peer ids are inventory hostnames of edge nodes. They appear as a path
#: segment in /api/peers/<id>/vm/, as file/JSON keys and in Nebula config,
#: so they must be a lower-case DNS label (RFC 1123), at most 63 characters.
#: The rule as a regex without anchors, for text that embeds it (the edge
#: proxy's nginx routes); PEER_ID_RE is the anchored form.
PEER_ID_PATTERN = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
PEER_ID_RE = re.compile(r"^%s$" % PEER_ID_PATTERN)

# Host names: dot-separated labels of letters, digits, '-' and '_' (the
# underscore is tolerated because container names and some DHCP names use
# it), no label starting or ending with '-', 1-63 characters per label,
# 253 in total. One trailing dot (fully qualified) is accepted.
_LABEL_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
_DIGITS_RE = re.compile(r"^[0-9]+$")
_CANONICAL_INT_RE = re.compile(r"^[1-9][0-9]*$")
_BRACKETED_RE = re.compile(r"^\[([^\[\]]+)\](?::([^:]*))?$")

_MISSING = object()


class FleetError(ValueError):
    """The inventory does not describe a valid fleet."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(FleetError, self).__init__(
            "%d inventory error(s): %s" % (len(self.errors), "; ".join(self.errors))
        )


# One wording for both models' messages.
_type_name = wifi.type_name


def coerce_id(value, name="id"):
    """Return ``value`` as an int in 1-254 or raise ValueError.

    Accepted: ints, and strings holding a canonical decimal number ("7",
    not "07", " 7" or "7.0") because INI inventories pass ``[group:vars]``
    values as strings. Refused: booleans (``True`` is not 1 here), floats,
    anything else.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError("%s must be an integer %d-%d, got %s (%r)"
                         % (name, ID_MIN, ID_MAX, _type_name(value), value))
    if isinstance(value, int):
        number = int(value)
    elif isinstance(value, str):
        if not _CANONICAL_INT_RE.match(value):
            raise ValueError("%s must be an integer %d-%d, got the string %r"
                             % (name, ID_MIN, ID_MAX, str(value)))
        number = int(value)
    else:
        raise ValueError("%s must be an integer %d-%d, got %s (%r)"
                         % (name, ID_MIN, ID_MAX, _type_name(value), value))
    if not ID_MIN <= number <= ID_MAX:
        raise ValueError("%s must be between %d and %d, got %d" % (name, ID_MIN, ID_MAX, number))
    return number


def overlay_ip(site_id, node_id, prefix=False):
    """``10.231.<site>.<node>`` (with ``/16`` when ``prefix`` is true)."""
    site = coerce_id(site_id, "site id")
    node = coerce_id(node_id, "node id")
    address = OVERLAY_NETWORK.network_address + (site << 8) + node
    if address not in OVERLAY_NETWORK:  # pragma: no cover - guarded by coerce_id
        raise ValueError("overlay address %s is outside %s" % (address, OVERLAY_NETWORK))
    if prefix:
        return "%s/%d" % (address, OVERLAY_NETWORK.prefixlen)
    return str(address)


def check_hostname(text):
    """Return the normalised (lower-case, no trailing dot) host name or raise."""
    name = text[:-1] if text.endswith(".") else text
    if not name:
        raise ValueError("is not a valid host name")
    if len(name) > 253:
        raise ValueError("is longer than 253 characters")
    labels = name.split(".")
    for label in labels:
        if not _LABEL_RE.match(label):
            raise ValueError("is not a valid host name (label %r)" % str(label))
    if all(_DIGITS_RE.match(label) for label in labels):
        # Looks like an IPv4 address but is not one (e.g. 192.168.1.300).
        raise ValueError("is not a valid IPv4 address")
    return name.lower()


def _check_text(text):
    """What a bare host and a GX target have in common: a non-empty string without blanks."""
    if not isinstance(text, str):
        raise ValueError("must be a string, got %s" % _type_name(text))
    if text == "":
        raise ValueError("is empty")
    if text != text.strip() or any(ch.isspace() for ch in text):
        raise ValueError("contains whitespace")


def parse_address(text):
    """Validate a bare host: host name, IPv4 or IPv6 (no port).

    Returns the normalised form. Raises ValueError with a reason.
    """
    _check_text(text)
    if ":" in text:
        try:
            return str(ipaddress.IPv6Address(text))
        except ValueError:
            raise ValueError("is not a valid IPv6 address")
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        pass
    return check_hostname(text)


def _parse_port(text):
    if not text or not _DIGITS_RE.match(text):
        raise ValueError("port %r is not a number" % str(text))
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError("port %d is out of range 1-65535" % port)
    return port


def parse_endpoint(text):
    """Parse a GX target: ``host``, ``host:port``, ``IPv6`` or ``[IPv6]:port``.

    Returns ``(host, port)`` with ``port`` None when not given. Raises
    ValueError with a reason.
    """
    _check_text(text)
    if text.startswith("["):
        match = _BRACKETED_RE.match(text)
        if not match:
            raise ValueError("is not a valid [IPv6]:port")
        try:
            host = str(ipaddress.IPv6Address(match.group(1)))
        except ValueError:
            raise ValueError("has an invalid IPv6 address in brackets")
        port = _parse_port(match.group(2)) if match.group(2) is not None else None
        return host, port
    if text.count(":") >= 2:
        try:
            return str(ipaddress.IPv6Address(text)), None
        except ValueError:
            raise ValueError("is not a valid IPv6 address (use [address]:port for a port)")
    port = None
    host = text
    if ":" in text:
        host, port_text = text.rsplit(":", 1)
        port = _parse_port(port_text)
        if not host:
            raise ValueError("has no host before the port")
    try:
        return str(ipaddress.IPv4Address(host)), port
    except ValueError:
        pass
    return check_hostname(host), port


def _unresolved(value):
    """The message of an Ansible 2.19+ template marker (undefined or failed
    lazy value), None for anything else. Duck-typed: module_utils must not
    import controller code, and touching a marker's value raises."""
    as_message = getattr(type(value), "_as_message", None)
    if as_message is None:
        return None
    try:
        return str(as_message(value))
    except Exception:  # pylint: disable=broad-except
        return "undefined value"


def _get(hostvars, host, name):
    """Read ``hostvars[host][name]``; _MISSING when undefined.

    Works with plain dicts (tests) and Ansible's lazy HostVars. A value that
    fails to template is returned as the exception so it can be reported.
    """
    try:
        variables = hostvars[host]
    except KeyError:
        return _MISSING
    try:
        if name not in variables:
            return _MISSING
        value = variables[name]
    except KeyError:
        return _MISSING
    except Exception as exc:  # pylint: disable=broad-except
        return exc
    message = _unresolved(value)
    if message is not None:
        return ValueError(message)
    return value


def _describe(value):
    if value is _MISSING:
        return "not set"
    return repr(value)


class _Report(object):
    def __init__(self):
        self.errors = []
        self.warnings = []
        self.sites = []
        self.cloud = []
        self.mesh = {}


def _host_label(host, sites_of_host):
    if len(sites_of_host) == 1:
        return "%s (%s)" % (host, sites_of_host[0])
    return host


def _site_value(report, hostvars, group, members, name, check):
    """Read a site-level variable that every member must agree on."""
    seen = {}
    for host in members:
        value = _get(hostvars, host, name)
        if isinstance(value, Exception):
            report.errors.append("%s: %s could not be templated on %s: %s" % (group, name, host, value))
            return None
        seen.setdefault(repr(value) if value is not _MISSING else "<missing>", []).append((host, value))
    if len(seen) > 1:
        detail = ", ".join(
            "%s: %s" % (host, _describe(value))
            for key in sorted(seen) for host, value in seen[key]
        )
        report.errors.append(
            "%s: %s differs between its hosts (%s); set it once in group_vars/%s"
            % (group, name, detail, group))
        return None
    value = list(seen.values())[0][0][1]
    if value is _MISSING:
        report.errors.append("%s: %s is not set (set it in group_vars/%s)" % (group, name, group))
        return None
    try:
        return check(value, name)
    except ValueError as exc:
        report.errors.append("%s: %s" % (group, exc))
        return None


def _check_site_name(value, name):
    if not isinstance(value, str) or not value.strip():
        raise ValueError("%s must be a non-empty string, got %s (%r)" % (name, _type_name(value), value))
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("%s must be a single line without control characters, got %r" % (name, value))
    return str(value)


def _check_gx_targets(report, label, value):
    name = "ovr_gx_targets"
    if value is _MISSING:
        return []
    if isinstance(value, Exception):
        report.errors.append("%s: %s could not be templated: %s" % (label, name, value))
        return []
    if isinstance(value, (str, dict)) or not isinstance(value, (list, tuple)):
        report.errors.append("%s: %s must be a list of host, host:port or [IPv6]:port, got %s (%r)"
                             % (label, name, _type_name(value), value))
        return []
    try:
        items = list(value)  # lazy containers template their items here
    except Exception as exc:  # pylint: disable=broad-except
        report.errors.append("%s: %s could not be templated: %s" % (label, name, exc))
        return []
    targets = []
    seen = {}
    for index, item in enumerate(items):
        message = _unresolved(item)
        if message is not None:
            report.errors.append("%s: %s[%d] could not be templated: %s" % (label, name, index, message))
            continue
        try:
            host, port = parse_endpoint(item)
        except ValueError as exc:
            report.errors.append("%s: %s[%d] %r %s" % (label, name, index, item, exc))
            continue
        key = (host, port or GX_DEFAULT_PORT)
        if key in seen:
            first_index, first = seen[key]
            report.errors.append(
                "%s: %s[%d] %r duplicates %s[%d] %r (MQTT port %d is the default)"
                % (label, name, index, str(item), name, first_index, str(first), GX_DEFAULT_PORT))
            continue
        seen[key] = (index, item)
        targets.append(str(item))
    return targets


def _peer_address(report, hostvars, host, label):
    explicit = _get(hostvars, host, "ovr_peer_address")
    if explicit is not _MISSING and explicit is not None:
        source = "ovr_peer_address"
        value = explicit
    else:
        value = _get(hostvars, host, "ansible_host")
        source = "ansible_host"
        if value is _MISSING or value is None or value == "":
            value = host
            source = "inventory hostname"
    if isinstance(value, Exception):
        report.errors.append("%s: %s could not be templated: %s" % (label, source, value))
        return None
    try:
        parse_address(value)
    except ValueError as exc:
        hint = "" if source == "ovr_peer_address" else "; set ovr_peer_address"
        report.errors.append("%s: peer address %r (from %s) %s%s" % (label, value, source, exc, hint))
        return None
    return str(value)


# --- The mesh: Nebula overlay addresses and lighthouses -----------------------
#
# Part of the model (plugins/module_utils/mesh.py derives each node's Nebula config from it).
# Beside ``10.231.<site>.<node>`` (overlay_ip above, never recomputed) a few typed facts
# (docs/inventory.md, "The mesh"):
#
# * ``ovr_mesh_enabled`` (per host, usually in group_vars/all): the host is part of the Nebula
#   overlay; only such hosts are checked and mapped here;
# * ``nebula_lighthouse`` (bool): edge hosts default to false, cloud hosts to true;
# * ``nebula_underlay_address``: where the other nodes reach a lighthouse; default: the first of
#   ``babel_addresses`` (the address babeld announces), else ``ovr_peer_address`` (edge), else
#   ``ansible_host``;
# * ``nebula_listen_port`` (default 4242): a lighthouse's UDP port;
# * ``nebula_require_site_lighthouse`` (site group var, default false): the site must keep
#   working without internet, so one of its edges must be a lighthouse.
#
# Cloud nodes have no site: they take ``10.231.0.<n>`` (site id 0 is never a site's), ``n`` being
# the cloud host's ``ovr_node_id``, default 1 when there is one cloud node.

NEBULA_DEFAULT_LISTEN_PORT = 4242
CLOUD_OVERLAY_SITE = 0


def _mesh_bool(report, label, hostvars, host, name, default):
    value = _get(hostvars, host, name)
    if value is _MISSING or value is None:
        return default
    if isinstance(value, Exception):
        report.errors.append("%s: %s could not be templated: %s" % (label, name, value))
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "false", "no"):
        return value.lower() in ("true", "yes")
    report.errors.append("%s: %s must be true or false, got %r" % (label, name, value))
    return default


def cloud_overlay_ip(node_id):
    """``10.231.0.<node>``: the overlay address of cloud node ``node_id``."""
    node = coerce_id(node_id, "node id")
    return str(OVERLAY_NETWORK.network_address + (CLOUD_OVERLAY_SITE << 8) + node)


def _mesh_underlay(report, hostvars, host, label, edge):
    """(address, source) of a lighthouse, or (None, reason) when it has none."""
    candidates = [("nebula_underlay_address", _get(hostvars, host, "nebula_underlay_address"))]
    babel = _get(hostvars, host, "babel_addresses")
    if isinstance(babel, list) and babel:
        candidates.append(("babel_addresses[0]", str(babel[0]).split("/", maxsplit=1)[0]))
    if edge:
        candidates.append(("ovr_peer_address", _get(hostvars, host, "ovr_peer_address")))
    candidates.append(("ansible_host", _get(hostvars, host, "ansible_host")))
    for source, value in candidates:
        if value is _MISSING or value is None or value == "":
            continue
        if isinstance(value, Exception):
            report.errors.append("%s: %s could not be templated: %s" % (label, source, value))
            return None, source
        try:
            address = parse_address(value)
        except ValueError as exc:
            report.errors.append("%s: nebula_lighthouse is true and its underlay address %r (from %s) %s; "
                                 "set nebula_underlay_address" % (label, value, source, exc))
            return None, source
        unreachable = None
        if address == "localhost" or address.endswith(".localhost"):
            unreachable = "is this machine's own name"
        else:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                ip = None
            if ip is not None and (ip.is_loopback or ip.is_unspecified or ip.is_multicast):
                unreachable = "is a loopback, unspecified or multicast address"
            elif ip is not None and ip.version == 4 and ip in OVERLAY_NETWORK:
                unreachable = "is inside the overlay %s, which cannot carry itself" % OVERLAY_NETWORK
        if unreachable:
            report.errors.append("%s: nebula_lighthouse is true and its underlay address %r (from %s) %s: "
                                 "other nodes cannot reach it; set nebula_underlay_address"
                                 % (label, str(value), source, unreachable))
            return None, source
        return address, source
    report.errors.append("%s: nebula_lighthouse is true but it has no underlay address: set "
                         "nebula_underlay_address (or ansible_host) to where the other nodes reach it"
                         % label)
    return None, None


def _mesh_port(report, hostvars, host, label):
    value = _get(hostvars, host, "nebula_listen_port")
    if value is _MISSING or value is None:
        return NEBULA_DEFAULT_LISTEN_PORT
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit() \
            or not 1 <= int(value) <= 65535:
        report.errors.append("%s: nebula_listen_port must be a port 1-65535, got %r" % (label, value))
        return NEBULA_DEFAULT_LISTEN_PORT
    return int(value)


def _mesh_member(hostvars, host):
    value = _get(hostvars, host, "ovr_mesh_enabled")
    return value is True or (isinstance(value, str) and value.lower() in ("true", "yes"))


def validate_mesh(report, hostvars, groups):
    """Check the mesh facts of every ``ovr_mesh_enabled`` host; returns the mesh model.

    ``report`` is fleet_model's report, with ``sites`` already derived: errors
    are appended to it. The model is ``{host: {overlay_ip, site, site_name,
    kind, lighthouse, underlay, port, groups}}`` (``site`` None for cloud).
    """
    nodes = {}
    owners = {}
    for site in report.sites:
        for node in site["nodes"]:
            host = node["id"]
            if not _mesh_member(hostvars, host):
                continue
            label = "%s (%s)" % (host, site["group"])
            lighthouse = _mesh_bool(report, label, hostvars, host, "nebula_lighthouse", False)
            entry = {"overlay_ip": node["overlay_ip"], "site": site["group"], "site_name": site["name"],
                     "kind": "edge", "lighthouse": lighthouse, "underlay": None,
                     "port": _mesh_port(report, hostvars, host, label),
                     "groups": [site["group"], "edge"], "label": label, "source": "ovr_node_id"}
            nodes[host] = entry
    cloud = [h for h in report.cloud if _mesh_member(hostvars, h)]
    for host in cloud:
        raw = _get(hostvars, host, "ovr_node_id")
        ip = None
        if raw is _MISSING and len(cloud) == 1:
            ip = cloud_overlay_ip(1)
        elif raw is _MISSING:
            report.errors.append("%s: ovr_node_id is not set; with %d cloud nodes each needs one for its "
                                 "overlay address 10.231.0.<ovr_node_id>" % (host, len(cloud)))
        elif isinstance(raw, Exception):
            report.errors.append("%s: ovr_node_id could not be templated: %s" % (host, raw))
        else:
            try:
                ip = cloud_overlay_ip(coerce_id(raw, "ovr_node_id"))
            except ValueError as exc:
                report.errors.append("%s: %s" % (host, exc))
        nodes[host] = {"overlay_ip": ip, "site": None, "site_name": None, "kind": "cloud",
                       "lighthouse": _mesh_bool(report, host, hostvars, host, "nebula_lighthouse", True),
                       "underlay": None, "port": _mesh_port(report, hostvars, host, host),
                       "groups": ["cloud"], "label": host,
                       "source": "ovr_node_id" if raw is not _MISSING else "the cloud default"}

    for host in sorted(nodes):
        entry = nodes[host]
        ip = entry["overlay_ip"]
        if ip is None:
            continue
        if ip in owners:
            report.errors.append("%s: overlay address %s (from %s) clashes with %s's"
                                 % (entry["label"], ip, entry["source"], owners[ip]))
        else:
            owners[ip] = host
        if entry["lighthouse"]:
            entry["underlay"], dummy = _mesh_underlay(report, hostvars, host, entry["label"], entry["kind"] == "edge")

    for site in report.sites:
        members = [n["id"] for n in site["nodes"] if n["id"] in nodes]
        if not members:
            continue
        required = False
        for host in members:
            required = _mesh_bool(report, "%s (%s)" % (host, site["group"]), hostvars, host,
                                  "nebula_require_site_lighthouse", False) or required
        if required and not any(nodes[h]["lighthouse"] for h in members):
            report.errors.append(
                "%s: nebula_require_site_lighthouse is true but none of its hosts (%s) has "
                "nebula_lighthouse: true; the site would lose its overlay without internet"
                % (site["group"], ", ".join(members)))
    if nodes and not any(n["lighthouse"] for n in nodes.values()):
        report.warnings.append("ovr_mesh_enabled: no host is a Nebula lighthouse (nebula_lighthouse); "
                               "nodes find each other only through static_host_map, which is then empty")
    return nodes


def validate_fleet(hostvars, groups, require_cloud=False):
    """Validate the whole inventory and derive the model.

    Returns an object with ``errors`` and ``warnings`` (lists of one-line
    strings naming the host or group and the variable), ``sites`` (list of
    ``{group, id, name, nodes}``, nodes sorted by node id) and ``cloud``
    (list of host names). The model is best effort when there are errors.
    """
    report = _Report()
    groups = groups or {}
    edge = list(groups.get(EDGE_GROUP) or [])
    edge_set = set(edge)
    cloud = list(groups.get(CLOUD_GROUP) or [])
    cloud_set = set(cloud)
    report.cloud = sorted(cloud_set)
    site_groups = sorted(g for g in groups if g.startswith(SITE_GROUP_PREFIX))

    sites_of = {}
    for group in site_groups:
        if group == SITE_GROUP_PREFIX:
            report.errors.append("%s: a site group must be named site_<name>" % group)
        for host in groups.get(group) or []:
            sites_of.setdefault(host, [])
            if group not in sites_of[host]:
                sites_of[host].append(group)

    # Structure: group membership.
    for group in site_groups:
        for host in sorted(set(groups.get(group) or [])):
            if host not in edge_set:
                report.errors.append(
                    "%s (%s): site group %s is not under group %s (make it a child of %s)"
                    % (host, group, group, EDGE_GROUP, EDGE_GROUP))
    for host in sorted(edge_set & cloud_set):
        report.errors.append("%s: is in both %s and %s; a node is either an edge node or a cloud node"
                             % (host, EDGE_GROUP, CLOUD_GROUP))
    for host in sorted(edge_set):
        host_sites = sites_of.get(host, [])
        if not host_sites:
            report.errors.append("%s: edge host is in no site_<name> group (ovr_site_id comes from its site)"
                                 % host)
        elif len(host_sites) > 1:
            report.errors.append("%s: is in %d site groups (%s) and so has an ambiguous ovr_site_id; "
                                 "a node belongs to exactly one site"
                                 % (host, len(host_sites), ", ".join(host_sites)))

    # Per edge host.
    nodes = {}
    for host in sorted(edge_set):
        host_sites = sites_of.get(host, [])
        label = _host_label(host, host_sites)
        node = {"id": host}
        if not PEER_ID_RE.match(host):
            report.errors.append(
                "%s: inventory hostname %r is not a valid peer id (it is used in peers.json and in "
                "/api/peers/<id>/vm/): use 1-63 lower-case letters, digits and '-', starting and "
                "ending with a letter or digit" % (label, host))
        raw = _get(hostvars, host, "ovr_node_id")
        if raw is _MISSING:
            report.errors.append("%s: ovr_node_id is not set" % label)
            node["node_id"] = None
        elif isinstance(raw, Exception):
            report.errors.append("%s: ovr_node_id could not be templated: %s" % (label, raw))
            node["node_id"] = None
        else:
            try:
                node["node_id"] = coerce_id(raw, "ovr_node_id")
            except ValueError as exc:
                report.errors.append("%s: %s" % (label, exc))
                node["node_id"] = None
        node["address"] = _peer_address(report, hostvars, host, label)
        node["gx_targets"] = _check_gx_targets(report, label, _get(hostvars, host, "ovr_gx_targets"))
        # Wi-Fi networks: the same rules as the ovr.fleet.wifi role (plugins/module_utils/wifi.py).
        wifi_vars = [_get(hostvars, host, n) for n in ("wifi_site_networks", "wifi_networks", "wifi_networks_csv")]
        for message in wifi.inventory_errors(*[None if v is _MISSING else v for v in wifi_vars]):
            report.errors.append("%s: %s" % (label, message))
        nodes[host] = node

    # Per site.
    used_site_ids = {}
    for group in site_groups:
        members = sorted(h for h in set(groups.get(group) or [])
                         if h in edge_set and len(sites_of.get(h, [])) == 1)
        if not members:
            continue
        site_id = _site_value(report, hostvars, group, members, "ovr_site_id", coerce_id)
        site_name = _site_value(report, hostvars, group, members, "ovr_site_name", _check_site_name)
        if site_id is not None:
            if site_id in used_site_ids:
                report.errors.append("%s: ovr_site_id %d is already used by %s"
                                     % (group, site_id, used_site_ids[site_id]))
            else:
                used_site_ids[site_id] = group
        used_node_ids = {}
        addresses = {}
        site_nodes = []
        for host in members:
            node = nodes[host]
            node_id = node["node_id"]
            if node_id is not None:
                if node_id in used_node_ids:
                    report.errors.append("%s (%s): ovr_node_id %d is already used by %s"
                                         % (host, group, node_id, used_node_ids[node_id]))
                else:
                    used_node_ids[node_id] = host
            if node["address"] is not None:
                key = node["address"].lower()
                if key in addresses:
                    report.warnings.append(
                        "%s (%s): peer address %s is also the address of %s; set ovr_peer_address "
                        "if its peers reach it elsewhere" % (host, group, node["address"], addresses[key]))
                else:
                    addresses[key] = host
            site_nodes.append({
                "id": host,
                "node_id": node_id,
                "address": node["address"],
                "overlay_ip": (overlay_ip(site_id, node_id)
                               if site_id is not None and node_id is not None else None),
                "site_id": site_id,
                "site_name": site_name,
                "gx_targets": node["gx_targets"],
            })
        site_nodes.sort(key=lambda n: (n["node_id"] is None, n["node_id"] or 0, n["id"]))
        report.sites.append({"group": group, "id": site_id, "name": site_name, "nodes": site_nodes})

    if edge_set and not cloud_set:
        message = ("%s: no cloud node in the inventory; edge nodes keep their data locally and "
                   "vmagent has no remote_write target" % CLOUD_GROUP)
        if require_cloud:
            report.errors.append(message)
        else:
            report.warnings.append(message)

    report.mesh = validate_mesh(report, hostvars, groups)

    report.errors = sorted(set(report.errors))
    report.warnings = sorted(set(report.warnings))
    return report


PEER_KEYS = ("id", "node_id", "address", "overlay_ip", "site_id", "site_name")


def site_of(groups, host):
    """The one site group of ``host``; ValueError when none or several."""
    found = sorted(g for g in (groups or {}) if g.startswith(SITE_GROUP_PREFIX)
                   and host in (groups.get(g) or []))
    if not found:
        raise ValueError("%s: is in no site_<name> group" % host)
    if len(found) > 1:
        raise ValueError("%s: is in %d site groups (%s)" % (host, len(found), ", ".join(found)))
    return found[0]


def site_peers(hostvars, groups, host):
    """The OTHER nodes of ``host``'s site, sorted by node id.

    Each peer is ``{id, node_id, address, overlay_ip, site_id, site_name}``.
    Raises FleetError when the inventory is invalid: nothing is ever
    rendered from a broken model.
    """
    report = validate_fleet(hostvars, groups)
    if report.errors:
        raise FleetError(report.errors)
    group = site_of(groups, host)
    for site in report.sites:
        if site["group"] == group:
            if host not in [n["id"] for n in site["nodes"]]:
                break
            return [dict((k, n[k]) for k in PEER_KEYS) for n in site["nodes"] if n["id"] != host]
    raise ValueError("%s: is not an edge node of %s" % (host, group))


def fleet_model(hostvars, groups, require_cloud=False):
    """The whole derived model as plain data (for summaries and the cloud)."""
    return model_of(validate_fleet(hostvars, groups, require_cloud=require_cloud))


def model_of(report):
    """A report of validate_fleet as plain data (identity.fleet_model adds its checks first)."""
    return {
        "errors": report.errors,
        "warnings": report.warnings,
        "sites": report.sites,
        "cloud": report.cloud,
    }
