# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge a set of paths on a node in one pass: folders, whole files, links, absent paths.

The engine behind ``ovr.fleet.files``. Each entry is handled in list order (a validator may read
files written by the entries before it): compared first, and left alone when it already is as
wanted. A file whose content differs is written to a temporary file in its own folder, given its
mode and owner, validated there when a validator is named, and only then renamed over the old
one (so a reader sees the old file or the new one, never a half-written one, and a file that
fails validation replaces nothing). Nothing here imports Ansible: the module is a thin adapter
and the unit tests call this directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import grp
import hashlib
import os
import pwd
import shlex
import shutil
import stat
import tempfile
import time

STATES = ("file", "directory", "link", "absent")
# Larger or binary contents are not put into a diff.
DIFF_LIMIT = 64 * 1024


class FilesError(Exception):
    """A path that cannot be converged; the message names the path."""


def _mode(value, path):
    if value is None:
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text, 8)
    except ValueError:
        raise FilesError("%s: mode %r is not an octal number like 0644" % (path, value))


def _id(name, path, database, kind):
    """The numeric id of a user or group given by name or number; -1 (leave as it is) when unset."""
    if name is None:
        return -1
    if isinstance(name, int) or str(name).isdigit():
        return int(name)
    try:
        return database(name)[2]
    except KeyError:
        raise FilesError("%s: no %s %s on this node" % (path, kind, name))


def _uid(owner, path):
    return _id(owner, path, pwd.getpwnam, "user")


def _gid(group, path):
    return _id(group, path, grp.getgrnam, "group")


def _lstat(path):
    try:
        return os.lstat(path)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def _attr_changes(st, mode, uid, gid):
    """What differs in mode and ownership (a list of words for the result)."""
    changes = []
    if mode is not None and stat.S_IMODE(st.st_mode) != mode:
        changes.append("mode")
    if (uid != -1 and st.st_uid != uid) or (gid != -1 and st.st_gid != gid):
        changes.append("owner")
    return changes


def _set_attrs(path, mode, uid, gid):
    if uid != -1 or gid != -1:
        os.lchown(path, uid, gid)
    if mode is not None:
        os.chmod(path, mode)


def _digest(data):
    return hashlib.sha256(data).hexdigest()


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _text_for_diff(data):
    if data is None:
        return ""
    if len(data) > DIFF_LIMIT or b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def normalise(entry):
    """One entry as the engine uses it: state, path, and the options its state takes."""
    if not isinstance(entry, dict):
        raise FilesError("an entry is not a mapping: %r" % (entry,))
    path = entry.get("path") or entry.get("dest")
    if not path or not isinstance(path, str) or not os.path.isabs(path):
        raise FilesError("an entry has no absolute path: %r" % (entry.get("path") or entry.get("dest"),))
    state = entry.get("state") or ("file" if entry.get("content") is not None else None)
    if state not in STATES:
        raise FilesError("%s: state must be one of %s, got %r" % (path, ", ".join(STATES), state))
    if state == "file" and entry.get("content") is None:
        raise FilesError("%s: a file needs its content" % path)
    if state == "link" and not entry.get("src"):
        raise FilesError("%s: a link needs its src" % path)
    keep_as = entry.get("keep_as")
    if keep_as and (state != "link" or not isinstance(keep_as, str) or not os.path.isabs(keep_as)):
        raise FilesError("%s: keep_as must be an absolute path, and only a link keeps what it replaces" % path)
    validate = entry.get("validate")
    if validate and "%s" not in validate:
        raise FilesError("%s: validate must contain %%s (the file to check), got %r" % (path, validate))
    return dict(
        state=state,
        path=os.path.normpath(path),
        content=entry.get("content"),
        src=entry.get("src"),
        mode=_mode(entry.get("mode"), path),
        owner=entry.get("owner"),
        group=entry.get("group"),
        validate=validate or None,
        backup=bool(entry.get("backup")),
        secret=bool(entry.get("secret")),
        force=entry.get("force", True),
        keep_as=os.path.normpath(keep_as) if keep_as else None,
        listing=bool(entry.get("listing")) and state == "directory",
    )


class Converger:
    """Converges entries one after another; ``check`` only says what would change.

    ``run(argv)`` runs a validator and returns ``(rc, stdout, stderr)``: the module passes
    AnsibleModule.run_command (a missing program is rc 127 there too).
    """

    def __init__(self, check=False, run=None, now=None):
        self.check = check
        self.run = run
        self.now = now or time.time

    def converge(self, entries):
        results = []
        for entry in entries:
            spec = normalise(entry)
            result = dict(path=spec["path"], state=spec["state"], changed=False, changes=[])
            getattr(self, "_" + spec["state"])(spec, result)
            results.append(result)
        return results

    def _ids(self, spec, result):
        """The owner's and the group's ids. Under check mode a user or group that is not there yet
        (an earlier task would create it, and only said so) is no error: the entry would change."""
        ids = []
        for lookup, name in ((_uid, spec["owner"]), (_gid, spec["group"])):
            try:
                ids.append(lookup(name, spec["path"]))
            except FilesError:
                if not self.check:
                    raise
                ids.append(-1)
                if "owner" not in result["changes"]:
                    result["changes"].append("owner")
        return ids

    # ---- folders ------------------------------------------------------------------------------
    def _directory(self, spec, result):
        path = spec["path"]
        mode, (uid, gid) = spec["mode"], self._ids(spec, result)
        st = _lstat(path)
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise FilesError("%s: is a %s, not a folder" % (path, _kind(st)))
        if st is None:
            result["changes"].append("created")
            if not self.check:
                os.makedirs(path)
                _set_attrs(path, mode if mode is not None else 0o755, uid, gid)
        else:
            result["changes"].extend(_attr_changes(st, mode, uid, gid))
            if result["changes"] and not self.check:
                _set_attrs(path, mode, uid, gid)
        result["changed"] = bool(result["changes"])
        if spec["listing"]:
            result["listing"] = listing(path)

    # ---- whole files --------------------------------------------------------------------------
    def _file(self, spec, result):
        path = spec["path"]
        content = spec["content"]
        data = content.encode("utf-8") if not isinstance(content, bytes) else content
        mode, (uid, gid) = spec["mode"], self._ids(spec, result)
        st = _lstat(path)
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise FilesError("%s: is a folder, not a file" % path)
        old = _read(path) if st is not None and stat.S_ISREG(st.st_mode) else None
        result["sha256"] = _digest(data)
        if old is not None and _digest(old) == result["sha256"]:
            result["changes"].extend(_attr_changes(st, mode, uid, gid))
            if result["changes"] and not self.check:
                _set_attrs(path, mode, uid, gid)
            result["changed"] = bool(result["changes"])
            return
        result["changes"].append("created" if st is None else "content")
        result["changed"] = True
        if not spec["secret"]:
            before, after = _text_for_diff(old), _text_for_diff(data)
            if before is not None and after is not None:
                result["diff"] = dict(before_header=path, after_header=path, before=before, after=after)
        if self.check:
            return
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            raise FilesError("%s: its folder %s does not exist" % (path, folder))
        if mode is None:
            mode = stat.S_IMODE(st.st_mode) if st is not None else 0o644
        handle, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".ovr-tmp", dir=folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            _set_attrs(tmp, mode, uid, gid)
            if spec["validate"]:
                self._validate(spec, tmp)
            if spec["backup"] and old is not None:
                result["backup_file"] = self._backup(path)
            os.rename(tmp, path)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        _fsync_folder(folder)

    def _validate(self, spec, tmp):
        path = spec["path"]
        # The validator's words, split as a shell would but run without one; %s is the new file.
        command = [word.replace("%s", tmp) for word in shlex.split(spec["validate"])]
        if self.run is None:
            raise FilesError("%s: no way to run its validator was given" % path)
        code, out, err = self.run(command)
        if code != 0:
            # The validator names the temporary file: say the file it stands for.
            detail = (err or out or "").strip().replace(tmp, "%s (new)" % path)
            raise FilesError("%s: the new content failed validation (%s exited %d)%s; the old file is unchanged" % (
                path, spec["validate"].split()[0], code, (": " + detail[-2000:]) if detail else ""))

    def _backup(self, path):
        stamp = time.strftime("%Y-%m-%d@%H:%M:%S", time.localtime(self.now()))
        backup = "%s.%d.%s~" % (path, os.getpid(), stamp)
        shutil.copy2(path, backup)
        return backup

    # ---- links --------------------------------------------------------------------------------
    def _link(self, spec, result):
        path, src = spec["path"], spec["src"]
        uid, gid = self._ids(spec, result)
        st = _lstat(path)
        if st is not None and stat.S_ISLNK(st.st_mode) and os.readlink(path) == src:
            if (uid != -1 and st.st_uid != uid) or (gid != -1 and st.st_gid != gid):
                result["changes"].append("owner")
                if not self.check:
                    os.lchown(path, uid, gid)
            result["changed"] = bool(result["changes"])
            return
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise FilesError("%s: is a folder; it is not replaced by a link" % path)
        if st is not None and not spec["force"]:
            raise FilesError("%s: is a %s; force is off, so it is not replaced by a link" % (path, _kind(st)))
        keep = spec["keep_as"] if st is not None and stat.S_ISREG(st.st_mode) else None
        if keep and _lstat(keep) is not None:
            raise FilesError("%s is a file and %s already exists: keep one of them by hand and run again" % (path, keep))
        if keep:
            result["changes"].append("kept as %s" % keep)
            result["kept"] = keep
            if not self.check:
                os.rename(path, keep)
                st = None
        result["changes"].append("created" if st is None else "target")
        result["changed"] = True
        result["diff"] = dict(before_header=path, after_header=path,
                              before=(os.readlink(path) + "\n") if st is not None and stat.S_ISLNK(st.st_mode) else "",
                              after=src + "\n")
        if self.check:
            return
        folder = os.path.dirname(path)
        tmp = os.path.join(folder, ".%s.%d.ovr-link" % (os.path.basename(path), os.getpid()))
        _unlink_quietly(tmp)
        os.symlink(src, tmp)
        try:
            if uid != -1 or gid != -1:
                os.lchown(tmp, uid, gid)
            os.rename(tmp, path)
        except BaseException:
            _unlink_quietly(tmp)
            raise

    # ---- absent -------------------------------------------------------------------------------
    def _absent(self, spec, result):
        path = spec["path"]
        st = _lstat(path)
        if st is None:
            return
        result["changes"].append("removed")
        result["changed"] = True
        if self.check:
            return
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def listing(folder):
    """The regular files directly in ``folder`` (links and subfolders left out), sorted by path, each
    with what ansible.builtin.find reports of it: path, checksum (sha1), mode (an octal string),
    uid, gid. Empty when the folder does not exist (under check mode, on a fresh host)."""
    found = []
    try:
        names = sorted(os.listdir(folder))
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return found
        raise
    for name in names:
        path = os.path.join(folder, name)
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            continue
        found.append(dict(path=path, checksum=hashlib.sha1(_read(path)).hexdigest(),
                          mode="%04o" % stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid))
    return found


def _kind(st):
    if stat.S_ISLNK(st.st_mode):
        return "link"
    if stat.S_ISDIR(st.st_mode):
        return "folder"
    if stat.S_ISREG(st.st_mode):
        return "file"
    return "special file"


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_folder(folder):
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def summary(results):
    """The changed paths, and one line per change for a report."""
    changed = [r["path"] for r in results if r["changed"]]
    lines = ["%s: %s" % (r["path"], ", ".join(r["changes"])) for r in results if r["changed"]]
    return changed, lines


# ---- systemd units ------------------------------------------------------------------------------
# What `systemctl is-enabled` answers with exit 0 (as ansible.builtin.systemd_service reads it):
# the unit starts at boot, or has no [Install] section and is pulled in by another unit.
ENABLED_STATES = ("enabled", "enabled-runtime", "alias", "static", "indirect", "generated", "transient")
MASKED_STATES = ("masked", "masked-runtime")
RUNNING_STATES = ("active", "activating", "reloading")
UNIT_DIRS = ("/etc/systemd/", "/lib/systemd/", "/usr/lib/systemd/", "/run/systemd/")


def normalise_unit(entry):
    """One unit as the engine uses it: name, enabled (None: leave), state (None: leave), masked."""
    if not isinstance(entry, dict):
        raise FilesError("a unit is not a mapping: %r" % (entry,))
    name = entry.get("name")
    if not name or not isinstance(name, str) or "/" in name or name.startswith("-"):
        raise FilesError("a unit has no valid name: %r" % (name,))
    state = entry.get("state")
    if state not in (None, "started", "stopped"):
        raise FilesError("unit %s: state must be started or stopped, got %r" % (name, state))
    masked = entry.get("masked")
    if masked and (entry.get("enabled") or state == "started"):
        raise FilesError("unit %s: a masked unit can be neither enabled nor started" % name)
    return dict(name=name, enabled=entry.get("enabled"), state=state, masked=masked)


def parse_show(text):
    """``systemctl show`` output for several units: a dict per Id (blocks split by blank lines)."""
    units, current = [], {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                units.append(current)
            current = {}
            continue
        key, value = line.split("=", 1) if "=" in line else (line, "")
        current[key] = value
    if current:
        units.append(current)
    return units


def touches_units(paths):
    """Whether any of the changed paths is a systemd unit or drop-in (a daemon-reload is due)."""
    return any(path.startswith(UNIT_DIRS) for path in paths)


class Units:
    """Brings systemd units to the wanted enablement, masking and running state with one
    ``systemctl show`` for all of them and one ``systemctl`` call per change (none when every
    unit already is as wanted). ``run(argv)`` returns ``(rc, stdout, stderr)``."""

    PROPERTIES = "Id,LoadState,UnitFileState,ActiveState,NeedDaemonReload"

    def __init__(self, check=False, run=None):
        self.check = check
        self.run = run

    def _systemctl(self, *args):
        code, out, err = self.run(["systemctl"] + list(args))
        if code != 0:
            raise FilesError("systemctl %s failed (exit %d): %s" % (" ".join(args), code, (err or out or "").strip()[-2000:]))
        return out

    def show(self, names):
        out = self._systemctl("show", "--property=" + self.PROPERTIES, "--", *names)
        blocks = parse_show(out)
        if len(blocks) != len(names):
            raise FilesError("systemctl show answered for %d of %d units (%s)" % (len(blocks), len(names), ", ".join(names)))
        return dict(zip(names, blocks))

    def converge(self, entries, reload_daemon=False, results=None):
        """Results per unit, in order: name, changed, changes (daemon-reload, unmasked, enabled,
        disabled, masked, started, stopped). ``results``, when given, is the list they are appended
        to as they happen (so a caller still has the units handled before a failure)."""
        results = [] if results is None else results
        specs = [normalise_unit(entry) for entry in entries]
        if not specs:
            return results
        names = [spec["name"] for spec in specs]
        states = self.show(names)
        need_reload = reload_daemon or any(states[name].get("NeedDaemonReload") == "yes" for name in names)
        reloaded = False
        if need_reload and not self.check:
            self._systemctl("daemon-reload")
            states = self.show(names)
            reloaded = True
        first = len(results)
        for spec in specs:
            name, now = spec["name"], states[spec["name"]]
            result = dict(name=name, changed=False, changes=[])
            if reloaded and len(results) == first:
                result["changes"].append("daemon-reload")
            loaded = now.get("LoadState") not in ("not-found", "bad-setting", "error", None)
            file_state = now.get("UnitFileState", "")
            masked = file_state in MASKED_STATES or now.get("LoadState") == "masked"
            if not loaded and not masked and (spec["enabled"] or spec["state"] == "started"):
                if not (self.check and reload_daemon):
                    raise FilesError("unit %s: not found on this node (LoadState=%s)" % (name, now.get("LoadState")))
                # Under check mode its unit file is only about to be written: it would be enabled and started.
            # Unmasked first (a masked unit can be neither enabled nor started), stopped before it is
            # disabled, masked last.
            actions = []
            if spec["masked"] is False and masked:
                actions.append(("unmasked", ["unmask", name]))
            running = now.get("ActiveState") in RUNNING_STATES
            if spec["state"] == "stopped" and running:
                actions.append(("stopped", ["stop", name]))
            if spec["enabled"] is True and file_state not in ENABLED_STATES:
                actions.append(("enabled", ["enable", name]))
            if spec["enabled"] is False and file_state in ("enabled", "enabled-runtime", "alias"):
                actions.append(("disabled", ["disable", name]))
            if spec["state"] == "started" and not running:
                # A unit that failed (a package's first start with its stock config, say) may have hit
                # its start limit: systemd would refuse this start for a while. The limit is cleared
                # first, as an operator would (systemctl reset-failed).
                if now.get("ActiveState") == "failed":
                    actions.append((None, ["reset-failed", name]))
                actions.append(("started", ["start", name]))
            if spec["masked"] is True and not masked:
                actions.append(("masked", ["mask", name]))
            results.append(result)
            for word, args in actions:
                if not self.check:
                    self._systemctl(*args)
                if word:
                    result["changes"].append(word)
            result["changed"] = bool(result["changes"])
        return results
