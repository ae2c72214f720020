#!/usr/bin/env python3
"""DNS queries per second against SERVER for NAME (A), WINDOW queries in flight, for SECONDS.
Prints "answered_per_s timeouts".
  dns_rate.py SERVER NAME [SECONDS] [WINDOW]"""
import random, select, socket, struct, sys, time

server, name = sys.argv[1], sys.argv[2]
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
window = int(sys.argv[4]) if len(sys.argv) > 4 else 16
qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
socks = []
for _ in range(window):  # one socket per slot: distinct source ports, like a resolver
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((server, 53))
    socks.append(s)
pending = {}
def ask(s):
    qid = random.randrange(65536)
    s.send(struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 1, 1))
    pending[s] = (qid, time.time())
for s in socks:
    ask(s)
answered = timeouts = 0
start = time.time()
while time.time() - start < seconds:
    ready, _, _ = select.select(socks, [], [], 0.05)
    for s in ready:
        d = s.recv(4096)
        if len(d) >= 12 and s in pending and struct.unpack("!H", d[:2])[0] == pending[s][0]:
            answered += 1
            ask(s)
    now = time.time()
    for s, (qid, t) in list(pending.items()):
        if now - t > 1.0:
            timeouts += 1
            ask(s)
print(f"{answered / (time.time() - start):.0f} {timeouts}")
