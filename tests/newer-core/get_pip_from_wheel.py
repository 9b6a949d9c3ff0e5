"""Stand-in for the get-pip bootstrap script ansible-test downloads (see
tests/sanity/get_pip_offline.py), for a Python without ensurepip: Debian's python3.13 in the
newer-ansible-core lane's image. ansible-test runs it in each new, pip-less sanity virtualenv with
pip's own arguments (e.g. ``--disable-pip-version-check pip==25.2 --no-setuptools --no-wheel``):
run pip from its wheel in /wheels, which installs the pinned packages from /wheels (/etc/pip.conf
of the image: no index)."""
import glob
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

wheel = sorted(glob.glob("/wheels/pip-*-py3-none-any.whl"))[-1]
args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, wheel + "/pip", "install", "--quiet"] + args))
