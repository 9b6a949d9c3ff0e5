# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name


class ModuleDocFragment(object):
    # MQTT connection options shared by the gx_* modules
    # (argument spec: plugins/module_utils/mqtt.py CONNECTION_ARGSPEC).
    DOCUMENTATION = r"""
options:
  username:
    description:
      - User name for the MQTT broker. Omit for anonymous access (a GX's local broker).
    type: str
  password:
    description:
      - Password for O(username). Never logged.
    type: str
  tls:
    description:
      - Use TLS. Implied by O(ca_cert), O(client_cert) or O(tls_insecure).
    type: bool
    default: false
  ca_cert:
    description:
      - CA certificate bundle (PEM) to verify the broker with, instead of the system store.
    type: path
  client_cert:
    description:
      - Client certificate (PEM) for TLS client authentication. Requires O(client_key).
    type: path
  client_key:
    description:
      - Private key (PEM) of O(client_cert).
    type: path
  tls_insecure:
    description:
      - Do not verify the broker's certificate nor its host name (a GX's self-signed certificate).
    type: bool
    default: false
"""
