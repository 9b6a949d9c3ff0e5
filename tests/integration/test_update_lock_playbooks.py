# -*- coding: utf-8 -*-
"""The ovr.fleet.lock and ovr.fleet.unlock playbooks for real (local connection, the lock file in a
temp folder): --check writes nothing, a lock reads back, the same lock twice is no change, a bad
duration is refused naming host and variable with nothing written, a file an app wrote (free
text) still locks, unlock removes it."""

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.integration


def playbook(tmp_path, name, check=False, **extra):
    inventory = tmp_path / "inventory.yml"
    if not inventory.exists():
        inventory.write_text(json.dumps({"all": {"children": {"edge": {"children": {"site_lock": {
            "hosts": {"lock-node": {"ovr_node_id": 1, "ansible_connection": "local",
                                    "ansible_python_interpreter": sys.executable}},
            "vars": {"ovr_site_id": 9, "ovr_site_name": "lock"}}}}}}}))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
           os.path.join(REPO, "playbooks", name), "-e", json.dumps(dict(extra, update_lock_path=str(tmp_path / "update.lock"), ansible_become=False))]
    if check:
        cmd.append("--check")
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_NOCOLOR="1")
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env, check=False)
    return result.returncode, result.stdout + result.stderr


def changed(output):
    for line in output.splitlines():
        if line.startswith("lock-node") and "changed=" in line:
            return int(line.split("changed=")[1].split()[0])
    raise AssertionError("no recap line for lock-node in:\n" + output)


@pytest.fixture
def lock_file(tmp_path):
    return tmp_path / "update.lock"


def test_lock_check_then_lock_then_again_then_unlock(tmp_path, lock_file):
    args = dict(update_lock_reason="main stage show", update_lock_expires="2099-01-01T00:00:00Z",
                update_lock_set_by="tech")
    rc, out = playbook(tmp_path, "lock.yml", check=True, **args)
    assert rc == 0, out
    assert changed(out) == 1 and not lock_file.exists()

    rc, out = playbook(tmp_path, "lock.yml", **args)
    assert rc == 0, out
    assert changed(out) == 1
    assert "lock-node: locked (main stage show; by tech; until 2099-01-01T00:00:00Z)" in out
    text = lock_file.read_text()
    assert "REASON='main stage show'" in text and "EXPIRES='2099-01-01T00:00:00Z'" in text
    assert oct(lock_file.stat().st_mode & 0o777) == "0o644"

    rc, out = playbook(tmp_path, "lock.yml", **args)
    assert rc == 0, out
    assert changed(out) == 0 and lock_file.read_text() == text

    rc, out = playbook(tmp_path, "unlock.yml", check=True)
    assert rc == 0 and changed(out) == 1 and lock_file.exists(), out
    rc, out = playbook(tmp_path, "unlock.yml")
    assert rc == 0 and changed(out) == 1 and not lock_file.exists(), out
    assert "lock-node: unlocked" in out
    rc, out = playbook(tmp_path, "unlock.yml")
    assert rc == 0 and changed(out) == 0, out


@pytest.mark.parametrize("extra, words", [
    ({"update_lock_duration": "6 hours"}, "update_lock_duration: '6 hours' is not a duration"),
    ({"update_lock_expires": "2099-01-01T00:00:00"}, "update_lock_expires: '2099-01-01T00:00:00' has no time zone"),
    ({"update_lock_duration": "6h", "update_lock_expires": "2099-01-01T00:00:00Z"}, "both set"),
])
def test_bad_lock_is_refused_naming_host_and_variable(tmp_path, lock_file, extra, words):
    lock_file.write_text("show\n")
    rc, out = playbook(tmp_path, "lock.yml", **extra)
    assert rc != 0
    assert "lock-node: " in out and words in out, out
    assert lock_file.read_text() == "show\n"


def test_a_lock_an_app_wrote_is_read_and_replaced(tmp_path, lock_file):
    lock_file.write_text("show\n")
    rc, out = playbook(tmp_path, "lock.yml", update_lock_duration="90m", update_lock_reason="ops",
                       update_lock_set_by="tech")
    assert rc == 0 and changed(out) == 1, out
    assert "lock-node: locked (ops; by tech; until " in out
    # a duration moves the end: locking again is a change, honestly reported
    rc, out = playbook(tmp_path, "lock.yml", update_lock_duration="90m", update_lock_reason="ops",
                       update_lock_set_by="tech")
    assert rc == 0 and changed(out) == 1, out


def test_the_module_reads_free_text_as_a_lock(tmp_path, lock_file):
    lock_file.write_text("show tonight\n")
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-c", "local", "-m", "ovr.fleet.update_lock",
         "-a", "path=%s" % lock_file, "-e", "ansible_python_interpreter=%s" % sys.executable, "-o"],
        capture_output=True, text=True, timeout=60, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    reply = json.loads(result.stdout.split("=>", 1)[1])
    assert reply["locked"] is True and reply["changed"] is False
    assert reply["reason"] == "show tonight" and "not in the lock format" in reply["problem"]
