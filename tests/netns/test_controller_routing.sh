#!/usr/bin/env bash
# proxy-controller's configureRouting/resetRouting in a namespace made here (with a veth
# "uplink" and a default gateway), driven like a GUI client: one JSON object per request, no
# newline. Checks what `ip route get` says, that reset restores `ip route` exactly, and that a
# controller killed -9 is cleaned up after by the next one (journal).
#   test_controller_routing.sh BUILD_DIR
set -uo pipefail
build=${1:?build directory}
if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (a network namespace and a TUN device)"; exit 77; fi
for tool in ip python3; do command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }; done
[ -c /dev/net/tun ] || { echo "SKIP: /dev/net/tun is missing"; exit 77; }

id=$$
ns=udptun-r-$id
work=$(mktemp -d /tmp/udptun-routing-XXXXXX)
pids=()
failures=0
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
in_ns() { ip netns exec "$ns" "$@"; }
check() { local name=$1; shift; if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi; }

ip netns add "$ns" || exit 1
ip link add "up$id" type veth peer name "gw$id"
ip link set "up$id" netns "$ns"
ip link set "gw$id" netns "$ns"   # both ends inside: the far end only has to exist
in_ns ip link set lo up
in_ns ip addr add 10.203.0.2/24 dev "up$id"; in_ns ip link set "up$id" up; in_ns ip link set "gw$id" up
in_ns ip route add default via 10.203.0.1 dev "up$id"
before=$(in_ns ip route show; in_ns ip -6 route show)

start_controller() {
  ip netns exec "$ns" "$build/controller/proxy-controller" "$work/ctl.sock" -d --state-dir "$work" \
    >>"$work/controller.log" 2>&1 &
  pids+=($!)
  ctl_pid=$!
  for _ in $(seq 50); do [ -S "$work/ctl.sock" ] && break; sleep 0.1; done
}
# Sends one request (no newline) and prints the reply's statusCode, as GUI clients do.
ask() {
  python3 - "$work/ctl.sock" "$1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
buf = b""
while b"\n" not in buf:
    chunk = s.recv(4096)
    if not chunk: break
    buf += chunk
print(json.loads(buf.split(b"\n")[0]).get("statusCode"))
PY
}
configure='{"action":"configureRouting","parameters":{"proxyIp":"203.0.113.10","routerIp":"10.0.85.1","isAutoConnect":false}}'

start_controller
check "configureRouting answers 0" [ "$(ask "$configure")" = 0 ]
check "the TUN device exists" bash -c "ip netns exec $ns ip link show udptun0 >/dev/null"
check "a random address goes into the TUN" bash -c "ip netns exec $ns ip route get 198.51.100.9 | grep -q 'dev udptun0'"
check "proxyIp stays on the old gateway" bash -c "ip netns exec $ns ip route get 203.0.113.10 | grep -q 'via 10.203.0.1 dev up$id'"
check "resetRouting answers 0" [ "$(ask '{"action":"resetRouting"}')" = 0 ]
after=$(in_ns ip route show; in_ns ip -6 route show)
check "routes are exactly as before" [ "$before" = "$after" ]
check "the TUN device is gone" bash -c "! ip netns exec $ns ip link show udptun0 >/dev/null 2>&1"
check "resetRouting again is harmless" [ "$(ask '{"action":"resetRouting"}')" = 0 ]
check "a bad routerIp is refused" [ "$(ask '{"action":"configureRouting","parameters":{"proxyIp":"203.0.113.10","routerIp":"nope"}}')" = 1 ]

# kill -9 with routing applied: the next controller restores the machine from the journal.
check "configureRouting again" [ "$(ask "$configure")" = 0 ]
{ kill -9 "$ctl_pid"; wait "$ctl_pid"; } 2>/dev/null
rm -f "$work/ctl.sock"
start_controller
sleep 0.3
after=$(in_ns ip route show; in_ns ip -6 route show)
check "after kill -9 and a restart, routes are as before" [ "$before" = "$after" ]
check "and the TUN is gone" bash -c "! ip netns exec $ns ip link show udptun0 >/dev/null 2>&1"

if [ $failures -ne 0 ]; then echo "---- controller log"; tail -40 "$work/controller.log"; fi
echo "$((12 - failures)) passed, $failures failed"
[ $failures -eq 0 ]
