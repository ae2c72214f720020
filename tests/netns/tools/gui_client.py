#!/usr/bin/env python3
"""Talks to proxy-controller the way the GUI clients do: configureRouting written with no
trailing newline, one reply object read, the socket kept open; every push (statusChanged)
is logged with its time. On SIGTERM (or after SECONDS) it writes resetRouting, reads its
reply and closes.
  gui_client.py SOCKET CONFIGURE_JSON LOG_FILE [SECONDS]"""
import json, select, signal, socket, sys, time

path, configure, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 600
log = open(log_path, "a", buffering=1)
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
s = socket.socket(socket.AF_UNIX)
s.connect(path)
dec, buf = json.JSONDecoder(), ""
def objects(timeout):
    global buf
    out = []
    if select.select([s], [], [], timeout)[0]:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError
        buf += chunk.decode()
    while buf.strip():
        try:
            o, end = dec.raw_decode(buf.lstrip())
        except ValueError:
            break
        buf = buf.lstrip()[end:]
        out.append(o)
    return out
s.sendall(configure.encode())
reply = None
deadline = time.time() + 10
while reply is None and time.time() < deadline:
    for o in objects(0.5):
        if o.get("action") == "configureRouting":
            reply = o
log.write(f"{time.time():.6f} configureRouting {json.dumps(reply)}\n")
end = time.time() + seconds
try:
    while not stop and time.time() < end:
        for o in objects(0.2):
            log.write(f"{time.time():.6f} push {json.dumps(o)}\n")
    s.sendall(b'{"action":"resetRouting","parameters":{}}')
    deadline = time.time() + 10
    while time.time() < deadline:
        done = [o for o in objects(0.5) if o.get("action") == "resetRouting"]
        if done:
            log.write(f"{time.time():.6f} resetRouting {json.dumps(done[0])}\n")
            break
except EOFError:
    log.write(f"{time.time():.6f} controller closed the connection\n")
s.close()
