# -*- coding: utf-8 -*-
"""plugins/module_utils/ui_bundle.py: a UI bundle folder packed into one reproducible archive."""

import os
import subprocess
import tarfile

import pytest

from ansible_collections.ovr.fleet.plugins.module_utils import ui_bundle


def make_bundle(top, files, mtime=None):
    for rel, content in files.items():
        path = os.path.join(top, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(content)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
    return top


FILES = {"index.html": b"<!doctype html>\n", "assets/app.1a2b3c4d.js": b"console.log(1)\n", "sw.js": b"//\n"}


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_the_same_files_give_the_same_archive_byte_for_byte(tmp_path):
    # other file times, another order of creation: a checkout and an installed collection
    one = make_bundle(str(tmp_path / "one"), FILES, mtime=1000)
    two = make_bundle(str(tmp_path / "two"), dict(reversed(list(FILES.items()))), mtime=2000000000)
    out1, out2 = tmp_path / "out1", tmp_path / "out2"
    out1.mkdir()
    out2.mkdir()
    first, second = ui_bundle.pack(one, str(out1)), ui_bundle.pack(two, str(out2))
    assert os.path.basename(first) == os.path.basename(second)
    assert read(first) == read(second)


def test_a_changed_file_changes_the_digest_and_every_entrys_time(tmp_path):
    folder = make_bundle(str(tmp_path / "b"), FILES)
    before = ui_bundle.digest(folder)
    make_bundle(folder, {"index.html": b"<!doctype html><title>new</title>\n"})
    after = ui_bundle.digest(folder)
    assert before != after
    path = ui_bundle.pack(folder, str(tmp_path))
    with tarfile.open(path) as tar:
        assert {member.mtime for member in tar.getmembers()} == {ui_bundle.mtime(after)}
    assert 1577836800 <= ui_bundle.mtime(after) < 1577836800 + 2 ** 28


def test_the_digest_is_the_one_earlier_versions_made_with_find_and_sha256sum(tmp_path):
    # the role's earlier shell pipeline: the same digest gives the same modification times, so an
    # upgrade does not make the web front's ETags change for unchanged files
    folder = make_bundle(str(tmp_path / "b"), FILES)
    shell = subprocess.run("find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum",
                           shell=True, cwd=folder, capture_output=True, text=True, check=True).stdout.split()[0]
    assert ui_bundle.digest(folder) == shell


def test_the_archive_unpacks_to_the_same_files_with_root_owner_and_plain_modes(tmp_path):
    folder = make_bundle(str(tmp_path / "b"), FILES)
    os.chmod(os.path.join(folder, "sw.js"), 0o700)
    os.chmod(os.path.join(folder, "index.html"), 0o600)
    path = ui_bundle.pack(folder, str(tmp_path))
    with tarfile.open(path) as tar:
        members = {member.name: member for member in tar.getmembers()}
        assert sorted(members) == [".", "./assets", "./assets/app.1a2b3c4d.js", "./index.html", "./sw.js"]
        assert {(m.uid, m.gid, m.uname, m.gname) for m in members.values()} == {(0, 0, "", "")}
        assert members["./sw.js"].mode == 0o755 and members["./index.html"].mode == 0o644
        assert members["./assets"].mode == 0o755
        dest = tmp_path / "unpacked"
        tar.extractall(str(dest), filter="data")
    for rel, content in FILES.items():
        assert read(os.path.join(str(dest), rel)) == content


def test_a_packed_folder_is_reused_and_no_temporary_file_is_left(tmp_path):
    folder = make_bundle(str(tmp_path / "b"), FILES)
    out = tmp_path / "out"
    out.mkdir()
    first = ui_bundle.pack(folder, str(out))
    stamp = os.stat(first).st_mtime_ns
    assert ui_bundle.pack(folder, str(out)) == first
    assert os.stat(first).st_mtime_ns == stamp
    assert os.listdir(str(out)) == [os.path.basename(first)]
    assert oct(os.stat(first).st_mode & 0o777) == "0o600"


def test_a_link_in_the_folder_is_refused_by_name(tmp_path):
    folder = make_bundle(str(tmp_path / "b"), FILES)
    os.symlink("/etc/shadow", os.path.join(folder, "assets", "secret"))
    with pytest.raises(ValueError, match=r"links are not packed into a UI bundle \(assets/secret\)"):
        ui_bundle.pack(folder, str(tmp_path))
    assert not [n for n in os.listdir(str(tmp_path)) if n.endswith(".tar")]


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="is not a folder"):
        ui_bundle.pack(str(tmp_path / "nothing"), str(tmp_path))


def test_a_failed_write_leaves_no_partial_archive(tmp_path, monkeypatch):
    folder = make_bundle(str(tmp_path / "b"), FILES)
    out = tmp_path / "out"
    out.mkdir()

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(tarfile.TarFile, "addfile", broken)
    with pytest.raises(OSError):
        ui_bundle.pack(folder, str(out))
    assert os.listdir(str(out)) == []


def test_an_empty_bundle_packs_to_its_root_entry_only(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    path = ui_bundle.pack(str(folder), str(tmp_path))
    with tarfile.open(path) as tar:
        assert [m.name for m in tar.getmembers()] == ["."]
