#!/usr/bin/env python3
"""Echo round trips at a low rate: COUNT pings, one every 1/RATE s, each waited for up to
1 s. Prints "p50_us p99_us lost".
  udp_rtt.py HOST PORT [COUNT] [RATE]"""
import socket, struct, sys, time

host, port = sys.argv[1], int(sys.argv[2])
count = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
rate = float(sys.argv[4]) if len(sys.argv) > 4 else 500.0
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((host, port))
s.settimeout(1.0)
rtts, lost = [], 0
for i in range(count):
    t0 = time.perf_counter()
    s.send(struct.pack("!I", i) + b"x" * 60)
    while True:
        try:
            d = s.recv(2048)
        except socket.timeout:
            lost += 1
            break
        if struct.unpack("!I", d[:4])[0] == i:
            rtts.append(time.perf_counter() - t0)
            break
    pause = 1.0 / rate - (time.perf_counter() - t0)
    if pause > 0:
        time.sleep(pause)
rtts.sort()
pick = lambda q: rtts[min(len(rtts) - 1, int(q * len(rtts)))] * 1e6 if rtts else float("nan")
print(f"{pick(0.50):.0f} {pick(0.99):.0f} {lost}")
