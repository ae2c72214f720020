#!/usr/bin/env bash
# Several udp-servers behind Debian's haproxy (TCP mode, health checks), each in a namespace
# of its own as separate hosts would be:
#
#   client ns: 6 udp-locals ──► lb ns: haproxy 10.77.0.1:7000 ──► s1, s2, s3 ns: udp-server
#                                      echo target 192.0.2.1:5000 ◄── (the servers' egress)
#
# Every udp-local carries a steady load (50 datagrams/s through its forward to the echo).
# Checked: sessions spread over the servers; killing one (-9) moves its clients to the others
# with a new session within a second (median over three rounds, one per server) while the
# other clients' sessions are untouched (no link lost, no gap); draining one (haproxy
# `disable server`, then SIGTERM: udp-server's GOAWAY) moves its clients with no loss beyond
# the switch and the server exits 0 well within its grace period.
#   test_haproxy_failover.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "${1:?build directory}" && pwd)
src=$(cd "${2:?source directory}" && pwd)
if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (network namespaces)"; exit 77; fi
for tool in haproxy socat curl python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/setup installs it)"; exit 77; }
done
id=$$
nc_=udptun-ha-c-$id
nl=udptun-ha-l-$id
work=$(mktemp -d /tmp/udptun-ha-XXXXXX)
pids=()
declare -A server_pid
cleanup() {
  for p in "${pids[@]}" "${server_pid[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for ns in "$nc_" "$nl" "udptun-ha-s1-$id" "udptun-ha-s2-$id" "udptun-ha-s3-$id"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
check() { local name=$1; shift; if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# --- the network -------------------------------------------------------------------------
ip netns add "$nc_" && ip netns add "$nl" || exit 1
in_ns "$nc_" ip link set lo up
in_ns "$nl" ip link set lo up
in_ns "$nl" ip addr add 192.0.2.1/32 dev lo
ip link add "hc$id" type veth peer name "hl$id"
ip link set "hc$id" netns "$nc_" && ip link set "hl$id" netns "$nl"
in_ns "$nc_" ip addr add 10.77.0.2/24 dev "hc$id" && in_ns "$nc_" ip link set "hc$id" up
in_ns "$nl" ip addr add 10.77.0.1/24 dev "hl$id" && in_ns "$nl" ip link set "hl$id" up
for k in 1 2 3; do
  ns=udptun-ha-s$k-$id
  ip netns add "$ns"
  in_ns "$ns" ip link set lo up
  ip link add "hs$k$id" type veth peer name "hb$k$id"
  ip link set "hs$k$id" netns "$ns" && ip link set "hb$k$id" netns "$nl"
  in_ns "$ns" ip addr add "10.77.$k.2/24" dev "hs$k$id" && in_ns "$ns" ip link set "hs$k$id" up
  in_ns "$ns" ip route add default via "10.77.$k.1"
  in_ns "$nl" ip addr add "10.77.$k.1/24" dev "hb$k$id" && in_ns "$nl" ip link set "hb$k$id" up
done
head -c 32 /dev/urandom | base64 >"$work/psk"

# --- the servers, the balancer, the target -----------------------------------------------
start_server() {  # k
  # ip netns exec itself (not a function in a subshell): $! is then the server's own pid.
  ip netns exec "udptun-ha-s$1-$id" "$build/udpserver/udp-server" --listen "10.77.$1.2:7001" \
    --psk-file "$work/psk" --metrics "10.77.$1.2:9101" --drain-grace-ms 5000 \
    >>"$work/s$1.log" 2>&1 &
  server_pid[$1]=$!
}
for k in 1 2 3; do start_server $k; done
in_ns "$nl" python3 "$src/tests/netns/tools/udp_echo.py" 192.0.2.1 5000 >/dev/null 2>&1 &
pids+=($!)
cat >"$work/haproxy.cfg" <<CFG
global
  stats socket $work/haproxy.sock mode 600 level admin
  maxconn 2000
defaults
  mode tcp
  timeout connect 1s
  timeout client 1h
  timeout server 1h
  retries 3
  option redispatch
frontend udptun
  bind 10.77.0.1:7000
  default_backend servers
backend servers
  balance leastconn
  default-server inter 200ms fall 2 rise 2 on-marked-down shutdown-sessions
  server s1 10.77.1.2:7001 check
  server s2 10.77.2.2:7001 check
  server s3 10.77.3.2:7001 check
CFG
in_ns "$nl" haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!)

# --- the clients, each with a steady load ------------------------------------------------
clients=6
for c in $(seq $clients); do
  in_ns "$nc_" "$build/udplocal/udp-local" --server 10.77.0.1:7000 --psk-file "$work/psk" \
    --forward "127.0.0.1:$((6000 + c))=192.0.2.1:5000" --metrics "127.0.0.1:$((9200 + c))" \
    >>"$work/c$c.log" 2>&1 &
  pids+=($!)
  sleep 0.2  # one at a time: leastconn spreads them evenly
done
for c in $(seq $clients); do
  in_ns "$nc_" python3 "$src/tests/netns/tools/udp_load.py" 127.0.0.1 $((6000 + c)) 50 120 \
    "$work/stop" >"$work/load$c.txt" 2>/dev/null &
  pids+=($!)
done

metric() {  # ns url name → the sample's value, or -1
  in_ns "$1" curl -s --max-time 1 "$2" | awk -v n="$3" '$1 == n {print $2; found=1} END {if (!found) print -1}'
}
server_sessions() { metric "udptun-ha-s$1-$id" "http://10.77.$1.2:9101/metrics" udptun_sessions_attached; }
client_losses() { metric "$nc_" "http://127.0.0.1:$((9200 + $1))/metrics" udptun_link_losses_total; }
clients_up() {
  local n=0
  for c in $(seq $clients); do
    [ "$(metric "$nc_" "http://127.0.0.1:$((9200 + c))/metrics" udptun_link_up)" = 1 ] && n=$((n + 1))
  done
  echo $n
}
wait_all_up() { for _ in $(seq 100); do [ "$(clients_up)" = $clients ] && return 0; sleep 0.1; done; return 1; }

check "all $clients clients have a session through haproxy" wait_all_up
sleep 1
spread="$(server_sessions 1) $(server_sessions 2) $(server_sessions 3)"
echo "  sessions per server: $spread"
check "sessions are spread over the three servers (2 each)" [ "$spread" = "2 2 2" ]

# Per client: how long after time T its echoes came back (the first echo of a datagram sent
# after T, minus T) and the largest gap between consecutive echoes after T-1.
recovery() {  # client, T → "recovery_s max_gap_s"
  python3 - "$work/load$1.txt" "$2" <<'PY'
import sys
path, t = sys.argv[1], float(sys.argv[2])
rows = [tuple(map(float, l.split())) for l in open(path) if len(l.split()) == 2]
after = [r for r, s in rows if s > t]
rec = (min(after) - t) if after else 99.0
recv = sorted(r for r, s in rows if r > t - 1)
gap = max((b - a for a, b in zip(recv, recv[1:])), default=99.0)
print(f"{rec:.3f} {gap:.3f}")
PY
}

# --- failover: kill -9 each server in turn -----------------------------------------------
moved_recoveries=()
untouched_ok=1
for k in 1 2 3; do
  declare -A before=()
  for c in $(seq $clients); do before[$c]=$(client_losses $c); done
  t=$(date +%s.%N)
  kill -9 "${server_pid[$k]}"
  wait "${server_pid[$k]}" 2>/dev/null
  sleep 2.5
  moved=0
  for c in $(seq $clients); do
    read -r rec gap < <(recovery $c "$t")
    if [ "$(client_losses $c)" != "${before[$c]}" ]; then
      moved=$((moved + 1))
      moved_recoveries+=("$rec")
      echo "  round $k: client $c moved, echoes back after ${rec}s"
    elif python3 -c "import sys; sys.exit(0 if $gap < 0.5 else 1)"; then
      :
    else
      untouched_ok=0
      echo "  round $k: client $c kept its session but had a ${gap}s gap"
    fi
  done
  echo "  round $k: server s$k killed, $moved clients moved"
  [ $moved -ge 1 ] || untouched_ok=0
  start_server $k  # back for the next round; haproxy sees it up again (rise 2 x 200 ms)
  sleep 1
done
median=$(printf '%s\n' "${moved_recoveries[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 99)}')
echo "  recovery after a kill: median ${median}s over ${#moved_recoveries[@]} moved clients (${moved_recoveries[*]})"
echo "$median" >"$work/failover-median"
check "killed servers' clients have a new session, echoes back within 1 s (median)" \
  python3 -c "import sys; sys.exit(0 if $median <= 1.0 else 1)"
check "the other clients' sessions were untouched (no link lost, no gap over 0.5 s)" [ $untouched_ok = 1 ]
check "all clients are up after the rounds" wait_all_up

# --- drain: haproxy disable server, then SIGTERM ----------------------------------------
sleep 1
k=2
drained_sessions=$(server_sessions $k)
declare -A before=()
for c in $(seq $clients); do before[$c]=$(client_losses $c); done
echo "disable server servers/s$k" | in_ns "$nl" socat stdio "unix-connect:$work/haproxy.sock" >/dev/null
t=$(date +%s.%N)
kill -TERM "${server_pid[$k]}"
wait "${server_pid[$k]}"
rc=$?
drain_s=$(python3 -c "import time; print(f'{time.time() - $t:.3f}')")
echo "  drained s$k ($drained_sessions sessions): exit $rc after ${drain_s}s"
check "the drained server exits 0, well within its grace period" \
  python3 -c "import sys; sys.exit(0 if $rc == 0 and $drain_s < 4 else 1)"
check "it said GOAWAY to its clients" grep -q "draining: no new connections" "$work/s$k.log"
sleep 2
moved=0
drain_ok=1
for c in $(seq $clients); do
  read -r rec gap < <(recovery $c "$t")
  if [ "$(client_losses $c)" != "${before[$c]}" ]; then
    moved=$((moved + 1))
    echo "  drain: client $c moved, echoes back after ${rec}s, longest gap ${gap}s"
    python3 -c "import sys; sys.exit(0 if $rec < 1.0 else 1)" || drain_ok=0
  elif ! python3 -c "import sys; sys.exit(0 if $gap < 0.5 else 1)"; then
    drain_ok=0
    echo "  drain: client $c kept its session but had a ${gap}s gap"
  fi
done
check "the drained server's clients ($drained_sessions) moved, back within 1 s; the others untouched" \
  bash -c "[ $moved = $drained_sessions ] && [ $drain_ok = 1 ]"
check "all clients are up on the remaining servers" wait_all_up

touch "$work/stop"
if [ $failures -ne 0 ]; then
  for f in haproxy s1 s2 s3 c1 c2; do echo "---- $f.log"; tail -8 "$work/$f.log" 2>/dev/null; done
fi
echo "$failures failed"
[ $failures -eq 0 ]
