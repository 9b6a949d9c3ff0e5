"""Listeners of the network scenario: something answers on ports the firewall must close, so a
closed port means dropped by the firewall, not "nothing listening". TCP: a line, then close;
UDP: a datagram back. A port already taken (e.g. UDP 5353 by avahi) is left to its owner."""
import selectors
import socket
import sys

TCP = [9100]
UDP = [5353, 4242, 6696, 9999]

sel = selectors.DefaultSelector()
for port in TCP:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("0.0.0.0", port))
    except OSError as exc:
        print("tcp %d taken: %s" % (port, exc), file=sys.stderr)
        continue
    s.listen(16)
    sel.register(s, selectors.EVENT_READ, ("tcp", port))
for port in UDP:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("0.0.0.0", port))
    except OSError as exc:
        print("udp %d taken: %s" % (port, exc), file=sys.stderr)
        continue
    sel.register(s, selectors.EVENT_READ, ("udp", port))
print("listening", flush=True)
while True:
    for key, dummy in sel.select():
        proto, port = key.data
        try:
            if proto == "tcp":
                conn = key.fileobj.accept()[0]
                conn.sendall(b"tcp-%d\n" % port)
                conn.close()
            else:
                peer = key.fileobj.recvfrom(2048)[1]
                key.fileobj.sendto(b"udp-%d\n" % port, peer)
        except OSError:
            pass
