# -*- coding: utf-8 -*-
"""The on-node package ovr_node: one source and no copy. Its programs are the role's files
(roles/node_runtime/files/ovr_node), its engine the collection's module_utils (the modules
``__node_runtime_engine`` names, which the role reads from plugins/module_utils); the package the
tests import is assembled from both as the role installs it (tests/conftest.py). Its programs are
the ones the launchers run, and ovr-check-env (ovr_node.envcheck) judges env files as the dialect says."""

import ast
import filecmp
import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

import node_package
import ovr_node
from ovr_node import envcheck, envfile, gx

from ansible_collections.ovr.fleet.plugins.module_utils import envfile as mu_envfile

ROOT = pathlib.Path(__file__).resolve().parents[4]
PROGRAMS = ROOT / "roles" / "node_runtime" / "files" / "ovr_node"
MODULE_UTILS = ROOT / "plugins" / "module_utils"
ASSEMBLED = pathlib.Path(os.environ["OVR_NODE_PACKAGE_PATH"]) / "ovr_node"
ENGINE = tuple(name + ".py" for name in node_package.engine())
JOBS = ("__init__.py", "config.py", "spool.py", "pipeline.py", "writer.py", "broker.py", "http.py", "realtime.py",
        "collector.py", "refresh.py", "envcheck.py", "mqttread.py")


def sibling_imports(path):
    """The package modules ``path`` imports (``from . import x``, ``from .x import y``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.update([node.module] if node.module else [alias.name for alias in node.names])
    return found


def test_the_role_holds_the_programs_and_no_engine_copy():
    assert sorted(p.name for p in PROGRAMS.iterdir()) == sorted(JOBS)
    assert not any(p.is_symlink() for p in PROGRAMS.iterdir())


def test_the_engine_is_module_utils_and_complete():
    """Every module the programs or the engine import is in the package: nothing missing on a node."""
    assert all((MODULE_UTILS / name).is_file() for name in ENGINE)
    package = {name[:-3] for name in ENGINE + JOBS}
    for path in [PROGRAMS / n for n in JOBS] + [MODULE_UTILS / n for n in ENGINE]:
        missing = sibling_imports(path) - package
        assert not missing, "%s imports %s, which the node's package does not hold" % (path.name, missing)


def test_the_assembled_package_is_what_the_role_installs():
    assert sorted(p.name for p in ASSEMBLED.glob("*.py")) == sorted(ENGINE + JOBS)
    for name in ENGINE:
        assert filecmp.cmp(ASSEMBLED / name, MODULE_UTILS / name, shallow=False)
    for name in JOBS:
        assert filecmp.cmp(ASSEMBLED / name, PROGRAMS / name, shallow=False)
    role_vars = yaml.safe_load((ROOT / "roles" / "node_runtime" / "vars" / "main.yml").read_text())
    # What the role installs: the programs' folder and the engine modules (the stale files it sends).
    stale = role_vars["__node_runtime_stale"]
    assert "query('ansible.builtin.fileglob', 'ovr_node/*.py')" in stale and "__node_runtime_engine_dir" in stale
    configure = (ROOT / "roles" / "node_runtime" / "tasks" / "configure.yml").read_text(encoding="utf-8")
    assert "__node_runtime_stale" in configure
    assert role_vars["__node_runtime_engine_dir"] == "{{ role_path }}/../../plugins/module_utils"


def test_imported_from_the_assembled_package():
    assert pathlib.Path(ovr_node.__file__).parent == ASSEMBLED
    assert pathlib.Path(gx.__file__).parent == ASSEMBLED and gx.victron.__name__ == "ovr_node.victron"
    assert envfile.render({"A": "it's"}) == mu_envfile.render({"A": "it's"})


def test_no_path_edits_or_fallbacks_in_the_runtime():
    for path in [PROGRAMS / n for n in JOBS] + [MODULE_UTILS / n for n in ENGINE]:
        text = path.read_text(encoding="utf-8")
        assert "sys.path" not in text and "OVR_GX_LIB" not in text, path
        assert "except ImportError:  # pragma: no cover - on-node" not in text, path


def test_launchers_run_modules_that_exist_and_have_a_main():
    launchers = yaml.safe_load((ROOT / "roles" / "node_runtime" / "vars" / "main.yml").read_text())["__node_runtime_launchers"]
    assert [l["module"] for l in launchers] == ["collector", "refresh", "envcheck"]
    for launcher in launchers:
        text = (PROGRAMS / (launcher["module"] + ".py")).read_text(encoding="utf-8")
        assert "\ndef main(" in text and '\nif __name__ == "__main__":\n    sys.exit(main())' in text


@pytest.mark.parametrize("module", ["collector", "refresh", "envcheck"])
def test_each_program_runs_as_python_m(module):
    """What the launchers do: python3 -m ovr_node.<module> with the package's folder on PYTHONPATH."""
    env = dict(os.environ, PYTHONPATH=str(ASSEMBLED.parent))
    proc = subprocess.run([sys.executable, "-m", "ovr_node." + module, "--help"], env=env, cwd="/",
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout


# ---- ovr-check-env

def write(tmp_path, text):
    path = tmp_path / "edge.env"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_check_env_accepts_what_to_env_file_writes(tmp_path, capsys):
    path = write(tmp_path, mu_envfile.render({"OVR_SITE_ID": 3, "OVR_NOTE": "it's \"x\" $5"}, "header"))
    assert envcheck.main(["--require", "OVR_SITE_ID,OVR_NOTE", path]) == 0
    assert capsys.readouterr().err == ""


def test_check_env_names_every_problem(tmp_path, capsys):
    path = write(tmp_path, "OVR_SITE_ID='3'\nOVR_SITE_ID='4'\nOVR_CLOUD_URL=two words\nOVR_CLOUD_TOKEN=''\n")
    assert envcheck.main(["--require", "OVR_SITE_ID,OVR_CLOUD_TOKEN,OVR_NODE_ID", path]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "%s: line 2 sets OVR_SITE_ID a second time" % path,
        "%s: line 3: the value of OVR_CLOUD_URL is a bare value with a blank, quote, #, $ or backslash: quote it" % path,
        "%s: required key OVR_CLOUD_TOKEN is missing or empty" % path,
        "%s: required key OVR_NODE_ID is missing or empty" % path,
    ]


def test_check_env_missing_file_and_usage(tmp_path, capsys):
    assert envcheck.main([str(tmp_path / "nope.env")]) == 1
    assert "nope.env: cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        envcheck.main([])
    assert info.value.code == 2


def run_installer(bundle_files, dest):
    """The node-side installer of roles/node_runtime/vars/main.yml, run as the role runs it."""
    installer = yaml.safe_load((ROOT / "roles" / "node_runtime" / "vars" / "main.yml").read_text())["__node_runtime_installer"]
    bundle = dest.parent / "bundle.json"
    bundle.write_text(json.dumps(bundle_files), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", installer, str(bundle), str(dest)], capture_output=True, text=True,
                          check=False)
    return proc, bundle


def test_installer_replaces_each_file_and_removes_the_bundle(tmp_path):
    dest = tmp_path / "ovr_node"
    dest.mkdir()
    (dest / "a.py").write_text("OLD = 1\n")
    proc, bundle = run_installer({"a.py": "NEW = 'é'\r\n", "b.py": "B = 2\n"}, dest)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["a.py", "b.py"]
    assert (dest / "a.py").read_bytes() == "NEW = 'é'\r\n".encode() and (dest / "b.py").read_text() == "B = 2\n"
    assert oct((dest / "a.py").stat().st_mode & 0o777) == "0o644"
    assert not bundle.exists() and sorted(p.name for p in dest.iterdir()) == ["a.py", "b.py"]


def test_installer_replaces_nothing_when_one_file_does_not_compile(tmp_path):
    dest = tmp_path / "ovr_node"
    dest.mkdir()
    (dest / "a.py").write_text("OLD = 1\n")
    proc, bundle = run_installer({"a.py": "NEW = 1\n", "b.py": "def broken(:\n"}, dest)
    assert proc.returncode != 0 and "SyntaxError" in proc.stderr
    assert (dest / "a.py").read_text() == "OLD = 1\n" and sorted(p.name for p in dest.iterdir()) == ["a.py"]
    assert bundle.exists()
