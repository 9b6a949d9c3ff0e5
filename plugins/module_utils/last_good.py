# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A node's ``last-good`` snapshot: the stack's config folders as they were at the last passed
rollout gate, and putting them back. Standard library only, no Ansible import.

A snapshot is a folder (``<state dir>/last-good``) holding a copy of each root (``/etc/ovr``,
``/opt/ovr/edge``) under ``roots/<root with / as _>`` and ``meta.json`` (when, what, each file's
sha256). Saving copies into ``last-good.new`` and swaps it in by renames, so a crash never
leaves half a snapshot. Restoring writes back every file whose content, mode or link target
differs (each one atomically: a temporary file then a rename, so a folder mounted into a
container sees the new file), and removes files the snapshot does not hold. Excluded names
(the update lock) are neither saved nor touched.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import hashlib
import json
import os
import shutil
import stat
import time

META = "meta.json"


class SnapshotError(Exception):
    """No snapshot, or one that cannot be used."""


def _key(root):
    return root.strip("/").replace("/", "_") or "_"


def _excluded(rel, exclude):
    return rel in exclude or any(rel.startswith(e.rstrip("/") + "/") for e in exclude)


def walk(root, exclude=()):
    """{relative path: ("file", mode, uid, gid, sha256) | ("link", target) | ("dir", mode, uid, gid)}."""
    entries = {}
    if not os.path.isdir(root):
        return entries
    for current, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs) + sorted(files):
            path = os.path.join(current, name)
            rel = os.path.relpath(path, root)
            if _excluded(rel, exclude):
                if name in dirs:
                    dirs.remove(name)
                continue
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                entries[rel] = ("link", os.readlink(path))
                if name in dirs:
                    dirs.remove(name)  # never follow a link to a folder
            elif stat.S_ISDIR(info.st_mode):
                entries[rel] = ("dir", stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)
            elif stat.S_ISREG(info.st_mode):
                entries[rel] = ("file", stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, _sha256(path))
    return entries


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(65536), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _chown(path, uid, gid):
    try:
        os.lchown(path, uid, gid)
    except OSError:
        pass  # not root (tests): the mode and content still come back


def digest(entries):
    """One sha256 over a walk: the same configs give the same digest."""
    return hashlib.sha256(json.dumps(sorted(entries.items()), sort_keys=True).encode("utf-8")).hexdigest()


def read_meta(snapshot):
    try:
        with open(os.path.join(snapshot, META)) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def differs(snapshot, roots, exclude=()):
    """The paths restore() would write or remove (absolute), without changing anything."""
    return _restore(snapshot, roots, exclude, dry_run=True)


def save(snapshot, roots, exclude=(), label="", now=None):
    """Copy each root into a new snapshot and swap it in. Returns the new meta."""
    parent = os.path.dirname(snapshot.rstrip("/"))
    if not os.path.isdir(parent):
        os.makedirs(parent, 0o700)
    new, old = snapshot.rstrip("/") + ".new", snapshot.rstrip("/") + ".old"
    for stale in (new, old):
        if os.path.lexists(stale):
            shutil.rmtree(stale)
    os.makedirs(os.path.join(new, "roots"), 0o700)
    meta = {"saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), "label": label,
            "roots": {}, "digest": {}}
    for root in roots:
        target = os.path.join(new, "roots", _key(root))
        entries = walk(root, exclude)
        meta["roots"][root] = dict((rel, list(value)) for rel, value in entries.items())
        meta["digest"][root] = digest(entries)
        if not os.path.isdir(root):
            continue
        os.makedirs(target, 0o700)
        for rel in sorted(entries):
            kind = entries[rel][0]
            src, dst = os.path.join(root, rel), os.path.join(target, rel)
            if kind == "dir":
                os.makedirs(dst, 0o700)
            elif kind == "link":
                os.symlink(entries[rel][1], dst)
            else:
                shutil.copy2(src, dst)
    with open(os.path.join(new, META), "w") as handle:
        json.dump(meta, handle, indent=1, sort_keys=True)
    if os.path.lexists(snapshot):
        os.rename(snapshot, old)
    os.rename(new, snapshot)
    if os.path.lexists(old):
        shutil.rmtree(old)
    return meta


def restore(snapshot, roots, exclude=()):
    """Put the snapshot back. Returns the paths written or removed (absolute)."""
    return _restore(snapshot, roots, exclude, dry_run=False)


def _restore(snapshot, roots, exclude, dry_run):
    meta = read_meta(snapshot)
    if meta is None:
        raise SnapshotError("no last-good snapshot at %s" % snapshot)
    changed = []
    for root in roots:
        if root not in meta["roots"]:
            raise SnapshotError("the last-good snapshot at %s does not hold %s" % (snapshot, root))
        want = dict((rel, tuple(value)) for rel, value in meta["roots"][root].items())
        have = walk(root, exclude)
        source = os.path.join(snapshot, "roots", _key(root))
        # Remove what the snapshot does not hold (deepest first), then write what differs.
        for rel in sorted((r for r in have if r not in want or want[r][0] != have[r][0]), reverse=True):
            changed.append(os.path.join(root, rel))
            if not dry_run:
                path = os.path.join(root, rel)
                if have[rel][0] == "dir":
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
        for rel in sorted(want):
            entry, current = want[rel], have.get(rel)
            if current == entry:
                continue
            path = os.path.join(root, rel)
            if entry[0] == "dir" and current is not None and current[0] == "dir":
                if not dry_run:
                    os.chmod(path, entry[1])
                    _chown(path, entry[2], entry[3])
                continue
            if os.path.join(root, rel) not in changed:
                changed.append(path)
            if dry_run:
                continue
            if entry[0] == "dir":
                if not os.path.isdir(path):
                    os.makedirs(path)
                os.chmod(path, entry[1])
                _chown(path, entry[2], entry[3])
            elif entry[0] == "link":
                tmp = path + ".ovr-restore"
                if os.path.lexists(tmp):
                    os.unlink(tmp)
                os.symlink(entry[1], tmp)
                os.rename(tmp, path)
            else:
                tmp = path + ".ovr-restore"
                shutil.copy2(os.path.join(source, rel), tmp)
                os.chmod(tmp, entry[1])
                _chown(tmp, entry[2], entry[3])
                os.rename(tmp, path)
    return changed
