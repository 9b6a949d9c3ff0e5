# -*- coding: utf-8 -*-
"""Unit tests for plugins/module_utils/mqtt.py."""

import ssl

import pytest

from ansible_collections.ovr.fleet.plugins.module_utils import mqtt


class Module(object):
    def __init__(self, params):
        self.params = params

    def fail_json(self, **kwargs):
        raise RuntimeError(kwargs)


def params(**kwargs):
    base = dict((k, spec.get("default")) for k, spec in mqtt.CONNECTION_ARGSPEC.items())
    base.update(kwargs)
    return base


def test_argspec_hides_the_password_only():
    assert mqtt.CONNECTION_ARGSPEC["password"]["no_log"] is True
    assert mqtt.CONNECTION_ARGSPEC["client_key"]["no_log"] is False  # a path, not a secret
    assert mqtt.CONNECTION_REQUIRED_BY == {"password": "username"}


def test_options_imply_tls():
    assert not mqtt.ConnectionOptions().tls
    assert mqtt.ConnectionOptions(ca_cert="/x").tls
    assert mqtt.ConnectionOptions(tls_insecure=True).tls
    assert mqtt.ConnectionOptions(tls=True).tls
    assert mqtt.ConnectionOptions().ssl_context() is None


def test_ssl_context_secure_by_default_and_insecure_on_request():
    ctx = mqtt.ConnectionOptions(tls=True).ssl_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert mqtt.ConnectionOptions(tls=True).ssl_context() is not None
    options = mqtt.ConnectionOptions(tls_insecure=True)
    assert options.ssl_context() is options.ssl_context()  # built once
    assert options.ssl_context().verify_mode == ssl.CERT_NONE and not options.ssl_context().check_hostname


def test_options_from_module_fails_on_missing_ca():
    with pytest.raises(RuntimeError, match="cannot set up TLS"):
        mqtt.options_from_module(Module(params(ca_cert="/nonexistent/ca.pem")))
    options = mqtt.options_from_module(Module(params(username="u", password="p")))
    assert (options.username, options.password, options.tls) == ("u", "p", False)


def test_build_client_applies_credentials_and_tls():
    client = mqtt.build_client(mqtt.ConnectionOptions(username="u", password="p", tls_insecure=True))
    assert client._username == b"u" and client._password == b"p"
    assert client._ssl_context is not None
    assert client._client_id.startswith(b"ovr-fleet-")
    plain = mqtt.build_client()
    assert plain._username is None and plain._ssl_context is None
    assert plain._client_id != client._client_id


def test_require_paho(monkeypatch):
    mqtt.require_paho(Module({}))  # installed here: nothing happens
    monkeypatch.setattr(mqtt, "HAS_PAHO", False)
    with pytest.raises(RuntimeError) as info:
        mqtt.require_paho(Module({}))
    assert "paho-mqtt" in str(info.value)
    with pytest.raises(RuntimeError, match="paho-mqtt is required"):
        mqtt.build_client()
