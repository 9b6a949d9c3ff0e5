"""Print the lab report (.cache/lab-report.json, written by lab/report.yml) as a table, with
what the last site playbook run changed on each node (from its log's PLAY RECAP)."""
import json
import re
import sys

RECAP = re.compile(r"^(?P<host>\S+)\s+: ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)")

COLUMNS = [
    ("node", "NODE"), ("stack", "STACK"), ("site", "SITE"), ("node_id", "ID"), ("overlay", "OVERLAY (answering/asked)"),
    ("config_home", "/etc/ovr"), ("env_file", "ENV MODE"), ("env_keys", "KEYS"), ("env_link", ".env ->"),
    ("legacy_alias", "/etc/overdrive ->"), ("wifi", "WI-FI PROFILES"), ("mdns", "MDNS"), ("firewall", "FIREWALL"),
    ("gx", "GX FOUND"), ("series", "VICTRON SERIES"), ("peers", "PEERS (through the proxy)"), ("changed", "CHANGED"),
]


def recap(path):
    """host -> changed count of the last PLAY RECAP in a playbook log."""
    counts = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                match = RECAP.match(line)
                if match:
                    counts[match.group("host")] = int(match.group("changed"))
    except FileNotFoundError:
        pass
    return counts


def main(path, log=None):
    with open(path, encoding="utf-8") as handle:
        rows = json.load(handle)
    changed = recap(log) if log else {}
    for row in rows:
        row["changed"] = changed.get(row["node"], "?")
    if not rows:
        print("the lab report lists no node")
        return 1
    cells = [[str(row.get(key, "")) if row.get(key, "") != "" else "-" for key, dummy in COLUMNS] for row in rows]
    widths = [max([len(title)] + [len(c[i]) for c in cells]) for i, (dummy, title) in enumerate(COLUMNS)]
    line = "  ".join(title.ljust(w) for (dummy, title), w in zip(COLUMNS, widths))
    print(line)
    print("-" * len(line))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths)))
    consoles = [(row["node"], row.get("console")) for row in rows if row.get("console")]
    if consoles:
        print()
        print("CONSOLES (the unified UI; / too, until a legacy UI is configured)")
        for node, url in consoles:
            print("  %-10s %s" % (node, url))
    rc = 0
    bad = [r["node"] for r in rows if r.get("env_link", "missing") == "missing" or r.get("legacy_alias") != "/etc/ovr"]
    if bad:
        print("NOT LAID OUT: %s" % ", ".join(bad))
        rc = 1
    # Where Nebula runs, every node's overlay address must answer the others.
    down = [r["node"] for r in rows if " DOWN " in r.get("overlay", "")]
    if down:
        print("OVERLAY NOT ANSWERING: %s" % ", ".join(down))
        rc = 1
    unreachable = [r["node"] for r in rows if "FAIL" in r.get("peers", "")]
    if unreachable:
        print("PEERS NOT ANSWERING THROUGH THE PROXY OF: %s" % ", ".join(unreachable))
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main(*(sys.argv[1:] or [".cache/lab-report.json"])))
