"""Build the collection's console (roles/ui/files/console) from its source, roles/ui/src/console/,
and uPlot from npm.

    python3 lab/build_console.py          build into roles/ui/files/console (replaces it whole)
    python3 lab/build_console.py --check  build into a temporary folder and compare with the
                                          shipped copy (exit 1 naming every difference)

uPlot comes from the npm registry through npm itself (`npm pack uplot@<version>`), at the version
pinned here, checked against the pinned SHA-256 of its tarball, kept in .cache/npm. The shipped
copy is static: no CDN, nothing fetched at run time. Assets are named by their content hash
(assets/<name>.<hash>.<ext>: nginx gives them a year's immutable cache), index.html and sw.js
are written with those names, and LICENSES.md lists what is shipped and under which licence.
"""
import argparse
import filecmp
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "roles", "ui", "src", "console")
OUT = os.path.join(ROOT, "roles", "ui", "files", "console")
CACHE = os.path.join(ROOT, ".cache", "npm")
UPLOT_VERSION = "1.6.32"
UPLOT_TARBALL_SHA256 = "4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d"
UPLOT_FILES = {"package/dist/uPlot.iife.min.js": "uPlot.min.js", "package/dist/uPlot.min.css": "uPlot.min.css",
               "package/LICENSE": "LICENSE"}
STATIC = ("manifest.webmanifest", "icon.svg")


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


def build(out):
    files = {}
    with tarfile.open(uplot_tarball(), "r:gz") as tar:
        uplot = dict((UPLOT_FILES[m.name], tar.extractfile(m).read()) for m in tar.getmembers() if m.name in UPLOT_FILES)
    missing = set(UPLOT_FILES.values()) - set(uplot)
    if missing:
        raise SystemExit("uplot %s: %s missing from the package" % (UPLOT_VERSION, ", ".join(sorted(missing))))
    names = {}
    for key, data in (("UPLOT_JS", uplot["uPlot.min.js"]), ("UPLOT_CSS", uplot["uPlot.min.css"])):
        names[key] = hashed(key == "UPLOT_JS" and "uPlot.min.js" or "uPlot.min.css", data)
        files[names[key]] = data
    for key, name in (("APP_JS", "app.js"), ("APP_CSS", "app.css")):
        with open(os.path.join(SRC, name), "rb") as handle:
            data = handle.read()
        names[key] = hashed(name, data)
        files[names[key]] = data
    with open(os.path.join(SRC, "index.html"), encoding="utf-8") as handle:
        index = handle.read()
    for key, name in names.items():
        index = index.replace("@%s@" % key, name)
    files["index.html"] = index.encode()
    for name in STATIC:
        with open(os.path.join(SRC, name), "rb") as handle:
            files[name] = handle.read()
    files["licenses/uPlot-LICENSE.txt"] = uplot["LICENSE"]
    files["LICENSES.md"] = (
        "# What this console ships, and under which licence\n\n"
        "| file | what | licence |\n|---|---|---|\n"
        "| `index.html`, `sw.js`, `manifest.webmanifest`, `icon.svg`, `%s`, `%s` | the ovr console (source: roles/ui/src/console) "
        "| GPL-3.0-or-later (the collection's licence) |\n"
        "| `%s`, `%s` | uPlot %s (npm package `uplot`, dist/uPlot.iife.min.js, dist/uPlot.min.css) "
        "| MIT, `licenses/uPlot-LICENSE.txt` |\n\n"
        "Built by `lab/build_console.py`; nothing is fetched at run time.\n"
        % (names["APP_JS"], names["APP_CSS"], names["UPLOT_JS"], names["UPLOT_CSS"], UPLOT_VERSION)).encode()
    shell = ["./", "index.html", "manifest.webmanifest", "icon.svg"] + sorted(names.values())
    build_id = sha256(b"".join(files[n] for n in sorted(files)))[:12]
    with open(os.path.join(SRC, "sw.js"), encoding="utf-8") as handle:
        worker = handle.read()
    files["sw.js"] = worker.replace("@BUILD_ID@", build_id).replace("@SHELL@", json.dumps(shell)).encode()
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
        problems += ["not built from roles/ui/src/console (stale): %s" % n for n in sorted(have - want)]
        problems += ["differs from a fresh build: %s" % n for n in sorted(want & have)
                     if not filecmp.cmp(os.path.join(fresh, n), os.path.join(OUT, n), shallow=False)]
    for line in problems:
        print("roles/ui/files/console: %s" % line)
    if problems:
        print("run python3 lab/build_console.py and commit the result")
        return 1
    print("roles/ui/files/console matches a fresh build (uPlot %s)" % UPLOT_VERSION)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--check", action="store_true", help="compare a fresh build with the shipped copy")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    for name in build(OUT):
        print(os.path.join("roles/ui/files/console", name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
