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
checks=0
check() { local name=$1; shift; checks=$((checks + 1)); if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi; }

ip netns add "$ns" || exit 1
ip link add "up$id" type veth peer name "gw$id"
ip link set "up$id" netns "$ns"
ip link set "gw$id" netns "$ns"   # both ends inside: the far end only has to exist
in_ns ip link set lo up
in_ns ip addr add 10.203.0.2/24 dev "up$id"; in_ns ip link set "up$id" up; in_ns ip link set "gw$id" up
in_ns ip route add default via 10.203.0.1 dev "up$id"
in_ns ip -6 addr add fd77:203::2/64 dev "up$id" nodad
in_ns ip -6 route add default via fd77:203::1 dev "up$id"
sleep 0.2   # link-local addresses and their routes settle
before=$(in_ns ip route show; in_ns ip -6 route show)
before4=$(in_ns ip route show)

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
configure='{"action":"configureRouting","parameters":{"proxyIp":["203.0.113.10","2001:db8:ffff::10"],"routerIp":"10.0.85.1","isAutoConnect":false}}'

start_controller
check "configureRouting answers 0" [ "$(ask "$configure")" = 0 ]
check "the TUN device exists" bash -c "ip netns exec $ns ip link show udptun0 >/dev/null"
check "a random address goes into the TUN" bash -c "ip netns exec $ns ip route get 198.51.100.9 | grep -q 'dev udptun0'"
check "proxyIp stays on the old gateway" bash -c "ip netns exec $ns ip route get 203.0.113.10 | grep -q 'via 10.203.0.1 dev up$id'"
check "a random IPv6 address goes into the TUN" bash -c "ip netns exec $ns ip -6 route get 2001:db8::9 | grep -q 'dev udptun0'"
check "an IPv6 proxyIp stays on the old IPv6 gateway" bash -c "ip netns exec $ns ip -6 route get 2001:db8:ffff::10 | grep -q 'via fd77:203::1 dev up$id'"
check "the TUN has its IPv6 address" bash -c "ip netns exec $ns ip -6 addr show dev udptun0 | grep -q 'fd85:85:85::1/64'"
check "resetRouting answers 0" [ "$(ask '{"action":"resetRouting"}')" = 0 ]
after=$(in_ns ip route show; in_ns ip -6 route show)
check "routes are exactly as before" [ "$before" = "$after" ]
check "the TUN device is gone" bash -c "! ip netns exec $ns ip link show udptun0 >/dev/null 2>&1"
check "resetRouting again is harmless" [ "$(ask '{"action":"resetRouting"}')" = 0 ]
check "a bad routerIp is refused" [ "$(ask '{"action":"configureRouting","parameters":{"proxyIp":"203.0.113.10","routerIp":"nope"}}')" = 1 ]
check "and nothing changed" [ "$before" = "$(in_ns ip route show; in_ns ip -6 route show)" ]
# The router address becomes an address of this machine (security round 2, finding 4): a
# remote one, or one whose /24 is routed elsewhere (the uplink's network here), is refused.
check "a public routerIp is refused" [ "$(ask '{"action":"configureRouting","parameters":{"proxyIp":"203.0.113.10","routerIp":"198.51.100.1"}}')" = 1 ]
uplink_ip=$(in_ns ip -4 -o addr show dev "up$id" | awk '{print $4}' | cut -d/ -f1)
check "a routerIp on the uplink's network is refused" [ "$(ask '{"action":"configureRouting","parameters":{"proxyIp":"203.0.113.10","routerIp":"'"${uplink_ip%.*}.77"'"}}')" = 1 ]
check "and still nothing changed" [ "$before" = "$(in_ns ip route show; in_ns ip -6 route show)" ]

# A client like the GUI ones: configureRouting with no newline, one reply, the socket kept
# open; statusChanged arrives when the uplink goes down and up and when the default gateway
# changes (the proxy route follows it); then resetRouting on the same connection.
gui_client() {
  python3 - "$work/ctl.sock" "$ns" "up$id" <<'PY'
import json, select, socket, subprocess, sys, time
path, ns, uplink = sys.argv[1:4]
failures = 0
def check(name, ok):
    global failures
    print(("ok: " if ok else "FAILED: ") + "GUI client: " + name, flush=True)
    failures += 0 if ok else 1
def sh(*cmd):
    subprocess.run(["ip", "netns", "exec", ns] + list(cmd), check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
def out(*cmd):
    return subprocess.run(["ip", "netns", "exec", ns] + list(cmd), capture_output=True, text=True).stdout
s = socket.socket(socket.AF_UNIX)
s.connect(path)
buf = ""
dec = json.JSONDecoder()
def next_object(timeout):
    global buf
    deadline = time.time() + timeout
    while True:
        stripped = buf.lstrip()
        if stripped:
            try:
                obj, end = dec.raw_decode(stripped)
                buf = stripped[end:]
                return obj
            except ValueError:
                pass
        left = deadline - time.time()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return None
        chunk = s.recv(4096)
        if not chunk:
            return None
        buf += chunk.decode()
def statuses(count, timeout=5):
    got = []
    deadline = time.time() + timeout
    while len(got) < count:
        o = next_object(max(0.01, deadline - time.time()))
        if o is None: break
        if o.get("action") == "statusChanged": got.append(o.get("connectionStatus"))
    return got
s.sendall(b'{"action":"configureRouting","parameters":{"proxyIp":"203.0.113.10","routerIp":"10.0.85.1","isAutoConnect":false}}')
r = next_object(5)
check("configureRouting answered 0", r is not None and r.get("statusCode") == 0)
sh("ip", "link", "set", uplink, "down")
check("uplink down -> statusChanged reconnecting (2)", statuses(1) == [2])
gone = subprocess.run(["ip", "netns", "exec", ns, "ip", "route", "get", "203.0.113.10"],
                      capture_output=True, text=True)
check("with the uplink down the proxy is unreachable, not looped into the TUN",
      "udptun0" not in gone.stdout and any(w in (gone.stdout + gone.stderr).lower() for w in ("unreachable", "no route to host")))
sh("ip", "link", "set", uplink, "up")
sh("ip", "route", "replace", "default", "via", "10.203.0.1", "dev", uplink)  # what DHCP would do
check("uplink back -> statusChanged connected (0)", statuses(1) == [0])
check("the proxy route was re-applied", "via 10.203.0.1 dev " + uplink in out("ip", "route", "get", "203.0.113.10"))
sh("ip", "route", "replace", "default", "via", "10.203.0.254", "dev", uplink)
check("gateway changed -> reconnecting then connected", statuses(2) == [2, 0])
check("the proxy route follows the new gateway", "via 10.203.0.254 dev " + uplink in out("ip", "route", "get", "203.0.113.10"))
check("the rest still goes into the TUN", "dev udptun0" in out("ip", "route", "get", "198.51.100.9"))
sh("ip", "route", "replace", "default", "via", "10.203.0.1", "dev", uplink)
check("gateway back -> reconnecting then connected", statuses(2) == [2, 0])
# The tunnel's services going down and up are seen too.
def ask(req):
    s.sendall(req.encode())
    while True:
        o = next_object(5)
        if o is None or o.get("action") != "statusChanged": return o
ask('{"action":"start","parameters":{"name":"helper","argv":["/bin/sleep","60"]}}')
pid = [x for x in ask('{"action":"status"}')["result"]["services"] if x["name"] == "helper"][0]["pid"]
subprocess.run(["kill", "-9", str(pid)])
check("a service killed -> reconnecting then connected once it is back", statuses(2) == [2, 0])
ask('{"action":"stop","parameters":{"name":"helper"}}')
s.sendall(b'{"action":"resetRouting","parameters":{}}')
reply = None
while True:
    o = next_object(5)
    if o is None or o.get("action") == "resetRouting":
        reply = o
        break
check("resetRouting on the same connection answered 0", reply is not None and reply.get("statusCode") == 0)
s.close()
sys.exit(1 if failures else 0)
PY
}
gui_out=$(gui_client); gui_rc=$?
echo "$gui_out"
gui_failed=$(grep -c '^FAILED' <<<"$gui_out")
failures=$((failures + gui_failed))
[ $gui_rc -eq 0 ] || [ "$gui_failed" -gt 0 ] || { echo "FAILED: GUI client crashed"; failures=$((failures + 1)); }
gui_checks=$(grep -c '^ok\|^FAILED' <<<"$gui_out")
# The link flap dropped the uplink's IPv6 setup with it; IPv4 must be exactly as before.
check "after the GUI session, IPv4 routes are exactly as before" [ "$(in_ns ip route show)" = "$before4" ]
check "and no IPv6 route into the TUN is left" bash -c "! ip netns exec $ns ip -6 route show | grep -q udptun0"
in_ns ip -6 addr replace fd77:203::2/64 dev "up$id" nodad 2>/dev/null
in_ns ip -6 route replace default via fd77:203::1 dev "up$id" 2>/dev/null

# kill -9 with routing applied: the next controller restores the machine from the journal.
check "configureRouting again" [ "$(ask "$configure")" = 0 ]
{ kill -9 "$ctl_pid"; wait "$ctl_pid"; } 2>/dev/null
rm -f "$work/ctl.sock"
start_controller
sleep 0.3
after=$(in_ns ip route show; in_ns ip -6 route show)
check "after kill -9 and a restart, routes are as before" [ "$before" = "$after" ]
check "and the TUN is gone" bash -c "! ip netns exec $ns ip link show udptun0 >/dev/null 2>&1"

# SIGTERM with routing applied: the controller restores it on its way out.
check "configureRouting once more" [ "$(ask "$configure")" = 0 ]
kill -TERM "$ctl_pid"
for _ in $(seq 50); do kill -0 "$ctl_pid" 2>/dev/null || break; sleep 0.1; done
check "after SIGTERM the controller is gone" bash -c "! kill -0 $ctl_pid 2>/dev/null"
after=$(in_ns ip route show; in_ns ip -6 route show)
check "and routes are as before" [ "$before" = "$after" ]
check "and the TUN is gone" bash -c "! ip netns exec $ns ip link show udptun0 >/dev/null 2>&1"
check "and no journal is left" [ ! -e "$work/routing.json" ]

# What is not the controller's stays untouched: a TUN someone else made (persistent, with
# its own address) is refused, not taken over; a proxy route that was there before is not
# journaled, so a crash recovery does not delete it.
start_controller
theirs=th$id
in_ns ip tuntap add dev "$theirs" mode tun
in_ns ip addr add 10.99.0.1/24 dev "$theirs"
check "configureRouting on a device that is not ours is refused" \
  [ "$(ask '{"action":"configureRouting","parameters":{"proxyIp":"203.0.113.10","routerIp":"10.0.85.1","tunName":"'"$theirs"'"}}')" = 1 ]
check "and that device keeps its address" bash -c "ip netns exec $ns ip addr show dev $theirs | grep -q 10.99.0.1/24"
in_ns ip route add 203.0.113.10/32 via 10.203.0.1 dev "up$id"
routes_with_theirs=$(in_ns ip route show; in_ns ip -6 route show)
check "configureRouting with a proxy route already in place" [ "$(ask "$configure")" = 0 ]
check "the journal does not list the route that was there before" python3 -c "
import json, sys
sys.exit('203.0.113.10' in json.load(open('$work/routing.json'))['proxyRoutes'])"
{ kill -9 "$ctl_pid"; wait "$ctl_pid"; } 2>/dev/null
rm -f "$work/ctl.sock"
start_controller
sleep 0.3
check "after kill -9 and a restart, the route that was there before is still there" \
  bash -c "ip netns exec $ns ip route show | grep -q '^203.0.113.10 via 10.203.0.1'"
check "and every route is as it was before configureRouting" \
  [ "$routes_with_theirs" = "$(in_ns ip route show; in_ns ip -6 route show)" ]
check "and the device that is not ours is still there" bash -c "ip netns exec $ns ip link show $theirs >/dev/null"
kill -TERM "$ctl_pid" 2>/dev/null

if [ $failures -ne 0 ]; then echo "---- controller log"; tail -40 "$work/controller.log"; fi
total=$((checks + gui_checks))
echo "$((total - failures)) passed, $failures failed"
[ $failures -eq 0 ]
