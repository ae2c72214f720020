# Sourced by the whole-chain test and benchmark: three namespaces made here (client, server,
# target) joined by veth pairs, the target's services, the server side (ss-server with
# obfs-server, udp-server) and, in the client namespace, proxy-controller driven through its
# JSON API: a GUI-like client configures routing, udptunctl starts ss-tunnel and ss-local
# (both through obfs-local). Cleanup on exit (failure included) stops everything and deletes
# the namespaces.
#   whole_chain_setup BUILD_DIR NAME_PREFIX
# Addresses: client 10.210.1.1 ── 10.210.1.2 server 10.210.2.1 ── 10.210.2.2 target.
# Sets: id, ns_c ns_s ns_t, work, tun, pids, srv_pid (udp-server), ss_pid (ss-server),
# ctl_pid, gui_pid; functions in_c/in_s/in_t, ctl (udptunctl), target services on
# 10.210.2.2: UDP echo :5001, TCP echo :7, DNS :53 (test.example → 10.210.2.2), iperf3 :5201.

chain_tools=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tools
in_c() { ip netns exec "$ns_c" "$@"; }
in_s() { ip netns exec "$ns_s" "$@"; }
in_t() { ip netns exec "$ns_t" "$@"; }
bg_in() {  # ns log-name command...: runs in the background, remembered for cleanup
  local ns=$1 log=$2; shift 2
  ip netns exec "$ns" "$@" >>"$work/$log.log" 2>&1 &
  pids+=($!)
}
ctl() { "$chain_build/controller/udptunctl" --socket "$work/ctl.sock" "$@"; }
now() { date +%s.%N; }

whole_chain_cleanup() {
  [ -n "${gui_pid:-}" ] && kill "$gui_pid" 2>/dev/null && sleep 0.5
  [ -n "${ctl_pid:-}" ] && kill "$ctl_pid" 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  # Whatever is still inside a namespace (plugins started by ss-*) dies with it.
  for ns in "$ns_c" "$ns_s" "$ns_t"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}

# Waits until CONDITION (a command) holds, up to SECONDS.
wait_for() {
  local seconds=$1; shift
  local end=$(($(date +%s) + seconds))
  while [ "$(date +%s)" -le "$end" ]; do "$@" && return 0; sleep 0.1; done
  return 1
}
listening() { ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .; }

start_udp_server() {  # extra flags...
  bg_in "$ns_s" udp-server "$chain_build/udpserver/udp-server" --listen 127.0.0.1:7001 \
    --psk-file "$work/psk" --allow-target 10.210.2.0/24 --stats-interval-ms 200 "$@"
  srv_pid=${pids[-1]}
  wait_for 5 listening "$ns_s" 7001
}
start_ss_server() {
  bg_in "$ns_s" ss-server ss-server -s 10.210.1.2 -p 8388 -k "$chain_password" \
    -m chacha20-ietf-poly1305 -u -t 60 --no-delay --plugin obfs-server --plugin-opts "obfs=http"
  ss_pid=${pids[-1]}
  wait_for 5 listening "$ns_s" 8388
}
kill_ss_server() {  # ss-server and its obfs-server plugin
  local children
  children=$(pgrep -P "$ss_pid" 2>/dev/null)
  kill -9 "$ss_pid" $children 2>/dev/null
  wait "$ss_pid" 2>/dev/null
  wait_for 5 bash -c "! ip netns exec $ns_s ss -Hltn 'sport = :8388' | grep -q ."
}

whole_chain_setup() {
  chain_build=$1
  id=$$
  ns_c=$2-c-$id
  ns_s=$2-s-$id
  ns_t=$2-t-$id
  tun=ut$id
  work=$(mktemp -d "/tmp/$2-XXXXXX")
  chmod 0755 "$work"
  pids=()
  chain_password=chain-test-$id
  trap whole_chain_cleanup EXIT
  ip netns add "$ns_c" && ip netns add "$ns_s" && ip netns add "$ns_t" || return 1
  ip link add "cs$id" type veth peer name "sc$id" || return 1
  ip link add "st$id" type veth peer name "ts$id" || return 1
  ip link set "cs$id" netns "$ns_c" && ip link set "sc$id" netns "$ns_s" || return 1
  ip link set "st$id" netns "$ns_s" && ip link set "ts$id" netns "$ns_t" || return 1
  for ns in "$ns_c" "$ns_s" "$ns_t"; do ip netns exec "$ns" ip link set lo up; done
  in_c ip addr add 10.210.1.1/24 dev "cs$id" && in_c ip link set "cs$id" up
  in_s ip addr add 10.210.1.2/24 dev "sc$id" && in_s ip link set "sc$id" up
  in_s ip addr add 10.210.2.1/24 dev "st$id" && in_s ip link set "st$id" up
  in_t ip addr add 10.210.2.2/24 dev "ts$id" && in_t ip link set "ts$id" up
  # The client's uplink: its default gateway is the server's side of the veth (nothing
  # forwards there; only the proxy's own address is ever reached that way).
  in_c ip route add default via 10.210.1.2 dev "cs$id"
  uplink=cs$id
  routes_before=$(in_c ip route show; in_c ip -6 route show)

  # Target services.
  bg_in "$ns_t" udp-echo python3 "$chain_tools/udp_echo.py" 10.210.2.2 5001
  bg_in "$ns_t" tcp-echo socat TCP-LISTEN:7,bind=10.210.2.2,fork,reuseaddr EXEC:cat
  bg_in "$ns_t" dnsmasq dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
    --no-hosts --bind-interfaces --listen-address=10.210.2.2 --address=/test.example/10.210.2.2 \
    --pid-file="$work/dnsmasq.pid" --user=root
  bg_in "$ns_t" iperf3 iperf3 -s -B 10.210.2.2 -p 5201

  # Server side.
  head -c 24 /dev/urandom | base64 >"$work/psk"
  start_ss_server || return 1
  start_udp_server || return 1

  # Client side: the controller, then everything through its JSON API.
  ip netns exec "$ns_c" "$chain_build/controller/proxy-controller" "$work/ctl.sock" -d \
    --state-dir "$work/state" >>"$work/controller.log" 2>&1 &
  ctl_pid=$!
  wait_for 5 test -S "$work/ctl.sock" || return 1
  python3 "$chain_tools/gui_client.py" "$work/ctl.sock" \
    '{"action":"configureRouting","parameters":{"proxyIp":"10.210.1.2","routerIp":"10.0.85.1","tunName":"'"$tun"'","isAutoConnect":false}}' \
    "$work/gui.log" 900 &
  gui_pid=$!
  wait_for 5 grep -qs '"statusCode": 0' "$work/gui.log" || return 1
  # --no-delay: shadowsocks-libev leaves Nagle on, which holds small frames (a game's
  # datagrams) for up to a round trip: 20 ms idle round trips instead of 1 ms.
  local obfs=(--no-delay --plugin obfs-local --plugin-opts "obfs=http;obfs-host=www.example.com")
  local ss=(-s 10.210.1.2 -p 8388 -k "$chain_password" -m chacha20-ietf-poly1305 -b 127.0.0.1)
  ctl start ss-tunnel -- "$(command -v ss-tunnel)" "${ss[@]}" -l 7000 -L 127.0.0.1:7001 "${obfs[@]}" >/dev/null &&
    ctl start ss-local -- "$(command -v ss-local)" "${ss[@]}" -l 1080 "${obfs[@]}" >/dev/null || return 1
  wait_for 5 listening "$ns_c" 7000 && wait_for 5 listening "$ns_c" 1080
}

# Seconds from T to the first echo udp_load.py logged in FILE after it, or "never" (20 s).
echo_after() {  # file T
  local end=$(($(date +%s) + 20)) first
  while [ "$(date +%s)" -le "$end" ]; do
    first=$(awk -v t="$2" '$1 > t {print $1; exit}' "$1")
    if [ -n "$first" ]; then awk -v a="$first" -v b="$2" 'BEGIN {printf "%.3f", a - b}'; return; fi
    sleep 0.05
  done
  echo never
}
service_pid() {  # name: its pid in the controller's status (0 when not running)
  ctl --json status | python3 -c 'import json,sys; print([s["pid"] for s in json.load(sys.stdin)["result"]["services"] if s["name"]==sys.argv[1]][0])' "$1"
}
# udp-local was restarted: running under another pid than $old_ul_pid.
udp_local_replaced() { local p; p=$(service_pid udp-local); [ "$p" != 0 ] && [ "$p" != "$old_ul_pid" ]; }
# The GUI-like client was told reconnecting (2), then connected (0), since push $pushes_before.
gui_saw_reconnect() {
  [[ "$(grep statusChanged "$work/gui.log" | tail -n +$((pushes_before + 1)) |
        grep -o 'connectionStatus": [0-9]' | awk '{printf "%s ", $2}')" == *2*0* ]]
}

# Client-side checks (through the TUN).
udp_echo() {  # message
  for _ in 1 2 3 4 5; do
    [ "$(echo "$1" | in_c timeout 3 socat -t1 - UDP:10.210.2.2:5001)" = "$1" ] && return 0
  done
  return 1
}
tcp_echo() { [ "$(echo "$1" | in_c timeout 8 socat -T2 STDIO,ignoreeof TCP:10.210.2.2:7)" = "$1" ]; }
dns_query() { in_c timeout 8 dig +time=2 +tries=3 +short @10.210.2.2 test.example | grep -qx 10.210.2.2; }
udp_ready() { wait_for "${1:-15}" udp_echo "ready?"; }
