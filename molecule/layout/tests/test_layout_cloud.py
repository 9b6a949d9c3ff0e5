"""The cloud node carried field drift: nothing of it is lost (testinfra)."""

testinfra_hosts = ["layout-cloud"]


def test_legacy_files_were_moved_not_lost(host):
    assert host.file("/etc/ovr/targets_gx.txt").content_string == "gx-main.local\n"
    assert host.file("/etc/ovr/telegraf.d/acuvim_1.conf").content_string == "# legacy acuvim\n"
    # still reachable through the legacy path
    assert host.file("/etc/overdrive/targets_gx.txt").content_string == "gx-main.local\n"


def test_stack_env_file_was_kept(host):
    kept = host.file("/opt/ovr/cloud/.env.pre-ovr")
    assert kept.is_file and kept.content_string == "OLD_KEY=old\n"
