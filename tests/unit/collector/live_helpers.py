# -*- coding: utf-8 -*-
"""What the collector's live-value tests share: a collector without a broker, fed messages by hand."""

import json

from ovr_node import collector as daemon, config as options  # roles/node_runtime/files


class Message(object):
    def __init__(self, topic, payload):
        self.topic = topic
        self.payload = payload


def make_collector(tmp_path, *flags):
    config = options.build_config(["--env-file", "", "--spool-dir", str(tmp_path / "spool"), "--listen", ""]
                                  + list(flags))
    collector = daemon.Collector(config)
    collector.portals = lambda: ["abc", "def"]
    return collector


def send(collector, portal, path, value):
    payload = b"" if value is None else json.dumps({"value": value}).encode()
    collector.on_message(None, None, Message("N/%s/%s" % (portal, path), payload))
