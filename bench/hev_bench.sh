#!/usr/bin/env bash
# The reference beside tun_bench.sh's echo figures: hev-socks5-tunnel (UDP carried in its
# SOCKS5 TCP connection, "udp: tcp") with hev-socks5-server, in the same two-namespace layout,
# to the same echo server, at the same pace, idle and beside 100k/s × 512 B. hev is not part
# of udptun: build it from its upstream sources yourself and give the two binaries.
# Needs root. Two namespaces made here and deleted on exit; only their addresses are used.
#   bench/hev_bench.sh BUILD_DIR HEV_SOCKS5_TUNNEL HEV_SOCKS5_SERVER [SECONDS]   (PINGS=3000)
# Also TCP through it (iperf3, MTU 1500, through danted as tun_bench.sh's TCP) and 512-byte
# UDP paced at 100k/s and 200k/s, delivered.
set -uo pipefail
build=${1:?build directory}
hev_tunnel=${2:?hev-socks5-tunnel binary}
hev_server=${3:?hev-socks5-server binary}
secs=${4:-3}
[ "$(id -u)" = 0 ] || { echo "hev_bench: needs root"; exit 1; }
# shellcheck source=tun_bench_parts.sh
. "$(dirname "$0")/tun_bench_parts.sh"
two_namespaces udptun-hev 10.203.0 || { echo "hev_bench: cannot create namespaces"; exit 1; }
tun=hv$id
bg_t "$build/bench/udp_ping" echo 0.0.0.0:7777 600
bg_t iperf3 -s -p 5201
cat >"$work/server.yml" <<YML
main:
  workers: 1
  port: 1080
  listen-address: '10.203.0.2'
misc:
  log-level: error
YML
# The tunnel's SOCKS5 server: hev-socks5-server (UDP in TCP) for UDP and echo; danted, the
# same SOCKS5 server tun_bench.sh gives udptun, for TCP.
start_hev() {  # socks5-port
  cat >"$work/tunnel.yml" <<YML
tunnel:
  name: $tun
  mtu: 1500
  ipv4: 10.0.86.1
socks5:
  port: $1
  address: 10.203.0.2
  udp: 'tcp'
misc:
  log-level: error
YML
  bg_c "$hev_tunnel" "$work/tunnel.yml"
  hev_pid=${pids[-1]}
  for _ in $(seq 50); do in_c ip link show "$tun" >/dev/null 2>&1 && break; sleep 0.1; done
  in_c ip link set "$tun" up
  in_c ip route add 192.0.2.1/32 dev "$tun"
  sleep 0.5
}
stop_hev() { kill "$hev_pid"; wait "$hev_pid" 2>/dev/null; sleep 0.3; }

start_danted 10.203.0.2 1081
bg_t "$hev_server" "$work/server.yml"
hev_server_pid=${pids[-1]}
sleep 0.3
start_hev 1081
printf '%-40s %s Gb/s\n' "hev: TCP, MTU 1500 (through danted)" \
  "$(in_c iperf3 -c 192.0.2.1 -p 5201 -t "$secs" -J | gbit)"
stop_hev
start_hev 1080
printf '%-40s %s\n' "hev: 1,000 UDP flows: tunnel + server" "$(flow_memory "$hev_pid" "$hev_server_pid")"
for rate in 410M 820M; do  # 100k/s and 200k/s of 512-byte datagrams
  read -r pps loss < <(in_c iperf3 -c 192.0.2.1 -p 5201 -u -b "$rate" -l 512 -w 4M -t "$secs" -J | udp_summary)
  printf '%-40s %9s /s (loss %s%%)\n' "hev: UDP 512 B paced at $rate bit/s" "$pps" "$loss"
done
echo_rounds "$build" "hev: " 10.203.0.2
