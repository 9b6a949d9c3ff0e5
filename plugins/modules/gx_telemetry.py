#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
module: gx_telemetry
short_description: Capture a snapshot of a Victron GX device's telemetry as metrics
version_added: 0.1.0
description:
  - Subscribes to C(N/<portal_id>/#) on a GX, asks for one full publish tagged with its own
    C(full-publish-completed-echo) token, waits for the matching C(full_publish_completed), then
    listens O(duration) more seconds.
  - Every message is normalised exactly as the collector and the Telegraf Starlark processor do
    (C(victron_<service>_<path>), labels C(portal_id), C(service), C(instance) and C(phase)).
  - If the GX stays silent for a second after the request (lost, or dropped by its limit of 3 full
    republishes per second) the request is repeated, at most twice.
  - Fails when no matching completion arrives within O(timeout).
  - Read-only (a keepalive is not a change); runs the same in check mode.
author:
  - ovr.fleet contributors (@ovr-fleet)
requirements:
  - paho-mqtt >= 2.0
options:
  address:
    description:
      - Host name or IP address of the GX (its MQTT broker).
    type: str
    required: true
  port:
    description:
      - MQTT port.
    type: int
    default: 1883
  portal_id:
    description:
      - Portal id of the GX. When omitted it is discovered from the retained serial; a broker serving
        several portal ids then needs it.
    type: str
  duration:
    description:
      - Seconds to keep listening after the full publish completed (to see values change).
    type: float
    default: 2
  timeout:
    description:
      - Seconds to wait for the connection and the completion of the full publish.
    type: float
    default: 10
extends_documentation_fragment:
  - ovr.fleet.mqtt
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Only reads; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: ovr.fleet.gx_discover
"""

EXAMPLES = r"""
- name: Snapshot a GX's telemetry
  ovr.fleet.gx_telemetry:
    address: venus.local
    duration: 5
  register: telemetry

- name: The battery state of charge is reported
  ansible.builtin.assert:
    that: >-
      telemetry.metrics | selectattr('name', 'equalto', 'victron_system_dc_battery_soc') | list | length == 1
"""

RETURN = r"""
portal_id:
  description: The portal id captured (given or discovered).
  returned: success
  type: str
  sample: c0619ab1c2d3
metrics:
  description: The latest sample of every series seen, sorted by name and labels.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Metric name.
      type: str
      sample: victron_vebus_ac_activein_p
    labels:
      description: C(portal_id), C(service), C(instance), and C(phase) for L1/L2/L3 paths.
      type: dict
      sample: {portal_id: c0619ab1c2d3, service: vebus, instance: "276", phase: L1}
    value:
      description: The value as a float (bools as 1.0/0.0).
      type: float
      sample: 230.5
skipped_messages:
  description:
    - Messages that were not metrics, counted per reason (C(topic), C(empty), C(json), C(no_value), C(null),
      C(string), C(list), C(object), C(non_finite)). (The name is not C(skipped) because Ansible reserves that
      result key.)
  returned: success
  type: dict
  sample: {"topic": 3, "empty": 0, "json": 0, "no_value": 0, "null": 2, "string": 6, "list": 1, "object": 0, "non_finite": 0}
messages:
  description: Number of messages received.
  returned: success
  type: int
  sample: 140
requests:
  description: Number of full-publish requests sent (1 unless the first one went unanswered).
  returned: success
  type: int
  sample: 1
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovr.fleet.plugins.module_utils import gx
from ansible_collections.ovr.fleet.plugins.module_utils.gx_module import GxModule


class GxTelemetry(GxModule):
    """One captured full publish of one GX, as metrics."""

    OPTIONS = dict(
        address=dict(type="str", required=True),
        port=dict(type="int", default=gx.DEFAULT_PORT),
        portal_id=dict(type="str"),
        duration=dict(type="float", default=2.0),
        timeout=dict(type="float", default=10.0),
    )

    def portal_id(self, options):
        if self.params["portal_id"]:
            return self.params["portal_id"]
        target = gx.format_address(self.params["address"], self.params["port"])
        devices, unreachable = self.engine.discover([target], port=self.params["port"],
                                                    timeout=self.params["timeout"], options=options)
        if unreachable:
            self.fail("cannot discover the portal id of %s: %s: %s"
                      % (target, unreachable[0]["reason"], unreachable[0]["msg"]),
                      reason=unreachable[0]["reason"])
        portal_ids = sorted(set(d["portal_id"] for d in devices))
        if len(portal_ids) != 1:
            self.fail("%s serves several portal ids (%s): set portal_id"
                      % (target, ", ".join(portal_ids)))
        return portal_ids[0]

    def run(self):
        self.check()
        options = self.connection()
        portal_id = self.portal_id(options)
        try:
            capture = self.engine.capture(self.params["address"], self.params["port"], portal_id,
                                          duration=self.params["duration"], timeout=self.params["timeout"],
                                          options=options)
        except (gx.TelemetryError, ValueError) as exc:
            self.fail(str(exc), portal_id=portal_id)
        norm = capture["normaliser"]
        metrics = sorted((m.as_dict() for m in norm.latest.values()),
                         key=lambda m: (m["name"], sorted(m["labels"].items())))
        return dict(changed=False, portal_id=portal_id, metrics=metrics,
                    skipped_messages=dict(norm.skipped),
                    messages=norm.messages, requests=capture["requests"])


def main():
    module = AnsibleModule(**GxTelemetry.module_kwargs())
    module.exit_json(**GxTelemetry(module).run())


if __name__ == "__main__":
    main()
