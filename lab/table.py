"""Print the lab report (.cache/lab-report.json, written by lab/report.yml) as a table."""
import json
import sys

COLUMNS = [
    ("node", "NODE"), ("stack", "STACK"), ("site", "SITE"), ("node_id", "ID"), ("overlay_ip", "OVERLAY"),
    ("config_home", "/etc/ovr"), ("env_file", "ENV MODE"), ("env_keys", "KEYS"), ("env_link", ".env ->"),
    ("legacy_alias", "/etc/overdrive ->"),
]


def main(path):
    with open(path, encoding="utf-8") as handle:
        rows = json.load(handle)
    if not rows:
        print("the lab report lists no node")
        return 1
    cells = [[str(row.get(key, "") or "-") for key, dummy in COLUMNS] for row in rows]
    widths = [max([len(title)] + [len(c[i]) for c in cells]) for i, (dummy, title) in enumerate(COLUMNS)]
    line = "  ".join(title.ljust(w) for (dummy, title), w in zip(COLUMNS, widths))
    print(line)
    print("-" * len(line))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths)))
    bad = [r["node"] for r in rows if r.get("env_link", "missing") == "missing" or r.get("legacy_alias") != "/etc/ovr"]
    if bad:
        print("NOT LAID OUT: %s" % ", ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".cache/lab-report.json"))
