// udp-server: the daemon over libudpserver.
#include <vector>

#include "udptun/runtime/daemon_main.hpp"
#include "udptun/runtime/instance_api.hpp"
#include "udptun/udpserver.h"
#include "udptun/udpserver_options.hpp"

int main(int argc, char** argv) {
  const auto options = udptun::udpserver::describe_options();
  const udptun::runtime::DaemonSpec spec{
      "udp-server",
      "udptun server end: authenticated UDP relay behind a TCP listener",
      "The server end of udptun: takes tunnelled UDP flows from udp-local over TCP\n"
      "and relays them to their targets.",
      &options,
      /*hup_starts_successor=*/true,
      {{"EXAMPLES",
        "Listen on port 7001 for udp-local clients that know the key; relay their datagrams "
        "to public addresses only:\n\n"
        "  udp-server --listen 0.0.0.0:7001 --psk-file /etc/udptun/psk\n\n"
        "The same over TLS, with planned restarts that keep every session:\n\n"
        "  udp-server --config /etc/udptun/udp-server.json --tls-cert cert.pem \\\n"
        "      --tls-key key.pem --handover-socket /run/udp-server/handover",
        {}},
       {"FILES",
        "/etc/udptun/udp-server.json and /etc/udptun/psk, as the shipped systemd unit "
        "udp-server.service reads them (the key through a systemd credential).",
        {}}}};
  auto api = UDPTUN_INSTANCE_API(udpserver);
  api.drain = udpserver_drain;  // SIGTERM drains
  return udptun::runtime::run_daemon(argc, argv, spec, api);
}
