# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MQTT plumbing shared by the gx_* modules and the on-node tools.

* the paho-mqtt import is guarded here and only here (``HAS_PAHO``,
  ``PAHO_IMPORT_ERROR``, :func:`require_paho`);
* the connection options every module takes (:data:`CONNECTION_ARGSPEC`,
  documented by the ``ovr.fleet.mqtt`` doc fragment);
* TLS context construction and paho client construction (CallbackAPIVersion.VERSION2),
  used by every MQTT exchange of ``gx.py`` and the on-node tools.

No Ansible import at module level: this file also runs on edge nodes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import ssl
import traceback
import uuid

PAHO_IMPORT_ERROR = None
try:
    import paho.mqtt.client as paho_client
    from paho.mqtt.enums import CallbackAPIVersion
    HAS_PAHO = True
except ImportError:  # pragma: no cover - exercised via monkeypatch in unit tests
    paho_client = None
    CallbackAPIVersion = None
    HAS_PAHO = False
    PAHO_IMPORT_ERROR = traceback.format_exc()

# Options shared by every gx_* module; keep in sync with plugins/doc_fragments/mqtt.py
CONNECTION_ARGSPEC = dict(
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
    tls=dict(type="bool", default=False),
    ca_cert=dict(type="path"),
    client_cert=dict(type="path"),
    client_key=dict(type="path", no_log=False),
    tls_insecure=dict(type="bool", default=False),
)
CONNECTION_REQUIRED_TOGETHER = [("client_cert", "client_key")]
CONNECTION_REQUIRED_BY = {"password": "username"}


def require_paho(module):
    """Fail the module the Ansible way when paho-mqtt is missing."""
    if not HAS_PAHO:
        from ansible.module_utils.basic import missing_required_lib
        module.fail_json(msg=missing_required_lib("paho-mqtt"), exception=PAHO_IMPORT_ERROR)


def ssl_context(ca_cert=None, client_cert=None, client_key=None, insecure=False):
    """Client TLS context: system CAs or ``ca_cert``; optional client cert; ``insecure`` skips verification."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_cert)
    if client_cert:
        ctx.load_cert_chain(client_cert, client_key)
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ConnectionOptions(object):
    """Credentials and TLS settings for one MQTT connection (from module params or a config)."""

    __slots__ = ("username", "password", "tls", "ca_cert", "client_cert", "client_key", "tls_insecure",
                 "_ctx")

    def __init__(self, username=None, password=None, tls=False, ca_cert=None, client_cert=None,
                 client_key=None, tls_insecure=False):
        self.username = username
        self.password = password
        # giving any TLS file implies TLS
        self.tls = bool(tls or ca_cert or client_cert or tls_insecure)
        self.ca_cert = ca_cert
        self.client_cert = client_cert
        self.client_key = client_key
        self.tls_insecure = bool(tls_insecure)
        self._ctx = None

    @classmethod
    def from_params(cls, params):
        return cls(**dict((k, params.get(k)) for k in CONNECTION_ARGSPEC))

    def ssl_context(self):
        """The (shared, lazily built) SSLContext, or None without TLS."""
        if not self.tls:
            return None
        if self._ctx is None:
            self._ctx = ssl_context(self.ca_cert, self.client_cert, self.client_key, self.tls_insecure)
        return self._ctx


def options_from_module(module):
    """ConnectionOptions from a module's params; fails the module on unusable TLS files."""
    options = ConnectionOptions.from_params(module.params)
    try:
        options.ssl_context()
    except (OSError, ssl.SSLError, ValueError) as exc:
        module.fail_json(msg="cannot set up TLS: %s" % exc)
    return options


def client_id(prefix="ovr-fleet"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def build_client(options=None, client_id_prefix="ovr-fleet", userdata=None, reconnect_on_failure=True,
                 client_class=None):
    """A paho 2.x client (MQTT 3.1.1, clean session, VERSION2 callbacks) with auth and TLS applied.

    ``reconnect_on_failure=False`` keeps paho from silently reconnecting (e.g. downgrading to
    MQTT 3.1 on a refused protocol version) so that short exchanges see the refusal.
    ``client_class``: a subclass of paho's Client to build instead (the collector's buffered reads).
    """
    if not HAS_PAHO:
        raise RuntimeError("paho-mqtt is required: %s" % (PAHO_IMPORT_ERROR or "not installed"))
    options = options or ConnectionOptions()
    client = (client_class or paho_client.Client)(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id(client_id_prefix),
        clean_session=True,
        userdata=userdata,
        protocol=paho_client.MQTTv311,
        reconnect_on_failure=reconnect_on_failure,
    )
    if options.username is not None:
        client.username_pw_set(options.username, options.password)
    ctx = options.ssl_context()
    if ctx is not None:
        client.tls_set_context(ctx)
        if options.tls_insecure:
            client.tls_insecure_set(True)
    return client
