# Sourced by the tun2socks test and benchmark: a client and a target namespace joined by a
# veth pair, with per-run names, helpers to run commands in either, and a cleanup (on exit,
# failure included) that stops what was started and deletes both namespaces.
#   two_namespaces NAME_PREFIX SUBNET     e.g. two_namespaces udptun-b 10.202.0
# Sets: id, nc_ (client ns), nt (target ns), work (a temp dir), pids (to be stopped).
# The client side is SUBNET.1/30 on vc$id, the target SUBNET.2/30 on vt$id, and the target
# also owns 192.0.2.1/32 on its loopback: the "internet" the apps talk to.

in_c() { ip netns exec "$nc_" "$@"; }
in_t() { ip netns exec "$nt" "$@"; }
bg_c() { ip netns exec "$nc_" "$@" >>"$work/$(basename "$1").log" 2>&1 & pids+=($!); }
bg_t() { ip netns exec "$nt" "$@" >>"$work/$(basename "$1").log" 2>&1 & pids+=($!); }

two_namespaces_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.2
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  ip netns del "$nc_" 2>/dev/null
  ip netns del "$nt" 2>/dev/null
  rm -rf "$work"
}

two_namespaces() {  # prefix, subnet (three octets)
  id=$$
  nc_=$1-c-$id
  nt=$1-t-$id
  work=$(mktemp -d "/tmp/$1-XXXXXX")
  pids=()
  trap two_namespaces_cleanup EXIT
  ip netns add "$nc_" && ip netns add "$nt" || return 1
  ip link add "vc$id" type veth peer name "vt$id" || return 1
  ip link set "vc$id" netns "$nc_" && ip link set "vt$id" netns "$nt" || return 1
  in_c ip link set lo up
  in_t ip link set lo up
  in_c ip addr add "$2.1/30" dev "vc$id" && in_c ip link set "vc$id" up
  in_t ip addr add "$2.2/30" dev "vt$id" && in_t ip link set "vt$id" up
  in_t ip addr add 192.0.2.1/32 dev lo
}
