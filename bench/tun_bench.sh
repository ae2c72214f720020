#!/usr/bin/env bash
# tun2socks through a real TUN, beside a plain veth baseline measured in the same run.
# Needs root. Two namespaces made here and deleted on exit; only their addresses are used.
#   bench/tun_bench.sh BUILD_DIR [SECONDS]
#
# TCP: iperf3 through TUN → tun2socks → danted (Debian's dante-server, target ns) → iperf3
#      server, at TUN MTU 1500 and 9000; baseline: iperf3 straight over the veth at the same
#      MTU. (Not microsocks: it copies through a 1 KiB buffer and would be what is measured.)
# UDP: iperf3 -u (512-byte datagrams, unpaced) through TUN → tun2socks → in-process udp-local
#      → udp-server (target ns) → iperf3; baseline: the same straight over the veth.
# Echo: round trips of 64-byte datagrams, one at a time at 1,000/s (bench/udp_ping), through
#      the TUN to an echo server in the target ns, idle and beside 100k/s × 512 B of iperf3
#      through the same TUN; baseline: the same echo straight over the veth.
set -uo pipefail
build=${1:?build directory}
secs=${2:-3}
[ "$(id -u)" = 0 ] || { echo "tun_bench: needs root"; exit 1; }
# shellcheck source=tun_bench_parts.sh
. "$(dirname "$0")/tun_bench_parts.sh"
two_namespaces udptun-bench 10.202.0 || { echo "tun_bench: cannot create namespaces"; exit 1; }
tun=tb$id

bg_t iperf3 -s -p 5201
start_danted 10.202.0.2 1080
bg_t "$build/bench/udp_ping" echo 0.0.0.0:7777 600
head -c 24 /dev/urandom | base64 > "$work/psk"
bg_t "$build/udpserver/udp-server" --listen 10.202.0.2:7001 --psk-file "$work/psk" --allow-target 192.0.2.0/24 --log-level warn
server_pid=${pids[-1]}
echo "{\"server\": \"10.202.0.2:7001\", \"psk_file\": \"$work/psk\"}" > "$work/udp-local.json"
sleep 0.5

start_t2s() {  # mtu
  bg_c "$build/tun2socks/tun2socks" --tun "$tun" --mtu "$1" --socks5 10.202.0.2:1080 --udp udp-local \
    --udp-local "$work/udp-local.json" --log-level warn
  t2s_pid=${pids[-1]}
  for _ in $(seq 50); do in_c ip link show "$tun" >/dev/null 2>&1 && break; sleep 0.1; done
  in_c ip link set "$tun" mtu "$1"
  in_c ip addr add 10.0.85.1/24 dev "$tun"; in_c ip link set "$tun" up
  in_c ip route add 192.0.2.1/32 dev "$tun"
  sleep 0.3
}
stop_t2s() { kill "$t2s_pid"; wait "$t2s_pid" 2>/dev/null; sleep 0.3; }

printf '%-34s %12s %12s %8s\n' "load" "tun2socks" "plain veth" "ratio"
for mtu in 1500 9000; do
  in_c ip link set "vc$id" mtu "$mtu"; in_t ip link set "vt$id" mtu "$mtu"
  base=$(in_c iperf3 -c 10.202.0.2 -p 5201 -t "$secs" -J | gbit)
  start_t2s "$mtu"
  tun=$(in_c iperf3 -c 192.0.2.1 -p 5201 -t "$secs" -J | gbit)
  stop_t2s
  ratio=$(python3 -c "print('%.2f' % ($tun/$base))" 2>/dev/null || echo "?")
  printf '%-34s %9s Gb/s %9s Gb/s %7sx\n' "TCP, MTU $mtu (Gbit/s)" "$tun" "$base" "$ratio"
done
in_c ip link set "vc$id" mtu 1500; in_t ip link set "vt$id" mtu 1500
read -r base_pps base_loss < <(in_c iperf3 -c 10.202.0.2 -p 5201 -u -b 0 -l 512 -w 4M -t "$secs" -J | udp_summary)
start_t2s 1500
# The embedded footprint: tun2socks with its in-process udp-local, idle, after the tunnel is up.
in_c iperf3 -c 192.0.2.1 -p 5201 -u -b 1M -l 512 -t 1 >/dev/null 2>&1
idle_rss=$(awk '/VmRSS/ {print $2}' "/proc/$(pgrep -f "tun2socks --tun $tun" | tail -1)/status" 2>/dev/null)
flows_rss=$(flow_memory "$(pgrep -f "tun2socks --tun $tun" | tail -1)" "$server_pid")
read -r tun_pps tun_loss < <(in_c iperf3 -c 192.0.2.1 -p 5201 -u -b 0 -l 512 -w 4M -t "$secs" -J | udp_summary)
for rate in 100M 400M 820M; do  # 820 Mbit/s of 512-byte datagrams: 200k/s
  read -r pps loss < <(in_c iperf3 -c 192.0.2.1 -p 5201 -u -b "$rate" -l 512 -w 4M -t "$secs" -J | udp_summary)
  printf '%-34s %9s /s (loss %s%%)\n' "UDP 512 B paced at $rate bit/s" "$pps" "$loss"
done
echo_lines=$(echo_rounds "$build" "" 10.202.0.2)
stop_t2s
ratio=$(python3 -c "print('%.2f' % ($tun_pps/$base_pps))" 2>/dev/null || echo "?")
printf '%-34s %9s /s %11s /s %7sx   (loss %s%% vs %s%%)\n' "UDP 512 B unpaced (delivered/s)" "$tun_pps" "$base_pps" "$ratio" "$tun_loss" "$base_loss"
printf '%-34s %9s KiB\n' "tun2socks + udp-local idle RSS" "${idle_rss:-?}"
printf '%-34s %s\n' "1,000 UDP flows: tun2socks + udp-server" "$flows_rss"
echo "$echo_lines"
