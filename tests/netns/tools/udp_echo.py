#!/usr/bin/env python3
"""A UDP echo server on one socket (socat's UDP fork mode forks per datagram: too slow for a
transfer or a load). Runs until killed.
  udp_echo.py ADDRESS PORT"""
import socket, sys

host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((host, port))
while True:
    data, peer = s.recvfrom(65536)
    try:
        s.sendto(data, peer)
    except OSError:
        pass
