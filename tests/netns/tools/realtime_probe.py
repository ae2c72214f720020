#!/usr/bin/env python3
"""A game beside a bulk transfer, measured: what a real-time flow sees when the link is full.

  realtime_probe.py serve ECHO_IP:PORT SINK_IP:PORT
      the target: ECHO answers every datagram to its sender (the game's server); SINK counts
      what arrives (the bulk upload's receiver), answers b"STATS" with the count as JSON, and
      on b"PULL <bits/s> <secs> <size>" streams datagrams back to the sender (a download).
  realtime_probe.py run GAME_DST BULK_DST SECS BULK_MBIT [up|down|none] [FLOWS]
      the client: a game flow (50 datagrams/s of 100 bytes, on a fixed schedule, never waiting
      for replies) to GAME_DST for SECS, beside FLOWS bulk flows (default 1) of 1,200-byte
      datagrams sharing BULK_MBIT (up: sent to BULK_DST; down: pulled from it, the client
      sending a 3-byte ACK every 50 ms per flow as a QUIC receiver does; none: no bulk).
      Prints one JSON object: the game's round trips (p50/p99/max in ms), how many of its
      datagrams never came back, and each bulk flow's delivered Mbit/s.
      With REALTIME_SERIES=FILE in the environment, each game datagram's send time and round
      trip (ms, or "lost") also go to FILE, one per line.
Every loop is bounded by SECS (at most 120) plus a 3 s wait for the last replies.
"""
import json, os, select, socket, struct, sys, time

GAME_INTERVAL, GAME_SIZE, BULK_SIZE, REPLY_WAIT = 0.02, 100, 1200, 3.0


def addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def serve(echo_at, sink_at):
    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    echo.bind(addr(echo_at))
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(addr(sink_at))
    sink.setblocking(False)
    counts = {}  # sender -> [datagrams, bytes]
    pulls = []  # [sender, interval, next_at, end_at, size, seq]
    while True:
        wait = 0.05
        now = time.monotonic()
        if pulls:
            wait = max(0.0, min(p[2] for p in pulls) - now)
        r, _, _ = select.select([echo, sink], [], [], min(wait, 0.05))
        if echo in r:
            b, src = echo.recvfrom(65536)
            echo.sendto(b, src)
        if sink in r:
            for _ in range(256):
                try:
                    b, src = sink.recvfrom(65536)
                except BlockingIOError:
                    break
                if b.startswith(b"STATS"):
                    c = counts.get(src, [0, 0])
                    sink.sendto(json.dumps({"datagrams": c[0], "bytes": c[1]}).encode(), src)
                elif b.startswith(b"ACK"):
                    pass
                elif b.startswith(b"PULL "):
                    _, bits, secs, size = b.split()[:4]
                    size = int(size)
                    interval = size * 8 / float(bits)
                    t = time.monotonic()
                    pulls.append([src, interval, t, t + min(float(secs), 120), size, 0])
                else:
                    c = counts.setdefault(src, [0, 0])
                    c[0] += 1
                    c[1] += len(b)
        now = time.monotonic()
        for p in pulls:
            sent = 0
            while p[2] <= now and p[2] < p[3] and sent < 64:
                try:
                    sink.sendto(struct.pack(">I", p[5]) + b"\0" * (p[4] - 4), p[0])
                except (BlockingIOError, OSError):
                    pass
                p[5] += 1
                p[2] += p[1]
                sent += 1
        pulls = [p for p in pulls if p[2] < p[3]]


def percentile(values, p):
    if not values:
        return -1.0
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))] * 1000


def run(game_dst, bulk_dst, secs, bulk_mbit, mode, flows):
    secs = min(secs, 120.0)
    game = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    game.setblocking(False)
    bulks = []
    for _ in range(flows if mode != "none" else 0):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.setblocking(False)
        bulks.append(s)
    gdst, bdst = addr(game_dst), addr(bulk_dst)
    per_flow_bits = bulk_mbit * 1e6 / max(1, len(bulks))
    bulk_interval = BULK_SIZE * 8 / per_flow_bits if bulks else 0
    received = [0] * len(bulks)
    if mode == "down":
        for s in bulks:
            s.sendto(b"PULL %d %f %d" % (per_flow_bits, secs, BULK_SIZE), bdst)
    pad = b"\0" * (GAME_SIZE - 12)
    sent_at, rtts = {}, {}
    t0 = time.monotonic()
    game_next, bulk_next, ack_next, seq = t0, [t0] * len(bulks), t0, 0
    end_send = t0 + secs
    while True:
        now = time.monotonic()
        if now >= end_send and (len(rtts) == seq or now >= end_send + REPLY_WAIT):
            break
        if now < end_send and now >= game_next:
            game.sendto(struct.pack(">Id", seq, now) + pad, gdst)
            sent_at[seq] = now
            seq += 1
            game_next += GAME_INTERVAL
        if mode == "down" and now < end_send and now >= ack_next:
            # A receiver that keeps talking (as QUIC's ACKs do): a tunnel's amplification
            # guard lets a stream through only to a client that confirms it wants it.
            for s in bulks:
                s.sendto(b"ACK", bdst)
            ack_next += 0.05
        if mode == "up" and now < end_send:
            for i, s in enumerate(bulks):
                burst = 0
                while bulk_next[i] <= now and burst < 32:
                    try:
                        s.sendto(b"\0" * BULK_SIZE, bdst)
                    except (BlockingIOError, OSError):
                        pass
                    bulk_next[i] += bulk_interval
                    burst += 1
        wake = game_next if now < end_send else now + 0.05
        if mode == "up" and now < end_send:
            wake = min([wake] + bulk_next)
        if mode == "down" and now < end_send:
            wake = min(wake, ack_next)
        r, _, _ = select.select([game] + bulks, [], [], max(0.0, min(wake - now, 0.05)))
        for s in r:
            for _ in range(256):
                try:
                    b, _ = s.recvfrom(65536)
                except BlockingIOError:
                    break
                if s is game:
                    if len(b) >= 12:
                        q, _ = struct.unpack(">Id", b[:12])
                        if q in sent_at and q not in rtts:
                            rtts[q] = time.monotonic() - sent_at[q]
                else:
                    received[bulks.index(s)] += len(b)
    delivered = []
    for i, s in enumerate(bulks):
        if mode == "down":
            delivered.append(received[i] * 8 / secs / 1e6)
            continue
        got = None
        for _ in range(10):  # the count, asked on the bulk flow's own path
            s.sendto(b"STATS", bdst)
            r, _, _ = select.select([s], [], [], 0.3)
            if r:
                try:
                    got = json.loads(s.recvfrom(65536)[0])
                    break
                except (ValueError, BlockingIOError):
                    pass
        delivered.append(got["bytes"] * 8 / secs / 1e6 if got else -1)
    series = os.environ.get("REALTIME_SERIES")
    if series:  # the game's round trips over time, for plots: send time (s), rtt (ms or lost)
        with open(series, "w") as f:
            for q in range(seq):
                rtt = "%.2f" % (rtts[q] * 1000) if q in rtts else "lost"
                f.write("%.3f %s\n" % (sent_at[q] - t0, rtt))
    ok = sorted(v for v in rtts.values())
    n = len(delivered)
    jain = (sum(delivered) ** 2 / (n * sum(d * d for d in delivered))) if n and sum(delivered) > 0 else 1.0
    print(json.dumps({
        "game_sent": seq, "game_lost": seq - len(ok),
        "p50_ms": round(percentile(ok, 50), 2), "p99_ms": round(percentile(ok, 99), 2),
        "max_ms": round(ok[-1] * 1000, 2) if ok else -1,
        "bulk_mbit": [round(d, 2) for d in delivered], "bulk_total_mbit": round(sum(delivered), 2),
        "jain": round(jain, 3)}))


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 6 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]),
            sys.argv[6] if len(sys.argv) > 6 else "up", int(sys.argv[7]) if len(sys.argv) > 7 else 1)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
