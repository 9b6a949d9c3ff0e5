# -*- coding: utf-8 -*-
"""awx/: the job templates as code. assets.json is what awx/build_assets.py makes of
job_templates.yml; every template runs a project playbook that imports an ovr.fleet playbook;
every survey question comes from a role argument spec; the references between assets resolve.
(There is no AWX server here: `awx import` itself is not run.)"""

import copy
import json
import pathlib
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "awx"))
import build_assets  # noqa: E402  pylint: disable=wrong-import-position

AWX_SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}


@pytest.fixture(scope="module")
def assets():
    return build_assets.build(str(ROOT))


def test_shipped_assets_are_up_to_date(assets):
    shipped = json.loads((ROOT / "awx" / "assets.json").read_text(encoding="utf-8"))
    assert shipped == json.loads(json.dumps(assets)), "run: python3 awx/build_assets.py"


def test_the_operator_templates_are_there(assets):
    names = [t["name"] for t in assets["job_templates"]]
    for wanted in ("site", "smoke", "diagnose", "discover", "lock", "unlock"):
        assert "ovr.fleet %s" % wanted in names


def test_each_template_runs_a_project_playbook_that_imports_an_ovr_fleet_one(assets):
    for template in assets["job_templates"]:
        play = yaml.safe_load((ROOT / "awx" / "project" / template["playbook"]).read_text(encoding="utf-8"))
        imported = [p["ansible.builtin.import_playbook"] for p in play]
        assert len(imported) == 1 and imported[0].startswith("ovr.fleet."), template["name"]
        assert (ROOT / "playbooks" / (imported[0].split(".", 2)[2] + ".yml")).is_file(), imported[0]


def test_references_between_assets_resolve(assets):
    keys = {(a["natural_key"]["type"], a["name"]) for kind in ("organizations", "projects", "inventory",
                                                               "execution_environments") for a in assets[kind]}
    for template in assets["job_templates"]:
        for ref in ("inventory", "project", "execution_environment"):
            assert (template[ref]["type"], template[ref]["name"]) in keys, (template["name"], ref)
        assert ("organization", template["natural_key"]["organization"]["name"]) in keys


def test_survey_questions_come_from_argument_specs(assets):
    specs = {}
    for path in ROOT.glob("roles/*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["argument_specs"].values():
            specs.update(entry.get("options") or {})
    asked = 0
    for template in assets["job_templates"]:
        survey = template["related"]["survey_spec"]
        assert template["survey_enabled"] == bool(survey)
        for q in survey.get("spec", []):
            asked += 1
            assert q["variable"] in specs, q["variable"]
            assert q["type"] in AWX_SURVEY_TYPES
            assert q["question_name"] and q["question_description"]
            spec = specs[q["variable"]]
            if "default" in spec and q["type"] in ("integer", "float"):
                assert q["default"] == spec["default"]
            assert (q["type"] == "password") == bool(spec.get("no_log"))
    assert asked >= 5


def test_lock_reason_is_required_and_durations_are_text(assets):
    lock = next(t for t in assets["job_templates"] if t["name"] == "ovr.fleet lock")
    questions = {q["variable"]: q for q in lock["related"]["survey_spec"]["spec"]}
    assert questions["update_lock_reason"]["required"] is True
    assert questions["update_lock_duration"]["type"] == "text" and "90m" in questions["update_lock_duration"]["question_description"]


def test_a_survey_variable_no_spec_declares_is_refused(tmp_path):
    (tmp_path / "awx").mkdir()
    (tmp_path / "awx" / "project").mkdir()
    (tmp_path / "awx" / "project" / "lock.yml").write_text("---\n- ansible.builtin.import_playbook: ovr.fleet.lock\n")
    (tmp_path / "roles").symlink_to(ROOT / "roles")
    source = yaml.safe_load((ROOT / "awx" / "job_templates.yml").read_text(encoding="utf-8"))
    bad = copy.deepcopy(source)
    bad["job_templates"] = [{"name": "x", "playbook": "lock.yml",
                             "survey": [{"role": "update_lock", "entry_point": "lock", "variable": "update_lock_colour"}]}]
    (tmp_path / "awx" / "job_templates.yml").write_text(yaml.safe_dump(bad))
    with pytest.raises(build_assets.AssetError, match="update_lock_colour is not in the argument spec of update_lock"):
        build_assets.build(str(tmp_path))
    bad["job_templates"] = [{"name": "x", "playbook": "rollout.yml"}]
    (tmp_path / "awx" / "job_templates.yml").write_text(yaml.safe_dump(bad))
    with pytest.raises(build_assets.AssetError, match="awx/project/rollout.yml does not exist"):
        build_assets.build(str(tmp_path))
