# -*- coding: utf-8 -*-
"""Unit tests for plugins/module_utils/victron.py (topic -> metric, the one implementation)."""

import json

import pytest

from ansible_collections.ovr.fleet.plugins.module_utils import victron
from ansible_collections.ovr.fleet.plugins.module_utils.victron import Metric


def v(value, **extra):
    doc = dict(extra, value=value)
    return json.dumps(doc).encode()


@pytest.mark.parametrize("topic, name, labels", [
    ("N/abc123/vebus/276/Ac/ActiveIn/L1/P", "victron_vebus_ac_activein_p",
     {"portal_id": "abc123", "service": "vebus", "instance": "276", "phase": "L1"}),
    ("N/abc123/system/0/Dc/Battery/Soc", "victron_system_dc_battery_soc",
     {"portal_id": "abc123", "service": "system", "instance": "0"}),
    ("N/abc123/vebus/276/Soc", "victron_vebus_soc", {"portal_id": "abc123", "service": "vebus", "instance": "276"}),
    # only the first exact L1/L2/L3 segment is lifted
    ("N/p/grid/30/L2/Power", "victron_grid_power", {"portal_id": "p", "service": "grid", "instance": "30", "phase": "L2"}),
    ("N/p/x/1/A/L3/B/L1", "victron_x_a_b_l1", {"portal_id": "p", "service": "x", "instance": "1", "phase": "L3"}),
    ("N/p/x/1/l1/P", "victron_x_l1_p", {"portal_id": "p", "service": "x", "instance": "1"}),
    ("N/p/x/1/L12/P", "victron_x_l12_p", {"portal_id": "p", "service": "x", "instance": "1"}),
    # a path of only the phase segment
    ("N/p/x/1/L1", "victron_x_", {"portal_id": "p", "service": "x", "instance": "1", "phase": "L1"}),
    # weird characters: replaced, runs collapsed, ASCII-only lower-casing
    ("N/p/Some-Svc/7/Foo Bar/Bäz.Qux", "victron_some_svc_foo_bar_b_z_qux",
     {"portal_id": "p", "service": "Some-Svc", "instance": "7"}),
    ("N/p/svc/7/a__b///c", "victron_svc_a_b_c", {"portal_id": "p", "service": "svc", "instance": "7"}),
    ("N/p/svc/7/İstanbul", "victron_svc_stanbul", {"portal_id": "p", "service": "svc", "instance": "7"}),
    ("N/p/svc/7/Pv/0/V", "victron_svc_pv_0_v", {"portal_id": "p", "service": "svc", "instance": "7"}),
])
def test_names_and_labels(topic, name, labels):
    assert victron.parse_topic(topic) == (name, labels)
    metric, reason = victron.normalise(topic, b'{"value": 1}')
    assert reason is None and metric == Metric(name, labels, 1.0)


@pytest.mark.parametrize("topic", [
    "N/abc123/heartbeat", "N/abc123/keepalive", "N/abc123/full_publish_completed",
    "N/abc123/system/0", "N/abc123/system/0/", "N//system/0/Soc", "N/p//0/Soc", "N/p/system//Soc",
    "R/abc123/system/0/Soc", "W/abc123/vebus/276/Mode", "n/abc123/system/0/Soc", "", "N",
])
def test_not_metric_topics(topic):
    assert victron.parse_topic(topic) is None
    assert victron.normalise(topic, v(1)) == (None, victron.SKIP_TOPIC)


@pytest.mark.parametrize("payload, expected", [
    (v(230.5), (230.5, None)),
    (v(3), (3.0, None)),
    (v(-0.25), (-0.25, None)),
    (v(True), (1.0, None)),
    (v(False), (0.0, None)),
    (v(1, max=1, min=0), (1.0, None)),            # a setting
    ('{"value": 2}', (2.0, None)),                 # str payloads too
    (v(None), (None, victron.SKIP_NULL)),
    (v("MultiPlus"), (None, victron.SKIP_STRING)),
    (v([{"soc": 80}]), (None, victron.SKIP_LIST)),
    (v({"a": 1}), (None, victron.SKIP_OBJECT)),
    (b"", (None, victron.SKIP_EMPTY)),
    (None, (None, victron.SKIP_EMPTY)),
    (b"not json", (None, victron.SKIP_JSON)),
    (b"\xff\xfe", (None, victron.SKIP_JSON)),
    (b"1", (None, victron.SKIP_NO_VALUE)),         # a bare number is not a Venus value
    (b'{"max": 1}', (None, victron.SKIP_NO_VALUE)),
    (b"[1, 2]", (None, victron.SKIP_NO_VALUE)),
    (b'{"value": NaN}', (None, victron.SKIP_NON_FINITE)),
    (b'{"value": 1e999}', (None, victron.SKIP_NON_FINITE)),
    (('{"value": 1%s}' % ("0" * 400)).encode(), (None, victron.SKIP_NON_FINITE)),
])
def test_parse_value(payload, expected):
    assert victron.parse_value(payload) == expected


def test_value_type_is_float():
    value, reason = victron.parse_value(v(7))
    assert reason is None and isinstance(value, float) and not isinstance(value, bool)


def test_sanitize():
    assert victron.sanitize_name("Ac/ActiveIn-L1 P") == "ac_activein_l1_p"
    assert victron.sanitize_name("__A__") == "_a_"
    assert victron.sanitize_name("ÅÄÖ") == "_"


def test_topic_cache_is_bounded_and_evicts_oldest():
    cache = victron.TopicCache(maxsize=3)
    for i in range(5):
        cache.get("N/p/s/0/T%d" % i)
    assert len(cache) == 3
    assert list(cache._data) == ["N/p/s/0/T2", "N/p/s/0/T3", "N/p/s/0/T4"]
    assert cache.get("N/p/s/0/T0")[0] == "victron_s_t0"  # recomputed after eviction
    assert cache.get("bogus") is None
    assert len(cache) == 3
    cache.clear()
    assert len(cache) == 0


def test_topic_info_includes_prometheus_prefix():
    name, labels, prefix = victron.topic_info("N/abc/vebus/276/Ac/Out/L2/P")
    assert prefix == 'victron_vebus_ac_out_p{portal_id="abc",service="vebus",instance="276",phase="L2"}'


def test_normaliser_counts_and_keeps_latest():
    norm = victron.Normaliser(keep_latest=True)
    assert norm.feed("N/p/battery/512/Soc", v(50)) == Metric("victron_battery_soc",
                                                             {"portal_id": "p", "service": "battery", "instance": "512"}, 50.0)
    norm.feed("N/p/battery/512/Soc", v(51))
    norm.feed("N/p/battery/512/TimeToGo", v(None))
    norm.feed("N/p/heartbeat", v(1))
    norm.feed("N/p/system/0/Batteries", v([]))
    assert norm.messages == 5 and norm.metrics == 2 and norm.skipped_total == 3
    assert norm.skipped[victron.SKIP_NULL] == 1 and norm.skipped[victron.SKIP_TOPIC] == 1
    assert [m.value for m in norm.latest.values()] == [51.0]
    # an empty payload: the item went away, its last sample is forgotten
    assert norm.feed("N/p/battery/512/Soc", b"") is None
    assert norm.latest == {} and norm.skipped[victron.SKIP_EMPTY] == 1


def test_normaliser_feed_line():
    norm = victron.Normaliser()
    line = norm.feed_line("N/abc123/vebus/276/Ac/ActiveIn/L1/P", v(230.5))
    assert line == ('victron_vebus_ac_activein_p{portal_id="abc123",service="vebus",instance="276",phase="L1"} 230.5')
    assert norm.feed_line("N/abc/system/0/Dc/Battery/Soc", v(True), timestamp_ms=1700000000123.9).endswith(
        "} 1.0 1700000000123")
    assert norm.feed_line("N/abc/heartbeat", v(1)) is None
    assert norm.feed_line("N/abc/system/0/Serial", v("abc")) is None
    assert norm.metrics == 2 and norm.skipped[victron.SKIP_TOPIC] == 1 and norm.skipped[victron.SKIP_STRING] == 1


def test_prometheus_formatting_and_escaping():
    metric = Metric("victron_x_y", {"portal_id": 'a"b\\c\nd', "service": "x", "instance": "1", "zeta": "z",
                                    "alpha": "a"}, 2.5)
    assert victron.format_metric(metric) == (
        'victron_x_y{portal_id="a\\"b\\\\c\\nd",service="x",instance="1",alpha="a",zeta="z"} 2.5')
    assert victron.format_metric(Metric("m", {}, 1.0), timestamp_ms=5) == "m 1.0 5"
    assert victron.format_value(float("nan")) == "NaN"
    assert victron.format_value(float("inf")) == "+Inf"
    assert victron.format_value(float("-inf")) == "-Inf"
    assert victron.format_value(1e21) == "1e+21"
    assert victron.escape_label_value("plain") == "plain"


def test_metric_helpers():
    m = Metric("n", {"b": "2", "a": "1"}, 1.0)
    assert m.as_dict() == {"name": "n", "labels": {"a": "1", "b": "2"}, "value": 1.0}
    assert m.series_key() == ("n", ("a", "1"), ("b", "2"))
    assert m != Metric("n", {}, 1.0) and "n" in repr(m)


def test_topic_builders():
    assert victron.serial_topic() == "N/+/system/0/Serial"
    assert victron.serial_topic("abc") == "N/abc/system/0/Serial"
    assert victron.keepalive_topic("abc") == "R/abc/keepalive"
    assert victron.subscription("abc") == "N/abc/#"
    assert victron.full_publish_completed_topic("abc") == "N/abc/full_publish_completed"
    assert victron.heartbeat_topic("abc") == "N/abc/heartbeat"
    assert victron.write_topic("abc", "vebus", 276, "/Mode") == "W/abc/vebus/276/Mode"
    assert victron.read_topic("abc", "system/0/Serial") == "R/abc/system/0/Serial"
    for bad in ("", "a/b", "+", "#", "a+"):
        with pytest.raises(ValueError):
            victron.keepalive_topic(bad)


def test_keepalive_payloads():
    assert json.loads(victron.keepalive_payload()) == {"keepalive-options": ["suppress-republish"]}
    assert victron.keepalive_payload("full") == b""
    assert json.loads(victron.keepalive_payload("full", echo="t1")) == {
        "keepalive-options": [{"full-publish-completed-echo": "t1"}]}
    with pytest.raises(ValueError):
        victron.keepalive_payload("suppress", echo="x")
    with pytest.raises(ValueError):
        victron.keepalive_payload("storm")


def test_parse_serial_and_completion():
    assert victron.parse_serial("N/abc/system/0/Serial", v("abc")) == "abc"
    assert victron.parse_serial("N/abc/system/0/Serial", b"") is None  # withdrawn
    assert victron.parse_serial("N/abc/system/1/Serial", v("abc")) is None
    assert victron.parse_serial("N/abc/system/0/Serial/x", v("abc")) is None
    assert victron.parse_completion(b'{"value": 5, "full-publish-completed-echo": "t"}') == (5, "t")
    assert victron.parse_completion(b'{"value": 5}') == (5, None)
    assert victron.parse_completion(b"") is None
    assert victron.parse_completion(b"[]") is None


def test_extra_labels_join_every_series_of_a_cache():
    norm = victron.Normaliser(extra_labels={"site": "s1", "node": "n2"})
    line = norm.feed_line("N/abc/vebus/276/Ac/ActiveIn/L1/P", b'{"value": 5}', 1700000000000)
    assert line == ('victron_vebus_ac_activein_p{portal_id="abc",service="vebus",instance="276",phase="L1",'
                    'node="n2",site="s1"} 5.0 1700000000000')
    metric = norm.feed("N/abc/system/0/Dc/Battery/Soc", b'{"value": 50}')
    assert metric.labels == {"portal_id": "abc", "service": "system", "instance": "0", "site": "s1", "node": "n2"}
    # the shared default cache is untouched
    assert "site" not in victron.topic_info("N/abc/system/0/Dc/Battery/Soc")[1]
    with pytest.raises(ValueError):
        victron.TopicCache(extra_labels={"portal_id": "x"})


def reference_parse_value(payload):
    """parse_value as it was written on json.loads alone: the fast path must agree with it."""
    if not payload:
        return None, victron.SKIP_EMPTY
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None, victron.SKIP_JSON
    if not isinstance(doc, dict) or "value" not in doc:
        return None, victron.SKIP_NO_VALUE
    return victron.parse_value(json.dumps(doc))


@pytest.mark.parametrize("payload", [
    b'{"value": 1.5}', b'{"value":2}', b'{"value": 1.5}  \n', b'{"value": 1.5} x', b'{"value": 1.5}{}',
    b'{"value": 1.5', b'{', b'{}', b'{"value": null}', b'{"value": "on"}', b'{"value": [1]}', b'{"value": {}}',
    b'{"value": true}', b'{"value": 1e999}', b'{"value": NaN}', b'{"value": -Infinity}', b'{"value": 10000000000000000000000}',
    b'{"value": 1, "value": 2}', b'{"v\xc3\xa9": 1, "value": 3}', b'{"value": 1}\xff', b'{\xff}',
    b'\xef\xbb\xbf{"value": 4}', '{"value": 5}'.encode("utf-16-le"), '{"value": 6}'.encode("utf-16"),
    '{"value": 7}'.encode("utf-32-le"), b' {"value": 8}', b'[{"value": 9}]', b'"value"', b'12', b'{"value": 1}\t\r\n ',
    '{"value": 10}', '{"value": 11} extra',
])
def test_the_json_fast_path_agrees_with_json_loads(payload):
    assert victron.parse_value(payload) == reference_parse_value(payload)
