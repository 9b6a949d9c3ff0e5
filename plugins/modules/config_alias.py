#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: config_alias
short_description: Make a legacy configuration folder an alias of the canonical one, safely
version_added: "0.1.0"
description:
  - Resolves drift between a canonical configuration folder (C(/etc/ovr)) and a legacy one
    (C(/etc/overdrive)) so that afterwards the legacy path is a symbolic link to the canonical
    folder.
  - Files found only under the legacy folder are moved into the canonical folder (ownership and
    mode kept). A file present in both with identical content is merged (one copy kept).
  - A file present in both with different content, or a legacy path that is a plain file or a
    link elsewhere, is a conflict. The module then fails naming both paths and changes
    nothing; the whole plan is computed before the first change.
  - A canonical path that is itself a link to the legacy folder (the reverse alias) is turned
    around.
author:
  - ovr.fleet contributors (@ovr-fleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  path:
    description: The canonical folder.
    type: path
    required: true
  alias:
    description: The legacy folder that must become a link to O(path).
    type: path
    required: true
"""

EXAMPLES = r"""
- name: Make /etc/overdrive an alias of /etc/ovr
  ovr.fleet.config_alias:
    path: /etc/ovr
    alias: /etc/overdrive
  register: drift

- name: Report what was moved
  ansible.builtin.debug:
    var: drift.moved
"""

RETURN = r"""
moved:
  description: Files moved from the legacy folder into the canonical one.
  returned: always
  type: list
  elements: dict
  sample: [{"src": "/etc/overdrive/targets_gx.txt", "dest": "/etc/ovr/targets_gx.txt"}]
merged:
  description: Files present in both folders with identical content; the legacy copy was dropped.
  returned: always
  type: list
  elements: dict
  sample: [{"src": "/etc/overdrive/edge.env", "dest": "/etc/ovr/edge.env"}]
linked:
  description: Whether the alias link was created (or would be, in check mode).
  returned: always
  type: bool
conflicts:
  description: The pairs of paths that stopped the module (on failure only).
  returned: failure
  type: list
  elements: dict
"""

import errno
import filecmp
import os
import shutil

from ansible.module_utils.basic import AnsibleModule


class ConfigAlias:
    """Plans, then applies, the move of a legacy folder under a canonical one."""

    def __init__(self, path, alias):
        self.path = os.path.normpath(path)
        self.alias = os.path.normpath(alias)
        self.moves = []      # (src, dest)
        self.merges = []     # (src, dest)
        self.conflicts = []  # (src, dest, why)
        self.rename_whole = False
        self.reverse = False
        self.link = False

    def plan(self):
        alias, path = self.alias, self.path
        if not os.path.lexists(alias):
            self.link = True
            return
        if os.path.islink(alias):
            if os.path.lexists(path) and os.path.realpath(alias) == os.path.realpath(path) and not os.path.islink(path):
                return
            self.conflicts.append((alias, path, 'is a link to %s, not to %s' % (os.readlink(alias), path)))
            return
        if not os.path.isdir(alias):
            self.conflicts.append((alias, path, 'is not a folder'))
            return
        if os.path.islink(path):
            if os.path.realpath(path) == os.path.realpath(alias):
                self.reverse = True
                self.link = True
                self.moves.append((alias, path))
            else:
                self.conflicts.append((path, alias, 'is a link to %s' % os.readlink(path)))
            return
        if not os.path.lexists(path):
            self.rename_whole = True
            self.link = True
            self.moves.append((alias, path))
            return
        if not os.path.isdir(path):
            self.conflicts.append((path, alias, 'is not a folder'))
            return
        self._plan_merge(alias, path)
        self.link = True

    def _plan_merge(self, src_dir, dest_dir):
        for name in sorted(os.listdir(src_dir)):
            src = os.path.join(src_dir, name)
            dest = os.path.join(dest_dir, name)
            src_is_dir = os.path.isdir(src) and not os.path.islink(src)
            if not os.path.lexists(dest):
                self.moves.append((src, dest))
            elif src_is_dir and os.path.isdir(dest) and not os.path.islink(dest):
                self._plan_merge(src, dest)
            elif os.path.islink(src) and os.path.islink(dest) and os.readlink(src) == os.readlink(dest):
                self.merges.append((src, dest))
            elif (os.path.isfile(src) and os.path.isfile(dest) and not os.path.islink(src)
                  and not os.path.islink(dest) and filecmp.cmp(src, dest, shallow=False)):
                self.merges.append((src, dest))
            else:
                self.conflicts.append((src, dest, 'differ'))

    @property
    def changed(self):
        return bool(self.moves or self.merges or self.rename_whole or self.reverse or self.link)

    def apply(self):
        if self.reverse:
            os.unlink(self.path)
            _move(self.alias, self.path)
        elif self.rename_whole:
            _move(self.alias, self.path)
        else:
            for src, dest in self.moves:
                _move(src, dest)
            for src, dummy in self.merges:
                os.unlink(src)
            if os.path.isdir(self.alias) and not os.path.islink(self.alias):
                for root, dummy, dummy2 in sorted(os.walk(self.alias, topdown=False)):
                    os.rmdir(root)  # fails loudly if anything was left behind
        if self.link:
            tmp = '%s.ovr-tmp-link' % self.alias
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(self.path, tmp)
            os.rename(tmp, self.alias)


def _move(src, dest):
    try:
        os.rename(src, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.move(src, dest)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            alias=dict(type='path', required=True),
        ),
        supports_check_mode=True,
    )
    work = ConfigAlias(module.params['path'], module.params['alias'])
    work.plan()
    if work.conflicts:
        lines = ['%s and %s %s' % c if c[2] == 'differ' else '%s %s' % (c[0], c[2]) for c in work.conflicts]
        module.fail_json(
            msg='cannot make %s an alias of %s, nothing was changed: %s. Keep one version by hand and run again.'
                % (work.alias, work.path, '; '.join(lines)),
            conflicts=[dict(src=s, dest=d, reason=r) for s, d, r in work.conflicts],
        )
    if work.changed and not module.check_mode:
        try:
            work.apply()
        except OSError as exc:
            module.fail_json(msg='moving %s into %s failed: %s' % (work.alias, work.path, exc))
    module.exit_json(
        changed=work.changed,
        moved=[dict(src=s, dest=d) for s, d in work.moves],
        merged=[dict(src=s, dest=d) for s, d in work.merges],
        linked=work.link,
    )


if __name__ == '__main__':
    main()
