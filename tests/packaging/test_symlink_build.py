"""What the on-node runtime's layout relies on (roles/node_runtime/files/ovr_node/ holds symlinks
to plugins/module_utils/): the ansible-galaxy in use keeps a symlink that points inside the
collection as a link, and installs it so that it resolves. Shown on a throwaway collection, so it
holds before any such link exists, and on every ansible-core the tests run on."""
import os
import subprocess
import tarfile

LINK = "roles/runtime/files/pkg/engine.py"
TARGET = "../../../../plugins/module_utils/engine.py"


def test_symlink_into_module_utils_survives_build_and_install(tmp_path):
    src = tmp_path / "src"
    (src / "plugins" / "module_utils").mkdir(parents=True)
    (src / "plugins" / "module_utils" / "engine.py").write_text("ENGINE = 1\n")
    (src / "roles" / "runtime" / "meta").mkdir(parents=True)
    (src / "roles" / "runtime" / "meta" / "main.yml").write_text("---\ndependencies: []\n")
    (src / "roles" / "runtime" / "files" / "pkg").mkdir(parents=True)
    os.symlink(TARGET, src / LINK)
    (src / "README.md").write_text("probe\n")
    (src / "galaxy.yml").write_text("namespace: probe\nname: links\nversion: 1.0.0\nreadme: README.md\n"
                                    "authors: [probe]\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"))
    subprocess.run(["ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), str(src)],
                   check=True, stdout=subprocess.DEVNULL, env=env)
    tarball = tmp_path / "probe-links-1.0.0.tar.gz"
    with tarfile.open(tarball) as tar:
        member = tar.getmember(LINK)
    assert member.issym() and member.linkname == TARGET
    subprocess.run(["ansible-galaxy", "collection", "install", "--offline", "--no-deps", "-p",
                    str(tmp_path / "collections"), str(tarball)], check=True, stdout=subprocess.DEVNULL, env=env)
    installed = tmp_path / "collections" / "ansible_collections" / "probe" / "links" / LINK
    assert installed.is_symlink() and os.readlink(installed) == TARGET
    assert installed.read_text() == "ENGINE = 1\n"
