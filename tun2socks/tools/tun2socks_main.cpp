// tun2socks: the daemon over libtun2socks.
#include <vector>

#include "udptun/runtime/daemon_main.hpp"
#include "udptun/runtime/instance_api.hpp"
#include "udptun/tun2socks.h"

using udptun::runtime::CommandLineOption;
using Kind = CommandLineOption::Kind;

namespace {

const std::vector<CommandLineOption> kOptions = {
    {"--tun", "tun", Kind::string, "NAME",
     "create/open this TUN device (Linux; needs CAP_NET_ADMIN)"},
    {"--tun-fd", "tun_fd", Kind::integer, "N",
     "use this already open TUN fd (from a parent, Android VpnService)"},
    {"--mtu", "mtu", Kind::integer, "BYTES", "the TUN device's MTU (default 1500; 9000 is faster)"},
    {"--socks5", "socks5", Kind::string, "IP:PORT",
     "TCP goes out as SOCKS5 CONNECT through this server (e.g. ss-local)"},
    {"--socks5-username", "socks5_username", Kind::string, "NAME",
     "username for the SOCKS5 server"},
    {"--socks5-password", "socks5_password", Kind::string, "PASSWORD",
     "password for the SOCKS5 server"},
    {"--udp", "udp", Kind::string, "MODE",
     "off (default), udp-local (the in-process udp-local) or socks5 (UDP ASSOCIATE)"},
    {"--udp-socks5", "udp_socks5", Kind::string, "IP:PORT",
     "UDP through this SOCKS5 server (implies --udp socks5; default server: --socks5)"},
    {"--udp-local", "udp_local_config", Kind::string, "CONFIG.json",
     "the in-process udp-local's configuration (implies --udp udp-local)"},
    {"--state-dir", "state_dir", Kind::string, "DIR",
     "the in-process udp-local keeps its session record here (resumed after a restart)"},
    {"--drop-udp-port", "drop_udp_ports", Kind::integer_list, "PORT",
     "drop UDP to this port, e.g. 443 to push QUIC back to TCP (repeatable)"},
    {"--no-answer-ping", "answer_ping", Kind::clear_flag, "",
     "do not answer ICMP echo (answered locally by default)"},
    {"--max-tcp-connections", "max_tcp_connections", Kind::integer, "N",
     "refuse (RST) connections past this (default 4096)"},
    {"--tcp-connect-timeout-ms", "tcp_connect_timeout_ms", Kind::integer, "MS",
     "reset connections whose SOCKS5 CONNECT takes longer (default 10000)"},
};

}  // namespace

int main(int argc, char** argv) {
  const udptun::runtime::DaemonSpec spec{
      "tun2socks",
      "udptun tun2socks: a TUN device's TCP to SOCKS5, its UDP to udp-local or SOCKS5",
      "A TUN device in front of lwIP: TCP becomes SOCKS5 CONNECT, UDP goes through an\n"
      "in-process udp-local (or SOCKS5 UDP ASSOCIATE); replies come back from the address\n"
      "they came from.",
      &kOptions,
      /*hup_starts_successor=*/false,
      {{"EXAMPLES",
        "TCP from the device udptun0 through ss-local's SOCKS5 port, UDP through the "
        "in-process udp-local configured in udp-local.json:\n\n"
        "  tun2socks --tun udptun0 --socks5 127.0.0.1:1080 --udp-local udp-local.json\n\n"
        "Routes into the device are proxy-controller's job (or the administrator's).",
        {}},
       {"FILES",
        "/etc/udptun/tun2socks.json and /etc/udptun/psk, as the shipped systemd unit "
        "tun2socks.service and proxy-controller's built-in tun2socks service read them.",
        {}}}};
  return udptun::runtime::run_daemon(argc, argv, spec, UDPTUN_INSTANCE_API(tun2socks));
}
