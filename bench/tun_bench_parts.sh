# What tun_bench.sh and hev_bench.sh share, so udptun and the reference are measured alike:
# the two namespaces, iperf3's JSON read, danted as the SOCKS5 server for TCP, the memory of
# 1,000 flows, the echo rounds.
here_=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=../tests/netns/two_namespaces.sh
. "$here_/../tests/netns/two_namespaces.sh"
# shellcheck source=iperf_json.sh
. "$here_/iperf_json.sh"
# shellcheck source=danted.sh
. "$here_/danted.sh"
# shellcheck source=flow_memory.sh
. "$here_/flow_memory.sh"
# shellcheck source=echo_rounds.sh
. "$here_/echo_rounds.sh"
