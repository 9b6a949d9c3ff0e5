"""For every test session: the on-node package ovr_node assembled as the role installs it (its
programs from roles/node_runtime/files, its engine from plugins/module_utils: no copy of either
is kept in the repository), importable as ``ovr_node`` and runnable with ``python3 -m
ovr_node.<program>`` with NODE_PACKAGE_PATH on PYTHONPATH. Removed when the session ends."""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
import node_package  # noqa: E402  pylint: disable=wrong-import-position

NODE_PACKAGE_PATH = node_package.build_temporary()
os.environ["OVR_NODE_PACKAGE_PATH"] = NODE_PACKAGE_PATH
sys.path.insert(0, NODE_PACKAGE_PATH)


def pytest_unconfigure(config):  # pylint: disable=unused-argument
    shutil.rmtree(NODE_PACKAGE_PATH, ignore_errors=True)
