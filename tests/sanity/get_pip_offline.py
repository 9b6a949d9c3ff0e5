"""Stand-in for the get-pip bootstrap script ansible-test downloads from a host this machine
cannot reach. ansible-test runs it inside each new, pip-less sanity virtualenv with pip's own
arguments (e.g. ``--disable-pip-version-check pip==24.2 --no-setuptools --no-wheel``): bootstrap
the pip bundled with CPython (ensurepip), then let that pip install the pinned packages from the
package index this machine is configured for."""
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

# In a child process: ensurepip blanks pip's configuration (index, certificates) in its own
# environment, which the pip run below needs.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"], stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--quiet"] + args))
