# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A UI bundle folder packed into one reproducible tar archive, on the controller.

The engine behind the ``ovr.fleet._ui_archive`` lookup (the ``ovr.fleet.ui`` role). The same files
give the same archive, byte for byte, whoever packs them (a checkout, an installed collection, an
execution environment): entries sorted by name, owner and group 0, modes ``u=rwX,go=rX``, and one
modification time derived from the folder's content (``digest``), so that any change of content
changes the time the web front's ETag and Last-Modified are made from, and nothing else does.
Nothing here imports Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import io
import os
import stat
import tarfile
import tempfile

# Modification times are the digest's first 28 bits as seconds after 2020-01-01 (within 2020-2028).
EPOCH = 1577836800


def _read(folder):
    """(relative path, content or None for a folder, executable) of everything under ``folder``,
    sorted by path; each file read once."""
    found = []
    for top, dirs, files in os.walk(folder):
        dirs.sort()
        for name in dirs + files:
            path = os.path.join(top, name)
            rel = os.path.relpath(path, folder)
            if os.path.islink(path):
                raise ValueError("%s: links are not packed into a UI bundle (%s)" % (folder, rel))
            if name in dirs:
                found.append((rel, None, False))
                continue
            with open(path, "rb") as handle:
                found.append((rel, handle.read(), bool(os.fstat(handle.fileno()).st_mode & stat.S_IXUSR)))
    return sorted(found, key=lambda entry: entry[0])


def _digest(entries):
    total = hashlib.sha256()
    for rel, content, dummy in entries:
        if content is not None:
            total.update(("%s  ./%s\n" % (hashlib.sha256(content).hexdigest(), rel)).encode("utf-8", "surrogateescape"))
    return total.hexdigest()


def digest(folder):
    """The sha256 of the folder's file names and contents (hex); folders alone add nothing."""
    return _digest(_read(folder))


def mtime(folder_digest):
    """The modification time every entry of the archive carries."""
    return EPOCH + int(folder_digest[:7], 16)


def pack(folder, directory):
    """Pack ``folder`` into ``<directory>/ovr-ui-<digest>.tar`` unless that file exists already;
    return its path. Written to a temporary file beside it and renamed, so that processes packing
    the same folder at once never read a half-written archive."""
    if not os.path.isdir(folder):
        raise ValueError("%s is not a folder" % folder)
    entries = _read(folder)
    folder_digest = _digest(entries)
    path = os.path.join(directory, "ovr-ui-%s.tar" % folder_digest)
    if os.path.exists(path):
        return path
    when = mtime(folder_digest)
    handle, temp = tempfile.mkstemp(prefix=".ovr-ui-", suffix=".tar", dir=directory)
    try:
        with os.fdopen(handle, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
                tar.addfile(_info(".", tarfile.DIRTYPE, 0o755, 0, when))
                for rel, content, executable in entries:
                    if content is None:
                        tar.addfile(_info("./" + rel, tarfile.DIRTYPE, 0o755, 0, when))
                    else:
                        tar.addfile(_info("./" + rel, tarfile.REGTYPE, 0o755 if executable else 0o644, len(content), when),
                                    io.BytesIO(content))
        os.chmod(temp, 0o600)
        os.rename(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
    return path


def sha1(path):
    """The sha1 of a file (hex), as Ansible's stat and copy give it: a node compares its copy with it."""
    found = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            found.update(block)
    return found.hexdigest()


def _info(name, kind, mode, size, when):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, when
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info
