# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Buffered reads for the collector's paho clients: one ``recv`` per 64 KiB instead of per packet part.

Stock paho (2.x) reads an incoming packet with three or more ``recv`` calls (the command byte,
each byte of the remaining length, then the rest) and goes back to ``select`` after every packet:
four or five system calls and a pass through its loop per GX message, which is most of what a
subscriber spends on a small message. :class:`BufferedReads` (mixed into paho's ``Client``)
serves those reads from a buffer filled ``CHUNK`` bytes at a time, and reads every packet that is
already buffered before it goes back to ``select``.

The rule that keeps it correct: :meth:`loop_read` only returns once the buffer is empty, so
``select`` never waits on the socket while complete packets sit in the buffer. It stops refilling
after ``REFILLS`` chunks per call (a packet cut at a chunk's end is finished on the next call, as
paho does with partial packets), so its loop still runs its keepalive and writes between bursts.

paho's private methods ``_sock_recv`` and ``_packet_read`` are the interface; :func:`supported`
checks they are there, else the collector uses paho's client as it is.
"""

import errno

try:
    import paho.mqtt.client as paho_client
    from paho.mqtt.enums import MQTTErrorCode
except ImportError:  # the collector refuses to start without paho (collector.main)
    paho_client = None
    MQTTErrorCode = None

CHUNK = 65536
REFILLS = 16


def supported():
    return paho_client is not None and all(
        hasattr(paho_client.Client, name) for name in ("_sock_recv", "_packet_read", "loop_read"))


class BufferedReads(object):
    """Mixin for paho's ``Client`` (before it in the bases)."""

    _rbuf = b""
    _rpos = 0
    _rsock = None
    _refills = 0

    def _sock_recv(self, bufsize):
        pos = self._rpos
        buf = self._rbuf
        if pos >= len(buf) or self._rsock is not self._sock:
            if self._rsock is not self._sock:   # a new connection: nothing buffered belongs to it
                self._rsock = self._sock
            self._rbuf, self._rpos = b"", 0
            if self._refills <= 0:
                raise BlockingIOError(errno.EAGAIN, "buffered read: back to select")
            self._refills -= 1
            buf = super(BufferedReads, self)._sock_recv(max(CHUNK, bufsize))
            if not buf:
                return buf   # the connection was closed
            self._rbuf, pos = buf, 0
        end = pos + bufsize
        self._rpos = min(end, len(buf))
        return buf[pos:end]

    def buffered(self):
        """Bytes read from the socket and not yet handed to paho."""
        return len(self._rbuf) - self._rpos if self._rsock is self._sock else 0

    def loop_read(self, max_packets=1):
        """Every packet in the buffer and up to REFILLS more chunks from the socket; returns with
        the buffer empty (a partial packet is kept by paho, its rest still in the socket)."""
        if self._sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        self._refills = REFILLS
        try:
            while True:
                if self._sock is None:
                    return MQTTErrorCode.MQTT_ERR_NO_CONN
                rc = self._packet_read()
                if rc > 0:
                    self._rbuf, self._rpos = b"", 0
                    return self._loop_rc_handle(rc)
                if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                    return MQTTErrorCode.MQTT_ERR_SUCCESS
        finally:
            self._refills = 0


def client_class():
    """paho's Client with buffered reads, or paho's Client itself where its internals differ."""
    if not supported():
        return paho_client.Client if paho_client is not None else None
    return type("BufferedClient", (BufferedReads, paho_client.Client), {})
