"""Loopback helpers shared by the integration tests and the benchmarks (one implementation)."""
import importlib.util
import os
import socket
import subprocess
import time

GXSIM_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "lab", "gxsim", "gxsim.py")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(proc, grace=5.0):
    """SIGTERM a child process we started, wait up to ``grace`` s, then kill it. Returns its exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


def wait_port(port, timeout=5.0):
    """True once something accepts on 127.0.0.1:port, False after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def unresolvable(name):
    """A host name that fails to resolve without any DNS query leaving this machine.

    A label may not start with '-', so the C library refuses '-<name>-.invalid' itself
    (checked with strace: no packet is sent). Resolve-failure tests use it so that they send
    nothing to the machine's resolver.
    """
    return "-%s-.invalid" % name


def load_gxsim():
    """The GX simulator (lab/gxsim/gxsim.py) as a module, for in-process use."""
    spec = importlib.util.spec_from_file_location("gxsim", GXSIM_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
