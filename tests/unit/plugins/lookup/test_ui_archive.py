# -*- coding: utf-8 -*-
"""plugins/lookup/_ui_archive.py: the adapter around module_utils/ui_bundle.py."""

import os
import tarfile

import pytest
from ansible import constants as C
from ansible.errors import AnsibleLookupError

from ansible_collections.ovr.fleet.plugins.lookup._ui_archive import LookupModule


@pytest.fixture
def run_tmp(tmp_path, monkeypatch):
    """The run's own temporary folder (Ansible removes it when the run ends)."""
    top = tmp_path / "ansible-local-1"
    top.mkdir()
    monkeypatch.setattr(C, "DEFAULT_LOCAL_TMP", str(top), raising=False)
    return top


def test_packs_into_the_runs_temporary_folder_once(tmp_path, run_tmp):
    folder = tmp_path / "console"
    folder.mkdir()
    (folder / "index.html").write_text("<!doctype html>\n")
    first = LookupModule().run([str(folder)])
    assert len(first) == 1 and os.path.dirname(first[0]) == str(run_tmp)
    with tarfile.open(first[0]) as tar:
        assert "./index.html" in tar.getnames()
    assert LookupModule().run([str(folder)]) == first
    assert os.listdir(str(run_tmp)) == [os.path.basename(first[0])]


def test_a_missing_folder_is_one_error_naming_the_lookup(tmp_path, run_tmp):
    with pytest.raises(AnsibleLookupError, match=r"^ovr.fleet._ui_archive: .*nothing is not a folder"):
        LookupModule().run([str(tmp_path / "nothing")])


def test_one_folder_only(run_tmp):
    with pytest.raises(AnsibleLookupError, match="one folder, got 2 terms"):
        LookupModule().run(["/a", "/b"])


def test_sha1_is_the_packed_archives_or_the_given_files(tmp_path, run_tmp):
    import hashlib
    folder = tmp_path / "console"
    folder.mkdir()
    (folder / "index.html").write_text("<!doctype html>\n")
    path = LookupModule().run([str(folder)])[0]
    with open(path, "rb") as handle:
        assert LookupModule().run([str(folder)], want="sha1") == [hashlib.sha1(handle.read()).hexdigest()]
    given = tmp_path / "operator-ui.tar.gz"
    given.write_bytes(b"not really a tarball")
    assert LookupModule().run([str(given)], want="sha1") == [hashlib.sha1(b"not really a tarball").hexdigest()]
    # Still packed once: the sha1 came from the same archive.
    assert os.listdir(str(run_tmp)) == [os.path.basename(path)]
