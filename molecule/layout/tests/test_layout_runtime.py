"""The on-node runtime layout pulls in (ovr.fleet.node_runtime, a dependency): the package, its
engine (the collection's module_utils, as content), the env validator the env files passed."""
import hashlib
import os

import testinfra.utils.ansible_runner
import yaml

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("all")
PACKAGE = "/usr/local/lib/ovr/python/ovr_node/"
CHECK_ENV = "/usr/local/libexec/ovr/ovr-check-env"


def test_the_engine_is_the_collections_module_utils(host):
    project = os.environ["MOLECULE_PROJECT_DIRECTORY"]
    with open(os.path.join(project, "roles", "node_runtime", "vars", "main.yml"), encoding="utf-8") as handle:
        engine = yaml.safe_load(handle)["__node_runtime_engine"]
    assert "fleet_model" in engine
    for name in [module + ".py" for module in engine]:
        installed = host.file(PACKAGE + name)
        assert installed.is_file and not installed.is_symlink and installed.mode == 0o644
        with open(os.path.join(project, "plugins", "module_utils", name), "rb") as handle:
            assert installed.sha256sum == hashlib.sha256(handle.read()).hexdigest(), name


def test_launchers_are_installed(host):
    for path, module in (("/usr/local/sbin/ovr-collector", "collector"),
                         ("/usr/local/sbin/ovr-refresh-gx-mqtt-sources", "refresh"),
                         (CHECK_ENV, "envcheck")):
        launcher = host.file(path)
        assert launcher.user == "root" and launcher.mode == 0o755
        assert 'exec env PYTHONPATH=/usr/local/lib/ovr/python /usr/bin/python3 -m ovr_node.%s "$@"' % module \
            in launcher.content_string
    assert not host.file("/usr/local/libexec/ovr/validate-env").exists


def test_paho_only_where_a_gx_is_talked_to(host):
    installed = host.run("dpkg-query -W -f='${Status}' python3-paho-mqtt").stdout
    if host.backend.get_hostname() == "layout-edge":
        assert "install ok installed" in installed
    else:
        assert "install ok installed" not in installed


def test_the_env_files_pass_the_validator_and_a_bad_one_does_not(host):
    name = "edge" if host.backend.get_hostname() == "layout-edge" else "cloud"
    assert host.run("%s --require OVR_CLOUD_TOKEN /etc/ovr/%s.env" % (CHECK_ENV, name)).rc == 0
    bad = host.run("printf 'OVR_CLOUD_TOKEN=two words\\n' > /tmp/bad.env && %s --require OVR_SITE_ID /tmp/bad.env"
                   % CHECK_ENV)
    assert bad.rc == 1
    assert "/tmp/bad.env: line 1: the value of OVR_CLOUD_TOKEN is a bare value with a blank" in bad.stderr
    assert "/tmp/bad.env: required key OVR_SITE_ID is missing or empty" in bad.stderr
