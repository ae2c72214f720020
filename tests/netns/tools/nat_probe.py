#!/usr/bin/env python3
"""The app of the NAT behaviour test: one UDP socket asks reflectors (stun_reflector.py) which
address and port they see, then asks one of them to have other sockets send to it, and
prints one JSON object: {"mapped": {"A": "IP PORT", ...}, "poked": {"C": true, ...}}.
  nat_probe.py [--socks5 IP:PORT | --via IP:PORT] --ask NAME=IP:PORT ... --poke NAME ...
--via: every datagram goes to this address instead (a udp-local forward whose target is the
first --ask); --socks5: through a SOCKS5 UDP ASSOCIATE. Bounded: a few tries per question."""
import argparse, ipaddress, json, socket, struct, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--socks5")
ap.add_argument("--via")
ap.add_argument("--ask", action="append", default=[])
ap.add_argument("--poke", action="append", default=[])
args = ap.parse_args()

def hostport(text):
    host, port = text.rsplit(":", 1)
    return host.strip("[]"), int(port)

asks = [(spec.split("=", 1)[0], hostport(spec.split("=", 1)[1])) for spec in args.ask]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("0.0.0.0", 0))
control = None
relay = None
if args.socks5:
    control = socket.create_connection(hostport(args.socks5), timeout=5)
    control.sendall(b"\x05\x01\x00")
    assert control.recv(2) == b"\x05\x00", "SOCKS5 method refused"
    # DST.ADDR/PORT: where our datagrams will come from (RFC 1928 §7)
    local = sock.getsockname()
    control.sendall(b"\x05\x03\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", local[1]))
    reply = control.recv(10)
    assert reply[:2] == b"\x05\x00" and reply[3] == 1, f"UDP ASSOCIATE refused: {reply!r}"
    relay = (socket.inet_ntoa(reply[4:8]), struct.unpack(">H", reply[8:10])[0])

def send(payload, dest):
    if relay:
        header = b"\x00\x00\x00\x01" + ipaddress.ip_address(dest[0]).packed + struct.pack(">H", dest[1])
        sock.sendto(header + payload, relay)
    elif args.via:
        sock.sendto(payload, hostport(args.via))
    else:
        sock.sendto(payload, dest)

def receive(timeout):
    sock.settimeout(timeout)
    try:
        data, _ = sock.recvfrom(65536)
    except socket.timeout:
        return None
    if relay:
        if len(data) < 10 or data[2] != 0 or data[3] != 1:
            return b""
        data = data[10:]
    return data

def ask(payload, dest, expect, tries=5, timeout=1.0):
    for _ in range(tries):
        send(payload, dest)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            data = receive(left)
            if data is None:
                break
            if data.startswith(expect):
                return data.decode()
    return None

out = {"mapped": {}, "poked": {}}
for name, dest in asks:
    got = ask(b"map", dest, b"MAPPED")
    out["mapped"][name] = got[len("MAPPED "):] if got else None
first = asks[0][1]
for name in args.poke:
    # A poke is unsolicited from NAME: asking again would prove nothing new, so a longer wait
    # and a few asks (the request itself may be lost) instead of a single one.
    out["poked"][name] = ask(f"poke {name}".encode(), first, f"POKE {name}".encode(), tries=3,
                             timeout=1.0) is not None
print(json.dumps(out))
