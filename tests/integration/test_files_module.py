# -*- coding: utf-8 -*-
"""ovr.fleet.files for real: ansible-playbook on this machine (connection local) against a temp folder:
--check and --diff on a fresh folder, the defaults, skipped entries, a second run with nothing to do,
a failing validator that names the path and leaves the old file, and the handler notified only on change."""

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO

PLAY = """
- name: Files
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: {python}
    root: {root}
    peers: '{{"a": 1}}'
  tasks:
    - name: Converge
      ovr.fleet.files:
        defaults: {{file_mode: "0640", directory_mode: "0750"}}
        files:
          - {{path: "{{{{ root }}}}/etc", state: directory}}
          - path: "{{{{ root }}}}/etc/peers.json"
            content: "{{{{ peers }}}}\\n"
            validate: {python} -c 'import json, sys; json.load(open(sys.argv[1]))' %s
          - {{path: "{{{{ root }}}}/etc/secret.env", content: "TOKEN=s3cret\\n", secret: true, mode: "0600"}}
          - {{path: "{{{{ root }}}}/etc/.env", state: link, src: secret.env}}
          - {{path: "{{{{ root }}}}/etc/skipped", content: "x", skip: true}}
      register: written
      notify: changed
    - name: Show what changed
      ansible.builtin.debug:
        msg: "PATHS={{{{ written.paths | to_json }}}}"
  handlers:
    - name: Changed
      ansible.builtin.debug:
        msg: HANDLER RAN
      listen: changed
"""


def run(root, *args, peers=None):
    play = os.path.join(str(root), "play.yml")
    with open(play, "w") as handle:
        handle.write(PLAY.format(python=sys.executable, root=str(root) + "/node"))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    extra = ["-e", json.dumps({"peers": peers})] if peers is not None else []
    proc = subprocess.run(["ansible-playbook", play] + extra + list(args), capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=120, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def paths(out):
    found = re.findall(r"PATHS=(\[[^]]*\])", out)
    assert found, out
    return json.loads(found[-1].replace('\\"', '"'))


@pytest.fixture()
def root(tmp_path):
    os.makedirs(str(tmp_path / "node"))
    return tmp_path


def test_check_on_a_fresh_folder_says_what_it_would_write_and_writes_nothing(root):
    rc, out = run(root, "--check", "--diff")
    assert rc == 0, out
    node = str(root / "node")
    assert paths(out) == [node + "/etc", node + "/etc/peers.json", node + "/etc/secret.env", node + "/etc/.env"]
    assert '+{"a": 1}' in out          # the diff of a plain file
    assert "s3cret" not in out          # never a secret's
    assert os.listdir(node) == []


def test_a_run_writes_everything_and_a_second_changes_nothing(root):
    rc, out = run(root)
    assert rc == 0 and "changed=1" in out and "HANDLER RAN" in out, out
    node = root / "node" / "etc"
    assert oct(os.stat(str(node)).st_mode & 0o777) == "0o750"
    assert oct(os.stat(str(node / "peers.json")).st_mode & 0o777) == "0o640"
    assert oct(os.stat(str(node / "secret.env")).st_mode & 0o777) == "0o600"
    assert os.readlink(str(node / ".env")) == "secret.env"
    assert not (node / "skipped").exists()
    rc, out = run(root)
    assert rc == 0 and "changed=0" in out and "HANDLER RAN" not in out, out
    assert paths(out) == []


def test_content_that_fails_its_check_names_the_path_and_keeps_the_old_file(root):
    assert run(root)[0] == 0
    rc, out = run(root, peers="{not json")
    assert rc != 0
    assert "%s/node/etc/peers.json: the new content failed validation" % root in out
    assert (root / "node" / "etc" / "peers.json").read_text() == '{"a": 1}\n'
    assert [n for n in os.listdir(str(root / "node" / "etc")) if n.endswith(".ovr-tmp")] == []
