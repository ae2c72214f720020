#!/usr/bin/env bash
# tun2socks in a network namespace, for real: a TUN device with the default route, TCP through
# ss-local → ss-server, UDP through the in-process udp-local → udp-server, to services in a
# second namespace. Only addresses inside the two namespaces this test creates are used, and
# both are deleted on exit, failure included.
#   test_tun2socks_netns.sh BUILD_DIR
set -uo pipefail
build=${1:?build directory}
if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (network namespaces and a TUN device)"; exit 77; fi
for tool in ip socat ss-server ss-local sha256sum microsocks iperf3 ping python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/setup installs it)"; exit 77; }
done
[ -c /dev/net/tun ] || { echo "SKIP: /dev/net/tun is missing"; exit 77; }

# shellcheck source=two_namespaces.sh
. "$(dirname "$0")/two_namespaces.sh"
# client namespace: apps, TUN, tun2socks, ss-local; target: ss-server, udp-server, services
two_namespaces udptun-netns 10.201.0 || { echo "FAILED: cannot create namespaces"; exit 1; }
tun=tun$id
failures=0

check() {  # name, command...
  local name=$1; shift
  if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi
}
dump_logs() { for f in "$work"/*.log; do echo "---- $f"; tail -30 "$f"; done; }

in_t ip addr add 2001:db8::1/128 dev lo nodad
in_t ip route add 10.0.85.0/24 via 10.201.0.1 2>/dev/null || true

# Target side: services, ss-server, udp-server.
bg_t socat TCP-LISTEN:7,bind=192.0.2.1,fork,reuseaddr EXEC:cat
bg_t socat UDP-RECVFROM:5001,bind=192.0.2.1,fork EXEC:cat
bg_t socat TCP6-LISTEN:7,bind=[2001:db8::1],fork,reuseaddr EXEC:cat
bg_t socat UDP6-RECVFROM:5001,bind=[2001:db8::1],fork EXEC:cat
# One-socket echoes that take any datagram size (socat's UDP reads 8 KiB at most).
bg_t python3 "$(dirname "$0")/tools/udp_echo.py" 192.0.2.1 5002
bg_t python3 "$(dirname "$0")/tools/udp_echo.py" 2001:db8::1 5002
bg_t ss-server -s 10.201.0.2 -p 8388 -k netns-test -m chacha20-ietf-poly1305 -u
bg_t microsocks -i 10.201.0.2 -p 1081   # a plain SOCKS5 server, for the half-close checks
bg_t iperf3 -s -B 192.0.2.1 -p 5201
head -c 1048576 /dev/urandom > "$work/mib"
bg_t socat -u TCP-LISTEN:9,bind=192.0.2.1,reuseaddr CREATE:"$work/mib.received"
bg_t socat -u OPEN:"$work/mib" TCP-LISTEN:10,bind=192.0.2.1,reuseaddr
head -c 24 /dev/urandom | base64 > "$work/psk"
bg_t "$build/udpserver/udp-server" --listen 10.201.0.2:7001 --psk-file "$work/psk" --allow-target 192.0.2.0/24 --allow-target 2001:db8::/32

# Client side: ss-local for TCP, tun2socks with an in-process udp-local for UDP.
bg_c ss-local -s 10.201.0.2 -p 8388 -k netns-test -m chacha20-ietf-poly1305 -b 127.0.0.1 -l 1080
cat > "$work/udp-local.json" <<JSON
{"server": "10.201.0.2:7001", "psk_file": "$work/psk"}
JSON
start_tun2socks() {  # extra flags...
  bg_c "$build/tun2socks/tun2socks" --tun "$tun" --log-level debug "$@"
  t2s_pid=${pids[-1]}
  configure_tun
}
# The Android/parent-process way: the TUN is opened elsewhere and its fd handed over.
start_tun2socks_with_fd() {  # extra flags...
  ip netns exec "$nc_" python3 -c '
import fcntl, os, struct, sys
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", sys.argv[1].encode(), 0x0001 | 0x1000))  # TUNSETIFF, IFF_TUN|IFF_NO_PI
os.set_inheritable(fd, True)
os.execv(sys.argv[2], [sys.argv[2], "--tun-fd", str(fd)] + sys.argv[3:])
' "$tun" "$build/tun2socks/tun2socks" --log-level debug "$@" >>"$work/tun2socks.log" 2>&1 &
  pids+=($!)
  t2s_pid=$!
  configure_tun
}
configure_tun() {
  for _ in $(seq 50); do in_c ip link show "$tun" >/dev/null 2>&1 && break; sleep 0.1; done
  in_c ip addr add 10.0.85.1/24 dev "$tun"
  in_c ip link set "$tun" up
  in_c ip route add default dev "$tun"
  in_c ip -6 addr add fd00:85::1/64 dev "$tun" nodad
  in_c ip -6 route add default dev "$tun"
  sleep 0.5
}
start_tun2socks --socks5 127.0.0.1:1080 --udp-local "$work/udp-local.json"

# ss-local drops a relay whose client half-closes before the reply came back (seen with
# shadowsocks-libev 3.3.5), so these clients keep their side open (ignoreeof) and stop on
# inactivity (-T) instead of sending FIN first.
tcp_echo() { [ "$(echo "$1" | in_c timeout 5 socat -T1 STDIO,ignoreeof TCP:192.0.2.1:7)" = "$1" ]; }
udp_echo() {
  for _ in 1 2 3 4 5; do
    [ "$(echo "$1" | in_c timeout 3 socat -t1 - UDP:192.0.2.1:5001)" = "$1" ] && return 0
  done
  return 1
}
tcp6_echo() { [ "$(echo "$1" | in_c timeout 5 socat -T1 STDIO,ignoreeof TCP6:[2001:db8::1]:7)" = "$1" ]; }
udp6_echo() {
  for _ in 1 2 3 4 5; do
    [ "$(echo "$1" | in_c timeout 3 socat -t1 - UDP6:[2001:db8::1]:5001)" = "$1" ] && return 0
  done
  return 1
}
udp_fragmented() {  # 3000 bytes: IP-fragmented on the way in (MTU 1500) and on the way out
  local big
  big=$(head -c 2400 /dev/urandom | base64 -w0 | head -c 3000)
  for _ in 1 2 3 4 5; do
    [ "$(printf %s "$big" | in_c timeout 3 socat -b 65536 -t1 - UDP:192.0.2.1:5001)" = "$big" ] && return 0
  done
  return 1
}
tcp_integrity() {  # 4 MiB both ways through the echo, then compare
  head -c 4194304 /dev/urandom > "$work/blob"
  in_c timeout 30 socat -T2 STDIO,ignoreeof TCP:192.0.2.1:7 < "$work/blob" > "$work/blob.back"
  [ "$(sha256sum < "$work/blob")" = "$(sha256sum < "$work/blob.back")" ]
}
tcp_parallel() {
  local ok=0 jobs=()
  for i in $(seq 20); do (tcp_echo "parallel $i" && echo ok) > "$work/par.$i" & jobs+=($!); done
  wait "${jobs[@]}"   # only these: the services run in the background too
  ok=$(cat "$work"/par.* | grep -c ok)
  [ "$ok" = 20 ]
}

check "TCP echo through the TUN and ss-local" tcp_echo "hello through tun2socks"
check "UDP echo through the TUN and the in-process udp-local" udp_echo "datagram through tun2socks"
check "TCP 4 MiB both ways, same SHA-256" tcp_integrity
check "TCP over IPv6 through the TUN" tcp6_echo "hello over IPv6"
check "UDP over IPv6 through the TUN" udp6_echo "datagram over IPv6"
check "UDP datagram of 3000 bytes, IP-fragmented both ways" udp_fragmented
udp_large() {  # host, size: one datagram through a 1500-byte TUN both ways, content compared
  in_c timeout 20 python3 - "$1" "$2" <<'PY'
import socket, sys, time
host, size = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.settimeout(2)
data = bytes((i * 7 + size) % 251 for i in range(size))
for _ in range(5):
    s.sendto(data, (host, 5002))
    try:
        while True:
            back, _ = s.recvfrom(70000)
            if back == data:
                sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)
PY
}
check "UDP 30,000-byte datagram over IPv4 through an MTU 1500 TUN, both ways" udp_large 192.0.2.1 30000
check "UDP 60,000-byte datagram over IPv4 through an MTU 1500 TUN, both ways" udp_large 192.0.2.1 60000
check "UDP 65,507-byte datagram (the IPv4 maximum) through the TUN, both ways" udp_large 192.0.2.1 65507
check "UDP 60,000-byte datagram over IPv6 through an MTU 1500 TUN, both ways" udp_large 2001:db8::1 60000
check "UDP 65,487-byte datagram over IPv6 (the most the stack reassembles) through the TUN, both ways" udp_large 2001:db8::1 65487
v6_too_large_is_dropped() {  # 65,507 bytes over IPv6: lost (counted), tun2socks unharmed
  ! udp_large 2001:db8::1 65507 && kill -0 "$t2s_pid" && udp_large 2001:db8::1 1000
}
check "UDP 65,507-byte datagram over IPv6: dropped before the stack, tun2socks stays up" v6_too_large_is_dropped
check "TCP 20 parallel connections" tcp_parallel
ping_answered() { in_c ping -c1 -W2 "$1" >/dev/null 2>&1; }
check "ICMP echo to any address is answered by the stack" ping_answered 203.0.113.77

# The seed's m1 split: TCP through a TCP-only ss-local, UDP through an `ss-local -U` on the
# same port number (UDP ASSOCIATE is answered by the TCP one, datagrams relayed by the other).
kill "$t2s_pid"; wait "$t2s_pid" 2>/dev/null
for _ in $(seq 50); do in_c ip link show "$tun" >/dev/null 2>&1 || break; sleep 0.1; done
bg_c ss-local -s 10.201.0.2 -p 8388 -k netns-test -m chacha20-ietf-poly1305 -b 127.0.0.1 -l 1080 -U
start_tun2socks --socks5 127.0.0.1:1080 --udp-socks5 127.0.0.1:1080
check "m1 split: UDP through ss-local -U (SOCKS5 UDP ASSOCIATE)" udp_echo "datagram via ss-local -U"
check "m1 split: TCP through the TCP-only ss-local at the same time" tcp_echo "tcp beside the split"
check "m1 split: UDP over IPv6 via SOCKS5" udp6_echo "v6 datagram via ss-local -U"

# Half-closes and iperf3, through microsocks (ss-local drops a relay on an early client FIN).
kill "$t2s_pid"; wait "$t2s_pid" 2>/dev/null
for _ in $(seq 50); do in_c ip link show "$tun" >/dev/null 2>&1 || break; sleep 0.1; done
start_tun2socks_with_fd --socks5 10.201.0.2:1081 --no-answer-ping
half_close_up() {  # the app sends 1 MiB and FIN: all of it reaches the target, then EOF
  in_c timeout 10 socat -u OPEN:"$work/mib" TCP:192.0.2.1:9 &&
    for _ in $(seq 50); do cmp -s "$work/mib" "$work/mib.received" && return 0; sleep 0.1; done
  return 1
}
half_close_down() {  # the target sends 1 MiB and FIN: the app reads all of it, then EOF
  in_c timeout 10 socat -u TCP:192.0.2.1:10 CREATE:"$work/mib.down" && cmp -s "$work/mib" "$work/mib.down"
}
iperf_run() { in_c timeout 20 iperf3 -c 192.0.2.1 -p 5201 -t 1 > "$work/iperf.txt" 2>&1 && grep -q receiver "$work/iperf.txt"; }
check "half-close: app → target, 1 MiB then FIN" half_close_up
check "half-close: target → app, 1 MiB then FIN" half_close_down
check "iperf3 (TCP, 1 s) through the TUN" iperf_run
ping_unanswered() { ! in_c ping -c1 -W1 "$1" >/dev/null 2>&1; }
check "--tun-fd: the handed-over TUN works (the checks above), --no-answer-ping: pings go unanswered" ping_unanswered 203.0.113.77

if [ $failures -ne 0 ]; then dump_logs; fi
echo "$((21 - failures)) passed, $failures failed"
[ $failures -eq 0 ]
