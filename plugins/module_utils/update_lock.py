# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A node's update lock, ``/etc/ovr/update.lock``: the one reading and writing of it.

An operator (``ovr.fleet.lock``) or an application on the node (during a show) writes the file;
a rollout skips a node that holds a lock that has not expired. The file is in the collection's
env dialect (:mod:`envfile`), every key optional::

    REASON='main stage show until 23:00'
    EXPIRES='2026-12-02T06:00:00Z'      ISO 8601 with a time zone; absent: until unlocked
    SET_BY='ops@laptop'
    SET_AT='2026-12-01T18:00:00Z'

The reading fails safe: a file that exists is a lock, even when it is empty, unreadable or not
in the dialect (an app may write ``show`` into it); only a readable ``EXPIRES`` in the past
releases it. Standard library only, no Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import datetime
import re

from .envfile import EnvFileError, parse, render

KEYS = ("REASON", "EXPIRES", "SET_BY", "SET_AT")
HEADER = ("The update lock of this node (ovr.fleet): a rollout skips the node while this file exists\n"
          "and EXPIRES (if set) is in the future. Clear it with the ovr.fleet.unlock playbook.")

_DURATION_RE = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*$")
_UTC = datetime.timezone.utc


class LockError(ValueError):
    """A value that cannot go into a lock (a bad time, duration or key)."""


def parse_time(text):
    """ISO 8601 text with a time zone (``Z`` or ``+01:00``) -> aware datetime in UTC."""
    value = str(text).strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise LockError("%r is not an ISO 8601 time (e.g. 2026-12-02T06:00:00Z)" % (text,))
    if moment.tzinfo is None:
        raise LockError("%r has no time zone: add Z for UTC or an offset like +01:00" % (text,))
    return moment.astimezone(_UTC)


def format_time(moment):
    return moment.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration(text):
    """``90m``, ``6h``, ``2d``, ``1h30m`` -> a timedelta of at least one minute."""
    match = _DURATION_RE.match(str(text))
    if not match or not any(match.groups()):
        raise LockError("%r is not a duration like 90m, 6h, 2d or 1h30m" % (text,))
    days, hours, minutes = (int(part or 0) for part in match.groups())
    span = datetime.timedelta(days=days, hours=hours, minutes=minutes)
    if span.total_seconds() < 60:
        raise LockError("%r is shorter than one minute" % (text,))
    return span


def lock_text(reason=None, expires=None, set_by=None, set_at=None):
    """The file's text for a lock; ``expires`` and ``set_at`` are datetimes (or None)."""
    values = {}
    for key, value in (("REASON", reason), ("SET_BY", set_by)):
        if value not in (None, ""):
            values[key] = str(value)
    for key, value in (("EXPIRES", expires), ("SET_AT", set_at)):
        if value is not None:
            values[key] = format_time(value)
    try:
        return render(values, HEADER)
    except EnvFileError as error:
        raise LockError(error.msg)


def lock_state(text, now):
    """What the lock file's text means at ``now`` (an aware datetime); ``text`` None: no file.

    Returns a dict: locked (bool: a rollout must skip the node), present (the file exists),
    reason, expires (text), set_by, set_at, expired (bool), problem (why the file could not be
    read as written; it still locks).
    """
    state = {"locked": False, "present": text is not None, "reason": "", "expires": "", "set_by": "",
             "set_at": "", "expired": False, "problem": ""}
    if text is None:
        return state
    state["locked"] = True
    try:
        values = parse(text)
    except EnvFileError as error:
        state["problem"] = "not in the lock format (%s); it locks until removed" % error.msg
        state["reason"] = text.strip().splitlines()[0][:200] if text.strip() else ""
        return state
    unknown = sorted(set(values) - set(KEYS))
    if unknown:
        state["problem"] = "unknown keys %s (known: %s)" % (", ".join(unknown), ", ".join(KEYS))
    for key in ("REASON", "SET_BY", "SET_AT", "EXPIRES"):
        state[key.lower()] = values.get(key, "")
    if values.get("EXPIRES"):
        try:
            expires = parse_time(values["EXPIRES"])
        except LockError as error:
            state["problem"] = "EXPIRES: %s; it locks until removed" % error
            return state
        if expires <= now:
            state["expired"] = True
            state["locked"] = False
    return state


def describe(state):
    """One line for a summary: ``locked (reason, until ...)``, ``expired lock ...`` or ``unlocked``."""
    if not state.get("present"):
        return "unlocked"
    details = [state["reason"] or "no reason given"]
    if state.get("set_by"):
        details.append("by %s" % state["set_by"])
    if state.get("expires"):
        details.append(("expired %s" if state.get("expired") else "until %s") % state["expires"])
    if state.get("problem"):
        details.append(state["problem"])
    return "%s (%s)" % ("locked" if state["locked"] else "expired lock, ignored", "; ".join(details))


def errors(duration, expires=None):
    """The problems of update_lock_duration / update_lock_expires, one message each naming the
    variable ([] when they are fine)."""
    found = []
    if duration and expires:
        found.append("update_lock_duration (%s) and update_lock_expires (%s) are both set: give one of them"
                     % (duration, expires))
    for name, value, check in (("update_lock_duration", duration, parse_duration),
                               ("update_lock_expires", expires, parse_time)):
        if value:
            try:
                check(value)
            except LockError as error:
                found.append("%s: %s" % (name, error))
    return found
