#!/usr/bin/env python3
"""A STUN-like reflector for the NAT behaviour test (RFC 4787 mapping and filtering), in the
spirit of RFC 3489's CHANGE-REQUEST. It listens on several named sockets; on any of them:
  "map"        -> "MAPPED IP PORT": the source address and port the datagram came from
  "poke NAME"  -> "POKE NAME", sent from the socket NAME to the requester's address and port
                  (a host the requester may never have contacted)
Runs until killed.
  stun_reflector.py NAME=IP:PORT [NAME=IP:PORT ...]"""
import selectors, socket, sys

socks = {}
sel = selectors.DefaultSelector()
for spec in sys.argv[1:]:
    name, addr = spec.split("=", 1)
    host, port = addr.rsplit(":", 1)
    host = host.strip("[]")
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, int(port)))
    socks[name] = s
    sel.register(s, selectors.EVENT_READ, name)

while True:
    for key, _ in sel.select():
        s = key.fileobj
        try:
            data, peer = s.recvfrom(65536)
        except OSError:
            continue
        words = data.decode(errors="replace").split()
        try:
            if words[:1] == ["map"]:
                s.sendto(f"MAPPED {peer[0]} {peer[1]}".encode(), peer)
            elif len(words) == 2 and words[0] == "poke" and words[1] in socks:
                socks[words[1]].sendto(f"POKE {words[1]}".encode(), peer)
        except OSError:
            pass
