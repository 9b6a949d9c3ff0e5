"""The built collection as a user gets it: the tarball and the collection it installs.

tests/run.sh ("collection build") builds the tarball, installs it with its declared
dependencies into a clean folder and hands both over in OVR_TARBALL and OVR_INSTALLED (the
folder holding ansible_collections/). Run alone (pytest tests/packaging), the fixtures build the
tarball and install it (without dependencies) into a temporary folder themselves.
"""
import glob
import os
import pathlib
import subprocess

import pytest

from collection_tree import ROOT


@pytest.fixture(scope="session")
def tarball(tmp_path_factory):
    given = os.environ.get("OVR_TARBALL")
    if given:
        return pathlib.Path(given)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(["ansible-galaxy", "collection", "build", "--output-path", str(out), str(ROOT)],
                   check=True, stdout=subprocess.DEVNULL)
    return pathlib.Path(glob.glob(str(out / "ovr-fleet-*.tar.gz"))[0])


@pytest.fixture(scope="session")
def installed(tarball, tmp_path_factory):
    """The installed ovr.fleet folder (.../ansible_collections/ovr/fleet)."""
    given = os.environ.get("OVR_INSTALLED")
    if given:
        return pathlib.Path(given) / "ansible_collections" / "ovr" / "fleet"
    out = tmp_path_factory.mktemp("collections")
    subprocess.run(["ansible-galaxy", "collection", "install", "--offline", "--no-deps", "--force", "-p", str(out),
                    str(tarball)], check=True, stdout=subprocess.DEVNULL)
    return out / "ansible_collections" / "ovr" / "fleet"
