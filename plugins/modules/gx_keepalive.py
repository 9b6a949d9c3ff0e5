#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
module: gx_keepalive
short_description: Send MQTT keepalives to Victron GX devices
version_added: 0.1.0
description:
  - Publishes one keepalive to C(R/<portal_id>/keepalive) for every device, concurrently, with one
    connection per broker. A GX publishes nothing but its serial unless a keepalive is alive (60 s).
  - Keepalives are published with QoS 1; a device counts as sent once the broker acknowledged it.
  - Never storms. A GX rate-limits full republishes to 3 per second and O(mode=suppress) does not
    trigger one at all. The recommended pattern is one O(mode=full) when a device first appears, then
    O(mode=suppress) at least every 50 s.
  - Devices whose keepalive could not be delivered are returned in RV(failed_devices) (with a warning);
    the module does not fail for them. (The name is not C(failed) because Ansible reserves that result key.)
author:
  - ovr.fleet contributors (@ovr-fleet)
requirements:
  - paho-mqtt >= 2.0
options:
  devices:
    description:
      - The devices, exactly as RV(ovr.fleet.gx_discover#module:devices) returns them. Each needs
        C(portal_id) and C(address) (or C(target)); C(port) defaults to 1883.
    type: list
    elements: dict
    required: true
  mode:
    description:
      - V(suppress) sends C({"keepalive-options":["suppress-republish"]}), keeping the device alive
        without a republish.
      - V(full) sends an empty payload, asking for a full republish of every topic.
    type: str
    choices: [suppress, full]
    default: suppress
  timeout:
    description:
      - Deadline in seconds for each broker (connect, handshake, acknowledgement).
    type: float
    default: 5
extends_documentation_fragment:
  - ovr.fleet.mqtt
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is published; RV(planned) lists what would be sent and RV(ignore:changed) predicts it.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: ovr.fleet.gx_discover
"""

EXAMPLES = r"""
- name: Discover the GX devices
  ovr.fleet.gx_discover:
    targets: "{{ ovr_gx_targets }}"
  register: gx

- name: Ask newly found devices for a full republish
  ovr.fleet.gx_keepalive:
    devices: "{{ gx.devices }}"
    mode: full

- name: Keep them alive without a republish
  ovr.fleet.gx_keepalive:
    devices: "{{ gx.devices }}"
  register: ka

- name: Fail when a keepalive did not reach its GX
  ansible.builtin.assert:
    that: ka.failed_devices | length == 0
"""

RETURN = r"""
sent:
  description: Devices whose keepalive the broker acknowledged (the device entry plus C(topic) and C(mode)).
  returned: always
  type: list
  elements: dict
  sample:
    - target: venus.local
      address: 192.168.1.50
      port: 1883
      portal_id: c0619ab1c2d3
      topic: R/c0619ab1c2d3/keepalive
      mode: suppress
failed_devices:
  description:
    - Devices whose keepalive was not delivered (the device entry plus C(reason) and C(msg)). C(reason) uses
      the vocabulary of RV(ovr.fleet.gx_discover#module:unreachable_targets).
  returned: always
  type: list
  elements: dict
  sample:
    - target: venus.local
      address: 192.168.1.50
      port: 1883
      portal_id: c0619ab1c2d3
      reason: connect
      msg: "cannot connect: 192.168.1.50:1883: Connection refused"
planned:
  description: In check mode, the keepalives that would have been sent (device entry plus C(topic) and C(mode)).
  returned: check mode
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovr.fleet.plugins.module_utils import victron
from ansible_collections.ovr.fleet.plugins.module_utils.gx_module import GxModule


class GxKeepalive(GxModule):
    """Keepalive delivery to a list of discovered devices."""

    OPTIONS = dict(
        devices=dict(type="list", elements="dict", required=True),
        mode=dict(type="str", choices=["suppress", "full"], default="suppress"),
        timeout=dict(type="float", default=5.0),
    )

    def devices(self):
        try:
            return self.engine.validate_devices(self.params["devices"])
        except ValueError as exc:
            self.fail("invalid devices: %s" % exc)

    def run(self):
        self.check()
        devices = self.devices()
        mode = self.params["mode"]
        if self.module.check_mode:
            planned = [dict(d, topic=victron.keepalive_topic(d["portal_id"]), mode=mode) for d in devices]
            return dict(changed=bool(planned), sent=[], failed_devices=[], planned=planned)
        sent, failed = self.engine.keepalive(devices, mode=mode, timeout=self.params["timeout"],
                                             options=self.connection())
        for entry in failed:
            self.module.warn("keepalive to %s (%s) failed: %s: %s"
                             % (entry["portal_id"], entry.get("address") or entry.get("target"),
                                entry["reason"], entry["msg"]))
        return dict(changed=bool(sent), sent=sent, failed_devices=failed)


def main():
    module = AnsibleModule(**GxKeepalive.module_kwargs())
    module.exit_json(**GxKeepalive(module).run())


if __name__ == "__main__":
    main()
