#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: edge_diagnose
short_description: Walk an edge node's data chain from its GX devices to vmagent and name the first broken link
version_added: "0.1.0"
description:
  - Read-only. Gathers, on the edge node itself, what each link of the chain shows, then judges
    the links in the order data flows and stops at the first broken one. Later links are
    reported as not checked.
  - 'Links, in order: the GX allowlist resolves; the GX answers MQTT; its portal id (retained serial) is
    seen; the collector runs and is connected to it; the GX is kept alive (its heartbeat, sent
    every 3 s while alive, arrives); the collector writes without errors; the local
    VictoriaMetrics holds fresh samples of every GX; vmagent''s queue towards the cloud drains.'
  - The collector comes before the keepalive because the collector sends the keepalives.
  - Sends nothing to the GX devices (no keepalive, no read request); only subscribes.
  - The last link of the chain, the cloud, is judged on the controller by the
    C(ovr.fleet.diagnose) playbook.
author:
  - ovr.fleet contributors (@ovr-fleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ovr.fleet.mqtt
attributes:
  check_mode:
    support: full
    details: The module only reads; it runs the same under C(--check).
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - paho-mqtt >= 2.0 (C(python3-paho-mqtt) on Debian; the C(ovr.fleet.node_runtime) role installs it on edge nodes)
options:
  targets:
    description: The node's GX allowlist (C(ovr_gx_targets)), C(host) or C(host:port).
    type: list
    elements: str
    required: true
  port:
    description: MQTT port of targets given without one.
    type: int
    default: 1883
  timeout:
    description: Seconds the GX probes may take (they run concurrently).
    type: float
    default: 5.0
  window:
    description:
      - Seconds to watch the heartbeats and between the two readings of the collector's and
        vmagent's counters. At least 4 (the GX heartbeat comes every 3 s).
    type: float
    default: 6.0
  collector_url:
    description: The collector's counters. Empty when the node runs Telegraf instead (the collector links are skipped).
    type: str
    default: http://127.0.0.1:9108/metrics
  vm_url:
    description: The node's VictoriaMetrics.
    type: str
    default: http://127.0.0.1:8428
  vmagent_url:
    description: vmagent's counters.
    type: str
    default: http://127.0.0.1:8429/metrics
  cloud_write_index:
    description: Which of vmagent's remote-write URLs is the cloud (the edge stack makes it the first).
    type: int
    default: 1
  fresh_within:
    description: A sample is fresh when it is at most this many seconds old.
    type: int
    default: 120
  links:
    description:
      - Judge only these links (their ids, as in RV(links)), each on its own figures even when a
        link before it is broken; the others are left out. The C(ovr.fleet.rollout) health gate
        asks for C(local_vm_fresh) and C(vmagent_drains) this way.
      - Empty (the default) walks the whole chain and stops at the first broken link.
    type: list
    elements: str
    choices: [gx_resolves, gx_mqtt, gx_portal_id, collector_running, gx_keepalive, collector_writing,
              local_vm_fresh, vmagent_drains]
    default: []
"""

EXAMPLES = r"""
- name: Walk the data chain of this node
  ovr.fleet.edge_diagnose:
    targets: "{{ ovr_gx_targets }}"
  register: chain

- name: One line per link
  ansible.builtin.debug:
    msg: "{{ chain.lines }}"
"""

RETURN = r"""
links:
  description: Every link in chain order, with its verdict.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The link's id, e.g. C(collector_writing).
      type: str
    name:
      description: What the link is, for people.
      type: str
    status:
      description: C(ok), C(fail) or C(not checked) (an earlier link is broken).
      type: str
    figure:
      description: What decided the verdict.
      type: str
    fix:
      description: What to do about a failed link (empty otherwise).
      type: str
    line:
      description: The link as one report line.
      type: str
first_failure:
  description: The first broken link (as in RV(links)), or null when every link is OK.
  returned: always
  type: dict
lines:
  description: One line per link, C(OK|FAIL|NOT CHECKED name - figure - fix).
  returned: always
  type: list
  elements: str
portal_ids:
  description: The portal ids the allowlist led to.
  returned: always
  type: list
  elements: str
"""

import json
import threading
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.parse import urlencode
from ansible.module_utils.urls import open_url

from ansible_collections.ovr.fleet.plugins.module_utils import diagnose, gx, victron
from ansible_collections.ovr.fleet.plugins.module_utils import mqtt as mqtt_utils
from ansible_collections.ovr.fleet.plugins.module_utils.gx_module import GxModule


def fetch(url, timeout=5):
    """(text, None) or (None, why)."""
    try:
        response = open_url(url, timeout=timeout, validate_certs=False)
        return response.read().decode("utf-8", "replace"), None
    except Exception as error:  # pylint: disable=broad-except
        return None, str(getattr(error, "reason", None) or error)


def heartbeats(devices, window, options):
    """{portal_id: seconds since its heartbeat, or None} after watching ``window`` seconds."""
    result = dict((d["portal_id"], None) for d in devices)
    lock = threading.Lock()
    clients = []
    for device in devices:
        portal_id = device["portal_id"]
        client = mqtt_utils.build_client(options, client_id_prefix="ovr-fleet-diagnose", reconnect_on_failure=False)
        topic = victron.heartbeat_topic(portal_id)

        def on_connect(cli, _userdata, _flags, reason_code, _properties, topic=topic):
            if not reason_code.is_failure:
                cli.subscribe(topic, qos=0)

        def on_message(_cli, _userdata, message, portal_id=portal_id):
            age = 0.0
            try:
                sent = float(json.loads(message.payload.decode("utf-8"))["value"])
                age = max(0.0, time.time() - sent)
            except (ValueError, KeyError, TypeError, AttributeError):
                pass
            with lock:
                if result[portal_id] is None or age < result[portal_id]:
                    result[portal_id] = age

        client.on_connect = on_connect
        client.on_message = on_message
        try:
            client.connect(device["address"], int(device["port"]), keepalive=30)
        except (OSError, ValueError):
            continue
        client.loop_start()
        clients.append(client)
    deadline = time.monotonic() + window
    while time.monotonic() < deadline:
        with lock:
            if all(age is not None for age in result.values()):
                break
        time.sleep(0.1)
    for client in clients:
        client.disconnect()
        client.loop_stop()
    return result


def local_vm_ages(vm_url, portal_ids, now):
    if not portal_ids:
        return {}, None
    query = 'max by (portal_id) (tlast_over_time({__name__=~"victron_.+",portal_id=~"%s"}[1h]))' % "|".join(portal_ids)
    # latency_offset: VictoriaMetrics hides the newest 30 s of samples from queries by default
    # (-search.latencyOffset): the age must be the real one (1s is the least it accepts).
    text, error = fetch("%s/api/v1/query?%s" % (vm_url.rstrip("/"), urlencode({"query": query, "latency_offset": "1s"})))
    if error:
        return {}, error
    try:
        series = json.loads(text)["data"]["result"]
    except (ValueError, KeyError, TypeError):
        return {}, "not a VictoriaMetrics answer: %s" % text[:200]
    return dict((s["metric"].get("portal_id"), max(0.0, now - float(s["value"][1]))) for s in series), None


class EdgeDiagnose(GxModule):
    """The node's data chain, gathered then judged (module_utils/diagnose.py)."""

    OPTIONS = dict(
        targets=dict(type="list", elements="str", required=True),
        port=dict(type="int", default=gx.DEFAULT_PORT),
        timeout=dict(type="float", default=5.0),
        window=dict(type="float", default=6.0),
        collector_url=dict(type="str", default="http://127.0.0.1:9108/metrics"),
        vm_url=dict(type="str", default="http://127.0.0.1:8428"),
        vmagent_url=dict(type="str", default="http://127.0.0.1:8429/metrics"),
        cloud_write_index=dict(type="int", default=1),
        fresh_within=dict(type="int", default=120),
        links=dict(type="list", elements="str", default=[], choices=[
            "gx_resolves", "gx_mqtt", "gx_portal_id", "collector_running", "gx_keepalive", "collector_writing",
            "local_vm_fresh", "vmagent_drains"]),
    )

    def run(self):
        self.check()
        p = self.params
        if p["window"] < 4:
            self.fail("window is %s: at least 4 seconds (the GX heartbeat comes every 3 s)" % p["window"])
        options = self.connection()
        targets = [str(t) for t in p["targets"] if t is not None and str(t).strip()]
        devices, unreachable = self.engine.discover(targets, port=p["port"], timeout=p["timeout"],
                                                    options=options) if targets else ([], [])
        portal_ids = sorted(set(d["portal_id"] for d in devices))
        collector = bool(p["collector_url"])

        collector_before, collector_error = fetch(p["collector_url"]) if collector else (None, None)
        vmagent_before, vmagent_error = fetch(p["vmagent_url"])
        started = time.monotonic()
        beats = heartbeats(devices, p["window"], options) if devices else {}
        remaining = p["window"] - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)
        collector_after, collector_error_after = fetch(p["collector_url"]) if collector else (None, None)
        vmagent_after, vmagent_error_after = fetch(p["vmagent_url"])
        ages, vm_error = local_vm_ages(p["vm_url"], portal_ids, time.time())

        found = (targets, devices, unreachable)
        judges = [
            ("gx_resolves", lambda: diagnose.judge_resolves(*found)),
            ("gx_mqtt", lambda: diagnose.judge_mqtt(*found)),
            ("gx_portal_id", lambda: diagnose.judge_portal_id(*found)),
            ("collector_running", lambda: diagnose.judge_collector_running(
                collector_after, collector_error or collector_error_after, portal_ids) if collector else None),
            ("gx_keepalive", lambda: diagnose.judge_keepalive(beats, p["window"])),
            ("collector_writing", lambda: diagnose.judge_collector_writing(
                collector_before, collector_after, p["window"], p["fresh_within"]) if collector else None),
            ("local_vm_fresh", lambda: diagnose.judge_local_vm(ages, vm_error, portal_ids, p["fresh_within"])),
            ("vmagent_drains", lambda: diagnose.judge_vmagent(
                vmagent_before, vmagent_after, vmagent_error or vmagent_error_after, p["window"],
                p["cloud_write_index"])),
        ]
        links, failure = diagnose.walk(judges, only=p["links"] or None)
        return dict(changed=False, links=links, first_failure=failure, portal_ids=portal_ids,
                    lines=[item["line"] for item in links])


def main():
    module = AnsibleModule(**EdgeDiagnose.module_kwargs())
    module.exit_json(**EdgeDiagnose(module).run())


if __name__ == "__main__":
    main()
