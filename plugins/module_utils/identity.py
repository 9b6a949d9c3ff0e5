# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node identity: each node's X.509 certificate from the identity CA on the controller.

One implementation of the rules of role ``ovr.fleet.identity`` (through the internal filters of
``plugins/filter/identity.py``) and of the identity checks of the fleet preflight:

* what a node's certificate must be (subject CN and DNS SANs = the node's names, extended key
  usages, issued by the CA in use, for the node's own key, not near its expiry, not revoked) and
  why it must be re-signed (``cert_check``);
* which certificate signing request the controller signs (``csr_check``): exactly the wanted
  names and usages, a valid self-signature, never a CA;
* what the cloud publishes (``publish``): from the controller's records of issued certificates
  alone, the map of the ACTIVE certificates' SHA-256 fingerprints to node and site, and the CRL's
  entries, so that a stolen node is cut off without contacting it;
* the preflight (``validate`` / ``validate_fleet``): the revocation list ``ovr_identity_revoked``
  is well formed and the same fleet-wide, no revoked node is still in ``edge`` or ``cloud``, and no
  certificate name is claimed by two hosts.

Certificates are read with ``cryptography`` (a requirement of ansible-core, so always there on the
controller); the import is guarded so that the preflight's rules work without it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import datetime
import os
import re

from . import fleet_model as fm

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtensionOID, NameOID
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - ansible-core requires cryptography
    HAS_CRYPTOGRAPHY = False

#: The fleet-wide revocation list (group_vars/all).
REVOKED_VAR = "ovr_identity_revoked"
#: Extra DNS names of a host's certificate (host vars), beside its inventory hostname.
SANS_VAR = "identity_cert_sans"
#: The CRL reasons an entry may give (community.crypto.x509_crl's names; RFC 5280 5.3.1).
CRL_REASONS = ("unspecified", "key_compromise", "ca_compromise", "affiliation_changed", "superseded",
               "cessation_of_operation", "certificate_hold", "privilege_withdrawn", "aa_compromise")
#: The extended key usages a node certificate may carry, by the name the role uses.
USAGES = {"clientAuth": "1.3.6.1.5.5.7.3.2", "serverAuth": "1.3.6.1.5.5.7.3.1"}
_FINGERPRINT_RE = re.compile(r"^[0-9a-f]{64}$")
_ENTRY_KEYS = ("name", "fingerprint", "reason", "date", "note")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _need_cryptography():
    if not HAS_CRYPTOGRAPHY:  # pragma: no cover
        raise ValueError("the Python library cryptography is needed on the controller to read certificates")


def _now(now=None):
    return now if now is not None else datetime.datetime.now(datetime.timezone.utc)


def normalise_fingerprint(text):
    """A SHA-256 fingerprint as Caddy's ``{http.request.tls.client.fingerprint}`` shows it: 64
    lower-case hex digits. Colons and upper case are accepted on input."""
    if not isinstance(text, str):
        raise ValueError("must be a SHA-256 fingerprint (64 hex digits), got %s" % fm._type_name(text))
    value = text.strip().replace(":", "").lower()
    if not _FINGERPRINT_RE.match(value):
        raise ValueError("must be a SHA-256 fingerprint (64 hex digits, colons allowed), got %r" % text)
    return value


# --- The revocation list ---------------------------------------------------------------------

def parse_revoked(value, name=REVOKED_VAR):
    """``ovr_identity_revoked`` -> (entries, errors).

    Each entry is ``{name, reason, fingerprint?, date?, note?}``: without ``fingerprint`` every
    certificate ever issued to ``name`` is revoked (the node is gone: stolen, scrapped); with it,
    that one certificate only (a leaked key of a node that stays: it gets a new key). ``reason`` is
    a CRL reason (``key_compromise`` for a stolen node). Entries come back normalised, with their
    ``index``."""
    if value is None or value == "":
        return [], []
    if isinstance(value, Exception):
        return [], ["%s could not be templated: %s" % (name, value)]
    if isinstance(value, (str, dict)) or not isinstance(value, (list, tuple)):
        return [], ["%s must be a list of {name, reason, fingerprint?}, got %s" % (name, fm._type_name(value))]
    entries, errors, seen = [], [], {}
    for index, item in enumerate(list(value)):
        label = "%s[%d]" % (name, index)
        if not isinstance(item, dict):
            errors.append("%s must be a dict {name, reason, fingerprint?}, got %s" % (label, fm._type_name(item)))
            continue
        unknown = sorted(str(k) for k in item if k not in _ENTRY_KEYS)
        if unknown:
            errors.append("%s has unknown key(s) %s (known: %s)" % (label, ", ".join(unknown), ", ".join(_ENTRY_KEYS)))
            continue
        host = item.get("name")
        if not isinstance(host, str) or not host.strip():
            errors.append("%s needs the name of the node (its inventory hostname), got %r" % (label, host))
            continue
        entry = {"index": index, "name": host.strip().lower(), "reason": item.get("reason"), "fingerprint": None,
                 "date": item.get("date"), "note": item.get("note")}
        if entry["reason"] not in CRL_REASONS:
            errors.append("%s (%s) reason must be one of %s, got %r"
                          % (label, entry["name"], ", ".join(CRL_REASONS), entry["reason"]))
            continue
        if item.get("fingerprint") not in (None, ""):
            try:
                entry["fingerprint"] = normalise_fingerprint(item["fingerprint"])
            except ValueError as exc:
                errors.append("%s (%s) fingerprint %s" % (label, entry["name"], exc))
                continue
        if entry["date"] is not None:
            entry["date"] = str(entry["date"])
            if not _DATE_RE.match(entry["date"]):
                errors.append("%s (%s) date must be YYYY-MM-DD, got %r" % (label, entry["name"], item.get("date")))
                continue
        key = (entry["name"], entry["fingerprint"])
        if key in seen:
            errors.append("%s (%s) repeats %s[%d]" % (label, entry["name"], name, seen[key]))
            continue
        seen[key] = index
        entries.append(entry)
    return entries, errors


def _whole_node(entries, host):
    """The entry that revokes every certificate of ``host`` (no fingerprint), or None."""
    for entry in entries:
        if entry["name"] == host.lower() and not entry["fingerprint"]:
            return entry
    return None


def _revoking(entries, name, fingerprint):
    """The entry that revokes the certificate ``fingerprint`` of ``name``, or None."""
    for entry in entries:
        if entry["name"] == name.lower() and entry["fingerprint"] in (None, fingerprint):
            return entry
    return None


# --- The preflight ----------------------------------------------------------------------------

def _names_of(report, label, hostvars, host):
    """The names ``host``'s certificate carries: its inventory hostname, then ``identity_cert_sans``."""
    names = [host.lower()]
    value = fm._get(hostvars, host, SANS_VAR)
    if value is fm._MISSING or value is None:
        return names
    if isinstance(value, Exception):
        report.errors.append("%s: %s could not be templated: %s" % (label, SANS_VAR, value))
        return names
    if isinstance(value, (str, dict)) or not isinstance(value, (list, tuple)):
        report.errors.append("%s: %s must be a list of DNS names, got %s (%r)"
                             % (label, SANS_VAR, fm._type_name(value), value))
        return names
    for index, item in enumerate(list(value)):
        try:
            if not isinstance(item, str) or ":" in item:
                raise ValueError("is not a DNS name")
            name = fm.check_hostname(item)
        except ValueError as exc:
            report.errors.append("%s: %s[%d] %r %s" % (label, SANS_VAR, index, item, exc))
            continue
        if name in names:
            report.errors.append("%s: %s[%d] %r is already one of its certificate names" % (label, SANS_VAR, index, item))
            continue
        names.append(name)
    return names


def active_nodes(report):
    """``{host: {kind, site, site_group, site_id, node_id, label}}`` of the hosts that may hold a
    certificate: the edge hosts of the model's sites and the cloud hosts."""
    nodes = {}
    for site in report.sites:
        for node in site["nodes"]:
            nodes[node["id"]] = {"kind": "edge", "site": site["name"], "site_group": site["group"],
                                 "site_id": site["id"], "node_id": node["node_id"],
                                 "label": "%s (%s)" % (node["id"], site["group"])}
    for host in report.cloud:
        nodes[host] = {"kind": "cloud", "site": None, "site_group": None, "site_id": None, "node_id": None,
                       "label": host}
    return nodes


def validate(report, hostvars, groups):
    """The identity checks of the fleet preflight, appended to fleet_model's ``report``.

    Returns ``{host: [names]}``, the certificate names of every active host."""
    groups = groups or {}
    nodes = active_nodes(report)
    members = sorted(set(groups.get(fm.EDGE_GROUP) or []) | set(groups.get(fm.CLOUD_GROUP) or []))
    # One list for the fleet: the cloud publishes what it sees, a run on the cloud alone included.
    seen = {}
    for host in members:
        value = fm._get(hostvars, host, REVOKED_VAR)
        key = "<missing>" if value is fm._MISSING else repr(value)
        seen.setdefault(key, []).append(host)
    revoked = []
    if len(seen) > 1:
        detail = "; ".join("%s on %s" % ("not set" if key == "<missing>" else key, ", ".join(hosts))
                           for key, hosts in sorted(seen.items()))
        report.errors.append("%s differs between hosts (%s); set it once, in group_vars/all"
                             % (REVOKED_VAR, detail))
    elif members:
        value = fm._get(hostvars, members[0], REVOKED_VAR)
        revoked, errors = parse_revoked(None if value is fm._MISSING else value)
        report.errors.extend(errors)
    for host in members:
        entry = _whole_node(revoked, host)
        if entry is None:
            continue
        group = fm.EDGE_GROUP if host in (groups.get(fm.EDGE_GROUP) or []) else fm.CLOUD_GROUP
        label = nodes.get(host, {}).get("label", host)
        report.errors.append(
            "%s: is revoked by %s[%d] (%s) but is still in group %s: remove it from the inventory's %s "
            "group (it is cut off then), or give the entry the fingerprint of the one certificate to revoke"
            % (label, REVOKED_VAR, entry["index"], entry["reason"], group, group))
    names = {}
    owners = {}
    for host in sorted(nodes):
        label = nodes[host]["label"]
        if nodes[host]["kind"] == "cloud":
            try:
                fm.check_hostname(host)
            except ValueError as exc:
                report.errors.append("%s: inventory hostname %r %s; it is the subject of its certificate"
                                     % (label, host, exc))
        names[host] = _names_of(report, label, hostvars, host)
        for index, name in enumerate(names[host]):
            source = "inventory hostname" if index == 0 else SANS_VAR
            if name in owners and owners[name][0] != host:
                other, other_source = owners[name]
                report.errors.append(
                    "%s: certificate name %r (from its %s) is also %s's (from its %s): a certificate "
                    "subject names one node only" % (label, name, source, other, other_source))
            else:
                owners.setdefault(name, (host, source))
    return names


def validate_fleet(hostvars, groups, require_cloud=False):
    """fleet_model.validate_fleet and the identity checks: the preflight's whole report."""
    report = fm.validate_fleet(hostvars, groups, require_cloud=require_cloud)
    validate(report, hostvars, groups)
    report.errors = sorted(set(report.errors))
    return report


def fleet_model(hostvars, groups, require_cloud=False):
    """fleet_model.fleet_model with the identity checks."""
    return fm.model_of(validate_fleet(hostvars, groups, require_cloud=require_cloud))


# --- Reading certificates ---------------------------------------------------------------------

def _pems(text, marker):
    """The PEM blocks of ``marker`` (``CERTIFICATE``) in ``text``, in order."""
    found = re.findall(r"-----BEGIN %s-----.+?-----END %s-----" % (marker, marker), str(text or ""), re.S)
    return [block + "\n" for block in found]


def _aware(value):
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def _not_after(cert):
    return _aware(cert.not_valid_after_utc if hasattr(cert, "not_valid_after_utc") else cert.not_valid_after)


def _cn(name):
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def _extension(obj, oid):
    try:
        return obj.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None


def _usages(obj):
    value = _extension(obj, ExtensionOID.EXTENDED_KEY_USAGE)
    names = dict((oid, name) for name, oid in USAGES.items())
    return sorted(names.get(u.dotted_string, u.dotted_string) for u in value) if value is not None else []


def _sans(obj):
    value = _extension(obj, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    return [str(n).lower() for n in value.get_values_for_type(x509.DNSName)] if value is not None else []


def _public_key(obj):
    return obj.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _load_cert(pem):
    _need_cryptography()
    blocks = _pems(pem, "CERTIFICATE")
    if not blocks:
        raise ValueError("no PEM certificate")
    return x509.load_pem_x509_certificate(blocks[0].encode("ascii"))


def cert_facts(pem, now=None):
    """What an operator checks of a certificate: ``{subject, sans, usages, serial, serial_hex,
    fingerprint (SHA-256 of the DER, lower-case hex), issuer, not_after, days_left, expired, is_ca}``."""
    cert = _load_cert(pem)
    not_after = _not_after(cert)
    left = not_after - _now(now)
    constraints = _extension(cert, ExtensionOID.BASIC_CONSTRAINTS)
    return {
        "subject": _cn(cert.subject),
        "issuer": _cn(cert.issuer),
        "sans": _sans(cert),
        "usages": _usages(cert),
        "serial": cert.serial_number,
        "serial_hex": "%x" % cert.serial_number,
        "fingerprint": cert.fingerprint(hashes.SHA256()).hex(),
        "not_after": not_after.isoformat(),
        "days_left": left.days,
        "seconds_left": int(left.total_seconds()),
        "expired": left <= datetime.timedelta(0),
        "is_ca": bool(constraints is not None and constraints.ca),
    }


def ca_status(pem, renew_before_days=30, now=None):
    """``{subject, fingerprint, not_after, days_left, seconds_left, expiring, expired}`` of a CA."""
    facts = cert_facts(pem, now=now)
    if not facts["is_ca"]:
        raise ValueError("%r is not a CA certificate" % facts["subject"])
    facts["expiring"] = facts["seconds_left"] <= int(renew_before_days) * 86400
    return facts


def _issued_by(cert, ca):
    if cert.issuer != ca.subject:
        return False
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _want(name, sans, usages):
    names = [str(name).lower()] + [str(s).lower() for s in (sans or []) if str(s).lower() != str(name).lower()]
    wanted = sorted(set(usages or ["clientAuth"]))
    unknown = [u for u in wanted if u not in USAGES]
    if unknown:
        raise ValueError("unknown extended key usage(s) %s (known: %s)" % (", ".join(unknown), ", ".join(sorted(USAGES))))
    return names, wanted


def cert_check(cert_pem, csr_pem, name, sans=None, usages=None, ca_pem="", renew_before_days=30, revoked=None,
               now=None):
    """Why the node's certificate must be (re)signed: ``{reasons: [...], rekey: bool}``.

    ``cert_pem`` is the node's current certificate (empty: none), ``csr_pem`` a request made on the
    node with its current key (empty under --check on a fresh host), ``ca_pem`` the CA in use.
    It must name ``name`` (CN, first DNS SAN) and ``sans``, carry exactly ``usages``, be issued by
    the CA, be for the node's key, not expire within ``renew_before_days`` and not be revoked
    (``revoked``: ``ovr_identity_revoked``). A revoked certificate also asks for a new key
    (``rekey``). Raises ValueError when the whole node is revoked: it gets no certificate."""
    names, wanted = _want(name, sans, usages)
    entries, errors = parse_revoked(revoked)
    if errors:
        raise ValueError("; ".join(errors))
    entry = _whole_node(entries, names[0])
    if entry is not None:
        raise ValueError("%s is revoked by %s[%d] (%s): it gets no certificate; take it out of the inventory"
                         % (names[0], REVOKED_VAR, entry["index"], entry["reason"]))
    if not _pems(cert_pem, "CERTIFICATE"):
        return {"reasons": ["no certificate yet"], "rekey": False}
    try:
        cert = _load_cert(cert_pem)
    except ValueError:
        return {"reasons": ["the certificate cannot be read"], "rekey": False}
    facts = cert_facts(cert_pem, now=now)
    reasons = []
    if facts["subject"].lower() != names[0]:
        reasons.append("subject CN %r, want %r" % (facts["subject"], names[0]))
    if sorted(facts["sans"]) != sorted(names):
        reasons.append("DNS names %s, want %s" % (",".join(facts["sans"]) or "none", ",".join(names)))
    if facts["usages"] != wanted:
        reasons.append("extended key usage %s, want %s" % (",".join(facts["usages"]) or "none", ",".join(wanted)))
    if facts["is_ca"]:
        reasons.append("it is a CA certificate")
    if _pems(ca_pem, "CERTIFICATE") and not _issued_by(cert, _load_cert(ca_pem)):
        reasons.append("it was not issued by the identity CA in use (issuer %r)" % facts["issuer"])
    if _pems(csr_pem, "CERTIFICATE REQUEST"):
        csr = x509.load_pem_x509_csr(_pems(csr_pem, "CERTIFICATE REQUEST")[0].encode("ascii"))
        if _public_key(csr) != _public_key(cert):
            reasons.append("it is for another key than the node's")
    if facts["seconds_left"] <= int(renew_before_days) * 86400:
        reasons.append("it expires %s, within identity_cert_renew_before (%d days)"
                       % (facts["not_after"], int(renew_before_days)))
    rekey = False
    entry = _revoking(entries, names[0], facts["fingerprint"])
    if entry is not None:
        reasons.append("it is revoked by %s[%d] (%s): a new key and certificate"
                       % (REVOKED_VAR, entry["index"], entry["reason"]))
        rekey = True
    return {"reasons": reasons, "rekey": rekey}


_ALLOWED_CSR_EXTENSIONS = (ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.EXTENDED_KEY_USAGE,
                           ExtensionOID.KEY_USAGE, ExtensionOID.BASIC_CONSTRAINTS) if HAS_CRYPTOGRAPHY else ()


def csr_check(csr_pem, name, sans=None, usages=None):
    """The request ``csr_pem`` if the controller may sign it, else ValueError with every reason.

    The CA copies a request's subject and extensions into the certificate, so a request is signed
    only when its self-signature holds, its subject is exactly ``CN=<name>``, its DNS names are
    exactly the node's, its extended key usages exactly ``usages``, and it asks for nothing else
    (never a CA: a node must not be able to issue certificates)."""
    _need_cryptography()
    names, wanted = _want(name, sans, usages)
    blocks = _pems(csr_pem, "CERTIFICATE REQUEST")
    if not blocks:
        raise ValueError("%s: no certificate request to sign" % names[0])
    csr = x509.load_pem_x509_csr(blocks[0].encode("ascii"))
    reasons = []
    if not csr.is_signature_valid:
        reasons.append("its signature does not hold")
    attributes = [(a.oid, a.value) for a in csr.subject]
    if attributes != [(NameOID.COMMON_NAME, names[0])]:
        reasons.append("subject %s, want CN=%s" % (csr.subject.rfc4514_string(), names[0]))
    if sorted(_sans(csr)) != sorted(names) or (_sans(csr) or [None])[0] != names[0]:
        reasons.append("DNS names %s, want %s" % (",".join(_sans(csr)) or "none", ",".join(names)))
    if _usages(csr) != wanted:
        reasons.append("extended key usage %s, want %s" % (",".join(_usages(csr)) or "none", ",".join(wanted)))
    constraints = _extension(csr, ExtensionOID.BASIC_CONSTRAINTS)
    if constraints is not None and constraints.ca:
        reasons.append("it asks to be a CA")
    others = sorted(e.oid.dotted_string for e in csr.extensions if e.oid not in _ALLOWED_CSR_EXTENSIONS)
    if others:
        reasons.append("it asks for other extensions (%s)" % ", ".join(others))
    if reasons:
        raise ValueError("%s: the node's certificate request is refused, nothing was signed: %s"
                         % (names[0], "; ".join(reasons)))
    return blocks[0]


# --- What the cloud publishes -----------------------------------------------------------------

def read_records(folder):
    """The certificates recorded in ``folder`` (``<identity_pki_dir>/issued``): the PEM text of
    every ``<host>/<serial>.crt``, in path order; none when the folder does not exist yet."""
    found = []
    if not os.path.isdir(folder):
        return found
    for host in sorted(os.listdir(folder)):
        path = os.path.join(folder, host)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            if name.endswith(".crt"):
                with open(os.path.join(path, name), encoding="ascii") as handle:
                    found.append(handle.read())
    return found


def publish(hostvars, groups, records, revoked=None, ca_pems=None, now=None):
    """The cloud's view of the identities, from the controller's records alone.

    ``records`` are the PEM certificates the controller issued, or the folder that holds them
    (``<identity_pki_dir>/issued/<host>/<serial>.crt``, read on the controller),
    ``ca_pems`` the trusted CA certificates (the one in use, any being rolled in or out).
    Returns ``{clients, crl, revoked, warnings}``:

    * ``clients``: ``{fingerprint: {node, site, site_group, site_id, node_id, kind, serial,
      not_after}}`` of every ACTIVE certificate: issued by a trusted CA to a host that is in the
      inventory's ``edge`` (through its site) or ``cloud`` group, not expired, not revoked. An
      unknown certificate maps to nothing: refuse it;
    * ``crl``: the entries of the CRL as community.crypto.x509_crl takes them (``{serial_number,
      reason, revocation_date}``): every unexpired certificate that an entry of
      ``ovr_identity_revoked`` names; ``revoked``: the same with ``{node, fingerprint, serial,
      reason, entry}``;
    * ``warnings``: an active node without a certificate on record, certificates of hosts that
      left the inventory without being revoked, entries that match no record.
    """
    report = fm.validate_fleet(hostvars, groups)
    if report.errors:
        raise fm.FleetError(report.errors)
    nodes = active_nodes(report)
    entries, errors = parse_revoked(revoked)
    if errors:
        raise ValueError("; ".join(errors))
    if isinstance(records, str):
        records = read_records(records)
    cas = [_load_cert(pem) for pem in (ca_pems or []) if _pems(pem, "CERTIFICATE")]
    clients, crl, revoked_certs, warnings = {}, [], [], []
    matched, strays, seen = set(), {}, set()
    for pem in records or []:
        cert = _load_cert(pem)
        facts = cert_facts(pem, now=now)
        if facts["fingerprint"] in seen:
            continue
        seen.add(facts["fingerprint"])
        host = facts["subject"].lower()
        if facts["expired"]:
            continue
        entry = _revoking(entries, host, facts["fingerprint"])
        if entry is not None:
            matched.add(entry["index"])
            crl.append({"serial_number": facts["serial"], "reason": entry["reason"],
                        "revocation_date": (entry["date"].replace("-", "") + "000000Z") if entry["date"] else "+0s"})
            revoked_certs.append({"node": host, "fingerprint": facts["fingerprint"], "serial": facts["serial_hex"],
                                  "reason": entry["reason"], "entry": entry["index"]})
            continue
        if not any(_issued_by(cert, ca) for ca in cas):
            continue
        if host not in nodes:
            strays.setdefault(host, 0)
            strays[host] += 1
            continue
        node = nodes[host]
        clients[facts["fingerprint"]] = {
            "node": host, "kind": node["kind"], "site": node["site"], "site_group": node["site_group"],
            "site_id": node["site_id"], "node_id": node["node_id"], "serial": facts["serial_hex"],
            "not_after": facts["not_after"]}
    holders = set(c["node"] for c in clients.values())
    for host in sorted(nodes):
        if host not in holders:
            warnings.append("%s: has no valid identity certificate on record yet; it is refused until a run "
                            "of ovr.fleet.identity on it" % nodes[host]["label"])
    for host, count in sorted(strays.items()):
        warnings.append("%s: is in neither edge nor cloud but %d unexpired certificate(s) of it are on record: "
                        "left out of the map; list it in %s to put them in the CRL" % (host, count, REVOKED_VAR))
    for entry in entries:
        if entry["index"] not in matched:
            warnings.append("%s[%d] (%s): no unexpired certificate on record matches it (nothing to put in the CRL; "
                            "what is not on record is not in the map either)" % (REVOKED_VAR, entry["index"], entry["name"]))
    crl.sort(key=lambda e: e["serial_number"])
    revoked_certs.sort(key=lambda e: (e["node"], e["serial"]))
    return {"clients": clients, "crl": crl, "revoked": revoked_certs, "warnings": warnings}


def crl_due(crl_pem, renew_before_days=30, now=None):
    """True when the published CRL must be issued again: none yet, unreadable, or its next update
    within ``renew_before_days`` (an expired CRL makes its readers refuse every certificate)."""
    _need_cryptography()
    blocks = _pems(crl_pem, "X509 CRL")
    if not blocks:
        return True
    try:
        crl = x509.load_pem_x509_crl(blocks[0].encode("ascii"))
    except ValueError:
        return True
    next_update = getattr(crl, "next_update_utc", None) or crl.next_update
    if next_update is None:
        return False
    return _aware(next_update) - _now(now) <= datetime.timedelta(days=int(renew_before_days))
