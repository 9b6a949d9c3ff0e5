"""What an operator checks on a node after ovr.fleet.docker ran (testinfra)."""
import json
import os
import time

import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("all")

REGISTRY = "ovr-registry:5000"


def test_engine_running_and_enabled(host):
    service = host.service("docker")
    assert service.is_running and service.is_enabled
    assert host.check_output("docker info --format '{{.Driver}}'") == "overlay2"


def test_daemon_json(host):
    daemon = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert daemon == {
        "log-driver": "json-file",
        "log-opts": {"max-size": "5m", "max-file": "3"},
        "live-restore": True,
        "registry-mirrors": ["http://" + REGISTRY],
        "insecure-registries": [REGISTRY],
        "dns": ["127.0.0.1"],
    }
    assert host.file("/etc/docker/daemon.json").mode == 0o644


def test_engine_runs_with_daemon_json(host):
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert info["LiveRestoreEnabled"] is True
    assert info["LoggingDriver"] == "json-file"
    assert "http://%s/" % REGISTRY in info["RegistryConfig"]["Mirrors"]


def test_ipv6_drop_in_in_a_container_node(host):
    assert host.file("/etc/systemd/system/docker.service.d/ovr-ipv6.conf").exists
    env = host.check_output("systemctl show docker.service -p Environment")
    assert "DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1" in env


def test_compose_v2(host):
    out = host.check_output("docker compose version --short")
    assert out.startswith("2."), out


def test_image_loaded_from_archive(host):
    tags = host.check_output("docker image inspect ovr/archive-probe:lab --format '{{json .RepoTags}}'")
    assert "ovr/archive-probe:lab" in json.loads(tags)
    # The copy was only a vehicle: the edge disk does not keep it.
    assert not host.file("/var/cache/ovr/images/archive-probe.tar").exists


def test_service_image_from_the_registry_runs(host):
    image = REGISTRY + "/ovr/victoria-metrics:lab"
    host.check_output("docker pull -q %s" % image)
    host.run("docker rm -f ovr-vm-probe")
    host.check_output("docker run -d --name ovr-vm-probe -p 127.0.0.1:18428:8428 %s" % image)
    try:
        probe = ("python3 -c \"import urllib.request as u; "
                 "print(u.urlopen('http://127.0.0.1:18428/health', timeout=2).read().decode())\"")
        for dummy in range(30):
            result = host.run(probe)
            if result.rc == 0:
                break
            time.sleep(1)
        assert result.rc == 0 and result.stdout.strip() == "OK", result.stderr
        # (docker exec fails in a container node: setns into the nested container is refused.)
        user = host.check_output("docker inspect ovr-vm-probe --format '{{.Config.User}}'")
        assert user == "_victoria-metrics"
    finally:
        host.run("docker rm -f ovr-vm-probe")
