#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
module: gx_discover
short_description: Find Victron GX devices and their portal ids over MQTT
version_added: 0.1.0
description:
  - Probes every target concurrently. For each target it resolves the name, connects, completes the
    MQTT handshake and waits for the retained C(N/<portal_id>/system/0/Serial) that every GX publishes,
    all within O(timeout) seconds. The call therefore returns in about O(timeout) seconds whatever
    the number of targets.
  - Targets that do not yield a portal id are returned in RV(unreachable_targets) with a reason; they
    never produce a device. (The name is not C(unreachable) because Ansible reserves that result key and would
    mark the host unreachable.)
  - Read-only; never reports a change.
  - The engine (C(plugins/module_utils/gx.py)) is the same one the on-node GX refresh tool uses; it speaks
    MQTT through paho-mqtt.
author:
  - ovr.fleet contributors (@ovr-fleet)
requirements:
  - paho-mqtt >= 2.0
options:
  targets:
    description:
      - GX devices to probe, each a host name, an IPv4 or IPv6 address, C(host:port) or C([v6]:port).
      - Duplicates are probed once.
    type: list
    elements: str
    required: true
  port:
    description:
      - MQTT port for targets that do not name one.
    type: int
    default: 1883
  timeout:
    description:
      - Deadline in seconds for each target, covering name resolution, TCP connect, MQTT handshake and
        waiting for the retained serial. All targets share the same start, so this is also about the
        run time of the whole call.
    type: float
    default: 5
extends_documentation_fragment:
  - ovr.fleet.mqtt
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it runs the same way in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: ovr.fleet.gx_keepalive
  - module: ovr.fleet.gx_telemetry
"""

EXAMPLES = r"""
- name: Discover the GX devices of this site
  ovr.fleet.gx_discover:
    targets: "{{ ovr_gx_targets }}"
    timeout: 3
  register: gx
  check_mode: false
  changed_when: false

- name: Probe a GX on a non-standard port and an IPv6 one
  ovr.fleet.gx_discover:
    targets:
      - venus.local
      - 192.168.1.50:1884
      - "[fd00::50]:1883"

- name: Fail when any allowlisted GX is unreachable
  ansible.builtin.assert:
    that: gx.unreachable_targets | length == 0
    fail_msg: "{{ gx.unreachable_targets | map(attribute='target') | join(', ') }} unreachable"
"""

RETURN = r"""
devices:
  description:
    - One entry per portal id found, in target order. A broker serving several GX (a lab) yields one
      entry per portal id. This list is what O(ovr.fleet.gx_keepalive#module:devices) takes.
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The target as given.
      type: str
      sample: venus.local
    address:
      description: The IP address that answered.
      type: str
      sample: 192.168.1.50
    port:
      description: The MQTT port.
      type: int
      sample: 1883
    portal_id:
      description: The GX's portal id (VRM id), taken from its serial topic.
      type: str
      sample: c0619ab1c2d3
unreachable_targets:
  description: Targets that yielded no portal id, in target order.
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The target as given.
      type: str
      sample: gx-2.invalid
    reason:
      description:
        - C(resolve) the name does not resolve (or not in time) or the target is malformed;
          C(connect) no TCP connection (refused, unreachable, no answer);
          C(timeout) connected, but no MQTT handshake before the deadline;
          C(protocol) the peer does not speak MQTT (or TLS failed);
          C(auth) the broker refused our credentials;
          C(no_portal_id) an MQTT broker that publishes no GX serial.
      type: str
      choices: [resolve, connect, timeout, protocol, auth, no_portal_id]
      sample: connect
    msg:
      description: Human readable detail.
      type: str
      sample: "cannot connect: 192.168.1.51:1883: Connection refused"
names:
  description:
    - For each entry of RV(devices), in the same order, its allowlist name next to its portal id, with a
      warning where a C(.local) (mDNS) name does not carry the portal id (a case-insensitive substring
      test). Names chosen on the GX itself are C(.local) names; IP addresses and other names never warn.
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The target as given.
      type: str
      sample: venus.local
    name:
      description: The host part of the target.
      type: str
      sample: venus.local
    portal_id:
      description: The portal id that answered.
      type: str
      sample: c0619ab1c2d3
    address:
      description: The IP address that answered.
      type: str
      sample: 192.168.1.50
    mdns:
      description: Whether the name is a C(.local) (mDNS) name.
      type: bool
      sample: true
    carries_portal_id:
      description: Whether the name contains the portal id (case-insensitive).
      type: bool
      sample: false
    warning:
      description: Empty, or why the name should change (a C(.local) name without the portal id).
      type: str
      sample: "venus.local answers with portal id c0619ab1c2d3, which its name does not carry: ..."
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovr.fleet.plugins.module_utils import gx
from ansible_collections.ovr.fleet.plugins.module_utils.gx_module import GxModule


class GxDiscover(GxModule):
    """Discovery of portal ids behind a list of targets."""

    OPTIONS = dict(
        targets=dict(type="list", elements="str", required=True),
        port=dict(type="int", default=gx.DEFAULT_PORT),
        timeout=dict(type="float", default=5.0),
    )

    def run(self):
        self.check()
        targets = [t for t in self.params["targets"] if t is not None and str(t).strip()]
        devices, unreachable = self.engine.discover(
            targets,
            port=self.params["port"],
            timeout=self.params["timeout"],
            options=self.connection(),
        )
        return dict(changed=False, devices=devices, unreachable_targets=unreachable, names=gx.name_report(devices))


def main():
    module = AnsibleModule(**GxDiscover.module_kwargs())
    module.exit_json(**GxDiscover(module).run())


if __name__ == "__main__":
    main()
