#!/usr/bin/env bash
# Real clients of the field's other UDP-over-TCP protocols against udp-server's listeners, each
# beside the server it was written for, in the same run and the same two-namespace layout:
#   badvpn-tun2socks --udpgw-remote-server-addr  → udp-server --udpgw-listen | badvpn-udpgw
#   udp-local --server-protocol udpgw            → udp-server --udpgw-listen | badvpn-udpgw
#   udp-local --server-protocol socks5-fwd-udp   → udp-server --socks5-listen | hev-socks5-server
#   hev-socks5-tunnel (udp: 'tcp', FWD UDP)      → udp-server --socks5-listen | hev-socks5-server
# For each pair: a DNS query (dnsmasq in the target namespace), 64-byte echo round trips at
# 1,000/s (p50/p99), 512-byte datagrams at 50k/s (delivered), the server's memory for 1,000
# flows, and for udp-server a kill -9 and restart: how long until the client's echo is answered
# again (it reconnects by itself).
# Needs root. Two namespaces made here and deleted on exit, failure included; only their
# addresses and loopback are used.
#   bench/interop.sh BUILD_DIR [SECONDS]
# BADVPN_TUN2SOCKS, BADVPN_UDPGW, HEV_SOCKS5_TUNNEL, HEV_SOCKS5_SERVER: the programs, built from
# their upstream sources outside udptun (a pair whose programs are not given is skipped, said
# so). UDPBENCH: udpbench (the 50k/s load and its count). RECORD_DIR: the bytes each client
# sent and received on its connection to udp-server, hex (socat -x), for test vectors.
set -uo pipefail
build=$(cd "${1:?build directory}" && pwd)
secs=${2:-5}
[ "$(id -u)" = 0 ] || { echo "interop: needs root (namespaces, TUN devices)"; exit 77; }
udpbench=${UDPBENCH:?UDPBENCH: the udpbench tool}
# shellcheck source=tun_bench_parts.sh
. "$(dirname "$0")/tun_bench_parts.sh"
two_namespaces udptun-io 10.204.0 || { echo "interop: cannot create namespaces"; exit 1; }
veth=10.204.0.2
# badvpn-udpgw sends datagrams flagged DNS to its resolv.conf's nameserver: in the target
# namespace, the dnsmasq below (ip netns exec binds /etc/netns/NAME/resolv.conf over it).
mkdir -p "/etc/netns/$nt" && echo "nameserver 192.0.2.1" >"/etc/netns/$nt/resolv.conf"
# LOG_DIR: where every program's log is kept (the work directory goes on exit).
trap '[ -n "${LOG_DIR:-}" ] && mkdir -p "$LOG_DIR" && cp "$work"/*.log "$LOG_DIR"/
  rm -rf "/etc/netns/$nt"; two_namespaces_cleanup' EXIT
[ -n "${RECORD_DIR:-}" ] && mkdir -p "$RECORD_DIR" && RECORD_DIR=$(cd "$RECORD_DIR" && pwd)

bg_t "$build/bench/udp_ping" echo 0.0.0.0:7777 600
bg_t dnsmasq --no-daemon --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
  --listen-address=192.0.2.1 --port=53 --address=/interop.test/10.1.2.3 --log-facility=-
start_danted "$veth" 1081  # badvpn-tun2socks' TCP, and its way to a udpgw server

udp_server_pid=
start_udp_server() {
  bg_t "$build/udpserver/udp-server" --udpgw-listen 127.0.0.1:7300 --udpgw-listen "$veth:7303" \
    --socks5-listen "$veth:1090" \
    --allow-client 10.204.0.0/30 --allow-client 127.0.0.0/8 --allow-target 192.0.2.0/24 --udpgw-dns 192.0.2.1:53 \
    --log-level warn
  udp_server_pid=${pids[-1]}
  for _ in $(seq 50); do in_t bash -c ': </dev/tcp/127.0.0.1/7300' 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# A recording relay in front of a server: socat -x logs every byte it passes, in hex.
record_relay() {  # listen port, target host:port, name
  bg_t socat -x "TCP-LISTEN:$1,bind=$(dirname_of "$2"),reuseaddr,fork" "TCP:$2"
  sleep 0.2
}
dirname_of() { echo "${1%:*}"; }
# What is recorded: a DNS query, three echoes, then `seconds` of quiet.
record_exchange() {  # seconds
  dns_query >/dev/null
  in_c "$build/bench/udp_ping" ping 192.0.2.1:7777 3 10 16 >/dev/null
  sleep "$1"
}

client_pid=
start_badvpn() {  # udpgw address as the SOCKS server sees it
  local tun=bv$id
  bg_c "$BADVPN_TUN2SOCKS" --tundev "$tun" --netif-ipaddr 10.0.88.2 --netif-netmask 255.255.255.0 \
    --socks-server-addr "$veth:1081" --udpgw-remote-server-addr "$1" --udpgw-transparent-dns \
    --loglevel none
  client_pid=${pids[-1]}
  route_into "$tun" 10.0.88.1
}
start_hev() {  # socks5 port
  local tun=hv$id
  cat >"$work/hev-tunnel.yml" <<YML
tunnel:
  name: $tun
  mtu: 1500
  ipv4: 10.0.89.1
socks5:
  port: $1
  address: $veth
  udp: 'tcp'
misc:
  log-level: error
YML
  bg_c "$HEV_SOCKS5_TUNNEL" "$work/hev-tunnel.yml"
  client_pid=${pids[-1]}
  route_into "$tun" ""
}
route_into() {  # tun, address
  for _ in $(seq 50); do in_c ip link show "$1" >/dev/null 2>&1 && break; sleep 0.1; done
  [ -n "$2" ] && in_c ip addr add "$2/24" dev "$1"
  in_c ip link set "$1" up && in_c ip route replace 192.0.2.1/32 dev "$1"
  sleep 0.5
}
stop_client() {
  kill "$client_pid" 2>/dev/null
  wait "$client_pid" 2>/dev/null
  in_c ip route del 192.0.2.1/32 2>/dev/null
  sleep 0.3
}

dns_query() {  # prints "ok" when interop.test resolves to 10.1.2.3 through the tunnel
  in_c python3 - <<'PY'
import socket, struct
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x07interop\x04test\x00" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2.0)
ok = False
for _ in range(3):
    try:
        s.sendto(q, ("192.0.2.1", 53))
        a, _ = s.recvfrom(512)
        ok = a[:2] == b"\x12\x34" and bytes([10, 1, 2, 3]) in a
        break
    except OSError:
        pass
print("ok" if ok else "failed")
PY
}
delivered() {  # prints "N of M (P%)" for secs of 512-byte datagrams at 50k/s
  local sent got
  bg_t "$udpbench" recv -l 192.0.2.1:7778 -t $((secs + 4)) -I 2000
  local recv_pid=${pids[-1]}
  sleep 0.3
  sent=$(in_c "$udpbench" send -d 192.0.2.1:7778 -s 512 -t "$secs" -r 50000 | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
  wait "$recv_pid" 2>/dev/null
  got=$(tail -n 1 "$work/udpbench.log" | sed -n 's/.*got=\([0-9]*\).*/\1/p')
  echo "${got:-0} of ${sent:-0} ($(python3 -c "print('%.1f' % (100.0 * ${got:-0} / max(1, ${sent:-0})))")%)"
}
# kill -9 udp-server, start it again: seconds until the client's echo is answered again (its
# reconnect included). Not in a subshell: the restarted server's pid is kept.
recovery() {  # label
  kill -9 "$udp_server_pid"
  wait "$udp_server_pid" 2>/dev/null
  local t0 took
  t0=$(date +%s.%N)
  if ! start_udp_server; then
    printf '%-44s udp-server did not restart\n' "$1"
    return
  fi
  took=$(in_c python3 - "$t0" <<'PY'
import socket, sys, time
t0 = float(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
deadline = time.time() + 30
while time.time() < deadline:
    s.sendto(b"back?", ("192.0.2.1", 7777))
    try:
        s.recvfrom(64)
        print("%.1f s" % (time.time() - t0))
        break
    except OSError:
        pass
else:
    print("not within 30 s")
PY
)
  printf '%-44s after kill -9 and restart, echo again in %s\n' "$1" "$took"
}
# The server's resident memory while 1,000 flows (1,000 client sockets, each echoed once, then
# kept alive at a datagram per second) are open, against before them; and how many answered.
flows_memory() {  # server pid
  local before after
  before=$(awk '/VmRSS/ {print $2}' "/proc/$1/status")
  in_c "$udpbench" flows -d 192.0.2.1:7777 -n 1000 -H 4 -W 2000 >"$work/flows.txt" 2>&1 &
  local flows=$!
  sleep 4
  after=$(awk '/VmRSS/ {print $2}' "/proc/$1/status")
  wait "$flows"
  echo "+$((after - before)) KiB ($(sed -n 's/.*flows=\([0-9]*\) answered=\([0-9]*\).*last_round_answered=\([0-9]*\).*/\2 of \1 answered, \3 still answering/p' "$work/flows.txt"))"
}
measure() {  # label, server pid
  printf '%-44s DNS %s\n' "$1" "$(dns_query)"
  printf '%-44s echo %s\n' "$1" "$(in_c "$build/bench/udp_ping" ping 192.0.2.1:7777 3000 1000 64)"
  printf '%-44s 50k/s x 512 B delivered %s\n' "$1" "$(delivered)"
  printf '%-44s server memory for 1,000 flows %s\n' "$1" "$(flows_memory "$2")"
}

# udp-local --server-protocol PROTOCOL: forwards 127.0.0.1:6001 → the echo, :6002 → the sink.
local_client() {  # label, server, protocol
  bg_c "$build/udplocal/udp-local" --server "$2" --server-protocol "$3" \
    --forward 127.0.0.1:6001=192.0.2.1:7777 --forward 127.0.0.1:6002=192.0.2.1:7778 \
    --log-level warn
  local pid=${pids[-1]}
  sleep 0.5
  printf '%-44s echo %s\n' "$1" "$(in_c "$build/bench/udp_ping" ping 127.0.0.1:6001 3000 1000 64)"
  bg_t "$udpbench" recv -l 192.0.2.1:7778 -t $((secs + 4)) -I 2000
  local recv_pid=${pids[-1]} sent got
  sleep 0.3
  sent=$(in_c "$udpbench" send -d 127.0.0.1:6002 -s 512 -t "$secs" -r 50000 | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
  wait "$recv_pid" 2>/dev/null
  got=$(tail -n 1 "$work/udpbench.log" | sed -n 's/.*got=\([0-9]*\).*/\1/p')
  printf '%-44s 50k/s x 512 B delivered %s of %s (%s%%)\n' "$1" "${got:-0}" "${sent:-0}" \
    "$(python3 -c "print('%.1f' % (100.0 * ${got:-0} / max(1, ${sent:-0})))")"
  kill "$pid"
  wait "$pid" 2>/dev/null
}

if [ -n "${BADVPN_TUN2SOCKS:-}" ] && [ -n "${BADVPN_UDPGW:-}" ]; then
  start_udp_server || { echo "interop: udp-server did not start"; exit 1; }
  bg_t "$BADVPN_UDPGW" --listen-addr 127.0.0.1:7301 --listen-addr "$veth:7302" --loglevel none
  udpgw_pid=${pids[-1]}
  start_badvpn 127.0.0.1:7300
  measure "badvpn-tun2socks -> udp-server (udpgw)" "$udp_server_pid"
  recovery "badvpn-tun2socks -> udp-server (udpgw)"
  stop_client
  start_badvpn 127.0.0.1:7301
  measure "badvpn-tun2socks -> badvpn-udpgw" "$udpgw_pid"
  stop_client
  # udp-local as the udpgw client (its forward front in the client namespace), to both.
  local_client "udp-local -> udp-server (udpgw)" "$veth:7303" udpgw
  local_client "udp-local -> badvpn-udpgw" "$veth:7302" udpgw
  if [ -n "${RECORD_DIR:-}" ]; then
    record_relay 7310 127.0.0.1:7300
    start_badvpn 127.0.0.1:7310
    record_exchange 11  # past badvpn-tun2socks' 10 s keepalive
    stop_client
    cp "$work/socat.log" "$RECORD_DIR/badvpn-tun2socks-udpgw.hex"
  fi
else
  echo "interop: BADVPN_TUN2SOCKS and BADVPN_UDPGW not given: badvpn skipped"
fi

if [ -n "${HEV_SOCKS5_TUNNEL:-}" ] && [ -n "${HEV_SOCKS5_SERVER:-}" ]; then
  [ -n "$udp_server_pid" ] || start_udp_server || { echo "interop: udp-server did not start"; exit 1; }
  cat >"$work/hev-server.yml" <<YML
main:
  workers: 1
  port: 1091
  listen-address: '$veth'
misc:
  log-level: error
YML
  bg_t "$HEV_SOCKS5_SERVER" "$work/hev-server.yml"
  hev_server_pid=${pids[-1]}
  sleep 0.3
  start_hev 1090
  measure "hev-socks5-tunnel -> udp-server (FWD UDP)" "$udp_server_pid"
  recovery "hev-socks5-tunnel -> udp-server (FWD UDP)"
  stop_client
  start_hev 1091
  measure "hev-socks5-tunnel -> hev-socks5-server" "$hev_server_pid"
  stop_client
  local_client "udp-local -> udp-server (FWD UDP)" "$veth:1090" socks5-fwd-udp
  local_client "udp-local -> hev-socks5-server" "$veth:1091" socks5-fwd-udp
  if [ -n "${RECORD_DIR:-}" ]; then
    : >"$work/socat.log"
    record_relay 1092 "$veth:1090"
    start_hev 1092
    record_exchange 1
    stop_client
    cp "$work/socat.log" "$RECORD_DIR/hev-socks5-tunnel-fwd-udp.hex"
  fi
else
  echo "interop: HEV_SOCKS5_TUNNEL and HEV_SOCKS5_SERVER not given: hev skipped"
fi
