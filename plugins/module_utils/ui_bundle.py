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
import os
import stat
import tarfile
import tempfile

# Modification times are the digest's first 28 bits as seconds after 2020-01-01 (within 2020-2028).
EPOCH = 1577836800


def _walk(folder):
    """(relative path, absolute path, is a folder) of everything under ``folder``, sorted by path."""
    found = []
    for top, dirs, files in os.walk(folder):
        dirs.sort()
        for name in dirs + files:
            path = os.path.join(top, name)
            if os.path.islink(path):
                raise ValueError("%s: links are not packed into a UI bundle (%s)" % (folder, os.path.relpath(path, folder)))
            found.append((os.path.relpath(path, folder), path, name in dirs))
    return sorted(found)


def digest(folder):
    """The sha256 of the folder's file names and contents (hex); folders alone add nothing."""
    total = hashlib.sha256()
    for rel, path, is_dir in _walk(folder):
        if is_dir:
            continue
        with open(path, "rb") as handle:
            content = hashlib.sha256(handle.read()).hexdigest()
        total.update(("%s  ./%s\n" % (content, rel)).encode("utf-8", "surrogateescape"))
    return total.hexdigest()


def mtime(folder_digest):
    """The modification time every entry of the archive carries."""
    return EPOCH + int(folder_digest[:7], 16)


def pack(folder, directory):
    """Pack ``folder`` into ``<directory>/ovr-ui-<digest>.tar`` unless that file exists already;
    return its path. Written to a temporary file beside it and renamed, so that processes packing
    the same folder at once never read a half-written archive."""
    if not os.path.isdir(folder):
        raise ValueError("%s is not a folder" % folder)
    folder_digest = digest(folder)
    path = os.path.join(directory, "ovr-ui-%s.tar" % folder_digest)
    if os.path.exists(path):
        return path
    when = mtime(folder_digest)
    handle, temp = tempfile.mkstemp(prefix=".ovr-ui-", suffix=".tar", dir=directory)
    try:
        with os.fdopen(handle, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
                tar.addfile(_info(".", tarfile.DIRTYPE, 0o755, 0, when))
                for rel, full, is_dir in _walk(folder):
                    name = "./" + rel
                    if is_dir:
                        tar.addfile(_info(name, tarfile.DIRTYPE, 0o755, 0, when))
                        continue
                    executable = os.stat(full).st_mode & stat.S_IXUSR
                    with open(full, "rb") as source:
                        tar.addfile(_info(name, tarfile.REGTYPE, 0o755 if executable else 0o644,
                                          os.path.getsize(full), when), source)
        os.chmod(temp, 0o600)
        os.rename(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
    return path


def _info(name, kind, mode, size, when):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, when
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info
