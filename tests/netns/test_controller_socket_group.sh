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
check() { local name=$1; shift; if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi; }

"$build/controller/proxy-controller" "$work/ctl.sock" --socket-group "$group" --state-dir "$work/state" \
  >"$work/controller.log" 2>&1 &
ctl=$!
for _ in $(seq 50); do [ -S "$work/ctl.sock" ] && break; sleep 0.1; done

# Asks for status as uid/gid; prints the statusCode, or "refused".
ask_as() {
  python3 - "$work/ctl.sock" "$1" "$2" <<'PY'
import json, os, socket, sys
path, uid, gid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.setgroups([])
os.setgid(gid)
os.setuid(uid)
try:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(3)
    s.connect(path)
    s.sendall(b'{"action":"status"}')
    data = s.recv(4096)
    print(json.loads(data.split(b"\n")[0])["statusCode"] if data else "refused")
except (OSError, ValueError):
    print("refused")
PY
}

check "the socket is 0660" [ "$(stat -c %a "$work/ctl.sock")" = 660 ]
check "the socket belongs to the group" [ "$(stat -c %g "$work/ctl.sock")" = "$gid" ]
check "a member of the group is answered" [ "$(ask_as "$uid" "$gid")" = 0 ]
check "a user outside the group is refused" [ "$(ask_as "$uid" "$other_gid")" = refused ]
check "root is answered" [ "$(ask_as 0 0)" = 0 ]
check "the controller is still running" kill -0 "$ctl"

"$build/controller/proxy-controller" "$work/other.sock" --socket-group no-such-group-$$ \
  --state-dir "$work/state" >"$work/bad.log" 2>&1 &
bad=$!
for _ in $(seq 30); do kill -0 "$bad" 2>/dev/null || break; sleep 0.1; done
check "an unknown group is a clear error" grep -q "no such group" "$work/bad.log"
kill -0 "$bad" 2>/dev/null && kill -9 "$bad"   # still running: the check below fails
wait "$bad"; bad_rc=$?
check "and the controller exits with 1" [ "$bad_rc" = 1 ]

if [ $failures -ne 0 ]; then echo "---- controller log"; tail -20 "$work/controller.log"; fi
echo "$((8 - failures)) passed, $failures failed"
[ $failures -eq 0 ]
