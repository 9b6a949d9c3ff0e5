"""Refresh the collection's console, roles/ui/files/console, in place: the console is stored once,
as it ships, and edited there.

    python3 lab/build_console.py          refresh roles/ui/files/console in place
    python3 lab/build_console.py --check  refresh a temporary copy and compare it with the shipped
                                          console (exit 1 naming every difference)

What is edited by hand, in roles/ui/files/console: index.html, sw.js, manifest.webmanifest,
icon.svg, and the console's code and style, assets/app.<hash>.js and assets/app.<hash>.css (one
of each). What this tool derives: each asset is named by its content hash (assets/<name>.<hash>.<ext>:
nginx gives them a year's immutable cache), so an edited app asset gets its new name; uPlot comes
from the npm registry through npm itself (`npm pack uplot@<version>`), at the version pinned here,
checked against the pinned SHA-256 of its tarball, kept in .cache/npm; index.html and sw.js get the
asset names (sw.js also its cache name and shell list), and LICENSES.md lists what is shipped and
under which licence. The shipped console is static: no CDN, nothing fetched at run time.
"""
import argparse
import filecmp
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "roles", "ui", "files", "console")
CACHE = os.path.join(ROOT, ".cache", "npm")
UPLOT_VERSION = "1.6.32"
UPLOT_TARBALL_SHA256 = "4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d"
UPLOT_FILES = {"package/dist/uPlot.iife.min.js": "uPlot.min.js", "package/dist/uPlot.min.css": "uPlot.min.css",
               "package/LICENSE": "LICENSE"}
STATIC = ("manifest.webmanifest", "icon.svg")
# An asset reference in index.html: assets/<stem>.<hash>.<ext>.
ASSET_REF = re.compile(r"assets/(uPlot|app)\.[0-9a-f]{12}\.(min\.js|min\.css|js|css)")
SW_CACHE = re.compile(r'^const CACHE = "ovr-console-[^"]*";$', re.M)
SW_SHELL = re.compile(r"^const SHELL = \[.*\];$", re.M)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def uplot_tarball():
    """The pinned uPlot tarball (npm pack), from .cache/npm when already there."""
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, "uplot-%s.tgz" % UPLOT_VERSION)
    if not os.path.exists(path):
        subprocess.run(["npm", "pack", "uplot@%s" % UPLOT_VERSION, "--pack-destination", CACHE, "--silent"],
                       check=True, stdout=subprocess.DEVNULL)
    with open(path, "rb") as handle:
        data = handle.read()
    if sha256(data) != UPLOT_TARBALL_SHA256:
        raise SystemExit("%s: SHA-256 %s, expected %s (pinned)" % (path, sha256(data), UPLOT_TARBALL_SHA256))
    return path


def hashed(name, data):
    stem, ext = name.split(".", 1)
    return "assets/%s.%s.%s" % (stem, sha256(data)[:12], ext)


def read(src, name):
    with open(os.path.join(src, name), "rb") as handle:
        return handle.read()


def app_asset(src, ext):
    """The console's own assets/app.<hash>.<ext> (exactly one)."""
    found = sorted(n for n in os.listdir(os.path.join(src, "assets"))
                   if re.match(r"^app\.[0-9a-f]{12}\.%s$" % ext, n))
    if len(found) != 1:
        raise SystemExit("%s/assets: expected one app.<hash>.%s, found %s" % (src, ext, found or "none"))
    return read(src, "assets/" + found[0])


def substitute(pattern, text, replacement, what):
    new, count = pattern.subn(lambda _m: replacement, text)
    if count != 1:
        raise SystemExit("%s: expected one %s, found %d" % (what, pattern.pattern, count))
    return new


def build(out, src=OUT):
    """The console refreshed from ``src`` (the shipped one by default) into ``out`` (replaced whole)."""
    files = {}
    with tarfile.open(uplot_tarball(), "r:gz") as tar:
        uplot = dict((UPLOT_FILES[m.name], tar.extractfile(m).read()) for m in tar.getmembers() if m.name in UPLOT_FILES)
    missing = set(UPLOT_FILES.values()) - set(uplot)
    if missing:
        raise SystemExit("uplot %s: %s missing from the package" % (UPLOT_VERSION, ", ".join(sorted(missing))))
    names = {}
    for key, data in ((("uPlot", "min.js"), uplot["uPlot.min.js"]), (("uPlot", "min.css"), uplot["uPlot.min.css"]),
                      (("app", "js"), app_asset(src, "js")), (("app", "css"), app_asset(src, "css"))):
        names[key] = hashed("%s.%s" % key, data)
        files[names[key]] = data
    index = read(src, "index.html").decode("utf-8")
    seen = set(m.groups() for m in ASSET_REF.finditer(index))
    if seen != set(names):
        raise SystemExit("%s/index.html: asset references %s, expected %s" % (src, sorted(seen), sorted(names)))
    files["index.html"] = ASSET_REF.sub(lambda m: names[m.groups()], index).encode()
    for name in STATIC:
        files[name] = read(src, name)
    files["licenses/uPlot-LICENSE.txt"] = uplot["LICENSE"]
    files["LICENSES.md"] = (
        "# What this console ships, and under which licence\n\n"
        "| file | what | licence |\n|---|---|---|\n"
        "| `index.html`, `sw.js`, `manifest.webmanifest`, `icon.svg`, `%s`, `%s` | the ovr console, edited here "
        "| GPL-3.0-or-later (the collection's licence) |\n"
        "| `%s`, `%s` | uPlot %s (npm package `uplot`, dist/uPlot.iife.min.js, dist/uPlot.min.css) "
        "| MIT, `licenses/uPlot-LICENSE.txt` |\n\n"
        "Asset names, uPlot and this file are refreshed by `lab/build_console.py`; nothing is fetched at run time.\n"
        % (names[("app", "js")], names[("app", "css")], names[("uPlot", "min.js")], names[("uPlot", "min.css")],
           UPLOT_VERSION)).encode()
    shell = ["./", "index.html", "manifest.webmanifest", "icon.svg"] + sorted(names.values())
    build_id = sha256(b"".join(files[n] for n in sorted(files)))[:12]
    worker = read(src, "sw.js").decode("utf-8")
    worker = substitute(SW_CACHE, worker, 'const CACHE = "ovr-console-%s";' % build_id, "%s/sw.js" % src)
    worker = substitute(SW_SHELL, worker, "const SHELL = %s;" % json.dumps(shell), "%s/sw.js" % src)
    files["sw.js"] = worker.encode()
    if os.path.exists(out):
        shutil.rmtree(out)
    for name, data in files.items():
        path = os.path.join(out, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
    return sorted(files)


def tree(folder):
    out = set()
    for base, _dirs, names in os.walk(folder):
        for name in names:
            out.add(os.path.relpath(os.path.join(base, name), folder))
    return out


def check():
    with tempfile.TemporaryDirectory(prefix="ovr-console-") as tmp:
        fresh = os.path.join(tmp, "console")
        build(fresh)
        want, have = tree(fresh), tree(OUT) if os.path.isdir(OUT) else set()
        problems = ["missing from the shipped copy: %s" % n for n in sorted(want - have)]
        problems += ["not derived from the console's own files (stale): %s" % n for n in sorted(have - want)]
        problems += ["differs from a refreshed copy: %s" % n for n in sorted(want & have)
                     if not filecmp.cmp(os.path.join(fresh, n), os.path.join(OUT, n), shallow=False)]
    for line in problems:
        print("roles/ui/files/console: %s" % line)
    if problems:
        print("run python3 lab/build_console.py and commit the result")
        return 1
    print("roles/ui/files/console is up to date (uPlot %s)" % UPLOT_VERSION)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--check", action="store_true", help="compare a refreshed copy with the shipped console")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    for name in build(OUT):
        print(os.path.join("roles/ui/files/console", name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
