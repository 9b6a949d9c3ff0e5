# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the AWX assets of ovr.fleet (awx/assets.json, for `awx import`) from awx/job_templates.yml.

Each survey question is derived from the role argument spec that declares its variable: its
type, default, choices, description and whether it is a secret. A survey variable that no
argument spec declares is an error, so a survey cannot drift from the roles.

    python3 awx/build_assets.py [--organization ovr] [--inventory fleet]
        [--scm-url URL] [--ee-image IMAGE] [--output awx/assets.json]

Without options it writes the assets shipped in the collection (placeholder URL and image:
replace them with yours, or pass --scm-url and --ee-image).
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PLACEHOLDER_SCM_URL = "https://git.example.invalid/ops/fleet.git"
PLACEHOLDER_EE_IMAGE = "registry.example.invalid/ovr/ovr-fleet-ee:latest"

MARKUP = re.compile(r"\b[CVOMIB]\(([^()]*)\)")
# Argument spec type -> AWX survey question type.
SURVEY_TYPES = {"str": "text", "path": "text", "raw": "text", "int": "integer", "float": "float",
                "bool": "multiplechoice", "list": "textarea", "dict": "textarea"}


class AssetError(ValueError):
    pass


def load_yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def argument_spec(root, role, entry_point, variable):
    path = os.path.join(root, "roles", role, "meta", "argument_specs.yml")
    if not os.path.isfile(path):
        raise AssetError("survey variable %s: role %s has no meta/argument_specs.yml" % (variable, role))
    specs = load_yaml(path).get("argument_specs", {})
    if entry_point not in specs:
        raise AssetError("survey variable %s: role %s has no entry point %s" % (variable, role, entry_point))
    options = specs[entry_point].get("options") or {}
    if variable not in options:
        raise AssetError("survey variable %s is not in the argument spec of %s (entry point %s)"
                         % (variable, role, entry_point))
    return options[variable]


def description(spec):
    text = spec.get("description", "")
    if isinstance(text, list):
        text = " ".join(text)
    # Ansible's doc markup (C(x), V(x), O(x), M(x), I(x)) read as plain text in AWX.
    return MARKUP.sub(r"\1", text)


def question(root, item):
    role, variable = item["role"], item["variable"]
    spec = argument_spec(root, role, item.get("entry_point", "main"), variable)
    kind = spec.get("type", "str")
    if kind not in SURVEY_TYPES:
        raise AssetError("survey variable %s: argument spec type %s has no AWX survey type" % (variable, kind))
    q = {
        "question_name": item.get("question", variable.replace("_", " ")),
        "question_description": description(spec)[:500],
        "variable": variable,
        "required": bool(item.get("required", spec.get("required", False))),
        "type": "password" if spec.get("no_log") else SURVEY_TYPES[kind],
        "default": "",
        "choices": "",
        "min": None,
        "max": None,
        "new_question": True,
    }
    default = spec.get("default")
    if kind == "bool":
        q["choices"] = "true\nfalse"
        q["default"] = "true" if default else "false"
    elif spec.get("choices"):
        q["type"] = "multiplechoice"
        q["choices"] = "\n".join(str(c) for c in spec["choices"])
        q["default"] = "" if default is None else str(default)
    elif kind in ("int", "float"):
        q["default"] = default if default is not None else ""
        q["min"], q["max"] = (0, 100000) if kind == "int" else (0.0, 100000.0)
    elif kind in ("list", "dict"):
        q["default"] = json.dumps(default) if default is not None else ""
    else:
        q["default"] = "" if default is None else str(default)
        q["min"], q["max"] = 0, 1024
    return q


def build(root=ROOT, organization=None, inventory=None, scm_url=PLACEHOLDER_SCM_URL, ee_image=PLACEHOLDER_EE_IMAGE):
    """The assets (a dict in `awx export` form) described by awx/job_templates.yml."""
    source = load_yaml(os.path.join(root, "awx", "job_templates.yml"))
    org_name = organization or source["organization"]
    inv_name = inventory or source["inventory"]
    org = {"name": org_name, "type": "organization"}
    project = {"organization": org, "name": source["project"]["name"], "type": "project"}
    inv = {"organization": org, "name": inv_name, "type": "inventory"}
    ee = {"name": source["execution_environment"]["name"], "type": "execution_environment"}
    templates = []
    names = set()
    for item in source["job_templates"]:
        if item["name"] in names:
            raise AssetError("job template %s is listed twice" % item["name"])
        names.add(item["name"])
        playbook = os.path.join(root, "awx", "project", item["playbook"])
        if not os.path.isfile(playbook):
            raise AssetError("job template %s: awx/project/%s does not exist" % (item["name"], item["playbook"]))
        spec = [question(root, q) for q in item.get("survey", [])]
        variables = [q["variable"] for q in spec]
        if len(set(variables)) != len(variables):
            raise AssetError("job template %s: a survey variable is listed twice" % item["name"])
        templates.append({
            "name": item["name"],
            "description": item.get("description", ""),
            "job_type": "run",
            "playbook": item["playbook"],
            "inventory": inv,
            "project": project,
            "execution_environment": ee,
            "ask_limit_on_launch": True,
            "ask_variables_on_launch": False,
            "ask_verbosity_on_launch": True,
            "survey_enabled": bool(spec),
            "allow_simultaneous": False,
            "job_slice_count": 1,
            "become_enabled": False,
            "verbosity": 0,
            "natural_key": {"organization": org, "name": item["name"], "type": "job_template"},
            "related": {"survey_spec": {"name": "", "description": "", "spec": spec} if spec else {},
                        "labels": [], "credentials": [], "schedules": [], "notification_templates_error": [],
                        "notification_templates_started": [], "notification_templates_success": []},
        })
    return {
        "organizations": [{"name": org_name, "description": "", "max_hosts": 0,
                           "natural_key": {"name": org_name, "type": "organization"}, "related": {}}],
        "execution_environments": [{"name": ee["name"], "description": source["execution_environment"]["description"],
                                    "image": ee_image, "pull": "missing", "organization": org,
                                    "natural_key": ee, "related": {}}],
        "projects": [{"name": project["name"], "description": source["project"]["description"], "scm_type": "git",
                      "scm_url": scm_url, "scm_branch": "main", "scm_update_on_launch": True,
                      "allow_override": False, "organization": org, "default_environment": ee,
                      "natural_key": project, "related": {}}],
        "inventory": [{"name": inv_name, "description": "The fleet (sourced from the project)", "kind": "",
                       "organization": org, "variables": "---", "natural_key": inv, "related": {}}],
        "job_templates": templates,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--organization")
    parser.add_argument("--inventory")
    parser.add_argument("--scm-url", default=PLACEHOLDER_SCM_URL)
    parser.add_argument("--ee-image", default=PLACEHOLDER_EE_IMAGE)
    parser.add_argument("--output", default=os.path.join(HERE, "assets.json"))
    args = parser.parse_args(argv)
    try:
        assets = build(ROOT, args.organization, args.inventory, args.scm_url, args.ee_image)
    except AssetError as error:
        print("ERROR: %s" % error, file=sys.stderr)
        return 1
    text = json.dumps(assets, indent=2, sort_keys=True) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
        print("wrote %s: %d job templates" % (args.output, len(assets["job_templates"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
