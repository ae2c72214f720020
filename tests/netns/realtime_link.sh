# Sourced by the real-time test and benchmark: a client and a target namespace (per-run
# names, deleted on exit, failure included) joined by one link shaped with tbf each way, the
# probe's servers on the target (192.0.2.1: the game's echo on 5001, the bulk sink on 5002),
# and helpers to start udp-server (target side) and udp-local (client side) over that link.
#   realtime_link PREFIX SUBNET MBIT     e.g. realtime_link udptun-rt 10.207.0 20
# Needs: root, ip, tc, python3; BUILD (the build directory) set by the caller.
here_rt=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here_rt/two_namespaces.sh"
probe="$here_rt/tools/realtime_probe.py"

# rate, then the queue tbf keeps (20 ms: what a home router's shaper holds)
shape_link() {  # mbit
  in_c tc qdisc replace dev "vc$id" root tbf rate "${1}mbit" burst 16kb latency 20ms &&
    in_t tc qdisc replace dev "vt$id" root tbf rate "${1}mbit" burst 16kb latency 20ms
}

udptun_pids=()
realtime_link() {  # prefix, subnet, mbit
  two_namespaces "$1" "$2" || return 1
  shape_link "$3" || return 1
  in_c ip route add 192.0.2.0/24 via "$2.2" || return 1  # plain UDP: the same link
  head -c 24 /dev/urandom | base64 >"$work/psk"
  bg_t python3 "$probe" serve 192.0.2.1:5001 192.0.2.1:5002
  server_ip=$2.2
}

# udp-server on the target side; extra arguments are udp-server's. Its log: $work/udp-server.log
start_udp_server() {
  bg_t "$BUILD/udpserver/udp-server" --listen "$server_ip:7001" --psk-file "$work/psk" \
    --allow-target 192.0.2.0/24 "$@"
  udptun_pids+=($!)
}

# udp-local on the client side: forwards 127.0.0.1:6001 → the echo and 127.0.0.1:6002 → the
# sink (each client socket its own flow); extra arguments are udp-local's.
start_udp_local() {
  bg_c "$BUILD/udplocal/udp-local" --server "${UDP_LOCAL_SERVER:-$server_ip:7001}" --psk-file "$work/psk" \
    --forward 127.0.0.1:6001=192.0.2.1:5001 --forward 127.0.0.1:6002=192.0.2.1:5002 "$@"
  udptun_pids+=($!)
}

stop_udptun() {  # stops udp-server, udp-local and the chain (the probe's servers stay)
  local p
  for p in "${udptun_pids[@]}"; do kill "$p" 2>/dev/null; done
  udptun_pids=()
  sleep 0.3
}

# Waits until the game's front answers through the tunnel (bounded: 10 s).
wait_tunnel() {
  local end=$((SECONDS + 10))
  while [ $SECONDS -lt $end ]; do
    in_c python3 "$probe" run 127.0.0.1:6001 127.0.0.1:6002 0.1 0 none 2>/dev/null |
      grep -q '"game_lost": 0' && return 0
    sleep 0.2
  done
  return 1
}

# One measurement: prints the probe's JSON. Direct (plain UDP): GAME 192.0.2.1:5001, BULK
# 192.0.2.1:5002; through udp-local: 127.0.0.1:6001 and 127.0.0.1:6002.
measure() {  # game_dst, bulk_dst, secs, bulk_mbit, mode, flows
  in_c env REALTIME_SERIES="${REALTIME_SERIES:-}" python3 "$probe" run "$@"
}

# The seed chain over the same link: ss-server + obfs-server beside udp-server, ss-tunnel +
# obfs-local on the client (127.0.0.1:7000 → udp-server), both with --no-delay. Then
# start_udp_local --server 127.0.0.1:7000 goes through it.
start_chain() {
  local pw=realtime-bench-password
  local m=(-m chacha20-ietf-poly1305 -k "$pw" --no-delay)
  bg_t ss-server -s "$server_ip" -p 8388 "${m[@]}" -t 60 --plugin obfs-server --plugin-opts "obfs=http"
  udptun_pids+=($!)
  bg_c ss-tunnel -s "$server_ip" -p 8388 "${m[@]}" -l 7000 -L "$server_ip:7001" \
    --plugin obfs-local --plugin-opts "obfs=http;obfs-host=www.example.com"
  udptun_pids+=($!)
  sleep 0.5
}
