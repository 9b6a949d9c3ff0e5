# -*- coding: utf-8 -*-
"""The docker role's checks (roles/docker/tasks/validate.yml), run by ansible-playbook on local
hosts: one message per broken rule, each naming the host, the variable and what it got."""
import pytest

HOSTS = {
    "docker-good": {"docker_registry_mirrors": ["http://registry.site.invalid:5000"],
                    "docker_insecure_registries": ["registry.site.invalid:5000", "10.0.0.0/8"]},
    "docker-bad": {
        "docker_log_max_size": "10MB",
        "docker_log_max_file": 0,
        "docker_registry_mirrors": ["ftp://mirror.invalid", "http://ok.invalid:5000", "https://a.invalid/path"],
        "docker_insecure_registries": ["ok.invalid:5000", "bad host"],
        "docker_image_archives": [{"src": "/nonexistent/ovr-archive.tar", "name": "Bad Name"}],
    },
}

VALIDATE_RUNS = {"main": {"role": "docker", "hosts": HOSTS}}


@pytest.fixture(scope="module")
def checked(validated):
    return validated("main")


def test_good_settings_pass(checked):
    assert checked["docker-good"] == []


@pytest.mark.parametrize("message", [
    "docker_log_max_size must be a size like 10m (a number and k, m or g), got 10MB",
    "docker_log_max_file must be 1 or more, got 0",
    'docker_registry_mirrors must be http(s)://host[:port] URLs, got ["ftp://mirror.invalid", "https://a.invalid/path"]',
    'docker_insecure_registries must be host[:port] or a CIDR, got ["bad host"]',
    'every docker_image_archives src must be a file on the controller, missing: ["/nonexistent/ovr-archive.tar"]',
    'every docker_image_archives name must be the repository:tag the archive holds, got ["Bad Name"]',
])
def test_each_bad_setting_gets_its_own_message(checked, message):
    assert "docker-bad: %s. Nothing was changed." % message in checked["docker-bad"]


def test_one_message_per_broken_rule(checked):
    assert len(checked["docker-bad"]) == 6
