#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: last_good
short_description: Keep, compare and restore a node's last-good stack configuration
version_added: "0.1.0"
description:
  - A snapshot of the stack's config folders (the config home C(/etc/ovr) and the edge stack's
    Compose project C(/opt/ovr/edge)) as they were when the node last passed a rollout gate.
    The C(ovr.fleet.rollout) role saves it after each passed gate and restores it when a gate fails.
  - Saving copies every root into a new snapshot folder and swaps it in by renames. Restoring
    writes back, each atomically, every file whose content, mode, owner or link target differs,
    and removes the files the snapshot does not hold. Images and data volumes are not part of
    it (the images of the last-good Compose project stay present on the node).
  - Excluded paths (the update lock) are never saved nor touched.
author:
  - ovr.fleet contributors (@ovr-fleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Under C(--check) nothing is written, and RV(paths) lists what would be written or removed.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  state:
    description:
      - C(saved) keeps the roots as they are now as the snapshot (always a change).
      - C(restored) puts the snapshot back (a change when a file differed).
      - C(query) reads the snapshot and compares it with the roots (changes nothing).
      - C(present) saves only when there is no snapshot yet.
    type: str
    choices: [saved, restored, query, present]
    default: query
  path:
    description: The snapshot folder.
    type: path
    default: /var/lib/ovr/last-good
  roots:
    description: The folders the snapshot holds.
    type: list
    elements: path
    default: [/etc/ovr, /opt/ovr/edge]
  exclude:
    description: Paths relative to a root that are never saved nor restored.
    type: list
    elements: str
    default: [update.lock]
  label:
    description: A note kept with a saved snapshot (which rollout, which gate).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Keep the stack's state as last-good after a passed gate
  ovr.fleet.last_good:
    state: saved
    label: "rollout of {{ now(utc=true).isoformat() }}"

- name: Put last-good back
  ovr.fleet.last_good:
    state: restored
  register: restored

- name: What was rolled back
  ansible.builtin.debug:
    msg: "{{ restored.paths }}"
"""

RETURN = r"""
exists:
  description: Whether a snapshot exists (after the task).
  returned: always
  type: bool
saved_at:
  description: When the snapshot was saved (UTC, ISO 8601); empty without one.
  returned: always
  type: str
label:
  description: The snapshot's note.
  returned: always
  type: str
paths:
  description: The files that differ from the snapshot (C(query)), were written or removed
    (C(restored)); empty for C(saved) and C(present).
  returned: always
  type: list
  elements: str
digest:
  description: "A sha256 per root of its files, modes and owners as they are now (root -> sha256)."
  returned: always
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovr.fleet.plugins.module_utils import last_good


class LastGood(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params

    def run(self):
        p = self.params
        path, roots, exclude = p["path"], p["roots"], p["exclude"]
        meta = last_good.read_meta(path)
        changed, paths = False, []
        try:
            if p["state"] == "saved" or (p["state"] == "present" and meta is None):
                changed = True
                if not self.module.check_mode:
                    meta = last_good.save(path, roots, exclude, p["label"])
            elif p["state"] == "restored":
                paths = last_good.differs(path, roots, exclude)
                changed = bool(paths)
                if changed and not self.module.check_mode:
                    paths = last_good.restore(path, roots, exclude)
            elif p["state"] == "query" and meta is not None:
                paths = last_good.differs(path, roots, exclude)
        except (last_good.SnapshotError, OSError, IOError) as error:
            self.module.fail_json(msg="%s: %s" % (path, error))
        digests = dict((root, last_good.digest(last_good.walk(root, exclude))) for root in roots)
        return dict(changed=changed, exists=meta is not None or (changed and p["state"] in ("saved", "present")),
                    saved_at=(meta or {}).get("saved_at", ""), label=(meta or {}).get("label", p["label"] if changed else ""),
                    paths=paths, digest=digests)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", default="query", choices=["saved", "restored", "query", "present"]),
            path=dict(type="path", default="/var/lib/ovr/last-good"),
            roots=dict(type="list", elements="path", default=["/etc/ovr", "/opt/ovr/edge"]),
            exclude=dict(type="list", elements="str", default=["update.lock"]),
            label=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    if not os.path.isabs(module.params["path"]):
        module.fail_json(msg="path must be absolute, got %s" % module.params["path"])
    module.exit_json(**LastGood(module).run())


if __name__ == "__main__":
    main()
