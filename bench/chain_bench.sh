#!/usr/bin/env bash
# The whole chain end to end (client, server and target namespaces made here; ss + simple-obfs;
# everything on the client started through proxy-controller), beside the same run's baselines
# over the client's veth: direct UDP, plain TCP, DNS to a resolver one hop away.
#   bench/chain_bench.sh BUILD_DIR [SECONDS] [ROUNDS]
# UDP: iperf3 -u unpaced at 64/512/1400 B (its TCP control through ss-local), echo p50/p99 at
# 500/s, DNS queries/s (16 in flight) — through tun2socks' in-process udp-local over
# ss-tunnel + obfs ("with ss") and over a plain TCP connection to udp-server ("without ss").
# TCP: iperf3 through tun2socks → ss-local → obfs. Recovery: medians over ROUNDS of the time
# from a peer's return to the first echo of a 200/s load (udp-server, udp-local, ss-server
# killed -9; the uplink down 5 s).
set -uo pipefail
build=$(cd "${1:?build directory}" && pwd)
secs=${2:-3}
rounds=${3:-3}
[ "$(id -u)" = 0 ] || { echo "chain_bench: needs root"; exit 1; }
# shellcheck source=../tests/netns/whole_chain.sh
. "$(dirname "$0")/../tests/netns/whole_chain.sh"
whole_chain_setup "$build" udptun-cbench || { echo "chain_bench: setup failed"; exit 1; }

# Baseline services one hop from the client (its uplink), and udp-server also reachable
# without shadowsocks.
bg_in "$ns_s" udp-echo-base python3 "$chain_tools/udp_echo.py" 10.210.1.2 5001
bg_in "$ns_s" iperf3-base iperf3 -s -B 10.210.1.2 -p 5201
bg_in "$ns_s" dnsmasq-base dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
  --bind-interfaces --listen-address=10.210.1.2 --address=/test.example/10.210.1.2 \
  --pid-file="$work/dnsmasq-base.pid" --user=root
kill "$srv_pid"; wait "$srv_pid" 2>/dev/null
start_udp_server --listen 10.210.1.2:7002 --log-level warn
cat >"$work/ul-ss.json" <<JSON
{"server": "127.0.0.1:7000", "psk_file": "$work/psk", "log_level": "warn"}
JSON
cat >"$work/ul-direct.json" <<JSON
{"server": "10.210.1.2:7002", "psk_file": "$work/psk", "log_level": "warn"}
JSON
sleep 0.5

udp_iperf() {  # host size → "datagrams/s Mbit/s loss%" (one retry: a flood can starve its control connection)
  local r
  r=$(udp_iperf_once "$@")
  [ "${r%% *}" = "?" ] && { sleep 1; r=$(udp_iperf_once "$@"); }
  echo "$r"
}
udp_iperf_once() {
  in_c timeout $((secs + 15)) iperf3 -c "$1" -p 5201 -u -b 0 -l "$2" -w 4M -t "$secs" -J 2>/dev/null |
    python3 -c 'import json,sys
try:
    s = json.load(sys.stdin)["end"]["sum"]
    got = s["packets"] - s["lost_packets"]
    print("%.0f %.0f %.1f" % (got / s["seconds"], got * '"$2"' * 8 / s["seconds"] / 1e6, s["lost_percent"]))
except Exception:
    print("? ? ?")'
}
tcp_iperf() {  # host → Gbit/s
  in_c timeout $((secs + 15)) iperf3 -c "$1" -p 5201 -t "$secs" -J 2>/dev/null |
    python3 -c 'import json,sys
try: print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception: print("?")'
}
rtt() { in_c python3 "$chain_tools/udp_rtt.py" "$1" 5001 1000 500; }
dns() { in_c python3 "$chain_tools/dns_rate.py" "$1" test.example "$secs" 16; }
use_udp_local() {  # config
  ctl stop tun2socks >/dev/null 2>&1
  wait_for 5 bash -c "! ip netns exec $ns_c ss -Hlp 2>/dev/null | grep -q tun2socks" 
  sleep 0.3
  ctl start tun2socks -- --tun "$tun" --socks5 127.0.0.1:1080 --udp-local "$1" --log-level warn >/dev/null
  udp_ready 15 || echo "(chain_bench: no echo through the tunnel)"
}
row() { printf '%-30s %-24s %-24s %s\n' "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a + 0 > 0) printf "%.2fx", a / b; else print "-" }'; }

declare -A res
for size in 64 512 1400; do res[base,$size]=$(udp_iperf 10.210.1.2 "$size"); done
res[base,rtt]=$(rtt 10.210.1.2)
res[base,dns]=$(dns 10.210.1.2)
res[base,tcp]=$(tcp_iperf 10.210.1.2)
for mode in ss direct; do
  use_udp_local "$work/ul-$mode.json"
  for size in 64 512 1400; do res[$mode,$size]=$(udp_iperf 10.210.2.2 "$size"); done
  res[$mode,rtt]=$(rtt 10.210.2.2)
  res[$mode,dns]=$(dns 10.210.2.2)
done
res[ss,tcp]=$(tcp_iperf 10.210.2.2)

echo "whole chain, $secs s per load (datagrams/s delivered, Mbit/s, loss %):"
row "load" "with ss + obfs" "without ss (plain TCP)" "direct over the veth"
for size in 64 512 1400; do
  row "UDP ${size} B unpaced" "${res[ss,$size]}" "${res[direct,$size]}" \
    "${res[base,$size]}  ($(ratio "${res[ss,$size]%% *}" "${res[base,$size]%% *}") / $(ratio "${res[direct,$size]%% *}" "${res[base,$size]%% *}"))"
done
row "echo p50/p99 µs (lost)" "${res[ss,rtt]}" "${res[direct,rtt]}" "${res[base,rtt]}"
row "DNS queries/s (timeouts)" "${res[ss,dns]}" "${res[direct,dns]}" "${res[base,dns]}"
row "TCP Gbit/s (iperf3)" "${res[ss,tcp]} via ss-local+obfs" "" "${res[base,tcp]}  ($(ratio "${res[ss,tcp]}" "${res[base,tcp]}"))"

# Recovery medians, with udp-local as its own supervised process behind SOCKS5.
ctl stop tun2socks >/dev/null; sleep 0.5
ctl start udp-local -- --server 127.0.0.1:7000 --psk-file "$work/psk" --socks5 127.0.0.1:1081 --log-level warn >/dev/null
ctl start tun2socks -- --tun "$tun" --socks5 127.0.0.1:1080 --udp-socks5 127.0.0.1:1081 --log-level warn >/dev/null
udp_ready 15 || echo "(chain_bench: no echo with the separate udp-local)"
in_c python3 "$chain_tools/udp_load.py" 10.210.2.2 5001 200 600 "$work/stop-load" >"$work/load.txt" 2>/dev/null &
load_job=$!
sleep 1
declare -A gaps
for r in $(seq "$rounds"); do
  kill -9 "$srv_pid"; wait "$srv_pid" 2>/dev/null; sleep 1
  start_udp_server --listen 10.210.1.2:7002 --log-level warn; t=$(now)
  gaps[udp-server]+="$(echo_after "$work/load.txt" "$t") "
  old_ul_pid=$(service_pid udp-local); kill -9 "$old_ul_pid"
  wait_for 10 udp_local_replaced
  t=$(now); gaps[udp-local]+="$(echo_after "$work/load.txt" "$t") "
  kill_ss_server; sleep 1; start_ss_server; t=$(now)
  gaps[ss-server]+="$(echo_after "$work/load.txt" "$t") "
  in_c ip link set "$uplink" down; sleep 5; in_c ip link set "$uplink" up
  in_c ip route replace default via 10.210.1.2 dev "$uplink"; t=$(now)
  gaps[uplink]+="$(echo_after "$work/load.txt" "$t") "
  sleep 1
done
touch "$work/stop-load"; wait "$load_job"
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "?"; else print v[int((NR + 1) / 2)]}'; }
echo
echo "recovery under a 200/s UDP load, $rounds rounds: seconds from the peer's return to the first echo"
for k in udp-server udp-local ss-server uplink; do
  printf '  %-44s median %s s   (all: %s)\n' "$(case $k in
      udp-server) echo "udp-server killed -9, restarted";;
      udp-local) echo "udp-local killed -9, restarted by the controller";;
      ss-server) echo "ss-server killed -9, restarted";;
      uplink) echo "client uplink down 5 s, back";; esac)" "$(median <<<"${gaps[$k]}")" "${gaps[$k]}"
done
