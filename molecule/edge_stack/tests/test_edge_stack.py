"""What an operator checks on two edge nodes of one site after ovr.fleet.edge_stack (testinfra).

Everything goes through HTTP from the nodes themselves and `docker inspect`/`docker logs`
(`docker exec` into a container of a node's Docker fails here: setns is refused)."""
import json
import pathlib
import os
import time
import uuid

import pytest
import testinfra

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
A, B = "es-edge-a", "es-edge-b"
PORT = {A: 80, B: 8080}
PROJECT = "ovr-edge"
REGISTRY_VM = "ovr-registry:5000/ovr/victoria-metrics:lab"
RUN = uuid.uuid4().hex[:8]

# Runs on a node: one HTTP request with the raw path as given (http.client sends it untouched),
# prints {"status", "body"} (status 0: no connection).
HTTP = r"""
import http.client, json, sys
a = json.loads(sys.argv[1])
try:
    c = http.client.HTTPConnection(a["host"], a["port"], timeout=10)
    c.putrequest(a.get("method", "GET"), a["path"], skip_accept_encoding=True)
    body = a.get("body", "").encode()
    if body:
        c.putheader("Content-Length", str(len(body)))
    c.endheaders(body or None)
    r = c.getresponse()
    print(json.dumps({"status": r.status, "body": r.read().decode("utf-8", "replace"),
                      "headers": dict((k.lower(), v) for k, v in r.getheaders())}))
except OSError as exc:  # not listening (yet): status 0
    print(json.dumps({"status": 0, "body": str(exc)}))
"""


@pytest.fixture(scope="module")
def nodes():
    return {name: testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, INVENTORY)) for name in (A, B)}


def http(node, path, port=None, method="GET", body="", host="127.0.0.1"):
    args = {"host": host, "port": port, "path": path, "method": method, "body": body}
    out = node.check_output("python3 -c %s %s" % (quote(HTTP), quote(json.dumps(args))))
    return json.loads(out)


def quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


def until(fn, timeout=60, step=1.0):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(step)
    return last


def inspect(node, service):
    name = "%s-%s-1" % (PROJECT, service)
    return json.loads(node.check_output("docker inspect %s" % name))[0]


def query(node, path_prefix, promql, port):
    res = http(node, "%s/api/v1/query?query=%s" % (path_prefix, promql), port=port)
    if res["status"] != 200:
        return None
    return json.loads(res["body"])["data"]["result"]


def test_services_running_and_healthy(nodes):
    def healthy(node, service):
        state = inspect(node, service)["State"]
        return state["Running"] and state.get("Health", {}).get("Status", "healthy") == "healthy"

    for name, node in nodes.items():
        for service in ("victoriametrics", "vmagent", "mosquitto", "nginx"):
            assert until(lambda: healthy(node, service), timeout=90, step=2), "%s: %s not healthy" % (name, service)
        # Default ingest is the host collector: no telegraf container.
        assert node.run("docker inspect %s-telegraf-1" % PROJECT).rc != 0


def test_published_ports(nodes):
    for name, node in nodes.items():
        ports = {s: inspect(node, s)["HostConfig"]["PortBindings"] or {} for s in ("victoriametrics", "vmagent", "mosquitto", "nginx")}
        assert ports["victoriametrics"] == {"8428/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8428"}]}
        assert ports["vmagent"] == {"8429/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8429"}]}
        assert ports["mosquitto"] == {}, "mosquitto must be internal only"
        assert ports["nginx"]["80/tcp"][0]["HostPort"] == str(PORT[name])
        assert ports["nginx"]["80/tcp"][0]["HostIp"] in ("", "0.0.0.0")


def test_vm_settings_and_secret_handling(nodes):
    node = nodes[A]
    vm = inspect(node, "victoriametrics")
    assert "-retentionPeriod=30d" in vm["Args"]
    assert any(m["Type"] == "volume" and m["Destination"] == "/var/lib/victoria-metrics" for m in vm["Mounts"])
    agent = inspect(node, "vmagent")
    assert agent["Path"] == "/usr/bin/vmagent"
    assert "-remoteWrite.maxDiskUsagePerURL=500MB" in agent["Args"]
    assert "-remoteWrite.url=http://es-edge-b:18428/api/v1/write" in agent["Args"]
    assert "-remoteWrite.label=site=es" in agent["Args"] and "-remoteWrite.label=node=es-edge-a" in agent["Args"]
    # The token is in the environment, never on a command line that `ps` shows to every user.
    assert not any("lab-token-not-secret" in a for a in agent["Args"])
    assert "VMAGENT_remoteWrite_bearerToken=lab-token-not-secret" in agent["Config"]["Env"]
    assert "lab-token-not-secret" not in node.check_output("ps -eo args")


def test_generated_files(nodes):
    for name, node in nodes.items():
        other = B if name == A else A
        peers = json.loads(node.file("/etc/ovr/peers.json").content_string)
        assert peers["node"] == name and peers["site"] == "es"
        assert [(p["id"], p["http_port"]) for p in peers["peers"]] == [(other, PORT[other])]
        assert node.file("/etc/ovr/peers.json").mode == 0o644
        # The peer's name, resolved on the node (a container could not), with the peer's own port.
        address = node.check_output("getent ahostsv4 %s | head -1 | cut -d' ' -f1" % other)
        assert '"%s" "%s:%d";' % (other, address, PORT[other]) in node.file("/etc/ovr/nginx.d/peers.map").content_string
        assert node.file("/opt/ovr/edge/.env").is_symlink
        assert node.file("/opt/ovr/edge/docker-compose.yml").contains("ovr.fleet.config-hash")


def test_health_and_peers_api(nodes):
    for name, node in nodes.items():
        other = B if name == A else A
        res = http(node, "/api/health", port=PORT[name])
        assert res["status"] == 200 and json.loads(res["body"]) == {"node": name, "site": "es", "status": "ok"}
        res = http(node, "/api/peers", port=PORT[name])
        assert res["status"] == 200
        assert [p["id"] for p in json.loads(res["body"])["peers"]] == [other]


def test_the_console_at_root_and_beta_with_pwa_headers(nodes):
    node = nodes[A]
    for path in ("/", "/beta/"):
        res = http(node, path, port=PORT[A])
        assert res["status"] == 200 and "<title>ovr console</title>" in res["body"], (path, res["status"])
        assert res["headers"]["cache-control"] == "no-cache"
    assert http(node, "/beta", port=PORT[A])["status"] == 301
    worker = http(node, "/beta/sw.js", port=PORT[A])
    assert worker["status"] == 200 and worker["headers"]["cache-control"] == "no-cache"
    assert worker["headers"]["service-worker-allowed"] == "/beta/"
    assert worker["headers"]["content-type"].startswith("application/javascript")
    assert http(node, "/sw.js", port=PORT[A])["headers"]["service-worker-allowed"] == "/"
    manifest = http(node, "/beta/manifest.webmanifest", port=PORT[A])
    assert manifest["headers"]["content-type"].startswith("application/manifest+json")
    assert manifest["headers"]["cache-control"] == "no-cache"
    asset = [line.split('"')[1] for line in http(node, "/beta/", port=PORT[A])["body"].splitlines()
             if 'src="assets/app.' in line][0]
    res = http(node, "/beta/" + asset, port=PORT[A])
    assert res["status"] == 200 and res["headers"]["cache-control"] == "public, max-age=31536000, immutable"
    # no legacy UI configured: nothing at /legacy/, and the API stays the API
    assert http(node, "/legacy/", port=PORT[A])["status"] == 404
    assert http(node, "/api/nope", port=PORT[A])["status"] == 404
    assert http(node, "/beta/", port=PORT[A], method="POST")["status"] == 403


def test_capabilities_from_the_inventory(nodes):
    import yaml
    version = yaml.safe_load((pathlib.Path(__file__).resolve().parents[3] / "galaxy.yml").read_text())["version"]
    for name, node in nodes.items():
        res = http(node, "/api/capabilities", port=PORT[name])
        doc = json.loads(res["body"])
        assert res["status"] == 200 and doc["kind"] == "edge" and doc["node"] == name and doc["site"] == "es"
        assert doc["version"] == version and doc["apis"]["realtime"] == "/api/realtime"
        assert doc["ui"] == {"unified": "/beta/", "root": "unified", "legacy": None}


def test_local_vm_query_through_nginx(nodes):
    for name, node in nodes.items():
        result = until(lambda: query(node, "/api/vm", "vector(1)", PORT[name]), timeout=60)
        assert result and result[0]["value"][1] == "1", name


def test_sample_written_on_a_is_answered_by_b_through_the_peer_route(nodes):
    a, b = nodes[A], nodes[B]
    ts = int(time.time() * 1000) - 30000
    line = 'ovr_es_probe{run="%s"} 42 %d\n' % (RUN, ts)
    res = http(a, "/api/v1/import/prometheus", port=8428, method="POST", body=line)
    assert res["status"] == 204, res
    result = until(lambda: query(b, "/api/peers/%s/vm" % A, "ovr_es_probe{run=\"%s\"}" % RUN, PORT[B]), timeout=60)
    assert result and result[0]["value"][1] == "42"
    # B's own store does not have it: the answer came from A.
    assert query(b, "/api/vm", "ovr_es_probe{run=\"%s\"}" % RUN, PORT[B]) == []
    # And the other way round, on B's own port.
    assert query(a, "/api/peers/%s/vm" % B, "vector(2)", PORT[A])[0]["value"][1] == "2"


def test_ingest_through_vmagent_reaches_local_vm_with_site_and_node_labels(nodes):
    a = nodes[A]
    ts = int(time.time() * 1000) - 30000
    res = http(a, "/api/v1/import/prometheus", port=8429, method="POST", body='ovr_es_ingest{run="%s"} 7 %d\n' % (RUN, ts))
    assert res["status"] == 204, res
    result = until(lambda: query(a, "/api/vm", "ovr_es_ingest{run=\"%s\"}" % RUN, PORT[A]), timeout=60)
    assert result, "vmagent did not deliver to the local VictoriaMetrics"
    assert result[0]["metric"]["site"] == "es" and result[0]["metric"]["node"] == A


PATH_TRICKS = [
    "/api/peers/unknown/vm/api/v1/query?query=ovrtrick",
    "/api/peers/%s/vm/api/v1/query?query=ovrtrick" % B,  # itself is not its own peer
    "/api/peers/ES-EDGE-A/vm/api/v1/query?query=ovrtrick",
    "/api/peers/es-edge-a/vm/../../api/vm/api/v1/query?query=ovrtrick",
    "/api/peers/es-edge-a/vm/api/v1/../v1/query?query=ovrtrick",
    "/api/peers/es-edge-a/vm/%2e%2e/%2e%2e/api/v1/query?query=ovrtrick",
    "/api/peers/es-edge-a%2F..%2Fes-edge-b/vm/api/v1/query?query=ovrtrick",
    "/api/peers/es-edge-a%2fvm/api/v1/query?query=ovrtrick",
    "/api/peers/es-edge-a/vm/api%2Fv1%2Fquery?query=ovrtrick",
    "/api/peers/es-edge-a@127.0.0.1/vm/api/v1/query?query=ovrtrick",
    "/api/peers/es-edge-a:80/vm/api/v1/query?query=ovrtrick",
    "/api/peers/es-edge-a.evil.example/vm/api/v1/query?query=ovrtrick",
    "/api/peers/127.0.0.1/vm/api/v1/query?query=ovrtrick",
    "/api/peers/127.0.0.1:8428/vm/api/v1/query?query=ovrtrick",
    "/api/peers//es-edge-a/vm/api/v1/query?query=ovrtrick",
    "/api/peers/es-edge-a//vm/api/v1/query?query=ovrtrick",
    "/api/peers/es-edge-a/vm//api/v1/query?query=ovrtrick",
    "/api/peers/http://es-edge-a/vm/api/v1/query?query=ovrtrick",
    "/api/peers/es-edge-a/vm/http://127.0.0.1:8428/api/v1/query?query=ovrtrick",
    "/api/peers/http:%2F%2F127.0.0.1:8428/vm/api/v1/query?query=ovrtrick",
    "/api/peers/es-edge-a/vm/@127.0.0.1/api/v1/query?query=ovrtrick",
    "/api/peers/es-edge-a/vm/api/v1/admin/tsdb/delete_series?match[]=ovrtrick",
    "/api/peers/es-edge-a/vm/api/v1/import/prometheus?ovrtrick",
    "/api/peers/es-edge-a/vm/api/v1/query%3Fquery=ovrtrick",
    "/api/peers/es-edge-a/vm/api/v1/query;ovrtrick",
    "/api/peers/es-edge-a/vm?ovrtrick",
    "/api/vm/../api/peers/es-edge-a/vm/api/v1/query?query=ovrtrick",
    "/api/vm/%2e%2e/api/peers/es-edge-a/vm/api/v1/query?query=ovrtrick",
    "/api/vm/api/v1/admin/tsdb/delete_series?match[]=ovrtrick",
    "/api/vm/api/v1/import/prometheus?ovrtrick",
]


def test_path_tricks_get_404_and_reach_no_other_address(nodes):
    a, b = nodes[A], nodes[B]
    since = a.check_output("date -u +%Y-%m-%dT%H:%M:%S")
    for path in PATH_TRICKS:
        res = http(b, path, port=PORT[B])
        assert res["status"] == 404, (path, res)
    # An absolute URL in the request line: routed on its path like any other request.
    res = http(b, "http://127.0.0.1:8428/api/v1/query?query=ovrtrick", port=PORT[B])
    assert res["status"] == 404, res
    # A legitimate request after them, so A's log provably shows what reached it.
    assert http(b, "/api/peers/es-edge-a/vm/api/v1/query?query=ovrlegit", port=PORT[B])["status"] == 200
    time.sleep(1)
    log_a = a.check_output("docker logs --since %s %s-nginx-1 2>&1" % (since, PROJECT))
    assert "ovrlegit" in log_a
    assert "ovrtrick" not in log_a, log_a
    # B's own log: every trick answered 404 there with no upstream contacted.
    log_b = b.check_output("docker logs --since %s %s-nginx-1 2>&1" % (since, PROJECT))
    tricks = [line for line in log_b.splitlines() if "ovrtrick" in line]
    assert len(tricks) == len(PATH_TRICKS) + 1, log_b
    assert all(' 404 ' in line and line.rstrip().split('"')[-2] in ("", "-") for line in tricks), tricks
    # A's local VictoriaMetrics never saw them either (its own API ignores unknown paths quietly).
    vm_log = a.check_output("docker logs --since %s %s-victoriametrics-1 2>&1" % (since, PROJECT))
    assert "ovrtrick" not in vm_log


def metric(node, name, url_index):
    text = http(node, "/metrics", port=8429)["body"]
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") and 'url="%d:' % url_index in line)


def test_cloud_down_buffers_on_disk_then_delivers(nodes):
    """The cloud (a stand-in VictoriaMetrics on es-edge-b:18428) has been down since converge:
    vmagent keeps what it got (in memory, on disk when it stops or the backlog grows), survives a
    restart with it, and delivers it once the cloud is back."""
    a, b = nodes[A], nodes[B]
    ts = int(time.time() * 1000) - 20000
    body = 'ovr_es_cloud{run="%s"} 9 %d\n' % (RUN, ts)
    assert http(a, "/api/v1/import/prometheus", port=8429, method="POST", body=body)["status"] == 204
    # URL 1 is the cloud (failing since converge), URL 2 the local store.
    time.sleep(2)
    assert metric(a, "vmagent_remotewrite_errors_total", 1) > 0
    assert metric(a, "vmagent_remotewrite_requests_total", 1) == 0

    # Stop (which flushes vmagent's in-memory queue to disk), bring the cloud back, start again:
    # the backlog comes back from the volume and is delivered.
    a.check_output("docker stop -t 30 %s-vmagent-1" % PROJECT)
    b.run("docker rm -f ovr-cloud-standin")
    b.check_output("docker run -d --name ovr-cloud-standin -p 18428:8428 %s" % REGISTRY_VM)
    try:
        a.check_output("docker start %s-vmagent-1" % PROJECT)
        log = until(lambda: [line for line in a.check_output("docker logs --since 1m %s-vmagent-1 2>&1" % PROJECT).splitlines()
                             if "opened fast queue" in line and "/persistent-queue/1_" in line], timeout=30)
        assert log, "vmagent did not reopen its cloud queue"
        pending = int(log[-1].split("it contains ")[1].split(" ")[0])
        assert pending > 0, log[-1]
        result = until(lambda: query(b, "", "ovr_es_cloud{run=\"%s\"}" % RUN, 18428), timeout=90, step=2)
        assert result, "nothing arrived in the cloud"
        assert result[0]["value"][1] == "9"
        assert result[0]["metric"]["site"] == "es" and result[0]["metric"]["node"] == A
    finally:
        b.run("docker rm -f ovr-cloud-standin")


def test_second_run_restarted_nothing(nodes):
    for name, node in nodes.items():
        runs = [r.strip() for r in node.file("/var/tmp/ovr-edge-stack-runs").content_string.split("---") if r.strip()]
        assert len(runs) >= 2, "%s: converge and idempotence should each have recorded the stack" % name
        assert runs[-1] == runs[-2], "%s: a container was recreated or restarted by the second run" % name
        assert len(runs[-1].splitlines()) == 4
