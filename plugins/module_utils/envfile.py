# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The env-file dialect of ovr.fleet, written and read by this one implementation.

Used by the ``ovr.fleet.to_env_file`` filter (on the controller) and, on a node, by
``ovr-check-env`` (``ovr_node.envcheck``, the validator of every env file a role writes) and
the collector's config reader (``ovr_node.config``). Standard library only, no Ansible import.

The dialect is the part of Docker Compose's ``.env`` syntax that reads back unchanged
everywhere (Compose, systemd's EnvironmentFile= for the values we write, these tools)::

    # a comment line (blank lines are fine too)
    KEY='value'            single quotes: taken literally, may hold anything but ' and a line break
    KEY="it's \\"x\\" $$5"    double quotes, only when the value holds a ': \\\\, \\" and $$ escaped
    KEY=value              bare: no blank, quote, #, $ or backslash (hand-written files)

:func:`render` writes every value single-quoted, or double-quoted when it holds a single quote,
keys sorted, so the same dict always gives the same text. :func:`parse` reads that text back
to the same dict and refuses anything else with the line number and the reason.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import re

KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LINE_RE = re.compile(r"""^([A-Za-z_][A-Za-z0-9_]*)=('[^']*'|"(?:[^"\\$]|\\[\\"]|\$\$)*"|[^\s'"#$\\]*)$""")
_UNESCAPE_RE = re.compile(r"""\\([\\"])|\$(\$)""")


class EnvFileError(ValueError):
    """A value, key or line outside the dialect; ``line`` is the line number (0: not from a file)."""

    def __init__(self, msg, line=0):
        super(EnvFileError, self).__init__(msg)
        self.msg = msg
        self.line = line


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def quote(value):
    """One value as the dialect writes it (``'value'``, or ``"..."`` when it holds a ``'``)."""
    text = _text(value)
    if "\n" in text or "\r" in text or "\x00" in text:
        raise EnvFileError("an env value may not contain a line break or NUL byte")
    if "'" not in text:
        return "'%s'" % text
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")


def render(data, header=None):
    """dict -> text of ``KEY='value'`` lines, sorted by key, after an optional ``#`` header.

    A value of None is written empty, a bool as true/false, anything else as its text.
    Raises EnvFileError naming the key.
    """
    if not isinstance(data, dict):
        raise EnvFileError("expects a dict, got %s" % type(data).__name__)
    lines = []
    if header:
        lines.extend("# %s" % line if line else "#" for line in _text(header).splitlines())
    for key in sorted(data, key=_text):
        if not KEY_RE.match(_text(key)):
            raise EnvFileError("%r is not a valid env variable name" % (key,))
        try:
            lines.append("%s=%s" % (key, quote(data[key])))
        except EnvFileError as exc:
            raise EnvFileError("%s: %s" % (key, exc.msg))
    return "\n".join(lines) + "\n"


def _value(raw):
    if raw[:1] == "'":
        return raw[1:-1]
    if raw[:1] == '"':
        return _UNESCAPE_RE.sub(lambda m: m.group(1) or m.group(2), raw[1:-1])
    return raw


def parse_line(line, number=0):
    """One line -> ``(key, value)``, or None for a blank or comment line. Raises EnvFileError."""
    if not line.strip() or line.lstrip().startswith("#"):
        return None
    line = line.rstrip(" \t\r")
    match = _LINE_RE.match(line)
    if match:
        return match.group(1), _value(match.group(2))
    key, sep, raw = line.partition("=")
    if not sep or not KEY_RE.match(key):
        why = "is not KEY=VALUE" if not sep else "does not start with a variable name"
        raise EnvFileError("line %d %s: %s" % (number, why, key.strip()[:40]), number)
    if raw[:1] in ("'", '"'):
        why = ("is not quoted as the dialect writes it (an unclosed quote, text after the closing "
               "quote, or in double quotes a $ or backslash that is not $$, \\\\ or \\\")")
    else:
        why = "is a bare value with a blank, quote, #, $ or backslash: quote it"
    raise EnvFileError("line %d: the value of %s %s" % (number, key, why), number)


def parse(text):
    """Text of an env file -> dict. Raises EnvFileError at the first bad line or repeated key."""
    values = {}
    for number, line in enumerate(text.splitlines(), 1):
        pair = parse_line(line, number)
        if pair is None:
            continue
        if pair[0] in values:
            raise EnvFileError("line %d sets %s a second time" % (number, pair[0]), number)
        values[pair[0]] = pair[1]
    return values


def problems(text, required=()):
    """Every problem of an env file's text (empty when it is fine): bad lines, keys set twice,
    ``required`` keys missing or empty. For validators that report all at once."""
    values, found = {}, []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            pair = parse_line(line, number)
        except EnvFileError as exc:
            found.append(exc.msg)
            continue
        if pair is None:
            continue
        if pair[0] in values:
            found.append("line %d sets %s a second time" % (number, pair[0]))
        values[pair[0]] = pair[1]
    found.extend("required key %s is missing or empty" % key for key in required if not values.get(key))
    return found
