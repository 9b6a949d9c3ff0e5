# -*- coding: utf-8 -*-
"""The ovr.fleet.preload callback for real (ansible-playbook on this machine): every plugin it
loads by default is found (a renamed lookup or filter would show here), a run with it gives the
same result as without it, and a wrong extra plugin is named in a warning without stopping the run."""

import os
import subprocess
import sys

from conftest import REPO

from ansible_collections.ovr.fleet.plugins.callback.preload import PLUGINS

PLAY = """
- name: What the roles' tasks use
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: {python}
  tasks:
    - name: A lookup, a collection filter and a test
      ansible.builtin.debug:
        msg: >-
          {{{{ [1] | map('community.general.dict_kv', 'x') | list | to_json }}}}
          {{{{ 'edge' is match('ed') }}}} {{{{ lookup('ansible.builtin.env', 'OVR_PRELOAD_PROBE') }}}}
"""


def run(tmp_path, callbacks, extra=None):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(python=sys.executable))
    env = dict(os.environ, OVR_PRELOAD_PROBE="probe", ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_CALLBACKS_ENABLED=callbacks)
    if extra is not None:
        env["OVR_PRELOAD_PLUGINS"] = extra
    proc = subprocess.run(["ansible-playbook", "-vvv", str(play)], capture_output=True, text=True, env=env,
                          cwd=str(tmp_path), timeout=120, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def answer(out):
    return [line.strip() for line in out.splitlines() if '"msg":' in line or line.strip().startswith("msg:")]


def test_every_default_plugin_is_found_and_the_run_is_the_same(tmp_path):
    rc, out = run(tmp_path, "ovr.fleet.preload")
    assert rc == 0, out
    assert "was not loaded" not in out, out
    rc_without, out_without = run(tmp_path, "ansible.posix.profile_tasks")
    assert rc_without == 0, out_without
    assert answer(out) == answer(out_without) == ['msg: \'[{"x": 1}] True probe\''], out
    assert len(PLUGINS) >= 10


def test_a_wrong_extra_plugin_is_a_warning_not_a_failure(tmp_path):
    rc, out = run(tmp_path, "ovr.fleet.preload", extra="connection:ovr.fleet.no_such_connection,bogus")
    assert rc == 0, out
    flat = " ".join(out.split())
    assert "ovr.fleet.preload: connection:ovr.fleet.no_such_connection was not loaded" in flat, out
    assert "ovr.fleet.preload: bogus was not loaded: not type:name" in flat, out
