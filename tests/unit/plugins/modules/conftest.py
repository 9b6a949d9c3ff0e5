# -*- coding: utf-8 -*-
"""A stand-in for AnsibleModule: params with argspec defaults, check_mode, fail_json/exit_json raising."""

import pytest


class FailJson(Exception):
    def __init__(self, kwargs):
        super(FailJson, self).__init__(kwargs.get("msg"))
        self.kwargs = kwargs


class FakeModule(object):
    FailJson = FailJson

    def __init__(self, argument_spec, params, check_mode=False):
        self.params = dict((k, spec.get("default")) for k, spec in argument_spec.items())
        unknown = set(params) - set(argument_spec)
        if unknown:
            raise AssertionError("unknown params %s" % sorted(unknown))
        self.params.update(params)
        self.check_mode = check_mode
        self.warnings = []

    def fail_json(self, **kwargs):
        raise FailJson(kwargs)

    def warn(self, msg):
        self.warnings.append(msg)


@pytest.fixture
def fake_module():
    return FakeModule
