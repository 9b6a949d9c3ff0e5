# -*- coding: utf-8 -*-
"""roles/gx_mqtt_sources/files/victron_mqtt.star (Telegraf) names metrics exactly as module_utils/victron.py does.

The Starlark processor gets what Telegraf's mqtt_consumer with json_v2 (field path
"value") hands it: tag ``topic`` and a field ``value`` that is a float, bool or string;
json_v2 gives no field for null and drops empty or non-JSON payloads. ``telegraf_field``
below models that, and both implementations must agree on every message.
"""

import itertools
import json
import math
import os
import random

import pytest

from ansible_collections.ovr.fleet.plugins.module_utils import victron

starlark = pytest.importorskip("starlark")

STAR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    "roles", "gx_mqtt_sources", "files", "victron_mqtt.star")
NO_FIELD = object()  # message dropped by json_v2 before the processor, or no "value" field


@pytest.fixture(scope="module")
def star():
    with open(STAR) as handle:
        source = handle.read()
    module = starlark.Module()
    ast = starlark.parse("victron_mqtt.star", source, starlark.Dialect.standard())
    starlark.eval(module, ast, starlark.Globals.standard())
    return module.freeze()


def telegraf_field(payload):
    """What json_v2 (path "value") makes of a payload: the field value, or NO_FIELD."""
    try:
        doc = json.loads(payload)
    except ValueError:
        return NO_FIELD
    if not isinstance(doc, dict) or doc.get("value") is None:
        return NO_FIELD
    value = doc["value"]
    if isinstance(value, float) and not math.isfinite(value):
        return NO_FIELD  # gjson does not parse NaN/Infinity
    if isinstance(value, (list, dict)):
        return json.dumps(value)  # json_v2 renders non-scalar results as text
    return value


def python_result(topic, payload):
    metric, _reason = victron.normalise(topic, payload)
    return None if metric is None else (metric.name, metric.labels, metric.value)


def star_result(star, topic, payload):
    field = telegraf_field(payload)
    if field is NO_FIELD:
        return None
    result = star.call("victron_normalise", topic, field)
    return None if result is None else tuple(result)


TOPICS = [
    "N/abc123/vebus/276/Ac/ActiveIn/L1/P", "N/abc123/vebus/276/Ac/ActiveIn/L2/V", "N/abc123/vebus/276/Ac/Out/L3/P",
    "N/abc123/system/0/Dc/Battery/Soc", "N/abc123/system/0/Ac/Consumption/L1/Power", "N/abc123/system/0/Batteries",
    "N/abc123/solarcharger/288/Yield/Power", "N/abc123/battery/512/Dc/0/Temperature",
    "N/abc123/settings/0/Settings/CGwacs/AcPowerSetPoint", "N/abc123/grid/30/L1/Power",
    "N/abc123/x/1/A/L3/B/L1", "N/abc123/x/1/l1/P", "N/abc123/x/1/L12/P", "N/abc123/x/1/L1",
    "N/abc123/Some-Svc/7/Foo Bar/Bäz.Qux", "N/abc123/svc/7/a__b///c", "N/abc123/svc/7/İstanbul",
    "N/abc123/svc/7/tab\there", "N/abc123/svc/7/emoji🙂/x", "N/abc123/SVC/07/UPPER/Case_",
    "N/a\"b/svc/1/p", "N/abc123/svc/1/_lead", "N/abc123/svc/1/trail_/",
    # not metrics
    "N/abc123/heartbeat", "N/abc123/keepalive", "N/abc123/full_publish_completed", "N/abc123/system/0",
    "N/abc123/system/0/", "N//system/0/Soc", "N/p//0/Soc", "N/p/system//Soc", "R/abc123/system/0/Soc",
    "W/abc123/vebus/276/Mode", "n/abc123/system/0/Soc", "", "N",
]
PAYLOADS = [
    b'{"value": 230.5}', b'{"value": 0}', b'{"value": -17}', b'{"value": 1e-7}', b'{"value": 123456789012}',
    b'{"value": true}', b'{"value": false}', b'{"value": null}', b'{"value": "MultiPlus"}', b'{"value": ""}',
    b'{"value": [{"soc": 80}]}', b'{"value": {"a": 1}}', b'{"max": 1, "min": 0, "value": 1}', b'{"max": 1}',
    b"", b"garbage", b"1", b"[1]", b'{"value": NaN}',
]


def test_the_processor_is_self_contained_and_apply_drops_non_metrics():
    with open(STAR) as handle:
        source = handle.read()
    ast = starlark.parse("victron_mqtt.star", source, starlark.Dialect.standard())
    assert list(ast.loads()) == []
    # Telegraf's Metric is not available here: a struct with the same tags/fields dicts
    # exercises apply()'s drop paths (the rename path assigns metric.name, which only
    # Telegraf's Metric allows; its logic is victron_normalise, checked below).
    driver = source + """
def drop(tags, fields):
    return apply(struct(name="mqtt_consumer", tags=tags, fields=fields)) == None
checks = [
    drop({}, {"value": 1.0}),
    drop({"topic": "N/p/heartbeat"}, {"value": 1.0}),
    drop({"topic": "N/p/system/0/Serial"}, {"value": "p"}),
    drop({"topic": "N/p/system/0/Dc/Battery/Soc"}, {}),
]
"""
    module = starlark.Module()
    globals_ = starlark.Globals.extended_by([starlark.LibraryExtension.StructType])
    starlark.eval(module, starlark.parse("driver.star", driver, starlark.Dialect.standard()), globals_)
    assert module["checks"] == [True, True, True, True]


def test_parity_on_the_matrix(star):
    mismatches = []
    for topic, payload in itertools.product(TOPICS, PAYLOADS):
        py, st = python_result(topic, payload), star_result(star, topic, payload)
        if py != st:
            mismatches.append((topic, payload, py, st))
    assert mismatches == []


def test_parity_on_random_topics(star):
    rng = random.Random(1234)
    alphabet = "abcXYZ019_-. /+#LéÅ🙂\"\\"
    segments = ["L1", "L2", "L3", "Ac", "Dc", "0", "", "P"]
    checked = 0
    for dummy in range(1500):
        parts = ["N", "p%d" % rng.randint(0, 3), rng.choice(["vebus", "system", "Sv-c", ""]), str(rng.randint(0, 300))]
        for dummy2 in range(rng.randint(0, 5)):
            if rng.random() < 0.4:
                parts.append(rng.choice(segments))
            else:
                parts.append("".join(rng.choice(alphabet) for dummy3 in range(rng.randint(0, 6))).replace("/", ""))
        topic = "/".join(parts)
        payload = json.dumps({"value": rng.choice([rng.uniform(-1e6, 1e6), rng.randint(-5, 5), True, None, "s"])})
        assert python_result(topic, payload) == star_result(star, topic, payload), (topic, payload)
        checked += python_result(topic, payload) is not None
    assert checked > 500  # the random set really exercises metrics, not just rejections


def test_star_sanitize_matches(star):
    for text in ("Ac/ActiveIn-L1 P", "__A__", "ÅÄÖ", "İi", "x🙂y", "UPPER"):
        assert star.call("victron_sanitize", text) == victron.sanitize_name(text)
