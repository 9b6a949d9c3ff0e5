# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the gx_* modules share: their AnsibleModule settings and the checks of their common options.

Each module subclasses :class:`GxModule`, names its own options in ``OPTIONS`` and writes ``run()``;
the connection options (``ovr.fleet.mqtt`` doc fragment), the range checks of ``timeout``, ``port``
and ``duration`` and the paho-mqtt requirement live here once. Controller side only: this file is
not shipped to edge nodes (the on-node tools use ``gx``, ``mqtt`` and ``victron``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

from . import gx
from .mqtt import (
    CONNECTION_ARGSPEC,
    CONNECTION_REQUIRED_BY,
    CONNECTION_REQUIRED_TOGETHER,
    options_from_module,
    require_paho,
)


class GxModule(object):
    """One gx_* module call: ``module`` (an AnsibleModule) and the MQTT ``engine`` (``gx``, or a fake in tests)."""

    OPTIONS = {}  # the module's own options; the connection options are added by argument_spec()

    def __init__(self, module, engine=gx):
        self.module = module
        self.engine = engine
        self.params = module.params

    @classmethod
    def argument_spec(cls):
        spec = dict(cls.OPTIONS)
        spec.update(CONNECTION_ARGSPEC)
        return spec

    @classmethod
    def module_kwargs(cls):
        """Keyword arguments for AnsibleModule: every gx_* module supports check mode."""
        return dict(argument_spec=cls.argument_spec(), required_together=CONNECTION_REQUIRED_TOGETHER,
                    required_by=CONNECTION_REQUIRED_BY, supports_check_mode=True)

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg, **kwargs)

    def check(self):
        """Fail on out-of-range common options, then on a missing paho-mqtt."""
        params = self.params
        if not params["timeout"] > 0:
            self.fail("timeout must be greater than 0, got %s" % params["timeout"])
        if params.get("duration") is not None and params["duration"] < 0:
            self.fail("duration must not be negative, got %s" % params["duration"])
        if "port" in params and not 0 < params["port"] < 65536:
            self.fail("port must be within 1-65535, got %s" % params["port"])
        require_paho(self.module)

    def connection(self):
        """The MQTT credentials and TLS settings of this call (fails the module on unusable TLS files)."""
        return options_from_module(self.module)

    def run(self):
        raise NotImplementedError
