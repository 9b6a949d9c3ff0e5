#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: files
short_description: Converge a set of folders, whole files, links, absent paths and systemd units in one call
version_added: "0.1.0"
description:
  - One round trip for what would otherwise be a loop of C(ansible.builtin.file) and
    C(ansible.builtin.copy) tasks (each of those costs every node one or two module runs).
  - The entries are handled in list order, so a validator may read files written by the entries
    before it. An entry that already is as wanted is left alone.
  - A file whose content differs is written to a temporary file in its own folder, given its mode
    and owner, checked with O(files[].validate) when given, and only then renamed over the old one.
    A reader sees the old file or the new one, and a file that fails its check replaces nothing.
    The run stops at the first entry that fails, and RV(results) lists the entries handled before it.
  - Then, when O(units) are given, each unit is brought to its wanted enablement, masking and running
    state (one C(systemctl show) for all of them, one C(systemctl) call per change), after a
    C(systemctl daemon-reload) when a changed path is a unit or drop-in, when O(daemon_reload) is set,
    or when systemd says a unit's file changed on disk. This replaces an C(ansible.builtin.systemd_service)
    task per unit (each one module run per node).
author:
  - ovr.fleet contributors (@ovr-fleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is written; RV(ignore:changed) and RV(paths) say what would change. Validators do not run.
  diff_mode:
    support: full
    details: Each changed text file (not O(files[].secret), up to 64 KiB) and each changed link target.
  platform:
    platforms: posix
options:
  files:
    description: The entries, handled in this order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: The absolute path of the entry.
        type: path
        required: true
        aliases: [dest]
      state:
        description:
          - V(file) a whole file with O(files[].content); V(directory) a folder (made with its
            parents); V(link) a symbolic link to O(files[].src); V(absent) nothing at the path (a
            folder is removed with what it holds).
          - Defaults to V(file) when O(files[].content) is given.
        type: str
        choices: [file, directory, link, absent]
      content:
        description: The whole content of a V(file).
        type: str
      src:
        description: Where a V(link) points.
        type: str
      mode:
        description:
          - The permissions as an octal string (V("0644")).
          - Unset, a new file gets V("0644"), a new folder V("0755"), and an existing one keeps its own.
        type: raw
      owner:
        description: The owning user (name or id). Unset, left as it is.
        type: str
      group:
        description: The owning group (name or id). Unset, left as it is.
        type: str
      validate:
        description:
          - A command that checks the new content before it replaces the old file; V(%s) stands for
            the new file. Split as a shell would split it, run without a shell.
        type: str
      backup:
        description: Keep a copy of the file it replaces, beside it, named as C(ansible.builtin.copy) names its backups.
        type: bool
        default: false
      secret:
        description: The content is a secret; it is kept out of the diff. (Set C(no_log) on the task too.)
        type: bool
        default: false
      force:
        description: A V(link) replaces a file or a link to elsewhere at its path. A folder is never replaced.
        type: bool
        default: true
      listing:
        description:
          - For a V(directory) only. Return the regular files directly in it as C(listing) in its entry of RV(results),
            with the path, sha1 C(checksum), C(mode), C(uid) and C(gid) of each as C(ansible.builtin.find)
            gives them, so that a role can send only the files that differ without a call of its own.
        type: bool
        default: false
      keep_as:
        description:
          - For a V(link) only, an absolute path. A regular file at the link's path is first renamed
            to it (kept, not overwritten). When a file is there and O(files[].keep_as) already
            exists too, the task fails and both stay as they are.
        type: path
      skip:
        description: Leave this entry out (for lists whose entries depend on a condition).
        type: bool
        default: false
  units:
    description:
      - systemd units to converge after the files, in this order. A unit that is not loaded (no such
        unit) fails the task when it should be enabled or started.
      - A start or an enablement is reported as a change, so a handler notified by the task runs too
        (as it would after a separate C(systemd_service) task and the files task both changed).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The unit's full name (V(docker.service), V(nebula@ovr.service), V(ovr-refresh.timer)).
        type: str
        required: true
      enabled:
        description: Started at boot (V(true)) or not (V(false)). Unset, left as it is.
        type: bool
      state:
        description: V(started) or V(stopped) now. Unset, left as it is.
        type: str
        choices: [started, stopped]
      masked:
        description: Masked (V(true); it can then be neither enabled nor started) or not (V(false)). Unset, left as it is.
        type: bool
      skip:
        description: Leave this unit out.
        type: bool
        default: false
  daemon_reload:
    description: Run C(systemctl daemon-reload) before the units even when no changed path needs it.
    type: bool
    default: false
  defaults:
    description: What an entry that does not say gets.
    type: dict
    default: {}
    suboptions:
      owner:
        description: The owning user of every entry.
        type: str
      group:
        description: The owning group of every entry.
        type: str
      file_mode:
        description: The permissions of every V(file) entry.
        type: raw
      directory_mode:
        description: The permissions of every V(directory) entry.
        type: raw
"""

EXAMPLES = r"""
- name: The stack's folders, its config and the link to its env file, in one call
  ovr.fleet.files:
    defaults: {owner: root, group: root, file_mode: "0644", directory_mode: "0755"}
    files:
      - {path: /etc/ovr/nginx.d, state: directory, mode: "0755", owner: root, group: root}
      - path: /etc/ovr/peers.json
        content: "{{ peers | to_nice_json }}\n"
        mode: "0644"
        validate: python3 -c 'import json, sys; json.load(open(sys.argv[1]))' %s
      - {path: /opt/ovr/edge/.env, state: link, src: /etc/ovr/edge.env}
      - {path: /etc/ovr/vmagent.d/cloud-ca.pem, state: absent, skip: "{{ cloud_ca | length > 0 }}"}
  register: written
  notify: ovr edge nginx reload

- name: A daemon's config and unit, then the unit enabled and started, in one call
  ovr.fleet.files:
    files:
      - path: /etc/systemd/system/ovr-collector.service
        content: "{{ lookup('ansible.builtin.template', 'ovr-collector.service.j2') }}"
    units:
      - {name: ovr-collector.service, enabled: true, state: started}
  notify: ovr collector restart

- name: Say what changed
  ansible.builtin.debug:
    var: written.paths
"""

RETURN = r"""
paths:
  description: The paths that changed (or would change under check mode), in the order handled.
  returned: always
  type: list
  elements: str
  sample: [/etc/ovr/peers.json]
changes:
  description:
    - One line per changed path, with what changed (C(created), C(content), C(mode), C(owner), C(target), C(removed)),
      then one per changed unit (as in RV(units)).
  returned: always
  type: list
  elements: str
  sample: ["/etc/ovr/peers.json: content"]
results:
  description:
    - Per entry, in order, C(path), C(state), C(changed), C(changes) and, for files, C(sha256) and
      C(backup_file) when a backup was kept; for a link, C(kept) when the file it replaced was kept
      (O(files[].keep_as)); for a folder with O(files[].listing), C(listing).
  returned: always
  type: list
  elements: dict
units:
  description:
    - Per unit, in order, C(name), C(changed) and C(changes) (C(daemon-reload), C(masked), C(unmasked),
      C(enabled), C(disabled), C(started), C(stopped)).
  returned: always
  type: list
  elements: dict
  sample: [{name: ovr-collector.service, changed: true, changes: [started]}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovr.fleet.plugins.module_utils.files import Converger, FilesError, Units, summary, touches_units

ENTRY = dict(
    path=dict(type="path", required=True, aliases=["dest"]),
    state=dict(type="str", choices=["file", "directory", "link", "absent"]),
    content=dict(type="str"),
    src=dict(type="str"),
    mode=dict(type="raw"),
    owner=dict(type="str"),
    group=dict(type="str"),
    validate=dict(type="str"),
    backup=dict(type="bool", default=False),
    secret=dict(type="bool", default=False),
    force=dict(type="bool", default=True),
    keep_as=dict(type="path"),
    listing=dict(type="bool", default=False),
    skip=dict(type="bool", default=False),
)
UNIT = dict(
    name=dict(type="str", required=True),
    enabled=dict(type="bool"),
    state=dict(type="str", choices=["started", "stopped"]),
    masked=dict(type="bool"),
    skip=dict(type="bool", default=False),
)
DEFAULTS = dict(owner=dict(type="str"), group=dict(type="str"), file_mode=dict(type="raw"),
                directory_mode=dict(type="raw"))


def with_defaults(entry, defaults):
    """The entry with what it leaves unset taken from the defaults."""
    entry = dict(entry)
    for key in ("owner", "group"):
        if entry.get(key) is None:
            entry[key] = defaults.get(key)
    if entry.get("mode") is None:
        state = entry.get("state") or ("file" if entry.get("content") is not None else None)
        entry["mode"] = defaults.get("%s_mode" % state)
    return entry


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", required=True, options=ENTRY),
            defaults=dict(type="dict", default={}, options=DEFAULTS),
            units=dict(type="list", elements="dict", default=[], options=UNIT),
            daemon_reload=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )

    def run(command):
        # A validator that is not there fails its entry (rc 127), naming the path, like any other.
        try:
            return module.run_command(command, handle_exceptions=False)
        except OSError as error:
            return 127, "", "%s: %s" % (command[0], error.strerror)

    converger = Converger(check=module.check_mode, run=run)
    results, units = [], []
    try:
        defaults = module.params["defaults"] or {}
        for entry in module.params["files"]:
            if not entry.pop("skip"):
                results.extend(converger.converge([with_defaults(entry, defaults)]))
        wanted = [unit for unit in module.params["units"] if not unit.pop("skip")]
        if wanted:
            if not module.get_bin_path("systemctl"):
                raise FilesError("units were given but this node has no systemctl")
            reload_daemon = module.params["daemon_reload"] or touches_units(summary(results)[0])
            Units(check=module.check_mode, run=run).converge(wanted, reload_daemon=reload_daemon, results=units)
    except (FilesError, OSError) as error:
        paths, lines = summary(results)
        module.fail_json(msg=str(error), changed=bool(paths) or any(u["changed"] for u in units), paths=paths,
                         changes=lines, results=results, units=units)
    paths, lines = summary(results)
    lines += ["%s: %s" % (u["name"], ", ".join(u["changes"])) for u in units if u["changed"]]
    diffs = [r.pop("diff") for r in results if "diff" in r]
    module.exit_json(changed=bool(paths) or any(u["changed"] for u in units), paths=paths, changes=lines,
                     results=results, units=units, diff=diffs)


if __name__ == "__main__":
    main()
