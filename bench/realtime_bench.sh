#!/usr/bin/env bash
# What a game sees beside bulk traffic on a full or lossy link, through udptun and without it,
# same link, same run. Needs root (network namespaces, tc); every namespace and process it
# makes is removed on exit, failure included.
#   bench/realtime_bench.sh BUILD_DIR [SECONDS] [OUT_DIR]
# The link: the client's, 20 Mbit/s each way (tbf, a 20 ms queue: a home router's shaper).
# The game: 50 datagrams/s of 100 bytes on a fixed schedule, echoed by the target (round trips
# p50/p99/max, datagrams never back). The bulk: 1,200-byte datagrams at 30 Mbit/s.
#   upload      the bulk from the client to the target
#   download    the bulk from the target to the client (the client sends a small ACK every
#               50 ms per flow, as a QUIC receiver does)
#   4 flows     four bulk flows sharing 30 Mbit/s upload: each one's share (Jain's index)
#   chain       upload through ss-tunnel + obfs-local → ss-server + obfs-server (--no-delay)
#               with --pacing auto (the default: off for a carrier on loopback) and on
# With LINKEM_DIR (a directory holding a built `linkem` and `linkem-path.sh`, the userspace
# delay/loss link for kernels without netem): 40 ms round trip with 1% and 3% random loss each
# way, the game alone and beside a 4 Mbit/s bulk flow.
# With BASELINE_BUILD (another build directory, e.g. the release before), its udp-local and
# udp-server are measured too, in the same run ("before").
# LOSS_ARGS: more arguments for both daemons in the loss cases (e.g. --pacing off).
# LOSS_CONNECTIONS: the connections per session tried in the loss cases ("1 2 2/nocopy 4", the
# default; "/nocopy": with --duplicate-below-kbps 0).
# REALTIME_CASES: which groups run ("link chain loss", the default: all).
# HEV_SOCKS5_TUNNEL, HEV_SOCKS5_SERVER: hev-socks5-tunnel and hev-socks5-server, measured beside
# udptun in the link cases (through its TUN, UDP in its SOCKS5 TCP connection).
# OUT_DIR (optional): each case's game round trips over time (time_s rtt_ms, or "lost"), for
# plots (bench/plot_realtime.sh draws them).
set -uo pipefail
BUILD=$(cd "${1:?build directory}" && pwd)
secs=${2:-10}
out=${3:-}
if [ "$(id -u)" != 0 ]; then echo "realtime_bench: needs root (namespaces, tc)"; exit 77; fi
[ -n "$out" ] && mkdir -p "$out" && out=$(cd "$out" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tests/netns/realtime_link.sh"

results=()
record() {  # case name, path name, json
  results+=("$1|$2|$3")
  printf '%-34s %-30s %s\n' "$1" "$2" "$3"
}
series() {  # case, path -> the file for REALTIME_SERIES ("" when no OUT_DIR)
  [ -n "$out" ] && echo "$out/$(echo "$1-$2" | tr ' /+()' '_____' | tr -s _).txt"
}
run_case() {  # case, path, game_dst, bulk_dst, mbit, mode, flows
  local r
  r=$(REALTIME_SERIES=$(series "$1" "$2") measure "$3" "$4" "$secs" "$5" "$6" "$7")
  record "$1" "$2" "${r:-{\}}"
}
# udptun with BUILD (or another build's daemons), extra udp-local/udp-server arguments.
tunnel_up() {  # build, chain(0|1), udp-local args...
  local build=$1 chain=$2
  shift 2
  stop_udptun
  BUILD=$build start_udp_server "$@"
  # LOCAL_ARGS: udp-local's own (udp-server refuses options it does not have).
  if [ "$chain" = 1 ]; then
    start_chain
    UDP_LOCAL_SERVER=127.0.0.1:7000 BUILD=$build start_udp_local "$@" ${LOCAL_ARGS:-}
  else
    BUILD=$build start_udp_local "$@" ${LOCAL_ARGS:-}
  fi
  wait_tunnel || { echo "realtime_bench: the tunnel did not come up"; tail -n 5 "$work"/*.log; return 1; }
}

# The TUN path: tun2socks with its in-process udp-local in the client namespace, the target's
# address routed into its TUN device (more specific than the link's route: plain UDP is
# measured before it exists).
tun_up() {  # build
  local tun=rtt$id
  echo "{\"server\": \"$server_ip:7001\", \"psk_file\": \"$work/psk\"}" >"$work/udp-local.json"
  stop_udptun
  BUILD=$1 start_udp_server
  bg_c "$1/tun2socks/tun2socks" --tun "$tun" --mtu 1500 --socks5 "$server_ip:1080" --udp udp-local \
    --udp-local "$work/udp-local.json" --log-level warn
  udptun_pids+=($!)
  for _ in $(seq 50); do in_c ip link show "$tun" >/dev/null 2>&1 && break; sleep 0.1; done
  in_c ip addr add 10.0.85.1/24 dev "$tun" && in_c ip link set "$tun" up &&
    in_c ip route add 192.0.2.1/32 dev "$tun" || return 1
  sleep 1
}

# hev-socks5-tunnel (its TUN in the client namespace, UDP in its SOCKS5 TCP connection: "udp:
# tcp") with hev-socks5-server beside the target, when HEV_SOCKS5_TUNNEL and HEV_SOCKS5_SERVER
# name their programs (built outside udptun).
hev_up() {
  local tun=hv$id
  stop_udptun
  cat >"$work/hev-server.yml" <<YML
main:
  workers: 1
  port: 1090
  listen-address: '$server_ip'
misc:
  log-level: error
YML
  cat >"$work/hev-tunnel.yml" <<YML
tunnel:
  name: $tun
  mtu: 1500
  ipv4: 10.0.86.1
socks5:
  port: 1090
  address: $server_ip
  udp: 'tcp'
misc:
  log-level: error
YML
  bg_t "$HEV_SOCKS5_SERVER" "$work/hev-server.yml"
  udptun_pids+=($!)
  sleep 0.3
  bg_c "$HEV_SOCKS5_TUNNEL" "$work/hev-tunnel.yml"
  udptun_pids+=($!)
  for _ in $(seq 50); do in_c ip link show "$tun" >/dev/null 2>&1 && break; sleep 0.1; done
  in_c ip link set "$tun" up && in_c ip route add 192.0.2.1/32 dev "$tun" || return 1
  sleep 0.5
}
have_hev() { [ -n "${HEV_SOCKS5_TUNNEL:-}" ] && [ -n "${HEV_SOCKS5_SERVER:-}" ]; }

realtime_link udptun-rtb 10.211.0 20 || { echo "realtime_bench: cannot make the link"; exit 1; }
sleep 0.3
builds=("$BUILD")
[ -n "${BASELINE_BUILD:-}" ] && builds+=("$(cd "$BASELINE_BUILD" && pwd)")
name_of() { [ "$1" = "$BUILD" ] && echo udptun || echo "udptun before"; }

cases=${REALTIME_CASES:-link chain loss}  # which groups run
for c in "upload:up:1" "download:down:1" "4 flows:up:4"; do
  [[ " $cases " == *" link "* ]] || break
  IFS=: read -r case mode flows <<<"$c"
  run_case "$case" "plain UDP" 192.0.2.1:5001 192.0.2.1:5002 30 "$mode" "$flows"
  for b in "${builds[@]}"; do
    tunnel_up "$b" 0 && run_case "$case" "$(name_of "$b") forward" 127.0.0.1:6001 127.0.0.1:6002 30 "$mode" "$flows"
  done
  if [ "$case" != "4 flows" ]; then
    tun_up "$BUILD" && run_case "$case" "udptun through the TUN" 192.0.2.1:5001 192.0.2.1:5002 30 "$mode" 1
    stop_udptun
  fi
  if have_hev; then
    hev_up && run_case "$case" "hev-socks5-tunnel (TUN, UDP in TCP)" 192.0.2.1:5001 192.0.2.1:5002 30 "$mode" "$flows"
    stop_udptun
  fi
  if [ "$case" = upload ]; then
    tunnel_up "$BUILD" 0 --pacing off &&
      run_case "$case" "udptun forward, --pacing off" 127.0.0.1:6001 127.0.0.1:6002 30 up 1
  fi
done
for p in auto on; do
  [[ " $cases " == *" chain "* ]] || break
  tunnel_up "$BUILD" 1 --pacing "$p" &&
    run_case "chain upload" "udptun via ss+obfs, pacing $p" 127.0.0.1:6001 127.0.0.1:6002 30 up 1 &&
    run_case "chain download" "udptun via ss+obfs, pacing $p" 127.0.0.1:6001 127.0.0.1:6002 30 down 1
done
# One connection per session (as before --connections): the game shares it with the bulk.
if [[ " $cases " == *" chain "* ]]; then
  LOCAL_ARGS="--connections 1" tunnel_up "$BUILD" 1 &&
    run_case "chain upload" "udptun via ss+obfs, 1 connection" 127.0.0.1:6001 127.0.0.1:6002 30 up 1
fi
stop_udptun
two_namespaces_cleanup
trap - EXIT

if [ -n "${LINKEM_DIR:-}" ] && [[ " $cases " == *" loss "* ]]; then
  lk=$LINKEM_DIR/linkem-path.sh
  for loss in 1 3; do
    la=udptun-lka-$$ lb=udptun-lkb-$$
    info=$(PATH="$LINKEM_DIR:$PATH" "$lk" up "$la" "$lb" --delay-ms 20 --loss "$loss") ||
      { echo "realtime_bench: linkem-path.sh up failed"; break; }
    trap '"$lk" down "$la" "$lb" >/dev/null 2>&1; for p in "${lpids[@]}"; do kill "$p" 2>/dev/null; done' EXIT
    addr_b=$(sed -n 's/.*addr_b=\([^ ]*\).*/\1/p' <<<"$info")
    lwork=$(mktemp -d)
    lpids=()
    head -c 24 /dev/urandom | base64 >"$lwork/psk"
    ip netns exec "$lb" python3 "$probe" serve "$addr_b:5001" "$addr_b:5002" >/dev/null 2>&1 &
    lpids+=($!)
    sleep 0.3
    lmeasure() { ip netns exec "$la" env REALTIME_SERIES="${2:-}" python3 "$probe" run "${@:3}"; }
    for bulk in 0 4; do
      mode=$([ "$bulk" = 0 ] && echo none || echo up)
      label="40 ms, $loss% loss, bulk $bulk Mbit"
      record "$label" "plain UDP" "$(lmeasure x "$(series "$label" plain)" "$addr_b:5001" "$addr_b:5002" "$secs" "$bulk" "$mode" 1)"
    done
    for b in "${builds[@]}"; do
      # The build under test with 1, 2 and 4 connections per session (and 2 without copies);
      # an older build as it is.
      variants=("")
      [ "$b" = "$BUILD" ] && variants=(${LOSS_CONNECTIONS:-1 2 2/nocopy 4})
      for v in "${variants[@]}"; do
        vargs=() vname=""
        if [ -n "$v" ]; then
          vargs=(--connections "${v%%/*}")
          vname=", ${v%%/*} conn"
          [[ "$v" == */nocopy ]] && { vargs+=(--duplicate-below-kbps 0); vname+=", no copies"; }
        fi
        ip netns exec "$lb" "$b/udpserver/udp-server" --listen "$addr_b:7001" --psk-file "$lwork/psk" \
          --allow-target "$addr_b/32" ${LOSS_ARGS:-} >"$lwork/server.log" 2>&1 &
        lpids+=($!)
        ip netns exec "$la" "$b/udplocal/udp-local" --server "$addr_b:7001" --psk-file "$lwork/psk" \
          --forward 127.0.0.1:6001="$addr_b:5001" --forward 127.0.0.1:6002="$addr_b:5002" \
          ${LOSS_ARGS:-} "${vargs[@]}" >"$lwork/local.log" 2>&1 &
        lpids+=($!)
        sleep 1.5
        for bulk in 0 4; do
          mode=$([ "$bulk" = 0 ] && echo none || echo up)
          label="40 ms, $loss% loss, bulk $bulk Mbit"
          path="$(name_of "$b") forward$vname"
          record "$label" "$path" "$(lmeasure x "$(series "$label" "$path")" 127.0.0.1:6001 127.0.0.1:6002 "$secs" "$bulk" "$mode" 1)"
        done
        kill "${lpids[@]:1}" 2>/dev/null
        lpids=("${lpids[0]}")
        sleep 0.3
      done
    done
    kill "${lpids[@]}" 2>/dev/null
    "$lk" down "$la" "$lb" >/dev/null 2>&1
    rm -rf "$lwork"
    trap - EXIT
  done
fi

# The table: each case beside plain UDP of the same case.
echo
echo "| case | path | game p50 / p99 / max (ms) | game lost | bulk Mbit/s (vs plain) | Jain |"
echo "|---|---|---|---|---|---|"
python3 - "${results[@]}" <<'EOF'
import json, sys
rows = [a.split("|", 2) for a in sys.argv[1:]]
plain = {}
for case, path, js in rows:
    if path == "plain UDP":
        try: plain[case] = json.loads(js)
        except ValueError: pass
for case, path, js in rows:
    try: r = json.loads(js)
    except ValueError: continue
    if "p50_ms" not in r: continue
    p = plain.get(case)
    bulk = "%.2f" % r["bulk_total_mbit"] if r["bulk_mbit"] else "-"
    if p and r["bulk_mbit"] and p["bulk_total_mbit"] > 0 and path != "plain UDP":
        bulk += " (%.2fx)" % (r["bulk_total_mbit"] / p["bulk_total_mbit"])
    print("| %s | %s | %.1f / %.1f / %.1f | %d of %d | %s | %s |" % (
        case, path, r["p50_ms"], r["p99_ms"], r["max_ms"], r["game_lost"], r["game_sent"], bulk,
        r["jain"] if len(r["bulk_mbit"]) > 1 else "-"))
EOF
