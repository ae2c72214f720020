#!/usr/bin/env bash
# udptunctl top, used as a person would: in an 80x24 tmux pane, with a controller running a
# declared udp-local (tunnel up to a udp-server on loopback) that carries 50 datagrams/s to an
# echo. The screen is read back (capture-pane) and checked: the service, its state, its link
# up with a round trip, its flow, the rates near 50/s both ways, nothing wider than 80
# columns; the rates follow the load when it stops; `q` quits and the terminal is restored.
#   test_udptunctl_top.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "${1:?build directory}" && pwd)
src=$(cd "${2:?source directory}" && pwd)
for tool in tmux python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/setup installs it)"; exit 77; }
done
work=$(mktemp -d /tmp/udptun-top-XXXXXX)
chmod 0755 "$work"
sock=udptun-top-$$          # a tmux server of our own: never the user's
pids=()
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
check() { local name=$1; shift; if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi; }

# Free loopback ports for this run.
read -r p_server p_echo p_fwd < <(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
head -c 32 /dev/urandom | base64 >"$work/psk"
chmod 0644 "$work/psk"
python3 "$src/tests/netns/tools/udp_echo.py" 127.0.0.1 "$p_echo" >/dev/null 2>&1 &
pids+=($!)
# A port picked free may be taken by a test running beside this one before udp-server binds
# it: then another.
for _ in 1 2 3 4 5; do
  "$build/udpserver/udp-server" --listen "127.0.0.1:$p_server" --psk-file "$work/psk" \
    --allow-target 127.0.0.0/8 >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 30); do grep -q "listening on" "$work/server.log" && break; sleep 0.1; done
  if kill -0 "$server_pid" 2>/dev/null && grep -q "listening on" "$work/server.log"; then break; fi
  wait "$server_pid" 2>/dev/null
  p_server=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
done
pids+=("$server_pid")
cat >"$work/controller.json" <<JSON
{"services": {"udp-local": {"builtin": "udp-local", "autostart": true, "args":
  ["--server", "127.0.0.1:$p_server", "--psk-file", "$work/psk",
   "--forward", "127.0.0.1:$p_fwd=127.0.0.1:$p_echo"]}}}
JSON
chmod 0644 "$work/controller.json"
mkdir -m 0700 "$work/state"
"$build/controller/proxy-controller" "$work/ctl.sock" --state-dir "$work/state" \
  --config "$work/controller.json" >"$work/controller.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$work/ctl.sock" ] && break; sleep 0.1; done
python3 "$src/tests/netns/tools/udp_load.py" 127.0.0.1 "$p_fwd" 50 60 "$work/stop" >"$work/load.txt" 2>&1 &
pids+=($!)

tmux -L "$sock" -f /dev/null new-session -d -x 80 -y 24 -s top \
  "$build/controller/udptunctl --socket $work/ctl.sock top; echo EXITED \$?; sleep 30"
screen() { tmux -L "$sock" capture-pane -p -t top; }
# The row of the udp-local service, once its rates are there (two refreshes).
wait_for_row() {  # python condition on the fields f (split row)
  for _ in $(seq 60); do
    row=$(screen | grep -E '^udp-local ' | head -1)
    if [ -n "$row" ] && python3 - "$row" "$1" <<'PY'
import sys
f = sys.argv[1].split()
def num(x):
    x = x.rstrip("ms")
    return float(x[:-1]) * 1000 if x.endswith("K") else float(x) if x not in ("-", "") else -1
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
    then return 0; fi
    sleep 0.25
  done
  echo "  last screen:"; screen | sed 's/^/  | /'
  return 1
}
check "the title and the column headings are on screen" \
  bash -c "sleep 2; tmux -L '$sock' capture-pane -p -t top | grep -q '^udptun top' &&
           tmux -L '$sock' capture-pane -p -t top | grep -q '^SERVICE  *STATE  *SESS  *RTT  *FLOWS'"
check "udp-local runs, its link is up with a round trip in ms, its flow is counted" \
  wait_for_row 'f[1] == "running" and f[2] == "up" and f[3].endswith("ms") and f[4] == "1"'
check "datagrams per second up and down follow the load (about 50/s)" \
  wait_for_row '20 <= num(f[5]) <= 80 and 20 <= num(f[6]) <= 80 and num(f[7]) > 500'
echo "  screen:"; screen | sed 's/^/  | /'
check "nothing on screen is wider than 80 columns" \
  bash -c "! tmux -L '$sock' capture-pane -p -t top | awk 'length(\$0) > 80' | grep -q ."
touch "$work/stop"
check "the rates fall to 0 when the load stops" wait_for_row 'num(f[5]) == 0 and num(f[6]) == 0'
tmux -L "$sock" send-keys -t top q
check "q quits (exit 0)" bash -c "for _ in \$(seq 20); do
  tmux -L '$sock' capture-pane -p -t top | grep -q 'EXITED 0' && exit 0; sleep 0.1; done; exit 1"
check "and the normal screen is back (the view was on the alternate screen)" \
  bash -c "! tmux -L '$sock' capture-pane -p -t top | grep -q '^SERVICE'"

if [ $failures -ne 0 ]; then
  for f in controller server; do echo "---- $f.log"; tail -8 "$work/$f.log"; done
fi
echo "$failures failed"
[ $failures -eq 0 ]
