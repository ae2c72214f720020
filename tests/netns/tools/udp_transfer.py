#!/usr/bin/env python3
"""Moves SIZE bytes through a UDP echo in CHUNK-byte datagrams (an 8-byte sequence number
first), paced, asks again for what did not come back (up to ROUNDS rounds), and compares the
SHA-256 of what came back with what was sent. Bounded in datagrams and in time.
  udp_transfer.py HOST PORT [SIZE] [CHUNK] [RATE_PER_S]"""
import hashlib, os, socket, struct, sys, time

host, port = sys.argv[1], int(sys.argv[2])
size = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 20
chunk = int(sys.argv[4]) if len(sys.argv) > 4 else 1024
rate = float(sys.argv[5]) if len(sys.argv) > 5 else 5000.0
ROUNDS, DEADLINE = 5, time.time() + 60

data = os.urandom(size)
pieces = [data[i:i + chunk] for i in range(0, size, chunk)]
got = {}
family = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.connect((host, port))
s.setblocking(False)

def drain():
    while True:
        try:
            d = s.recv(65536)
        except BlockingIOError:
            return
        if len(d) >= 8:
            got[struct.unpack("!Q", d[:8])[0]] = d[8:]

for round_ in range(ROUNDS):
    missing = [i for i in range(len(pieces)) if i not in got]
    if not missing or time.time() > DEADLINE:
        break
    start = time.time()
    for n, i in enumerate(missing):
        try:
            s.send(struct.pack("!Q", i) + pieces[i])
        except (BlockingIOError, ConnectionRefusedError):
            pass
        ahead = start + (n + 1) / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
        drain()
    end = time.time() + 1.0
    while time.time() < end and len(got) < len(pieces):
        time.sleep(0.01)
        drain()
    print(f"round {round_ + 1}: {len(missing)} sent, {len(got)}/{len(pieces)} back", flush=True)

back = b"".join(got.get(i, b"") for i in range(len(pieces)))
same = hashlib.sha256(back).hexdigest() == hashlib.sha256(data).hexdigest()
print(f"{size} bytes, sha256 {'matches' if same else 'DIFFERS'}")
sys.exit(0 if same else 1)
