# -*- coding: utf-8 -*-
"""The edge stack's checks (roles/edge_stack/tasks/validate.yml), run by ansible-playbook on local
hosts: one message per broken rule, each naming the host, the variable and the value it got."""
import pytest

GOOD = {"ovr_cloud_url": "https://cloud.example:8443"}
HOSTS = {
    "edge-good": dict(GOOD),
    "edge-bad": {
        "edge_stack_ingest": "fluentd",
        "edge_stack_image_flavor": "alpine",
        "edge_stack_vm_retention": "90days",
        "edge_stack_remote_write_max_disk": "1TB",
        "edge_stack_vm_port": 0,
        "edge_stack_vmagent_port": 70000,
        "edge_stack_http_port": "http",
        "edge_stack_http_bind": "host.example",
        "edge_stack_cloud_write_path": "api/v1/write",
        "edge_stack_cloud_ca_pem": "not a certificate",
        "ovr_cloud_url": "https://cloud.example/",
        "edge_stack_apps": {"name": "x"},
    },
    "edge-url": {"ovr_cloud_url": "cloud.example:8443"},
    "edge-old": dict(GOOD, edge_stack_config_dir="/srv/ovr", edge_stack_libexec_dir="/srv/libexec"),
}
# Outside --check the stack needs the .env link of ovr.fleet.layout (none in an empty opt folder).
FRESH_OPT_DIR = "/nonexistent/ovr-opt"
VALIDATE_RUNS = {
    "main": {"role": "edge_stack", "hosts": HOSTS},
    "fresh": {"role": "edge_stack", "hosts": {"edge-fresh": dict(GOOD, ovr_opt_dir=FRESH_OPT_DIR)}, "check": False},
}


@pytest.fixture(scope="module")
def checked(validated):
    return validated("main")


def test_good_settings_pass(checked):
    assert checked["edge-good"] == []


@pytest.mark.parametrize("message", [
    "edge_stack_ingest must be collector or telegraf, got fluentd",
    "edge_stack_image_flavor must be one of upstream, debian, got alpine",
    "edge_stack_vm_retention must be a number with an optional unit h, d, w or y (like 90d), got 90days",
    "edge_stack_remote_write_max_disk must be a size like 1GB (KB, MB, GB, KiB, MiB, GiB), got 1TB",
    "edge_stack_vm_port must be a port 1-65535, got 0",
    "edge_stack_vmagent_port must be a port 1-65535, got 70000",
    "edge_stack_http_port must be a port 1-65535, got http",
    "edge_stack_http_bind must be an IPv4 address, a bracketed IPv6 address or empty, got host.example",
    "edge_stack_cloud_write_path must be a path like /api/v1/write, got api/v1/write",
    "edge_stack_cloud_ca_pem must be PEM certificates or empty, got 17 characters without a BEGIN "
    "CERTIFICATE line",
    "ovr_cloud_url must be http(s)://host[:port][/path] without a trailing slash, got https://cloud.example/",
    "edge_stack_apps must be a list of services, got dict",
])
def test_each_bad_setting_gets_its_own_message(checked, message):
    assert "edge-bad: %s. Nothing was changed." % message in checked["edge-bad"]


def test_one_message_per_broken_rule(checked):
    assert len(checked["edge-bad"]) == 12
    assert checked["edge-url"] == [
        "edge-url: ovr_cloud_url must be http(s)://host[:port][/path] without a trailing slash, got "
        "cloud.example:8443. Nothing was changed."]


def test_removed_variables_are_named_not_ignored(checked):
    assert checked["edge-old"] == [
        "edge-old: removed variables are set (edge_stack_config_dir, edge_stack_libexec_dir); set the fleet-wide "
        "ovr_config_dir, "
        "ovr_opt_dir (the project is <ovr_opt_dir>/edge) or ovr_libexec_dir instead. Nothing was changed."]


def test_missing_env_link_is_named_outside_check_mode(validated):
    """Outside --check the stack needs the .env link of ovr.fleet.layout: the message names the file."""
    assert ("edge-fresh: %s/edge/.env is missing; the edge stack needs the env file of role ovr.fleet.layout "
            "first. Nothing was changed." % FRESH_OPT_DIR) in validated("fresh")["edge-fresh"]
