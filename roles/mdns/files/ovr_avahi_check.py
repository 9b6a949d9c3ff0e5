# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# python3 ovr_avahi_check.py FILE: checks an avahi-daemon.conf the way avahi-daemon 0.8 reads it (it refuses
# to start on an unknown group or key, or a bad yes/no), plus what ovr.fleet.mdns relies on: a
# host name that is one DNS label and a non-empty allow-interfaces. Installed by ovr.fleet.mdns;
# used as the template's `validate:`. Exit 1 with one line per problem.
import re
import sys

KEYS = {
    "server": {"host-name", "domain-name", "browse-domains", "use-ipv4", "use-ipv6", "allow-interfaces",
               "deny-interfaces", "check-response-ttl", "use-iff-running", "enable-dbus",
               "disallow-other-stacks", "allow-point-to-point", "cache-entries-max", "clients-max",
               "objects-per-client-max", "entries-per-entry-group-max", "ratelimit-interval-usec",
               "ratelimit-burst"},
    "wide-area": {"enable-wide-area"},
    "publish": {"disable-publishing", "disable-user-service-publishing", "add-service-cookie",
                "publish-addresses", "publish-hinfo", "publish-workstation", "publish-domain",
                "publish-dns-servers", "publish-resolv-conf-dns-servers", "publish-aaaa-on-ipv4",
                "publish-a-on-ipv6"},
    "reflector": {"enable-reflector", "reflect-ipv", "reflect-filters"},
    "rlimits": {"rlimit-as", "rlimit-core", "rlimit-data", "rlimit-fsize", "rlimit-nofile", "rlimit-stack",
                "rlimit-nproc"},
}
BOOLEANS = {"use-ipv4", "use-ipv6", "check-response-ttl", "use-iff-running", "enable-dbus",
            "allow-point-to-point", "enable-wide-area", "disable-publishing", "disable-user-service-publishing",
            "add-service-cookie", "publish-addresses", "publish-hinfo", "publish-workstation", "publish-domain",
            "publish-resolv-conf-dns-servers", "publish-aaaa-on-ipv4", "publish-a-on-ipv6", "enable-reflector",
            "reflect-ipv"}
LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def check(text):
    errors, values, group = [], {}, None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
            if group not in KEYS:
                errors.append("line %d: unknown group [%s]" % (number, group))
            continue
        if "=" not in line or group is None:
            errors.append("line %d: not a key=value line inside a group" % number)
            continue
        key, value = [part.strip() for part in line.split("=", 1)]
        if group in KEYS and key not in KEYS[group]:
            errors.append("line %d: avahi-daemon knows no key %s in [%s]" % (number, key, group))
        if key in BOOLEANS and value not in ("yes", "no"):
            errors.append("line %d: %s must be yes or no, got %r" % (number, key, value))
        values[(group, key)] = value
    name = values.get(("server", "host-name"))
    if name is not None and not LABEL.match(name):
        errors.append("host-name %r is not one DNS label (letters, digits, '-')" % name)
    if not values.get(("server", "allow-interfaces")):
        errors.append("allow-interfaces is missing or empty (ovr.fleet.mdns publishes on listed interfaces only)")
    return errors


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: ovr_avahi_check.py FILE\n")
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        errors = check(handle.read())
    for error in errors:
        sys.stderr.write("%s: %s\n" % (argv[1], error))
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
