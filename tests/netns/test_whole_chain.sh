#!/usr/bin/env bash
# The whole product as a user runs it, in three namespaces made here (client, server,
# target), with the Debian shadowsocks-libev and simple-obfs binaries:
#   apps (client ns) → TUN → tun2socks ─UDP─► udp-local → ss-tunnel → obfs-local → obfs-server
#                                                → ss-server → udp-server → target ns
#                               └─TCP─► ss-local → obfs-local → … → ss-server → target ns
# and on the server, udp-server's egress also through SOCKS5 (ss-local -U), directly or as
# IP packets through an in-process tun2socks.
# Everything on the client is started through proxy-controller's JSON API (a GUI-like client
# configures routing; udptunctl starts the services). Three ways to run udp-local: inside the
# tun2socks process, as its own process behind SOCKS5, and everything in-process in the
# controller. Then recovery under a steady UDP load: udp-server, udp-local (restarted by the
# controller), ss-server killed -9, and the client's uplink down for 5 s; each time the time
# from the peer's return to the first echo is printed and must stay under a generous bound,
# with no daemon crashed and no descriptors or memory left behind.
#   test_whole_chain.sh BUILD_DIR
set -uo pipefail
build=$(cd "${1:?build directory}" && pwd)
if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (network namespaces and a TUN device)"; exit 77; fi
for tool in ip ss socat ss-server ss-local ss-tunnel obfs-server obfs-local dnsmasq dig iperf3 python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/setup installs it)"; exit 77; }
done
[ -c /dev/net/tun ] || { echo "SKIP: /dev/net/tun is missing"; exit 77; }

# shellcheck source=whole_chain.sh
. "$(dirname "$0")/whole_chain.sh"
failures=0
checks=0
check() {  # name, command...
  local name=$1; shift
  checks=$((checks + 1))
  if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi
}
finish() {
  # Our daemons stop cleanly (the controller stops its children); in a sanitizer build any
  # report they printed on the way (leaks at exit included) fails the test.
  if [ -n "${ctl_pid:-}" ] && [ -z "${gui_pid:-}" ]; then
    kill -TERM "$ctl_pid" 2>/dev/null; wait "$ctl_pid" 2>/dev/null; ctl_pid=
    [ -n "${srv_pid:-}" ] && { kill -TERM "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; }
    check "no sanitizer report in any daemon's log" bash -c "! grep -lE 'Sanitizer|runtime error:' '$work'/*.log"
  fi
  if [ $failures -ne 0 ]; then for f in "$work"/*.log; do echo "---- $f"; tail -25 "$f"; done; fi
  echo "$((checks - failures)) passed, $failures failed"
  [ $failures -eq 0 ]
  exit
}
whole_chain_setup "$build" udptun-chain || { echo "FAILED: cannot set up the namespaces and the server side"; failures=1; finish; }
check "configureRouting through the GUI-like client" grep -q '"statusCode": 0' "$work/gui.log"
check "ss-tunnel and ss-local started through the controller (both through obfs-local)" \
  bash -c "'$build/controller/udptunctl' --socket '$work/ctl.sock' status | grep -c ' running ' | grep -qx 2"

cat >"$work/udp-local-inproc.json" <<JSON
{"server": "127.0.0.1:7000", "psk_file": "$work/psk", "stats_interval_ms": 200}
JSON

# 1. udp-local inside the tun2socks process, configured as the README does: a --config file
# naming the TUN, which the controller opens and hands to the unprivileged tun2socks.
cat >"$work/tun2socks.json" <<JSON
{"tun": "$tun", "socks5": "127.0.0.1:1080", "udp_local_config": "$work/udp-local-inproc.json"}
JSON
ctl start tun2socks -- --config "$work/tun2socks.json" --stats-interval-ms 200 >/dev/null
check "[in tun2socks] the first UDP echo gets through" udp_ready 15
# All at once through the same TUN: TCP bulk (iperf3), UDP echo, DNS, 1 MiB UDP with a checksum.
in_c timeout 30 iperf3 -c 10.210.2.2 -p 5201 -t 3 >"$work/iperf.txt" 2>&1 &
iperf_job=$!
check "[in tun2socks] UDP echo to the target" udp_echo "through the whole chain"
check "[in tun2socks] DNS query answered by dnsmasq in the target ns" dns_query
check "[in tun2socks] 1 MiB UDP transfer, SHA-256 matches" \
  in_c timeout 90 python3 "$chain_tools/udp_transfer.py" 10.210.2.2 5001 1048576 1024 4000
check "[in tun2socks] TCP echo through ss-local and obfs" tcp_echo "tcp through obfs"
wait "$iperf_job"
check "[in tun2socks] iperf3 TCP at the same time" grep -q receiver "$work/iperf.txt"
grep -E "receiver" "$work/iperf.txt" | sed 's/^/    iperf3: /'
status_has_session() {  # service
  ctl status | awk -v s="$1" '$1 == s && $2 == "running" && $6 == "up" {found=1} END {exit !found}'
}
check "[in tun2socks] udptunctl status shows tun2socks' UDP tunnel up" wait_for 3 status_has_session tun2socks
# Services never run as root: the controller drops them to its service user (no udptun user
# here: nobody) and hands tun2socks its TUN as a descriptor.
runs_unprivileged() {  # service
  local pid
  pid=$(ctl --json status | python3 -c "import json,sys; print([s['pid'] for s in json.load(sys.stdin)['result']['services'] if s['name']=='$1'][0])")
  [ "$pid" -gt 0 ] && [ "$(stat -c %u "/proc/$pid")" != 0 ] && ! grep -q '^Groups:.*[0-9]' "/proc/$pid/status"
}
for s in tun2socks ss-tunnel ss-local; do
  check "$s runs as an unprivileged user with no supplementary groups" runs_unprivileged $s
done
ctl status | sed 's/^/    /'

# 2. udp-local as its own process, tun2socks reaching it over SOCKS5 (UDP ASSOCIATE).
ctl stop tun2socks >/dev/null
wait_for 5 bash -c "! '$build/controller/udptunctl' --socket '$work/ctl.sock' status | grep -q '^tun2socks .* running'"
ctl start udp-local -- --server 127.0.0.1:7000 --psk-file "$work/psk" --socks5 127.0.0.1:1081 \
  --stats-interval-ms 200 >/dev/null
ctl start tun2socks -- --tun "$tun" --socks5 127.0.0.1:1080 --udp-socks5 127.0.0.1:1081 \
  --stats-interval-ms 200 >/dev/null
check "[separate udp-local] UDP echo over tun2socks → SOCKS5 → udp-local" udp_ready 15
check "[separate udp-local] DNS query" dns_query
check "[separate udp-local] TCP echo at the same time" tcp_echo "tcp beside the socks5 udp"
check "[separate udp-local] udptunctl status shows udp-local's session up" wait_for 3 status_has_session udp-local

# 3. Recovery under a steady UDP load (200 datagrams/s, bounded to 150 s).
t2s_pid=$(service_pid tun2socks)
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }
sleep 1
base_fds_t2s=$(fds "$t2s_pid"); base_rss_t2s=$(rss_kib "$t2s_pid")
base_fds_ctl=$(fds "$ctl_pid"); base_rss_ctl=$(rss_kib "$ctl_pid")
in_c python3 "$chain_tools/udp_load.py" 10.210.2.2 5001 200 150 "$work/stop-load" >"$work/load.txt" 2>"$work/load.log" &
load_job=$!
sleep 1
recovered() {  # name, T
  local gap
  gap=$(echo_after "$work/load.txt" "$2")
  echo "    recovery: $1: first echo ${gap} s after the peer was back"
  echo "$1 $gap" >>"$work/recovery.txt"
  [ "$gap" != never ] && awk -v g="$gap" 'BEGIN {exit !(g < 15)}'
}

# Until the GUI-like client was last told "connected" (0): a check of what a disruption
# pushes starts from there.
gui_connected() { [ "$(grep statusChanged "$work/gui.log" | tail -1 | grep -o 'connectionStatus": [0-9]' | awk '{print $2}')" != 2 ]; }
wait_for 10 gui_connected
pushes_before=$(grep -c statusChanged "$work/gui.log")
kill -9 "$srv_pid"; wait "$srv_pid" 2>/dev/null
sleep 1
start_udp_server; t=$(now)
check "udp-server killed -9 and restarted: traffic resumes by itself" recovered "udp-server kill -9" "$t"
check "the GUI-like client saw the tunnel reconnecting (2), then connected (0)" \
  wait_for 10 gui_saw_reconnect

old_ul_pid=$(service_pid udp-local)
kill -9 "$old_ul_pid"
wait_for 10 udp_local_replaced
t=$(now)
check "udp-local killed -9, restarted by the controller: traffic resumes" recovered "udp-local kill -9 (controller restart)" "$t"

kill_ss_server
sleep 1
start_ss_server; t=$(now)
check "ss-server killed -9 and restarted: traffic resumes" recovered "ss-server kill -9" "$t"

wait_for 10 gui_connected
pushes_before=$(grep -c statusChanged "$work/gui.log")
in_c ip link set "$uplink" down
sleep 5
in_c ip link set "$uplink" up
in_c ip route replace default via 10.210.1.2 dev "$uplink"   # what DHCP would do
t=$(now)
check "uplink down for 5 s: traffic resumes" recovered "uplink down 5 s" "$t"
check "the GUI-like client saw reconnecting (2) then connected (0)" \
  wait_for 10 gui_saw_reconnect
touch "$work/stop-load"; wait "$load_job"

sent_ok=$(wc -l <"$work/load.txt")
echo "    load: $sent_ok echoes received over the recovery phase"
sleep 2   # idle flows and dead connections are reaped
check "no daemon crashed: tun2socks, ss-local, ss-tunnel never restarted, udp-local once" bash -c \
  "'$build/controller/udptunctl' --socket '$work/ctl.sock' --json status | python3 -c '
import json, sys
r = {s[\"name\"]: s[\"restarts\"] for s in json.load(sys.stdin)[\"result\"][\"services\"]}
sys.exit(0 if r.get(\"tun2socks\") == 0 and r.get(\"ss-local\") == 0 and r.get(\"ss-tunnel\") == 0 and r.get(\"udp-local\") == 1 else 1)'"
check "the controller is still running" kill -0 "$ctl_pid"
after_fds_t2s=$(fds "$t2s_pid"); after_rss_t2s=$(rss_kib "$t2s_pid")
after_fds_ctl=$(fds "$ctl_pid"); after_rss_ctl=$(rss_kib "$ctl_pid")
echo "    tun2socks: fds $base_fds_t2s -> $after_fds_t2s, RSS $base_rss_t2s -> $after_rss_t2s KiB; controller: fds $base_fds_ctl -> $after_fds_ctl, RSS $base_rss_ctl -> $after_rss_ctl KiB"
check "tun2socks' descriptors are back to baseline" [ "$after_fds_t2s" -le $((base_fds_t2s + 4)) ]
check "the controller's descriptors are back to baseline" [ "$after_fds_ctl" -le $((base_fds_ctl + 2)) ]
check "no memory growth in tun2socks or the controller" \
  [ "$after_rss_t2s" -le $((base_rss_t2s * 5 / 4 + 4096)) -a "$after_rss_ctl" -le $((base_rss_ctl * 5 / 4 + 4096)) ]

# 4. Everything of ours inside the controller: tun2socks (with its udp-local) in-process.
ctl stop tun2socks >/dev/null; ctl stop udp-local >/dev/null
wait_for 5 bash -c "! '$build/controller/udptunctl' --socket '$work/ctl.sock' status | grep -q '^tun2socks .* running'"
cat >"$work/tun2socks-inproc.json" <<JSON
{"tun": "$tun", "socks5": "127.0.0.1:1080",
 "udp_local": {"server": "127.0.0.1:7000", "psk_file": "$work/psk"}, "stats_interval_ms": 200}
JSON
check "[in-process] udptunctl start tun2socks --inproc" ctl start tun2socks --inproc "$work/tun2socks-inproc.json"
check "[in-process] UDP echo" udp_ready 15
check "[in-process] DNS query" dns_query
check "[in-process] TCP echo" tcp_echo "tcp through the in-process tun2socks"
check "[in-process] status says inproc, tunnel up" wait_for 3 bash -c \
  "'$build/controller/udptunctl' --socket '$work/ctl.sock' status | grep -q '^tun2socks .*inproc .* up '"
ctl status | sed 's/^/    /'

# 5. The server-side variant: udp-server's egress through SOCKS5 UDP ASSOCIATE at ss-local
# in the server namespace (a TCP ss-local answers the ASSOCIATE, `ss-local -U` on the same
# port relays the datagrams to ss-server, which sends them to the target).
kill "$srv_pid"; wait "$srv_pid" 2>/dev/null
ss_args=(-s 10.210.1.2 -p 8388 -k "$chain_password" -m chacha20-ietf-poly1305 -b 127.0.0.1 -l 1090)
bg_in "$ns_s" ss-local-egress ss-local "${ss_args[@]}" --plugin obfs-local --plugin-opts "obfs=http;obfs-host=www.example.com"
bg_in "$ns_s" ss-local-egress-udp ss-local "${ss_args[@]}" -U
egress_udp_pid=${pids[-1]}
wait_for 5 listening "$ns_s" 1090
start_udp_server --egress socks5 --egress-socks5 127.0.0.1:1090
check "[server egress socks5] UDP echo through udp-server → ss-local -U → ss-server" udp_ready 20
check "[server egress socks5] DNS query" dns_query
kill -9 "$egress_udp_pid"; wait "$egress_udp_pid" 2>/dev/null
check "[server egress socks5] with ss-local -U gone, nothing gets through (it really is the way out)" \
  bash -c "! (echo probe | ip netns exec $ns_c timeout 2 socat -t1 - UDP:10.210.2.2:5001 | grep -q probe)"
bg_in "$ns_s" ss-local-egress-udp ss-local "${ss_args[@]}" -U
check "[server egress socks5] ss-local -U back: flows are re-made by themselves" udp_ready 20
# And the seed's packet pipe: udp-server → in-process tun2socks → ss-local -U → ss-server.
kill "$srv_pid"; wait "$srv_pid" 2>/dev/null
start_udp_server --egress tun2socks --egress-socks5 127.0.0.1:1090 --metrics 127.0.0.1:9471
check "[server egress tun2socks] UDP echo through udp-server → tun2socks → ss-local -U → ss-server" udp_ready 20
check "[server egress tun2socks] /metrics counts what the egress drops" bash -c \
  "ip netns exec $ns_s python3 -c \"import urllib.request; t = urllib.request.urlopen('http://127.0.0.1:9471/metrics', timeout=2).read().decode(); assert any(l.startswith('udptun_egress_tun2socks_dropped_total ') for l in t.splitlines())\""
check "[server egress tun2socks] DNS query" dns_query
check "[server egress tun2socks] 1 MiB UDP transfer, SHA-256 matches" \
  in_c timeout 90 python3 "$chain_tools/udp_transfer.py" 10.210.2.2 5001 1048576 1024 4000

# 6. The GUI client disconnects: resetRouting, then tun2socks stopped. The TUN is no longer
# persistent after the reset, so it goes away with the last process holding it, and the
# client's routes are exactly as before.
kill "$gui_pid"; wait "$gui_pid" 2>/dev/null; gui_pid=
check "resetRouting from the GUI-like client answered 0" grep -q 'resetRouting {"action": "resetRouting", "statusCode": 0' "$work/gui.log"
ctl stop tun2socks >/dev/null
check "the TUN is gone once tun2socks stopped" wait_for 5 bash -c "! ip netns exec $ns_c ip link show $tun >/dev/null 2>&1"
routes_after=$(in_c ip route show; in_c ip -6 route show)
check "the client's routes are exactly as before" [ "$routes_before" = "$routes_after" ]
[ "$routes_before" = "$routes_after" ] || diff <(echo "$routes_before") <(echo "$routes_after")
finish
