# -*- coding: utf-8 -*-
"""ovr.fleet.node_runtime for real, from the built and installed collection tarball (as a Galaxy
user gets it): the engine (plugins/module_utils) and the role's programs make one package on the node, the launchers run the package,
--check on a fresh host changes nothing, a second run changes nothing. Paths go to a temp dir."""

import filecmp
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

import node_package
from conftest import REPO

pytestmark = pytest.mark.integration

ENGINE = [name + ".py" for name in node_package.engine()]
PYTHON = "/usr/bin/python3"


def tool(name):
    path = os.path.join(os.path.dirname(sys.executable), name)
    return path if os.path.exists(path) else shutil.which(name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The collection built with ansible-galaxy and installed into a clean folder."""
    if os.geteuid() != 0:
        pytest.skip("the role installs files owned by root")
    if not os.path.exists(PYTHON):
        pytest.skip("no %s" % PYTHON)
    top = tmp_path_factory.mktemp("galaxy")
    galaxy = tool("ansible-galaxy")
    subprocess.run([galaxy, "collection", "build", "--force", "--output-path", str(top / "dist"), REPO],
                   check=True, capture_output=True, timeout=120)
    tarball = glob.glob(str(top / "dist" / "ovr-fleet-*.tar.gz"))[0]
    subprocess.run([galaxy, "collection", "install", "--force", "-p", str(top / "collections"), tarball],
                   check=True, capture_output=True, timeout=120)
    return str(top / "collections")


class Node(object):
    """A temp folder standing in for a node's /usr/local."""

    def __init__(self, root, collections):
        self.root = str(root)
        self.collections = collections
        self.lib = os.path.join(self.root, "lib", "ovr", "python")
        self.bin = os.path.join(self.root, "sbin")
        self.libexec = os.path.join(self.root, "libexec", "ovr")
        self.playbook = os.path.join(self.root, "play.yml")
        play = [{"name": "Runtime", "hosts": "localhost", "connection": "local", "gather_facts": False,
                 "vars": {"ansible_python_interpreter": sys.executable, "node_runtime_lib_dir": self.lib,
                          "node_runtime_bin_dir": self.bin, "ovr_libexec_dir": self.libexec,
                          "node_runtime_packages": []},
                 "roles": [{"role": "ovr.fleet.node_runtime"}]}]
        with open(self.playbook, "w") as handle:
            json.dump(play, handle)
        with open(os.path.join(self.root, "ansible.cfg"), "w") as handle:
            handle.write("[defaults]\n")

    def play(self, *args):
        home = os.path.join(self.root, "ansible-home")
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=self.collections, ANSIBLE_HOME=home,
                   ANSIBLE_LOCAL_TEMP=os.path.join(home, "tmp"), ANSIBLE_LOCALHOST_WARNING="false",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=os.path.join(self.root, "ansible.cfg"))
        env.pop("PYTHONPATH", None)  # the installed collection only, not the checkout
        proc = subprocess.run([tool("ansible-playbook"), "-i", "localhost,", self.playbook] + list(args),
                              env=env, capture_output=True, text=True, timeout=300, check=False)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-3000:]
        return int(re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)", out).group(1)), out

    def run(self, *cmd):
        return subprocess.run(list(cmd), capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture(scope="module")
def node(installed, tmp_path_factory):
    node = Node(tmp_path_factory.mktemp("node"), installed)
    # what an earlier version left there
    os.makedirs(os.path.join(node.root, "lib", "ovr", "gx"))
    os.makedirs(node.bin)
    with open(os.path.join(node.bin, "ovr-gx-refresh"), "w") as handle:
        handle.write("#!/usr/bin/python3\n")
    changed, _out = node.play("--check")
    assert changed > 0
    assert not os.path.exists(node.lib), "--check on a fresh host writes nothing"
    node.first = node.play()
    node.second = node.play()
    return node


def test_first_run_installs_and_notifies_the_runtime_topic(node):
    changed, out = node.first
    assert changed > 0
    assert "RUNNING HANDLER [ovr.fleet.node_runtime : Report that the on-node runtime changed]" in out


def test_second_run_changes_nothing(node):
    changed, out = node.second
    assert changed == 0, out
    assert "RUNNING HANDLER" not in out


@pytest.mark.parametrize("name", ENGINE)
def test_engine_files_on_the_node_are_the_module_utils_content(node, name):
    path = os.path.join(node.lib, "ovr_node", name)
    assert os.path.isfile(path) and not os.path.islink(path)
    assert filecmp.cmp(path, os.path.join(REPO, "plugins", "module_utils", name), shallow=False)


def test_earlier_versions_leftovers_are_gone(node):
    assert not os.path.exists(os.path.join(node.root, "lib", "ovr", "gx"))
    assert not os.path.exists(os.path.join(node.bin, "ovr-gx-refresh"))


def test_launchers_exec_the_package(node):
    for path, module in ((os.path.join(node.bin, "ovr-collector"), "collector"),
                         (os.path.join(node.bin, "ovr-refresh-gx-mqtt-sources"), "refresh"),
                         (os.path.join(node.libexec, "ovr-check-env"), "envcheck")):
        assert os.stat(path).st_mode & 0o777 == 0o755
        with open(path) as handle:
            text = handle.read()
        assert 'exec env PYTHONPATH=%s %s -m ovr_node.%s "$@"' % (node.lib, PYTHON, module) in text
        proc = node.run(path, "--help")
        assert proc.returncode == 0 and "usage:" in proc.stdout, proc.stderr


def test_check_env_on_the_node(node, tmp_path):
    check = os.path.join(node.libexec, "ovr-check-env")
    good = tmp_path / "good.env"
    good.write_text("# header\nOVR_SITE_ID='3'\nOVR_NOTE=\"it's\"\n")
    assert node.run(check, "--require", "OVR_SITE_ID,OVR_NOTE", str(good)).returncode == 0
    bad = tmp_path / "bad.env"
    bad.write_text("OVR_SITE_ID='3\n")
    proc = node.run(check, "--require", "OVR_SITE_ID,OVR_NODE_ID", str(bad))
    assert proc.returncode == 1
    assert "line 1: the value of OVR_SITE_ID is not quoted as the dialect writes it" in proc.stderr
    assert "required key OVR_NODE_ID is missing or empty" in proc.stderr


def test_collector_checks_its_env_file_on_the_node(node, tmp_path):
    env = tmp_path / "collector.env"
    env.write_text("# header\nOVR_COLLECTOR_BATCH_LINES='100'\nOVR_COLLECTOR_LABELS='node=n1,site=a'\n")
    proc = node.run(os.path.join(node.bin, "ovr-collector"), "--check-config", "--env-file", str(env))
    assert proc.returncode == 0, proc.stderr
    config = json.loads(proc.stdout)
    assert config["batch_lines"] == 100 and config["extra_labels"] == {"node": "n1", "site": "a"}
