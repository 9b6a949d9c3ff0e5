#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# The code is the action plugin plugins/action/smoke_check.py; this file holds its documentation.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: smoke_check
short_description: Read-only smoke checks of a node, each judged with what was expected and what was seen
version_added: "0.1.0"
description:
  - Runs a list of checks against the node and returns one result per check (V(pass), V(fail) or
    V(skip), with what was expected and what was seen) and the counts. It changes nothing.
  - The node is asked with bundled modules, only what the checks that apply need - units with
    M(community.general.systemd_info), TCP listeners with M(community.general.listen_ports_facts),
    containers with M(community.docker.docker_host_info) and M(community.docker.docker_container_info),
    HTTP endpoints with M(ansible.builtin.uri), commands with M(ansible.builtin.command).
  - Check types are V(containers) (the containers of a Compose project running, and healthy when they
    have a health check), V(port) (a TCP listener), V(http) (status, JSON content, body), V(unit)
    (a systemd unit's active state) and V(command) (exit code and output of a read-only command).
  - Every check runs, a failed one does not stop the others, and a failed check does not fail the
    task - test RV(counts.fail) (the C(ovr.fleet.smoke) role fails once with RV(msg)).
  - The task fails before asking the node anything when a check definition is wrong (no name, an
    unknown type or key, a missing or ill-typed value), naming the host, each such check and what is wrong.
  - Reading the listeners with their processes and the Docker socket needs root, run it with C(become).
author:
  - ovr.fleet contributors (@ovr-fleet)
requirements:
  - On the node - systemd, C(ss) (iproute2) and C(ps), and the Python C(requests) library when
    there are container checks (community.docker).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: It only reads, so it runs the same in check mode, commands and HTTP requests included
      (as C(check_mode=false) on a task would).
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  checks:
    description:
      - The checks, run in order. Each is a dict with C(name) (shown in the results), C(type) and
        the keys of its type.
      - Any check may have C(when_unit) (a unit name; the check is skipped unless systemd has that
        unit loaded) and C(skip) (true skips it).
      - V(containers) - C(project) (the Compose project name, required), C(services) (list; default
        every service the project has on the node, at least one), C(healthy) (default true; a
        container without a health check counts as healthy when running).
      - V(port) - C(port) (required), C(address) (default any; a listener on every interface
        satisfies any address).
      - V(http) - C(url) (required), C(method) (default GET), C(headers), C(body), C(url_username)
        and C(url_password) (basic auth, sent at once), C(validate_certs) (default true), C(status)
        (expected status or list of them, default 200), C(json) (dict of key and value the JSON
        object must hold; a null value only requires the key), C(json_type) (V(object) or V(list)),
        C(contains) (a text the body must contain). Redirects are not followed.
      - V(unit) - C(unit) (required; a .service, .target, .socket, .mount or .timer), C(state)
        (expected ActiveState, default V(active)), C(optional) (true skips the check when the unit is
        not loaded).
      - V(command) - C(cmd) (required; split like M(ansible.builtin.command), no shell, it must only
        read), C(rc) (expected exit code, default 0), C(stdout) (a regular expression the output must match).
      - Systemd reports a unit only while it is loaded - an enabled or running unit is; one that is
        installed but disabled and stopped counts as not installed.
    type: list
    elements: dict
    required: true
  http_timeout:
    description: Seconds each HTTP check may take.
    type: int
    default: 10
seealso:
  - module: community.general.systemd_info
  - module: community.general.listen_ports_facts
  - module: community.docker.docker_host_info
  - module: community.docker.docker_container_info
  - module: ansible.builtin.uri
"""

EXAMPLES = r"""
- name: Check the node
  ovr.fleet.smoke_check:
    checks:
      - name: edge containers running and healthy
        type: containers
        project: ovr-edge
      - name: VictoriaMetrics listening on 127.0.0.1:8428
        type: port
        port: 8428
        address: 127.0.0.1
      - name: edge health API
        type: http
        url: http://127.0.0.1/api/health
        json: {status: null}
      - name: collector health
        type: http
        url: http://127.0.0.1:9108/healthz
        json: {status: ok}
        when_unit: ovr-collector.service
      - name: GX refresh timer active
        type: unit
        unit: ovr-refresh-gx-mqtt-sources.timer
        optional: true
      - name: clock synchronised
        type: command
        cmd: timedatectl show --property=NTPSynchronized --value
        stdout: ^yes
  become: true
  register: smoke

- name: Fail naming every failed check
  ansible.builtin.assert:
    that: smoke.counts.fail == 0
    fail_msg: "{{ smoke.msg }}"
"""

RETURN = r"""
results:
  description: One item per check, in the order of O(checks).
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The check's name.
      type: str
      sample: VictoriaMetrics listening on 127.0.0.1:8428
    type:
      description: The check's type.
      type: str
      sample: port
    status:
      description: V(pass), V(fail) or V(skip).
      type: str
      sample: fail
    expected:
      description: What the check expects, in words (empty for a skipped check).
      type: str
      sample: a TCP listener on 127.0.0.1:8428
    seen:
      description: What was seen - V(as expected) for a pass, what differed for a fail, the reason for a skip.
      type: str
      sample: nothing listens on port 8428
counts:
  description: How many checks passed, failed and were skipped, and how many there were.
  returned: success
  type: dict
  sample: {pass: 9, fail: 1, skip: 1, total: 11}
  contains:
    pass:
      description: Checks that passed.
      type: int
    fail:
      description: Checks that failed.
      type: int
    skip:
      description: Checks skipped (C(skip), C(when_unit), or an C(optional) unit not installed).
      type: int
    total:
      description: All checks.
      type: int
msg:
  description:
    - One line for the whole run, naming the host. When a check failed, every failed check
      with what was expected and what was seen; otherwise how many passed and were skipped.
  returned: success
  type: str
  sample: "edge-1: 1 of 10 smoke checks FAILED. [VictoriaMetrics listening on 127.0.0.1:8428]
    expected a TCP listener on 127.0.0.1:8428; saw nothing listens on port 8428."
"""
