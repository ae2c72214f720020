# Sourced by tun_bench.sh and hev_bench.sh: Debian's dante-server as the SOCKS5 server both
# tunnels' TCP goes through (CONNECT only, no authentication), in the target namespace.
#   start_danted ADDRESS PORT
start_danted() {
  cat >"$work/danted.conf" <<CONF
logoutput: $work/danted.log
internal: $1 port = $2
external: $1
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }
socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 command: connect }
CONF
  bg_t danted -f "$work/danted.conf" -N 2
}
