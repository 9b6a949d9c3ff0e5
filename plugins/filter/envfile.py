# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a dict as a Docker Compose .env file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

_KEY = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


def env_quote(value):
    """Quote one value the way Compose reads it back unchanged."""
    if isinstance(value, bool):
        value = 'true' if value else 'false'
    text = to_text(value)
    if '\n' in text or '\r' in text or '\x00' in text:
        raise AnsibleFilterError('an env value may not contain a line break or NUL byte')
    if "'" not in text:
        return "'%s'" % text
    escaped = text.replace('\\', '\\\\').replace('"', '\\"').replace('$', '$$')
    return '"%s"' % escaped


def to_env_file(data, header=None):
    """dict -> text of KEY='value' lines, sorted by key, with an optional comment header."""
    if not isinstance(data, dict):
        raise AnsibleFilterError('to_env_file expects a dict, got %s' % type(data).__name__)
    lines = []
    if header:
        lines.extend('# %s' % line if line else '#' for line in to_text(header).splitlines())
    for key in sorted(data):
        if not _KEY.match(to_text(key)):
            raise AnsibleFilterError('%r is not a valid env variable name' % (key,))
        value = data[key]
        if value is None:
            value = ''
        try:
            lines.append('%s=%s' % (key, env_quote(value)))
        except AnsibleFilterError as exc:
            raise AnsibleFilterError('%s: %s' % (key, exc))
    return '\n'.join(lines) + '\n'


class FilterModule(object):
    def filters(self):
        return {
            'to_env_file': to_env_file,
        }
