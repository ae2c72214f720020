#!/usr/bin/env bash
# NAT behaviour (RFC 4787) of the whole UDP path, in three namespaces this test creates and
# deletes (failure included): the client (apps, tun2socks, udp-local), the server (udp-server)
# and the "internet" (a STUN-like reflector on 192.0.2.1-3). For each front — the TUN through
# tun2socks, udp-local's SOCKS5 front, a forward — one app socket asks reflectors on different
# addresses and ports what source they see (endpoint-independent mapping: the same), then asks
# for datagrams from hosts it never contacted (endpoint-independent filtering: they arrive;
# address-dependent filtering on a second udp-server: only from addresses it sent to).
#   test_nat_behaviour.sh BUILD_DIR
set -uo pipefail
build=${1:?build directory}
if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (network namespaces and a TUN device)"; exit 77; fi
for tool in ip python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/setup installs it)"; exit 77; }
done
[ -c /dev/net/tun ] || { echo "SKIP: /dev/net/tun is missing"; exit 77; }
tools=$(cd "$(dirname "$0")/tools" && pwd)

id=$$
nc_=udptun-nat-c-$id; ns_=udptun-nat-s-$id; ni=udptun-nat-i-$id
work=$(mktemp -d /tmp/udptun-nat-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.2
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  for n in "$nc_" "$ns_" "$ni"; do ip netns del "$n" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
in_c() { ip netns exec "$nc_" "$@"; }
in_s() { ip netns exec "$ns_" "$@"; }
in_i() { ip netns exec "$ni" "$@"; }
bg() {  # namespace, log name, command...
  local n=$1 log=$2; shift 2
  ip netns exec "$n" "$@" >>"$work/$log.log" 2>&1 &
  pids+=($!)
}
setup() {
  for n in "$nc_" "$ns_" "$ni"; do ip netns add "$n" && ip netns exec "$n" ip link set lo up || return 1; done
  ip link add "nc$id" type veth peer name "ns$id" || return 1
  ip link add "nx$id" type veth peer name "ni$id" || return 1
  ip link set "nc$id" netns "$nc_" && ip link set "ns$id" netns "$ns_" || return 1
  ip link set "nx$id" netns "$ns_" && ip link set "ni$id" netns "$ni" || return 1
  in_c ip addr add 10.204.0.1/30 dev "nc$id" && in_c ip link set "nc$id" up &&
    in_s ip addr add 10.204.0.2/30 dev "ns$id" && in_s ip link set "ns$id" up &&
    in_s ip addr add 10.204.1.1/30 dev "nx$id" && in_s ip link set "nx$id" up &&
    in_i ip addr add 10.204.1.2/30 dev "ni$id" && in_i ip link set "ni$id" up || return 1
  in_s ip route add 192.0.2.0/24 via 10.204.1.2 || return 1
  for a in 1 2 3; do in_i ip addr add "192.0.2.$a/32" dev lo || return 1; done
}
setup || { echo "FAILED: cannot create the namespaces"; exit 1; }
failures=0 checks=0
check() {  # name, command...
  local name=$1; shift
  checks=$((checks + 1))
  if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi
}
dump_logs() { for f in "$work"/*.log; do echo "---- $f"; tail -30 "$f"; done; }

# The internet: A and B on different addresses and ports, C a third host never contacted,
# A2 A's address on another port.
bg "$ni" reflector python3 "$tools/stun_reflector.py" A=192.0.2.1:3478 B=192.0.2.2:3479 \
  C=192.0.2.3:3480 A2=192.0.2.1:3490
# The server: one udp-server per filtering mode.
head -c 24 /dev/urandom | base64 > "$work/psk"
bg "$ns_" udp-server-ei "$build/udpserver/udp-server" --listen 10.204.0.2:7001 --psk-file "$work/psk" \
  --allow-target 192.0.2.0/24
bg "$ns_" udp-server-ad "$build/udpserver/udp-server" --listen 10.204.0.2:7002 --psk-file "$work/psk" \
  --allow-target 192.0.2.0/24 --nat-filtering address-dependent
bg "$ns_" udp-server-apd "$build/udpserver/udp-server" --listen 10.204.0.2:7003 --psk-file "$work/psk" \
  --allow-target 192.0.2.0/24 --nat-filtering address-and-port-dependent
# The client: a udp-local per server with a SOCKS5 front and a forward to A.
bg "$nc_" udp-local-ei "$build/udplocal/udp-local" --server 10.204.0.2:7001 --psk-file "$work/psk" \
  --socks5 127.0.0.1:1090 --forward 127.0.0.1:5300=192.0.2.1:3478
bg "$nc_" udp-local-ad "$build/udplocal/udp-local" --server 10.204.0.2:7002 --psk-file "$work/psk" \
  --socks5 127.0.0.1:1091 --forward 127.0.0.1:5301=192.0.2.1:3478
bg "$nc_" udp-local-apd "$build/udplocal/udp-local" --server 10.204.0.2:7003 --psk-file "$work/psk" \
  --socks5 127.0.0.1:1092
sleep 0.5

probe() {  # output file, probe arguments...
  local out=$1; shift
  in_c timeout 30 python3 "$tools/nat_probe.py" "$@" > "$out" 2>>"$work/probe.log"
}
field() {  # file, python expression over the probe's JSON `r`
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}
# Endpoint-independent mapping: A and B (different addresses and ports) saw one source.
same_mapping() {
  local a b
  a=$(field "$1" 'r["mapped"]["A"]'); b=$(field "$1" 'r["mapped"]["B"]')
  echo "   A saw $a, B saw $b"
  [ -n "$a" ] && [ "$a" != None ] && [ "$a" = "$b" ]
}
poked() { [ "$(field "$1" "r['poked']['$2']")" = True ]; }
not_poked() { [ "$(field "$1" "r['poked']['$2']")" = False ]; }
both_ways=(--ask A=192.0.2.1:3478 --ask B=192.0.2.2:3479 --poke C --poke A2)

# SOCKS5 front (UDP ASSOCIATE): the app names each destination.
probe "$work/socks5-ei.json" --socks5 127.0.0.1:1090 "${both_ways[@]}"
check "SOCKS5 front: one mapping for two targets" same_mapping "$work/socks5-ei.json"
check "SOCKS5 front, endpoint-independent filtering: a host never contacted gets through" poked "$work/socks5-ei.json" C
probe "$work/socks5-ad.json" --socks5 127.0.0.1:1091 "${both_ways[@]}"
check "SOCKS5 front, address-dependent filtering: one mapping still" same_mapping "$work/socks5-ad.json"
check "SOCKS5 front, address-dependent filtering: the uncontacted host is filtered" not_poked "$work/socks5-ad.json" C
check "SOCKS5 front, address-dependent filtering: a contacted address's other port gets through" poked "$work/socks5-ad.json" A2
probe "$work/socks5-apd.json" --socks5 127.0.0.1:1092 "${both_ways[@]}"
check "SOCKS5 front, address-and-port-dependent filtering: one mapping still" same_mapping "$work/socks5-apd.json"
check "SOCKS5 front, address-and-port-dependent filtering: a contacted address's other port is filtered" not_poked "$work/socks5-apd.json" A2

# Forward front: the target is fixed (A), replies from anyone come out of the forward socket.
probe "$work/fwd-ei.json" --via 127.0.0.1:5300 --ask A=192.0.2.1:3478 --poke C
check "forward front, endpoint-independent filtering: a host never contacted gets through" poked "$work/fwd-ei.json" C
probe "$work/fwd-ad.json" --via 127.0.0.1:5301 --ask A=192.0.2.1:3478 --poke C --poke A2
check "forward front, address-dependent filtering: the uncontacted host is filtered" not_poked "$work/fwd-ad.json" C
check "forward front, address-dependent filtering: the contacted address gets through" poked "$work/fwd-ad.json" A2

# The TUN through tun2socks and its in-process udp-local: the app just sends.
tun=tn$id
start_tun2socks() {  # udp-local config file
  bg "$nc_" tun2socks "$build/tun2socks/tun2socks" --tun "$tun" --socks5 127.0.0.1:1 --udp-local "$1"
  t2s_pid=${pids[-1]}
  for _ in $(seq 50); do in_c ip link show "$tun" >/dev/null 2>&1 && break; sleep 0.1; done
  in_c ip addr add 10.0.86.1/24 dev "$tun" && in_c ip link set "$tun" up &&
    in_c ip route add 192.0.2.0/24 dev "$tun"
}
stop_tun2socks() {
  kill "$t2s_pid"; wait "$t2s_pid" 2>/dev/null
  for _ in $(seq 50); do in_c ip link show "$tun" >/dev/null 2>&1 || break; sleep 0.1; done
}
echo "{\"server\": \"10.204.0.2:7001\", \"psk_file\": \"$work/psk\"}" > "$work/ul-ei.json"
echo "{\"server\": \"10.204.0.2:7002\", \"psk_file\": \"$work/psk\"}" > "$work/ul-ad.json"
start_tun2socks "$work/ul-ei.json"
probe "$work/tun-ei.json" "${both_ways[@]}"
check "TUN: one mapping for two targets" same_mapping "$work/tun-ei.json"
check "TUN, endpoint-independent filtering: a host never contacted gets through" poked "$work/tun-ei.json" C
stop_tun2socks
start_tun2socks "$work/ul-ad.json"
probe "$work/tun-ad.json" "${both_ways[@]}"
check "TUN, address-dependent filtering: one mapping still" same_mapping "$work/tun-ad.json"
check "TUN, address-dependent filtering: the uncontacted host is filtered" not_poked "$work/tun-ad.json" C
check "TUN, address-dependent filtering: a contacted address's other port gets through" poked "$work/tun-ad.json" A2

if [ $failures -ne 0 ]; then cat "$work"/*.json; dump_logs; fi
echo "$((checks - failures)) passed, $failures failed"
[ $failures -eq 0 ]
