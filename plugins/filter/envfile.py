# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a dict as a Docker Compose .env file (the dialect of module_utils/envfile.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.ovr.fleet.plugins.module_utils import envfile


def to_env_file(data, header=None):
    """dict -> text of KEY='value' lines, sorted by key, with an optional comment header."""
    if not isinstance(data, dict):
        raise AnsibleFilterError('to_env_file expects a dict, got %s' % type(data).__name__)
    try:
        return envfile.render(data, to_text(header) if header else None)
    except envfile.EnvFileError as exc:
        raise AnsibleFilterError(exc.msg)


class FilterModule(object):
    def filters(self):
        return {
            'to_env_file': to_env_file,
        }
