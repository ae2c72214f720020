#!/usr/bin/env bash
# proxy-controller --socket-group: the socket is 0660 and owned by that group; a process of
# another user in that group may talk to it, one outside it may not (the socket's mode and the
# SO_PEERCRED check). Needs root to create the socket for a group and to switch users.
#   test_controller_socket_group.sh BUILD_DIR
set -uo pipefail
build=${1:?build directory}
if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (switches to other users)"; exit 77; fi
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
group=nogroup
getent group "$group" >/dev/null || { echo "SKIP: no '$group' group"; exit 77; }
gid=$(getent group "$group" | cut -d: -f3)
uid=$(id -u nobody 2>/dev/null) || { echo "SKIP: no 'nobody' user"; exit 77; }
other_gid=$(getent group daemon | cut -d: -f3)

work=$(mktemp -d /tmp/udptun-group-XXXXXX)
chmod 0755 "$work"   # others may reach the socket's directory; the socket itself decides
failures=0
ctl=
cleanup() { [ -n "$ctl" ] && kill "$ctl" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
checks=0
check() { local name=$1; shift; checks=$((checks + 1)); if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi; }

# Services write what they are here (they run as nobody: the work directory is not theirs).
mkdir -m 1777 "$work/out"
# What root declared: the only programs a member of the group may have run.
cat >"$work/controller.json" <<JSON
{"services": {"declared-writer": {"exec": "/bin/sh", "args": ["-c", "id > $work/out/declared.txt; exec sleep 60"]}}}
JSON
chmod 0644 "$work/controller.json"
"$build/controller/proxy-controller" "$work/ctl.sock" --socket-group "$group" --state-dir "$work/state" \
  --config "$work/controller.json" >"$work/controller.log" 2>&1 &
ctl=$!
for _ in $(seq 50); do [ -S "$work/ctl.sock" ] && break; sleep 0.1; done

# Sends a request as uid/gid (and supplementary groups); prints "statusCode errorMessage", or
# "refused".
ask_as() {  # uid gid supplementary-groups(comma-separated or "") request
  python3 - "$work/ctl.sock" "$1" "$2" "$3" "$4" <<'PY'
import json, os, socket, sys
path, uid, gid, groups, request = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
os.setgroups([int(g) for g in groups.split(",") if g])
os.setgid(gid)
os.setuid(uid)
try:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(3)
    s.connect(path)
    s.sendall(request.encode())
    data = b""
    while b"\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    r = json.loads(data.split(b"\n")[0]) if data else None
    print("refused" if r is None else "%d %s" % (r["statusCode"], r.get("errorMessage", "")))
except (OSError, ValueError):
    print("refused")
PY
}
status='{"action":"status"}'
code_of() { echo "${1%% *}"; }
contains() { [[ "$1" == *"$2"* ]]; }

check "the socket is 0660" [ "$(stat -c %a "$work/ctl.sock")" = 660 ]
check "the socket belongs to the group" [ "$(stat -c %g "$work/ctl.sock")" = "$gid" ]
check "a member of the group is answered" [ "$(code_of "$(ask_as "$uid" "$gid" "" "$status")")" = 0 ]
check "a member through a supplementary group is answered" \
  [ "$(code_of "$(ask_as "$uid" "$other_gid" "$gid" "$status")")" = 0 ]
check "a user outside the group is refused" [ "$(ask_as "$uid" "$other_gid" "" "$status")" = refused ]
check "root is answered" [ "$(code_of "$(ask_as 0 0 "" "$status")")" = 0 ]

# A member may not choose what runs: no ad hoc command, nothing in-process (that is root).
shell='{"action":"start","parameters":{"name":"x","argv":["/bin/sh","-c","id > '"$work"'/out/member.txt"]}}'
reply=$(ask_as "$uid" "$gid" "" "$shell")
check "a member's ad hoc argv is refused, saying why" contains "$reply" "1 only root may start"
sleep 0.3
check "and nothing ran" [ ! -e "$work/out/member.txt" ]
inproc='{"action":"start","parameters":{"name":"udp-local","mode":"inproc","config":{"server":"127.0.0.1:1","psk_file":"/etc/shadow"}}}'
check "a member's in-process service is refused" contains "$(ask_as "$uid" "$gid" "" "$inproc")" "1 in-process services run as root"
# A member starts what root declared; it runs unprivileged.
check "a member starts a declared service by name" \
  [ "$(code_of "$(ask_as "$uid" "$gid" "" '{"action":"start","parameters":{"name":"declared-writer"}}')")" = 0 ]
for _ in $(seq 30); do [ -s "$work/out/declared.txt" ] && break; sleep 0.1; done
check "the declared service runs as nobody, no supplementary groups" \
  grep -qE "^uid=$uid\(nobody\) gid=[0-9]+\([a-z]+\)( groups=[0-9]+\([a-z]+\))?$" "$work/out/declared.txt"
check "it cannot be re-pointed at another command" contains \
  "$(ask_as "$uid" "$gid" "" '{"action":"start","parameters":{"name":"declared-writer","argv":["/bin/true"]}}')" "by name only"
# What root's services use (keys, state directories, handover sockets) is not a member's to
# name for a service it starts: that service would run as the same service user and reach
# them (security round 2, finding 2).
member_start() { local r; r=$(ask_as "$uid" "$gid" "" '{"action":"start","parameters":'"$1"'}'); echo "$r" >>"$work/member-replies.txt"; echo "$r"; }
check "a member's tun2socks may not name udp-local's state directory" contains \
  "$(member_start '{"name":"tun2socks","config":{"tun":"mtun0","udp":"udp-local","udp_local":{"server":"127.0.0.1:1","psk":"0123456789abcdef0123","state_dir":"'"$work"'/state/services/client"}}}')" \
  "\"state_dir\" names a file"
check "nor a key file" contains \
  "$(member_start '{"name":"udp-local","config":{"server":"127.0.0.1:1","psk_file":"/etc/udptun/psk","forward":["127.0.0.1:0=127.0.0.1:9"]}}')" \
  "\"psk_file\" names a file"
check "nor, as flags, a key file" contains \
  "$(member_start '{"name":"udp-local","args":["--server","127.0.0.1:1","--psk-file=/etc/udptun/psk"]}')" \
  "--psk-file names a file"
check "nor a handover socket" contains \
  "$(member_start '{"name":"udp-server","args":["--listen","127.0.0.1:0","--handover-socket","'"$work"'/state/services/client/udp-local.state"]}')" \
  "--handover-socket names a file"
check "nor a configuration file of root's" contains \
  "$(member_start '{"name":"udp-server","args":["--config","'"$work"'/controller.json"]}')" \
  "--config names a file"
# Even root's own ad hoc command runs as the service user, never as root.
check "root's ad hoc argv is started" [ "$(code_of "$(ask_as 0 0 "" "${shell/member.txt/root.txt}")")" = 0 ]
for _ in $(seq 30); do [ -s "$work/out/root.txt" ] && break; sleep 0.1; done
check "and runs as nobody, not root" grep -q "^uid=$uid(nobody)" "$work/out/root.txt"
check "the controller is still running" kill -0 "$ctl"
check "and every thread of it is still root (dropping a child's privileges touched only the child)" \
  bash -c "! grep -h '^Uid:' /proc/$ctl/task/*/status | grep -qv \$'^Uid:\t0\t0\t0\t0\$'"

# A configuration others may write is not root's decision: refused.
cp "$work/controller.json" "$work/open.json"; chmod 0666 "$work/open.json"
"$build/controller/proxy-controller" "$work/open.sock" --config "$work/open.json" \
  --state-dir "$work/state" >"$work/open.log" 2>&1
open_rc=$?
check "a group- or world-writable --config is refused (exit 2)" [ "$open_rc" = 2 ]
check "saying why" grep -q "writable by its owner only" "$work/open.log"

"$build/controller/proxy-controller" "$work/other.sock" --socket-group no-such-group-$$ \
  --state-dir "$work/state" >"$work/bad.log" 2>&1 &
bad=$!
for _ in $(seq 30); do kill -0 "$bad" 2>/dev/null || break; sleep 0.1; done
check "an unknown group is a clear error" grep -q "no such group" "$work/bad.log"
kill -0 "$bad" 2>/dev/null && kill -9 "$bad"   # still running: the check below fails
wait "$bad"; bad_rc=$?
check "and the controller exits with 1" [ "$bad_rc" = 1 ]

if [ $failures -ne 0 ]; then echo "---- controller log"; tail -20 "$work/controller.log"; echo "---- replies"; cat "$work/member-replies.txt" 2>/dev/null; fi
echo "$((checks - failures)) passed, $failures failed"
[ $failures -eq 0 ]
