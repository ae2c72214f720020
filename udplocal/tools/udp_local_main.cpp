// udp-local: the daemon over libudplocal.
#include <vector>

#include "udptun/runtime/daemon_main.hpp"
#include "udptun/runtime/instance_api.hpp"
#include "udptun/udplocal.h"
#include "udptun/udplocal_options.hpp"

int main(int argc, char** argv) {
  const auto options = udptun::udplocal::describe_options();
  const udptun::runtime::DaemonSpec spec{
      "udp-local",
      "udptun client end: UDP over one resumable TCP connection",
      "The client end of udptun: carries UDP (plain forwards, SOCKS5 UDP ASSOCIATE)\n"
      "to a udp-server over one TCP connection that survives restarts of either end.",
      &options,
      /*hup_starts_successor=*/false,
      {{"EXAMPLES",
        "Forward local port 1234 to 192.0.2.7:53 and offer a SOCKS5 UDP front, through the "
        "server at 203.0.113.10:7001:\n\n"
        "  udp-local --server 203.0.113.10:7001 --psk-file /etc/udptun/psk \\\n"
        "      --forward 127.0.0.1:1234=192.0.2.7:53 --socks5 127.0.0.1:1081",
        {}},
       {"FILES",
        "/etc/udptun/udp-local.json and /etc/udptun/psk, as the shipped systemd unit "
        "udp-local.service reads them; the session record udp-local.state in --state-dir.",
        {}}}};
  return udptun::runtime::run_daemon(argc, argv, spec, UDPTUN_INSTANCE_API(udplocal));
}
