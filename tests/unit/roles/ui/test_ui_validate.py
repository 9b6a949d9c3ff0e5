# -*- coding: utf-8 -*-
"""The UI bundle's checks (roles/ui/tasks/validate.yml), run by ansible-playbook on local hosts."""
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[4]
CONSOLE = str(ROOT / "roles" / "ui" / "files" / "console")
HOSTS = {
    "ui-default": {"ui_dest": "/opt/ovr/edge/ui"},
    "ui-folder": {"ui_dest": "/opt/ovr/edge/ui", "ovr_ui_bundle": CONSOLE, "ovr_ui_cutover": True},
    "ui-bad": {"ui_dest": "opt/ui/", "ovr_ui_bundle": "/nonexistent/field-pwa.tar.gz", "ovr_ui_cutover": "yes please"},
    "ui-no-index": {"ui_dest": "/opt/ovr/edge/ui", "ovr_ui_bundle": str(ROOT / "roles" / "ui" / "tasks")},
}
VALIDATE_RUNS = {"main": {"role": "ui", "hosts": HOSTS}}


@pytest.fixture(scope="module")
def checked(validated):
    return validated("main")


def test_good_settings_pass(checked):
    assert checked["ui-default"] == [] and checked["ui-folder"] == []


@pytest.mark.parametrize("message", [
    'ui-bad: ui_dest must be an absolute folder (set by the stack role), got "opt/ui/". Nothing was changed.',
    "ui-bad: ovr_ui_bundle must be a folder or a .tar.gz/.tgz/.tar/.zip archive on the controller (with index.html at"
    ' its top), or empty for the collection\'s console; got "/nonexistent/field-pwa.tar.gz". Nothing was changed.',
    'ui-bad: ovr_ui_cutover must be true or false, got "yes please". Nothing was changed.',
])
def test_each_bad_setting_is_named(checked, message):
    assert message in checked["ui-bad"]


def test_a_folder_without_index_html_is_refused(checked):
    assert checked["ui-no-index"] == ["ui-no-index: ovr_ui_bundle %s has no index.html at its top. Nothing was changed."
                                      % (ROOT / "roles" / "ui" / "tasks")]
