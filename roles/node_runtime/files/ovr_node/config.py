# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collector's options: defaults, the env file (the ``envfile`` dialect), flags, checks.

Every option is a flag (``--batch-lines``) and an env file key (``OVR_COLLECTOR_BATCH_LINES``);
a flag wins over the env file, the env file over the default.
"""

import argparse
import os
import re

from . import envfile
from . import realtime
from . import victron

ENV_PREFIX = "OVR_COLLECTOR_"
DEFAULT_ENV_FILE = "/etc/ovr/collector.env"
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED_LABELS = frozenset(victron.LABEL_ORDER) | {"__name__", "job", "instance"}

# name, type, default, help: every option is a flag and an env file key (OVR_COLLECTOR_<NAME>)
OPTIONS = (
    ("vm_url", str, "http://127.0.0.1:8428", "VictoriaMetrics base URL"),
    ("systems_file", str, "/etc/ovr/gx_systems.json", "GX systems to follow (written by ovr-refresh-gx-mqtt-sources)"),
    ("spool_dir", str, "/var/lib/ovr/collector/spool", "where batches wait on disk while VictoriaMetrics is down"),
    ("batch_lines", int, 5000, "lines per write"),
    ("flush_interval", float, 1.0, "seconds before a partial batch is written"),
    ("memory_max_lines", int, 200000, "lines buffered in memory before the oldest batches go to the spool"),
    ("memory_max_bytes", int, 32 * 1024 * 1024, "bytes buffered in memory before the oldest batches go to the spool"),
    ("spool_max_bytes", int, 512 * 1024 * 1024, "bound of the spool directory; beyond it new messages are dropped"),
    ("listen", str, "127.0.0.1:9108", "host:port of /metrics and /healthz (empty: off)"),
    ("realtime_socket", str, "", "Unix socket that serves /api/realtime to the node's nginx (empty: off; "
     "the listen address serves it too)"),
    ("realtime_paths", str, realtime.DEFAULT_PATHS_TEXT, "GX paths of the /api/realtime fields: "
     "field=path[+path...],... (a field of several paths is their sum)"),
    ("realtime_stale_after", float, realtime.DEFAULT_STALE_AFTER, "seconds of silence after which a GX is "
     "stale in /api/realtime"),
    ("labels", str, "", "extra labels added to every series: site=...,node=..."),
    ("keepalive_interval", float, 30.0, "seconds between suppress-republish keepalives (<= 50)"),
    ("refresh_interval", float, 60.0, "seconds after which an unchanged value of a live GX is written again (0: never)"),
    ("poll_interval", float, 2.0, "seconds between checks of the systems file"),
    ("summary_interval", float, 60.0, "seconds between summary log lines"),
    ("self_metrics_interval", float, 15.0, "seconds between writes of the collector's own counters to VictoriaMetrics"),
    ("write_timeout", float, 10.0, "seconds a write to VictoriaMetrics may take"),
    ("backoff_max", float, 30.0, "longest wait between failed writes"),
    ("mqtt_username", str, "", "GX broker user name"),
    ("mqtt_password", str, "", "GX broker password"),
    ("mqtt_tls", bool, False, "TLS to the GX brokers"),
    ("mqtt_ca_cert", str, "", "CA bundle for TLS"),
    ("client_prefix", str, "ovr-collector", "MQTT client id prefix"),
    ("log_level", str, "INFO", "DEBUG, INFO, WARNING or ERROR"),
)
OPTION_TYPES = dict((o[0], o[1]) for o in OPTIONS)


class ConfigError(ValueError):
    pass


def parse_bool(text):
    text = str(text).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("not a boolean: %r" % text)


def read_env_file(path):
    """The env file (``envfile`` dialect, ``OVR_COLLECTOR_*`` keys only) -> dict of options."""
    values = {}
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    for number, line in enumerate(lines, 1):
        try:
            pair = envfile.parse_line(line, number)
        except envfile.EnvFileError as exc:
            raise ConfigError("%s:%d: %s" % (path, number, exc.msg))
        if pair is None:
            continue
        key, value = pair
        if not key.startswith(ENV_PREFIX):
            raise ConfigError("%s:%d: expected %s<OPTION>=VALUE" % (path, number, ENV_PREFIX))
        name = key[len(ENV_PREFIX):].lower()
        if name not in OPTION_TYPES:
            raise ConfigError("%s:%d: unknown option %s" % (path, number, key))
        if name in values:
            raise ConfigError("%s:%d: %s is set a second time" % (path, number, key))
        values[name] = value
    return values


def parse_labels(text):
    labels = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not LABEL_NAME.match(name) or name.startswith("__"):
            raise ConfigError("bad label %r: want name=value" % part)
        if name in RESERVED_LABELS:
            raise ConfigError("label %s is set by the collector itself" % name)
        labels[name] = value.strip()
    return labels


def split_hostport(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError("listen must be host:port, got %r" % text)
    return host.strip("[]") or "127.0.0.1", int(port)


def build_config(argv=None, description=None):
    """Flags over the env file over the defaults -> the checked config dict. Raises ConfigError."""
    parser = argparse.ArgumentParser(prog="ovr-collector", description=description)
    parser.add_argument("--env-file", default=os.environ.get(ENV_PREFIX + "ENV_FILE", DEFAULT_ENV_FILE))
    parser.add_argument("--check-config", action="store_true", help="validate the configuration and exit")
    for name, _kind, default, text in OPTIONS:
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=None,
                            help="%s (default: %s)" % (text, default if "password" not in name else "none"))
    args = parser.parse_args(argv)
    given = {}
    if args.env_file and os.path.exists(args.env_file):
        given.update(read_env_file(args.env_file))
    elif args.check_config and args.env_file:
        raise ConfigError("%s: no such file" % args.env_file)
    given.update(dict((n, getattr(args, n)) for n in OPTION_TYPES if getattr(args, n) is not None))
    config = {}
    for name, kind, default, _text in OPTIONS:
        if name not in given:
            config[name] = default
            continue
        try:
            config[name] = parse_bool(given[name]) if kind is bool else kind(given[name])
        except ValueError:
            raise ConfigError("%s: %r is not a valid %s" % (name, given[name], kind.__name__))
    config["extra_labels"] = parse_labels(config["labels"])
    for name in ("batch_lines", "memory_max_lines", "memory_max_bytes", "spool_max_bytes"):
        if config[name] < 1:
            raise ConfigError("%s must be at least 1" % name)
    if config["memory_max_lines"] < config["batch_lines"]:
        raise ConfigError("memory_max_lines must be at least batch_lines")
    if config["refresh_interval"] < 0:
        raise ConfigError("refresh_interval must be 0 (off) or positive")
    if not 0 < config["keepalive_interval"] <= 50:
        raise ConfigError("keepalive_interval must be in (0, 50]: a GX stops publishing 60 s after a keepalive")
    for name in ("flush_interval", "poll_interval", "summary_interval", "self_metrics_interval", "write_timeout",
                 "backoff_max"):
        if config[name] <= 0:
            raise ConfigError("%s must be positive" % name)
    if not re.match(r"^https?://[^/\s]+/?$", config["vm_url"]):
        raise ConfigError("vm_url must be http(s)://host:port, got %r" % config["vm_url"])
    config["vm_url"] = config["vm_url"].rstrip("/")
    if config["listen"]:
        split_hostport(config["listen"])
    try:
        config["realtime_fields"] = realtime.parse_paths(config["realtime_paths"])
    except ValueError as exc:
        raise ConfigError(str(exc))
    if config["realtime_stale_after"] <= 0:
        raise ConfigError("realtime_stale_after must be positive")
    if config["realtime_socket"] and not config["realtime_socket"].startswith("/"):
        raise ConfigError("realtime_socket must be an absolute path, got %r" % config["realtime_socket"])
    if config["log_level"].upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("log_level must be DEBUG, INFO, WARNING or ERROR")
    config["check_config"] = args.check_config
    config["env_file"] = args.env_file
    return config
