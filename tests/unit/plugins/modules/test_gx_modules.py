# -*- coding: utf-8 -*-
"""Unit tests for the gx_discover, gx_keepalive and gx_telemetry modules (mocked module and engine)."""

import yaml
import pytest

from ansible_collections.ovr.fleet.plugins.doc_fragments.mqtt import ModuleDocFragment
from ansible_collections.ovr.fleet.plugins.module_utils import gx, mqtt, victron
from ansible_collections.ovr.fleet.plugins.module_utils.gx_module import GxModule
from ansible_collections.ovr.fleet.plugins.modules import gx_discover, gx_keepalive, gx_telemetry

MODULES = [gx_discover, gx_keepalive, gx_telemetry]


def module_class(module):
    """The GxModule subclass a gx_* module runs."""
    return next(value for value in vars(module).values()
                if isinstance(value, type) and issubclass(value, GxModule) and value is not GxModule)


DEVICE = {"target": "venus.local", "address": "192.0.2.10", "port": 1883, "portal_id": "abc123"}


class FakeEngine(object):
    """Records calls; returns canned results."""
    DEFAULT_PORT = 1883
    TelemetryError = gx.TelemetryError
    validate_devices = staticmethod(gx.validate_devices)

    def __init__(self, discover=None, keepalive=None, capture=None):
        self.calls = []
        self._discover = discover or ([], [])
        self._keepalive = keepalive or ([], [])
        self._capture = capture

    def discover(self, targets, **kwargs):
        self.calls.append(("discover", targets, kwargs))
        return self._discover

    def keepalive(self, devices, **kwargs):
        self.calls.append(("keepalive", devices, kwargs))
        return self._keepalive

    def capture(self, address, port, portal_id, **kwargs):
        self.calls.append(("capture", (address, port, portal_id), kwargs))
        if isinstance(self._capture, Exception):
            raise self._capture
        return self._capture


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_documentation_matches_argument_spec(module):
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = dict(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    options.update(doc["options"])
    spec = module_class(module).argument_spec()
    assert set(options) == set(spec)
    for name, opt in options.items():
        assert opt["type"] == spec[name].get("type", "str"), name
        assert opt.get("default") == spec[name].get("default"), name
        assert bool(opt.get("required")) == bool(spec[name].get("required")), name
        assert opt.get("choices") == spec[name].get("choices"), name
        assert opt.get("elements") == spec[name].get("elements"), name
    assert spec["password"]["no_log"] is True
    assert doc["attributes"]["check_mode"]["support"] == "full"
    for section in ("EXAMPLES", "RETURN"):
        assert yaml.safe_load(getattr(module, section))


def test_reserved_result_keys_are_not_used():
    # "failed", "unreachable", "skipped" and "changed" have a meaning to Ansible itself
    for module in MODULES:
        returned = set(yaml.safe_load(module.RETURN))
        assert not returned & {"failed", "unreachable", "skipped", "changed"}, module.__name__


# --- gx_discover -------------------------------------------------------------

def test_discover_passes_options_and_is_never_changed(fake_module):
    engine = FakeEngine(discover=([DEVICE], [{"target": "x.invalid", "reason": "resolve", "msg": "m"}]))
    module = fake_module(gx_discover.GxDiscover.argument_spec(),
                         {"targets": ["venus.local", " ", "x.invalid"], "timeout": 2.5,
                          "port": 1884, "username": "u", "password": "p"})
    result = gx_discover.GxDiscover(module, engine).run()
    assert result == {"changed": False, "devices": [DEVICE],
                      "unreachable_targets": [{"target": "x.invalid", "reason": "resolve", "msg": "m"}],
                      "names": gx.name_report([DEVICE])}
    dummy, targets, kwargs = engine.calls[0]
    assert targets == ["venus.local", "x.invalid"]
    assert kwargs["port"] == 1884 and kwargs["timeout"] == 2.5
    assert kwargs["options"].username == "u" and kwargs["options"].password == "p" and not kwargs["options"].tls


def test_discover_reports_each_gx_name_next_to_its_portal_id(fake_module):
    """The allowlist-name report: a .local name without the portal id warns; others do not."""
    devices = [
        {"target": "venus.local", "address": "192.0.2.10", "port": 1883, "portal_id": "c0619ab1c2d3"},
        {"target": "Venus-C0619AB1C2D4.local:1884", "address": "192.0.2.11", "port": 1884, "portal_id": "c0619ab1c2d4"},
        {"target": "192.0.2.12", "address": "192.0.2.12", "port": 1883, "portal_id": "c0619ab1c2d5"},
        {"target": "gx-van3.site.lan", "address": "192.0.2.13", "port": 1883, "portal_id": "c0619ab1c2d6"},
    ]
    module = fake_module(gx_discover.GxDiscover.argument_spec(), {"targets": [d["target"] for d in devices]})
    names = gx_discover.GxDiscover(module, FakeEngine(discover=(devices, []))).run()["names"]
    assert [(n["name"], n["portal_id"], n["mdns"], n["carries_portal_id"]) for n in names] == [
        ("venus.local", "c0619ab1c2d3", True, False),
        ("venus-c0619ab1c2d4.local", "c0619ab1c2d4", True, True),  # case-insensitive, port dropped
        ("192.0.2.12", "c0619ab1c2d5", False, False),
        ("gx-van3.site.lan", "c0619ab1c2d6", False, False),
    ]
    assert names[0]["warning"].startswith("venus.local answers with portal id c0619ab1c2d3, which its name "
                                          "does not carry")
    assert [n["warning"] for n in names[1:]] == ["", "", ""]
    assert names[1]["target"] == "Venus-C0619AB1C2D4.local:1884" and names[1]["address"] == "192.0.2.11"


def test_name_report_of_nothing_found_is_empty():
    assert gx.name_report([]) == []


def test_discover_runs_in_check_mode(fake_module):
    engine = FakeEngine(discover=([DEVICE], []))
    module = fake_module(gx_discover.GxDiscover.argument_spec(), {"targets": ["venus.local"]}, check_mode=True)
    assert gx_discover.GxDiscover(module, engine).run()["devices"] == [DEVICE]


@pytest.mark.parametrize("params, message", [
    ({"timeout": 0}, "timeout must be greater than 0"),
    ({"port": 70000}, "port must be within"),
    ({"ca_cert": "/nonexistent/ca.pem"}, "cannot set up TLS"),
])
def test_discover_rejects_bad_input(fake_module, params, message):
    module = fake_module(gx_discover.GxDiscover.argument_spec(), dict({"targets": ["a"]}, **params))
    with pytest.raises(fake_module.FailJson, match=message):
        gx_discover.GxDiscover(module, FakeEngine()).run()


# --- gx_keepalive ------------------------------------------------------------

def test_keepalive_sends_and_reports(fake_module):
    sent = [dict(DEVICE, topic="R/abc123/keepalive", mode="full")]
    failed = [dict(DEVICE, portal_id="def456", reason="timeout", msg="no answer")]
    engine = FakeEngine(keepalive=(sent, failed))
    module = fake_module(gx_keepalive.GxKeepalive.argument_spec(),
                         {"devices": [DEVICE, dict(DEVICE, portal_id="def456")], "mode": "full"})
    result = gx_keepalive.GxKeepalive(module, engine).run()
    assert result == {"changed": True, "sent": sent, "failed_devices": failed}
    assert engine.calls[0][2]["mode"] == "full"
    assert module.warnings and "def456" in module.warnings[0] and "timeout" in module.warnings[0]


def test_keepalive_nothing_sent_is_no_change(fake_module):
    engine = FakeEngine(keepalive=([], [dict(DEVICE, reason="connect", msg="refused")]))
    module = fake_module(gx_keepalive.GxKeepalive.argument_spec(), {"devices": [DEVICE]})
    result = gx_keepalive.GxKeepalive(module, engine).run()
    assert result["changed"] is False and result["failed_devices"][0]["reason"] == "connect"


def test_keepalive_check_mode_publishes_nothing(fake_module):
    engine = FakeEngine()
    module = fake_module(gx_keepalive.GxKeepalive.argument_spec(), {"devices": [DEVICE]}, check_mode=True)
    result = gx_keepalive.GxKeepalive(module, engine).run()
    assert engine.calls == []
    assert result["changed"] is True and result["sent"] == [] and result["failed_devices"] == []
    assert result["planned"] == [dict(DEVICE, topic="R/abc123/keepalive", mode="suppress")]
    empty = fake_module(gx_keepalive.GxKeepalive.argument_spec(), {"devices": []}, check_mode=True)
    assert gx_keepalive.GxKeepalive(empty, engine).run()["changed"] is False


@pytest.mark.parametrize("devices, message", [
    ([{"address": "192.0.2.1"}], "no portal_id"),
    ([{"portal_id": "abc"}], "neither address nor target"),
    ([{"address": "192.0.2.1", "portal_id": "a/b"}], "invalid portal id"),
    (["venus.local"], "not a dict"),
    # the grammar of fleet_model.parse_endpoint (gx.parse_target delegates to it) names the bad port
    ([{"target": "venus.local:notaport", "portal_id": "abc"}], "invalid target 'venus.local:notaport': port 'notaport' is not a number"),
])
def test_keepalive_rejects_malformed_devices(fake_module, devices, message):
    module = fake_module(gx_keepalive.GxKeepalive.argument_spec(), {"devices": devices})
    with pytest.raises(fake_module.FailJson, match=message):
        gx_keepalive.GxKeepalive(module, FakeEngine()).run()


# --- gx_telemetry ------------------------------------------------------------

def _capture_result():
    norm = victron.Normaliser(keep_latest=True)
    norm.feed("N/abc123/vebus/276/Ac/ActiveIn/L2/P", b'{"value": 10}')
    norm.feed("N/abc123/battery/512/Soc", b'{"value": 80}')
    norm.feed("N/abc123/battery/512/TimeToGo", b'{"value": null}')
    return {"normaliser": norm, "requests": 1, "token": "t", "completed_at": 1.0}


def test_telemetry_returns_sorted_metrics(fake_module):
    engine = FakeEngine(capture=_capture_result())
    module = fake_module(gx_telemetry.GxTelemetry.argument_spec(),
                         {"address": "venus.local", "portal_id": "abc123", "duration": 0.5}, check_mode=True)
    result = gx_telemetry.GxTelemetry(module, engine).run()
    assert [c[0] for c in engine.calls] == ["capture"]  # no discovery with a given portal id
    assert result["changed"] is False and result["portal_id"] == "abc123"
    assert result["metrics"] == [
        {"name": "victron_battery_soc", "labels": {"portal_id": "abc123", "service": "battery", "instance": "512"},
         "value": 80.0},
        {"name": "victron_vebus_ac_activein_p",
         "labels": {"portal_id": "abc123", "service": "vebus", "instance": "276", "phase": "L2"}, "value": 10.0},
    ]
    assert result["skipped_messages"]["null"] == 1 and result["messages"] == 3 and result["requests"] == 1
    assert engine.calls[0][2]["duration"] == 0.5


def test_telemetry_discovers_the_portal_id(fake_module):
    engine = FakeEngine(discover=([DEVICE], []), capture=_capture_result())
    module = fake_module(gx_telemetry.GxTelemetry.argument_spec(), {"address": "fd00::1", "port": 1884})
    assert gx_telemetry.GxTelemetry(module, engine).run()["portal_id"] == "abc123"
    assert engine.calls[0][1] == ["[fd00::1]:1884"]
    assert engine.calls[1][1] == ("fd00::1", 1884, "abc123")


@pytest.mark.parametrize("discovered, message", [
    (([], [{"target": "t", "reason": "auth", "msg": "refused"}]), "auth: refused"),
    (([DEVICE, dict(DEVICE, portal_id="zzz")], []), "several portal ids"),
])
def test_telemetry_discovery_failures(fake_module, discovered, message):
    module = fake_module(gx_telemetry.GxTelemetry.argument_spec(), {"address": "venus.local"})
    with pytest.raises(fake_module.FailJson, match=message):
        gx_telemetry.GxTelemetry(module, FakeEngine(discover=discovered)).run()


def test_telemetry_capture_error_fails(fake_module):
    engine = FakeEngine(capture=gx.TelemetryError("did not complete"))
    module = fake_module(gx_telemetry.GxTelemetry.argument_spec(), {"address": "venus.local", "portal_id": "abc123"})
    with pytest.raises(fake_module.FailJson, match="did not complete") as info:
        gx_telemetry.GxTelemetry(module, engine).run()
    assert info.value.kwargs["portal_id"] == "abc123"


@pytest.mark.parametrize("module, cls, params", [
    (gx_telemetry, "GxTelemetry", {"address": "venus.local", "portal_id": "abc123"}),
    (gx_discover, "GxDiscover", {"targets": ["venus.local"]}),
    (gx_keepalive, "GxKeepalive", {"devices": [DEVICE]}),
], ids=["gx_telemetry", "gx_discover", "gx_keepalive"])
def test_without_paho_fails_with_missing_required_lib(fake_module, monkeypatch, module, cls, params):
    monkeypatch.setattr(mqtt, "HAS_PAHO", False)
    monkeypatch.setattr(mqtt, "PAHO_IMPORT_ERROR", "Traceback: No module named 'paho'")
    engine = FakeEngine()
    fake = fake_module(getattr(module, cls).argument_spec(), params)
    with pytest.raises(fake_module.FailJson) as info:
        getattr(module, cls)(fake, engine).run()
    assert "paho-mqtt" in info.value.kwargs["msg"]
    assert info.value.kwargs["exception"] == "Traceback: No module named 'paho'"
    assert engine.calls == []


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_documentation_requires_paho(module):
    assert "paho-mqtt >= 2.0" in yaml.safe_load(module.DOCUMENTATION)["requirements"]


@pytest.mark.parametrize("params, message", [
    ({"timeout": -1}, "timeout must be greater than 0"),
    ({"duration": -1}, "duration must not be negative"),
    ({"port": 0}, "port must be within"),
])
def test_telemetry_rejects_bad_input(fake_module, params, message):
    module = fake_module(gx_telemetry.GxTelemetry.argument_spec(), dict({"address": "a", "portal_id": "p"}, **params))
    with pytest.raises(fake_module.FailJson, match=message):
        gx_telemetry.GxTelemetry(module, FakeEngine()).run()
