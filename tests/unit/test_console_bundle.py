# -*- coding: utf-8 -*-
"""The collection's console is stored once, as it ships (roles/ui/files/console), and is up to date:
lab/build_console.py, refreshing it in place (asset names by content hash, the pinned uPlot from
npm, index.html's and sw.js' references, the licences), changes nothing. Nothing in it loads from
elsewhere."""
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "roles" / "ui" / "files" / "console"


def test_the_shipped_console_is_a_fresh_build():
    proc = subprocess.run([sys.executable, str(ROOT / "lab" / "build_console.py"), "--check"], capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_nothing_is_fetched_from_elsewhere_and_the_licences_are_shipped():
    index = (CONSOLE / "index.html").read_text()
    refs = re.findall(r'(?:src|href)="([^"]+)"', index)
    assert refs and all(not re.match(r"^(https?:)?//", r) and not r.startswith("/") for r in refs), refs
    for ref in refs:
        assert (CONSOLE / ref).is_file(), ref
    # the console's own code names no other host (uPlot's banner names its home page only)
    for path in CONSOLE.rglob("*"):
        if path.suffix in (".js", ".html", ".css", ".webmanifest") and not path.name.startswith("uPlot."):
            assert not re.search(r"https?://", path.read_text()), path
    licences = (CONSOLE / "LICENSES.md").read_text()
    assert "uPlot 1.6.32" in licences and "MIT" in licences
    assert "MIT License" in (CONSOLE / "licenses" / "uPlot-LICENSE.txt").read_text()
    worker = (CONSOLE / "sw.js").read_text()
    for name in os.listdir(CONSOLE / "assets"):
        assert re.match(r"^[A-Za-z]+\.[0-9a-f]{12}\.[a-z.]+$", name) and ("assets/" + name) in worker


def test_the_console_is_stored_once():
    """No other file of the repository holds the bytes of a file of the console: the lab and the
    tools refer to roles/ui/files/console, they keep no copy (lab/console was one)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    blobs = {}
    for name in listed:
        path = ROOT / name
        if name and path.is_file() and not path.is_symlink():
            blobs.setdefault(path.read_bytes(), []).append(name)
    for path in sorted(p for p in CONSOLE.rglob("*") if p.is_file()):
        others = [n for n in blobs.get(path.read_bytes(), []) if n != str(path.relative_to(ROOT))]
        assert others == [], "%s is also stored as %s" % (path.relative_to(ROOT), others)
