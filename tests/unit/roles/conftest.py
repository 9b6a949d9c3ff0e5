# -*- coding: utf-8 -*-
"""Runs a role's real tasks/validate.yml with ansible-playbook on local hosts, one host per bad
input, and returns what each host was told: the messages of the failed checks.

Each inventory host is this machine (connection local, this Python), so a run takes a few
seconds, needs no node and changes nothing (the checks come before anything a role changes).
"""
import concurrent.futures
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]

PLAY = """---
- name: Run the checks of one role
  hosts: all
  gather_facts: false
  tasks:
    - name: Include the role's checks
      ansible.builtin.include_role:
        name: ovr.fleet.{role}
        tasks_from: validate.yml
"""


def run_validate(role, hosts, check=True, group_vars=None, groups=None):
    """Run ``roles/<role>/tasks/validate.yml`` on ``hosts`` ({name: vars}).

    Returns ``{host: [message, ...]}`` for every host (an empty list: every check passed) and the
    raw run (for its return code and output).
    """
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory = {"all": {"vars": dict(local, **(group_vars or {})), "hosts": {h: v or {} for h, v in hosts.items()}}}
    if groups:
        inventory["all"]["children"] = groups
    with tempfile.TemporaryDirectory(prefix="ovr-validate-") as tmp:
        inv = os.path.join(tmp, "inventory.yml")
        play = os.path.join(tmp, "play.yml")
        with open(inv, "w", encoding="utf-8") as handle:
            yaml.safe_dump(inventory, handle)
        with open(play, "w", encoding="utf-8") as handle:
            handle.write(PLAY.format(role=role))
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CALLBACKS_ENABLED="ansible.posix.json",
                   ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
                   ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_LOCAL_TEMP=tmp)
        cmd = ["ansible-playbook", "-i", inv, play] + (["--check"] if check else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=300, check=False)
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("ansible-playbook gave no JSON (rc %d): %s %s" % (proc.returncode, proc.stdout[-3000:],
                                                                               proc.stderr[-3000:]))
    messages = {h: [] for h in hosts}
    for play_doc in doc["plays"]:
        for task in play_doc["tasks"]:
            for host, result in task["hosts"].items():
                for item in result.get("results") or [result]:
                    if item.get("failed"):
                        # One assert reports every broken rule of a role, one line each.
                        messages[host].extend(line for line in item.get("msg", "").split("\n") if line)
    return messages, proc


# A test module declares its runs as VALIDATE_RUNS = {key: run_validate keyword arguments}. The runs
# of all modules start together once collection is done (each is mostly waiting on
# ansible-playbook); the tests then only read the results, through the fixture ``validated``.
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4)
_RUNS = {}


def _start(module):
    if module.__name__ not in _RUNS:
        _RUNS[module.__name__] = dict((key, _POOL.submit(run_validate, **kwargs))
                                      for key, kwargs in getattr(module, "VALIDATE_RUNS", {}).items())
    return _RUNS[module.__name__]


def pytest_collection_finish(session):
    for item in session.items:
        if getattr(item, "module", None) is not None and hasattr(item.module, "VALIDATE_RUNS"):
            _start(item.module)


@pytest.fixture(scope="module")
def validated(request):
    """The messages of the module's runs: ``validated(key)`` -> {host: [message, ...]}."""
    runs = _start(request.module)
    return lambda key="main": runs[key].result()[0]
