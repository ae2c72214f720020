# Sourced by tun_bench.sh and hev_bench.sh: the memory 1,000 UDP flows cost a tunnel. From the
# client namespace, 1,000 sockets (1,000 source ports) each send one 64-byte datagram through
# the TUN to the echo server and wait for its echo, sockets kept open; the resident memory of
# the given processes is read before and after (the flows still alive).
#   flow_memory PID...        prints "+A KiB (+B KiB/flow, N of 1000 flows answered)", summed
#                             over the processes
flow_memory() {
  local before=0 after=0 p
  for p in "$@"; do before=$((before + $(awk '/VmRSS/ {print $2}' "/proc/$p/status"))); done
  local answered
  answered=$(in_c python3 - <<'PY'

import socket, time
socks = []
for i in range(1000):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2.0)
    s.sendto(b"f" * 64, ("192.0.2.1", 7777))
    socks.append(s)
answered = 0
for s in socks:
    try:
        s.recvfrom(2048)
        answered += 1
    except OSError:
        pass
time.sleep(1.0)  # the tunnels settle; then the caller reads the memory
print(answered)
PY
)
  for p in "$@"; do after=$((after + $(awk '/VmRSS/ {print $2}' "/proc/$p/status"))); done
  echo "+$((after - before)) KiB (+$(python3 -c "print('%.2f' % (($after - $before) / 1000))") KiB/flow, $answered of 1000 flows answered)"
}
