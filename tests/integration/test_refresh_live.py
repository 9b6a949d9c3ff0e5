# -*- coding: utf-8 -*-
"""ovr-refresh-gx-mqtt-sources (ovr_node.refresh) for real, run as its launcher runs it, against
Mosquitto + the GX simulator: sources written for the GX that answered, none for the dead
target, nothing rewritten when nothing changed, one full keepalive per new GX."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

# The on-node package as the role installs it, assembled for this session by tests/conftest.py.
RUNTIME = os.environ["OVR_NODE_PACKAGE_PATH"]


def refresh(config_dir, state_dir):
    proc = subprocess.run([sys.executable, "-m", "ovr_node.refresh", "--config-dir", str(config_dir),
                           "--state-dir", str(state_dir), "--timeout", "2", "--starlark", "/opt/x/victron_mqtt.star",
                           "--client-prefix", "it-refresh"],
                          env=dict(os.environ, PYTHONPATH=RUNTIME), cwd="/", capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_refresh_writes_sources_of_the_live_gx_only_and_only_when_they_change(sim, broker, dead, tmp_path):
    config_dir, state_dir = tmp_path / "etc", tmp_path / "state"
    config_dir.mkdir()
    dead_target = "127.0.0.1:%d" % dead.closed_port
    (config_dir / "targets_gx.txt").write_text("# allowlist\n%s\n%s\n" % (broker.url, dead_target))

    out = refresh(config_dir, state_dir)
    assert out.startswith("gx refresh: 2 target(s)")
    assert "%s (connect)" % dead_target in out
    systems = json.loads((config_dir / "gx_systems.json").read_text())["systems"]
    mine = [s for s in systems if s["portal_id"] == sim.portal_id]
    assert mine == [{"portal_id": sim.portal_id, "target": broker.url, "address": "127.0.0.1", "port": broker.port}]
    assert all(s["target"] != dead_target for s in systems)
    conf = (config_dir / "telegraf.d" / "gx_mqtt_sources.conf").read_text()
    assert 'topics = ["N/%s/#"]' % sim.portal_id in conf and str(dead.closed_port) not in conf
    assert 'script = "/opt/x/victron_mqtt.star"' in conf
    assert "changed gx_systems.json, gx_mqtt_sources.conf" in out
    assert sim.portal_id in json.loads((state_dir / "gx_seen.json").read_text())

    before = (config_dir / "gx_systems.json").stat().st_mtime_ns
    again = refresh(config_dir, state_dir)
    assert "config: unchanged" in again and "keepalive: 0 full" in again
    assert (config_dir / "gx_systems.json").stat().st_mtime_ns == before
