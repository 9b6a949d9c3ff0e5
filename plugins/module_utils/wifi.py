# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Known Wi-Fi networks of a node: one implementation of their rules.

Used by the filter plugin ``plugins/filter/wifi.py`` (the ``ovr.fleet.wifi`` role's checks and
rendering), by ``fleet_model.validate_fleet`` (the fleet preflight, on the controller, before any
host is touched) and, copied to the node by the role, as the validator of the files the role
writes (``python3 ovr_wifi.py keyfile FILE`` / ``csv FILE``).

A network is ``{ssid, psk, priority, hidden, band, interface}``. A node's networks are, in this
order, the site's list (``wifi_site_networks``), the rows of the operator's CSV
(``wifi_networks_csv``) and the node's own list (``wifi_networks``); a later source replaces an
entry of an earlier one with the same SSID. The same SSID twice in ONE source is an error.

Messages name the network by its SSID and the field; a PSK is never part of any message.

Only the Python standard library is used (this file also runs on the node on its own).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import csv
import io
import os
import re
import subprocess
import sys
import uuid

#: The columns of a Wi-Fi CSV (the operator's and /etc/ovr/wifi_networks.csv), in this order.
CSV_FIELDS = ("ssid", "psk", "priority", "hidden", "band", "interface")
FIELDS = CSV_FIELDS
#: NetworkManager's range of connection.autoconnect-priority.
PRIORITY_MIN = -999
PRIORITY_MAX = 999
BANDS = ("", "a", "bg")
#: Profiles the role makes: file name and connection id start with this.
PROFILE_PREFIX = "ovr-wifi-"
KEYFILE_SUFFIX = ".nmconnection"
#: Namespace of the profiles' UUIDs (uuid5 of the SSID): stable across runs and controllers.
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://ovr.fleet/wifi")

_HEX64_RE = re.compile(r"^[0-9A-Fa-f]{64}$")
_IFACE_RE = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")
_SLUG_RE = re.compile(r"[^A-Za-z0-9_-]+")
_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off", "")


class WifiError(ValueError):
    """Networks that break the rules; ``errors`` lists one message per problem."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(WifiError, self).__init__("; ".join(self.errors))


def type_name(value):
    """How an error message names the kind of a value (the fleet model's messages use it too)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "a %s" % type(value).__name__


def check_ssid(ssid):
    """Raise ValueError unless ``ssid`` is 1-32 bytes of UTF-8 without control characters."""
    if not isinstance(ssid, str):
        raise ValueError("ssid must be a string, got %s" % type_name(ssid))
    size = len(ssid.encode("utf-8"))
    if size == 0:
        raise ValueError("ssid is empty")
    if size > 32:
        raise ValueError("ssid is %d bytes long (UTF-8); at most 32" % size)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in ssid):
        raise ValueError("ssid contains a control character")
    return ssid


def check_psk(psk):
    """Raise ValueError unless ``psk`` is a WPA passphrase (8-63 printable ASCII) or 64 hex digits.

    The message never contains the PSK, only its length.
    """
    if not isinstance(psk, str):
        raise ValueError("psk must be a string, got %s" % type_name(psk))
    if _HEX64_RE.match(psk):
        return psk
    if not 8 <= len(psk) <= 63:
        raise ValueError("psk must be 8 to 63 characters (or 64 hex digits), got %d characters" % len(psk))
    if any(not 32 <= ord(ch) <= 126 for ch in psk):
        raise ValueError("psk must be printable ASCII (a WPA passphrase), got another character")
    return psk


def coerce_priority(value):
    """The priority as an int in -999..999 (strings of an integer accepted: CSV, INI)."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise ValueError("priority must be an integer %d..%d, got a boolean" % (PRIORITY_MIN, PRIORITY_MAX))
    if isinstance(value, int):
        number = int(value)
    elif isinstance(value, str) and re.match(r"^-?[0-9]+$", value.strip()):
        number = int(value.strip())
    else:
        raise ValueError("priority must be an integer %d..%d, got %s %r"
                         % (PRIORITY_MIN, PRIORITY_MAX, type_name(value), value))
    if not PRIORITY_MIN <= number <= PRIORITY_MAX:
        raise ValueError("priority must be within %d..%d (NetworkManager's range), got %d"
                         % (PRIORITY_MIN, PRIORITY_MAX, number))
    return number


def coerce_hidden(value, text_ok=False):
    """A boolean; from a CSV (``text_ok``) also true/false, yes/no, 1/0, on/off or empty."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if text_ok and isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise ValueError("hidden must be a boolean (true or false), got %s %r" % (type_name(value), value))


def check_band(value):
    if value is None:
        return ""
    if not isinstance(value, str) or value.strip().lower() not in BANDS:
        raise ValueError("band must be a (5 GHz), bg (2.4 GHz) or empty (any), got %r" % (value,))
    return value.strip().lower()


def check_interface(value):
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not _IFACE_RE.match(value):
        raise ValueError("interface must be an interface name (1-15 letters, digits, _.:@-) or empty (any), "
                         "got %r" % (value,))
    return value


def _label(ssid):
    """How a message names a network: its SSID (never its PSK)."""
    if isinstance(ssid, str) and ssid:
        return "network %r" % str(ssid)
    return "network with ssid %r" % (ssid,)


def normalise(entry, where, text_ok=False):
    """One network as a plain dict with every field, or raise WifiError (one message per field)."""
    if not isinstance(entry, dict):
        raise WifiError(["%s must be a mapping {ssid, psk, priority, hidden, band, interface}, got %s"
                         % (where, type_name(entry))])
    ssid = entry.get("ssid")
    label = "%s %s" % (where, _label(ssid))
    errors = []
    unknown = sorted(str(k) for k in entry if k not in FIELDS)
    if unknown:
        errors.append("%s: unknown field(s) %s (known: %s)" % (label, ", ".join(unknown), ", ".join(FIELDS)))
    out = {}
    checks = (
        ("ssid", check_ssid, True),
        ("psk", check_psk, True),
        ("priority", coerce_priority, False),
        ("hidden", lambda v: coerce_hidden(v, text_ok), False),
        ("band", check_band, False),
        ("interface", check_interface, False),
    )
    for field, check, required in checks:
        if field not in entry and required:
            errors.append("%s: %s is not set" % (label, field))
            continue
        try:
            out[field] = check(entry.get(field))
        except ValueError as exc:
            errors.append("%s: %s" % (label, exc))
    if errors:
        raise WifiError(errors)
    return out


def parse_csv(text, name):
    """The rows of a Wi-Fi CSV as ``(line, raw dict)`` and the errors (file and line named).

    Columns: ssid,psk,priority,hidden,band,interface. A first row equal to those names is a
    header; blank lines and lines starting with # are skipped; fields may be quoted (RFC 4180).
    """
    rows = []
    errors = []
    reader = csv.reader(io.StringIO(text))
    first = True
    for fields in reader:
        line = reader.line_num
        if not fields or (len(fields) == 1 and not fields[0].strip()) or fields[0].lstrip().startswith("#"):
            continue
        if first and [f.strip().lower() for f in fields] == list(CSV_FIELDS):
            first = False
            continue
        first = False
        if len(fields) != len(CSV_FIELDS):
            errors.append("%s line %d: expected %d fields (%s), got %d"
                          % (name, line, len(CSV_FIELDS), ",".join(CSV_FIELDS), len(fields)))
            continue
        rows.append((line, dict(zip(CSV_FIELDS, fields))))
    return rows, errors


def _source(entries, where, text_ok=False):
    """Normalised networks of one source, with its own errors (duplicates included)."""
    networks = []
    errors = []
    seen = {}
    for index, (position, entry) in enumerate(entries):
        label = where(index, position)
        try:
            network = normalise(entry, label, text_ok=text_ok)
        except WifiError as exc:
            errors.extend(exc.errors)
            continue
        if network["ssid"] in seen:
            errors.append("%s %s: duplicate ssid (also %s)" % (label, _label(network["ssid"]), seen[network["ssid"]]))
            continue
        seen[network["ssid"]] = label
        networks.append(network)
    return networks, errors


def merge(site=None, node=None, csv_text=None, csv_name="the Wi-Fi CSV",
          site_var="wifi_site_networks", node_var="wifi_networks"):
    """A node's networks: site list, then CSV rows, then node list; a later one replaces an
    earlier one of the same SSID. Returns ``(networks, errors)``; networks are sorted by
    priority (highest first), then SSID."""
    errors = []
    layers = []
    for value, var in ((site, site_var), (None, None), (node, node_var)):
        if var is None:
            if csv_text is None:
                continue
            rows, bad_rows = parse_csv(csv_text, csv_name)
            errors.extend(bad_rows)
            found, bad = _source(rows, lambda i, line: "%s line %d" % (csv_name, line), text_ok=True)
        else:
            if value is None or value == "":
                continue
            if isinstance(value, (str, dict)) or not isinstance(value, (list, tuple)):
                errors.append("%s must be a list of networks {ssid, psk, ...}, got %s" % (var, type_name(value)))
                continue
            found, bad = _source(list(enumerate(value)), lambda i, pos, v=var: "%s[%d]" % (v, i))
        errors.extend(bad)
        layers.append(found)
    merged = {}
    for layer in layers:
        for network in layer:
            merged[network["ssid"]] = network
    networks = sorted(merged.values(), key=lambda n: (-n["priority"], n["ssid"]))
    return [profile(n) for n in networks], errors


def inventory_errors(site, node, csv_path):
    """The fleet preflight's check of one node: its site list, node list and CSV (read here, on
    the controller). Values that failed to template arrive as exceptions. Returns messages."""
    names = (("wifi_site_networks", site), ("wifi_networks", node), ("wifi_networks_csv", csv_path))
    errors = ["%s could not be templated: %s" % (n, v) for n, v in names if isinstance(v, Exception)]
    if errors:
        return errors
    csv_text = None
    if csv_path not in (None, ""):
        if not isinstance(csv_path, str) or not os.path.isabs(csv_path):
            return ["wifi_networks_csv must be an absolute path on the controller or empty, got %r" % (csv_path,)]
        try:
            with io.open(csv_path, encoding="utf-8") as handle:
                csv_text = handle.read()
        except (IOError, OSError, UnicodeDecodeError) as exc:
            return ["wifi_networks_csv %s cannot be read: %s" % (csv_path, getattr(exc, "strerror", None) or exc)]
    try:
        return merge(site=site, node=node, csv_text=csv_text, csv_name=csv_path or "the Wi-Fi CSV")[1]
    except Exception as exc:  # pylint: disable=broad-except
        # A lazy inventory value that fails to template when read (an undefined variable).
        return ["Wi-Fi networks could not be templated: %s" % exc]


def slug(ssid):
    text = _SLUG_RE.sub("_", ssid).strip("_")[:24]
    return text or "ssid"


def profile(network):
    """The network with what the NetworkManager profile derives from it: id, uuid, filename."""
    out = dict(network)
    the_uuid = str(uuid.uuid5(UUID_NAMESPACE, network["ssid"]))
    out["id"] = PROFILE_PREFIX + network["ssid"]
    out["uuid"] = the_uuid
    out["filename"] = "%s%s-%s%s" % (PROFILE_PREFIX, slug(network["ssid"]), the_uuid[:8], KEYFILE_SUFFIX)
    return out


def to_csv(networks):
    """/etc/ovr/wifi_networks.csv: the header, then one row per network (priority order)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for n in networks:
        writer.writerow([n["ssid"], n["psk"], n["priority"], "true" if n["hidden"] else "false",
                         n["band"], n["interface"]])
    return buf.getvalue()


# ---- NetworkManager keyfiles (GKeyFile) --------------------------------------------------------

def keyfile_string(text):
    """A value as GKeyFile writes a string: backslash, line breaks, tab and a leading blank escaped."""
    out = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    if out.startswith(" "):
        out = "\\s" + out[1:]
    return out


def keyfile_ssid(ssid):
    """The SSID for ``ssid=``: plain text when it needs no escaping, else NetworkManager's
    unambiguous byte list (``72;81;`` - a value ending in ';' is read as bytes)."""
    plain = (ssid == ssid.strip() and not any(ch in ssid for ch in ";\\")
             and all(ch.isprintable() for ch in ssid) and not ssid.endswith(";"))
    if plain:
        return ssid
    return "".join("%d;" % b for b in bytearray(ssid.encode("utf-8")))


def _unescape(value):
    out = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append({"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse_keyfile(text):
    """{group: {key: raw value}} of a keyfile; ValueError on a line that is none of the three."""
    groups = {}
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = groups.setdefault(stripped[1:-1], {})
            continue
        if "=" not in line or current is None:
            raise ValueError("line %d is not a group, a key=value pair or a comment" % number)
        key, value = line.split("=", 1)
        current[key.strip()] = value.lstrip()
    return groups


def keyfile_decoded_ssid(raw):
    """The SSID a keyfile's ``ssid=`` value stands for (text or NetworkManager's byte list)."""
    value = raw.rstrip()
    if value.endswith(";") and re.match(r"^([0-9]{1,3};)+$", value):
        data = bytearray(int(b) for b in value.rstrip(";").split(";"))
        return data.decode("utf-8")
    return _unescape(value).replace("\\;", ";")


def check_keyfile(text):
    """Errors (list of str) of a keyfile this role writes: the fields it must have, by the same
    rules as the inventory. Never quotes the PSK."""
    errors = []
    try:
        groups = parse_keyfile(text)
    except ValueError as exc:
        return ["not a keyfile: %s" % exc]
    conn = groups.get("connection", {})
    wifi = groups.get("wifi", {})
    sec = groups.get("wifi-security", {})
    if conn.get("type") not in ("wifi", "802-11-wireless"):
        errors.append("[connection] type must be wifi, got %r" % conn.get("type"))
    try:
        uuid.UUID(conn.get("uuid", ""))
    except ValueError:
        errors.append("[connection] uuid is not a UUID: %r" % conn.get("uuid"))
    if not _unescape(conn.get("id", "")).startswith(PROFILE_PREFIX):
        errors.append("[connection] id must start with %s" % PROFILE_PREFIX)
    try:
        coerce_priority(conn.get("autoconnect-priority", "0"))
    except ValueError as exc:
        errors.append("[connection] autoconnect-%s" % exc)
    if conn.get("autoconnect", "true") != "true":
        errors.append("[connection] autoconnect must be true")
    if "interface-name" in conn:
        try:
            check_interface(conn["interface-name"])
        except ValueError as exc:
            errors.append("[connection] %s" % exc)
    if wifi.get("mode", "infrastructure") != "infrastructure":
        errors.append("[wifi] mode must be infrastructure")
    try:
        check_ssid(keyfile_decoded_ssid(wifi.get("ssid", "")))
    except (ValueError, UnicodeDecodeError) as exc:
        errors.append("[wifi] %s" % exc)
    if wifi.get("hidden", "false") not in ("true", "false"):
        errors.append("[wifi] hidden must be true or false, got %r" % wifi.get("hidden"))
    if wifi.get("band", "a") not in ("a", "bg"):
        errors.append("[wifi] band must be a or bg, got %r" % wifi.get("band"))
    if sec.get("key-mgmt") != "wpa-psk":
        errors.append("[wifi-security] key-mgmt must be wpa-psk, got %r" % sec.get("key-mgmt"))
    try:
        check_psk(_unescape(sec.get("psk", "")))
    except ValueError as exc:
        errors.append("[wifi-security] %s" % exc)
    return errors


def loaded_errors(nmcli_lines, networks, directory):
    """What NetworkManager did not load: ``nmcli -g NAME,AUTOCONNECT-PRIORITY,FILENAME connection
    show`` lines against the expected networks. Returns one message per profile."""
    seen = {}
    for line in nmcli_lines:
        fields = re.split(r"(?<!\\):", line)
        if len(fields) < 3:
            continue
        name, prio, filename = [f.replace("\\:", ":").replace("\\\\", "\\") for f in fields[:3]]
        seen[filename] = (name, prio)
    errors = []
    for n in networks:
        path = "%s/%s" % (directory.rstrip("/"), n["filename"])
        if path not in seen:
            errors.append("%s (%s) was not loaded by NetworkManager (see journalctl -u NetworkManager)"
                          % (path, _label(n["ssid"])))
            continue
        name, prio = seen[path]
        if name != n["id"] or prio != str(n["priority"]):
            errors.append("%s (%s) loaded as %r with priority %s, expected %r with priority %d"
                          % (path, _label(n["ssid"]), name, prio, n["id"], n["priority"]))
    expected = set("%s/%s" % (directory.rstrip("/"), n["filename"]) for n in networks)
    prefix = "%s/%s" % (directory.rstrip("/"), PROFILE_PREFIX)
    for path in sorted(seen):
        if path.startswith(prefix) and path not in expected:
            errors.append("%s is still loaded although its network is no longer listed" % path)
    return errors


def _main(argv):
    """``ovr_wifi.py keyfile FILE`` or ``ovr_wifi.py csv FILE``: exit 1 with the errors."""
    if len(argv) != 3 or argv[1] not in ("keyfile", "csv"):
        sys.stderr.write("usage: ovr_wifi.py keyfile|csv FILE\n")
        return 2
    with io.open(argv[2], encoding="utf-8") as handle:
        text = handle.read()
    if argv[1] == "csv":
        dummy, errors = merge(csv_text=text, csv_name=argv[2])
    else:
        errors = check_keyfile(text)
        if not errors:
            # NetworkManager's own verification of the profile (offline: no daemon needed). This
            # runs as the role's file validator on the node, outside any module: no run_command.
            with io.open(argv[2], "rb") as handle:
                proc = subprocess.run(["nmcli", "--offline", "connection", "modify"], stdin=handle,  # pylint: disable=ansible-bad-function
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
            if proc.returncode != 0:
                errors.append("NetworkManager refused it: %s" % proc.stderr.decode("utf-8", "replace").strip())
    for error in errors:
        sys.stderr.write("%s: %s\n" % (argv[2], error))
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv))
