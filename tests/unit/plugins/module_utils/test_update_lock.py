# -*- coding: utf-8 -*-
"""plugins/module_utils/update_lock.py: what a node's update lock file means, fail-safe."""

import datetime

import pytest

from ansible_collections.ovr.fleet.plugins.module_utils import update_lock as ul

NOW = datetime.datetime(2026, 12, 1, 20, 0, tzinfo=datetime.timezone.utc)


def test_no_file_is_no_lock():
    state = ul.lock_state(None, NOW)
    assert (state["locked"], state["present"]) == (False, False)
    assert ul.describe(state) == "unlocked"


def test_written_lock_reads_back():
    text = ul.lock_text("main stage show", NOW + datetime.timedelta(hours=6), "ops", NOW)
    state = ul.lock_state(text, NOW)
    assert state["locked"] and not state["expired"] and not state["problem"]
    assert (state["reason"], state["expires"], state["set_by"], state["set_at"]) == (
        "main stage show", "2026-12-02T02:00:00Z", "ops", "2026-12-01T20:00:00Z")
    assert ul.describe(state) == "locked (main stage show; by ops; until 2026-12-02T02:00:00Z)"


def test_expired_lock_no_longer_locks():
    text = ul.lock_text("yesterday's show", NOW - datetime.timedelta(minutes=1))
    state = ul.lock_state(text, NOW)
    assert state["present"] and state["expired"] and not state["locked"]
    assert ul.describe(state).startswith("expired lock, ignored (yesterday's show; expired ")


def test_lock_without_end_holds():
    state = ul.lock_state(ul.lock_text(), NOW + datetime.timedelta(days=3650))
    assert state["locked"] and state["reason"] == ""
    assert ul.describe(state) == "locked (no reason given)"


@pytest.mark.parametrize("text, reason", [
    ("", ""),
    ("show\n", "show"),
    ("{\"reason\": \"show\"}\n", "{\"reason\": \"show\"}"),
])
def test_a_file_not_in_the_format_still_locks(text, reason):
    state = ul.lock_state(text, NOW)
    assert state["locked"] and state["present"]
    assert state["reason"] == reason
    if text:
        assert "not in the lock format" in state["problem"]


def test_unreadable_expiry_locks_until_removed():
    state = ul.lock_state("REASON='x'\nEXPIRES='tomorrow'\n", NOW)
    assert state["locked"] and "EXPIRES" in state["problem"] and not state["expired"]


def test_unknown_keys_are_named_but_lock():
    state = ul.lock_state("REASON='x'\nOWNER='y'\n", NOW)
    assert state["locked"] and "OWNER" in state["problem"]


@pytest.mark.parametrize("text, minutes", [("90m", 90), ("6h", 360), ("2d", 2880), ("1h30m", 90), ("1d 2h", 1560)])
def test_durations(text, minutes):
    assert ul.parse_duration(text) == datetime.timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "6", "soon", "0m", "-1h", "6 hours"])
def test_bad_durations(text):
    with pytest.raises(ul.LockError):
        ul.parse_duration(text)


def test_times_need_a_zone():
    assert ul.parse_time("2026-12-02T06:00:00+01:00") == datetime.datetime(2026, 12, 2, 5, tzinfo=datetime.timezone.utc)
    assert ul.parse_time("2026-12-02T06:00:00Z").hour == 6
    for bad in ("2026-12-02T06:00:00", "tomorrow", "02/12/2026"):
        with pytest.raises(ul.LockError):
            ul.parse_time(bad)


def test_a_reason_with_a_line_break_is_refused():
    with pytest.raises(ul.LockError):
        ul.lock_text("two\nlines")


def test_errors_name_the_variables():
    assert ul.errors("6h", "") == []
    assert ul.errors("", "2026-12-02T06:00:00Z") == []
    assert ul.errors("", "") == []
    assert ul.errors("6 hours", "") == ["update_lock_duration: '6 hours' is not a duration like 90m, 6h, 2d or 1h30m"]
    [both] = ul.errors("6h", "2026-12-02T06:00:00Z")
    assert "both set" in both
    [zone] = ul.errors("", "2026-12-02T06:00:00")
    assert zone.startswith("update_lock_expires: ") and "time zone" in zone
