# -*- coding: utf-8 -*-
"""/api/realtime: the collector's live values per GX from memory (ovr_node.realtime), its
configuration, and the HTTP side on a TCP address and a Unix socket."""

import http.client
import json
import socket
import time

import pytest

from live_helpers import Message, make_collector, send  # tests/unit/collector: a collector fed by hand
from ovr_node import collector as daemon, http as http_side, realtime  # roles/node_runtime/files


def test_default_paths_are_the_system_service_and_round_trip():
    paths = realtime.parse_paths(realtime.DEFAULT_PATHS_TEXT)
    assert paths["soc"] == ("system/0/Dc/Battery/Soc",)
    assert paths["voltage"] == ("system/0/Dc/Battery/Voltage",)
    assert paths["mode"] == ("system/0/SystemState/State",)
    assert "system/0/Dc/Pv/Power" in paths["pin"] and "system/0/Ac/Grid/L3/Power" in paths["pin"]
    assert paths["pout"] == tuple("system/0/Ac/Consumption/L%d/Power" % n for n in (1, 2, 3))
    assert realtime.format_paths(paths) == realtime.DEFAULT_PATHS_TEXT


@pytest.mark.parametrize("refresh", ["60", "0"])
def test_live_values_per_followed_gx_from_the_messages(tmp_path, monkeypatch, refresh):
    collector = make_collector(tmp_path, "--refresh-interval", refresh)
    clock = [1000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    send(collector, "abc", "system/0/Dc/Battery/Soc", 81.5)
    send(collector, "abc", "system/0/Dc/Battery/Voltage", 52.71)
    send(collector, "abc", "system/0/Dc/Pv/Power", 600)
    send(collector, "abc", "system/0/Ac/Grid/L1/Power", 10)
    send(collector, "abc", "system/0/Ac/Grid/L2/Power", -4)
    send(collector, "abc", "system/0/Ac/Consumption/L1/Power", 420)
    send(collector, "abc", "system/0/Ac/Consumption/L2/Power", 310)
    send(collector, "abc", "system/0/SystemState/State", 9)
    send(collector, "zzz", "system/0/Dc/Battery/Soc", 10)          # not followed: not listed
    clock[0] = 1002.0
    doc = json.loads(collector.realtime_body())
    assert doc["ts"] == 1002.0
    assert [s["system_id"] for s in doc["systems"]] == ["abc", "def"]
    abc, dfe = doc["systems"]
    assert abc == {"system_id": "abc", "soc": 81.5, "voltage": 52.71, "pin": 606.0, "pout": 730.0, "mode": 9,
                   "ts": 1000.0, "stale": False}
    # a followed GX never heard: listed, every value null, stale
    assert dfe == {"system_id": "def", "soc": None, "voltage": None, "pin": None, "pout": None, "mode": None,
                   "ts": None, "stale": True}


def test_stale_after_the_bound_of_silence_and_fresh_again_on_a_heartbeat(tmp_path, monkeypatch):
    collector = make_collector(tmp_path, "--realtime-stale-after", "15")
    clock = [1000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    send(collector, "abc", "system/0/Dc/Battery/Soc", 80)
    clock[0] = 1015.0
    assert json.loads(collector.realtime_body())["systems"][0]["stale"] is False
    clock[0] = 1015.5
    system = json.loads(collector.realtime_body())["systems"][0]
    assert system["stale"] is True and system["soc"] == 80 and system["ts"] == 1000.0   # last value kept, marked
    send(collector, "abc", "heartbeat", 1015)                       # any message: heard again
    clock[0] = 1015.7                                               # (one document serves REUSE s of requests)
    assert json.loads(collector.realtime_body())["systems"][0]["stale"] is False


def test_one_document_serves_every_request_within_reuse(tmp_path, monkeypatch):
    collector = make_collector(tmp_path)
    clock = [1000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    send(collector, "abc", "system/0/Dc/Battery/Soc", 80)
    first = collector.realtime_body()
    send(collector, "abc", "system/0/Dc/Battery/Soc", 81)
    clock[0] = 1000.0 + realtime.REUSE / 2
    assert collector.realtime_body() is first
    clock[0] = 1000.0 + realtime.REUSE * 1.5
    assert json.loads(collector.realtime_body())["systems"][0]["soc"] == 81
    assert collector.figures()["realtime_requests"] == 3


def test_withdrawn_or_invalid_values_are_null(tmp_path):
    collector = make_collector(tmp_path)
    send(collector, "abc", "system/0/Dc/Battery/Soc", 80)
    send(collector, "abc", "system/0/Dc/Battery/Voltage", 52)
    send(collector, "abc", "system/0/Dc/Battery/Soc", None)          # empty payload: the item went away
    collector.on_message(None, None, Message("N/abc/system/0/Dc/Battery/Voltage", b'{"value": null}'))
    system = json.loads(collector.realtime_body())["systems"][0]
    assert system["soc"] is None and system["voltage"] is None


def test_the_paths_are_data(tmp_path):
    collector = make_collector(tmp_path, "--realtime-paths",
                               "soc=vebus/276/Soc,voltage=vebus/276/Dc/0/Voltage,pin=vebus/276/Ac/ActiveIn/L1/P,"
                               "pout=vebus/276/Ac/Out/L1/P+vebus/276/Ac/Out/L2/P,mode=vebus/276/Mode")
    send(collector, "abc", "system/0/Dc/Battery/Soc", 80)            # no longer a field
    send(collector, "abc", "vebus/276/Soc", 55)
    send(collector, "abc", "vebus/276/Ac/Out/L1/P", 100)
    send(collector, "abc", "vebus/276/Ac/Out/L2/P", 50.5)
    send(collector, "abc", "vebus/276/Mode", 3)
    system = json.loads(collector.realtime_body())["systems"][0]
    assert (system["soc"], system["pout"], system["mode"], system["pin"]) == (55, 150.5, 3, None)


def test_unfollowed_gx_are_forgotten_on_reload(tmp_path):
    collector = make_collector(tmp_path)
    send(collector, "abc", "system/0/Dc/Battery/Soc", 80)
    collector.apply({})
    assert collector.realtime.values == {} and collector.realtime.heard == {}


@pytest.mark.parametrize("flags, error", [
    (["--realtime-paths", "soc=system/0/Dc/Battery/Soc"], "no path for voltage"),
    (["--realtime-paths", realtime.DEFAULT_PATHS_TEXT + ",soc=system/0/X"], "soc is given twice"),
    (["--realtime-paths", realtime.DEFAULT_PATHS_TEXT.replace("soc=", "charge=")], "'charge="),
    (["--realtime-paths", realtime.DEFAULT_PATHS_TEXT.replace("system/0/Dc/Battery/Soc", "N/abc/#")], "not a GX path"),
    (["--realtime-stale-after", "0"], "realtime_stale_after must be positive"),
    (["--realtime-socket", "run/x.sock"], "absolute path"),
])
def test_bad_realtime_config_is_refused(flags, error, capsys):
    assert daemon.main(["--env-file", "", "--check-config"] + flags) == 2
    assert error in capsys.readouterr().err


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=5)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


def get(connection, path):
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def test_served_on_the_unix_socket_and_the_tcp_address(tmp_path):
    collector = make_collector(tmp_path)
    send(collector, "abc", "system/0/Dc/Battery/Soc", 77)
    path = str(tmp_path / "realtime.sock")
    (tmp_path / "realtime.sock").write_text("stale socket file of a killed daemon")
    unix = http_side.serve_unix(collector, path)
    tcp = http_side.serve(collector, "127.0.0.1", 0)
    try:
        assert (tmp_path / "realtime.sock").stat().st_mode & 0o777 == 0o666
        status, headers, body = get(UnixConnection(path), "/api/realtime")
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert headers["Cache-Control"] == "no-store"
        assert json.loads(body)["systems"][0]["soc"] == 77
        status, _headers, body = get(http.client.HTTPConnection("127.0.0.1", tcp.server_address[1], timeout=5),
                                     "/api/realtime?x=1")
        assert status == 200 and json.loads(body)["systems"][0]["system_id"] == "abc"
        assert get(UnixConnection(path), "/api/realtimex")[0] == 404
        assert collector.figures()["realtime_requests"] == 2
    finally:
        unix.shutdown()
        tcp.shutdown()
