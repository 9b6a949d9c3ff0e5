# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh part of the inventory model: Nebula overlay addresses and lighthouses.

Everything here is derived from the inventory model of fleet_model.py
(``10.231.<site>.<node>`` comes from ``fleet_model.overlay_ip``, never
recomputed) plus a few typed facts (docs/inventory.md, "The mesh"):

* ``ovr_mesh_enabled`` (per host, usually in group_vars/all): the host is
  part of the Nebula overlay; only such hosts are checked and mapped here;
* ``nebula_lighthouse`` (bool): edge hosts default to false, cloud hosts to
  true;
* ``nebula_underlay_address``: where the other nodes reach a lighthouse;
  default: the first of ``babel_addresses`` (the address babeld announces),
  else ``ovr_peer_address`` (edge), else ``ansible_host``;
* ``nebula_listen_port`` (default 4242): a lighthouse's UDP port;
* ``nebula_require_site_lighthouse`` (site group var, default false): the
  site must keep working without internet, so one of its edges must be a
  lighthouse.

Cloud nodes have no site: they take ``10.231.0.<n>`` (site id 0 is never a
site's), ``n`` being the cloud host's ``ovr_node_id``, default 1 when there
is one cloud node.

``validate_mesh`` is called by ``fleet_model.validate_fleet``; the errors name
the host and the variable, like the rest of the preflight.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import base64
import binascii
import datetime
import ipaddress
import json

from . import fleet_model as fm

DEFAULT_LISTEN_PORT = 4242
CLOUD_OVERLAY_SITE = 0


def _bool(report, label, hostvars, host, name, default):
    value = fm._get(hostvars, host, name)  # pylint: disable=protected-access
    if value is fm._MISSING or value is None:  # pylint: disable=protected-access
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
    node = fm.coerce_id(node_id, "node id")
    return str(fm.OVERLAY_NETWORK.network_address + (CLOUD_OVERLAY_SITE << 8) + node)


def _underlay(report, hostvars, host, label, edge):
    """(address, source) of a lighthouse, or (None, reason) when it has none."""
    candidates = [("nebula_underlay_address", fm._get(hostvars, host, "nebula_underlay_address"))]  # pylint: disable=protected-access
    babel = fm._get(hostvars, host, "babel_addresses")  # pylint: disable=protected-access
    if isinstance(babel, list) and babel:
        candidates.append(("babel_addresses[0]", str(babel[0]).split("/", maxsplit=1)[0]))
    if edge:
        candidates.append(("ovr_peer_address", fm._get(hostvars, host, "ovr_peer_address")))  # pylint: disable=protected-access
    candidates.append(("ansible_host", fm._get(hostvars, host, "ansible_host")))  # pylint: disable=protected-access
    for source, value in candidates:
        if value is fm._MISSING or value is None or value == "":  # pylint: disable=protected-access
            continue
        if isinstance(value, Exception):
            report.errors.append("%s: %s could not be templated: %s" % (label, source, value))
            return None, source
        try:
            address = fm.parse_address(value)
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
            elif ip is not None and ip.version == 4 and ip in fm.OVERLAY_NETWORK:
                unreachable = "is inside the overlay %s, which cannot carry itself" % fm.OVERLAY_NETWORK
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


def _port(report, hostvars, host, label):
    value = fm._get(hostvars, host, "nebula_listen_port")  # pylint: disable=protected-access
    if value is fm._MISSING or value is None:  # pylint: disable=protected-access
        return DEFAULT_LISTEN_PORT
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit() \
            or not 1 <= int(value) <= 65535:
        report.errors.append("%s: nebula_listen_port must be a port 1-65535, got %r" % (label, value))
        return DEFAULT_LISTEN_PORT
    return int(value)


def _member(hostvars, host):
    value = fm._get(hostvars, host, "ovr_mesh_enabled")  # pylint: disable=protected-access
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
            if not _member(hostvars, host):
                continue
            label = "%s (%s)" % (host, site["group"])
            lighthouse = _bool(report, label, hostvars, host, "nebula_lighthouse", False)
            entry = {"overlay_ip": node["overlay_ip"], "site": site["group"], "site_name": site["name"],
                     "kind": "edge", "lighthouse": lighthouse, "underlay": None,
                     "port": _port(report, hostvars, host, label),
                     "groups": [site["group"], "edge"], "label": label, "source": "ovr_node_id"}
            nodes[host] = entry
    cloud = [h for h in report.cloud if _member(hostvars, h)]
    for host in cloud:
        raw = fm._get(hostvars, host, "ovr_node_id")  # pylint: disable=protected-access
        ip = None
        if raw is fm._MISSING and len(cloud) == 1:  # pylint: disable=protected-access
            ip = cloud_overlay_ip(1)
        elif raw is fm._MISSING:  # pylint: disable=protected-access
            report.errors.append("%s: ovr_node_id is not set; with %d cloud nodes each needs one for its "
                                 "overlay address 10.231.0.<ovr_node_id>" % (host, len(cloud)))
        elif isinstance(raw, Exception):
            report.errors.append("%s: ovr_node_id could not be templated: %s" % (host, raw))
        else:
            try:
                ip = cloud_overlay_ip(fm.coerce_id(raw, "ovr_node_id"))
            except ValueError as exc:
                report.errors.append("%s: %s" % (host, exc))
        nodes[host] = {"overlay_ip": ip, "site": None, "site_name": None, "kind": "cloud",
                       "lighthouse": _bool(report, host, hostvars, host, "nebula_lighthouse", True),
                       "underlay": None, "port": _port(report, hostvars, host, host),
                       "groups": ["cloud"], "label": host,
                       "source": "ovr_node_id" if raw is not fm._MISSING else "the cloud default"}  # pylint: disable=protected-access

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
            entry["underlay"], dummy = _underlay(report, hostvars, host, entry["label"], entry["kind"] == "edge")

    for site in report.sites:
        members = [n["id"] for n in site["nodes"] if n["id"] in nodes]
        if not members:
            continue
        required = False
        for host in members:
            required = _bool(report, "%s (%s)" % (host, site["group"]), hostvars, host,
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


def nebula_node(hostvars, groups, host):
    """What the nebula role renders for ``host``.

    ``{overlay_ip, overlay_cidr, name, groups, kind, site, am_lighthouse,
    lighthouses, static_host_map}``: the lighthouses are the cloud's and
    those of the host's own site (a lighthouse lists no lighthouse);
    ``static_host_map`` maps each of their overlay addresses to
    ``["<underlay>:<port>"]``. Raises FleetError on an invalid inventory.
    """
    report = fm.validate_fleet(hostvars, groups)
    if report.errors:
        raise fm.FleetError(report.errors)
    nodes = report.mesh
    if host not in nodes:
        raise ValueError("%s: is not in the mesh (set ovr_mesh_enabled: true)" % host)
    me = nodes[host]
    lighthouses = sorted(
        (h for h, n in nodes.items()
         if n["lighthouse"] and h != host and (n["kind"] == "cloud" or n["site"] == me["site"]
                                               or me["kind"] == "cloud")),
        key=lambda h: ipaddress.ip_address(nodes[h]["overlay_ip"]))
    static = {}
    for other in lighthouses:
        underlay = nodes[other]["underlay"]
        shown = "[%s]" % underlay if ":" in underlay else underlay
        static[nodes[other]["overlay_ip"]] = ["%s:%d" % (shown, nodes[other]["port"])]
    return {
        "name": host,
        "overlay_ip": me["overlay_ip"],
        "overlay_cidr": "%s/%d" % (me["overlay_ip"], fm.OVERLAY_NETWORK.prefixlen),
        "groups": me["groups"],
        "kind": me["kind"],
        "site": me["site"],
        "am_lighthouse": me["lighthouse"],
        "listen_port": me["port"],
        # A lighthouse serves; it queries no other lighthouse (Nebula refuses that).
        "lighthouses": [] if me["lighthouse"] else [nodes[h]["overlay_ip"] for h in lighthouses],
        "static_host_map": static,
    }


def _parse_time(text):
    """A Go RFC 3339 time as nebula-cert prints it (``...Z`` or ``...+01:00``) -> aware datetime."""
    text = str(text).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Go may print fractional seconds with up to 9 digits; Python takes 6.
    if "." in text:
        head, rest = text.split(".", 1)
        digits = rest[:len(rest) - len(rest.lstrip("0123456789"))]
        zone = rest[len(digits):]
        text = "%s.%s%s" % (head, (digits + "000000")[:6], zone)
    return datetime.datetime.fromisoformat(text)


def _now(now=None):
    if now is not None:
        return now
    return datetime.datetime.now(datetime.timezone.utc)


def _load_print(printed):
    """``nebula-cert print -json`` output (one JSON object per certificate) -> list of dicts."""
    if isinstance(printed, dict):
        return [printed]
    if isinstance(printed, list):
        return printed
    found = []
    decoder = json.JSONDecoder()
    text = str(printed or "").strip()
    while text:
        obj, end = decoder.raw_decode(text)
        found.append(obj)
        text = text[end:].strip()
    return found


def public_key_hex(pem):
    """The hex form nebula-cert print shows of a ``NEBULA X25519 PUBLIC KEY`` PEM."""
    lines = [line.strip() for line in str(pem or "").strip().splitlines()]
    body = "".join(line for line in lines if line and not line.startswith("-----"))
    if not body:
        return ""
    return binascii.hexlify(base64.b64decode(body)).decode("ascii")


def cert_check(printed, name, overlay_cidr, groups, public_key_pem="", ca_fingerprints=None,
               renew_before_days=30, now=None):
    """Why a host certificate must be (re)signed: a list of reasons, empty when it is good.

    ``printed`` is ``nebula-cert print -json`` of the node's current certificate
    (empty when it has none). It must carry ``name``, exactly the overlay
    address ``overlay_cidr`` and the ``groups`` (order ignored), the node's
    public key, an issuer among ``ca_fingerprints`` (the CA the controller
    signs with), and not expire within ``renew_before_days``.
    """
    try:
        certs = _load_print(printed)
    except ValueError:
        return ["the certificate cannot be read"]
    if not certs:
        return ["no certificate yet"]
    details = certs[0].get("details") or {}
    reasons = []
    if details.get("name") != name:
        reasons.append("name %r, want %r" % (details.get("name"), name))
    if list(details.get("ips") or []) != [overlay_cidr]:
        reasons.append("ips %s, want [%s]" % (", ".join(details.get("ips") or []) or "none", overlay_cidr))
    if sorted(details.get("groups") or []) != sorted(groups):
        have = ",".join(sorted(details.get("groups") or [])) or "none"
        reasons.append("groups %s, want %s" % (have, ",".join(sorted(groups))))
    want_key = public_key_hex(public_key_pem)
    if want_key and details.get("publicKey") != want_key:
        reasons.append("it is for another key than the node's")
    if ca_fingerprints and details.get("issuer") not in ca_fingerprints:
        reasons.append("it was signed by another CA (%s)" % str(details.get("issuer"))[:12])
    try:
        not_after = _parse_time(details.get("notAfter"))
    except (TypeError, ValueError):
        reasons.append("its expiry %r cannot be read" % details.get("notAfter"))
    else:
        left = not_after - _now(now)
        if left <= datetime.timedelta(days=int(renew_before_days)):
            reasons.append("it expires %s, within nebula_cert_renew_before (%d days)"
                           % (not_after.isoformat(), int(renew_before_days)))
    return reasons


def ca_status(printed, renew_before_days=30, now=None):
    """``{fingerprint, name, not_after, days_left, expiring}`` of the first CA in ``printed``."""
    certs = _load_print(printed)
    if not certs:
        raise ValueError("no CA certificate")
    cert = certs[0]
    details = cert.get("details") or {}
    if not details.get("isCa"):
        raise ValueError("%r is not a CA certificate" % details.get("name"))
    not_after = _parse_time(details.get("notAfter"))
    left = not_after - _now(now)
    return {
        "fingerprint": cert.get("fingerprint"),
        "name": details.get("name"),
        "not_after": not_after.isoformat(),
        "days_left": left.days,
        "seconds_left": int(left.total_seconds()),
        "expiring": left <= datetime.timedelta(days=int(renew_before_days)),
        "expired": left <= datetime.timedelta(0),
    }
