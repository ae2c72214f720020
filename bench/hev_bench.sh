#!/usr/bin/env bash
# The reference beside tun_bench.sh's echo figures: hev-socks5-tunnel (UDP carried in its
# SOCKS5 TCP connection, "udp: tcp") with hev-socks5-server, in the same two-namespace layout,
# to the same echo server, at the same pace, idle and beside 100k/s × 512 B. hev is not part
# of udptun: build it from its upstream sources yourself and give the two binaries.
# Needs root. Two namespaces made here and deleted on exit; only their addresses are used.
#   bench/hev_bench.sh BUILD_DIR HEV_SOCKS5_TUNNEL HEV_SOCKS5_SERVER      (PINGS=3000)
set -uo pipefail
build=${1:?build directory}
hev_tunnel=${2:?hev-socks5-tunnel binary}
hev_server=${3:?hev-socks5-server binary}
[ "$(id -u)" = 0 ] || { echo "hev_bench: needs root"; exit 1; }
# shellcheck source=../tests/netns/two_namespaces.sh
. "$(dirname "$0")/../tests/netns/two_namespaces.sh"
# shellcheck source=echo_rounds.sh
. "$(dirname "$0")/echo_rounds.sh"
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
cat >"$work/tunnel.yml" <<YML
tunnel:
  name: $tun
  mtu: 1500
  ipv4: 10.0.86.1
socks5:
  port: 1080
  address: 10.203.0.2
  udp: 'tcp'
misc:
  log-level: error
YML
bg_t "$hev_server" "$work/server.yml"
sleep 0.3
bg_c "$hev_tunnel" "$work/tunnel.yml"
for _ in $(seq 50); do in_c ip link show "$tun" >/dev/null 2>&1 && break; sleep 0.1; done
in_c ip link set "$tun" up
in_c ip route add 192.0.2.1/32 dev "$tun"
sleep 0.5
echo_rounds "$build" "hev: " 10.203.0.2
