# Sourced by tun_bench.sh and hev_bench.sh, so udptun and the reference are measured alike:
# 64-byte echo round trips, one at a time at 1,000/s (bench/udp_ping), from the client
# namespace straight over the veth, through the TUN, and through the TUN beside ~100k/s of
# 512-byte iperf3 datagrams (an iperf3 server on port 5201 and an echo on 7777 in the target
# namespace). PINGS pings each (default 3000).
#   echo_rounds BUILD_DIR LABEL_PREFIX VETH_ADDRESS      prints three lines
echo_rounds() {
  local build=$1 prefix=$2 veth=$3 pings=${PINGS:-3000} load
  ping_() { in_c "$build/bench/udp_ping" ping "$1" "$pings" 1000 64; }
  printf '%-40s %s\n' "${prefix}UDP echo, plain veth" "$(ping_ "$veth:7777")"
  printf '%-40s %s\n' "${prefix}UDP echo through the TUN, idle" "$(ping_ 192.0.2.1:7777)"
  in_c iperf3 -c 192.0.2.1 -p 5201 -u -b 410M -l 512 -w 4M -t $((pings / 1000 + 2)) \
    >/dev/null 2>&1 &
  load=$!
  sleep 0.5
  printf '%-40s %s\n' "${prefix}UDP echo through the TUN, 100k/s" "$(ping_ 192.0.2.1:7777)"
  wait "$load"
}
