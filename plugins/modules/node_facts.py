#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: node_facts
short_description: Read what the roles need to know about a node in one call
version_added: "0.1.0"
description:
  - Reads the node's installed Debian packages, its users, its network interfaces and the interface
    of its IPv4 default route, whether it is a container, and the SSH connection Ansible arrived on
    (with the interface it arrives on). Changes nothing.
  - It stands in for fact gathering (C(ansible.builtin.setup), seconds per node) and for the roles'
    own probes. C(ovr.fleet._common) runs it once per run, before the first role, and registers
    its answer as C(__ovr_node).
  - Run it without C(become) to see the SSH connection (C(sudo) drops C(SSH_CONNECTION) from the
    environment); everything else it reads is readable by any user.
  - A part that cannot be read is left empty and named in RV(problems); the module itself does not fail.
author:
  - ovr.fleet contributors (@ovr-fleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: It only reads, so it runs under check mode as it does otherwise.
  diff_mode:
    support: none
  platform:
    platforms: posix
options: {}
"""

EXAMPLES = r"""
- name: Read the node
  ovr.fleet.node_facts:
  become: false
  register: node

- name: Install nftables only when it is missing
  ansible.builtin.apt:
    name: nftables
  when: "'nftables' not in node.packages"
"""

RETURN = r"""
packages:
  description: The names of the installed Debian packages (dpkg status C(ii)), sorted.
  type: list
  elements: str
  returned: always
  sample: [docker.io, nftables, python3]
passwd:
  description: The node's users, as C(getent passwd) gives them (name, password, uid, gid, gecos, home, shell).
  type: list
  elements: str
  returned: always
  sample: ["ovr-collector:x:998:998::/nonexistent:/usr/sbin/nologin"]
interfaces:
  description: The names of the node's network interfaces (C(/sys/class/net)), sorted.
  type: list
  elements: str
  returned: always
  sample: [eth0, lo, wlan0]
default_interface:
  description: The interface of the IPv4 default route (the lowest metric), or null when there is none.
  type: str
  returned: always
  sample: eth0
container:
  description: The kind of container the node is (C(systemd-detect-virt --container)), or C(none).
  type: str
  returned: always
  sample: none
ssh:
  description: The SSH connection Ansible arrived on, or null when it did not arrive over SSH.
  type: dict
  returned: always
  contains:
    client:
      description: The address of Ansible's end.
      type: str
      sample: 192.0.2.10
    client_port:
      description: The port of Ansible's end.
      type: int
    server:
      description: The node's address the connection arrived at.
      type: str
    port:
      description: The node's SSH port the connection arrived at.
      type: int
      sample: 22
    interface:
      description: The interface the connection arrives on (the route back to the client), null when unknown.
      type: str
      sample: eth0
problems:
  description: The parts that could not be read and why (empty when all were read).
  type: list
  elements: str
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovr.fleet.plugins.module_utils.node_facts import read

SBIN = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)

    def run(argv):
        path = module.get_bin_path(argv[0], opt_dirs=SBIN)
        if not path:
            return 127, ""
        rc, out, dummy = module.run_command([path] + argv[1:], environ_update={"LC_ALL": "C"})
        return rc, out

    def read_file(path):
        try:
            with open(path) as handle:
                return handle.read()
        except (IOError, OSError):
            return None

    result = read(run, read_file)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
