#!/usr/bin/env python3
"""A steady, bounded UDP load through an echo: RATE datagrams/s for at most SECONDS (or until
STOP_FILE exists), each carrying its send time. Prints one line per echo received:
"<receive time> <send time>" (time.time(), seconds), so a test can see when traffic stopped
and when it came back.
  udp_load.py HOST PORT RATE SECONDS STOP_FILE"""
import os, select, socket, struct, sys, time

host, port, rate, seconds, stop_file = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), \
    float(sys.argv[4]), sys.argv[5]
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.connect((host, port))
end = time.time() + seconds
next_send = time.time()
while time.time() < end and not os.path.exists(stop_file):
    now = time.time()
    if now >= next_send:
        try:
            s.send(struct.pack("!d", now) + b"load" * 16)
        except OSError:
            pass
        next_send += 1.0 / rate
    if select.select([s], [], [], max(0.0, next_send - time.time()))[0]:
        try:
            d = s.recv(2048)
            print(f"{time.time():.6f} {struct.unpack('!d', d[:8])[0]:.6f}", flush=True)
        except OSError:
            pass
