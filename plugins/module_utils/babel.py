# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A mesh relay's forwarding (role ovr.fleet.babel): its sysctls, the ones to write now, and the
interface pairs Docker's DOCKER-USER chain must accept.

A node with babel_interfaces relays the mesh: it forwards IPv4 (and IPv6 when it routes IPv6
prefixes) and its reverse-path filter is never strict (babel's routes may be asymmetric, during a
failover for one). ``sysctls`` is what /etc/sysctl.d keeps across boots; ``sysctl_fixes`` is
what must be written now, judged from the live values (nothing when they are already good, as in
a container node whose /proc/sys is read-only and was set at its start); ``forward_pairs`` are
the (in, out) interface pairs Docker's DOCKER-USER chain accepts when Docker has set the FORWARD
policy to DROP. Standard library only, no Ansible import; bad input raises ValueError. The
filters of plugins/filter/babel.py are thin adapters around it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

IPV4_FORWARD = "net.ipv4.ip_forward"
IPV6_FORWARD = "net.ipv6.conf.all.forwarding"
RP_ALL = "net.ipv4.conf.all.rp_filter"
RP_DEFAULT = "net.ipv4.conf.default.rp_filter"
# Loose mode: a source must be reachable through some route (babel's), not through the
# interface the packet came in on.
RP_LOOSE = "2"
RP_STRICT = "1"


def _strings(value, what):
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ValueError("%s must be a list, got %r" % (what, value))
    return [str(item) for item in value]


def routes_ipv6(addresses, announce=None, announce_default=False):
    """Whether the node routes IPv6: an IPv6 address or prefix of its own, or a default route it
    announces (babeld's config announces ::/0 with it)."""
    prefixes = _strings(addresses, "babel_addresses") + _strings(announce, "babel_announce")
    return bool(announce_default) or any(":" in prefix for prefix in prefixes)


def sysctls(addresses, announce=None, announce_default=False):
    """The sysctls of a mesh relay, in file order: {key: value}."""
    wanted = {IPV4_FORWARD: "1"}
    if routes_ipv6(addresses, announce, announce_default):
        wanted[IPV6_FORWARD] = "1"
    wanted[RP_ALL] = RP_LOOSE
    wanted[RP_DEFAULT] = RP_LOOSE
    return wanted


def parse_sysctl(lines):
    """{key: value} of ``sysctl -e KEY...`` output lines ("key = value")."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    live = {}
    for line in lines or []:
        key, sep, value = str(line).partition("=")
        if sep:
            live[key.strip()] = value.strip()
    return live


def sysctl_fixes(lines, wanted, interfaces=None):
    """The sysctls to write now, {key: value}: a forwarding key whose live value is not the
    wanted one, and the reverse-path filter of "all" when it or one of the babel interfaces is
    strict (the kernel takes the larger of "all" and the interface's value, so loose on "all"
    makes every interface at least loose). Nothing when the live values are good: 0 (off) or 2
    (loose) are both good for rp_filter. A key the kernel does not have (absent from ``lines``)
    is written too, and fails loudly there."""
    if not isinstance(wanted, dict):
        raise ValueError("wanted must be a dict of sysctls, got %r" % (wanted,))
    live = parse_sysctl(lines)
    fixes = {}
    for key, value in wanted.items():
        if key in (RP_ALL, RP_DEFAULT):
            continue
        if live.get(key) != str(value):
            fixes[key] = str(value)
    names = [str(iface.get("name", "")) if isinstance(iface, dict) else str(iface) for iface in interfaces or []]
    rp_keys = [RP_ALL] + ["net.ipv4.conf.%s.rp_filter" % name for name in names if name]
    if any(live.get(key) == RP_STRICT for key in rp_keys) or RP_ALL not in live:
        fixes[RP_ALL] = str(wanted.get(RP_ALL, RP_LOOSE))
    return fixes


def forward_pairs(interfaces):
    """Every ordered (in, out) pair of the babel interfaces, the same one twice included (a
    wireless relay forwards out of the radio it heard the packet on): [[in, out], ...]."""
    names = []
    for iface in interfaces or []:
        name = iface.get("name") if isinstance(iface, dict) else iface
        if not name:
            raise ValueError("every babel interface needs a name, got %r" % (iface,))
        if str(name) not in names:
            names.append(str(name))
    return [[src, dst] for src in names for dst in names]
