# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: _ui_archive
author: ovr.fleet contributors (@ovr-fleet)
version_added: 0.2.0
short_description: Internal - pack a UI bundle folder into one reproducible tar on the controller
description:
  - Internal to the C(ovr.fleet.ui) role; not a public interface.
  - Packs a folder into C(ovr-ui-<digest>.tar) in the run's own temporary folder on the controller
    (Ansible removes it when the run ends) and returns its path. The same files give the same
    archive byte for byte (sorted entries, owner 0, modes u=rwX,go=rX, one modification time made
    from the content), so a node that has the archive already is not sent it again.
  - Packed once per run and folder, in the controller process that asks first; hosts that ask
    for the same folder in the same run get the same file.
  - With O(want=sha1), the sha1 of that archive instead, or of the file itself when the term is a
    file (an archive given as it is). A node that already has a copy with this sha1 needs none.
options:
  _terms:
    description: The folder to pack (one), or with O(want=sha1) a file.
    required: true
    type: list
    elements: path
  want:
    description: V(path) of the archive, or its V(sha1).
    type: str
    default: path
    choices: [path, sha1]
"""

EXAMPLES = r"""
- name: Copy the bundle archive to the node
  ansible.builtin.copy:
    src: "{{ lookup('ovr.fleet._ui_archive', '/srv/console') }}"
    dest: /opt/ovr/ui.tar
    mode: "0644"
"""

RETURN = r"""
_raw:
  description: The path of the archive on the controller, or its sha1 (O(want=sha1)).
  type: list
  elements: path
"""

import os

from ansible import constants as C
from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.ovr.fleet.plugins.module_utils import ui_bundle


class LookupModule(LookupBase):
    """An adapter around plugins/module_utils/ui_bundle.py."""

    def run(self, terms, variables=None, **kwargs):
        if len(terms) != 1:
            raise AnsibleLookupError("ovr.fleet._ui_archive: one folder, got %d terms" % len(terms))
        term, want = str(terms[0]), kwargs.get("want", "path")
        if want not in ("path", "sha1") or set(kwargs) - {"want"}:
            raise AnsibleLookupError("ovr.fleet._ui_archive: the only option is want (path or sha1), got %r" % (kwargs,))
        try:
            if want == "sha1":
                return [ui_bundle.sha1(term if os.path.isfile(term) else ui_bundle.pack(term, C.DEFAULT_LOCAL_TMP))]
            return [ui_bundle.pack(term, C.DEFAULT_LOCAL_TMP)]
        except (OSError, ValueError) as exc:
            raise AnsibleLookupError("ovr.fleet._ui_archive: %s" % exc)
