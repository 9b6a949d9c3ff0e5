# -*- coding: utf-8 -*-
"""The internal ovr.fleet._template lookup against the builtin template lookup, for real
(ansible-playbook on this machine): the same text for a template that uses what the roles' templates
use (host and play variables, a loop with trim_blocks, an include, a macro, backslashes in strings,
ansible_managed and template_path), the task's variables left as they were, and a missing template
refused with its name."""

import json
import os
import subprocess
import sys

from conftest import REPO

TEMPLATE = r"""# {{ ansible_managed }}
# from {{ template_path | basename }}
{% macro line(name, value) %}{{ name }} = "{{ value | replace('"', '\\"') }}"{% endmacro %}
{% for peer in peers %}
{{ line(peer.name, peer.address) }}
{% endfor %}
regex = "{{ 'a\\.b' }}"  {# a backslash in a string literal #}
{% include 'part.j2' %}
count = {{ peers | length }}
"""

PLAY = """
- name: Template lookups
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: {python}
    peers: [{{name: edge-b, address: 10.0.0.2}}, {{name: 'edge "c"', address: 10.0.0.3}}]
  tasks:
    - name: Render with both
      ansible.builtin.set_fact:
        ours: "{{{{ lookup('ovr.fleet._template', 'main.j2') }}}}"
        builtin: "{{{{ lookup('ansible.builtin.template', 'main.j2') }}}}"
    - name: Keep them
      ansible.builtin.copy:
        dest: "{result}"
        content: "{{{{ {{'ours': ours, 'builtin': builtin, 'managed_var': ansible_managed is defined,
                        'path_var': template_path is defined}} | to_json }}}}"
        mode: "0600"
    - name: A template that is not there
      ansible.builtin.debug:
        msg: "{{{{ lookup('ovr.fleet._template', 'missing.j2') }}}}"
      ignore_errors: true
"""


def test_the_same_text_as_the_builtin_lookup_and_no_variable_changed(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "main.j2").write_text(TEMPLATE)
    (tmp_path / "templates" / "part.j2").write_text("included = {{ peers[0].name }}\n")
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(python=sys.executable, result=tmp_path / "result.json"))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    proc = subprocess.run(["ansible-playbook", str(play)], capture_output=True, text=True, env=env, cwd=str(tmp_path),
                          timeout=120, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["ours"] == result["builtin"]
    assert 'edge "c" = "10.0.0.3"' in result["ours"] and 'regex = "a\\.b"' in result["ours"]
    assert "included = edge-b" in result["ours"] and "# from main.j2" in result["ours"] and "count = 2" in result["ours"]
    assert result["ours"].startswith("# Ansible managed")
    # The variables the lookup added were its own: the task's variables are as they were.
    assert result["managed_var"] is False and result["path_var"] is False
    assert "the template file missing.j2 could not be found for the lookup" in out
