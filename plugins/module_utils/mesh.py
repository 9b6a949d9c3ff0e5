# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Nebula side of the mesh: each node's Nebula config, its certificate's and the CA's checks.

The mesh's facts (``ovr_mesh_enabled``, ``nebula_lighthouse``, underlay addresses, listen ports)
are part of the inventory model: ``fleet_model.validate_mesh`` checks them in the fleet preflight
and derives ``{host: overlay_ip, lighthouse, underlay, ...}`` (``report.mesh``). This file only
reads that model (it imports fleet_model; fleet_model never imports it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import base64
import binascii
import datetime
import ipaddress
import json

from . import fleet_model as fm


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
