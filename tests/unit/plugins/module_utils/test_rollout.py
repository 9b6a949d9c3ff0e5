# -*- coding: utf-8 -*-
"""plugins/module_utils/rollout.py: a staged rollout's plan, its input checks naming the variable,
and its summary."""

import pytest

from ansible_collections.ovr.fleet.plugins.module_utils import rollout as ro

HOSTS = ["e%02d" % i for i in range(1, 11)]


def names(plan):
    return [(b["name"], b["hosts"]) for b in plan["batches"]]


def test_default_batches_three_edges():
    plan = ro.plan(["edge-a", "edge-b", "edge-c"])
    assert names(plan) == [("canary", ["edge-a"]), ("batch 1", ["edge-b"]), ("batch 2", ["edge-c"])]
    assert plan["order"] == ["edge-a", "edge-b", "edge-c"] and plan["sizes"] == [1, 1, 1]
    assert plan["batch_of"]["edge-c"] == "batch 2"


def test_serial_semantics_last_size_repeats_and_shares_round_up():
    plan = ro.plan(HOSTS, batches=[1, "25%", "100%"])
    # canary e01; 9 left: 1, ceil(25% of 9) = 3, then the rest (5)
    assert plan["sizes"] == [1, 1, 3, 5]
    assert ro.plan(HOSTS, batches=[2])["sizes"] == [1, 2, 2, 2, 2, 1]
    assert ro.plan(HOSTS, batches=["50%"])["sizes"] == [1, 5, 4]
    assert ro.plan(["a"])["sizes"] == [1]


def test_named_canaries_go_first_in_plan_order():
    plan = ro.plan(HOSTS[:4], canary="e03,e02")
    assert names(plan)[0] == ("canary", ["e03", "e02"])
    assert plan["order"][:2] == ["e03", "e02"] and sorted(plan["order"]) == HOSTS[:4]


def test_a_locked_host_is_never_the_chosen_canary_but_keeps_its_batch():
    plan = ro.plan(["a", "b", "c"], locked=["a"])
    assert names(plan) == [("canary", ["b"]), ("batch 1", ["a"]), ("batch 2", ["c"])]


def test_site_scope_runs_each_site_with_its_own_canary():
    sites = {"a1": "north", "a2": "north", "b1": "south", "a3": "north", "b2": "south"}
    plan = ro.plan(["a1", "a2", "b1", "a3", "b2"], sites, [1, "100%"], scope="site")
    assert names(plan) == [("north canary", ["a1"]), ("north batch 1", ["a2"]), ("north batch 2", ["a3"]),
                           ("south canary", ["b1"]), ("south batch 1", ["b2"])]


@pytest.mark.parametrize("kwargs, variable", [
    ({"batches": []}, "rollout_batches"),
    ({"batches": [0]}, "rollout_batches"),
    ({"batches": ["150%"]}, "rollout_batches"),
    ({"batches": ["abc"]}, "rollout_batches"),
    ({"batches": [True]}, "rollout_batches"),
    ({"batches": {"a": 1}}, "rollout_batches"),
    ({"canary": ["nope"]}, "rollout_canary"),
    ({"canary": [1]}, "rollout_canary"),
    ({"scope": "region"}, "rollout_scope"),
    ({"canary": ["a"], "locked": ["a"]}, "rollout_canary"),
])
def test_bad_input_names_the_variable(kwargs, variable):
    errors = ro.plan_errors(["a", "b"], **kwargs)
    assert len(errors) == 1 and variable in errors[0], errors
    with pytest.raises(ro.PlanError, match=variable):
        ro.plan(["a", "b"], **kwargs)


def test_string_forms_of_batches_are_read():
    assert ro.plan(HOSTS, batches="3")["sizes"] == [1, 3, 3, 3]
    assert ro.plan(HOSTS, batches=["2", " 50 % "])["sizes"] == [1, 2, 5, 2]
    # an AWX survey's textarea, or -e rollout_batches=1,25%,100%
    assert ro.plan(HOSTS, batches="1\n25%\n100%")["sizes"] == [1, 1, 3, 5]
    assert ro.plan(HOSTS, batches="1,25%,100%")["sizes"] == [1, 1, 3, 5]
    assert ro.plan(HOSTS, canary="e02\ne03")["batches"][0]["hosts"] == ["e02", "e03"]


def test_summary_table_timings_and_failure_message():
    plan = ro.plan(["a", "b", "c", "d"], batches=[1])
    records = {
        "a": {"result": "updated", "started": 100.0, "ended": 130.0},
        "b": {"result": "rolled back", "started": 131.0, "ended": 200.0, "check": "gate: peer a answers through the proxy: HTTP 504",
              "rolled_back": ["/etc/ovr/nginx.d/peers.map"], "rollback_seconds": 25.0},
        "c": {"result": "untouched", "note": "the rollout stopped at b"},
    }
    out = ro.summary(plan, records)
    assert out["lines"][0].split() == ["NODE", "BATCH", "RESULT", "DURATION", "DETAIL"]
    body = "\n".join(out["lines"])
    assert "a     canary   updated      30s" in body
    assert "rolled back" in body and "1m09s" in body
    d_line = [line for line in out["lines"] if line.startswith("d ")][0]
    assert "untouched" in d_line  # no record at all
    assert out["counts"]["updated"] == 1 and out["counts"]["untouched"] == 2
    assert out["timings"][0] == "canary: 30s (a)"
    assert out["timings"][1] == "batch 1: 1m09s (b); rollback and second gate: b 25s"
    assert out["timings"][2].startswith("batch 2: not run")
    assert [f["node"] for f in out["failed"]] == ["b"]
    msg = out["message"]
    assert "b (batch 1) failed its gate: gate: peer a answers through the proxy" in msg
    assert "/etc/ovr/nginx.d/peers.map" in msg and "later batches untouched" in msg


def test_summary_of_a_clean_run_has_no_message():
    plan = ro.plan(["a"])
    out = ro.summary(plan, {"a": {"result": "updated", "started": 1.0, "ended": 2.0}})
    assert out["failed"] == [] and out["message"] == ""
