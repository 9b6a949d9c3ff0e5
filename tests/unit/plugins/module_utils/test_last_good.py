# -*- coding: utf-8 -*-
"""plugins/module_utils/last_good.py: a node's last-good snapshot is saved whole and put back
exactly (content, modes, links, extra files removed), the update lock never touched."""

import os

import pytest

from ansible_collections.ovr.fleet.plugins.module_utils import last_good as lg


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)


@pytest.fixture()
def tree(tmp_path):
    etc, opt = str(tmp_path / "etc" / "ovr"), str(tmp_path / "opt" / "edge")
    write(os.path.join(etc, "nginx.d", "peers.map"), "good map\n")
    write(os.path.join(etc, "edge.env"), "A=1\n", 0o640)
    write(os.path.join(etc, "update.lock"), "REASON='show'\n")
    write(os.path.join(opt, "docker-compose.yml"), "services: {}\n")
    os.symlink(os.path.join(etc, "edge.env"), os.path.join(opt, ".env"))
    return etc, opt, str(tmp_path / "state" / "last-good")


def test_save_then_nothing_differs(tree):
    etc, opt, snap = tree
    meta = lg.save(snap, [etc, opt], ["update.lock"], label="t")
    assert meta["label"] == "t" and lg.read_meta(snap)["saved_at"]
    assert lg.differs(snap, [etc, opt], ["update.lock"]) == []
    assert not os.path.exists(os.path.join(snap, "roots", lg._key(etc), "update.lock"))


def test_restore_puts_back_content_modes_links_and_removes_extras(tree):
    etc, opt, snap = tree
    lg.save(snap, [etc, opt], ["update.lock"])
    before = lg.digest(lg.walk(etc, ["update.lock"]))
    write(os.path.join(etc, "nginx.d", "peers.map"), "bad map\n")
    os.chmod(os.path.join(etc, "edge.env"), 0o600)
    write(os.path.join(etc, "nginx.d", "extra.conf"), "x\n")
    os.unlink(os.path.join(opt, ".env"))
    os.symlink("/elsewhere", os.path.join(opt, ".env"))
    write(os.path.join(etc, "update.lock"), "REASON='another show'\n")
    expected = sorted([os.path.join(etc, "nginx.d", "peers.map"), os.path.join(etc, "edge.env"),
                       os.path.join(etc, "nginx.d", "extra.conf"), os.path.join(opt, ".env")])
    assert sorted(lg.differs(snap, [etc, opt], ["update.lock"])) == expected
    assert sorted(lg.restore(snap, [etc, opt], ["update.lock"])) == expected
    assert open(os.path.join(etc, "nginx.d", "peers.map")).read() == "good map\n"
    assert os.stat(os.path.join(etc, "edge.env")).st_mode & 0o777 == 0o640
    assert not os.path.exists(os.path.join(etc, "nginx.d", "extra.conf"))
    assert os.readlink(os.path.join(opt, ".env")) == os.path.join(etc, "edge.env")
    assert open(os.path.join(etc, "update.lock")).read() == "REASON='another show'\n"  # never rolled back
    assert lg.digest(lg.walk(etc, ["update.lock"])) == before
    assert lg.restore(snap, [etc, opt], ["update.lock"]) == []


def test_a_new_save_replaces_the_old_one_whole(tree):
    etc, opt, snap = tree
    lg.save(snap, [etc, opt])
    write(os.path.join(etc, "nginx.d", "peers.map"), "newer map\n")
    lg.save(snap, [etc, opt])
    assert lg.differs(snap, [etc, opt]) == []
    assert not os.path.exists(snap + ".new") and not os.path.exists(snap + ".old")


def test_restore_without_a_snapshot_says_so(tree):
    etc, opt, snap = tree
    with pytest.raises(lg.SnapshotError, match="no last-good snapshot"):
        lg.restore(snap, [etc, opt])
