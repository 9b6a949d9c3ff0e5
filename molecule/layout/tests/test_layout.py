"""What an operator checks on a node after ovr.fleet.layout ran (testinfra)."""
import os

import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("all")


def stack(host):
    return "edge" if host.backend.get_hostname() == "layout-edge" else "cloud"


def test_config_home(host):
    home = host.file("/etc/ovr")
    assert home.is_directory and home.user == "root" and home.mode == 0o755
    for sub in ("telegraf.d", "nginx.d"):
        assert host.file("/etc/ovr/" + sub).is_directory
    secrets = host.file("/etc/ovr/secrets")
    assert secrets.is_directory and secrets.mode == 0o750


def test_env_file_not_world_readable(host):
    env = host.file("/etc/ovr/%s.env" % stack(host))
    assert env.is_file and env.user == "root" and env.mode == 0o640


def test_env_link(host):
    name = stack(host)
    link = host.file("/opt/ovr/%s/.env" % name)
    assert link.is_symlink and link.linked_to == "/etc/ovr/%s.env" % name


def test_compose_reads_env_without_env_file(host):
    """The shell sees the same values Compose will (the file sources cleanly from the link)."""
    name = stack(host)
    out = host.check_output("set -a; . /opt/ovr/%s/.env; echo \"$COMPOSE_PROJECT_NAME|$OVR_CLOUD_TOKEN\"" % name)
    assert out == "ovr-%s|lab-token-not-secret" % name


def test_legacy_folder_is_alias(host):
    legacy = host.file("/etc/overdrive")
    assert legacy.is_symlink and legacy.linked_to == "/etc/ovr"
