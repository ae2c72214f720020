#!/usr/bin/env bash
# Prometheus scrapes udptun for real: in a network namespace of its own, udp-server,
# udp-local (a forward to a UDP echo), tun2socks (on a TUN device, with its in-process
# udp-local) and proxy-controller (running an in-process udp-local as a service) serve
# /metrics; Debian's prometheus server scrapes them every second, and its
# HTTP API must show the traffic this test sent, the link's round trips, and the service the
# controller runs. The shipped example configuration and alerting rules pass promtool.
#   test_prometheus.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "${1:?build directory}" && pwd)
src=$(cd "${2:?source directory}" && pwd)
if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (a network namespace)"; exit 77; fi
for tool in prometheus promtool curl python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/setup installs it)"; exit 77; }
done
ns=udptun-prom-$$
work=$(mktemp -d /tmp/udptun-prom-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
check() { local name=$1; shift; if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi; }
in_ns() { ip netns exec "$ns" "$@"; }
bg() { local log=$1; shift; ip netns exec "$ns" "$@" >>"$work/$log.log" 2>&1 & pids+=($!); }

check "the example scrape configuration and alerting rules are valid (promtool)" \
  bash -c "cd '$src/docs/examples/prometheus' && promtool check config prometheus.yml >/dev/null 2>&1"

ip netns add "$ns" || exit 1
in_ns ip link set lo up
head -c 32 /dev/urandom | base64 >"$work/psk"
bg echo python3 "$src/tests/netns/tools/udp_echo.py" 127.0.0.1 5301
bg udp-server "$build/udpserver/udp-server" --listen 127.0.0.1:7301 --psk-file "$work/psk" \
  --allow-target 127.0.0.0/8 --metrics 127.0.0.1:9101
bg udp-local "$build/udplocal/udp-local" --server 127.0.0.1:7301 --psk-file "$work/psk" \
  --forward 127.0.0.1:6301=127.0.0.1:5301 --metrics 127.0.0.1:9102
mkdir -m 0700 "$work/state"
bg controller "$build/controller/proxy-controller" "$work/ctl.sock" --state-dir "$work/state" \
  --metrics 127.0.0.1:9103
# tun2socks on a TUN device of this namespace, its UDP through an in-process udp-local.
cat >"$work/t2s-local.json" <<JSON
{"server": "127.0.0.1:7301", "psk_file": "$work/psk"}
JSON
bg tun2socks "$build/tun2socks/tun2socks" --tun "udptunp$$" --socks5 127.0.0.1:1080 \
  --udp-local "$work/t2s-local.json" --metrics 127.0.0.1:9104
cat >"$work/inproc-local.json" <<JSON
{"server": "127.0.0.1:7301", "psk_file": "$work/psk", "forward": ["127.0.0.1:6302=127.0.0.1:5301"]}
JSON
for _ in $(seq 50); do [ -S "$work/ctl.sock" ] && break; sleep 0.1; done
in_ns "$build/controller/udptunctl" --socket "$work/ctl.sock" start udp-local --inproc "$work/inproc-local.json" \
  >"$work/udptunctl.log" 2>&1
check "the controller runs an in-process udp-local as service udp-local" [ $? -eq 0 ]

cat >"$work/prometheus.yml" <<'YML'
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - {job_name: udp-server, static_configs: [{targets: ["127.0.0.1:9101"]}]}
  - {job_name: udp-local, static_configs: [{targets: ["127.0.0.1:9102"]}]}
  - {job_name: proxy-controller, static_configs: [{targets: ["127.0.0.1:9103"]}]}
  - {job_name: tun2socks, static_configs: [{targets: ["127.0.0.1:9104"]}]}
YML
bg prometheus prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address=127.0.0.1:9390 --log.level=warn

# 300 datagrams through udp-local's forward, each answered by the echo (bounded: 3 s).
sent=300
in_ns python3 - "$sent" >"$work/send.log" 2>&1 <<'PY'
import socket, sys, time
n = int(sys.argv[1]); s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for _ in range(50):  # until the tunnel is up
    s.sendto(b"probe", ("127.0.0.1", 6301))
    try:
        s.recvfrom(2048); break
    except OSError:
        time.sleep(0.1)
for i in range(n):
    s.sendto(b"metrics %d" % i, ("127.0.0.1", 6301))
    time.sleep(0.005)
PY

# The value of a PromQL query (first series), or "" (none yet).
query() {
  in_ns curl -s --max-time 2 -G "http://127.0.0.1:9390/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json,sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")'
}
# Waits (at most 30 s) until the query's value satisfies the Python condition on v.
wait_for() {  # query, condition
  local v
  for _ in $(seq 60); do
    v=$(query "$1")
    if [ -n "$v" ] && python3 -c "v=float('$v'); import sys; sys.exit(0 if ($2) else 1)"; then
      echo "  $1 = $v"
      return 0
    fi
    sleep 0.5
  done
  echo "  $1 = '${v:-}' (waited 30 s)"
  return 1
}
check "every target is up" wait_for 'sum(up{job=~"udp-server|udp-local|proxy-controller|tun2socks"})' "v == 4"
check "udp-local's datagrams up counted the traffic (>= $sent)" \
  wait_for 'udptun_datagrams_total{job="udp-local",direction="up"}' "v >= $sent"
check "udp-server's datagrams up counted it too" \
  wait_for 'udptun_datagrams_total{job="udp-server",direction="up"}' "v >= $sent"
check "and the echoes came back down through udp-local" \
  wait_for 'udptun_datagrams_total{job="udp-local",direction="down"}' "v >= $sent"
check "udp-local's link round trips are a histogram" \
  wait_for 'udptun_link_rtt_seconds_count{job="udp-local"}' "v >= 1"
check "the median link round trip on loopback is under 50 ms" \
  wait_for 'histogram_quantile(0.5, udptun_link_rtt_seconds_bucket{job="udp-local"})' "v < 0.05"
check "udp-server counts the sessions (three clients)" \
  wait_for 'udptun_sessions_attached{job="udp-server"}' "v == 3"
check "tun2socks shows its in-process udp-local's link (component=\"udp-local\")" \
  wait_for 'udptun_link_up{job="tun2socks",component="udp-local"}' "v == 1"
check "and its own link gauge" wait_for 'udptun_link_up{job="tun2socks",component=""}' "v == 1"
check "and its packet counters, in and out" wait_for 'count(udptun_packets_total{job="tun2socks"})' "v == 2"
check "the controller shows its service running" \
  wait_for 'udptun_service_up{job="proxy-controller",service="udp-local"}' "v == 1"
check "and the service's own counters, labelled with its name" \
  wait_for 'udptun_link_up{job="proxy-controller",service="udp-local"}' "v == 1"
check "drops are one family with a reason label" \
  wait_for 'count(udptun_drops_total{job="udp-server"})' "v >= 5"

# A raw scrape: the exposition format as Prometheus' own parser took it, HELP and TYPE lines.
in_ns curl -s --max-time 2 http://127.0.0.1:9101/metrics >"$work/page.txt"
check "a scrape has HELP and TYPE for its families" \
  bash -c "grep -q '^# TYPE udptun_datagrams_total counter$' '$work/page.txt' &&
           grep -q '^# HELP udptun_sessions ' '$work/page.txt'"
check "udp-server's page has the reply queues' sojourn histogram and its own request counts" \
  bash -c "grep -q '^# TYPE udptun_queue_sojourn_seconds histogram$' '$work/page.txt' &&
           grep -q '^udptun_metrics_requests_total{outcome=\"answered\"} ' '$work/page.txt'"
check "udp-local counts its connections (--connections 4)" \
  wait_for 'udptun_connections_up{job="udp-local"}' "v == 4"

if [ $failures -ne 0 ]; then
  for f in udp-server udp-local tun2socks controller prometheus udptunctl send; do
    echo "---- $f.log"; tail -15 "$work/$f.log" 2>/dev/null
  done
fi
echo "$failures failed"
[ $failures -eq 0 ]
