#!/usr/bin/env bash
# udp-local ⇄ udp-server beside a minimal relay pair in the same places on loopback: the same
# sender and receiver, alternating runs. The minimal relay (not part of udptun; built beside
# it for the comparison) takes `RELAY server -l TCP -d UDP -g -L SECS` and
# `RELAY local -u UDP -t TCP -L SECS`; the load tool `UDPBENCH send -d ADDR -s SIZE -t SECS`
# and `UDPBENCH recv -l ADDR -t SECS`, each printing one line of counts. Loopback only; every
# process started here is stopped on exit.
#   bench/relay_bench.sh BUILD_DIR RELAY UDPBENCH [SECONDS] [ROUNDS]
# Prints, per round: delivered at 1400, 512 and 64 B unpaced, and echo p50/p90/p99 (64 B at
# 1,000/s, bench/udp_ping), for udptun and for the minimal relay.
set -uo pipefail
build=${1:?build directory}
relay=${2:?minimal relay program}
udpbench=${3:?UDP load tool}
secs=${4:-3}
rounds=${5:-3}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
echo "benchmark key 0123456789abcdef" >"$work/psk"
base=$((20000 + ($$ % 20000)))  # per-run ports: parallel runs do not collide
target=127.0.0.1:$base relay_tcp=127.0.0.1:$((base + 1)) front=127.0.0.1:$((base + 2))

start_pair() {  # udptun|minimal  lifetime
  if [ "$1" = udptun ]; then
    "$build/udpserver/udp-server" --listen "$relay_tcp" --psk-file "$work/psk" \
      --allow-target 127.0.0.1/32 --log-level warn 2>>"$work/server.log" &
    pids+=($!)
    sleep 0.3
    "$build/udplocal/udp-local" --server "$relay_tcp" --psk-file "$work/psk" \
      --forward "$front=$target" --log-level warn 2>>"$work/local.log" &
    pids+=($!)
  else
    "$relay" server -l "$relay_tcp" -d "$target" -g -L "$2" 2>/dev/null &
    pids+=($!)
    sleep 0.3
    "$relay" local -u "$front" -t "$relay_tcp" -L "$2" 2>/dev/null &
    pids+=($!)
  fi
  sleep 0.7
}
stop_pair() {  # SIGINT: udp-server stops at once (SIGTERM would drain)
  kill -INT "${pids[-1]}" "${pids[-2]}" 2>/dev/null
  wait "${pids[-1]}" "${pids[-2]}" 2>/dev/null
  unset 'pids[-1]' 'pids[-1]'
}

throughput() {  # mode size → "delivered line of the receiver"
  "$udpbench" recv -l "$target" -t $((secs + 3)) >"$work/recv" &
  local r=$!
  pids+=($r)
  start_pair "$1" $((secs + 6))
  "$udpbench" send -d "$front" -s "$2" -t "$secs" >"$work/send"
  sleep 1
  stop_pair
  wait "$r" 2>/dev/null
  unset 'pids[-1]'
  # udpbench's receiver line → "Mbit/s (datagrams/s)"
  sed -n 's/.* pps=\([0-9.]*\) mbps=\([0-9.]*\).*/\2 Mbit\/s (\1\/s)/p' "$work/recv"
}

echo_round() {  # mode → udp_ping's line
  "$build/bench/udp_ping" echo "$target" 30 &
  local e=$!
  pids+=($e)
  start_pair "$1" 30
  "$build/bench/udp_ping" ping "$front" 3000 1000 64
  stop_pair
  kill "$e" 2>/dev/null
  wait "$e" 2>/dev/null
  unset 'pids[-1]'
}

for round in $(seq "$rounds"); do
  for mode in udptun minimal; do
    for size in 1400 512 64; do
      printf 'round %s %-8s %5s B unpaced: %s\n' "$round" "$mode" "$size" "$(throughput "$mode" "$size")"
    done
    printf 'round %s %-8s echo: %s\n' "$round" "$mode" "$(echo_round "$mode")"
  done
done
