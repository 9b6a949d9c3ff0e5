#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: update_lock
short_description: Set, clear or read a node's update lock (/etc/ovr/update.lock)
version_added: "0.1.0"
description:
  - A node that holds an update lock is to be skipped by a staged rollout unless the rollout is
    forced. C(ovr.fleet.site) does not read it. Operators set it with the C(ovr.fleet.lock) playbook; an application on the
    node may write the file itself during a show.
  - The file is in the collection's env dialect with the optional keys C(REASON), C(EXPIRES)
    (ISO 8601 with a time zone), C(SET_BY) and C(SET_AT).
  - Reading fails safe. A file that exists is a lock, even when it is empty or not in that format
    (RV(problem) says why it could not be read). Only a readable C(EXPIRES) in the past releases
    it, by the node's clock.
author:
  - ovr.fleet contributors (@ovr-fleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is written or removed; RV(ignore:changed) says whether it would be.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  state:
    description:
      - V(present) writes the lock (replacing one that is there), V(absent) removes it,
        V(query) only reads it.
    type: str
    choices: [present, absent, query]
    default: query
  path:
    description: The lock file.
    type: path
    default: /etc/ovr/update.lock
  reason:
    description: Why the node is locked (shown in rollout summaries). With O(state=present).
    type: str
  expires:
    description:
      - When the lock ends by itself, ISO 8601 with a time zone (V(2026-12-02T06:00:00Z)).
        Without it (and without O(duration)) the lock holds until it is removed.
      - With O(state=present); mutually exclusive with O(duration).
    type: str
  duration:
    description:
      - How long the lock holds from now by the node's clock (V(90m), V(6h), V(2d), V(1h30m)).
      - With O(state=present); mutually exclusive with O(expires). Setting the same lock again
        moves its end, so it reports a change.
    type: str
  set_by:
    description: Who set the lock (recorded in the file).
    type: str
"""

EXAMPLES = r"""
- name: Lock a node for the evening's show
  ovr.fleet.update_lock:
    state: present
    reason: main stage show
    duration: 6h
    set_by: ops

- name: Read the lock
  ovr.fleet.update_lock:
  register: lock

- name: Skip the node when it is locked
  ansible.builtin.meta: end_host
  when: lock.locked

- name: Clear the lock
  ovr.fleet.update_lock:
    state: absent
"""

RETURN = r"""
locked:
  description: Whether the node holds a lock now (after the change, or as it would be in check mode).
  returned: always
  type: bool
present:
  description: Whether the lock file exists (an expired lock is present but not locked).
  returned: always
  type: bool
reason:
  description: The lock's C(REASON), or the first line of a file not in the lock format.
  returned: always
  type: str
  sample: main stage show
expires:
  description: The lock's C(EXPIRES) as written (empty when the lock has no end).
  returned: always
  type: str
  sample: "2026-12-02T06:00:00Z"
expired:
  description: Whether C(EXPIRES) is in the past by the node's clock.
  returned: always
  type: bool
set_by:
  description: The lock's C(SET_BY).
  returned: always
  type: str
set_at:
  description: The lock's C(SET_AT).
  returned: always
  type: str
problem:
  description: Why the file could not be read as the lock format (it locks anyway); empty otherwise.
  returned: always
  type: str
summary:
  description: One line for a report, e.g. C(locked (main stage show; by ops; until 2026-12-02T06:00:00Z)).
  returned: always
  type: str
"""

import datetime
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovr.fleet.plugins.module_utils.update_lock import (
    LockError,
    describe,
    lock_state,
    lock_text,
    parse_duration,
    parse_time,
)


def read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except IOError as error:
        if not os.path.exists(path):
            return None
        raise error


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent", "query"], default="query"),
            path=dict(type="path", default="/etc/ovr/update.lock"),
            reason=dict(type="str"),
            expires=dict(type="str"),
            duration=dict(type="str"),
            set_by=dict(type="str"),
        ),
        mutually_exclusive=[("expires", "duration")],
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    try:
        current = read(path)
    except (IOError, OSError) as error:
        module.fail_json(msg="cannot read %s: %s" % (path, error))
    changed = False
    text = current
    if params["state"] == "present":
        try:
            if params["expires"]:
                expires = parse_time(params["expires"])
                if expires <= now:
                    module.fail_json(msg="expires: %s is not in the future (the node's clock says %s)" % (
                        params["expires"], now.strftime("%Y-%m-%dT%H:%M:%SZ")))
            elif params["duration"]:
                expires = now + parse_duration(params["duration"])
            else:
                expires = None
            # SET_AT only moves when the lock itself changes, so setting the same lock twice is no change.
            if not same_lock(current, params["reason"], expires, params["set_by"], now):
                text = lock_text(params["reason"], expires, params["set_by"], now)
                changed = True
        except LockError as error:
            module.fail_json(msg=str(error))
    elif params["state"] == "absent":
        if current is not None:
            text = None
            changed = True
    if changed and not module.check_mode:
        if text is None:
            os.unlink(path)
        else:
            write_atomically(module, path, text)
    state = lock_state(text, now)
    state["summary"] = describe(state)
    module.exit_json(changed=changed, **state)


def same_lock(current, reason, expires, set_by, now):
    """Whether the file's text already holds this lock (SET_AT aside); an unreadable file never does."""
    if current is None:
        return False
    state = lock_state(current, now)
    if state["problem"]:
        return False
    try:
        current_expires = parse_time(state["expires"]) if state["expires"] else None
    except LockError:
        return False
    return (state["reason"], current_expires, state["set_by"]) == (reason or "", expires, set_by or "")


def write_atomically(module, path, text):
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        module.fail_json(msg="%s: the folder %s does not exist (is the ovr.fleet.layout role applied?)" % (path, folder))
    tmp = os.path.join(folder, ".%s.tmp" % os.path.basename(path))
    with open(tmp, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    module.atomic_move(tmp, path)


if __name__ == "__main__":
    main()
