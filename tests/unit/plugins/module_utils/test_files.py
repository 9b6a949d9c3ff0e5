# -*- coding: utf-8 -*-
"""plugins/module_utils/files.py: a set of paths converged in one pass, on a real folder."""

import os
import stat
import subprocess
import sys

import pytest

from ansible_collections.ovr.fleet.plugins.module_utils import files
from ansible_collections.ovr.fleet.plugins.module_utils.files import FilesError, normalise, summary

JSON_CHECK = "%s -c 'import json, sys; json.load(open(sys.argv[1]))' %%s" % sys.executable


def run(command):
    """What AnsibleModule.run_command does for the module: (rc, stdout, stderr), 127 for a missing program."""
    try:
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as error:
        return 127, "", str(error)
    return proc.returncode, proc.stdout, proc.stderr


def converger(**kwargs):
    return files.Converger(**dict({"run": run}, **kwargs))


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_a_fresh_tree_is_made_and_a_second_pass_changes_nothing(tmp_path):
    entries = [
        {"path": str(tmp_path / "etc/nginx.d"), "state": "directory", "mode": "0750"},
        {"path": str(tmp_path / "etc/nginx.d/peers.json"), "content": '{"a": 1}\n', "mode": "0640",
         "validate": JSON_CHECK},
        {"path": str(tmp_path / "etc/.env"), "state": "link", "src": "nginx.d/peers.json"},
    ]
    first = converger().converge(entries)
    assert [r["changes"] for r in first] == [["created"], ["created"], ["created"]]
    assert mode_of(tmp_path / "etc/nginx.d") == 0o750
    assert mode_of(tmp_path / "etc/nginx.d/peers.json") == 0o640
    assert (tmp_path / "etc/nginx.d/peers.json").read_text() == '{"a": 1}\n'
    assert os.readlink(str(tmp_path / "etc/.env")) == "nginx.d/peers.json"
    second = converger().converge(entries)
    assert not any(r["changed"] for r in second)
    assert summary(second) == ([], [])


def test_check_mode_reports_and_writes_nothing(tmp_path):
    target = tmp_path / "a.conf"
    target.write_text("old\n")
    results = converger(check=True).converge([
        {"path": str(target), "content": "new\n"},
        {"path": str(tmp_path / "sub"), "state": "directory"},
        {"path": str(tmp_path / "sub/b.conf"), "content": "x\n"},  # its folder does not exist yet
    ])
    assert [r["changed"] for r in results] == [True, True, True]
    assert results[0]["diff"]["before"] == "old\n" and results[0]["diff"]["after"] == "new\n"
    assert target.read_text() == "old\n"
    assert not (tmp_path / "sub").exists()


def test_a_file_that_fails_its_check_replaces_nothing_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "peers.json"
    target.write_text('{"ok": true}\n')
    with pytest.raises(FilesError) as error:
        converger().converge([{"path": str(target), "content": "{not json", "validate": JSON_CHECK}])
    assert str(target) in str(error.value) and "failed validation" in str(error.value)
    assert ".ovr-tmp" not in str(error.value)  # the validator's words name the file, not the temporary one
    assert target.read_text() == '{"ok": true}\n'
    assert sorted(os.listdir(str(tmp_path))) == ["peers.json"]


def test_entries_before_a_failure_are_converged_and_later_ones_are_not(tmp_path):
    engine = converger()
    good, bad, later = (str(tmp_path / n) for n in ("good.json", "bad.json", "later.json"))
    results = []
    with pytest.raises(FilesError):
        for entry in [{"path": good, "content": "1\n", "validate": JSON_CHECK},
                      {"path": bad, "content": "{", "validate": JSON_CHECK},
                      {"path": later, "content": "2\n"}]:
            results.extend(engine.converge([entry]))
    assert [r["path"] for r in results] == [good]
    assert os.path.exists(good) and not os.path.exists(bad) and not os.path.exists(later)


def test_a_validator_without_a_runner_is_refused_not_skipped(tmp_path):
    with pytest.raises(FilesError, match="no way to run its validator"):
        files.Converger().converge([{"path": str(tmp_path / "x"), "content": "x", "validate": "true %s"}])
    assert not (tmp_path / "x").exists()


def test_a_validator_that_is_missing_is_a_failure_not_a_pass(tmp_path):
    with pytest.raises(FilesError) as error:
        converger().converge([{"path": str(tmp_path / "x"), "content": "x", "validate": "/nonexistent/check %s"}])
    assert "exited 127" in str(error.value)
    assert not (tmp_path / "x").exists()


def test_the_validator_gets_the_new_file_as_one_word_even_with_spaces(tmp_path):
    folder = tmp_path / "with space"
    folder.mkdir()
    seen = []

    def record(command):
        seen.append(command)
        return 0, "", ""

    converger(run=record).converge([{"path": str(folder / "f"), "content": "x", "validate": "check --file %s --strict"}])
    assert seen[0][:2] == ["check", "--file"] and seen[0][3] == "--strict"
    assert seen[0][2].startswith(str(folder) + "/.f.")


def test_mode_alone_is_fixed_without_rewriting_the_content(tmp_path):
    target = tmp_path / "f"
    target.write_text("same\n")
    os.chmod(str(target), 0o600)
    inode = os.stat(str(target)).st_ino
    results = converger().converge([{"path": str(target), "content": "same\n", "mode": "0644"}])
    assert results[0]["changes"] == ["mode"] and "diff" not in results[0]
    assert mode_of(target) == 0o644 and os.stat(str(target)).st_ino == inode


def test_an_existing_file_keeps_its_mode_when_none_is_asked(tmp_path):
    target = tmp_path / "f"
    target.write_text("a\n")
    os.chmod(str(target), 0o600)
    converger().converge([{"path": str(target), "content": "b\n"}])
    assert mode_of(target) == 0o600 and target.read_text() == "b\n"


def test_backup_keeps_the_replaced_file(tmp_path):
    target = tmp_path / "edge.env"
    target.write_text("A=1\n")
    results = converger(now=lambda: 0).converge([{"path": str(target), "content": "A=2\n", "backup": True,
                                                  "secret": True}])
    assert open(results[0]["backup_file"]).read() == "A=1\n"
    assert "diff" not in results[0]  # a secret never goes into a diff


def test_links_are_retargeted_atomically_and_a_folder_is_never_replaced(tmp_path):
    link = tmp_path / ".env"
    os.symlink("old.env", str(link))
    results = converger().converge([{"path": str(link), "state": "link", "src": "new.env"}])
    assert results[0]["changes"] == ["target"] and os.readlink(str(link)) == "new.env"
    (tmp_path / "dir").mkdir()
    with pytest.raises(FilesError, match="is a folder"):
        converger().converge([{"path": str(tmp_path / "dir"), "state": "link", "src": "x"}])
    plain = tmp_path / "plain"
    plain.write_text("x")
    with pytest.raises(FilesError, match="force is off"):
        converger().converge([{"path": str(plain), "state": "link", "src": "x", "force": False}])


def test_absent_removes_files_links_and_folders_and_is_quiet_when_gone(tmp_path):
    (tmp_path / "d/e").mkdir(parents=True)
    (tmp_path / "f").write_text("x")
    entries = [{"path": str(tmp_path / n), "state": "absent"} for n in ("d", "f", "never")]
    assert [r["changed"] for r in converger().converge(entries)] == [True, True, False]
    assert sorted(os.listdir(str(tmp_path))) == []


@pytest.mark.parametrize("entry, message", [
    ({"path": "relative/x", "content": "x"}, "no absolute path"),
    ({"path": "/x", "state": "file"}, "needs its content"),
    ({"path": "/x", "state": "link"}, "needs its src"),
    ({"path": "/x", "state": "sideways"}, "state must be one of"),
    ({"path": "/x", "content": "x", "mode": "rw-r--r--"}, "not an octal number"),
    ({"path": "/x", "content": "x", "validate": "check"}, "must contain %s"),
])
def test_bad_entries_name_the_path_and_the_problem(entry, message, tmp_path):
    with pytest.raises(FilesError, match=message):
        converger(check=True).converge([entry])


def test_an_owner_that_is_not_there_fails_a_run_but_not_a_check(tmp_path):
    """Under --check on a fresh host the role's user is not created yet (that task only said so)."""
    entry = {"path": str(tmp_path / "collector.env"), "content": "x", "owner": "no-such-user-ovr",
             "group": "no-such-group-ovr"}
    with pytest.raises(FilesError, match="no user no-such-user-ovr"):
        converger().converge([entry])
    assert not (tmp_path / "collector.env").exists()
    results = converger(check=True).converge([entry])
    assert results[0]["changed"] and results[0]["changes"] == ["owner", "created"]
    assert not (tmp_path / "collector.env").exists()


def test_a_file_where_a_folder_stands_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(FilesError, match="is a folder, not a file"):
        converger().converge([{"path": str(tmp_path / "d"), "content": "x"}])
    (tmp_path / "f").write_text("x")
    with pytest.raises(FilesError, match="is a file, not a folder"):
        converger().converge([{"path": str(tmp_path / "f"), "state": "directory"}])


def test_yaml_integer_modes_are_read_as_the_number_they_are():
    # YAML reads an unquoted 0644 as the integer 420.
    assert normalise({"path": "/x", "content": "", "mode": 420})["mode"] == 0o644
    assert normalise({"path": "/x", "content": "", "mode": "0644"})["mode"] == 0o644


# ---- systemd units ------------------------------------------------------------------------------
class FakeSystemd:
    """A stand-in for systemctl (a unit test of the engine; the lab proves it against real systemd):
    answers ``show`` from its table and applies enable/start/... to it, recording each call."""

    def __init__(self, **units):
        self.units = {name: dict(dict(LoadState="loaded", UnitFileState="disabled", ActiveState="inactive",
                                      NeedDaemonReload="no"), **state) for name, state in units.items()}
        self.calls = []
        self.fail = set()

    def __call__(self, argv):
        assert argv[0] == "systemctl"
        verb, args = argv[1], argv[2:]
        self.calls.append(" ".join(argv[1:]))
        if verb == "show":
            names = args[args.index("--") + 1:]
            blocks = []
            for name in names:
                unit = self.units.get(name, dict(LoadState="not-found", UnitFileState="", ActiveState="inactive",
                                                 NeedDaemonReload="no"))
                shown = dict((key, value) for key, value in unit.items() if key != "start_limit_hit")
                blocks.append("Id=%s\n" % name + "".join("%s=%s\n" % item for item in sorted(shown.items())))
            return 0, "\n".join(blocks), ""
        if verb == "reset-failed":
            self.units[args[0]]["start_limit_hit"] = False
            return 0, "", ""
        if verb == "daemon-reload":
            for unit in self.units.values():
                unit["NeedDaemonReload"] = "no"
            return 0, "", ""
        name = args[0]
        if (verb, name) in self.fail:
            return 1, "", "Job for %s failed." % name
        unit = self.units[name]
        if verb == "start" and unit.get("start_limit_hit"):
            return 1, "", "Job for %s failed. Start request repeated too quickly." % name
        unit.update({"enable": dict(UnitFileState="enabled"), "disable": dict(UnitFileState="disabled"),
                     "mask": dict(UnitFileState="masked"), "unmask": dict(UnitFileState="disabled"),
                     "start": dict(ActiveState="active"), "stop": dict(ActiveState="inactive")}[verb])
        return 0, "", ""


def test_units_already_as_wanted_cost_one_show_and_change_nothing():
    fake = FakeSystemd(**{"docker.service": dict(UnitFileState="enabled", ActiveState="active"),
                          "ovr-refresh.timer": dict(UnitFileState="static", ActiveState="active")})
    results = files.Units(run=fake).converge([
        {"name": "docker.service", "enabled": True, "state": "started"},
        {"name": "ovr-refresh.timer", "enabled": True, "state": "started"},
    ])
    assert [r["changed"] for r in results] == [False, False]
    assert len(fake.calls) == 1 and fake.calls[0].startswith("show ")


def test_a_disabled_stopped_unit_is_enabled_and_started_then_left_alone():
    fake = FakeSystemd(**{"ovr-collector.service": {}})
    wanted = [{"name": "ovr-collector.service", "enabled": True, "state": "started"}]
    first = files.Units(run=fake).converge(wanted)
    assert first == [dict(name="ovr-collector.service", changed=True, changes=["enabled", "started"])]
    assert fake.calls[1:] == ["enable ovr-collector.service", "start ovr-collector.service"]
    again = files.Units(run=fake).converge(wanted)
    assert again[0]["changed"] is False


def test_a_changed_unit_file_reloads_systemd_first():
    unit = dict(UnitFileState="enabled", ActiveState="active", NeedDaemonReload="yes")
    fake = FakeSystemd(**{"nebula@ovr.service": unit})
    results = files.Units(run=fake).converge([{"name": "nebula@ovr.service", "enabled": True, "state": "started"}])
    assert fake.calls[1] == "daemon-reload"
    assert results[0]["changes"] == ["daemon-reload"]
    fake.calls.clear()
    files.Units(run=fake).converge([{"name": "nebula@ovr.service", "enabled": True}], reload_daemon=True)
    assert "daemon-reload" in fake.calls


def test_check_mode_only_reads_and_says_what_would_change():
    fake = FakeSystemd(**{"ovr-collector.service": dict(UnitFileState="enabled", ActiveState="active"),
                          "avahi-daemon.service": dict(UnitFileState="enabled", ActiveState="active")})
    results = files.Units(check=True, run=fake).converge([
        {"name": "ovr-collector.service", "enabled": True, "state": "stopped"},
        {"name": "avahi-daemon.service", "masked": True, "state": "stopped"},
        # Its unit file is about to be written by the same call (reload_daemon): it would be started.
        {"name": "ovr-new.service", "enabled": True, "state": "started"},
    ], reload_daemon=True)
    assert [r["changes"] for r in results] == [["stopped"], ["stopped", "masked"], ["enabled", "started"]]
    assert all(call.startswith("show ") for call in fake.calls)
    assert fake.units["ovr-collector.service"]["ActiveState"] == "active"


def test_a_unit_that_does_not_exist_is_an_error_naming_it():
    fake = FakeSystemd()
    with pytest.raises(FilesError, match="unit ovr-typo.service: not found"):
        files.Units(run=fake).converge([{"name": "ovr-typo.service", "enabled": True, "state": "started"}])
    # Stopping or disabling a unit that is not there is already as wanted.
    assert files.Units(run=fake).converge([{"name": "ovr-typo.service", "enabled": False, "state": "stopped"}])[0]["changed"] is False


def test_a_failing_start_names_the_unit_and_keeps_what_was_done_before_it():
    fake = FakeSystemd(**{"a.service": {}, "b.service": {}})
    fake.fail.add(("start", "b.service"))
    done = []
    with pytest.raises(FilesError, match=r"systemctl start b.service failed \(exit 1\): Job for b.service failed"):
        files.Units(run=fake).converge([{"name": "a.service", "state": "started"},
                                        {"name": "b.service", "enabled": True, "state": "started"}], results=done)
    assert [(r["name"], r["changes"]) for r in done] == [("a.service", ["started"]), ("b.service", ["enabled"])]


@pytest.mark.parametrize("entry, message", [
    ({"name": "../etc/passwd"}, "no valid name"),
    ({"name": "--now"}, "no valid name"),
    ({"name": "x.service", "state": "restarted"}, "started or stopped"),
    ({"name": "x.service", "masked": True, "state": "started"}, "neither enabled nor started"),
])
def test_bad_unit_entries_are_refused_before_systemctl_runs(entry, message):
    fake = FakeSystemd()
    with pytest.raises(FilesError, match=message):
        files.Units(run=fake).converge([entry])
    assert fake.calls == []


def test_unit_files_among_the_changed_paths_call_for_a_reload():
    assert files.touches_units(["/etc/ovr/x.env", "/etc/systemd/system/ovr-collector.service"])
    assert not files.touches_units(["/etc/ovr/x.env", "/etc/nebula/ovr.yml"])


def test_a_link_keeps_the_file_it_replaces_and_stops_when_the_keep_is_taken(tmp_path):
    env = tmp_path / "stack/.env"
    env.parent.mkdir()
    env.write_text("OWN=1\n")
    entry = {"path": str(env), "state": "link", "src": "/etc/ovr/edge.env", "keep_as": str(env) + ".pre-ovr"}
    # Under check mode it only says so.
    checked = converger(check=True).converge([entry])
    assert checked[0]["changes"] == ["kept as %s.pre-ovr" % env, "target"] and env.is_file() and not env.is_symlink()
    done = converger().converge([entry])
    assert done[0]["kept"] == str(env) + ".pre-ovr"
    assert os.readlink(str(env)) == "/etc/ovr/edge.env"
    assert (tmp_path / "stack/.env.pre-ovr").read_text() == "OWN=1\n"
    assert converger().converge([entry])[0]["changed"] is False
    # A new own file while a kept one exists: both stay, the run stops naming both.
    env.unlink()
    env.write_text("OWN=2\n")
    with pytest.raises(FilesError, match=r"\.env is a file and .*\.env\.pre-ovr already exists"):
        converger().converge([entry])
    assert env.read_text() == "OWN=2\n" and (tmp_path / "stack/.env.pre-ovr").read_text() == "OWN=1\n"
    with pytest.raises(FilesError, match="only a link keeps"):
        normalise({"path": str(env), "content": "x", "keep_as": str(env) + ".old"})


def test_a_folder_lists_its_files_as_find_would(tmp_path):
    import hashlib
    folder = tmp_path / "ovr_node"
    entry = {"path": str(folder), "state": "directory", "listing": True}
    # Under check mode on a fresh host there is nothing to list yet.
    assert converger(check=True).converge([entry])[0]["listing"] == []
    converger().converge([entry])
    (folder / "b.py").write_text("B = 1\n")
    (folder / "a.py").write_text("A = 1\n")
    os.chmod(str(folder / "a.py"), 0o600)
    os.chmod(str(folder / "b.py"), 0o644)
    (folder / "sub").mkdir()
    os.symlink("a.py", str(folder / "link.py"))
    listed = converger().converge([entry])[0]["listing"]
    assert [os.path.basename(f["path"]) for f in listed] == ["a.py", "b.py"]
    assert listed[0]["checksum"] == hashlib.sha1(b"A = 1\n").hexdigest()
    assert (listed[0]["mode"], listed[1]["mode"]) == ("0600", "0644")
    assert listed[0]["uid"] == os.getuid()


def test_a_unit_that_hit_its_start_limit_is_reset_before_it_is_started():
    # babeld's package starts it with its stock config, which fails in a container: systemd restarts
    # it until its start limit, and refuses the start that follows with the role's config.
    fake = FakeSystemd(**{"babeld.service": dict(UnitFileState="enabled", ActiveState="failed", start_limit_hit=True)})
    results = files.Units(run=fake).converge([{"name": "babeld.service", "enabled": True, "state": "started"}])
    assert fake.calls[1:] == ["reset-failed babeld.service", "start babeld.service"]
    assert results[0]["changes"] == ["started"]
