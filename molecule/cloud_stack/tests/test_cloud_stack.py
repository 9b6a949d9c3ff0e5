"""The cloud stack on a converged node: TLS verifies with the lab CA, edges write with the bearer
token, users read with basic auth, everything else gets 401, plain HTTP is not served, and the
smoke playbook passes, then fails naming the check when VictoriaMetrics is stopped."""
import http.client
import json
import os
import pathlib
import socket
import ssl
import subprocess
import time
import urllib.parse
import uuid

import pytest

ROOT = pathlib.Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", pathlib.Path(__file__).resolve().parents[3]))
PKI = ROOT / ".cache" / "molecule-cloud_stack" / "pki"
NODE, NETWORK, NAME, PORT = "cloud-stack", "ovr-mol-cloud-stack", "cloud.lab.invalid", 8443
TOKEN, USER, PASSWORD = "lab-token-not-secret", "ops", "lab-ops-password-not-secret"
VM = "ovr-cloud-victoriametrics-1"


def node_ip():
    out = subprocess.run(["docker", "inspect", NODE, "--format",
                          '{{ (index .NetworkSettings.Networks "%s").IPAddress }}' % NETWORK],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


class _Conn(http.client.HTTPSConnection):
    """HTTPS to the node's address, with SNI and certificate checks for the cloud's name."""

    def connect(self):
        sock = socket.create_connection((node_ip(), PORT), timeout=10)
        self.sock = self._context.wrap_socket(sock, server_hostname=NAME)


def request(method, path, body=None, headers=None, auth=None, token=None):
    ctx = ssl.create_default_context(cafile=str(PKI / "ca.pem"))
    conn = _Conn(NAME, PORT, context=ctx, timeout=10)
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = "Bearer " + token
    if auth:
        import base64
        headers["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode()
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def smoke():
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    proc = subprocess.run(["ansible-playbook", "-i", inventory, str(ROOT / "playbooks" / "smoke.yml")],
                          capture_output=True, text=True, timeout=300, cwd=str(ROOT), check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))
    proc.stdout = " ".join((proc.stdout + proc.stderr).split())  # one line: messages wrap in the output
    return proc


def test_tls_verifies_with_the_lab_ca():
    status, body = request("GET", "/")
    assert status == 200 and b"<title>ovr console</title>" in body   # the unified UI (no legacy UI here)


def test_the_console_and_its_documents():
    assert request("GET", "/beta/")[0] == 200
    assert request("GET", "/beta/sw.js")[0] == 200
    status, body = request("GET", "/api/capabilities")
    doc = json.loads(body)
    assert status == 200 and doc["kind"] == "cloud" and doc["apis"]["nodes"] == "/api/nodes" and doc["version"]
    assert request("GET", "/api/nodes")[0] == 401
    status, body = request("GET", "/api/nodes", auth=(USER, PASSWORD))
    doc = json.loads(body)
    assert status == 200 and doc["generated_from"] == "inventory" and isinstance(doc["sites"], list)
    assert "tlast_over_time" in doc["live"]["last_seen"]
    # the bundle's files only: any other path still gets the 401
    assert request("GET", "/nope.html")[0] == 401


def test_tls_fails_without_the_lab_ca():
    ctx = ssl.create_default_context()
    with pytest.raises(ssl.SSLError):
        with socket.create_connection((node_ip(), PORT), timeout=10) as sock:
            ctx.wrap_socket(sock, server_hostname=NAME)


def test_write_with_bearer_then_query_with_basic_auth():
    run = uuid.uuid4().hex
    ts = int(time.time() * 1000) - 60000
    status, body = request("POST", "/api/v1/import/prometheus",
                           body=('ovr_molecule_probe{run="%s"} 42 %d\n' % (run, ts)).encode(), token=TOKEN)
    assert status == 204, body
    query = "/api/v1/query?" + urllib.parse.urlencode({"query": 'ovr_molecule_probe{run="%s"}' % run})
    for dummy in range(30):
        status, body = request("GET", query, auth=(USER, PASSWORD))
        assert status == 200, body
        result = json.loads(body)
        assert result["status"] == "success"
        if result["data"]["result"]:
            assert result["data"]["result"][0]["value"][1] == "42"
            return
        time.sleep(1)
    pytest.fail("the sample written with the bearer token never became queryable")


def test_remote_write_path_reaches_victoriametrics_with_the_token():
    # Garbage instead of snappy protobuf: VictoriaMetrics itself answers 400, so the front let it through.
    status = request("POST", "/api/v1/write", body=b"not snappy", token=TOKEN)[0]
    assert status == 400


@pytest.mark.parametrize("method,path,kwargs", [
    ("POST", "/api/v1/write", {}),
    ("POST", "/api/v1/write", {"token": "wrong-token-0123456789"}),
    ("POST", "/api/v1/import/prometheus", {"auth": (USER, PASSWORD)}),
    ("GET", "/api/v1/query?query=up", {}),
    ("GET", "/api/v1/query?query=up", {"auth": (USER, "wrong-password")}),
    ("GET", "/api/v1/query?query=up", {"auth": ("nobody", PASSWORD)}),
    ("GET", "/api/v1/query?query=up", {"token": TOKEN}),
    ("GET", "/api/v1/admin/tsdb/delete_series?match[]=up", {"token": TOKEN}),
    ("GET", "/metrics", {"auth": (USER, PASSWORD)}),
], ids=["no-token", "wrong-token", "write-with-basic", "query-anonymous", "wrong-password",
        "unknown-user", "query-with-edge-token", "admin-with-token", "other-path"])
def test_refused(method, path, kwargs):
    status = request(method, path, **kwargs)[0]
    assert status == 401


def test_plain_http_is_not_served():
    conn = http.client.HTTPConnection(node_ip(), PORT, timeout=10)
    conn.request("GET", "/api/v1/query?query=up")
    assert conn.getresponse().status == 400  # Caddy: "Client sent an HTTP request to an HTTPS server."
    with pytest.raises(OSError):
        socket.create_connection((node_ip(), 80), timeout=3).close()


def test_victoriametrics_is_not_published(host):
    assert not host.socket("tcp://8428").is_listening
    assert host.socket("tcp://0.0.0.0:%d" % PORT).is_listening


def test_secrets_on_disk(host):
    key = host.file("/etc/ovr/secrets/cloud-tls/key.pem")
    assert key.mode == 0o600 and key.user == "root"
    caddyfile = host.file("/opt/ovr/cloud/caddy/Caddyfile")
    assert caddyfile.mode == 0o600
    assert PASSWORD not in caddyfile.content_string


def test_smoke_passes_then_names_the_stopped_service(host):
    ok = smoke()
    assert ok.returncode == 0, ok.stdout[-3000:]
    assert "all 4 smoke checks passed" in ok.stdout
    host.run_test("docker stop %s" % VM)
    try:
        bad = smoke()
        assert bad.returncode != 0
        assert "cloud-stack: 2 of 4 smoke checks FAILED" in bad.stdout, bad.stdout[-3000:]
        assert "[cloud containers running and healthy] expected project ovr-cloud" in bad.stdout
        assert "victoriametrics: exited" in bad.stdout
        assert "[authenticated query answers]" in bad.stdout
    finally:
        host.run_test("docker start %s" % VM)
        for dummy in range(60):
            if host.run("docker inspect -f '{{.State.Health.Status}}' %s" % VM).stdout.strip() == "healthy":
                break
            time.sleep(1)
    assert smoke().returncode == 0
